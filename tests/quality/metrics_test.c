/* Table-driven tests of the evaluation's pieces that need no model: the metrics, the CSV
 * splitter of the label reader, the largest-remainder split and the simulated users. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "labels.h"
#include "metrics.h"
#include "users.h"

/* Rows 0..9 carry genre 0, rows 10..19 genre 1, rows 20..29 both, rows 30..39 genre 2. */
static struct genre_set row_genres[40];

static int setup(void **state)
{
    (void)state;
    memset(row_genres, 0, sizeof row_genres);
    for (uint32_t r = 0; r < 40; r++) {
        if (r < 10 || (r >= 20 && r < 30))
            genre_set_add(&row_genres[r], 0);
        if (r >= 10 && r < 30)
            genre_set_add(&row_genres[r], 1);
        if (r >= 30)
            genre_set_add(&row_genres[r], 2);
    }
    return 0;
}

struct metrics_case {
    const char *name;
    uint32_t n_genres;
    double shares[2];
    uint32_t saved[4];
    uint32_t n_saved;
    uint32_t held[4];
    uint32_t n_held;
    uint32_t picks[10];
    uint32_t keys[10];
    uint32_t n_picks;
    struct metrics expect;
};

static const struct metrics_case METRIC_CASES[] = {
    {"all in the one genre",
     1,
     {1.0},
     {0},
     0,
     {0},
     0,
     {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
     {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
     10,
     {1.0, 0.0, 0.0, 10, 0, 10, 0, 0, 0, 0, 0}},
    {"70/30 matched exactly",
     2,
     {0.7, 0.3},
     {0},
     0,
     {0},
     0,
     {0, 1, 2, 3, 4, 5, 6, 10, 11, 12},
     {1, 1, 1, 2, 2, 2, 3, 3, 3, 4},
     10,
     {1.0, 0.0, 0.0, 4, 0, 10, 0, 0, 0, 0, 0}},
    {"two outside, one short of genre 0",
     2,
     {0.7, 0.3},
     {0},
     0,
     {0},
     0,
     {0, 1, 2, 3, 4, 10, 11, 12, 30, 31},
     {0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
     10,
     /* q = 0.5, 0.3, other 0.2: 0.5 * (0.2 + 0 + 0.2) */
     {0.8, 0.2, 0.0, 1, 0, 10, 0, 0, 0, 0, 0}},
    {"a pick with both genres counts half to each",
     2,
     {0.5, 0.5},
     {0},
     0,
     {0},
     0,
     {20, 21},
     {5, 6},
     2,
     {1.0, 0.0, 0.0, 2, 0, 2, 0, 0, 0, 0, 0}},
    {"saved and repeated picks are hygiene faults",
     1,
     {1.0},
     {3, 4},
     2,
     {0},
     0,
     {3, 5, 5, 6},
     {1, 2, 2, 3},
     4,
     {1.0, 0.0, 0.0, 3, 2, 4, 0, 0, 0, 0, 0}},
    {"held-back songs found",
     1,
     {1.0},
     {0},
     0,
     {1, 2, 8, 9},
     4,
     {1, 5, 9},
     {1, 2, 3},
     3,
     {1.0, 0.0, 0.5, 3, 0, 3, 0, 0, 0, 0, 0}},
    {"nothing picked",
     1,
     {1.0},
     {0},
     0,
     {1},
     1,
     {0},
     {0},
     0,
     {0.0, 1.0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0}},
    {"all outside",
     1,
     {1.0},
     {0},
     0,
     {0},
     0,
     {30, 31},
     {1, 2},
     2,
     {0.0, 1.0, 0.0, 2, 0, 2, 0, 0, 0, 0, 0}},
};

static void test_metrics(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof METRIC_CASES / sizeof METRIC_CASES[0]; i++) {
        const struct metrics_case *c = &METRIC_CASES[i];
        const uint32_t genres[2] = {0, 1};
        /* Every held-back song counts as by a new artist too: recall_new equals recall. */
        struct metrics_user user = {c->n_genres, genres,    c->shares, c->saved, c->n_saved,
                                    c->held,     c->n_held, c->held,   c->n_held};
        struct metrics got;
        metrics_score(&user, row_genres, c->picks, c->keys, c->n_picks, &got);
        print_message("case: %s\n", c->name);
        assert_float_equal(got.precision, c->expect.precision, 1e-9);
        assert_float_equal(got.fidelity, c->expect.fidelity, 1e-9);
        assert_float_equal(got.recall, c->expect.recall, 1e-9);
        assert_float_equal(got.recall_new, c->expect.recall, 1e-9);
        assert_float_equal(got.new_users, c->n_held > 0, 1e-9);
        assert_float_equal(got.artists, c->expect.artists, 1e-9);
        assert_float_equal(got.hygiene, c->expect.hygiene, 1e-9);
        assert_float_equal(got.picks, c->expect.picks, 1e-9);
    }
}

struct csv_case {
    const char *line;
    size_t n_fields;
    const char *fields[4];
};

static const struct csv_case CSV_CASES[] = {
    {"a,b,c\n", 3, {"a", "b", "c"}},
    {"\"x, y\",2,\"say \"\"hi\"\"\"\r\n", 3, {"x, y", "2", "say \"hi\""}},
    {",,", 3, {"", "", ""}},
    {"\"['A', 'B']\",rock", 2, {"['A', 'B']", "rock"}},
    {"1,2,3,4,5,6", 6, {"1", "2", "3", "4"}},
};

static void test_split_csv(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof CSV_CASES / sizeof CSV_CASES[0]; i++) {
        char line[128];
        strcpy(line, CSV_CASES[i].line);
        char *fields[4];
        size_t n = labels_split_csv(line, fields, 4);
        assert_int_equal(n, CSV_CASES[i].n_fields);
        for (size_t f = 0; f < n && f < 4; f++)
            assert_string_equal(fields[f], CSV_CASES[i].fields[f]);
    }
}

struct apportion_case {
    double shares[5];
    uint32_t n, total;
    uint32_t expect[5];
};

static const struct apportion_case APPORTION_CASES[] = {
    {{0.7, 0.3}, 2, 50, {35, 15}},
    {{0.5, 0.3, 0.2}, 3, 7, {4, 2, 1}},
    {{0.35, 0.25, 0.20, 0.12, 0.08}, 5, 50, {18, 12, 10, 6, 4}},
    {{1.0}, 1, 0, {0}},
    {{0.5, 0.5}, 2, 3, {2, 1}},
};

static void test_apportion(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof APPORTION_CASES / sizeof APPORTION_CASES[0]; i++) {
        const struct apportion_case *c = &APPORTION_CASES[i];
        uint32_t got[5] = {0};
        users_apportion(c->shares, c->n, c->total, got);
        for (uint32_t g = 0; g < c->n; g++)
            assert_int_equal(got[g], c->expect[g]);
    }
}

/* A hand-made catalog: 6 genres of 400 ids each, id i in genre i % 6, row = id. */
static void make_labels(struct labels *labels, struct genre_set *genres, uint32_t *id_row,
                        uint32_t *pools, uint32_t *pool_len, uint32_t **pool_ptrs)
{
    memset(labels, 0, sizeof *labels);
    labels->n_genres = 6;
    labels->n_ids = labels->n_rows = 2400;
    labels->row_genres = genres;
    labels->id_row = id_row;
    labels->genre_pool = pool_ptrs;
    labels->genre_pool_len = pool_len;
    memset(genres, 0, 2400 * sizeof *genres);
    for (uint32_t g = 0; g < 6; g++) {
        pool_ptrs[g] = pools + g * 400;
        pool_len[g] = 0;
    }
    for (uint32_t id = 0; id < 2400; id++) {
        id_row[id] = id;
        genre_set_add(&genres[id], id % 6);
        pool_ptrs[id % 6][pool_len[id % 6]++] = id;
    }
}

static void test_users(void **state)
{
    (void)state;
    static struct genre_set genres[2400];
    static uint32_t id_row[2400], pools[2400];
    uint32_t pool_len[6], *pool_ptrs[6];
    struct labels labels;
    make_labels(&labels, genres, id_row, pools, pool_len, pool_ptrs);
    for (uint32_t type = 0; type < USER_N_TYPES; type++) {
        for (uint32_t index = 0; index < 20; index++) {
            struct sim_user a, b;
            assert_int_equal(users_make(&labels, type, index, 3, 20, &a), 0);
            assert_int_equal(users_make(&labels, type, index, 3, 20, &b), 0);
            assert_int_equal(a.n_saved, b.n_saved);
            assert_memory_equal(a.saved, b.saved, a.n_saved * sizeof *a.saved);
            assert_int_equal(a.n_held, a.n_library * USERS_HELD_PERCENT / 100);
            assert_int_equal(a.n_saved + a.n_held, a.n_library);
            /* No genre gives more than half its pool of 400. */
            for (uint32_t g = 0; g < a.n_genres; g++)
                assert_true(a.shares[g] * a.n_library <= 200.5);
            double sum = 0;
            for (uint32_t g = 0; g < a.n_genres; g++) {
                sum += a.shares[g];
                assert_float_equal(a.shares[g], USER_TYPES[type].shares[g],
                                   1.0 / a.n_library + 1e-9);
            }
            assert_float_equal(sum, 1.0, 1e-9);
            users_free(&a);
            users_free(&b);
        }
    }
    /* Six genres cannot give a user five genres of 1,000 ids each. */
    struct sim_user user;
    assert_int_equal(users_make(&labels, USER_N_TYPES - 1, 0, 3, 1000, &user), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_metrics, setup),
        cmocka_unit_test(test_split_csv),
        cmocka_unit_test(test_apportion),
        cmocka_unit_test(test_users),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
