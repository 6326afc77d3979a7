/* The discovery ranking (reco_options.discover): in the new-artists phase, songs by artists the
 * user has not saved, by cosine plus a bonus for the share of their artist's genre labels that
 * the saved artists have too (the affinity, computed once per artist a request meets). */
#include "rank.h"
#include "score.h"
#include "steer.h"

#include <math.h>
#include <string.h>

/* Discovery ranks songs by new artists by cosine plus this much times the share of the artist's
 * genre labels (the model's artist genres) that the saved artists have too (0.5 measured better
 * than 0 on both precision and new-artist recall, and than 1 and 2). */
#define DISCOVER_LABEL_BONUS 0.5f
/* ... and by cosine to the user's mean with its genre dimensions (the model's artist-genre
 * embedding) scaled by this much, so the sound counts more against them: on the real playlists
 * 0.5 found songs of the playlist's genre by new artists more often than 1 (65.1 against 63.3
 * precision, 10.5 against 9.7 new-artist recall) and than 2 or 0; 0.25 was no better there and
 * cost the 114k set's simulated users more. */
#define DISCOVER_GENRE_WEIGHT 0.5f

enum reco_status init_affinity(struct picking *p)
{
    const struct model *m = p->model;
    size_t n_labels = 0;
    for (uint32_t i = 0; i < p->saved_artists.n; i++)
        for (const char *g = model_artist_genres(m, p->saved_artists.list[i]); *g;
             g += strlen(g) + 1)
            n_labels++;
    size_t cap = capacity_for(n_labels);
    p->labels.slots = reco_arena_calloc(&p->arena, cap, sizeof *p->labels.slots);
    p->labels.mask = cap - 1;
    p->affinity = reco_arena_alloc(&p->arena, (size_t)m->n_artists + 1, sizeof *p->affinity);
    if (!p->labels.slots || !p->affinity)
        return RECO_ERR_NOMEM;
    for (uint32_t a = 0; a < m->n_artists; a++)
        p->affinity[a] = NAN;
    for (uint32_t i = 0; i < p->saved_artists.n; i++)
        for (const char *g = model_artist_genres(m, p->saved_artists.list[i]); *g;
             g += strlen(g) + 1) {
            uint64_t h = label_hash(g);
            for (size_t s = (size_t)mix64(h) & p->labels.mask;; s = (s + 1) & p->labels.mask) {
                if (p->labels.slots[s] == h)
                    break;
                if (p->labels.slots[s] == 0) {
                    p->labels.slots[s] = h;
                    break;
                }
            }
        }
    return RECO_OK;
}

/* The share of an artist's genre labels that the saved artists have too (0 with none). */
static float artist_affinity(struct picking *p, uint32_t key)
{
    if (!isnan(p->affinity[key]))
        return p->affinity[key];
    uint32_t shared = 0, all = 0;
    for (const char *g = model_artist_genres(p->model, key); *g; g += strlen(g) + 1) {
        all++;
        shared += label_set_has(&p->labels, label_hash(g));
    }
    p->affinity[key] = all ? (float)shared / (float)all : 0.0f;
    return p->affinity[key];
}

uint32_t rank_discovery(struct picking *p, uint32_t start, uint32_t end, float *u,
                        struct candidate *heap, uint32_t keep)
{
    const struct model *m = p->model;
    const uint32_t nd = m->n_dims;
    for (uint32_t d = nd - m->n_genre_dims; d < nd; d++)
        u[d] *= DISCOVER_GENRE_WEIGHT;
    float un = norm_of(u, nd);
    float inv_u = un > 0 ? 1.0f / un : 0.0f;
    float block[ARTIST_BLOCK];
    uint32_t n = 0;
    float worst = 0.0f;
    for (uint32_t first = start; first < end; first += ARTIST_BLOCK) {
        uint32_t len = end - first < ARTIST_BLOCK ? end - first : ARTIST_BLOCK;
        cosines(m->rows + (size_t)first * nd, m->row_norms + first, u, inv_u, nd, len, block);
        for (uint32_t i = 0; i < len; i++) {
            uint32_t row = first + i;
            float s = block[i];
            if (n == keep && !(s + DISCOVER_LABEL_BONUS > worst))
                continue;
            if (!eligible(p, row))
                continue;
            s += DISCOVER_LABEL_BONUS * artist_affinity(p, m->artist_keys[row]);
            if (n == keep && !(s > worst))
                continue;
            heap_push(heap, &n, keep, (struct candidate){s, row});
            worst = heap[0].score;
        }
    }
    return n;
}
