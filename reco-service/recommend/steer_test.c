/* Tests of steering: discover, mood targets, the year and explicit filters (never padded), the
 * variety seed, and a target on a feature the model lacks. */
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
        cmocka_unit_test(test_discover),
        cmocka_unit_test(test_mood_targets),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_variety_varies),
        cmocka_unit_test(test_target_feature_missing),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
