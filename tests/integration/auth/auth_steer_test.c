/* Issue 17 through the front: POST /api/mix with the steering fields (discover, target, years,
 * explicit, n, max_per_artist) against spotify-emu and reco-service; each pick's style and
 * reason, the styles with their shares, the match figures and a short playlist's reason in the
 * answer; every bad value a 400 naming the field, the front still standing after each; the
 * match-rate counters on /metrics; a value only the service can refuse (a model without
 * energy) a 400 too; and a library the catalog does not know at all a clear message, not an
 * empty playlist. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "fixture.h"
#include "steer_cases.h"
#include "test_model.h"

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
    char url[512];
    snprintf(url, sizeof url, "%s%s", world.auth_base, path);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct reply r;
    assert_int_equal(browser_request(b, method, url, body ? headers : NULL, body, &r), 0);
    return r;
}

static struct browser signed_in(const char *user)
{
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    assert_int_equal(browser_sign_in(&b, &world, user), 0);
    return b;
}

/* POST /api/mix with body; asserts 200 and returns the answer. */
static cJSON *mix(struct browser *b, const char *body)
{
    struct reply r = request(b, "POST", "/api/mix", body);
    if (r.status != 200)
        fail_msg("POST /api/mix %s: %ld %s", body, r.status, r.body);
    cJSON *answer = cJSON_Parse(r.body);
    reply_free(&r);
    assert_non_null(answer);
    return answer;
}

/* The shared checks of the styles, every track's style among them, and the match figures add
 * up. */
static void check_answer(const cJSON *answer)
{
    steer_check_styles(answer, 0.002); /* each share is rounded to 4 decimals */
    const cJSON *styles = steer_item(answer, "styles");
    const cJSON *t, *st;
    cJSON_ArrayForEach(t, steer_item(answer, "tracks"))
    {
        const char *style = steer_item(t, "style")->valuestring;
        bool known = false;
        cJSON_ArrayForEach(st, styles)
        {
            known |= strcmp(steer_item(st, "name")->valuestring, style) == 0;
        }
        if (!known)
            fail_msg("track style '%s' is not among the styles", style);
    }
    const cJSON *match = steer_item(answer, "match");
    int saved = steer_item(match, "saved")->valueint;
    assert_true(saved > 0);
    assert_int_equal(steer_item(match, "songs")->valueint +
                         steer_item(match, "artists_only")->valueint +
                         steer_item(match, "unmatched")->valueint,
                     saved);
    int decade_saved = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, steer_item(match, "by_decade"))
    {
        assert_true(strlen(steer_item(d, "decade")->valuestring) > 0);
        assert_true(steer_item(d, "songs")->valueint + steer_item(d, "artists_only")->valueint <=
                    steer_item(d, "saved")->valueint);
        decade_saved += steer_item(d, "saved")->valueint;
    }
    assert_int_equal(decade_saved, saved);
}

static void test_steered_mix(void **state)
{
    (void)state;
    struct browser b = signed_in("demo");
    cJSON *plain = mix(&b, "{\"n\": 40}");
    check_answer(plain);
    assert_int_equal(cJSON_GetArraySize(steer_item(plain, "tracks")), 40);
    assert_null(cJSON_GetObjectItemCaseSensitive(plain, "short_reason"));
    /* The emulator's libraries hold songs and local files the catalog lacks. */
    assert_true(steer_item(steer_item(plain, "match"), "songs")->valueint > 500);
    assert_true(steer_item(steer_item(plain, "match"), "unmatched")->valueint > 0);

    cJSON *all = mix(&b, "{\"n\": 30, \"discover\": 0.5, \"target\": {\"energy\": 0.8, "
                         "\"valence\": 0.4, \"danceability\": 0.6, \"tempo\": 120}, "
                         "\"years\": [1980, 2020], \"explicit\": false, \"max_per_artist\": 2}");
    check_answer(all);
    assert_true(cJSON_GetArraySize(steer_item(all, "tracks")) > 0);
    const cJSON *t;
    cJSON_ArrayForEach(t, steer_item(all, "tracks"))
    {
        int year = steer_item(t, "year")->valueint;
        assert_true(year >= 1980 && year <= 2020);
    }

    cJSON *fresh = mix(&b, "{\"n\": 30, \"discover\": 1}");
    check_answer(fresh);
    cJSON_ArrayForEach(t, steer_item(fresh, "tracks"))
    {
        assert_string_equal(steer_item(t, "reason")->valuestring, "new_artist");
    }
    assert_false(cJSON_Compare(steer_item(fresh, "tracks"), steer_item(plain, "tracks"), true));

    /* A narrow filter: what exists, all inside it, and why the playlist is short. */
    cJSON *narrow = mix(&b, "{\"n\": 300, \"years\": [1995, 1995], \"discover\": 1}");
    int got = cJSON_GetArraySize(steer_item(narrow, "tracks"));
    assert_true(got < 300);
    assert_non_null(strstr(steer_item(narrow, "short_reason")->valuestring, "1995"));
    cJSON_ArrayForEach(t, steer_item(narrow, "tracks"))
    {
        assert_int_equal(steer_item(t, "year")->valueint, 1995);
    }

    /* Each steering value alone is accepted and moves the playlist. */
    for (size_t i = 0; i < STEER_N_MOVES; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"n\": 40, %s}", STEER_MOVES[i].json);
        cJSON *moved = mix(&b, body);
        check_answer(moved);
        if (cJSON_Compare(steer_item(moved, "tracks"), steer_item(plain, "tracks"), true))
            fail_msg("%s left the playlist as it was", body);
        cJSON_Delete(moved);
    }
    /* explicit false: no explicit song, where the unsteered playlist of the same length has
     * some (the catalog marks about one song in eight). */
    cJSON *long_plain = mix(&b, "{\"n\": 200}");
    cJSON *clean = mix(&b, "{\"n\": 200, \"explicit\": false}");
    check_answer(clean);
    steer_check_no_explicit(world.catalog, long_plain, clean, "explicit false");
    cJSON_Delete(clean);
    cJSON_Delete(long_plain);
    /* explicit true and nulls are the defaults: the same playlist. */
    cJSON *same = mix(&b, "{\"n\": 40, \"explicit\": true, \"discover\": null, \"target\": null}");
    assert_true(cJSON_Compare(steer_item(same, "tracks"), steer_item(plain, "tracks"), true));
    cJSON_Delete(same);
    cJSON_Delete(narrow);
    cJSON_Delete(fresh);
    cJSON_Delete(all);
    cJSON_Delete(plain);
    browser_close(&b);
}

/* The front answers /healthz and a good /api/mix: still standing. */
static void expect_standing(struct browser *b)
{
    struct reply r = request(b, "GET", "/healthz", NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

/* POST /api/mix with body: a 400 naming error, field (NULL: none checked) and says, and the
 * front still standing. */
static void expect_refused(struct browser *b, const char *body, const char *error,
                           const char *field, const char *says)
{
    struct reply r = request(b, "POST", "/api/mix", body);
    cJSON *answer = cJSON_Parse(r.body);
    if (r.status != 400 || !answer)
        fail_msg("%s: %ld %s", body, r.status, r.body);
    assert_string_equal(steer_item(answer, "error")->valuestring, error);
    if (field)
        assert_string_equal(steer_item(answer, "field")->valuestring, field);
    if (!strstr(steer_item(answer, "message")->valuestring, says))
        fail_msg("%s: message '%s'", body, steer_item(answer, "message")->valuestring);
    cJSON_Delete(answer);
    reply_free(&r);
    expect_standing(b);
}

static void test_bad_values(void **state)
{
    (void)state;
    struct browser b = signed_in("river");
    /* Each rule both doors enforce (steer_cases.c), then what only the JSON body can get wrong. */
    for (size_t i = 0; i < STEER_N_REFUSALS; i++)
        expect_refused(&b, STEER_REFUSALS[i].body, STEER_REFUSALS[i].error, STEER_REFUSALS[i].field,
                       STEER_REFUSALS[i].json_says);
    static const struct {
        const char *body;
        const char *error, *field, *says;
    } cases[] = {
        {"{\"target\": 3}", "bad_target", "target", "an object"},
        {"{\"target\": {\"mood\": 1}}", "bad_target", "target.mood", "is not a target"},
        {"{\"years\": [2000]}", "bad_years", "years", "[from, to]"},
        {"{\"years\": [1990, 3000]}", "bad_years", "years[1]", "from 1900 to 2100"},
        {"{\"years\": [1999.5, 2000]}", "bad_years", "years[0]", "whole year"},
        {"{\"explicit\": 0}", "bad_explicit", "explicit", "or false"},
        {"{\"n\": 0}", "bad_n", "n", "from 1 to 500"},
        {"{\"n\": 501}", "bad_n", "n", "from 1 to 500"},
        {"{\"n\": \"ten\"}", "bad_n", "n", "whole number"},
        {"{\"max_per_artist\": 0}", "bad_max_per_artist", "max_per_artist", "from 1 to 500"},
        {"{\"max_per_artist\": 2.5}", "bad_max_per_artist", "max_per_artist", "whole number"},
        {"{\"variety\": -3}", "bad_variety", "variety", "whole number"},
        {"[1, 2]", "bad_json", NULL, "JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_refused(&b, cases[i].body, cases[i].error, cases[i].field, cases[i].says);
    cJSON *fine = mix(&b, "{\"n\": 10, \"discover\": 0.2}");
    check_answer(fine);
    cJSON_Delete(fine);
    browser_close(&b);
}

/* /metrics counts how the saved tracks matched: songs, artists only, unmatched. */
static unsigned long long match_count(const char *kind)
{
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    struct reply r = request(&b, "GET", "/metrics", NULL);
    assert_int_equal(r.status, 200);
    char needle[96];
    snprintf(needle, sizeof needle, "mixtape_auth_saved_tracks_total{match=\"%s\"} ", kind);
    const char *at = strstr(r.body, needle);
    if (!at)
        fail_msg("no %s in /metrics", needle);
    unsigned long long value = strtoull(at + strlen(needle), NULL, 10);
    reply_free(&r);
    browser_close(&b);
    return value;
}

static void test_metrics_match(void **state)
{
    (void)state;
    unsigned long long songs = match_count("song"), artists = match_count("artist_only"),
                       unmatched = match_count("unmatched");
    struct browser b = signed_in("eclectic");
    cJSON *answer = mix(&b, "{\"n\": 20}");
    const cJSON *match = steer_item(answer, "match");
    assert_int_equal(match_count("song") - songs, steer_item(match, "songs")->valueint);
    assert_int_equal(match_count("artist_only") - artists,
                     steer_item(match, "artists_only")->valueint);
    assert_int_equal(match_count("unmatched") - unmatched,
                     steer_item(match, "unmatched")->valueint);
    assert_true(steer_item(match, "songs")->valueint > 0);
    cJSON_Delete(answer);
    browser_close(&b);
}

/* Replaces the fixture's reco-service with one on model_file at the same address. */
static void swap_reco(const char *model_file)
{
    harness_stop(&world.reco, 10000);
    char *argv[] = {(char *)(uintptr_t)harness_binary("bin/reco-service"),
                    "--model",
                    (char *)(uintptr_t)model_file,
                    "--listen",
                    world.reco_addr,
                    NULL};
    assert_int_equal(harness_start(&world.reco, argv, NULL, 20000), 0);
}

static void test_service_side_refusals(void **state)
{
    (void)state;
    /* A model of the same catalog without energy: the service refuses an energy target. */
    char thin[256], strange[256];
    snprintf(thin, sizeof thin, "%s/thin.model", world.dir);
    snprintf(strange, sizeof strange, "%s/strange.model", world.dir);
    char *build[] = {(char *)(uintptr_t)harness_binary("bin/reco-model"),
                     "build",
                     "--catalog",
                     world.catalog,
                     "--out",
                     thin,
                     "--features",
                     "valence,danceability,tempo,year",
                     "--k",
                     "4",
                     "--restarts",
                     "1",
                     NULL};
    assert_int_equal(harness_run(build, NULL, 0, NULL, 0, 120000), 0);
    swap_reco(thin);
    struct browser b = signed_in("demo");
    struct reply r = request(&b, "POST", "/api/mix", "{\"target\": {\"energy\": 0.5}}");
    cJSON *answer = cJSON_Parse(r.body);
    if (r.status != 400 || !answer)
        fail_msg("energy on a model without it: %ld %s", r.status, r.body);
    assert_string_equal(steer_item(answer, "error")->valuestring, "bad_target");
    assert_string_equal(steer_item(answer, "field")->valuestring, "target.energy");
    assert_non_null(strstr(steer_item(answer, "message")->valuestring, "no energy feature"));
    cJSON_Delete(answer);
    reply_free(&r);
    cJSON *tempo = mix(&b, "{\"n\": 15, \"target\": {\"tempo\": 100}}");
    check_answer(tempo);
    cJSON_Delete(tempo);

    /* A catalog that shares no song and no artist with the library: a clear message. */
    assert_int_equal(test_model_write(strange, 3000, 5, 3), 0);
    swap_reco(strange);
    unsigned long long unmatched = match_count("unmatched");
    r = request(&b, "POST", "/api/mix", "{\"n\": 20}");
    answer = cJSON_Parse(r.body);
    if (r.status != 422 || !answer)
        fail_msg("nothing matched: %ld %s", r.status, r.body);
    assert_string_equal(steer_item(answer, "error")->valuestring, "nothing_matched");
    assert_non_null(strstr(steer_item(answer, "message")->valuestring, "None of your songs"));
    assert_null(cJSON_GetObjectItemCaseSensitive(answer, "tracks"));
    cJSON_Delete(answer);
    reply_free(&r);
    assert_true(match_count("unmatched") - unmatched >= 500); /* the whole library */
    expect_standing(&b);
    browser_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steered_mix),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_metrics_match),
        cmocka_unit_test(test_service_side_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
