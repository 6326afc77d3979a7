/* Saving a playlist through the Spotify client (spotify.h): create it on the user's account,
 * then add its tracks in order, one call per SPOTIFY_ITEMS_PER_ADD. */
#include "spotify.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_limit.h"
#include "spotify_call.h"

#define ID_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* Whether s can be a playlist id: 1..63 base-62 characters. */
static bool playlist_id_ok(const char *s)
{
    return s[0] && strlen(s) < 64 && strspn(s, ID_CHARS) == strlen(s);
}

/* Checks what a save was given: 1..SPOTIFY_MAX_PLAYLIST track ids, each a Spotify id, and
 * replace_id (if any) a playlist id. Returns SPOTIFY_OK, or SPOTIFY_ERR_BAD_REQUEST with
 * c->last_error saying which. */
static enum spotify_status save_check(struct spotify_client *c, const char *replace_id,
                                      const char *const *track_ids, size_t n_ids)
{
    if (n_ids == 0 || n_ids > SPOTIFY_MAX_PLAYLIST) {
        snprintf(c->last_error, sizeof c->last_error, "a playlist holds 1..%u tracks",
                 SPOTIFY_MAX_PLAYLIST);
        return SPOTIFY_ERR_BAD_REQUEST;
    }
    for (size_t i = 0; i < n_ids; i++) {
        if (!spotify_is_track_id(track_ids[i])) {
            snprintf(c->last_error, sizeof c->last_error,
                     "track id %zu is not a 22-character Spotify id", i);
            return SPOTIFY_ERR_BAD_REQUEST;
        }
    }
    if (replace_id && !playlist_id_ok(replace_id)) {
        snprintf(c->last_error, sizeof c->last_error, "not a playlist id to replace");
        return SPOTIFY_ERR_BAD_REQUEST;
    }
    return SPOTIFY_OK;
}

/* Creates an empty playlist on the user's account and copies its id into new_id. Returns
 * SPOTIFY_OK, the call's failure, or SPOTIFY_ERR_BAD_RESPONSE when the answer has no usable
 * id. Blocks. */
static enum spotify_status playlist_create(struct spotify_client *c, const char *name,
                                           const char *description, bool public_playlist,
                                           char new_id[64])
{
    enum spotify_status status = SPOTIFY_ERR_INTERNAL;
    struct call create = {.endpoint = "create_playlist", .post = true, .bearer = true};
    snprintf(create.url, sizeof create.url, "%s/v1/me/playlists", c->settings->api_base);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "name", name);
    cJSON_AddBoolToObject(body, "public", public_playlist);
    cJSON_AddBoolToObject(body, "collaborative", false);
    cJSON_AddStringToObject(body, "description", description);
    create.body = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    body = NULL;
    if (!create.body)
        goto done;
    status = spotify_run_calls(c, &create, 1, NULL, NULL);
    if (status != SPOTIFY_OK)
        goto done;
    status = SPOTIFY_ERR_BAD_RESPONSE;
    body = json_parse_limited(create.response ? create.response : "", create.response_len,
                              JSON_MAX_DEPTH, NULL);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "id");
    if (!cJSON_IsString(id) || !playlist_id_ok(id->valuestring)) {
        snprintf(c->last_error, sizeof c->last_error, "playlist answer without a usable id");
        goto done;
    }
    snprintf(new_id, 64, "%s", id->valuestring);
    status = SPOTIFY_OK;
done:
    cJSON_Delete(body);
    spotify_calls_free(&create, 1);
    return status;
}

/* Puts track_ids[0..n_ids) into playlist playlist_id, in order, one chunk of
 * SPOTIFY_ITEMS_PER_ADD after the other (order matters in a playlist); when replacing, the
 * first chunk replaces what the playlist held. Returns SPOTIFY_OK or the first failure.
 * Blocks. */
static enum spotify_status playlist_add_items(struct spotify_client *c, const char *playlist_id,
                                              bool replace, const char *const *track_ids,
                                              size_t n_ids)
{
    enum spotify_status status = SPOTIFY_ERR_INTERNAL;
    size_t n_adds = (n_ids + SPOTIFY_ITEMS_PER_ADD - 1) / SPOTIFY_ITEMS_PER_ADD;
    struct call *adds = calloc(n_adds, sizeof *adds);
    if (!adds)
        return status;
    for (size_t a = 0; a < n_adds; a++) {
        struct call *add = &adds[a];
        add->endpoint = replace && a == 0 ? "replace_items" : "add_items";
        add->post = true;
        add->put = replace && a == 0;
        add->bearer = true;
        snprintf(add->url, sizeof add->url, "%s/v1/playlists/%s/items", c->settings->api_base,
                 playlist_id);
        cJSON *items = cJSON_CreateObject();
        cJSON *uris = cJSON_AddArrayToObject(items, "uris");
        for (size_t i = a * SPOTIFY_ITEMS_PER_ADD; i < n_ids && i < (a + 1) * SPOTIFY_ITEMS_PER_ADD;
             i++) {
            char uri[64];
            snprintf(uri, sizeof uri, "spotify:track:%s", track_ids[i]);
            cJSON_AddItemToArray(uris, cJSON_CreateString(uri));
        }
        add->body = cJSON_PrintUnformatted(items);
        cJSON_Delete(items);
        if (!add->body) {
            status = SPOTIFY_ERR_INTERNAL;
            break;
        }
        status = spotify_run_calls(c, add, 1, NULL, NULL);
        if (status != SPOTIFY_OK)
            break;
    }
    spotify_calls_free(adds, n_adds);
    free(adds);
    return status;
}

enum spotify_status spotify_save_playlist(struct spotify_client *c, const char *name,
                                          const char *description, bool public_playlist,
                                          const char *replace_id, const char *const *track_ids,
                                          size_t n_ids, char playlist_id[64])
{
    /* A person waits on a save: retries stop after SPOTIFY_SAVE_BUDGET_MS so the page can say
     * "try again" within 10 s, whatever the budget of a long library read. */
    const struct spotify_settings *settings = c->settings;
    struct spotify_settings quick = *settings;
    if (quick.budget_ms > SPOTIFY_SAVE_BUDGET_MS)
        quick.budget_ms = SPOTIFY_SAVE_BUDGET_MS;
    if (quick.timeout_ms > SPOTIFY_SAVE_BUDGET_MS / 2)
        quick.timeout_ms = SPOTIFY_SAVE_BUDGET_MS / 2;
    c->settings = &quick;
    char new_id[64];
    enum spotify_status status = save_check(c, replace_id, track_ids, n_ids);
    if (status == SPOTIFY_OK) {
        if (replace_id)
            snprintf(new_id, sizeof new_id, "%s", replace_id);
        else
            status = playlist_create(c, name, description, public_playlist, new_id);
    }
    if (status == SPOTIFY_OK)
        status = playlist_add_items(c, new_id, replace_id != NULL, track_ids, n_ids);
    if (status == SPOTIFY_OK)
        snprintf(playlist_id, 64, "%s", new_id);
    c->settings = settings;
    return status;
}
