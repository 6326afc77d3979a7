/* Threads and the work split of k-means (kmeans_internal.h): a team runs one restart at a time;
 * its leader drives the stages and hands each job (a pass over the blocks) to the members
 * through two barriers; blocks go to threads round-robin and every result is kept per block,
 * so the number of threads never changes a float. Restarts are shared out through a counter. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kmeans_internal.h"

#define TEAM_BUDGET ((size_t)2 << 30) /* bytes of per-row state over all teams */

static void run_share(struct team *t, uint32_t thread)
{
    bool seeding = t->job == JOB_SEED_POT || t->job == JOB_SEED_TAKE;
    uint32_t n_blocks = seeding ? t->in->seed_blocks : t->in->n_blocks;
    for (uint32_t b = thread; b < n_blocks; b += t->n_threads) {
        switch (t->job) {
        case JOB_SEED_POT:
            kmeans_seed_pot_block(t, b);
            break;
        case JOB_SEED_TAKE:
            kmeans_seed_take_block(t, b);
            break;
        case JOB_ASSIGN:
            kmeans_assign_block(t, b);
            break;
        case JOB_INERTIA:
            kmeans_inertia_block(t, b);
            break;
        }
    }
}

/* Runs a job on every thread of the team (the leader is thread 0) and waits for all. */
void kmeans_run_job(struct team *t, enum job job)
{
    t->job = job;
    if (t->n_threads > 1)
        pthread_barrier_wait(&t->start);
    run_share(t, 0);
    if (t->n_threads > 1)
        pthread_barrier_wait(&t->finish);
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
        double inertia = kmeans_run_once(t, r, &iterations);
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

void kmeans_team_free(struct team *t)
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

bool kmeans_team_alloc(struct team *t, struct input *in)
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

uint32_t kmeans_online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > (long)MAX_THREADS ? MAX_THREADS : (uint32_t)n;
}

/* How many teams: one per thread when the restarts share out well (and the per-row state of
 * that many teams fits TEAM_BUDGET), else one team of every thread. */
uint32_t kmeans_plan_teams(uint32_t threads, uint32_t restarts, uint32_t n, bool serial)
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

uint32_t kmeans_teams_run(struct team *teams, uint32_t n_teams, uint32_t team_size)
{
    struct input *in = teams[0].in;
    struct thread_arg args[MAX_THREADS];
    pthread_t threads[MAX_THREADS];
    bool started[MAX_THREADS] = {false};
    /* Start every thread but this one (the first team's leader). They wait for `ready`, so a
     * thread that cannot start only makes its team smaller (or, for a leader, drops its team):
     * the barriers are sized afterwards to the threads there are, and the result does not
     * depend on them. */
    pthread_mutex_init(&in->ready_lock, NULL);
    pthread_cond_init(&in->ready_cond, NULL);
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
    pthread_mutex_lock(&in->ready_lock);
    in->ready = true;
    pthread_cond_broadcast(&in->ready_cond);
    pthread_mutex_unlock(&in->ready_lock);
    team_lead(&teams[0]);
    for (uint32_t s = 1; s < n_teams * team_size; s++)
        if (started[s])
            pthread_join(threads[s], NULL);
    pthread_cond_destroy(&in->ready_cond);
    pthread_mutex_destroy(&in->ready_lock);
    return live_teams;
}
