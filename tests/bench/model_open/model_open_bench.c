/* model-open-bench: what opening a model costs now that model_open reads a private copy
 * (issue 12 item 6) against the shared mapping it replaced, side by side in one run on one
 * file: for --rounds rounds, in turn, (a) model_open + model_close as shipped (copy, header
 * checks, full validation), (b) the copy alone (model_load_file), (c) the old way's floor: a
 * populated private file mapping and the checksum over it (what the old model_open spent on a
 * mapping before its structure checks). Prints the median wall time and the median CPU time of
 * the opening thread (user + system) of each, in ms: on a shared, loaded machine the CPU time
 * is what the open costs, the wall time also counts waiting for a core. Also (d) the artist
 * index reco-service builds on each model it opens (recommend/artist_index.h), and (a) + (d),
 * the service's whole load. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "artist_index.h"
#include "model.h"
#include "model_build.h"
#include "model_load.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: model-open-bench MODEL [--rounds N]\n");
        return 2;
    }
    const char *path = argv[1];
    int rounds = argc > 3 && strcmp(argv[2], "--rounds") == 0 ? atoi(argv[3]) : 15;
    if (rounds < 1 || rounds > 1000)
        rounds = 15;
    double *open_ms = calloc((size_t)rounds, sizeof(double));
    double *copy_ms = calloc((size_t)rounds, sizeof(double));
    double *map_ms = calloc((size_t)rounds, sizeof(double));
    double *open_cpu = calloc((size_t)rounds, sizeof(double));
    double *copy_cpu = calloc((size_t)rounds, sizeof(double));
    double *map_cpu = calloc((size_t)rounds, sizeof(double));
    double *index_ms = calloc((size_t)rounds, sizeof(double));
    double *index_cpu = calloc((size_t)rounds, sizeof(double));
    double *load_ms = calloc((size_t)rounds, sizeof(double));
    double *load_cpu = calloc((size_t)rounds, sizeof(double));
    char err[512];
    uint32_t rows = 0;
    volatile uint64_t sink = 0;
    for (int i = 0; i < rounds; i++) {
        double t0 = now_ms(), c0 = cpu_ms();
        struct model *m = NULL;
        if (model_open(path, &m, err, sizeof err) != MODEL_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        rows = m->n_rows;
        double t1 = now_ms(), c1 = cpu_ms();
        struct reco_artist_index *index = NULL;
        if (reco_artist_index_open(m, &index) != RECO_OK) {
            fprintf(stderr, "artist index: out of memory\n");
            return 1;
        }
        index_ms[i] = now_ms() - t1;
        index_cpu[i] = cpu_ms() - c1;
        reco_artist_index_close(index);
        model_close(m);
        open_ms[i] = now_ms() - t0 - index_ms[i];
        open_cpu[i] = cpu_ms() - c0 - index_cpu[i];
        load_ms[i] = open_ms[i] + index_ms[i];
        load_cpu[i] = open_cpu[i] + index_cpu[i];

        t0 = now_ms();
        c0 = cpu_ms();
        unsigned char *bytes = NULL;
        size_t len = 0;
        if (model_load_file(path, MODEL_MAX_FILE_BYTES, &bytes, &len, err, sizeof err) !=
            MODEL_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        model_load_release(bytes, len);
        copy_ms[i] = now_ms() - t0;
        copy_cpu[i] = cpu_ms() - c0;

        t0 = now_ms();
        c0 = cpu_ms();
        int fd = open(path, O_RDONLY);
        struct stat st;
        fstat(fd, &st);
        void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        close(fd);
        if (map == MAP_FAILED)
            return 1;
        sink += model_checksum((const unsigned char *)map + 64, (size_t)st.st_size - 64);
        munmap(map, (size_t)st.st_size);
        map_ms[i] = now_ms() - t0;
        map_cpu[i] = cpu_ms() - c0;
    }
    (void)sink;
    printf("model %s rows=%u rounds=%d\n", path, rows, rounds);
    printf("  %-32s %10s %10s\n", "", "wall ms", "cpu ms");
    printf("  %-32s %10.1f %10.1f\n", "model_open (copy + validate)", median(open_ms, rounds),
           median(open_cpu, rounds));
    printf("  %-32s %10.1f %10.1f\n", "copy alone (model_load_file)", median(copy_ms, rounds),
           median(copy_cpu, rounds));
    printf("  %-32s %10.1f %10.1f\n", "old floor (mmap + checksum)", median(map_ms, rounds),
           median(map_cpu, rounds));
    printf("  %-32s %10.1f %10.1f\n", "artist index (reco-service)", median(index_ms, rounds),
           median(index_cpu, rounds));
    printf("  %-32s %10.1f %10.1f\n", "reco-service load (open + index)", median(load_ms, rounds),
           median(load_cpu, rounds));
    free(open_ms);
    free(copy_ms);
    free(map_ms);
    free(open_cpu);
    free(copy_cpu);
    free(map_cpu);
    free(index_ms);
    free(index_cpu);
    free(load_ms);
    free(load_cpu);
    return 0;
}
