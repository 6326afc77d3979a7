/* Table-driven tests for the options parser: flags, environment, defaults and bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "options.h"

static const char *listen_addr;
static long long count;
static bool verbose;
static double ratio;

static const struct option_spec SPECS[] = {
    {"listen", 0, "OPT_TEST_LISTEN", OPTION_STRING, "127.0.0.1:80", 0, 0, "address", &listen_addr},
    {"count", 'n', "OPT_TEST_COUNT", OPTION_INT, "50", 1, 500, "how many", &count},
    {"verbose", 0, NULL, OPTION_BOOL, "false", 0, 0, "talk more", &verbose},
    {"ratio", 0, NULL, OPTION_DOUBLE, "0.5", 0, 1, "share", &ratio},
};
#define N_SPECS (sizeof SPECS / sizeof SPECS[0])

static enum options_result parse(int argc, char **argv, char **pos, int *npos)
{
    return options_parse(SPECS, N_SPECS, argc, argv, "usage: t", pos, npos);
}

static void test_defaults(void **state)
{
    (void)state;
    unsetenv("OPT_TEST_LISTEN");
    unsetenv("OPT_TEST_COUNT");
    char *argv[] = {"t", NULL};
    char *pos[2];
    int npos;
    assert_int_equal(parse(1, argv, pos, &npos), OPTIONS_OK);
    assert_string_equal(listen_addr, "127.0.0.1:80");
    assert_int_equal(count, 50);
    assert_false(verbose);
    assert_int_equal(npos, 0);
}

static void test_flags_beat_environment(void **state)
{
    (void)state;
    setenv("OPT_TEST_COUNT", "7", 1);
    setenv("OPT_TEST_LISTEN", "0.0.0.0:9", 1);
    char *argv[] = {"t", "file.txt", "-n", "9", "--verbose", "--ratio=0.25", "more", NULL};
    char *pos[8];
    int npos;
    assert_int_equal(parse(7, argv, pos, &npos), OPTIONS_OK);
    assert_int_equal(count, 9);
    assert_string_equal(listen_addr, "0.0.0.0:9");
    assert_true(verbose);
    assert_true(ratio > 0.24 && ratio < 0.26);
    assert_int_equal(npos, 2);
    assert_string_equal(pos[0], "file.txt");
    assert_string_equal(pos[1], "more");
    unsetenv("OPT_TEST_COUNT");
    unsetenv("OPT_TEST_LISTEN");
}

static void test_bad_values_are_errors(void **state)
{
    (void)state;
    static char *cases[][3] = {
        {"t", "--count", "0"},        /* below bounds */
        {"t", "--count", "501"},      /* above bounds */
        {"t", "--count", "12abc"},    /* not a number */
        {"t", "--ratio", "nan"},      /* not finite */
        {"t", "--nosuch", "1"},       /* unknown flag */
        {"t", "--verbose=maybe", ""}, /* not a boolean */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *pos[4];
        int npos;
        int argc = cases[i][2][0] ? 3 : 2;
        assert_int_equal(parse(argc, cases[i], pos, &npos), OPTIONS_ERROR);
    }
    char *missing[] = {"t", "--count", NULL};
    char *pos[4];
    int npos;
    assert_int_equal(parse(2, missing, pos, &npos), OPTIONS_ERROR);
}

static void test_bad_environment_is_an_error(void **state)
{
    (void)state;
    setenv("OPT_TEST_COUNT", "lots", 1);
    char *argv[] = {"t", NULL};
    char *pos[2];
    int npos;
    assert_int_equal(parse(1, argv, pos, &npos), OPTIONS_ERROR);
    unsetenv("OPT_TEST_COUNT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_flags_beat_environment),
        cmocka_unit_test(test_bad_values_are_errors),
        cmocka_unit_test(test_bad_environment_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
