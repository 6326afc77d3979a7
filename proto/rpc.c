/* The RPC client (rpc.h): one nng req0 socket with a dialer per endpoint. Each call opens its
 * own nng context, so any number of threads share the client. req0 hands each request to the
 * next ready connection (round-robin across instances); when a connection drops with a request
 * outstanding, req0 resends it at once on another connection, and a request that gets no
 * answer within the resend interval is sent again (to the next instance). An UNAVAILABLE reply
 * is retried here on a fresh context, which req0 gives to the next instance, while the
 * caller's deadline allows. */
#include "rpc.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rpc_envelope.h"
#include "xalloc.h"

#define MAX_ENDPOINTS 64u
#define MAX_ENDPOINT  512u
/* Resend a request that has had no answer for this long (bounded by the caller's deadline):
 * long enough that a busy instance is not asked twice, short enough to survive a hung one. */
#define RESEND_MIN_MS 500
#define RESEND_MAX_MS 1000
/* Pause before retrying after an UNAVAILABLE reply. */
#define RETRY_PAUSE_MS 5
/* nng 1.5.2 can deadlock in nng_close (nng issue #1813, fixed in 1.8): closing gets this long,
 * then the socket is left to its stuck thread. */
#define CLOSE_TIMEOUT_MS 2000

struct rpc_client {
    nng_socket socket;
    size_t n_endpoints;
    char *endpoints; /* the list as given, for messages */
    atomic_int connected;
    atomic_int calls; /* in progress, so close can wait for them to leave */
    atomic_uint_fast64_t next_id;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pipe_event(nng_pipe pipe, nng_pipe_ev event, void *arg)
{
    struct rpc_client *client = arg;
    if (event == NNG_PIPE_EV_ADD_POST)
        atomic_fetch_add(&client->connected, 1);
    else if (event == NNG_PIPE_EV_REM_POST)
        atomic_fetch_sub(&client->connected, 1);
}

static uint64_t first_request_id(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Distinct per client process in the logs; the low bits count calls. */
    return (((uint64_t)getpid() << 40) ^ ((uint64_t)ts.tv_nsec << 20)) & 0x7fffffffffffffffull;
}

enum rpc_code rpc_client_open(struct rpc_client **out, const char *endpoints, char *err,
                              size_t err_len)
{
    enum rpc_code code = RPC_INVALID_ARGUMENT;
    struct rpc_client *client = NULL;
    char *list = NULL;
    bool socket_open = false;
    int rv;

    if (!endpoints || endpoints[0] == '\0') {
        snprintf(err, err_len, "endpoints: empty (give one or more NNG URLs, comma-separated)");
        goto done;
    }
    client = calloc(1, sizeof *client);
    list = strdup(endpoints);
    if (!client || !list) {
        snprintf(err, err_len, "out of memory");
        code = RPC_INTERNAL;
        goto done;
    }
    rv = nng_req0_open(&client->socket);
    if (rv != 0) {
        snprintf(err, err_len, "cannot open an nng req socket: %s", nng_strerror(rv));
        code = RPC_INTERNAL;
        goto done;
    }
    socket_open = true;
    nng_socket_set_size(client->socket, NNG_OPT_RECVMAXSZ, RPC_MAX_MESSAGE_BYTES);
    nng_socket_set_ms(client->socket, NNG_OPT_RECONNMINT, 20);
    nng_socket_set_ms(client->socket, NNG_OPT_RECONNMAXT, 500);
    nng_pipe_notify(client->socket, NNG_PIPE_EV_ADD_POST, pipe_event, client);
    nng_pipe_notify(client->socket, NNG_PIPE_EV_REM_POST, pipe_event, client);

    char *save = NULL;
    for (char *url = strtok_r(list, ",", &save); url; url = strtok_r(NULL, ",", &save)) {
        while (*url == ' ')
            url++;
        size_t len = strlen(url);
        while (len > 0 && url[len - 1] == ' ')
            url[--len] = '\0';
        if (len == 0)
            continue;
        if (len > MAX_ENDPOINT || client->n_endpoints == MAX_ENDPOINTS) {
            snprintf(err, err_len, "endpoints: at most %u URLs of at most %u bytes each",
                     MAX_ENDPOINTS, MAX_ENDPOINT);
            goto done;
        }
        rv = nng_dial(client->socket, url, NULL, NNG_FLAG_NONBLOCK);
        if (rv != 0) {
            snprintf(err, err_len, "endpoint '%.*s': %s", (int)(len > 200 ? 200 : len), url,
                     nng_strerror(rv));
            goto done;
        }
        client->n_endpoints++;
    }
    if (client->n_endpoints == 0) {
        snprintf(err, err_len, "endpoints: no URL in '%s'", endpoints);
        goto done;
    }
    free(list);
    list = NULL;
    client->endpoints = strdup(endpoints);
    if (!client->endpoints) {
        snprintf(err, err_len, "out of memory");
        code = RPC_INTERNAL;
        goto done;
    }
    atomic_init(&client->next_id, first_request_id());
    *out = client;
    client = NULL;
    code = RPC_OK;
done:
    if (client) {
        if (socket_open)
            nng_close(client->socket);
        free(client->endpoints);
        free(client);
    }
    free(list);
    return code;
}

struct closing {
    struct rpc_client *client;
    atomic_bool done;
};

static void *close_socket(void *arg)
{
    struct closing *closing = arg;
    nng_close(closing->client->socket); /* calls waiting on it end with NNG_ECLOSED */
    atomic_store(&closing->done, true);
    return NULL;
}

void rpc_client_close(struct rpc_client *client)
{
    if (!client)
        return;
    struct closing *closing = malloc(sizeof *closing);
    pthread_t thread;
    if (closing) {
        closing->client = client;
        atomic_init(&closing->done, false);
    }
    if (!closing || pthread_create(&thread, NULL, close_socket, closing) != 0) {
        free(closing);
        nng_close(client->socket);
    } else {
        for (int waited = 0; !atomic_load(&closing->done) && waited < CLOSE_TIMEOUT_MS; waited++)
            nng_msleep(1);
        if (!atomic_load(&closing->done)) {
            /* Stuck inside nng: the client stays allocated (its pipe callbacks may still run)
             * and reachable from the closing thread. */
            pthread_detach(thread);
            return;
        }
        pthread_join(thread, NULL);
        free(closing);
    }
    while (atomic_load(&client->calls) > 0)
        nng_msleep(1);
    free(client->endpoints);
    free(client);
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

/* One attempt on a fresh context: sends the envelope and waits for the reply until
 * deadline. Returns 0 with *reply_msg, or the nng error. */
static int exchange(struct rpc_client *client, const uint8_t *envelope, size_t envelope_len,
                    int64_t remaining_ms, nng_msg **reply_msg)
{
    nng_ctx ctx;
    nng_aio *aio = NULL;
    nng_msg *msg = NULL;
    int rv = nng_ctx_open(&ctx, client->socket);
    if (rv != 0)
        return rv;
    int64_t resend = remaining_ms / 3;
    if (resend < RESEND_MIN_MS)
        resend = RESEND_MIN_MS;
    if (resend > RESEND_MAX_MS)
        resend = RESEND_MAX_MS;
    nng_ctx_set_ms(ctx, NNG_OPT_REQ_RESENDTIME, (nng_duration)resend);
    rv = nng_aio_alloc(&aio, NULL, NULL);
    if (rv != 0)
        goto done;
    rv = nng_msg_alloc(&msg, 0);
    if (rv != 0)
        goto done;
    rv = nng_msg_append(msg, envelope, envelope_len);
    if (rv != 0)
        goto done;
    int64_t deadline = now_ms() + remaining_ms;
    nng_aio_set_timeout(aio, (nng_duration)remaining_ms);
    nng_aio_set_msg(aio, msg);
    nng_ctx_send(ctx, aio);
    nng_aio_wait(aio);
    rv = nng_aio_result(aio);
    if (rv != 0)
        goto done; /* the message is still ours */
    msg = NULL;
    int64_t left = deadline - now_ms();
    if (left <= 0) {
        rv = NNG_ETIMEDOUT;
        goto done;
    }
    nng_aio_set_timeout(aio, (nng_duration)left);
    nng_ctx_recv(ctx, aio);
    nng_aio_wait(aio);
    rv = nng_aio_result(aio);
    if (rv == 0)
        *reply_msg = nng_aio_get_msg(aio);
done:
    if (msg)
        nng_msg_free(msg);
    if (aio)
        nng_aio_free(aio);
    nng_ctx_close(ctx);
    return rv;
}

/* Reads one reply envelope (and frees reply_msg) into *code, *explanation (the previous one
 * freed) and, on OK, *reply. Returns true when the call should be retried elsewhere (the
 * instance answered UNAVAILABLE and time remains), false when the call is over. */
static bool take_reply(nng_msg *reply_msg, const char *method, uint64_t id, int64_t deadline,
                       enum rpc_code *code, char **explanation, uint8_t **reply, size_t *reply_len)
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
        return false;
    }
    if (decoded.request_id != id && !(decoded.request_id == 0 && decoded.code != RPC_OK)) {
        *code = RPC_INTERNAL;
        *explanation =
            message_printf("%s: reply for request %llu, expected %llu", method,
                           (unsigned long long)decoded.request_id, (unsigned long long)id);
        rpc_reply_clear(&decoded);
        return false;
    }
    *code = decoded.code;
    *explanation = decoded.message;
    decoded.message = NULL;
    bool retry = decoded.code == RPC_UNAVAILABLE && deadline - now_ms() > RETRY_PAUSE_MS;
    if (retry) {
        /* That instance cannot serve (draining, no model): ask another. */
        nng_msleep(RETRY_PAUSE_MS);
    } else if (decoded.code == RPC_OK) {
        *reply = decoded.payload;
        *reply_len = decoded.payload_len;
        decoded.payload = NULL;
    }
    rpc_reply_clear(&decoded);
    return retry;
}

enum rpc_code rpc_call(struct rpc_client *client, const char *method, const uint8_t *request,
                       size_t request_len, uint32_t timeout_ms, uint8_t **reply, size_t *reply_len,
                       char **message, uint64_t *request_id)
{
    enum rpc_code code = RPC_INTERNAL;
    char *explanation = NULL;
    uint8_t *envelope = NULL;
    size_t envelope_len = 0;
    uint64_t id = atomic_fetch_add(&client->next_id, 1);
    int64_t deadline = now_ms() + timeout_ms;
    int attempts = 0;

    if (request_id)
        *request_id = id;
    atomic_fetch_add(&client->calls, 1);
    for (;;) {
        int64_t remaining = deadline - now_ms();
        if (remaining <= 0) {
            code = RPC_DEADLINE_EXCEEDED;
            free(explanation);
            explanation = message_printf("%s: no answer within %u ms from %s (%d attempts)", method,
                                         timeout_ms, client->endpoints, attempts);
            break;
        }
        free(envelope);
        envelope = NULL;
        if (rpc_request_encode(id, method, (uint32_t)remaining, request, request_len, &envelope,
                               &envelope_len) != 0) {
            code = RPC_INVALID_ARGUMENT;
            free(explanation);
            explanation = message_printf("method: must be 1..%u bytes", RPC_MAX_METHOD);
            break;
        }
        if (envelope_len > RPC_MAX_MESSAGE_BYTES) {
            code = RPC_RESOURCE_EXHAUSTED;
            free(explanation);
            explanation = message_printf("request: %zu bytes exceeds the limit of %u bytes",
                                         envelope_len, RPC_MAX_MESSAGE_BYTES);
            break;
        }
        attempts++;
        nng_msg *reply_msg = NULL;
        int rv = exchange(client, envelope, envelope_len, remaining, &reply_msg);
        if (rv == NNG_ETIMEDOUT) {
            if (atomic_load(&client->connected) == 0) {
                code = RPC_UNAVAILABLE;
                free(explanation);
                explanation = message_printf("%s: no instance reachable at %s within %u ms", method,
                                             client->endpoints, timeout_ms);
            } else {
                code = RPC_DEADLINE_EXCEEDED;
                free(explanation);
                explanation = message_printf("%s: no answer within %u ms from %s", method,
                                             timeout_ms, client->endpoints);
            }
            break;
        }
        if (rv == NNG_ECLOSED) {
            code = RPC_UNAVAILABLE;
            free(explanation);
            explanation = message_printf("%s: client closed", method);
            break;
        }
        if (rv != 0) {
            /* A transport failure on this attempt: try again while time remains. */
            free(explanation);
            explanation = message_printf("%s: %s", method, nng_strerror(rv));
            code = RPC_UNAVAILABLE;
            nng_msleep(RETRY_PAUSE_MS);
            continue;
        }
        if (take_reply(reply_msg, method, id, deadline, &code, &explanation, reply, reply_len))
            continue;
        break;
    }
    free(envelope);
    if (message)
        *message = explanation;
    else
        free(explanation);
    atomic_fetch_sub(&client->calls, 1);
    return code;
}
