/* RECO_RANK_NEIGHBOUR_VOTES and RECO_RANK_VOTES_AND_ARTISTS: rows the user's tracks in the
 * cluster name among their nearest neighbours, by votes, the songs by saved artists first for
 * the second. */
#include "rank.h"
#include "score.h"
#include "steer.h"

#include <stdlib.h>
#include <string.h>

/* Neighbour votes: each of at most VOTE_MAX_ANCHORS of the user's tracks in a cluster (an even
 * sample) names its VOTE_NEIGHBOURS nearest unsaved rows there; where the ranking asks for it, a
 * song by an artist the user saved gets VOTE_ARTIST_BONUS, more than any vote count, so those
 * songs come first (see rank_by_votes). */
#define VOTE_MAX_ANCHORS  256u
#define VOTE_NEIGHBOURS   10u
#define VOTE_ARTIST_BONUS ((float)VOTE_MAX_ANCHORS + 1.0f)

/* One row an anchor names among its nearest neighbours. */
struct vote {
    uint32_t row;
    float distance2;
};

static int by_vote_row(const void *a, const void *b)
{
    const struct vote *x = a, *y = b;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return (x->distance2 > y->distance2) - (x->distance2 < y->distance2);
}

static int same_vote_row(const void *a, const void *b)
{
    const struct vote *x = a, *y = b;
    return (x->row > y->row) - (x->row < y->row);
}

/* Counts the votes of named[0 .. n_named) (sorted here) into merged, the unnamed rows of the
 * pass's heap (n of them) after them by their own score, and puts the best `keep` of all into
 * heap, best first. Returns how many it holds. */
static uint32_t count_votes(const struct picking *p, struct vote *named, size_t n_named,
                            bool artists, struct candidate *heap, uint32_t n, uint32_t keep,
                            struct candidate *merged)
{
    /* Count the votes: sorted by row, each run is one named row, its nearest voter first. */
    qsort(named, n_named, sizeof *named, by_vote_row);
    uint32_t n_merged = 0;
    for (size_t i = 0; i < n_named && named[i].row != MODEL_NO_ROW;) {
        size_t j = i;
        while (j < n_named && named[j].row == named[i].row)
            j++;
        float s = (float)(j - i) + 1.0f / (1.0f + sqrtf(named[i].distance2));
        if (artists && by_saved_artist(p, named[i].row))
            s += VOTE_ARTIST_BONUS;
        merged[n_merged++] = (struct candidate){s, named[i].row};
        i = j;
    }
    /* The unnamed rows the pass kept follow by their own score. */
    for (uint32_t i = 0; i < n; i++) {
        struct vote probe = {heap[i].row, 0};
        if (!bsearch(&probe, named, n_named, sizeof *named, same_vote_row))
            merged[n_merged++] = heap[i];
    }
    qsort(merged, n_merged, sizeof *merged, by_rank);
    n = n_merged < keep ? n_merged : keep;
    memcpy(heap, merged, n * sizeof *heap);
    return n;
}

/* RECO_RANK_NEIGHBOUR_VOTES and RECO_RANK_VOTES_AND_ARTISTS inside one cluster: each anchor (an
 * even sample of at most VOTE_MAX_ANCHORS of the user's tracks in the cluster) names its
 * VOTE_NEIGHBOURS nearest unsaved rows of the cluster (squared Euclidean, scaled space). A named
 * row scores its votes + 1 / (1 + distance to its nearest voter); any other row
 * 1 / (1 + distance to its nearest anchor), so rows several of the user's tracks agree on come
 * first. With artists, a row by the primary artist of a saved song scores VOTE_ARTIST_BONUS
 * more: songs by saved artists first, each group in vote order. One pass over the cluster;
 * memory is proportional to the anchors and keep. Fills heap
 * (capacity keep) and *n_out. */
static enum reco_status rank_by_votes(struct picking *p, const struct cluster_state *cs,
                                      uint32_t start, uint32_t end, uint32_t keep, bool artists,
                                      struct candidate *heap, uint32_t *n_out)
{
    const struct model *m = p->model;
    const uint32_t nd = p->n_dims;
    const uint32_t n_anchors = cs->saved < VOTE_MAX_ANCHORS ? cs->saved : VOTE_MAX_ANCHORS;
    const size_t n_named = (size_t)n_anchors * VOTE_NEIGHBOURS;
    enum reco_status status = RECO_ERR_NOMEM;
    /* Anchors stored dimension-major ([d][a], padded to a multiple of 16), so one row's squared
     * distances to sixteen anchors are computed at once in four independent sums, each summed
     * over d in the same order as a plain loop would (the results are the same floats). */
    const uint32_t padded = (n_anchors + 15u) & ~15u;
    const struct reco_arena_mark mark = reco_arena_mark(&p->arena);
    float *anchors = reco_arena_calloc(&p->arena, (size_t)padded * nd + 1, sizeof *anchors);
    float *row_d2 = reco_arena_alloc(&p->arena, (size_t)padded + 1, sizeof *row_d2);
    struct vote *named = reco_arena_alloc(&p->arena, n_named + 1, sizeof *named);
    struct candidate *merged = reco_arena_alloc(&p->arena, n_named + keep + 1, sizeof *merged);
    uint32_t n = 0;
    if (!anchors || !row_d2 || !named || !merged)
        goto done;
    for (uint32_t a = 0; a < n_anchors; a++) {
        const struct resolved *r =
            &p->resolved[cs->first + (uint32_t)(((uint64_t)a * cs->saved) / n_anchors)];
        for (uint32_t d = 0; d < nd; d++)
            anchors[(size_t)d * padded + a] = r->vec[d];
    }
    /* named[a * VOTE_NEIGHBOURS ...] holds anchor a's nearest rows, nearest first. */
    for (size_t i = 0; i < n_named; i++)
        named[i] = (struct vote){MODEL_NO_ROW, INFINITY};
    for (uint32_t row = start; row < end; row++) {
        if (!eligible(p, row))
            continue;
        const float *v = m->rows + (size_t)row * nd;
        for (uint32_t a = 0; a < padded; a += 16) {
            v4f s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0;
            for (uint32_t d = 0; d < nd; d++) {
                const float *x = anchors + (size_t)d * padded + a;
                v4f here = {v[d], v[d], v[d], v[d]};
                v4f d0 = here - load4(x), d1 = here - load4(x + 4);
                v4f d2 = here - load4(x + 8), d3 = here - load4(x + 12);
                s0 += d0 * d0;
                s1 += d1 * d1;
                s2 += d2 * d2;
                s3 += d3 * d3;
            }
            memcpy(row_d2 + a, &s0, sizeof s0);
            memcpy(row_d2 + a + 4, &s1, sizeof s1);
            memcpy(row_d2 + a + 8, &s2, sizeof s2);
            memcpy(row_d2 + a + 12, &s3, sizeof s3);
        }
        float nearest = INFINITY;
        for (uint32_t a = 0; a < n_anchors; a++) {
            float d2 = row_d2[a];
            if (d2 < nearest)
                nearest = d2;
            struct vote *list = named + (size_t)a * VOTE_NEIGHBOURS;
            if (!(d2 < list[VOTE_NEIGHBOURS - 1].distance2))
                continue;
            uint32_t at = VOTE_NEIGHBOURS - 1;
            while (at > 0 && d2 < list[at - 1].distance2) {
                list[at] = list[at - 1];
                at--;
            }
            list[at] = (struct vote){row, d2};
        }
        float s = 1.0f / (1.0f + sqrtf(nearest));
        if (artists && by_saved_artist(p, row))
            s += VOTE_ARTIST_BONUS;
        if ((n < keep || s > heap[0].score) && eligible(p, row))
            heap_push(heap, &n, keep, (struct candidate){s, row});
    }
    n = count_votes(p, named, n_named, artists, heap, n, keep, merged);
    status = RECO_OK;
done:
    *n_out = n;
    reco_arena_release(&p->arena, mark);
    return status;
}

enum reco_status rank_neighbour_votes(const struct rank_call *call, struct candidate *heap,
                                      uint32_t *n)
{
    return rank_by_votes(call->p, call->cs, call->start, call->end, call->keep, false, heap, n);
}

enum reco_status rank_votes_and_artists(const struct rank_call *call, struct candidate *heap,
                                        uint32_t *n)
{
    return rank_by_votes(call->p, call->cs, call->start, call->end, call->keep, true, heap, n);
}
