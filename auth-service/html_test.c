/* The HTML builder on its text_buffer: every special character escaped and nothing else
 * touched, clearing between streamed chunks, and the first failure (out of memory, or more than
 * HTML_MAX_BYTES) kept until html_free. realloc is wrapped at link time (-Wl,--wrap=realloc)
 * so the test can fail the builder's allocations on demand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "html.h"

void *__real_realloc(void *ptr, size_t size);
void *__wrap_realloc(void *ptr, size_t size);

static bool fail_realloc; /* every realloc from our own code fails while set */
static int reallocs_failed;

void *__wrap_realloc(void *ptr, size_t size)
{
    if (fail_realloc) {
        reallocs_failed++;
        return NULL;
    }
    return __real_realloc(ptr, size);
}

static void test_escaping(void **state)
{
    (void)state;
    struct html h;
    html_init(&h);
    html_text(&h, "");
    assert_null(h.text.bytes); /* an empty text appends nothing, as before */
    html_text(&h, "a&b<c>d\"e'f");
    html_text(&h, "");
    html_text(&h, "&&<<");
    html_text(&h, " caf\xc3\xa9 \xc2\xb7 plain");
    html_raw(&h, "<p id=\"%s\">%d%%</p>", "x", 42);
    assert_false(html_failed(&h));
    assert_string_equal(h.text.bytes,
                        "a&amp;b&lt;c&gt;d&quot;e&#39;f&amp;&amp;&lt;&lt; caf\xc3\xa9 "
                        "\xc2\xb7 plain<p id=\"x\">42%</p>");
    assert_int_equal(h.text.len, strlen(h.text.bytes));
    html_free(&h);
    assert_null(h.text.bytes);
    assert_int_equal(h.text.len, 0);

    /* A long text of runs and entities, past several growths of the buffer. */
    html_init(&h);
    for (int i = 0; i < 2000; i++)
        html_text(&h, "ab'<cd>");
    assert_false(html_failed(&h));
    assert_int_equal(h.text.len, 2000 * strlen("ab&#39;&lt;cd&gt;"));
    assert_memory_equal(h.text.bytes + h.text.len - 17, "ab&#39;&lt;cd&gt;", 17);
    html_free(&h);
}

/* Clearing (after a streamed chunk is sent) empties the markup and keeps its allocation. */
static void test_clear(void **state)
{
    (void)state;
    struct html h;
    html_init(&h);
    html_clear(&h); /* nothing appended yet */
    assert_null(h.text.bytes);
    html_raw(&h, "<li>one</li>");
    const char *allocation = h.text.bytes;
    html_clear(&h);
    assert_int_equal(h.text.len, 0);
    assert_string_equal(h.text.bytes, "");
    html_text(&h, "two & three");
    assert_ptr_equal(h.text.bytes, allocation);
    assert_string_equal(h.text.bytes, "two &amp; three");
    html_free(&h);
}

/* Out of memory: the first failed growth marks the builder failed, the markup so far stays
 * whole (never a partial entity or format), later appends do nothing even once memory is back,
 * clearing keeps the failure, and html_free makes the builder usable again. */
static void test_out_of_memory(void **state)
{
    (void)state;
    struct html h;
    html_init(&h);
    fail_realloc = true;
    html_raw(&h, "<p>");
    fail_realloc = false;
    assert_true(html_failed(&h));
    assert_int_equal(reallocs_failed, 1);
    html_raw(&h, "<p>");
    html_text(&h, "<b>");
    assert_true(html_failed(&h));
    assert_null(h.text.bytes);
    html_free(&h);
    assert_false(html_failed(&h));

    html_raw(&h, "<ol>");
    size_t first = h.text.cap;
    while (h.text.len + strlen("&quot;") < first)
        html_text(&h, "\"");
    const size_t kept = h.text.len;
    fail_realloc = true;
    html_text(&h, "\"\"\"");    /* the next entity needs the buffer to grow */
    html_raw(&h, "%s", "<li>"); /* and so, from there on, does every append */
    fail_realloc = false;
    assert_true(html_failed(&h));
    assert_int_equal(h.text.len, kept);
    assert_int_equal(strlen(h.text.bytes), kept);
    assert_memory_equal(h.text.bytes + kept - 6, "&quot;", 6);
    html_text(&h, "x");
    assert_int_equal(h.text.len, kept);
    html_clear(&h);
    assert_true(html_failed(&h)); /* a stream that failed sends nothing more */
    html_free(&h);
    html_text(&h, "<ok>");
    assert_false(html_failed(&h));
    assert_string_equal(h.text.bytes, "&lt;ok&gt;");
    html_free(&h);
}

/* More than HTML_MAX_BYTES of markup fails like out of memory, without allocating it. */
static void test_limit(void **state)
{
    (void)state;
    struct html h;
    html_init(&h);
    html_raw(&h, "%*s", (int)HTML_MAX_BYTES + 1, "");
    assert_true(html_failed(&h));
    assert_null(h.text.bytes);
    html_free(&h);

    /* A zeroed builder (html_init never called) holds nothing: its appends fail rather than
     * grow without a limit. */
    struct html zeroed = {0};
    html_text(&zeroed, "x");
    assert_true(html_failed(&zeroed));
    html_free(&zeroed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
