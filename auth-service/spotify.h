/* The Spotify Accounts service and Web API, as ../shared/SPOTIFY.md describes them: token
 * exchange and refresh, /v1/me, all saved tracks (concurrently, over a bounded number of reused
 * connections), legacy audio features, and saving a playlist. Retries 429 (Retry-After), 5xx
 * and timeouts (backoff with jitter) within a bounded time; refreshes an expired token once.
 * A spotify_client serves one web request on one thread; many may run at once. */
#ifndef MIXTAPE_AUTH_SPOTIFY_H
#define MIXTAPE_AUTH_SPOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reco_limits.h" /* what reco-service accepts bounds what is read */
#include "session.h"

#define SPOTIFY_PAGE_LIMIT        50                 /* saved tracks per page (API maximum) */
#define SPOTIFY_MAX_RESPONSE      (4u * 1024 * 1024) /* bytes of one response body */
#define SPOTIFY_MAX_TRACKS        RECO_MAX_SAVED     /* saved tracks read at most */
#define SPOTIFY_MAX_ARTISTS       RECO_MAX_ARTISTS   /* artists kept per track */
#define SPOTIFY_MAX_TEXT          RECO_MAX_TEXT      /* bytes of a title or artist name */
#define SPOTIFY_ITEMS_PER_ADD     100u               /* uris per POST .../items */
#define SPOTIFY_MAX_PLAYLIST      500u               /* uris per saved playlist */
#define SPOTIFY_MAX_RETRY_AFTER_S 3600               /* longer Retry-After values are capped */
#define SPOTIFY_N_FEATURES        11

enum spotify_status {
    SPOTIFY_OK = 0,
    SPOTIFY_ERR_NETWORK,         /* could not reach Spotify within the retry budget */
    SPOTIFY_ERR_UNAVAILABLE,     /* 5xx answers until the retry budget ran out */
    SPOTIFY_ERR_RATE_LIMITED,    /* 429 with a Retry-After beyond the retry budget */
    SPOTIFY_ERR_QUOTA,           /* 429 QUOTA_EXCEEDED: waiting will not help */
    SPOTIFY_ERR_UNAUTHORIZED,    /* 401 even after a refresh: sign in again */
    SPOTIFY_ERR_INVALID_GRANT,   /* refresh token or code refused: sign in again */
    SPOTIFY_ERR_NOT_ALLOWLISTED, /* 403: user not on the app's allow-list */
    SPOTIFY_ERR_NO_PREMIUM,      /* 403: the app owner has no Premium */
    SPOTIFY_ERR_SCOPE,           /* 403: a scope was not granted */
    SPOTIFY_ERR_FORBIDDEN,       /* 403 for another reason */
    SPOTIFY_ERR_BAD_REQUEST,     /* 400 or 404 from Spotify: our request was wrong */
    SPOTIFY_ERR_BAD_RESPONSE,    /* an answer we cannot parse */
    SPOTIFY_ERR_TOO_LARGE,       /* a response over SPOTIFY_MAX_RESPONSE */
    SPOTIFY_ERR_BAD_HOST,        /* a `next` URL off the configured API host */
    SPOTIFY_ERR_INTERNAL,        /* out of memory or a libcurl failure */
};

/* A short human-readable reason; never NULL. */
const char *spotify_strerror(enum spotify_status status);

/* Where Spotify is and how hard to try. Read-only, shared by all requests. */
struct spotify_settings {
    const char *accounts_base; /* "https://accounts.spotify.com", no trailing slash */
    const char *api_base;      /* "https://api.spotify.com" */
    const char *api_origin;    /* scheme://host[:port] of api_base */
    const char *client_id;
    const char *client_secret; /* NULL for a public client */
    const char *redirect_uri;
    int connections;     /* concurrent transfers per client, 1..32 */
    long timeout_ms;     /* one call */
    long budget_ms;      /* give up retrying after this long, per batch of calls */
    uint32_t max_tracks; /* <= SPOTIFY_MAX_TRACKS */
    /* Called after every answer (or transport failure, status 0), from the calling thread;
     * endpoint is a fixed label such as "saved_tracks". May be NULL. */
    void (*on_call)(const char *endpoint, long status);
};

struct spotify_tokens {
    char access_token[SESSION_MAX_TOKEN_LEN + 1];
    char refresh_token[SESSION_MAX_TOKEN_LEN + 1];
    int64_t access_expires; /* unix seconds */
};

/* One request's worth of calls. Not thread-safe; use from one thread. */
struct spotify_client;

/* Makes a client with the user's tokens (may be NULL before sign-in). Returns NULL only on
 * out-of-memory. Free with spotify_client_free. */
struct spotify_client *spotify_client_new(const struct spotify_settings *settings,
                                          const struct spotify_tokens *tokens);
void spotify_client_free(struct spotify_client *client);

/* The client's current tokens (newest refresh token kept), and whether a refresh changed them
 * since the client was made (so the session cookie must be re-issued). */
const struct spotify_tokens *spotify_tokens(const struct spotify_client *client);
bool spotify_tokens_changed(const struct spotify_client *client);

/* A human-readable detail of the last failure ("" if none): Spotify's message or ours. Never
 * holds a token or code. Valid until the next call on the client. */
const char *spotify_last_error(const struct spotify_client *client);

/* Exchanges an authorization code (PKCE verifier) for tokens. Blocks. */
enum spotify_status spotify_exchange_code(struct spotify_client *client, const char *code,
                                          const char *verifier, int64_t now);

/* Refreshes the access token, keeping any new refresh token. Blocks. */
enum spotify_status spotify_refresh(struct spotify_client *client, int64_t now);

struct spotify_user {
    char id[SESSION_MAX_NAME_LEN + 1];
    char display_name[SESSION_MAX_NAME_LEN + 1];
};

/* GET /v1/me. Blocks. */
enum spotify_status spotify_me(struct spotify_client *client, struct spotify_user *out);

/* Parses a /v1/me body into *out (written only on SPOTIFY_OK): the id (1..SESSION_MAX_NAME_LEN
 * bytes, else SPOTIFY_ERR_BAD_RESPONSE) and the display name (the id when it is null or empty),
 * cut to SESSION_MAX_NAME_LEN bytes at a UTF-8 character boundary (spotify_utf8_prefix). */
enum spotify_status spotify_parse_me(const char *json, size_t len, struct spotify_user *out);

/* The length of the longest prefix of text (NUL-terminated) that has at most max bytes and
 * does not end inside a UTF-8 character: a cut that would split a well-formed multi-byte
 * sequence (RFC 3629: no overlong forms, surrogates or code points over U+10FFFF) moves back to
 * the start of that sequence. Any other byte is a character of its own, so invalid input is cut
 * at max exactly as long as that splits no well-formed sequence. */
size_t spotify_utf8_prefix(const char *text, size_t max);

/* Copies text (NUL-terminated) into out as well-formed UTF-8 of at most cap - 1 bytes plus a
 * NUL: every byte that starts no well-formed sequence (stray continuation bytes, overlong
 * forms, surrogates, code points over U+10FFFF, truncated sequences) becomes U+FFFD, and the
 * copy stops before a character that would not fit. Returns the bytes written (without NUL). */
size_t spotify_utf8_clean(const char *text, char *out, size_t cap);

/* One saved track, with what Spotify tells about it. */
struct saved_track {
    char id[23];                        /* "" for local files */
    char isrc[16];                      /* "" if unknown */
    char *name;                         /* malloc'd, never NULL */
    char *artists[SPOTIFY_MAX_ARTISTS]; /* malloc'd, primary first */
    uint32_t n_artists;
    uint32_t duration_ms;
    uint32_t year; /* from album.release_date, 0 if unknown */
    bool explicit_lyrics;
    bool is_local;
    bool has_features;
    double features[SPOTIFY_N_FEATURES]; /* in spotify_feature_names order */
};

/* The catalog names of saved_track.features, SPOTIFY_N_FEATURES of them. */
extern const char *const spotify_feature_names[SPOTIFY_N_FEATURES];

struct saved_library {
    struct saved_track *tracks; /* in the order Spotify lists them */
    size_t count;
    size_t total;   /* what Spotify says the library holds */
    bool truncated; /* total exceeded max_tracks; only the first max_tracks were read */
    int pages;      /* pages fetched */
};

/* Frees every string and the array; leaves *lib empty. NULL-safe. */
void spotify_library_free(struct saved_library *lib);

/* Called after each page with tracks read so far and the total to read. */
typedef void (*spotify_progress_fn)(void *ctx, size_t read, size_t total);

/* Reads all saved tracks: the first page gives the total, the rest are fetched concurrently.
 * On SPOTIFY_OK fills *out (caller frees with spotify_library_free). Blocks. */
enum spotify_status spotify_fetch_saved(struct spotify_client *client, struct saved_library *out,
                                        spotify_progress_fn progress, void *progress_ctx);

/* Fills features of tracks with ids from GET /v1/audio-features (legacy apps). A 403 returns
 * SPOTIFY_ERR_FORBIDDEN with no track changed: the caller turns the option off. Blocks. */
enum spotify_status spotify_audio_features(struct spotify_client *client,
                                           struct saved_library *lib);

/* Creates a playlist (public or private) and adds the track ids in chunks of 100, in order.
 * Writes the new playlist id into playlist_id (64 bytes). Blocks. */
enum spotify_status spotify_save_playlist(struct spotify_client *client, const char *name,
                                          const char *description, bool public_playlist,
                                          const char *const *track_ids, size_t n_ids,
                                          char playlist_id[64]);

/* ---- Pure helpers, exposed for tests and fuzzing. ---- */

/* Parses a Retry-After value (delta-seconds, or an HTTP-date relative to now). Returns the
 * wait in milliseconds, capped at SPOTIFY_MAX_RETRY_AFTER_S seconds; 1000 when the value is
 * missing or unparseable (a 429 always waits a little). */
long spotify_retry_after_ms(const char *value, int64_t now);

/* Backoff for a 5xx or timeout: attempt 0, 1, 2... grows 250 ms * 2^attempt up to 8 s, and
 * `unit` in [0,1) picks a point in [half, all] of it (equal jitter). */
long spotify_backoff_ms(int attempt, double unit);

/* How many tracks to read and pages to fetch for a library of `total` with at most
 * max_tracks read, `limit` per page. */
void spotify_paging(size_t total, size_t max_tracks, size_t limit, size_t *to_read, size_t *pages);

/* True if url is on origin (scheme://host[:port] followed by '/'). */
bool spotify_url_on_origin(const char *url, const char *origin);

/* Parses one page of GET /v1/me/tracks into tracks[0..cap): writes *n_items, *total and
 * whether `next` is non-null (and is on api_origin, else SPOTIFY_ERR_BAD_HOST). On error,
 * nothing is left allocated. */
enum spotify_status spotify_parse_saved_page(const char *json, size_t len, const char *api_origin,
                                             struct saved_track *tracks, size_t cap,
                                             size_t *n_items, size_t *total);

/* True when token is 1..SESSION_MAX_TOKEN_LEN bytes of visible ASCII (0x21..0x7e), the only
 * tokens we put into an Authorization header line and a cookie (a CR or LF in one would add
 * header lines to our requests). */
bool spotify_token_ok(const char *token);

/* Writes into out (cap bytes, NUL-terminated, cut at a UTF-8 boundary) the human part of an
 * error body: error.message, else error_description, else error when it is a string; "" when
 * there is none. Control characters, '"' and '\\' become ' ', so the text is one log value. */
void spotify_error_detail(const char *body, size_t len, char *out, size_t cap);

/* Classifies a Web API 403 body (allow-list, Premium, scope, other). */
enum spotify_status spotify_classify_403(const char *body, size_t len);

#endif
