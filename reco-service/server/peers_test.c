/* peers: the connection limit and who is closed to make room, replies that pile up or time
 * out, idle connections, and how long a request sat unread judged against the smallest clock
 * difference seen on its connection (so a constant clock offset does not count). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "peers.h"

#define S 1000000LL

static void test_limit_and_sweep(void **state)
{
    (void)state;
    struct peers t;
    assert_int_equal(peers_init(&t, 2, 3), 0);
    assert_true(peers_add(&t, 11, 0, S));
    assert_true(peers_add(&t, 12, 0, S));
    assert_int_equal(peers_count(&t), 2);
    peers_request(&t, 12, S / 2, 0, 0);
    /* Full, and nobody silent for a second yet: refused, nothing marked. */
    assert_false(peers_add(&t, 13, S / 2, S));
    uint32_t ids[4];
    const char *why[4];
    assert_int_equal(peers_sweep(&t, S / 2, 0, ids, why, 4), 0);
    /* Both wait for answers (12 since 0.5 s): neither is closed to make room meanwhile. */
    peers_request(&t, 11, 0, 0, 0);
    assert_false(peers_add(&t, 13, 2 * S, S));
    peers_done(&t, 11);
    peers_done(&t, 12);
    /* Later: the longest silent (11) is marked to make room and 13 gets in. */
    assert_true(peers_add(&t, 13, 2 * S, S));
    assert_int_equal(peers_count(&t), 2);
    assert_int_equal(peers_sweep(&t, 2 * S, 0, ids, why, 4), 1);
    assert_int_equal(ids[0], 11);
    assert_string_equal(why[0], "limit");
    assert_int_equal(peers_sweep(&t, 2 * S, 0, ids, why, 4), 0); /* reported once */
    peers_remove(&t, 11);
    assert_false(peers_open(&t, 11));
    assert_true(peers_open(&t, 13));
    /* Idle: 12 has been silent since 0.5 s, 13 since 2 s. */
    assert_int_equal(peers_sweep(&t, 40 * S, 30 * S, ids, why, 4), 2);
    assert_string_equal(why[0], "idle");
    assert_int_equal(peers_count(&t), 0);
    peers_destroy(&t);
}

static void test_sends(void **state)
{
    (void)state;
    struct peers t;
    assert_int_equal(peers_init(&t, 4, 3), 0);
    assert_true(peers_add(&t, 5, 0, S));
    assert_true(peers_add(&t, 6, 0, S));
    uint32_t ids[4];
    const char *why[4];
    for (int i = 0; i < 3; i++)
        assert_true(peers_send_begin(&t, 5));
    assert_int_equal(peers_sweep(&t, 0, 0, ids, why, 4), 0);
    assert_true(peers_send_begin(&t, 5)); /* the fourth waiting reply */
    assert_int_equal(peers_sweep(&t, 0, 0, ids, why, 4), 1);
    assert_int_equal(ids[0], 5);
    assert_string_equal(why[0], "send_backlog");
    assert_false(peers_send_begin(&t, 5));  /* closing: replies are dropped */
    assert_false(peers_send_begin(&t, 99)); /* gone */
    assert_true(peers_send_begin(&t, 6));
    peers_send_end(&t, 6, false);
    assert_int_equal(peers_sweep(&t, 0, 0, ids, why, 4), 0);
    peers_refused(&t, 6);
    peers_refused(&t, 6);
    assert_int_equal(peers_refusals(&t, 6), 2);
    assert_int_equal(peers_refusals(&t, 5), 0);
    assert_int_equal(peers_refusals(&t, 77), 0);
    assert_true(peers_send_begin(&t, 6));
    peers_send_end(&t, 6, true);
    assert_int_equal(peers_sweep(&t, 0, 0, ids, why, 4), 1);
    assert_string_equal(why[0], "send_timeout");
    peers_destroy(&t);
}

static void test_unread_time(void **state)
{
    (void)state;
    struct peers t;
    assert_int_equal(peers_init(&t, 4, 3), 0);
    assert_true(peers_add(&t, 1, 0, S));
    /* The sender's clock is 7 s behind ours; transit is 100-300 us. */
    int64_t skew = 7 * S;
    assert_int_equal(peers_request(&t, 1, 1000, 100 * S + 300, 100 * S + 0 - skew), 0);
    assert_int_equal(peers_request(&t, 1, 2000, 101 * S + 100, 101 * S - skew), 0);
    assert_int_equal(peers_request(&t, 1, 3000, 102 * S + 250, 102 * S - skew), 150);
    /* Frozen for 2 s: a request sent at 103 s read at 105 s. */
    assert_int_equal(peers_request(&t, 1, 4000, 105 * S + 100, 103 * S - skew), 2 * S);
    /* Unstamped requests and unknown connections: 0. */
    assert_int_equal(peers_request(&t, 1, 5000, 106 * S, 0), 0);
    assert_int_equal(peers_request(&t, 99, 5000, 106 * S, 100), 0);
    /* The sender's clock steps back half a second: at first that reads as waiting, and
     * within two windows (a minute) it is the new normal. */
    int64_t now = 200 * S;
    assert_int_equal(peers_request(&t, 1, now, now + 100, now - skew - S / 2), S / 2);
    for (int i = 0; i < 70; i++, now += S)
        peers_request(&t, 1, now, now + 100, now - skew - S / 2);
    assert_int_equal(peers_request(&t, 1, now, now + 100, now - skew - S / 2), 0);
    peers_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_and_sweep),
        cmocka_unit_test(test_sends),
        cmocka_unit_test(test_unread_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
