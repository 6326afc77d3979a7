/* k-means++ seeding (kmeans_internal.h), greedy as scikit-learn does it: each new centre is the
 * best of 2 + log(k) candidates drawn in proportion to the squared distance to the nearest
 * centre so far, the candidates' potentials summed per block on the team's threads. */
#include <math.h>
#include <string.h>

#include "kmeans_internal.h"
#include "splitmix64.h"

/* Seeding: every candidate's potential (sum over rows of the squared distance to the nearest
 * of the centres so far and the candidate), per block. */
void kmeans_seed_pot_block(struct team *t, uint32_t b)
{
    const struct input *in = t->in;
    uint32_t lo, hi;
    seed_range(in, b, &lo, &hi);
    double pot[KMEANS_MAX_TRIALS] = {0};
    for (uint32_t i = lo; i < hi; i++) {
        const float *xi = t->seed_x + (size_t)i * in->dp;
        for (uint32_t c = 0; c < t->n_cand; c++) {
            float d2 = sq_dist(xi, t->candidates + (size_t)c * in->dp, in->dp);
            pot[c] += d2 < t->closest[i] ? d2 : t->closest[i];
        }
    }
    memcpy(t->block_value + (size_t)b * in->trials, pot, t->n_cand * sizeof *pot);
}

/* Seeding: the chosen candidate becomes a centre; closest[] and its block sums follow. */
void kmeans_seed_take_block(struct team *t, uint32_t b)
{
    const struct input *in = t->in;
    uint32_t lo, hi;
    seed_range(in, b, &lo, &hi);
    const float *cand = t->candidates + (size_t)t->chosen * in->dp;
    double sum = 0.0;
    for (uint32_t i = lo; i < hi; i++) {
        float d2 = sq_dist(t->seed_x + (size_t)i * in->dp, cand, in->dp);
        if (d2 < t->closest[i])
            t->closest[i] = d2;
        sum += t->closest[i];
    }
    t->closest_sum[b] = sum;
}

/* A row drawn in proportion to closest[]: the block by the block sums, then the row. */
static uint32_t draw_row(const struct team *t, double pot, uint64_t *rng)
{
    const struct input *in = t->in;
    double u = splitmix64_uniform(rng);
    if (!(pot > 0.0)) { /* every row sits on a centre: any row will do */
        uint32_t i = (uint32_t)(u * in->m);
        return i < in->m ? i : in->m - 1;
    }
    double target = u * pot, run = 0.0;
    uint32_t b = 0;
    while (b + 1 < in->seed_blocks && run + t->closest_sum[b] <= target)
        run += t->closest_sum[b++];
    uint32_t lo, hi, last = NO_LABEL;
    seed_range(in, b, &lo, &hi);
    for (uint32_t i = lo; i < hi; i++) {
        if (t->closest[i] > 0.0f)
            last = i;
        run += t->closest[i];
        if (run > target && t->closest[i] > 0.0f)
            return i;
    }
    return last != NO_LABEL ? last : lo;
}

/* Greedy k-means++ (scikit-learn's): each new centre is the best of 2 + log(k) candidates
 * drawn in proportion to the squared distance to the nearest centre so far. Above
 * SEED_SAMPLE rows it seeds from a uniform random sample of that many rows (drawn anew for
 * each restart): Lloyd's iterations over every row follow, and the sample spares a pass over
 * the whole matrix for every candidate. */
void kmeans_seed(struct team *t, uint64_t *rng)
{
    const struct input *in = t->in;
    const uint32_t dp = in->dp;
    t->seed_x = in->x;
    if (in->m < in->n) { /* Knuth's selection sampling: exactly m rows, in order */
        uint32_t taken = 0;
        for (uint32_t i = 0; i < in->n && taken < in->m; i++) {
            if (splitmix64_uniform(rng) * (in->n - i) < in->m - taken)
                memcpy(t->sample + (size_t)taken++ * dp, in->x + (size_t)i * dp,
                       dp * sizeof(float));
        }
        t->seed_x = t->sample;
    }
    uint32_t first = (uint32_t)(splitmix64_uniform(rng) * in->m);
    if (first >= in->m)
        first = in->m - 1;
    memcpy(t->centers, t->seed_x + (size_t)first * dp, dp * sizeof(float));
    for (uint32_t i = 0; i < in->m; i++)
        t->closest[i] = INFINITY;
    memcpy(t->candidates, t->centers, dp * sizeof(float));
    t->chosen = 0;
    kmeans_run_job(t, JOB_SEED_TAKE);
    double pot = 0.0;
    for (uint32_t b = 0; b < in->seed_blocks; b++)
        pot += t->closest_sum[b];

    for (uint32_t c = 1; c < in->k; c++) {
        for (uint32_t j = 0; j < in->trials; j++)
            memcpy(t->candidates + (size_t)j * dp, t->seed_x + (size_t)draw_row(t, pot, rng) * dp,
                   dp * sizeof(float));
        t->n_cand = in->trials;
        kmeans_run_job(t, JOB_SEED_POT);
        uint32_t best = 0;
        double best_pot = INFINITY;
        for (uint32_t j = 0; j < in->trials; j++) {
            double total = 0.0;
            for (uint32_t b = 0; b < in->seed_blocks; b++)
                total += t->block_value[(size_t)b * in->trials + j];
            if (total < best_pot) {
                best_pot = total;
                best = j;
            }
        }
        t->chosen = best;
        kmeans_run_job(t, JOB_SEED_TAKE);
        pot = 0.0;
        for (uint32_t b = 0; b < in->seed_blocks; b++)
            pot += t->closest_sum[b];
        memcpy(t->centers + (size_t)c * dp, t->candidates + (size_t)best * dp, dp * sizeof(float));
    }
}
