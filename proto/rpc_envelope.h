/* The envelopes every mixtape RPC travels in (mixtape.rpc.Request and Reply in rpc.proto):
 * encoding and decoding them with the limits both sides enforce on untrusted bytes. Used by the
 * client (rpc.c) and by servers (reco-service/server.c). Pure functions, thread-safe. */
#ifndef MIXTAPE_RPC_ENVELOPE_H
#define MIXTAPE_RPC_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

/* Longest method name accepted, in bytes. */
#define RPC_MAX_METHOD 64u

/* A decoded Request. payload points into the decoded message; everything stays valid until
 * rpc_request_free. */
struct rpc_request {
    uint64_t request_id;
    const char *method;
    uint32_t timeout_ms;
    uint64_t sent_unix_us; /* the sender's wall clock when sent; 0: not stamped */
    const uint8_t *payload;
    size_t payload_len;
    void *decoded; /* private: the protobuf-c message */
};

/* Decodes a Request of len bytes. Messages over max_bytes are refused before decoding with
 * RPC_RESOURCE_EXHAUSTED; bytes that are not a Request, an empty method or one longer than
 * RPC_MAX_METHOD give RPC_INVALID_ARGUMENT. On RPC_OK fills *out (free with rpc_request_free);
 * otherwise writes a one-line reason naming the field and the limit into err and leaves *out
 * empty (request_id 0). */
enum rpc_code rpc_request_decode(const uint8_t *bytes, size_t len, size_t max_bytes,
                                 struct rpc_request *out, char *err, size_t err_len);

/* Frees what rpc_request_decode allocated and empties *request. Safe on an empty request. */
void rpc_request_free(struct rpc_request *request);

/* Encodes a Request stamped with the wall clock now (sent_unix_us). Returns 0 with *out (malloc'd, caller frees) and *out_len, or -1 on an
 * invalid method (NULL, empty or over RPC_MAX_METHOD). Aborts on out of memory. */
int rpc_request_encode(uint64_t request_id, const char *method, uint32_t timeout_ms,
                       const uint8_t *payload, size_t payload_len, uint8_t **out, size_t *out_len);

/* A decoded Reply. message and payload are malloc'd copies (NULL when absent), freed by
 * rpc_reply_clear. */
struct rpc_reply {
    uint64_t request_id;
    enum rpc_code code;
    char *message;
    uint8_t *payload;
    size_t payload_len;
};

/* Decodes a Reply of len bytes (refused over max_bytes with RPC_RESOURCE_EXHAUSTED). A code
 * this build does not know becomes RPC_INTERNAL with the number in the message. On RPC_OK
 * (meaning: the envelope decoded, whatever its code) fills *out; otherwise writes a reason into
 * err and leaves *out untouched. */
enum rpc_code rpc_reply_decode(const uint8_t *bytes, size_t len, size_t max_bytes,
                               struct rpc_reply *out, char *err, size_t err_len);

/* Frees what rpc_reply_decode allocated and empties *reply. */
void rpc_reply_clear(struct rpc_reply *reply);

/* Encodes a Reply (message may be NULL; payload may be NULL with payload_len 0). Returns the
 * malloc'd bytes (caller frees) and *out_len. Aborts on out of memory. */
uint8_t *rpc_reply_encode(uint64_t request_id, enum rpc_code code, const char *message,
                          const uint8_t *payload, size_t payload_len, size_t *out_len);

#endif
