/* Quality metrics of one playlist for one simulated user: see metrics.h for the definitions. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>

#include "users.h"

static int compare_rows(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

size_t metrics_sort_unique(uint32_t *rows, size_t n)
{
    if (n == 0)
        return 0;
    qsort(rows, n, sizeof *rows, compare_rows);
    size_t kept = 1;
    for (size_t i = 1; i < n; i++)
        if (rows[i] != rows[kept - 1])
            rows[kept++] = rows[i];
    return kept;
}

int metrics_contains(const uint32_t *sorted, size_t n, uint32_t row)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] == row)
            return 1;
        if (sorted[mid] < row)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

void metrics_score(const struct metrics_user *user, const struct genre_set *row_genres,
                   const uint32_t *picks, const uint32_t *artist_keys, uint32_t n_picks,
                   struct metrics *out)
{
    struct metrics m = {.picks = n_picks};
    double q[USERS_MAX_GENRES] = {0};
    double outside = 0;
    uint32_t in_genre = 0, hits = 0, new_hits = 0, hygiene = 0, artists = 0;
    for (uint32_t i = 0; i < n_picks; i++) {
        const struct genre_set *set = &row_genres[picks[i]];
        uint32_t carried = 0;
        for (uint32_t g = 0; g < user->n_genres; g++)
            carried += genre_set_has(set, user->genres[g]);
        if (carried) {
            in_genre++;
            for (uint32_t g = 0; g < user->n_genres; g++)
                if (genre_set_has(set, user->genres[g]))
                    q[g] += 1.0 / carried;
        } else {
            outside += 1;
        }
        hits += metrics_contains(user->held_rows, user->n_held_rows, picks[i]);
        new_hits += metrics_contains(user->held_new_rows, user->n_held_new_rows, picks[i]);
        int repeat = metrics_contains(user->saved_rows, user->n_saved_rows, picks[i]);
        int new_artist = 1;
        for (uint32_t j = 0; j < i; j++) {
            repeat |= picks[j] == picks[i];
            new_artist &= artist_keys[j] != artist_keys[i];
        }
        hygiene += (uint32_t)repeat;
        artists += (uint32_t)new_artist;
    }
    double distance = 0;
    if (n_picks > 0) {
        for (uint32_t g = 0; g < user->n_genres; g++)
            distance += fabs(user->shares[g] - q[g] / n_picks);
        distance += outside / n_picks;
        m.precision = (double)in_genre / n_picks;
        m.fidelity = 0.5 * distance;
    } else {
        m.fidelity = 1;
    }
    m.recall = user->n_held_rows ? (double)hits / user->n_held_rows : 0;
    m.recall_new = user->n_held_new_rows ? (double)new_hits / user->n_held_new_rows : 0;
    m.new_users = user->n_held_new_rows > 0;
    m.artists = artists;
    m.hygiene = hygiene;
    *out = m;
}

void metrics_add(struct metrics *a, const struct metrics *b)
{
    a->precision += b->precision;
    a->fidelity += b->fidelity;
    a->recall += b->recall;
    a->artists += b->artists;
    a->hygiene += b->hygiene;
    a->picks += b->picks;
    a->recall_new += b->recall_new;
    a->new_users += b->new_users;
    a->energy += b->energy;
    a->energy_ok += b->energy_ok;
    a->overlap += b->overlap;
}
