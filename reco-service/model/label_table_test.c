/* Tests of the label table: dense indices in first-seen order, equal strings (other pointers)
 * sharing one, thousands of labels across several slot and text grows, lookups that never add,
 * the FNV-1a hash against its published test vectors, and freeing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "label_table.h"

static void test_indices_in_first_seen_order(void **state)
{
    (void)state;
    struct label_table t = {0};
    char pop_again[] = "pop";                                  /* equal text, another pointer */
    assert_int_equal(label_table_find(&t, "pop"), UINT32_MAX); /* empty: no slots yet */
    assert_int_equal(label_table_intern(&t, "pop"), 0);
    assert_int_equal(label_table_intern(&t, "rock"), 1);
    assert_int_equal(label_table_intern(&t, pop_again), 0);
    assert_int_equal(label_table_intern(&t, ""), 2);    /* the empty string is a label too */
    assert_int_equal(label_table_intern(&t, "Pop"), 3); /* case counts */
    assert_int_equal(t.n, 4);
    assert_string_equal(t.text[0], "pop");
    assert_ptr_not_equal(t.text[0], pop_again); /* the first pointer is kept */
    assert_int_equal(label_table_find(&t, "rock"), 1);
    assert_int_equal(label_table_find(&t, pop_again), 0);
    assert_int_equal(label_table_find(&t, "jazz"), UINT32_MAX);
    assert_int_equal(t.n, 4); /* find never adds */
    label_table_free(&t);
    assert_null(t.text);
    assert_null(t.slots);
    assert_int_equal(t.n, 0);
    label_table_free(&t); /* a freed (zeroed) table frees again safely */
}

static void test_many_labels_survive_growing(void **state)
{
    (void)state;
    enum { N = 20000 }; /* slots 1024 -> 65536, text 256 -> 32768 */
    char(*labels)[16] = calloc(N, sizeof *labels);
    assert_non_null(labels);
    struct label_table t = {0};
    for (uint32_t i = 0; i < N; i++) {
        snprintf(labels[i], sizeof labels[i], "genre %u", i);
        assert_int_equal(label_table_intern(&t, labels[i]), i);
        assert_true((uint64_t)t.n * 2 <= t.n_slots); /* at most half full */
    }
    assert_int_equal(t.n, N);
    for (uint32_t i = 0; i < N; i++) {
        char copy[16];
        snprintf(copy, sizeof copy, "genre %u", i);
        assert_int_equal(label_table_find(&t, copy), i);
        assert_int_equal(label_table_intern(&t, copy), i);
        assert_ptr_equal(t.text[i], labels[i]);
    }
    assert_int_equal(t.n, N);
    label_table_free(&t);
    free(labels);
}

static void test_hash_is_fnv1a(void **state)
{
    (void)state;
    /* FNV-1a 64-bit test vectors (Fowler, Noll, Vo). */
    assert_true(label_table_hash("") == 0xcbf29ce484222325ull);
    assert_true(label_table_hash("a") == 0xaf63dc4c8601ec8cull);
    assert_true(label_table_hash("foobar") == 0x85944171f73967e8ull);
    /* A byte above 0x7f goes in as itself, not sign-extended (that would give
     * 0x509c41b379fe466e): the hash of a UTF-8 label is the same on every platform. */
    assert_true(label_table_hash("\xff") == 0xaf64724c8602eb6eull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_indices_in_first_seen_order),
        cmocka_unit_test(test_many_labels_survive_growing),
        cmocka_unit_test(test_hash_is_fnv1a),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
