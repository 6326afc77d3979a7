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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_ready_and_clean_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
