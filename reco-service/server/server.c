/* reco-service: holds the model and answers Recommend, Info and Health over NNG req/rep.
 * Work items (an nng context and aio each) move RECV -> hand over -> SEND -> RECV (nng's
 * demo/async/server.c shape) and never compute in nng's callbacks: Recommend requests go to a
 * bounded queue, fair across connections, that --workers threads of our own serve; Info and
 * Health are answered at once. A request's deadline is fixed on arrival and one that passes
 * in the queue is dropped, not computed. Connections that stop reading their replies, go
 * silent or come over the limit are closed by the main thread, which otherwise waits for
 * signals: SIGHUP loads the model again (requests in flight finish on the old one), SIGTERM
 * drains and exits 0. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h> /* a C library header, so __GLIBC__ is known below */
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu_count.h"
#include "handlers.h"
#include "http_probe.h"
#include "log.h"
#include "model.h"
#include "options.h"
#include "peers.h"
#include "recommend.h"
#include "rpc.h"
#include "rpc_envelope.h"
#include "server_metrics.h"
#include "work_queue.h"

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
/* Replies waiting for one connection before it counts as not reading and is closed. On
 * loopback or a LAN an nng client reads continuously, so a reading peer has almost none. */
#define MAX_SENDS_PER_CONN 16
/* At --max-connections a new connection gets in by closing the one silent longest, if it has
 * sent nothing for this long (a client that is using its connection keeps it). */
#define EVICT_SILENT_US (100 * 1000)
/* Work items waiting to receive: the I/O side only decodes and hands over, so a few beyond
 * the workers keep every connection read. */
#define RECEIVERS_BEYOND_WORKERS 8
/* The largest request --max-saved allows by default: this many bytes per saved track (a
 * Spotify id, ISRC, title, artists and numbers take about 100) plus the envelope. */
#define REQUEST_BYTES_PER_SAVED 512u
#define REQUEST_BYTES_FIXED     (64u * 1024u)

/* The open model, shared by the requests that use it; the last one out closes it. */
struct model_ref {
    struct model *model;
    atomic_int refs;
};

struct item;

struct server {
    nng_socket socket;
    nng_listener listener;
    struct handler_limits limits;
    size_t max_message_bytes;
    pthread_mutex_t model_lock; /* guards `current` (the pointer, not the model) */
    struct model_ref *current;
    atomic_bool draining;
    atomic_int in_flight; /* received and not yet answered or dropped */
    atomic_uint_fast64_t requests;
    int64_t started_ms;
    struct work_queue queue;
    struct peers peers;
    int n_workers;
    atomic_int busy;
    pthread_t *threads;
    int send_timeout_ms;
    /* Work items: `receiving` wait in RECV; the rest are handed over or idle. */
    pthread_mutex_t items_lock;
    struct item *all_items, *idle_items;
    int receiving, receivers_target, n_items, max_items;
    bool stopping; /* no more RECVs are started */
};

enum item_state { ITEM_IDLE, ITEM_RECV, ITEM_QUEUED, ITEM_SEND };

struct item {
    struct work_job job; /* while queued */
    struct server *s;
    nng_ctx ctx;
    nng_aio *aio;
    enum item_state state;
    nng_msg *msg;           /* the request while it is being worked on */
    struct rpc_request req; /* decoded from msg */
    uint32_t pipe;
    bool refused_for_room; /* answered RESOURCE_EXHAUSTED for lack of queue room */
    int64_t arrived_us, deadline_us;
    struct item *next_all, *next_idle;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
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
    int64_t start = now_us();
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
    double seconds = (double)(now_us() - start) / 1e6;
    server_metrics_model(model->version, model->n_rows, model->k, seconds);
    log_info("model_loaded", "path=%s version=%s tracks=%u k=%u dims=%u ids=%u ms=%.1f", path,
             model->version, model->n_rows, model->k, model->n_dims, model->n_ids, seconds * 1000);
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

static void item_recv(struct item *it)
{
    it->state = ITEM_RECV;
    nng_aio_set_timeout(it->aio, NNG_DURATION_INFINITE); /* SEND set one */
    nng_ctx_recv(it->ctx, it->aio);
}

static void item_cb(void *arg);

/* Starts one more receiving item, reusing an idle one or making one up to max_items. Called
 * with items_lock held. */
static void spawn_receiver_locked(struct server *s)
{
    struct item *it = s->idle_items;
    if (it) {
        s->idle_items = it->next_idle;
    } else {
        if (s->n_items >= s->max_items)
            return;
        it = calloc(1, sizeof *it);
        if (!it)
            return;
        it->s = s;
        if (nng_aio_alloc(&it->aio, item_cb, it) != 0) {
            free(it);
            return;
        }
        if (nng_ctx_open(&it->ctx, s->socket) != 0) {
            nng_aio_free(it->aio);
            free(it);
            return;
        }
        it->next_all = s->all_items;
        s->all_items = it;
        s->n_items++;
    }
    s->receiving++;
    item_recv(it);
}

/* An item that received no longer waits: another takes its place. */
static void replace_receiver(struct server *s)
{
    pthread_mutex_lock(&s->items_lock);
    s->receiving--;
    if (!s->stopping && s->receiving < s->receivers_target)
        spawn_receiver_locked(s);
    pthread_mutex_unlock(&s->items_lock);
}

/* The item has finished with its request: it receives again if receivers are short, else it
 * rests. */
static void item_finish(struct item *it)
{
    struct server *s = it->s;
    pthread_mutex_lock(&s->items_lock);
    if (!s->stopping && s->receiving < s->receivers_target) {
        s->receiving++;
        item_recv(it);
    } else {
        it->state = ITEM_IDLE;
        it->next_idle = s->idle_items;
        s->idle_items = it;
    }
    pthread_mutex_unlock(&s->items_lock);
}

/* The request on it is over (answered, or dropped without a reply): its connection and the
 * counters forget it and the item moves on. */
static void item_over(struct item *it)
{
    if (it->msg) {
        nng_msg_free(it->msg);
        it->msg = NULL;
    }
    rpc_request_free(&it->req);
    peers_done(&it->s->peers, it->pipe);
    atomic_fetch_sub(&it->s->in_flight, 1);
    item_finish(it);
}

/* Logs the request and sends the reply; the item comes back in item_cb's SEND state. */
static void item_reply(struct item *it, struct handler_outcome *outcome, int64_t wait_us,
                       int64_t compute_us)
{
    struct server *s = it->s;
    size_t reply_len = 0;
    uint8_t *reply = rpc_reply_encode(it->req.request_id, outcome->code,
                                      outcome->code == RPC_OK ? NULL : outcome->message,
                                      outcome->payload, outcome->payload_len, &reply_len);
    int64_t total_us = now_us() - it->arrived_us;
    server_metrics_request(it->req.method, outcome->code, (double)total_us / 1e6);
    if (it->refused_for_room) {
        /* A flood would make one line per refused request: counted in the metrics, logged
         * only at debug. */
        it->refused_for_room = false;
        log_debug("request", "id=%llu method=%s status=%s reason=\"%s\"",
                  (unsigned long long)it->req.request_id, loggable_method(it->req.method),
                  rpc_code_name(outcome->code), outcome->message);
    } else if (outcome->code == RPC_OK || outcome->code == RPC_NOT_FOUND ||
               outcome->code == RPC_FAILED_PRECONDITION)
        log_info("request", "id=%llu method=%s status=%s us=%lld wait_us=%lld saved=%u",
                 (unsigned long long)it->req.request_id, loggable_method(it->req.method),
                 rpc_code_name(outcome->code), (long long)compute_us, (long long)wait_us,
                 outcome->saved);
    else
        log_warn("request",
                 "id=%llu method=%s status=%s us=%lld wait_us=%lld saved=%u bytes=%zu "
                 "reason=\"%s\"",
                 (unsigned long long)it->req.request_id, loggable_method(it->req.method),
                 rpc_code_name(outcome->code), (long long)compute_us, (long long)wait_us,
                 outcome->saved, nng_msg_len(it->msg), outcome->message);
    free(outcome->payload);
    outcome->payload = NULL;
    rpc_request_free(&it->req);
    nng_msg_clear(it->msg);
    int rv = nng_msg_append(it->msg, reply, reply_len);
    free(reply);
    if (rv != 0) {
        log_error("reply_failed", "error=\"%s\"", nng_strerror(rv));
        item_over(it);
        return;
    }
    if (!peers_send_begin(&s->peers, it->pipe)) {
        item_over(it); /* its connection is gone or being closed: nobody to answer */
        return;
    }
    nng_aio_set_msg(it->aio, it->msg);
    it->msg = NULL;
    it->state = ITEM_SEND;
    /* A peer that does not take its reply in time loses its connection (see the sweep). */
    nng_aio_set_timeout(it->aio, s->send_timeout_ms);
    nng_ctx_send(it->ctx, it->aio);
}

static void reply_now(struct item *it, enum rpc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reply_now(struct item *it, enum rpc_code code, const char *fmt, ...)
{
    struct handler_outcome outcome = {.code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(outcome.message, sizeof outcome.message, fmt, ap);
    va_end(ap);
    item_reply(it, &outcome, 0, 0);
}

/* Computes the request on it and replies; start is when the decision to compute was made. */
static void item_compute(struct item *it, int64_t start, int64_t wait_us)
{
    struct server *s = it->s;
    struct handler_outcome outcome;
    struct model_ref *ref = model_acquire(s);
    struct handler_state state = {
        .serving = !atomic_load(&s->draining),
        .uptime_ms = (uint64_t)((start / 1000) - s->started_ms),
        .requests = atomic_load(&s->requests),
    };
    handle_method(it->req.method, it->req.payload, it->req.payload_len, ref->model, &s->limits,
                  &state, &outcome);
    model_release(ref);
    if (outcome.has_stats) {
        const struct reco_stats *st = &outcome.stats;
        server_metrics_matches(st->by_id + st->by_isrc + st->by_title + st->by_features,
                               st->by_artist, st->unmatched);
    }
    int64_t end = now_us();
    if (end > it->deadline_us) {
        free(outcome.payload);
        outcome.payload = NULL;
        outcome.payload_len = 0;
        outcome.code = RPC_DEADLINE_EXCEEDED;
        snprintf(outcome.message, sizeof outcome.message,
                 "finished %lld ms after arrival, past the caller's deadline",
                 (long long)(end - it->arrived_us) / 1000);
    }
    item_reply(it, &outcome, wait_us, end - start);
}

static void *worker_main(void *arg)
{
    struct server *s = arg;
    for (;;) {
        struct work_job *job = work_queue_pop(&s->queue);
        if (!job)
            break;
        struct item *it = (struct item *)(void *)((char *)job - offsetof(struct item, job));
        int64_t start = now_us();
        int64_t wait_us = start - it->arrived_us;
        server_metrics_queue_wait((double)wait_us / 1e6);
        if (start >= it->deadline_us) {
            /* The caller has given up: its deadline passed while this waited. A reply would
             * reach nobody, so none is sent. */
            server_metrics_expired();
            log_debug("expired", "id=%llu method=%s wait_us=%lld",
                      (unsigned long long)it->req.request_id, loggable_method(it->req.method),
                      (long long)wait_us);
            item_over(it);
            continue;
        }
        if (!peers_open(&s->peers, it->pipe)) {
            item_over(it); /* its connection is gone: nobody to answer */
            continue;
        }
        atomic_fetch_add(&s->busy, 1);
        item_compute(it, start, wait_us);
        atomic_fetch_sub(&s->busy, 1);
    }
    return NULL;
}

/* A request has arrived on it: decide, hand over or answer at once. Runs in nng's callback:
 * nothing here blocks or computes. */
static void item_received(struct item *it)
{
    struct server *s = it->s;
    it->msg = nng_aio_get_msg(it->aio);
    nng_aio_set_msg(it->aio, NULL);
    it->pipe = nng_pipe_id(nng_msg_get_pipe(it->msg));
    it->arrived_us = now_us();
    atomic_fetch_add(&s->in_flight, 1);
    atomic_fetch_add(&s->requests, 1);
    char err[512];
    enum rpc_code code = rpc_request_decode(nng_msg_body(it->msg), nng_msg_len(it->msg),
                                            s->max_message_bytes, &it->req, err, sizeof err);
    /* How long it sat unread before we got it (a frozen process, a stalled link). */
    int64_t unread_us = peers_request(&s->peers, it->pipe, it->arrived_us, now_real_us(),
                                      code == RPC_OK ? (int64_t)it->req.sent_unix_us : 0);
    if (code != RPC_OK) {
        reply_now(it, code, "%s", err);
        return;
    }
    if (atomic_load(&s->draining)) {
        reply_now(it, RPC_UNAVAILABLE, "reco-service is shutting down; ask another instance");
        return;
    }
    if (it->req.timeout_ms == 0) {
        reply_now(it, RPC_DEADLINE_EXCEEDED,
                  "timeout_ms: 0, the caller's deadline had passed when it sent the request");
        return;
    }
    it->deadline_us = it->arrived_us + (int64_t)it->req.timeout_ms * 1000 - unread_us;
    if (it->deadline_us <= it->arrived_us) {
        server_metrics_expired();
        log_debug("expired", "id=%llu method=%s unread_us=%lld",
                  (unsigned long long)it->req.request_id, loggable_method(it->req.method),
                  (long long)unread_us);
        item_over(it);
        return;
    }
    if (strcmp(it->req.method, "Recommend") != 0) {
        /* Info, Health and unknown methods cost next to nothing: answered here. */
        item_compute(it, now_us(), 0);
        return;
    }
    it->job.conn = it->pipe;
    it->job.weight = peers_refusals(&s->peers, it->pipe);
    it->state = ITEM_QUEUED;
    struct work_job *evicted = NULL;
    enum work_queue_status status = work_queue_push(&s->queue, &it->job, &evicted);
    if (status == WORK_QUEUE_CLOSED) {
        reply_now(it, RPC_UNAVAILABLE, "reco-service is shutting down; ask another instance");
    } else if (status == WORK_QUEUE_FULL) {
        peers_refused(&s->peers, it->pipe);
        it->refused_for_room = true;
        reply_now(it, RPC_RESOURCE_EXHAUSTED,
                  "queue: %zu requests already wait for %d workers (--queue); ask another "
                  "instance",
                  s->queue.capacity, s->n_workers);
    } else if (evicted) {
        struct item *other = (struct item *)(void *)((char *)evicted - offsetof(struct item, job));
        peers_refused(&s->peers, other->pipe);
        other->refused_for_room = true;
        reply_now(other, RPC_RESOURCE_EXHAUSTED,
                  "queue: full, and this connection had the most requests waiting; ask "
                  "another instance");
    }
}

static void item_cb(void *arg)
{
    struct item *it = arg;
    struct server *s = it->s;
    int rv = nng_aio_result(it->aio);
    switch (it->state) {
    case ITEM_RECV:
        if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
            pthread_mutex_lock(&s->items_lock);
            s->receiving--;
            it->state = ITEM_IDLE;
            pthread_mutex_unlock(&s->items_lock);
            return; /* shutting down */
        }
        if (rv != 0) {
            log_warn("receive_failed", "error=\"%s\"", nng_strerror(rv));
            item_recv(it);
            return;
        }
        replace_receiver(s);
        item_received(it);
        return;
    case ITEM_SEND:
        peers_send_end(&s->peers, it->pipe, rv == NNG_ETIMEDOUT);
        if (rv != 0) {
            /* The requester went away or does not read; the message is still ours. */
            nng_msg_free(nng_aio_get_msg(it->aio));
            nng_aio_set_msg(it->aio, NULL);
            if (rv != NNG_ECLOSED)
                log_warn("send_failed", "pipe=%u error=\"%s\"", it->pipe, nng_strerror(rv));
        }
        if (rv == NNG_ECLOSED) {
            peers_done(&s->peers, it->pipe);
            atomic_fetch_sub(&s->in_flight, 1);
            it->state = ITEM_IDLE;
            return;
        }
        item_over(it);
        return;
    case ITEM_IDLE:
    case ITEM_QUEUED:
        return;
    }
}

static void pipe_added(nng_pipe pipe, nng_pipe_ev event, void *arg)
{
    struct server *s = arg;
    if (!peers_add(&s->peers, nng_pipe_id(pipe), now_us(), EVICT_SILENT_US)) {
        server_metrics_conn_closed("limit");
        log_debug("connection_refused", "pipe=%u reason=\"at --max-connections\"",
                  nng_pipe_id(pipe));
        nng_pipe_close(pipe);
    }
}

static void pipe_removed(nng_pipe pipe, nng_pipe_ev event, void *arg)
{
    struct server *s = arg;
    peers_remove(&s->peers, nng_pipe_id(pipe));
}

/* Closes the connections the peers table marked: idle ones, those that do not read their
 * replies, and silent ones making room at the limit. */
static void sweep(struct server *s, int64_t idle_us)
{
    uint32_t ids[64];
    const char *reasons[64];
    size_t n = peers_sweep(&s->peers, now_us(), idle_us, ids, reasons, 64);
    for (size_t i = 0; i < n; i++) {
        nng_pipe pipe = NNG_PIPE_INITIALIZER;
        pipe.id = ids[i];
        server_metrics_conn_closed(reasons[i]);
        if (strcmp(reasons[i], "idle") == 0 || strcmp(reasons[i], "limit") == 0)
            log_debug("connection_closed", "pipe=%u reason=%s", ids[i], reasons[i]);
        else
            log_warn("connection_closed", "pipe=%u reason=%s", ids[i], reasons[i]);
        nng_pipe_close(pipe);
    }
}

static bool probe_ready(void *arg, char *why, size_t why_len)
{
    struct server *s = arg;
    if (atomic_load(&s->draining)) {
        snprintf(why, why_len, "draining (shutting down)");
        return false;
    }
    pthread_mutex_lock(&s->model_lock);
    bool have_model = s->current != NULL;
    pthread_mutex_unlock(&s->model_lock);
    if (!have_model) {
        snprintf(why, why_len, "no model open");
        return false;
    }
    size_t depth = work_queue_depth(&s->queue);
    if (depth >= s->queue.capacity) {
        snprintf(why, why_len, "queue full: %zu requests wait for %d busy workers", depth,
                 atomic_load(&s->busy));
        return false;
    }
    return true;
}

static char *probe_metrics(void *arg)
{
    struct server *s = arg;
    struct server_gauges g = {
        .queue_depth = work_queue_depth(&s->queue),
        .queue_capacity = s->queue.capacity,
        .workers = s->n_workers,
        .workers_busy = atomic_load(&s->busy),
        .connections = (int)peers_count(&s->peers),
        .in_flight = atomic_load(&s->in_flight),
    };
    return server_metrics_render(&g);
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

/* Frees every work item (the socket is closed, so none is in nng's hands). */
static void free_items(struct server *s)
{
    for (struct item *it = s->all_items; it; it = it->next_all)
        nng_aio_stop(it->aio);
    while (s->all_items) {
        struct item *it = s->all_items;
        s->all_items = it->next_all;
        if (it->msg)
            nng_msg_free(it->msg);
        /* A reply handed to an aio that was already stopped stays in it: nng neither sends
         * nor frees it. */
        nng_msg *left = nng_aio_get_msg(it->aio);
        if (left)
            nng_msg_free(left);
        rpc_request_free(&it->req);
        nng_aio_free(it->aio);
        free(it);
    }
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *listen_url = NULL, *log_level = NULL, *http_listen = NULL;
    long long workers = 0, queue = 0, max_saved = 0, max_n = 0, max_message_bytes = 0;
    long long send_timeout_ms = 0, idle_timeout_ms = 0, max_connections = 0;
    const struct option_spec specs[] = {
        {"model", 'm', "RECO_MODEL", OPTION_STRING, NULL, 0, 0,
         "model file written by `reco-model build` (required)", &model_path},
        {"listen", 'l', "RECO_LISTEN", OPTION_STRING, "tcp://127.0.0.1:7100", 0, 0,
         "NNG URL to listen on (tcp://HOST:PORT, port 0 picks a free one; ipc:///path)",
         &listen_url},
        {"workers", 'w', "RECO_WORKERS", OPTION_INT, "0", 0, MAX_WORKERS,
         "compute threads (0: the cores this process may use, cgroup CPU quota included)",
         &workers},
        {"queue", 0, "RECO_QUEUE", OPTION_INT, "0", 0, 65536,
         "Recommend requests waiting for a worker; past it RESOURCE_EXHAUSTED at once (0: 8 "
         "per worker, at least 16)",
         &queue},
        {"http-listen", 0, "RECO_HTTP_LISTEN", OPTION_STRING, NULL, 0, 0,
         "HOST:PORT for GET /healthz, /readyz and /metrics (off when unset; port 0 picks one)",
         &http_listen},
        {"log-level", 0, "RECO_LOG_LEVEL", OPTION_STRING, "info", 0, 0,
         "debug, info, warn or error", &log_level},
        {"max-saved", 0, "RECO_MAX_SAVED", OPTION_INT, "20000", 1, RECO_MAX_SAVED,
         "saved tracks accepted per Recommend (more: RESOURCE_EXHAUSTED)", &max_saved},
        {"max-n", 0, "RECO_MAX_N", OPTION_INT, "500", 1, RECO_MAX_N,
         "longest playlist a Recommend may ask for (more: INVALID_ARGUMENT)", &max_n},
        {"max-message-bytes", 0, "RECO_MAX_MESSAGE_BYTES", OPTION_INT, "0", 0,
         RPC_MAX_MESSAGE_BYTES,
         "largest request accepted (0: 512 bytes per --max-saved track + 64 KiB); up to 64 KiB "
         "more is read and refused with RESOURCE_EXHAUSTED, larger drops the connection",
         &max_message_bytes},
        {"send-timeout-ms", 0, "RECO_SEND_TIMEOUT_MS", OPTION_INT, "2000", 10, 600000,
         "a connection that does not take a reply within this is closed", &send_timeout_ms},
        {"idle-timeout-ms", 0, "RECO_IDLE_TIMEOUT_MS", OPTION_INT, "30000", 0, 86400000,
         "a connection that sends no whole request for this long is closed, with any partial "
         "message (clients redial; 0: never)",
         &idle_timeout_ms},
        {"max-connections", 0, "RECO_MAX_CONNECTIONS", OPTION_INT, "256", 1, 65536,
         "open RPC connections; past it a new one is refused and the longest-silent closed",
         &max_connections},
    };
    char **positional = calloc((size_t)argc + 1, sizeof *positional);
    int n_positional = 0;
    int exit_code = 1;
    struct server s = {0};
    bool socket_open = false, queue_ready = false, peers_ready = false;
    int threads_started = 0;
    struct http_probe *probe = NULL;

    if (!positional)
        return 1;
    enum options_result parsed = options_parse(
        specs, sizeof specs / sizeof specs[0], argc, argv,
        "reco-service --model MODEL [--listen URL] [options]", positional, &n_positional);
    if (parsed == OPTIONS_HELP) {
        free(positional);
        return 0;
    }
    if (parsed != OPTIONS_OK)
        goto done;
    if (n_positional > 0) {
        fprintf(stderr, "reco-service: unexpected argument '%s' (see --help)\n", positional[0]);
        goto done;
    }
    if (!model_path || !model_path[0]) {
        fprintf(stderr, "option --model (RECO_MODEL): required: the model file to serve\n");
        goto done;
    }
    enum log_level level;
    if (log_parse_level(log_level, &level) != 0) {
        fprintf(stderr, "option --log-level: '%s' is not debug, info, warn or error\n", log_level);
        goto done;
    }
    if (http_listen && http_listen[0]) {
        char host[200];
        int port;
        if (http_probe_parse(http_listen, host, sizeof host, &port) != 0) {
            fprintf(stderr,
                    "option --http-listen (RECO_HTTP_LISTEN): '%s' is not HOST:PORT (e.g. "
                    "0.0.0.0:7180)\n",
                    http_listen);
            goto done;
        }
    }
    log_threshold = level;
    s.n_workers = workers > 0 ? (int)workers : cpu_count_usable("/sys/fs/cgroup");
    if (queue == 0)
        queue = s.n_workers * 8 < 16 ? 16 : s.n_workers * 8;
    if (max_message_bytes == 0) {
        max_message_bytes = max_saved * REQUEST_BYTES_PER_SAVED + REQUEST_BYTES_FIXED;
        if (max_message_bytes > RPC_MAX_MESSAGE_BYTES)
            max_message_bytes = RPC_MAX_MESSAGE_BYTES;
    }
    s.limits = (struct handler_limits){.max_saved = (uint32_t)max_saved, .max_n = (uint32_t)max_n};
    s.max_message_bytes = (size_t)max_message_bytes;
    s.send_timeout_ms = (int)send_timeout_ms;
    s.started_ms = now_us() / 1000;
    s.receivers_target = s.n_workers + RECEIVERS_BEYOND_WORKERS;
    /* Receivers, the queue, the workers, and replies parked for slow readers. */
    s.max_items = s.receivers_target + (int)queue + s.n_workers + 1024;
    pthread_mutex_init(&s.model_lock, NULL);
    pthread_mutex_init(&s.items_lock, NULL);

#if defined(__GLIBC__)
    /* Requests run on our worker threads, and glibc gives threads that allocate at once heaps
     * (arenas) of their own, each keeping what its requests freed: the service came to hold a
     * large request's worth per thread (on the 1.7M catalog after 10,000-track requests, peak
     * RSS 33 MB over the model against 9 MB with one arena). One arena bounds the peak by the
     * requests in flight; a request makes a few dozen allocations, and throughput with 8
     * client threads on 2 cores measured the same (tests/bench/reco). On a machine with many
     * more cores its lock could matter: an operator's MALLOC_ARENA_MAX wins. This runs before
     * any other thread exists (nng starts its threads later). Sanitizer builds replace malloc,
     * so the tests do not run with it. */
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, 1);
#endif

    /* Signals go to the main thread only: block them before any other thread starts. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    s.current = model_load(model_path);
    if (!s.current)
        goto done;
    if (work_queue_init(&s.queue, (size_t)queue) != 0 ||
        peers_init(&s.peers, (size_t)max_connections, MAX_SENDS_PER_CONN) != 0) {
        log_error("start_failed", "reason=\"out of memory\"");
        goto done;
    }
    queue_ready = peers_ready = true;

    int rv = nng_rep0_open(&s.socket);
    if (rv != 0) {
        log_error("listen_failed", "error=\"%s\"", nng_strerror(rv));
        goto done;
    }
    socket_open = true;
    /* A little past the limit is read, so a request just over it gets a reply that says so;
     * the transport drops a connection announcing more, before allocating anything. */
    nng_socket_set_size(s.socket, NNG_OPT_RECVMAXSZ, s.max_message_bytes + REQUEST_BYTES_FIXED);
    nng_pipe_notify(s.socket, NNG_PIPE_EV_ADD_PRE, pipe_added, &s);
    nng_pipe_notify(s.socket, NNG_PIPE_EV_REM_POST, pipe_removed, &s);

    s.threads = calloc((size_t)s.n_workers, sizeof *s.threads);
    if (!s.threads)
        goto done;
    for (; threads_started < s.n_workers; threads_started++) {
        if (pthread_create(&s.threads[threads_started], NULL, worker_main, &s) != 0) {
            log_error("start_failed", "reason=\"cannot start worker %d\"", threads_started);
            goto done;
        }
    }
    rv = nng_listener_create(&s.listener, s.socket, listen_url);
    if (rv == 0)
        rv = nng_listener_start(s.listener, 0);
    if (rv != 0) {
        log_error("listen_failed", "url=%s error=\"%s\"", listen_url, nng_strerror(rv));
        goto done;
    }
    pthread_mutex_lock(&s.items_lock);
    for (int i = 0; i < s.receivers_target; i++)
        spawn_receiver_locked(&s);
    pthread_mutex_unlock(&s.items_lock);

    char http_addr[256] = "";
    if (http_listen && http_listen[0]) {
        char err[300];
        struct http_probe_source src = {.arg = &s, .ready = probe_ready, .metrics = probe_metrics};
        if (http_probe_start(&probe, http_listen, &src, http_addr, sizeof http_addr, err,
                             sizeof err) != 0) {
            log_error("http_listen_failed", "reason=\"%s\"", err);
            goto done;
        }
    }

    char addr[600];
    bound_address(s.listener, listen_url, addr, sizeof addr);
    log_info("listening",
             "addr=%s http=%s workers=%d queue=%lld max_saved=%lld max_n=%lld "
             "max_message_bytes=%lld max_connections=%lld",
             addr, http_addr[0] ? http_addr : "off", s.n_workers, queue, max_saved, max_n,
             max_message_bytes, max_connections);
    if (http_addr[0])
        printf("ready addr=%s http=%s\n", addr, http_addr);
    else
        printf("ready addr=%s\n", addr);
    fflush(stdout);

    for (;;) {
        struct timespec tick = {.tv_sec = 0, .tv_nsec = SWEEP_MS * 1000000L};
        int sig = sigtimedwait(&signals, NULL, &tick);
        if (sig < 0) {
            if (errno == EAGAIN)
                sweep(&s, idle_timeout_ms * 1000);
            continue;
        }
        if (sig == SIGHUP) {
            log_info("reload", "path=%s", model_path);
            struct model_ref *fresh = model_load(model_path);
            if (!fresh) {
                log_warn("reload_failed", "path=%s keeping=%s", model_path,
                         s.current->model->version);
                server_metrics_model(s.current->model->version, s.current->model->n_rows,
                                     s.current->model->k, 0);
                continue;
            }
            pthread_mutex_lock(&s.model_lock);
            struct model_ref *old = s.current;
            s.current = fresh;
            pthread_mutex_unlock(&s.model_lock);
            model_release(old);
            continue;
        }
        log_info("draining", "signal=%s in_flight=%d", sig == SIGTERM ? "TERM" : "INT",
                 atomic_load(&s.in_flight));
        break;
    }

    /* Stop taking connections, answer what arrives with UNAVAILABLE (clients retry another
     * instance), and wait for the requests being worked on and those queued. */
    atomic_store(&s.draining, true);
    nng_listener_close(s.listener);
    for (int waited = 0; atomic_load(&s.in_flight) > 0 && waited < DRAIN_TIMEOUT_MS; waited += 5) {
        nng_msleep(5);
        if (waited % SWEEP_MS == 0)
            sweep(&s, 0); /* a peer that does not read must not hold the drain */
    }
    exit_code = atomic_load(&s.in_flight) == 0 ? 0 : 1;
    /* No receive is posted again and every work item's context is closed, then the UNAVAILABLE
     * answers to what arrived meanwhile are let out: nothing is handed to a connection while
     * nng_close tears them down (nng 1.5.2 can lose a reply handed over at that moment). The
     * item list no longer changes once stopping is set. */
    pthread_mutex_lock(&s.items_lock);
    s.stopping = true;
    pthread_mutex_unlock(&s.items_lock);
    for (struct item *it = s.all_items; it; it = it->next_all)
        nng_ctx_close(it->ctx);
    for (int waited = 0; atomic_load(&s.in_flight) > 0 && waited < CLOSE_TIMEOUT_MS; waited += 5)
        nng_msleep(5);
    nng_msleep(LINGER_MS);
    log_info("stopped", "requests=%llu in_flight=%d", (unsigned long long)atomic_load(&s.requests),
             atomic_load(&s.in_flight));
    http_probe_stop(probe);
    probe = NULL;
    if (!close_with_timeout(s.socket)) {
        log_warn("close_stuck", "waited_ms=%d action=exit", CLOSE_TIMEOUT_MS);
        _exit(exit_code); /* every request was answered; only the library's teardown is left */
    }
    socket_open = false;
done:
    http_probe_stop(probe);
    pthread_mutex_lock(&s.items_lock);
    s.stopping = true;
    pthread_mutex_unlock(&s.items_lock);
    if (socket_open)
        nng_close(s.socket);
    if (queue_ready)
        work_queue_close(&s.queue);
    for (int i = 0; i < threads_started; i++)
        pthread_join(s.threads[i], NULL);
    free(s.threads);
    free_items(&s);
    if (queue_ready)
        work_queue_destroy(&s.queue);
    if (peers_ready)
        peers_destroy(&s.peers);
    if (s.current)
        model_release(s.current);
    free(positional);
    return exit_code;
}
