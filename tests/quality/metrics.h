/* Quality metrics of one playlist for one simulated user, and their sums over many users.
 * Definitions (also in README.md):
 *   genre precision  share of picks carrying at least one of the user's genres;
 *   fidelity         total variation distance between the user's genre shares p and the
 *                    playlist's q, with picks outside the user's genres as one more category:
 *                    0.5 * (sum_g |p_g - q_g| + q_other); a track carrying several of the user's
 *                    genres counts 1/m towards each of its m. 0 is perfect, 1 is worst;
 *   recall           held-back songs (model rows of held-back ids that are not also rows of
 *                    saved ids) among the picks, over how many there are;
 *   recall_new       the same for the held-back songs whose primary artist has no saved song
 *                    (discovery: held_new_rows; 0 when the user has none, and such users are
 *                    counted in new_users);
 *   energy, energy_ok, overlap: filled by the caller (mean energy of the picks, 1 when within
 *                    0.1 of a target, share of songs two variety seeds have in common).
 *   artists          distinct primary artists among the picks;
 *   hygiene          picks that are saved songs, plus picks repeating an earlier pick. */
#ifndef MIXTAPE_QUALITY_METRICS_H
#define MIXTAPE_QUALITY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "labels.h"

/* What the metrics need to know of a user. Row arrays are sorted ascending, without repeats. */
struct metrics_user {
    uint32_t n_genres;
    const uint32_t *genres;
    const double *shares; /* p, summing to 1 over the user's genres */
    const uint32_t *saved_rows;
    size_t n_saved_rows;
    const uint32_t *held_rows; /* held-back rows not among saved_rows */
    size_t n_held_rows;
    const uint32_t *held_new_rows; /* those whose primary artist has no saved row (sorted) */
    size_t n_held_new_rows;
};

struct metrics {
    double precision, fidelity, recall, artists, hygiene, picks;
    double recall_new, new_users, energy, energy_ok, overlap;
};

/* Scores picks (model rows, playlist order) with their primary-artist keys. n_picks may be 0
 * (then precision 0, fidelity 1). Pure; thread-safe. */
void metrics_score(const struct metrics_user *user, const struct genre_set *row_genres,
                   const uint32_t *picks, const uint32_t *artist_keys, uint32_t n_picks,
                   struct metrics *out);

/* Adds b into a, field by field. */
void metrics_add(struct metrics *a, const struct metrics *b);

/* Sorts rows ascending and drops repeats in place; returns the new count. */
size_t metrics_sort_unique(uint32_t *rows, size_t n);

/* 1 when row is in the sorted array. */
int metrics_contains(const uint32_t *sorted, size_t n, uint32_t row);

#endif
