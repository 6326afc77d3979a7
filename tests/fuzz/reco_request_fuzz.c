/* Fuzz target for everything reco-service does with a request's bytes: the envelope decode
 * with its size limit, then the method's payload decode with its limits, and for Recommend the
 * whole recommendation on a small model (written once, at the first input). Every Recommend
 * payload, and every input taken as one, is also decoded by protobuf-c's unpacker and the
 * hand-written decoder must agree with it (request_decode_reference.h), or the run aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handlers.h"
#include "request_decode_reference.h"
#include "model.h"
#include "rpc_envelope.h"
#include "test_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_MESSAGE (1u << 20)

static struct model *model;

static void close_model(void)
{
    model_close(model);
}

static void open_model(void)
{
    char path[64], err[256];
    snprintf(path, sizeof path, "/tmp/reco_request_fuzz_%d.model", (int)getpid());
    if (test_model_write(path, 300, 5, 3) != 0 || model_open(path, &model, err, sizeof err) != 0) {
        fprintf(stderr, "reco_request_fuzz: cannot make the model: %s\n", err);
        abort();
    }
    unlink(path); /* the mapping stays */
    atexit(close_model);
}

/* Small limits, so the checks on them are reached too. */
static const struct handler_limits limits = {.max_saved = 64, .max_n = 40};

static void check_decoders_agree(const uint8_t *payload, size_t len)
{
    char why[1024];
    if (!request_decode_agrees(payload, len, &limits, why, sizeof why)) {
        fprintf(stderr, "reco_request_fuzz: the decoders disagree on %zu bytes: %s\n", len, why);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!model)
        open_model();
    check_decoders_agree(data, size);
    struct rpc_request req;
    char err[512];
    if (rpc_request_decode(data, size, FUZZ_MAX_MESSAGE, &req, err, sizeof err) != RPC_OK)
        return 0;
    if (strcmp(req.method, "Recommend") == 0)
        check_decoders_agree(req.payload, req.payload_len);
    static const struct handler_state state = {.serving = true};
    struct handler_outcome out;
    handle_method(req.method, req.payload, req.payload_len, model, &limits, &state, &out);
    if (out.code != RPC_OK && out.message[0] == '\0')
        abort(); /* every refusal must say why */
    size_t len = 0;
    free(rpc_reply_encode(req.request_id, out.code, out.message, out.payload, out.payload_len,
                          &len));
    free(out.payload);
    rpc_request_free(&req);
    return 0;
}
