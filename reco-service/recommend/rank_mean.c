/* RECO_RANK_MEAN_COSINE: rows by cosine to the mean of the user's tracks in the state, in blocks
 * (score.c's kernel); rank_by_cosine also ranks the rest after the saved artists' songs for
 * RECO_RANK_MEAN_AND_ARTISTS. */
#include "rank.h"
#include "score.h"
#include "steer.h"

uint32_t rank_by_cosine(const struct picking *p, uint32_t start, uint32_t end, const float *u,
                        float inv_u, struct candidate *heap, uint32_t n, uint32_t keep,
                        bool other_artists_only)
{
    const struct model *m = p->model;
    const uint32_t nd = m->n_dims;
    float worst = n > 0 ? heap[0].score : 0.0f;
    float block[ARTIST_BLOCK];
    for (uint32_t first = start; first < end; first += ARTIST_BLOCK) {
        uint32_t len = end - first < ARTIST_BLOCK ? end - first : ARTIST_BLOCK;
        cosines(m->rows + (size_t)first * nd, m->row_norms + first, u, inv_u, nd, len, block);
        for (uint32_t i = 0; i < len; i++) {
            uint32_t row = first + i;
            float s = block[i];
            if (n == keep && !(s > worst))
                continue;
            if (!eligible(p, row) || (other_artists_only && by_saved_artist(p, row)))
                continue;
            heap_push(heap, &n, keep, (struct candidate){s, row});
            worst = heap[0].score;
        }
    }
    return n;
}

enum reco_status rank_mean(const struct rank_call *call, struct candidate *heap, uint32_t *n)
{
    const uint32_t nd = call->p->n_dims;
    float un = norm_of(call->u, nd);
    float inv_u = un > 0 ? 1.0f / un : 0.0f;
    *n =
        rank_by_cosine(call->p, call->start, call->end, call->u, inv_u, heap, 0, call->keep, false);
    return RECO_OK;
}
