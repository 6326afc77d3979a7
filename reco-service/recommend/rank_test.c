/* Tests of the rankings: every ranking deterministic and varied by a seed, saved artists first,
 * every path of the default ranking giving the best rows of a cluster, and the cosine kernels
 * (one row, a block) agreeing bit for bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_build.h"
#include "recommend.h"
#include "recommend_fixture.h"

static void test_rankings_determinism_variety(void **state)
{
    struct fixture *f = *state;
    static struct reco_saved saved[32];
    size_t n = saved_by_id(f, saved, 0, 30, 10);
    n = saved_by_id(f, saved, n, PER + 50, 10);
    for (int ranking = RECO_RANK_DEFAULT; ranking <= RECO_RANK_MEAN_AND_ARTISTS; ranking++) {
        struct reco_options opts = {.n = 30, .ranking = (enum reco_ranking)ranking};
        struct reco_result a, b, v1, v2;
        char err[256];
        assert_int_equal(recommend(f->model, saved, n, &opts, &a, err, sizeof err), RECO_OK);
        assert_int_equal(recommend(f->model, saved, n, &opts, &b, err, sizeof err), RECO_OK);
        assert_int_equal(a.n_picks, 30);
        check_rules(f, saved, n, &a, RECO_DEFAULT_MAX_PER_ARTIST);
        assert_memory_equal(a.picks, b.picks, a.n_picks * sizeof a.picks[0]);
        opts.variety = 12345;
        assert_int_equal(recommend(f->model, saved, n, &opts, &v1, err, sizeof err), RECO_OK);
        assert_int_equal(recommend(f->model, saved, n, &opts, &v2, err, sizeof err), RECO_OK);
        assert_int_equal(v1.n_picks, 30);
        check_rules(f, saved, n, &v1, RECO_DEFAULT_MAX_PER_ARTIST);
        assert_memory_equal(v1.picks, v2.picks, v1.n_picks * sizeof v1.picks[0]);
        uint32_t differ = 0;
        for (uint32_t i = 0; i < a.n_picks; i++) {
            bool found = false;
            for (uint32_t j = 0; j < v1.n_picks; j++)
                found = found || v1.picks[j].row == a.picks[i].row;
            differ += !found;
        }
        if (differ < 5)
            fail_msg("ranking %d: variety changed only %u of 30 picks", ranking, differ);
        reco_result_free(&a);
        reco_result_free(&b);
        reco_result_free(&v1);
        reco_result_free(&v2);
    }
}

/* True when the user saved (in rows [first, first + count)) a song by the row's primary artist. */
static bool by_saved_artist(const struct model *m, uint32_t row, uint32_t first, uint32_t count)
{
    for (uint32_t r = first; r < first + count; r++)
        if (model_row_artist_key(m, r) == model_row_artist_key(m, row))
            return true;
    return false;
}

static void test_saved_artists_first(void **state)
{
    struct fixture *f = *state;
    /* Rows 30..39 of cluster 0 saved: their artists ("Artist 30".."Artist 36", "Artist 0".."2")
     * have ten other songs there (rows 67..76), one each, and more in the other clusters.
     * Asked for 14, an artist ranking gives songs by those artists first, then the others; with
     * features only (no catalog song, so no saved artist) mean-and-artists is exactly
     * mean-cosine. */
    static struct reco_saved saved[10];
    size_t n = saved_by_id(f, saved, 0, 30, 10);
    static const enum reco_ranking rankings[] = {RECO_RANK_VOTES_AND_ARTISTS,
                                                 RECO_RANK_MEAN_AND_ARTISTS};
    for (size_t k = 0; k < sizeof rankings / sizeof rankings[0]; k++) {
        struct reco_options opts = {.n = 14, .ranking = rankings[k]};
        struct reco_result res;
        char err[256];
        assert_int_equal(recommend(f->model, saved, n, &opts, &res, err, sizeof err), RECO_OK);
        assert_int_equal(res.n_picks, 14);
        check_rules(f, saved, n, &res, RECO_DEFAULT_MAX_PER_ARTIST);
        for (uint32_t i = 0; i < res.n_picks; i++) {
            bool artist = by_saved_artist(f->model, res.picks[i].row, 30, 10);
            /* Votes + artists shares the slots by cluster: cluster 0's ten songs by those
             * artists first; mean + artists ranks this one-style library flat: every song by
             * them (14 or more, from any cluster) first. */
            uint32_t first = rankings[k] == RECO_RANK_VOTES_AND_ARTISTS ? 10 : 14;
            if (artist != (i < first))
                fail_msg("ranking %d: pick %u (%s by %s) %s a saved artist", (int)rankings[k], i,
                         model_row_name(f->model, res.picks[i].row),
                         model_row_artists(f->model, res.picks[i].row), artist ? "is" : "is not");
        }
        reco_result_free(&res);
    }

    static struct reco_saved by_features[3];
    memset(by_features, 0, sizeof by_features);
    for (size_t i = 0; i < 3; i++) {
        by_features[i].raw.present = (1u << FEAT_VALENCE) | (1u << FEAT_ENERGY);
        by_features[i].raw.value[FEAT_VALENCE] = 2.5 + 0.2 * (double)i;
        by_features[i].raw.value[FEAT_ENERGY] = 0.3;
    }
    struct reco_options mean = {.n = 20, .ranking = RECO_RANK_MEAN_COSINE};
    struct reco_options mean_artists = {.n = 20, .ranking = RECO_RANK_MEAN_AND_ARTISTS};
    struct reco_result a, b;
    char err[256];
    assert_int_equal(recommend(f->model, by_features, 3, &mean, &a, err, sizeof err), RECO_OK);
    assert_int_equal(recommend(f->model, by_features, 3, &mean_artists, &b, err, sizeof err),
                     RECO_OK);
    assert_int_equal(a.n_picks, 20);
    assert_int_equal(b.n_picks, 20);
    assert_memory_equal(a.picks, b.picks, a.n_picks * sizeof a.picks[0]);
    reco_result_free(&a);
    reco_result_free(&b);
}

/* RECO_RANK_MEAN_AND_ARTISTS finds the songs by saved artists three ways (the artist index,
 * a pass over the artist keys, one loop over every row) chosen by how many there are; each
 * must give exactly what scoring every row would. On a 4,000-row model with small artists and
 * one with 1,500 songs, three saved lists take the three ways, and every pick must be the best
 * song of its cluster that the rules left: its score is cosine to the mean of the user's
 * songs there (+ MEAN_ARTIST_BONUS by a saved artist, the ranking's bonus, recomputed here),
 * and no row of the cluster scoring more is unpicked unless saved, the same song as a saved
 * one or a pick, or by an artist with the cap reached. */
#define PATH_ROWS  4000u
#define PATH_K     4u
#define PATH_GIANT 1500u /* rows 0..1499 are by one artist */

static double path_score(const struct model *m, uint32_t row, const double *mean)
{
    double dot = 0, rn = 0, un = 0;
    for (uint32_t d = 0; d < m->n_dims; d++) {
        double v = m->rows[(size_t)row * m->n_dims + d];
        dot += v * mean[d];
        rn += v * v;
        un += mean[d] * mean[d];
    }
    return rn > 0 && un > 0 ? dot / sqrt(rn) / sqrt(un) : 0.0;
}

static void check_best_of_cluster(const struct model *m, const uint32_t *saved_rows, size_t n_saved,
                                  const struct reco_result *res)
{
    for (uint32_t c = 0; c < m->k; c++) {
        double mean[DIMS] = {0};
        uint32_t in_cluster = 0;
        for (size_t s = 0; s < n_saved; s++) {
            if (model_row_cluster(m, saved_rows[s]) != c)
                continue;
            for (uint32_t d = 0; d < m->n_dims; d++)
                mean[d] += m->rows[(size_t)saved_rows[s] * m->n_dims + d];
            in_cluster++;
        }
        if (in_cluster == 0)
            continue;
        for (uint32_t d = 0; d < m->n_dims; d++)
            mean[d] /= in_cluster;
        double lowest = INFINITY;
        uint32_t picks_here = 0;
        for (uint32_t r = m->cluster_start[c]; r < m->cluster_start[c + 1]; r++) {
            bool artist_saved = false, saved = false, picked = false;
            for (size_t s = 0; s < n_saved; s++) {
                artist_saved |=
                    model_row_artist_key(m, saved_rows[s]) == model_row_artist_key(m, r);
                saved |= model_row_song_key(m, saved_rows[s]) == model_row_song_key(m, r);
            }
            double want = path_score(m, r, mean) + (artist_saved ? 4.0 : 0.0);
            for (uint32_t i = 0; i < res->n_picks; i++) {
                if (res->picks[i].row != r)
                    continue;
                picked = true;
                assert_int_equal(res->picks[i].cluster, c);
                if (fabs(res->picks[i].score - want) > 1e-4)
                    fail_msg("pick row %u scores %f, expected %f", r, res->picks[i].score, want);
                if (want < lowest)
                    lowest = want;
                picks_here++;
            }
            (void)picked;
            (void)saved;
        }
        if (picks_here == 0)
            continue;
        /* Every row scoring above the cluster's lowest pick is picked or blocked. */
        for (uint32_t r = m->cluster_start[c]; r < m->cluster_start[c + 1]; r++) {
            bool artist_saved = false, blocked = false;
            for (size_t s = 0; s < n_saved; s++) {
                artist_saved |=
                    model_row_artist_key(m, saved_rows[s]) == model_row_artist_key(m, r);
                blocked |= model_row_song_key(m, saved_rows[s]) == model_row_song_key(m, r);
            }
            double score = path_score(m, r, mean) + (artist_saved ? 4.0 : 0.0);
            if (!(score > lowest + 1e-4))
                continue;
            uint32_t by_artist = 0;
            for (uint32_t i = 0; i < res->n_picks; i++) {
                uint32_t pr = res->picks[i].row;
                blocked |= pr == r || model_row_song_key(m, pr) == model_row_song_key(m, r);
                by_artist += model_row_artist_key(m, pr) == model_row_artist_key(m, r);
            }
            blocked |= by_artist >= RECO_DEFAULT_MAX_PER_ARTIST;
            if (!blocked)
                fail_msg("cluster %u: row %u scores %f, above pick %f, and was not picked", c, r,
                         score, lowest);
        }
    }
}

static void test_mean_and_artists_every_path(void **state)
{
    (void)state;
    static struct model_build_row rows[PATH_ROWS];
    static float scaled[PATH_ROWS * DIMS];
    static char ids[PATH_ROWS][23], names[PATH_ROWS][24], artists[PATH_ROWS][24];
    static const char *artist_lists[PATH_ROWS][1];
    static const float centroids[PATH_K * DIMS] = {3, 0, 0, 0, 0, 3, 0, 0, 0, 0, 3, 0, 0, 0, 0, 3};
    for (uint32_t r = 0; r < PATH_ROWS; r++) {
        uint32_t c = (r * 7u) % PATH_K;
        snprintf(ids[r], sizeof ids[r], "P%021u", r);
        snprintf(names[r], sizeof names[r], "Path song %u", r % 3000); /* some share a title */
        if (r < PATH_GIANT)
            snprintf(artists[r], sizeof artists[r], "Giant");
        else
            snprintf(artists[r], sizeof artists[r], "Small %u", r % 250);
        artist_lists[r][0] = artists[r];
        rows[r] = (struct model_build_row){.id = ids[r],
                                           .name = names[r],
                                           .genre = "test",
                                           .artists = artist_lists[r],
                                           .n_artists = 1,
                                           .year = 2000,
                                           .popularity = 50,
                                           .duration_ms = 200000,
                                           .cluster = c};
        for (uint32_t d = 0; d < DIMS; d++)
            scaled[r * DIMS + d] = centroids[c * DIMS + d] + (float)noise();
    }
    struct model_build b;
    memset(&b, 0, sizeof b);
    b.n_rows = PATH_ROWS;
    b.k = PATH_K;
    linear_dims(&b);
    b.centroids = centroids;
    b.scaled = scaled;
    b.rows = rows;
    struct model *m = open_test_model(&b, "recommend_paths");
    assert_non_null(m);
    char err[256];

    /* 3 saved: 3 small artists, about 50 songs (the index); 60 saved: about 16 songs each of
     * 60 artists, 24% of the catalog but less than a quarter (the pass over the artist keys);
     * and 8 saved with the giant among them (one loop over every row). */
    static const struct {
        uint32_t first, count, step;
    } LISTS[] = {{PATH_GIANT, 3, 1}, {PATH_GIANT + 3, 60, 1}, {0, 8, 400}};
    static struct reco_saved saved[64];
    uint32_t saved_rows[64];
    for (size_t l = 0; l < sizeof LISTS / sizeof LISTS[0]; l++) {
        size_t n = LISTS[l].count;
        for (size_t i = 0; i < n; i++) {
            memset(&saved[i], 0, sizeof saved[i]);
            saved[i].id = ids[LISTS[l].first + i * LISTS[l].step];
            saved_rows[i] = model_find_id(m, saved[i].id);
            assert_true(saved_rows[i] != MODEL_NO_ROW);
        }
        for (uint32_t want = 10; want <= 200; want *= 20) {
            struct reco_options opts = {.n = want, .ranking = RECO_RANK_MEAN_AND_ARTISTS};
            struct reco_result res;
            assert_int_equal(recommend(m, saved, n, &opts, &res, err, sizeof err), RECO_OK);
            assert_int_equal(res.n_picks, want);
            check_best_of_cluster(m, saved_rows, n, &res);
            reco_result_free(&res);
        }
    }
    model_close(m);
}

/* The pass kernel (four rows at a time) and the one-row cosine agree bit for bit, for
 * every dimension count the kernel specialises (12..16) and one it does not (5), any start and
 * length (partial groups of four at both ends, the catalog's last rows), and a zero row. */
static void test_cosine_kernels_agree(void **state)
{
    (void)state;
    static const uint32_t DIM_COUNTS[] = {5, 12, 13, 14, 15, 16};
    enum { ROWS = 37 }; /* not a multiple of four */
    static struct model_build_row rows[ROWS];
    static char ids[ROWS][23];
    static const char *artist[1] = {"Kernel"};
    for (size_t t = 0; t < sizeof DIM_COUNTS / sizeof DIM_COUNTS[0]; t++) {
        uint32_t nd = DIM_COUNTS[t];
        static float scaled[ROWS * 16], centroids[2 * 16];
        for (uint32_t r = 0; r < ROWS; r++) {
            snprintf(ids[r], sizeof ids[r], "K%021u", r);
            rows[r] = (struct model_build_row){
                .id = ids[r], .name = ids[r], .artists = artist, .n_artists = 1, .cluster = r % 2};
            for (uint32_t d = 0; d < nd; d++)
                scaled[r * nd + d] = r == 5 ? 0.0f : (float)(noise() * 3.0);
        }
        for (uint32_t i = 0; i < 2 * nd; i++)
            centroids[i] = (float)noise();
        struct model_build b;
        memset(&b, 0, sizeof b);
        b.n_rows = ROWS;
        b.n_dims = nd;
        b.k = 2;
        /* Features in order; key takes two dimensions when there are 16. */
        for (uint32_t d = 0, f = 0; d < nd; d++, f++) {
            if (f == FEAT_KEY && nd == 16) {
                b.dims[d++] = (struct model_build_dim){FEAT_KEY, MODEL_DIM_SIN, 0.0, 1.0, 1.0};
                b.dims[d] = (struct model_build_dim){FEAT_KEY, MODEL_DIM_COS, 0.0, 1.0, 1.0};
                continue;
            }
            b.dims[d] =
                (struct model_build_dim){(enum model_feature)f, MODEL_DIM_LINEAR, 0.0, 1.0, 1.0};
        }
        b.centroids = centroids;
        b.scaled = scaled;
        b.rows = rows;
        struct model *m = open_test_model(&b, "recommend_kernels");
        if (!m)
            fail_msg("%u dims: no model", nd);
        float u[16], out[ROWS];
        for (int trial = 0; trial < 4; trial++) {
            for (uint32_t d = 0; d < nd; d++)
                u[d] = (float)(noise() * 2.0);
            float inv_u = 1.0f / (float)(0.5 + trial);
            for (uint32_t first = 0; first < ROWS; first++) {
                for (uint32_t len = 1; first + len <= ROWS; len++) {
                    reco_cosines(m, first, len, u, inv_u, out);
                    for (uint32_t i = 0; i < len; i++) {
                        float want = reco_cosine_of_row(m, first + i, u, inv_u);
                        if (memcmp(&want, &out[i], sizeof want) != 0)
                            fail_msg("%u dims, rows %u+%u: row %u %a vs %a", nd, first, len,
                                     first + i, (double)out[i], (double)want);
                    }
                }
            }
        }
        uint32_t zero_row = model_find_id(m, ids[5]);
        assert_true(zero_row != MODEL_NO_ROW);
        assert_true(m->row_norms[zero_row] == 0.0f);
        assert_true(reco_cosine_of_row(m, zero_row, u, 1.0f) == 0.0f);
        model_close(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rankings_determinism_variety),
        cmocka_unit_test(test_saved_artists_first),
        cmocka_unit_test(test_mean_and_artists_every_path),
        cmocka_unit_test(test_cosine_kernels_agree),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
