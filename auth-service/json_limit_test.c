/* Bounded JSON: the depth scan (strings and escapes do not count), the bound itself, and every
 * parser of untrusted JSON refusing a 5,000-deep text on a thread with CivetWeb's 100 KiB stack,
 * where cJSON's own limit of 1,000 levels would overflow it. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json_limit.h"
#include "spotify.h"

/* n '[' then n ']' wrapped as prefix ... suffix (malloc'd). */
static char *nested(const char *prefix, int n, const char *suffix)
{
    size_t len = strlen(prefix) + 2 * (size_t)n + strlen(suffix) + 1;
    char *s = malloc(len);
    assert_non_null(s);
    char *p = s + sprintf(s, "%s", prefix);
    memset(p, '[', (size_t)n);
    memset(p + n, ']', (size_t)n);
    strcpy(p + 2 * n, suffix);
    return s;
}

static void test_depth_scan(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int depth;
    } cases[] = {
        {"", 0},
        {"42", 0},
        {"{}", 1},
        {"[[],[[]]]", 3},
        {"{\"a\":{\"b\":[1,{\"c\":2}]}}", 4},
        {"\"[[[[[[\"", 0},      /* brackets inside a string */
        {"[\"\\\"[[[[\"]", 1},  /* an escaped quote does not end the string */
        {"[\"\\\\\",[[]]]", 3}, /* an escaped backslash does */
        {"]]]]][[", 2},         /* stray closers do not go below zero */
        {"{\"a\":[1,2],\"b\":[3]}", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = json_nesting_depth(cases[i].text, strlen(cases[i].text), 100);
        if (got != cases[i].depth)
            fail_msg("case %zu (%s): depth %d, want %d", i, cases[i].text, got, cases[i].depth);
    }
    /* stops early once over the bound */
    assert_int_equal(json_nesting_depth("[[[[[[", 6, 3), 4);
}

static void test_bound(void **state)
{
    (void)state;
    enum json_limit_status st;
    char *ok = nested("", JSON_MAX_DEPTH, "");
    cJSON *tree = json_parse_limited(ok, strlen(ok), JSON_MAX_DEPTH, &st);
    assert_non_null(tree);
    assert_int_equal(st, JSON_LIMIT_OK);
    cJSON_Delete(tree);
    char *deep = nested("", JSON_MAX_DEPTH + 1, "");
    assert_null(json_parse_limited(deep, strlen(deep), JSON_MAX_DEPTH, &st));
    assert_int_equal(st, JSON_LIMIT_TOO_DEEP);
    assert_null(json_parse_limited("{nope", 5, JSON_MAX_DEPTH, &st));
    assert_int_equal(st, JSON_LIMIT_INVALID);
    assert_null(json_parse_limited(NULL, 0, JSON_MAX_DEPTH, &st));
    assert_int_equal(st, JSON_LIMIT_INVALID);
    /* the length is honoured: text after len is not read */
    tree = json_parse_limited("[1]garbage", 3, JSON_MAX_DEPTH, &st);
    assert_non_null(tree);
    cJSON_Delete(tree);
    assert_string_equal(json_limit_strerror(JSON_LIMIT_TOO_DEEP), "nested too deeply");
    free(ok);
    free(deep);
}

/* The parsers of Spotify's answers, run on a small stack as CivetWeb runs them. */
struct deep_run {
    const char *text;
    int saved_status, me_status;
    char detail[64];
};

static void *parse_all(void *arg)
{
    struct deep_run *run = arg;
    size_t len = strlen(run->text);
    struct saved_track tracks[4];
    size_t n = 0, total = 0;
    run->saved_status =
        spotify_parse_saved_page(run->text, len, "http://127.0.0.1", tracks, 4, &n, &total);
    struct spotify_user user;
    run->me_status = spotify_parse_me(run->text, len, &user);
    spotify_error_detail(run->text, len, run->detail, sizeof run->detail);
    enum json_limit_status st;
    cJSON_Delete(json_parse_limited(run->text, len, JSON_MAX_DEPTH, &st));
    return NULL;
}

static void run_on_small_stack(struct deep_run *run)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* CivetWeb 1.15 as Debian builds it gives its workers 100 KiB stacks. */
    assert_int_equal(pthread_attr_setstacksize(&attr, 100 * 1024), 0);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, &attr, parse_all, run), 0);
    pthread_join(thread, NULL);
    pthread_attr_destroy(&attr);
}

static void test_deep_spotify_answers_refused(void **state)
{
    (void)state;
    /* 5,000 deep (cJSON alone would recurse 1,000 levels), as a whole answer and inside the
     * fields each parser reads. */
    char *whole = nested("", 5000, "");
    char *in_items = nested("{\"total\":1,\"items\":", 5000, "}");
    char *in_error = nested("{\"error\":{\"message\":", 5000, "}}");
    const char *texts[] = {whole, in_items, in_error};
    for (size_t i = 0; i < 3; i++) {
        struct deep_run run = {.text = texts[i]};
        run_on_small_stack(&run);
        assert_int_equal(run.saved_status, SPOTIFY_ERR_BAD_RESPONSE);
        assert_int_equal(run.me_status, SPOTIFY_ERR_BAD_RESPONSE);
        assert_string_equal(run.detail, "");
    }
    free(whole);
    free(in_items);
    free(in_error);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_scan),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_deep_spotify_answers_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
