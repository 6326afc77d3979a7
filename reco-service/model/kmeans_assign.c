/* The k-means assignment step (kmeans_internal.h), Hamerly's way: each row keeps an upper bound
 * on the distance to its centre and a lower bound on the distance to any other; a row whose
 * bounds prove it cannot change centre is only read, the rest are scored against every centre
 * by the scan kernel, a few at a time. Per-block cluster sums follow each move. */
#include <math.h>
#include <string.h>

#include "kmeans_internal.h"

#define CHUNK    256u    /* rows whose bounds are tested before any is read */
#define PREFETCH 8u      /* rows read ahead */
#define FAR      3.0e38f /* the score of a padding centre: never the best */

/* Lays the centres out for scoring (transposed, times -2, padding that never wins) and
 * measures half the distance from each centre to its nearest other centre. */
static void prepare_centers(struct team *t)
{
    const struct input *in = t->in;
    const uint32_t k = in->k, kp = in->kp, dp = in->dp;
    float cmax = 0.0f;
    for (uint32_t c = 0; c < kp; c++) {
        if (c >= k) {
            t->cnorm[c] = FAR;
            for (uint32_t j = 0; j < dp; j++)
                t->ct[(size_t)j * kp + c] = 0.0f;
            continue;
        }
        const float *center = t->centers + (size_t)c * dp;
        float norm = 0.0f;
        for (uint32_t j = 0; j < dp; j++) {
            t->ct[(size_t)j * kp + c] = -2.0f * center[j];
            norm += center[j] * center[j];
        }
        t->cnorm[c] = norm;
        if (norm > cmax)
            cmax = norm;
    }
    t->cnorm_max = cmax;
    for (uint32_t c = 0; c < k; c++)
        t->half_gap[c] = INFINITY;
    for (uint32_t a = 0; a < k; a++) {
        for (uint32_t b = a + 1; b < k; b++) {
            double d2 = 0.0;
            for (uint32_t j = 0; j < in->d; j++) {
                double diff =
                    (double)t->centers[(size_t)a * dp + j] - t->centers[(size_t)b * dp + j];
                d2 += diff * diff;
            }
            double half = 0.5 * sqrt(d2);
            if (half < t->half_gap[a])
                t->half_gap[a] = half;
            if (half < t->half_gap[b])
                t->half_gap[b] = half;
        }
    }
    for (uint32_t c = 0; c < k; c++) /* outward, for the rounding of the stored bounds */
        t->half_gap[c] *= 1.0 - 1e-6;
}

/* Moves row i from cluster `from` (NO_LABEL: none) to `to` in its block's sums. */
static inline void move_row(struct team *t, uint32_t b, uint32_t i, uint32_t from, uint32_t to)
{
    const struct input *in = t->in;
    const uint32_t dp = in->dp, k = in->k;
    const float *xi = in->x + (size_t)i * dp;
    double *sums = t->sums + (size_t)b * k * dp;
    if (from != NO_LABEL) {
        double *s = sums + (size_t)from * dp;
        for (uint32_t j = 0; j < in->d; j++)
            s[j] -= xi[j];
        t->sq[(size_t)b * k + from] -= in->xnorm[i];
        t->counts[(size_t)b * k + from]--;
    }
    double *s = sums + (size_t)to * dp;
    for (uint32_t j = 0; j < in->d; j++)
        s[j] += xi[j];
    t->sq[(size_t)b * k + to] += in->xnorm[i];
    t->counts[(size_t)b * k + to]++;
}

/* Scores the pending rows (xt, transposed; m of them), relabels them, resets their bounds. */
static uint32_t scan_pending(struct team *t, uint32_t b, float *xt, const uint32_t *pend,
                             uint32_t m)
{
    const struct input *in = t->in;
    uint32_t best[MAX_ROWS];
    float best_s[MAX_ROWS], second_s[MAX_ROWS];
    for (uint32_t j = 0; j < in->d; j++) /* idle lanes score zeros */
        for (uint32_t r = m; r < in->rows; r++)
            xt[(size_t)j * in->rows + r] = 0.0f;
    in->scan(xt, in->d, t->ct, t->cnorm, in->kp, best, best_s, second_s);
    uint32_t changed = 0;
    /* The expanded scores lose about d + 4 float roundings of |x|^2 + |c|^2. */
    const float slack_scale = 1.2e-7f * (float)(in->d + 4);
    for (uint32_t g = 0; g < m; g++) {
        uint32_t i = pend[g], to = best[g], from = t->labels[i];
        float slack = slack_scale * (in->xnorm[i] + t->cnorm_max);
        float first = best_s[g] + in->xnorm[i] + slack;
        float second = second_s[g] + in->xnorm[i] - slack;
        t->upper[i] = store_upper(sqrtf(first > 0.0f ? first : 0.0f), t->drift[to]);
        t->lower[i] = store_lower(sqrtf(second > 0.0f ? second : 0.0f), t->drift_max);
        if (from != to) {
            move_row(t, b, i, from, to);
            t->labels[i] = to;
            changed++;
        }
    }
    return changed;
}

/* One block of the assignment, Hamerly's way: after the centres moved, each row's upper
 * bound grows by its centre's move and its lower bound shrinks by the largest move of any
 * other centre; a row whose upper bound stays below both its lower bound and half the gap
 * from its centre to the nearest other one cannot change centre and is not touched. Otherwise
 * the upper bound is made exact, and if the test still fails the row is scored against all. */
void kmeans_assign_block(struct team *t, uint32_t b)
{
    const struct input *in = t->in;
    const uint32_t k = in->k, dp = in->dp;
    uint32_t lo, hi;
    block_range(in, b, &lo, &hi);
    if (t->first_pass) {
        memset(t->sums + (size_t)b * k * dp, 0, (size_t)k * dp * sizeof *t->sums);
        memset(t->sq + (size_t)b * k, 0, (size_t)k * sizeof *t->sq);
        memset(t->counts + (size_t)b * k, 0, (size_t)k * sizeof *t->counts);
    }
    float xt[KMEANS_MAX_DIMS * MAX_ROWS] __attribute__((aligned(64)));
    uint32_t pend[MAX_ROWS], m = 0, changed = 0, scanned = 0, tightened = 0;
    const uint32_t rows = in->rows;
    const bool bounds = !t->first_pass && !in->no_bounds;
    /* In chunks: first a pass over the bounds alone lists the rows that fail the test, then
     * those rows are read with their data prefetched a few rows ahead. */
    uint32_t list[CHUNK];
    double bound_of[CHUNK];
    for (uint32_t c0 = lo; c0 < hi; c0 += CHUNK) {
        uint32_t c1 = c0 + CHUNK < hi ? c0 + CHUNK : hi, n_list = 0;
        if (bounds) {
            for (uint32_t i = c0; i < c1; i++) {
                uint32_t a = t->labels[i];
                double u = (double)t->upper[i] + t->drift[a];
                double l = (double)t->lower[i] - t->drift_max;
                double bound = l > t->half_gap[a] ? l : t->half_gap[a];
                list[n_list] = i;
                bound_of[n_list] = bound;
                n_list += u > bound;
            }
        } else {
            for (uint32_t i = c0; i < c1; i++)
                list[n_list++] = i;
        }
        /* list[0 .. n_list) is all written: the pass above writes list[n_list] for every row
         * and counts only the rows kept (the analyzer does not follow the branchless count). */
        for (uint32_t e = 0; e < n_list; e++) {
            if (e + PREFETCH < n_list) {
                /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): see above */
                __builtin_prefetch(in->x + (size_t)list[e + PREFETCH] * dp);
            }
            /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign): see above */
            uint32_t i = list[e];
            const float *xi = in->x + (size_t)i * dp;
            if (bounds) {
                uint32_t a = t->labels[i];
                float u = sqrtf(sq_dist(xi, t->centers + (size_t)a * dp, dp));
                tightened++;
                if ((double)u * (1.0 + DIST_MARGIN) <= bound_of[e]) {
                    t->upper[i] = store_upper(u, t->drift[a]);
                    continue;
                }
            }
            for (uint32_t j = 0; j < in->d; j++)
                xt[(size_t)j * rows + m] = xi[j];
            pend[m++] = i;
            scanned++;
            if (m == rows) {
                changed += scan_pending(t, b, xt, pend, m);
                m = 0;
            }
        }
    }
    if (m)
        changed += scan_pending(t, b, xt, pend, m);
    t->changed[b] = changed;
    t->scanned[b] = scanned;
    t->tightened[b] = tightened;
}

void kmeans_inertia_block(struct team *t, uint32_t b)
{
    const struct input *in = t->in;
    uint32_t lo, hi;
    block_range(in, b, &lo, &hi);
    double sum = 0.0;
    for (uint32_t i = lo; i < hi; i++)
        sum +=
            sq_dist(in->x + (size_t)i * in->dp, t->centers + (size_t)t->labels[i] * in->dp, in->dp);
    t->block_value[(size_t)b * in->trials] = sum;
}

uint32_t kmeans_assign(struct team *t)
{
    prepare_centers(t);
    kmeans_run_job(t, JOB_ASSIGN);
    t->first_pass = false;
    uint32_t changed = 0;
    for (uint32_t b = 0; b < t->in->n_blocks; b++) {
        changed += t->changed[b];
        t->n_scanned += t->scanned[b];
        t->n_tightened += t->tightened[b];
    }
    t->n_visits += t->in->n;
    return changed;
}
