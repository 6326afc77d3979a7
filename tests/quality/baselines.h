/* The baselines the recommender is measured against, computed over the same model rows:
 * one mean vector over the whole library (with and without exclusions), the original notebook's
 * method as written, the kNN union, and random picks from the user's genres or the catalog. */
#ifndef MIXTAPE_QUALITY_BASELINES_H
#define MIXTAPE_QUALITY_BASELINES_H

#include <stdint.h>

#include "labels.h"
#include "model.h"
#include "users.h"

#define BASELINE_KNN_NEIGHBOURS 10u     /* neighbours taken per saved track by the kNN union */
#define BASELINE_KNN_MAX        30u     /* the most any kNN-union variant takes */
#define BASELINE_MAX_DIMS       64u     /* dimensions of the scaled space the baselines handle */
#define BASELINE_ARTIST_BONUS   100000u /* above any vote count: saved artists' songs first */
#define BASELINE_MAX_PER_ARTIST 3u      /* as RECO_DEFAULT_MAX_PER_ARTIST */

enum baseline {
    BASELINE_MEAN,              /* cosine to the mean of all saved rows; saved rows excluded */
    BASELINE_MEAN_UNFILTERED,   /* the same, nothing excluded */
    BASELINE_NOTEBOOK,          /* per cluster: round(n * share) slots, cosine to the user's mean
                                there, nothing excluded (Python's round: half to even) */
    BASELINE_KNN_UNION,         /* each saved row votes for its BASELINE_KNN_NEIGHBOURS nearest
                                unsaved rows (Euclidean, scaled space); most votes first, then
                                smallest mean distance */
    BASELINE_KNN_UNION_ARTISTS, /* the kNN union with songs by artists the user saved first
                                   (BASELINE_ARTIST_BONUS votes more), at most
                                   BASELINE_MAX_PER_ARTIST picks per primary artist: a check on
                                   how much of RECO_RANK_VOTES_AND_ARTISTS is the artist signal */
    BASELINE_RANDOM_GENRE,      /* random unsaved rows of the user's genres, in the user's shares */
    BASELINE_RANDOM_CATALOG,    /* random unsaved rows of the whole catalog */
    BASELINE_KNN_UNION_3,       /* the kNN union with 3 neighbours per saved track (tuning) */
    BASELINE_KNN_UNION_30,      /* ... and with 30 */
    BASELINE_COUNT
};

/* "mean", "mean-unfiltered", "notebook", "knn-union", "knn-union-artists", "random-genre",
 * "random-catalog", "knn-union-3", "knn-union-30". */
const char *baseline_name(enum baseline baseline);

/* Per-thread working memory sized for one model. */
struct baseline_scratch {
    float *score;    /* n_rows */
    uint32_t *votes; /* n_rows */
    uint8_t *mark;   /* n_rows */
    uint32_t *touched;
    uint32_t n_rows;
};

int baseline_scratch_init(struct baseline_scratch *scratch, uint32_t n_rows);
void baseline_scratch_free(struct baseline_scratch *scratch);

/* Runs one baseline for a user whose saved ids resolve to saved_rows (sorted, unique).
 * Writes the picks (model rows, playlist order) into picks and returns how many: n, or fewer when
 * the catalog runs out, except the notebook, whose rounding may give up to n + model->k; picks
 * must hold n + model->k rows. rng drives the random baselines. Returns UINT32_MAX when the
 * model has more than BASELINE_MAX_DIMS dimensions. Thread-safe with a scratch per thread. */
uint32_t baseline_run(enum baseline baseline, const struct model *model,
                      const struct labels *labels, const struct sim_user *user,
                      const uint32_t *saved_rows, uint32_t n_saved_rows, uint32_t n,
                      struct rng *rng, struct baseline_scratch *scratch, uint32_t *picks);

#endif
