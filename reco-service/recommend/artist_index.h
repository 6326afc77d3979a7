/* The model's songs grouped by primary artist, with their scaled vectors and norms copied in
 * that order: built once when a model is opened, so the songs by a set of artists (the
 * saved-artists rule of the default ranking) are read as one contiguous run per artist instead
 * of a pass over every row's artist key and scattered reads of the rows that match. */
#ifndef MIXTAPE_ARTIST_INDEX_H
#define MIXTAPE_ARTIST_INDEX_H

#include <stdint.h>

#include "model.h"
#include "recommend.h"

/* Position i holds row model->artist_rows[i] (the model's own artist index: grouped by artist,
 * ascending rows within an artist, so also grouped by cluster). Immutable once built: any number
 * of threads may read it at once. */
struct reco_artist_index {
    const struct model *model; /* the model it was built from; must outlive the index */
    uint32_t n_dims;
    float *vecs;  /* model->n_rows * n_dims: the scaled vector of row artist_rows[i] at i */
    float *norms; /* model->n_rows: its norm (model->row_norms) */
    /* The most songs by saved artists a request scores from the index for one state (beyond,
     * it passes over the state's rows as without it): ARTIST_POOL_MAX_SONGS (artist_pool.h),
     * which bounds a request's memory; tests lower it. */
    uint32_t max_pool_songs;
};

/* Builds the index of an open model (one pass copying every scaled row: about 17 MB and a few
 * milliseconds for the 180k-song merged catalog). Returns RECO_OK with *out (free with
 * reco_artist_index_close), or RECO_ERR_NOMEM and leaves *out NULL. Blocks only on memory. */
enum reco_status reco_artist_index_open(const struct model *model, struct reco_artist_index **out);

/* Frees the index. NULL is ignored. */
void reco_artist_index_close(struct reco_artist_index *index);

/* The positions [*first, *last) in the index (and in model->artist_rows) of artist's songs
 * whose rows lie in [start, end) (a cluster's rows, or 0..n_rows): a sub-range of the artist's
 * run, found by binary search on its ascending rows. artist < model->n_artists. */
void reco_artist_index_range(const struct reco_artist_index *index, uint32_t artist, uint32_t start,
                             uint32_t end, uint32_t *first, uint32_t *last);

#endif
