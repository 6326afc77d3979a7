/* The RPC client's endpoints (rpc_internal.h): one nng req0 socket and dialer per address,
 * its connection count kept by pipe events, closing sockets without hanging on nng, and the
 * choice of the endpoint for the next attempt. */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "rpc_internal.h"

/* nng 1.5.2 can deadlock in nng_close (nng issue #1813, fixed in 1.8): closing gets this long,
 * then the socket is left to its stuck thread. */
#define CLOSE_TIMEOUT_MS 2000

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
int rpc_endpoint_dial(struct endpoint *ep)
{
    int rv = nng_dialer_create(&ep->dialer, ep->socket, ep->url);
    if (rv != 0)
        return rv;
    nng_dialer_set_bool(ep->dialer, NNG_OPT_TCP_KEEPALIVE, true); /* not for ipc/inproc */
    nng_dialer_set_bool(ep->dialer, NNG_OPT_TCP_NODELAY, true);
    return nng_dialer_start(ep->dialer, NNG_FLAG_NONBLOCK);
}

enum rpc_code rpc_endpoint_open(struct rpc_client *client, const char *url, int entry,
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
    rv = rpc_endpoint_dial(ep);
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
bool rpc_sockets_close(nng_socket *sockets, size_t n)
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

unsigned rpc_live_endpoints(const struct rpc_client *client, unsigned *ejected)
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
struct endpoint *rpc_endpoint_pick(struct rpc_client *client, const struct endpoint *avoid)
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
bool rpc_other_usable(const struct rpc_client *client, const struct endpoint *ep)
{
    for (size_t i = 0; i < client->n_ep; i++)
        if (client->ep[i] != ep && usable(client->ep[i]))
            return true;
    return false;
}

/* Records a failure of ep (under the lock); an ejection asks for a fresh dial. */
void rpc_endpoint_failed(struct rpc_client *client, struct endpoint *ep)
{
    unsigned ejected = 0;
    unsigned n = rpc_live_endpoints(client, &ejected);
    if (health_failure(&ep->health, now_ms(), ejected, n)) {
        ep->redial = true;
        pthread_cond_broadcast(&client->wake);
    }
}
