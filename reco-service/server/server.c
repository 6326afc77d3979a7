/* reco-service: holds the model and answers Recommend, Info and Health over NNG req/rep.
 * This file is the process: its options, start-up, the signal loop (SIGHUP loads the model
 * again, requests in flight finishing on the old one; SIGTERM drains and exits 0) and the
 * orderly stop. The serving itself (work items, the worker pool behind a fair bounded queue,
 * deadlines, the connections it closes) is in serve.c. */
#include <errno.h>
#include <stdlib.h> /* a C library header, so __GLIBC__ is known below */
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu_count.h"
#include "http_probe.h"
#include "log.h"
#include "options.h"
#include "recommend.h"
#include "rpc.h"
#include "serve.h"
#include "server_metrics.h"

/* How long SIGTERM waits for requests in flight before closing anyway. */
#define DRAIN_TIMEOUT_MS 30000
/* After the last reply is handed to nng, time for it to reach the wire before closing. */
#define LINGER_MS 50
/* nng 1.5.2 can deadlock in nng_close while peers keep sending (nng issue #1813, fixed in
 * 1.8): the close gets this long, then the process exits without it. */
#define CLOSE_TIMEOUT_MS 3000
#define MAX_WORKERS      1024
/* How often the main thread looks for connections to close. */
#define SWEEP_MS 100
/* The largest request --max-saved allows by default: this many bytes per saved track (a
 * Spotify id, ISRC, title, artists and numbers take about 100) plus the envelope. */
#define REQUEST_BYTES_PER_SAVED 512u
#define REQUEST_BYTES_FIXED     (64u * 1024u)

/* The address actually bound: for tcp with port 0, the port the kernel chose. */
static void bound_address(nng_listener listener, const char *url, char *out, size_t out_len)
{
    int port = 0;
    snprintf(out, out_len, "%s", url);
    if (strncmp(url, "tcp", 3) != 0 ||
        nng_listener_get_int(listener, NNG_OPT_TCP_BOUND_PORT, &port) != 0)
        return;
    const char *colon = strrchr(url, ':');
    const char *scheme_end = strstr(url, "://");
    if (!colon || !scheme_end || colon < scheme_end + 3)
        return;
    snprintf(out, out_len, "%.*s:%d", (int)(colon - url), url, port);
}

struct closer {
    nng_socket socket;
    atomic_bool done;
};

static void *close_socket(void *arg)
{
    struct closer *closer = arg;
    nng_close(closer->socket);
    atomic_store(&closer->done, true);
    return NULL;
}

/* Closes the socket, giving up after CLOSE_TIMEOUT_MS. Returns true if it closed. */
static bool close_with_timeout(nng_socket socket)
{
    static struct closer closer; /* outlives a stuck close thread */
    closer.socket = socket;
    atomic_store(&closer.done, false);
    pthread_t thread;
    if (pthread_create(&thread, NULL, close_socket, &closer) != 0) {
        nng_close(socket);
        return true;
    }
    for (int waited = 0; !atomic_load(&closer.done) && waited < CLOSE_TIMEOUT_MS; waited += 5)
        nng_msleep(5);
    if (!atomic_load(&closer.done)) {
        pthread_detach(thread);
        return false;
    }
    pthread_join(thread, NULL);
    return true;
}

/* What the options say (reco-service --help). */
struct settings {
    const char *model_path, *listen_url, *log_level, *http_listen;
    long long workers, queue, max_saved, max_n, max_message_bytes;
    long long send_timeout_ms, idle_timeout_ms, max_connections;
};

/* Checks what options_parse cannot: the model given, the log level, --http-listen's form.
 * Returns 0, or -1 after one line on stderr. */
static int check_settings(const struct settings *o)
{
    if (!o->model_path || !o->model_path[0]) {
        fprintf(stderr, "option --model (RECO_MODEL): required: the model file to serve\n");
        return -1;
    }
    enum log_level level;
    if (log_parse_level(o->log_level, &level) != 0) {
        fprintf(stderr, "option --log-level: '%s' is not debug, info, warn or error\n",
                o->log_level);
        return -1;
    }
    char host[200];
    int port;
    if (o->http_listen && o->http_listen[0] &&
        http_probe_parse(o->http_listen, host, sizeof host, &port) != 0) {
        fprintf(stderr,
                "option --http-listen (RECO_HTTP_LISTEN): '%s' is not HOST:PORT (e.g. "
                "0.0.0.0:7180)\n",
                o->http_listen);
        return -1;
    }
    log_threshold = level;
    return 0;
}

/* Reads the options. Returns -1 to go on, else the exit code (0 after --help). */
static int read_settings(int argc, char **argv, struct settings *o)
{
    const struct option_spec specs[] = {
        {"model", 'm', "RECO_MODEL", OPTION_STRING, NULL, 0, 0,
         "model file written by `reco-model build` (required)", &o->model_path},
        {"listen", 'l', "RECO_LISTEN", OPTION_STRING, "tcp://127.0.0.1:7100", 0, 0,
         "NNG URL to listen on (tcp://HOST:PORT, port 0 picks a free one; ipc:///path)",
         &o->listen_url},
        {"workers", 'w', "RECO_WORKERS", OPTION_INT, "0", 0, MAX_WORKERS,
         "compute threads (0: the cores this process may use, cgroup CPU quota included)",
         &o->workers},
        {"queue", 0, "RECO_QUEUE", OPTION_INT, "0", 0, 65536,
         "Recommend requests waiting for a worker; past it RESOURCE_EXHAUSTED at once (0: 8 "
         "per worker, at least 16)",
         &o->queue},
        {"http-listen", 0, "RECO_HTTP_LISTEN", OPTION_STRING, NULL, 0, 0,
         "HOST:PORT for GET /healthz, /readyz and /metrics (off when unset; port 0 picks one)",
         &o->http_listen},
        {"log-level", 0, "RECO_LOG_LEVEL", OPTION_STRING, "info", 0, 0,
         "debug, info, warn or error", &o->log_level},
        {"max-saved", 0, "RECO_MAX_SAVED", OPTION_INT, "20000", 1, RECO_MAX_SAVED,
         "saved tracks accepted per Recommend (more: RESOURCE_EXHAUSTED)", &o->max_saved},
        {"max-n", 0, "RECO_MAX_N", OPTION_INT, "500", 1, RECO_MAX_N,
         "longest playlist a Recommend may ask for (more: INVALID_ARGUMENT)", &o->max_n},
        {"max-message-bytes", 0, "RECO_MAX_MESSAGE_BYTES", OPTION_INT, "0", 0,
         RPC_MAX_MESSAGE_BYTES,
         "largest request accepted (0: 512 bytes per --max-saved track + 64 KiB); up to 64 KiB "
         "more is read and refused with RESOURCE_EXHAUSTED, larger drops the connection",
         &o->max_message_bytes},
        {"send-timeout-ms", 0, "RECO_SEND_TIMEOUT_MS", OPTION_INT, "2000", 10, 600000,
         "a connection that does not take a reply within this is closed", &o->send_timeout_ms},
        {"idle-timeout-ms", 0, "RECO_IDLE_TIMEOUT_MS", OPTION_INT, "30000", 0, 86400000,
         "a connection that sends no whole request for this long is closed, with any partial "
         "message (clients redial; 0: never)",
         &o->idle_timeout_ms},
        {"max-connections", 0, "RECO_MAX_CONNECTIONS", OPTION_INT, "256", 1, 65536,
         "open RPC connections; past it a new one is refused and the longest-silent closed",
         &o->max_connections},
    };
    char **positional = calloc((size_t)argc + 1, sizeof *positional);
    int n_positional = 0;
    int rc = 1;
    if (!positional)
        return 1;
    enum options_result parsed = options_parse(
        specs, sizeof specs / sizeof specs[0], argc, argv,
        "reco-service --model MODEL [--listen URL] [options]", positional, &n_positional);
    if (parsed == OPTIONS_HELP) {
        rc = 0;
        goto done;
    }
    if (parsed != OPTIONS_OK)
        goto done;
    if (n_positional > 0) {
        fprintf(stderr, "reco-service: unexpected argument '%s' (see --help)\n", positional[0]);
        goto done;
    }
    if (check_settings(o) != 0)
        goto done;
    rc = -1;
done:
    free(positional);
    return rc;
}

/* Fills in the defaults that depend on the machine or on other options. */
static void derive_settings(struct settings *o)
{
    if (o->workers == 0)
        o->workers = cpu_count_usable("/sys/fs/cgroup");
    if (o->queue == 0)
        o->queue = o->workers * 8 < 16 ? 16 : o->workers * 8;
    if (o->max_message_bytes == 0) {
        o->max_message_bytes = o->max_saved * REQUEST_BYTES_PER_SAVED + REQUEST_BYTES_FIXED;
        if (o->max_message_bytes > RPC_MAX_MESSAGE_BYTES)
            o->max_message_bytes = RPC_MAX_MESSAGE_BYTES;
    }
}

/* Requests run on our worker threads, and glibc gives threads that allocate at once heaps
 * (arenas) of their own, each keeping what its requests freed: the service came to hold a large
 * request's worth per thread (on the 1.7M catalog after 10,000-track requests, peak RSS 33 MB
 * over the model against 9 MB with one arena). One arena bounds the peak by the requests in
 * flight; a request makes a few dozen allocations, and throughput with 8 client threads on 2
 * cores measured the same (tests/bench/reco). On a machine with many more cores its lock could
 * matter: an operator's MALLOC_ARENA_MAX wins. Call before any other thread exists (nng starts
 * its threads later). Sanitizer builds replace malloc, so the tests do not run with it. */
static void use_one_malloc_arena(void)
{
#if defined(__GLIBC__)
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, 1);
#endif
}

/* Sets up s from the settings: queue, connection table, socket, workers, listener, receiving
 * items. Returns 0, or -1 (logged; what was set up is left for stop_serving). */
static int start_serving(struct server *s, const struct settings *o)
{
    s->limits =
        (struct handler_limits){.max_saved = (uint32_t)o->max_saved, .max_n = (uint32_t)o->max_n};
    s->max_message_bytes = (size_t)o->max_message_bytes;
    s->send_timeout_ms = (int)o->send_timeout_ms;
    s->n_workers = (int)o->workers;
    s->receivers_target = s->n_workers + RECEIVERS_BEYOND_WORKERS;
    /* Receivers, the queue, the workers, and replies parked for slow readers. */
    s->max_items = s->receivers_target + (int)o->queue + s->n_workers + 1024;
    s->queue_ready = work_queue_init(&s->queue, (size_t)o->queue) == 0;
    s->peers_ready = peers_init(&s->peers, (size_t)o->max_connections, MAX_SENDS_PER_CONN) == 0;
    s->threads = calloc((size_t)s->n_workers, sizeof *s->threads);
    if (!s->queue_ready || !s->peers_ready || !s->threads) {
        log_error("start_failed", "reason=\"out of memory\"");
        return -1;
    }
    int rv = nng_rep0_open(&s->socket);
    if (rv != 0) {
        log_error("listen_failed", "error=\"%s\"", nng_strerror(rv));
        return -1;
    }
    s->socket_open = true;
    /* A little past the limit is read, so a request just over it gets a reply that says so;
     * the transport drops a connection announcing more, before allocating anything. */
    nng_socket_set_size(s->socket, NNG_OPT_RECVMAXSZ, s->max_message_bytes + REQUEST_BYTES_FIXED);
    nng_pipe_notify(s->socket, NNG_PIPE_EV_ADD_PRE, pipe_added, s);
    nng_pipe_notify(s->socket, NNG_PIPE_EV_REM_POST, pipe_removed, s);
    for (; s->threads_started < s->n_workers; s->threads_started++) {
        if (pthread_create(&s->threads[s->threads_started], NULL, worker_main, s) != 0) {
            log_error("start_failed", "reason=\"cannot start worker %d\"", s->threads_started);
            return -1;
        }
    }
    rv = nng_listener_create(&s->listener, s->socket, o->listen_url);
    if (rv == 0)
        rv = nng_listener_start(s->listener, 0);
    if (rv != 0) {
        log_error("listen_failed", "url=%s error=\"%s\"", o->listen_url, nng_strerror(rv));
        return -1;
    }
    pthread_mutex_lock(&s->items_lock);
    for (int i = 0; i < s->receivers_target; i++)
        spawn_receiver_locked(s);
    pthread_mutex_unlock(&s->items_lock);
    return 0;
}

/* Starts the HTTP probe port when asked, then logs and prints the ready line. Returns 0, or
 * -1 (logged). */
static int announce(struct server *s, const struct settings *o)
{
    char http_addr[256] = "";
    if (o->http_listen && o->http_listen[0]) {
        char err[300];
        struct http_probe_source src = {.arg = s, .ready = probe_ready, .metrics = probe_metrics};
        if (http_probe_start(&s->probe, o->http_listen, &src, http_addr, sizeof http_addr, err,
                             sizeof err) != 0) {
            log_error("http_listen_failed", "reason=\"%s\"", err);
            return -1;
        }
    }
    char addr[600];
    bound_address(s->listener, o->listen_url, addr, sizeof addr);
    log_info("listening",
             "addr=%s http=%s workers=%d queue=%lld max_saved=%lld max_n=%lld "
             "max_message_bytes=%lld max_connections=%lld",
             addr, http_addr[0] ? http_addr : "off", s->n_workers, o->queue, o->max_saved, o->max_n,
             o->max_message_bytes, o->max_connections);
    if (http_addr[0])
        printf("ready addr=%s http=%s\n", addr, http_addr);
    else
        printf("ready addr=%s\n", addr);
    fflush(stdout);
    return 0;
}

/* Opens the model file again and swaps it in; a file that fails keeps the old one. */
static void reload(struct server *s, const char *model_path)
{
    log_info("reload", "path=%s", model_path);
    struct model_ref *fresh = model_load(model_path);
    if (!fresh) {
        log_warn("reload_failed", "path=%s keeping=%s", model_path, s->current->model->version);
        server_metrics_model(s->current->model->version, s->current->model->n_rows,
                             s->current->model->k, 0);
        return;
    }
    pthread_mutex_lock(&s->model_lock);
    struct model_ref *old = s->current;
    s->current = fresh;
    pthread_mutex_unlock(&s->model_lock);
    model_release(old);
}

/* Serves until SIGTERM or SIGINT: SIGHUP reloads the model, and between signals the marked
 * connections are closed every SWEEP_MS. */
static void wait_for_signals(struct server *s, const struct settings *o, const sigset_t *signals)
{
    for (;;) {
        struct timespec tick = {.tv_sec = 0, .tv_nsec = SWEEP_MS * 1000000L};
        int sig = sigtimedwait(signals, NULL, &tick);
        if (sig < 0) {
            if (errno == EAGAIN)
                sweep(s, o->idle_timeout_ms * 1000);
            continue;
        }
        if (sig == SIGHUP) {
            reload(s, o->model_path);
            continue;
        }
        log_info("draining", "signal=%s in_flight=%d", sig == SIGTERM ? "TERM" : "INT",
                 atomic_load(&s->in_flight));
        return;
    }
}

/* Stops taking connections, answers what arrives with UNAVAILABLE (clients retry another
 * instance), and waits for the requests being worked on and those queued. Then no receive is
 * posted again and every work item's context is closed, and the answers to what arrived
 * meanwhile are let out: nothing is handed to a connection while nng_close tears them down
 * (nng 1.5.2 can lose a reply handed over at that moment). Returns the exit code: 0 when
 * every request was answered. */
static int drain(struct server *s)
{
    atomic_store(&s->draining, true);
    nng_listener_close(s->listener);
    for (int waited = 0; atomic_load(&s->in_flight) > 0 && waited < DRAIN_TIMEOUT_MS; waited += 5) {
        nng_msleep(5);
        if (waited % SWEEP_MS == 0)
            sweep(s, 0); /* a peer that does not read must not hold the drain */
    }
    int exit_code = atomic_load(&s->in_flight) == 0 ? 0 : 1;
    pthread_mutex_lock(&s->items_lock);
    s->stopping = true; /* the item list no longer changes */
    pthread_mutex_unlock(&s->items_lock);
    for (struct item *it = s->all_items; it; it = it->next_all)
        nng_ctx_close(it->ctx);
    for (int waited = 0; atomic_load(&s->in_flight) > 0 && waited < CLOSE_TIMEOUT_MS; waited += 5)
        nng_msleep(5);
    nng_msleep(LINGER_MS);
    log_info("stopped", "requests=%llu in_flight=%d", (unsigned long long)atomic_load(&s->requests),
             atomic_load(&s->in_flight));
    return exit_code;
}

/* Closes and frees whatever start_serving and announce set up, in order: the probe port, the
 * socket (so no callback runs), the workers, the items, the queue, the table, the model. */
static void stop_serving(struct server *s)
{
    http_probe_stop(s->probe);
    s->probe = NULL;
    pthread_mutex_lock(&s->items_lock);
    s->stopping = true;
    pthread_mutex_unlock(&s->items_lock);
    if (s->socket_open)
        nng_close(s->socket);
    s->socket_open = false;
    if (s->queue_ready)
        work_queue_close(&s->queue);
    for (int i = 0; i < s->threads_started; i++)
        pthread_join(s->threads[i], NULL);
    free(s->threads);
    free_items(s);
    if (s->queue_ready)
        work_queue_destroy(&s->queue);
    if (s->peers_ready)
        peers_destroy(&s->peers);
    if (s->current)
        model_release(s->current);
}

int main(int argc, char **argv)
{
    struct settings o = {0};
    int rc = read_settings(argc, argv, &o);
    if (rc >= 0)
        return rc;
    derive_settings(&o);
    use_one_malloc_arena();

    /* Signals go to the main thread only: block them before any other thread starts. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    static struct server s; /* outlives a socket left to a stuck close */
    s.started_ms = now_us() / 1000;
    pthread_mutex_init(&s.model_lock, NULL);
    pthread_mutex_init(&s.items_lock, NULL);
    int exit_code = 1;
    s.current = model_load(o.model_path);
    if (!s.current || start_serving(&s, &o) != 0 || announce(&s, &o) != 0)
        goto done;
    wait_for_signals(&s, &o, &signals);
    exit_code = drain(&s);
    http_probe_stop(s.probe);
    s.probe = NULL;
    if (!close_with_timeout(s.socket)) {
        log_warn("close_stuck", "waited_ms=%d action=exit", CLOSE_TIMEOUT_MS);
        _exit(exit_code); /* every request was answered; only the library's teardown is left */
    }
    s.socket_open = false;
done:
    stop_serving(&s);
    return exit_code;
}
