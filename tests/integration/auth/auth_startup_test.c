/* auth-service start-up: each bad option stops it with exit code 2 and a message that says
 * how to fix it; --help lists the options; a good start prints the ready line and SIGTERM
 * stops it with exit code 0; PUBLIC_URL's scheme decides the cookies' names (__Host- behind
 * https) and flags. */
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
#include "session.h"

#define KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

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

/* Behind https (PUBLIC_URL), every cookie is also Secure and named __Host-... */
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
    assert_non_null(strstr(headers, "Set-Cookie: __Host-mixtape_login="));
    assert_null(strstr(headers, "Set-Cookie: mixtape_login="));
    assert_non_null(strstr(headers, "; Path=/; Max-Age=600; HttpOnly; SameSite=Lax; Secure\r\n"));
    assert_null(strstr(headers, "Domain"));
    assert_non_null(strstr(headers, "redirect_uri=https%3A%2F%2Fmixtape.example.org%2Fcallback"));
    int status = harness_stop(&proc, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

struct answer {
    char headers[8192];
    char body[65536];
};

static size_t keep_body(char *data, size_t size, size_t n, void *userdata)
{
    char *all = userdata;
    size_t len = size * n, used = strlen(all);
    if (used + len < sizeof((struct answer *)0)->body) {
        memcpy(all + used, data, len);
        all[used + len] = '\0';
    }
    return len;
}

/* One request to base + path with header lines (NULL-terminated); no cookie jar. */
static void request(const char *base, const char *method, const char *path,
                    const char *const *lines, struct answer *out)
{
    char url[320];
    snprintf(url, sizeof url, "%s%s", base, path);
    out->headers[0] = out->body[0] = '\0';
    struct curl_slist *list = NULL;
    for (int i = 0; lines && lines[i]; i++)
        list = curl_slist_append(list, lines[i]);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_headers);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out->headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out->body);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    curl_slist_free_all(list);
}

static bool signed_in(const struct answer *a)
{
    bool in = strstr(a->body, "id=\"mix\"") != NULL, out = strstr(a->body, "id=\"login\"") != NULL;
    assert_true(in != out);
    return in;
}

/* Behind https a session is read only from __Host-mixtape_session (a bare mixtape_session, as
 * a sibling host or a plain-http page could plant, is ignored and cleared) and sign-out clears
 * the __Host- names; over plain http only the bare name is read. */
static void test_cookie_names_by_mode(void **state)
{
    (void)state;
    clear_options();
    struct session_keyring keys;
    char err[256];
    assert_int_equal(session_keyring_parse(&keys, KEY, err, sizeof err), SESSION_OK);
    struct session s = {.access_expires = 4102444800,
                        .expires = 4102444800,
                        .sid = "startupTestSession0001",
                        .fresh_until = 4102444800};
    snprintf(s.user_id, sizeof s.user_id, "demo");
    snprintf(s.display_name, sizeof s.display_name, "Demo Listener");
    snprintf(s.access_token, sizeof s.access_token, "access-token");
    snprintf(s.refresh_token, sizeof s.refresh_token, "refresh-token");
    char *sealed = NULL;
    assert_int_equal(session_encode(&keys, &s, &sealed), SESSION_OK);
    char host_cookie[4096], bare_cookie[4096], both[8192];
    snprintf(host_cookie, sizeof host_cookie, "Cookie: __Host-mixtape_session=%s", sealed);
    snprintf(bare_cookie, sizeof bare_cookie, "Cookie: mixtape_session=%s", sealed);
    snprintf(both, sizeof both, "Cookie: mixtape_session=%s; __Host-mixtape_session=%s", sealed,
             sealed);
    free(sealed);
    const char *with_host[] = {host_cookie, NULL}, *with_bare[] = {bare_cookie, NULL},
               *with_both[] = {both, NULL};
    static struct answer a;
    char bin[512];
    snprintf(bin, sizeof bin, "%s", harness_binary("bin/auth-service"));
    char *argv[] = {bin, NULL};

    char *https_env[] = {"SPOTIFY_CLIENT_ID=abc", "LISTEN=127.0.0.1:0", "SESSION_KEYS=" KEY,
                         "PUBLIC_URL=https://mixtape.example.org", NULL};
    struct harness_proc proc;
    assert_int_equal(harness_start(&proc, argv, https_env, 20000), 0);
    request(proc.addr, "GET", "/", with_host, &a);
    assert_true(signed_in(&a));
    assert_null(strstr(a.headers, "Set-Cookie"));
    request(proc.addr, "GET", "/", with_bare, &a);
    assert_false(signed_in(&a));
    assert_non_null(strstr(
        a.headers,
        "Set-Cookie: mixtape_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure\r\n"));
    request(proc.addr, "GET", "/", with_both, &a);
    assert_true(signed_in(&a));
    assert_non_null(strstr(a.headers, "Set-Cookie: mixtape_session=; Path=/; Max-Age=0;"));
    assert_null(strstr(a.headers, "Set-Cookie: __Host-mixtape_session="));
    const char *logout[] = {"Origin: https://mixtape.example.org", host_cookie, NULL};
    request(proc.addr, "POST", "/logout", logout, &a);
    assert_non_null(strstr(a.headers, "Set-Cookie: __Host-mixtape_session=; Path=/; Max-Age=0; "
                                      "HttpOnly; SameSite=Lax; Secure\r\n"));
    assert_non_null(strstr(a.headers, "Set-Cookie: __Host-mixtape_login=; Path=/; Max-Age=0; "
                                      "HttpOnly; SameSite=Lax; Secure\r\n"));
    assert_null(strstr(a.headers, "Domain"));
    int status = harness_stop(&proc, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    char *http_env[] = {"SPOTIFY_CLIENT_ID=abc", "LISTEN=127.0.0.1:0", "SESSION_KEYS=" KEY, NULL};
    assert_int_equal(harness_start(&proc, argv, http_env, 20000), 0);
    request(proc.addr, "GET", "/", with_bare, &a);
    assert_true(signed_in(&a));
    assert_null(strstr(a.headers, "Set-Cookie"));
    request(proc.addr, "GET", "/", with_host, &a);
    assert_false(signed_in(&a));
    assert_null(strstr(a.headers, "Secure"));
    const char *plain_logout[] = {bare_cookie, NULL};
    request(proc.addr, "POST", "/logout", plain_logout, &a);
    assert_non_null(strstr(
        a.headers, "Set-Cookie: mixtape_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax\r\n"));
    assert_null(strstr(a.headers, "__Host-"));
    status = harness_stop(&proc, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_ready_and_clean_stop),
        cmocka_unit_test(test_secure_cookies_behind_https),
        cmocka_unit_test(test_cookie_names_by_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
