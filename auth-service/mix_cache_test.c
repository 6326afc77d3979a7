/* The per-session mix memory: copies in and out, the time to live, the bounds (sessions and
 * tracks, least recently used first), the saved playlist outliving the library, and keys that
 * tell sessions apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mix_cache.h"

static struct saved_library make_library(size_t n, const char *tag)
{
    struct saved_library lib = {
        .tracks = calloc(n, sizeof(struct saved_track)), .count = n, .total = n, .pages = 1};
    for (size_t i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s %zu", tag, i);
        lib.tracks[i].name = strdup(name);
        lib.tracks[i].artists[0] = strdup("Artist");
        lib.tracks[i].n_artists = 1;
        snprintf(lib.tracks[i].id, sizeof lib.tracks[i].id, "%022zu", i);
    }
    return lib;
}

static void key_of(const char *user, int64_t expires, uint8_t key[32])
{
    struct session s = {.expires = expires};
    snprintf(s.user_id, sizeof s.user_id, "%s", user);
    mix_cache_key(&s, "browser-1", key);
}

static void test_copy_and_ttl(void **state)
{
    (void)state;
    struct mix_cache *c = mix_cache_new(4, 1000, 600);
    uint8_t a[32], b[32], a2[32];
    key_of("demo", 1000, a);
    key_of("demo", 2000, a2); /* the same user signed in again: another session */
    key_of("river", 1000, b);
    assert_memory_not_equal(a, a2, 32);
    /* two browsers signed in within the same second: two keys */
    uint8_t other_browser[32];
    struct session same = {.expires = 1000};
    snprintf(same.user_id, sizeof same.user_id, "demo");
    mix_cache_key(&same, "browser-2", other_browser);
    assert_memory_not_equal(a, other_browser, 32);
    struct saved_library lib = make_library(10, "song"), out = {0};
    assert_false(mix_cache_get_library(c, a, 100, &out));
    mix_cache_put_library(c, a, 100, &lib);
    spotify_library_free(&lib); /* the cache holds its own copy */
    assert_true(mix_cache_get_library(c, a, 150, &out));
    assert_int_equal(out.count, 10);
    assert_string_equal(out.tracks[9].name, "song 9");
    assert_string_equal(out.tracks[9].artists[0], "Artist");
    spotify_library_free(&out);
    assert_false(mix_cache_get_library(c, b, 150, &out));
    assert_false(mix_cache_get_library(c, a2, 150, &out));
    /* ten minutes after the read, it is gone */
    assert_false(mix_cache_get_library(c, a, 700, &out));
    assert_int_equal(mix_cache_tracks(c), 0);
    mix_cache_free(c);
}

static void test_bounds(void **state)
{
    (void)state;
    struct mix_cache *c = mix_cache_new(2, 25, 600);
    uint8_t k[3][32];
    for (int i = 0; i < 3; i++) {
        char user[8];
        snprintf(user, sizeof user, "u%d", i);
        key_of(user, 1, k[i]);
    }
    struct saved_library l10 = make_library(10, "x"), l20 = make_library(20, "y"),
                         l30 = make_library(30, "z"), out = {0};
    mix_cache_put_library(c, k[0], 10, &l10);
    mix_cache_put_library(c, k[1], 11, &l10);
    assert_int_equal(mix_cache_entries(c), 2);
    assert_true(mix_cache_get_library(c, k[0], 12, &out)); /* k[0] now the more recent */
    spotify_library_free(&out);
    mix_cache_put_library(c, k[2], 13, &l10); /* two sessions at most: k[1] goes */
    assert_int_equal(mix_cache_entries(c), 2);
    assert_false(mix_cache_get_library(c, k[1], 14, &out));
    /* 25 tracks at most: 20 more push the least recent (k[0]) out */
    mix_cache_put_library(c, k[2], 15, &l20);
    assert_int_equal(mix_cache_tracks(c), 20);
    assert_false(mix_cache_get_library(c, k[0], 16, &out));
    assert_true(mix_cache_get_library(c, k[2], 16, &out));
    spotify_library_free(&out);
    /* a library over the bound is never kept */
    mix_cache_put_library(c, k[1], 17, &l30);
    assert_false(mix_cache_get_library(c, k[1], 18, &out));
    assert_true(mix_cache_tracks(c) <= 25);
    spotify_library_free(&l10);
    spotify_library_free(&l20);
    spotify_library_free(&l30);
    mix_cache_free(c);
}

static void test_playlist(void **state)
{
    (void)state;
    struct mix_cache *c = mix_cache_new(4, 100, 600);
    uint8_t a[32], b[32];
    key_of("demo", 5, a);
    key_of("river", 5, b);
    char id[64];
    assert_false(mix_cache_get_playlist(c, a, 1, id));
    mix_cache_put_playlist(c, a, 1, "pl1");
    assert_true(mix_cache_get_playlist(c, a, 2, id));
    assert_string_equal(id, "pl1");
    assert_false(mix_cache_get_playlist(c, b, 2, id));
    mix_cache_put_playlist(c, a, 3, "pl2");
    assert_true(mix_cache_get_playlist(c, a, 4, id));
    assert_string_equal(id, "pl2");
    /* kept twice the library's time to live after last use, then forgotten */
    assert_true(mix_cache_get_playlist(c, a, 1000, id));
    assert_false(mix_cache_get_playlist(c, a, 1300, id));
    assert_int_equal(mix_cache_entries(c), 0);
    mix_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_and_ttl),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_playlist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
