/* Writing a model file from in-memory build results: used by `reco-model build`, and by tests
 * anywhere in the project that need a small model made in code (fill a struct model_build,
 * call model_write, then model_open the file). */
#ifndef MIXTAPE_MODEL_BUILD_H
#define MIXTAPE_MODEL_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Limits the writer enforces (the reader refuses anything larger too). */
#define MODEL_MAX_K       4096u
#define MODEL_MAX_ARTISTS 32u

/* How a dimension is computed from its raw feature value. */
enum model_dim_kind {
    MODEL_DIM_LINEAR = 0, /* the value itself */
    MODEL_DIM_SIN,        /* sin(2 pi value / 12): key on the circle */
    MODEL_DIM_COS,        /* cos(2 pi value / 12) */
};

/* One dimension: scaled = (source(raw[feature]) - mean) / std * weight. */
struct model_build_dim {
    enum model_feature feature;
    enum model_dim_kind kind;
    double mean, std, weight; /* std > 0, weight > 0 */
};

/* One canonical song. Strings may be NULL (stored as ""); the caller owns them. */
struct model_build_row {
    const char *id;
    const char *name;
    const char *genre;
    const char *isrc;
    const char *const *artists; /* primary first */
    uint32_t n_artists;         /* at most MODEL_MAX_ARTISTS are kept */
    uint16_t year;              /* 0 = unknown */
    uint8_t popularity;         /* 0..100, 255 = unknown */
    uint32_t duration_ms;
    uint32_t cluster; /* < k */
};

/* One more id (and optionally ISRC) resolving to a row: a duplicate release. */
struct model_build_alias {
    const char *id;
    const char *isrc; /* may be NULL */
    uint32_t row;     /* index into rows[] as given */
};

struct model_build {
    uint32_t n_rows, n_dims, k;
    struct model_build_dim dims[MODEL_MAX_DIMS];
    const float *centroids;             /* k x n_dims */
    const float *scaled;                /* n_rows x n_dims, in the order of rows[] */
    const struct model_build_row *rows; /* n_rows; the writer groups them by cluster */
    const struct model_build_alias *aliases;
    uint32_t n_aliases;
    uint64_t seed, built_unix;
    const char *source;   /* catalog file name */
    const char *schema;   /* detected schema name */
    const char *k_choice; /* "fixed" or the reason --k auto gave */
    uint32_t restarts, iterations, tolerance_ms;
    uint32_t n_input_rows, n_malformed, n_collapsed;
    double inertia, binary_weight;
};

/* Writes the model to path (through path.tmp and a rename, so a reader never sees half a
 * file). Rows are reordered so each cluster is one contiguous block; within a cluster they
 * keep their given order. The first row or alias that names an id or ISRC wins it.
 * Returns MODEL_OK, or an error with a one-line reason in err. Blocks on I/O. */
enum model_status model_write(const struct model_build *build, const char *path, char *err,
                              size_t err_len);

/* The content checksum of a model file (a 64-bit, non-cryptographic hash over bytes
 * [64, file_len)). Exposed so the fuzz target can re-seal mutated files and reach the
 * structural checks behind the checksum. */
uint64_t model_checksum(const void *bytes, size_t len);

/* Offset of the checksum and file length inside the header, for the same purpose. */
#define MODEL_HEADER_FILE_LEN_OFFSET 24u
#define MODEL_HEADER_CHECKSUM_OFFSET 32u
#define MODEL_HEADER_LEN             64u

#endif
