/* Test models written in code: the last step every recommendation test shares (provenance,
 * write to /tmp, open), so a test builds only its rows and clusters. */
#ifndef MIXTAPE_RECOMMEND_FIXTURE_MODEL_H
#define MIXTAPE_RECOMMEND_FIXTURE_MODEL_H

#include "model_build.h"

/* Finishes a test model's build (seed, provenance, tolerance, binary weight), writes it under
 * /tmp and opens it; the file is removed at once (the mapping stays). NULL, with the reason on
 * stderr, when either step fails. The caller closes the model with model_close. */
struct model *open_test_model(struct model_build *b, const char *name);

#endif
