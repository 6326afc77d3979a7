/* cpu_count: cgroup v2 cpu.max quotas round up to whole cores, "max" and junk mean no quota,
 * and the usable count is at least 1 and at most the affinity mask. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sched.h>

#include "cpu_count.h"

static void test_quota(void **state)
{
    (void)state;
    assert_int_equal(cpu_quota_cores("max 100000\n"), 0);
    assert_int_equal(cpu_quota_cores("200000 100000\n"), 2);
    assert_int_equal(cpu_quota_cores("150000 100000"), 2);
    assert_int_equal(cpu_quota_cores("50000 100000"), 1);
    assert_int_equal(cpu_quota_cores("1000 100000"), 1);
    assert_int_equal(cpu_quota_cores("400000 100000"), 4);
    assert_int_equal(cpu_quota_cores(""), 0);
    assert_int_equal(cpu_quota_cores("abc 100000"), 0);
    assert_int_equal(cpu_quota_cores("-5 100000"), 0);
    assert_int_equal(cpu_quota_cores("100000 0"), 0);
    assert_int_equal(cpu_quota_cores("100000"), 0);
    assert_int_equal(cpu_quota_cores("100000 abc"), 0);
    assert_int_equal(cpu_quota_cores("100000 100000 7"), 0);
    assert_int_equal(cpu_quota_cores(NULL), 0);
    assert_int_equal(cpu_quota_cores_v1(-1, 100000), 0);
    assert_int_equal(cpu_quota_cores_v1(150000, 100000), 2);
    assert_int_equal(cpu_quota_cores_v1(20000, 100000), 1);
    assert_int_equal(cpu_quota_cores_v1(100000, 0), 0);
}

static void test_usable(void **state)
{
    (void)state;
    cpu_set_t set;
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    int n = cpu_count_usable("/sys/fs/cgroup");
    assert_true(n >= 1 && n <= CPU_COUNT(&set));
    assert_int_equal(cpu_count_usable(NULL), CPU_COUNT(&set));
    assert_int_equal(cpu_count_usable("/nonexistent"), CPU_COUNT(&set));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quota),
        cmocka_unit_test(test_usable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
