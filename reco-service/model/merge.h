/* Several catalogs into one: loads each file (its own schema), puts their tracks together in
 * file order, and makes one song of the tracks that are the same across and within files (the
 * same id, the same ISRC, or the same normalised title and primary artist with durations
 * within the tolerance). A song takes each feature, its genre label and its artist genres from
 * the first of its tracks that has them; a feature none of its tracks has stays absent (the
 * scaler imputes the catalog mean, the model marks it absent). */
#ifndef MIXTAPE_MERGE_H
#define MIXTAPE_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "model.h"

enum merge_status {
    MERGE_OK = 0,
    MERGE_ERR_CATALOG, /* a file could not be loaded (the message names it and why) */
    MERGE_ERR_INVALID, /* no file, or more than MODEL_MAX_SOURCES */
    MERGE_ERR_LIMIT,   /* more than CATALOG_MAX_ROWS tracks together */
    MERGE_ERR_NOMEM,
};

/* "ok", ...; never NULL. */
const char *merge_strerror(enum merge_status status);

/* What happened to one file. */
struct merge_source {
    const char *path;
    const char *schema;
    uint32_t available;      /* features its schema carries */
    uint64_t n_records;      /* data records read */
    uint32_t n_malformed;    /* skipped as malformed */
    uint32_t n_tracks;       /* distinct ids it contributed (ids of earlier files left out) */
    uint32_t n_songs;        /* songs it brought first (canonical tracks) */
    uint32_t n_repeated_ids; /* rows whose id came earlier in the same file */
    uint32_t n_collapsed;    /* its tracks collapsed onto a song of the same file */
    uint32_t n_merged;       /* its tracks (and repeated ids) that joined an earlier file's song */
    uint32_t n_merged_id;    /* ... of those by id */
    uint32_t n_merged_isrc;  /* ... by ISRC */
    uint32_t n_filled;       /* feature values it gave to an earlier file's song */
};

/* The merged catalog. all is a struct catalog over every file's tracks (strings owned by the
 * per-file catalogs): canonical indexes across files, available the union of the schemas,
 * n_collapsed every track that is not canonical. source_of[i] is track i's file. */
struct merged {
    struct catalog all;
    uint32_t *source_of;
    struct merge_source sources[MODEL_MAX_SOURCES];
    uint32_t n_sources;
    struct catalog *files[MODEL_MAX_SOURCES];
};

/* Loads and merges n paths (1..MODEL_MAX_SOURCES) with tolerance_ms for the same-song rule.
 * Malformed rows are skipped and reported per file in files[i]->reports. On MERGE_OK fills
 * *out (free with merge_free); otherwise a one-line reason in err and *out is left empty.
 * Blocks on I/O. */
enum merge_status merge_load(const char *const *paths, uint32_t n, uint32_t tolerance_ms,
                             struct merged *out, char *err, size_t err_len);

/* The same over catalogs already loaded (ownership passes to out, even on error). */
enum merge_status merge_catalogs(struct catalog **catalogs, const char *const *paths, uint32_t n,
                                 uint32_t tolerance_ms, struct merged *out, char *err,
                                 size_t err_len);

void merge_free(struct merged *merged);

#endif
