/* The signed-out set: ids are found until their session ends, a full table makes room by
 * dropping ended sessions and then those ending soonest, and lookups survive removals inside
 * a probe cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "revoked.h"

static void sid_of(unsigned n, char sid[SESSION_SID_LEN + 1])
{
    snprintf(sid, SESSION_SID_LEN + 1, "sid%019u", n);
}

static void test_add_and_expire(void **state)
{
    (void)state;
    struct revoked set;
    assert_int_equal(revoked_init(&set, 16), 0);
    char a[SESSION_SID_LEN + 1], b[SESSION_SID_LEN + 1];
    sid_of(1, a);
    sid_of(2, b);
    revoked_add(&set, a, 1000, 100);
    assert_true(revoked_contains(&set, a, 100));
    assert_true(revoked_contains(&set, a, 999));
    assert_false(revoked_contains(&set, a, 1000)); /* the session has ended anyway */
    assert_false(revoked_contains(&set, b, 100));
    assert_false(revoked_contains(&set, "short", 100));
    revoked_add(&set, "short", 1000, 100); /* not an id: ignored */
    revoked_add(&set, b, 50, 100);         /* already ended: nothing to remember */
    assert_false(revoked_contains(&set, b, 10));
    revoked_destroy(&set);
    assert_int_not_equal(revoked_init(&set, 12), 0); /* not a power of two */
}

static void test_full_table_makes_room(void **state)
{
    (void)state;
    struct revoked set;
    assert_int_equal(revoked_init(&set, 64), 0);
    char sid[SESSION_SID_LEN + 1];
    /* 200 ids in a 64-slot table: the ones ending latest stay, and every lookup still ends */
    for (unsigned i = 0; i < 200; i++) {
        sid_of(i, sid);
        revoked_add(&set, sid, 1000 + i, 0);
        assert_true(revoked_contains(&set, sid, 0));
        assert_true(set.used < 48 + 1);
    }
    sid_of(199, sid);
    assert_true(revoked_contains(&set, sid, 0));
    sid_of(0, sid);
    assert_false(revoked_contains(&set, sid, 0)); /* ended soonest: made room */
    unsigned kept = 0;
    for (unsigned i = 0; i < 200; i++) {
        sid_of(i, sid);
        kept += revoked_contains(&set, sid, 0);
    }
    assert_int_equal(kept, set.used);
    /* ended sessions go first */
    for (unsigned i = 1000; i < 1100; i++) {
        sid_of(i, sid);
        revoked_add(&set, sid, 5000, 1190);
    }
    sid_of(1099, sid);
    assert_true(revoked_contains(&set, sid, 1190));
    revoked_destroy(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_expire),
        cmocka_unit_test(test_full_table_makes_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
