/* Everything the emulator changes while it runs: authorization codes, access and refresh
 * tokens, playlists, the fault configuration, and request counts. All of it sits behind one
 * lock, state_lock; every function here takes and releases it, so handlers on CivetWeb's
 * worker threads may call any of them at any time. None of them blocks beyond the lock. */
#ifndef EMU_STATE_H
#define EMU_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "catalog.h"
#include "library.h"

#define EMU_TOKEN_LEN         66    /* "BQ" or "AQ" + 64 base64url characters */
#define EMU_SCOPE_MAX         512   /* longest scope string accepted at /authorize */
#define EMU_URI_MAX           512   /* longest redirect URI or client id kept */
#define EMU_PLAYLIST_MAX      10000 /* items a playlist may hold, as on Spotify */
#define EMU_MAX_PLAYLISTS     100000
#define EMU_MAX_TOKENS        200000
#define EMU_MAX_REDIRECT_URIS 8

/* Faults and lifetimes, changeable at run time through /_emu/config. */
struct emu_config {
    double rate_429;            /* share of Web API calls answered 429 + Retry-After */
    double rate_5xx;            /* share answered 500, 502 or 503 */
    long long latency_ms;       /* added before every Web API and token answer */
    long long token_lifetime;   /* seconds an access token lives (expires_in) */
    long long code_lifetime;    /* seconds an authorization code lives */
    long long retry_after;      /* seconds in Retry-After of a rate-limit 429 */
    bool quota_exceeded;        /* every Web API call answers 429 with reason QUOTA_EXCEEDED */
    bool legacy_audio_features; /* /v1/audio-features answers instead of 403 */
    bool foreign_next;          /* paging `next` URLs point at another host (tests the check) */
    char redirect_uris[EMU_MAX_REDIRECT_URIS][EMU_URI_MAX]; /* registered, matched exactly */
    size_t n_redirect_uris;
};

/* Replaces config's registered redirect URIs with the comma-separated list, refusing what
 * Spotify's dashboard refuses (anything but https:// or http:// on a loopback literal, so
 * `localhost` too). Returns 0, or -1 with a message naming the rule in err; config is
 * unchanged then. */
int emu_config_set_redirect_uris(struct emu_config *config, const char *list, char *err,
                                 size_t err_len);

/* True if uri is one of config's registered redirect URIs. */
bool emu_config_redirect_registered(const struct emu_config *config, const char *uri);

enum emu_status {
    EMU_OK = 0,
    EMU_ERR_CODE_UNKNOWN,      /* no such authorization code, or already used */
    EMU_ERR_CODE_EXPIRED,      /* the code outlived code_lifetime */
    EMU_ERR_REDIRECT_MISMATCH, /* redirect_uri differs from the one at /authorize */
    EMU_ERR_CLIENT_MISMATCH,   /* client_id differs from the one at /authorize */
    EMU_ERR_VERIFIER,          /* code_verifier missing, malformed or not matching */
    EMU_ERR_REFRESH_UNKNOWN,   /* no such refresh token, or already rotated away */
    EMU_ERR_TOKEN_INVALID,     /* no such access token */
    EMU_ERR_TOKEN_EXPIRED,     /* the access token outlived its lifetime */
    EMU_ERR_NOT_FOUND,         /* no such playlist */
    EMU_ERR_NOT_OWNER,         /* the playlist belongs to someone else */
    EMU_ERR_FULL,              /* a limit on stored objects was reached */
    EMU_ERR_POSITION,          /* an insert position beyond the playlist's end */
};

/* A short English phrase for a status. Never NULL. */
const char *emu_strerror(enum emu_status status);

/* What a successful token request hands out. */
struct emu_grant {
    char access_token[EMU_TOKEN_LEN + 1];
    char refresh_token[EMU_TOKEN_LEN + 1];
    char scope[EMU_SCOPE_MAX];
    long long expires_in;
};

enum emu_fault { EMU_FAULT_NONE, EMU_FAULT_RATE_LIMIT, EMU_FAULT_QUOTA, EMU_FAULT_SERVER };

struct emu_code;
struct emu_token;
struct emu_playlist;

struct emu_state {
    pthread_mutex_t state_lock; /* guards every field below */
    struct emu_config config;
    uint64_t rng;
    struct emu_code *codes;
    size_t n_codes, cap_codes;
    struct emu_token *tokens;
    size_t n_tokens, cap_tokens;
    struct emu_playlist *playlists;
    size_t n_playlists, cap_playlists;
    struct {
        char endpoint[32];
        int status;
        unsigned long long count;
    } stats[128];
    size_t n_stats;
};

/* Initialises *state with config; seed drives fault decisions. Free with emu_state_free. */
void emu_state_init(struct emu_state *state, const struct emu_config *config, uint64_t seed);
void emu_state_free(struct emu_state *state);

/* Copies the current configuration into *out. */
void emu_state_get_config(struct emu_state *state, struct emu_config *out);

/* Replaces the configuration. */
void emu_state_set_config(struct emu_state *state, const struct emu_config *config);

/* Issues a single-use authorization code for user_index (into library->users) bound to
 * client_id, redirect_uri, scope and the PKCE challenge (may be "" for a confidential client).
 * Writes the code (NUL-terminated) into out. EMU_OK or EMU_ERR_FULL. */
enum emu_status emu_state_issue_code(struct emu_state *state, size_t user_index,
                                     const char *client_id, const char *redirect_uri,
                                     const char *scope, const char *challenge,
                                     char out[EMU_TOKEN_LEN + 1]);

/* Redeems a code: it must exist, be unused and unexpired, and match client_id and
 * redirect_uri; if it carries a challenge, verifier must match it; if it carries none,
 * client_authenticated must be true. The code is spent even when the check fails after it was
 * found (as real OAuth servers do with replays). On EMU_OK fills *grant. */
enum emu_status emu_state_redeem_code(struct emu_state *state, const char *code,
                                      const char *client_id, const char *redirect_uri,
                                      const char *verifier, bool client_authenticated,
                                      struct emu_grant *grant);

/* Exchanges a refresh token for a new access token and a new refresh token; the old refresh
 * token stops working (rotation). On EMU_OK fills *grant. */
enum emu_status emu_state_refresh(struct emu_state *state, const char *refresh_token,
                                  const char *client_id, struct emu_grant *grant);

/* Checks an access token. On EMU_OK writes the user's index and the granted scope. */
enum emu_status emu_state_check_access(struct emu_state *state, const char *access_token,
                                       size_t *user_index, char scope[EMU_SCOPE_MAX]);

/* Makes every access token expired now; with refresh_too, every refresh token invalid. */
void emu_state_expire_tokens(struct emu_state *state, bool refresh_too);

/* Creates an empty playlist owned by user_index. Writes its id and its snapshot id (at most
 * 40 characters). EMU_OK or EMU_ERR_FULL. */
enum emu_status emu_state_create_playlist(struct emu_state *state, size_t user_index,
                                          const char *name, const char *description, bool is_public,
                                          bool collaborative, char id[EMU_ID_LEN + 1],
                                          char snapshot[41]);

/* position for emu_state_add_items: replace every item (PUT /v1/playlists/{id}/items). */
#define EMU_REPLACE_ITEMS (-2)

/* Inserts uris[0..n) into the playlist at position (-1 = append, EMU_REPLACE_ITEMS = instead
 * of what it held) on behalf of user_index.
 * Writes the new snapshot id. EMU_OK, EMU_ERR_NOT_FOUND, EMU_ERR_NOT_OWNER, EMU_ERR_POSITION
 * or EMU_ERR_FULL (the playlist would exceed EMU_PLAYLIST_MAX items). */
enum emu_status emu_state_add_items(struct emu_state *state, size_t user_index,
                                    const char *playlist_id, const char *const *uris, size_t n,
                                    long long position, char snapshot[41]);

/* A new JSON object describing a playlist as the Web API does (items counted, not listed), or
 * NULL if there is no such playlist. base_url prefixes hrefs. Caller owns the result. */
cJSON *emu_state_playlist_json(struct emu_state *state, const struct emu_library *library,
                               const char *playlist_id, const char *base_url);

/* A new JSON array of the playlists of user_index (or every user's when user_index is
 * SIZE_MAX) in the control API's shape {id,user,name,public,description,uris}. Caller owns. */
cJSON *emu_state_playlists_json(struct emu_state *state, const struct emu_library *library,
                                size_t user_index);

/* Draws the fault (if any) the next Web API call meets, with the configuration it was drawn
 * under written to *config. */
enum emu_fault emu_state_draw_fault(struct emu_state *state, struct emu_config *config);

/* Counts one answered request. endpoint is a short label such as "me_tracks". */
void emu_state_count(struct emu_state *state, const char *endpoint, int status);

/* A new JSON object {"requests":[{"endpoint","status","count"}...],"total":N}. Caller owns. */
cJSON *emu_state_stats_json(struct emu_state *state);

#endif
