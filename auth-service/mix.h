/* The mix flow, whole: reads the user's saved tracks from Spotify (streaming progress into the
 * mix page when asked), turns them into a RecommendRequest, asks reco-service for the playlist
 * over the RPC client, hands back the picks, match statistics and cluster shares, saves the
 * playlist when asked, and translates every failure into a page error (page_error.h). */
#ifndef MIXTAPE_AUTH_MIX_H
#define MIXTAPE_AUTH_MIX_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "page_error.h"
#include "reco_limits.h"
#include "reco_rpc.h"
#include "rpc.h"
#include "spotify.h"

struct html;
struct request;

/* The cookie holding a browser's mix id (random, not secret): with the session it keys the
 * per-session mix memory (mix_cache.h). */
#define MIX_COOKIE "mixtape_mix"

enum mix_status {
    MIX_OK = 0,
    MIX_ERR_EMPTY_LIBRARY,   /* no saved tracks */
    MIX_ERR_NOTHING_MATCHED, /* none of the saved tracks is in the catalog */
    MIX_ERR_UNAVAILABLE,     /* reco-service down, busy or too slow */
    MIX_ERR_REJECTED,        /* reco-service refused our request (a bug or a limit) */
    MIX_ERR_INVALID,         /* reco-service refused a value the user chose (a steering target
                                this catalog cannot honour): the message names the field */
    MIX_ERR_INTERNAL,
};

/* A short human-readable reason; never NULL. */
const char *mix_strerror(enum mix_status status);

/* What the user asks of the playlist (read from /api/mix by mix_params.h). */
struct mix_params {
    uint32_t n;              /* 1..RECO_MAX_N; 0 means RECO_DEFAULT_N */
    uint64_t variety;        /* 0: the canonical playlist; other: a fresh one (Regenerate) */
    uint32_t max_per_artist; /* 0: the service's default */
    /* Steering (issue 17; ranges in reco_limits.h) */
    bool has_discover;
    float discover; /* 0: saved artists first .. 1: new artists only */
    struct reco_rpc_target energy, valence, danceability, tempo;
    uint32_t year_from, year_to; /* release years, inclusive; 0: open */
    bool no_explicit;            /* leave out songs marked explicit */
};

struct mix_pick {
    char id[64];
    char *name;    /* malloc'd */
    char *artists; /* malloc'd, ", "-joined */
    uint32_t year; /* 0 if unknown */
    float score;
    uint32_t cluster;
    char *because;        /* malloc'd title of the closest saved track, or NULL */
    char *because_artist; /* malloc'd primary artist of that track, or NULL */
    char *style;          /* malloc'd name of its style ("" from a service without names) */
    enum reco_rpc_reason reason;
    char isrc[13]; /* its ISRC, 12 upper-case letters and digits, or "" (none, or not one) */
};

struct mix_cluster {
    uint32_t cluster, saved, slots;
    char label[128];
};

/* One style of the library or the playlist, with its name, most saved first. */
struct mix_style {
    char *name; /* malloc'd */
    float library_share, playlist_share;
    bool exhausted; /* short of its library share: no song of it left to suggest */
};

/* The saved tracks of one release decade and how they matched. */
struct mix_decade {
    char decade[24]; /* "1970s", "before 1960", "unknown year" */
    uint32_t saved, songs, artists_only;
};

struct mix_stats {
    uint32_t saved, by_id, by_isrc, by_title, by_features, unmatched;
    uint32_t by_artist; /* artist-only matches (not in unmatched) */
    struct mix_decade by_decade[12];
    size_t n_by_decade;
};

struct mix_result {
    struct mix_pick *picks;
    size_t n_picks;
    struct mix_cluster *clusters;
    size_t n_clusters;
    struct mix_stats stats;
    struct mix_style *styles;
    size_t n_styles;
    char short_reason[192]; /* why fewer than n picks came back; "" otherwise */
    char model_version[80];
    uint32_t rpc_ms; /* time the Recommend call took */
};

/* An ISRC from the compute service into out (13 bytes): 12 letters and digits once hyphens and
 * spaces are dropped ("us-rc1-76-07839" -> "USRC17607839"), upper case; "" for NULL or anything
 * else, so the page's attribute and the CSV carry only what is one. */
void mix_isrc_copy(const char *in, char out[13]);

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
 * mix_result_free). A result may hold fewer than n picks, none even, when the steering leaves
 * fewer songs: out->short_reason then says why. No picks and no reason, or no saved track that
 * matched even by artist, is MIX_ERR_NOTHING_MATCHED. On failure err holds a message for the
 * user. Counts the match figures in the metrics (metrics_match). *call (may be NULL) is
 * always written. Blocks; thread-safe (the RPC client is). */
enum mix_status mix_run(struct rpc_client *rpc, uint32_t timeout_ms,
                        const struct saved_library *lib, const struct mix_params *p,
                        struct mix_result *out, struct mix_call *call, char *err, size_t err_len);

void mix_result_free(struct mix_result *result);

/* Adds the /api/mix answer's members describing r to obj: "tracks" (each with its "style" name
 * and "reason": same_artist, similar_sound or new_artist), "styles" ([{name, library_share,
 * playlist_share}]), "match" ({saved, songs, artists_only, unmatched, by_decade}), "stats",
 * "clusters", and "short_reason" when the playlist is short. */
void mix_result_to_json(const struct mix_result *r, cJSON *obj);

/* One mix from library to playlist, shared by /mix (streamed), /api/mix and /api/save. The
 * handler fills r, client, params, save and (for /mix) stream and session; mix_job_free frees
 * what the flow filled (lib, result), never the client or session. */
struct mix_job {
    struct request *r;
    struct spotify_client *client;
    struct mix_params params;
    uint32_t shown; /* /mix: songs shown (params.n adds stand-ins for removed ones) */
    struct saved_library lib;
    struct mix_result result;
    bool have_result;
    enum mix_status status; /* how the Recommend step ended (MIX_OK until it fails) */
    enum page_error error;
    char detail[512];
    bool save; /* save the playlist once made (AUTO_SAVE, POST /api/mix only) */
    char saved_id[64];
    bool replaced; /* the save replaced the items of the playlist this session saved before */
    /* the top style names for the saved playlist's description when there is no result */
    const char *const *style_names;
    size_t n_style_names;
    /* streaming (/mix): the headers wait for the first page of saved tracks, so a token
     * refreshed on the way (401) still reaches the cookie */
    struct html *stream;
    /* the session (the page and the API alike): keys the library cache (mix_cache.h) and the
     * playlist saved before; NULL: neither */
    struct session *session;
    char browser_id[32]; /* this browser's mix id (MIX_COOKIE), once read or made */
    bool stream_started;
    char streamed_token[SESSION_MAX_TOKEN_LEN + 1]; /* access token when headers left */
    size_t last_reported;
};

/* Reads the library, adds audio features when the app may, asks for the playlist and saves it
 * when job->save. Returns true with job->result filled, or false with job->error and
 * job->detail. With job->stream, the page's headers leave with the first page of saved tracks
 * (re-issuing the session cookie if a refresh changed the tokens) and progress lines follow.
 * Blocks (Spotify and reco-service calls); runs on the request's thread. */
bool mix_job_run(struct mix_job *job);

/* Saves ids[0..n) as a playlist on the user's account; job->saved_id gets its id. Returns
 * false with job->error and job->detail on failure. Blocks. */
bool mix_job_save(struct mix_job *job, const char *const *ids, size_t n);

/* Reorders r's picks so that the first `want` hold as few of before[0..n_before) as the picks
 * allow, each style keeping its share of them (largest remainders); the others follow, new
 * ones first. Leaves r as it was when want >= r->n_picks or out of memory. */
void mix_prefer_new(struct mix_result *r, const char (*before)[23], size_t n_before, size_t want);

/* Drops picks past the first n. */
void mix_result_truncate(struct mix_result *r, size_t n);

/* A saved playlist's name ("prefix · 5 Dec 2026") and description (the date and up to three
 * style names), from now (UTC). No I/O. */
void mix_playlist_text(const char *prefix, const char *const *styles, size_t n_styles, time_t now,
                       char name[128], char description[300]);

/* Sends what job->stream holds as one chunk and empties it (nothing without a stream). */
void mix_job_flush(struct mix_job *job);

/* Frees job->lib and job->result. */
void mix_job_free(struct mix_job *job);

#endif
