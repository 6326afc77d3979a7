/* reco-service: holds the model and answers Recommend, Info and Health over NNG req/rep.
 * A fixed set of work items, each with its own nng context and aio, moves RECV -> work -> SEND
 * -> RECV (nng's demo/async/server.c shape). The main thread only waits for signals: SIGHUP
 * loads the model again (requests in flight finish on the old one), SIGTERM drains and exits
 * 0. */
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

#include "handlers.h"
#include "log.h"
#include "model.h"
#include "options.h"
#include "recommend.h"
#include "rpc.h"
#include "rpc_envelope.h"

/* How long SIGTERM waits for requests in flight before closing anyway. */
#define DRAIN_TIMEOUT_MS 30000
/* After the last reply is handed to nng, time for it to reach the wire before closing. */
#define LINGER_MS 50
/* nng 1.5.2 can deadlock in nng_close while peers keep sending (nng issue #1813, fixed in
 * 1.8): the close gets this long, then the process exits without it. */
#define CLOSE_TIMEOUT_MS 3000
#define MAX_WORKERS      1024

/* The open model, shared by the requests that use it; the last one out closes it. */
struct model_ref {
    struct model *model;
    atomic_int refs;
};

struct server {
    nng_socket socket;
    nng_listener listener;
    struct handler_limits limits;
    size_t max_message_bytes;
    pthread_mutex_t model_lock; /* guards `current` (the pointer, not the model) */
    struct model_ref *current;
    atomic_bool draining;
    atomic_int in_flight;
    atomic_uint_fast64_t requests;
    int64_t started_ms;
    bool socket_open; /* main thread only */
};

enum work_state { WORK_INIT, WORK_RECV, WORK_SEND };

struct work {
    enum work_state state;
    nng_aio *aio;
    nng_ctx ctx;
    struct server *server;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct model_ref *model_acquire(struct server *s)
{
    pthread_mutex_lock(&s->model_lock);
    struct model_ref *ref = s->current;
    atomic_fetch_add(&ref->refs, 1);
    pthread_mutex_unlock(&s->model_lock);
    return ref;
}

static void model_release(struct model_ref *ref)
{
    if (atomic_fetch_sub(&ref->refs, 1) == 1) {
        model_close(ref->model);
        free(ref);
    }
}

static struct model_ref *model_load(const char *path)
{
    char err[512];
    struct model *model = NULL;
    enum model_status status = model_open(path, &model, err, sizeof err);
    if (status != MODEL_OK) {
        log_error("model_load_failed", "path=%s status=\"%s\" reason=\"%s\"", path,
                  model_strerror(status), err);
        return NULL;
    }
    struct model_ref *ref = calloc(1, sizeof *ref);
    if (!ref) {
        model_close(model);
        log_error("model_load_failed", "path=%s reason=\"out of memory\"", path);
        return NULL;
    }
    ref->model = model;
    atomic_init(&ref->refs, 1); /* held by server.current */
    log_info("model_loaded", "path=%s version=%s tracks=%u k=%u dims=%u ids=%u", path,
             model->version, model->n_rows, model->k, model->n_dims, model->n_ids);
    return ref;
}

/* The method name as it may appear in a log line: known names, else "other". */
static const char *loggable_method(const char *method)
{
    static const char *const known[] = {"Recommend", "Info", "Health"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (method && strcmp(method, known[i]) == 0)
            return known[i];
    return method ? "other" : "none";
}

/* Works out the reply to one request message. Returns the reply envelope (malloc'd). */
static uint8_t *serve_one(struct server *s, const uint8_t *bytes, size_t len, size_t *reply_len)
{
    int64_t start = now_us();
    struct rpc_request req;
    struct handler_outcome outcome = {.code = RPC_OK};
    enum rpc_code code = rpc_request_decode(bytes, len, s->max_message_bytes, &req, outcome.message,
                                            sizeof outcome.message);
    uint64_t count = atomic_fetch_add(&s->requests, 1) + 1;
    if (code != RPC_OK) {
        outcome.code = code;
    } else if (atomic_load(&s->draining)) {
        outcome.code = RPC_UNAVAILABLE;
        snprintf(outcome.message, sizeof outcome.message,
                 "reco-service is shutting down; ask another instance");
    } else if (req.timeout_ms == 0) {
        outcome.code = RPC_DEADLINE_EXCEEDED;
        snprintf(outcome.message, sizeof outcome.message,
                 "timeout_ms: 0, the caller's deadline had passed when it sent the request");
    } else {
        struct model_ref *ref = model_acquire(s);
        struct handler_state state = {
            .serving = true,
            .uptime_ms = (uint64_t)((start / 1000) - s->started_ms),
            .requests = count,
        };
        handle_method(req.method, req.payload, req.payload_len, ref->model, &s->limits, &state,
                      &outcome);
        model_release(ref);
        int64_t took_ms = (now_us() - start) / 1000;
        if (took_ms > (int64_t)req.timeout_ms) {
            free(outcome.payload);
            outcome.payload = NULL;
            outcome.payload_len = 0;
            outcome.code = RPC_DEADLINE_EXCEEDED;
            snprintf(outcome.message, sizeof outcome.message,
                     "took %lld ms, past the caller's deadline of %u ms", (long long)took_ms,
                     req.timeout_ms);
        }
    }
    uint8_t *reply = rpc_reply_encode(req.request_id, outcome.code,
                                      outcome.code == RPC_OK ? NULL : outcome.message,
                                      outcome.payload, outcome.payload_len, reply_len);
    int64_t took_us = now_us() - start;
    if (outcome.code == RPC_OK || outcome.code == RPC_NOT_FOUND ||
        outcome.code == RPC_FAILED_PRECONDITION)
        log_info("request", "id=%llu method=%s status=%s us=%lld saved=%u",
                 (unsigned long long)req.request_id, loggable_method(req.method),
                 rpc_code_name(outcome.code), (long long)took_us, outcome.saved);
    else
        log_warn("request", "id=%llu method=%s status=%s us=%lld saved=%u bytes=%zu reason=\"%s\"",
                 (unsigned long long)req.request_id, loggable_method(req.method),
                 rpc_code_name(outcome.code), (long long)took_us, outcome.saved, len,
                 outcome.message);
    free(outcome.payload);
    rpc_request_free(&req);
    return reply;
}

static void work_cb(void *arg)
{
    struct work *w = arg;
    struct server *s = w->server;
    int rv;
    switch (w->state) {
    case WORK_INIT:
        w->state = WORK_RECV;
        nng_ctx_recv(w->ctx, w->aio);
        break;
    case WORK_RECV: {
        rv = nng_aio_result(w->aio);
        if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
            return; /* shutting down */
        if (rv != 0) {
            log_warn("receive_failed", "error=\"%s\"", nng_strerror(rv));
            nng_ctx_recv(w->ctx, w->aio);
            break;
        }
        atomic_fetch_add(&s->in_flight, 1);
        nng_msg *msg = nng_aio_get_msg(w->aio);
        size_t reply_len = 0;
        uint8_t *reply = serve_one(s, nng_msg_body(msg), nng_msg_len(msg), &reply_len);
        nng_msg_clear(msg);
        rv = nng_msg_append(msg, reply, reply_len);
        free(reply);
        if (rv != 0) {
            log_error("reply_failed", "error=\"%s\"", nng_strerror(rv));
            nng_msg_free(msg);
            atomic_fetch_sub(&s->in_flight, 1);
            nng_ctx_recv(w->ctx, w->aio);
            break;
        }
        nng_aio_set_msg(w->aio, msg);
        w->state = WORK_SEND;
        nng_ctx_send(w->ctx, w->aio);
        break;
    }
    case WORK_SEND:
        rv = nng_aio_result(w->aio);
        if (rv != 0) {
            /* The requester went away; the message is still ours. */
            nng_msg_free(nng_aio_get_msg(w->aio));
            if (rv != NNG_ECLOSED)
                log_warn("send_failed", "error=\"%s\"", nng_strerror(rv));
        }
        atomic_fetch_sub(&s->in_flight, 1);
        if (rv == NNG_ECLOSED)
            return;
        w->state = WORK_RECV;
        nng_ctx_recv(w->ctx, w->aio);
        break;
    }
}

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

static long long default_workers(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? 2 * cores : 4;
}

/* What the options say (reco-service --help). */
struct settings {
    const char *model_path, *listen_url, *log_level;
    long long workers, max_saved, max_n, max_message_bytes;
};

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
         "requests served at once (0: twice the CPU cores)", &o->workers},
        {"log-level", 0, "RECO_LOG_LEVEL", OPTION_STRING, "info", 0, 0,
         "debug, info, warn or error", &o->log_level},
        {"max-saved", 0, "RECO_MAX_SAVED", OPTION_INT, "20000", 1, RECO_MAX_SAVED,
         "saved tracks accepted per Recommend (more: RESOURCE_EXHAUSTED)", &o->max_saved},
        {"max-n", 0, "RECO_MAX_N", OPTION_INT, "500", 1, RECO_MAX_N,
         "longest playlist a Recommend may ask for (more: INVALID_ARGUMENT)", &o->max_n},
        {"max-message-bytes", 0, "RECO_MAX_MESSAGE_BYTES", OPTION_INT, "16777216", 1024,
         RPC_MAX_MESSAGE_BYTES,
         "largest request accepted (up to twice this is read and refused with "
         "RESOURCE_EXHAUSTED; larger drops the connection)",
         &o->max_message_bytes},
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
    if (!o->model_path || !o->model_path[0]) {
        fprintf(stderr, "option --model (RECO_MODEL): required: the model file to serve\n");
        goto done;
    }
    enum log_level level;
    if (log_parse_level(o->log_level, &level) != 0) {
        fprintf(stderr, "option --log-level: '%s' is not debug, info, warn or error\n",
                o->log_level);
        goto done;
    }
    log_threshold = level;
    rc = -1;
done:
    free(positional);
    return rc;
}

/* Requests run on nng's threads, and glibc gives threads that allocate at once heaps (arenas)
 * of their own, each keeping what its requests freed: the service came to hold a large
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

/* Opens the socket and the work items (n of them, *work), and starts listening on url.
 * Returns 0, or -1 (logged; what was opened is left for stop_serving). */
static int start_serving(struct server *s, const char *url, struct work **work, long long n)
{
    int rv = nng_rep0_open(&s->socket);
    if (rv != 0) {
        log_error("listen_failed", "error=\"%s\"", nng_strerror(rv));
        return -1;
    }
    s->socket_open = true;
    /* Read up to twice the limit so an oversized request gets a reply that says so. */
    nng_socket_set_size(s->socket, NNG_OPT_RECVMAXSZ, 2 * s->max_message_bytes);
    *work = calloc((size_t)n, sizeof **work);
    if (!*work)
        return -1;
    for (long long i = 0; i < n; i++) {
        (*work)[i].server = s;
        rv = nng_aio_alloc(&(*work)[i].aio, work_cb, &(*work)[i]);
        if (rv == 0)
            rv = nng_ctx_open(&(*work)[i].ctx, s->socket);
        if (rv != 0) {
            log_error("start_failed", "error=\"%s\"", nng_strerror(rv));
            return -1;
        }
    }
    rv = nng_listener_create(&s->listener, s->socket, url);
    if (rv == 0)
        rv = nng_listener_start(s->listener, 0);
    if (rv != 0) {
        log_error("listen_failed", "url=%s error=\"%s\"", url, nng_strerror(rv));
        return -1;
    }
    for (long long i = 0; i < n; i++)
        work_cb(&(*work)[i]); /* INIT -> RECV */
    return 0;
}

/* Waits for signals: SIGHUP loads the model again and swaps it in (a file that fails to open
 * is logged and the old model keeps serving); SIGTERM or SIGINT returns. */
static void wait_for_signals(struct server *s, const char *model_path, const sigset_t *signals)
{
    for (;;) {
        int sig = 0;
        if (sigwait(signals, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            log_info("reload", "path=%s", model_path);
            struct model_ref *fresh = model_load(model_path);
            if (!fresh) {
                log_warn("reload_failed", "path=%s keeping=%s", model_path,
                         s->current->model->version);
                continue;
            }
            pthread_mutex_lock(&s->model_lock);
            struct model_ref *old = s->current;
            s->current = fresh;
            pthread_mutex_unlock(&s->model_lock);
            model_release(old);
            continue;
        }
        log_info("draining", "signal=%s in_flight=%d", sig == SIGTERM ? "TERM" : "INT",
                 atomic_load(&s->in_flight));
        return;
    }
}

/* Stops taking connections, answers what arrives with UNAVAILABLE (clients retry another
 * instance), waits for the requests being worked on and closes the socket. Returns the exit
 * code: 0 when every request was answered. Does not return when the close is stuck. */
static int drain(struct server *s)
{
    atomic_store(&s->draining, true);
    nng_listener_close(s->listener);
    for (int waited = 0; atomic_load(&s->in_flight) > 0 && waited < DRAIN_TIMEOUT_MS; waited += 5)
        nng_msleep(5);
    int exit_code = atomic_load(&s->in_flight) == 0 ? 0 : 1;
    nng_msleep(LINGER_MS);
    log_info("stopped", "requests=%llu in_flight=%d", (unsigned long long)atomic_load(&s->requests),
             atomic_load(&s->in_flight));
    if (!close_with_timeout(s->socket)) {
        log_warn("close_stuck", "waited_ms=%d action=exit", CLOSE_TIMEOUT_MS);
        _exit(exit_code); /* every request was answered; only the library's teardown is left */
    }
    s->socket_open = false;
    return exit_code;
}

/* Closes what start_serving opened (the socket unless drain closed it) and the model. */
static void stop_serving(struct server *s, struct work *work, long long n)
{
    if (s->socket_open)
        nng_close(s->socket);
    if (work) {
        for (long long i = 0; i < n; i++)
            if (work[i].aio)
                nng_aio_stop(work[i].aio);
        for (long long i = 0; i < n; i++) {
            if (work[i].aio)
                nng_aio_free(work[i].aio);
        }
        free(work);
    }
    if (s->current)
        model_release(s->current);
}

int main(int argc, char **argv)
{
    struct settings o = {0};
    int exit_code = read_settings(argc, argv, &o);
    if (exit_code >= 0)
        return exit_code;
    exit_code = 1;
    struct server s = {0};
    struct work *work = NULL;
    long long n_work = o.workers > 0 ? o.workers : default_workers();
    s.limits =
        (struct handler_limits){.max_saved = (uint32_t)o.max_saved, .max_n = (uint32_t)o.max_n};
    s.max_message_bytes = (size_t)o.max_message_bytes;
    s.started_ms = now_us() / 1000;
    pthread_mutex_init(&s.model_lock, NULL);
    use_one_malloc_arena();

    /* Signals go to the main thread only: block them before nng starts its threads. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    s.current = model_load(o.model_path);
    if (!s.current || start_serving(&s, o.listen_url, &work, n_work) != 0)
        goto done;
    char addr[600];
    bound_address(s.listener, o.listen_url, addr, sizeof addr);
    log_info("listening", "addr=%s workers=%lld max_saved=%lld max_n=%lld max_message_bytes=%lld",
             addr, n_work, o.max_saved, o.max_n, o.max_message_bytes);
    printf("ready addr=%s\n", addr);
    fflush(stdout);
    wait_for_signals(&s, o.model_path, &signals);
    exit_code = drain(&s);
done:
    stop_serving(&s, work, n_work);
    return exit_code;
}
