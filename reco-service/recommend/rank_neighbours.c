/* RECO_RANK_NEAREST_NEIGHBOURS: each row by its best cosine with any of the user's tracks in the
 * cluster (an even sample of at most NN_MAX_ANCHORS of them, so the cost stays bounded). */
#include "rank.h"
#include "score.h"
#include "steer.h"

enum reco_status rank_neighbours(const struct rank_call *call, struct candidate *heap,
                                 uint32_t *n_out)
{
    struct picking *p = call->p;
    const struct cluster_state *cs = call->cs;
    const struct model *m = p->model;
    const uint32_t nd = p->n_dims, keep = call->keep;
    float *anchors = p->scratch + 2 * nd;
    uint32_t n_anchors = cs->saved < NN_MAX_ANCHORS ? cs->saved : NN_MAX_ANCHORS;
    for (uint32_t a = 0; a < n_anchors; a++) {
        const struct resolved *r =
            &p->resolved[cs->first + (uint32_t)(((uint64_t)a * cs->saved) / n_anchors)];
        for (uint32_t d = 0; d < nd; d++)
            anchors[(size_t)a * nd + d] = r->vec[d] * r->inv_norm;
    }
    uint32_t n = 0;
    for (uint32_t row = call->start; row < call->end; row++) {
        float rn = m->row_norms[row];
        const float *v = m->rows + (size_t)row * nd;
        float best = -2.0f;
        for (uint32_t a = 0; a < n_anchors; a++) {
            float s = dot(v, anchors + (size_t)a * nd, nd);
            if (s > best)
                best = s;
        }
        float s = rn > 0 ? best / rn : 0.0f;
        if ((n < keep || s > heap[0].score) && eligible(p, row))
            heap_push(heap, &n, keep, (struct candidate){s, row});
    }
    *n_out = n;
    return RECO_OK;
}
