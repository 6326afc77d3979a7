/* `reco-model synth`: the deterministic synthetic catalog (synth.c) written to --out, with its
 * progress on a terminal. */
#include <inttypes.h>
#include <stdio.h>

#include "log.h"
#include "reco_model.h"
#include "synth.h"

static void on_synth(void *ctx, uint64_t done, uint64_t total)
{
    (void)ctx;
    reco_model_progress("synth: %" PRIu64 " / %" PRIu64 " rows", done, total);
}

int reco_model_synth(const struct reco_model_opts *o)
{
    char err[512];
    if (!o->out || o->rows <= 0) {
        fprintf(stderr, "reco-model synth: --rows and --out are required\n");
        return 2;
    }
    double t0 = reco_model_now();
    enum synth_status status =
        synth_write(o->out, (uint64_t)o->rows, (uint64_t)o->seed,
                    reco_model_progress_on ? on_synth : NULL, NULL, err, sizeof err);
    reco_model_progress_done();
    if (status != SYNTH_OK) {
        fprintf(stderr, "reco-model synth: %s\n", err);
        return 1;
    }
    log_info("synth_written", "out=%s rows=%lld seed=%lld seconds=%.3f", o->out, o->rows, o->seed,
             reco_model_now() - t0);
    return 0;
}