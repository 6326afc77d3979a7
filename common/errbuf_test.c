/* Table-driven tests for errbuf: formatting, truncation, the NULL and zero-length buffers,
 * and appending after a prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "errbuf.h"

static void append(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void append(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errbuf_vappend(err, err_len, fmt, ap);
    va_end(ap);
}

static void test_set(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        const char *want;
    } cases[] = {
        {64, "n: 7 is outside 1..5"}, /* fits */
        {21, "n: 7 is outside 1..5"}, /* exactly fits with its NUL */
        {20, "n: 7 is outside 1.."},  /* one short: truncated, still terminated */
        {4, "n: "},
        {1, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[80];
        memset(err, 'x', sizeof err);
        errbuf_set(err, cases[i].len, "%s: %d is outside 1..%d", "n", 7, 5);
        assert_string_equal(err, cases[i].want);
        assert_int_equal(err[cases[i].len], 'x'); /* nothing written past err_len */
    }
}

static void test_set_without_buffer(void **state)
{
    (void)state;
    errbuf_set(NULL, 0, "ignored %d", 1);
    errbuf_set(NULL, 64, "ignored %d", 2);
    char err[8] = "keep";
    errbuf_set(err, 0, "ignored %d", 3);
    assert_string_equal(err, "keep");
}

static void test_append(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        const char *want;
    } cases[] = {
        {64, "model m.bin: cannot map"}, /* fits */
        {16, "model m.bin: ca"},         /* the appended part is truncated */
        {14, "model m.bin: "},           /* the prefix filled it: nothing appended */
        {13, "model m.bin:"},            /* the prefix itself was truncated */
        {1, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[80];
        memset(err, 'x', sizeof err);
        errbuf_set(err, cases[i].len, "model %s: ", "m.bin");
        append(err, cases[i].len, "cannot %s", "map");
        assert_string_equal(err, cases[i].want);
        assert_int_equal(err[cases[i].len], 'x');
    }
    append(NULL, 0, "ignored %d", 1);
    char err[8] = "keep";
    append(err, 0, "ignored %d", 2);
    assert_string_equal(err, "keep");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_set_without_buffer),
        cmocka_unit_test(test_append),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
