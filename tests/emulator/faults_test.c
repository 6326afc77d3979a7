/* Tests of the emulator's faults and control API against the running spotify-emu: 429 at a rate
 * with Retry-After, QUOTA_EXCEEDED, 5xx at a rate, added latency, request counts by endpoint
 * and status, validation of the config body, expiring tokens on demand, foreign `next` URLs,
 * and many threads at once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "emu_client.h"

static struct harness_proc emu;
static char base[128];
static struct emu_tokens demo;

static int start(void **state)
{
    (void)state;
    char *args[] = {"--seed", "42", NULL};
    if (emu_client_start(&emu, args) != 0)
        return -1;
    snprintf(base, sizeof base, "http://%.100s", emu.addr);
    return emu_client_sign_in(base, "demo", "user-library-read playlist-modify-private", &demo);
}

static int stop(void **state)
{
    (void)state;
    return harness_stop(&emu, 10000) == 0 ? 0 : -1;
}

static long configure(const char *json_text, char *error, size_t error_len)
{
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct emu_response answer;
    assert_int_equal(emu_request("POST", base, "/_emu/config", headers, json_text, &answer), 0);
    if (error)
        snprintf(error, error_len, "%s", answer.body);
    long status = answer.status;
    emu_response_free(&answer);
    return status;
}

static void get_me(struct emu_response *answer)
{
    char bearer[256];
    emu_client_bearer(demo.access_token, bearer, sizeof bearer);
    const char *headers[] = {bearer, NULL};
    assert_int_equal(emu_request("GET", base, "/v1/me", headers, NULL, answer), 0);
}

static void test_429_rate_with_retry_after(void **state)
{
    (void)state;
    assert_int_equal(configure("{\"rate_429\":0.3,\"retry_after\":2}", NULL, 0), 200);
    int limited = 0, ok = 0;
    for (int i = 0; i < 300; i++) {
        struct emu_response answer;
        get_me(&answer);
        if (answer.status == 429) {
            limited++;
            assert_string_equal(answer.retry_after, "2");
            cJSON *json = cJSON_Parse(answer.body);
            const cJSON *error = cJSON_GetObjectItem(json, "error");
            assert_int_equal((int)cJSON_GetObjectItem(error, "status")->valuedouble, 429);
            assert_false(cJSON_HasObjectItem(error, "reason"));
            cJSON_Delete(json);
        } else {
            assert_int_equal(answer.status, 200);
            ok++;
        }
        emu_response_free(&answer);
    }
    assert_int_equal(configure("{\"rate_429\":0}", NULL, 0), 200);
    fprintf(stderr, "429s: %d of 300 at rate 0.3\n", limited);
    assert_in_range(limited, 60, 120);
    /* The stats saw exactly as many. */
    struct emu_response answer;
    assert_int_equal(emu_request("GET", base, "/_emu/stats", NULL, NULL, &answer), 0);
    cJSON *stats = cJSON_Parse(answer.body);
    emu_response_free(&answer);
    int seen_429 = 0, seen_200 = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(stats, "requests"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(row, "endpoint")), "me") != 0)
            continue;
        int status = (int)cJSON_GetObjectItem(row, "status")->valuedouble;
        int count = (int)cJSON_GetObjectItem(row, "count")->valuedouble;
        if (status == 429)
            seen_429 += count;
        if (status == 200)
            seen_200 += count;
    }
    cJSON_Delete(stats);
    assert_int_equal(seen_429, limited);
    assert_int_equal(seen_200, ok);
}

static void test_5xx_rate_quota_and_latency(void **state)
{
    (void)state;
    assert_int_equal(configure("{\"rate_5xx\":0.25}", NULL, 0), 200);
    int failed = 0;
    for (int i = 0; i < 200; i++) {
        struct emu_response answer;
        get_me(&answer);
        if (answer.status >= 500) {
            failed++;
            assert_true(answer.status == 500 || answer.status == 502 || answer.status == 503);
        } else {
            assert_int_equal(answer.status, 200);
        }
        emu_response_free(&answer);
    }
    assert_int_equal(configure("{\"rate_5xx\":0}", NULL, 0), 200);
    assert_in_range(failed, 25, 75);

    assert_int_equal(configure("{\"quota_exceeded\":true}", NULL, 0), 200);
    struct emu_response answer;
    get_me(&answer);
    assert_int_equal(answer.status, 429);
    assert_non_null(strstr(answer.body, "\"reason\":\"QUOTA_EXCEEDED\""));
    assert_true(atoi(answer.retry_after) > 3600);
    emu_response_free(&answer);
    assert_int_equal(configure("{\"quota_exceeded\":false,\"latency_ms\":150}", NULL, 0), 200);
    get_me(&answer);
    assert_int_equal(answer.status, 200);
    assert_true(answer.seconds >= 0.15);
    emu_response_free(&answer);
    assert_int_equal(configure("{\"latency_ms\":0}", NULL, 0), 200);
}

static void test_config_validation(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *names;
    } CASES[] = {
        {"{\"rate_429\":1.5}", "rate_429"},
        {"{\"latency_ms\":-1}", "latency_ms"},
        {"{\"token_lifetime\":0}", "token_lifetime"},
        {"{\"token_lifetime\":2.5}", "token_lifetime"},
        {"{\"quota_exceeded\":1}", "quota_exceeded"},
        {"{\"teleport\":true}", "teleport"},
        {"{\"redirect_uris\":\"http://localhost:7/callback\"}", "localhost"},
        {"{\"redirect_uris\":\"\"}", "at least one"},
        {"[1,2]", "JSON object"},
        {"{", "JSON object"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char error[512];
        assert_int_equal(configure(CASES[i].body, error, sizeof error), 400);
        assert_non_null(strstr(error, CASES[i].names));
    }
    /* Nothing of a refused body was applied. */
    struct emu_response answer;
    assert_int_equal(emu_request("GET", base, "/_emu/config", NULL, NULL, &answer), 0);
    assert_non_null(strstr(answer.body, "\"rate_429\":0,"));
    assert_non_null(strstr(answer.body, "\"token_lifetime\":3600"));
    emu_response_free(&answer);
    /* Registering another redirect URI at run time (as in the dashboard) lets it through. */
    const char *path = "/authorize?client_id=" EMU_CLIENT_ID
                       "&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A7%2Fcb";
    assert_int_equal(emu_request("GET", base, path, NULL, NULL, &answer), 0);
    assert_int_equal(answer.status, 400);
    emu_response_free(&answer);
    assert_int_equal(configure("{\"redirect_uris\":\"" EMU_CLIENT_REDIRECT_URI
                               ",http://127.0.0.1:7/cb\"}",
                               NULL, 0),
                     200);
    assert_int_equal(emu_request("GET", base, path, NULL, NULL, &answer), 0);
    assert_int_equal(answer.status, 200);
    emu_response_free(&answer);
}

static void test_expire_on_demand_and_foreign_next(void **state)
{
    (void)state;
    struct emu_tokens other;
    assert_int_equal(emu_client_sign_in(base, "river", "user-library-read", &other), 0);
    assert_int_equal(configure("{\"foreign_next\":true}", NULL, 0), 200);
    char bearer[256];
    emu_client_bearer(other.access_token, bearer, sizeof bearer);
    const char *headers[] = {bearer, NULL};
    struct emu_response answer;
    assert_int_equal(emu_request("GET", base, "/v1/me/tracks?limit=5", headers, NULL, &answer), 0);
    assert_int_equal(answer.status, 200);
    assert_non_null(strstr(answer.body, "\"next\":\"http://203.0.113.9/v1/me/tracks?offset=5"));
    emu_response_free(&answer);
    assert_int_equal(configure("{\"foreign_next\":false}", NULL, 0), 200);

    assert_int_equal(emu_request("POST", base, "/_emu/expire?refresh=1", NULL, "", &answer), 0);
    assert_int_equal(answer.status, 200);
    emu_response_free(&answer);
    assert_int_equal(emu_request("GET", base, "/v1/me", headers, NULL, &answer), 0);
    assert_int_equal(answer.status, 401);
    assert_non_null(strstr(answer.body, "The access token expired"));
    emu_response_free(&answer);
    char form[512];
    snprintf(form, sizeof form,
             "grant_type=refresh_token&refresh_token=%s&client_id=" EMU_CLIENT_ID,
             other.refresh_token);
    assert_int_equal(emu_request("POST", base, "/api/token", NULL, form, &answer), 0);
    assert_int_equal(answer.status, 400);
    assert_non_null(strstr(answer.body, "invalid_grant"));
    emu_response_free(&answer);
    /* Signing in again works: the demo user of later tests needs fresh tokens. */
    assert_int_equal(
        emu_client_sign_in(base, "demo", "user-library-read playlist-modify-private", &demo), 0);
}

static void *hammer(void *arg)
{
    int *failures = arg;
    char bearer[256];
    emu_client_bearer(demo.access_token, bearer, sizeof bearer);
    const char *headers[] = {bearer, "Content-Type: application/json", NULL};
    for (int i = 0; i < 20; i++) {
        struct emu_response answer;
        if (emu_request("GET", base, "/v1/me/tracks?limit=50&offset=10", headers, NULL, &answer) !=
            0) {
            (*failures)++;
            continue;
        }
        *failures += answer.status != 200;
        emu_response_free(&answer);
        if (emu_request("POST", base, "/v1/me/playlists", headers,
                        "{\"name\":\"parallel\",\"public\":false}", &answer) != 0) {
            (*failures)++;
            continue;
        }
        *failures += answer.status != 201;
        emu_response_free(&answer);
    }
    return NULL;
}

static void test_many_threads_at_once(void **state)
{
    (void)state;
    struct emu_response first;
    get_me(&first); /* initialises curl globally before the threads start */
    emu_response_free(&first);
    pthread_t threads[6];
    int failures[6] = {0};
    for (int t = 0; t < 6; t++)
        pthread_create(&threads[t], NULL, hammer, &failures[t]);
    for (int t = 0; t < 6; t++)
        pthread_join(threads[t], NULL); /* every thread, before any assertion can leave */
    for (int t = 0; t < 6; t++)
        assert_int_equal(failures[t], 0);
    struct emu_response answer;
    assert_int_equal(emu_request("GET", base, "/_emu/playlists", NULL, NULL, &answer), 0);
    cJSON *json = cJSON_Parse(answer.body);
    emu_response_free(&answer);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(json, "playlists")), 120);
    cJSON_Delete(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_429_rate_with_retry_after),
        cmocka_unit_test(test_5xx_rate_quota_and_latency),
        cmocka_unit_test(test_config_validation),
        cmocka_unit_test(test_expire_on_demand_and_foreign_next),
        cmocka_unit_test(test_many_threads_at_once),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
