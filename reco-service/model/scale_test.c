/* Tests of scaling: feature lists parse (and unknown names are refused by name), standardisation
 * matches a hand computation (population standard deviation, missing values as the mean), only
 * canonical songs count, features the catalog lacks or holds constant are dropped, key on the
 * circle takes two dimensions, and the binary weight scales explicit and mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "scale.h"

static void test_parse_features(void **state)
{
    (void)state;
    static const struct {
        const char *list;
        enum scale_status rc;
        uint32_t mask;
        const char *err_has;
    } CASES[] = {
        {"all", SCALE_OK, SCALE_ALL_FEATURES, NULL},
        {"valence", SCALE_OK, 1u << FEAT_VALENCE, NULL},
        {"tempo,key,valence", SCALE_OK,
         (1u << FEAT_TEMPO) | (1u << FEAT_KEY) | (1u << FEAT_VALENCE), NULL},
        {"tempo,nope", SCALE_ERR_INVALID, 0, "unknown feature 'nope'"},
        {"tempo,,key", SCALE_ERR_INVALID, 0, "empty"},
        {"", SCALE_ERR_INVALID, 0, "no feature"},
        {"averyveryveryveryverylongfeaturename", SCALE_ERR_INVALID, 0, "overlong"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        uint32_t mask = 0;
        char err[256] = "";
        assert_int_equal(scale_parse_features(CASES[i].list, &mask, err, sizeof err), CASES[i].rc);
        if (CASES[i].rc == SCALE_OK)
            assert_int_equal(mask, CASES[i].mask);
        else if (!strstr(err, CASES[i].err_has))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, CASES[i].err_has);
    }
}

/* Four tracks, the last a duplicate release of the first; valence, key, mode, tempo known;
 * tempo constant; track 2 has no key. */
static struct catalog_track TRACKS[4];
static struct catalog CATALOG;

static void fill_catalog(void)
{
    static const double VALENCE[4] = {0.1, 0.5, 0.9, 0.3};
    static const double KEY[4] = {0, 3, -1, 0};
    static const double MODE[4] = {1, 0, 1, 1};
    memset(TRACKS, 0, sizeof TRACKS);
    for (uint32_t i = 0; i < 4; i++) {
        TRACKS[i].value[FEAT_VALENCE] = VALENCE[i];
        TRACKS[i].value[FEAT_KEY] = KEY[i];
        TRACKS[i].value[FEAT_MODE] = MODE[i];
        TRACKS[i].value[FEAT_TEMPO] = 120;
        TRACKS[i].present = (1u << FEAT_VALENCE) | (1u << FEAT_MODE) | (1u << FEAT_TEMPO) |
                            (KEY[i] >= 0 ? 1u << FEAT_KEY : 0);
        TRACKS[i].canonical = i == 3 ? 0 : i;
    }
    CATALOG = (struct catalog){.schema = "test",
                               .available = (1u << FEAT_VALENCE) | (1u << FEAT_KEY) |
                                            (1u << FEAT_MODE) | (1u << FEAT_TEMPO),
                               .tracks = TRACKS,
                               .n_tracks = 4};
}

static void test_standardisation(void **state)
{
    (void)state;
    fill_catalog();
    struct scale_options o = {.requested = 0, .key_circle = false, .binary_weight = 2.0};
    struct scale s;
    char err[256];
    assert_int_equal(scale_build(&CATALOG, &o, &s, err, sizeof err), SCALE_OK);
    /* Used: valence, key, mode (tempo is constant); dropped: tempo and the 11 the catalog lacks. */
    assert_int_equal(s.n_dims, 3);
    assert_int_equal(s.used, (1u << FEAT_VALENCE) | (1u << FEAT_KEY) | (1u << FEAT_MODE));
    assert_true(s.dropped & (1u << FEAT_TEMPO));
    assert_true(s.dropped & (1u << FEAT_YEAR));
    assert_int_equal(s.n_rows, 3);
    assert_int_equal(s.rows[0], 0);
    assert_int_equal(s.rows[2], 2);
    /* valence over the canonical three: 0.1, 0.5, 0.9 -> mean 0.5, population std sqrt(0.32/3) */
    double std = sqrt(0.32 / 3);
    assert_true(fabs(s.dims[0].mean - 0.5) < 1e-12);
    assert_true(fabs(s.dims[0].std - std) < 1e-12);
    assert_true(fabsf(s.matrix[0 * 3 + 0] - (float)(-0.4 / std)) < 1e-5f);
    /* key: known for two (0, 3) -> mean 1.5; the missing one counts as the mean, so the
     * squares (2.25 + 2.25) are spread over three rows, and its scaled value is 0. */
    assert_true(fabs(s.dims[1].mean - 1.5) < 1e-12);
    assert_true(fabs(s.dims[1].std - sqrt(4.5 / 3)) < 1e-12);
    assert_true(s.matrix[2 * 3 + 1] == 0.0f);
    /* mode: 1, 0, 1 with weight 2. */
    assert_true(fabs(s.dims[2].weight - 2.0) < 1e-12);
    double mode_std = sqrt((2 * (1.0 / 9) + 4.0 / 9) / 3);
    assert_true(fabsf(s.matrix[1 * 3 + 2] - (float)((0 - 2.0 / 3) / mode_std * 2.0)) < 1e-5f);
    assert_true(fabs(s.dims[0].weight - 1.0) < 1e-12);
    scale_free(&s);
}

static void test_key_circle_and_subsets(void **state)
{
    (void)state;
    fill_catalog();
    static const struct {
        uint32_t requested;
        bool circle;
        enum scale_status rc;
        uint32_t n_dims;
    } CASES[] = {
        {(1u << FEAT_KEY), true, SCALE_OK, 2},
        {(1u << FEAT_KEY) | (1u << FEAT_VALENCE), true, SCALE_OK, 3},
        {(1u << FEAT_KEY) | (1u << FEAT_VALENCE), false, SCALE_OK, 2},
        {(1u << FEAT_YEAR), false, SCALE_ERR_NO_FEATURE, 0},  /* the catalog has no year */
        {(1u << FEAT_TEMPO), false, SCALE_ERR_NO_FEATURE, 0}, /* constant */
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        struct scale_options o = {.requested = CASES[i].requested, .key_circle = CASES[i].circle};
        struct scale s;
        char err[256] = "";
        assert_int_equal(scale_build(&CATALOG, &o, &s, err, sizeof err), CASES[i].rc);
        if (CASES[i].rc != SCALE_OK) {
            assert_non_null(strstr(err, "no usable feature"));
            continue;
        }
        assert_int_equal(s.n_dims, CASES[i].n_dims);
        if (CASES[i].circle) {
            uint32_t d = CASES[i].n_dims - 2; /* key comes after valence */
            assert_int_equal(s.dims[d].kind, MODEL_DIM_SIN);
            assert_int_equal(s.dims[d + 1].kind, MODEL_DIM_COS);
            /* key 0: sin 0, cos 1; key 3: sin 1, cos 0 (before scaling). */
            double sin0 = (0.0 - s.dims[d].mean) / s.dims[d].std;
            assert_true(fabsf(s.matrix[0 * s.n_dims + d] - (float)sin0) < 1e-5f);
        }
        scale_free(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_features),
        cmocka_unit_test(test_standardisation),
        cmocka_unit_test(test_key_circle_and_subsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
