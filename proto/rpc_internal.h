/* The RPC client's private parts (rpc.h is the public face), shared by its files: rpc.c (open,
 * close, calls), rpc_endpoints.c, rpc_attempt.c and rpc_maintenance.c. Not for use outside
 * proto/rpc*.c. */

/* How the client works. Each endpoint (one address) has its own nng req0 socket with one
 * dialer, so the client, not req0, chooses where a request goes: the active endpoint with the
 * fewest calls in flight, never the one that just failed when another is there. Each call
 * opens a context on the chosen socket; an attempt with no answer within the per-attempt
 * timeout (from the observed p99) is abandoned and resent elsewhere within the retry budget,
 * a lost connection is retried elsewhere at once. Health (endpoint_health.h) ejects endpoints;
 * a maintenance thread re-dials and probes ejected ones and frees vanished ones; a resolver
 * thread keeps the addresses of named entries current (resolve.h). */
#ifndef MIXTAPE_RPC_INTERNAL_H
#define MIXTAPE_RPC_INTERNAL_H

#include <nng/nng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "endpoint_health.h"
#include "resolve.h"
#include "rpc.h"

#define MAX_ENTRIES   64u  /* entries in the list as given */
#define MAX_ENDPOINTS 256u /* addresses in use at once, names expanded */

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

/* What one attempt came to (rpc_attempt_run). */
enum outcome {
    OUT_REPLY,     /* *reply_msg holds the answer */
    OUT_ABANDONED, /* no answer within the attempt's time; to be resent elsewhere */
    OUT_LOST,      /* the connection failed or went away */
    OUT_CLOSED,    /* the client is closing */
    OUT_DEADLINE,  /* the call's deadline passed */
};

/* --- time ------------------------------------------------------------------------------------ */

/* The monotonic clock in ms and in us. */
static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* at_ms on the monotonic clock as a deadline for cond waits made by cond_init_monotonic. */
static inline struct timespec abs_monotonic(int64_t at_ms)
{
    struct timespec ts = {.tv_sec = at_ms / 1000, .tv_nsec = (at_ms % 1000) * 1000000};
    return ts;
}

/* Initialises cond to time its waits on the monotonic clock; the caller destroys it. */
static inline void cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

/* --- endpoints (rpc_endpoints.c) -------------------------------------------------------------- */

/* Opens an endpoint for url (from entry number entry): its req0 socket, pipe notifications and
 * a dialer started without waiting. Returns RPC_OK with *out (the caller owns it: it goes into
 * client->ep under the lock, or is closed with rpc_sockets_close and freed), else the code with
 * err set. Does not take client->lock; call it without the lock. */
enum rpc_code rpc_endpoint_open(struct rpc_client *client, const char *url, int entry,
                                struct endpoint **out, char *err, size_t err_len);

/* Starts a fresh dialer on ep's socket (keepalive and no-delay where the transport has them).
 * Returns 0 or the nng error. Call it without client->lock (nng may run pipe_event, which
 * takes it). */
int rpc_endpoint_dial(struct endpoint *ep);

/* Closes n sockets (the array is taken over), giving nng at most CLOSE_TIMEOUT_MS (blocks that
 * long at most). Returns false when it is stuck (then the closing thread keeps the array and
 * the endpoints it points into stay allocated). Call it without client->lock. */
bool rpc_sockets_close(nng_socket *sockets, size_t n);

/* The endpoints not removed, and in *ejected (when not NULL) how many of them are ejected.
 * Under client->lock. */
unsigned rpc_live_endpoints(const struct rpc_client *client, unsigned *ejected);

/* The endpoint for the next attempt: the active, connected one with the fewest calls in
 * flight, rotating among equals, other than avoid when there is another; failing that an
 * ejected but connected one. NULL when none is connected. Under client->lock; the caller counts
 * its use in ep->in_flight before it lets go of the lock. */
struct endpoint *rpc_endpoint_pick(struct rpc_client *client, const struct endpoint *avoid);

/* Whether an endpoint other than ep could take a call now. Under client->lock. */
bool rpc_other_usable(const struct rpc_client *client, const struct endpoint *ep);

/* Records a failure of ep; an ejection asks the maintenance thread for a fresh dial (and wakes
 * it). Under client->lock. */
void rpc_endpoint_failed(struct rpc_client *client, struct endpoint *ep);

/* --- one attempt (rpc_attempt.c) -------------------------------------------------------------- */

/* Sends envelope (still the caller's) to ep on a fresh context and waits for the answer: until
 * attempt_end, then (if not abandoned) until call_end, both on now_ms's clock. On OUT_REPLY
 * *reply_msg is the answer (the caller frees it). *slow is set when the answer came after
 * attempt_end. Blocks; takes client->lock itself, so call it without the lock, with ep counted
 * in ep->in_flight. */
enum outcome rpc_attempt_run(struct rpc_client *client, struct endpoint *ep,
                             const uint8_t *envelope, size_t envelope_len, int64_t attempt_end,
                             int64_t call_end, nng_msg **reply_msg, bool *slow);

/* --- background threads (rpc_maintenance.c) --------------------------------------------------- */

/* The maintenance thread (arg: the client): re-dials and probes ejected endpoints and frees
 * removed ones once idle, until client->stopping (then wake it through client->wake and join
 * it). Takes client->lock itself. */
void *rpc_maintenance_main(void *arg);

/* The resolver thread (arg: the client), started only when client->has_names: resolves the
 * named entries every client->resolve_interval_s, adding and removing endpoints, until
 * client->stopping (wake it through client->wake and join it). Takes client->lock itself. */
void *rpc_resolver_main(void *arg);

#endif
