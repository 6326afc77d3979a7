/* What the k-means files share (private to reco-service/model): the run's input and parameters
 * (struct input), a team's state (struct team), the distance and bound helpers every stage
 * uses, and the functions each file gives the others. kmeans.c is the entry; see its top. */
#ifndef MIXTAPE_KMEANS_INTERNAL_H
#define MIXTAPE_KMEANS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmeans.h"

#define MAX_THREADS 64u
#define NO_LABEL    UINT32_MAX
#define SEED_SAMPLE 131072u /* rows k-means++ seeds from at most */
#define CH          8u      /* centres the scan kernel scores at once; k is padded to a multiple */
#define MAX_ROWS    16u     /* rows the scan kernel scores at once, at most (AVX-512's lanes) */

typedef float vf8 __attribute__((vector_size(32), aligned(32)));

/* xt: d x rows (row r's dimension j at xt[j * rows + r]); ct: d x kp, the centres transposed
 * and times -2; cnorm: kp. Writes each row's best centre (ties to the lower index) and its
 * best and second-best scores. */
typedef void scan_fn(const float *xt, uint32_t d, const float *ct, const float *cnorm, uint32_t kp,
                     uint32_t *best, float *best_s, float *second_s);

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

static inline void block_range(const struct input *in, uint32_t b, uint32_t *lo, uint32_t *hi)
{
    *lo = b * in->block;
    *hi = *lo + in->block < in->n ? *lo + in->block : in->n;
}

/* The seeding's blocks: the same rule over the m rows it draws from. */
static inline void seed_range(const struct input *in, uint32_t b, uint32_t *lo, uint32_t *hi)
{
    *lo = b * in->seed_block;
    *hi = *lo + in->seed_block < in->m ? *lo + in->seed_block : in->m;
}

/* ---- what each file gives the others ----------------------------------------------------- */

/* kmeans_scan.c: the kernel for this CPU (the portable one when generic), its name (static)
 * and how many rows it scores at once. */
scan_fn *kmeans_pick_scan(bool generic, const char **name, uint32_t *rows);

/* kmeans_seed.c: greedy k-means++ into t->centers (the team's threads must be running). */
void kmeans_seed(struct team *t, uint64_t *rng);
/* kmeans_seed.c: one block of JOB_SEED_POT / JOB_SEED_TAKE. */
void kmeans_seed_pot_block(struct team *t, uint32_t b);
void kmeans_seed_take_block(struct team *t, uint32_t b);

/* kmeans_assign.c: one assignment step to t->centers on every thread of the team; returns the
 * rows that changed centre. */
uint32_t kmeans_assign(struct team *t);
/* kmeans_assign.c: one block of JOB_ASSIGN / JOB_INERTIA. */
void kmeans_assign_block(struct team *t, uint32_t b);
void kmeans_inertia_block(struct team *t, uint32_t b);

/* kmeans_lloyd.c: restart number `restart` on the team (its threads running): a seeding, Lloyd
 * iterations until converged or max_iter, a last assignment. Leaves the centres in t->centers
 * and the labels in t->labels, the iterations in *iterations; returns the exact inertia. */
double kmeans_run_once(struct team *t, uint32_t restart, uint32_t *iterations);

/* kmeans_team.c: runs job over the blocks on every thread of the team (the caller, its leader,
 * is thread 0) and returns when all are done. */
void kmeans_run_job(struct team *t, enum job job);
/* kmeans_team.c: the online cores, 1..MAX_THREADS. */
uint32_t kmeans_online_cores(void);
/* kmeans_team.c: how many teams for that many threads: one per thread (at most one per
 * restart, fewer when their per-row state would not fit) when the restarts share out well,
 * else 1; always 1 when serial. */
uint32_t kmeans_plan_teams(uint32_t threads, uint32_t restarts, uint32_t n, bool serial);
/* kmeans_team.c: sets up a team for the run (every array; n_threads 1). Returns false when out
 * of memory; kmeans_team_free frees what it got either way. */
bool kmeans_team_alloc(struct team *t, struct input *in);
void kmeans_team_free(struct team *t);
/* kmeans_team.c: runs every restart on n_teams teams of team_size threads, the caller leading the first;
 * blocks until all are done. A thread that cannot start makes its team smaller, a leader that
 * cannot start drops its team and the later ones. Returns the teams that ran (at least 1). */
uint32_t kmeans_teams_run(struct team *teams, uint32_t n_teams, uint32_t team_size);

#endif
