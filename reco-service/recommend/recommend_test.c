/* Tests of the recommendation on a small model written in code: the apportionment sums to n
 * and stays within one slot of each quota; no saved song and no song twice in any output; the
 * artist cap; shares and hand-over; determinism and variety; resolution by id, ISRC, title
 * and features; the limits and the no-saved / none-matched statuses. */
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

#include "model_build.h"
#include "recommend.h"

#define K        4u
#define PER      100u /* rows in clusters 0..2 */
#define SMALL    6u   /* rows in cluster 3: it runs short */
#define N_ROWS   (3 * PER + SMALL + 1)
#define LIVE_ROW (N_ROWS - 1) /* "Song 1 (Live)": the same song as row 1 */
#define DIMS     4u

static const float CENTERS[K][DIMS] = {{3, 0, 0, 0}, {0, 3, 0, 0}, {0, 0, 3, 0}, {0, 0, 0, 3}};

struct fixture {
    struct model *model;
    char ids[N_ROWS][23];
    char isrcs[N_ROWS][16];
    char names[N_ROWS][32];
    char artist_names[N_ROWS][32];
    const char *artist_lists[N_ROWS][1];
};

static uint64_t rng = 88172645463325252ull;

static double noise(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng % 2001) / 1000.0 - 1.0; /* -1..1 */
}

static uint32_t cluster_of_row(uint32_t r)
{
    if (r == LIVE_ROW)
        return 0;
    return r < 3 * PER ? r / PER : 3;
}

/* Four linear dimensions: valence, energy, danceability, tempo. */
static void linear_dims(struct model_build *b)
{
    static const enum model_feature features[DIMS] = {FEAT_VALENCE, FEAT_ENERGY, FEAT_DANCEABILITY,
                                                      FEAT_TEMPO};
    b->n_dims = DIMS;
    for (uint32_t d = 0; d < DIMS; d++)
        b->dims[d] = (struct model_build_dim){features[d], MODEL_DIM_LINEAR, 0.0, 1.0, 1.0};
}

/* Finishes a test model's build (seed, provenance, tolerance, binary weight), writes it under
 * /tmp and opens it; the file is removed at once (the mapping stays). NULL, with the reason on
 * stderr, when either step fails. */
static struct model *open_test_model(struct model_build *b, const char *name)
{
    b->seed = 1;
    b->built_unix = 1700000000;
    b->source = name;
    b->schema = "test";
    b->k_choice = "fixed";
    b->tolerance_ms = 5000;
    b->binary_weight = 1.0;
    char path[256], err[256];
    snprintf(path, sizeof path, "/tmp/%s_%d.model", name, (int)getpid());
    struct model *m = NULL;
    if (model_write(b, path, err, sizeof err) != MODEL_OK ||
        model_open(path, &m, err, sizeof err) != MODEL_OK) {
        fprintf(stderr, "test model %s: %s\n", name, err);
        m = NULL;
    }
    unlink(path);
    return m;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    static struct model_build_row rows[N_ROWS];
    static float scaled[N_ROWS * DIMS];
    static float centroids[K * DIMS];
    for (uint32_t r = 0; r < N_ROWS; r++) {
        uint32_t c = cluster_of_row(r);
        snprintf(f->ids[r], sizeof f->ids[r], "T%021u", r);
        snprintf(f->isrcs[r], sizeof f->isrcs[r], "QZTST%07u", r);
        if (r == LIVE_ROW)
            snprintf(f->names[r], sizeof f->names[r], "Song 1 (Live)");
        else
            snprintf(f->names[r], sizeof f->names[r], "Song %u", r);
        if (r < 20 || r == LIVE_ROW || r == 1)
            snprintf(f->artist_names[r], sizeof f->artist_names[r], "Prolific");
        else
            snprintf(f->artist_names[r], sizeof f->artist_names[r], "Artist %u", r % 37);
        f->artist_lists[r][0] = f->artist_names[r];
        rows[r] = (struct model_build_row){
            .id = f->ids[r],
            .name = f->names[r],
            .genre = "test",
            .isrc = f->isrcs[r],
            .artists = f->artist_lists[r],
            .n_artists = 1,
            .year = (uint16_t)(1960 + r % 60),
            .popularity = 50,
            .duration_ms = 180000 + r * 1000,
            .cluster = c,
        };
        for (uint32_t d = 0; d < DIMS; d++)
            scaled[r * DIMS + d] = CENTERS[c][d] + (float)noise();
    }
    /* The live version sits right next to the studio one. */
    for (uint32_t d = 0; d < DIMS; d++)
        scaled[LIVE_ROW * DIMS + d] = scaled[1 * DIMS + d] + 0.01f;
    /* Raw features as the scaled ones (mean 0, std 1), and every third song explicit. */
    static const enum model_feature raw_features[DIMS] = {FEAT_VALENCE, FEAT_ENERGY,
                                                          FEAT_DANCEABILITY, FEAT_TEMPO};
    for (uint32_t r = 0; r < N_ROWS; r++) {
        for (uint32_t d = 0; d < DIMS; d++) {
            rows[r].value[raw_features[d]] = scaled[r * DIMS + d];
            rows[r].present |= 1u << raw_features[d];
        }
        rows[r].value[FEAT_EXPLICIT] = r % 3 == 0;
        rows[r].present |= 1u << FEAT_EXPLICIT;
    }
    memcpy(centroids, CENTERS, sizeof CENTERS);
    struct model_build b;
    memset(&b, 0, sizeof b);
    b.n_rows = N_ROWS;
    b.k = K;
    linear_dims(&b);
    b.centroids = centroids;
    b.scaled = scaled;
    b.rows = rows;
    f->model = open_test_model(&b, "recommend_test");
    if (!f->model)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    model_close(f->model);
    free(f);
    return 0;
}

static void test_apportion_random(void **state)
{
    (void)state;
    uint32_t counts[40], alloc[40];
    for (int trial = 0; trial < 5000; trial++) {
        size_t groups = 1 + (size_t)(rng % 40);
        uint32_t slots = (uint32_t)(noise() * 250 + 251); /* 1..501 */
        uint64_t total = 0;
        for (size_t g = 0; g < groups; g++) {
            counts[g] = (rng % 3 == 0) ? 0 : (uint32_t)(rng % 5000);
            noise();
            total += counts[g];
        }
        reco_apportion(counts, groups, slots, alloc);
        uint64_t sum = 0;
        for (size_t g = 0; g < groups; g++) {
            sum += alloc[g];
            if (total) {
                double exact = (double)slots * counts[g] / (double)total;
                if (fabs(alloc[g] - exact) >= 1.0)
                    fail_msg("trial %d group %zu: %u slots for a quota of %.3f", trial, g, alloc[g],
                             exact);
            }
        }
        assert_int_equal(sum, total ? slots : 0);
    }
    /* Ties go to the lower index. */
    uint32_t even[3] = {1, 1, 1}, out[3];
    reco_apportion(even, 3, 4, out);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 1);
    assert_int_equal(out[2], 1);
}

/* Saved tracks by id: `count` rows starting at `first`. */
static size_t saved_by_id(const struct fixture *f, struct reco_saved *saved, size_t at,
                          uint32_t first, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        memset(&saved[at + i], 0, sizeof saved[0]);
        saved[at + i].id = f->ids[first + i];
    }
    return at + count;
}

static uint64_t song_key(const struct model *m, uint32_t row)
{
    char title[256], artist[256];
    model_normalize(model_row_name(m, row), true, title, sizeof title);
    model_normalize(model_row_artists(m, row), false, artist, sizeof artist);
    uint64_t h = 1469598103934665603ull;
    for (const char *p = title; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (const char *p = artist; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

/* The rules every output must keep: no saved song, no song twice, the artist cap. */
static void check_rules(const struct fixture *f, const struct reco_saved *saved, size_t n_saved,
                        const struct reco_result *res, uint32_t cap)
{
    const struct model *m = f->model;
    for (uint32_t i = 0; i < res->n_picks; i++) {
        uint32_t row = res->picks[i].row;
        assert_true(row < m->n_rows);
        uint64_t key = song_key(m, row);
        for (size_t s = 0; s < n_saved; s++) {
            uint32_t saved_row = saved[s].id ? model_find_id(m, saved[s].id) : MODEL_NO_ROW;
            if (saved_row != MODEL_NO_ROW && song_key(m, saved_row) == key)
                fail_msg("pick %u (%s) is saved track %zu", i, model_row_name(m, row), s);
        }
        uint32_t same_artist = 0;
        for (uint32_t j = 0; j < res->n_picks; j++) {
            if (j != i && song_key(m, res->picks[j].row) == key)
                fail_msg("picks %u and %u are the same song", i, j);
            if (model_row_artist_key(m, res->picks[j].row) == model_row_artist_key(m, row))
                same_artist++;
        }
        if (same_artist > cap)
            fail_msg("%u picks by %s, cap %u", same_artist, model_row_artists(m, row), cap);
        assert_true(res->picks[i].cluster == model_row_cluster(m, row));
        assert_true(res->picks[i].because >= 0 && (size_t)res->picks[i].because < n_saved);
    }
}

static void test_shares_rules_and_order(void **state)
{
    struct fixture *f = *state;
    static struct reco_saved saved[64];
    size_t n = saved_by_id(f, saved, 0, 0, 30);    /* cluster 0, incl. the Prolific ones */
    n = saved_by_id(f, saved, n, PER + 10, 15);    /* cluster 1 */
    n = saved_by_id(f, saved, n, 2 * PER + 5, 10); /* cluster 2 */
    struct reco_options opts = {.n = 20};
    struct reco_result res;
    char err[256];
    assert_int_equal(recommend(f->model, saved, n, &opts, &res, err, sizeof err), RECO_OK);
    assert_int_equal(res.n_picks, 20);
    check_rules(f, saved, n, &res, RECO_DEFAULT_MAX_PER_ARTIST);
    assert_int_equal(res.stats.saved, 55);
    assert_int_equal(res.stats.by_id, 55);
    /* Three styles (each at least STYLE_MIN_SHARE_PERCENT), shares 30:15:10 of 20 slots: 10.9,
     * 5.45, 3.6 by largest remainder 11, 5, 4. */
    uint32_t per_cluster[K] = {0};
    for (uint32_t i = 0; i < res.n_picks; i++)
        per_cluster[res.picks[i].cluster]++;
    assert_int_equal(per_cluster[0], 11);
    assert_int_equal(per_cluster[1], 5);
    assert_int_equal(per_cluster[2], 4);
    assert_int_equal(res.n_clusters, 3);
    for (uint32_t c = 0; c < res.n_clusters; c++) {
        const struct reco_cluster_share *sh = &res.clusters[c];
        assert_int_equal(sh->slots, per_cluster[sh->cluster]);
        assert_float_equal(sh->library_share, (float)sh->saved / 55.0f, 1e-6);
        assert_float_equal(sh->playlist_share, (float)sh->slots / 20.0f, 1e-6);
    }
    /* Interleaved: no cluster fills the first five places, and within a cluster the order
     * is by score. */
    uint32_t first_five_c0 = 0;
    for (uint32_t i = 0; i < 5; i++)
        first_five_c0 += res.picks[i].cluster == 0;
    assert_true(first_five_c0 < 5);
    for (uint32_t i = 0; i < res.n_picks; i++)
        for (uint32_t j = i + 1; j < res.n_picks; j++)
            if (res.picks[i].cluster == res.picks[j].cluster)
                assert_true(res.picks[i].score >= res.picks[j].score);
    reco_result_free(&res);
}

static void test_artist_cap_and_same_song(void **state)
{
    struct fixture *f = *state;
    /* Saving row 1 ("Song 1" by Prolific) must keep out "Song 1 (Live)"; the Prolific rows
     * 0..19 are all near the user's mean. */
    static struct reco_saved saved[4];
    size_t n = saved_by_id(f, saved, 0, 1, 1);
    n = saved_by_id(f, saved, n, 21, 2);
    static const uint32_t caps[] = {1, 3, 10};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        struct reco_options opts = {.n = 30, .max_per_artist = caps[c]};
        struct reco_result res;
        char err[256];
        assert_int_equal(recommend(f->model, saved, n, &opts, &res, err, sizeof err), RECO_OK);
        assert_int_equal(res.n_picks, 30);
        check_rules(f, saved, n, &res, caps[c]);
        for (uint32_t i = 0; i < res.n_picks; i++)
            assert_int_not_equal(res.picks[i].row, model_find_id(f->model, f->ids[LIVE_ROW]));
        reco_result_free(&res);
    }
}

static void test_hand_over(void **state)
{
    struct fixture *f = *state;
    /* Half the user's tracks sit in the 6-row cluster 3: it cannot give its share (25), so the
     * rest goes to cluster 0 and the playlist still has 50. */
    static struct reco_saved saved[16];
    size_t n = saved_by_id(f, saved, 0, 3 * PER, 4);
    n = saved_by_id(f, saved, n, 40, 4);
    struct reco_options opts = {.n = 50};
    struct reco_result res;
    char err[256];
    assert_int_equal(recommend(f->model, saved, n, &opts, &res, err, sizeof err), RECO_OK);
    assert_int_equal(res.n_picks, 50);
    check_rules(f, saved, n, &res, RECO_DEFAULT_MAX_PER_ARTIST);
    uint32_t in_small = 0;
    for (uint32_t i = 0; i < res.n_picks; i++)
        in_small += res.picks[i].cluster == 3;
    assert_int_equal(in_small, SMALL - 4); /* everything left there */
    reco_result_free(&res);

    /* More than the whole catalog can give: every eligible song, and no more. */
    opts.n = RECO_MAX_N;
    opts.max_per_artist = 1000;
    assert_int_equal(recommend(f->model, saved, n, &opts, &res, err, sizeof err), RECO_OK);
    /* All but the 8 saved, and the studio and live "Song 1" count as one song. */
    assert_int_equal(res.n_picks, N_ROWS - 8 - 1);
    check_rules(f, saved, n, &res, 1000);
    reco_result_free(&res);
}

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

/* A library whose every song has a live version in the catalog (the same song: same artist,
 * title without "(Live)"): the artists-first ranking puts those versions first, and the
 * same-song rule turns each away. With n = 1 and n = 50 the request must end (an earlier
 * version kept an entry per turned-away artist in a map sized for the picks, and spun once it
 * was full), give only songs that are neither saved nor a version of one, and fill n. */
static void test_live_versions_of_saved_songs(void **state)
{
    (void)state;
    enum { ARTISTS = 200, OTHERS = 120, ROWS = 2 * ARTISTS + OTHERS };
    static struct model_build_row rows[ROWS];
    static float scaled[ROWS * DIMS];
    static char ids[ROWS][23], names[ROWS][32], artists[ROWS][24];
    static const char *artist_lists[ROWS][1];
    static const float centroids[2 * DIMS] = {3, 0, 0, 0, 0, 3, 0, 0};
    for (uint32_t r = 0; r < ROWS; r++) {
        uint32_t a = r < 2 * ARTISTS ? r / 2 : ARTISTS + (r - 2 * ARTISTS);
        bool live = r < 2 * ARTISTS && r % 2 == 1;
        snprintf(ids[r], sizeof ids[r], "L%021u", r);
        snprintf(names[r], sizeof names[r], "Song %u%s", a, live ? " (Live)" : "");
        snprintf(artists[r], sizeof artists[r], "Band %u", a);
        artist_lists[r][0] = artists[r];
        uint32_t c = a % 2;
        rows[r] = (struct model_build_row){.id = ids[r],
                                           .name = names[r],
                                           .artists = artist_lists[r],
                                           .n_artists = 1,
                                           .duration_ms = 200000 + (live ? 30000 : 0),
                                           .cluster = c};
        for (uint32_t d = 0; d < DIMS; d++)
            scaled[r * DIMS + d] = centroids[c * DIMS + d] + (float)noise();
    }
    struct model_build b;
    memset(&b, 0, sizeof b);
    b.n_rows = ROWS;
    b.k = 2;
    linear_dims(&b);
    b.centroids = centroids;
    b.scaled = scaled;
    b.rows = rows;
    struct model *m = open_test_model(&b, "recommend_live");
    assert_non_null(m);
    static struct reco_saved saved[ARTISTS];
    for (uint32_t a = 0; a < ARTISTS; a++) {
        memset(&saved[a], 0, sizeof saved[a]);
        saved[a].id = ids[2 * a]; /* the studio version */
    }
    static const enum reco_ranking RANKINGS[] = {RECO_RANK_DEFAULT, RECO_RANK_MEAN_COSINE,
                                                 RECO_RANK_VOTES_AND_ARTISTS};
    for (size_t k = 0; k < sizeof RANKINGS / sizeof RANKINGS[0]; k++) {
        for (uint32_t want = 1; want <= 50; want += 49) {
            struct reco_options opts = {.n = want, .ranking = RANKINGS[k]};
            struct reco_result res;
            char err[256];
            assert_int_equal(recommend(m, saved, ARTISTS, &opts, &res, err, sizeof err), RECO_OK);
            assert_int_equal(res.n_picks, want);
            for (uint32_t i = 0; i < res.n_picks; i++)
                if (res.picks[i].row < m->n_rows &&
                    strncmp(model_row_artists(m, res.picks[i].row), "Band", 4) == 0 &&
                    atoi(model_row_artists(m, res.picks[i].row) + 5) < ARTISTS)
                    fail_msg("ranking %d: pick %u is %s by %s, a version of a saved song",
                             (int)RANKINGS[k], i, model_row_name(m, res.picks[i].row),
                             model_row_artists(m, res.picks[i].row));
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

static void test_resolution(void **state)
{
    struct fixture *f = *state;
    static struct reco_saved saved[6];
    memset(saved, 0, sizeof saved);
    saved[0].id = f->ids[PER + 1];          /* by id */
    saved[1].id = "0000000000000000000000"; /* unknown id, known ISRC */
    saved[1].isrc = f->isrcs[PER + 2];
    saved[2].name = "song 103"; /* by title + artist */
    saved[2].artists[0] = f->artist_names[PER + 3];
    saved[2].n_artists = 1;
    saved[3].raw.present = (1u << FEAT_VALENCE) | (1u << FEAT_ENERGY); /* by features */
    saved[3].raw.value[FEAT_VALENCE] = 0.1;
    saved[3].raw.value[FEAT_ENERGY] = 2.9;
    saved[4].name = "Nothing Like It"; /* unmatched */
    saved[4].raw.present = 1u << FEAT_YEAR;
    saved[4].raw.value[FEAT_YEAR] = 1999;
    struct reco_options opts = {0};
    struct reco_result res;
    char err[256];
    assert_int_equal(recommend(f->model, saved, 5, &opts, &res, err, sizeof err), RECO_OK);
    assert_int_equal(res.stats.saved, 5);
    assert_int_equal(res.stats.by_id, 1);
    assert_int_equal(res.stats.by_isrc, 1);
    assert_int_equal(res.stats.by_title, 1);
    assert_int_equal(res.stats.by_features, 1);
    assert_int_equal(res.stats.unmatched, 1);
    assert_int_equal(res.n_picks, RECO_DEFAULT_N);
    for (uint32_t i = 0; i < res.n_picks; i++) {
        /* Everything resolved is in cluster 1: one style, so the flat ranking, with songs by
         * the artists of saved[0..2] (from any cluster) first and then cluster 1's. */
        uint32_t key = model_row_artist_key(f->model, res.picks[i].row);
        bool artist = false;
        for (uint32_t r = PER + 1; r <= PER + 3; r++)
            artist |= key == model_row_artist_key(f->model, model_find_id(f->model, f->ids[r]));
        assert_int_equal(res.picks[i].reason,
                         artist ? RECO_REASON_SAME_ARTIST : RECO_REASON_SIMILAR_SOUND);
        if (!artist)
            assert_int_equal(res.picks[i].cluster, 1);
        assert_true(res.picks[i].row != model_find_id(f->model, f->ids[PER + 1]));
        assert_true(res.picks[i].row != model_find_id(f->model, f->ids[PER + 2]));
        assert_true(res.picks[i].row != model_find_id(f->model, f->ids[PER + 3]));
        assert_true(res.picks[i].because != 4);
    }
    reco_result_free(&res);
}

static void test_statuses_and_limits(void **state)
{
    struct fixture *f = *state;
    static struct reco_saved saved[RECO_MAX_SAVED + 1];
    memset(saved, 0, sizeof saved);
    char long_text[RECO_MAX_TEXT + 2];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    struct reco_saved unknown = {.id = "zzzzzzzzzzzzzzzzzzzzzz"};
    struct reco_saved good = {.id = f->ids[5]};
    /* A title or artist over RECO_MAX_TEXT is real data: ignored for matching, never an error
     * (the id still matches); an id or ISRC that long is refused. */
    struct reco_saved long_name = {.id = f->ids[5], .name = long_text};
    struct reco_saved long_artist = {
        .id = f->ids[5], .name = "x", .artists = {long_text}, .n_artists = 1};
    struct reco_saved long_title_only = {.name = long_text, .artists = {"A"}, .n_artists = 1};
    struct reco_saved long_id = {.id = long_text};
    struct reco_saved long_isrc = {.id = f->ids[5], .isrc = long_text};
    struct reco_saved many_artists = {.id = f->ids[5], .n_artists = RECO_MAX_ARTISTS + 1};
    struct reco_saved not_finite = {.id = f->ids[5]};
    not_finite.raw.present = 1u << FEAT_TEMPO;
    not_finite.raw.value[FEAT_TEMPO] = NAN;
    const struct {
        const char *what;
        const struct reco_saved *saved;
        size_t n;
        struct reco_options opts;
        enum reco_status want;
        const char *says;
    } cases[] = {
        {"no saved", &good, 0, {0}, RECO_ERR_NO_SAVED, "saved: no saved tracks"},
        {"none resolve", &unknown, 1, {0}, RECO_ERR_NO_MATCH, "none of the 1 saved"},
        {"too many saved",
         saved,
         RECO_MAX_SAVED + 1,
         {0},
         RECO_ERR_TOO_LARGE,
         "exceeds the limit of 20000"},
        {"n too big",
         &good,
         1,
         {.n = RECO_MAX_N + 1},
         RECO_ERR_INVALID,
         "n: 501 exceeds the limit of 500"},
        {"long name, matched by id", &long_name, 1, {0}, RECO_OK, ""},
        {"long artist, matched by id", &long_artist, 1, {0}, RECO_OK, ""},
        {"long title, nothing else", &long_title_only, 1, {0}, RECO_ERR_NO_MATCH, "none of"},
        {"long id", &long_id, 1, {0}, RECO_ERR_INVALID, "saved[0].id: longer than the limit"},
        {"long isrc", &long_isrc, 1, {0}, RECO_ERR_INVALID, "saved[0].isrc: longer than"},
        {"many artists",
         &many_artists,
         1,
         {0},
         RECO_ERR_INVALID,
         "saved[0].artists: 17 exceeds the limit of 16"},
        {"not finite", &not_finite, 1, {0}, RECO_ERR_INVALID, "saved[0].features.tempo"},
        {"bad ranking", &good, 1, {.ranking = (enum reco_ranking)9}, RECO_ERR_INVALID, "ranking"},
        {"one past the last ranking",
         &good,
         1,
         {.ranking = (enum reco_ranking)(RECO_RANK_FLAT + 1)},
         RECO_ERR_INVALID,
         "ranking: 8 is not a known ranking (0..7)"},
        {"last ranking", &good, 1, {.ranking = RECO_RANK_FLAT}, RECO_OK, ""},
        {"discover below 0",
         &good,
         1,
         {.discover = -0.01f},
         RECO_ERR_INVALID,
         "discover: -0.01 is outside 0..1"},
        {"discover above 1",
         &good,
         1,
         {.discover = 1.5f},
         RECO_ERR_INVALID,
         "discover: 1.5 is outside 0..1"},
        {"discover NaN", &good, 1, {.discover = NAN}, RECO_ERR_INVALID, "discover: nan"},
        {"discover 1", &good, 1, {.discover = 1.0f}, RECO_OK, ""},
        {"energy above 1",
         &good,
         1,
         {.energy = {true, 1.2f}},
         RECO_ERR_INVALID,
         "target.energy: 1.2 is outside 0..1"},
        {"energy below 0", &good, 1, {.energy = {true, -0.5f}}, RECO_ERR_INVALID, "target.energy"},
        {"energy NaN", &good, 1, {.energy = {true, NAN}}, RECO_ERR_INVALID, "target.energy"},
        {"energy unset, value ignored", &good, 1, {.energy = {false, 7.0f}}, RECO_OK, ""},
        {"valence", &good, 1, {.valence = {true, 2.0f}}, RECO_ERR_INVALID, "target.valence"},
        {"danceability",
         &good,
         1,
         {.danceability = {true, -1.0f}},
         RECO_ERR_INVALID,
         "target.danceability"},
        {"tempo 0",
         &good,
         1,
         {.tempo = {true, 0.0f}},
         RECO_ERR_INVALID,
         "target.tempo: 0 is outside 1..300"},
        {"tempo too fast", &good, 1, {.tempo = {true, 301.0f}}, RECO_ERR_INVALID, "target.tempo"},
        {"tempo infinite", &good, 1, {.tempo = {true, INFINITY}}, RECO_ERR_INVALID, "target.tempo"},
        {"targets at their limits",
         &good,
         1,
         {.energy = {true, 1.0f}, .valence = {true, 0.0f}, .tempo = {true, RECO_MAX_TEMPO}},
         RECO_OK,
         ""},
        {"year before 1900",
         &good,
         1,
         {.year_from = 1899},
         RECO_ERR_INVALID,
         "years: 1899 is outside 1900..2100"},
        {"year after 2100",
         &good,
         1,
         {.year_to = 2101},
         RECO_ERR_INVALID,
         "years: 2101 is outside"},
        {"years reversed",
         &good,
         1,
         {.year_from = 2000, .year_to = 1990},
         RECO_ERR_INVALID,
         "years: from 2000 is after to 1990"},
        {"years at the limits", &good, 1, {.year_from = 1900, .year_to = 2100}, RECO_OK, ""},
        {"n at the limit", &good, 1, {.n = RECO_MAX_N}, RECO_OK, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct reco_result res;
        char err[256] = "";
        enum reco_status st =
            recommend(f->model, cases[i].saved, cases[i].n, &cases[i].opts, &res, err, sizeof err);
        if (st != cases[i].want || !strstr(err, cases[i].says))
            fail_msg("%s: got %s '%s'", cases[i].what, reco_strerror(st), err);
        if (st != RECO_OK)
            assert_null(res.picks);
        reco_result_free(&res);
    }
}

/* True when the row's primary artist is the primary artist of one of the saved rows. */
static bool by_any_saved_artist(const struct model *m, uint32_t row, const struct reco_saved *saved,
                                size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t s = saved[i].id ? model_find_id(m, saved[i].id) : MODEL_NO_ROW;
        if (s != MODEL_NO_ROW && model_row_artist_key(m, s) == model_row_artist_key(m, row))
            return true;
    }
    return false;
}

static void test_discover(void **state)
{
    struct fixture *f = *state;
    /* Rows 30..39 of cluster 0: their artists have many other songs. */
    static struct reco_saved saved[10];
    size_t n = saved_by_id(f, saved, 0, 30, 10);
    static const float levels[] = {0.0f, 0.5f, 1.0f};
    for (size_t l = 0; l < 3; l++) {
        struct reco_options opts = {.n = 20, .discover = levels[l]};
        struct reco_result res;
        char err[256];
        assert_int_equal(recommend(f->model, saved, n, &opts, &res, err, sizeof err), RECO_OK);
        assert_int_equal(res.n_picks, 20);
        check_rules(f, saved, n, &res, RECO_DEFAULT_MAX_PER_ARTIST);
        uint32_t familiar = 0, discovered = 0;
        for (uint32_t i = 0; i < res.n_picks; i++) {
            bool artist = by_any_saved_artist(f->model, res.picks[i].row, saved, n);
            familiar += artist;
            assert_int_equal(res.picks[i].reason, artist          ? RECO_REASON_SAME_ARTIST
                                                  : levels[l] > 0 ? RECO_REASON_NEW_ARTIST
                                                                  : RECO_REASON_SIMILAR_SOUND);
            discovered += res.picks[i].reason == RECO_REASON_NEW_ARTIST;
        }
        /* 0: saved artists first (they have more than 20 songs); 0.5: half and half; 1: none. */
        if (levels[l] == 0.0f)
            assert_int_equal(familiar, 20);
        else if (levels[l] == 0.5f)
            assert_true(familiar == 10 && discovered == 10);
        else
            assert_true(familiar == 0 && discovered == 20);
        reco_result_free(&res);
    }
}

static void test_mood_targets(void **state)
{
    struct fixture *f = *state;
    /* Cluster 0's songs have energy (dimension 1) about 0 +- 1; a target of 0.9 draws the
     * picks' mean there, each pick within the window. */
    static struct reco_saved saved[20];
    size_t n = saved_by_id(f, saved, 0, 30, 20);
    static const float targets[] = {0.9f, 0.1f};
    for (size_t t = 0; t < 2; t++) {
        struct reco_options opts = {.n = 10, .energy = {true, targets[t]}};
        struct reco_result res;
        char err[256];
        assert_int_equal(recommend(f->model, saved, n, &opts, &res, err, sizeof err), RECO_OK);
        assert_int_equal(res.n_picks, 10);
        check_rules(f, saved, n, &res, RECO_DEFAULT_MAX_PER_ARTIST);
        double mean = 0;
        for (uint32_t i = 0; i < res.n_picks; i++) {
            float e = model_row_feature(f->model, res.picks[i].row, FEAT_ENERGY);
            assert_true(fabsf(e - targets[t]) <= 0.3f + 1e-6f);
            mean += e / res.n_picks;
        }
        assert_true(fabs(mean - targets[t]) <= 0.08 + 1e-6);
        assert_string_equal(res.short_reason, "");
        reco_result_free(&res);
    }
    /* Tempo far from every song (they sit near 0 or 3): the windows widen, then go, and the
     * playlist is still full: a target steers, it does not filter. */
    struct reco_options far = {.n = 30, .tempo = {true, 250.0f}};
    struct reco_result res;
    char err[256];
    assert_int_equal(recommend(f->model, saved, n, &far, &res, err, sizeof err), RECO_OK);
    assert_int_equal(res.n_picks, 30);
    check_rules(f, saved, n, &res, RECO_DEFAULT_MAX_PER_ARTIST);
    reco_result_free(&res);
}

static void test_filters(void **state)
{
    struct fixture *f = *state;
    static struct reco_saved saved[20];
    size_t n = saved_by_id(f, saved, 0, 30, 20);
    /* Years 1970..1972: rows with r % 60 in 10..12; with no artist cap every one of them is a
     * pick, and nothing else. */
    struct reco_options years = {
        .n = 50, .max_per_artist = 1000, .year_from = 1970, .year_to = 1972};
    struct reco_result res;
    char err[256];
    assert_int_equal(recommend(f->model, saved, n, &years, &res, err, sizeof err), RECO_OK);
    uint32_t expect = 0;
    for (uint32_t r = 0; r < N_ROWS; r++)
        expect += r % 60 >= 10 && r % 60 <= 12 && !(r >= 30 && r < 50);
    assert_int_equal(res.n_picks, expect);
    assert_true(expect < 50);
    for (uint32_t i = 0; i < res.n_picks; i++) {
        uint16_t y = model_row_year(f->model, res.picks[i].row);
        assert_true(y >= 1970 && y <= 1972);
    }
    if (!strstr(res.short_reason, "from 1970-1972"))
        fail_msg("short reason: '%s'", res.short_reason);
    reco_result_free(&res);

    /* No explicit songs: every third row is explicit, none is picked. */
    struct reco_options clean = {.n = 50, .no_explicit = true};
    assert_int_equal(recommend(f->model, saved, n, &clean, &res, err, sizeof err), RECO_OK);
    assert_int_equal(res.n_picks, 50);
    for (uint32_t i = 0; i < res.n_picks; i++)
        assert_false(model_row_explicit(f->model, res.picks[i].row));
    assert_string_equal(res.short_reason, "");
    reco_result_free(&res);

    /* Both, and new artists only: short, and the reason names all three. */
    struct reco_options all = {
        .n = 50, .no_explicit = true, .year_from = 1970, .year_to = 1972, .discover = 1.0f};
    assert_int_equal(recommend(f->model, saved, n, &all, &res, err, sizeof err), RECO_OK);
    assert_true(res.n_picks < expect);
    for (uint32_t i = 0; i < res.n_picks; i++) {
        uint32_t row = res.picks[i].row;
        assert_false(model_row_explicit(f->model, row));
        assert_false(by_any_saved_artist(f->model, row, saved, n));
    }
    if (!strstr(res.short_reason, "1970-1972 without explicit lyrics by artists you have not"))
        fail_msg("short reason: '%s'", res.short_reason);
    reco_result_free(&res);
}

static void test_variety_varies(void **state)
{
    struct fixture *f = *state;
    static struct reco_saved saved[60];
    size_t n = saved_by_id(f, saved, 0, 0, 30);
    n = saved_by_id(f, saved, n, PER, 30);
    struct reco_result res[3];
    char err[256];
    for (uint64_t v = 0; v < 3; v++) {
        struct reco_options opts = {.n = 20, .variety = v};
        assert_int_equal(recommend(f->model, saved, n, &opts, &res[v], err, sizeof err), RECO_OK);
        assert_int_equal(res[v].n_picks, 20);
    }
    /* Each pair shares at most 40% of its songs. */
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++) {
            uint32_t common = 0;
            for (uint32_t i = 0; i < 20; i++)
                for (uint32_t j = 0; j < 20; j++)
                    common += res[a].picks[i].row == res[b].picks[j].row;
            if (common > 8)
                fail_msg("variety %d and %d share %u of 20", a, b, common);
        }
    for (int v = 0; v < 3; v++)
        reco_result_free(&res[v]);
}

static void test_artist_only_and_decades(void **state)
{
    struct fixture *f = *state;
    static struct reco_saved saved[3];
    memset(saved, 0, sizeof saved);
    /* Not in the catalog, but by an artist who is: placed among "Artist 5"'s songs. */
    saved[0].name = "A Song The Catalog Lacks";
    saved[0].artists[0] = "Artist 5";
    saved[0].n_artists = 1;
    saved[0].raw.present = 1u << FEAT_YEAR;
    saved[0].raw.value[FEAT_YEAR] = 1999;
    saved[1].id = f->ids[PER + 7]; /* by id, year 2021 */
    saved[1].raw.present = 1u << FEAT_YEAR;
    saved[1].raw.value[FEAT_YEAR] = 2021;
    saved[2].name = "Nobody Knows"; /* unknown artist, no year */
    saved[2].artists[0] = "Nobody At All";
    saved[2].n_artists = 1;
    struct reco_options opts = {.n = 10};
    struct reco_result res;
    char err[256];
    assert_int_equal(recommend(f->model, saved, 3, &opts, &res, err, sizeof err), RECO_OK);
    assert_int_equal(res.stats.by_id, 1);
    assert_int_equal(res.stats.by_artist, 1);
    assert_int_equal(res.stats.unmatched, 1);
    assert_int_equal(res.stats.decade_saved[0], 1); /* no year */
    assert_int_equal(res.stats.decade_saved[5], 1); /* 1990s */
    assert_int_equal(res.stats.decade_saved[RECO_DECADES - 1], 1);
    assert_int_equal(res.stats.decade_artist[5], 1);
    assert_int_equal(res.stats.decade_song[RECO_DECADES - 1], 1);
    assert_int_equal(res.stats.decade_song[5], 0);
    /* "Artist 5"'s songs feed the saved-artists rule. */
    uint32_t key = model_find_artist(f->model, "Artist 5");
    assert_int_not_equal(key, MODEL_NO_ROW);
    uint32_t by_artist5 = 0;
    for (uint32_t i = 0; i < res.n_picks; i++)
        if (model_row_artist_key(f->model, res.picks[i].row) == key) {
            by_artist5++;
            assert_int_equal(res.picks[i].reason, RECO_REASON_SAME_ARTIST);
        }
    assert_int_equal(by_artist5, RECO_DEFAULT_MAX_PER_ARTIST);
    uint32_t saved_total = 0;
    for (uint32_t c = 0; c < res.n_clusters; c++)
        saved_total += res.clusters[c].saved;
    assert_int_equal(saved_total, 2); /* the id match and the artist-only one */
    reco_result_free(&res);

    /* Only an artist-only match: still a playlist. Nothing at all: NO_MATCH, saying why. */
    assert_int_equal(recommend(f->model, saved, 1, &opts, &res, err, sizeof err), RECO_OK);
    assert_int_equal(res.n_picks, 10);
    reco_result_free(&res);
    assert_int_equal(recommend(f->model, saved + 2, 1, &opts, &res, err, sizeof err),
                     RECO_ERR_NO_MATCH);
    assert_non_null(strstr(err, "none of the 1 saved tracks matched"));
}

/* A model without a tempo feature refuses a tempo target, naming it. */
static void test_target_feature_missing(void **state)
{
    (void)state;
    static struct model_build_row rows[8];
    static float scaled[8 * 3];
    static const char *artist[1] = {"Solo"};
    static char ids[8][23], names[8][16];
    static const float centroid[3] = {0, 0, 0};
    for (uint32_t r = 0; r < 8; r++) {
        snprintf(ids[r], sizeof ids[r], "M%021u", r);
        snprintf(names[r], sizeof names[r], "Tune %u", r);
        rows[r] = (struct model_build_row){
            .id = ids[r], .name = names[r], .genre = "", .artists = artist, .n_artists = 1};
        for (uint32_t d = 0; d < 3; d++)
            scaled[r * 3 + d] = (float)((r + d) % 5) - 2.0f;
    }
    struct model_build b;
    memset(&b, 0, sizeof b);
    b.n_rows = 8;
    b.k = 1;
    b.n_dims = 3;
    b.dims[0] = (struct model_build_dim){FEAT_VALENCE, MODEL_DIM_LINEAR, 0.0, 1.0, 1.0};
    b.dims[1] = (struct model_build_dim){FEAT_ENERGY, MODEL_DIM_LINEAR, 0.0, 1.0, 1.0};
    b.dims[2] = (struct model_build_dim){FEAT_DANCEABILITY, MODEL_DIM_LINEAR, 0.0, 1.0, 1.0};
    b.centroids = centroid;
    b.scaled = scaled;
    b.rows = rows;
    struct model *m = open_test_model(&b, "recommend_test_notempo");
    assert_non_null(m);
    struct reco_saved saved = {.id = ids[0]};
    struct reco_options opts = {.n = 3, .tempo = {true, 120.0f}};
    struct reco_result res;
    char err[256] = "";
    assert_int_equal(recommend(m, &saved, 1, &opts, &res, err, sizeof err), RECO_ERR_INVALID);
    assert_string_equal(err, "target.tempo: the model has no tempo feature");
    assert_null(res.picks);
    opts.tempo.set = false;
    opts.energy = (struct reco_target){true, 0.5f};
    assert_int_equal(recommend(m, &saved, 1, &opts, &res, err, sizeof err), RECO_OK);
    assert_int_equal(res.n_picks, 3);
    reco_result_free(&res);
    model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apportion_random),
        cmocka_unit_test(test_shares_rules_and_order),
        cmocka_unit_test(test_artist_cap_and_same_song),
        cmocka_unit_test(test_hand_over),
        cmocka_unit_test(test_rankings_determinism_variety),
        cmocka_unit_test(test_saved_artists_first),
        cmocka_unit_test(test_mean_and_artists_every_path),
        cmocka_unit_test(test_cosine_kernels_agree),
        cmocka_unit_test(test_live_versions_of_saved_songs),
        cmocka_unit_test(test_resolution),
        cmocka_unit_test(test_statuses_and_limits),
        cmocka_unit_test(test_discover),
        cmocka_unit_test(test_mood_targets),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_variety_varies),
        cmocka_unit_test(test_artist_only_and_decades),
        cmocka_unit_test(test_target_feature_missing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
