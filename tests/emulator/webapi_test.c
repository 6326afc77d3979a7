/* Tests of the emulated Web API against the running spotify-emu: paging arithmetic of
 * /v1/me/tracks, Development Mode track objects (local files, no popularity), 401 and 403
 * bodies, playlist creation and items (owner check, 1..100 uris), the control API's read-back,
 * and the removed endpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "emu_client.h"

#define LIBRARY_SIZE 120 /* emu_client_start's --library-size: the demo user's saved tracks */

static struct harness_proc emu;
static char base[128];
static struct emu_tokens demo, river, no_library_scope;

static int start(void **state)
{
    (void)state;
    if (emu_client_start(&emu, NULL) != 0)
        return -1;
    snprintf(base, sizeof base, "http://%.100s", emu.addr);
    const char *scope = "user-library-read playlist-modify-private playlist-modify-public";
    if (emu_client_sign_in(base, "demo", scope, &demo) != 0 ||
        emu_client_sign_in(base, "river", scope, &river) != 0 ||
        emu_client_sign_in(base, "demo", "playlist-modify-private", &no_library_scope) != 0)
        return -1;
    return 0;
}

static int stop(void **state)
{
    (void)state;
    return harness_stop(&emu, 10000) == 0 ? 0 : -1;
}

/* Calls the API as tokens' user. Returns the parsed body (caller frees), writes the status. */
static cJSON *call(const char *method, const char *path, const struct emu_tokens *tokens,
                   const char *body, long *status)
{
    char bearer[256];
    emu_client_bearer(tokens ? tokens->access_token : "", bearer, sizeof bearer);
    const char *headers[] = {"Content-Type: application/json", tokens ? bearer : NULL, NULL};
    struct emu_response answer;
    assert_int_equal(emu_request(method, base, path, headers, body, &answer), 0);
    *status = answer.status;
    cJSON *json = cJSON_Parse(answer.body);
    if (!json)
        fprintf(stderr, "not JSON: %s\n", answer.body);
    assert_non_null(json);
    emu_response_free(&answer);
    return json;
}

static const char *error_message(const cJSON *json)
{
    const char *message =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(json, "error"), "message"));
    return message ? message : "";
}

static void test_paging_arithmetic(void **state)
{
    (void)state;
    static const struct {
        int limit, offset; /* -1: not given */
        int items;
        int next_offset, previous_offset; /* -1: null */
        int limit_seen;
    } CASES[] = {
        {-1, -1, 20, 20, -1, 20},  {50, 0, 50, 50, -1, 50},   {50, 50, 50, 100, 0, 50},
        {50, 100, 20, -1, 50, 50}, {7, 3, 7, 10, 0, 7},       {1, 119, 1, -1, 118, 1},
        {50, 120, 0, -1, 70, 50},  {50, 500, 0, -1, 450, 50}, {30, 20, 30, 50, 0, 30},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char path[128] = "/v1/me/tracks?market=from_token";
        if (CASES[i].limit >= 0)
            snprintf(path + strlen(path), sizeof path - strlen(path), "&limit=%d", CASES[i].limit);
        if (CASES[i].offset >= 0)
            snprintf(path + strlen(path), sizeof path - strlen(path), "&offset=%d",
                     CASES[i].offset);
        long status = 0;
        cJSON *page = call("GET", path, &demo, NULL, &status);
        fprintf(stderr, "case %zu: %s\n", i, path);
        assert_int_equal(status, 200);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(page, "items")), CASES[i].items);
        assert_int_equal((int)cJSON_GetObjectItem(page, "total")->valuedouble, LIBRARY_SIZE);
        assert_int_equal((int)cJSON_GetObjectItem(page, "limit")->valuedouble, CASES[i].limit_seen);
        int offset = CASES[i].offset < 0 ? 0 : CASES[i].offset;
        assert_int_equal((int)cJSON_GetObjectItem(page, "offset")->valuedouble, offset);
        char expected[400];
        snprintf(expected, sizeof expected, "%s/v1/me/tracks?offset=%d&limit=%d", base, offset,
                 CASES[i].limit_seen);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(page, "href")), expected);
        const cJSON *next = cJSON_GetObjectItem(page, "next");
        const cJSON *previous = cJSON_GetObjectItem(page, "previous");
        if (CASES[i].next_offset < 0) {
            assert_true(cJSON_IsNull(next));
        } else {
            snprintf(expected, sizeof expected, "%s/v1/me/tracks?offset=%d&limit=%d", base,
                     CASES[i].next_offset, CASES[i].limit_seen);
            assert_string_equal(cJSON_GetStringValue(next), expected);
        }
        if (CASES[i].previous_offset < 0) {
            assert_true(cJSON_IsNull(previous));
        } else {
            snprintf(expected, sizeof expected, "%s/v1/me/tracks?offset=%d&limit=%d", base,
                     CASES[i].previous_offset, CASES[i].limit_seen);
            assert_string_equal(cJSON_GetStringValue(previous), expected);
        }
        cJSON_Delete(page);
    }
    static const char *const BAD[] = {"/v1/me/tracks?limit=51", "/v1/me/tracks?limit=0",
                                      "/v1/me/tracks?limit=ten", "/v1/me/tracks?offset=-1"};
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        long status = 0;
        cJSON *json = call("GET", BAD[i], &demo, NULL, &status);
        assert_int_equal(status, 400);
        assert_true(strstr(error_message(json), "limit") || strstr(error_message(json), "offset"));
        cJSON_Delete(json);
    }
}

static void test_whole_library_reads_back_every_saved_id(void **state)
{
    (void)state;
    long status = 0;
    cJSON *users = call("GET", "/_emu/users", NULL, NULL, &status);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(users, "users"), 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(first, "id")), "demo");
    const cJSON *saved_ids = cJSON_GetObjectItem(first, "saved_ids");
    int with_id = 0, local = 0, popularity = 0, with_isrc = 0;
    for (int offset = 0; offset < LIBRARY_SIZE; offset += 50) {
        char path[64];
        snprintf(path, sizeof path, "/v1/me/tracks?limit=50&offset=%d", offset);
        cJSON *page = call("GET", path, &demo, NULL, &status);
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItem(page, "items"))
        {
            const cJSON *track = cJSON_GetObjectItem(item, "track");
            assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(item, "added_at")));
            popularity += cJSON_HasObjectItem(track, "popularity") ||
                          cJSON_HasObjectItem(track, "available_markets") ||
                          cJSON_HasObjectItem(track, "linked_from");
            with_isrc += cJSON_HasObjectItem(cJSON_GetObjectItem(track, "external_ids"), "isrc");
            if (cJSON_IsTrue(cJSON_GetObjectItem(track, "is_local"))) {
                assert_true(cJSON_IsNull(cJSON_GetObjectItem(track, "id")));
                /* spotify:local:ARTIST:ALBUM:TITLE:SECONDS, '+' for spaces. */
                const char *uri = cJSON_GetStringValue(cJSON_GetObjectItem(track, "uri"));
                assert_true(strncmp(uri, "spotify:local:", 14) == 0);
                int colons = 0;
                for (const char *p = uri; *p; p++)
                    colons += *p == ':';
                assert_int_equal(colons, 5);
                assert_null(strchr(uri, ' '));
                assert_null(strstr(uri, "::"));
                local++;
                continue;
            }
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(track, "id"));
            assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(saved_ids, with_id)), id);
            assert_non_null(cJSON_GetStringValue(
                cJSON_GetObjectItem(cJSON_GetObjectItem(track, "album"), "release_date")));
            with_id++;
        }
        cJSON_Delete(page);
    }
    assert_int_equal(with_id, cJSON_GetArraySize(saved_ids));
    assert_int_equal(with_id + local, LIBRARY_SIZE);
    assert_true(local > 0);
    assert_int_equal(popularity, 0);
    assert_true(with_isrc > LIBRARY_SIZE / 2);
    cJSON_Delete(users);
}

static void test_401_and_403_bodies(void **state)
{
    (void)state;
    long status = 0;
    cJSON *json = call("GET", "/v1/me", NULL, NULL, &status);
    assert_int_equal(status, 401);
    assert_string_equal(error_message(json), "No token provided");
    cJSON_Delete(json);
    struct emu_tokens bogus = {.access_token = "BQnot-a-token"};
    json = call("GET", "/v1/me", &bogus, NULL, &status);
    assert_int_equal(status, 401);
    assert_int_equal(
        (int)cJSON_GetObjectItem(cJSON_GetObjectItem(json, "error"), "status")->valuedouble, 401);
    assert_string_equal(error_message(json), "Invalid access token");
    cJSON_Delete(json);
    /* Missing scope: 403. */
    json = call("GET", "/v1/me/tracks", &no_library_scope, NULL, &status);
    assert_int_equal(status, 403);
    assert_string_equal(error_message(json), "Insufficient client scope");
    cJSON_Delete(json);
    /* A user not on the app's allow-list. */
    struct emu_tokens outsider;
    assert_int_equal(emu_client_sign_in(base, "outsider", "user-library-read", &outsider), 0);
    json = call("GET", "/v1/me", &outsider, NULL, &status);
    assert_int_equal(status, 403);
    assert_non_null(strstr(error_message(json), "may not be registered"));
    cJSON_Delete(json);
    /* An expired token: sign in with a 1-second lifetime. */
    json = call("POST", "/_emu/config", NULL, "{\"token_lifetime\":1}", &status);
    assert_int_equal(status, 200);
    cJSON_Delete(json);
    struct emu_tokens brief;
    assert_int_equal(emu_client_sign_in(base, "demo", "user-library-read", &brief), 0);
    assert_int_equal(brief.expires_in, 1);
    json = call("POST", "/_emu/config", NULL, "{\"token_lifetime\":3600}", &status);
    cJSON_Delete(json);
    json = call("GET", "/v1/me", &brief, NULL, &status);
    assert_int_equal(status, 200);
    cJSON_Delete(json);
    usleep(1100 * 1000);
    json = call("GET", "/v1/me", &brief, NULL, &status);
    assert_int_equal(status, 401);
    assert_string_equal(error_message(json), "The access token expired");
    cJSON_Delete(json);
}

static void test_playlist_create_and_items(void **state)
{
    (void)state;
    long status = 0;
    cJSON *created =
        call("POST", "/v1/me/playlists", &demo,
             "{\"name\":\"mixtape\",\"public\":false,\"description\":\"made\"}", &status);
    assert_int_equal(status, 201);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(created, "public")));
    char id[32];
    snprintf(id, sizeof id, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(created, "id")));
    assert_int_equal(strlen(id), 22);
    char expected[128];
    snprintf(expected, sizeof expected, "spotify:playlist:%s", id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(created, "uri")), expected);
    snprintf(expected, sizeof expected, "https://open.spotify.com/playlist/%s", id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
                            cJSON_GetObjectItem(created, "external_urls"), "spotify")),
                        expected);
    assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(created, "snapshot_id")));
    cJSON_Delete(created);

    /* 101 catalog uris: the limit; then 100 in one call and 1 more. */
    cJSON *users = call("GET", "/_emu/users", NULL, NULL, &status);
    const cJSON *ids = cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(users, "users"), 2), "saved_ids");
    assert_true(cJSON_GetArraySize(ids) >= 101);
    cJSON *request = cJSON_CreateObject();
    cJSON *uris = cJSON_AddArrayToObject(request, "uris");
    for (int i = 0; i < 101; i++) {
        char uri[64];
        snprintf(uri, sizeof uri, "spotify:track:%s",
                 cJSON_GetStringValue(cJSON_GetArrayItem(ids, i)));
        cJSON_AddItemToArray(uris, cJSON_CreateString(uri));
    }
    char path[128];
    snprintf(path, sizeof path, "/v1/playlists/%s/items", id);
    char *body = cJSON_PrintUnformatted(request);
    cJSON *json = call("POST", path, &demo, body, &status);
    assert_int_equal(status, 400);
    assert_non_null(strstr(error_message(json), "maximum of 100"));
    cJSON_Delete(json);
    cJSON_free(body);
    cJSON *last = cJSON_DetachItemFromArray(uris, 100);
    body = cJSON_PrintUnformatted(request);
    json = call("POST", path, &demo, body, &status);
    assert_int_equal(status, 201);
    assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(json, "snapshot_id")));
    cJSON_Delete(json);
    cJSON_free(body);
    /* Another user may not add to it. */
    cJSON *one = cJSON_CreateObject();
    cJSON *one_uris = cJSON_AddArrayToObject(one, "uris");
    cJSON_AddItemToArray(one_uris, last);
    body = cJSON_PrintUnformatted(one);
    json = call("POST", path, &river, body, &status);
    assert_int_equal(status, 403);
    cJSON_Delete(json);
    json = call("POST", path, &demo, body, &status);
    assert_int_equal(status, 201);
    cJSON_Delete(json);
    cJSON_free(body);
    cJSON_Delete(one);

    static const struct {
        const char *body;
        long status;
        const char *message;
    } BAD[] = {
        {"{\"uris\":[]}", 400, "at least one"},
        {"{}", 400, "at least one"},
        {"{\"uris\":[\"spotify:track:short\"]}", 400, "Invalid track uri"},
        {"{\"uris\":[\"spotify:track:0000000000000000000000\"]}", 400, "non-existing"},
        {"{\"uris\":[\"spotify:episode:0000000000000000000000\"]}", 400, "Invalid track uri"},
        {"not json", 400, "parsing JSON"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        json = call("POST", path, &demo, BAD[i].body, &status);
        assert_int_equal(status, BAD[i].status);
        assert_non_null(strstr(error_message(json), BAD[i].message));
        cJSON_Delete(json);
    }
    /* A JSON body over the 65536-byte limit is refused before it is parsed. */
    char *huge = malloc(70001);
    memset(huge, ' ', 70000);
    huge[0] = '{';
    memcpy(huge + 69998, "}", 2);
    json = call("POST", path, &demo, huge, &status);
    free(huge);
    assert_int_equal(status, 413);
    assert_non_null(strstr(error_message(json), "65536"));
    cJSON_Delete(json);
    json = call("POST", "/v1/playlists/0000000000000000000000/items", &demo,
                "{\"uris\":[\"spotify:track:wYYh6CaZipkGgpdh5sRL5N\"]}", &status);
    assert_int_equal(status, 404);
    cJSON_Delete(json);

    /* Read back through the control API: 101 uris in order, private, owned by demo. */
    cJSON *all = call("GET", "/_emu/playlists", NULL, NULL, &status);
    const cJSON *found = NULL, *playlist;
    cJSON_ArrayForEach(playlist, cJSON_GetObjectItem(all, "playlists"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(playlist, "id")), id) == 0)
            found = playlist;
    }
    assert_non_null(found);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(found, "user")), "demo");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(found, "name")), "mixtape");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(found, "public")));
    const cJSON *stored = cJSON_GetObjectItem(found, "uris");
    assert_int_equal(cJSON_GetArraySize(stored), 101);
    for (int i = 0; i < 101; i++) {
        char uri[64];
        snprintf(uri, sizeof uri, "spotify:track:%s",
                 cJSON_GetStringValue(cJSON_GetArrayItem(ids, i)));
        assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(stored, i)), uri);
    }
    cJSON_Delete(all);

    /* PUT replaces every item (200), as a client updating the playlist it saved: 3 uris now. */
    cJSON *three = cJSON_CreateObject();
    cJSON *three_uris = cJSON_AddArrayToObject(three, "uris");
    for (int i = 0; i < 3; i++) {
        char uri[64];
        snprintf(uri, sizeof uri, "spotify:track:%s",
                 cJSON_GetStringValue(cJSON_GetArrayItem(ids, 50 + i)));
        cJSON_AddItemToArray(three_uris, cJSON_CreateString(uri));
    }
    body = cJSON_PrintUnformatted(three);
    json = call("PUT", path, &river, body, &status); /* not the owner */
    assert_int_equal(status, 403);
    cJSON_Delete(json);
    json = call("PUT", path, &demo, body, &status);
    assert_int_equal(status, 200);
    assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(json, "snapshot_id")));
    cJSON_Delete(json);
    all = call("GET", "/_emu/playlists", NULL, NULL, &status);
    int holding = -1;
    cJSON_ArrayForEach(playlist, cJSON_GetObjectItem(all, "playlists"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(playlist, "id")), id) == 0) {
            stored = cJSON_GetObjectItem(playlist, "uris");
            holding = cJSON_GetArraySize(stored);
            for (int i = 0; i < 3 && holding == 3; i++)
                assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(stored, i)),
                                    cJSON_GetStringValue(cJSON_GetArrayItem(three_uris, i)));
        }
    }
    assert_int_equal(holding, 3);
    cJSON_Delete(all);
    cJSON_free(body);
    json = call("PUT", path, &demo, "{\"uris\":[],\"position\":0}", &status);
    assert_int_equal(status, 400);
    assert_non_null(strstr(error_message(json), "position"));
    cJSON_Delete(json);
    json = call("PUT", path, &demo, "{\"uris\":[]}", &status); /* empties it */
    assert_int_equal(status, 200);
    cJSON_Delete(json);
    json =
        call("PUT", "/v1/playlists/0000000000000000000000/items", &demo, "{\"uris\":[]}", &status);
    assert_int_equal(status, 404);
    cJSON_Delete(json);
    cJSON_Delete(three);
    cJSON_Delete(request);
    cJSON_Delete(users);

    /* Creating needs a name, and playlist-modify-public for a public playlist. */
    json = call("POST", "/v1/me/playlists", &demo, "{\"public\":false}", &status);
    assert_int_equal(status, 400);
    assert_non_null(strstr(error_message(json), "name"));
    cJSON_Delete(json);
    json = call("POST", "/v1/me/playlists", &no_library_scope, "{\"name\":\"x\"}", &status);
    assert_int_equal(status, 403);
    cJSON_Delete(json);
}

static void test_removed_and_legacy_endpoints(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path;
        long status;
    } CASES[] = {
        {"GET", "/v1/recommendations?seed_genres=jazz", 404},
        {"POST", "/v1/users/demo/playlists", 403},
        {"POST", "/v1/playlists/0000000000000000000000/tracks", 403},
        {"GET", "/v1/tracks?ids=wYYh6CaZipkGgpdh5sRL5N", 403},
        {"GET", "/v1/audio-features?ids=wYYh6CaZipkGgpdh5sRL5N", 403},
        {"GET", "/v1/no-such-thing", 404},
    };
    long status = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        cJSON *json = call(CASES[i].method, CASES[i].path, &demo, "{}", &status);
        assert_int_equal(status, CASES[i].status);
        cJSON_Delete(json);
    }
    /* A legacy app gets the catalog's values, and null for an id it does not know. */
    cJSON *json = call("POST", "/_emu/config", NULL, "{\"legacy_audio_features\":true}", &status);
    cJSON_Delete(json);
    json = call("GET", "/v1/audio-features?ids=wYYh6CaZipkGgpdh5sRL5N,0000000000000000000000",
                &demo, NULL, &status);
    assert_int_equal(status, 200);
    const cJSON *list = cJSON_GetObjectItem(json, "audio_features");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    const cJSON *first = cJSON_GetArrayItem(list, 0);
    assert_float_equal(cJSON_GetObjectItem(first, "danceability")->valuedouble, 0.221, 1e-9);
    assert_float_equal(cJSON_GetObjectItem(first, "tempo")->valuedouble, 94.942, 1e-9);
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(list, 1)));
    cJSON_Delete(json);
    json = call("POST", "/_emu/config", NULL, "{\"legacy_audio_features\":false}", &status);
    cJSON_Delete(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paging_arithmetic),
        cmocka_unit_test(test_whole_library_reads_back_every_saved_id),
        cmocka_unit_test(test_401_and_403_bodies),
        cmocka_unit_test(test_playlist_create_and_items),
        cmocka_unit_test(test_removed_and_legacy_endpoints),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
