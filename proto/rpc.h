/* The RPC layer between mixtape's services: a gRPC-like call (method, request id, deadline,
 * status and message) carried in protobuf envelopes (rpc.proto) over NNG req/rep.
 * The client spreads calls across a list of endpoints (a name stands for every address it
 * resolves to, looked up again periodically), keeps each endpoint's health (ejection, probes,
 * readmission) and retries on another instance when one fails, hangs or goes away, within
 * the caller's deadline and a retry budget. */
#ifndef MIXTAPE_RPC_H
#define MIXTAPE_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

/* The status of a call, with gRPC's numbers (same as mixtape.rpc.Code). */
enum rpc_code {
    RPC_OK = 0,
    RPC_INVALID_ARGUMENT = 3,
    RPC_DEADLINE_EXCEEDED = 4,
    RPC_NOT_FOUND = 5,
    RPC_RESOURCE_EXHAUSTED = 8,
    RPC_FAILED_PRECONDITION = 9,
    RPC_UNIMPLEMENTED = 12,
    RPC_INTERNAL = 13,
    RPC_UNAVAILABLE = 14,
};

/* "OK", "INVALID_ARGUMENT", ...; never NULL. */
const char *rpc_code_name(enum rpc_code code);

/* Largest envelope either side accepts, in bytes. Larger messages are refused unread. */
#define RPC_MAX_MESSAGE_BYTES (16u * 1024u * 1024u)

/* A client bound to one or more endpoints. Opaque; thread-safe: any number of threads may
 * call through one client at once. */
struct rpc_client;

/* Settings of a client; zero means the default. */
struct rpc_client_options {
    unsigned resolve_interval_s; /* names are resolved again this often (default 10, max 3600) */
};

#define RPC_RESOLVE_INTERVAL_DEFAULT 10u
#define RPC_RESOLVE_INTERVAL_MAX     3600u

/* Parses a comma-separated list of NNG URLs ("tcp://127.0.0.1:7100,ipc:///tmp/r.sock"), opens a
 * connection to each (dialing continues in the background, so an instance that is not up yet is
 * picked up when it comes). An entry "tcp://NAME:PORT" whose host is a name stands for every
 * address NAME resolves to: a resolver thread looks it up at once and then every
 * resolve_interval_s, adds new addresses and drops vanished ones once their calls in flight
 * have finished. Returns RPC_OK and *out, or RPC_INVALID_ARGUMENT with a reason in
 * err (NUL-terminated, at most err_len bytes). Free with rpc_client_close. Does not block on the
 * network. options may be NULL (defaults). */
enum rpc_code rpc_client_open_with(struct rpc_client **out, const char *endpoints,
                                   const struct rpc_client_options *options, char *err,
                                   size_t err_len);

/* rpc_client_open_with with the default options. */
enum rpc_code rpc_client_open(struct rpc_client **out, const char *endpoints, char *err,
                              size_t err_len);

/* One endpoint as the client sees it, for /metrics and `reco-cli health`. */
struct rpc_endpoint_status {
    char url[512];
    const char *state; /* "active", "ejected", "connecting" (no connection yet), "removed" */
    bool connected;
    unsigned in_flight, consecutive_failures;
    uint64_t calls, failures, timeouts, ejections, readmissions, probes;
};

/* The client as a whole. */
struct rpc_client_status {
    uint32_t attempt_timeout_ms;       /* what an attempt with time to spare gets now */
    uint32_t p99_us;                   /* observed p99 of answered calls (0: too few yet) */
    uint64_t retries, retries_refused; /* retries the budget granted / refused */
    unsigned endpoints, ejected;
    char resolve_error[256]; /* the last failed name lookup, "" when the last one worked */
};

/* Copies up to max endpoints' status into out (a snapshot) and returns how many endpoints
 * there are; fills *status when non-NULL. Thread-safe, does not block on the network. */
size_t rpc_client_endpoints(struct rpc_client *client, struct rpc_endpoint_status *out, size_t max,
                            struct rpc_client_status *status);

/* Closes every connection; calls in flight end with RPC_UNAVAILABLE. NULL is ignored. Blocks
 * until they have returned, at most about 2 s (nng 1.5.2 can hang closing a socket; then the
 * socket is left behind rather than the caller). */
void rpc_client_close(struct rpc_client *client);

/* One call. Sends `method` with `request` (request_len bytes, may be 0) and waits at most
 * timeout_ms in total. A transport failure, an UNAVAILABLE reply or an instance that goes away
 * is retried on another endpoint while time remains; an attempt that has had no answer within
 * the per-attempt timeout (a multiple of the observed p99) is abandoned and resent to another
 * endpoint when the retry budget allows (otherwise it is waited for). Blocks the calling
 * thread.
 * Returns the reply's code. On RPC_OK, *reply and *reply_len hold the payload (caller frees
 * with free(); may be NULL when the payload is empty). On any code, if message is non-NULL,
 * *message is a malloc'd human-readable explanation (caller frees) or NULL.
 * request_id, if non-NULL, receives the id that was sent (for the caller's logs). */
enum rpc_code rpc_call(struct rpc_client *client, const char *method, const uint8_t *request,
                       size_t request_len, uint32_t timeout_ms, uint8_t **reply, size_t *reply_len,
                       char **message, uint64_t *request_id);

#endif
