/* Tests of k-means: it recovers well-separated clusters, inertia never rises between Lloyd
 * iterations, the result is a fixed point of a naive Lloyd step computed here in doubles, the
 * bounds and the SIMD kernel change nothing (against full scans and the portable kernel, for
 * dims 1..64 and k up to 300), a seed gives bit-identical results on 1 to 4 threads (one
 * restart split over threads, restarts in parallel, seeding from a sample), degenerate data
 * (fewer distinct points than k, all rows equal, duplicates) is handled, bad input is
 * refused, and --k auto finds the number of blobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kmeans.h"
#include "splitmix64.h"

static uint64_t rng_state;

static double uniform(void)
{
    return splitmix64_uniform(&rng_state);
}

static double normal(void)
{
    return sqrt(-2.0 * log(uniform() + 1e-300)) * cos(6.283185307179586 * uniform());
}

/* n points around `blobs` centres spaced 10 apart on a diagonal lattice, sd 0.5. */
static float *make_blobs(uint32_t n, uint32_t d, uint32_t blobs, uint32_t *truth, float *centres)
{
    float *x = malloc((size_t)n * d * sizeof *x);
    rng_state = 12345;
    for (uint32_t b = 0; b < blobs; b++)
        for (uint32_t j = 0; j < d; j++)
            centres[b * d + j] = (float)(10.0 * ((b >> (j % 3)) & 1) + 7.0 * b * (j == 0));
    for (uint32_t i = 0; i < n; i++) {
        uint32_t b = i % blobs;
        truth[i] = b;
        for (uint32_t j = 0; j < d; j++)
            x[(size_t)i * d + j] = centres[b * d + j] + (float)(0.5 * normal());
    }
    return x;
}

static void test_recovers_separated_clusters(void **state)
{
    (void)state;
    static const struct {
        uint32_t n, d, k, restarts;
    } CASES[] = {{5000, 4, 5, 1}, {3000, 15, 8, 3}, {999, 2, 3, 2}};
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        uint32_t n = CASES[c].n, d = CASES[c].d, k = CASES[c].k;
        uint32_t *truth = malloc(n * sizeof *truth);
        float *centres = malloc((size_t)k * d * sizeof *centres);
        float *x = make_blobs(n, d, k, truth, centres);
        struct kmeans_options o = {.k = k, .restarts = CASES[c].restarts, .seed = 7};
        struct kmeans_result r = {0};
        char err[256];
        assert_int_equal(kmeans_run(x, n, d, &o, &r, err, sizeof err), KMEANS_OK);
        /* Each true cluster maps to exactly one label, and the mapping is one-to-one. */
        uint32_t *label_of = malloc(k * sizeof *label_of);
        for (uint32_t b = 0; b < k; b++)
            label_of[b] = UINT32_MAX;
        for (uint32_t i = 0; i < n; i++) {
            if (label_of[truth[i]] == UINT32_MAX)
                label_of[truth[i]] = r.labels[i];
            assert_int_equal(r.labels[i], label_of[truth[i]]);
        }
        for (uint32_t a = 0; a < k; a++)
            for (uint32_t b = a + 1; b < k; b++)
                assert_int_not_equal(label_of[a], label_of[b]);
        /* Centroids sit on the true centres; inertia is about n * d * 0.25. */
        for (uint32_t b = 0; b < k; b++)
            for (uint32_t j = 0; j < d; j++)
                assert_true(fabsf(r.centroids[label_of[b] * d + j] - centres[b * d + j]) < 0.1f);
        double expected = n * d * 0.25;
        assert_true(r.inertia > 0.9 * expected && r.inertia < 1.1 * expected);
        kmeans_result_free(&r);
        free(label_of);
        free(x);
        free(centres);
        free(truth);
    }
}

struct history {
    double last[16];
    uint32_t calls;
    uint32_t rises;
    double worst;
};

static void record(void *ctx, uint32_t restart, uint32_t iteration, double inertia)
{
    struct history *h = ctx;
    h->calls++;
    if (iteration > 0 && inertia > h->last[restart] * (1 + 1e-6)) {
        h->rises++;
        h->worst = inertia - h->last[restart];
    }
    h->last[restart] = inertia;
}

static void test_inertia_never_rises(void **state)
{
    (void)state;
    /* Unstructured data takes many iterations: the hardest case for monotonicity. */
    static const struct {
        uint32_t n, d, k;
    } CASES[] = {{8000, 6, 12}, {3000, 15, 20}, {2000, 3, 40}};
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        uint32_t n = CASES[c].n, d = CASES[c].d;
        float *x = malloc((size_t)n * d * sizeof *x);
        rng_state = 99 + c;
        for (size_t i = 0; i < (size_t)n * d; i++)
            x[i] = (float)uniform();
        struct history h = {0};
        struct kmeans_options o = {.k = CASES[c].k,
                                   .restarts = 3,
                                   .seed = 1,
                                   .tol = -1,
                                   .on_iteration = record,
                                   .ctx = &h};
        struct kmeans_result r = {0};
        char err[256];
        assert_int_equal(kmeans_run(x, n, d, &o, &r, err, sizeof err), KMEANS_OK);
        if (h.rises)
            fail_msg("case %zu: inertia rose %u times (by up to %g)", c, h.rises, h.worst);
        assert_true(h.calls > 3 * 5); /* it really iterated */
        assert_true(r.inertia <= h.last[r.restart] * (1 + 1e-6));
        /* Every row carries its nearest centroid (the bounds skipped no real change), and the
         * inertia is the sum of those distances. */
        double total = 0.0;
        for (uint32_t i = 0; i < n; i++) {
            double best = INFINITY, mine = 0.0;
            for (uint32_t cc = 0; cc < CASES[c].k; cc++) {
                double d2 = 0.0;
                for (uint32_t j = 0; j < d; j++) {
                    double diff = (double)x[(size_t)i * d + j] - r.centroids[cc * d + j];
                    d2 += diff * diff;
                }
                if (d2 < best)
                    best = d2;
                if (cc == r.labels[i])
                    mine = d2;
            }
            if (mine > best * (1 + 1e-5) + 1e-9)
                fail_msg("case %zu row %u: label at %g, nearest at %g", c, i, mine, best);
            total += mine;
        }
        assert_true(fabs(total - r.inertia) < 1e-4 * total);
        kmeans_result_free(&r);
        free(x);
    }
}

/* The naive reference: in doubles, every row's nearest centre by exact distance, and each
 * centre's mean. At convergence (tolerance 0, labels stable) the result must be a fixed
 * point: each label the nearest centre (up to float rounding of near ties), each centroid the
 * mean of its rows, the inertia the sum of the squared distances. */
static void check_fixed_point(const float *x, uint32_t n, uint32_t d, uint32_t k,
                              const struct kmeans_result *r)
{
    double *mean = calloc((size_t)k * d, sizeof *mean);
    uint32_t *count = calloc(k, sizeof *count);
    double total = 0.0;
    for (uint32_t i = 0; i < n; i++) {
        double best = INFINITY, mine = 0.0;
        for (uint32_t c = 0; c < k; c++) {
            double d2 = 0.0;
            for (uint32_t j = 0; j < d; j++) {
                double diff = (double)x[(size_t)i * d + j] - r->centroids[(size_t)c * d + j];
                d2 += diff * diff;
            }
            if (d2 < best)
                best = d2;
            if (c == r->labels[i])
                mine = d2;
        }
        assert_true(r->labels[i] < k);
        if (mine > best * (1 + 1e-5) + 1e-9)
            fail_msg("row %u: label at %g, nearest centre at %g", i, mine, best);
        total += mine;
        count[r->labels[i]]++;
        for (uint32_t j = 0; j < d; j++)
            mean[(size_t)r->labels[i] * d + j] += x[(size_t)i * d + j];
    }
    for (uint32_t c = 0; c < k; c++) {
        if (count[c] == 0)
            continue;
        for (uint32_t j = 0; j < d; j++) {
            double want = mean[(size_t)c * d + j] / count[c];
            double got = r->centroids[(size_t)c * d + j];
            if (fabs(got - want) > 1e-5 * (1 + fabs(want)))
                fail_msg("centre %u dim %u: %g, mean of its rows %g", c, j, got, want);
        }
    }
    assert_true(fabs(total - r->inertia) <= 1e-5 * total + 1e-9);
    free(mean);
    free(count);
}

static float *random_matrix(uint32_t n, uint32_t d, uint64_t seed)
{
    float *x = malloc((size_t)n * d * sizeof *x);
    rng_state = seed;
    /* Loose clumps with noise: some structure, many rows near borders. */
    for (uint32_t i = 0; i < n; i++) {
        double shift = (double)(splitmix64_next(&rng_state) % 7);
        for (uint32_t j = 0; j < d; j++)
            x[(size_t)i * d + j] = (float)(shift * ((j % 3) == 0) + normal());
    }
    return x;
}

static void expect_same(const struct kmeans_result *a, const struct kmeans_result *b, uint32_t n,
                        uint32_t d, uint32_t k, const char *what)
{
    if (memcmp(a->labels, b->labels, n * sizeof *a->labels) != 0)
        fail_msg("%s: labels differ", what);
    if (memcmp(a->centroids, b->centroids, (size_t)k * d * sizeof(float)) != 0)
        fail_msg("%s: centroids differ", what);
    if (a->inertia != b->inertia || a->iterations != b->iterations || a->restart != b->restart)
        fail_msg("%s: inertia %.9g / %.9g, iterations %u / %u", what, a->inertia, b->inertia,
                 a->iterations, b->iterations);
}

static void test_matches_naive_lloyd(void **state)
{
    (void)state;
    /* Dims across the kernel's range (1, odd, 14-16 audio features, 48 and 64 with genre
     * embeddings), k below, at and above a multiple of the kernel's centre chunk. */
    static const struct {
        uint32_t n, d, k;
    } CASES[] = {{3000, 1, 4},   {4000, 7, 8},   {5000, 14, 20}, {4000, 15, 9},
                 {3000, 16, 33}, {2500, 48, 20}, {2000, 64, 12}, {1500, 5, 300}};
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        uint32_t n = CASES[c].n, d = CASES[c].d, k = CASES[c].k;
        float *x = random_matrix(n, d, 1000 + c);
        char err[256];
        struct kmeans_options o = {.k = k, .restarts = 2, .seed = 3, .tol = -1};
        struct kmeans_result fast = {0}, plain = {0}, generic = {0};
        assert_int_equal(kmeans_run(x, n, d, &o, &fast, err, sizeof err), KMEANS_OK);
        check_fixed_point(x, n, d, k, &fast);
        /* The bounds only skip work: scoring every row every time gives the same result. */
        o.ablate = KMEANS_ABLATE_BOUNDS;
        assert_int_equal(kmeans_run(x, n, d, &o, &plain, err, sizeof err), KMEANS_OK);
        expect_same(&fast, &plain, n, d, k, "bounds vs full scans");
        assert_true(plain.rows_scanned == plain.rows_visited);
        assert_true(fast.rows_scanned < fast.rows_visited);
        /* The portable kernel gives the very same floats as the one this CPU picked. */
        o.ablate = KMEANS_ABLATE_SIMD;
        assert_int_equal(kmeans_run(x, n, d, &o, &generic, err, sizeof err), KMEANS_OK);
        expect_same(&fast, &generic, n, d, k, "SIMD vs portable kernel");
        assert_string_equal(generic.kernel, "generic");
        kmeans_result_free(&fast);
        kmeans_result_free(&plain);
        kmeans_result_free(&generic);
        free(x);
    }
    const char *kernel = kmeans_kernel_name();
    assert_true(strcmp(kernel, "avx512") == 0 || strcmp(kernel, "avx2") == 0 ||
                strcmp(kernel, "generic") == 0);
}

static void test_deterministic_across_threads(void **state)
{
    (void)state;
    uint32_t n = 12000, d = 7, k = 9;
    float *x = malloc((size_t)n * d * sizeof *x);
    rng_state = 4242;
    for (size_t i = 0; i < (size_t)n * d; i++)
        x[i] = (float)normal();
    struct kmeans_result first = {0};
    char err[256];
    /* 1 thread; 2 and 4 (restarts in parallel, one per thread); 3 (one restart at a time,
     * its blocks split over the threads); and one restart at a time by request. */
    static const struct {
        uint32_t threads, ablate;
    } RUNS[] = {{1, 0}, {2, 0}, {3, 0}, {4, 0}, {2, KMEANS_ABLATE_PARALLEL_RESTARTS}};
    for (size_t t = 0; t < sizeof RUNS / sizeof RUNS[0]; t++) {
        struct kmeans_options o = {
            .k = k, .restarts = 4, .seed = 5, .threads = RUNS[t].threads, .ablate = RUNS[t].ablate};
        struct kmeans_result r = {0};
        assert_int_equal(kmeans_run(x, n, d, &o, &r, err, sizeof err), KMEANS_OK);
        if (t == 0) {
            first = r;
            assert_int_equal(r.threads, 1);
            continue;
        }
        if (RUNS[t].threads == 2 && !RUNS[t].ablate)
            assert_int_equal(r.teams, 2);
        if (RUNS[t].threads == 3 || RUNS[t].ablate)
            assert_int_equal(r.teams, 1);
        assert_true(r.threads > 1);
        expect_same(&r, &first, n, d, k, "threads");
        kmeans_result_free(&r);
    }
    /* Another seed explores another start. */
    struct kmeans_options o = {.k = k, .restarts = 1, .seed = 6};
    struct kmeans_result other = {0};
    assert_int_equal(kmeans_run(x, n, d, &o, &other, err, sizeof err), KMEANS_OK);
    assert_true(memcmp(other.centroids, first.centroids, (size_t)k * d * sizeof(float)) != 0);
    kmeans_result_free(&other);
    kmeans_result_free(&first);
    free(x);
}

/* Above the seeding sample (131,072 rows) each restart seeds from a sample it draws; that
 * too depends on the seed only. One restart, split over threads, against one thread. */
static void test_deterministic_with_seed_sample(void **state)
{
    (void)state;
    uint32_t n = 140000, d = 3, k = 6;
    float *x = random_matrix(n, d, 77);
    char err[256];
    struct kmeans_result one = {0}, two = {0}, again = {0};
    struct kmeans_options o = {.k = k, .restarts = 1, .seed = 9, .threads = 1, .max_iter = 20};
    assert_int_equal(kmeans_run(x, n, d, &o, &one, err, sizeof err), KMEANS_OK);
    o.threads = 2;
    assert_int_equal(kmeans_run(x, n, d, &o, &two, err, sizeof err), KMEANS_OK);
    expect_same(&one, &two, n, d, k, "sampled seeding, 1 vs 2 threads");
    o.restarts = 2; /* restarts in parallel */
    assert_int_equal(kmeans_run(x, n, d, &o, &again, err, sizeof err), KMEANS_OK);
    assert_int_equal(again.teams, 2);
    assert_true(again.inertia <= one.inertia);
    kmeans_result_free(&one);
    kmeans_result_free(&two);
    kmeans_result_free(&again);
    free(x);
}

/* Every row the same, and a few distinct rows under many duplicates: duplicate centres and
 * empty clusters along the way, nothing out of range, and an empty cluster takes a far row. */
static void test_duplicates_and_empty_clusters(void **state)
{
    (void)state;
    char err[256];
    float same[50][3];
    for (int i = 0; i < 50; i++)
        for (int j = 0; j < 3; j++)
            same[i][j] = 1.5f;
    struct kmeans_options o = {.k = 4, .restarts = 3, .seed = 2};
    struct kmeans_result r = {0};
    assert_int_equal(kmeans_run(&same[0][0], 50, 3, &o, &r, err, sizeof err), KMEANS_OK);
    assert_true(r.inertia == 0.0);
    for (int i = 0; i < 50; i++)
        assert_true(r.labels[i] < 4);
    for (int c = 0; c < 4; c++)
        assert_true(r.centroids[c * 3] == 1.5f);
    kmeans_result_free(&r);

    /* 2,000 copies of the origin and 6 rows far out: k = 7 can put every distinct row in a
     * cluster of its own, and must (inertia 0), whatever empties on the way. */
    uint32_t n = 2006, d = 2;
    float *x = calloc((size_t)n * d, sizeof *x);
    for (uint32_t i = 0; i < 6; i++) {
        x[(size_t)(2000 + i) * d] = 100.0f + 10.0f * (float)i;
        x[(size_t)(2000 + i) * d + 1] = -50.0f * (float)(i % 2);
    }
    o = (struct kmeans_options){.k = 7, .restarts = 4, .seed = 4};
    assert_int_equal(kmeans_run(x, n, d, &o, &r, err, sizeof err), KMEANS_OK);
    assert_true(r.inertia < 1e-6);
    uint32_t used[7] = {0};
    for (uint32_t i = 0; i < n; i++) {
        assert_true(r.labels[i] < 7);
        used[r.labels[i]]++;
    }
    for (uint32_t c = 0; c < 7; c++)
        assert_true(used[c] > 0);
    kmeans_result_free(&r);
    free(x);
}

static void test_fewer_distinct_points_than_k(void **state)
{
    (void)state;
    float x[12][2];
    for (int i = 0; i < 12; i++) {
        x[i][0] = (float)(i % 3);
        x[i][1] = (float)(i % 3) * 2.0f;
    }
    struct kmeans_options o = {.k = 5, .restarts = 2, .seed = 3};
    struct kmeans_result r = {0};
    char err[256];
    assert_int_equal(kmeans_run(&x[0][0], 12, 2, &o, &r, err, sizeof err), KMEANS_OK);
    assert_true(r.inertia < 1e-9);
    for (int i = 0; i < 12; i++)
        assert_true(r.labels[i] < 5);
    kmeans_result_free(&r);
}

static void test_refuses_bad_input(void **state)
{
    (void)state;
    float x[8] = {0};
    static const struct {
        uint32_t n, d, k;
    } CASES[] = {{4, 2, 0}, {4, 2, 5}, {0, 2, 1}, {4, 0, 1}, {4, KMEANS_MAX_DIMS + 1, 1}};
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        struct kmeans_options o = {.k = CASES[i].k};
        struct kmeans_result r = {0};
        char err[256] = "";
        assert_int_equal(kmeans_run(x, CASES[i].n, CASES[i].d, &o, &r, err, sizeof err),
                         KMEANS_ERR_INVALID);
        assert_non_null(strstr(err, "k "));
        assert_null(r.labels);
    }
}

static void test_choose_k_finds_the_blobs(void **state)
{
    (void)state;
    static const uint32_t BLOBS[] = {4, 6};
    for (size_t c = 0; c < 2; c++) {
        uint32_t n = 6000, d = 5, blobs = BLOBS[c];
        uint32_t *truth = malloc(n * sizeof *truth);
        float *centres = malloc((size_t)blobs * d * sizeof *centres);
        float *x = make_blobs(n, d, blobs, truth, centres);
        struct kmeans_options o = {.restarts = 2, .seed = 11};
        uint32_t k = 0;
        char reason[512];
        assert_int_equal(kmeans_choose_k(x, n, d, 2, 16, 3000, &o, &k, reason, sizeof reason),
                         KMEANS_OK);
        if (k != blobs)
            fail_msg("chose k=%u for %u blobs: %s", k, blobs, reason);
        assert_non_null(strstr(reason, "elbow"));
        free(x);
        free(centres);
        free(truth);
    }
    float x[4] = {0};
    struct kmeans_options o = {0};
    uint32_t k;
    char reason[256];
    assert_int_equal(kmeans_choose_k(x, 3, 1, 2, 30, 100, &o, &k, reason, sizeof reason),
                     KMEANS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recovers_separated_clusters),
        cmocka_unit_test(test_inertia_never_rises),
        cmocka_unit_test(test_matches_naive_lloyd),
        cmocka_unit_test(test_deterministic_across_threads),
        cmocka_unit_test(test_deterministic_with_seed_sample),
        cmocka_unit_test(test_duplicates_and_empty_clusters),
        cmocka_unit_test(test_fewer_distinct_points_than_k),
        cmocka_unit_test(test_refuses_bad_input),
        cmocka_unit_test(test_choose_k_finds_the_blobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
