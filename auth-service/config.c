/* The auth-service option table and its validation: see config.h. */
#include "config.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "options.h"
#include "reco_limits.h"

static const char USAGE[] =
    "usage: auth-service [options]\n"
    "The mixtape web front: sign in with Spotify, read your saved tracks, show and save a\n"
    "50-song playlist. Every option can also come from its environment variable.";

const char *config_strerror(enum config_status status)
{
    switch (status) {
    case CONFIG_OK:
        return "ok";
    case CONFIG_HELP:
        return "help printed";
    case CONFIG_INVALID:
        return "invalid configuration";
    }
    return "unknown config status";
}

/* Splits a URL into lower-case scheme and host, port (0 if default) and the rest. */
struct url_parts {
    char scheme[16];
    char host[256];
    long port; /* explicit port, or 0 */
    bool has_path, has_query, has_fragment, has_user;
};

static int split_url(const char *text, struct url_parts *out)
{
    int rc = -1;
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL, *frag = NULL,
         *user = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, text, 0) != CURLUE_OK)
        goto done;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        goto done;
    if (strlen(scheme) >= sizeof out->scheme || strlen(host) >= sizeof out->host)
        goto done;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; scheme[i]; i++)
        out->scheme[i] = (char)(scheme[i] | 0x20);
    for (size_t i = 0; host[i]; i++)
        out->host[i] = (char)((host[i] >= 'A' && host[i] <= 'Z') ? host[i] | 0x20 : host[i]);
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
        out->port = strtol(port, NULL, 10);
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK)
        out->has_path = strcmp(path, "/") != 0 && path[0] != '\0';
    out->has_query = curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK;
    out->has_fragment = curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK;
    out->has_user = curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK;
    rc = 0;
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_free(frag);
    curl_free(user);
    curl_url_cleanup(u);
    return rc;
}

/* True for an IPv4 literal in 127.0.0.0/8 or [::1]; "127.0.0.1.nip.io" is a name, not one. */
static bool is_loopback_literal(const char *host)
{
    struct in_addr v4;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return strcmp(host, "[::1]") == 0;
}

static void origin_of(const struct url_parts *p, char *origin)
{
    bool default_port = p->port == 0 || (strcmp(p->scheme, "https") == 0 && p->port == 443) ||
                        (strcmp(p->scheme, "http") == 0 && p->port == 80);
    if (default_port)
        snprintf(origin, CONFIG_MAX_URL, "%s://%s", p->scheme, p->host);
    else
        snprintf(origin, CONFIG_MAX_URL, "%s://%s:%ld", p->scheme, p->host, p->port);
}

enum config_status config_check_public_url(const char *url, char *origin, char *err, size_t err_len)
{
    struct url_parts p;
    if (strlen(url) >= CONFIG_MAX_URL - 16 || split_url(url, &p) != 0 ||
        (strcmp(p.scheme, "http") != 0 && strcmp(p.scheme, "https") != 0)) {
        snprintf(err, err_len,
                 "PUBLIC_URL '%s' is not an http(s) URL; give the address browsers use, such as "
                 "http://127.0.0.1:8080 or https://mixtape.example.org",
                 url);
        return CONFIG_INVALID;
    }
    if (strcmp(p.host, "localhost") == 0 || strstr(p.host, ".localhost") != NULL) {
        snprintf(err, err_len,
                 "PUBLIC_URL uses 'localhost', which Spotify refuses in redirect URIs; use the "
                 "loopback literal instead: http://127.0.0.1%s%.0ld (and register "
                 "http://127.0.0.1%s%.0ld/callback in the Spotify dashboard)",
                 p.port ? ":" : "", p.port, p.port ? ":" : "", p.port);
        return CONFIG_INVALID;
    }
    if (strcmp(p.scheme, "http") == 0 && !is_loopback_literal(p.host)) {
        snprintf(err, err_len,
                 "PUBLIC_URL '%s' is plain http on a host that is not 127.0.0.1 or [::1]; "
                 "Spotify only accepts https redirect URIs there: put the service behind a TLS "
                 "proxy and use https://",
                 url);
        return CONFIG_INVALID;
    }
    if (p.has_path || p.has_query || p.has_fragment || p.has_user) {
        snprintf(err, err_len,
                 "PUBLIC_URL '%s' must be only scheme://host[:port] (no path, query, fragment or "
                 "user); the redirect URI is PUBLIC_URL/callback",
                 url);
        return CONFIG_INVALID;
    }
    origin_of(&p, origin);
    return CONFIG_OK;
}

/* Checks a Spotify base URL option and copies it without a trailing slash. */
static enum config_status check_base_url(const char *name, const char *url, char *base,
                                         char *origin, char *err, size_t err_len)
{
    struct url_parts p;
    if (strlen(url) >= CONFIG_MAX_URL - 64 || split_url(url, &p) != 0 ||
        (strcmp(p.scheme, "http") != 0 && strcmp(p.scheme, "https") != 0) || p.has_query ||
        p.has_fragment || p.has_user) {
        snprintf(err, err_len, "%s '%s' is not an http(s) base URL such as https://%s", name, url,
                 strcmp(name, "SPOTIFY_API_URL") == 0      ? "api.spotify.com"
                 : strcmp(name, "SPOTIFY_OEMBED_URL") == 0 ? "open.spotify.com"
                                                           : "accounts.spotify.com");
        return CONFIG_INVALID;
    }
    snprintf(base, CONFIG_MAX_URL, "%s", url);
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/')
        base[--len] = '\0';
    if (origin)
        origin_of(&p, origin);
    return CONFIG_OK;
}

static enum config_status check_listen(struct auth_config *cfg, char *err, size_t err_len)
{
    const char *colon = strrchr(cfg->listen, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    size_t host_len = colon ? (size_t)(colon - cfg->listen) : 0;
    if (!colon || host_len == 0 || host_len >= sizeof cfg->listen_host || end == colon + 1 ||
        *end != '\0' || port < 0 || port > 65535) {
        snprintf(err, err_len,
                 "LISTEN '%s' must be host:port with port 0..65535 (0 picks a free port), such "
                 "as 127.0.0.1:8080",
                 cfg->listen);
        return CONFIG_INVALID;
    }
    memcpy(cfg->listen_host, cfg->listen, host_len);
    cfg->listen_host[host_len] = '\0';
    cfg->listen_port = (int)port;
    return CONFIG_OK;
}

static enum config_status check_keys(struct auth_config *cfg, char *err, size_t err_len)
{
    char why[256] = "";
    enum session_status s;
    if (cfg->session_keys && cfg->session_keys_file) {
        snprintf(err, err_len, "give SESSION_KEYS or SESSION_KEYS_FILE, not both");
        return CONFIG_INVALID;
    }
    if (cfg->session_keys) {
        s = session_keyring_parse(&cfg->keys, cfg->session_keys, why, sizeof why);
        if (s != SESSION_OK) {
            snprintf(err, err_len, "SESSION_KEYS: %s", why);
            return CONFIG_INVALID;
        }
        return CONFIG_OK;
    }
    if (cfg->session_keys_file) {
        s = session_keyring_load_file(&cfg->keys, cfg->session_keys_file, why, sizeof why);
        if (s != SESSION_OK) {
            snprintf(err, err_len, "SESSION_KEYS_FILE: %s", why);
            return CONFIG_INVALID;
        }
        return CONFIG_OK;
    }
    if (session_keyring_random(&cfg->keys) != SESSION_OK) {
        snprintf(err, err_len, "SESSION_KEYS unset and no randomness to make a key");
        return CONFIG_INVALID;
    }
    cfg->keys_ephemeral = true;
    return CONFIG_OK;
}

/* The client id: present, and up to 128 letters, digits, '-' and '_'. */
static enum config_status check_client_id(const char *client_id, char *err, size_t err_len)
{
    if (!client_id || !*client_id) {
        snprintf(err, err_len,
                 "SPOTIFY_CLIENT_ID is missing: register an app at "
                 "https://developer.spotify.com/dashboard (see auth-service/README.md) and set "
                 "SPOTIFY_CLIENT_ID or --client-id");
        return CONFIG_INVALID;
    }
    for (const char *c = client_id; *c; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '-' || *c == '_';
        if (!ok || c - client_id >= 128) {
            snprintf(err, err_len,
                     "SPOTIFY_CLIENT_ID must be up to 128 letters and digits, as the Spotify "
                     "dashboard shows it");
            return CONFIG_INVALID;
        }
    }
    return CONFIG_OK;
}

/* Where the service listens, where browsers reach it (the redirect URI and whether cookies are
 * Secure follow), and where Spotify is. */
static enum config_status check_addresses(struct auth_config *cfg, char *err, size_t err_len)
{
    if (check_listen(cfg, err, err_len) != CONFIG_OK)
        return CONFIG_INVALID;
    if (cfg->public_url) {
        if (config_check_public_url(cfg->public_url, cfg->public_origin, err, err_len) != CONFIG_OK)
            return CONFIG_INVALID;
    } else {
        cfg->public_url_derived = true;
        config_set_bound_port(cfg, cfg->listen_port);
    }
    snprintf(cfg->redirect_uri, sizeof cfg->redirect_uri, "%s/callback", cfg->public_origin);
    cfg->secure_cookies = strncmp(cfg->public_origin, "https:", 6) == 0;
    if (check_base_url("SPOTIFY_ACCOUNTS_URL", cfg->accounts_url, cfg->accounts_base, NULL, err,
                       err_len) != CONFIG_OK ||
        check_base_url("SPOTIFY_API_URL", cfg->api_url, cfg->api_base, cfg->api_origin, err,
                       err_len) != CONFIG_OK ||
        check_base_url("SPOTIFY_OEMBED_URL", cfg->oembed_url, cfg->oembed_base, NULL, err,
                       err_len) != CONFIG_OK)
        return CONFIG_INVALID;
    return CONFIG_OK;
}

/* The options of auth-service, one per field of struct auth_config (target filled in by
 * config_load). */
struct config_option {
    struct option_spec spec; /* target NULL: set per call */
    size_t offset;           /* of the field in struct auth_config */
};

static const struct config_option CONFIG_OPTIONS[] = {
    {{"client-id", 0, "SPOTIFY_CLIENT_ID", OPTION_STRING, NULL, 0, 0,
      "client id of your Spotify app (required; see README)", NULL},
     offsetof(struct auth_config, client_id)},
    {{"client-secret", 0, "SPOTIFY_CLIENT_SECRET", OPTION_STRING, NULL, 0, 0,
      "client secret, for a confidential client (optional with PKCE)", NULL},
     offsetof(struct auth_config, client_secret)},
    {{"public-url", 0, "PUBLIC_URL", OPTION_STRING, NULL, 0, 0,
      "address browsers use; redirect URI is PUBLIC_URL/callback [default "
      "http://127.0.0.1:<port>]",
      NULL},
     offsetof(struct auth_config, public_url)},
    {{"listen", 0, "LISTEN", OPTION_STRING, "127.0.0.1:8080", 0, 0,
      "host:port to listen on (port 0: a free port)", NULL},
     offsetof(struct auth_config, listen)},
    {{"reco-endpoints", 0, "RECO_ENDPOINTS", OPTION_STRING, "tcp://127.0.0.1:7100", 0, 0,
      "comma-separated NNG URLs of reco-service instances", NULL},
     offsetof(struct auth_config, reco_endpoints)},
    {{"session-keys", 0, "SESSION_KEYS", OPTION_STRING, NULL, 0, 0,
      "comma-separated base64 32-byte keys; the first encrypts, all decrypt", NULL},
     offsetof(struct auth_config, session_keys)},
    {{"session-keys-file", 0, "SESSION_KEYS_FILE", OPTION_STRING, NULL, 0, 0,
      "file holding the session keys, one per line", NULL},
     offsetof(struct auth_config, session_keys_file)},
    {{"accounts-url", 0, "SPOTIFY_ACCOUNTS_URL", OPTION_STRING, "https://accounts.spotify.com", 0,
      0, "Spotify Accounts service base URL", NULL},
     offsetof(struct auth_config, accounts_url)},
    {{"api-url", 0, "SPOTIFY_API_URL", OPTION_STRING, "https://api.spotify.com", 0, 0,
      "Spotify Web API base URL (the service adds /v1/...)", NULL},
     offsetof(struct auth_config, api_url)},
    {{"oembed-url", 0, "SPOTIFY_OEMBED_URL", OPTION_STRING, "https://open.spotify.com", 0, 0,
      "Spotify oEmbed base URL, for cover art (the service adds /oembed?url=...)", NULL},
     offsetof(struct auth_config, oembed_url)},
    {{"session-hours", 0, "SESSION_HOURS", OPTION_INT, "168", 1, 4320,
      "hours a sign-in lasts before the user signs in again", NULL},
     offsetof(struct auth_config, session_hours)},
    {{"session-idle-minutes", 0, "SESSION_IDLE_MINUTES", OPTION_INT, "60", 5, 259200,
      "a session unused this long ends (each use re-issues the cookie)", NULL},
     offsetof(struct auth_config, session_idle_minutes)},
    {{"login-minutes", 0, "LOGIN_MINUTES", OPTION_INT, "10", 1, 60,
      "minutes a user has to finish the Spotify consent page", NULL},
     offsetof(struct auth_config, login_minutes)},
    {{"spotify-connections", 0, "SPOTIFY_CONNECTIONS", OPTION_INT, "8", 1, 32,
      "concurrent connections to the Web API per request", NULL},
     offsetof(struct auth_config, spotify_connections)},
    {{"spotify-timeout-ms", 0, "SPOTIFY_TIMEOUT_MS", OPTION_INT, "10000", 100, 120000,
      "time limit of one Spotify call", NULL},
     offsetof(struct auth_config, spotify_timeout_ms)},
    {{"spotify-budget-ms", 0, "SPOTIFY_BUDGET_MS", OPTION_INT, "30000", 1000, 600000,
      "give up retrying 429s, 5xx and timeouts after this long", NULL},
     offsetof(struct auth_config, spotify_budget_ms)},
    {{"max-saved", 0, "MAX_SAVED_TRACKS", OPTION_INT, "20000", 1, RECO_MAX_SAVED,
      "saved tracks read per user at most (reco-service accepts 20000)", NULL},
     offsetof(struct auth_config, max_saved)},
    {{"reco-resolve-interval", 0, "RECO_RESOLVE_INTERVAL", OPTION_INT, "10", 1, 3600,
      "seconds between lookups of a RECO_ENDPOINTS name (every address it has is used)", NULL},
     offsetof(struct auth_config, reco_resolve_interval)},
    {{"reco-timeout-ms", 0, "RECO_TIMEOUT_MS", OPTION_INT, "10000", 100, 120000,
      "deadline of one call to reco-service", NULL},
     offsetof(struct auth_config, reco_timeout_ms)},
    {{"threads", 0, "THREADS", OPTION_INT, "16", 1, 256,
      "requests that may wait on Spotify or reco-service at once (sign-in, mixes, saves)", NULL},
     offsetof(struct auth_config, threads)},
    {{"queue-wait-ms", 0, "QUEUE_WAIT_MS", OPTION_INT, "10000", 0, 120000,
      "how long such a request waits for one of the THREADS before a 503 busy", NULL},
     offsetof(struct auth_config, queue_wait_ms)},
    {{"connections", 0, "CONNECTIONS", OPTION_INT, "1500", 32, 20000,
      "connection workers: each open connection holds one while it is read or served", NULL},
     offsetof(struct auth_config, connections)},
    {{"request-timeout-ms", 0, "REQUEST_TIMEOUT_MS", OPTION_INT, "10000", 1000, 120000,
      "deadline to receive a request's headers and body (and for each write)", NULL},
     offsetof(struct auth_config, request_timeout_ms)},
    {{"audio-features", 0, "AUDIO_FEATURES", OPTION_BOOL, "false", 0, 0,
      "also ask /v1/audio-features (legacy apps only; a 403 turns it off)", NULL},
     offsetof(struct auth_config, audio_features)},
    {{"auto-save", 0, "AUTO_SAVE", OPTION_BOOL, "false", 0, 0,
      "save every generated playlist to Spotify at once, as the original did", NULL},
     offsetof(struct auth_config, auto_save)},
    {{"public-playlists", 0, "PUBLIC_PLAYLISTS", OPTION_BOOL, "false", 0, 0,
      "save playlists as public (private by default)", NULL},
     offsetof(struct auth_config, public_playlists)},
    {{"playlist-name", 0, "PLAYLIST_NAME", OPTION_STRING, "mixtape", 0, 0,
      "name of saved playlists", NULL},
     offsetof(struct auth_config, playlist_name)},
    {{"log-level", 0, "LOG_LEVEL", OPTION_STRING, "info", 0, 0, "debug, info, warn or error", NULL},
     offsetof(struct auth_config, log_level)},
};

#define N_CONFIG_OPTIONS (sizeof CONFIG_OPTIONS / sizeof CONFIG_OPTIONS[0])

enum config_status config_load(struct auth_config *cfg, int argc, char **argv, char *err,
                               size_t err_len)
{
    memset(cfg, 0, sizeof *cfg);
    struct option_spec specs[N_CONFIG_OPTIONS];
    for (size_t i = 0; i < N_CONFIG_OPTIONS; i++) {
        specs[i] = CONFIG_OPTIONS[i].spec;
        specs[i].target = (char *)cfg + CONFIG_OPTIONS[i].offset;
    }
    char *positional[64];
    int n_positional = 0;
    if (argc > 64) {
        snprintf(err, err_len, "too many arguments");
        return CONFIG_INVALID;
    }
    enum options_result parsed =
        options_parse(specs, N_CONFIG_OPTIONS, argc, argv, USAGE, positional, &n_positional);
    if (parsed == OPTIONS_HELP)
        return CONFIG_HELP;
    if (parsed != OPTIONS_OK) {
        snprintf(err, err_len, "bad option (see above and --help)");
        return CONFIG_INVALID;
    }
    if (n_positional > 0) {
        snprintf(err, err_len, "unexpected argument '%s' (see --help)", positional[0]);
        return CONFIG_INVALID;
    }
    if (check_client_id(cfg->client_id, err, err_len) != CONFIG_OK)
        return CONFIG_INVALID;
    if (cfg->client_secret && !*cfg->client_secret)
        cfg->client_secret = NULL;
    enum log_level level;
    if (log_parse_level(cfg->log_level, &level) != 0) {
        snprintf(err, err_len, "LOG_LEVEL '%s' must be debug, info, warn or error", cfg->log_level);
        return CONFIG_INVALID;
    }
    log_threshold = level;
    if (check_addresses(cfg, err, err_len) != CONFIG_OK)
        return CONFIG_INVALID;
    if (!cfg->reco_endpoints || !*cfg->reco_endpoints) {
        snprintf(err, err_len, "RECO_ENDPOINTS is empty: give the reco-service NNG URL(s)");
        return CONFIG_INVALID;
    }
    if (strlen(cfg->playlist_name) == 0 || strlen(cfg->playlist_name) > 100) {
        snprintf(err, err_len, "PLAYLIST_NAME must be 1..100 bytes");
        return CONFIG_INVALID;
    }
    return check_keys(cfg, err, err_len);
}

void config_set_bound_port(struct auth_config *cfg, int port)
{
    if (!cfg->public_url_derived)
        return;
    snprintf(cfg->public_origin, sizeof cfg->public_origin, "http://127.0.0.1:%d", port);
    snprintf(cfg->redirect_uri, sizeof cfg->redirect_uri, "%s/callback", cfg->public_origin);
    cfg->secure_cookies = false;
}
