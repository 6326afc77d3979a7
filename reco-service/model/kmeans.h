/* k-means on a dense float matrix: greedy k-means++ seeding (as scikit-learn does it: 2 +
 * log(k) local trials per centre), Lloyd iterations until the centres move less than a
 * tolerance (Hamerly's bounds skip rows that cannot change centre), several restarts keeping
 * the lowest inertia, run in parallel. Rows fall into fixed blocks reduced in block order, so
 * a seed gives the same result on any number of threads. */
#ifndef MIXTAPE_KMEANS_H
#define MIXTAPE_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#define KMEANS_MAX_K        4096u
#define KMEANS_MAX_DIMS     64u
#define KMEANS_DEFAULT_ITER 300u
#define KMEANS_DEFAULT_TOL  1e-4 /* times the mean per-dimension variance, like scikit-learn */
#define KMEANS_MAX_TRIALS   16u  /* k-means++ candidates per centre: 2 + log(k) <= 10 */

/* Switches a speed-up off, so the benchmark can measure what each one pays (kmeans_options
 * .ablate). The result is the same with any of them, up to float rounding of the scores. */
#define KMEANS_ABLATE_BOUNDS            1u /* score every row against every centre each time */
#define KMEANS_ABLATE_SIMD              2u /* the portable kernel, whatever the CPU has */
#define KMEANS_ABLATE_PARALLEL_RESTARTS 4u /* one restart at a time, its rows split over threads */

enum kmeans_status {
    KMEANS_OK = 0,
    KMEANS_ERR_INVALID, /* k, dims or sizes out of range (the message says which) */
    KMEANS_ERR_NOMEM,
};

const char *kmeans_strerror(enum kmeans_status status);

struct kmeans_options {
    uint32_t k;        /* 1..KMEANS_MAX_K, at most n */
    uint32_t restarts; /* independent seedings; 0 means 1 */
    uint32_t max_iter; /* 0 means KMEANS_DEFAULT_ITER */
    double tol;        /* relative tolerance; 0 means KMEANS_DEFAULT_TOL, < 0 means exactly 0 */
    uint64_t seed;
    uint32_t threads; /* 0 means every online core */
    uint32_t ablate;  /* KMEANS_ABLATE_* bits; 0 for normal use */
    /* Called after each Lloyd iteration with the inertia of that iteration's labels around
     * the centres it moved to (from running sums, so exact up to rounding; it never rises
     * within a restart). Restarts run in parallel: calls come from any of the run's threads,
     * one at a time (under a lock), and interleave between restarts. May be NULL. */
    void (*on_iteration)(void *ctx, uint32_t restart, uint32_t iteration, double inertia);
    void *ctx;
};

/* The best restart. Owned by the caller; free with kmeans_result_free. */
struct kmeans_result {
    float *centroids; /* k x d */
    uint32_t *labels; /* n */
    double inertia;   /* sum of squared distances to the assigned centroid */
    uint32_t iterations;
    uint32_t restart;          /* which restart won */
    uint32_t total_iterations; /* over all restarts */
    uint32_t threads;          /* threads that ran */
    uint32_t teams;            /* restarts that ran at once */
    const char *kernel;        /* the scan kernel used: "avx512", "avx2" or "generic" (static) */
    /* Work, over all restarts: row visits of the assignment steps, rows whose upper bound was
     * made exact, rows scored against every centre (the rest were skipped by the bounds). */
    uint64_t rows_visited, rows_tightened, rows_scanned;
};

/* Clusters the n x d row-major matrix x. On KMEANS_OK fills *out; otherwise writes a reason
 * into err. Blocks; runs on options->threads threads (fewer if some cannot start): one
 * restart per thread when the restarts share out evenly, else one restart at a time on all.
 * Memory: a padded copy of x plus about 16 bytes per row for each restart running at once. */
enum kmeans_status kmeans_run(const float *x, uint32_t n, uint32_t d,
                              const struct kmeans_options *options, struct kmeans_result *out,
                              char *err, size_t err_len);

void kmeans_result_free(struct kmeans_result *result);

/* The scan kernel this CPU gets ("avx512", "avx2" or "generic"); a static string. */
const char *kmeans_kernel_name(void);

/* Chooses k from the data: runs k-means for k = k_min..k_max on a sample of at most
 * sample_rows rows and picks the elbow of the inertia curve (the k farthest from the chord
 * between the ends of the normalised curve). Writes *k_out and a one-line explanation into
 * reason. options gives seed, threads and restarts per k (k itself is ignored). Blocks. */
enum kmeans_status kmeans_choose_k(const float *x, uint32_t n, uint32_t d, uint32_t k_min,
                                   uint32_t k_max, uint32_t sample_rows,
                                   const struct kmeans_options *options, uint32_t *k_out,
                                   char *reason, size_t reason_len);

#endif
