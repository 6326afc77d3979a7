/* k-means (kmeans.h). Rows are copied once into a zero-padded float matrix. Restarts run in
 * parallel, one per team of threads; inside a restart, rows fall into fixed blocks whose sums
 * are kept per block and reduced in block order, so nothing depends on the number of threads.
 * Hamerly's bounds skip most rows; the rest are scored four at a time against all centres by
 * a small GEMM-like kernel (|c|^2 - 2 x.c, 16 centres per vector) built for AVX-512, AVX2 and
 * plain SSE2 and picked at run time; each lane sums in the same order, so all three agree. */
#include "kmeans.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
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
#define SUMS_BUDGET ((size_t)64 << 20) /* bytes of per-block centre sums, per team */
#define TEAM_BUDGET ((size_t)2 << 30)  /* bytes of per-row state over all teams */
#define NO_LABEL    UINT32_MAX
#define SEED_SAMPLE 131072u /* rows k-means++ seeds from at most */
#define FAR         3.0e38f /* the score of a padding centre: never the best */

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

/* ---- the scan kernel --------------------------------------------------------------------- */

/* The rows to score lie in the lanes of a vector (16 with AVX-512, else 8), their dimensions
 * transposed into a small buffer; each centre's score (squared distance minus |x|^2, as
 * |c|^2 - 2 x.c) is summed over the dimensions in order and compared lane by lane, so no lane
 * ever reduces across the vector and every instruction set gives the same floats. Centres go
 * CH at a time so their sums stay in registers; k is padded to kp, a multiple of CH, with
 * centres of score FAR. */
#define CH       8u
#define MAX_ROWS 16u
#define CHUNK    256u /* rows whose bounds are tested before any is read */
#define PREFETCH 8u   /* rows read ahead */

typedef float vf16 __attribute__((vector_size(64), aligned(64)));
typedef int32_t vi16 __attribute__((vector_size(64), aligned(64)));
typedef float vf8 __attribute__((vector_size(32), aligned(32)));
typedef int32_t vi8 __attribute__((vector_size(32), aligned(32)));

/* xt: d x rows (row r's dimension j at xt[j * rows + r]); ct: d x kp, the centres transposed
 * and times -2; cnorm: kp. Writes each row's best centre (ties to the lower index) and its
 * best and second-best scores. */
typedef void scan_fn(const float *xt, uint32_t d, const float *ct, const float *cnorm, uint32_t kp,
                     uint32_t *best, float *best_s, float *second_s);

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
static scan_fn *pick_scan(bool generic, const char **name, uint32_t *rows)
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
    pick_scan(false, &name, &rows);
    return name;
}

/* Squared distance over dp (a multiple of 8) floats of 32-byte aligned rows, summed in 8
 * lanes in a fixed order (so every instruction set gives the same float). */
static inline float sq_dist(const float *a, const float *b, uint32_t dp)
{
    vf8 acc = *(const vf8 *)a - *(const vf8 *)b;
    acc *= acc;
    for (uint32_t j = 8; j < dp; j += 8) {
        vf8 diff = *(const vf8 *)(a + j) - *(const vf8 *)(b + j);
        acc += diff * diff;
    }
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* The bounds are stored as floats relative to a drift total (see struct team). A distance
 * computed in floats (a sum of up to 64 rounded squares, a float square root) is within
 * 2^-18 of the exact one, relatively; the margins below cover that and the rounding of the
 * stored difference, so a stored upper bound never falls below the true distance and a
 * lower bound never rises above it. */
#define DIST_MARGIN  0x1p-18
#define STORE_MARGIN 0x1p-22

static inline float store_upper(float dist, double drift)
{
    double u = (double)dist * (1.0 + DIST_MARGIN);
    return (float)(u - drift + STORE_MARGIN * (u + drift));
}

static inline float store_lower(float dist, double drift)
{
    double l = (double)dist * (1.0 - DIST_MARGIN);
    return (float)(l + drift - STORE_MARGIN * (l + drift));
}

/* ---- shared input and teams -------------------------------------------------------------- */

struct input {
    const float *x;     /* n x dp, zero-padded */
    const float *xnorm; /* n: |x|^2 */
    uint32_t n, d, dp, k, kp;
    uint32_t block, n_blocks, trials, max_iter, restarts;
    uint32_t m, seed_block, seed_blocks; /* rows seeded from, and their blocks */
    double tol_abs;
    bool no_bounds;
    scan_fn *scan;
    uint32_t rows; /* rows the kernel scores at once */
    const struct kmeans_options *o;
    atomic_uint next_restart;
    pthread_mutex_t progress_lock;
    pthread_mutex_t ready_lock; /* guards ready: threads wait for it before any barrier */
    pthread_cond_t ready_cond;
    bool ready;
};

enum job { JOB_SEED_POT, JOB_SEED_TAKE, JOB_ASSIGN, JOB_INERTIA };

/* A team runs one restart at a time: its leader drives it, its members share the blocks. */
struct team {
    struct input *in;
    /* per-row state */
    uint32_t *labels;
    float *upper;   /* upper bound on the distance to the assigned centre */
    float *lower;   /* lower bound on the distance to any other centre */
    float *closest; /* seeding: squared distance to the nearest centre so far (m rows) */
    float *sample;  /* seeding: the m rows seeded from, when m < n (else NULL: x itself) */
    const float *seed_x;
    /* per-block state, reduced in block order */
    double *sums;                  /* n_blocks x k x dp: sums of the rows of each cluster */
    double *sq;                    /* n_blocks x k: sums of |x|^2 */
    uint32_t *counts;              /* n_blocks x k */
    double *block_value;           /* n_blocks x trials: seeding potentials; inertia */
    double *closest_sum;           /* n_blocks */
    uint32_t *changed;             /* n_blocks */
    uint32_t *scanned, *tightened; /* n_blocks: rows scored against all, upper bounds made exact */
    uint64_t n_scanned, n_tightened, n_visits; /* over the team's restarts */
    /* centres */
    float *centers, *new_centers; /* k x dp */
    float *ct, *cnorm;            /* dp x kp (times -2), kp; 64-byte aligned */
    float cnorm_max;
    double *half_gap; /* k */
    /* The bounds are stored relative to running totals, so a row that is skipped is only
     * read: the true upper bound is upper[i] + drift[label], the true lower bound lower[i] -
     * drift_max, where drift[c] sums how far centre c moved and drift_max the largest move of
     * each update, over the restart so far. */
    double *drift, drift_max;
    bool first_pass;
    /* seeding */
    float *candidates; /* trials x dp */
    uint32_t n_cand, chosen;
    /* the best restart this team ran */
    float *best_centers;
    uint32_t *best_labels;
    double best_inertia;
    uint32_t best_restart, best_iterations, total_iterations;
    /* pool */
    enum job job;
    uint32_t n_threads;
    pthread_barrier_t start, finish;
    bool barriers, stop;
};

static void block_range(const struct input *in, uint32_t b, uint32_t *lo, uint32_t *hi)
{
    *lo = b * in->block;
    *hi = *lo + in->block < in->n ? *lo + in->block : in->n;
}

/* The seeding's blocks: the same rule over the m rows it draws from. */
static void seed_range(const struct input *in, uint32_t b, uint32_t *lo, uint32_t *hi)
{
    *lo = b * in->seed_block;
    *hi = *lo + in->seed_block < in->m ? *lo + in->seed_block : in->m;
}

/* Seeding: every candidate's potential (sum over rows of the squared distance to the nearest
 * of the centres so far and the candidate), per block. */
static void seed_pot_block(struct team *t, uint32_t b)
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
static void seed_take_block(struct team *t, uint32_t b)
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
static void assign_block(struct team *t, uint32_t b)
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

static void inertia_block(struct team *t, uint32_t b)
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

static void run_share(struct team *t, uint32_t thread)
{
    bool seeding = t->job == JOB_SEED_POT || t->job == JOB_SEED_TAKE;
    uint32_t n_blocks = seeding ? t->in->seed_blocks : t->in->n_blocks;
    for (uint32_t b = thread; b < n_blocks; b += t->n_threads) {
        switch (t->job) {
        case JOB_SEED_POT:
            seed_pot_block(t, b);
            break;
        case JOB_SEED_TAKE:
            seed_take_block(t, b);
            break;
        case JOB_ASSIGN:
            assign_block(t, b);
            break;
        case JOB_INERTIA:
            inertia_block(t, b);
            break;
        }
    }
}

/* Runs a job on every thread of the team (the leader is thread 0) and waits for all. */
static void run_job(struct team *t, enum job job)
{
    t->job = job;
    if (t->n_threads > 1)
        pthread_barrier_wait(&t->start);
    run_share(t, 0);
    if (t->n_threads > 1)
        pthread_barrier_wait(&t->finish);
}

/* ---- one restart ------------------------------------------------------------------------- */

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
static void seed_plus_plus(struct team *t, uint64_t *rng)
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
    run_job(t, JOB_SEED_TAKE);
    double pot = 0.0;
    for (uint32_t b = 0; b < in->seed_blocks; b++)
        pot += t->closest_sum[b];

    for (uint32_t c = 1; c < in->k; c++) {
        for (uint32_t j = 0; j < in->trials; j++)
            memcpy(t->candidates + (size_t)j * dp, t->seed_x + (size_t)draw_row(t, pot, rng) * dp,
                   dp * sizeof(float));
        t->n_cand = in->trials;
        run_job(t, JOB_SEED_POT);
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
        run_job(t, JOB_SEED_TAKE);
        pot = 0.0;
        for (uint32_t b = 0; b < in->seed_blocks; b++)
            pot += t->closest_sum[b];
        memcpy(t->centers + (size_t)c * dp, t->candidates + (size_t)best * dp, dp * sizeof(float));
    }
}

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

static uint32_t assign(struct team *t)
{
    prepare_centers(t);
    run_job(t, JOB_ASSIGN);
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

/* One seeding plus Lloyd iterations (scikit-learn's stopping rule: labels unchanged, or the
 * total squared shift at most the tolerance), then a last assignment to the final centres.
 * Leaves the centres in t->centers, the labels in t->labels; returns the exact inertia. */
static double run_once(struct team *t, uint32_t restart, uint32_t *iterations)
{
    struct input *in = t->in;
    const struct kmeans_options *o = in->o;
    uint64_t rng = o->seed * 0x9e3779b97f4a7c15ull + restart + 1;
    seed_plus_plus(t, &rng);
    for (uint32_t i = 0; i < in->n; i++)
        t->labels[i] = NO_LABEL;
    memset(t->drift, 0, in->k * sizeof *t->drift);
    t->drift_max = 0.0;
    t->first_pass = true;
    uint32_t it = 0;
    while (it < in->max_iter) {
        uint32_t changed = assign(t);
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
    assign(t);
    run_job(t, JOB_INERTIA);
    double inertia = 0.0;
    for (uint32_t b = 0; b < in->n_blocks; b++)
        inertia += t->block_value[(size_t)b * in->trials];
    return inertia;
}

/* The leader's loop: takes restarts until none is left, keeping the best. */
static void team_lead(struct team *t)
{
    struct input *in = t->in;
    for (;;) {
        uint32_t r = atomic_fetch_add(&in->next_restart, 1);
        if (r >= in->restarts)
            break;
        uint32_t iterations = 0;
        double inertia = run_once(t, r, &iterations);
        t->total_iterations += iterations;
        if (inertia < t->best_inertia || (inertia == t->best_inertia && r < t->best_restart)) {
            t->best_inertia = inertia;
            t->best_restart = r;
            t->best_iterations = iterations;
            memcpy(t->best_centers, t->centers, (size_t)in->k * in->dp * sizeof(float));
            memcpy(t->best_labels, t->labels, (size_t)in->n * sizeof *t->labels);
        }
    }
    if (t->n_threads > 1) {
        t->stop = true;
        pthread_barrier_wait(&t->start);
    }
}

struct thread_arg {
    struct team *team;
    uint32_t member; /* 0: the leader */
};

static void *thread_main(void *arg)
{
    struct thread_arg *a = arg;
    struct team *t = a->team;
    pthread_mutex_lock(&t->in->ready_lock);
    while (!t->in->ready)
        pthread_cond_wait(&t->in->ready_cond, &t->in->ready_lock);
    pthread_mutex_unlock(&t->in->ready_lock);
    if (a->member == 0) {
        team_lead(t);
        return NULL;
    }
    for (;;) {
        pthread_barrier_wait(&t->start);
        if (t->stop)
            return NULL;
        run_share(t, a->member);
        pthread_barrier_wait(&t->finish);
    }
}

static void team_free(struct team *t)
{
    free(t->labels);
    free(t->upper);
    free(t->lower);
    free(t->closest);
    free(t->sample);
    free(t->sums);
    free(t->sq);
    free(t->counts);
    free(t->block_value);
    free(t->closest_sum);
    free(t->changed);
    free(t->scanned);
    free(t->tightened);
    free(t->centers);
    free(t->new_centers);
    free(t->ct);
    free(t->cnorm);
    free(t->half_gap);
    free(t->drift);
    free(t->candidates);
    free(t->best_centers);
    free(t->best_labels);
    if (t->barriers) {
        pthread_barrier_destroy(&t->start);
        pthread_barrier_destroy(&t->finish);
    }
}

/* Zeroed memory on a 64-byte boundary (the vector loads need 32). */
static void *aligned_calloc(size_t bytes)
{
    bytes = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p)
        memset(p, 0, bytes);
    return p;
}

static bool team_alloc(struct team *t, struct input *in)
{
    const size_t n = in->n, k = in->k, dp = in->dp, nb = in->n_blocks;
    *t = (struct team){.in = in, .n_threads = 1, .best_inertia = INFINITY};
    t->labels = malloc(n * sizeof *t->labels);
    t->upper = malloc(n * sizeof *t->upper);
    t->lower = malloc(n * sizeof *t->lower);
    t->closest = malloc((size_t)in->m * sizeof *t->closest);
    if (in->m < n)
        t->sample = aligned_calloc((size_t)in->m * dp * sizeof(float));
    /* NOLINTNEXTLINE(clang-analyzer-optin.portability.UnixAPI): nb >= 1, as n >= 1 (kmeans_run) */
    t->sums = calloc(nb * k * dp, sizeof *t->sums);
    t->sq = calloc(nb * k, sizeof *t->sq);
    t->counts = calloc(nb * k, sizeof *t->counts);
    size_t vb = nb > in->seed_blocks ? nb : in->seed_blocks;
    t->block_value = calloc(vb * in->trials, sizeof *t->block_value);
    t->closest_sum = calloc(vb, sizeof *t->closest_sum);
    t->changed = calloc(nb, sizeof *t->changed);
    t->scanned = calloc(nb, sizeof *t->scanned);
    t->tightened = calloc(nb, sizeof *t->tightened);
    t->centers = aligned_calloc(k * dp * sizeof(float));
    t->new_centers = aligned_calloc(k * dp * sizeof(float));
    t->ct = aligned_calloc(dp * in->kp * sizeof(float));
    t->cnorm = aligned_calloc(in->kp * sizeof(float));
    t->half_gap = malloc(k * sizeof *t->half_gap);
    t->drift = calloc(k, sizeof *t->drift);
    t->candidates = aligned_calloc((size_t)in->trials * dp * sizeof(float));
    t->best_centers = aligned_calloc(k * dp * sizeof(float));
    t->best_labels = malloc(n * sizeof *t->best_labels);
    if (!t->labels || !t->upper || !t->lower || !t->closest || (in->m < n && !t->sample) ||
        !t->sums || !t->sq || !t->counts || !t->block_value || !t->closest_sum || !t->changed ||
        !t->scanned || !t->tightened || !t->centers || !t->new_centers || !t->ct || !t->cnorm ||
        !t->half_gap || !t->drift || !t->candidates || !t->best_centers || !t->best_labels)
        return false;
    return true;
}

static void team_barriers(struct team *t)
{
    if (t->n_threads > 1) {
        pthread_barrier_init(&t->start, NULL, t->n_threads);
        pthread_barrier_init(&t->finish, NULL, t->n_threads);
        t->barriers = true;
    }
}

static uint32_t online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > (long)MAX_THREADS ? MAX_THREADS : (uint32_t)n;
}

/* How many teams: one per thread when the restarts share out well (and the per-row state of
 * that many teams fits TEAM_BUDGET), else one team of every thread. */
static uint32_t plan_teams(uint32_t threads, uint32_t restarts, uint32_t n, bool serial)
{
    if (serial || threads < 2 || restarts < 2)
        return 1;
    if (restarts % threads != 0 && restarts < 2 * threads)
        return 1;
    uint32_t teams = threads < restarts ? threads : restarts;
    size_t per_team = (size_t)n * 16 + (size_t)(n < SEED_SAMPLE ? n : SEED_SAMPLE) * 68;
    while (teams > 1 && per_team * teams > TEAM_BUDGET)
        teams--;
    return teams;
}

enum kmeans_status kmeans_run(const float *x, uint32_t n, uint32_t d,
                              const struct kmeans_options *o, struct kmeans_result *out, char *err,
                              size_t err_len)
{
    enum kmeans_status status = KMEANS_ERR_NOMEM;
    struct input in = {0};
    struct team teams[MAX_THREADS];
    struct thread_arg args[MAX_THREADS];
    pthread_t threads[MAX_THREADS];
    bool started[MAX_THREADS] = {false};
    uint32_t n_teams = 0, team_size = 1;
    float *padded = NULL, *xnorm = NULL;

    if (n == 0 || d == 0 || d > KMEANS_MAX_DIMS || o->k == 0 || o->k > KMEANS_MAX_K || o->k > n) {
        errbuf_set(err, err_len, "k-means: k %u must be in 1..min(%u, rows %u); dims %u in 1..%u",
                   o->k, KMEANS_MAX_K, n, d, KMEANS_MAX_DIMS);
        return KMEANS_ERR_INVALID;
    }
    in.n = n;
    in.d = d;
    in.dp = (d + 7) & ~7u;
    in.k = o->k;
    in.kp = (o->k + CH - 1) / CH * CH;
    in.o = o;
    in.trials = 2 + (uint32_t)log((double)o->k);
    in.max_iter = o->max_iter ? o->max_iter : KMEANS_DEFAULT_ITER;
    in.restarts = o->restarts ? o->restarts : 1;
    in.no_bounds = o->ablate & KMEANS_ABLATE_BOUNDS;
    const char *kernel;
    in.scan = pick_scan(o->ablate & KMEANS_ABLATE_SIMD, &kernel, &in.rows);
    /* Blocks depend on n, k and d only, never on the threads. */
    size_t block_bytes = (size_t)in.k * in.dp * sizeof(double);
    uint32_t max_blocks = MAX_BLOCKS;
    if (block_bytes * max_blocks > SUMS_BUDGET)
        max_blocks =
            (uint32_t)(SUMS_BUDGET / block_bytes) ? (uint32_t)(SUMS_BUDGET / block_bytes) : 1;
    in.block = (n + max_blocks - 1) / max_blocks;
    if (in.block < MIN_BLOCK)
        in.block = MIN_BLOCK;
    in.n_blocks = (n + in.block - 1) / in.block;
    in.m = n > SEED_SAMPLE ? SEED_SAMPLE : n;
    in.seed_block = (in.m + MAX_BLOCKS - 1) / MAX_BLOCKS;
    if (in.seed_block < MIN_BLOCK)
        in.seed_block = MIN_BLOCK;
    in.seed_blocks = (in.m + in.seed_block - 1) / in.seed_block;
    atomic_init(&in.next_restart, 0);
    pthread_mutex_init(&in.progress_lock, NULL);

    padded = aligned_alloc(64, ((size_t)n * in.dp * sizeof *padded + 63) & ~(size_t)63);
    xnorm = malloc((size_t)n * sizeof *xnorm);
    if (!padded || !xnorm) {
        errbuf_set(err, err_len, "k-means: out of memory for %u x %u rows", n, d);
        goto done;
    }
    /* The mean per-dimension variance, two passes over the rows (the tolerance's scale). */
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
    mean_var /= d;
    double tol = o->tol == 0 ? KMEANS_DEFAULT_TOL : (o->tol < 0 ? 0.0 : o->tol);
    in.tol_abs = tol * mean_var;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(padded + (size_t)i * in.dp, x + (size_t)i * d, d * sizeof(float));
        memset(padded + (size_t)i * in.dp + d, 0, (in.dp - d) * sizeof(float));
        float norm = 0.0f;
        for (uint32_t j = 0; j < d; j++)
            norm += x[(size_t)i * d + j] * x[(size_t)i * d + j];
        xnorm[i] = norm;
    }
    in.x = padded;
    in.xnorm = xnorm;

    uint32_t want = o->threads ? o->threads : online_cores();
    if (want > MAX_THREADS)
        want = MAX_THREADS;
    n_teams = plan_teams(want, in.restarts, n, o->ablate & KMEANS_ABLATE_PARALLEL_RESTARTS);
    team_size = want / n_teams;
    if (team_size > in.n_blocks)
        team_size = in.n_blocks;
    for (uint32_t t = 0; t < n_teams; t++) {
        if (!team_alloc(&teams[t], &in)) {
            n_teams = t + 1;
            errbuf_set(err, err_len, "k-means: out of memory for %u x %u rows", n, d);
            goto done;
        }
    }
    /* Start every thread but this one (the first team's leader). They wait for `ready`, so a
     * thread that cannot start only makes its team smaller (or, for a leader, drops its team):
     * the barriers are sized afterwards to the threads there are, and the result does not
     * depend on them. */
    pthread_mutex_init(&in.ready_lock, NULL);
    pthread_cond_init(&in.ready_cond, NULL);
    uint32_t live_teams = 0;
    for (uint32_t t = 0; t < n_teams; t++) {
        uint32_t members = 0;
        for (uint32_t m = 0; m < team_size; m++) {
            uint32_t slot = t * team_size + m;
            if (slot > 0) {
                args[slot] = (struct thread_arg){&teams[t], m};
                if (pthread_create(&threads[slot], NULL, thread_main, &args[slot]) != 0)
                    break;
                started[slot] = true;
            }
            members++;
        }
        if (members == 0)
            break;
        teams[t].n_threads = members;
        live_teams++;
    }
    for (uint32_t t = 0; t < live_teams; t++)
        team_barriers(&teams[t]);
    pthread_mutex_lock(&in.ready_lock);
    in.ready = true;
    pthread_cond_broadcast(&in.ready_cond);
    pthread_mutex_unlock(&in.ready_lock);
    team_lead(&teams[0]);
    for (uint32_t s = 1; s < n_teams * team_size; s++)
        if (started[s])
            pthread_join(threads[s], NULL);
    pthread_cond_destroy(&in.ready_cond);
    pthread_mutex_destroy(&in.ready_lock);

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
    out->centroids = malloc((size_t)in.k * d * sizeof(float));
    if (!out->centroids) {
        errbuf_set(err, err_len, "k-means: out of memory");
        goto done;
    }
    for (uint32_t c = 0; c < in.k; c++)
        memcpy(out->centroids + (size_t)c * d, w->best_centers + (size_t)c * in.dp,
               d * sizeof(float));
    out->labels = w->best_labels;
    w->best_labels = NULL;
    out->inertia = w->best_inertia;
    out->iterations = w->best_iterations;
    out->restart = w->best_restart;
    out->total_iterations = total_iterations;
    out->threads = used_threads;
    out->teams = live_teams;
    out->kernel = kernel;
    status = KMEANS_OK;
done:
    for (uint32_t t = 0; t < n_teams; t++)
        team_free(&teams[t]);
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
