/* Test models written in code (fixture_model.h): provenance, write to /tmp, open, unlink. */
#include "fixture_model.h"

#include <stdio.h>
#include <unistd.h>

struct model *open_test_model(struct model_build *b, const char *name)
{
    b->seed = 1;
    b->built_unix = 1700000000;
    b->source = name;
    b->schema = "test";
    b->k_choice = "fixed";
    b->tolerance_ms = 5000;
    b->binary_weight = 1.0;
    char path[256], err[256];
    snprintf(path, sizeof path, "/tmp/%s_%d.model", name, (int)getpid());
    struct model *m = NULL;
    if (model_write(b, path, err, sizeof err) != MODEL_OK ||
        model_open(path, &m, err, sizeof err) != MODEL_OK) {
        fprintf(stderr, "test model %s: %s\n", name, err);
        m = NULL;
    }
    unlink(path);
    return m;
}
