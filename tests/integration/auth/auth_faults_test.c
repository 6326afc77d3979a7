/* auth-service under Spotify's faults and a missing compute service: a 3,000-track library
 * with 10% 429s, 5% 503s and a 60-second token lifetime ends in the same playlist as without
 * faults; expired tokens are refreshed once on 401; a revoked refresh token signs out; quota
 * exceeded is reported, not retried; a foreign `next` host is refused; a 403 from
 * /v1/audio-features turns them off; reco-service down gives a clear error and fails /readyz. */
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

/* The songs shown: <li data-id= inside <ol id="tracks"> (the page keeps stand-ins after it). */
static size_t shown_count(const char *body)
{
    const char *start = strstr(body, "<ol id=\"tracks\">");
    const char *end = start ? strstr(start, "</ol>") : NULL;
    size_t n = 0;
    for (const char *li = start; li && end && (li = strstr(li, "<li data-id=")) && li < end; li++)
        n++;
    return n;
}

static int setup(void **state)
{
    (void)state;
    const char *env[] = {"AUDIO_FEATURES=true", "RECO_TIMEOUT_MS=2000", NULL};
    return fixture_start(&world, 12000, 3000, NULL, env);
}

static int teardown(void **state)
{
    (void)state;
    fixture_stop(&world);
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct reply call(struct browser *b, const char *method, const char *path, const char *body)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", world.auth_base, path);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct reply r;
    assert_int_equal(browser_request(b, method, url, headers, body, &r), 0);
    return r;
}

static struct reply emu(const char *method, const char *path)
{
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    char url[512];
    snprintf(url, sizeof url, "%s%s", world.emu_base, path);
    struct reply r;
    assert_int_equal(browser_request(&b, method, url, NULL, NULL, &r), 0);
    browser_close(&b);
    return r;
}

/* Requests the emulator answered for endpoint with status (0: any). */
static long emu_count(const char *endpoint, long status)
{
    struct reply r = emu("GET", "/_emu/stats");
    cJSON *stats = cJSON_Parse(r.body);
    reply_free(&r);
    long total = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(stats, "requests"))
    {
        if (strcmp(cJSON_GetObjectItem(row, "endpoint")->valuestring, endpoint) == 0 &&
            (status == 0 || cJSON_GetObjectItem(row, "status")->valueint == status))
            total += (long)cJSON_GetObjectItem(row, "count")->valuedouble;
    }
    cJSON_Delete(stats);
    return total;
}

static cJSON *track_ids(const char *body)
{
    cJSON *answer = cJSON_Parse(body);
    assert_non_null(answer);
    cJSON *ids = cJSON_CreateArray();
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(answer, "tracks"))
    {
        cJSON_AddItemToArray(ids, cJSON_CreateString(cJSON_GetObjectItem(t, "id")->valuestring));
    }
    cJSON_Delete(answer);
    return ids;
}

static void test_audio_features_403_switches_them_off(void **state)
{
    (void)state;
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    assert_int_equal(browser_sign_in(&b, &world, "river"), 0);
    struct reply r = call(&b, "POST", "/api/mix", "");
    assert_int_equal(r.status, 200);
    reply_free(&r);
    long forbidden = emu_count("audio_features", 403);
    assert_true(forbidden >= 1);
    r = call(&b, "POST", "/api/mix", "");
    assert_int_equal(r.status, 200);
    reply_free(&r);
    assert_int_equal(emu_count("audio_features", 0), forbidden); /* not asked again */
    browser_close(&b);
}

static void test_faults_end_in_the_right_playlist(void **state)
{
    (void)state;
    struct browser calm;
    assert_int_equal(browser_open(&calm), 0);
    assert_int_equal(browser_sign_in(&calm, &world, "demo"), 0);
    struct reply r = call(&calm, "POST", "/api/mix", "{\"variety\":0}");
    assert_int_equal(r.status, 200);
    cJSON *expected = track_ids(r.body);
    assert_int_equal(cJSON_GetArraySize(expected), 50);
    reply_free(&r);
    browser_close(&calm);

    assert_int_equal(fixture_emu_config(&world, "{\"rate_429\":0.1,\"rate_5xx\":0.05,"
                                                "\"token_lifetime\":60}"),
                     0);
    long limited_before = emu_count("me_tracks", 429);
    long failed_before =
        emu_count("me_tracks", 503) + emu_count("me_tracks", 500) + emu_count("me_tracks", 502);
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    /* Sign-in itself goes through /v1/me, which may be faulted too: retried inside. */
    assert_int_equal(browser_sign_in(&b, &world, "demo"), 0);
    double start = now_seconds();
    r = call(&b, "POST", "/api/mix", "{\"variety\":0}");
    double took = now_seconds() - start;
    if (r.status != 200)
        fail_msg("status %ld: %s", r.status, r.body);
    /* A 60 s token is refreshed ahead of the read, and the new one is kept in the cookie. */
    assert_non_null(strstr(r.set_cookie, "mixtape_session="));
    cJSON *answer = cJSON_Parse(r.body);
    const cJSON *stats = cJSON_GetObjectItem(answer, "stats");
    assert_int_equal(cJSON_GetObjectItem(stats, "read")->valueint, 3000);
    assert_int_equal(cJSON_GetObjectItem(stats, "total")->valueint, 3000);
    cJSON_Delete(answer);
    cJSON *got = track_ids(r.body);
    reply_free(&r);
    assert_true(cJSON_Compare(got, expected, true));
    long limited = emu_count("me_tracks", 429) - limited_before;
    long failed = emu_count("me_tracks", 503) + emu_count("me_tracks", 500) +
                  emu_count("me_tracks", 502) - failed_before;
    fprintf(stderr, "faulted read: %.2f s, %ld 429s and %ld 5xx answered on the way\n", took,
            limited, failed);
    assert_true(limited >= 1);
    assert_true(failed >= 1);

    /* Saved with the faults still on: the emulator holds exactly these tracks, in order. */
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "ids", cJSON_Duplicate(got, true));
    char *text = cJSON_PrintUnformatted(body);
    r = call(&b, "POST", "/api/save", text);
    if (r.status != 201)
        fail_msg("save: %ld %s", r.status, r.body);
    cJSON *saved = cJSON_Parse(r.body);
    reply_free(&r);
    const char *playlist = cJSON_GetObjectItem(saved, "id")->valuestring;
    r = emu("GET", "/_emu/playlists");
    cJSON *all = cJSON_Parse(r.body);
    reply_free(&r);
    const cJSON *p, *found = NULL;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(all, "playlists"))
    {
        if (strcmp(cJSON_GetObjectItem(p, "id")->valuestring, playlist) == 0)
            found = p;
    }
    assert_non_null(found);
    const cJSON *uris = cJSON_GetObjectItem(found, "uris");
    assert_int_equal(cJSON_GetArraySize(uris), 50);
    for (int i = 0; i < 50; i++) {
        char uri[64];
        snprintf(uri, sizeof uri, "spotify:track:%s", cJSON_GetArrayItem(got, i)->valuestring);
        assert_string_equal(cJSON_GetArrayItem(uris, i)->valuestring, uri);
    }
    r = call(&b, "GET", "/metrics", NULL);
    assert_non_null(strstr(r.body, "endpoint=\"saved_tracks\",status=\"429\""));
    reply_free(&r);
    assert_int_equal(fixture_emu_config(&world, "{\"rate_429\":0,\"rate_5xx\":0,"
                                                "\"token_lifetime\":3600}"),
                     0);
    cJSON_Delete(all);
    cJSON_Delete(saved);
    free(text);
    cJSON_Delete(body);
    cJSON_Delete(got);
    cJSON_Delete(expected);
    browser_close(&b);
}

static void test_refresh_once_on_401(void **state)
{
    (void)state;
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    assert_int_equal(browser_sign_in(&b, &world, "demo"), 0);
    char before[4096];
    assert_int_equal(browser_cookie(&b, SESSION_COOKIE, before, sizeof before), 0);
    struct session old;
    assert_int_equal(session_decode(&world.keys, before, strlen(before), time(NULL), &old),
                     SESSION_OK);
    /* The emulator expires every access token; our cookie still thinks it is good. */
    struct reply r = emu("POST", "/_emu/expire");
    assert_int_equal(r.status, 200);
    reply_free(&r);
    long refreshes = emu_count("token", 200);
    r = call(&b, "POST", "/api/mix", "");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.set_cookie, "mixtape_session="));
    reply_free(&r);
    assert_int_equal(emu_count("token", 200), refreshes + 1); /* once, not once per page */
    char after[4096];
    assert_int_equal(browser_cookie(&b, SESSION_COOKIE, after, sizeof after), 0);
    struct session renewed;
    assert_int_equal(session_decode(&world.keys, after, strlen(after), time(NULL), &renewed),
                     SESSION_OK);
    assert_string_not_equal(renewed.access_token, old.access_token);
    assert_true(renewed.refresh_token[0] != '\0');
    /* The next request uses the renewed cookie without refreshing again. */
    r = call(&b, "POST", "/api/mix", "{\"n\":10}");
    assert_int_equal(r.status, 200);
    reply_free(&r);
    assert_int_equal(emu_count("token", 200), refreshes + 1);
    browser_close(&b);
}

/* The streamed page too: a 401 on the first page refreshes before the headers leave, so the
 * rotated refresh token reaches the cookie and the next request still works. */
static void test_mix_page_refresh_reaches_the_cookie(void **state)
{
    (void)state;
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    assert_int_equal(browser_sign_in(&b, &world, "demo"), 0);
    struct reply r = emu("POST", "/_emu/expire");
    reply_free(&r);
    r = call(&b, "GET", "/mix?variety=3", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.set_cookie, "mixtape_session="));
    assert_int_equal(shown_count(r.body), 50);
    reply_free(&r);
    r = call(&b, "POST", "/api/mix", "{\"n\":10}");
    assert_int_equal(r.status, 200); /* the old refresh token is revoked: the new one was kept */
    reply_free(&r);
    browser_close(&b);
}

static void test_revoked_refresh_token_signs_out(void **state)
{
    (void)state;
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    assert_int_equal(browser_sign_in(&b, &world, "demo"), 0);
    struct reply r = emu("POST", "/_emu/expire?refresh=1");
    reply_free(&r);
    r = call(&b, "POST", "/api/mix", "");
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "signed_out"));
    assert_non_null(strstr(r.set_cookie, "mixtape_session=; Path=/; Max-Age=0"));
    reply_free(&r);
    browser_close(&b);
}

static void test_quota_exceeded_is_reported(void **state)
{
    (void)state;
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    assert_int_equal(browser_sign_in(&b, &world, "demo"), 0);
    assert_int_equal(fixture_emu_config(&world, "{\"quota_exceeded\":true}"), 0);
    long before = emu_count("me_tracks", 429);
    double start = now_seconds();
    struct reply r = call(&b, "POST", "/api/mix", "");
    double took = now_seconds() - start;
    assert_int_equal(r.status, 429);
    assert_non_null(strstr(r.body, "quota_exceeded"));
    reply_free(&r);
    assert_true(took < 5.0);                                   /* not waited out */
    assert_int_equal(emu_count("me_tracks", 429) - before, 1); /* not retried */
    r = call(&b, "GET", "/mix", NULL);
    assert_int_equal(r.status, 429); /* failed before streaming began: a page of its own */
    assert_non_null(strstr(r.body, "data-code=\"quota_exceeded\""));
    reply_free(&r);
    assert_int_equal(fixture_emu_config(&world, "{\"quota_exceeded\":false}"), 0);
    browser_close(&b);
}

static void test_foreign_next_is_refused(void **state)
{
    (void)state;
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    assert_int_equal(browser_sign_in(&b, &world, "demo"), 0);
    assert_int_equal(fixture_emu_config(&world, "{\"foreign_next\":true}"), 0);
    struct reply r = call(&b, "POST", "/api/mix", "");
    assert_int_equal(r.status, 502);
    assert_non_null(strstr(r.body, "configured API"));
    reply_free(&r);
    assert_int_equal(fixture_emu_config(&world, "{\"foreign_next\":false}"), 0);
    browser_close(&b);
}

/* Last: it stops reco-service. */
static void test_reco_down(void **state)
{
    (void)state;
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    assert_int_equal(browser_sign_in(&b, &world, "demo"), 0);
    struct reply r = call(&b, "GET", "/readyz", NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    harness_kill(&world.reco);
    world.reco_running = false;
    r = call(&b, "GET", "/readyz", NULL);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"ready\":false"));
    assert_non_null(strstr(r.body, "reco-service"));
    reply_free(&r);
    r = call(&b, "POST", "/api/mix", "");
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "compute_unavailable"));
    reply_free(&r);
    /* The page says so before reading the library (issue 13), in plain words. */
    long reads = emu_count("me_tracks", 200);
    r = call(&b, "GET", "/mix", NULL);
    assert_int_equal(r.status, 503);
    assert_null(strstr(r.body, "saved tracks"));
    assert_non_null(strstr(r.body, "Playlists cannot be made right now"));
    assert_null(strstr(r.body, "UNAVAILABLE"));
    assert_int_equal(emu_count("me_tracks", 200), reads);
    assert_non_null(strstr(r.body, "data-code=\"compute_unavailable\""));
    assert_non_null(strstr(r.body, "id=\"retry\""));
    reply_free(&r);
    browser_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audio_features_403_switches_them_off),
        cmocka_unit_test(test_faults_end_in_the_right_playlist),
        cmocka_unit_test(test_refresh_once_on_401),
        cmocka_unit_test(test_mix_page_refresh_reaches_the_cookie),
        cmocka_unit_test(test_revoked_refresh_token_signs_out),
        cmocka_unit_test(test_quota_exceeded_is_reported),
        cmocka_unit_test(test_foreign_next_is_refused),
        cmocka_unit_test(test_reco_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
