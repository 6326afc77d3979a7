/* RECO_RANK_CENTROID_COSINE: rows by the cosine of their direction from the cluster's centroid
 * with the user's (the mean of their tracks there, from the same centroid); a user sitting on
 * the centroid has no direction and gets RECO_RANK_MEAN_COSINE. */
#include "rank.h"
#include "score.h"
#include "steer.h"

enum reco_status rank_centroid(const struct rank_call *call, struct candidate *heap,
                               uint32_t *n_out)
{
    struct picking *p = call->p;
    const struct model *m = p->model;
    const uint32_t nd = p->n_dims, keep = call->keep;
    const float *u = call->u;
    float *w = p->scratch + nd;
    const float *centroid = m->centroids + (size_t)(call->flat ? 0 : call->cs->cluster) * nd;
    for (uint32_t d = 0; d < nd; d++)
        w[d] = u[d] - centroid[d];
    if (norm_of(w, nd) < 1e-6f)
        return rank_mean(call, heap, n_out); /* the user sits on the centroid: no direction */
    uint32_t n = 0;
    float inv_w = 1.0f / norm_of(w, nd);
    for (uint32_t row = call->start; row < call->end; row++) {
        const float *v = m->rows + (size_t)row * nd;
        float along = 0, len2 = 0;
        for (uint32_t d = 0; d < nd; d++) {
            float diff = v[d] - centroid[d];
            along += diff * w[d];
            len2 += diff * diff;
        }
        float s = len2 > 0 ? along * inv_w / sqrtf(len2) : 0.0f;
        if ((n < keep || s > heap[0].score) && eligible(p, row))
            heap_push(heap, &n, keep, (struct candidate){s, row});
    }
    *n_out = n;
    return RECO_OK;
}
