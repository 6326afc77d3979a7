/* The RPC client (rpc.h). Each endpoint (one address) has its own nng req0 socket with one
 * dialer, so the client, not req0, chooses where a request goes: the active endpoint with the
 * fewest calls in flight, never the one that just failed when another is there. Each call
 * opens a context on the chosen socket; an attempt with no answer within the per-attempt
 * timeout (from the observed p99) is abandoned and resent elsewhere within the retry budget,
 * a lost connection is retried elsewhere at once. Health (endpoint_health.h) ejects endpoints;
 * a maintenance thread re-dials and probes ejected ones and frees vanished ones; a resolver
 * thread keeps the addresses of named entries current (resolve.h). */
#include "rpc.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "endpoint_health.h"
#include "resolve.h"
#include "rpc_envelope.h"
#include "xalloc.h"

#define MAX_ENTRIES   64u  /* entries in the list as given */
#define MAX_ENDPOINTS 256u /* addresses in use at once, names expanded */
/* Pause before retrying after an UNAVAILABLE reply or a lost connection. */
#define RETRY_PAUSE_MS 5
/* Waiting for any endpoint to be connected: re-check this often. */
#define NO_ENDPOINT_POLL_MS 5
/* The maintenance thread's tick; ejected endpoints are probed and re-dialed this often. */
#define MAINTENANCE_TICK_MS 20
#define PROBE_EVERY_MS      200
#define PROBE_TIMEOUT_MS    300
#define REDIAL_EVERY_MS     500
/* The retry budget: a fifth of the calls, at least 10 retries a second, at most 100 saved. */
#define BUDGET_RATIO     0.2
#define BUDGET_MIN_PER_S 10.0
#define BUDGET_CAP       100.0
/* nng 1.5.2 can deadlock in nng_close (nng issue #1813, fixed in 1.8): closing gets this long,
 * then the socket is left to its stuck thread. */
#define CLOSE_TIMEOUT_MS 2000

/* One attempt in flight, woken by its aio's callback; listed on its endpoint so that a lost
 * connection cancels it. */
struct attempt {
    nng_aio *aio;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done;
    struct attempt *prev, *next;
};

struct endpoint {
    struct rpc_client *client;
    char url[RESOLVE_MAX_URL];
    int entry; /* index of the entry it came from */
    nng_socket socket;
    nng_dialer dialer;
    /* The rest under client->lock. */
    bool removed, redial;
    int pipes;
    unsigned in_flight; /* calls and probes using it; it is freed only at 0 */
    struct endpoint_health health;
    int64_t last_probe_ms, last_dial_ms;
    uint64_t calls, timeouts, probes;
    struct attempt *attempts;
};

struct entry {
    char url[RESOLVE_MAX_URL];
    bool is_name;
    char host[RESOLVE_MAX_HOST];
    char port[16];
};

struct rpc_client {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the background threads wait on it */
    struct endpoint *ep[MAX_ENDPOINTS];
    size_t n_ep;
    struct entry entries[MAX_ENTRIES];
    size_t n_entries;
    bool has_names, stopping;
    unsigned resolve_interval_s;
    char resolve_error[256];
    unsigned rr;
    struct retry_budget budget;
    struct latency_window latency;
    pthread_t maintenance, resolver;
    char *endpoints;  /* the list as given, for messages */
    atomic_int calls; /* in progress, so close can wait for them to leave */
    atomic_uint_fast64_t next_id;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct timespec abs_monotonic(int64_t at_ms)
{
    struct timespec ts = {.tv_sec = at_ms / 1000, .tv_nsec = (at_ms % 1000) * 1000000};
    return ts;
}

static void cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

static char *message_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *message_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *text = xmalloc(len > 0 ? (size_t)len + 1 : 1);
    va_start(ap, fmt);
    vsnprintf(text, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return text;
}

/* --- endpoints ------------------------------------------------------------------------------ */

static void pipe_event(nng_pipe pipe, nng_pipe_ev event, void *arg)
{
    (void)pipe;
    struct endpoint *ep = arg;
    pthread_mutex_lock(&ep->client->lock);
    if (event == NNG_PIPE_EV_ADD_POST) {
        ep->pipes++;
    } else if (event == NNG_PIPE_EV_REM_POST) {
        ep->pipes--;
        /* The connection is gone: req0 would hold the requests for the next connection to
         * this same instance; they are retried elsewhere now instead. */
        if (ep->pipes <= 0)
            for (struct attempt *a = ep->attempts; a; a = a->next)
                nng_aio_cancel(a->aio);
    }
    pthread_mutex_unlock(&ep->client->lock);
}

/* Starts a fresh dialer on ep's socket (keepalive and no-delay where the transport has
 * them). Returns 0 or the nng error. */
static int endpoint_dial(struct endpoint *ep)
{
    int rv = nng_dialer_create(&ep->dialer, ep->socket, ep->url);
    if (rv != 0)
        return rv;
    nng_dialer_set_bool(ep->dialer, NNG_OPT_TCP_KEEPALIVE, true); /* not for ipc/inproc */
    nng_dialer_set_bool(ep->dialer, NNG_OPT_TCP_NODELAY, true);
    return nng_dialer_start(ep->dialer, NNG_FLAG_NONBLOCK);
}

static enum rpc_code endpoint_open(struct rpc_client *client, const char *url, int entry,
                                   struct endpoint **out, char *err, size_t err_len)
{
    struct endpoint *ep = calloc(1, sizeof *ep);
    if (!ep) {
        snprintf(err, err_len, "out of memory");
        return RPC_INTERNAL;
    }
    ep->client = client;
    ep->entry = entry;
    snprintf(ep->url, sizeof ep->url, "%s", url);
    int rv = nng_req0_open(&ep->socket);
    if (rv != 0) {
        snprintf(err, err_len, "cannot open an nng req socket: %s", nng_strerror(rv));
        free(ep);
        return RPC_INTERNAL;
    }
    nng_socket_set_size(ep->socket, NNG_OPT_RECVMAXSZ, RPC_MAX_MESSAGE_BYTES);
    nng_socket_set_ms(ep->socket, NNG_OPT_RECONNMINT, 20);
    nng_socket_set_ms(ep->socket, NNG_OPT_RECONNMAXT, 500);
    /* One instance per socket: req0's own resend would ask the same instance again. */
    nng_socket_set_ms(ep->socket, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    nng_pipe_notify(ep->socket, NNG_PIPE_EV_ADD_POST, pipe_event, ep);
    nng_pipe_notify(ep->socket, NNG_PIPE_EV_REM_POST, pipe_event, ep);
    ep->last_dial_ms = now_ms();
    rv = endpoint_dial(ep);
    if (rv != 0) {
        snprintf(err, err_len, "endpoint '%.200s': %s", url, nng_strerror(rv));
        nng_close(ep->socket);
        free(ep);
        return RPC_INVALID_ARGUMENT;
    }
    *out = ep;
    return RPC_OK;
}

struct closing {
    nng_socket *sockets;
    size_t n;
    atomic_bool done;
};

static void *close_sockets(void *arg)
{
    struct closing *closing = arg;
    for (size_t i = 0; i < closing->n; i++)
        nng_close(closing->sockets[i]); /* calls waiting on one end with NNG_ECLOSED */
    atomic_store(&closing->done, true);
    return NULL;
}

/* Closes n sockets (the array is taken over), giving nng at most CLOSE_TIMEOUT_MS. Returns
 * false when it is stuck (then the closing thread keeps the array and what it points into). */
static bool sockets_close(nng_socket *sockets, size_t n)
{
    struct closing *closing = malloc(sizeof *closing);
    pthread_t thread;
    if (!closing) {
        for (size_t i = 0; i < n; i++)
            nng_close(sockets[i]);
        free(sockets);
        return true;
    }
    closing->sockets = sockets;
    closing->n = n;
    atomic_init(&closing->done, false);
    if (pthread_create(&thread, NULL, close_sockets, closing) != 0) {
        close_sockets(closing);
        free(sockets);
        free(closing);
        return true;
    }
    for (int waited = 0; !atomic_load(&closing->done) && waited < CLOSE_TIMEOUT_MS; waited++)
        nng_msleep(1);
    if (!atomic_load(&closing->done)) {
        pthread_detach(thread);
        return false;
    }
    pthread_join(thread, NULL);
    free(sockets);
    free(closing);
    return true;
}

static unsigned live_endpoints(const struct rpc_client *client, unsigned *ejected)
{
    unsigned n = 0, e = 0;
    for (size_t i = 0; i < client->n_ep; i++) {
        if (client->ep[i]->removed)
            continue;
        n++;
        if (client->ep[i]->health.state == HEALTH_EJECTED)
            e++;
    }
    if (ejected)
        *ejected = e;
    return n;
}

static bool usable(const struct endpoint *ep)
{
    return !ep->removed && ep->health.state == HEALTH_ACTIVE && ep->pipes > 0;
}

/* The endpoint for the next attempt (under the lock): the active, connected one with the
 * fewest calls in flight, rotating among equals, other than avoid when there is another;
 * failing that an ejected but connected one. NULL when none is connected. */
static struct endpoint *endpoint_pick(struct rpc_client *client, const struct endpoint *avoid)
{
    struct endpoint *best = NULL, *fallback = NULL;
    size_t n = client->n_ep;
    if (n == 0)
        return NULL;
    unsigned start = client->rr++;
    for (size_t k = 0; k < n; k++) {
        struct endpoint *ep = client->ep[(start + k) % n];
        if (ep->removed || ep->pipes <= 0)
            continue;
        if (!usable(ep) || ep == avoid) {
            if (!fallback || (usable(ep) && !usable(fallback)) ||
                (usable(ep) == usable(fallback) && ep->in_flight < fallback->in_flight))
                fallback = ep;
            continue;
        }
        if (!best || ep->in_flight < best->in_flight)
            best = ep;
    }
    return best ? best : fallback;
}

/* Whether an endpoint other than ep could take a call now (under the lock). */
static bool other_usable(const struct rpc_client *client, const struct endpoint *ep)
{
    for (size_t i = 0; i < client->n_ep; i++)
        if (client->ep[i] != ep && usable(client->ep[i]))
            return true;
    return false;
}

/* Records a failure of ep (under the lock); an ejection asks for a fresh dial. */
static void endpoint_failed(struct rpc_client *client, struct endpoint *ep)
{
    unsigned ejected = 0;
    unsigned n = live_endpoints(client, &ejected);
    if (health_failure(&ep->health, now_ms(), ejected, n)) {
        ep->redial = true;
        pthread_cond_broadcast(&client->wake);
    }
}

/* --- one attempt ---------------------------------------------------------------------------- */

enum outcome {
    OUT_REPLY,     /* *reply_msg holds the answer */
    OUT_ABANDONED, /* no answer within the attempt's time; to be resent elsewhere */
    OUT_LOST,      /* the connection failed or went away */
    OUT_CLOSED,    /* the client is closing */
    OUT_DEADLINE,  /* the call's deadline passed */
};

static void attempt_done(void *arg)
{
    struct attempt *a = arg;
    pthread_mutex_lock(&a->mu);
    a->done = true;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->mu);
}

/* Waits for the attempt's aio until at_ms. Returns true when it has finished. */
static bool attempt_wait(struct attempt *a, int64_t at_ms)
{
    struct timespec ts = abs_monotonic(at_ms);
    pthread_mutex_lock(&a->mu);
    while (!a->done)
        if (pthread_cond_timedwait(&a->cond, &a->mu, &ts) == ETIMEDOUT)
            break;
    bool done = a->done;
    pthread_mutex_unlock(&a->mu);
    return done;
}

static void attempt_rearm(struct attempt *a)
{
    pthread_mutex_lock(&a->mu);
    a->done = false;
    pthread_mutex_unlock(&a->mu);
}

static enum outcome outcome_of(int rv)
{
    switch (rv) {
    case 0:
        return OUT_REPLY;
    case NNG_ETIMEDOUT:
        return OUT_DEADLINE;
    case NNG_ECLOSED:
        return OUT_CLOSED;
    default:
        return OUT_LOST;
    }
}

/* The attempt on ep got no answer in its time: a slow answer counts against ep. Returns true
 * when the call should abandon it and resend elsewhere (another endpoint is usable and the
 * retry budget allows), false to keep waiting for this one. */
static bool abandon_slow(struct rpc_client *client, struct endpoint *ep)
{
    pthread_mutex_lock(&client->lock);
    ep->timeouts++;
    endpoint_failed(client, ep);
    bool abandon = other_usable(client, ep) && retry_budget_take(&client->budget, now_ms());
    pthread_mutex_unlock(&client->lock);
    return abandon;
}

/* Puts a on ep's list of attempts (which rpc_client_close and a lost pipe wake). Returns false
 * when ep lost its connection between the pick and now. */
static bool attempt_register(struct rpc_client *client, struct endpoint *ep, struct attempt *a)
{
    pthread_mutex_lock(&client->lock);
    if (ep->pipes <= 0) {
        pthread_mutex_unlock(&client->lock);
        return false;
    }
    a->next = ep->attempts;
    if (ep->attempts)
        ep->attempts->prev = a;
    ep->attempts = a;
    pthread_mutex_unlock(&client->lock);
    return true;
}

static void attempt_unregister(struct rpc_client *client, struct endpoint *ep, struct attempt *a)
{
    pthread_mutex_lock(&client->lock);
    if (a->prev)
        a->prev->next = a->next;
    else
        ep->attempts = a->next;
    if (a->next)
        a->next->prev = a->prev;
    pthread_mutex_unlock(&client->lock);
}

/* Sends msg on ctx, waiting until attempt_end for it to be handed to the connection. Returns
 * true when it was (msg is no longer the caller's), else false with *outcome set (msg is still
 * the caller's). */
static bool attempt_send(struct rpc_client *client, struct endpoint *ep, nng_ctx ctx,
                         struct attempt *a, nng_msg *msg, int64_t attempt_end, int64_t call_end,
                         enum outcome *outcome)
{
    int64_t left = call_end - now_ms();
    if (left <= 0) {
        *outcome = OUT_DEADLINE;
        return false;
    }
    nng_aio_set_timeout(a->aio, (nng_duration)left);
    nng_aio_set_msg(a->aio, msg);
    nng_ctx_send(ctx, a->aio);
    if (!attempt_wait(a, attempt_end)) {
        /* Not even handed to the connection in the attempt's time: it is stuck. */
        nng_aio_cancel(a->aio);
        nng_aio_wait(a->aio);
        if (nng_aio_result(a->aio) != 0) {
            pthread_mutex_lock(&client->lock);
            ep->timeouts++;
            endpoint_failed(client, ep);
            pthread_mutex_unlock(&client->lock);
            *outcome = now_ms() >= call_end ? OUT_DEADLINE : OUT_ABANDONED;
            return false;
        }
    }
    int rv = nng_aio_result(a->aio);
    if (rv != 0) {
        *outcome = outcome_of(rv);
        return false;
    }
    return true;
}

/* Waits on ctx for the answer to a sent request: until attempt_end, then (if not abandoned)
 * until call_end. *slow is set when the answer came after attempt_end. */
static enum outcome attempt_receive(struct rpc_client *client, struct endpoint *ep, nng_ctx ctx,
                                    struct attempt *a, int64_t attempt_end, int64_t call_end,
                                    nng_msg **reply_msg, bool *slow)
{
    int64_t left = call_end - now_ms();
    if (left <= 0)
        return OUT_DEADLINE;
    attempt_rearm(a);
    nng_aio_set_timeout(a->aio, (nng_duration)left);
    nng_ctx_recv(ctx, a->aio);
    int rv;
    if (!attempt_wait(a, attempt_end)) {
        *slow = true;
        if (attempt_end < call_end && abandon_slow(client, ep)) {
            nng_aio_cancel(a->aio);
            nng_aio_wait(a->aio);
            rv = nng_aio_result(a->aio);
            if (rv == 0) {
                *reply_msg = nng_aio_get_msg(a->aio);
                return OUT_REPLY;
            }
            return rv == NNG_ECLOSED ? OUT_CLOSED : OUT_ABANDONED;
        }
        nng_aio_wait(a->aio);
    }
    rv = nng_aio_result(a->aio);
    if (rv == 0)
        *reply_msg = nng_aio_get_msg(a->aio);
    return outcome_of(rv);
}

/* Sends envelope to ep on a fresh context and waits for the answer: until attempt_end, then
 * (if not abandoned) until call_end. *slow is set when the answer came after attempt_end. */
static enum outcome attempt_run(struct rpc_client *client, struct endpoint *ep,
                                const uint8_t *envelope, size_t envelope_len, int64_t attempt_end,
                                int64_t call_end, nng_msg **reply_msg, bool *slow)
{
    struct attempt a = {0};
    nng_ctx ctx;
    nng_msg *msg = NULL;
    enum outcome outcome = OUT_LOST;
    bool registered = false;
    *slow = false;
    pthread_mutex_init(&a.mu, NULL);
    cond_init_monotonic(&a.cond);
    int rv = nng_ctx_open(&ctx, ep->socket);
    if (rv != 0) {
        pthread_mutex_destroy(&a.mu);
        pthread_cond_destroy(&a.cond);
        return rv == NNG_ECLOSED ? OUT_CLOSED : OUT_LOST;
    }
    if (nng_aio_alloc(&a.aio, attempt_done, &a) != 0 || nng_msg_alloc(&msg, 0) != 0 ||
        nng_msg_append(msg, envelope, envelope_len) != 0)
        goto done;
    registered = attempt_register(client, ep, &a);
    if (!registered)
        goto done;
    if (!attempt_send(client, ep, ctx, &a, msg, attempt_end, call_end, &outcome))
        goto done; /* the message is still ours */
    msg = NULL;
    outcome = attempt_receive(client, ep, ctx, &a, attempt_end, call_end, reply_msg, slow);
done:
    if (registered)
        attempt_unregister(client, ep, &a);
    if (msg)
        nng_msg_free(msg);
    if (a.aio)
        nng_aio_free(a.aio);
    nng_ctx_close(ctx);
    pthread_mutex_destroy(&a.mu);
    pthread_cond_destroy(&a.cond);
    return outcome;
}

/* --- background threads --------------------------------------------------------------------- */

/* A Health call on ep alone. Returns true when it answered OK within PROBE_TIMEOUT_MS. */
static bool endpoint_probe(struct endpoint *ep)
{
    uint8_t *envelope = NULL;
    size_t envelope_len = 0;
    bool ok = false;
    nng_ctx ctx;
    nng_aio *aio = NULL;
    nng_msg *msg = NULL;
    if (rpc_request_encode(0, "Health", PROBE_TIMEOUT_MS, NULL, 0, &envelope, &envelope_len) != 0)
        return false;
    if (nng_ctx_open(&ctx, ep->socket) != 0) {
        free(envelope);
        return false;
    }
    if (nng_aio_alloc(&aio, NULL, NULL) != 0 || nng_msg_alloc(&msg, 0) != 0 ||
        nng_msg_append(msg, envelope, envelope_len) != 0)
        goto done;
    nng_aio_set_timeout(aio, PROBE_TIMEOUT_MS);
    nng_aio_set_msg(aio, msg);
    nng_ctx_send(ctx, aio);
    nng_aio_wait(aio);
    if (nng_aio_result(aio) != 0)
        goto done;
    msg = NULL;
    nng_ctx_recv(ctx, aio);
    nng_aio_wait(aio);
    if (nng_aio_result(aio) == 0) {
        nng_msg *reply_msg = nng_aio_get_msg(aio);
        struct rpc_reply reply = {0};
        char err[128];
        ok = rpc_reply_decode(nng_msg_body(reply_msg), nng_msg_len(reply_msg),
                              RPC_MAX_MESSAGE_BYTES, &reply, err, sizeof err) == RPC_OK &&
             reply.code == RPC_OK;
        rpc_reply_clear(&reply);
        nng_msg_free(reply_msg);
    }
done:
    if (msg)
        nng_msg_free(msg);
    if (aio)
        nng_aio_free(aio);
    nng_ctx_close(ctx);
    free(envelope);
    return ok;
}

/* Every tick: a fresh dial for endpoints just ejected and, while ejected, for those with no
 * connection (a healed link is used at once, not after TCP's backoff); Health probes of
 * ejected, connected ones; vanished endpoints freed once idle. */
static void *maintenance_main(void *arg)
{
    struct rpc_client *client = arg;
    struct endpoint *redial[MAX_ENDPOINTS], *probe[MAX_ENDPOINTS], *gone[MAX_ENDPOINTS];
    pthread_mutex_lock(&client->lock);
    while (!client->stopping) {
        struct timespec ts = abs_monotonic(now_ms() + MAINTENANCE_TICK_MS);
        pthread_cond_timedwait(&client->wake, &client->lock, &ts);
        if (client->stopping)
            break;
        size_t n_redial = 0, n_probe = 0, n_gone = 0, kept = 0;
        int64_t now = now_ms();
        for (size_t i = 0; i < client->n_ep; i++) {
            struct endpoint *ep = client->ep[i];
            if (ep->removed && ep->in_flight == 0) {
                gone[n_gone++] = ep;
                continue;
            }
            client->ep[kept++] = ep;
            if (ep->removed)
                continue;
            bool ejected = ep->health.state == HEALTH_EJECTED;
            if (ep->redial ||
                (ejected && ep->pipes <= 0 && now - ep->last_dial_ms >= REDIAL_EVERY_MS)) {
                ep->redial = false;
                ep->last_dial_ms = now;
                redial[n_redial++] = ep;
            } else if (ejected && ep->pipes > 0 && now - ep->last_probe_ms >= PROBE_EVERY_MS) {
                ep->last_probe_ms = now;
                ep->in_flight++;
                ep->probes++;
                probe[n_probe++] = ep;
            }
        }
        client->n_ep = kept;
        pthread_mutex_unlock(&client->lock);
        /* nng calls outside the lock: closing a dialer runs pipe_event, which takes it. */
        for (size_t i = 0; i < n_redial; i++) {
            nng_dialer_close(redial[i]->dialer);
            endpoint_dial(redial[i]);
        }
        for (size_t i = 0; i < n_probe; i++) {
            bool ok = endpoint_probe(probe[i]);
            pthread_mutex_lock(&client->lock);
            health_probe(&probe[i]->health, now_ms(), ok);
            /* No answer on the connection it has: that connection may be the stuck one (its
             * close still pending behind a dead link), so dial afresh as well. */
            if (!ok && now_ms() - probe[i]->last_dial_ms >= REDIAL_EVERY_MS)
                probe[i]->redial = true;
            probe[i]->in_flight--;
            pthread_mutex_unlock(&client->lock);
        }
        if (n_gone > 0) {
            nng_socket *sockets = malloc(n_gone * sizeof *sockets);
            if (sockets) {
                for (size_t i = 0; i < n_gone; i++)
                    sockets[i] = gone[i]->socket;
                if (sockets_close(sockets, n_gone))
                    for (size_t i = 0; i < n_gone; i++)
                        free(gone[i]);
            }
        }
        pthread_mutex_lock(&client->lock);
    }
    pthread_mutex_unlock(&client->lock);
    return NULL;
}

/* One round of resolution of a named entry: new addresses become endpoints, vanished ones are
 * marked removed (the maintenance thread frees them once their calls are over). */
static void resolve_entry(struct rpc_client *client, int index)
{
    const struct entry *entry = &client->entries[index];
    char(*fresh)[RESOLVE_MAX_URL] = malloc(RESOLVE_MAX_ADDRS * sizeof *fresh);
    char err[256];
    if (!fresh)
        return;
    int n = resolve_lookup(entry->host, entry->port, fresh, RESOLVE_MAX_ADDRS, err, sizeof err);
    if (n < 0) {
        /* A failed lookup keeps the addresses we have: DNS trouble is not an outage. */
        pthread_mutex_lock(&client->lock);
        snprintf(client->resolve_error, sizeof client->resolve_error, "%s", err);
        pthread_mutex_unlock(&client->lock);
        free(fresh);
        return;
    }
    char old[RESOLVE_MAX_ADDRS][RESOLVE_MAX_URL];
    struct endpoint *old_ep[RESOLVE_MAX_ADDRS];
    bool gone[RESOLVE_MAX_ADDRS], added[RESOLVE_MAX_ADDRS];
    size_t n_old = 0;
    pthread_mutex_lock(&client->lock);
    client->resolve_error[0] = '\0';
    for (size_t i = 0; i < client->n_ep && n_old < RESOLVE_MAX_ADDRS; i++) {
        struct endpoint *ep = client->ep[i];
        if (ep->entry != index || ep->removed)
            continue;
        /* Insertion keeps old sorted for the diff. */
        size_t at = n_old;
        while (at > 0 && strcmp(old[at - 1], ep->url) > 0) {
            memcpy(old[at], old[at - 1], RESOLVE_MAX_URL);
            old_ep[at] = old_ep[at - 1];
            at--;
        }
        memcpy(old[at], ep->url, RESOLVE_MAX_URL);
        old_ep[at] = ep;
        n_old++;
    }
    resolve_diff(old, n_old, fresh, (size_t)n, gone, added);
    for (size_t i = 0; i < n_old; i++)
        if (gone[i])
            old_ep[i]->removed = true;
    pthread_mutex_unlock(&client->lock);
    for (int j = 0; j < n; j++) {
        struct endpoint *ep = NULL;
        if (!added[j] || endpoint_open(client, fresh[j], index, &ep, err, sizeof err) != RPC_OK)
            continue;
        pthread_mutex_lock(&client->lock);
        bool room = client->n_ep < MAX_ENDPOINTS && !client->stopping;
        if (room)
            client->ep[client->n_ep++] = ep;
        pthread_mutex_unlock(&client->lock);
        if (!room) {
            nng_socket *one = malloc(sizeof *one);
            if (one) {
                *one = ep->socket;
                if (sockets_close(one, 1))
                    free(ep);
            }
        }
    }
    free(fresh);
}

static void *resolver_main(void *arg)
{
    struct rpc_client *client = arg;
    pthread_mutex_lock(&client->lock);
    while (!client->stopping) {
        pthread_mutex_unlock(&client->lock);
        for (size_t i = 0; i < client->n_entries; i++)
            if (client->entries[i].is_name)
                resolve_entry(client, (int)i);
        pthread_mutex_lock(&client->lock);
        struct timespec ts = abs_monotonic(now_ms() + (int64_t)client->resolve_interval_s * 1000);
        while (!client->stopping)
            if (pthread_cond_timedwait(&client->wake, &client->lock, &ts) == ETIMEDOUT)
                break;
    }
    pthread_mutex_unlock(&client->lock);
    return NULL;
}

/* --- open, close ---------------------------------------------------------------------------- */

static uint64_t first_request_id(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Distinct per client process in the logs; the low bits count calls. */
    return (((uint64_t)getpid() << 40) ^ ((uint64_t)ts.tv_nsec << 20)) & 0x7fffffffffffffffull;
}

/* Splits the list into client->entries and opens the endpoints of plain addresses. */
static enum rpc_code parse_entries(struct rpc_client *client, const char *endpoints, char *err,
                                   size_t err_len)
{
    char *list = strdup(endpoints);
    enum rpc_code code = RPC_INVALID_ARGUMENT;
    if (!list) {
        snprintf(err, err_len, "out of memory");
        return RPC_INTERNAL;
    }
    char *save = NULL;
    for (char *url = strtok_r(list, ",", &save); url; url = strtok_r(NULL, ",", &save)) {
        while (*url == ' ')
            url++;
        size_t len = strlen(url);
        while (len > 0 && url[len - 1] == ' ')
            url[--len] = '\0';
        if (len == 0)
            continue;
        if (len >= RESOLVE_MAX_URL || client->n_entries == MAX_ENTRIES) {
            snprintf(err, err_len, "endpoints: at most %u URLs of at most %u bytes each",
                     MAX_ENTRIES, RESOLVE_MAX_URL - 1);
            goto done;
        }
        struct entry *entry = &client->entries[client->n_entries];
        snprintf(entry->url, sizeof entry->url, "%s", url);
        entry->is_name = resolve_entry_name(url, entry->host, entry->port);
        if (entry->is_name) {
            nng_url *parsed = NULL;
            int rv = nng_url_parse(&parsed, url);
            if (rv != 0) {
                snprintf(err, err_len, "endpoint '%.200s': %s", url, nng_strerror(rv));
                goto done;
            }
            nng_url_free(parsed);
            client->has_names = true;
        } else {
            struct endpoint *ep = NULL;
            code = endpoint_open(client, url, (int)client->n_entries, &ep, err, err_len);
            if (code != RPC_OK)
                goto done;
            code = RPC_INVALID_ARGUMENT;
            client->ep[client->n_ep++] = ep;
        }
        client->n_entries++;
    }
    if (client->n_entries == 0) {
        snprintf(err, err_len, "endpoints: no URL in '%s'", endpoints);
        goto done;
    }
    code = RPC_OK;
done:
    free(list);
    return code;
}

static void endpoints_free(struct rpc_client *client)
{
    if (client->n_ep > 0) {
        nng_socket *sockets = malloc(client->n_ep * sizeof *sockets);
        if (!sockets)
            return;
        for (size_t i = 0; i < client->n_ep; i++)
            sockets[i] = client->ep[i]->socket;
        if (!sockets_close(sockets, client->n_ep))
            return; /* stuck inside nng: the endpoints stay allocated for its callbacks */
    }
    while (atomic_load(&client->calls) > 0)
        nng_msleep(1);
    for (size_t i = 0; i < client->n_ep; i++)
        free(client->ep[i]);
    client->n_ep = 0;
}

enum rpc_code rpc_client_open_with(struct rpc_client **out, const char *endpoints,
                                   const struct rpc_client_options *options, char *err,
                                   size_t err_len)
{
    if (!endpoints || endpoints[0] == '\0') {
        snprintf(err, err_len, "endpoints: empty (give one or more NNG URLs, comma-separated)");
        return RPC_INVALID_ARGUMENT;
    }
    unsigned interval = options && options->resolve_interval_s ? options->resolve_interval_s
                                                               : RPC_RESOLVE_INTERVAL_DEFAULT;
    if (interval > RPC_RESOLVE_INTERVAL_MAX) {
        snprintf(err, err_len, "resolve interval: %u s exceeds the limit of %u s", interval,
                 RPC_RESOLVE_INTERVAL_MAX);
        return RPC_INVALID_ARGUMENT;
    }
    struct rpc_client *client = calloc(1, sizeof *client);
    if (!client) {
        snprintf(err, err_len, "out of memory");
        return RPC_INTERNAL;
    }
    pthread_mutex_init(&client->lock, NULL);
    cond_init_monotonic(&client->wake);
    client->resolve_interval_s = interval;
    atomic_init(&client->next_id, first_request_id());
    retry_budget_init(&client->budget, BUDGET_RATIO, BUDGET_MIN_PER_S, BUDGET_CAP, now_ms());
    enum rpc_code code = parse_entries(client, endpoints, err, err_len);
    bool maintenance = false;
    if (code == RPC_OK) {
        client->endpoints = strdup(endpoints);
        if (!client->endpoints ||
            pthread_create(&client->maintenance, NULL, maintenance_main, client) != 0) {
            snprintf(err, err_len, "out of memory or threads");
            code = RPC_INTERNAL;
        } else {
            maintenance = true;
        }
    }
    if (code == RPC_OK && client->has_names &&
        pthread_create(&client->resolver, NULL, resolver_main, client) != 0) {
        snprintf(err, err_len, "cannot start the resolver thread");
        code = RPC_INTERNAL;
        client->has_names = false;
    }
    if (code != RPC_OK) {
        pthread_mutex_lock(&client->lock);
        client->stopping = true;
        pthread_cond_broadcast(&client->wake);
        pthread_mutex_unlock(&client->lock);
        if (maintenance)
            pthread_join(client->maintenance, NULL);
        endpoints_free(client);
        free(client->endpoints);
        free(client);
        return code;
    }
    *out = client;
    return RPC_OK;
}

enum rpc_code rpc_client_open(struct rpc_client **out, const char *endpoints, char *err,
                              size_t err_len)
{
    return rpc_client_open_with(out, endpoints, NULL, err, err_len);
}

void rpc_client_close(struct rpc_client *client)
{
    if (!client)
        return;
    pthread_mutex_lock(&client->lock);
    client->stopping = true;
    pthread_cond_broadcast(&client->wake);
    pthread_mutex_unlock(&client->lock);
    pthread_join(client->maintenance, NULL);
    if (client->has_names)
        pthread_join(client->resolver, NULL);
    endpoints_free(client);
    if (client->n_ep > 0)
        return; /* stuck inside nng: left allocated (see endpoints_free) */
    pthread_cond_destroy(&client->wake);
    pthread_mutex_destroy(&client->lock);
    free(client->endpoints);
    free(client);
}

size_t rpc_client_endpoints(struct rpc_client *client, struct rpc_endpoint_status *out, size_t max,
                            struct rpc_client_status *status)
{
    pthread_mutex_lock(&client->lock);
    size_t n = client->n_ep;
    for (size_t i = 0; i < n && i < max; i++) {
        const struct endpoint *ep = client->ep[i];
        struct rpc_endpoint_status *s = &out[i];
        snprintf(s->url, sizeof s->url, "%s", ep->url);
        s->connected = ep->pipes > 0;
        s->state = ep->removed                          ? "removed"
                   : ep->health.state == HEALTH_EJECTED ? "ejected"
                   : ep->pipes <= 0                     ? "connecting"
                                                        : "active";
        s->in_flight = ep->in_flight;
        s->consecutive_failures = ep->health.consecutive_failures;
        s->calls = ep->calls;
        s->failures = ep->health.failures;
        s->timeouts = ep->timeouts;
        s->ejections = ep->health.ejections;
        s->readmissions = ep->health.readmissions;
        s->probes = ep->probes;
    }
    if (status) {
        memset(status, 0, sizeof *status);
        status->attempt_timeout_ms = attempt_timeout_ms(&client->latency, UINT32_MAX);
        status->p99_us = client->latency.p99_us;
        status->retries = client->budget.granted;
        status->retries_refused = client->budget.refused;
        status->endpoints = live_endpoints(client, &status->ejected);
        snprintf(status->resolve_error, sizeof status->resolve_error, "%s", client->resolve_error);
    }
    pthread_mutex_unlock(&client->lock);
    return n;
}

/* --- calls ---------------------------------------------------------------------------------- */

/* Reads one reply envelope (and frees reply_msg) into *code, *explanation (the previous one
 * freed) and, on OK, *reply. */
static void take_reply(nng_msg *reply_msg, const char *method, uint64_t id, enum rpc_code *code,
                       char **explanation, uint8_t **reply, size_t *reply_len)
{
    struct rpc_reply decoded = {0};
    char err[256];
    enum rpc_code envelope_code =
        rpc_reply_decode(nng_msg_body(reply_msg), nng_msg_len(reply_msg), RPC_MAX_MESSAGE_BYTES,
                         &decoded, err, sizeof err);
    nng_msg_free(reply_msg);
    free(*explanation);
    *explanation = NULL;
    if (envelope_code != RPC_OK) {
        *code = envelope_code;
        *explanation = message_printf("%s: %s", method, err);
        return;
    }
    if (decoded.request_id != id && !(decoded.request_id == 0 && decoded.code != RPC_OK)) {
        *code = RPC_INTERNAL;
        *explanation =
            message_printf("%s: reply for request %llu, expected %llu", method,
                           (unsigned long long)decoded.request_id, (unsigned long long)id);
        rpc_reply_clear(&decoded);
        return;
    }
    *code = decoded.code;
    *explanation = decoded.message;
    decoded.message = NULL;
    if (decoded.code == RPC_OK) {
        *reply = decoded.payload;
        *reply_len = decoded.payload_len;
        decoded.payload = NULL;
    }
    rpc_reply_clear(&decoded);
}

static void set_explanation(char **explanation, char *text)
{
    free(*explanation);
    *explanation = text;
}

/* One rpc_call across its attempts. */
struct call_state {
    const char *method;
    uint64_t id;
    uint32_t timeout_ms;
    int64_t deadline;
    int attempts;
    bool reached; /* an endpoint was picked at least once */
    enum rpc_code code;
    char *explanation; /* owned */
};

/* Encodes the request once to refuse at the door what cannot be sent at all (a bad method, too
 * large a request). Returns true when it can be sent, else false with cs->code and
 * cs->explanation set. */
static bool call_sendable(struct call_state *cs, const uint8_t *request, size_t request_len)
{
    uint8_t *envelope = NULL;
    size_t envelope_len = 0;
    if (rpc_request_encode(cs->id, cs->method, cs->timeout_ms, request, request_len, &envelope,
                           &envelope_len) != 0) {
        cs->code = RPC_INVALID_ARGUMENT;
        set_explanation(&cs->explanation,
                        message_printf("method: must be 1..%u bytes", RPC_MAX_METHOD));
        return false;
    }
    free(envelope);
    if (envelope_len > RPC_MAX_MESSAGE_BYTES) {
        cs->code = RPC_RESOURCE_EXHAUSTED;
        set_explanation(&cs->explanation,
                        message_printf("request: %zu bytes exceeds the limit of %u bytes",
                                       envelope_len, RPC_MAX_MESSAGE_BYTES));
        return false;
    }
    return true;
}

/* The call's deadline passed: says why, keeping the last attempt's UNAVAILABLE reason. */
static void call_expired(const struct rpc_client *client, struct call_state *cs)
{
    if (!cs->reached) {
        cs->code = RPC_UNAVAILABLE;
        set_explanation(&cs->explanation,
                        message_printf("%s: no instance reachable at %s within %u ms", cs->method,
                                       client->endpoints, cs->timeout_ms));
    } else if (cs->code != RPC_UNAVAILABLE || !cs->explanation) {
        cs->code = RPC_DEADLINE_EXCEEDED;
        set_explanation(&cs->explanation,
                        message_printf("%s: no answer within %u ms from %s (%d attempts)",
                                       cs->method, cs->timeout_ms, client->endpoints,
                                       cs->attempts));
    }
}

/* Records what an attempt on ep came to (cs->code already holds a reply's code): endpoint
 * health, latency, the code and explanation of the call. Returns true when the call should try
 * again. Takes the lock. */
static bool call_settle(struct rpc_client *client, struct call_state *cs, struct endpoint *ep,
                        enum outcome outcome, bool slow, uint32_t attempt_ms, int64_t sent_us)
{
    bool retry = false;
    pthread_mutex_lock(&client->lock);
    ep->in_flight--;
    switch (outcome) {
    case OUT_REPLY:
        if (cs->code == RPC_UNAVAILABLE) {
            /* That instance cannot serve (draining, no model): ask another. */
            endpoint_failed(client, ep);
            retry = true;
        } else if (cs->code == RPC_RESOURCE_EXHAUSTED) {
            /* Its queue is full: another instance may have room, within the budget. */
            retry = retry_budget_take(&client->budget, now_ms());
        } else if (!slow) {
            health_success(&ep->health, now_ms());
            int64_t took = now_us() - sent_us;
            latency_add(&client->latency, (uint32_t)(took > 0 ? took : 1));
        }
        break;
    case OUT_ABANDONED:
        retry = true; /* counted and budgeted when it was abandoned */
        cs->code = RPC_DEADLINE_EXCEEDED;
        set_explanation(&cs->explanation, message_printf("%s: no answer from %s within %u ms",
                                                         cs->method, ep->url, attempt_ms));
        break;
    case OUT_LOST:
        endpoint_failed(client, ep);
        cs->code = RPC_UNAVAILABLE;
        set_explanation(&cs->explanation,
                        message_printf("%s: lost the connection to %s", cs->method, ep->url));
        retry = true;
        break;
    case OUT_CLOSED:
        cs->code = RPC_UNAVAILABLE;
        set_explanation(&cs->explanation, message_printf("%s: client closed", cs->method));
        break;
    case OUT_DEADLINE:
        if (!slow)
            endpoint_failed(client, ep);
        cs->code = RPC_DEADLINE_EXCEEDED;
        set_explanation(&cs->explanation,
                        message_printf("%s: no answer within %u ms from %s (%d attempts)",
                                       cs->method, cs->timeout_ms, client->endpoints,
                                       cs->attempts));
        break;
    }
    pthread_mutex_unlock(&client->lock);
    return retry;
}

enum rpc_code rpc_call(struct rpc_client *client, const char *method, const uint8_t *request,
                       size_t request_len, uint32_t timeout_ms, uint8_t **reply, size_t *reply_len,
                       char **message, uint64_t *request_id)
{
    uint8_t *envelope = NULL;
    size_t envelope_len = 0;
    int64_t start = now_ms();
    struct call_state cs = {.method = method,
                            .id = atomic_fetch_add(&client->next_id, 1),
                            .timeout_ms = timeout_ms,
                            .deadline = start + timeout_ms,
                            .code = RPC_INTERNAL};
    struct endpoint *avoid = NULL;

    if (request_id)
        *request_id = cs.id;
    atomic_fetch_add(&client->calls, 1);
    /* What cannot be sent at all is refused before anything else. */
    if (!call_sendable(&cs, request, request_len))
        goto done;
    pthread_mutex_lock(&client->lock);
    retry_budget_deposit(&client->budget, start);
    pthread_mutex_unlock(&client->lock);
    for (;;) {
        int64_t remaining = cs.deadline - now_ms();
        if (remaining <= 0) {
            call_expired(client, &cs);
            break;
        }
        pthread_mutex_lock(&client->lock);
        bool stopping = client->stopping;
        struct endpoint *ep = stopping ? NULL : endpoint_pick(client, avoid);
        uint32_t attempt_ms = attempt_timeout_ms(&client->latency, (uint32_t)remaining);
        if (ep) {
            ep->in_flight++;
            ep->calls++;
        }
        pthread_mutex_unlock(&client->lock);
        if (stopping) {
            cs.code = RPC_UNAVAILABLE;
            set_explanation(&cs.explanation, message_printf("%s: client closed", method));
            break;
        }
        if (!ep) {
            nng_msleep(remaining < NO_ENDPOINT_POLL_MS ? (nng_duration)remaining
                                                       : NO_ENDPOINT_POLL_MS);
            continue;
        }
        cs.reached = true;
        free(envelope);
        envelope = NULL;
        if (rpc_request_encode(cs.id, method, (uint32_t)remaining, request, request_len, &envelope,
                               &envelope_len) != 0) {
            pthread_mutex_lock(&client->lock);
            ep->in_flight--;
            pthread_mutex_unlock(&client->lock);
            cs.code = RPC_INTERNAL;
            set_explanation(&cs.explanation, message_printf("%s: out of memory", method));
            break;
        }
        cs.attempts++;
        int64_t sent = now_ms(), sent_us = now_us();
        nng_msg *reply_msg = NULL;
        bool slow = false;
        enum outcome outcome = attempt_run(client, ep, envelope, envelope_len, sent + attempt_ms,
                                           cs.deadline, &reply_msg, &slow);
        if (outcome == OUT_REPLY)
            take_reply(reply_msg, method, cs.id, &cs.code, &cs.explanation, reply, reply_len);
        bool retry = call_settle(client, &cs, ep, outcome, slow, attempt_ms, sent_us);
        if (!retry || cs.deadline - now_ms() <= RETRY_PAUSE_MS)
            break;
        avoid = ep;
        if (outcome != OUT_ABANDONED)
            nng_msleep(RETRY_PAUSE_MS);
    }
done:
    free(envelope);
    if (message)
        *message = cs.explanation;
    else
        free(cs.explanation);
    atomic_fetch_sub(&client->calls, 1);
    return cs.code;
}
