/* Simulated users for the quality evaluation: libraries drawn from a few genres in uneven
 * shares, with a share of each library held back from the recommender. A user depends only on
 * (seed, type, index), so results do not depend on threads or on which methods run. */
#ifndef MIXTAPE_QUALITY_USERS_H
#define MIXTAPE_QUALITY_USERS_H

#include <stdint.h>

#include "labels.h"

#define USERS_MAX_GENRES   5u
#define USERS_MIN_LIBRARY  50u
#define USERS_MAX_LIBRARY  1000u
#define USERS_HELD_PERCENT 20u

/* A kind of user: how many genres and the share of each. */
struct user_type {
    const char *name; /* "1 genre (100)", ... */
    uint32_t n_genres;
    double shares[USERS_MAX_GENRES]; /* sum to 1, largest first */
};

extern const struct user_type USER_TYPES[];
extern const uint32_t USER_N_TYPES;

/* One simulated user. Owned by the caller; free with users_free. */
struct sim_user {
    uint32_t type;
    uint32_t n_genres;
    uint32_t genres[USERS_MAX_GENRES]; /* genre indices of labels */
    double target[USERS_MAX_GENRES];   /* the type's shares */
    double shares[USERS_MAX_GENRES];   /* measured on the whole library (see metrics.h) */
    uint32_t n_library;                /* saved + held */
    uint32_t n_saved;                  /* what the recommender sees */
    uint32_t *saved;                   /* n_saved id indices of labels */
    uint32_t n_held;                   /* held back */
    uint32_t *held;                    /* n_held id indices of labels */
};

/* Builds user `index` of type `type`: a library of USERS_MIN_LIBRARY..USERS_MAX_LIBRARY ids
 * (uniform), drawn without replacement from the pools of n distinct random genres in the type's
 * shares (largest remainder). No genre gives more than half of its pool, so the library is
 * shrunk until every share fits; USERS_HELD_PERCENT of it (rounded down) is held back at random.
 * Genres with pools under min_pool ids are never chosen. Returns 0, or -1 when the catalog
 * has too few genres for the type or memory runs out (out untouched). */
int users_make(const struct labels *labels, uint32_t type, uint32_t index, uint64_t seed,
               uint32_t min_pool, struct sim_user *out);

/* The same with libraries of min_library..USERS_MAX_LIBRARY ids before shrinking (users_make is
 * min_library = USERS_MIN_LIBRARY); -1 when min_library is outside that range. */
int users_make_sized(const struct labels *labels, uint32_t type, uint32_t index, uint64_t seed,
                     uint32_t min_pool, uint32_t min_library, struct sim_user *out);

void users_free(struct sim_user *user);

/* Largest-remainder split of total over n shares (ties to the lower index). */
void users_apportion(const double *shares, uint32_t n, uint32_t total, uint32_t *out);

/* A small deterministic generator (splitmix64). */
struct rng {
    uint64_t state;
};
uint64_t rng_next(struct rng *rng);
uint32_t rng_below(struct rng *rng, uint32_t bound); /* uniform in [0, bound), bound > 0 */

#endif
