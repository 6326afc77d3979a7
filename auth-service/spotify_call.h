/* Private to the Spotify client (spotify*.c): the client's state, one HTTP call, and the engine
 * that runs a batch of calls (spotify.c). Tokens (spotify_tokens.c), the library
 * (spotify_library.c) and playlists (spotify_playlists.c) build calls and hand them to it. */
#ifndef MIXTAPE_AUTH_SPOTIFY_CALL_H
#define MIXTAPE_AUTH_SPOTIFY_CALL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "spotify.h"

#define MAX_REFRESHES 3 /* per client: a 60 s token may expire more than once in a request */

struct spotify_client {
    const struct spotify_settings *settings;
    struct spotify_tokens tokens;
    bool tokens_changed;
    unsigned token_generation;
    int refreshes;
    CURLSH *share; /* connection and DNS cache shared by every transfer of this client */
    uint64_t jitter_state;
    char last_error[256];
};

enum call_state { CALL_WAITING, CALL_ACTIVE, CALL_DONE };

struct call {
    const char *endpoint; /* metrics label */
    char url[3072];
    bool post;
    bool put;    /* with post: the body goes as a PUT (replace a playlist's items) */
    char *body;  /* owned; NULL for GET */
    bool form;   /* body is form-encoded (token endpoint), else JSON */
    bool bearer; /* send the access token */
    /* engine state */
    enum call_state state;
    CURL *easy;
    struct curl_slist *headers;
    int attempts;
    int64_t ready_at;
    unsigned token_generation;
    /* answer */
    long http_status;
    char *response;
    size_t response_len;
    bool too_large;
    char retry_after[64];
    enum spotify_status result;
    size_t index; /* the caller's: which page this is */
};

/* Called for each call that finished with 2xx; a non-OK status stops the batch. */
typedef enum spotify_status (*spotify_on_success_fn)(struct spotify_client *c, struct call *call,
                                                     void *ctx);

/* Runs calls[0..n) with at most settings->connections in flight, retrying within
 * settings->budget_ms (a 401 refreshes the token through spotify_refresh_locked). Returns
 * SPOTIFY_OK when every call succeeded (and on_success accepted it), else the first failure;
 * transfers still in flight are abandoned. Blocks; the calls stay the caller's. */
enum spotify_status spotify_run_calls(struct spotify_client *c, struct call *calls, size_t n,
                                      spotify_on_success_fn on_success, void *ctx);

/* Frees what calls[0..n) hold (handles, body, response), not the array. */
void spotify_calls_free(struct call *calls, size_t n);

/* Fills *call as a GET of api_base + path with the access token. */
void spotify_bearer_get(struct call *call, struct spotify_client *c, const char *endpoint,
                        const char *path);

/* Refreshes the access token with the refresh token (spotify_tokens.c), counting refreshes. */
enum spotify_status spotify_refresh_locked(struct spotify_client *c, int64_t now);

/* True for a 22-character base-62 Spotify id. */
bool spotify_is_track_id(const char *s);

#endif
