/* spotify-emu: an emulator of the parts of Spotify's Accounts service and Web API that mixtape
 * uses, for tests and the demo. One base URL serves /authorize, /api/token, /v1/... and the
 * control API /_emu/...; see README.md beside this file. */
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "options.h"
#include "server.h"

static volatile sig_atomic_t stopping;

static void on_signal(int signal_number)
{
    (void)signal_number;
    stopping = 1;
}

/* The options the table cannot check: the log level, the required ones, the client id's
 * length. Returns 0, or -1 after one line on stderr. */
static int check_options(const char *usage, const char *log_level, const char *catalog_path,
                         const char *client_id, const char *redirect_uris)
{
    if (log_parse_level(log_level, &log_threshold) != 0) {
        fprintf(stderr, "option --log-level: '%s' is not debug, info, warn or error\n", log_level);
        return -1;
    }
    if (!catalog_path || !client_id || !redirect_uris) {
        fprintf(stderr, "%s\n(--catalog, --client-id and --redirect-uri are required)\n", usage);
        return -1;
    }
    if (strlen(client_id) == 0 || strlen(client_id) >= EMU_URI_MAX) {
        fprintf(stderr, "option --client-id: 1..%d bytes\n", EMU_URI_MAX - 1);
        return -1;
    }
    return 0;
}

/* Listens on `listen` with `threads` workers, prints the ready line and serves until SIGTERM
 * or SIGINT. Returns the exit status: 0 after a signal, 1 when it could not listen. */
static int serve(struct emu_server *server, const char *listen, long long threads,
                 long long token_lifetime)
{
    int status = 1;
    char threads_text[16];
    snprintf(threads_text, sizeof threads_text, "%lld", threads);
    const char *civet_options[] = {
        "listening_ports",    listen,  "num_threads", threads_text, "enable_keep_alive", "yes",
        "request_timeout_ms", "30000", NULL};
    mg_init_library(0);
    struct mg_callbacks callbacks;
    memset(&callbacks, 0, sizeof callbacks);
    struct mg_context *context = mg_start(&callbacks, server, civet_options);
    if (!context) {
        fprintf(stderr, "spotify-emu: cannot listen on %s\n", listen);
        goto done;
    }
    struct mg_server_port ports[4];
    int n_ports = mg_get_server_ports(context, 4, ports);
    if (n_ports < 1) {
        fprintf(stderr, "spotify-emu: cannot learn the bound port\n");
        goto done;
    }
    char host[64];
    snprintf(host, sizeof host, "%.*s", (int)strcspn(listen, ":"), listen);
    if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    snprintf(server->base_url, sizeof server->base_url, "http://%s:%d", host, ports[0].port);
    mg_set_request_handler(context, "/", emu_server_handle, server);
    log_info("started",
             "catalog_tracks=%zu skipped_rows=%zu users=%zu demo_saved=%zu token_lifetime=%lld",
             server->catalog.n_tracks, server->catalog.skipped_rows, server->library.n_users,
             server->library.users[0].n_saved, token_lifetime);
    printf("ready addr=%s:%d users=%zu\n", host, ports[0].port, server->library.n_users);
    fflush(stdout);
    while (!stopping) {
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    log_info("stopping", "reason=signal");
    status = 0;
done:
    if (context)
        mg_stop(context);
    mg_exit_library();
    return status;
}

int main(int argc, char **argv)
{
    const char *listen = NULL, *catalog_path = NULL, *client_id = NULL, *client_secret = NULL;
    const char *redirect_uris = NULL, *log_level = NULL;
    long long library_size = 0, token_lifetime = 0, code_lifetime = 0, latency_ms = 0;
    long long retry_after = 0, seed = 0, threads = 0;
    double rate_429 = 0, rate_5xx = 0;
    bool quota_exceeded = false, legacy_audio_features = false;
    const struct option_spec specs[] = {
        {"listen", 'l', "EMU_LISTEN", OPTION_STRING, "127.0.0.1:0", 0, 0,
         "address to listen on (port 0 picks a free port)", &listen},
        {"catalog", 'c', "EMU_CATALOG", OPTION_STRING, NULL, 0, 0,
         "catalog CSV (plain or gzip) the users' libraries are drawn from (required)",
         &catalog_path},
        {"client-id", 0, "EMU_CLIENT_ID", OPTION_STRING, NULL, 0, 0,
         "the one registered app's client id (required)", &client_id},
        {"client-secret", 0, "EMU_CLIENT_SECRET", OPTION_STRING, NULL, 0, 0,
         "the app's client secret (unset: only PKCE clients)", &client_secret},
        {"redirect-uri", 0, "EMU_REDIRECT_URI", OPTION_STRING, NULL, 0, 0,
         "registered redirect URIs, comma-separated, matched exactly (required)", &redirect_uris},
        {"library-size", 0, "EMU_LIBRARY_SIZE", OPTION_INT, "2000", 0, 200000,
         "saved tracks of the demo user (others scale from it)", &library_size},
        {"token-lifetime", 0, "EMU_TOKEN_LIFETIME", OPTION_INT, "3600", 1, 86400,
         "seconds an access token lives", &token_lifetime},
        {"code-lifetime", 0, "EMU_CODE_LIFETIME", OPTION_INT, "60", 1, 3600,
         "seconds an authorization code lives", &code_lifetime},
        {"rate-429", 0, "EMU_RATE_429", OPTION_DOUBLE, "0", 0, 1,
         "share of Web API calls answered 429 with Retry-After", &rate_429},
        {"rate-5xx", 0, "EMU_RATE_5XX", OPTION_DOUBLE, "0", 0, 1,
         "share of Web API calls answered 500, 502 or 503", &rate_5xx},
        {"retry-after", 0, "EMU_RETRY_AFTER", OPTION_INT, "1", 0, 3600,
         "seconds in the Retry-After of a rate-limit 429", &retry_after},
        {"latency-ms", 0, "EMU_LATENCY_MS", OPTION_INT, "0", 0, 10000,
         "milliseconds added before every Web API and token answer", &latency_ms},
        {"quota-exceeded", 0, "EMU_QUOTA_EXCEEDED", OPTION_BOOL, "false", 0, 0,
         "every Web API call answers 429 with reason QUOTA_EXCEEDED", &quota_exceeded},
        {"legacy-audio-features", 0, "EMU_LEGACY_AUDIO_FEATURES", OPTION_BOOL, "false", 0, 0,
         "answer /v1/audio-features as for an app created before 2024-11-27 (else 403)",
         &legacy_audio_features},
        {"seed", 0, "EMU_SEED", OPTION_INT, "1", 0, 1e15, "seed of the users' libraries and faults",
         &seed},
        {"threads", 0, "EMU_THREADS", OPTION_INT, "32", 2, 256, "HTTP worker threads", &threads},
        {"log-level", 0, "EMU_LOG_LEVEL", OPTION_STRING, "info", 0, 0, "debug, info, warn or error",
         &log_level},
    };
    const char *usage = "usage: spotify-emu --catalog FILE --client-id ID --redirect-uri URI "
                        "[options]";
    char **positional = calloc((size_t)argc + 1, sizeof(char *));
    int n_positional = 0;
    enum options_result parsed = options_parse(specs, sizeof specs / sizeof specs[0], argc, argv,
                                               usage, positional, &n_positional);
    free(positional);
    if (parsed == OPTIONS_HELP)
        return 0;
    if (parsed != OPTIONS_OK)
        return 2;
    if (check_options(usage, log_level, catalog_path, client_id, redirect_uris) != 0)
        return 2;

    static struct emu_server server;
    server.client_id = client_id;
    server.client_secret = client_secret && client_secret[0] ? client_secret : NULL;
    struct emu_config config = {
        .rate_429 = rate_429,
        .rate_5xx = rate_5xx,
        .latency_ms = latency_ms,
        .token_lifetime = token_lifetime,
        .code_lifetime = code_lifetime,
        .retry_after = retry_after,
        .quota_exceeded = quota_exceeded,
        .legacy_audio_features = legacy_audio_features,
    };
    char problem[400];
    if (emu_config_set_redirect_uris(&config, redirect_uris, problem, sizeof problem) != 0) {
        fprintf(stderr, "option --redirect-uri: %s\n", problem);
        return 2;
    }
    enum emu_catalog_status loaded = emu_catalog_load(catalog_path, &server.catalog);
    if (loaded != EMU_CATALOG_OK) {
        fprintf(stderr, "spotify-emu: %s: %s\n", catalog_path, emu_catalog_strerror(loaded));
        return 1;
    }
    emu_library_build(&server.catalog, (size_t)library_size, (uint64_t)seed, &server.library);
    emu_state_init(&server.state, &config, (uint64_t)seed);

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = serve(&server, listen, threads, token_lifetime);
    emu_state_free(&server.state);
    emu_library_free(&server.library);
    emu_catalog_free(&server.catalog);
    return status;
}
