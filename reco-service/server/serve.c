/* The serving side of reco-service (serve.h): work items, workers, deadlines, the
 * connections closed and why, and the probes' view. Nothing here blocks in nng's callbacks. */
#include "serve.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "artist_index.h"
#include "recommend.h"
#include "rpc.h"
#include "server_metrics.h"

int64_t now_us(void)
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

struct model_ref *model_acquire(struct server *s)
{
    pthread_mutex_lock(&s->model_lock);
    struct model_ref *ref = s->current;
    atomic_fetch_add(&ref->refs, 1);
    pthread_mutex_unlock(&s->model_lock);
    return ref;
}

void model_release(struct model_ref *ref)
{
    if (atomic_fetch_sub(&ref->refs, 1) == 1) {
        reco_artist_index_close(ref->artist_index);
        model_close(ref->model);
        free(ref);
    }
}

struct model_ref *model_load(const char *path)
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
    if (!ref || reco_artist_index_open(model, &ref->artist_index) != RECO_OK) {
        free(ref);
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
void spawn_receiver_locked(struct server *s)
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
        .artist_index = ref->artist_index,
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

void *worker_main(void *arg)
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

void pipe_added(nng_pipe pipe, nng_pipe_ev event, void *arg)
{
    struct server *s = arg;
    if (!peers_add(&s->peers, nng_pipe_id(pipe), now_us(), EVICT_SILENT_US)) {
        server_metrics_conn_closed("limit");
        log_debug("connection_refused", "pipe=%u reason=\"at --max-connections\"",
                  nng_pipe_id(pipe));
        nng_pipe_close(pipe);
    }
}

void pipe_removed(nng_pipe pipe, nng_pipe_ev event, void *arg)
{
    struct server *s = arg;
    peers_remove(&s->peers, nng_pipe_id(pipe));
}

/* Closes the connections the peers table marked: idle ones, those that do not read their
 * replies, and silent ones making room at the limit. */
void sweep(struct server *s, int64_t idle_us)
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

bool probe_ready(void *arg, char *why, size_t why_len)
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

char *probe_metrics(void *arg)
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

/* Frees every work item (the socket is closed, so none is in nng's hands). */
void free_items(struct server *s)
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
