/* Tests of style names, table-driven: centroid names from the strongest deviations and the
 * decade, label names by lift (one or two labels, a second that is a word of the first
 * dropped), too few labelled songs falling back on the centroid, duplicate names made unique,
 * and bad input refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "style.h"

#define DOT " \xc2\xb7 "

/* valence, energy, acousticness, year (mean 1990, std 20), tempo; weight 1 except energy 2. */
static const struct model_build_dim DIMS[] = {
    {FEAT_VALENCE, MODEL_DIM_LINEAR, 0.5, 0.2, 1.0},
    {FEAT_ENERGY, MODEL_DIM_LINEAR, 0.5, 0.2, 2.0},
    {FEAT_ACOUSTICNESS, MODEL_DIM_LINEAR, 0.3, 0.3, 1.0},
    {FEAT_YEAR, MODEL_DIM_LINEAR, 1990, 20, 1.0},
    {FEAT_TEMPO, MODEL_DIM_LINEAR, 120, 30, 1.0},
    {(enum model_feature)0, MODEL_DIM_GENRE, 0, 1, 3.0},
};
#define N_DIMS 6u

static void test_centroid_names(void **state)
{
    (void)state;
    static const struct {
        float centroid[N_DIMS];
        const char *want;
    } CASES[] = {
        /* energy z = -2.4 / 2 = -1.2, acoustic +0.9, valence 0.1 (too weak), 1970 */
        {{0.1f, -2.4f, 0.9f, -1.0f, 0.0f, 5.0f}, "calm" DOT "acoustic" DOT "1970s"},
        /* nothing stands out: balanced, with the decade */
        {{0.1f, 0.2f, -0.1f, 0.0f, 0.2f, 0.0f}, "balanced" DOT "1990s"},
        /* three deviations: the two strongest; the genre dimension never names */
        {{-1.5f, 1.0f, -0.5f, 1.5f, 2.0f, -9.0f}, "fast" DOT "dark" DOT "2020s"},
        /* +0.25 exactly is enough */
        {{0.25f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}, "bright" DOT "1990s"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char name[STYLE_NAME_MAX];
        size_t len = style_name_from_centroid(DIMS, N_DIMS, CASES[i].centroid, name, sizeof name);
        assert_string_equal(name, CASES[i].want);
        assert_int_equal(len, strlen(CASES[i].want));
    }
    /* Without a year dimension there is no decade. */
    char name[STYLE_NAME_MAX];
    float centroid[2] = {0.0f, -1.0f};
    style_name_from_centroid(DIMS, 2, centroid, name, sizeof name);
    assert_string_equal(name, "calm");
    /* A buffer too small for a second part keeps the first whole. */
    char small[8];
    style_name_from_centroid(DIMS, N_DIMS, CASES[0].centroid, small, sizeof small);
    assert_string_equal(small, "calm");
}

struct label_case {
    const char *what;
    uint32_t k, n_rows;
    uint32_t cluster[12];
    const char *labels[12];
    const char *want[3];
    uint32_t labelled;
};

static void test_label_names(void **state)
{
    (void)state;
    static const struct label_case CASES[] = {
        {"two labels by lift, then one",
         2,
         10,
         {0, 0, 0, 0, 0, 1, 1, 1, 1, 1},
         {"jazz\0bossa nova\0", "jazz\0bossa nova\0", "jazz\0bossa nova\0", "jazz\0", "jazz\0",
          "rock\0", "rock\0", "rock\0", "rock\0", "rock\0"},
         {"jazz" DOT "bossa nova", "rock"},
         2},
        {"a second label that is a word of the first is dropped",
         2,
         8,
         {0, 0, 0, 0, 1, 1, 1, 1},
         {"dance pop\0pop\0", "dance pop\0pop\0", "dance pop\0pop\0", "dance pop\0", "metal\0",
          "metal\0", "metal\0", "metal\0"},
         {"dance pop", "metal"},
         2},
        {"too few labelled songs (2 of 9): the centroid names it",
         2,
         12,
         {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1},
         {"jazz\0", "jazz\0", NULL, NULL, NULL, NULL, NULL, NULL, NULL, "rock\0", "rock\0",
          "rock\0"},
         {"calm" DOT "acoustic" DOT "1970s", "rock"},
         1},
        {"a label everywhere lifts nothing: the centroid names it",
         2,
         4,
         {0, 0, 1, 1},
         {"pop\0", "pop\0", "pop\0", "pop\0"},
         {"calm" DOT "acoustic" DOT "1970s", "balanced" DOT "1990s"},
         0},
        {"the same name twice gains centroid words",
         3,
         9,
         {0, 0, 0, 1, 1, 1, 2, 2, 2},
         {"rock\0", "rock\0", "rock\0", "rock\0", "rock\0", "rock\0", "jazz\0", "jazz\0", "jazz\0"},
         {"rock" DOT "calm", "rock", "jazz"}, /* the last of the pair keeps the plain name */
         3},
    };
    static const float CENTROIDS[] = {
        0.1f, -2.4f, 0.9f, -1.0f, 0.0f, 0.0f, /* calm, acoustic, 1970s */
        0.1f, 0.2f,  0.0f, 0.0f,  0.0f, 0.0f, /* balanced, 1990s */
        0.0f, 0.0f,  2.0f, 0.0f,  0.0f, 0.0f, /* acoustic */
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const struct label_case *c = &CASES[i];
        char names[3 * STYLE_NAME_MAX], err[256];
        uint32_t labelled = 99;
        struct style_input in = {.k = c->k,
                                 .n_rows = c->n_rows,
                                 .cluster = c->cluster,
                                 .row_labels = c->labels,
                                 .dims = DIMS,
                                 .n_dims = N_DIMS,
                                 .centroids = CENTROIDS};
        assert_int_equal(style_name_clusters(&in, names, &labelled, err, sizeof err), STYLE_OK);
        for (uint32_t k = 0; k < c->k; k++) {
            if (strcmp(names + k * STYLE_NAME_MAX, c->want[k]) != 0)
                fail_msg("%s: cluster %u named '%s', want '%s'", c->what, k,
                         names + k * STYLE_NAME_MAX, c->want[k]);
        }
        assert_int_equal(labelled, c->labelled);
    }
}

static void test_names_unique(void **state)
{
    (void)state;
    /* Five clusters on one centroid, no labels: every name distinct and not empty; labels in
     * another order count as the same name. */
    enum { K = 5 };
    float centroids[K * N_DIMS] = {0};
    uint32_t cluster[K] = {0, 1, 2, 3, 4};
    char names[K * STYLE_NAME_MAX], err[256];
    struct style_input in = {.k = K,
                             .n_rows = K,
                             .cluster = cluster,
                             .dims = DIMS,
                             .n_dims = N_DIMS,
                             .centroids = centroids};
    assert_int_equal(style_name_clusters(&in, names, NULL, err, sizeof err), STYLE_OK);
    for (int a = 0; a < K; a++) {
        assert_true(names[a * STYLE_NAME_MAX] != '\0');
        for (int b = 0; b < a; b++)
            assert_string_not_equal(names + a * STYLE_NAME_MAX, names + b * STYLE_NAME_MAX);
    }
    const char *labels[4] = {"latin\0tropical\0", "latin\0tropical\0", "tropical\0latin\0",
                             "tropical\0latin\0"};
    uint32_t two[4] = {0, 0, 1, 1};
    in.k = 2;
    in.n_rows = 4;
    in.cluster = two;
    in.row_labels = labels;
    /* Both clusters' labels lift nothing (each is everywhere): centroid names, made unique. */
    assert_int_equal(style_name_clusters(&in, names, NULL, err, sizeof err), STYLE_OK);
    assert_string_not_equal(names, names + STYLE_NAME_MAX);
}

/* Names read back: which share a genre word, and which say nothing of genres. */
static void test_reading_names(void **state)
{
    (void)state;
    static const struct {
        const char *a, *b;
        bool share;
    } pairs[] = {
        {"pop", "pop \xc2\xb7 electropop", true},
        {"indie pop \xc2\xb7 indietronica", "trap \xc2\xb7 pop rap", true},
        {"Hip Hop", "hip-hop", true},
        {"jazz", "metal", false},
        {"edm", "punk \xc2\xb7 reggae", false},
        /* descriptors, decades and numbers are no genre */
        {"pop \xc2\xb7 calm", "rock \xc2\xb7 calm", false},
        {"dark \xc2\xb7 loose \xc2\xb7 2010s", "rock \xc2\xb7 2010s", false},
        {"pop 2", "rock 2", false},
        {"r-n-b", "rock-n-roll", false},
        {"drum and bass", "rock and roll", false},
        {"uk garage", "uk drill", false},
        {"j-pop", "k-pop", true},
        {"", "pop", false},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (style_names_share_genre(pairs[i].a, pairs[i].b) != pairs[i].share ||
            style_names_share_genre(pairs[i].b, pairs[i].a) != pairs[i].share)
            fail_msg("'%s' and '%s': expected %s", pairs[i].a, pairs[i].b,
                     pairs[i].share ? "shared" : "not shared");
    }
    static const struct {
        const char *name;
        bool descriptive;
    } names[] = {
        {"calm \xc2\xb7 acoustic \xc2\xb7 1970s", true},
        {"dark \xc2\xb7 loose \xc2\xb7 2010s", true},
        {"balanced", true},
        {"balanced \xc2\xb7 1990s 2", true},
        {"Energetic \xc2\xb7 Live", true},
        {"jazz \xc2\xb7 bossa nova", false},
        {"pop \xc2\xb7 calm", false},
        {"edm 3", false},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (style_name_is_descriptive(names[i].name) != names[i].descriptive)
            fail_msg("'%s': expected %s", names[i].name,
                     names[i].descriptive ? "descriptive" : "genre");
}

static void test_bad_input(void **state)
{
    (void)state;
    float centroids[N_DIMS] = {0};
    uint32_t cluster[2] = {0, 1};
    char names[STYLE_NAME_MAX], err[256];
    struct style_input in = {.k = 1,
                             .n_rows = 2,
                             .cluster = cluster,
                             .dims = DIMS,
                             .n_dims = N_DIMS,
                             .centroids = centroids};
    assert_int_equal(style_name_clusters(&in, names, NULL, err, sizeof err), STYLE_ERR_INVALID);
    assert_non_null(strstr(err, "row 1 cluster 1 >= k 1"));
    in.k = 0;
    assert_int_equal(style_name_clusters(&in, names, NULL, err, sizeof err), STYLE_ERR_INVALID);
    assert_string_equal(style_strerror(STYLE_ERR_NOMEM), "out of memory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_centroid_names), cmocka_unit_test(test_label_names),
        cmocka_unit_test(test_names_unique),   cmocka_unit_test(test_reading_names),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
