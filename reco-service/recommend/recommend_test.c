/* Tests of the recommendation on the fixture's small model: the apportionment sums to n and
 * stays within one slot of each quota; no saved song and no song twice in any output; the artist
 * cap; shares and hand-over; resolution by id, ISRC, title, features and artist alone; the
 * limits and the no-saved / none-matched statuses. */
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
    /* The reply says why cluster 3 is short, and only for it. */
    uint32_t said = 0;
    for (uint32_t i = 0; i < res.n_clusters; i++) {
        assert_int_equal(res.clusters[i].exhausted, res.clusters[i].cluster == 3);
        said += res.clusters[i].exhausted;
    }
    assert_int_equal(said, 1);
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

/* A style whose saved artists run out lends its share to the saved artists of a related style
 * and keeps it from any other. Five clusters on a line (centroids 0, 3, 6, 9 and 12 apart: the
 * median distance is 6, so 0 and 6 are related and 0 and 12 are not). In cluster 0 the 10 saved
 * artists have one more song each; in the other the 10 saved artists have eight more each. Half
 * the library each, 40 slots: 20 and 20. */
static void check_lending(struct model *m, const char (*ids)[23], uint32_t other, uint32_t cap,
                          uint32_t want_first, uint32_t want_other, uint32_t want_first_saved,
                          uint32_t want_other_saved)
{
    enum { PER_STYLE = 100, SAVED = 20 };
    /* One song of each of Duo 0..9 (rows 0, 2, .., 18) and of Band 0..9 of the other cluster
     * (its rows 0, 9, ..). */
    struct reco_saved saved[SAVED];
    for (uint32_t s = 0; s < SAVED / 2; s++) {
        memset(&saved[s], 0, sizeof saved[s]);
        saved[s].id = ids[2 * s];
        memset(&saved[SAVED / 2 + s], 0, sizeof saved[0]);
        saved[SAVED / 2 + s].id = ids[other * PER_STYLE + 9 * s];
    }
    struct reco_options opts = {.n = 40, .max_per_artist = cap};
    struct reco_result res;
    char err[256];
    assert_int_equal(recommend(m, saved, SAVED, &opts, &res, err, sizeof err), RECO_OK);
    assert_int_equal(res.n_picks, 40);
    uint32_t in_first = 0, in_other = 0, first_saved = 0, other_saved = 0;
    for (uint32_t i = 0; i < res.n_picks; i++) {
        uint32_t c = res.picks[i].cluster;
        bool by_saved = res.picks[i].reason == RECO_REASON_SAME_ARTIST;
        assert_true(c == 0 || c == other);
        in_first += c == 0;
        in_other += c == other;
        first_saved += c == 0 && by_saved;
        other_saved += c == other && by_saved;
    }
    assert_int_equal(in_first, want_first);
    assert_int_equal(in_other, want_other);
    assert_int_equal(first_saved, want_first_saved); /* every other song of the saved Duos */
    assert_int_equal(other_saved, want_other_saved);
    for (uint32_t i = 0; i < res.n_clusters; i++)
        assert_false(res.clusters[i].exhausted);
    reco_result_free(&res);
}

/* The five-cluster line of check_lending, its clusters named by `names` (NULL: from their
 * centroids, which say nothing of genres); ids into *ids. */
static struct model *lending_model(const char *const *names, const char (**ids)[23])
{
    enum { STYLES = 5, PER_STYLE = 100, ROWS = STYLES * PER_STYLE };
    static struct model_build_row rows[ROWS];
    static float scaled[ROWS * DIMS];
    static char row_ids[ROWS][23], titles[ROWS][32], artists[ROWS][24];
    static const char *artist_lists[ROWS][1];
    static float centroids[STYLES * DIMS];
    for (uint32_t c = 0; c < STYLES; c++)
        centroids[c * DIMS] = 3.0f * (float)c;
    for (uint32_t r = 0; r < ROWS; r++) {
        uint32_t c = r / PER_STYLE, i = r % PER_STYLE;
        /* Cluster 0: artists of two songs each; the others: artists 0..9 of nine songs each
         * (the first 90 rows), then one-song artists. */
        uint32_t a = c == 0 ? i / 2 : (i < 90 ? i / 9 : i);
        snprintf(row_ids[r], sizeof row_ids[r], "S%021u", r);
        snprintf(titles[r], sizeof titles[r], "Song %u", r);
        snprintf(artists[r], sizeof artists[r], "%s %u-%u", c == 0 ? "Duo" : "Band", c, a);
        artist_lists[r][0] = artists[r];
        rows[r] = (struct model_build_row){.id = row_ids[r],
                                           .name = titles[r],
                                           .artists = artist_lists[r],
                                           .n_artists = 1,
                                           .duration_ms = 200000,
                                           .cluster = c};
        for (uint32_t d = 0; d < DIMS; d++)
            scaled[r * DIMS + d] = centroids[c * DIMS + d] + 0.3f * (float)noise();
    }
    struct model_build b;
    memset(&b, 0, sizeof b);
    b.n_rows = ROWS;
    b.k = STYLES;
    linear_dims(&b);
    b.centroids = centroids;
    b.scaled = scaled;
    b.rows = rows;
    b.cluster_names = names;
    *ids = (const char(*)[23])row_ids;
    return open_test_model(&b, "recommend_lending");
}

static void test_style_lends_only_to_related(void **state)
{
    (void)state;
    const char(*ids)[23];
    struct model *m = lending_model(NULL, &ids);
    assert_non_null(m);
    /* Unrelated (0 and 12 apart): cluster 0 keeps its 20, 10 of them by other artists. (An
     * earlier version handed those 10 to the other style's saved artists: a library of 48% edm
     * whose artists had run out got a playlist without edm.) */
    check_lending(m, ids, 4, 0, 20, 20, 10, 20);
    /* Related (6 apart, names from the sound): its 10 go to the related style's saved artists
     * (30 there, 3 each). */
    check_lending(m, ids, 2, 0, 10, 30, 10, 30);
    /* With 2 per artist the related style's saved artists fill its own 20 and can take none of
     * the 10 lent: the slots are still the related style's, filled from its other songs. */
    check_lending(m, ids, 2, 2, 10, 30, 10, 20);
    model_close(m);
    /* As near, but named by genres that share no word: not related, cluster 0 keeps its 20. */
    static const char *const genres[] = {"jazz", "swing", "metal", "punk", "noise"};
    m = lending_model(genres, &ids);
    assert_non_null(m);
    check_lending(m, ids, 2, 0, 20, 20, 10, 20);
    model_close(m);
    /* Genres that share a word are related again. */
    static const char *const kin[] = {"jazz", "swing", "acid jazz \xc2\xb7 funk", "punk", "noise"};
    m = lending_model(kin, &ids);
    assert_non_null(m);
    check_lending(m, ids, 2, 0, 10, 30, 10, 30);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apportion_random),
        cmocka_unit_test(test_shares_rules_and_order),
        cmocka_unit_test(test_artist_cap_and_same_song),
        cmocka_unit_test(test_hand_over),
        cmocka_unit_test(test_live_versions_of_saved_songs),
        cmocka_unit_test(test_style_lends_only_to_related),
        cmocka_unit_test(test_resolution),
        cmocka_unit_test(test_statuses_and_limits),
        cmocka_unit_test(test_artist_only_and_decades),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
