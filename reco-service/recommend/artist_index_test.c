/* Tests of the load-time artist index and the saved-artists pool: the index holds every row's
 * vector and norm in the model's artist order, and an artist's songs in any cluster are the
 * range it names; the pool hands out exactly the best songs a brute-force sort gives, through
 * refusals, repeated asks, ties and the selection's fallback; and recommend_indexed() gives
 * recommend()'s answer byte for byte over libraries of one style, several styles, artists with
 * much of the catalog and artist-only matches, under every steering option and ranking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "artist_index.h"
#include "artist_pool.h"
#include "model_build.h"
#include "recommend.h"
#include "fixture_model.h"

#define K         6u
#define DIMS      6u
#define N_ROWS    6000u
#define N_ARTISTS 400u
#define GIANTS    5u /* artists 0..4 hold about 30% of the rows between them */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double noise(void)
{
    return (double)(next() % 2001) / 1000.0 - 1.0; /* -1..1 */
}

struct fixture {
    struct model *model;
    struct model *other; /* a second model, for the refusal of a foreign index */
    struct reco_artist_index *index;
    char ids[N_ROWS][23];
    char names[N_ROWS][24];
    char artist_names[N_ARTISTS][24];
    const char *artist_lists[N_ROWS][1];
};

/* A catalog shaped like the merged one: artists mostly in one home cluster, a few giants
 * with whole discographies, repeated titles (the same song twice), years and explicit marks
 * on most rows, and well separated clusters (a random library is several styles). */
static struct model *build_model(struct fixture *f, uint32_t n_rows, const char *name)
{
    static struct model_build_row rows[N_ROWS];
    static float scaled[N_ROWS * DIMS], centroids[K * DIMS];
    static const enum model_feature features[DIMS] = {FEAT_VALENCE,          FEAT_ACOUSTICNESS,
                                                      FEAT_DANCEABILITY,     FEAT_ENERGY,
                                                      FEAT_INSTRUMENTALNESS, FEAT_TEMPO};
    memset(rows, 0, sizeof rows);
    for (uint32_t a = 0; a < N_ARTISTS; a++)
        snprintf(f->artist_names[a], sizeof f->artist_names[a], "Artist %u", a);
    for (uint32_t r = 0; r < n_rows; r++) {
        uint32_t artist = next() % 10 < 3 ? (uint32_t)(next() % GIANTS)
                                          : GIANTS + (uint32_t)(next() % (N_ARTISTS - GIANTS));
        uint32_t c = next() % 10 < 7 ? artist % K : (uint32_t)(next() % K);
        snprintf(f->ids[r], sizeof f->ids[r], "A%021u", r);
        snprintf(f->names[r], sizeof f->names[r], "Song %u", r % 2500);
        f->artist_lists[r][0] = f->artist_names[artist];
        rows[r] = (struct model_build_row){
            .id = f->ids[r],
            .name = f->names[r],
            .artists = f->artist_lists[r],
            .n_artists = 1,
            .year = next() % 8 == 0 ? 0 : (uint16_t)(1960 + next() % 60),
            .popularity = 50,
            .duration_ms = 180000 + r,
            .cluster = c,
        };
        for (uint32_t d = 0; d < DIMS; d++) {
            float v = (d == c ? 4.0f : 0.0f) + (float)noise();
            scaled[r * DIMS + d] = r % 997 == 3 ? 0.0f : v; /* a few zero rows */
            rows[r].value[features[d]] = (v + 4.0) / 10.0;  /* 0..1 for the mood targets */
            rows[r].present |= 1u << features[d];
        }
        if (next() % 10 != 0) {
            rows[r].value[FEAT_EXPLICIT] = next() % 3 == 0;
            rows[r].present |= 1u << FEAT_EXPLICIT;
        }
    }
    for (uint32_t c = 0; c < K; c++)
        for (uint32_t d = 0; d < DIMS; d++)
            centroids[c * DIMS + d] = d == c ? 4.0f : 0.0f;
    struct model_build b;
    memset(&b, 0, sizeof b);
    b.n_rows = n_rows;
    b.k = K;
    b.n_dims = DIMS;
    for (uint32_t d = 0; d < DIMS; d++)
        b.dims[d] = (struct model_build_dim){features[d], MODEL_DIM_LINEAR, 0.0, 1.0, 1.0};
    b.centroids = centroids;
    b.scaled = scaled;
    b.rows = rows;
    return open_test_model(&b, name);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->other = build_model(f, 500, "artist_index_other");
    f->model = build_model(f, N_ROWS, "artist_index_test");
    if (!f->model || !f->other || reco_artist_index_open(f->model, &f->index) != RECO_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    reco_artist_index_close(f->index);
    model_close(f->model);
    model_close(f->other);
    free(f);
    return 0;
}

/* Every position holds its row's vector and norm bit for bit; every artist's range in every
 * cluster (and in the whole catalog, and in ranges that cut a cluster) is exactly its rows
 * there. */
static void test_index_layout_and_ranges(void **state)
{
    struct fixture *f = *state;
    const struct model *m = f->model;
    const struct reco_artist_index *ix = f->index;
    assert_ptr_equal(ix->model, m);
    assert_int_equal(ix->n_dims, m->n_dims);
    for (uint32_t i = 0; i < m->n_rows; i++) {
        uint32_t row = m->artist_rows[i];
        assert_memory_equal(ix->vecs + (size_t)i * DIMS, m->rows + (size_t)row * DIMS,
                            DIMS * sizeof(float));
        assert_memory_equal(&ix->norms[i], &m->row_norms[row], sizeof(float));
    }
    uint32_t bounds[K + 3][2];
    for (uint32_t c = 0; c < K; c++) {
        bounds[c][0] = m->cluster_start[c];
        bounds[c][1] = m->cluster_start[c + 1];
    }
    bounds[K][0] = 0, bounds[K][1] = m->n_rows;
    bounds[K + 1][0] = 17, bounds[K + 1][1] = m->n_rows - 5;
    bounds[K + 2][0] = m->n_rows / 2, bounds[K + 2][1] = m->n_rows / 2; /* empty */
    for (uint32_t a = 0; a < m->n_artists; a++) {
        for (uint32_t b = 0; b < K + 3; b++) {
            uint32_t first, last;
            reco_artist_index_range(ix, a, bounds[b][0], bounds[b][1], &first, &last);
            assert_true(first <= last);
            assert_true(first >= m->artist_start[a] && last <= m->artist_start[a + 1]);
            uint32_t want = 0;
            for (uint32_t i = m->artist_start[a]; i < m->artist_start[a + 1]; i++)
                want += m->artist_rows[i] >= bounds[b][0] && m->artist_rows[i] < bounds[b][1];
            assert_int_equal(last - first, want);
            for (uint32_t i = first; i < last; i++)
                assert_true(m->artist_rows[i] >= bounds[b][0] && m->artist_rows[i] < bounds[b][1]);
        }
    }
}

static bool cand_better(const struct artist_candidate *a, const struct artist_candidate *b)
{
    return a->score > b->score || (a->score == b->score && a->row < b->row);
}

static int by_better(const void *x, const void *y)
{
    const struct artist_candidate *a = x, *b = y;
    return cand_better(a, b) ? -1 : cand_better(b, a) ? 1 : 0;
}

struct refuse {
    uint32_t modulus; /* rows divisible by it are refused (0: none) */
    uint32_t *calls;
};

static bool accept_row(const void *ctx, uint32_t row)
{
    const struct refuse *r = ctx;
    (*r->calls)++;
    return r->modulus == 0 || row % r->modulus != 0;
}

/* The pool against a brute force: every song by the artists in [start, end), scored with the
 * one-row cosine plus the bonus, refused ones dropped, sorted; each take() must give its prefix,
 * for growing asks, the answer of the sample threshold (pools over 2,048 songs) and of a sort
 * of everything (smaller ones), ties included (u = 0 scores every song the same). */
static void test_pool_against_brute_force(void **state)
{
    struct fixture *f = *state;
    const struct model *m = f->model;
    static struct artist_candidate want[N_ROWS];
    static const uint32_t ASKS[] = {1, 3, 40, 41, 200, 900, 3000, N_ROWS};
    uint32_t artists[N_ARTISTS];
    for (int trial = 0; trial < 12; trial++) {
        uint32_t n_artists = 0;
        for (uint32_t a = 0; a < m->n_artists; a++)
            if (trial % 3 == 0 ? a < GIANTS + 40 : next() % 4 == 0)
                artists[n_artists++] = a;
        float u[DIMS];
        for (uint32_t d = 0; d < DIMS; d++)
            u[d] = trial == 5 ? 0.0f : (float)(noise() * 3.0);
        float inv_u = trial == 5 ? 0.0f : 1.0f / (float)(1.0 + trial);
        uint32_t start = trial % 2 ? m->cluster_start[trial % K] : 0;
        uint32_t end = trial % 2 ? m->cluster_start[trial % K + 1] : m->n_rows;
        uint32_t calls = 0;
        struct refuse refuse = {.modulus = trial % 4 == 1 ? 0u : 3u + (uint32_t)trial,
                                .calls = &calls};
        uint32_t n_want = 0, n_all = 0;
        for (uint32_t i = 0; i < n_artists; i++)
            for (uint32_t at = m->artist_start[artists[i]]; at < m->artist_start[artists[i] + 1];
                 at++) {
                uint32_t row = m->artist_rows[at];
                if (row < start || row >= end)
                    continue;
                n_all++;
                if (refuse.modulus && row % refuse.modulus == 0)
                    continue;
                want[n_want++] =
                    (struct artist_candidate){reco_cosine_of_row(m, row, u, inv_u) + 4.0f, row};
            }
        qsort(want, n_want, sizeof *want, by_better);
        struct reco_arena arena;
        reco_arena_init(&arena, 0);
        struct artist_pool pool = {0};
        /* One song over the cap is refused, with nothing scored; at the cap it fills. */
        if (n_all > 0) {
            assert_int_equal(artist_pool_fill(&pool, &arena, f->index, artists, n_artists, start,
                                              end, u, inv_u, 4.0f, n_all - 1),
                             RECO_ERR_TOO_LARGE);
            assert_false(pool.filled);
            assert_int_equal(pool.n, 0);
        }
        assert_int_equal(artist_pool_fill(&pool, &arena, f->index, artists, n_artists, start, end,
                                          u, inv_u, 4.0f, n_all),
                         RECO_OK);
        assert_true(pool.filled);
        for (size_t k = 0; k < sizeof ASKS / sizeof ASKS[0]; k++) {
            const struct artist_candidate *best = NULL;
            uint32_t n_best = 0;
            assert_int_equal(
                artist_pool_take(&pool, &arena, ASKS[k], accept_row, &refuse, &best, &n_best),
                RECO_OK);
            assert_int_equal(n_best, ASKS[k] < n_want ? ASKS[k] : n_want);
            for (uint32_t i = 0; i < n_best; i++)
                if (memcmp(&best[i], &want[i], sizeof want[i]) != 0)
                    fail_msg("trial %d ask %u: item %u is row %u (%a), want row %u (%a)", trial,
                             ASKS[k], i, best[i].row, (double)best[i].score, want[i].row,
                             (double)want[i].score);
        }
        /* Once the asks reached the end, every song was asked about exactly once (a refused
         * one left the pool, an accepted one stayed in its order). */
        assert_int_equal(calls, n_all);
        assert_int_equal(pool.n, n_want);
        artist_pool_reset(&pool);
        assert_false(pool.filled);
        assert_int_equal(pool.n, 0);
        /* The next phase's fill of the same songs reuses the pool's memory: nothing more from
         * the arena. */
        const struct artist_candidate *items = pool.items;
        const struct reco_arena_mark before = reco_arena_mark(&arena);
        assert_int_equal(artist_pool_fill(&pool, &arena, f->index, artists, n_artists, start, end,
                                          u, inv_u, 4.0f, n_all),
                         RECO_OK);
        assert_int_equal(pool.n, n_all);
        assert_ptr_equal(pool.items, items);
        const struct reco_arena_mark after = reco_arena_mark(&arena);
        assert_ptr_equal(after.chunk, before.chunk);
        assert_int_equal(after.used, before.used);
        reco_arena_free(&arena);
    }
}

/* The selection's way out of bad pivots (a heap sort of what is left) gives the same set as
 * the quickselect, whatever round it starts at, on random, sorted and reversed input. */
static void test_select_fallback(void **state)
{
    (void)state;
    enum { N = 3000 };
    static struct artist_candidate a[N], sorted[N];
    for (int shape = 0; shape < 3; shape++) {
        for (uint32_t i = 0; i < N; i++)
            a[i] = (struct artist_candidate){(float)(next() % 500), i}; /* many tied scores */
        if (shape > 0) {
            qsort(a, N, sizeof *a, by_better);
            if (shape == 2)
                for (uint32_t i = 0; i < N / 2; i++) {
                    struct artist_candidate t = a[i];
                    a[i] = a[N - 1 - i];
                    a[N - 1 - i] = t;
                }
        }
        memcpy(sorted, a, sizeof a);
        qsort(sorted, N, sizeof *sorted, by_better);
        static const uint32_t M[] = {1, 17, 500, 2999};
        for (uint32_t rounds = 0; rounds < 6; rounds++) {
            for (size_t k = 0; k < sizeof M / sizeof M[0]; k++) {
                static struct artist_candidate work[N];
                memcpy(work, a, sizeof a);
                artist_select_best(work, N, M[k], rounds == 5 ? 64 : rounds);
                qsort(work, M[k], sizeof *work, by_better);
                assert_memory_equal(work, sorted, M[k] * sizeof *work);
            }
        }
    }
}

static void saved_by_row(const struct fixture *f, uint32_t row, struct reco_saved *s)
{
    *s = (struct reco_saved){.id = model_row_id(f->model, row)};
}

/* The whole answer, field by field (scores bit for bit). */
static void assert_same_result(const struct reco_result *a, const struct reco_result *b,
                               const char *what)
{
    if (a->n_picks != b->n_picks)
        fail_msg("%s: %u picks against %u", what, a->n_picks, b->n_picks);
    for (uint32_t i = 0; i < a->n_picks; i++) {
        const struct reco_pick *x = &a->picks[i], *y = &b->picks[i];
        if (x->row != y->row || memcmp(&x->score, &y->score, sizeof x->score) != 0 ||
            x->cluster != y->cluster || x->because != y->because || x->reason != y->reason)
            fail_msg("%s: pick %u is row %u (%a) against row %u (%a)", what, i, y->row,
                     (double)y->score, x->row, (double)x->score);
    }
    assert_int_equal(a->n_clusters, b->n_clusters);
    for (uint32_t i = 0; i < a->n_clusters; i++) {
        /* field by field: the struct has padding after `exhausted` */
        const struct reco_cluster_share *x = &a->clusters[i], *y = &b->clusters[i];
        assert_int_equal(x->cluster, y->cluster);
        assert_int_equal(x->saved, y->saved);
        assert_int_equal(x->slots, y->slots);
        assert_memory_equal(&x->library_share, &y->library_share, sizeof x->library_share);
        assert_memory_equal(&x->playlist_share, &y->playlist_share, sizeof x->playlist_share);
        assert_int_equal(x->exhausted, y->exhausted);
    }
    assert_memory_equal(&a->stats, &b->stats, sizeof a->stats);
    assert_string_equal(a->short_reason, b->short_reason);
}

/* recommend_indexed against recommend on libraries of every shape, sizes from one song to more
 * than the catalog's giants hold, every steering option and every ranking; and again with pools
 * capped at 60 songs, so most states go past the index (as a request naming more songs than
 * ARTIST_POOL_MAX_SONGS does) and some do not. */
static void check_indexed_equals_plain(struct fixture *f, uint32_t max_pool_songs)
{
    f->index->max_pool_songs = max_pool_songs;
    const struct model *m = f->model;
    static struct reco_saved saved[2000];
    struct reco_options options[24];
    size_t n_options = 0;
    const struct reco_options base = {0};
    options[n_options++] = base;
    options[n_options] = base, options[n_options++].variety = 7;
    options[n_options] = base, options[n_options++].discover = 0.3f;
    options[n_options] = base, options[n_options++].discover = 1.0f;
    options[n_options] = base, options[n_options++].energy = (struct reco_target){true, 0.9f};
    options[n_options] = base, options[n_options].valence = (struct reco_target){true, 0.1f};
    options[n_options++].tempo = (struct reco_target){true, 60.0f};
    options[n_options] = base, options[n_options].year_from = 1970;
    options[n_options++].year_to = 1979;
    options[n_options] = base, options[n_options++].no_explicit = true;
    options[n_options] = base, options[n_options].no_explicit = true;
    options[n_options].year_from = 1990, options[n_options++].discover = 0.5f;
    options[n_options] = base, options[n_options++].n = 1;
    options[n_options] = base, options[n_options++].n = 400;
    options[n_options] = base, options[n_options++].max_per_artist = 1;
    options[n_options] = base, options[n_options].max_per_artist = 40;
    options[n_options++].n = 200;
    for (int r = RECO_RANK_MEAN_COSINE; r <= RECO_RANK_FLAT; r++)
        options[n_options] = base, options[n_options++].ranking = (enum reco_ranking)r;
    options[n_options] = base, options[n_options].ranking = RECO_RANK_FLAT;
    options[n_options++].variety = 3;
    static const uint32_t SIZES[] = {1, 12, 150, 1500};
    for (int shape = 0; shape < 5; shape++) {
        for (size_t z = 0; z < sizeof SIZES / sizeof SIZES[0]; z++) {
            uint32_t n = 0;
            while (n < SIZES[z]) {
                uint32_t row = (uint32_t)(next() % m->n_rows);
                uint32_t c = model_row_cluster(m, row);
                const char *artist = model_row_artists(m, row); /* "Artist 0".."Artist 4" */
                bool giant = strlen(artist) == 8 && (uint32_t)(artist[7] - '0') < GIANTS;
                switch (shape) {
                case 0: /* random: several styles */
                    break;
                case 1: /* one cluster: one style, ranked flat */
                    if (c != 2)
                        continue;
                    break;
                case 2: /* 70/30 over two clusters */
                    if (c != (next() % 10 < 7 ? 0u : 4u))
                        continue;
                    break;
                case 3: /* the giants: saved artists with much of the catalog */
                    if (!giant)
                        continue;
                    break;
                default: /* a third known by artist only, a tenth by features only */
                    break;
                }
                saved_by_row(f, row, &saved[n]);
                if (shape == 4 && n % 3 == 0) {
                    saved[n] = (struct reco_saved){.name = "Not In The Catalog", .n_artists = 1};
                    saved[n].artists[0] = model_row_artists(m, row);
                } else if (shape == 4 && n % 10 == 1) {
                    saved[n] = (struct reco_saved){.name = "Features Only", .n_artists = 0};
                    saved[n].raw.present = (1u << FEAT_ENERGY) | (1u << FEAT_VALENCE);
                    saved[n].raw.value[FEAT_ENERGY] = 0.7;
                    saved[n].raw.value[FEAT_VALENCE] = 0.2;
                }
                n++;
            }
            for (size_t o = 0; o < n_options; o++) {
                struct reco_result plain, indexed;
                char err_plain[256], err_indexed[256], what[96];
                enum reco_status a =
                    recommend(m, saved, n, &options[o], &plain, err_plain, sizeof err_plain);
                enum reco_status b = recommend_indexed(m, f->index, saved, n, &options[o], &indexed,
                                                       err_indexed, sizeof err_indexed);
                snprintf(what, sizeof what, "shape %d, %u saved, options %zu", shape, n, o);
                if (a != b)
                    fail_msg("%s: status %d against %d", what, (int)b, (int)a);
                if (a == RECO_OK)
                    assert_same_result(&plain, &indexed, what);
                else
                    assert_string_equal(err_plain, err_indexed);
                reco_result_free(&plain);
                reco_result_free(&indexed);
            }
        }
    }
    f->index->max_pool_songs = ARTIST_POOL_MAX_SONGS;
}

static void test_indexed_equals_plain(void **state)
{
    check_indexed_equals_plain(*state, ARTIST_POOL_MAX_SONGS);
}

static void test_indexed_past_pool_cap(void **state)
{
    check_indexed_equals_plain(*state, 60);
}

/* An index of another model is refused, naming it; NULL is recommend(). */
static void test_foreign_index_refused(void **state)
{
    struct fixture *f = *state;
    struct reco_saved saved[1];
    saved_by_row(f, 0, &saved[0]);
    saved[0].id = model_row_id(f->other, 0);
    struct reco_options options = {0};
    struct reco_result result;
    char err[256] = "";
    assert_int_equal(
        recommend_indexed(f->other, f->index, saved, 1, &options, &result, err, sizeof err),
        RECO_ERR_INVALID);
    assert_non_null(strstr(err, "index:"));
    assert_int_equal(result.n_picks, 0);
    assert_int_equal(
        recommend_indexed(f->other, NULL, saved, 1, &options, &result, err, sizeof err), RECO_OK);
    assert_true(result.n_picks > 0);
    reco_result_free(&result);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_layout_and_ranges),
        cmocka_unit_test(test_pool_against_brute_force),
        cmocka_unit_test(test_select_fallback),
        cmocka_unit_test(test_indexed_equals_plain),
        cmocka_unit_test(test_indexed_past_pool_cap),
        cmocka_unit_test(test_foreign_index_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
