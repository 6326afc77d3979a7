/* kmeans-bench: times reco-model's k-means (kmeans_run) on a matrix that `reco-model build
 * --dump-matrix` wrote, with each speed-up switched off in turn (KMEANS_ABLATE_*), so
 * tests/bench/kmeans/run.sh can show what each step pays. Prints one key=value line a run. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "kmeans.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Reads a little-endian float32 C-order .npy of shape (rows, dims). Returns NULL on error. */
static float *read_npy(const char *path, uint32_t *rows, uint32_t *dims)
{
    float *x = NULL;
    char header[512];
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "kmeans-bench: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    unsigned char pre[10];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY\x01\x00", 8) != 0)
        goto bad;
    size_t len = (size_t)pre[8] | (size_t)pre[9] << 8;
    if (len >= sizeof header || fread(header, 1, len, f) != len)
        goto bad;
    header[len] = '\0';
    const char *shape = strstr(header, "'shape': (");
    if (!strstr(header, "'<f4'") || !strstr(header, "False") || !shape ||
        sscanf(shape + 10, "%" SCNu32 ", %" SCNu32, rows, dims) != 2 || *rows == 0 || *dims == 0)
        goto bad;
    size_t count = (size_t)*rows * *dims;
    x = malloc(count * sizeof *x);
    if (!x || fread(x, sizeof *x, count, f) != count) {
        free(x);
        x = NULL;
        goto bad;
    }
    fclose(f);
    return x;
bad:
    fprintf(stderr, "kmeans-bench: %s is not a float32 (rows, dims) .npy\n", path);
    fclose(f);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: kmeans-bench MATRIX.npy [k] [restarts] [seed] [threads] "
                        "[ablate-bits]\n");
        return 2;
    }
    uint32_t n, d;
    float *x = read_npy(argv[1], &n, &d);
    if (!x)
        return 1;
    struct kmeans_options o = {
        .k = argc > 2 ? (uint32_t)atoi(argv[2]) : 20,
        .restarts = argc > 3 ? (uint32_t)atoi(argv[3]) : 10,
        .seed = argc > 4 ? (uint64_t)atoll(argv[4]) : 1,
        .threads = argc > 5 ? (uint32_t)atoi(argv[5]) : 0,
        .ablate = argc > 6 ? (uint32_t)atoi(argv[6]) : 0,
    };
    struct kmeans_result r = {0};
    char err[256];
    double cpu0 = cpu_seconds(), t0 = now();
    enum kmeans_status status = kmeans_run(x, n, d, &o, &r, err, sizeof err);
    double wall = now() - t0, cpu = cpu_seconds() - cpu0;
    free(x);
    if (status != KMEANS_OK) {
        fprintf(stderr, "kmeans-bench: %s\n", err);
        return 1;
    }
    printf("rows=%u dims=%u k=%u restarts=%u ablate=%u fit_seconds=%.3f cpu_seconds=%.3f "
           "inertia=%.6f total_iterations=%u kernel=%s threads=%u teams=%u rows_visited=%" PRIu64
           " rows_tightened=%" PRIu64 " rows_scanned=%" PRIu64 "\n",
           n, d, o.k, o.restarts, o.ablate, wall, cpu, r.inertia, r.total_iterations, r.kernel,
           r.threads, r.teams, r.rows_visited, r.rows_tightened, r.rows_scanned);
    kmeans_result_free(&r);
    return 0;
}
