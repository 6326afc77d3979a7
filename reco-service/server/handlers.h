/* The RPC methods of reco-service (Recommend, Info, Health; reco.proto): decode the request
 * payload with its limits, compute, encode the reply payload. No I/O and no global state, so
 * the server's workers call it concurrently and the fuzz target calls the decoder alone. */
#ifndef MIXTAPE_HANDLERS_H
#define MIXTAPE_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "recommend.h"
#include "rpc.h"

/* Limits on one request, set by the service's options (each at most recommend.h's). */
struct handler_limits {
    uint32_t max_saved; /* saved tracks per Recommend (--max-saved) */
    uint32_t max_n;     /* playlist length (--max-n) */
};

/* A decoded RecommendRequest, ready for recommend(). saved[] and its strings live in one
 * allocation (request_decode.h); free everything with recommend_call_free. */
struct recommend_call {
    struct reco_saved *saved;
    size_t n_saved;
    struct reco_options options;
    void *memory; /* private: saved[] and its strings */
};

/* Decodes a RecommendRequest payload and checks it against limits. Returns RPC_OK with *call,
 * or RPC_INVALID_ARGUMENT (not a RecommendRequest as protobuf-c 1.4 would read one; n outside
 * 1..max_n; max_per_artist 0; a negative ranking; a feature value that is not finite; larger
 * rankings are checked by recommend()) or RPC_RESOURCE_EXHAUSTED (a well-formed request with
 * more than max_saved tracks) with a one-line reason naming the field and the limit in err,
 * leaving *call empty. Artists past RECO_MAX_ARTISTS per track are dropped; features with
 * names the model does not know are ignored. */
enum rpc_code recommend_call_decode(const uint8_t *payload, size_t len,
                                    const struct handler_limits *limits,
                                    struct recommend_call *call, char *err, size_t err_len);

void recommend_call_free(struct recommend_call *call);

/* What the service knows besides the model: for Health, and the model's load-time artist
 * index for Recommend (NULL: recommend() without one, the same answers, slower). */
struct handler_state {
    bool serving;
    uint64_t uptime_ms;
    uint64_t requests;
    const struct reco_artist_index *artist_index; /* built on the same model, or NULL */
};

/* The answer to one method call: a code, a message for a human (empty on OK) and the reply
 * payload (malloc'd, caller frees; NULL when empty). saved counts the saved tracks of a
 * Recommend, for the log line. */
struct handler_outcome {
    enum rpc_code code;
    char message[512];
    uint8_t *payload;
    size_t payload_len;
    uint32_t saved;
    bool has_stats;          /* a Recommend that ran: stats is how its saved tracks matched */
    struct reco_stats stats; /* (for the service's metrics) */
};

/* Runs one method on the model. Unknown methods give RPC_UNIMPLEMENTED. Thread-safe; the
 * model must stay open until it returns. */
void handle_method(const char *method, const uint8_t *payload, size_t len,
                   const struct model *model, const struct handler_limits *limits,
                   const struct handler_state *state, struct handler_outcome *out);

#endif
