/* k-means on a dense float matrix: greedy k-means++ seeding (as scikit-learn does it: 2 +
 * log(k) local trials per centre), Lloyd iterations until the centres move less than a
 * tolerance (Hamerly's bounds skip rows that cannot change centre), several restarts keeping
 * the lowest inertia. Runs on every core with a fixed
 * partition of rows into blocks reduced in block order, so a seed gives the same result on
 * any number of threads. */
#ifndef MIXTAPE_KMEANS_H
#define MIXTAPE_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#define KMEANS_MAX_K        4096u
#define KMEANS_MAX_DIMS     64u
#define KMEANS_DEFAULT_ITER 300u
#define KMEANS_DEFAULT_TOL  1e-4 /* times the mean per-dimension variance, like scikit-learn */

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
    /* Called after each Lloyd assignment with the inertia of that assignment (which never
     * rises within a restart). On the calling thread. May be NULL. */
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
};

/* Clusters the n x d row-major matrix x. On KMEANS_OK fills *out; otherwise writes a reason
 * into err. Blocks; runs on options->threads threads (fewer if some cannot start). */
enum kmeans_status kmeans_run(const float *x, uint32_t n, uint32_t d,
                              const struct kmeans_options *options, struct kmeans_result *out,
                              char *err, size_t err_len);

void kmeans_result_free(struct kmeans_result *result);

/* Chooses k from the data: runs k-means for k = k_min..k_max on a sample of at most
 * sample_rows rows and picks the elbow of the inertia curve (the k farthest from the chord
 * between the ends of the normalised curve). Writes *k_out and a one-line explanation into
 * reason. options gives seed, threads and restarts per k (k itself is ignored). Blocks. */
enum kmeans_status kmeans_choose_k(const float *x, uint32_t n, uint32_t d, uint32_t k_min,
                                   uint32_t k_max, uint32_t sample_rows,
                                   const struct kmeans_options *options, uint32_t *k_out,
                                   char *reason, size_t reason_len);

#endif
