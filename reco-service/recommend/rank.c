/* Ranking one state (rank.h): which ranking it gets (the flat state and clusters without saved
 * tracks get the mean ones), the user's point in it (mood targets applied), the discovery
 * ranking in the new-artists phase, and the ranking's candidates sorted best first. */
#include "rank.h"

#include "score.h"

#include <stdlib.h> /* qsort */
#include <string.h>

/* The rankings by enum reco_ranking. RECO_RANK_DEFAULT and RECO_RANK_FLAT never reach a state
 * (recommend() turns them into the ranking they stand for); they point at that ranking. */
static rank_fn *const RANKINGS[] = {
    [RECO_RANK_DEFAULT] = rank_mean_and_artists,
    [RECO_RANK_MEAN_COSINE] = rank_mean,
    [RECO_RANK_CENTROID_COSINE] = rank_centroid,
    [RECO_RANK_NEAREST_NEIGHBOURS] = rank_neighbours,
    [RECO_RANK_NEIGHBOUR_VOTES] = rank_neighbour_votes,
    [RECO_RANK_VOTES_AND_ARTISTS] = rank_votes_and_artists,
    [RECO_RANK_MEAN_AND_ARTISTS] = rank_mean_and_artists,
    [RECO_RANK_FLAT] = rank_mean_and_artists,
};

/* Clusters without saved tracks (the fall-back) are scored against the mean of everything the
 * user saved. */
enum reco_status rank_rows(struct picking *p, struct cluster_state *cs, uint32_t start,
                           uint32_t end, uint32_t keep)
{
    const struct model *m = p->model;
    const uint32_t nd = p->n_dims;
    if (keep > end - start)
        keep = end - start;
    if (!cs->heap || cs->heap_cap < (keep ? keep : 1)) {
        /* A ranking starts from an empty heap: nothing to copy from a smaller one. */
        cs->heap = reco_arena_alloc(&p->arena, keep ? keep : 1, sizeof *cs->heap);
        cs->heap_cap = cs->heap ? (keep ? keep : 1) : 0;
        if (!cs->heap)
            return RECO_ERR_NOMEM;
    }
    struct candidate *heap = cs->heap;
    cs->ranked = heap;
    uint32_t n = 0;
    bool in_order = false; /* artist index hook: heap[0 .. n) is already best first */
    float *u = p->scratch;
    const bool flat = cs->cluster == m->k;
    enum reco_ranking ranking = cs->saved > 0 ? p->ranking : RECO_RANK_MEAN_COSINE;
    if (flat)
        /* The flat ranking: one pass over the whole catalog against the mean of everything
         * the user saved, with the saved artists first where the ranking has them. */
        ranking = ranking == RECO_RANK_VOTES_AND_ARTISTS || ranking == RECO_RANK_MEAN_AND_ARTISTS
                      ? RECO_RANK_MEAN_AND_ARTISTS
                      : RECO_RANK_MEAN_COSINE;
    /* The flat state's mean, mean_of(p, 0, n_resolved), is global_mean: computed once. */
    if (cs->saved > 0 && !(flat && cs->first == 0 && cs->saved == p->n_resolved))
        mean_of(p, cs->first, cs->saved, u);
    else
        memcpy(u, p->global_mean, nd * sizeof *u);
    if (p->window_scale > 0.0f) {
        /* Mood targets: the user's taste with each targeted feature at its target, so the
         * songs in the window come by how like the user's they are in everything else. */
        for (uint32_t t = 0; t < p->n_windows; t++)
            if (p->windows[t].dim < nd)
                u[p->windows[t].dim] = p->windows[t].scaled;
    }
    if (p->new_artists_only) {
        /* The discovery phase: songs by the saved artists passed over. */
        n = rank_discovery(p, start, end, u, heap, keep);
    } else if (keep > 0) {
        const struct rank_call call = {.p = p,
                                       .cs = cs,
                                       .start = start,
                                       .end = end,
                                       .keep = keep,
                                       .u = u,
                                       .flat = flat,
                                       .in_order = &in_order};
        enum reco_status st = RANKINGS[ranking](&call, heap, &n);
        if (st != RECO_OK)
            return st;
    }
    if (!in_order)
        qsort(heap, n, sizeof *heap, by_rank);
    cs->n_ranked = n;
    cs->kept = keep;
    cs->cursor = 0;
    cs->complete = keep == end - start || n < keep; /* every eligible row is in */
    return RECO_OK;
}
