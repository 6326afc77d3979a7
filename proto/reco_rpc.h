/* The typed client of reco-service's methods (reco.proto) over the RPC layer (rpc.h): builds
 * and packs a RecommendRequest from plain C structs, calls Recommend / Info / Health, and
 * decodes each reply into plain C structs. The front (auth-service's mix flow), reco-cli and
 * reco-bench all go through it, so a change to the wire format stays in proto/. No caller
 * includes generated code. Every function is thread-safe (no global state). */
#ifndef MIXTAPE_RECO_RPC_H
#define MIXTAPE_RECO_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reco_limits.h"
#include "rpc.h"

/* One saved track as the caller knows it. NULL or "" strings are left out of the request;
 * the caller owns every string. */
struct reco_rpc_track {
    const char *id; /* 22-character Spotify id */
    const char *isrc;
    const char *name;
    char *const *artists; /* primary first */
    size_t n_artists;
    bool has_duration_ms, has_year, has_explicit;
    uint32_t duration_ms, year;
    bool explicit_lyrics;
    /* Audio features by catalog name ("danceability", ...); n_features pairs. */
    const char *const *feature_names;
    const double *feature_values;
    size_t n_features;
};

/* A mood target: sent when set (ranges in reco_limits.h). */
struct reco_rpc_target {
    bool set;
    float value;
};

struct reco_rpc_request {
    const struct reco_rpc_track *tracks;
    size_t n_tracks;
    bool has_n, has_variety, has_max_per_artist, has_ranking; /* unset: the contract's default */
    uint32_t n;                                               /* 1..RECO_MAX_N */
    uint64_t variety;                                         /* 0: the canonical playlist */
    uint32_t max_per_artist;                                  /* >= 1 */
    uint32_t ranking; /* a value reco_rpc_ranking_from_name gave */
    /* Steering (ranges in reco_limits.h; the service refuses others naming the field). */
    bool has_discover;
    float discover; /* 0: saved artists first .. 1: new artists only */
    struct reco_rpc_target energy, valence, danceability, tempo;
    uint32_t year_from, year_to; /* release-year range, inclusive; 0: open, not sent */
    bool no_explicit;            /* sends explicit = false: leave out explicit songs */
};

/* The ranking a name stands for: "default", "mean", "centroid", "neighbours", "votes",
 * "votes-artists", "mean-artists" or "flat". Returns 0 with *ranking set, or -1 for another name. */
int reco_rpc_ranking_from_name(const char *name, uint32_t *ranking);
/* The names reco_rpc_ranking_from_name accepts, as a comma-separated phrase for messages:
 * "default, mean, ... or flat". */
extern const char reco_rpc_ranking_names[];

/* Packs req into *out (malloc'd, caller frees; *len bytes). Returns 0, or -1 out of memory. */
int reco_rpc_pack_request(const struct reco_rpc_request *req, uint8_t **out, size_t *len);

/* Why a pick is on the playlist (reco.proto's Reason, number for number). */
enum reco_rpc_reason {
    RECO_RPC_REASON_SIMILAR_SOUND = 0, /* close to the user's tracks in its style */
    RECO_RPC_REASON_SAME_ARTIST = 1,   /* by an artist the user saved */
    RECO_RPC_REASON_NEW_ARTIST = 2,    /* an artist the user has not saved */
};

/* "similar_sound", "same_artist" or "new_artist" (the front's JSON names); never NULL. */
const char *reco_rpc_reason_name(enum reco_rpc_reason reason);

struct reco_rpc_pick {
    const char *id, *name;
    char *const *artists;
    size_t n_artists;
    bool has_year, has_because, has_popularity, has_duration_ms;
    uint32_t year;
    float score;
    uint32_t cluster;
    int32_t because;          /* index into the request's tracks of the closest saved one */
    const char *because_name; /* its title, or NULL */
    uint32_t popularity, duration_ms;
    const char *style;    /* its style's name, or NULL from a service that sends none */
    bool has_style_index; /* style_index < the reply's n_styles */
    uint32_t style_index; /* index into the reply's styles */
    enum reco_rpc_reason reason;
    const char *isrc; /* the song's ISRC as the catalog gave it, or NULL */
};

/* One style of the library or of the playlist. */
struct reco_rpc_style {
    const char *name;                    /* "" when the service sent none */
    float library_share, playlist_share; /* 0..1 */
    uint32_t cluster, saved, slots;
    bool exhausted; /* given less than its library share: no song of it is left within the
                       request's rules */
};

/* The saved tracks of one release decade and how they matched. */
struct reco_rpc_decade {
    const char *decade;          /* "1970s", "before 1960", "2020s", "unknown year" */
    uint32_t year_from, year_to; /* 0: open (or unknown) */
    uint32_t saved, songs, artists_only;
};

struct reco_rpc_cluster {
    uint32_t cluster, saved, slots;
    const char *label; /* NULL when the service sent none */
};

struct reco_rpc_stats {
    uint32_t saved, by_id, by_isrc, by_title, by_features, unmatched;
    uint32_t by_artist; /* no song matched, the primary artist did (not in unmatched) */
    const struct reco_rpc_decade *by_decade; /* n_by_decade, the decades with saved tracks */
    size_t n_by_decade;
};

/* A decoded RecommendReply. Every string points into the reply; free it whole with
 * reco_rpc_reply_free. */
struct reco_rpc_reply {
    struct reco_rpc_pick *picks;
    size_t n_picks;
    struct reco_rpc_cluster *clusters;
    size_t n_clusters;
    struct reco_rpc_stats stats;
    const char *model_version;     /* NULL when the service sent none */
    struct reco_rpc_style *styles; /* n_styles, most saved first */
    size_t n_styles;
    const char *short_reason;        /* why fewer than n picks came back, or NULL */
    void *message;                   /* private: the unpacked protobuf message */
    struct reco_rpc_decade *decades; /* private: stats.by_decade's storage */
};

/* Decodes a Recommend reply payload. Returns the reply (caller frees with
 * reco_rpc_reply_free), or NULL when the bytes are not a RecommendReply or memory ran out. */
struct reco_rpc_reply *reco_rpc_decode_reply(const uint8_t *bytes, size_t len);
void reco_rpc_reply_free(struct reco_rpc_reply *reply);

/* Calls Recommend with req within timeout_ms (rpc_call's retries included) and returns the
 * code. On RPC_OK *out is the decoded reply (caller frees), or NULL when the payload is not a
 * RecommendReply (or memory ran out); on any other code *out is NULL. message (may be NULL)
 * receives rpc_call's explanation: malloc'd or NULL, the caller frees. request_id (may be NULL)
 * receives the id sent. Out of memory packing the request: RPC_INTERNAL, nothing sent. Blocks
 * the calling thread. */
enum rpc_code reco_rpc_recommend(struct rpc_client *rpc, const struct reco_rpc_request *req,
                                 uint32_t timeout_ms, struct reco_rpc_reply **out, char **message,
                                 uint64_t *request_id);
/* The same with a request reco_rpc_pack_request already packed. */
enum rpc_code reco_rpc_recommend_packed(struct rpc_client *rpc, const uint8_t *request,
                                        size_t request_len, uint32_t timeout_ms,
                                        struct reco_rpc_reply **out, char **message,
                                        uint64_t *request_id);

/* A style of the model, for Info. */
struct reco_rpc_style_info {
    const char *name;
    uint32_t size; /* songs */
};

/* A decoded InfoReply; strings point into it; free with reco_rpc_info_free. */
struct reco_rpc_info {
    const char *model_version;
    uint32_t tracks, k, ids;
    char *const *features;
    size_t n_features;
    const char *source; /* NULL when unknown */
    uint64_t built_unix;
    struct reco_rpc_style_info *styles; /* n_styles, in cluster order (none from an old service) */
    size_t n_styles;
    void *message; /* private */
};

/* A decoded HealthReply; free with reco_rpc_health_free. */
struct reco_rpc_health {
    bool serving;
    uint64_t uptime_ms, requests;
    const char *model_version; /* NULL when the service sent none */
    void *message;             /* private */
};

/* Info and Health, as reco_rpc_recommend: on RPC_OK *out is the decoded reply (caller frees)
 * or NULL when the payload does not decode. Block the calling thread. */
enum rpc_code reco_rpc_info(struct rpc_client *rpc, uint32_t timeout_ms, struct reco_rpc_info **out,
                            char **message);
void reco_rpc_info_free(struct reco_rpc_info *info);
enum rpc_code reco_rpc_health(struct rpc_client *rpc, uint32_t timeout_ms,
                              struct reco_rpc_health **out, char **message);
void reco_rpc_health_free(struct reco_rpc_health *health);

#endif
