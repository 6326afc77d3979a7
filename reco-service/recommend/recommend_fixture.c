/* The recommendation tests' fixture (recommend_fixture.h): the small model built in code and
 * the helpers the test files share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recommend_fixture.h"

const float CENTERS[K][DIMS] = {{3, 0, 0, 0}, {0, 3, 0, 0}, {0, 0, 3, 0}, {0, 0, 0, 3}};

uint64_t rng = 88172645463325252ull;

double noise(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng % 2001) / 1000.0 - 1.0; /* -1..1 */
}

static uint32_t fixture_cluster_of_row(uint32_t r)
{
    if (r == LIVE_ROW)
        return 0;
    return r < 3 * PER ? r / PER : 3;
}

/* Four linear dimensions: valence, energy, danceability, tempo. */
void linear_dims(struct model_build *b)
{
    static const enum model_feature features[DIMS] = {FEAT_VALENCE, FEAT_ENERGY, FEAT_DANCEABILITY,
                                                      FEAT_TEMPO};
    b->n_dims = DIMS;
    for (uint32_t d = 0; d < DIMS; d++)
        b->dims[d] = (struct model_build_dim){features[d], MODEL_DIM_LINEAR, 0.0, 1.0, 1.0};
}

int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    static struct model_build_row rows[N_ROWS];
    static float scaled[N_ROWS * DIMS];
    static float centroids[K * DIMS];
    for (uint32_t r = 0; r < N_ROWS; r++) {
        uint32_t c = fixture_cluster_of_row(r);
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

int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    model_close(f->model);
    free(f);
    return 0;
}

/* Saved tracks by id: `count` rows starting at `first`. */
size_t saved_by_id(const struct fixture *f, struct reco_saved *saved, size_t at, uint32_t first,
                   uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        memset(&saved[at + i], 0, sizeof saved[0]);
        saved[at + i].id = f->ids[first + i];
    }
    return at + count;
}

uint64_t song_key(const struct model *m, uint32_t row)
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
void check_rules(const struct fixture *f, const struct reco_saved *saved, size_t n_saved,
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

/* True when the row's primary artist is the primary artist of one of the saved rows. */
bool by_any_saved_artist(const struct model *m, uint32_t row, const struct reco_saved *saved,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t s = saved[i].id ? model_find_id(m, saved[i].id) : MODEL_NO_ROW;
        if (s != MODEL_NO_ROW && model_row_artist_key(m, s) == model_row_artist_key(m, row))
            return true;
    }
    return false;
}
