/* Scaling into the model's feature space: which features a model uses (the requested ones the
 * catalog has), how each becomes dimensions (linear, or key as sin / cos on the circle; a
 * weight for the binary explicit and mode), and the standardised float matrix of the
 * canonical tracks. */
#ifndef MIXTAPE_SCALE_H
#define MIXTAPE_SCALE_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "model_build.h"

#define SCALE_ALL_FEATURES ((1u << FEAT_COUNT) - 1u)

enum scale_status {
    SCALE_OK = 0,
    SCALE_ERR_INVALID,    /* a feature list names no or an unknown feature */
    SCALE_ERR_NO_FEATURE, /* the catalog has none of the requested features (or only constant) */
    SCALE_ERR_NOMEM,
};

/* "ok", "unknown feature", ...; never NULL. */
const char *scale_strerror(enum scale_status status);

struct scale_options {
    uint32_t requested;   /* bit (1u << feature); 0 means all 15 */
    bool key_circle;      /* key as sin and cos of 2 pi key / 12 */
    double binary_weight; /* weight of explicit and mode (0 means 1) */
};

/* The result: dims[] and a row-major n_rows x n_dims matrix of the canonical tracks, in
 * catalog order (rows[i] is the catalog index of matrix row i). Free with scale_free. */
struct scale {
    struct model_build_dim dims[MODEL_MAX_DIMS];
    uint32_t n_dims;
    uint32_t used;    /* features in use, bit (1u << feature) */
    uint32_t dropped; /* requested but missing from the catalog or constant in it */
    float *matrix;
    uint32_t *rows;
    uint32_t n_rows;
};

/* Parses "valence,energy,..." (or "all") into a feature mask. Returns SCALE_OK, or
 * SCALE_ERR_INVALID with err naming the unknown feature. */
enum scale_status scale_parse_features(const char *list, uint32_t *mask, char *err, size_t err_len);

/* Computes means and standard deviations over the canonical tracks (a missing value counts as
 * the mean) and the scaled matrix. Returns SCALE_OK (free *out with scale_free), or an error
 * with a reason in err. */
enum scale_status scale_build(const struct catalog *catalog, const struct scale_options *options,
                              struct scale *out, char *err, size_t err_len);

void scale_free(struct scale *features);

#endif
