/* Configuration checks: each bad value stops start-up with a message naming the fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

static const char *const ENV_NAMES[] = {
    "SPOTIFY_CLIENT_ID",    "SPOTIFY_CLIENT_SECRET", "PUBLIC_URL",        "LISTEN",
    "RECO_ENDPOINTS",       "SESSION_KEYS",          "SESSION_KEYS_FILE", "SPOTIFY_API_URL",
    "SPOTIFY_ACCOUNTS_URL", "MAX_SAVED_TRACKS",      "AUTO_SAVE",         "LOG_LEVEL"};

static int clear_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ENV_NAMES / sizeof ENV_NAMES[0]; i++)
        unsetenv(ENV_NAMES[i]);
    return 0;
}

static char KEY[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

static void test_table(void **state)
{
    (void)state;
    struct {
        char *args[6];
        enum config_status want;
        const char *err_has; /* substring the message must hold */
    } cases[] = {
        {{"--client-id", "abc123"}, CONFIG_OK, NULL},
        {{"--listen", "127.0.0.1:0"}, CONFIG_INVALID, "SPOTIFY_CLIENT_ID is missing"},
        {{"--client-id", "bad id!"}, CONFIG_INVALID, "SPOTIFY_CLIENT_ID must be"},
        {{"--client-id", "abc", "--public-url", "http://localhost:8080"},
         CONFIG_INVALID,
         "use the loopback literal instead: http://127.0.0.1:8080"},
        {{"--client-id", "abc", "--public-url", "http://LOCALHOST"}, CONFIG_INVALID, "127.0.0.1"},
        {{"--client-id", "abc", "--public-url", "mixtape.example.org"},
         CONFIG_INVALID,
         "not an http(s) URL"},
        {{"--client-id", "abc", "--public-url", "ftp://mixtape.example.org"},
         CONFIG_INVALID,
         "not an http(s) URL"},
        {{"--client-id", "abc", "--public-url", "http://mixtape.example.org"},
         CONFIG_INVALID,
         "TLS proxy"},
        {{"--client-id", "abc", "--public-url", "http://127.0.0.1.nip.io:8080"},
         CONFIG_INVALID,
         "TLS proxy"},
        {{"--client-id", "abc", "--public-url", "http://127.evil.example"},
         CONFIG_INVALID,
         "TLS proxy"},
        {{"--client-id", "abc", "--public-url", "http://127.0.0.2:8080"}, CONFIG_OK, NULL},
        {{"--client-id", "abc", "--public-url", "http://[::1]:8080"}, CONFIG_OK, NULL},
        {{"--client-id", "abc", "--public-url", "https://mixtape.example.org/app"},
         CONFIG_INVALID,
         "no path"},
        {{"--client-id", "abc", "--public-url", "https://mixtape.example.org?x=1"},
         CONFIG_INVALID,
         "no path"},
        {{"--client-id", "abc", "--listen", "8080"}, CONFIG_INVALID, "host:port"},
        {{"--client-id", "abc", "--listen", "127.0.0.1:70000"}, CONFIG_INVALID, "0..65535"},
        {{"--client-id", "abc", "--session-keys", "tooshort"}, CONFIG_INVALID, "SESSION_KEYS"},
        {{"--client-id", "abc", "--session-keys", KEY, "--session-keys-file", "/nonexistent"},
         CONFIG_INVALID,
         "not both"},
        {{"--client-id", "abc", "--session-keys-file", "/nonexistent/keys"},
         CONFIG_INVALID,
         "SESSION_KEYS_FILE"},
        {{"--client-id", "abc", "--api-url", "not a url"}, CONFIG_INVALID, "SPOTIFY_API_URL"},
        {{"--client-id", "abc", "--max-saved", "20001"}, CONFIG_INVALID, "bad option"},
        {{"--client-id", "abc", "--log-level", "loud"}, CONFIG_INVALID, "LOG_LEVEL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[8] = {"auth-service"};
        int argc = 1;
        for (int a = 0; a < 6 && cases[i].args[a]; a++)
            argv[argc++] = cases[i].args[a];
        struct auth_config cfg;
        char err[512] = "";
        enum config_status got = config_load(&cfg, argc, argv, err, sizeof err);
        if (got != cases[i].want || (cases[i].err_has && !strstr(err, cases[i].err_has)))
            fail_msg("case %zu: got %d (%s), want %d with '%s'", i, got, err, cases[i].want,
                     cases[i].err_has ? cases[i].err_has : "");
    }
}

static void test_derived_values(void **state)
{
    (void)state;
    setenv("SPOTIFY_CLIENT_ID", "abc123", 1);
    setenv("PUBLIC_URL", "https://Mixtape.Example.org:443/", 1);
    setenv("SESSION_KEYS", KEY, 1);
    setenv("SPOTIFY_API_URL", "http://127.0.0.1:9999/", 1);
    char *argv[] = {"auth-service", NULL};
    struct auth_config cfg;
    char err[512] = "";
    assert_int_equal(config_load(&cfg, 1, argv, err, sizeof err), CONFIG_OK);
    assert_string_equal(cfg.public_origin, "https://mixtape.example.org");
    assert_string_equal(cfg.redirect_uri, "https://mixtape.example.org/callback");
    assert_true(cfg.secure_cookies);
    assert_false(cfg.keys_ephemeral);
    assert_int_equal(cfg.keys.count, 1);
    assert_string_equal(cfg.api_base, "http://127.0.0.1:9999");
    assert_string_equal(cfg.api_origin, "http://127.0.0.1:9999");
    assert_string_equal(cfg.accounts_base, "https://accounts.spotify.com");
    assert_int_equal(cfg.max_saved, 20000);
    assert_null(cfg.client_secret);

    /* Without PUBLIC_URL, the redirect URI follows the port actually bound. */
    unsetenv("PUBLIC_URL");
    setenv("LISTEN", "127.0.0.1:0", 1);
    assert_int_equal(config_load(&cfg, 1, argv, err, sizeof err), CONFIG_OK);
    assert_int_equal(cfg.listen_port, 0);
    config_set_bound_port(&cfg, 43210);
    assert_string_equal(cfg.redirect_uri, "http://127.0.0.1:43210/callback");
    assert_false(cfg.secure_cookies);
    unsetenv("SESSION_KEYS");
    assert_int_equal(config_load(&cfg, 1, argv, err, sizeof err), CONFIG_OK);
    assert_true(cfg.keys_ephemeral);
    clear_env(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_table, clear_env),
        cmocka_unit_test_setup(test_derived_values, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
