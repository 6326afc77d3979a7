/* auth-service's options: one table (flags, environment, defaults, --help) and the checks
 * that stop start-up with a message saying how to fix a bad value. */
#ifndef MIXTAPE_AUTH_CONFIG_H
#define MIXTAPE_AUTH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "session.h"

#define CONFIG_MAX_URL 512

struct auth_config {
    /* As given (pointing into argv, environ or the option table). */
    const char *client_id;
    const char *client_secret; /* NULL: a public client (PKCE only) */
    const char *public_url;    /* NULL: http://127.0.0.1:<bound port> */
    const char *listen;
    const char *reco_endpoints;
    const char *session_keys;
    const char *session_keys_file;
    const char *accounts_url;
    const char *api_url;
    const char *playlist_name;
    const char *log_level;
    long long session_hours;
    long long session_idle_minutes;
    long long login_minutes;
    long long spotify_connections;
    long long spotify_timeout_ms;
    long long spotify_budget_ms;
    long long max_saved;
    long long reco_timeout_ms;
    long long threads;            /* work slots: requests waiting on Spotify / reco at once */
    long long queue_wait_ms;      /* wait for a work slot before 503 */
    long long connections;        /* CivetWeb worker threads (open connections served) */
    long long request_timeout_ms; /* CivetWeb request_timeout_ms */
    bool audio_features;
    bool auto_save;
    bool public_playlists;

    /* Derived by config_load. */
    char listen_host[128];
    int listen_port;
    char accounts_base[CONFIG_MAX_URL]; /* without a trailing slash */
    char api_base[CONFIG_MAX_URL];
    char api_origin[CONFIG_MAX_URL];    /* scheme://host[:port] of api_base, for `next` checks */
    bool public_url_derived;            /* PUBLIC_URL unset: set by config_set_bound_port */
    char public_origin[CONFIG_MAX_URL]; /* scheme://host[:port], as browsers send Origin */
    char redirect_uri[CONFIG_MAX_URL + 16]; /* public_origin + "/callback" */
    bool secure_cookies;                    /* PUBLIC_URL is https */
    struct session_keyring keys;
    bool keys_ephemeral; /* no keys given: one random key, sessions end on restart */
};

enum config_status { CONFIG_OK = 0, CONFIG_HELP, CONFIG_INVALID };

/* "ok", "help printed", "invalid configuration"; never NULL. */
const char *config_strerror(enum config_status status);

/* Parses argv and the environment into *cfg and checks every value. On CONFIG_INVALID, err
 * (NUL-terminated, err_len bytes) says which option is wrong and how to fix it; option-syntax
 * errors are also printed to stderr by the options parser. CONFIG_HELP: --help was printed. */
enum config_status config_load(struct auth_config *cfg, int argc, char **argv, char *err,
                               size_t err_len);

/* Checks PUBLIC_URL text the way Spotify checks redirect URIs (https, or http on a loopback
 * literal; never `localhost`; no path, query or fragment) and writes its origin
 * (scheme://host[:port], lower case, default port dropped) into origin (CONFIG_MAX_URL bytes).
 * Returns CONFIG_OK or CONFIG_INVALID with err saying how to fix it. */
enum config_status config_check_public_url(const char *url, char *origin, char *err,
                                           size_t err_len);

/* After the listener is bound: if PUBLIC_URL was unset, derives it from the port. */
void config_set_bound_port(struct auth_config *cfg, int port);

#endif
