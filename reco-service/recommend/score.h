/* The scoring every ranking shares: dot products and cosines of model rows with the user's
 * point, four floats at a time, the same float operations whichever kernel computes them (a row
 * may be scored one at a time or in a block and must come out the same). */
#ifndef MIXTAPE_RECO_SCORE_H
#define MIXTAPE_RECO_SCORE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

struct picking;

static inline float norm_of(const float *v, uint32_t n)
{
    float sum = 0;
    for (uint32_t d = 0; d < n; d++)
        sum += v[d] * v[d];
    return sqrtf(sum);
}

/* Four floats at a time (SSE on x86-64, NEON on arm64) through the compilers' portable vector
 * extension; rows are not aligned, so the loads go through memcpy. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f load4(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline float dot(const float *a, const float *b, uint32_t n)
{
    v4f acc0 = {0, 0, 0, 0}, acc1 = {0, 0, 0, 0};
    uint32_t d = 0;
    for (; d + 8 <= n; d += 8) {
        acc0 += load4(a + d) * load4(b + d);
        acc1 += load4(a + d + 4) * load4(b + d + 4);
    }
    for (; d + 4 <= n; d += 4)
        acc0 += load4(a + d) * load4(b + d);
    acc0 += acc1;
    float s = (acc0[0] + acc0[1]) + (acc0[2] + acc0[3]);
    for (; d < n; d++)
        s += a[d] * b[d];
    return s;
}

/* The cosines of len consecutive rows (norms: theirs) with u, times inv_u = 1 / |u|, into out:
 * 0 for a zero row. The kernel of a pass over a cluster (see score.c). */
void cosines(const float *rows, const float *norms, const float *u, float inv_u, uint32_t nd,
             uint32_t len, float *out);

/* The mean of the resolved tracks [first, first + count) of p into out (n_dims). */
void mean_of(const struct picking *p, uint32_t first, uint32_t count, float *out);

#endif
