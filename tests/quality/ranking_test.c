/* Tests of the neighbour-vote rankings the quality evaluation chose (recommend.c
 * RECO_RANK_NEIGHBOUR_VOTES and RECO_RANK_VOTES_AND_ARTISTS) on a model written in code: a song
 * three saved tracks agree on beats one a single saved track sits next to, and with artists a
 * distant song by a saved artist comes before both the single-vote song and the rest. */
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

/* Three anchors on a triangle around the origin, each with 9 local rows 1.0 outward; MIDDLE at
 * the origin (0.866 from every anchor); BESIDE 0.1 outward of anchor 1; FAR by anchor 0's
 * artist, far away; then filler rows further out. */
#define N_ANCHORS 3u
#define N_LOCAL   9u
#define MIDDLE    (N_ANCHORS * (1 + N_LOCAL))
#define BESIDE    (MIDDLE + 1)
#define FAR       (MIDDLE + 2)
#define N_ROWS    (MIDDLE + 3 + 10)

struct fixture {
    char path[256];
    struct model *model;
    char ids[N_ROWS][23];
    char names[N_ROWS][32];
    char artists[N_ROWS][32];
    const char *lists[N_ROWS][1];
};

static void place(uint32_t row, float *scaled, uint32_t *anchor_of)
{
    const float radius = 0.866f;
    if (row < N_ANCHORS * (1 + N_LOCAL)) {
        uint32_t a = row / (1 + N_LOCAL), local = row % (1 + N_LOCAL);
        double angle = 1.5708 + 2.0944 * a;
        double out = local == 0 ? 0.0 : 1.0, spread = local == 0 ? 0 : (local - 5.0) * 0.15;
        scaled[2 * row] = (float)(radius * cos(angle) + out * cos(angle + spread));
        scaled[2 * row + 1] = (float)(radius * sin(angle) + out * sin(angle + spread));
        *anchor_of = local == 0 ? a : UINT32_MAX;
    } else if (row == MIDDLE) {
        scaled[2 * row] = scaled[2 * row + 1] = 0;
    } else if (row == BESIDE) {
        double angle = 1.5708 + 2.0944;
        scaled[2 * row] = (float)((radius + 0.1) * cos(angle));
        scaled[2 * row + 1] = (float)((radius + 0.1) * sin(angle));
    } else {
        scaled[2 * row] = 40.0f + (float)row;
        scaled[2 * row + 1] = 40.0f;
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    static struct model_build_row rows[N_ROWS];
    static float scaled[N_ROWS * 2];
    static const float centroid[2] = {0, 0};
    for (uint32_t r = 0; r < N_ROWS; r++) {
        uint32_t anchor = UINT32_MAX;
        place(r, scaled, &anchor);
        snprintf(f->ids[r], sizeof f->ids[r], "R%021u", r);
        snprintf(f->names[r], sizeof f->names[r], "Song %u", r);
        if (anchor != UINT32_MAX)
            snprintf(f->artists[r], sizeof f->artists[r], "Anchor %u", anchor);
        else if (r == FAR)
            snprintf(f->artists[r], sizeof f->artists[r], "Anchor 0");
        else
            snprintf(f->artists[r], sizeof f->artists[r], "Artist %u", r);
        f->lists[r][0] = f->artists[r];
        rows[r] = (struct model_build_row){.id = f->ids[r],
                                           .name = f->names[r],
                                           .artists = f->lists[r],
                                           .n_artists = 1,
                                           .popularity = 50,
                                           .duration_ms = 200000 + r * 7000,
                                           .cluster = 0};
    }
    struct model_build b;
    memset(&b, 0, sizeof b);
    b.n_rows = N_ROWS;
    b.n_dims = 2;
    b.k = 1;
    b.dims[0] = (struct model_build_dim){FEAT_VALENCE, MODEL_DIM_LINEAR, 0.0, 1.0, 1.0};
    b.dims[1] = (struct model_build_dim){FEAT_ENERGY, MODEL_DIM_LINEAR, 0.0, 1.0, 1.0};
    b.centroids = centroid;
    b.scaled = scaled;
    b.rows = rows;
    b.seed = 1;
    b.source = "ranking_test";
    b.schema = "test";
    b.k_choice = "fixed";
    b.tolerance_ms = 1000;
    b.binary_weight = 1.0;
    char err[256];
    snprintf(f->path, sizeof f->path, "/tmp/quality_ranking_test_%d.model", (int)getpid());
    if (model_write(&b, f->path, err, sizeof err) != MODEL_OK ||
        model_open(f->path, &f->model, err, sizeof err) != MODEL_OK) {
        fprintf(stderr, "test model: %s\n", err);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    model_close(f->model);
    unlink(f->path);
    free(f);
    return 0;
}

struct ranking_case {
    const char *name;
    enum reco_ranking ranking;
    uint32_t expect[2]; /* the two picks, as fixture rows, in either order */
};

static const struct ranking_case CASES[] = {
    {"votes: the song all three agree on, then the one beside an anchor",
     RECO_RANK_NEIGHBOUR_VOTES,
     {MIDDLE, BESIDE}},
    {"votes and artists: the far song by a saved artist before the single-vote one",
     RECO_RANK_VOTES_AND_ARTISTS,
     {MIDDLE, FAR}},
};

static void test_vote_rankings(void **state)
{
    struct fixture *f = *state;
    struct reco_saved saved[N_ANCHORS];
    memset(saved, 0, sizeof saved);
    for (uint32_t a = 0; a < N_ANCHORS; a++)
        saved[a].id = f->ids[a * (1 + N_LOCAL)];
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const struct ranking_case *c = &CASES[i];
        struct reco_options options = {.n = 2, .ranking = c->ranking};
        struct reco_result result;
        char err[256];
        print_message("case: %s\n", c->name);
        assert_int_equal(recommend(f->model, saved, N_ANCHORS, &options, &result, err, sizeof err),
                         RECO_OK);
        assert_int_equal(result.n_picks, 2);
        for (uint32_t e = 0; e < 2; e++) {
            uint32_t want = model_find_id(f->model, f->ids[c->expect[e]]);
            int found = result.picks[0].row == want || result.picks[1].row == want;
            if (!found)
                fail_msg("%s: row %u not picked (got %s, %s)", c->name, c->expect[e],
                         model_row_id(f->model, result.picks[0].row),
                         model_row_id(f->model, result.picks[1].row));
        }
        reco_result_free(&result);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vote_rankings, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
