/* The user's library through the Spotify client (spotify.h): /v1/me, every saved track (the
 * first page tells the total, the rest are read concurrently and kept in order), and the
 * legacy audio features of those tracks. */
#include "spotify.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_limit.h"
#include "spotify_call.h"

void spotify_paging(size_t total, size_t max_tracks, size_t limit, size_t *to_read, size_t *pages)
{
    size_t n = total < max_tracks ? total : max_tracks;
    *to_read = n;
    *pages = limit == 0 ? 0 : (n + limit - 1) / limit;
    if (*pages == 0)
        *pages = 1; /* the first page is always read: it tells the total */
}

/* A copy of s as well-formed UTF-8 (invalid bytes become U+FFFD, never half a character) of
 * at most SPOTIFY_MAX_TEXT bytes, so nothing Spotify sends can make our JSON invalid. */
static char *copy_text(const char *s)
{
    char *out = malloc(SPOTIFY_MAX_TEXT + 1);
    if (out)
        spotify_utf8_clean(s, out, SPOTIFY_MAX_TEXT + 1);
    return out;
}

static void track_free(struct saved_track *t)
{
    free(t->name);
    for (uint32_t i = 0; i < t->n_artists; i++)
        free(t->artists[i]);
    memset(t, 0, sizeof *t);
}

/* Fills t from one `track` object. Returns 0, or -1 if it is not a track we can use. */
static int parse_track(const cJSON *track, struct saved_track *t)
{
    memset(t, 0, sizeof *t);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(track, "name");
    if (!cJSON_IsString(name))
        return -1;
    t->name = copy_text(name->valuestring);
    if (!t->name)
        return -1;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(track, "id");
    if (cJSON_IsString(id) && spotify_is_track_id(id->valuestring))
        memcpy(t->id, id->valuestring, 23);
    t->is_local = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(track, "is_local"));
    const cJSON *artists = cJSON_GetObjectItemCaseSensitive(track, "artists");
    if (!cJSON_IsArray(artists)) {
        track_free(t);
        return -1;
    }
    const cJSON *artist;
    cJSON_ArrayForEach(artist, artists)
    {
        const cJSON *artist_name = cJSON_GetObjectItemCaseSensitive(artist, "name");
        if (t->n_artists == SPOTIFY_MAX_ARTISTS || !cJSON_IsString(artist_name))
            continue;
        char *copy = copy_text(artist_name->valuestring);
        if (!copy) {
            track_free(t);
            return -1;
        }
        t->artists[t->n_artists++] = copy;
    }
    const cJSON *duration = cJSON_GetObjectItemCaseSensitive(track, "duration_ms");
    if (cJSON_IsNumber(duration) && duration->valuedouble >= 0 && duration->valuedouble < 1e9)
        t->duration_ms = (uint32_t)duration->valuedouble;
    t->explicit_lyrics = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(track, "explicit"));
    const cJSON *album = cJSON_GetObjectItemCaseSensitive(track, "album");
    const cJSON *date = cJSON_GetObjectItemCaseSensitive(album, "release_date");
    if (cJSON_IsString(date) && strlen(date->valuestring) >= 4) {
        unsigned year = 0;
        bool digits = true;
        for (int i = 0; i < 4; i++) {
            char c = date->valuestring[i];
            digits = digits && c >= '0' && c <= '9';
            year = year * 10 + (unsigned)(c - '0');
        }
        if (digits && year >= 1000 && year <= 9999)
            t->year = year;
    }
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(track, "external_ids");
    const cJSON *isrc = cJSON_GetObjectItemCaseSensitive(ids, "isrc");
    if (cJSON_IsString(isrc) && strlen(isrc->valuestring) < sizeof t->isrc)
        memcpy(t->isrc, isrc->valuestring, strlen(isrc->valuestring) + 1);
    return 0;
}

enum spotify_status spotify_parse_saved_page(const char *json, size_t len, const char *api_origin,
                                             struct saved_track *tracks, size_t cap,
                                             size_t *n_items, size_t *total)
{
    enum spotify_status status = SPOTIFY_ERR_BAD_RESPONSE;
    size_t used = 0;
    cJSON *page = json_parse_limited(json, len, JSON_MAX_DEPTH, NULL);
    if (!cJSON_IsObject(page))
        goto done;
    const cJSON *total_item = cJSON_GetObjectItemCaseSensitive(page, "total");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(page, "items");
    if (!cJSON_IsNumber(total_item) || total_item->valuedouble < 0 ||
        total_item->valuedouble > 1e9 || !cJSON_IsArray(items))
        goto done;
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(page, "next");
    if (cJSON_IsString(next) && !spotify_url_on_origin(next->valuestring, api_origin)) {
        status = SPOTIFY_ERR_BAD_HOST;
        goto done;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, items)
    {
        if (used == cap)
            break;
        /* Every item is {added_at, track: {...}}: a null or wrongly typed one is a malformed
         * answer, not a shorter library (it would show as "Your Liked Songs are empty"). */
        const cJSON *track = cJSON_GetObjectItemCaseSensitive(item, "track");
        if (!cJSON_IsObject(item) || !cJSON_IsObject(track))
            goto done;
        if (parse_track(track, &tracks[used]) != 0)
            goto done;
        used++;
    }
    *n_items = used;
    *total = (size_t)total_item->valuedouble;
    used = 0; /* the caller owns them now */
    status = SPOTIFY_OK;
done:
    for (size_t i = 0; i < used; i++)
        track_free(&tracks[i]);
    cJSON_Delete(page);
    return status;
}

enum spotify_status spotify_parse_me(const char *json, size_t len, struct spotify_user *out)
{
    enum spotify_status status = SPOTIFY_ERR_BAD_RESPONSE;
    cJSON *body = json_parse_limited(json ? json : "", json ? len : 0, JSON_MAX_DEPTH, NULL);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, "display_name");
    if (!cJSON_IsString(id) || !id->valuestring[0] ||
        strlen(id->valuestring) > SESSION_MAX_NAME_LEN)
        goto done;
    struct spotify_user user = {0};
    snprintf(user.id, sizeof user.id, "%s", id->valuestring);
    const char *display =
        cJSON_IsString(name) && name->valuestring[0] ? name->valuestring : id->valuestring;
    spotify_utf8_clean(display, user.display_name, sizeof user.display_name);
    *out = user;
    status = SPOTIFY_OK;
done:
    cJSON_Delete(body);
    return status;
}

enum spotify_status spotify_me(struct spotify_client *c, struct spotify_user *out)
{
    struct call call;
    spotify_bearer_get(&call, c, "me", "/v1/me");
    enum spotify_status status = spotify_run_calls(c, &call, 1, NULL, NULL);
    if (status != SPOTIFY_OK)
        goto done;
    status = spotify_parse_me(call.response, call.response_len, out);
    if (status != SPOTIFY_OK)
        snprintf(c->last_error, sizeof c->last_error, "/v1/me without a usable id");
done:
    spotify_calls_free(&call, 1);
    return status;
}

void spotify_library_free(struct saved_library *lib)
{
    if (!lib)
        return;
    for (size_t i = 0; i < lib->count; i++)
        track_free(&lib->tracks[i]);
    free(lib->tracks);
    memset(lib, 0, sizeof *lib);
}

/* Pages land in slots[page * limit ...], so order is kept whatever order they arrive in. */
struct fetch {
    struct saved_track *slots;
    size_t *page_counts; /* tracks parsed per page */
    size_t to_read;
    size_t read;
    spotify_progress_fn progress;
    void *progress_ctx;
};

static enum spotify_status on_page(struct spotify_client *c, struct call *call, void *ctx)
{
    struct fetch *f = ctx;
    size_t first = call->index * SPOTIFY_PAGE_LIMIT;
    size_t cap = f->to_read - first < SPOTIFY_PAGE_LIMIT ? f->to_read - first : SPOTIFY_PAGE_LIMIT;
    size_t n = 0, total = 0;
    enum spotify_status s =
        spotify_parse_saved_page(call->response ? call->response : "", call->response_len,
                                 c->settings->api_origin, f->slots + first, cap, &n, &total);
    if (s != SPOTIFY_OK) {
        snprintf(c->last_error, sizeof c->last_error, "saved tracks page %zu: %s", call->index,
                 spotify_strerror(s));
        return s;
    }
    f->page_counts[call->index] = n;
    f->read += n;
    free(call->response); /* keep memory flat on large libraries */
    call->response = NULL;
    call->response_len = 0;
    if (f->progress)
        f->progress(f->progress_ctx, f->read, f->to_read);
    return SPOTIFY_OK;
}

enum spotify_status spotify_fetch_saved(struct spotify_client *c, struct saved_library *out,
                                        spotify_progress_fn progress, void *progress_ctx)
{
    enum spotify_status status = SPOTIFY_ERR_INTERNAL;
    struct call first;
    struct call *calls = NULL;
    size_t n_calls = 0;
    struct saved_track head[SPOTIFY_PAGE_LIMIT];
    size_t head_n = 0, total = 0, pages = 0;
    struct fetch f = {.progress = progress, .progress_ctx = progress_ctx};
    char path[128];
    snprintf(path, sizeof path, "/v1/me/tracks?limit=%d&offset=0", SPOTIFY_PAGE_LIMIT);
    spotify_bearer_get(&first, c, "saved_tracks", path);
    status = spotify_run_calls(c, &first, 1, NULL, NULL);
    if (status != SPOTIFY_OK)
        goto done;
    status = spotify_parse_saved_page(first.response ? first.response : "", first.response_len,
                                      c->settings->api_origin, head, SPOTIFY_PAGE_LIMIT, &head_n,
                                      &total);
    if (status != SPOTIFY_OK) {
        snprintf(c->last_error, sizeof c->last_error, "first saved tracks page: %s",
                 spotify_strerror(status));
        goto done;
    }
    size_t max = c->settings->max_tracks ? c->settings->max_tracks : SPOTIFY_MAX_TRACKS;
    if (max > SPOTIFY_MAX_TRACKS)
        max = SPOTIFY_MAX_TRACKS;
    spotify_paging(total, max, SPOTIFY_PAGE_LIMIT, &f.to_read, &pages);
    if (f.to_read < head_n)
        f.to_read = head_n; /* the library grew after `total` was counted: keep what we have */
    status = SPOTIFY_ERR_INTERNAL;
    f.slots = calloc(f.to_read > 0 ? f.to_read : 1, sizeof *f.slots);
    f.page_counts = calloc(pages, sizeof *f.page_counts);
    n_calls = pages - 1;
    calls = calloc(n_calls > 0 ? n_calls : 1, sizeof *calls);
    if (!f.slots || !f.page_counts || !calls)
        goto done;
    memcpy(f.slots, head, head_n * sizeof *head);
    f.page_counts[0] = head_n;
    f.read = head_n;
    head_n = 0; /* moved into slots */
    if (progress)
        progress(progress_ctx, f.read, f.to_read);
    for (size_t p = 1; p < pages; p++) {
        snprintf(path, sizeof path, "/v1/me/tracks?limit=%d&offset=%zu", SPOTIFY_PAGE_LIMIT,
                 p * SPOTIFY_PAGE_LIMIT);
        spotify_bearer_get(&calls[p - 1], c, "saved_tracks", path);
        calls[p - 1].index = p;
    }
    status = spotify_run_calls(c, calls, n_calls, on_page, &f);
    if (status != SPOTIFY_OK)
        goto done;
    /* Compact: a page may hold fewer tracks than asked (removed or unusable items). */
    size_t kept = 0;
    for (size_t p = 0; p < pages; p++) {
        size_t from = p * SPOTIFY_PAGE_LIMIT;
        for (size_t i = 0; i < f.page_counts[p]; i++)
            f.slots[kept++] = f.slots[from + i];
    }
    out->tracks = f.slots;
    out->count = kept;
    out->total = total;
    out->truncated = total > max;
    out->pages = (int)pages;
    f.slots = NULL;
done:
    for (size_t i = 0; i < head_n; i++)
        track_free(&head[i]);
    /* The slots hold tracks only once the page counts exist (the first page moves in after
     * every allocation succeeded); until then the first page is still in head. */
    for (size_t p = 0; f.slots && f.page_counts && p < pages; p++)
        for (size_t i = 0; i < f.page_counts[p]; i++)
            track_free(&f.slots[p * SPOTIFY_PAGE_LIMIT + i]);
    free(f.slots);
    free(f.page_counts);
    spotify_calls_free(&first, 1);
    if (calls)
        spotify_calls_free(calls, n_calls);
    free(calls);
    return status;
}

static enum spotify_status on_features(struct spotify_client *c, struct call *call, void *ctx)
{
    struct saved_library *lib = ctx;
    cJSON *body = json_parse_limited(call->response ? call->response : "", call->response_len,
                                     JSON_MAX_DEPTH, NULL);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "audio_features");
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(body);
        snprintf(c->last_error, sizeof c->last_error, "audio-features answer without a list");
        return SPOTIFY_ERR_BAD_RESPONSE;
    }
    const cJSON *entry;
    cJSON_ArrayForEach(entry, list)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(entry, "id");
        if (!cJSON_IsString(id))
            continue; /* null: no features for that id */
        for (size_t i = call->index; i < lib->count && i < call->index + 100; i++) {
            struct saved_track *t = &lib->tracks[i];
            if (strcmp(t->id, id->valuestring) != 0)
                continue;
            bool complete = true;
            for (int k = 0; k < SPOTIFY_N_FEATURES; k++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(entry, spotify_feature_names[k]);
                if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
                    complete = false;
                else
                    t->features[k] = v->valuedouble;
            }
            t->has_features = complete;
        }
    }
    cJSON_Delete(body);
    return SPOTIFY_OK;
}

enum spotify_status spotify_audio_features(struct spotify_client *c, struct saved_library *lib)
{
    size_t n_calls = (lib->count + 99) / 100;
    if (n_calls == 0)
        return SPOTIFY_OK;
    struct call *calls = calloc(n_calls, sizeof *calls);
    if (!calls)
        return SPOTIFY_ERR_INTERNAL;
    size_t used = 0;
    for (size_t start = 0; start < lib->count; start += 100) {
        char path[100 * 23 + 64];
        size_t len = (size_t)snprintf(path, sizeof path, "/v1/audio-features?ids=");
        size_t ids = 0;
        for (size_t i = start; i < lib->count && i < start + 100; i++) {
            if (!lib->tracks[i].id[0])
                continue;
            len += (size_t)snprintf(path + len, sizeof path - len, "%s%s", ids ? "," : "",
                                    lib->tracks[i].id);
            ids++;
        }
        if (ids == 0)
            continue;
        spotify_bearer_get(&calls[used], c, "audio_features", "");
        if (strlen(c->settings->api_base) + len >= sizeof calls[used].url) {
            spotify_calls_free(calls, used);
            free(calls);
            return SPOTIFY_ERR_INTERNAL;
        }
        snprintf(calls[used].url, sizeof calls[used].url, "%s%s", c->settings->api_base, path);
        calls[used].index = start;
        used++;
    }
    /* Apply features only when every batch succeeded, so a 403 leaves tracks untouched. */
    enum spotify_status status = spotify_run_calls(c, calls, used, NULL, NULL);
    for (size_t i = 0; status == SPOTIFY_OK && i < used; i++)
        status = on_features(c, &calls[i], lib);
    if (status == SPOTIFY_ERR_NOT_ALLOWLISTED || status == SPOTIFY_ERR_NO_PREMIUM ||
        status == SPOTIFY_ERR_SCOPE)
        status = SPOTIFY_ERR_FORBIDDEN;
    spotify_calls_free(calls, used);
    free(calls);
    return status;
}
