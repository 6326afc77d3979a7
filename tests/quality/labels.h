/* Genre labels for the quality evaluation: read from the catalog CSV a model was built from.
 * Every catalog id that resolves to a model row lends that row its genres, so a row that
 * collapsed several releases, or a track listed under several genres, carries all of them. */
#ifndef MIXTAPE_QUALITY_LABELS_H
#define MIXTAPE_QUALITY_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define LABELS_MAX_GENRES 256u /* distinct genre names a catalog may carry */
#define LABELS_MAX_ID     31u  /* bytes of a track id */
#define LABELS_MAX_LINE   65536u

enum labels_status {
    LABELS_OK = 0,
    LABELS_ERR_IO,      /* cannot open or read the file */
    LABELS_ERR_FORMAT,  /* no id or genre column, a field over a limit, too many genres */
    LABELS_ERR_NOMATCH, /* no catalog id resolves to a model row */
    LABELS_ERR_NOMEM,
};

/* "ok", "cannot read the catalog", ...; never NULL. */
const char *labels_strerror(enum labels_status status);

/* A set of genres, one bit per genre index. */
struct genre_set {
    uint64_t bits[LABELS_MAX_GENRES / 64];
};

static inline int genre_set_has(const struct genre_set *set, uint32_t genre)
{
    return (int)((set->bits[genre / 64] >> (genre % 64)) & 1u);
}

static inline void genre_set_add(struct genre_set *set, uint32_t genre)
{
    set->bits[genre / 64] |= (uint64_t)1 << (genre % 64);
}

/* The labels of one catalog for one model. Owned by the caller; free with labels_free. */
struct labels {
    uint32_t n_genres;
    char **genre_names;           /* n_genres, in order of first appearance */
    uint32_t n_rows;              /* the model's n_rows */
    struct genre_set *row_genres; /* n_rows: union of the genres of every id resolving there */
    uint32_t n_ids;               /* distinct catalog ids that resolve to a row */
    char (*ids)[LABELS_MAX_ID + 1];
    uint32_t *id_row;         /* n_ids: the model row of each id */
    uint32_t **genre_pool;    /* n_genres arrays of id indices listed under that genre */
    uint32_t *genre_pool_len; /* n_genres */
    uint32_t unresolved;      /* distinct catalog ids the model does not know */
};

/* Reads the catalog CSV (plain or gzip) at path. The id column is `track_id` or `id`; the genre
 * column is genre_column when non-NULL, else the first of `track_genre`, `genre`,
 * `playlist_genre`, `search_genre` that the header has. Resolves ids with model_find_id.
 * On LABELS_OK fills *out; otherwise writes a one-line reason (file, line, field, limit) into
 * err and leaves *out empty. Blocks on I/O. */
enum labels_status labels_read(const char *path, const char *genre_column,
                               const struct model *model, struct labels *out, char *err,
                               size_t err_len);

/* Frees what labels_read allocated. A zeroed struct is ignored. */
void labels_free(struct labels *labels);

/* Splits one CSV line (RFC 4180 quoting, no embedded newlines) in place: writes up to
 * max_fields pointers into fields[] (NUL-terminated, quotes removed) and returns how many
 * fields the line has, which may exceed max_fields (the rest are not stored). A trailing
 * '\n' or "\r\n" is dropped. */
size_t labels_split_csv(char *line, char **fields, size_t max_fields);

#endif
