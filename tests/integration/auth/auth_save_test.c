/* Saving once per session (issue 13) through the JSON API, against spotify-emu: the first
 * POST /api/save makes a private playlist named with the date and described with the styles,
 * a second one in the same session replaces its items (the emulator holds one playlist, with
 * the items of the last save), another session makes its own, a failing save answers a plain
 * error within 10 s and the next save still updates the same playlist; POST /api/mix twice
 * reads the library once; GET on an API path is a JSON error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "fixture.h"

static struct fixture world;

static int setup(void **state)
{
    (void)state;
    return fixture_start(&world, 6000, 600, NULL, NULL);
}

static int teardown(void **state)
{
    (void)state;
    fixture_stop(&world);
    return 0;
}

static struct reply request(struct browser *b, const char *method, const char *path,
                            const char *body)
{
    char url[512], origin[400];
    snprintf(url, sizeof url, "%s%s", world.auth_base, path);
    snprintf(origin, sizeof origin, "Origin: %s", world.auth_base);
    const char *headers[] = {"Content-Type: application/json", origin, NULL};
    struct reply r;
    assert_int_equal(browser_request(b, method, url, body ? headers : NULL, body, &r), 0);
    return r;
}

static cJSON *emu_json(const char *path)
{
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    char url[512];
    snprintf(url, sizeof url, "%s%s", world.emu_base, path);
    struct reply r;
    assert_int_equal(browser_request(&b, "GET", url, NULL, NULL, &r), 0);
    browser_close(&b);
    cJSON *json = cJSON_Parse(r.body);
    reply_free(&r);
    assert_non_null(json);
    return json;
}

static int emu_count(const char *endpoint)
{
    cJSON *stats = emu_json("/_emu/stats");
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

/* The demo user's playlists (a new array). */
static cJSON *demo_playlists(void)
{
    cJSON *all = emu_json("/_emu/playlists");
    cJSON *mine = cJSON_CreateArray();
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(all, "playlists"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "user")), "demo") == 0)
            cJSON_AddItemToArray(mine, cJSON_Duplicate(p, true));
    }
    cJSON_Delete(all);
    return mine;
}

/* {"ids": the mix's track ids from `from` on, n of them, "styles": [...]} */
static char *save_body(const cJSON *mix, int from, int n)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *ids = cJSON_AddArrayToObject(body, "ids");
    const cJSON *tracks = cJSON_GetObjectItem(mix, "tracks");
    for (int i = from; i < from + n; i++)
        cJSON_AddItemToArray(ids, cJSON_CreateString(cJSON_GetStringValue(
                                      cJSON_GetObjectItem(cJSON_GetArrayItem(tracks, i), "id"))));
    cJSON *styles = cJSON_AddArrayToObject(body, "styles");
    cJSON_AddItemToArray(styles, cJSON_CreateString("jazz \xc2\xb7 bossa nova"));
    cJSON_AddItemToArray(styles, cJSON_CreateString("metal"));
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    return text;
}

/* The playlist id holds exactly the ids of the save body, in order. */
static void expect_items(const cJSON *playlist, const char *body)
{
    cJSON *sent = cJSON_Parse(body);
    const cJSON *ids = cJSON_GetObjectItem(sent, "ids");
    const cJSON *uris = cJSON_GetObjectItem(playlist, "uris");
    assert_int_equal(cJSON_GetArraySize(uris), cJSON_GetArraySize(ids));
    for (int i = 0; i < cJSON_GetArraySize(ids); i++)
        assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(uris, i)) + 14,
                            cJSON_GetStringValue(cJSON_GetArrayItem(ids, i)));
    cJSON_Delete(sent);
}

static void test_save_once_then_replace(void **state)
{
    (void)state;
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    assert_int_equal(browser_sign_in(&b, &world, "demo"), 0);
    int reads = emu_count("me_tracks");
    struct reply r = request(&b, "POST", "/api/mix", "{\"n\":60}");
    assert_int_equal(r.status, 200);
    int after_first = emu_count("me_tracks");
    assert_true(after_first > reads);
    cJSON *mix = cJSON_Parse(r.body);
    reply_free(&r);
    /* a second mix in the same session does not read the library again */
    r = request(&b, "POST", "/api/mix", "{\"variety\":7}");
    assert_int_equal(r.status, 200);
    reply_free(&r);
    assert_int_equal(emu_count("me_tracks"), after_first);

    cJSON *before = demo_playlists();
    int n_before = cJSON_GetArraySize(before);
    cJSON_Delete(before);
    char *first = save_body(mix, 0, 50);
    r = request(&b, "POST", "/api/save", first);
    assert_int_equal(r.status, 201);
    cJSON *saved = cJSON_Parse(r.body);
    reply_free(&r);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(saved, "replaced")));
    char id[64];
    snprintf(id, sizeof id, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(saved, "id")));
    cJSON_Delete(saved);
    cJSON *now = demo_playlists();
    assert_int_equal(cJSON_GetArraySize(now), n_before + 1);
    const cJSON *made = cJSON_GetArrayItem(now, n_before);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(made, "id")), id);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(made, "public")));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(made, "name"));
    const char *description = cJSON_GetStringValue(cJSON_GetObjectItem(made, "description"));
    assert_true(strncmp(name, "mixtape \xc2\xb7 ", 10) == 0);
    assert_non_null(strstr(description, "Styles: jazz \xc2\xb7 bossa nova, metal."));
    expect_items(made, first);
    cJSON_Delete(now);

    /* the second save replaces the items: still one playlist, holding the last ones */
    char *second = save_body(mix, 10, 45);
    r = request(&b, "POST", "/api/save", second);
    assert_int_equal(r.status, 200);
    saved = cJSON_Parse(r.body);
    reply_free(&r);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(saved, "replaced")));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(saved, "id")), id);
    cJSON_Delete(saved);
    now = demo_playlists();
    assert_int_equal(cJSON_GetArraySize(now), n_before + 1);
    expect_items(cJSON_GetArrayItem(now, n_before), second);
    cJSON_Delete(now);

    /* a failing save: a plain error well within 10 s, and nothing changed */
    assert_int_equal(fixture_emu_config(&world, "{\"rate_5xx\":1}"), 0);
    char *third = save_body(mix, 5, 50);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = request(&b, "POST", "/api/save", third);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "failing save answered %ld in %.1f s: %s\n", r.status, took, r.body);
    assert_int_equal(r.status, 502);
    assert_true(took < 10.0);
    cJSON *error = cJSON_Parse(r.body);
    reply_free(&r);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(error, "error")),
                        "spotify_unavailable");
    cJSON_Delete(error);
    assert_int_equal(fixture_emu_config(&world, "{\"rate_5xx\":0}"), 0);
    now = demo_playlists();
    assert_int_equal(cJSON_GetArraySize(now), n_before + 1);
    expect_items(cJSON_GetArrayItem(now, n_before), second);
    cJSON_Delete(now);
    /* ... and the retry updates the same playlist */
    r = request(&b, "POST", "/api/save", third);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    now = demo_playlists();
    assert_int_equal(cJSON_GetArraySize(now), n_before + 1);
    expect_items(cJSON_GetArrayItem(now, n_before), third);
    cJSON_Delete(now);

    /* another session of the same user makes its own playlist */
    struct browser other;
    assert_int_equal(browser_open(&other), 0);
    assert_int_equal(browser_sign_in(&other, &world, "demo"), 0);
    r = request(&other, "POST", "/api/save", first);
    assert_int_equal(r.status, 201);
    reply_free(&r);
    now = demo_playlists();
    assert_int_equal(cJSON_GetArraySize(now), n_before + 2);
    cJSON_Delete(now);
    browser_close(&other);

    free(first);
    free(second);
    free(third);
    cJSON_Delete(mix);
    browser_close(&b);
}

static void test_bad_styles_and_get_on_api(void **state)
{
    (void)state;
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    assert_int_equal(browser_sign_in(&b, &world, "demo"), 0);
    static const char *const BAD[] = {
        "{\"ids\":[\"0000000000000000000001\"],\"styles\":\"metal\"}",
        "{\"ids\":[\"0000000000000000000001\"],\"styles\":[\"a\",\"b\",\"c\",\"d\"]}",
        "{\"ids\":[\"0000000000000000000001\"],\"styles\":[\"\"]}",
        "{\"ids\":[\"0000000000000000000001\"],\"styles\":[7]}",
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        struct reply r = request(&b, "POST", "/api/save", BAD[i]);
        assert_int_equal(r.status, 400);
        assert_non_null(strstr(r.body, "\"bad_styles\""));
        assert_non_null(strstr(r.body, "styles"));
        reply_free(&r);
    }
    static const char *const PATHS[] = {"/api/mix", "/api/save"};
    for (size_t i = 0; i < 2; i++) {
        struct reply r = request(&b, "GET", PATHS[i], NULL);
        assert_int_equal(r.status, 405);
        cJSON *error = cJSON_Parse(r.body);
        assert_non_null(error);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(error, "error")),
                            "method_not_allowed");
        cJSON_Delete(error);
        reply_free(&r);
    }
    browser_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_once_then_replace),
        cmocka_unit_test(test_bad_styles_and_get_on_api),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
