/* The emulated Web API (/v1/...): Bearer checks with Spotify's 401 bodies, scope checks, the
 * endpoints mixtape uses with Development Mode's omissions, the removed endpoints answering as
 * they do for a new app, and the faults the configuration asks for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "server.h"

#define MAX_OFFSET        100000
#define MAX_ITEMS_PER_ADD 100
#define MAX_FEATURE_IDS   100
#define NAME_LIMIT        200
#define DESCRIPTION_LIMIT 300

static bool has_scope(const char *granted, const char *wanted)
{
    size_t n = strlen(wanted);
    for (const char *p = granted; *p;) {
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, wanted, n) == 0)
            return true;
        p += len;
        while (*p == ' ')
            p++;
    }
    return false;
}

static const char *classify(const char *method, const char *path)
{
    if (strcmp(path, "/v1/me") == 0)
        return "me";
    if (strcmp(path, "/v1/me/tracks") == 0)
        return "me_tracks";
    if (strcmp(path, "/v1/me/playlists") == 0)
        return strcmp(method, "POST") == 0 ? "create_playlist" : "me_playlists";
    if (strncmp(path, "/v1/playlists/", 14) == 0) {
        const char *rest = strchr(path + 14, '/');
        if (!rest)
            return "playlist";
        if (strcmp(rest, "/items") == 0)
            return "playlist_items";
        if (strcmp(rest, "/tracks") == 0)
            return "playlist_tracks";
    }
    if (strncmp(path, "/v1/audio-features", 18) == 0)
        return "audio_features";
    if (strncmp(path, "/v1/users/", 10) == 0)
        return "users";
    if (strncmp(path, "/v1/recommendations", 19) == 0)
        return "recommendations";
    if (strncmp(path, "/v1/tracks", 10) == 0)
        return "tracks";
    return "other";
}

static int send_fault(struct mg_connection *conn, enum emu_fault fault,
                      const struct emu_config *config)
{
    char seconds[32];
    if (fault == EMU_FAULT_RATE_LIMIT || fault == EMU_FAULT_QUOTA) {
        bool quota = fault == EMU_FAULT_QUOTA;
        snprintf(seconds, sizeof seconds, "%lld", quota ? 86400LL : config->retry_after);
        cJSON *body = cJSON_CreateObject();
        cJSON *error = cJSON_AddObjectToObject(body, "error");
        cJSON_AddNumberToObject(error, "status", 429);
        cJSON_AddStringToObject(error, "message", "API rate limit exceeded");
        if (quota)
            cJSON_AddStringToObject(error, "reason", "QUOTA_EXCEEDED");
        const char *headers[] = {"Retry-After", seconds, NULL};
        return emu_http_send_json(conn, 429, body, headers);
    }
    static const int STATUSES[] = {503, 500, 502};
    static const char *const MESSAGES[] = {"Service unavailable", "Server error.", "Bad gateway."};
    int pick = mg_get_request_info(conn)->remote_port % 3;
    return emu_http_api_error(conn, STATUSES[pick], MESSAGES[pick]);
}

static void add_external(cJSON *object, const char *kind, const char *id)
{
    cJSON *external = cJSON_AddObjectToObject(object, "external_urls");
    if (!id)
        return;
    char url[160];
    snprintf(url, sizeof url, "https://open.spotify.com/%s/%s", kind, id);
    cJSON_AddStringToObject(external, "spotify", url);
}

static void add_links(cJSON *object, const struct emu_server *server, const char *kind,
                      const char *plural, const char *id)
{
    char text[256];
    add_external(object, kind, id);
    if (id) {
        snprintf(text, sizeof text, "%s/v1/%s/%s", server->base_url, plural, id);
        cJSON_AddStringToObject(object, "href", text);
    } else {
        cJSON_AddNullToObject(object, "href");
    }
    cJSON_AddStringToObject(object, "id", id ? id : "");
    if (!id) {
        cJSON_DeleteItemFromObject(object, "id");
        cJSON_AddNullToObject(object, "id");
    }
}

static void add_uri(cJSON *object, const char *kind, const char *id)
{
    char text[96];
    if (!id) {
        cJSON_AddNullToObject(object, "uri");
        return;
    }
    snprintf(text, sizeof text, "spotify:%s:%s", kind, id);
    cJSON_AddStringToObject(object, "uri", text);
}

static cJSON *artists_json(const struct emu_server *server, const struct emu_track *track,
                           bool local)
{
    cJSON *artists = cJSON_CreateArray();
    for (int a = 0; a < track->n_artists; a++) {
        char id[EMU_ID_LEN + 1];
        emu_id_from(track->artists[a], 0xA57, id);
        cJSON *artist = cJSON_CreateObject();
        add_links(artist, server, "artist", "artists", local ? NULL : id);
        cJSON_AddStringToObject(artist, "name", track->artists[a]);
        cJSON_AddStringToObject(artist, "type", "artist");
        add_uri(artist, "artist", local ? NULL : id);
        cJSON_AddItemToArray(artists, artist);
    }
    return artists;
}

/* Appends text to a local file's uri as Spotify writes it: URL-encoded with '+' for spaces,
 * then ':'. */
static void local_uri_part(char *uri, size_t size, const char *text)
{
    for (const char *p = text; *p; p++) {
        char one[2] = {*p, '\0'};
        if (*p == ' ')
            strncat(uri, "+", size - strlen(uri) - 1);
        else
            emu_http_url_encode(uri, size, one);
    }
    strncat(uri, ":", size - strlen(uri) - 1);
}

/* A track object as Development Mode serves it: no popularity, available_markets, linked_from. */
static cJSON *track_json(const struct emu_server *server, const struct emu_track *track)
{
    bool local = track->id[0] == '\0';
    const char *id = local ? NULL : track->id;
    cJSON *object = cJSON_CreateObject();
    cJSON *album = cJSON_AddObjectToObject(object, "album");
    char album_id[EMU_ID_LEN + 1], key[600];
    snprintf(key, sizeof key, "%s\x1f%s", track->album, track->n_artists ? track->artists[0] : "");
    emu_id_from(key, 0xA1B, album_id);
    cJSON_AddStringToObject(album, "album_type",
                            strcmp(track->album, track->name) ? "album" : "single");
    cJSON_AddItemToObject(album, "artists", artists_json(server, track, local));
    add_links(album, server, "album", "albums", local ? NULL : album_id);
    cJSON_AddArrayToObject(album, "images");
    cJSON_AddStringToObject(album, "name", track->album);
    if (local) {
        cJSON_AddNullToObject(album, "release_date");
        cJSON_AddNullToObject(album, "release_date_precision");
    } else {
        size_t n = strlen(track->release_date);
        cJSON_AddStringToObject(album, "release_date", track->release_date);
        cJSON_AddStringToObject(album, "release_date_precision",
                                n == 4 ? "year" : (n == 7 ? "month" : "day"));
    }
    cJSON_AddNumberToObject(album, "total_tracks", 1 + (track->duration_ms % 12));
    cJSON_AddStringToObject(album, "type", "album");
    add_uri(album, "album", local ? NULL : album_id);
    cJSON_AddItemToObject(object, "artists", artists_json(server, track, local));
    cJSON_AddNumberToObject(object, "disc_number", local ? 0 : 1);
    cJSON_AddNumberToObject(object, "duration_ms", track->duration_ms);
    cJSON_AddBoolToObject(object, "explicit", track->explicit_lyrics);
    cJSON *external_ids = cJSON_AddObjectToObject(object, "external_ids");
    if (track->isrc[0])
        cJSON_AddStringToObject(external_ids, "isrc", track->isrc);
    add_links(object, server, "track", "tracks", id);
    cJSON_AddBoolToObject(object, "is_local", local);
    cJSON_AddStringToObject(object, "name", track->name);
    cJSON_AddNullToObject(object, "preview_url");
    cJSON_AddNumberToObject(object, "track_number", local ? 0 : 1 + (track->duration_ms % 11));
    cJSON_AddStringToObject(object, "type", "track");
    if (local) {
        char uri[1024] = "spotify:local:";
        local_uri_part(uri, sizeof uri, track->artists[0]);
        local_uri_part(uri, sizeof uri, track->album);
        local_uri_part(uri, sizeof uri, track->name);
        size_t used = strlen(uri);
        snprintf(uri + used, sizeof uri - used, "%d", track->duration_ms / 1000);
        cJSON_AddStringToObject(object, "uri", uri);
    } else {
        add_uri(object, "track", id);
    }
    return object;
}

static int me(struct emu_server *server, struct mg_connection *conn, const struct emu_user *user)
{
    cJSON *object = cJSON_CreateObject();
    cJSON_AddStringToObject(object, "display_name", user->display_name);
    add_links(object, server, "user", "users", user->id);
    cJSON *followers = cJSON_AddObjectToObject(object, "followers");
    cJSON_AddNullToObject(followers, "href");
    cJSON_AddNumberToObject(followers, "total", 0);
    cJSON_AddArrayToObject(object, "images");
    cJSON_AddStringToObject(object, "type", "user");
    add_uri(object, "user", user->id);
    return emu_http_send_json(conn, 200, object, NULL);
}

/* Reads a whole-number query parameter. Returns 0 (default kept when absent) or -1. */
static int query_number(const char *query, const char *name, long long min, long long max,
                        long long *value)
{
    char text[32];
    int n = emu_http_param(query, query ? strlen(query) : 0, name, text, sizeof text);
    if (n == -1)
        return 0;
    if (n <= 0)
        return -1;
    char *end = NULL;
    long long parsed = strtoll(text, &end, 10);
    if (*end != '\0' || parsed < min || parsed > max)
        return -1;
    *value = parsed;
    return 0;
}

static void page_url(char *dst, size_t size, const char *base, const char *path, long long offset,
                     long long limit)
{
    snprintf(dst, size, "%s%s?offset=%lld&limit=%lld", base, path, offset, limit);
}

static int saved_tracks(struct emu_server *server, struct mg_connection *conn,
                        const struct emu_user *user, const struct emu_config *config)
{
    const char *query = mg_get_request_info(conn)->query_string;
    long long limit = 20, offset = 0;
    if (query_number(query, "limit", 1, 50, &limit))
        return emu_http_api_error(conn, 400, "Invalid limit: limit must be 1..50");
    if (query_number(query, "offset", 0, MAX_OFFSET, &offset))
        return emu_http_api_error(conn, 400, "Invalid offset: offset must be 0..100000");
    long long total = (long long)user->n_saved;
    const char *next_base = config->foreign_next ? "http://203.0.113.9" : server->base_url;
    char text[256];
    cJSON *page = cJSON_CreateObject();
    page_url(text, sizeof text, server->base_url, "/v1/me/tracks", offset, limit);
    cJSON_AddStringToObject(page, "href", text);
    cJSON *items = cJSON_AddArrayToObject(page, "items");
    for (long long i = offset; i < total && i < offset + limit; i++) {
        const struct emu_saved *saved = &user->saved[i];
        cJSON *item = cJSON_CreateObject();
        time_t when = (time_t)saved->added_at;
        struct tm tm;
        gmtime_r(&when, &tm);
        strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
        cJSON_AddStringToObject(item, "added_at", text);
        cJSON_AddItemToObject(item, "track", track_json(server, &saved->track));
        cJSON_AddItemToArray(items, item);
    }
    cJSON_AddNumberToObject(page, "limit", (double)limit);
    if (offset + limit < total) {
        page_url(text, sizeof text, next_base, "/v1/me/tracks", offset + limit, limit);
        cJSON_AddStringToObject(page, "next", text);
    } else {
        cJSON_AddNullToObject(page, "next");
    }
    cJSON_AddNumberToObject(page, "offset", (double)offset);
    if (offset > 0) {
        long long back = offset - limit < 0 ? 0 : offset - limit;
        page_url(text, sizeof text, server->base_url, "/v1/me/tracks", back, limit);
        cJSON_AddStringToObject(page, "previous", text);
    } else {
        cJSON_AddNullToObject(page, "previous");
    }
    cJSON_AddNumberToObject(page, "total", (double)total);
    return emu_http_send_json(conn, 200, page, NULL);
}

/* Reads a JSON body, at most EMU_JSON_LIMIT bytes. Returns the parsed object, or NULL after
 * answering 400 or 413. */
static cJSON *read_json(struct mg_connection *conn, int *status)
{
    char *body = NULL;
    size_t len = 0;
    enum emu_http_status read = emu_http_read_body(conn, EMU_JSON_LIMIT, &body, &len);
    if (read == EMU_HTTP_TOO_LARGE) {
        *status = emu_http_api_error(conn, 413, "Request body larger than 65536 bytes");
        return NULL;
    }
    if (read != EMU_HTTP_OK) {
        *status = emu_http_api_error(conn, 400, "Could not read the request body");
        return NULL;
    }
    cJSON *json = len ? cJSON_ParseWithLength(body, len) : cJSON_CreateObject();
    free(body);
    if (!json || !cJSON_IsObject(json)) {
        cJSON_Delete(json);
        *status = emu_http_api_error(conn, 400, "Error parsing JSON.");
        return NULL;
    }
    return json;
}

static int my_playlists(struct emu_server *server, struct mg_connection *conn, size_t user_index)
{
    const char *query = mg_get_request_info(conn)->query_string;
    long long limit = 20, offset = 0;
    if (query_number(query, "limit", 1, 50, &limit))
        return emu_http_api_error(conn, 400, "Invalid limit: limit must be 1..50");
    if (query_number(query, "offset", 0, MAX_OFFSET, &offset))
        return emu_http_api_error(conn, 400, "Invalid offset: offset must be 0..100000");
    cJSON *mine = emu_state_playlists_json(&server->state, &server->library, user_index);
    long long total = cJSON_GetArraySize(mine);
    char text[256];
    cJSON *page = cJSON_CreateObject();
    page_url(text, sizeof text, server->base_url, "/v1/me/playlists", offset, limit);
    cJSON_AddStringToObject(page, "href", text);
    cJSON *items = cJSON_AddArrayToObject(page, "items");
    for (long long i = offset; i < total && i < offset + limit; i++) {
        const cJSON *id = cJSON_GetObjectItem(cJSON_GetArrayItem(mine, (int)i), "id");
        cJSON *playlist = emu_state_playlist_json(&server->state, &server->library,
                                                  cJSON_GetStringValue(id), server->base_url);
        if (playlist)
            cJSON_AddItemToArray(items, playlist);
    }
    cJSON_Delete(mine);
    cJSON_AddNumberToObject(page, "limit", (double)limit);
    if (offset + limit < total) {
        page_url(text, sizeof text, server->base_url, "/v1/me/playlists", offset + limit, limit);
        cJSON_AddStringToObject(page, "next", text);
    } else {
        cJSON_AddNullToObject(page, "next");
    }
    cJSON_AddNumberToObject(page, "offset", (double)offset);
    cJSON_AddNullToObject(page, "previous");
    cJSON_AddNumberToObject(page, "total", (double)total);
    return emu_http_send_json(conn, 200, page, NULL);
}

static int create_playlist(struct emu_server *server, struct mg_connection *conn, size_t user_index,
                           const char *scope)
{
    int status = 400;
    cJSON *request = read_json(conn, &status);
    if (!request)
        return status;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(request, "name");
    const cJSON *is_public = cJSON_GetObjectItemCaseSensitive(request, "public");
    const cJSON *collaborative = cJSON_GetObjectItemCaseSensitive(request, "collaborative");
    const cJSON *description = cJSON_GetObjectItemCaseSensitive(request, "description");
    bool public_flag = !is_public || cJSON_IsTrue(is_public);
    bool collaborative_flag = cJSON_IsTrue(collaborative);
    if (!cJSON_IsString(name) || name->valuestring[0] == '\0') {
        status = emu_http_api_error(conn, 400, "Missing required field: name");
        goto done;
    }
    if (strlen(name->valuestring) > NAME_LIMIT) {
        status = emu_http_api_error(conn, 400, "name: at most 200 bytes");
        goto done;
    }
    if (description &&
        (!cJSON_IsString(description) || strlen(description->valuestring) > DESCRIPTION_LIMIT)) {
        status = emu_http_api_error(conn, 400, "description: a string of at most 300 bytes");
        goto done;
    }
    if ((is_public && !cJSON_IsBool(is_public)) ||
        (collaborative && !cJSON_IsBool(collaborative))) {
        status = emu_http_api_error(conn, 400, "public and collaborative must be booleans");
        goto done;
    }
    if (collaborative_flag && public_flag) {
        status = emu_http_api_error(conn, 400, "Collaborative playlists can only be private.");
        goto done;
    }
    if (!has_scope(scope, public_flag ? "playlist-modify-public" : "playlist-modify-private")) {
        status = emu_http_api_error(conn, 403, "Insufficient client scope");
        goto done;
    }
    char id[EMU_ID_LEN + 1], snapshot[41];
    if (emu_state_create_playlist(&server->state, user_index, name->valuestring,
                                  description ? description->valuestring : "", public_flag,
                                  collaborative_flag, id, snapshot) != EMU_OK) {
        status = emu_http_api_error(conn, 503, "Service unavailable");
        goto done;
    }
    cJSON *playlist =
        emu_state_playlist_json(&server->state, &server->library, id, server->base_url);
    status = emu_http_send_json(conn, 201, playlist, NULL);
done:
    cJSON_Delete(request);
    return status;
}

static bool track_exists(const struct emu_server *server, const char *id)
{
    return emu_catalog_find(&server->catalog, id) || emu_library_knows(&server->library, id);
}

/* POST /v1/playlists/{id}/items adds (at position or at the end); with replace (PUT) the
 * uris take the place of every item, 200 instead of 201, as Spotify does. */
static int add_items(struct emu_server *server, struct mg_connection *conn, size_t user_index,
                     const char *scope, const char *playlist_id, bool replace)
{
    if (!has_scope(scope, "playlist-modify-public") && !has_scope(scope, "playlist-modify-private"))
        return emu_http_api_error(conn, 403, "Insufficient client scope");
    int status = 400;
    cJSON *request = read_json(conn, &status);
    if (!request)
        return status;
    const char *uris[MAX_ITEMS_PER_ADD];
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(request, "uris");
    const cJSON *position = cJSON_GetObjectItemCaseSensitive(request, "position");
    long long at = -1;
    if (!cJSON_IsArray(list) || (cJSON_GetArraySize(list) == 0 && !replace)) {
        status = emu_http_api_error(conn, 400, "uris: at least one uri is required");
        goto done;
    }
    int n = cJSON_GetArraySize(list);
    if (n > MAX_ITEMS_PER_ADD) {
        char message[128];
        snprintf(message, sizeof message,
                 "uris: you can add a maximum of 100 tracks per request (got %d)", n);
        status = emu_http_api_error(conn, 400, message);
        goto done;
    }
    int i = 0;
    const cJSON *uri;
    cJSON_ArrayForEach(uri, list)
    {
        const char *text = cJSON_GetStringValue(uri);
        if (!text || strncmp(text, "spotify:track:", 14) != 0 || !emu_id_valid(text + 14)) {
            char message[160];
            snprintf(message, sizeof message, "Invalid track uri: %.100s",
                     text ? text : "(not a string)");
            status = emu_http_api_error(conn, 400, message);
            goto done;
        }
        if (!track_exists(server, text + 14)) {
            status = emu_http_api_error(conn, 400, "Payload contains a non-existing ID");
            goto done;
        }
        uris[i++] = text;
    }
    if (position && replace) {
        status = emu_http_api_error(conn, 400, "position: not allowed when replacing items");
        goto done;
    }
    if (replace)
        at = EMU_REPLACE_ITEMS;
    if (position) {
        if (!cJSON_IsNumber(position) || position->valuedouble < 0 ||
            position->valuedouble > EMU_PLAYLIST_MAX) {
            status = emu_http_api_error(conn, 400, "position: a whole number 0..10000");
            goto done;
        }
        at = (long long)position->valuedouble;
    }
    if (!emu_id_valid(playlist_id)) {
        status = emu_http_api_error(conn, 400, "Invalid base62 id");
        goto done;
    }
    char snapshot[41];
    enum emu_status outcome =
        emu_state_add_items(&server->state, user_index, playlist_id, uris, (size_t)n, at, snapshot);
    switch (outcome) {
    case EMU_OK: {
        cJSON *answer = cJSON_CreateObject();
        cJSON_AddStringToObject(answer, "snapshot_id", snapshot);
        status = emu_http_send_json(conn, replace ? 200 : 201, answer, NULL);
        break;
    }
    case EMU_ERR_NOT_FOUND:
        status = emu_http_api_error(conn, 404, emu_strerror(outcome));
        break;
    case EMU_ERR_NOT_OWNER:
        status = emu_http_api_error(conn, 403, emu_strerror(outcome));
        break;
    default:
        status = emu_http_api_error(conn, 400, emu_strerror(outcome));
        break;
    }
done:
    cJSON_Delete(request);
    return status;
}

static const struct emu_track *find_any(const struct emu_server *server, const char *id)
{
    const struct emu_track *track = emu_catalog_find(&server->catalog, id);
    for (size_t u = 0; !track && u < server->library.n_users; u++) {
        const struct emu_user *user = &server->library.users[u];
        for (size_t i = 0; i < user->n_saved && !track; i++)
            if (strcmp(user->saved[i].track.id, id) == 0)
                track = &user->saved[i].track;
    }
    return track;
}

static cJSON *features_json(const struct emu_server *server, const char *id)
{
    const struct emu_track *track = find_any(server, id);
    if (!track || !track->has_features)
        return cJSON_CreateNull();
    cJSON *object = cJSON_CreateObject();
    for (int f = 0; f < EMU_FEAT_COUNT; f++)
        cJSON_AddNumberToObject(object, emu_feature_name((enum emu_feature)f), track->features[f]);
    cJSON_AddStringToObject(object, "type", "audio_features");
    cJSON_AddStringToObject(object, "id", id);
    add_uri(object, "track", id);
    char text[160];
    snprintf(text, sizeof text, "%s/v1/tracks/%s", server->base_url, id);
    cJSON_AddStringToObject(object, "track_href", text);
    snprintf(text, sizeof text, "%s/v1/audio-analysis/%s", server->base_url, id);
    cJSON_AddStringToObject(object, "analysis_url", text);
    cJSON_AddNumberToObject(object, "duration_ms", track->duration_ms);
    return object;
}

static int audio_features(struct emu_server *server, struct mg_connection *conn, const char *path,
                          const struct emu_config *config)
{
    if (!config->legacy_audio_features)
        return emu_http_api_error(conn, 403, "Forbidden");
    if (strncmp(path, "/v1/audio-features/", 19) == 0) {
        const char *id = path + 19;
        if (!emu_id_valid(id))
            return emu_http_api_error(conn, 400, "Invalid base62 id");
        cJSON *one = features_json(server, id);
        if (cJSON_IsNull(one)) {
            cJSON_Delete(one);
            return emu_http_api_error(conn, 404, "analysis not found");
        }
        return emu_http_send_json(conn, 200, one, NULL);
    }
    const char *query = mg_get_request_info(conn)->query_string;
    char ids[MAX_FEATURE_IDS * (EMU_ID_LEN + 1) + 1];
    int n = emu_http_param(query, query ? strlen(query) : 0, "ids", ids, sizeof ids);
    if (n == -2)
        return emu_http_api_error(conn, 400, "Too many ids requested: at most 100");
    if (n <= 0)
        return emu_http_api_error(conn, 400, "ids: at least one id is required");
    cJSON *list = cJSON_CreateArray();
    int count = 0;
    for (char *p = ids; *p;) {
        size_t len = strcspn(p, ",");
        char id[EMU_ID_LEN + 1];
        bool ok = len == EMU_ID_LEN;
        if (ok) {
            memcpy(id, p, len);
            id[len] = '\0';
            ok = emu_id_valid(id);
        }
        if (!ok || ++count > MAX_FEATURE_IDS) {
            cJSON_Delete(list);
            return emu_http_api_error(
                conn, 400, ok ? "Too many ids requested: at most 100" : "Invalid base62 id");
        }
        cJSON_AddItemToArray(list, features_json(server, id));
        p += len;
        if (*p == ',')
            p++;
    }
    cJSON *answer = cJSON_CreateObject();
    cJSON_AddItemToObject(answer, "audio_features", list);
    return emu_http_send_json(conn, 200, answer, NULL);
}

int emu_webapi_handle(struct emu_server *server, struct mg_connection *conn, const char *path,
                      const char **endpoint)
{
    const char *method = mg_get_request_info(conn)->request_method;
    *endpoint = classify(method, path);
    struct emu_config config;
    enum emu_fault fault = emu_state_draw_fault(&server->state, &config);
    if (config.latency_ms > 0)
        usleep((useconds_t)(config.latency_ms * 1000));
    if (fault != EMU_FAULT_NONE)
        return send_fault(conn, fault, &config);

    const char *authorization = mg_get_header(conn, "Authorization");
    if (!authorization)
        return emu_http_api_error(conn, 401, "No token provided");
    if (strncmp(authorization, "Bearer ", 7) != 0)
        return emu_http_api_error(conn, 400, "Only valid bearer authentication supported");
    size_t user_index = 0;
    char scope[EMU_SCOPE_MAX];
    enum emu_status access =
        emu_state_check_access(&server->state, authorization + 7, &user_index, scope);
    if (access != EMU_OK)
        return emu_http_api_error(conn, 401, emu_strerror(access));
    const struct emu_user *user = &server->library.users[user_index];
    if (!user->allow_listed)
        return emu_http_api_error(conn, 403,
                                  "Check settings on developer.spotify.com/dashboard, "
                                  "the user may not be registered.");

    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0,
         put = strcmp(method, "PUT") == 0;
    const char *name = *endpoint;
    if (strcmp(name, "me") == 0 && get)
        return me(server, conn, user);
    if (strcmp(name, "me_tracks") == 0 && get) {
        if (!has_scope(scope, "user-library-read"))
            return emu_http_api_error(conn, 403, "Insufficient client scope");
        return saved_tracks(server, conn, user, &config);
    }
    if (strcmp(name, "me_playlists") == 0 && get)
        return my_playlists(server, conn, user_index);
    if (strcmp(name, "create_playlist") == 0)
        return create_playlist(server, conn, user_index, scope);
    if (strcmp(name, "playlist_items") == 0 && (post || put)) {
        char id[64];
        size_t len = strcspn(path + 14, "/");
        snprintf(id, sizeof id, "%.*s", (int)(len < 63 ? len : 63), path + 14);
        return add_items(server, conn, user_index, scope, id, put);
    }
    if (strcmp(name, "playlist") == 0 && get) {
        cJSON *playlist =
            emu_state_playlist_json(&server->state, &server->library, path + 14, server->base_url);
        if (!playlist)
            return emu_http_api_error(conn, 404, "Resource not found");
        return emu_http_send_json(conn, 200, playlist, NULL);
    }
    /* Removed for Development Mode apps since February 2026. */
    if (strcmp(name, "playlist_tracks") == 0 || strcmp(name, "tracks") == 0 ||
        (strcmp(name, "users") == 0 && post && strstr(path, "/playlists")))
        return emu_http_api_error(conn, 403, "Forbidden");
    if (strcmp(name, "audio_features") == 0 && get)
        return audio_features(server, conn, path, &config);
    if (strcmp(name, "recommendations") == 0)
        return emu_http_api_error(conn, 404, "Service not found");
    if (strcmp(name, "other") == 0 || strcmp(name, "users") == 0)
        return emu_http_api_error(conn, 404, "Service not found");
    return emu_http_api_error(conn, 405, "Method not allowed");
}
