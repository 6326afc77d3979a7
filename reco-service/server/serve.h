/* The serving side of reco-service: the model in use, the work items (an nng context and aio
 * each: RECV -> hand over -> SEND -> RECV) that never compute in nng's callbacks, the worker
 * threads behind the fair queue, deadlines, the connections the service closes, and what the
 * HTTP probes read. server.c owns the process (options, signals, start and stop). */
#ifndef MIXTAPE_SERVE_H
#define MIXTAPE_SERVE_H

#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handlers.h"
#include "http_probe.h"
#include "model.h"
#include "peers.h"
#include "rpc_envelope.h"
#include "work_queue.h"

/* Replies waiting for one connection before it counts as not reading and is closed. On
 * loopback or a LAN an nng client reads continuously, so a reading peer has almost none. */
#define MAX_SENDS_PER_CONN 16
/* At --max-connections a new connection gets in by closing the one silent longest, if it has
 * sent nothing for this long (a client that is using its connection keeps it). */
#define EVICT_SILENT_US (100 * 1000)
/* Work items waiting to receive: the I/O side only decodes and hands over, so a few beyond
 * the workers keep every connection read. */
#define RECEIVERS_BEYOND_WORKERS 8

/* The open model, shared by the requests that use it; the last one out closes it. */
struct model_ref {
    struct model *model;
    struct reco_artist_index *artist_index; /* built on model at load (recommend.h) */
    atomic_int refs;
};

struct item;

/* The service, one per process. */
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
    /* What start_serving got to (main thread only), for stop_serving. */
    bool socket_open, queue_ready, peers_ready;
    int threads_started;
    struct http_probe *probe;
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

/* Monotonic time in microseconds. */
int64_t now_us(void);

/* The model in use, held until model_release (the last holder closes it). Thread-safe. */
struct model_ref *model_acquire(struct server *s);
void model_release(struct model_ref *ref);

/* Opens the model at path (logged either way, and its figures go to the metrics). Returns a
 * reference held once, or NULL. Blocks while reading the file. */
struct model_ref *model_load(const char *path);

/* Starts one more receiving item, reusing an idle one or making one up to max_items. Call
 * with items_lock held. */
void spawn_receiver_locked(struct server *s);

/* A compute thread: takes requests from the queue until it is closed and empty. */
void *worker_main(void *arg);

/* nng pipe callbacks (arg: the server): register a connection (refused at the limit), forget
 * one. */
void pipe_added(nng_pipe pipe, nng_pipe_ev event, void *arg);
void pipe_removed(nng_pipe pipe, nng_pipe_ev event, void *arg);

/* Closes the connections the peers table marked, after marking those silent for idle_us (0:
 * none for silence). Main thread; does not block beyond nng_pipe_close. */
void sweep(struct server *s, int64_t idle_us);

/* The HTTP probe's callbacks (arg: the server); see http_probe.h. */
bool probe_ready(void *arg, char *why, size_t why_len);
char *probe_metrics(void *arg);

/* Frees every work item and what it still holds. Only once the socket is closed and the
 * workers have stopped. */
void free_items(struct server *s);

#endif
