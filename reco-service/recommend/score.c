/* Shared scoring (score.h): the block kernel that computes the cosines of consecutive rows four
 * at a time, one copy per common dimension count (the switch in cosines() is deliberate: a
 * constant nd lets the compiler unroll), and the public single-row and block entry points. */
#include "score.h"

#include "picking.h"
#include "recommend.h"

/* dot()'s vector part for one row: its two accumulators summed, and where the scalar tail
 * starts. */
static inline __attribute__((always_inline)) v4f dot_lanes(const float *a, const float *b,
                                                           uint32_t n, uint32_t *tail)
{
    v4f acc0 = {0, 0, 0, 0}, acc1 = {0, 0, 0, 0};
    uint32_t d = 0;
    for (; d + 8 <= n; d += 8) {
        acc0 += load4(a + d) * load4(b + d);
        acc1 += load4(a + d + 4) * load4(b + d + 4);
    }
    for (; d + 4 <= n; d += 4)
        acc0 += load4(a + d) * load4(b + d);
    *tail = d;
    return acc0 + acc1;
}

#if defined(__clang__)
#define SHUFFLE_EVEN(x, y) __builtin_shufflevector(x, y, 0, 2, 4, 6)
#define SHUFFLE_ODD(x, y)  __builtin_shufflevector(x, y, 1, 3, 5, 7)
#else
#define SHUFFLE_EVEN(x, y) __builtin_shuffle(x, y, (v4i){0, 2, 4, 6})
#define SHUFFLE_ODD(x, y)  __builtin_shuffle(x, y, (v4i){1, 3, 5, 7})
#endif

/* dot(row, b, n) of four consecutive rows (n floats apart) into out[0..3]: the same float
 * operations in the same order, so the same results, with the horizontal sums
 * (x0 + x1) + (x2 + x3) and the scalar tail done for the four rows at once. */
static inline __attribute__((always_inline)) void dot4(const float *rows, const float *b,
                                                       uint32_t n, float *out)
{
    uint32_t d = 0;
    v4f a0 = dot_lanes(rows, b, n, &d);
    v4f a1 = dot_lanes(rows + n, b, n, &d);
    v4f a2 = dot_lanes(rows + 2 * (size_t)n, b, n, &d);
    v4f a3 = dot_lanes(rows + 3 * (size_t)n, b, n, &d);
    v4f p = SHUFFLE_EVEN(a0, a1) + SHUFFLE_ODD(a0, a1); /* a0[0]+a0[1], a0[2]+a0[3], a1.. */
    v4f q = SHUFFLE_EVEN(a2, a3) + SHUFFLE_ODD(a2, a3);
    v4f s = SHUFFLE_EVEN(p, q) + SHUFFLE_ODD(p, q);
    for (; d < n; d++) {
        v4f x = {rows[d], rows[n + d], rows[2 * (size_t)n + d], rows[3 * (size_t)n + d]};
        v4f y = {b[d], b[d], b[d], b[d]};
        s += x * y;
    }
    memcpy(out, &s, sizeof s);
}

/* dot() of len consecutive rows with u, each times inv_u and divided by the row's norm (0 for a
 * zero row), into out: the cosines of a block. The same float operations in the same order as
 * dot(row, u, nd) * inv_u / norm, so the same results; nd is a constant in the cases below, so
 * the compiler unrolls the dot and keeps u in registers, and the scaling goes four rows at a
 * time (divps gives each lane what divss would). */
static inline __attribute__((always_inline)) void cosines_n(const float *rows, const float *norms,
                                                            const float *u, float inv_u,
                                                            uint32_t nd, uint32_t len, float *out)
{
    uint32_t r = 0;
    for (; r + 4 <= len; r += 4)
        dot4(rows + (size_t)r * nd, u, nd, out + r);
    for (; r < len; r++)
        out[r] = dot(rows + (size_t)r * nd, u, nd);
    const v4f zero = {0, 0, 0, 0};
    const v4f scale = {inv_u, inv_u, inv_u, inv_u};
    uint32_t i = 0;
    for (; i + 4 <= len; i += 4) {
        v4f rn = load4(norms + i);
        v4f q = load4(out + i) * scale / rn;
        v4i positive = rn > zero;
        q = (v4f)((v4i)q & positive);
        memcpy(out + i, &q, sizeof q);
    }
    for (; i < len; i++)
        out[i] = norms[i] > 0 ? out[i] * inv_u / norms[i] : 0.0f;
}

void cosines(const float *rows, const float *norms, const float *u, float inv_u, uint32_t nd,
             uint32_t len, float *out)
{
    switch (nd) {
    case 12:
        cosines_n(rows, norms, u, inv_u, 12, len, out);
        break;
    case 13:
        cosines_n(rows, norms, u, inv_u, 13, len, out);
        break;
    case 14:
        cosines_n(rows, norms, u, inv_u, 14, len, out);
        break;
    case 15:
        cosines_n(rows, norms, u, inv_u, 15, len, out);
        break;
    case 16:
        cosines_n(rows, norms, u, inv_u, 16, len, out);
        break;
    /* The audio features and reco-model's default 8-dimension genre embedding. */
    case 21:
        cosines_n(rows, norms, u, inv_u, 21, len, out);
        break;
    case 22:
        cosines_n(rows, norms, u, inv_u, 22, len, out);
        break;
    case 23:
        cosines_n(rows, norms, u, inv_u, 23, len, out);
        break;
    default:
        cosines_n(rows, norms, u, inv_u, nd, len, out);
        break;
    }
}

/* cosines() of one row: dot() then the scaling, the same float operations as a row of a block
 * (recommend_test checks it bit for bit). */
float reco_cosine_of_row(const struct model *m, uint32_t row, const float *u, float inv_u)
{
    float s;
    cosines(m->rows + (size_t)row * m->n_dims, m->row_norms + row, u, inv_u, m->n_dims, 1, &s);
    return s;
}

void reco_cosines(const struct model *m, uint32_t first, uint32_t len, const float *u, float inv_u,
                  float *out)
{
    cosines(m->rows + (size_t)first * m->n_dims, m->row_norms + first, u, inv_u, m->n_dims, len,
            out);
}

/* artist index hook: the kernel for artist_pool.c. */
void reco_cosines_rows(const float *rows, const float *norms, uint32_t n_dims, uint32_t len,
                       const float *u, float inv_u, float *out)
{
    cosines(rows, norms, u, inv_u, n_dims, len, out);
}

void mean_of(const struct picking *p, uint32_t first, uint32_t count, float *out)
{
    memset(out, 0, p->n_dims * sizeof *out);
    for (uint32_t i = first; i < first + count; i++)
        for (uint32_t d = 0; d < p->n_dims; d++)
            out[d] += p->resolved[i].vec[d];
    for (uint32_t d = 0; d < p->n_dims; d++)
        out[d] /= (float)count;
}
