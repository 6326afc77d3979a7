/* Tests for splitmix64 against the reference sequence, and the range of its uniform doubles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "splitmix64.h"

static void test_reference_sequence(void **state)
{
    (void)state;
    /* The first outputs of the reference splitmix64.c (Vigna) from seed 0. */
    static const uint64_t want[] = {0xe220a8397b1dcdafull, 0x6e789e6aa1b965f4ull,
                                    0x06c45d188009454full};
    uint64_t rng = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_true(splitmix64_next(&rng) == want[i]);
}

static void test_uniform_range(void **state)
{
    (void)state;
    uint64_t rng = 42;
    double lowest = 1.0, highest = 0.0;
    for (int i = 0; i < 100000; i++) {
        double u = splitmix64_uniform(&rng);
        assert_true(u >= 0.0 && u < 1.0);
        lowest = u < lowest ? u : lowest;
        highest = u > highest ? u : highest;
    }
    assert_true(lowest < 0.001 && highest > 0.999);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_sequence),
        cmocka_unit_test(test_uniform_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
