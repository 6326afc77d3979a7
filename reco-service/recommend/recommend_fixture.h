/* The recommendation tests' shared fixture: a small model written in code (four clusters of
 * four linear dimensions, the fourth short of rows, a live version of a saved song), the
 * saved-track helpers and the rules every output must keep. */
#ifndef MIXTAPE_RECOMMEND_FIXTURE_H
#define MIXTAPE_RECOMMEND_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model_build.h"
#include "recommend.h"
#include "fixture_model.h"

#define K        4u
#define PER      100u /* rows in clusters 0..2 */
#define SMALL    6u   /* rows in cluster 3: it runs short */
#define N_ROWS   (3 * PER + SMALL + 1)
#define LIVE_ROW (N_ROWS - 1) /* "Song 1 (Live)": the same song as row 1 */
#define DIMS     4u

extern const float CENTERS[K][DIMS];

struct fixture {
    struct model *model;
    char ids[N_ROWS][23];
    char isrcs[N_ROWS][16];
    char names[N_ROWS][32];
    char artist_names[N_ROWS][32];
    const char *artist_lists[N_ROWS][1];
};

/* The tests' random numbers (xorshift): rng is the state, noise() a value in -1..1. */
extern uint64_t rng;
double noise(void);

/* The fixture's model and names into *state (cmocka group setup); fixture_teardown frees them. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

/* Four linear dimensions: valence, energy, danceability, tempo. */
void linear_dims(struct model_build *b);

/* Saved tracks by id: `count` rows starting at `first`. */
size_t saved_by_id(const struct fixture *f, struct reco_saved *saved, size_t at, uint32_t first,
                   uint32_t count);

uint64_t song_key(const struct model *m, uint32_t row);

/* The rules every output must keep: no saved song, no song twice, the artist cap. */
void check_rules(const struct fixture *f, const struct reco_saved *saved, size_t n_saved,
                 const struct reco_result *res, uint32_t cap);

/* True when the row's primary artist is the primary artist of one of the saved rows. */
bool by_any_saved_artist(const struct model *m, uint32_t row, const struct reco_saved *saved,
                         size_t n);

#endif
