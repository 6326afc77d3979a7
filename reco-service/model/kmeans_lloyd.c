/* One k-means restart (kmeans_internal.h): seeding, then Lloyd iterations (assign every row to
 * its nearest centre, move each centre to the mean of its rows, an empty cluster taking the
 * farthest row) until the labels settle or the centres move less than the tolerance. */
#include <math.h>
#include <string.h>

#include "kmeans_internal.h"

/* An empty cluster takes the row farthest from its centre (not already taken). The upper
 * bounds are made exact first; the rows taken get an infinite one, so they are rescored. */
static void relocate_empty(struct team *t, const uint32_t *empty, uint32_t n_empty)
{
    const struct input *in = t->in;
    for (uint32_t i = 0; i < in->n; i++)
        t->upper[i] =
            store_upper(sqrtf(sq_dist(in->x + (size_t)i * in->dp,
                                      t->centers + (size_t)t->labels[i] * in->dp, in->dp)),
                        t->drift[t->labels[i]]);
    for (uint32_t e = 0; e < n_empty; e++) {
        uint32_t far = 0;
        double far_d = -1.0;
        for (uint32_t i = 0; i < in->n; i++) {
            double u = (double)t->upper[i] + t->drift[t->labels[i]];
            if (u > far_d && t->upper[i] != INFINITY) {
                far_d = u;
                far = i;
            }
        }
        t->upper[far] = INFINITY;
        memcpy(t->new_centers + (size_t)empty[e] * in->dp, in->x + (size_t)far * in->dp,
               in->dp * sizeof(float));
    }
}

/* New centres from the block sums; returns the total squared shift and writes into *inertia
 * the inertia of the current labels around the new means (from the sums, for progress). */
static double update_centers(struct team *t, double *inertia)
{
    const struct input *in = t->in;
    const uint32_t k = in->k, dp = in->dp, d = in->d;
    double total[KMEANS_MAX_DIMS];
    uint32_t empty[KMEANS_MAX_K], n_empty = 0;
    double within = 0.0;
    for (uint32_t c = 0; c < k; c++) {
        uint64_t count = 0;
        double sq = 0.0;
        memset(total, 0, d * sizeof *total);
        for (uint32_t b = 0; b < in->n_blocks; b++) {
            const double *sums = t->sums + ((size_t)b * k + c) * dp;
            count += t->counts[(size_t)b * k + c];
            sq += t->sq[(size_t)b * k + c];
            for (uint32_t j = 0; j < d; j++)
                total[j] += sums[j];
        }
        float *out = t->new_centers + (size_t)c * dp;
        if (count == 0) {
            empty[n_empty++] = c;
            continue;
        }
        double norm = 0.0;
        for (uint32_t j = 0; j < d; j++) {
            double mean = total[j] / (double)count;
            out[j] = (float)mean;
            norm += mean * mean;
        }
        double part = sq - norm * (double)count;
        within += part > 0 ? part : 0.0;
    }
    if (n_empty)
        relocate_empty(t, empty, n_empty);
    *inertia = within;
    double shift = 0.0, max_moved = 0.0;
    for (uint32_t c = 0; c < k; c++) {
        const float *old = t->centers + (size_t)c * dp, *now = t->new_centers + (size_t)c * dp;
        double moved = 0.0;
        for (uint32_t j = 0; j < d; j++) {
            double diff = (double)now[j] - old[j];
            moved += diff * diff;
        }
        shift += moved;
        moved = sqrt(moved) * (1.0 + 1e-9);
        t->drift[c] += moved;
        if (moved > max_moved)
            max_moved = moved;
    }
    t->drift_max += max_moved;
    float *swap = t->centers;
    t->centers = t->new_centers;
    t->new_centers = swap;
    return shift;
}

/* One seeding plus Lloyd iterations (scikit-learn's stopping rule: labels unchanged, or the
 * total squared shift at most the tolerance), then a last assignment to the final centres.
 * Leaves the centres in t->centers, the labels in t->labels; returns the exact inertia. */
double kmeans_run_once(struct team *t, uint32_t restart, uint32_t *iterations)
{
    struct input *in = t->in;
    const struct kmeans_options *o = in->o;
    uint64_t rng = o->seed * 0x9e3779b97f4a7c15ull + restart + 1;
    kmeans_seed(t, &rng);
    for (uint32_t i = 0; i < in->n; i++)
        t->labels[i] = NO_LABEL;
    memset(t->drift, 0, in->k * sizeof *t->drift);
    t->drift_max = 0.0;
    t->first_pass = true;
    uint32_t it = 0;
    while (it < in->max_iter) {
        uint32_t changed = kmeans_assign(t);
        double inertia;
        double shift = update_centers(t, &inertia);
        if (o->on_iteration) {
            pthread_mutex_lock(&in->progress_lock);
            o->on_iteration(o->ctx, restart, it, inertia);
            pthread_mutex_unlock(&in->progress_lock);
        }
        it++;
        if (changed == 0 || shift <= in->tol_abs)
            break;
    }
    *iterations = it;
    kmeans_assign(t);
    kmeans_run_job(t, JOB_INERTIA);
    double inertia = 0.0;
    for (uint32_t b = 0; b < in->n_blocks; b++)
        inertia += t->block_value[(size_t)b * in->trials];
    return inertia;
}
