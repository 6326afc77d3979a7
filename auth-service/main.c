/* auth-service: the mixtape web front. Reads the options, starts CivetWeb with the routes,
 * prints `ready addr=http://HOST:PORT`, and stops cleanly on SIGTERM or SIGINT (CivetWeb
 * finishes the requests in flight before mg_stop returns). */
#include <civetweb.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "config.h"
#include "log.h"
#include "routes.h"
#include "rpc.h"

/* CivetWeb's own messages may quote a request line, and a request line may hold a sign-in
 * code: keep only the text before any '?'. */
static int on_civetweb_log(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    char safe[256];
    snprintf(safe, sizeof safe, "%s", message);
    safe[strcspn(safe, "?\r\n\"")] = '\0';
    log_warn("civetweb", "message=\"%s\"", safe);
    return 1;
}

/* Each connection is a descriptor, and the usual soft limit (1024) is below CONNECTIONS:
 * raise it to the hard limit, and say so when even that is short. */
static void raise_file_limit(long long connections)
{
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
        files.rlim_cur < (rlim_t)connections + 256)
        log_warn("file_limit_low",
                 "open_files=%llu connections=%lld note=\"raise LimitNOFILE to serve CONNECTIONS "
                 "at once\"",
                 (unsigned long long)files.rlim_cur, connections);
}

/* Starts CivetWeb on cfg->listen with the routes' callbacks (after mg_init_library). Returns
 * the context, or NULL (logged) when it cannot listen. */
static struct mg_context *start_civetweb(const struct auth_config *cfg, struct app *app)
{
    /* One CivetWeb worker per open connection (CONNECTIONS, many and cheap: 100 KiB stacks),
     * of which at most THREADS wait on Spotify or reco-service (work_slots), so slow clients and
     * a slow Spotify hold neither the probes nor each other. A request must arrive whole within
     * REQUEST_TIMEOUT_MS; an idle keep-alive connection is closed after 5 s. */
    char connections[16], request_timeout[16];
    snprintf(connections, sizeof connections, "%lld", cfg->connections);
    snprintf(request_timeout, sizeof request_timeout, "%lld", cfg->request_timeout_ms);
    const char *options[] = {"listening_ports", cfg->listen, "num_threads", connections,
                             "listen_backlog", "1024", "connection_queue", "1024",
                             "enable_keep_alive", "yes", "keep_alive_timeout_ms", "5000",
                             "request_timeout_ms", request_timeout, "linger_timeout_ms", "1000",
                             /* the mix page streams small chunks: no Nagle delay on them */
                             "tcp_nodelay", "1", NULL};
    struct mg_callbacks callbacks;
    memset(&callbacks, 0, sizeof callbacks);
    callbacks.log_message = on_civetweb_log;
    callbacks.begin_request = routes_begin_request;
    struct mg_context *ctx = mg_start(&callbacks, app, options);
    if (!ctx) {
        fprintf(stderr, "auth-service: cannot listen on %s (LISTEN)\n", cfg->listen);
        log_error("startup_failed", "reason=\"cannot listen\" listen=%s", cfg->listen);
    }
    return ctx;
}

/* Makes the public URL final with the bound port, registers the routes and prints the ready
 * line. Returns 0, or -1 (logged) when CivetWeb reports no listening port. */
static int announce_ready(struct mg_context *ctx, struct auth_config *cfg, struct app *app)
{
    struct mg_server_port ports[4];
    int n_ports = mg_get_server_ports(ctx, 4, ports);
    if (n_ports < 1) {
        log_error("startup_failed", "reason=\"no listening port\"");
        return -1;
    }
    /* The public URL is final before any handler can read it from a worker thread. */
    config_set_bound_port(cfg, ports[0].port);
    routes_register(ctx, app);
    const char *host = strcmp(cfg->listen_host, "0.0.0.0") == 0 ? "127.0.0.1" : cfg->listen_host;
    log_info("started",
             "listen=%s:%d public=%s redirect_uri=%s accounts=%s api=%s reco=%s threads=%lld "
             "connections=%lld",
             host, ports[0].port, cfg->public_origin, cfg->redirect_uri, cfg->accounts_base,
             cfg->api_base, cfg->reco_endpoints, cfg->threads, cfg->connections);
    printf("ready addr=http://%s:%d redirect_uri=%s\n", host, ports[0].port, cfg->redirect_uri);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    struct auth_config cfg;
    char err[768] = "";
    enum config_status cs = config_load(&cfg, argc, argv, err, sizeof err);
    if (cs == CONFIG_HELP)
        return 0;
    if (cs != CONFIG_OK) {
        fprintf(stderr, "auth-service: %s\n", err);
        log_error("config_invalid", "reason=\"%s\"", err);
        return 2;
    }
    if (cfg.keys_ephemeral)
        log_warn("session_keys_ephemeral",
                 "note=\"SESSION_KEYS unset: a random key was made; sessions end on restart and "
                 "are not shared between fronts\"");

    /* Block the stop signals in every thread; main waits for them with sigwait. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("startup_failed", "reason=\"curl_global_init failed\"");
        return 1;
    }
    int exit_code = 1;
    struct rpc_client *rpc = NULL;
    struct mg_context *ctx = NULL;
    static struct app app;
    bool slots_made = false;
    struct rpc_client_options rpc_options = {.resolve_interval_s =
                                                 (unsigned)cfg.reco_resolve_interval};
    if (rpc_client_open_with(&rpc, cfg.reco_endpoints, &rpc_options, err, sizeof err) != RPC_OK) {
        fprintf(stderr, "auth-service: RECO_ENDPOINTS: %s\n", err);
        log_error("config_invalid", "option=RECO_ENDPOINTS reason=\"%s\"", err);
        exit_code = 2;
        goto done;
    }
    if (routes_init(&app, &cfg, rpc) != 0) {
        log_error("startup_failed", "reason=\"cannot make the work slots\"");
        goto done;
    }
    slots_made = true;

    raise_file_limit(cfg.connections);

    mg_init_library(0);
    ctx = start_civetweb(&cfg, &app);
    if (!ctx)
        goto done;
    if (announce_ready(ctx, &cfg, &app) != 0)
        goto done;

    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    log_info("stopping", "signal=%d", signal_number);
    exit_code = 0;
done:
    if (ctx)
        mg_stop(ctx);
    if (slots_made) {
        work_slots_destroy(&app.slots);
        revoked_destroy(&app.revoked);
        renewed_destroy(&app.renewed);
    }
    rpc_client_close(rpc);
    curl_global_cleanup();
    mg_exit_library();
    if (exit_code == 0)
        log_info("stopped", "outcome=clean");
    return exit_code;
}
