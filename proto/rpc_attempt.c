/* One attempt of an RPC call (rpc_internal.h): a fresh context on the chosen endpoint's socket,
 * the send and the wait for the answer, abandoned when slow (to be resent elsewhere within the
 * retry budget) or cancelled when the connection is lost. */
#include <errno.h>
#include <nng/nng.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "rpc_internal.h"

/* --- one attempt ---------------------------------------------------------------------------- */

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
    rpc_endpoint_failed(client, ep);
    bool abandon = rpc_other_usable(client, ep) && retry_budget_take(&client->budget, now_ms());
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
            rpc_endpoint_failed(client, ep);
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
enum outcome rpc_attempt_run(struct rpc_client *client, struct endpoint *ep,
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
