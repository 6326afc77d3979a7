/* Table-driven tests for http_body: appending pieces as curl hands them over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http_body.h"

static void test_pieces(void **state)
{
    (void)state;
    static const struct {
        const char *pieces[4];
        const char *want;
    } cases[] = {
        {{"", NULL}, ""},
        {{"{\"value\":", "null}", NULL}, "{\"value\":null}"},
        {{"a", "", "bc", NULL}, "abc"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct http_body body = {NULL, 0};
        for (size_t p = 0; cases[i].pieces[p]; p++) {
            char piece[32]; /* curl's bytes are not NUL-terminated */
            size_t n = strlen(cases[i].pieces[p]);
            memcpy(piece, cases[i].pieces[p], n);
            piece[n] = '#';
            assert_int_equal(http_body_write(piece, 1, n, &body), n);
        }
        assert_non_null(body.data);
        assert_int_equal(body.len, strlen(cases[i].want));
        assert_string_equal(body.data, cases[i].want);
        free(body.data);
    }
}

static void test_append_to_existing(void **state)
{
    (void)state;
    char *data = calloc(1, 1);
    size_t len = 0;
    assert_true(http_body_append(&data, &len, "302 ", 4));
    assert_true(http_body_append(&data, &len, "Found", 5));
    assert_int_equal(len, 9);
    assert_string_equal(data, "302 Found");
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_append_to_existing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
