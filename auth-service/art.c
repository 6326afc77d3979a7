/* Cover art through Spotify's oEmbed (art.h): two bounded libcurl calls per miss, an array of
 * cached pictures behind one mutex (least recently used evicted), and a counter that caps the
 * fetches in flight so a page of 50 covers cannot take every worker thread. */
#include "art.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

const char art_placeholder_svg[] =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 64 64\" width=\"64\" height=\"64\">"
    "<rect width=\"64\" height=\"64\" rx=\"6\" fill=\"#8a8a8a\"/>"
    "<path d=\"M26 18v20.5a7 7 0 1 0 4 6.3V26h12v-8z\" fill=\"#f2f2f2\"/></svg>\n";

struct picture {
    char id[23];
    bool ok;
    char *bytes;
    size_t len;
    char type[32];
    time_t fetched_at, last_used;
};

struct art_cache {
    pthread_mutex_t lock;
    pthread_cond_t slot;
    char base[512];
    struct picture *pictures;
    size_t max_entries, max_bytes, bytes;
    int fetching;
};

struct art_cache *art_cache_new(const char *oembed_base, size_t max_entries, size_t max_bytes)
{
    struct art_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->pictures = calloc(max_entries ? max_entries : 1, sizeof *c->pictures);
    if (!c->pictures) {
        free(c);
        return NULL;
    }
    snprintf(c->base, sizeof c->base, "%s", oembed_base);
    c->max_entries = max_entries ? max_entries : 1;
    c->max_bytes = max_bytes;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->slot, NULL);
    return c;
}

void art_cache_free(struct art_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->max_entries; i++)
        free(c->pictures[i].bytes);
    free(c->pictures);
    pthread_cond_destroy(&c->slot);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* scheme://host[:port] of url into out; false when url has no such prefix. */
static bool origin_of(const char *url, char *out, size_t len)
{
    const char *sep = strstr(url, "://");
    if (!sep)
        return false;
    size_t n = (size_t)(sep + 3 - url) + strcspn(sep + 3, "/?#");
    if (n >= len || n == (size_t)(sep + 3 - url))
        return false;
    memcpy(out, url, n);
    out[n] = '\0';
    return true;
}

bool art_url_allowed(const char *oembed_base, const char *url)
{
    if (strpbrk(url, " \r\n\\@") != NULL)
        return false;
    static const char *const HOSTS[] = {"https://i.scdn.co/", "https://mosaic.scdn.co/",
                                        "https://image-cdn-ak.spotifycdn.com/",
                                        "https://image-cdn-fa.spotifycdn.com/"};
    for (size_t i = 0; i < sizeof HOSTS / sizeof HOSTS[0]; i++)
        if (strncmp(url, HOSTS[i], strlen(HOSTS[i])) == 0)
            return true;
    char mine[512], theirs[512];
    return origin_of(oembed_base, mine, sizeof mine) && origin_of(url, theirs, sizeof theirs) &&
           strcmp(mine, theirs) == 0;
}

struct body {
    char *data;
    size_t len, cap;
    bool too_large;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *ctx)
{
    struct body *b = ctx;
    size_t more = size * n;
    if (b->len + more > b->cap) {
        b->too_large = true;
        return 0;
    }
    memcpy(b->data + b->len, ptr, more);
    b->len += more;
    return more;
}

/* GET url into *b (at most cap bytes); the content type into type. True on a 200. */
static bool fetch(const char *url, size_t cap, struct body *b, char *type, size_t type_len)
{
    b->data = malloc(cap + 1);
    b->len = 0;
    b->cap = cap;
    b->too_large = false;
    CURL *curl = curl_easy_init();
    if (!b->data || !curl) {
        curl_easy_cleanup(curl);
        return false;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ART_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "mixtape");
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    char *ct = NULL;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(type, type_len, "%s", ct ? ct : "");
    curl_easy_cleanup(curl);
    b->data[b->len] = '\0';
    return rc == CURLE_OK && status == 200 && !b->too_large;
}

/* The two calls: oEmbed, then its thumbnail. */
static bool fetch_picture(const char *base, const char *id, struct picture *out)
{
    char url[700];
    snprintf(url, sizeof url, "%s/oembed?url=https%%3A%%2F%%2Fopen.spotify.com%%2Ftrack%%2F%s",
             base, id);
    struct body meta = {0}, image = {0};
    char type[128];
    bool ok = false;
    cJSON *json = NULL;
    if (!fetch(url, ART_MAX_OEMBED_BYTES, &meta, type, sizeof type))
        goto done;
    json = cJSON_ParseWithLength(meta.data, meta.len);
    const char *thumb =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "thumbnail_url"));
    if (!thumb || strlen(thumb) > 600 || !art_url_allowed(base, thumb)) {
        log_warn("cover_refused", "reason=\"no thumbnail_url on an allowed host\"");
        goto done;
    }
    if (!fetch(thumb, ART_MAX_IMAGE_BYTES, &image, type, sizeof type))
        goto done;
    type[strcspn(type, "; ")] = '\0';
    if (strcmp(type, "image/jpeg") != 0 && strcmp(type, "image/png") != 0 &&
        strcmp(type, "image/webp") != 0)
        goto done;
    out->bytes = image.data;
    out->len = image.len;
    image.data = NULL;
    snprintf(out->type, sizeof out->type, "%.31s", type);
    ok = true;
done:
    cJSON_Delete(json);
    free(meta.data);
    free(image.data);
    return ok;
}

static struct picture *find(struct art_cache *c, const char *id, time_t now)
{
    for (size_t i = 0; i < c->max_entries; i++) {
        struct picture *p = &c->pictures[i];
        if (!p->id[0] || strcmp(p->id, id) != 0)
            continue;
        if (now - p->fetched_at >= (p->ok ? ART_TTL_SECONDS : ART_MISS_SECONDS))
            return NULL;
        return p;
    }
    return NULL;
}

static void drop(struct art_cache *c, struct picture *p)
{
    c->bytes -= p->len;
    free(p->bytes);
    memset(p, 0, sizeof *p);
}

/* Keeps *fresh (taking its bytes), evicting the least recently used to stay in bounds. */
static void keep(struct art_cache *c, const struct picture *fresh)
{
    for (size_t i = 0; i < c->max_entries; i++)
        if (c->pictures[i].id[0] && strcmp(c->pictures[i].id, fresh->id) == 0)
            drop(c, &c->pictures[i]);
    for (;;) {
        struct picture *lru = NULL, *empty = NULL;
        for (size_t i = 0; i < c->max_entries; i++) {
            struct picture *p = &c->pictures[i];
            if (!p->id[0]) {
                empty = empty ? empty : p;
                continue;
            }
            if (!lru || p->last_used < lru->last_used)
                lru = p;
        }
        if (empty && c->bytes + fresh->len <= c->max_bytes) {
            *empty = *fresh;
            c->bytes += fresh->len;
            return;
        }
        if (!lru) {
            free(fresh->bytes); /* larger than the whole cache */
            return;
        }
        drop(c, lru);
    }
}

bool art_get(struct art_cache *c, const char *track_id, time_t now, char **bytes, size_t *len,
             char type[32])
{
    *bytes = NULL;
    *len = 0;
    if (strlen(track_id) != 22 ||
        strspn(track_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != 22)
        return false;
    pthread_mutex_lock(&c->lock);
    struct picture *p = find(c, track_id, now);
    if (!p) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += ART_TIMEOUT_MS / 1000;
        int waited = 0;
        while (c->fetching >= ART_MAX_FETCHES && waited == 0)
            waited = pthread_cond_timedwait(&c->slot, &c->lock, &until);
        if (c->fetching >= ART_MAX_FETCHES) {
            pthread_mutex_unlock(&c->lock);
            return false; /* busy: a placeholder now, the picture on a later visit */
        }
        p = find(c, track_id, now); /* fetched by another request meanwhile? */
        if (!p) {
            c->fetching++;
            pthread_mutex_unlock(&c->lock);
            struct picture fresh = {.fetched_at = now, .last_used = now};
            snprintf(fresh.id, sizeof fresh.id, "%s", track_id);
            fresh.ok = fetch_picture(c->base, track_id, &fresh);
            /* the requester gets its own copy even when the cache cannot keep it */
            char *mine = fresh.ok ? malloc(fresh.len) : NULL;
            if (mine)
                memcpy(mine, fresh.bytes, fresh.len);
            pthread_mutex_lock(&c->lock);
            c->fetching--;
            pthread_cond_signal(&c->slot);
            keep(c, &fresh);
            pthread_mutex_unlock(&c->lock);
            if (!mine)
                return false;
            *bytes = mine;
            *len = fresh.len;
            snprintf(type, 32, "%s", fresh.type);
            return true;
        }
    }
    bool ok = false;
    if (p && p->ok) {
        p->last_used = now;
        *bytes = malloc(p->len);
        if (*bytes) {
            memcpy(*bytes, p->bytes, p->len);
            *len = p->len;
            snprintf(type, 32, "%s", p->type);
            ok = true;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return ok;
}
