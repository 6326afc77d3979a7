/* Encrypted cookies: round trips, every kind of tampering, rotation, expiry and size limits;
 * cookie names and Set-Cookie lines in both modes (https: __Host-, plain http: bare). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base64url.h"
#include "session.h"

/* Two fixed keys: base64 of 32 bytes each. */
static const char KEY_A[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
static const char KEY_B[] = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
static const int64_t NOW = 1800000000;

static struct session sample_session(void)
{
    struct session s = {0};
    snprintf(s.user_id, sizeof s.user_id, "demo");
    snprintf(s.display_name, sizeof s.display_name, "Demo Listener");
    snprintf(s.access_token, sizeof s.access_token, "BQD-access-token-value");
    snprintf(s.refresh_token, sizeof s.refresh_token, "AQB-refresh-token-value");
    s.access_expires = NOW + 3600;
    s.expires = NOW + 86400;
    snprintf(s.sid, sizeof s.sid, "abcdefghijklmnopqrstuv");
    s.fresh_until = NOW + 3600;
    return s;
}

static struct session_keyring ring(const char *list)
{
    struct session_keyring keys;
    char err[256];
    assert_int_equal(session_keyring_parse(&keys, list, err, sizeof err), SESSION_OK);
    return keys;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct session_keyring keys = ring(KEY_A);
    struct session in = sample_session();
    char *cookie = NULL;
    assert_int_equal(session_encode(&keys, &in, &cookie), SESSION_OK);
    assert_null(strstr(cookie, "access")); /* nothing readable */
    struct session out;
    assert_int_equal(session_decode(&keys, cookie, strlen(cookie), NOW, &out), SESSION_OK);
    assert_string_equal(out.user_id, in.user_id);
    assert_string_equal(out.display_name, in.display_name);
    assert_string_equal(out.access_token, in.access_token);
    assert_string_equal(out.refresh_token, in.refresh_token);
    assert_int_equal(out.access_expires, in.access_expires);
    assert_int_equal(out.expires, in.expires);
    /* Two seals of the same session differ (fresh nonce). */
    char *again = NULL;
    assert_int_equal(session_encode(&keys, &in, &again), SESSION_OK);
    assert_string_not_equal(cookie, again);
    free(cookie);
    free(again);
}

/* Flips one bit in each byte of the raw cookie: version, key id, nonce, ciphertext, tag. */
static void test_every_bit_flip_is_rejected(void **state)
{
    (void)state;
    struct session_keyring keys = ring(KEY_A);
    struct session in = sample_session();
    char *cookie = NULL;
    assert_int_equal(session_encode(&keys, &in, &cookie), SESSION_OK);
    uint8_t raw[4096];
    size_t raw_len = 0;
    assert_int_equal(base64url_decode(cookie, strlen(cookie), raw, sizeof raw, &raw_len), 0);
    char text[8192];
    for (size_t i = 0; i < raw_len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            raw[i] ^= (uint8_t)(1u << bit);
            base64url_encode(raw, raw_len, text);
            struct session out;
            enum session_status got = session_decode(&keys, text, strlen(text), NOW, &out);
            enum session_status want = i == 0  ? SESSION_ERR_VERSION
                                       : i < 5 ? SESSION_ERR_KEY_ID
                                               : SESSION_ERR_AUTH;
            assert_int_equal(got, want);
            raw[i] ^= (uint8_t)(1u << bit);
        }
    }
    free(cookie);
}

static void test_every_truncation_is_rejected(void **state)
{
    (void)state;
    struct session_keyring keys = ring(KEY_A);
    struct session in = sample_session();
    char *cookie = NULL;
    assert_int_equal(session_encode(&keys, &in, &cookie), SESSION_OK);
    size_t len = strlen(cookie);
    for (size_t cut = 0; cut < len; cut++) {
        struct session out;
        assert_int_not_equal(session_decode(&keys, cookie, cut, NOW, &out), SESSION_OK);
    }
    /* An extra character is not accepted either. */
    char longer[8192];
    snprintf(longer, sizeof longer, "%sA", cookie);
    struct session out;
    assert_int_not_equal(session_decode(&keys, longer, strlen(longer), NOW, &out), SESSION_OK);
    free(cookie);
}

static void test_foreign_and_garbage(void **state)
{
    (void)state;
    struct session_keyring a = ring(KEY_A);
    struct session_keyring b = ring(KEY_B);
    struct session in = sample_session();
    char *cookie = NULL;
    assert_int_equal(session_encode(&a, &in, &cookie), SESSION_OK);
    struct session out;
    assert_int_equal(session_decode(&b, cookie, strlen(cookie), NOW, &out), SESSION_ERR_KEY_ID);
    static const char *const garbage[] = {
        "",        "x",     "!!!!",
        "deleted", "a b c", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        assert_int_not_equal(session_decode(&a, garbage[i], strlen(garbage[i]), NOW, &out),
                             SESSION_OK);
    /* A sign-in cookie is not a session cookie, even under the same key. */
    struct login_state l = {.expires = NOW + 600};
    snprintf(l.state, sizeof l.state, "state123");
    snprintf(l.verifier, sizeof l.verifier, "%s", "v-0123456789012345678901234567890123456789");
    char *login = NULL;
    assert_int_equal(login_encode(&a, &l, &login), SESSION_OK);
    assert_int_equal(session_decode(&a, login, strlen(login), NOW, &out), SESSION_ERR_AUTH);
    struct login_state back;
    assert_int_equal(login_decode(&a, cookie, strlen(cookie), NOW, &back), SESSION_ERR_AUTH);
    assert_int_equal(login_decode(&a, login, strlen(login), NOW, &back), SESSION_OK);
    assert_string_equal(back.state, "state123");
    assert_string_equal(back.verifier, l.verifier);
    assert_int_equal(login_decode(&a, login, strlen(login), NOW + 600, &back), SESSION_ERR_EXPIRED);
    free(login);
    free(cookie);
}

static void test_rotation(void **state)
{
    (void)state;
    struct session_keyring old_ring = ring(KEY_A);
    char both[256];
    snprintf(both, sizeof both, "%s,%s", KEY_B, KEY_A);
    struct session_keyring rotated = ring(both);
    struct session in = sample_session();
    char *old_cookie = NULL, *new_cookie = NULL;
    assert_int_equal(session_encode(&old_ring, &in, &old_cookie), SESSION_OK);
    assert_int_equal(session_encode(&rotated, &in, &new_cookie), SESSION_OK);
    struct session out;
    /* The old key still decrypts after rotation; the new key encrypts. */
    assert_int_equal(session_decode(&rotated, old_cookie, strlen(old_cookie), NOW, &out),
                     SESSION_OK);
    assert_int_equal(session_decode(&rotated, new_cookie, strlen(new_cookie), NOW, &out),
                     SESSION_OK);
    assert_int_equal(session_decode(&old_ring, new_cookie, strlen(new_cookie), NOW, &out),
                     SESSION_ERR_KEY_ID);
    /* Once the old key is retired, its cookies are signed out. */
    struct session_keyring retired = ring(KEY_B);
    assert_int_equal(session_decode(&retired, old_cookie, strlen(old_cookie), NOW, &out),
                     SESSION_ERR_KEY_ID);
    free(old_cookie);
    free(new_cookie);
}

static void test_expiry(void **state)
{
    (void)state;
    struct session_keyring keys = ring(KEY_A);
    struct session in = sample_session();
    in.fresh_until = in.expires; /* the session's end is what this test is about */
    char *cookie = NULL;
    assert_int_equal(session_encode(&keys, &in, &cookie), SESSION_OK);
    struct session out;
    assert_int_equal(session_decode(&keys, cookie, strlen(cookie), in.expires - 1, &out),
                     SESSION_OK);
    assert_int_equal(session_decode(&keys, cookie, strlen(cookie), in.expires, &out),
                     SESSION_ERR_EXPIRED);
    free(cookie);
}

static void test_size_limits(void **state)
{
    (void)state;
    struct session_keyring keys = ring(KEY_A);
    struct session in = sample_session();
    /* Both tokens at their limit still fit in a cookie. */
    memset(in.access_token, 'a', SESSION_MAX_TOKEN_LEN);
    in.access_token[SESSION_MAX_TOKEN_LEN] = '\0';
    memset(in.refresh_token, 'r', SESSION_MAX_TOKEN_LEN);
    in.refresh_token[SESSION_MAX_TOKEN_LEN] = '\0';
    char *cookie = NULL;
    assert_int_equal(session_encode(&keys, &in, &cookie), SESSION_OK);
    assert_true(strlen(cookie) <= SESSION_MAX_COOKIE_LEN);
    free(cookie);
    /* A plaintext too large for a cookie is refused. */
    static uint8_t big[SESSION_MAX_COOKIE_LEN];
    memset(big, 'x', sizeof big);
    cookie = NULL;
    assert_int_equal(session_seal(&keys, SESSION_COOKIE, big, sizeof big, &cookie),
                     SESSION_ERR_TOO_LARGE);
    assert_null(cookie);
    /* A cookie over the limit is refused unread. */
    static char huge[SESSION_MAX_COOKIE_LEN + 2];
    memset(huge, 'A', sizeof huge - 1);
    struct session out;
    assert_int_equal(session_decode(&keys, huge, sizeof huge - 1, NOW, &out),
                     SESSION_ERR_TOO_LARGE);
}

static void test_keyring_parsing(void **state)
{
    (void)state;
    static const struct {
        const char *list;
        enum session_status want;
        size_t count;
    } cases[] = {
        {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", SESSION_OK, 1},
        {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", SESSION_OK, 1}, /* unpadded */
        {"# comment\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
         "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n",
         SESSION_OK, 2},
        {"", SESSION_ERR_KEY, 0},
        {"short", SESSION_ERR_KEY, 0},
        {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==", SESSION_ERR_KEY, 0}, /* 34 bytes */
        {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=,not*base64", SESSION_ERR_KEY, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct session_keyring keys = {0};
        char err[256] = "";
        assert_int_equal(session_keyring_parse(&keys, cases[i].list, err, sizeof err),
                         cases[i].want);
        if (cases[i].want == SESSION_OK)
            assert_int_equal(keys.count, cases[i].count);
        else
            assert_non_null(strstr(err, "key"));
    }
    char nine[9 * 48] = "";
    for (int i = 0; i < 9; i++) {
        strcat(nine, KEY_A);
        strcat(nine, ",");
    }
    struct session_keyring keys;
    char err[256];
    assert_int_equal(session_keyring_parse(&keys, nine, err, sizeof err), SESSION_ERR_KEY);
    assert_non_null(strstr(err, "at most 8"));

    char path[] = "/tmp/mixtape-keys-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "%s\n%s\n", KEY_B, KEY_A);
    fclose(f);
    assert_int_equal(session_keyring_load_file(&keys, path, err, sizeof err), SESSION_OK);
    assert_int_equal(keys.count, 2);
    unlink(path);
    assert_int_equal(session_keyring_load_file(&keys, path, err, sizeof err), SESSION_ERR_KEY_FILE);
}

/* Cookie names and Set-Cookie lines: __Host- and Secure behind https, the bare names over
 * plain-http loopback; always Path=/, never a Domain. */
static void test_cookie_headers(void **state)
{
    (void)state;
    static const struct {
        const char *purpose;
        bool secure;
        const char *value;
        long max_age;
        const char *want;
    } cases[] = {
        {SESSION_COOKIE, true, "AbC-_1", 604800,
         "Set-Cookie: __Host-mixtape_session=AbC-_1; Path=/; Max-Age=604800; HttpOnly; "
         "SameSite=Lax; Secure\r\n"},
        {SESSION_COOKIE, true, "", 0,
         "Set-Cookie: __Host-mixtape_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; "
         "Secure\r\n"},
        {LOGIN_COOKIE, true, "xyz", 600,
         "Set-Cookie: __Host-mixtape_login=xyz; Path=/; Max-Age=600; HttpOnly; SameSite=Lax; "
         "Secure\r\n"},
        {SESSION_COOKIE, false, "AbC-_1", 604800,
         "Set-Cookie: mixtape_session=AbC-_1; Path=/; Max-Age=604800; HttpOnly; "
         "SameSite=Lax\r\n"},
        {SESSION_COOKIE, false, "", 0,
         "Set-Cookie: mixtape_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax\r\n"},
        {LOGIN_COOKIE, false, "xyz", 600,
         "Set-Cookie: mixtape_login=xyz; Path=/; Max-Age=600; HttpOnly; SameSite=Lax\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[SESSION_COOKIE_NAME_SIZE], line[256];
        session_cookie_name(cases[i].purpose, cases[i].secure, name);
        int n = session_cookie_header(line, sizeof line, name, cases[i].value, cases[i].max_age,
                                      cases[i].secure);
        if (n < 0 || strcmp(line, cases[i].want) != 0 || (size_t)n != strlen(cases[i].want))
            fail_msg("case %zu: got %d '%s'", i, n, line);
        assert_null(strstr(line, "Domain"));
    }
    char name[SESSION_COOKIE_NAME_SIZE], line[256];
    session_cookie_name(SESSION_COOKIE, true, name);
    assert_string_equal(name, "__Host-mixtape_session");
    session_cookie_name(LOGIN_COOKIE, false, name);
    assert_string_equal(name, "mixtape_login");
    /* A __Host- cookie without Secure would be refused by browsers: never written. */
    assert_int_equal(
        session_cookie_header(line, sizeof line, "__Host-mixtape_session", "v", 60, false), -1);
    assert_string_equal(line, "");
    /* A line that does not fit is not written in part. */
    assert_int_equal(session_cookie_header(line, 40, "mixtape_session", "v", 60, false), -1);
    assert_string_equal(line, "");
    /* Room for a sealed cookie of the largest size under the longer name. */
    static char big[SESSION_MAX_COOKIE_LEN + 1], out[SESSION_MAX_COOKIE_LEN + 256];
    memset(big, 'A', SESSION_MAX_COOKIE_LEN);
    session_cookie_name(SESSION_COOKIE, true, name);
    assert_true(session_cookie_header(out, sizeof out, name, big, 604800, true) > 0);
}

/* The session id and the sliding freshness are sealed in; without an id (a cookie from before
 * ids) or past its freshness the cookie means signed out. */
static void test_session_id_and_freshness(void **state)
{
    (void)state;
    struct session_keyring keys = ring(KEY_A);
    struct session s = sample_session();
    char *cookie = NULL;
    assert_int_equal(session_encode(&keys, &s, &cookie), SESSION_OK);
    struct session out;
    assert_int_equal(session_decode(&keys, cookie, strlen(cookie), NOW, &out), SESSION_OK);
    assert_string_equal(out.sid, "abcdefghijklmnopqrstuv");
    assert_int_equal(out.fresh_until, NOW + 3600);
    assert_int_equal(session_decode(&keys, cookie, strlen(cookie), NOW + 3600, &out),
                     SESSION_ERR_EXPIRED);
    free(cookie);
    s.sid[0] = '\0';
    assert_int_equal(session_encode(&keys, &s, &cookie), SESSION_OK);
    assert_int_equal(session_decode(&keys, cookie, strlen(cookie), NOW, &out), SESSION_ERR_FORMAT);
    free(cookie);
    char a[SESSION_SID_LEN + 1], b[SESSION_SID_LEN + 1];
    assert_int_equal(session_new_sid(a), 0);
    assert_int_equal(session_new_sid(b), 0);
    assert_int_equal(strlen(a), SESSION_SID_LEN);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_every_bit_flip_is_rejected),
        cmocka_unit_test(test_every_truncation_is_rejected),
        cmocka_unit_test(test_foreign_and_garbage),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_keyring_parsing),
        cmocka_unit_test(test_cookie_headers),
        cmocka_unit_test(test_session_id_and_freshness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
