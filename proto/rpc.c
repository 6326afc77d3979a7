/* The RPC client (rpc.h): open (the endpoint list, the background threads), close, status, and
 * rpc_call, which runs attempts (rpc_attempt.c) on endpoints it picks (rpc_endpoints.c) and
 * retries elsewhere within the deadline and the retry budget. How it all works: rpc_internal.h. */
#include "rpc.h"

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rpc_envelope.h"
#include "rpc_internal.h"
#include "xalloc.h"

/* Pause before retrying after an UNAVAILABLE reply or a lost connection. */
#define RETRY_PAUSE_MS 5
/* Waiting for any endpoint to be connected: re-check this often. */
#define NO_ENDPOINT_POLL_MS 5
/* The retry budget: a fifth of the calls, at least 10 retries a second, at most 100 saved. */
#define BUDGET_RATIO     0.2
#define BUDGET_MIN_PER_S 10.0
#define BUDGET_CAP       100.0

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
            code = rpc_endpoint_open(client, url, (int)client->n_entries, &ep, err, err_len);
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
        if (!rpc_sockets_close(sockets, client->n_ep))
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
            pthread_create(&client->maintenance, NULL, rpc_maintenance_main, client) != 0) {
            snprintf(err, err_len, "out of memory or threads");
            code = RPC_INTERNAL;
        } else {
            maintenance = true;
        }
    }
    if (code == RPC_OK && client->has_names &&
        pthread_create(&client->resolver, NULL, rpc_resolver_main, client) != 0) {
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
        status->endpoints = rpc_live_endpoints(client, &status->ejected);
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
            rpc_endpoint_failed(client, ep);
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
        rpc_endpoint_failed(client, ep);
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
            rpc_endpoint_failed(client, ep);
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
        struct endpoint *ep = stopping ? NULL : rpc_endpoint_pick(client, avoid);
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
        enum outcome outcome = rpc_attempt_run(client, ep, envelope, envelope_len,
                                               sent + attempt_ms, cs.deadline, &reply_msg, &slow);
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
