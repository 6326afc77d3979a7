/* The songs by the user's saved artists in one state's rows (a cluster, or the whole catalog
 * for the flat ranking), read from the model's artist index (artist_index.h) and scored once
 * per phase, then handed out best first as the phase asks for more: the saved-artists part of
 * RECO_RANK_MEAN_AND_ARTISTS without a pass over the state's rows. Per request, one thread; the
 * memory is the request's arena's (arena.h). */
#ifndef MIXTAPE_ARTIST_POOL_H
#define MIXTAPE_ARTIST_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "artist_index.h"
#include "recommend.h"

/* A scored song. The order is by_rank's (heap.h): higher score first, then lower row. */
struct artist_candidate {
    float score;
    uint32_t row;
};

/* Zero-initialised: empty, not filled. Its arrays come from the arena passed to fill and take
 * and live as long as it (nothing to free): a fill of no more songs than the last, or a reset
 * pool filled again, reuses them. */
struct artist_pool {
    struct artist_candidate *items; /* every song of the fill still in the running */
    struct artist_candidate *spare; /* the merge sort's buffer, spare_cap entries */
    uint32_t n, cap, spare_cap;
    uint32_t n_sorted; /* items[0 .. n_sorted) are the best, in order, each accepted */
    bool filled;
};

/* The most songs rank_mean_artists.c puts in a pool by default
 * (reco_artist_index.max_pool_songs: 2 MiB, and as much again for the sort): more, and it passes
 * over the state's rows instead, so a request's memory stays bounded whatever artists it names. */
#define ARTIST_POOL_MAX_SONGS (1u << 18)

/* Scores every song by one of artists[0 .. n_artists) (distinct artist keys) whose row lies in
 * [start, end): reco_cosines_rows(u, inv_u) + bonus, the same float operations as a pass over
 * the model's rows gives. Replaces what the pool held; its array, when larger than the last,
 * from arena. Returns RECO_OK; RECO_ERR_TOO_LARGE when they are more than max_songs (nothing
 * is scored or allocated); or RECO_ERR_NOMEM. On failure the pool is empty and not filled. */
enum reco_status artist_pool_fill(struct artist_pool *pool, struct reco_arena *arena,
                                  const struct reco_artist_index *index, const uint32_t *artists,
                                  uint32_t n_artists, uint32_t start, uint32_t end, const float *u,
                                  float inv_u, float bonus, uint32_t max_songs);

/* The best `want` songs of the pool that accept(ctx, row) lets through, best first, at
 * (*best)[0 .. *n_best) (inside the pool: valid until the next call on it); *n_best < want
 * only when the pool has no more. A song accept refuses leaves the pool, so accept must give
 * the same answer for a row for as long as the pool stays filled (the rules of one phase).
 * The sort's buffer, when larger than the last, comes from arena. Returns RECO_OK, or
 * RECO_ERR_NOMEM (for that buffer; the pool stays as it was). */
enum reco_status artist_pool_take(struct artist_pool *pool, struct reco_arena *arena, uint32_t want,
                                  bool (*accept)(const void *ctx, uint32_t row), const void *ctx,
                                  const struct artist_candidate **best, uint32_t *n_best);

/* Moves the best m of a[0 .. n) (0 < m < n; items distinct under the order, as rows are) to
 * a[0 .. m), in no particular order: quickselect with a median-of-three pivot, and after
 * `rounds` rounds that have not finished, a heap sort of what is left, so never worse than
 * O(n log n). In place. Exposed for tests (take() gives about twice log2(n) rounds). */
void artist_select_best(struct artist_candidate *a, uint32_t n, uint32_t m, uint32_t rounds);

/* Empties the pool (not filled), keeping its memory for the next fill. */
void artist_pool_reset(struct artist_pool *pool);

#endif
