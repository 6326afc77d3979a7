/* Encoding and decoding the RPC envelopes (rpc.proto) with their limits: see rpc_envelope.h. */
#include "rpc_envelope.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc.pb-c.h"
#include "errbuf.h"
#include "xalloc.h"

/* enum rpc_code (rpc.h) is rpc.proto's Code, number for number: envelopes carry it as is. */
_Static_assert((int)RPC_OK == (int)MIXTAPE__RPC__CODE__OK, "Code OK");
_Static_assert((int)RPC_INVALID_ARGUMENT == (int)MIXTAPE__RPC__CODE__INVALID_ARGUMENT,
               "Code INVALID_ARGUMENT");
_Static_assert((int)RPC_DEADLINE_EXCEEDED == (int)MIXTAPE__RPC__CODE__DEADLINE_EXCEEDED,
               "Code DEADLINE_EXCEEDED");
_Static_assert((int)RPC_NOT_FOUND == (int)MIXTAPE__RPC__CODE__NOT_FOUND, "Code NOT_FOUND");
_Static_assert((int)RPC_RESOURCE_EXHAUSTED == (int)MIXTAPE__RPC__CODE__RESOURCE_EXHAUSTED,
               "Code RESOURCE_EXHAUSTED");
_Static_assert((int)RPC_FAILED_PRECONDITION == (int)MIXTAPE__RPC__CODE__FAILED_PRECONDITION,
               "Code FAILED_PRECONDITION");
_Static_assert((int)RPC_UNIMPLEMENTED == (int)MIXTAPE__RPC__CODE__UNIMPLEMENTED,
               "Code UNIMPLEMENTED");
_Static_assert((int)RPC_INTERNAL == (int)MIXTAPE__RPC__CODE__INTERNAL, "Code INTERNAL");
_Static_assert((int)RPC_UNAVAILABLE == (int)MIXTAPE__RPC__CODE__UNAVAILABLE, "Code UNAVAILABLE");

const char *rpc_code_name(enum rpc_code code)
{
    switch (code) {
    case RPC_OK:
        return "OK";
    case RPC_INVALID_ARGUMENT:
        return "INVALID_ARGUMENT";
    case RPC_DEADLINE_EXCEEDED:
        return "DEADLINE_EXCEEDED";
    case RPC_NOT_FOUND:
        return "NOT_FOUND";
    case RPC_RESOURCE_EXHAUSTED:
        return "RESOURCE_EXHAUSTED";
    case RPC_FAILED_PRECONDITION:
        return "FAILED_PRECONDITION";
    case RPC_UNIMPLEMENTED:
        return "UNIMPLEMENTED";
    case RPC_INTERNAL:
        return "INTERNAL";
    case RPC_UNAVAILABLE:
        return "UNAVAILABLE";
    }
    return "UNKNOWN";
}

static bool known_code(int code)
{
    return strcmp(rpc_code_name((enum rpc_code)code), "UNKNOWN") != 0;
}

enum rpc_code rpc_request_decode(const uint8_t *bytes, size_t len, size_t max_bytes,
                                 struct rpc_request *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (len > max_bytes) {
        errbuf_set(err, err_len, "message: %zu bytes exceeds the limit of %zu bytes", len,
                   max_bytes);
        return RPC_RESOURCE_EXHAUSTED;
    }
    Mixtape__Rpc__Request *msg = mixtape__rpc__request__unpack(NULL, len, bytes);
    if (!msg) {
        errbuf_set(
            err, err_len,
            "request envelope: %zu bytes are not a mixtape.rpc.Request (protobuf decode failed)",
            len);
        return RPC_INVALID_ARGUMENT;
    }
    size_t method_len = strlen(msg->method);
    if (method_len == 0 || method_len > RPC_MAX_METHOD) {
        errbuf_set(err, err_len, "method: %zu bytes, must be 1..%u", method_len, RPC_MAX_METHOD);
        mixtape__rpc__request__free_unpacked(msg, NULL);
        return RPC_INVALID_ARGUMENT;
    }
    out->request_id = msg->request_id;
    out->method = msg->method;
    out->timeout_ms = msg->timeout_ms;
    out->sent_unix_us = msg->has_sent_unix_us ? msg->sent_unix_us : 0;
    if (msg->has_payload) {
        out->payload = msg->payload.data;
        out->payload_len = msg->payload.len;
    }
    out->decoded = msg;
    return RPC_OK;
}

void rpc_request_free(struct rpc_request *request)
{
    if (request->decoded)
        mixtape__rpc__request__free_unpacked(request->decoded, NULL);
    memset(request, 0, sizeof *request);
}

int rpc_request_encode(uint64_t request_id, const char *method, uint32_t timeout_ms,
                       const uint8_t *payload, size_t payload_len, uint8_t **out, size_t *out_len)
{
    if (!method || method[0] == '\0' || strlen(method) > RPC_MAX_METHOD)
        return -1;
    Mixtape__Rpc__Request msg = MIXTAPE__RPC__REQUEST__INIT;
    msg.request_id = request_id;
    msg.method = (char *)(uintptr_t)method;
    msg.timeout_ms = timeout_ms;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    msg.has_sent_unix_us = 1;
    msg.sent_unix_us = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
    if (payload_len > 0) {
        msg.has_payload = 1;
        msg.payload.data = (uint8_t *)(uintptr_t)payload;
        msg.payload.len = payload_len;
    }
    size_t size = mixtape__rpc__request__get_packed_size(&msg);
    uint8_t *bytes = xmalloc(size);
    mixtape__rpc__request__pack(&msg, bytes);
    *out = bytes;
    *out_len = size;
    return 0;
}

enum rpc_code rpc_reply_decode(const uint8_t *bytes, size_t len, size_t max_bytes,
                               struct rpc_reply *out, char *err, size_t err_len)
{
    if (len > max_bytes) {
        errbuf_set(err, err_len, "reply: %zu bytes exceeds the limit of %zu bytes", len, max_bytes);
        return RPC_RESOURCE_EXHAUSTED;
    }
    Mixtape__Rpc__Reply *msg = mixtape__rpc__reply__unpack(NULL, len, bytes);
    if (!msg) {
        errbuf_set(err, err_len,
                   "reply envelope: %zu bytes are not a mixtape.rpc.Reply (protobuf decode failed)",
                   len);
        return RPC_INTERNAL;
    }
    struct rpc_reply reply = {.request_id = msg->request_id, .code = (enum rpc_code)msg->code};
    if (!known_code((int)msg->code)) {
        reply.code = RPC_INTERNAL;
        size_t n = 96 + (msg->message ? strlen(msg->message) : 0);
        reply.message = xmalloc(n);
        snprintf(reply.message, n, "unknown status code %d: %s", (int)msg->code,
                 msg->message ? msg->message : "");
    } else if (msg->message) {
        reply.message = xstrdup(msg->message);
    }
    if (msg->has_payload && msg->payload.len > 0) {
        reply.payload = xmalloc(msg->payload.len);
        memcpy(reply.payload, msg->payload.data, msg->payload.len);
        reply.payload_len = msg->payload.len;
    }
    mixtape__rpc__reply__free_unpacked(msg, NULL);
    *out = reply;
    return RPC_OK;
}

void rpc_reply_clear(struct rpc_reply *reply)
{
    free(reply->message);
    free(reply->payload);
    memset(reply, 0, sizeof *reply);
}

uint8_t *rpc_reply_encode(uint64_t request_id, enum rpc_code code, const char *message,
                          const uint8_t *payload, size_t payload_len, size_t *out_len)
{
    Mixtape__Rpc__Reply msg = MIXTAPE__RPC__REPLY__INIT;
    msg.request_id = request_id;
    msg.code = (Mixtape__Rpc__Code)code;
    msg.message = (char *)(uintptr_t)message;
    if (payload_len > 0) {
        msg.has_payload = 1;
        msg.payload.data = (uint8_t *)(uintptr_t)payload;
        msg.payload.len = payload_len;
    }
    size_t size = mixtape__rpc__reply__get_packed_size(&msg);
    uint8_t *bytes = xmalloc(size);
    mixtape__rpc__reply__pack(&msg, bytes);
    *out_len = size;
    return bytes;
}
