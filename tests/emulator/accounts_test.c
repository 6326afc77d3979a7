/* Tests of the emulated Accounts service against the running spotify-emu: the PKCE sign-in,
 * wrong and missing verifiers, replayed and expired codes, client id and redirect-URI checks,
 * Deny on the consent page, refresh-token rotation, confidential clients, request limits, and
 * the start-up refusal of a localhost redirect URI. */
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

#define REDIRECT_ESCAPED "http%3A%2F%2F127.0.0.1%3A9%2Fcallback"

static struct harness_proc emu;
static char base[300];

static int start(void **state)
{
    (void)state;
    char *args[] = {"--client-secret", "s3cret", NULL};
    if (emu_client_start(&emu, args) != 0)
        return -1;
    snprintf(base, sizeof base, "http://%s", emu.addr);
    return 0;
}

static int stop(void **state)
{
    (void)state;
    return harness_stop(&emu, 10000) == 0 ? 0 : -1;
}

/* POSTs a form to /api/token and returns the parsed JSON (caller frees) and the status. */
static cJSON *token_request(const char *form, const char *authorization, long *status)
{
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded", authorization,
                             NULL};
    struct emu_response answer;
    assert_int_equal(emu_request("POST", base, "/api/token", headers, form, &answer), 0);
    *status = answer.status;
    cJSON *json = cJSON_Parse(answer.body);
    assert_non_null(json);
    emu_response_free(&answer);
    return json;
}

static const char *text_of(const cJSON *json, const char *key)
{
    const char *value = cJSON_GetStringValue(cJSON_GetObjectItem(json, key));
    return value ? value : "";
}

static void exchange(const char *code, const char *verifier, const char *redirect, char *form,
                     size_t len)
{
    snprintf(form, len,
             "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=" EMU_CLIENT_ID
             "&code_verifier=%s",
             code, redirect, verifier);
}

static void test_pkce_success_then_replay_fails(void **state)
{
    (void)state;
    struct emu_pkce_pair pkce;
    emu_client_pkce(&pkce);
    char code[256], form[1024];
    assert_int_equal(
        emu_client_authorize(base, "demo", "user-library-read", &pkce, code, sizeof code), 0);
    exchange(code, pkce.verifier, REDIRECT_ESCAPED, form, sizeof form);
    long status = 0;
    cJSON *json = token_request(form, NULL, &status);
    assert_int_equal(status, 200);
    assert_string_equal(text_of(json, "token_type"), "Bearer");
    assert_string_equal(text_of(json, "scope"), "user-library-read");
    assert_int_equal((int)cJSON_GetObjectItem(json, "expires_in")->valuedouble, 3600);
    assert_true(strlen(text_of(json, "access_token")) > 40);
    assert_true(strlen(text_of(json, "refresh_token")) > 40);
    cJSON_Delete(json);
    /* The same code a second time: single use. */
    json = token_request(form, NULL, &status);
    assert_int_equal(status, 400);
    assert_string_equal(text_of(json, "error"), "invalid_grant");
    assert_string_equal(text_of(json, "error_description"), "Invalid authorization code");
    cJSON_Delete(json);
}

static void test_token_failures(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        int verifier; /* 0 right, 1 another valid verifier, 2 too short, 3 missing */
        const char *redirect;
        const char *error;
        const char *description;
    } CASES[] = {
        {"wrong verifier", 1, REDIRECT_ESCAPED, "invalid_grant", "code_verifier was incorrect"},
        {"short verifier", 2, REDIRECT_ESCAPED, "invalid_grant", "code_verifier was incorrect"},
        {"no verifier", 3, REDIRECT_ESCAPED, "invalid_grant", "code_verifier was incorrect"},
        {"other redirect", 0, "http%3A%2F%2F127.0.0.1%3A9%2Fother", "invalid_grant",
         "Invalid redirect URI"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        struct emu_pkce_pair pkce, other;
        emu_client_pkce(&pkce);
        emu_client_pkce(&other);
        char code[256], form[1024];
        assert_int_equal(
            emu_client_authorize(base, "demo", "user-library-read", &pkce, code, sizeof code), 0);
        const char *verifier = CASES[i].verifier == 0   ? pkce.verifier
                               : CASES[i].verifier == 1 ? other.verifier
                               : CASES[i].verifier == 2 ? "abc"
                                                        : "";
        exchange(code, verifier, CASES[i].redirect, form, sizeof form);
        long status = 0;
        cJSON *json = token_request(form, NULL, &status);
        fprintf(stderr, "case: %s\n", CASES[i].what);
        assert_int_equal(status, 400);
        assert_string_equal(text_of(json, "error"), CASES[i].error);
        assert_string_equal(text_of(json, "error_description"), CASES[i].description);
        cJSON_Delete(json);
        /* A failed exchange spends the code: the right verifier does not rescue it. */
        exchange(code, pkce.verifier, REDIRECT_ESCAPED, form, sizeof form);
        json = token_request(form, NULL, &status);
        assert_int_equal(status, 400);
        assert_string_equal(text_of(json, "error"), "invalid_grant");
        cJSON_Delete(json);
    }
}

static void test_form_errors(void **state)
{
    (void)state;
    static const struct {
        const char *form;
        const char *authorization;
        long status;
        const char *error;
    } CASES[] = {
        {"code=x&client_id=" EMU_CLIENT_ID, NULL, 400, "unsupported_grant_type"},
        {"grant_type=password&client_id=" EMU_CLIENT_ID, NULL, 400, "unsupported_grant_type"},
        {"grant_type=authorization_code&code=x&client_id=someone-else", NULL, 400,
         "invalid_client"},
        {"grant_type=authorization_code&code=x", NULL, 400, "invalid_client"},
        {"grant_type=authorization_code&client_id=" EMU_CLIENT_ID, NULL, 400, "invalid_request"},
        {"grant_type=refresh_token&client_id=" EMU_CLIENT_ID, NULL, 400, "invalid_request"},
        {"grant_type=refresh_token&refresh_token=nope&client_id=" EMU_CLIENT_ID, NULL, 400,
         "invalid_grant"},
        /* Basic auth with a wrong secret (base64 of "mixtape-test-client:wrong"). */
        {"grant_type=refresh_token&refresh_token=nope",
         "Authorization: Basic bWl4dGFwZS10ZXN0LWNsaWVudDp3cm9uZw==", 400, "invalid_client"},
        {"grant_type=authorization_code&code=AQnope&client_id=" EMU_CLIENT_ID
         "&client_secret=wrong",
         NULL, 400, "invalid_client"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        long status = 0;
        cJSON *json = token_request(CASES[i].form, CASES[i].authorization, &status);
        fprintf(stderr, "case %zu: %s\n", i, CASES[i].form);
        assert_int_equal(status, CASES[i].status);
        assert_string_equal(text_of(json, "error"), CASES[i].error);
        assert_true(strlen(text_of(json, "error_description")) > 0);
        cJSON_Delete(json);
    }
    /* A form over the 8192-byte limit is refused with a message naming the limit. */
    char *big = malloc(10000);
    memset(big, 'a', 9999);
    memcpy(big, "grant_type=", 11);
    big[9999] = '\0';
    long status = 0;
    cJSON *json = token_request(big, NULL, &status);
    free(big);
    assert_int_equal(status, 413);
    assert_non_null(strstr(text_of(json, "error_description"), "8192"));
    cJSON_Delete(json);
}

static void test_refresh_rotation(void **state)
{
    (void)state;
    struct emu_tokens tokens;
    assert_int_equal(emu_client_sign_in(base, "river", "user-library-read", &tokens), 0);
    char form[512];
    snprintf(form, sizeof form,
             "grant_type=refresh_token&refresh_token=%s&client_id=" EMU_CLIENT_ID,
             tokens.refresh_token);
    long status = 0;
    cJSON *json = token_request(form, NULL, &status);
    assert_int_equal(status, 200);
    char newer[128];
    snprintf(newer, sizeof newer, "%s", text_of(json, "refresh_token"));
    assert_true(strlen(newer) > 40);
    assert_string_not_equal(newer, tokens.refresh_token);
    assert_string_not_equal(text_of(json, "access_token"), tokens.access_token);
    assert_string_equal(text_of(json, "scope"), "user-library-read");
    cJSON_Delete(json);
    /* The old refresh token is spent. */
    json = token_request(form, NULL, &status);
    assert_int_equal(status, 400);
    assert_string_equal(text_of(json, "error"), "invalid_grant");
    assert_string_equal(text_of(json, "error_description"), "Invalid refresh token");
    cJSON_Delete(json);
    /* The newest works, also through HTTP Basic with the right secret
     * (base64 of "mixtape-test-client:s3cret"). */
    snprintf(form, sizeof form, "grant_type=refresh_token&refresh_token=%s", newer);
    json =
        token_request(form, "Authorization: Basic bWl4dGFwZS10ZXN0LWNsaWVudDpzM2NyZXQ=", &status);
    assert_int_equal(status, 200);
    cJSON_Delete(json);
}

static void test_authorize_checks(void **state)
{
    (void)state;
    static const struct {
        const char *query;
        long status;
        const char *expect; /* in the body (400) or the Location (302) */
    } CASES[] = {
        {"client_id=unknown&response_type=code&redirect_uri=" REDIRECT_ESCAPED, 400,
         "INVALID_CLIENT: Invalid client"},
        {"client_id=" EMU_CLIENT_ID "&response_type=code&redirect_uri="
         "http%3A%2F%2F127.0.0.1%3A9%2Fcallback%2F",
         400, "INVALID_CLIENT: Invalid redirect URI"},
        {"client_id=" EMU_CLIENT_ID "&response_type=code&redirect_uri="
         "http%3A%2F%2Flocalhost%3A9%2Fcallback",
         400, "INVALID_CLIENT: Invalid redirect URI"},
        {"client_id=" EMU_CLIENT_ID "&response_type=token&state=s1&redirect_uri=" REDIRECT_ESCAPED,
         302, "error=unsupported_response_type&state=s1"},
        {"client_id=" EMU_CLIENT_ID "&response_type=code&redirect_uri=" REDIRECT_ESCAPED
         "&code_challenge_method=plain&code_challenge=abc",
         302, "error=invalid_request"},
        {"client_id=" EMU_CLIENT_ID "&response_type=code&redirect_uri=" REDIRECT_ESCAPED
         "&scope=user-library-read%20fly-to-the-moon",
         302, "error=invalid_scope"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "/authorize?%s", CASES[i].query);
        struct emu_response answer;
        assert_int_equal(emu_request("GET", base, path, NULL, NULL, &answer), 0);
        fprintf(stderr, "case %zu: %s\n", i, CASES[i].query);
        assert_int_equal(answer.status, CASES[i].status);
        if (CASES[i].status == 400) {
            assert_non_null(strstr(answer.body, CASES[i].expect));
            assert_string_equal(answer.location, "");
        } else {
            assert_true(strncmp(answer.location, EMU_CLIENT_REDIRECT_URI "?", 28) == 0);
            assert_non_null(strstr(answer.location, CASES[i].expect));
        }
        emu_response_free(&answer);
    }
}

static void test_deny_redirects_with_access_denied(void **state)
{
    (void)state;
    const char *form =
        "client_id=" EMU_CLIENT_ID "&response_type=code&redirect_uri=" REDIRECT_ESCAPED
        "&state=a%26b&scope=user-library-read&user=demo&decision=deny";
    struct emu_response answer;
    assert_int_equal(emu_request("POST", base, "/authorize", NULL, form, &answer), 0);
    assert_int_equal(answer.status, 302);
    assert_string_equal(answer.location,
                        EMU_CLIENT_REDIRECT_URI "?error=access_denied&state=a%26b");
    emu_response_free(&answer);
}

static void test_code_expires(void **state)
{
    (void)state;
    struct emu_response answer;
    const char *headers[] = {"Content-Type: application/json", NULL};
    assert_int_equal(
        emu_request("POST", base, "/_emu/config", headers, "{\"code_lifetime\":1}", &answer), 0);
    assert_int_equal(answer.status, 200);
    emu_response_free(&answer);
    struct emu_pkce_pair pkce;
    emu_client_pkce(&pkce);
    char code[256], form[1024];
    assert_int_equal(emu_client_authorize(base, "demo", "", &pkce, code, sizeof code), 0);
    usleep(1200 * 1000);
    exchange(code, pkce.verifier, REDIRECT_ESCAPED, form, sizeof form);
    long status = 0;
    cJSON *json = token_request(form, NULL, &status);
    assert_int_equal(status, 400);
    assert_string_equal(text_of(json, "error"), "invalid_grant");
    assert_string_equal(text_of(json, "error_description"), "Authorization code expired");
    cJSON_Delete(json);
    assert_int_equal(
        emu_request("POST", base, "/_emu/config", headers, "{\"code_lifetime\":60}", &answer), 0);
    emu_response_free(&answer);
}

static void test_localhost_redirect_refused_at_start(void **state)
{
    (void)state;
    char binary[1024], catalog[1024];
    snprintf(binary, sizeof binary, "%s", harness_binary("bin/spotify-emu"));
    snprintf(catalog, sizeof catalog, "%s", harness_source("tests/emulator/testdata/catalog.csv"));
    char *argv[] = {binary,
                    "--catalog",
                    catalog,
                    "--client-id",
                    "x",
                    "--redirect-uri",
                    "http://localhost:8080/callback",
                    NULL};
    char err[1024];
    assert_int_equal(harness_run(argv, NULL, 0, err, sizeof err, 10000), 2);
    assert_non_null(strstr(err, "not localhost"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pkce_success_then_replay_fails),
        cmocka_unit_test(test_token_failures),
        cmocka_unit_test(test_form_errors),
        cmocka_unit_test(test_refresh_rotation),
        cmocka_unit_test(test_authorize_checks),
        cmocka_unit_test(test_deny_redirects_with_access_denied),
        cmocka_unit_test(test_code_expires),
        cmocka_unit_test(test_localhost_redirect_refused_at_start),
    };
    return cmocka_run_group_tests(tests, start, stop);
}
