/* auth-service start-up: each bad option stops it with exit code 2 and a message that says
 * how to fix it; --help lists the options; a good start prints the ready line and SIGTERM
 * stops it with exit code 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "harness.h"

static const char *const OPTION_ENV[] = {"SPOTIFY_CLIENT_ID", "PUBLIC_URL",     "LISTEN",
                                         "SESSION_KEYS",      "RECO_ENDPOINTS", "SPOTIFY_API_URL",
                                         "SESSION_KEYS_FILE"};

static void clear_options(void)
{
    for (size_t i = 0; i < sizeof OPTION_ENV / sizeof OPTION_ENV[0]; i++)
        unsetenv(OPTION_ENV[i]);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *env[4]; /* NAME=value */
        const char *says;
    } cases[] = {
        {{"LISTEN=127.0.0.1:0"}, "SPOTIFY_CLIENT_ID is missing"},
        {{"SPOTIFY_CLIENT_ID=abc", "PUBLIC_URL=http://localhost:8080"},
         "use the loopback literal instead: http://127.0.0.1:8080"},
        {{"SPOTIFY_CLIENT_ID=abc", "PUBLIC_URL=http://mixtape.example.org"}, "TLS proxy"},
        {{"SPOTIFY_CLIENT_ID=abc", "PUBLIC_URL=not a url"}, "not an http(s) URL"},
        {{"SPOTIFY_CLIENT_ID=abc", "SESSION_KEYS=c2hvcnQ="}, "openssl rand -base64 32"},
        {{"SPOTIFY_CLIENT_ID=abc", "SESSION_KEYS_FILE=/nonexistent/keys"}, "SESSION_KEYS_FILE"},
        {{"SPOTIFY_CLIENT_ID=abc", "LISTEN=127.0.0.1:0", "RECO_ENDPOINTS=bogus://x"},
         "RECO_ENDPOINTS"},
    };
    char bin[512];
    snprintf(bin, sizeof bin, "%s", harness_binary("bin/auth-service"));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clear_options();
        for (int e = 0; e < 4 && cases[i].env[e]; e++)
            putenv((char *)(uintptr_t)cases[i].env[e]);
        char *argv[] = {bin, NULL};
        char out[4096] = "", err[8192] = "";
        int status = harness_run(argv, out, sizeof out, err, sizeof err, 20000);
        if (status != 2 || !strstr(err, cases[i].says))
            fail_msg("case %zu: exit %d, stderr: %s", i, status, err);
        assert_null(strstr(out, "ready"));
    }
    clear_options();
}

static void test_help(void **state)
{
    (void)state;
    char bin[512];
    snprintf(bin, sizeof bin, "%s", harness_binary("bin/auth-service"));
    char *argv[] = {bin, "--help", NULL};
    char out[8192] = "";
    assert_int_equal(harness_run(argv, out, sizeof out, NULL, 0, 20000), 0);
    static const char *const names[] = {"SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET",
                                        "PUBLIC_URL",        "LISTEN",
                                        "RECO_ENDPOINTS",    "SESSION_KEYS",
                                        "SESSION_KEYS_FILE", "SPOTIFY_ACCOUNTS_URL",
                                        "SPOTIFY_API_URL",   "AUTO_SAVE"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strstr(out, names[i]))
            fail_msg("--help does not mention %s", names[i]);
}

static void test_ready_and_clean_stop(void **state)
{
    (void)state;
    clear_options();
    char bin[512];
    snprintf(bin, sizeof bin, "%s", harness_binary("bin/auth-service"));
    char *argv[] = {bin, NULL};
    char *env[] = {"SPOTIFY_CLIENT_ID=abc", "LISTEN=127.0.0.1:0",
                   "SESSION_KEYS=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", NULL};
    struct harness_proc proc;
    assert_int_equal(harness_start(&proc, argv, env, 20000), 0);
    assert_int_equal(strncmp(proc.addr, "http://127.0.0.1:", 17), 0);
    assert_true(atoi(proc.addr + 17) > 0);
    /* With PUBLIC_URL unset, the redirect URI follows the port actually bound. */
    char want[320];
    snprintf(want, sizeof want, "redirect_uri=%s/callback", proc.addr);
    assert_non_null(strstr(proc.ready_line, want));
    int status = harness_stop(&proc, 10000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static size_t keep_headers(char *line, size_t size, size_t n, void *userdata)
{
    char *all = userdata;
    size_t len = size * n, used = strlen(all);
    if (used + len < 8192) {
        memcpy(all + used, line, len);
        all[used + len] = '\0';
    }
    return len;
}

/* Behind https (PUBLIC_URL), every cookie is also Secure. */
static void test_secure_cookies_behind_https(void **state)
{
    (void)state;
    clear_options();
    char bin[512];
    snprintf(bin, sizeof bin, "%s", harness_binary("bin/auth-service"));
    char *argv[] = {bin, NULL};
    char *env[] = {"SPOTIFY_CLIENT_ID=abc", "LISTEN=127.0.0.1:0",
                   "PUBLIC_URL=https://mixtape.example.org", NULL};
    struct harness_proc proc;
    assert_int_equal(harness_start(&proc, argv, env, 20000), 0);
    assert_non_null(strstr(proc.ready_line, "redirect_uri=https://mixtape.example.org/callback"));
    char url[320], headers[8192] = "";
    snprintf(url, sizeof url, "%s/login", proc.addr);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_headers);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, headers);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    assert_non_null(strstr(headers, "Set-Cookie: mixtape_login="));
    assert_non_null(strstr(headers, "; HttpOnly; SameSite=Lax; Secure\r\n"));
    assert_non_null(strstr(headers, "redirect_uri=https%3A%2F%2Fmixtape.example.org%2Fcallback"));
    int status = harness_stop(&proc, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_ready_and_clean_stop),
        cmocka_unit_test(test_secure_cookies_behind_https),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
