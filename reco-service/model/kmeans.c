/* k-means (kmeans.h): checks the input, copies the rows once into a zero-padded float matrix,
 * fixes the blocks (from rows, k and dims only: nothing depends on the number of threads), runs
 * the restarts on teams of threads and keeps the best; and `--k auto`'s elbow. The stages live
 * beside it: kmeans_seed.c (k-means++), kmeans_assign.c (Hamerly's bounds), kmeans_scan.c (the
 * SIMD kernel), kmeans_lloyd.c (one restart), kmeans_team.c (threads and the work split). */
#include "kmeans.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "kmeans_internal.h"
#include "splitmix64.h"

#define MAX_BLOCKS  512u
#define MIN_BLOCK   1024u
#define SUMS_BUDGET ((size_t)64 << 20) /* bytes of per-block centre sums, per team */

const char *kmeans_strerror(enum kmeans_status status)
{
    switch (status) {
    case KMEANS_OK:
        return "ok";
    case KMEANS_ERR_INVALID:
        return "invalid k-means input";
    case KMEANS_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown k-means status";
}

/* The run's sizes from n, d and the options: padded dims and k, seeding trials, and the blocks
 * of the rows and of the seeding sample (from n, k and d only, never from the threads). */
static void plan_input(struct input *in, uint32_t n, uint32_t d, const struct kmeans_options *o)
{
    in->n = n;
    in->d = d;
    in->dp = (d + 7) & ~7u;
    in->k = o->k;
    in->kp = (o->k + CH - 1) / CH * CH;
    in->o = o;
    in->trials = 2 + (uint32_t)log((double)o->k);
    in->max_iter = o->max_iter ? o->max_iter : KMEANS_DEFAULT_ITER;
    in->restarts = o->restarts ? o->restarts : 1;
    in->no_bounds = o->ablate & KMEANS_ABLATE_BOUNDS;
    size_t block_bytes = (size_t)in->k * in->dp * sizeof(double);
    uint32_t max_blocks = MAX_BLOCKS;
    if (block_bytes * max_blocks > SUMS_BUDGET)
        max_blocks =
            (uint32_t)(SUMS_BUDGET / block_bytes) ? (uint32_t)(SUMS_BUDGET / block_bytes) : 1;
    in->block = (n + max_blocks - 1) / max_blocks;
    if (in->block < MIN_BLOCK)
        in->block = MIN_BLOCK;
    in->n_blocks = (n + in->block - 1) / in->block;
    in->m = n > SEED_SAMPLE ? SEED_SAMPLE : n;
    in->seed_block = (in->m + MAX_BLOCKS - 1) / MAX_BLOCKS;
    if (in->seed_block < MIN_BLOCK)
        in->seed_block = MIN_BLOCK;
    in->seed_blocks = (in->m + in->seed_block - 1) / in->seed_block;
}

/* The mean per-dimension variance of the rows, in two passes (the tolerance's scale). */
static double mean_variance(const float *x, uint32_t n, uint32_t d)
{
    double mean[KMEANS_MAX_DIMS] = {0}, var[KMEANS_MAX_DIMS] = {0}, mean_var = 0.0;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < d; j++)
            mean[j] += x[(size_t)i * d + j];
    for (uint32_t j = 0; j < d; j++)
        mean[j] /= n;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < d; j++) {
            double diff = x[(size_t)i * d + j] - mean[j];
            var[j] += diff * diff;
        }
    for (uint32_t j = 0; j < d; j++)
        mean_var += var[j] / n;
    return mean_var / d;
}

/* Copies the n x d rows into the zero-padded n x dp matrix and writes each row's |x|^2. */
static void pad_rows(const float *x, uint32_t n, uint32_t d, uint32_t dp, float *padded,
                     float *xnorm)
{
    for (uint32_t i = 0; i < n; i++) {
        memcpy(padded + (size_t)i * dp, x + (size_t)i * d, d * sizeof(float));
        memset(padded + (size_t)i * dp + d, 0, (dp - d) * sizeof(float));
        float norm = 0.0f;
        for (uint32_t j = 0; j < d; j++)
            norm += x[(size_t)i * d + j] * x[(size_t)i * d + j];
        xnorm[i] = norm;
    }
}

/* The best restart of the teams that ran into out (centroids unpadded, the labels handed over)
 * with the work counters of them all. Returns false when out of memory. */
static bool take_best(struct team *teams, uint32_t live_teams, const struct input *in,
                      struct kmeans_result *out)
{
    uint32_t best = 0, total_iterations = 0, used_threads = 0;
    out->rows_visited = out->rows_scanned = out->rows_tightened = 0;
    for (uint32_t t = 0; t < live_teams; t++) {
        out->rows_visited += teams[t].n_visits;
        out->rows_scanned += teams[t].n_scanned;
        out->rows_tightened += teams[t].n_tightened;
        total_iterations += teams[t].total_iterations;
        used_threads += teams[t].n_threads;
        if (teams[t].best_inertia < teams[best].best_inertia ||
            (teams[t].best_inertia == teams[best].best_inertia &&
             teams[t].best_restart < teams[best].best_restart))
            best = t;
    }
    struct team *w = &teams[best];
    const uint32_t d = in->d;
    out->centroids = malloc((size_t)in->k * d * sizeof(float));
    if (!out->centroids)
        return false;
    for (uint32_t c = 0; c < in->k; c++)
        memcpy(out->centroids + (size_t)c * d, w->best_centers + (size_t)c * in->dp,
               d * sizeof(float));
    out->labels = w->best_labels;
    w->best_labels = NULL;
    out->inertia = w->best_inertia;
    out->iterations = w->best_iterations;
    out->restart = w->best_restart;
    out->total_iterations = total_iterations;
    out->threads = used_threads;
    out->teams = live_teams;
    return true;
}

enum kmeans_status kmeans_run(const float *x, uint32_t n, uint32_t d,
                              const struct kmeans_options *o, struct kmeans_result *out, char *err,
                              size_t err_len)
{
    enum kmeans_status status = KMEANS_ERR_NOMEM;
    struct input in = {0};
    struct team teams[MAX_THREADS];
    uint32_t n_teams = 0;
    float *padded = NULL, *xnorm = NULL;

    if (n == 0 || d == 0 || d > KMEANS_MAX_DIMS || o->k == 0 || o->k > KMEANS_MAX_K || o->k > n) {
        errbuf_set(err, err_len, "k-means: k %u must be in 1..min(%u, rows %u); dims %u in 1..%u",
                   o->k, KMEANS_MAX_K, n, d, KMEANS_MAX_DIMS);
        return KMEANS_ERR_INVALID;
    }
    plan_input(&in, n, d, o);
    const char *kernel;
    in.scan = kmeans_pick_scan(o->ablate & KMEANS_ABLATE_SIMD, &kernel, &in.rows);
    atomic_init(&in.next_restart, 0);
    pthread_mutex_init(&in.progress_lock, NULL);

    padded = aligned_alloc(64, ((size_t)n * in.dp * sizeof *padded + 63) & ~(size_t)63);
    xnorm = malloc((size_t)n * sizeof *xnorm);
    if (!padded || !xnorm) {
        errbuf_set(err, err_len, "k-means: out of memory for %u x %u rows", n, d);
        goto done;
    }
    double mean_var = mean_variance(x, n, d);
    double tol = o->tol == 0 ? KMEANS_DEFAULT_TOL : (o->tol < 0 ? 0.0 : o->tol);
    in.tol_abs = tol * mean_var;
    pad_rows(x, n, d, in.dp, padded, xnorm);
    in.x = padded;
    in.xnorm = xnorm;

    uint32_t want = o->threads ? o->threads : kmeans_online_cores();
    if (want > MAX_THREADS)
        want = MAX_THREADS;
    n_teams = kmeans_plan_teams(want, in.restarts, n, o->ablate & KMEANS_ABLATE_PARALLEL_RESTARTS);
    uint32_t team_size = want / n_teams;
    if (team_size > in.n_blocks)
        team_size = in.n_blocks;
    for (uint32_t t = 0; t < n_teams; t++) {
        if (!kmeans_team_alloc(&teams[t], &in)) {
            n_teams = t + 1;
            errbuf_set(err, err_len, "k-means: out of memory for %u x %u rows", n, d);
            goto done;
        }
    }
    uint32_t live_teams = kmeans_teams_run(teams, n_teams, team_size);
    if (!take_best(teams, live_teams, &in, out)) {
        errbuf_set(err, err_len, "k-means: out of memory");
        goto done;
    }
    out->kernel = kernel;
    status = KMEANS_OK;
done:
    for (uint32_t t = 0; t < n_teams; t++)
        kmeans_team_free(&teams[t]);
    pthread_mutex_destroy(&in.progress_lock);
    free(padded);
    free(xnorm);
    return status;
}

void kmeans_result_free(struct kmeans_result *r)
{
    free(r->centroids);
    free(r->labels);
    r->centroids = NULL;
    r->labels = NULL;
}

enum kmeans_status kmeans_choose_k(const float *x, uint32_t n, uint32_t d, uint32_t k_min,
                                   uint32_t k_max, uint32_t sample_rows,
                                   const struct kmeans_options *o, uint32_t *k_out, char *reason,
                                   size_t reason_len)
{
    enum kmeans_status status = KMEANS_ERR_NOMEM;
    if (k_max > n)
        k_max = n;
    if (k_min < 1 || k_min + 2 > k_max || k_max > KMEANS_MAX_K) {
        errbuf_set(reason, reason_len, "k-means: --k auto needs at least 3 candidate k in %u..%u",
                   k_min, k_max);
        return KMEANS_ERR_INVALID;
    }
    /* A random sample drawn with the seed (a partial Fisher-Yates shuffle), so the choice is
     * deterministic, cheap, and blind to any order in the catalog. */
    uint32_t m = n < sample_rows ? n : sample_rows;
    float *sample = malloc((size_t)m * d * sizeof *sample);
    double *inertia = calloc(k_max + 1, sizeof *inertia);
    uint32_t *pick = malloc((size_t)n * sizeof *pick);
    if (!sample || !inertia || !pick) {
        errbuf_set(reason, reason_len, "k-means: out of memory");
        free(pick);
        goto done;
    }
    uint64_t rng = o->seed ^ 0xa5a5a5a5a5a5a5a5ull;
    for (uint32_t i = 0; i < n; i++)
        pick[i] = i;
    for (uint32_t i = 0; i < m; i++) {
        uint32_t j = i + (uint32_t)(splitmix64_uniform(&rng) * (n - i));
        if (j >= n)
            j = n - 1;
        uint32_t swap = pick[i];
        pick[i] = pick[j];
        pick[j] = swap;
        memcpy(sample + (size_t)i * d, x + (size_t)pick[i] * d, d * sizeof(float));
    }
    free(pick);
    for (uint32_t k = k_min; k <= k_max; k++) {
        struct kmeans_options ko = *o;
        struct kmeans_result r = {0};
        ko.k = k;
        ko.on_iteration = NULL;
        status = kmeans_run(sample, m, d, &ko, &r, reason, reason_len);
        if (status != KMEANS_OK)
            goto done;
        inertia[k] = r.inertia;
        kmeans_result_free(&r);
    }
    /* Kneedle: normalise both axes to 0..1; the elbow is the k whose point lies farthest
     * below the chord from the first to the last point. */
    double top = inertia[k_min], bottom = inertia[k_max];
    uint32_t best = k_min;
    double best_gap = -1.0;
    for (uint32_t k = k_min; k <= k_max; k++) {
        double xk = (double)(k - k_min) / (double)(k_max - k_min);
        double yk = top > bottom ? (inertia[k] - bottom) / (top - bottom) : 0.0;
        double gap = (1.0 - xk) - yk;
        if (gap > best_gap) {
            best_gap = gap;
            best = k;
        }
    }
    *k_out = best;
    errbuf_set(reason, reason_len,
               "auto: elbow of inertia over k=%u..%u on %u rows (k=%u lies %.3f below the chord; "
               "inertia k=%u %.0f, k=%u %.0f, k=%u %.0f)",
               k_min, k_max, m, best, best_gap, k_min, inertia[k_min], best, inertia[best], k_max,
               inertia[k_max]);
    status = KMEANS_OK;
done:
    free(sample);
    free(inertia);
    return status;
}
