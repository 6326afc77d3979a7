/* Tests of text_buffer: formatted and raw appends, growth past the first allocation, the
 * limit met exactly and passed by one byte, the sticky failure, taking an empty text, clearing
 * between pieces, and the status strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "text_buffer.h"

static char *take_ok(struct text_buffer *t, size_t *len)
{
    char *text = NULL;
    enum text_buffer_status status = text_buffer_take(t, &text, len);
    if (status != TEXT_BUFFER_OK)
        fail_msg("take: %s", text_buffer_strerror(status));
    assert_non_null(text);
    return text;
}

static void test_appends(void **state)
{
    (void)state;
    struct text_buffer t;
    text_buffer_init(&t, 1 << 20);
    text_buffer_appendf(&t, "# HELP %s %s\n", "mixtape_up", "1 when serving");
    text_buffer_append(&t, "mixtape_up", 10);
    text_buffer_append(&t, " 1\nignored", 3);
    text_buffer_appendf(&t, "%s", "");
    text_buffer_append(&t, "", 0);
    text_buffer_appendf(&t, "x{le=\"%g\"} %llu %.6f\n", 0.0025, 18446744073709551615ull, 0.5);
    size_t len = 0;
    char *text = take_ok(&t, &len);
    static const char want[] = "# HELP mixtape_up 1 when serving\nmixtape_up 1\n"
                               "x{le=\"0.0025\"} 18446744073709551615 0.500000\n";
    assert_string_equal(text, want);
    assert_int_equal(len, strlen(want));
    free(text);
    /* The buffer is empty again and takes more. */
    assert_null(t.bytes);
    text_buffer_appendf(&t, "%d", 7);
    text = take_ok(&t, NULL);
    assert_string_equal(text, "7");
    free(text);
}

/* Many appends, each of a length that crosses the doubling points at different offsets:
 * the text is the same as one snprintf of the whole would give. */
static void test_growth(void **state)
{
    (void)state;
    static const size_t lengths[] = {1, 7, 1023, 1024, 1025, 4096, 70000};
    for (size_t c = 0; c < sizeof lengths / sizeof lengths[0]; c++) {
        size_t piece = lengths[c], pieces = 300000 / piece + 3;
        char *want = malloc(piece * pieces + 1);
        char *chunk = malloc(piece + 1);
        assert_non_null(want);
        assert_non_null(chunk);
        struct text_buffer t;
        text_buffer_init(&t, piece * pieces);
        for (size_t i = 0; i < pieces; i++) {
            memset(chunk, 'a' + (int)(i % 26), piece);
            chunk[piece] = '\0';
            memcpy(want + i * piece, chunk, piece);
            if (i % 2)
                text_buffer_appendf(&t, "%s", chunk);
            else
                text_buffer_append(&t, chunk, piece);
            assert_true(t.cap >= t.len + 1);
        }
        want[piece * pieces] = '\0';
        size_t len = 0;
        char *text = take_ok(&t, &len);
        assert_int_equal(len, piece * pieces);
        if (memcmp(text, want, len + 1) != 0)
            fail_msg("pieces of %zu bytes: the text differs", piece);
        free(text);
        free(chunk);
        free(want);
    }
}

/* The limit: a text of exactly max bytes is kept, one byte more fails with TOO_LONG, and
 * every append after a failure does nothing. */
static void test_limit(void **state)
{
    (void)state;
    static const struct {
        size_t max;
        const char *first, *second; /* appended with appendf, then append */
        enum text_buffer_status want;
        const char *text;
    } cases[] = {
        {10, "12345", "67890", TEXT_BUFFER_OK, "1234567890"},
        {10, "12345", "678901", TEXT_BUFFER_TOO_LONG, NULL},
        {10, "12345678901", "", TEXT_BUFFER_TOO_LONG, NULL},
        {0, "", "", TEXT_BUFFER_OK, ""},
        {0, "x", "", TEXT_BUFFER_TOO_LONG, NULL},
        {3000, "", "", TEXT_BUFFER_OK, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct text_buffer t;
        text_buffer_init(&t, cases[i].max);
        text_buffer_appendf(&t, "%s", cases[i].first);
        text_buffer_append(&t, cases[i].second, strlen(cases[i].second));
        assert_true(t.cap <= cases[i].max + 1);
        char *text = NULL;
        enum text_buffer_status got = text_buffer_take(&t, &text, NULL);
        if (got != cases[i].want)
            fail_msg("case %zu: %s, want %s", i, text_buffer_strerror(got),
                     text_buffer_strerror(cases[i].want));
        if (cases[i].text)
            assert_string_equal(text, cases[i].text);
        else
            assert_null(text);
        free(text);
    }

    /* Sticky: after a failure, a short append that would fit does not reset it, and the text
     * so far is freed by take. */
    struct text_buffer t;
    text_buffer_init(&t, 8);
    text_buffer_appendf(&t, "%s", "1234");
    text_buffer_appendf(&t, "%s", "56789");
    assert_int_equal(t.status, TEXT_BUFFER_TOO_LONG);
    assert_string_equal(t.bytes, "1234"); /* the partial format was taken back */
    text_buffer_append(&t, "5", 1);
    assert_int_equal(t.len, 4);
    char *text = (char *)"unchanged";
    assert_int_equal(text_buffer_take(&t, &text, NULL), TEXT_BUFFER_TOO_LONG);
    assert_null(text);
    assert_null(t.bytes);
    assert_int_equal(t.status, TEXT_BUFFER_OK);
}

static void test_discard(void **state)
{
    (void)state;
    struct text_buffer t;
    text_buffer_init(&t, 100);
    text_buffer_free(&t); /* never appended to */
    text_buffer_appendf(&t, "%05d", 42);
    assert_string_equal(t.bytes, "00042");
    text_buffer_free(&t);
    assert_null(t.bytes);
    assert_int_equal(t.len, 0);
    assert_int_equal(t.max, 100);
}

/* Clearing keeps the allocation, the limit and the status; the next append starts afresh. */
static void test_clear(void **state)
{
    (void)state;
    struct text_buffer t;
    text_buffer_init(&t, 8);
    text_buffer_clear(&t); /* never appended to */
    assert_null(t.bytes);
    text_buffer_appendf(&t, "%s", "12345678");
    char *allocation = t.bytes;
    text_buffer_clear(&t);
    assert_int_equal(t.len, 0);
    assert_string_equal(t.bytes, "");
    text_buffer_append(&t, "abcdefgh", 8); /* the whole limit again */
    assert_ptr_equal(t.bytes, allocation);
    assert_string_equal(t.bytes, "abcdefgh");
    text_buffer_append(&t, "i", 1);
    assert_int_equal(t.status, TEXT_BUFFER_TOO_LONG);
    text_buffer_clear(&t);
    text_buffer_append(&t, "x", 1);
    assert_int_equal(t.status, TEXT_BUFFER_TOO_LONG); /* the failure outlives the clear */
    assert_int_equal(t.len, 0);
    text_buffer_free(&t);
}

static void test_strerror(void **state)
{
    (void)state;
    static const struct {
        enum text_buffer_status status;
        const char *says;
    } cases[] = {
        {TEXT_BUFFER_OK, "ok"},
        {TEXT_BUFFER_NO_MEMORY, "out of memory"},
        {TEXT_BUFFER_TOO_LONG, "limit"},
        {TEXT_BUFFER_FORMAT_FAILED, "encoding"},
        {(enum text_buffer_status)99, "unknown"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_non_null(strstr(text_buffer_strerror(cases[i].status), cases[i].says));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appends), cmocka_unit_test(test_growth),
        cmocka_unit_test(test_limit),   cmocka_unit_test(test_discard),
        cmocka_unit_test(test_clear),   cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
