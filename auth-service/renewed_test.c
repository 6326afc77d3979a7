/* Tokens refreshed mid-stream: kept by session id, handed over once to a cookie that still
 * holds the old refresh token, never to one that already has the new one, gone when ended. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "renewed.h"

static struct renewed set;

static struct spotify_tokens tokens(const char *access, const char *refresh)
{
    struct spotify_tokens t = {.access_expires = 5000};
    snprintf(t.access_token, sizeof t.access_token, "%s", access);
    snprintf(t.refresh_token, sizeof t.refresh_token, "%s", refresh);
    return t;
}

static void test_take_once(void **state)
{
    (void)state;
    assert_int_equal(renewed_init(&set), 0);
    const char *sid = "abcdefghijklmnopqrstuv";
    struct spotify_tokens t = tokens("new-access", "new-refresh"), out;
    renewed_put(&set, sid, &t, 1000, 100);
    /* a cookie that already carries the new refresh token needs nothing */
    assert_false(renewed_take(&set, sid, "new-refresh", 200, &out));
    renewed_put(&set, sid, &t, 1000, 100);
    assert_true(renewed_take(&set, sid, "old-refresh", 200, &out));
    assert_string_equal(out.access_token, "new-access");
    assert_string_equal(out.refresh_token, "new-refresh");
    assert_false(renewed_take(&set, sid, "old-refresh", 200, &out)); /* handed over once */
    renewed_put(&set, sid, &t, 1000, 100);
    assert_false(renewed_take(&set, sid, "old-refresh", 1000, &out)); /* ended */
    assert_false(renewed_take(&set, "zzzzzzzzzzzzzzzzzzzzzz", "old", 200, &out));
    renewed_destroy(&set);
}

static void test_full_table_keeps_the_latest(void **state)
{
    (void)state;
    assert_int_equal(renewed_init(&set), 0);
    char sid[SESSION_SID_LEN + 1];
    struct spotify_tokens t = tokens("a", "r"), out;
    for (unsigned i = 0; i < RENEWED_CAPACITY + 10; i++) {
        snprintf(sid, sizeof sid, "sid%019u", i);
        renewed_put(&set, sid, &t, 10000 + i, 0);
    }
    snprintf(sid, sizeof sid, "sid%019u", RENEWED_CAPACITY + 9);
    assert_true(renewed_take(&set, sid, "old", 0, &out));
    snprintf(sid, sizeof sid, "sid%019u", 0u);
    assert_false(renewed_take(&set, sid, "old", 0, &out)); /* ended soonest: made room */
    renewed_destroy(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_take_once),
        cmocka_unit_test(test_full_table_keeps_the_latest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
