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
    MODEL_DIM_GENRE,      /* component `feature` of the genre embedding (not a raw feature;
                             mean 0, std 1: the embedding is scaled by the builder) */
};

/* One dimension: scaled = (source(raw[feature]) - mean) / std * weight. A MODEL_DIM_GENRE
 * dimension instead holds genre embedding component `feature` (0, 1, ... in order, after every
 * audio dimension) times weight. */
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
    /* Raw features: value[f] is used where present has bit f. A row with present == 0 gets
     * its raw values from its scaled vector (the inverse of the audio dimensions). */
    double value[FEAT_COUNT];
    uint32_t present;
    uint32_t source;           /* < n_sources (0 when the build has one source) */
    const char *artist_genres; /* the primary artist's genre labels, "a\0b\0\0", or NULL;
                                    the first row of an artist that has some gives them */
};

/* One catalog file the model was built from (see struct model_source; the writer counts each
 * source's rows itself from model_build_row.source). */
struct model_build_source {
    const char *name, *schema;
    uint32_t n_input_rows, n_malformed, n_merged, n_collapsed, features, n_genre_rows;
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
    /* Genre embedding (n_genre_dims of the dims, last), 0 / NULL without. */
    uint32_t n_genre_dims;
    double genre_weight;
    const char *genres; /* what genre information was used, for info */
    uint32_t n_genre_rows;
    /* The catalogs: n_sources entries, or 0 / NULL for one source described by source,
     * schema and the counts above. */
    const struct model_build_source *sources;
    uint32_t n_sources;
    /* k names, unique and not empty, or NULL: the writer then names each cluster from what
     * sets its centroid apart (style_name_from_centroid). */
    const char *const *cluster_names;
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
