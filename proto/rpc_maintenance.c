/* The RPC client's background threads (rpc_internal.h): maintenance re-dials and probes
 * ejected endpoints and frees vanished ones; the resolver keeps the addresses of named entries
 * current (resolve.h). */
#include <errno.h>
#include <nng/nng.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_envelope.h"
#include "rpc_internal.h"

/* The maintenance thread's tick; ejected endpoints are probed and re-dialed this often. */
#define MAINTENANCE_TICK_MS 20
#define PROBE_EVERY_MS      200
#define PROBE_TIMEOUT_MS    300
#define REDIAL_EVERY_MS     500

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
void *rpc_maintenance_main(void *arg)
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
            rpc_endpoint_dial(redial[i]);
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
                if (rpc_sockets_close(sockets, n_gone))
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
        if (!added[j] || rpc_endpoint_open(client, fresh[j], index, &ep, err, sizeof err) != RPC_OK)
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
                if (rpc_sockets_close(one, 1))
                    free(ep);
            }
        }
    }
    free(fresh);
}

void *rpc_resolver_main(void *arg)
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
