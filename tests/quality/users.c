/* Simulated users for the quality evaluation: see users.h for what a user is and how it is
 * drawn. */
#include "users.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "splitmix64.h"

const struct user_type USER_TYPES[] = {
    {"1 genre (100)", 1, {1.0}},
    {"2 genres (70/30)", 2, {0.70, 0.30}},
    {"3 genres (50/30/20)", 3, {0.50, 0.30, 0.20}},
    {"5 genres (35/25/20/12/8)", 5, {0.35, 0.25, 0.20, 0.12, 0.08}},
};
const uint32_t USER_N_TYPES = sizeof USER_TYPES / sizeof USER_TYPES[0];

uint64_t rng_next(struct rng *rng)
{
    return splitmix64_next(&rng->state);
}

uint32_t rng_below(struct rng *rng, uint32_t bound)
{
    return (uint32_t)(((rng_next(rng) >> 32) * (uint64_t)bound) >> 32);
}

void users_apportion(const double *shares, uint32_t n, uint32_t total, uint32_t *out)
{
    double sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += shares[i];
    uint32_t given = 0;
    double remainder[USERS_MAX_GENRES] = {0};
    for (uint32_t i = 0; i < n; i++) {
        double exact = sum > 0 ? total * shares[i] / sum : 0;
        out[i] = (uint32_t)floor(exact);
        remainder[i] = exact - out[i];
        given += out[i];
    }
    while (given < total && n > 0) {
        uint32_t best = 0;
        for (uint32_t i = 1; i < n; i++)
            if (remainder[i] > remainder[best])
                best = i;
        out[best]++;
        remainder[best] = -1;
        given++;
    }
}

static int contains(const uint32_t *list, uint32_t n, uint32_t value)
{
    for (uint32_t i = 0; i < n; i++)
        if (list[i] == value)
            return 1;
    return 0;
}

int users_make(const struct labels *labels, uint32_t type, uint32_t index, uint64_t seed,
               uint32_t min_pool, struct sim_user *out)
{
    return users_make_sized(labels, type, index, seed, min_pool, USERS_MIN_LIBRARY, out);
}

int users_make_sized(const struct labels *labels, uint32_t type, uint32_t index, uint64_t seed,
                     uint32_t min_pool, uint32_t min_library, struct sim_user *out)
{
    if (min_library < USERS_MIN_LIBRARY || min_library > USERS_MAX_LIBRARY)
        return -1;
    const struct user_type *kind = &USER_TYPES[type];
    struct rng rng = {seed * 0x100000001b3ull ^ ((uint64_t)type << 48) ^ index};
    rng_next(&rng);
    struct sim_user user = {.type = type, .n_genres = kind->n_genres};
    uint32_t *library = NULL, *pool = NULL;
    uint8_t *taken = NULL;
    int result = -1;

    uint32_t eligible = 0;
    for (uint32_t g = 0; g < labels->n_genres; g++)
        eligible += labels->genre_pool_len[g] >= min_pool;
    if (eligible < kind->n_genres)
        goto done;
    for (uint32_t i = 0; i < kind->n_genres; i++) {
        uint32_t g;
        do {
            g = rng_below(&rng, labels->n_genres);
        } while (labels->genre_pool_len[g] < min_pool || contains(user.genres, i, g));
        user.genres[i] = g;
        user.target[i] = kind->shares[i];
    }
    uint32_t size = min_library + rng_below(&rng, USERS_MAX_LIBRARY - min_library + 1);
    for (uint32_t i = 0; i < kind->n_genres; i++) {
        double fits = floor(labels->genre_pool_len[user.genres[i]] / 2 / kind->shares[i]);
        if (fits < size)
            size = (uint32_t)fits;
    }
    uint32_t counts[USERS_MAX_GENRES];
    users_apportion(kind->shares, kind->n_genres, size, counts);

    library = malloc((size ? size : 1) * sizeof *library);
    taken = calloc(labels->n_ids, 1);
    if (!library || !taken)
        goto done;
    uint32_t n_library = 0;
    for (uint32_t i = 0; i < kind->n_genres; i++) {
        uint32_t g = user.genres[i];
        uint32_t len = labels->genre_pool_len[g];
        free(pool);
        pool = malloc(len * sizeof *pool);
        if (!pool)
            goto done;
        memcpy(pool, labels->genre_pool[g], len * sizeof *pool);
        /* Partial Fisher-Yates; an id already drawn for another genre is skipped. */
        uint32_t drawn = 0;
        for (uint32_t j = 0; j < len && drawn < counts[i]; j++) {
            uint32_t pick = j + rng_below(&rng, len - j);
            uint32_t id = pool[pick];
            pool[pick] = pool[j];
            pool[j] = id;
            if (taken[id])
                continue;
            taken[id] = 1;
            library[n_library++] = id;
            drawn++;
        }
    }
    for (uint32_t i = n_library; i > 1; i--) {
        uint32_t j = rng_below(&rng, i);
        uint32_t id = library[i - 1];
        library[i - 1] = library[j];
        library[j] = id;
    }
    /* Shares as metrics.h measures them: a track carrying several of the user's genres is
     * split evenly between them. */
    for (uint32_t t = 0; t < n_library; t++) {
        const struct genre_set *set = &labels->row_genres[labels->id_row[library[t]]];
        uint32_t carried = 0;
        for (uint32_t i = 0; i < user.n_genres; i++)
            carried += genre_set_has(set, user.genres[i]);
        for (uint32_t i = 0; i < user.n_genres; i++)
            if (carried && genre_set_has(set, user.genres[i]))
                user.shares[i] += 1.0 / carried / n_library;
    }
    user.n_library = n_library;
    user.n_held = n_library * USERS_HELD_PERCENT / 100;
    user.n_saved = n_library - user.n_held;
    user.held = malloc((user.n_held ? user.n_held : 1) * sizeof *user.held);
    if (!user.held)
        goto done;
    memcpy(user.held, library + user.n_saved, user.n_held * sizeof *user.held);
    user.saved = library;
    library = NULL;
    *out = user;
    result = 0;
done:
    free(library);
    free(pool);
    free(taken);
    return result;
}

void users_free(struct sim_user *user)
{
    free(user->saved);
    free(user->held);
    user->saved = NULL;
    user->held = NULL;
}
