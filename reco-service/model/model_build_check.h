/* Private to the model writer: the check of a struct model_build that model_write runs before
 * building anything (model_build_check.c). */
#ifndef MIXTAPE_MODEL_BUILD_CHECK_H
#define MIXTAPE_MODEL_BUILD_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "model_build.h"

/* Returns true when b can be written; otherwise false with a one-line reason naming the field
 * and its limit in err ("model_write: k 0 outside 1..min(4096, n_rows 3)"). Reentrant. */
bool model_build_check(const struct model_build *b, char *err, size_t err_len);

#endif
