/* The k-means scan kernel (kmeans_internal.h): scores a handful of rows against every centre at
 * once, |c|^2 - 2 x.c over a transposed centre matrix, keeping each row's best and second-best
 * centre. Built for AVX-512, AVX2 and plain SSE2 from one macro and picked at run time; each
 * lane sums in the same order, so all three give the same floats. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "kmeans_internal.h"

/* The rows to score lie in the lanes of a vector (16 with AVX-512, else 8), their dimensions
 * transposed into a small buffer; each centre's score (squared distance minus |x|^2, as
 * |c|^2 - 2 x.c) is summed over the dimensions in order and compared lane by lane, so no lane
 * ever reduces across the vector and every instruction set gives the same floats. Centres go
 * CH at a time so their sums stay in registers; k is padded to kp, a multiple of CH, with
 * centres of score FAR. */

typedef float vf16 __attribute__((vector_size(64), aligned(64)));
typedef int32_t vi16 __attribute__((vector_size(64), aligned(64)));
typedef int32_t vi8 __attribute__((vector_size(32), aligned(32)));

/* mask ? a : b, lane by lane (a macro: a function taking vectors would change the ABI). */
#define VSEL(VT, IT, mask, a, b) ((VT)(((IT)(a) & (mask)) | ((IT)(b) & ~(mask))))

/* The body is one macro so that each instruction set gets its own copy, compiled for it. */
#define SCAN_BODY(VT, IT, R)                                                                       \
    do {                                                                                           \
        VT bv = (VT){0} + INFINITY, sv = bv;                                                       \
        IT bi = (IT){0};                                                                           \
        for (uint32_t c0 = 0; c0 < kp; c0 += CH) {                                                 \
            VT acc[CH];                                                                            \
            for (uint32_t c = 0; c < CH; c++)                                                      \
                acc[c] = (VT){0} + cnorm[c0 + c];                                                  \
            for (uint32_t j = 0; j < d; j++) {                                                     \
                const VT xj = *(const VT *)(xt + (size_t)j * (R));                                 \
                const float *cj = ct + (size_t)j * kp + c0;                                        \
                for (uint32_t c = 0; c < CH; c++)                                                  \
                    acc[c] += xj * cj[c];                                                          \
            }                                                                                      \
            for (uint32_t c = 0; c < CH; c++) {                                                    \
                IT better = acc[c] < bv, second = acc[c] < sv;                                     \
                sv = VSEL(VT, IT, better, bv, VSEL(VT, IT, second, acc[c], sv));                   \
                bi = (better & ((IT){0} + (int32_t)(c0 + c))) | (~better & bi);                    \
                bv = VSEL(VT, IT, better, acc[c], bv);                                             \
            }                                                                                      \
        }                                                                                          \
        for (uint32_t l = 0; l < (R); l++) {                                                       \
            best[l] = (uint32_t)bi[l];                                                             \
            best_s[l] = bv[l];                                                                     \
            second_s[l] = sv[l];                                                                   \
        }                                                                                          \
    } while (0)

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KMEANS_DISPATCH 1
__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw"))) static void
scan_avx512(const float *xt, uint32_t d, const float *ct, const float *cnorm, uint32_t kp,
            uint32_t *best, float *best_s, float *second_s)
{
    SCAN_BODY(vf16, vi16, 16);
}

__attribute__((target("avx2"))) static void scan_avx2(const float *xt, uint32_t d, const float *ct,
                                                      const float *cnorm, uint32_t kp,
                                                      uint32_t *best, float *best_s,
                                                      float *second_s)
{
    SCAN_BODY(vf8, vi8, 8);
}
#endif

static void scan_generic(const float *xt, uint32_t d, const float *ct, const float *cnorm,
                         uint32_t kp, uint32_t *best, float *best_s, float *second_s)
{
    SCAN_BODY(vf8, vi8, 8);
}

/* The kernel for this CPU and how many rows it scores at once. */
scan_fn *kmeans_pick_scan(bool generic, const char **name, uint32_t *rows)
{
#ifdef KMEANS_DISPATCH
    __builtin_cpu_init();
    if (!generic && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")) {
        *name = "avx512";
        *rows = 16;
        return scan_avx512;
    }
    if (!generic && __builtin_cpu_supports("avx2")) {
        *name = "avx2";
        *rows = 8;
        return scan_avx2;
    }
#endif
    *name = "generic";
    *rows = 8;
    return scan_generic;
}

const char *kmeans_kernel_name(void)
{
    const char *name;
    uint32_t rows;
    kmeans_pick_scan(false, &name, &rows);
    return name;
}
