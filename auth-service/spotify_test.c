/* The pure parts of the Spotify client: Retry-After, backoff, paging arithmetic, `next` host
 * checks, saved-track page parsing, 403 classification, token and error-text checks, UTF-8
 * cuts and the /v1/me profile (a display name cut at a character boundary). The
 * network parts are tested against the emulator in tests/integration/auth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "spotify.h"

static void test_retry_after(void **state)
{
    (void)state;
    const int64_t now = 1784000000; /* 2026-07-14T03:33:20Z */
    static const struct {
        const char *value;
        long want_ms;
    } cases[] = {
        {"3", 3000},
        {" 0", 0},
        {"7\r\n", 7000},
        {"120", 120000},
        {"999999", SPOTIFY_MAX_RETRY_AFTER_S * 1000L},
        {"-4", 1000},
        {"soon", 1000},
        {"", 1000},
        {NULL, 1000},
        {"2.5", 1000},
        {"Tue, 14 Jul 2026 03:33:30 GMT", 10000},
        {"Tue, 14 Jul 2026 03:33:00 GMT", 0}, /* in the past: go now */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long got = spotify_retry_after_ms(cases[i].value, now);
        if (got != cases[i].want_ms)
            fail_msg("case %zu '%s': got %ld want %ld", i, cases[i].value ? cases[i].value : "NULL",
                     got, cases[i].want_ms);
    }
}

static void test_backoff(void **state)
{
    (void)state;
    static const struct {
        int attempt;
        double unit;
        long want;
    } cases[] = {
        {0, 0.0, 125},   {0, 0.999, 249}, {1, 0.0, 250},   {1, 0.5, 375},
        {2, 0.0, 500},   {5, 0.0, 4000},  {6, 0.0, 4000},  {6, 0.999, 7996},
        {30, 0.0, 4000}, {-1, 0.0, 125},  {3, -1.0, 1000}, {3, 7.0, 1999},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long got = spotify_backoff_ms(cases[i].attempt, cases[i].unit);
        if (got != cases[i].want)
            fail_msg("case %zu: got %ld want %ld", i, got, cases[i].want);
    }
}

static void test_paging(void **state)
{
    (void)state;
    static const struct {
        size_t total, max, limit, to_read, pages;
    } cases[] = {
        {0, 20000, 50, 0, 1},           {1, 20000, 50, 1, 1},        {50, 20000, 50, 50, 1},
        {51, 20000, 50, 51, 2},         {3000, 20000, 50, 3000, 60}, {2001, 20000, 50, 2001, 41},
        {25000, 20000, 50, 20000, 400}, {120, 100, 50, 100, 2},      {99, 100, 50, 99, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t to_read = 0, pages = 0;
        spotify_paging(cases[i].total, cases[i].max, cases[i].limit, &to_read, &pages);
        assert_int_equal(to_read, cases[i].to_read);
        assert_int_equal(pages, cases[i].pages);
    }
}

static void test_url_on_origin(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        bool want;
    } cases[] = {
        {"https://api.spotify.com/v1/me/tracks?offset=50&limit=50", true},
        {"https://api.spotify.com", false},
        {"https://api.spotify.com.evil.example/v1/me/tracks", false},
        {"https://api.spotify.com@evil.example/v1/me/tracks", false},
        {"https://api.spotify.com:8443/v1/me/tracks", false},
        {"http://api.spotify.com/v1/me/tracks", false},
        {"https://evil.example/https://api.spotify.com/", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(spotify_url_on_origin(cases[i].url, "https://api.spotify.com"),
                         cases[i].want);
}

static const char PAGE[] =
    "{\"href\":\"https://api.spotify.com/v1/me/tracks?offset=0&limit=50\",\"limit\":50,"
    "\"next\":\"https://api.spotify.com/v1/me/tracks?offset=3&limit=3\",\"offset\":0,"
    "\"previous\":null,\"total\":7,\"items\":["
    "{\"added_at\":\"2026-01-01T00:00:00Z\",\"track\":{\"id\":\"4uLU6hMCjMI75M1A2tKUQC\","
    "\"name\":\"Never Gonna\",\"uri\":\"spotify:track:4uLU6hMCjMI75M1A2tKUQC\",\"is_local\":false,"
    "\"artists\":[{\"id\":\"a\",\"name\":\"Ada Lane\"},{\"id\":\"b\",\"name\":\"The Quiet "
    "Hours\"}],"
    "\"album\":{\"name\":\"X\",\"release_date\":\"1987-05-12\",\"release_date_precision\":\"day\"},"
    "\"duration_ms\":213000,\"explicit\":true,\"external_ids\":{\"isrc\":\"GBARL8700123\"}}},"
    "{\"added_at\":\"2026-01-01T00:00:00Z\",\"track\":{\"id\":null,\"name\":\"home demo\","
    "\"uri\":\"spotify:local:::home+demo:100\",\"is_local\":true,\"artists\":[],"
    "\"album\":{\"name\":null,\"release_date\":null},\"duration_ms\":100000,\"explicit\":false,"
    "\"external_ids\":{}}},"
    "{\"added_at\":\"2026-01-01T00:00:00Z\",\"track\":{\"id\":\"0000000000000000000001\","
    "\"name\":\"Year Only\",\"artists\":[{\"name\":\"Solo\"}],\"album\":{\"release_date\":"
    "\"1999\"},\"duration_ms\":-5,\"explicit\":false}}]}";

static void test_parse_page(void **state)
{
    (void)state;
    struct saved_track tracks[SPOTIFY_PAGE_LIMIT];
    size_t n = 0, total = 0;
    assert_int_equal(spotify_parse_saved_page(PAGE, strlen(PAGE), "https://api.spotify.com", tracks,
                                              SPOTIFY_PAGE_LIMIT, &n, &total),
                     SPOTIFY_OK);
    assert_int_equal(total, 7);
    assert_int_equal(n, 3);
    assert_string_equal(tracks[0].id, "4uLU6hMCjMI75M1A2tKUQC");
    assert_string_equal(tracks[0].name, "Never Gonna");
    assert_int_equal(tracks[0].n_artists, 2);
    assert_string_equal(tracks[0].artists[1], "The Quiet Hours");
    assert_int_equal(tracks[0].year, 1987);
    assert_int_equal(tracks[0].duration_ms, 213000);
    assert_true(tracks[0].explicit_lyrics);
    assert_string_equal(tracks[0].isrc, "GBARL8700123");
    assert_string_equal(tracks[1].id, "");
    assert_true(tracks[1].is_local);
    assert_string_equal(tracks[1].name, "home demo");
    assert_int_equal(tracks[1].year, 0);
    assert_int_equal(tracks[2].year, 1999);
    assert_int_equal(tracks[2].duration_ms, 0);
    struct saved_library lib = {.tracks = malloc(sizeof tracks), .count = n};
    memcpy(lib.tracks, tracks, n * sizeof *tracks);
    spotify_library_free(&lib);

    /* Room for only one: the rest are not parsed. */
    assert_int_equal(spotify_parse_saved_page(PAGE, strlen(PAGE), "https://api.spotify.com", tracks,
                                              1, &n, &total),
                     SPOTIFY_OK);
    assert_int_equal(n, 1);
    lib = (struct saved_library){.tracks = malloc(sizeof tracks[0]), .count = 1};
    lib.tracks[0] = tracks[0];
    spotify_library_free(&lib);

    /* A `next` off the configured host is refused. */
    assert_int_equal(spotify_parse_saved_page(PAGE, strlen(PAGE), "http://127.0.0.1:9", tracks,
                                              SPOTIFY_PAGE_LIMIT, &n, &total),
                     SPOTIFY_ERR_BAD_HOST);
    static const char *const bad[] = {"",
                                      "[]",
                                      "{\"items\":[]}",
                                      "{\"total\":-1,\"items\":[]}",
                                      "{\"total\":3,\"items\":{}}",
                                      "{\"total\":3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(spotify_parse_saved_page(bad[i], strlen(bad[i]), "https://x", tracks,
                                                  SPOTIFY_PAGE_LIMIT, &n, &total),
                         SPOTIFY_ERR_BAD_RESPONSE);
}

/* A null or wrongly typed item or track is a malformed answer, never a shorter library. */
static void test_parse_page_malformed_items(void **state)
{
    (void)state;
    static const char *const items[] = {
        "null",
        "7",
        "{\"track\":null}",
        "{\"track\":\"4uLU6hMCjMI75M1A2tKUQC\"}",
        "{\"added_at\":\"x\"}",
        "{\"track\":{\"name\":5,\"artists\":[]}}",
        "{\"track\":{\"name\":\"ok\",\"artists\":\"Ada\"}}",
        "{\"track\":{\"name\":\"ok\"}}",
    };
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        char page[512];
        snprintf(page, sizeof page,
                 "{\"total\":2,\"next\":null,\"items\":[{\"track\":{\"name\":\"fine\","
                 "\"artists\":[{\"name\":\"A\"}]}},%s]}",
                 items[i]);
        struct saved_track tracks[4];
        size_t n = 99, total = 99;
        enum spotify_status st = spotify_parse_saved_page(
            page, strlen(page), "https://api.spotify.com", tracks, 4, &n, &total);
        if (st != SPOTIFY_ERR_BAD_RESPONSE)
            fail_msg("item %s: status %s, want a bad response", items[i], spotify_strerror(st));
        assert_int_equal(n, 99); /* nothing handed out */
    }
}

/* Invalid UTF-8 in a title or artist becomes U+FFFD, so the JSON we write stays valid. */
static void test_parse_page_invalid_utf8(void **state)
{
    (void)state;
    static const char page[] =
        "{\"total\":1,\"items\":[{\"track\":{\"name\":\"bad \xff\xfe\xc3 x\","
        "\"artists\":[{\"name\":\"\xed\xa0\x80"
        "Ada \xc3\xa9\"}]}}]}";
    struct saved_track tracks[2];
    size_t n = 0, total = 0;
    assert_int_equal(spotify_parse_saved_page(page, strlen(page), "https://api.spotify.com", tracks,
                                              2, &n, &total),
                     SPOTIFY_OK);
    assert_int_equal(n, 1);
    assert_string_equal(tracks[0].name, "bad \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd x");
    assert_string_equal(tracks[0].artists[0], "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                              "Ada \xc3\xa9");
    struct saved_library lib = {.tracks = malloc(sizeof tracks[0]), .count = 1};
    assert_non_null(lib.tracks);
    lib.tracks[0] = tracks[0];
    spotify_library_free(&lib);
}

static void test_classify_403(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        enum spotify_status want;
    } cases[] = {
        {"{\"error\":{\"status\":403,\"message\":\"User not registered in the Developer "
         "Dashboard\"}}",
         SPOTIFY_ERR_NOT_ALLOWLISTED},
        {"{\"error\":{\"status\":403,\"message\":\"Active premium subscription required for the "
         "owner of the app.\"}}",
         SPOTIFY_ERR_NO_PREMIUM},
        {"{\"error\":{\"status\":403,\"message\":\"Insufficient client scope\"}}",
         SPOTIFY_ERR_SCOPE},
        {"{\"error\":{\"status\":403,\"message\":\"Forbidden\"}}", SPOTIFY_ERR_FORBIDDEN},
        {"", SPOTIFY_ERR_FORBIDDEN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(spotify_classify_403(cases[i].body, strlen(cases[i].body)), cases[i].want);
}

/* Tokens go into an Authorization header line and a cookie: visible ASCII only, 1..1024. */
static void test_token_ok(void **state)
{
    (void)state;
    char longest[SESSION_MAX_TOKEN_LEN + 2];
    memset(longest, 'a', sizeof longest);
    longest[SESSION_MAX_TOKEN_LEN] = '\0';
    static const struct {
        const char *token;
        bool want;
    } cases[] = {
        {"BQD3x-_.~+/=Aa09", true}, {"", false},           {"abc\r\nX-Injected: 1", false},
        {"abc\ndef", false},        {"with space", false}, {"tab\there", false},
        {"caf\xc3\xa9", false},     {"del\x7f", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (spotify_token_ok(cases[i].token) != cases[i].want)
            fail_msg("case %zu: want %d", i, cases[i].want);
    assert_true(spotify_token_ok(longest));
    longest[SESSION_MAX_TOKEN_LEN] = 'a';
    longest[SESSION_MAX_TOKEN_LEN + 1] = '\0';
    assert_false(spotify_token_ok(longest));
}

/* An error body's text is logged as detail="..." and shown on pages: it must stay one value. */
static void test_error_detail(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        size_t cap;
        const char *want;
    } cases[] = {
        {"{\"error\":{\"status\":401,\"message\":\"The access token expired\"}}", 160,
         "The access token expired"},
        {"{\"error\":\"invalid_grant\",\"error_description\":\"Invalid refresh token\"}", 160,
         "Invalid refresh token"},
        {"{\"error\":\"invalid_client\"}", 160, "invalid_client"},
        {"{\"error\":{\"message\":\"a\\\"b\\\\c\\nts=0 level=error event=forged\\r\\u0007\"}}", 160,
         "a b c ts=0 level=error event=forged  "},
        {"{\"error\":{\"message\":\"caf\xc3\xa9\"}}", 5, "caf"},
        {"{\"error\":{\"message\":\"caf\xc3\xa9\"}}", 6, "caf\xc3\xa9"},
        {"not json", 160, ""},
        {"{\"error\":{\"status\":500}}", 160, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[160];
        spotify_error_detail(cases[i].body, strlen(cases[i].body), out, cases[i].cap);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, out, cases[i].want);
    }
}

/* Cuts never split a well-formed UTF-8 character; other bytes count as characters of their own. */
static void test_utf8_prefix(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t max, want;
    } cases[] = {
        {"abc", 5, 3},                      /* shorter than max */
        {"abcdef", 3, 3},                   /* ASCII */
        {"", 0, 0},                         /* empty */
        {"\xc3\xa9", 0, 0},                 /* nothing fits */
        {"caf\xc3\xa9", 4, 3},              /* 2-byte: 1 of 2 bytes before the limit */
        {"caf\xc3\xa9", 5, 5},              /* 2-byte ending on the limit */
        {"caf\xc3\xa9x", 5, 5},             /* ... followed by more */
        {"\xc3\xa9\xc3\xa9", 3, 2},         /* 2-byte after 2-byte */
        {"ab\xe2\x82\xac", 3, 2},           /* 3-byte (euro): 1 of 3 */
        {"ab\xe2\x82\xac", 4, 2},           /* 2 of 3 */
        {"ab\xe2\x82\xac", 5, 5},           /* whole */
        {"a\xf0\x9f\x8e\xb5", 2, 1},        /* 4-byte (U+1F3B5): 1 of 4 */
        {"a\xf0\x9f\x8e\xb5", 3, 1},        /* 2 of 4 */
        {"a\xf0\x9f\x8e\xb5", 4, 1},        /* 3 of 4 */
        {"a\xf0\x9f\x8e\xb5z", 5, 5},       /* whole */
        {"a\xf4\x8f\xbf\xbf", 3, 1},        /* U+10FFFF is a character */
        {"ab\xff\xfe", 3, 3},               /* invalid bytes: one character each */
        {"a\x80\x80\x80\x80\x80", 3, 3},    /* stray continuation bytes */
        {"a\xe2\x82z", 2, 2},               /* a sequence cut short is no character */
        {"a\xc3(", 2, 2},                   /* lead byte without its continuation */
        {"a\xc0\xaf", 2, 2},                /* overlong '/' */
        {"a\xe0\x80\xaf", 2, 2},            /* overlong, 3 bytes */
        {"a\xed\xa0\x80", 2, 2},            /* UTF-16 surrogate */
        {"a\xf4\x90\x80\x80", 3, 3},        /* over U+10FFFF */
        {"a\xf5\x80\x80\x80", 2, 2},        /* F5 never starts a character */
        {"\xe2\x82\xac\xe2\x82\xac", 5, 3}, /* 3-byte after 3-byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = spotify_utf8_prefix(cases[i].text, cases[i].max);
        if (got != cases[i].want)
            fail_msg("case %zu: got %zu want %zu", i, got, cases[i].want);
    }
}

/* /v1/me: the display name is cut to SESSION_MAX_NAME_LEN bytes without splitting a character
 * (a cut with snprintf left half a character, which pages then show as U+FFFD). */
static void test_parse_me(void **state)
{
    (void)state;
    static const struct {
        size_t ascii;      /* 'a' bytes before the tail */
        const char *tail;  /* one character (raw UTF-8), then more text */
        size_t want_ascii; /* 'a' bytes kept */
        const char *want_tail;
    } cases[] = {
        {255, "\xc3\xa9 and more", 255, ""},                /* 2-byte straddling 256 */
        {254, "\xe2\x82\xac and more", 254, ""},            /* 3-byte straddling */
        {255, "\xe2\x82\xac and more", 255, ""},            /* 3-byte, 1 byte before the limit */
        {253, "\xf0\x9f\x8e\xb5 and more", 253, ""},        /* 4-byte straddling */
        {255, "\xf0\x9f\x8e\xb5", 255, ""},                 /* 4-byte, 1 byte before the limit */
        {254, "\xc3\xa9 and more", 254, "\xc3\xa9"},        /* ends on the limit */
        {256, "\xc3\xa9", 256, ""},                         /* the limit is all ASCII */
        {10, "\xf0\x9f\x8e\xb5", 10, "\xf0\x9f\x8e\xb5"},   /* short: kept whole */
        {255, "\xff\xfe", 255, ""},                         /* U+FFFD (3 bytes) does not fit */
        {10, "\xff\xc3(", 10, "\xef\xbf\xbd\xef\xbf\xbd("}, /* invalid bytes become U+FFFD */
        {10, "\xed\xa0\x80", 10, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[600], body[800], want[600];
        memset(name, 'a', cases[i].ascii);
        snprintf(name + cases[i].ascii, sizeof name - cases[i].ascii, "%s", cases[i].tail);
        memset(want, 'a', cases[i].want_ascii);
        snprintf(want + cases[i].want_ascii, sizeof want - cases[i].want_ascii, "%s",
                 cases[i].want_tail);
        snprintf(body, sizeof body, "{\"id\":\"u1\",\"display_name\":\"%s\"}", name);
        struct spotify_user user;
        assert_int_equal(spotify_parse_me(body, strlen(body), &user), SPOTIFY_OK);
        assert_string_equal(user.id, "u1");
        if (strcmp(user.display_name, want) != 0)
            fail_msg("case %zu: got %zu bytes ending %02x, want %zu bytes", i,
                     strlen(user.display_name),
                     (unsigned char)user.display_name[strlen(user.display_name) - 1], strlen(want));
    }
    struct spotify_user user;
    const char *escaped = "{\"id\":\"u2\",\"display_name\":\"Zo\\u00eb \\ud83c\\udfb5\"}";
    assert_int_equal(spotify_parse_me(escaped, strlen(escaped), &user), SPOTIFY_OK);
    assert_string_equal(user.display_name, "Zo\xc3\xab \xf0\x9f\x8e\xb5");
    const char *no_name = "{\"id\":\"u3\",\"display_name\":null}";
    assert_int_equal(spotify_parse_me(no_name, strlen(no_name), &user), SPOTIFY_OK);
    assert_string_equal(user.display_name, "u3");
    static const char *const bad[] = {"{\"display_name\":\"x\"}", "{\"id\":\"\"}", "{\"id\":7}",
                                      "not json", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(spotify_parse_me(bad[i], strlen(bad[i]), &user), SPOTIFY_ERR_BAD_RESPONSE);
    char long_id[300] = "{\"id\":\"";
    memset(long_id + 7, 'i', SESSION_MAX_NAME_LEN + 1);
    snprintf(long_id + 7 + SESSION_MAX_NAME_LEN + 1, 8, "\"}");
    assert_int_equal(spotify_parse_me(long_id, strlen(long_id), &user), SPOTIFY_ERR_BAD_RESPONSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_url_on_origin),
        cmocka_unit_test(test_parse_page),
        cmocka_unit_test(test_classify_403),
        cmocka_unit_test(test_token_ok),
        cmocka_unit_test(test_error_detail),
        cmocka_unit_test(test_utf8_prefix),
        cmocka_unit_test(test_parse_me),
        cmocka_unit_test(test_parse_page_malformed_items),
        cmocka_unit_test(test_parse_page_invalid_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
