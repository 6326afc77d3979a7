/* The recommendation: turns a user's saved tracks into a ranked playlist from a model.
 *   1. resolve each saved track (id, ISRC, normalised title + primary artist (+ duration),
 *      else the caller's own features, else unmatched);
 *   2. scale it and assign it to its nearest centroid;
 *   3. share the n slots across clusters in proportion to the user's counts by largest
 *      remainder (summing to exactly n; a cluster short of candidates hands its leftover on);
 *   4. rank candidates inside each cluster (see enum reco_ranking), never returning a saved
 *      song, never the same song twice, at most max_per_artist per primary artist;
 *   5. interleave the clusters in the final order; the same input gives the same playlist and
 *      a non-zero variety seed gives a different, equally fitting one.
 * Pure computation on an immutable model: thread-safe, no I/O, no global state. */
#ifndef MIXTAPE_RECOMMEND_H
#define MIXTAPE_RECOMMEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "reco_limits.h" /* limits enforced on untrusted input: the contract's (proto/) */

enum reco_status {
    RECO_OK = 0,
    RECO_ERR_INVALID,   /* input breaks a rule (the message names the field and limit) */
    RECO_ERR_TOO_LARGE, /* over a limit on size */
    RECO_ERR_NO_SAVED,  /* no saved tracks at all */
    RECO_ERR_NO_MATCH,  /* saved tracks given, none resolved */
    RECO_ERR_NOMEM,
};

/* "ok", "invalid argument", ...; never NULL. */
const char *reco_strerror(enum reco_status status);

enum reco_ranking {
    RECO_RANK_DEFAULT = 0,        /* the default the quality evaluation chose (see README) */
    RECO_RANK_MEAN_COSINE,        /* cosine to the mean of the user's tracks in the cluster */
    RECO_RANK_CENTROID_COSINE,    /* cosine measured from the cluster centroid */
    RECO_RANK_NEAREST_NEIGHBOURS, /* nearest neighbours of the user's tracks in the cluster */
    RECO_RANK_NEIGHBOUR_VOTES,    /* rows most of the user's tracks in the cluster name among
                                     their nearest neighbours (see rank_votes.c) */
    RECO_RANK_VOTES_AND_ARTISTS,  /* the same, and songs by artists the user saved first */
    RECO_RANK_MEAN_AND_ARTISTS,   /* cosine to the mean, and songs by artists the user saved
                                     first (one dot product per row: the cost of MEAN_COSINE) */
    RECO_RANK_FLAT                /* MEAN_AND_ARTISTS over the whole catalog against the mean of
                                     every saved track, no slots shared across styles: the
                                     evaluation's "flat ranking" (added for issue 17) */
};

enum reco_match {
    RECO_MATCH_NONE,
    RECO_MATCH_ID,
    RECO_MATCH_ISRC,
    RECO_MATCH_TITLE,
    RECO_MATCH_FEATURES
};

/* One saved track as the caller knows it. Strings may be NULL; the caller owns them. Only
 * artists[0 .. n_artists) and the raw values whose present bit is set are read. */
struct reco_saved {
    const char *id;
    const char *isrc;
    const char *name;
    const char *artists[RECO_MAX_ARTISTS]; /* primary first */
    uint32_t n_artists;
    uint32_t duration_ms; /* 0 = unknown */
    struct model_raw raw; /* what the caller knows of its features (year, explicit, audio) */
};

/* A mood target in the spirit of Spotify's old target_* controls: when set, picks are drawn
 * towards value (energy, valence, danceability in 0..1; tempo in BPM, 1..RECO_MAX_TEMPO). */
struct reco_target {
    bool set;
    float value;
};
/* Its ranges, and the year range's, are the contract's (reco_limits.h). */

/* Steering. A zero-initialised struct is the canonical playlist of the service's defaults.
 * recommend() checks every field and answers RECO_ERR_INVALID naming the field ("discover",
 * "target.energy", "years", ...) when one is out of range or contradicts another. */
struct reco_options {
    uint32_t n;              /* 1..RECO_MAX_N; 0 means RECO_DEFAULT_N */
    uint64_t variety;        /* 0: canonical playlist */
    uint32_t max_per_artist; /* 0 means RECO_DEFAULT_MAX_PER_ARTIST */
    enum reco_ranking ranking;
    float discover; /* 0 (familiar: saved artists first) .. 1 (new artists only, none of the
                       saved artists) */
    struct reco_target energy, valence, danceability, tempo;
    uint16_t year_from, year_to; /* release-year range, inclusive; 0 = open on that side */
    bool no_explicit;            /* leave out songs marked explicit */
};

/* Why a pick is on the playlist, for the page's "because you saved ..." line. */
enum reco_reason {
    RECO_REASON_SIMILAR_SOUND = 0, /* close to the user's tracks in its style */
    RECO_REASON_SAME_ARTIST,       /* by an artist the user saved */
    RECO_REASON_NEW_ARTIST,        /* an artist the user has not saved, chosen to discover */
};

struct reco_pick {
    uint32_t row;     /* model row */
    float score;      /* higher is closer */
    uint32_t cluster; /* its style: model_cluster_name(model, cluster) names it */
    int32_t because;  /* index into the saved array of the closest saved track, or -1 */
    enum reco_reason reason;
};

/* One style's part of the library and of the playlist. */
struct reco_cluster_share {
    uint32_t cluster;
    uint32_t saved;       /* resolved saved tracks that fell here (artist-only matches count) */
    uint32_t slots;       /* picks given to it */
    float library_share;  /* saved / resolved saved tracks, 0..1 */
    float playlist_share; /* picks here / picks, 0..1 */
    bool exhausted;       /* a style of the library given fewer picks than its share because
                             no song of it is left within the request's rules */
};

/* Release decades for the match statistics: [0] unknown year, [1] before 1960, then one per
 * decade 1960s .. 2010s, [8] 2020 and later. */
#define RECO_DECADES 9u

struct reco_stats {
    uint32_t saved, by_id, by_isrc, by_title, by_features, unmatched;
    uint32_t by_artist; /* no song matched, but the primary artist is in the catalog: counts for
                           the user's styles and the saved-artists rule */
    /* by release decade of the saved track (its year, as the caller gave it) */
    uint32_t decade_saved[RECO_DECADES];  /* saved tracks */
    uint32_t decade_song[RECO_DECADES];   /* matched to a catalog song */
    uint32_t decade_artist[RECO_DECADES]; /* matched by artist only */
};

/* The answer. Owned by the caller; free with reco_result_free. */
struct reco_result {
    struct reco_pick *picks; /* n_picks, in playlist order */
    uint32_t n_picks;
    struct reco_cluster_share *clusters; /* clusters with saved > 0 or slots > 0 */
    uint32_t n_clusters;
    struct reco_stats stats;
    /* When fewer than n picks are returned: why, in words for a person ("only 12 songs from
     * 1970-1975 without explicit lyrics"); "" otherwise. Filters never pad with songs that
     * break them. */
    char short_reason[160];
};

/* Computes the playlist. On RECO_OK fills *out. On failure writes a one-line reason into
 * err (naming the field and the limit where one was broken) and leaves *out empty.
 * Fewer than n picks are returned only when the catalog runs out of eligible tracks. */
enum reco_status recommend(const struct model *model, const struct reco_saved *saved,
                           size_t n_saved, const struct reco_options *options,
                           struct reco_result *out, char *err, size_t err_len);

/* The model's load-time artist index (artist_index.h). */
struct reco_artist_index;

/* recommend() with the model's artist index (reco_artist_index_open on the same model), which
 * reads the saved artists' songs as contiguous runs instead of passing over every row: the same
 * result, byte for byte, in less time. index NULL is recommend(); an index of another model is
 * refused (RECO_ERR_INVALID, "index: ..."). */
enum reco_status recommend_indexed(const struct model *model, const struct reco_artist_index *index,
                                   const struct reco_saved *saved, size_t n_saved,
                                   const struct reco_options *options, struct reco_result *out,
                                   char *err, size_t err_len);

void reco_result_free(struct reco_result *result);

/* Largest-remainder apportionment: shares `slots` across n_groups in proportion to
 * counts[] (ties broken by lower index), writing alloc[] that sums to exactly `slots` when any
 * count is non-zero (all zero otherwise). Exposed for tests and the evaluation. */
void reco_apportion(const uint32_t *counts, size_t n_groups, uint32_t slots, uint32_t *alloc);

/* The cosine of a model row with u (inv_u = 1 / |u|), as the mean rankings score it: 0 for a
 * zero row. reco_cosines writes those of rows [first, first + len) into out[0 .. len) with the
 * block kernel of a pass over a cluster, bit for bit the same values (the artist ranking relies
 * on it: one row may be scored either way). Exposed for tests. */
float reco_cosine_of_row(const struct model *model, uint32_t row, const float *u, float inv_u);
void reco_cosines(const struct model *model, uint32_t first, uint32_t len, const float *u,
                  float inv_u, float *out);
/* The same kernel on any n_dims-float rows and their norms (a copy of model rows, such as the
 * artist index's): out[i] is bit for bit what reco_cosine_of_row gives for row i's model row. */
void reco_cosines_rows(const float *rows, const float *norms, uint32_t n_dims, uint32_t len,
                       const float *u, float inv_u, float *out);

#endif
