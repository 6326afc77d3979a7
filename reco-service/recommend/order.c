/* The playlist's order and explanation (step 5): each cluster's picks by score, spread evenly
 * through the list, and for each pick the saved track it is closest to. */
#include "picking.h"

#include "score.h"

#include <stdlib.h> /* qsort */

/* Each pick's closest saved track (cosine) among those in its cluster, or among all. */
void explain(struct picking *p, const struct cluster_state *states)
{
    const struct model *m = p->model;
    for (uint32_t i = 0; i < p->n_picks; i++) {
        struct reco_pick *pick = &p->picks[i];
        const struct cluster_state *cs = &states[pick->cluster];
        uint32_t first = cs->saved ? cs->first : 0;
        uint32_t count = cs->saved ? cs->saved : p->n_resolved;
        const float *v = m->rows + (size_t)pick->row * p->n_dims;
        float best = -3.0f;
        int32_t because = -1;
        for (uint32_t j = first; j < first + count; j++) {
            float s = dot(v, p->resolved[j].vec, p->n_dims) * p->resolved[j].inv_norm;
            if (s > best) {
                best = s;
                because = (int32_t)p->resolved[j].index;
            }
        }
        pick->because = because;
    }
}

/* Playlist order: each cluster's picks by score, spread evenly through the list. */
struct placed {
    double position;
    uint32_t cluster_size;
    struct reco_pick pick;
};

static int by_cluster_then_rank(const void *a, const void *b)
{
    const struct reco_pick *x = a, *y = b;
    if (x->cluster != y->cluster)
        return x->cluster < y->cluster ? -1 : 1;
    struct candidate cx = {x->score, x->row}, cy = {y->score, y->row};
    return by_rank(&cx, &cy);
}

static int by_position(const void *a, const void *b)
{
    const struct placed *x = a, *y = b;
    if (x->position != y->position)
        return x->position < y->position ? -1 : 1;
    if (x->cluster_size != y->cluster_size)
        return x->cluster_size > y->cluster_size ? -1 : 1;
    return x->pick.cluster < y->pick.cluster ? -1 : (x->pick.cluster > y->pick.cluster);
}

enum reco_status interleave(struct picking *p)
{
    qsort(p->picks, p->n_picks, sizeof *p->picks, by_cluster_then_rank);
    struct placed *placed = reco_arena_alloc(&p->arena, p->n_picks + 1, sizeof *placed);
    if (!placed)
        return RECO_ERR_NOMEM;
    for (uint32_t i = 0; i < p->n_picks;) {
        uint32_t j = i;
        while (j < p->n_picks && p->picks[j].cluster == p->picks[i].cluster)
            j++;
        for (uint32_t t = i; t < j; t++)
            placed[t] = (struct placed){.position = ((double)(t - i) + 0.5) / (double)(j - i),
                                        .cluster_size = j - i,
                                        .pick = p->picks[t]};
        i = j;
    }
    qsort(placed, p->n_picks, sizeof *placed, by_position);
    for (uint32_t i = 0; i < p->n_picks; i++)
        p->picks[i] = placed[i].pick;
    return RECO_OK;
}
