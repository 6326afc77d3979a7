/* Private to the model reader: the typed views model_open keeps beside the public struct, and
 * model_validate, which checks a whole file image and fills both (model_validate.c). */
#ifndef MIXTAPE_MODEL_VALIDATE_H
#define MIXTAPE_MODEL_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "model_format.h"

/* What model_open keeps beside the public struct: typed views of the sections. */
struct model_tables {
    struct model_params params;
    const struct mf_dim *dims;
    const struct mf_row *rows;
    const char *strings;
    uint64_t strings_len;
    const struct mf_slot *slots[4]; /* id, isrc, song, artist */
    uint64_t n_slots[4];
    const float *raw;              /* n_rows x MF_RAW_STRIDE */
    const uint32_t *cluster_names; /* k string offsets */
    const uint32_t *artist_genres; /* n_artists string offsets */
    struct model_source *sources;  /* n_sources, decoded (owned) */
};

struct model_handle {
    struct model pub; /* first, so a struct model * is a struct model_handle * */
    struct model_tables tables;
};
/* Checks every byte the service will read in the file image base[0, size) (header, section
 * table, checksum, then each section's offsets, counts, indexes, strings and hash tables) and on
 * success fills h->pub's fields and h->tables as views into base (which must outlive h) plus
 * h->tables.sources (owned: the caller frees it, also after a failure). Returns MODEL_OK, or
 * the status with a one-line reason naming path in err. Reentrant; does not block. */
enum model_status model_validate(struct model_handle *h, const unsigned char *base, size_t size,
                                 const char *path, char *err, size_t err_len);

#endif
