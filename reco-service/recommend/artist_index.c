/* The per-model artist index (artist_index.h): the scaled rows copied in the order of the
 * model's artist index, once per opened model, and the sub-range of one artist's run that falls
 * in a range of rows. */
#include "artist_index.h"

#include "artist_pool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* An allocation the kernel may back with 2 MiB pages: the requests read about a thousand runs
 * scattered over the copy, and with 4 KiB pages most of them cost a TLB miss too. */
static void *alloc_huge(size_t bytes)
{
    const size_t huge = (size_t)2 << 20;
    size_t rounded = (bytes + huge - 1) / huge * huge;
    void *p = aligned_alloc(huge, rounded);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, rounded, MADV_HUGEPAGE); /* a hint: without it, 4 KiB pages */
#endif
    return p;
}

enum reco_status reco_artist_index_open(const struct model *model, struct reco_artist_index **out)
{
    *out = NULL;
    const size_t n_rows = model->n_rows, nd = model->n_dims;
    struct reco_artist_index *index = calloc(1, sizeof *index);
    if (!index)
        return RECO_ERR_NOMEM;
    index->model = model;
    index->n_dims = model->n_dims;
    index->max_pool_songs = ARTIST_POOL_MAX_SONGS;
    index->vecs = alloc_huge((n_rows * nd + 1) * sizeof *index->vecs);
    index->norms = malloc((n_rows + 1) * sizeof *index->norms);
    if (!index->vecs || !index->norms) {
        reco_artist_index_close(index);
        return RECO_ERR_NOMEM;
    }
    for (size_t i = 0; i < n_rows; i++) {
        uint32_t row = model->artist_rows[i];
        memcpy(index->vecs + i * nd, model->rows + (size_t)row * nd, nd * sizeof *index->vecs);
        index->norms[i] = model->row_norms[row];
    }
    *out = index;
    return RECO_OK;
}

void reco_artist_index_close(struct reco_artist_index *index)
{
    if (!index)
        return;
    free(index->vecs);
    free(index->norms);
    free(index);
}

/* The first position in [lo, hi) of artist_rows whose row is at least row. */
static uint32_t lower_bound(const uint32_t *rows, uint32_t lo, uint32_t hi, uint32_t row)
{
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (rows[mid] < row)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void reco_artist_index_range(const struct reco_artist_index *index, uint32_t artist, uint32_t start,
                             uint32_t end, uint32_t *first, uint32_t *last)
{
    const struct model *m = index->model;
    uint32_t lo = m->artist_start[artist], hi = m->artist_start[artist + 1];
    if (start > 0)
        lo = lower_bound(m->artist_rows, lo, hi, start);
    if (end < m->n_rows)
        hi = lower_bound(m->artist_rows, lo, hi, end);
    *first = lo;
    *last = hi;
}
