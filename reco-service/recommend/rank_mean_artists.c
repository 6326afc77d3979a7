/* RECO_RANK_MEAN_AND_ARTISTS, the default: cosine to the mean, and the songs by artists the
 * user saved first. Their songs come from the state's pool over the load-time artist index when
 * the request has one (artist_pool.h), else from the model's artist index (gathered once per
 * request), from a pass over a cluster's artist keys behind the saved-artist filter, from that
 * pass's pool, or, when the saved artists have much of the catalog, from one loop scoring every
 * row. */
#include "artist_index.h" /* artist index hook */
#include "artist_pool.h"
#include "rank.h"
#include "score.h"
#include "steer.h"

#include <string.h>

/* Mean and artists: a song by an artist the user saved scores this more than its cosine, more
 * than the whole range of a cosine, so those songs come first, each group by cosine. */
#define MEAN_ARTIST_BONUS 4.0f
/* RECO_RANK_MEAN_AND_ARTISTS reads the songs by the saved artists from the model's artist index
 * when there are at most this many per saved track (plus the slack); more (a few saved songs
 * by artists with thousands), and it tests every scanned row's artist instead. Bounds the
 * request's memory by its saved tracks, not by the catalog. */
#define ARTIST_ROWS_PER_SAVED 16u
#define ARTIST_ROWS_SLACK     4096u
/* A song read through the artist index (scattered reads) measured about eight times the cost
 * of a row in a pass over a cluster (one stream): a cluster takes the index when its songs by
 * saved artists are fewer than an eighth of its rows, and the pass otherwise. */
#define ARTIST_INDEX_COST 8u
/* In a pass over a cluster's artist keys, the rows of a block the saved-artist filter lets
 * through are copied together for their cosines when they are at most 1/this of the block;
 * more, and the block's cosines are computed in place. */
#define ARTIST_GATHER_MAX_SHARE 4u
/* When the saved artists have at least 1/this of the catalog's songs, most rows need their
 * cosine anyway, and one loop scoring every row, testing the artist only of a row that could
 * enter the heap, measured faster than testing every row's artist first. */
#define ARTIST_DENSE_SHARE 4u
/* The first pass over a state's rows for the saved artists' songs keeps every eligible one with
 * its score (at most this many; more, and none are kept), so a state that needs more candidates
 * in the same phase ranks them from that pool instead of passing over its rows again (512 KiB
 * at most). */
#define ARTIST_POOL_MAX (1u << 16)

enum reco_status gather_artist_rows(struct picking *p, size_t n_saved)
{
    const struct model *m = p->model;
    const struct saved_artists *sa = &p->saved_artists;
    uint64_t total = 0;
    for (uint32_t i = 0; i < sa->n; i++)
        total += m->artist_start[sa->list[i] + 1] - m->artist_start[sa->list[i]];
    p->artists_dense = total * ARTIST_DENSE_SHARE >= m->n_rows;
    if (p->artist_index)
        return RECO_OK; /* artist index hook: the pools read the index instead */
    if (total > (uint64_t)n_saved * ARTIST_ROWS_PER_SAVED + ARTIST_ROWS_SLACK ||
        total * ARTIST_INDEX_COST >= m->n_rows)
        return RECO_OK; /* too many to gather, or too many for the index to pay anywhere */
    enum reco_status status = RECO_ERR_NOMEM;
    p->artist_rows = reco_arena_alloc(&p->arena, total + 1, sizeof *p->artist_rows);
    p->artist_rows_start =
        reco_arena_calloc(&p->arena, (size_t)m->k + 1, sizeof *p->artist_rows_start);
    const struct reco_arena_mark mark = reco_arena_mark(&p->arena); /* the temporaries' */
    uint32_t *found = reco_arena_alloc(&p->arena, total + 1, sizeof *found);
    uint32_t *cluster = reco_arena_alloc(&p->arena, total + 1, sizeof *cluster);
    uint32_t *fill = reco_arena_alloc(&p->arena, (size_t)m->k + 1, sizeof *fill);
    if (!found || !cluster || !fill || !p->artist_rows || !p->artist_rows_start)
        goto done;
    uint32_t n = 0;
    for (uint32_t i = 0; i < sa->n; i++) {
        for (uint32_t at = m->artist_start[sa->list[i]]; at < m->artist_start[sa->list[i] + 1];
             at++) {
            uint32_t row = m->artist_rows[at];
            if (row_set_has(&p->excluded, row))
                continue;
            found[n] = row;
            cluster[n] = cluster_of_row(m, row);
            p->artist_rows_start[cluster[n] + 1]++;
            n++;
        }
    }
    for (uint32_t c = 0; c < m->k; c++)
        p->artist_rows_start[c + 1] += p->artist_rows_start[c];
    /* Counting sort by cluster; fill[c] runs from start[c] to start[c + 1]. */
    memcpy(fill, p->artist_rows_start, m->k * sizeof *fill);
    for (uint32_t i = 0; i < n; i++)
        p->artist_rows[fill[cluster[i]]++] = found[i];
    status = RECO_OK;
done:
    reco_arena_release(&p->arena, mark);
    return status;
}

/* RECO_RANK_MEAN_AND_ARTISTS, the songs by saved artists in a cluster (or in every cluster for
 * the flat ranking), artist_rows[a_first .. a_end) of those the artist index gathered: each
 * scores its cosine plus MEAN_ARTIST_BONUS into heap (capacity keep, empty). Returns how many
 * the heap holds. */
static uint32_t rank_artist_rows_indexed(const struct picking *p, uint32_t a_first, uint32_t a_end,
                                         const float *u, float inv_u, struct candidate *heap,
                                         uint32_t keep)
{
    uint32_t n = 0;
    for (uint32_t i = a_first; i < a_end; i++) {
        uint32_t row = p->artist_rows[i];
        if (p->restricted && !passes_rules(p, row))
            continue;
        float s = reco_cosine_of_row(p->model, row, u, inv_u) + MEAN_ARTIST_BONUS;
        heap_push(heap, &n, keep, (struct candidate){s, row});
    }
    return n;
}

/* The same from a pass over the rows [start, end): their artist keys are contiguous, so the
 * saved-artist filter bit of a block of rows is read without a branch, and only a row it lets
 * through has its cosine computed and its artist confirmed (the filter lets about 3% of other
 * artists through). Rows go in ascending order, so a row that only ties the heap's worst is
 * worse (by row) and is passed over. */
static uint32_t rank_artist_rows_scanned(struct picking *p, struct cluster_state *cs,
                                         uint32_t start, uint32_t end, const float *u, float inv_u,
                                         struct candidate *heap, uint32_t keep)
{
    bool pooling = cs->pool_cap > 0; /* false once the pool outgrew ARTIST_POOL_MAX */
    const struct model *m = p->model;
    const uint64_t *bits = p->saved_artists.bits;
    const uint32_t bit_mask = p->saved_artists.bit_mask;
    const uint32_t nd = m->n_dims;
    uint32_t maybe[ARTIST_BLOCK];
    float gathered[ARTIST_BLOCK * MODEL_MAX_DIMS], gathered_norms[ARTIST_BLOCK];
    float score[ARTIST_BLOCK];
    uint32_t n = 0;
    float worst = 0.0f;
    for (uint32_t first = start; first < end; first += ARTIST_BLOCK) {
        uint32_t len = end - first < ARTIST_BLOCK ? end - first : ARTIST_BLOCK;
        const uint32_t *keys = m->artist_keys + first;
        uint32_t n_maybe = 0;
        for (uint32_t i = 0; i < len; i++) {
            uint32_t key = keys[i];
            maybe[n_maybe] = first + i;
            n_maybe += (uint32_t)(bits[(key & bit_mask) >> 6] >> (key & 63u)) & 1u;
        }
        /* The cosines of the rows the filter let through: when they are few, those rows are
         * copied together so their cosines go four at a time; when they are many (a user whose
         * artists have much of the catalog), the whole block's are computed in place. The same
         * values either way: each row's arithmetic is its own. */
        const bool in_place = n_maybe * ARTIST_GATHER_MAX_SHARE > len;
        if (in_place) {
            cosines(m->rows + (size_t)first * nd, m->row_norms + first, u, inv_u, nd, len, score);
        } else {
            for (uint32_t j = 0; j < n_maybe; j++) {
                /* The loop above writes maybe[n_maybe] before each count, so maybe[0 ..
                 * n_maybe) is set; clang-analyzer does not follow the branchless count. */
                // NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign)
                const uint32_t row = maybe[j];
                memcpy(gathered + (size_t)j * nd, m->rows + (size_t)row * nd, nd * sizeof(float));
                gathered_norms[j] = m->row_norms[row];
            }
            cosines(gathered, gathered_norms, u, inv_u, nd, n_maybe, score);
        }
        for (uint32_t j = 0; j < n_maybe; j++) {
            // NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign): set, as above
            uint32_t row = maybe[j];
            float s = score[in_place ? row - first : j] + MEAN_ARTIST_BONUS;
            if (!pooling && n == keep && !(s > worst))
                continue;
            if (!saved_artists_has(&p->saved_artists, m->artist_keys[row]) ||
                !eligible_by_saved_artist(p, row))
                continue;
            if (pooling) {
                if (cs->n_pool == cs->pool_cap) {
                    uint32_t cap = cs->pool_cap * 2;
                    struct candidate *grown =
                        cap <= ARTIST_POOL_MAX
                            ? reco_arena_grow(&p->arena, cs->pool, cs->n_pool * sizeof *grown, cap,
                                              sizeof *grown)
                            : NULL;
                    if (!grown) { /* too many (or no memory): the next pass scans again */
                        cs->n_pool = 0;
                        pooling = false;
                    } else {
                        cs->pool = grown;
                        cs->pool_cap = cap;
                    }
                }
                if (pooling)
                    cs->pool[cs->n_pool++] = (struct candidate){s, row};
                if (n == keep && !(s > worst))
                    continue;
            }
            heap_push(heap, &n, keep, (struct candidate){s, row});
            worst = heap[0].score;
        }
    }
    cs->pooled = pooling;
    return n;
}

/* The same from the pool of an earlier pass in this phase (cs->pooled): the same rows, scores
 * and so the same candidates, without passing over the rows again. */
static uint32_t rank_artist_rows_pooled(const struct cluster_state *cs, struct candidate *heap,
                                        uint32_t keep)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < cs->n_pool; i++)
        heap_push(heap, &n, keep, cs->pool[i]);
    return n;
}

/* artist index hook: the songs by saved artists in rows [start, end) from the state's pool
 * (artist_pool.h), scored once per phase from the model's artist index: the same candidates and
 * scores as rank_artist_rows_scanned, written into heap best first when in_order (nothing will
 * be added: rank_rows need not sort them), else as a heap (worst first). Returns RECO_OK,
 * RECO_ERR_TOO_LARGE (more songs than a pool holds: heap untouched, the caller passes over the
 * rows instead) or RECO_ERR_NOMEM. */
static bool accept_saved_artist_row(const void *ctx, uint32_t row)
{
    return eligible_by_saved_artist(ctx, row);
}

static enum reco_status rank_from_artist_index(struct picking *p, const struct cluster_state *cs,
                                               uint32_t start, uint32_t end, const float *u,
                                               float inv_u, struct candidate *heap, uint32_t keep,
                                               bool in_order, uint32_t *n)
{
    struct artist_pool *pool = &p->artist_pools[cs->cluster];
    enum reco_status status = RECO_OK;
    if (!pool->filled)
        status = artist_pool_fill(pool, &p->arena, p->artist_index, p->saved_artists.list,
                                  p->saved_artists.n, start, end, u, inv_u, MEAN_ARTIST_BONUS,
                                  p->artist_index->max_pool_songs);
    const struct artist_candidate *best = NULL;
    if (status == RECO_OK)
        status = artist_pool_take(pool, &p->arena, keep, accept_saved_artist_row, p, &best, n);
    if (status != RECO_OK)
        return status;
    for (uint32_t i = 0; i < *n; i++) {
        uint32_t from = in_order ? i : *n - 1 - i;
        heap[i] = (struct candidate){best[from].score, best[from].row};
    }
    return RECO_OK;
}

/* RECO_RANK_MEAN_AND_ARTISTS in one loop over rows [start, end), for saved artists with much of
 * the catalog: every row's cosine (in blocks), then the artist test only for a row the bonus
 * could carry into the heap (once the heap holds only such songs, a row whose cosine plus the
 * bonus stays below its worst is passed over on its cosine alone); the filter bit from the
 * contiguous artist keys first, without a branch, and the exact test only for a row it lets
 * through. Fills heap (capacity keep, empty); returns how many it holds. */
static uint32_t rank_rows_with_artist_bonus(const struct picking *p, uint32_t start, uint32_t end,
                                            const float *u, float inv_u, struct candidate *heap,
                                            uint32_t keep)
{
    const struct model *m = p->model;
    const uint32_t nd = m->n_dims;
    const uint64_t *bits = p->saved_artists.bits;
    const uint32_t bit_mask = p->saved_artists.bit_mask;
    float block[ARTIST_BLOCK];
    uint32_t n = 0;
    float worst = 0.0f;
    for (uint32_t first = start; first < end; first += ARTIST_BLOCK) {
        uint32_t len = end - first < ARTIST_BLOCK ? end - first : ARTIST_BLOCK;
        cosines(m->rows + (size_t)first * nd, m->row_norms + first, u, inv_u, nd, len, block);
        const uint32_t *keys = m->artist_keys + first;
        for (uint32_t i = 0; i < len; i++) {
            uint32_t row = first + i;
            float s = block[i];
            if (n == keep && !(s + MEAN_ARTIST_BONUS > worst))
                continue;
            uint32_t key = keys[i];
            bool maybe = (bits[(key & bit_mask) >> 6] >> (key & 63u)) & 1u;
            if (n == keep && !maybe && !(s > worst))
                continue;
            if (maybe && saved_artists_has(&p->saved_artists, key))
                s += MEAN_ARTIST_BONUS;
            if ((n < keep || s > worst) && eligible(p, row)) {
                heap_push(heap, &n, keep, (struct candidate){s, row});
                worst = heap[0].score;
            }
        }
    }
    return n;
}

/* Cosine to the mean, and a song by a saved artist scores MEAN_ARTIST_BONUS more: more than a
 * cosine's range, so every such song ranks above every other. So first the songs by saved
 * artists alone, then, only if there are fewer than keep of them, the best of the others by
 * cosine: the same candidates, so the same result, as scoring every row with its bonus, and
 * where the user's artists have keep songs in the cluster the cosines of the others are never
 * computed. The saved artists' songs come from the model's artist index when they are few (see
 * gather_artist_rows and ARTIST_INDEX_COST), else from a pass over the cluster's contiguous
 * artist keys; when the saved artists have much of the catalog (ARTIST_DENSE_SHARE), one loop
 * scores every row with its bonus instead. With no saved artist in the catalog: rank_mean. */
enum reco_status rank_mean_and_artists(const struct rank_call *call, struct candidate *heap,
                                       uint32_t *n_out)
{
    struct picking *p = call->p;
    struct cluster_state *cs = call->cs;
    const struct model *m = p->model;
    const uint32_t nd = p->n_dims, start = call->start, end = call->end, keep = call->keep;
    const float *u = call->u;
    const bool flat = call->flat;
    if (p->saved_artists.n == 0)
        return rank_mean(call, heap, n_out);
    uint32_t n = 0;
    float un = norm_of(u, nd);
    float inv_u = un > 0 ? 1.0f / un : 0.0f;
    /* In the saved-artists phase only their songs are eligible: the filter pass, which
     * scores only the rows it lets through, is never more work than scoring every row. */
    if (p->artists_dense && !p->saved_artists_only) {
        n = rank_rows_with_artist_bonus(p, start, end, u, inv_u, heap, keep);
    } else {
        uint32_t a_first = 0, a_end = 0;
        if (p->artist_rows) {
            a_first = flat ? 0 : p->artist_rows_start[cs->cluster];
            a_end = p->artist_rows_start[flat ? m->k : cs->cluster + 1];
        }
        uint32_t indexed = p->artist_rows ? a_end - a_first : UINT32_MAX;
        /* artist index hook: the saved artists' songs from the model's index, unless they are
         * more than a pool holds (then as without the index) */
        enum reco_status from_index = RECO_ERR_TOO_LARGE;
        if (p->artist_index) {
            bool in_order = p->saved_artists_only;
            from_index =
                rank_from_artist_index(p, cs, start, end, u, inv_u, heap, keep, in_order, &n);
            if (from_index == RECO_ERR_NOMEM)
                return from_index;
            *call->in_order = in_order && from_index == RECO_OK;
        }
        if (from_index == RECO_OK) {
            /* ranked from the index */
        } else if ((uint64_t)indexed * ARTIST_INDEX_COST < end - start) {
            n = rank_artist_rows_indexed(p, a_first, a_end, u, inv_u, heap, keep);
        } else if (cs->pooled) {
            n = rank_artist_rows_pooled(cs, heap, keep);
        } else {
            if (!cs->pool) {
                cs->pool = reco_arena_alloc(&p->arena, ARTIST_BLOCK, sizeof *cs->pool);
                cs->pool_cap = cs->pool ? ARTIST_BLOCK : 0;
            }
            n = rank_artist_rows_scanned(p, cs, start, end, u, inv_u, heap, keep);
        }
        /* In the saved-artists phase nothing else is eligible: no pass for the rest. */
        if (n < keep && !p->saved_artists_only)
            n = rank_by_cosine(p, start, end, u, inv_u, heap, n, keep, true);
    }
    *n_out = n;
    return RECO_OK;
}
