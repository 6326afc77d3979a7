/* For tests and the fuzz target only: the RecommendRequest decode as handlers.c did it before
 * request_decode.c, through protobuf-c's generic unpacker, and a comparison of two decodes, so
 * the hand-written decoder can be checked against protobuf-c on any bytes. */
#ifndef MIXTAPE_REQUEST_DECODE_REFERENCE_H
#define MIXTAPE_REQUEST_DECODE_REFERENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handlers.h"

/* recommend_call_decode's contract, computed with mixtape__reco__recommend_request__unpack.
 * On RPC_OK *call must be freed with reference_call_free (not recommend_call_free). */
enum rpc_code reference_call_decode(const uint8_t *payload, size_t len,
                                    const struct handler_limits *limits,
                                    struct recommend_call *call, char *err, size_t err_len);

void reference_call_free(struct recommend_call *call);

/* Decodes payload both ways and compares the codes, the refusal messages and, when both
 * accept, every decoded field (strings as C strings, doubles bit for bit). Returns true when
 * they agree; otherwise writes what differs into why. */
bool request_decode_agrees(const uint8_t *payload, size_t len, const struct handler_limits *limits,
                           char *why, size_t why_len);

#endif
