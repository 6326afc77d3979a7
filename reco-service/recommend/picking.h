/* One Recommend while it runs (private to recommend/): the resolved saved tracks, the state of
 * each cluster's ranking, the sets that enforce the rules, the picks so far, and the functions
 * of each step that recommend() calls in turn. One request, one thread: nothing here is shared. */
#ifndef MIXTAPE_RECO_PICKING_H
#define MIXTAPE_RECO_PICKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "heap.h"
#include "model.h"
#include "recommend.h"
#include "set.h"

struct artist_pool; /* artist_pool.h */

/* Nearest-neighbour ranking compares each row with at most this many of the user's tracks in
 * the cluster (an even sample when there are more), so its cost stays bounded. */
#define NN_MAX_ANCHORS 64u

/* A saved track that resolved to a point in the scaled space. */
struct resolved {
    uint32_t index;   /* into the caller's saved array */
    uint32_t cluster; /* nearest centroid */
    const float *vec; /* n_dims, in the model or in feature_vecs */
    float inv_norm;   /* 1/|vec|, 0 for the zero vector */
};

struct cluster_state {
    uint32_t cluster;
    uint32_t saved; /* resolved saved tracks here */
    uint32_t first; /* their range in the cluster-sorted resolved array */
    uint32_t slots; /* picks it should give */
    uint32_t got;   /* picks it gave */
    bool exhausted;
    struct candidate *ranked; /* best first: heap in this phase, NULL until ranked in it */
    struct candidate *heap;   /* the ranking's memory, heap_cap entries, kept across phases */
    uint32_t heap_cap;
    uint32_t n_ranked, cursor, kept;
    bool complete; /* ranked holds every row of the cluster */
    /* Every eligible song by a saved artist among the state's rows with its score, from the
     * phase's first pass (rank_artist_rows_scanned); pooled once it is whole. Its memory
     * (pool_cap entries) is kept across phases and passes. */
    struct candidate *pool;
    uint32_t n_pool, pool_cap;
    bool pooled;
    int round; /* with variety: 0 skips by the seed, 1 takes everything left */
};

/* A mood target as a window on one raw feature. */
struct target_window {
    enum model_feature feature;
    float value, half;
    float mean_tolerance; /* the picks' mean stays within this of value */
    uint32_t dim;         /* the feature's dimension in the scaled space, or n_dims if none */
    float scaled;         /* value in the scaled space */
    double sum;           /* of the feature over the picks taken while targets were on */
};

struct picking {
    struct reco_arena arena; /* every array below comes from it but picks (see recommend.c) */
    const struct model *model;
    const struct reco_saved *saved;
    uint32_t n_dims;
    enum reco_ranking ranking;
    uint64_t variety;
    uint32_t max_per_artist;
    struct resolved *resolved; /* sorted by cluster */
    uint32_t n_resolved;
    float *feature_vecs;
    float *global_mean;
    struct row_set excluded;
    struct row_set picked_rows;
    struct artist_map artists;
    struct saved_artists saved_artists; /* filled after resolve_all */
    /* With RECO_RANK_MEAN_AND_ARTISTS, from the model's artist index (gather_artist_rows): the
     * unsaved songs by the saved artists, grouped by cluster: cluster c's are
     * artist_rows[artist_rows_start[c] .. artist_rows_start[c + 1]). NULL: not gathered (too
     * many, and the ranking tests every row's artist instead; or the request has the load-time
     * artist index, whose pools it reads). */
    uint32_t *artist_rows;
    uint32_t *artist_rows_start;
    bool artists_dense;   /* the saved artists have 1/ARTIST_DENSE_SHARE of the songs or more */
    uint32_t *saved_rows; /* catalog songs the user saved, each once */
    uint32_t n_saved_rows;
    struct row_set saved_songs;  /* their song keys (model_row_song_key): never picked */
    struct row_set picked_songs; /* the picks' song keys: never picked twice */
    struct reco_pick *picks;
    uint32_t n_picks, want;
    uint32_t limit;     /* the current phase stops at this many picks (<= want) */
    bool artists_first; /* the default ranking: songs by saved artists across styles first */
    float related2;     /* styles closer than this are related (style_weights) */
    /* Discovery: how much each artist's genre labels share with the saved artists' (NaN until
     * asked; see artist_affinity), and the saved artists' labels as a set of hashes. */
    float *affinity;
    struct label_set labels;
    float *scratch; /* 2 * n_dims + NN_MAX_ANCHORS * n_dims */
    /* Steering (see struct reco_options). */
    float discover;
    bool new_artists_only;   /* the discovery phase: no song by a saved artist */
    bool saved_artists_only; /* the familiar phase's first part: only songs by saved artists */
    uint16_t year_from, year_to;
    bool no_explicit;
    struct target_window windows[4];
    uint32_t n_windows;
    uint32_t n_targeted;        /* picks taken while the windows were on */
    float window_scale;         /* windows are value +- half * window_scale; 0: windows off */
    bool restricted;            /* any of the rules above is on: rows go through passes_rules */
    uint32_t *artist_only_keys; /* artist keys of artist-only matches */
    uint32_t n_artist_only;
    /* artist index hook: the model's load-time index (NULL: recommend() without one) and, with
     * it, one pool of the saved artists' songs per state (k + 1, the last the flat ranking's;
     * see rank_mean_artists.c). */
    const struct reco_artist_index *artist_index;
    struct artist_pool *artist_pools;
};

/* ---- resolve.c: steps 1 and 2 ---- */

/* Resolves every saved track (p->saved, n_saved of them) and places it in a cluster: fills
 * p->resolved (sorted by cluster), the saved songs and artist-only keys, *stats and counts[]
 * (k entries, resolved tracks per cluster). Fails only for memory. */
enum reco_status resolve_all(struct picking *p, size_t n_saved, struct reco_stats *stats,
                             uint32_t *counts);
/* The cluster of a row, from the cluster boundaries alone. */
uint32_t cluster_of_row(const struct model *m, uint32_t row);

/* ---- allocate.c: step 3 ---- */

/* The weights the slots are shared by (k + 1 entries into weight, the last the flat ranking's),
 * from the resolved tracks per cluster, its temporaries from arena. Fails only for memory. */
enum reco_status style_weights(struct reco_arena *arena, const struct model *m,
                               const uint32_t *counts, uint32_t n_resolved, uint32_t *weight,
                               float *related2);

/* Whether two clusters are related styles: centroids closer than related2 (from style_weights:
 * 0 when the library has one style) on the genre dimensions when the model has them, and names
 * that share a genre word or of which one names a sound, not genres (STYLE_RELATED_PERCENT). */
bool styles_related(const struct model *m, float related2, uint32_t a, uint32_t b);

/* ---- pick.c: step 4 ---- */

/* Every phase of picking into p->picks, over states[0 .. k] (k the flat ranking) shared by
 * weights[0 .. k]. Fails only for memory. */
enum reco_status run_phases(struct picking *p, struct cluster_state *states,
                            const uint32_t *weights);

/* After the phases: ran_out[c] (k entries) is true for each of the library's styles (weights[c]
 * > 0) that got fewer picks than its share of the playlist by weight and has no song left that
 * the request's rules would let it give (every one saved, picked, by an artist at the cap, or
 * ruled out by the filters). Only such short styles are scanned. Fails only for memory. */
enum reco_status styles_ran_out(struct picking *p, const uint32_t *weights, bool *ran_out);

/* ---- order.c: step 5 ---- */

/* Sets each pick's `because`: its closest saved track in its cluster, or among all. */
void explain(struct picking *p, const struct cluster_state *states);
/* Puts p->picks in playlist order: each cluster's picks by score, spread evenly. Fails only
 * for memory. */
enum reco_status interleave(struct picking *p);

#endif
