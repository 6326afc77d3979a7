/* k-means (kmeans.h). Rows are copied once into a zero-padded float matrix; each assignment
 * pass scores a row against every centre as |c|^2 - 2 x.c over a transposed centre matrix
 * (the inner loop runs over centres, so it vectorises without reordering sums), and keeps
 * per-block double sums that the caller's thread reduces in block order: the result depends
 * on the seed only, never on the number of threads. */
#include "kmeans.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "splitmix64.h"

#include "errbuf.h"

#define MAX_THREADS 64u
#define MAX_BLOCKS  512u
#define MIN_BLOCK   1024u
#define TILE        64u /* centres scored at once */

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

/* ---- the shared work --------------------------------------------------------------------- */

enum job { JOB_ASSIGN, JOB_SEED };

struct work {
    /* data */
    const float *x; /* n x dp, zero-padded */
    uint32_t n, d, dp, k, kp;
    uint32_t block, n_blocks;
    /* assignment */
    const float *ct;      /* dp x kp, transposed centres */
    const float *cnorm;   /* kp: |c|^2, +huge for padding */
    const float *centers; /* k x dp */
    uint32_t *labels;
    float *dist;       /* n: squared distance to the assigned centre */
    double *sums;      /* n_blocks x k x dp */
    uint32_t *counts;  /* n_blocks x k */
    double *inertia;   /* n_blocks */
    uint32_t *changed; /* n_blocks */
    bool update_sums;
    /* Hamerly bounds */
    const float *xnorm; /* n: |x|^2 */
    double *lower;      /* n: lower bound on the distance to the second-closest centre */
    double *half_gap;   /* k: half the distance to the nearest other centre */
    double *moved;      /* k: how far each centre moved in the last update */
    double max_shift;   /* the largest of moved[] */
    bool bounds_valid;  /* lower[] holds bounds for the current labels */
    uint32_t *scanned;  /* n_blocks: rows that needed a full scan */
    /* seeding */
    const float *candidates; /* n_cand x dp */
    uint32_t n_cand;
    const float *closest; /* n, or NULL for +inf */
    float *cand_dist;     /* n_cand x n */
    double *pot;          /* n_blocks x n_cand */
    /* pool */
    enum job job;
    uint32_t n_threads;
    pthread_barrier_t start, finish;
    pthread_mutex_t lock; /* guards ready: workers wait for it before the first barrier */
    pthread_cond_t ready_cond;
    bool ready;
    bool stop;
};

static inline float sq_dist(const float *restrict a, const float *restrict b, uint32_t dp)
{
    float s = 0.0f;
    for (uint32_t j = 0; j < dp; j++) {
        float diff = a[j] - b[j];
        s += diff * diff;
    }
    return s;
}

/* Scores row xi against every centre; writes the best and second-best centre's squared
 * distances (from |x|^2 + |c|^2 - 2 x.c, so approximate) and returns the best centre. */
static uint32_t scan_centers(const struct work *w, const float *restrict xi, float xnorm,
                             float *second_d2)
{
    const uint32_t kp = w->kp;
    float acc[TILE];
    uint32_t best = 0;
    float best_score = INFINITY, second_score = INFINITY;
    for (uint32_t tile = 0; tile < kp; tile += TILE) {
        uint32_t tn = kp - tile < TILE ? kp - tile : TILE;
        const float *restrict cn = w->cnorm + tile;
        for (uint32_t c = 0; c < tn; c++)
            acc[c] = cn[c];
        for (uint32_t j = 0; j < w->d; j++) {
            const float xj = -2.0f * xi[j];
            const float *restrict ct = w->ct + (size_t)j * kp + tile;
            for (uint32_t c = 0; c < tn; c++)
                acc[c] += xj * ct[c];
        }
        for (uint32_t c = 0; c < tn; c++) {
            if (acc[c] < best_score) {
                second_score = best_score;
                best_score = acc[c];
                best = tile + c;
            } else if (acc[c] < second_score) {
                second_score = acc[c];
            }
        }
    }
    *second_d2 = second_score + xnorm;
    return best;
}

/* One block of the assignment step, Hamerly's way: each row keeps an upper bound on the
 * distance to its centre and a lower bound on the distance to any other; when the exact
 * distance to its centre is below both the lower bound and half the gap to the nearest other
 * centre, no other centre can be closer and the scan is skipped. The labels are Lloyd's. */
static void assign_block(struct work *w, uint32_t b)
{
    uint32_t lo = b * w->block;
    uint32_t hi = lo + w->block < w->n ? lo + w->block : w->n;
    const uint32_t dp = w->dp, k = w->k;
    double *sums = w->sums + (size_t)b * k * dp;
    uint32_t *counts = w->counts + (size_t)b * k;
    double inertia = 0.0;
    uint32_t changed = 0, scanned = 0;
    if (w->update_sums) {
        memset(sums, 0, (size_t)k * dp * sizeof *sums);
        memset(counts, 0, (size_t)k * sizeof *counts);
    }
    for (uint32_t i = lo; i < hi; i++) {
        const float *restrict xi = w->x + (size_t)i * dp;
        uint32_t label = w->labels[i];
        float d2;
        bool scan = !w->bounds_valid || label >= k;
        if (!scan) {
            d2 = sq_dist(xi, w->centers + (size_t)label * dp, dp);
            double upper = sqrt((double)d2);
            double lower = w->lower[i] - w->max_shift;
            double bound = lower > w->half_gap[label] ? lower : w->half_gap[label];
            w->lower[i] = lower;
            scan = upper >= bound * (1.0 - 1e-5) - 1e-7;
        }
        if (scan) {
            float second_d2;
            uint32_t best = scan_centers(w, xi, w->xnorm[i], &second_d2);
            d2 = sq_dist(xi, w->centers + (size_t)best * dp, dp);
            w->lower[i] = second_d2 > 0 ? sqrt((double)second_d2) : 0.0;
            changed += label != best;
            label = best;
            scanned++;
        }
        w->labels[i] = label;
        w->dist[i] = d2;
        inertia += d2;
        if (w->update_sums) {
            double *sum = sums + (size_t)label * dp;
            for (uint32_t j = 0; j < dp; j++)
                sum[j] += xi[j];
            counts[label]++;
        }
    }
    w->inertia[b] = inertia;
    w->changed[b] = changed;
    w->scanned[b] = scanned;
}

static void seed_block(struct work *w, uint32_t b)
{
    uint32_t lo = b * w->block;
    uint32_t hi = lo + w->block < w->n ? lo + w->block : w->n;
    for (uint32_t t = 0; t < w->n_cand; t++) {
        const float *cand = w->candidates + (size_t)t * w->dp;
        float *out = w->cand_dist + (size_t)t * w->n;
        double pot = 0.0;
        for (uint32_t i = lo; i < hi; i++) {
            float d2 = sq_dist(w->x + (size_t)i * w->dp, cand, w->dp);
            out[i] = d2;
            pot += w->closest && w->closest[i] < d2 ? w->closest[i] : d2;
        }
        w->pot[(size_t)b * w->n_cand + t] = pot;
    }
}

static void run_share(struct work *w, uint32_t thread)
{
    for (uint32_t b = thread; b < w->n_blocks; b += w->n_threads) {
        if (w->job == JOB_ASSIGN)
            assign_block(w, b);
        else
            seed_block(w, b);
    }
}

struct worker_arg {
    struct work *work;
    uint32_t thread;
};

static void *worker_main(void *arg)
{
    struct worker_arg *a = arg;
    pthread_mutex_lock(&a->work->lock);
    while (!a->work->ready)
        pthread_cond_wait(&a->work->ready_cond, &a->work->lock);
    pthread_mutex_unlock(&a->work->lock);
    for (;;) {
        pthread_barrier_wait(&a->work->start);
        if (a->work->stop)
            return NULL;
        run_share(a->work, a->thread);
        pthread_barrier_wait(&a->work->finish);
    }
}

/* Runs the current job on every thread (the caller is thread 0) and waits for all. */
static void run_job(struct work *w, enum job job)
{
    w->job = job;
    if (w->n_threads > 1)
        pthread_barrier_wait(&w->start);
    run_share(w, 0);
    if (w->n_threads > 1)
        pthread_barrier_wait(&w->finish);
}

/* ---- one restart ------------------------------------------------------------------------- */

/* Lays the centres out for scoring: transposed, norms, padding that never wins. */
static void prepare_centers(struct work *w, const float *centers, float *ct, float *cnorm)
{
    for (uint32_t c = 0; c < w->kp; c++) {
        if (c >= w->k) {
            cnorm[c] = 3.0e38f;
            for (uint32_t j = 0; j < w->dp; j++)
                ct[(size_t)j * w->kp + c] = 0.0f;
            continue;
        }
        const float *center = centers + (size_t)c * w->dp;
        float norm = 0.0f;
        for (uint32_t j = 0; j < w->dp; j++) {
            ct[(size_t)j * w->kp + c] = center[j];
            norm += center[j] * center[j];
        }
        cnorm[c] = norm;
    }
    /* Half the distance from each centre to its nearest other centre. */
    for (uint32_t c = 0; c < w->k; c++)
        w->half_gap[c] = INFINITY;
    for (uint32_t a = 0; a < w->k; a++) {
        for (uint32_t b = a + 1; b < w->k; b++) {
            double d2 = 0.0;
            for (uint32_t j = 0; j < w->dp; j++) {
                double diff =
                    (double)centers[(size_t)a * w->dp + j] - centers[(size_t)b * w->dp + j];
                d2 += diff * diff;
            }
            double half = 0.5 * sqrt(d2);
            if (half < w->half_gap[a])
                w->half_gap[a] = half;
            if (half < w->half_gap[b])
                w->half_gap[b] = half;
        }
    }
    w->ct = ct;
    w->cnorm = cnorm;
    w->centers = centers;
}

struct scratch {
    float *centers, *new_centers, *ct, *cnorm, *closest, *cand_dist, *candidates;
    double *cumsum;
    uint32_t *labels;
};

/* Greedy k-means++: each new centre is the best of 2 + log(k) candidates drawn in proportion
 * to the squared distance to the nearest centre so far. */
static void seed_plus_plus(struct work *w, struct scratch *s, uint64_t *rng)
{
    uint32_t trials = 2 + (uint32_t)log((double)w->k);
    uint32_t first = (uint32_t)(splitmix64_uniform(rng) * w->n);
    if (first >= w->n)
        first = w->n - 1;
    memcpy(s->centers, w->x + (size_t)first * w->dp, w->dp * sizeof(float));

    w->cand_dist = s->cand_dist;
    w->candidates = s->centers;
    w->n_cand = 1;
    w->closest = NULL;
    run_job(w, JOB_SEED);
    memcpy(s->closest, s->cand_dist, w->n * sizeof(float));
    double pot = 0.0;
    for (uint32_t b = 0; b < w->n_blocks; b++)
        pot += w->pot[b];

    for (uint32_t c = 1; c < w->k; c++) {
        double running = 0.0;
        for (uint32_t i = 0; i < w->n; i++) {
            running += s->closest[i];
            s->cumsum[i] = running;
        }
        for (uint32_t t = 0; t < trials; t++) {
            double target = splitmix64_uniform(rng) * pot;
            uint32_t lo = 0, hi = w->n - 1;
            while (lo < hi) { /* first i with cumsum[i] >= target */
                uint32_t mid = lo + (hi - lo) / 2;
                if (s->cumsum[mid] < target)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            memcpy(s->candidates + (size_t)t * w->dp, w->x + (size_t)lo * w->dp,
                   w->dp * sizeof(float));
        }
        w->candidates = s->candidates;
        w->n_cand = trials;
        w->closest = s->closest;
        run_job(w, JOB_SEED);
        uint32_t best = 0;
        double best_pot = INFINITY;
        for (uint32_t t = 0; t < trials; t++) {
            double total = 0.0;
            for (uint32_t b = 0; b < w->n_blocks; b++)
                total += w->pot[(size_t)b * trials + t];
            if (total < best_pot) {
                best_pot = total;
                best = t;
            }
        }
        pot = best_pot;
        const float *d2 = s->cand_dist + (size_t)best * w->n;
        for (uint32_t i = 0; i < w->n; i++)
            if (d2[i] < s->closest[i])
                s->closest[i] = d2[i];
        memcpy(s->centers + (size_t)c * w->dp, s->candidates + (size_t)best * w->dp,
               w->dp * sizeof(float));
    }
}

/* Sums the blocks into new centres; an empty cluster takes the row farthest from its
 * centre. Returns the total squared shift of the centres. */
static double update_centers(struct work *w, struct scratch *s)
{
    const uint32_t k = w->k, dp = w->dp;
    double shift = 0.0, max_moved = 0.0;
    double total[KMEANS_MAX_DIMS + 8];
    for (uint32_t c = 0; c < k; c++) {
        uint64_t count = 0;
        memset(total, 0, dp * sizeof *total);
        for (uint32_t b = 0; b < w->n_blocks; b++) {
            const double *sums = w->sums + ((size_t)b * k + c) * dp;
            count += w->counts[(size_t)b * k + c];
            for (uint32_t j = 0; j < dp; j++)
                total[j] += sums[j];
        }
        float *out = s->new_centers + (size_t)c * dp;
        if (count == 0) {
            /* The farthest row not already taken by another empty cluster. */
            uint32_t far = 0;
            float far_d = -1.0f;
            for (uint32_t i = 0; i < w->n; i++) {
                if (w->dist[i] > far_d) {
                    far_d = w->dist[i];
                    far = i;
                }
            }
            w->dist[far] = -1.0f;
            memcpy(out, w->x + (size_t)far * dp, dp * sizeof(float));
        } else {
            for (uint32_t j = 0; j < dp; j++)
                out[j] = (float)(total[j] / (double)count);
        }
        const float *old = s->centers + (size_t)c * dp;
        double moved = 0.0;
        for (uint32_t j = 0; j < dp; j++) {
            double diff = (double)out[j] - old[j];
            moved += diff * diff;
        }
        shift += moved;
        w->moved[c] = sqrt(moved);
        if (w->moved[c] > max_moved)
            max_moved = w->moved[c];
    }
    w->max_shift = max_moved;
    return shift;
}

static double assign(struct work *w, struct scratch *s, const float *centers, bool update,
                     uint32_t *changed)
{
    prepare_centers(w, centers, s->ct, s->cnorm);
    w->update_sums = update;
    run_job(w, JOB_ASSIGN);
    double inertia = 0.0;
    uint32_t moved = 0;
    for (uint32_t b = 0; b < w->n_blocks; b++) {
        inertia += w->inertia[b];
        moved += w->changed[b];
    }
    if (changed)
        *changed = moved;
    return inertia;
}

/* One seeding plus Lloyd iterations; leaves centres in s->centers, labels in w->labels. */
static double run_once(struct work *w, struct scratch *s, const struct kmeans_options *o,
                       uint32_t restart, double tol_abs, uint32_t *iterations)
{
    uint64_t rng = o->seed * 0x9e3779b97f4a7c15ull + restart + 1;
    seed_plus_plus(w, s, &rng);
    uint32_t max_iter = o->max_iter ? o->max_iter : KMEANS_DEFAULT_ITER;
    for (uint32_t i = 0; i < w->n; i++)
        w->labels[i] = UINT32_MAX;
    w->bounds_valid = false;
    bool strict = false;
    uint32_t it = 0;
    while (it < max_iter) {
        uint32_t changed = 0;
        double inertia = assign(w, s, s->centers, true, &changed);
        w->bounds_valid = true;
        if (o->on_iteration)
            o->on_iteration(o->ctx, restart, it, inertia);
        double shift = update_centers(w, s);
        float *swap = s->centers;
        s->centers = s->new_centers;
        s->new_centers = swap;
        it++;
        if (changed == 0) {
            strict = true;
            break;
        }
        if (shift <= tol_abs)
            break;
    }
    (void)strict; /* the final assignment below is cheap enough to run either way */
    *iterations = it;
    return assign(w, s, s->centers, false, NULL);
}

static uint32_t online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > (long)MAX_THREADS ? MAX_THREADS : (uint32_t)n;
}

enum kmeans_status kmeans_run(const float *x, uint32_t n, uint32_t d,
                              const struct kmeans_options *o, struct kmeans_result *out, char *err,
                              size_t err_len)
{
    enum kmeans_status status = KMEANS_ERR_NOMEM;
    struct work w = {0};
    struct scratch s = {0};
    float *padded = NULL, *best_centers = NULL;
    uint32_t *best_labels = NULL;
    pthread_t threads[MAX_THREADS];
    struct worker_arg args[MAX_THREADS];
    uint32_t started = 0;
    bool barriers = false;

    if (n == 0 || d == 0 || d > KMEANS_MAX_DIMS || o->k == 0 || o->k > KMEANS_MAX_K || o->k > n) {
        errbuf_set(err, err_len, "k-means: k %u must be in 1..min(%u, rows %u); dims %u in 1..%u",
                   o->k, KMEANS_MAX_K, n, d, KMEANS_MAX_DIMS);
        return KMEANS_ERR_INVALID;
    }
    w.n = n;
    w.d = d;
    w.dp = (d + 3) & ~3u;
    w.k = o->k;
    w.kp = (o->k + 7) & ~7u;
    w.block = n / MAX_BLOCKS + 1 > MIN_BLOCK ? n / MAX_BLOCKS + 1 : MIN_BLOCK;
    w.n_blocks = (n + w.block - 1) / w.block;
    uint32_t trials = 2 + (uint32_t)log((double)o->k);

    padded = calloc((size_t)n * w.dp, sizeof *padded);
    w.labels = malloc((size_t)n * sizeof *w.labels);
    w.dist = malloc((size_t)n * sizeof *w.dist);
    w.sums = malloc((size_t)w.n_blocks * w.k * w.dp * sizeof *w.sums);
    w.counts = malloc((size_t)w.n_blocks * w.k * sizeof *w.counts);
    w.inertia = malloc(w.n_blocks * sizeof *w.inertia);
    w.changed = malloc(w.n_blocks * sizeof *w.changed);
    w.pot = malloc((size_t)w.n_blocks * trials * sizeof *w.pot);
    float *xnorm = malloc((size_t)n * sizeof *xnorm);
    w.xnorm = xnorm;
    w.lower = malloc((size_t)n * sizeof *w.lower);
    w.half_gap = malloc((size_t)w.k * sizeof *w.half_gap);
    w.moved = malloc((size_t)w.k * sizeof *w.moved);
    w.scanned = malloc(w.n_blocks * sizeof *w.scanned);
    s.centers = calloc((size_t)w.k * w.dp, sizeof(float));
    s.new_centers = calloc((size_t)w.k * w.dp, sizeof(float));
    s.ct = malloc((size_t)w.dp * w.kp * sizeof(float));
    s.cnorm = malloc(w.kp * sizeof(float));
    s.closest = malloc((size_t)n * sizeof(float));
    s.cand_dist = malloc((size_t)n * trials * sizeof(float));
    s.candidates = calloc((size_t)trials * w.dp, sizeof(float));
    s.cumsum = malloc((size_t)n * sizeof(double));
    best_centers = malloc((size_t)w.k * w.dp * sizeof(float));
    best_labels = malloc((size_t)n * sizeof *best_labels);
    if (!padded || !xnorm || !w.lower || !w.half_gap || !w.moved || !w.scanned || !w.labels ||
        !w.dist || !w.sums || !w.counts || !w.inertia || !w.changed || !w.pot || !s.centers ||
        !s.new_centers || !s.ct || !s.cnorm || !s.closest || !s.cand_dist || !s.candidates ||
        !s.cumsum || !best_centers || !best_labels) {
        errbuf_set(err, err_len, "k-means: out of memory for %u x %u rows", n, d);
        goto done;
    }
    double mean_var = 0.0;
    for (uint32_t j = 0; j < d; j++) {
        double sum = 0, sum2 = 0;
        for (uint32_t i = 0; i < n; i++)
            sum += x[(size_t)i * d + j];
        double mean = sum / n;
        for (uint32_t i = 0; i < n; i++) {
            double diff = x[(size_t)i * d + j] - mean;
            sum2 += diff * diff;
        }
        mean_var += sum2 / n;
    }
    mean_var /= d;
    double tol = o->tol == 0 ? KMEANS_DEFAULT_TOL : (o->tol < 0 ? 0.0 : o->tol);
    double tol_abs = tol * mean_var;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(padded + (size_t)i * w.dp, x + (size_t)i * d, d * sizeof(float));
        float norm = 0.0f;
        for (uint32_t j = 0; j < d; j++)
            norm += x[(size_t)i * d + j] * x[(size_t)i * d + j];
        xnorm[i] = norm;
    }
    w.x = padded;

    uint32_t want = o->threads ? o->threads : online_cores();
    if (want > MAX_THREADS)
        want = MAX_THREADS;
    if (want > w.n_blocks)
        want = w.n_blocks;
    w.n_threads = want ? want : 1;
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.ready_cond, NULL);
    for (uint32_t t = 1; t < w.n_threads; t++) {
        args[t] = (struct worker_arg){&w, t};
        if (pthread_create(&threads[t], NULL, worker_main, &args[t]) != 0)
            break; /* run on the threads that did start */
        started++;
    }
    /* The workers wait for ready, so the barriers can be sized to the threads we have. */
    w.n_threads = started + 1;
    if (w.n_threads > 1) {
        pthread_barrier_init(&w.start, NULL, w.n_threads);
        pthread_barrier_init(&w.finish, NULL, w.n_threads);
        barriers = true;
    }
    pthread_mutex_lock(&w.lock);
    w.ready = true;
    pthread_cond_broadcast(&w.ready_cond);
    pthread_mutex_unlock(&w.lock);

    uint32_t restarts = o->restarts ? o->restarts : 1;
    double best_inertia = INFINITY;
    uint32_t best_restart = 0, best_iterations = 0, total_iterations = 0;
    for (uint32_t r = 0; r < restarts; r++) {
        uint32_t iterations = 0;
        double inertia = run_once(&w, &s, o, r, tol_abs, &iterations);
        total_iterations += iterations;
        if (inertia < best_inertia) {
            best_inertia = inertia;
            best_restart = r;
            best_iterations = iterations;
            memcpy(best_centers, s.centers, (size_t)w.k * w.dp * sizeof(float));
            memcpy(best_labels, w.labels, (size_t)n * sizeof *best_labels);
        }
    }

    out->centroids = malloc((size_t)w.k * d * sizeof(float));
    if (!out->centroids) {
        errbuf_set(err, err_len, "k-means: out of memory");
        goto done;
    }
    for (uint32_t c = 0; c < w.k; c++)
        memcpy(out->centroids + (size_t)c * d, best_centers + (size_t)c * w.dp, d * sizeof(float));
    out->labels = best_labels;
    best_labels = NULL;
    out->inertia = best_inertia;
    out->iterations = best_iterations;
    out->restart = best_restart;
    out->total_iterations = total_iterations;
    status = KMEANS_OK;
done:
    if (started) {
        w.stop = true;
        pthread_barrier_wait(&w.start);
        for (uint32_t t = 1; t <= started; t++)
            pthread_join(threads[t], NULL);
    }
    if (barriers) {
        pthread_barrier_destroy(&w.start);
        pthread_barrier_destroy(&w.finish);
    }
    if (w.n_threads) {
        pthread_mutex_destroy(&w.lock);
        pthread_cond_destroy(&w.ready_cond);
    }
    free(padded);
    free(xnorm);
    free(w.lower);
    free(w.half_gap);
    free(w.moved);
    free(w.scanned);
    free(w.labels);
    free(w.dist);
    free(w.sums);
    free(w.counts);
    free(w.inertia);
    free(w.changed);
    free(w.pot);
    free(s.centers);
    free(s.new_centers);
    free(s.ct);
    free(s.cnorm);
    free(s.closest);
    free(s.cand_dist);
    free(s.candidates);
    free(s.cumsum);
    free(best_centers);
    free(best_labels);
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
