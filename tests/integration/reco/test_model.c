/* A small synthetic model written in code: see test_model.h. */
#include "test_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_build.h"

#define DIMS 4u

void test_model_id(uint32_t row, char id[23])
{
    snprintf(id, 23, "Row%019u", row);
}

static double next_unit(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return (double)(*state % 1000001) / 1000000.0; /* 0..1 */
}

int test_model_write(const char *path, uint32_t n_rows, uint32_t k, uint64_t seed)
{
    int rc = -1;
    uint64_t state = seed * 2654435761u + 88172645463325252ull;
    float *centroids = calloc((size_t)k * DIMS, sizeof *centroids);
    float *scaled = calloc((size_t)n_rows * DIMS, sizeof *scaled);
    struct model_build_row *rows = calloc(n_rows, sizeof *rows);
    char(*ids)[23] = calloc(n_rows, 23);
    char(*names)[32] = calloc(n_rows, 32);
    char(*artists)[32] = calloc(n_rows, 32);
    char(*isrcs)[16] = calloc(n_rows, 16);
    const char **artist_ptrs = calloc(n_rows, sizeof *artist_ptrs);
    if (!centroids || !scaled || !rows || !ids || !names || !artists || !isrcs || !artist_ptrs) {
        fprintf(stderr, "test model: out of memory\n");
        goto done;
    }
    for (uint32_t c = 0; c < k; c++)
        for (uint32_t d = 0; d < DIMS; d++)
            centroids[c * DIMS + d] = (float)(next_unit(&state) * 8.0 - 4.0);
    for (uint32_t r = 0; r < n_rows; r++) {
        uint32_t c = r % k;
        for (uint32_t d = 0; d < DIMS; d++)
            scaled[r * DIMS + d] = centroids[c * DIMS + d] + (float)(next_unit(&state) * 2 - 1);
        /* The cluster is the nearest centre, as k-means would leave it. */
        float best = 0;
        for (uint32_t cc = 0; cc < k; cc++) {
            float dist = 0;
            for (uint32_t d = 0; d < DIMS; d++) {
                float diff = scaled[r * DIMS + d] - centroids[cc * DIMS + d];
                dist += diff * diff;
            }
            if (cc == 0 || dist < best) {
                best = dist;
                c = cc;
            }
        }
        test_model_id(r, ids[r]);
        snprintf(names[r], 32, "Track %u", r);
        snprintf(artists[r], 32, "Artist %u", r % 997);
        snprintf(isrcs[r], 16, "QZTST%07u", r % 10000000u);
        artist_ptrs[r] = artists[r];
        rows[r] = (struct model_build_row){.id = ids[r],
                                           .name = names[r],
                                           .genre = "synthetic",
                                           .isrc = r % 2 == 0 ? isrcs[r] : NULL, /* half */
                                           .artists = &artist_ptrs[r],
                                           .n_artists = 1,
                                           .year = (uint16_t)(1950 + r % 70),
                                           .popularity = (uint8_t)(r % 100),
                                           .duration_ms = 120000 + r % 180000,
                                           .cluster = c};
    }
    struct model_build b;
    memset(&b, 0, sizeof b);
    b.n_rows = n_rows;
    b.n_dims = DIMS;
    b.k = k;
    static const enum model_feature features[DIMS] = {FEAT_VALENCE, FEAT_ENERGY, FEAT_DANCEABILITY,
                                                      FEAT_TEMPO};
    for (uint32_t d = 0; d < DIMS; d++)
        b.dims[d] = (struct model_build_dim){features[d], MODEL_DIM_LINEAR, 0.0, 1.0, 1.0};
    b.centroids = centroids;
    b.scaled = scaled;
    b.rows = rows;
    b.seed = seed;
    b.built_unix = 1700000000 + seed;
    b.source = "synthetic";
    b.schema = "test";
    b.k_choice = "fixed";
    b.tolerance_ms = 5000;
    b.binary_weight = 1.0;
    char err[256];
    if (model_write(&b, path, err, sizeof err) != MODEL_OK) {
        fprintf(stderr, "test model: %s\n", err);
        goto done;
    }
    rc = 0;
done:
    free(centroids);
    free(scaled);
    free(rows);
    free(ids);
    free(names);
    free(artists);
    free(isrcs);
    free(artist_ptrs);
    return rc;
}
