/* The mix: turns a user's saved tracks into a RecommendRequest, asks reco-service for the
 * playlist over the RPC client, and hands back the picks, match statistics and cluster shares
 * (with user-facing errors for an empty library, nothing matched, compute unavailable). */
#ifndef MIXTAPE_AUTH_MIX_H
#define MIXTAPE_AUTH_MIX_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.h"
#include "spotify.h"

#define MIX_MAX_N 500u /* picks one request may ask for (reco-service's RECO_MAX_N) */

enum mix_status {
    MIX_OK = 0,
    MIX_ERR_EMPTY_LIBRARY,   /* no saved tracks */
    MIX_ERR_NOTHING_MATCHED, /* none of the saved tracks is in the catalog */
    MIX_ERR_UNAVAILABLE,     /* reco-service down, busy or too slow */
    MIX_ERR_REJECTED,        /* reco-service refused our request (a bug or a limit) */
    MIX_ERR_INTERNAL,
};

/* A short human-readable reason; never NULL. */
const char *mix_strerror(enum mix_status status);

struct mix_params {
    uint32_t n;       /* 1..MIX_MAX_N; 0 means 50 */
    uint64_t variety; /* 0: the canonical playlist; other: a fresh one (Regenerate) */
};

struct mix_pick {
    char id[64];
    char *name;    /* malloc'd */
    char *artists; /* malloc'd, ", "-joined */
    uint32_t year; /* 0 if unknown */
    float score;
    uint32_t cluster;
    char *because; /* malloc'd title of the closest saved track, or NULL */
};

struct mix_cluster {
    uint32_t cluster, saved, slots;
    char label[128];
};

struct mix_stats {
    uint32_t saved, by_id, by_isrc, by_title, by_features, unmatched;
};

struct mix_result {
    struct mix_pick *picks;
    size_t n_picks;
    struct mix_cluster *clusters;
    size_t n_clusters;
    struct mix_stats stats;
    char model_version[80];
    uint32_t rpc_ms; /* time the Recommend call took */
};

/* Serialises a RecommendRequest for lib (ids, ISRCs, titles, artists, durations, years,
 * explicit flags, audio features when known; local files go by title). *out is malloc'd.
 * MIX_ERR_EMPTY_LIBRARY when lib has no tracks. */
enum mix_status mix_build_request(const struct saved_library *lib, const struct mix_params *p,
                                  uint8_t **out, size_t *len);

/* How the Recommend call went, for metrics. */
struct mix_call {
    enum rpc_code code;
    double seconds;
    bool called; /* false when no call was made (empty library) */
};

/* Builds the request, calls "Recommend" within timeout_ms and fills *out (caller frees with
 * mix_result_free). On failure err holds a message for the user. *call (may be NULL) is
 * always written. Blocks; thread-safe (the RPC client is). */
enum mix_status mix_run(struct rpc_client *rpc, uint32_t timeout_ms,
                        const struct saved_library *lib, const struct mix_params *p,
                        struct mix_result *out, struct mix_call *call, char *err, size_t err_len);

void mix_result_free(struct mix_result *result);

/* Adds "tracks", "stats" and "clusters" members describing r to obj (the /api/mix answer). */
void mix_result_to_json(const struct mix_result *r, cJSON *obj);

#endif
