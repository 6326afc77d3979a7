/* Saving a playlist through the Spotify client (spotify.h): create it on the user's account,
 * then add its tracks in order, one call per SPOTIFY_ITEMS_PER_ADD. */
#include "spotify.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_limit.h"
#include "spotify_call.h"

enum spotify_status spotify_save_playlist(struct spotify_client *c, const char *name,
                                          const char *description, bool public_playlist,
                                          const char *const *track_ids, size_t n_ids,
                                          char playlist_id[64])
{
    enum spotify_status status = SPOTIFY_ERR_BAD_REQUEST;
    struct call create = {.endpoint = "create_playlist", .post = true, .bearer = true};
    struct call *adds = NULL;
    size_t n_adds = 0;
    cJSON *body = NULL;
    if (n_ids == 0 || n_ids > SPOTIFY_MAX_PLAYLIST) {
        snprintf(c->last_error, sizeof c->last_error, "a playlist holds 1..%u tracks",
                 SPOTIFY_MAX_PLAYLIST);
        goto done;
    }
    for (size_t i = 0; i < n_ids; i++) {
        if (!spotify_is_track_id(track_ids[i])) {
            snprintf(c->last_error, sizeof c->last_error,
                     "track id %zu is not a 22-character Spotify id", i);
            goto done;
        }
    }
    status = SPOTIFY_ERR_INTERNAL;
    snprintf(create.url, sizeof create.url, "%s/v1/me/playlists", c->settings->api_base);
    body = cJSON_CreateObject();
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
    if (!cJSON_IsString(id) || strlen(id->valuestring) == 0 || strlen(id->valuestring) >= 64 ||
        strspn(id->valuestring, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
            strlen(id->valuestring)) {
        snprintf(c->last_error, sizeof c->last_error, "playlist answer without a usable id");
        goto done;
    }
    char new_id[64];
    snprintf(new_id, sizeof new_id, "%s", id->valuestring);
    /* Items in order, one chunk of 100 after the other (order matters in a playlist). */
    status = SPOTIFY_ERR_INTERNAL;
    n_adds = (n_ids + SPOTIFY_ITEMS_PER_ADD - 1) / SPOTIFY_ITEMS_PER_ADD;
    adds = calloc(n_adds, sizeof *adds);
    if (!adds)
        goto done;
    for (size_t a = 0; a < n_adds; a++) {
        struct call *add = &adds[a];
        add->endpoint = "add_items";
        add->post = true;
        add->bearer = true;
        snprintf(add->url, sizeof add->url, "%s/v1/playlists/%s/items", c->settings->api_base,
                 new_id);
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
        if (!add->body)
            goto done;
        status = spotify_run_calls(c, add, 1, NULL, NULL);
        if (status != SPOTIFY_OK)
            goto done;
    }
    snprintf(playlist_id, 64, "%s", new_id);
    status = SPOTIFY_OK;
done:
    cJSON_Delete(body);
    spotify_calls_free(&create, 1);
    if (adds)
        spotify_calls_free(adds, n_adds);
    free(adds);
    return status;
}
