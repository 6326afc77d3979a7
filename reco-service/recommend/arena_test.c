/* Tests of the request arena: alignment, growth past a chunk, zero-filled and grown blocks,
 * marks handing temporaries back, overflow refused, and arena_free leaving it reusable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "arena.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ARENA_TEST_ASAN 1
#endif

static void test_alignment_and_growth(void **state)
{
    struct reco_arena a;
    reco_arena_init(&a, 4096);
    unsigned char *blocks[64];
    for (int i = 0; i < 64; i++) {
        blocks[i] = reco_arena_alloc(&a, (size_t)i * 37 + 1, 1);
        assert_non_null(blocks[i]);
        assert_int_equal((uintptr_t)blocks[i] % 16, 0);
        memset(blocks[i], i, (size_t)i * 37 + 1);
    }
    /* Past the first chunk: every block keeps its bytes (ASan catches any overlap). */
    for (int i = 0; i < 64; i++)
        for (size_t b = 0; b < (size_t)i * 37 + 1; b++)
            assert_int_equal(blocks[i][b], i);
    void *big = reco_arena_alloc(&a, 1u << 20, 1); /* larger than twice the last chunk */
    assert_non_null(big);
    memset(big, 1, 1u << 20);
    assert_non_null(reco_arena_alloc(&a, 0, 8));
    reco_arena_free(&a);
    assert_null(a.chunk);
}

static void test_calloc_grow_and_marks(void **state)
{
    struct reco_arena a;
    reco_arena_init(&a, 0);
    uint32_t *z = reco_arena_calloc(&a, 100, sizeof *z);
    assert_non_null(z);
    for (int i = 0; i < 100; i++)
        assert_int_equal(z[i], 0);
    for (uint32_t i = 0; i < 100; i++)
        z[i] = i;
    uint32_t *g = reco_arena_grow(&a, z, 100 * sizeof *z, 1000, sizeof *g);
    assert_non_null(g);
    for (uint32_t i = 0; i < 100; i++)
        assert_int_equal(g[i], i);
    /* A mark hands back what came after it in the same chunk. */
    struct reco_arena_mark mark = reco_arena_mark(&a);
    void *t1 = reco_arena_alloc(&a, 64, 1);
    reco_arena_release(&a, mark);
    void *t2 = reco_arena_alloc(&a, 64, 1);
    assert_ptr_equal(t1, t2);
    /* One in another chunk since: kept until arena_free, and the arena still works. */
    mark = reco_arena_mark(&a);
    assert_non_null(reco_arena_alloc(&a, 1u << 16, 1));
    reco_arena_release(&a, mark);
    assert_non_null(reco_arena_alloc(&a, 16, 1));
    reco_arena_free(&a);
    assert_non_null(reco_arena_alloc(&a, 16, 1)); /* usable again */
    reco_arena_free(&a);
}

static void test_overflow_refused(void **state)
{
    struct reco_arena a;
    reco_arena_init(&a, 4096);
    /* Sizes from a run-time value, as in the library: the compiler refuses constant ones. */
    volatile size_t max = SIZE_MAX;
    assert_null(reco_arena_alloc(&a, max / 4, 8));
    assert_null(reco_arena_calloc(&a, max, max));
    assert_null(reco_arena_grow(&a, NULL, 0, max / 2, 2));
    reco_arena_free(&a);
}

/* Under AddressSanitizer the bytes past a block, and what a mark handed back, are poisoned: an
 * overflow out of an arena block is caught as one out of malloc's. */
static void test_redzones(void **state)
{
#ifdef ARENA_TEST_ASAN
    struct reco_arena a;
    reco_arena_init(&a, 4096);
    char *x = reco_arena_alloc(&a, 10, 1);
    char *y = reco_arena_alloc(&a, 32, 1);
    assert_non_null(x);
    assert_non_null(y);
    assert_false(__asan_address_is_poisoned(x + 9));
    assert_true(__asan_address_is_poisoned(x + 10));
    assert_true(__asan_address_is_poisoned(y - 1));
    assert_false(__asan_address_is_poisoned(y + 31));
    assert_true(__asan_address_is_poisoned(y + 32));
    struct reco_arena_mark mark = reco_arena_mark(&a);
    char *t = reco_arena_alloc(&a, 64, 1);
    assert_false(__asan_address_is_poisoned(t));
    reco_arena_release(&a, mark);
    assert_true(__asan_address_is_poisoned(t));
    reco_arena_free(&a);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_growth),
        cmocka_unit_test(test_calloc_grow_and_marks),
        cmocka_unit_test(test_overflow_refused),
        cmocka_unit_test(test_redzones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
