/* The rankings behind one interface: each scores the rows of one state (a cluster, or the whole
 * catalog for the flat ranking) against the user's point and keeps the best in a top-k heap.
 * rank_rows() (rank.c) chooses the ranking, prepares the point and sorts what it kept. */
#ifndef MIXTAPE_RECO_RANK_H
#define MIXTAPE_RECO_RANK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"
#include "picking.h"

/* Rows scored at a time by a pass over a cluster (cosines of a block, then their tests). */
#define ARTIST_BLOCK 256u

/* What a ranking is asked: rank rows [start, end) of the state cs, keeping the best `keep`
 * (keep > 0, at most end - start), scored against u (n_dims: the mean of the user's tracks in
 * the state, mood targets applied). flat: the state is the flat ranking's (the whole catalog,
 * centroid 0 standing for its centre). */
struct rank_call {
    struct picking *p;
    struct cluster_state *cs;
    uint32_t start, end, keep;
    const float *u;
    bool flat;
    /* artist index hook: false when the ranking is called; a ranking that leaves heap[0 .. n)
     * best first may set it true, and rank_rows does not sort them again. */
    bool *in_order;
};

/* A ranking: fills heap (capacity call->keep, empty) and sets *n to how many it holds, in any
 * order (rank_rows sorts them, unless it set *call->in_order). Fails only for memory. */
typedef enum reco_status rank_fn(const struct rank_call *call, struct candidate *heap, uint32_t *n);

rank_fn rank_mean;              /* RECO_RANK_MEAN_COSINE (rank_mean.c) */
rank_fn rank_centroid;          /* RECO_RANK_CENTROID_COSINE (rank_centroid.c) */
rank_fn rank_neighbours;        /* RECO_RANK_NEAREST_NEIGHBOURS (rank_neighbours.c) */
rank_fn rank_neighbour_votes;   /* RECO_RANK_NEIGHBOUR_VOTES (rank_votes.c) */
rank_fn rank_votes_and_artists; /* RECO_RANK_VOTES_AND_ARTISTS (rank_votes.c) */
rank_fn rank_mean_and_artists;  /* RECO_RANK_MEAN_AND_ARTISTS (rank_mean_artists.c) */

/* Scores rows [start, end) against the user's tracks in one pass and keeps the best `keep`
 * in cs->ranked, best first. Fails only for memory. */
enum reco_status rank_rows(struct picking *p, struct cluster_state *cs, uint32_t start,
                           uint32_t end, uint32_t keep);

/* Rows [start, end) by cosine to u into a heap (capacity keep) that already holds n: the whole
 * of RECO_RANK_MEAN_COSINE, and for RECO_RANK_MEAN_AND_ARTISTS, with other_artists_only, the
 * rest after the songs by saved artists (fewer than keep, all ranked above these), which are
 * passed over here. Returns how many the heap holds. */
uint32_t rank_by_cosine(const struct picking *p, uint32_t start, uint32_t end, const float *u,
                        float inv_u, struct candidate *heap, uint32_t n, uint32_t keep,
                        bool other_artists_only);

/* The discovery ranking over rows [start, end): songs by artists the user has not saved, by
 * cosine to u (its genre dimensions scaled by DISCOVER_GENRE_WEIGHT in place) plus
 * DISCOVER_LABEL_BONUS times their artist's affinity. Returns how many the heap (capacity keep,
 * empty) holds. */
uint32_t rank_discovery(struct picking *p, uint32_t start, uint32_t end, float *u,
                        struct candidate *heap, uint32_t keep);

/* The genre labels of every saved artist into p->labels, and p->affinity sized for the
 * catalog's artists, every entry not yet computed (NaN). Fails only for memory. */
enum reco_status init_affinity(struct picking *p);

/* For RECO_RANK_MEAN_AND_ARTISTS: every unsaved song by a saved artist, from the model's artist
 * index, grouped by cluster into p->artist_rows (see struct picking). Leaves them NULL when
 * there are more than ARTIST_ROWS_PER_SAVED a saved track, or so many that the index cannot pay
 * in any cluster (ARTIST_INDEX_COST), or when the request has the load-time artist index (its
 * pools read that instead); sets p->artists_dense. Fails only for memory. */
enum reco_status gather_artist_rows(struct picking *p, size_t n_saved);

#endif
