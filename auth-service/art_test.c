/* Cover art through oEmbed against the emulator: which thumbnail hosts may be fetched, a cover
 * fetched once and then served from the cache, unknown and malformed ids refused (the latter
 * without a call), a cache too small to keep a picture, and the emulator's oEmbed errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "art.h"
#include "emu_client.h"
#include "harness.h"

static struct harness_proc emu;
static char base[300], known[32];

static int setup(void **state)
{
    (void)state;
    if (emu_client_start(&emu, NULL) != 0)
        return -1;
    snprintf(base, sizeof base, "http://%s", emu.addr);
    struct emu_response r;
    if (emu_request("GET", base, "/_emu/users", NULL, NULL, &r) != 0)
        return -1;
    cJSON *users = cJSON_Parse(r.body);
    emu_response_free(&r);
    const cJSON *ids = cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(users, "users"), 0), "saved_ids");
    snprintf(known, sizeof known, "%s", cJSON_GetStringValue(cJSON_GetArrayItem(ids, 0)));
    cJSON_Delete(users);
    return strlen(known) == 22 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return harness_stop(&emu, 5000);
}

static int count(const char *endpoint)
{
    struct emu_response r;
    assert_int_equal(emu_request("GET", base, "/_emu/stats", NULL, NULL, &r), 0);
    cJSON *stats = cJSON_Parse(r.body);
    emu_response_free(&r);
    int n = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(stats, "requests"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(row, "endpoint")), endpoint) == 0)
            n += (int)cJSON_GetObjectItem(row, "count")->valuedouble;
    }
    cJSON_Delete(stats);
    return n;
}

static void test_allowed_hosts(void **state)
{
    (void)state;
    const char *spotify = "https://open.spotify.com";
    assert_true(art_url_allowed(spotify, "https://i.scdn.co/image/ab67616d00001e02ff"));
    assert_true(art_url_allowed(spotify, "https://image-cdn-ak.spotifycdn.com/image/ab67"));
    assert_true(art_url_allowed(spotify, "https://mosaic.scdn.co/300/ab67"));
    assert_true(art_url_allowed(spotify, "https://open.spotify.com/image/x"));
    assert_false(art_url_allowed(spotify, "http://i.scdn.co/image/x"));
    assert_false(art_url_allowed(spotify, "https://i.scdn.co.evil.example/image/x"));
    assert_false(art_url_allowed(spotify, "https://i.scdn.co@evil.example/x"));
    assert_false(art_url_allowed(spotify, "https://evil.example/image/x"));
    assert_false(art_url_allowed(spotify, "https://i.scdn.co/image/x y"));
    assert_false(art_url_allowed(spotify, "file:///etc/passwd"));
    assert_false(art_url_allowed(spotify, ""));
    assert_true(art_url_allowed("http://127.0.0.1:4000", "http://127.0.0.1:4000/image/x"));
    assert_false(art_url_allowed("http://127.0.0.1:4000", "http://127.0.0.1:4001/image/x"));
    assert_false(art_url_allowed("http://127.0.0.1:4000", "http://127.0.0.1:40001/image/x"));
}

static void test_fetch_once_then_cached(void **state)
{
    (void)state;
    struct art_cache *c = art_cache_new(base, 4, 1 << 20);
    char *bytes = NULL, type[32];
    size_t len = 0;
    int before = count("oembed");
    assert_true(art_get(c, known, 1000, &bytes, &len, type));
    assert_string_equal(type, "image/png");
    assert_true(len > 60 && memcmp(bytes, "\x89PNG\r\n\x1a\n", 8) == 0);
    free(bytes);
    assert_int_equal(count("oembed"), before + 1);
    assert_int_equal(count("image"), 1);
    assert_true(art_get(c, known, 2000, &bytes, &len, type)); /* from the cache */
    free(bytes);
    assert_int_equal(count("oembed"), before + 1);
    /* a day later it is fetched again */
    assert_true(art_get(c, known, 1000 + ART_TTL_SECONDS, &bytes, &len, type));
    free(bytes);
    assert_int_equal(count("oembed"), before + 2);
    /* an unknown track: no picture, and the miss is remembered */
    assert_false(art_get(c, "0000000000000000000000", 3000, &bytes, &len, type));
    assert_null(bytes);
    assert_false(art_get(c, "0000000000000000000000", 3001, &bytes, &len, type));
    assert_int_equal(count("oembed"), before + 3);
    /* malformed ids never leave the front */
    assert_false(art_get(c, "short", 3002, &bytes, &len, type));
    assert_false(art_get(c, "../../_emu/config?x=abc", 3002, &bytes, &len, type));
    assert_int_equal(count("oembed"), before + 3);
    art_cache_free(c);
    /* a cache smaller than one picture keeps none: each visit fetches */
    struct art_cache *tiny = art_cache_new(base, 4, 16);
    assert_true(art_get(tiny, known, 1000, &bytes, &len, type));
    free(bytes);
    assert_true(art_get(tiny, known, 1001, &bytes, &len, type));
    free(bytes);
    assert_int_equal(count("oembed"), before + 5);
    art_cache_free(tiny);
    /* nothing answering: no picture, within the time limit */
    struct art_cache *dead = art_cache_new("http://127.0.0.1:1", 4, 1 << 20);
    assert_false(art_get(dead, known, 1000, &bytes, &len, type));
    art_cache_free(dead);
}

static void test_emulator_oembed(void **state)
{
    (void)state;
    struct emu_response r;
    char path[200];
    snprintf(path, sizeof path, "/oembed?url=https%%3A%%2F%%2Fopen.spotify.com%%2Ftrack%%2F%s",
             known);
    assert_int_equal(emu_request("GET", base, path, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    cJSON *answer = cJSON_Parse(r.body);
    emu_response_free(&r);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(answer, "type")), "rich");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(answer, "provider_name")),
                        "Spotify");
    assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(answer, "html")),
                           "https://open.spotify.com/embed/track/"));
    assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(answer, "thumbnail_url")));
    cJSON_Delete(answer);
    assert_int_equal(emu_request("GET", base, "/oembed", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 400);
    emu_response_free(&r);
    assert_int_equal(
        emu_request("GET", base, "/oembed?url=https://example.com/track/x", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 400);
    emu_response_free(&r);
    assert_int_equal(
        emu_request("GET", base,
                    "/oembed?url=https://open.spotify.com/track/0000000000000000000000", NULL, NULL,
                    &r),
        0);
    assert_int_equal(r.status, 404);
    emu_response_free(&r);
    assert_int_equal(emu_request("POST", base, path, NULL, "", &r), 0);
    assert_int_equal(r.status, 405);
    emu_response_free(&r);
    assert_int_equal(emu_request("GET", base, "/image/0000000000000000000000", NULL, NULL, &r), 0);
    assert_int_equal(r.status, 404);
    emu_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed_hosts),
        cmocka_unit_test(test_fetch_once_then_cached),
        cmocka_unit_test(test_emulator_oembed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
