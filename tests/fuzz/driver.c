/* A standalone driver for the fuzz targets, so they run in ctest with any compiler:
 * replays every file of the corpus directories given on the command line, then feeds
 * deterministic mutations of them (bit flips, truncations, insertions, splices) for
 * MIXTAPE_FUZZ_ITERATIONS rounds (default 20000). Under the sanitizers, any memory or
 * undefined-behaviour bug aborts the run. With clang, the same targets also build against
 * libFuzzer (-DMIXTAPE_LIBFUZZER=ON) for open-ended fuzzing. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "splitmix64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (1u << 20)

struct corpus {
    uint8_t **inputs;
    size_t *sizes;
    size_t count;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void)
{
    /* splitmix64: deterministic, so a failing round can be replayed. */
    return splitmix64_next(&rng_state);
}

static void add_file(struct corpus *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    uint8_t *bytes = malloc(FUZZ_MAX_INPUT);
    size_t n = bytes ? fread(bytes, 1, FUZZ_MAX_INPUT, f) : 0;
    fclose(f);
    if (!bytes)
        return;
    c->inputs = realloc(c->inputs, (c->count + 1) * sizeof *c->inputs);
    c->sizes = realloc(c->sizes, (c->count + 1) * sizeof *c->sizes);
    if (!c->inputs || !c->sizes) {
        fprintf(stderr, "fuzz driver: out of memory\n");
        exit(2);
    }
    c->inputs[c->count] = bytes;
    c->sizes[c->count] = n;
    c->count++;
}

static void add_path(struct corpus *c, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "fuzz driver: no such corpus path %s\n", path);
        exit(2);
    }
    if (!S_ISDIR(st.st_mode)) {
        add_file(c, path);
        return;
    }
    DIR *dir = opendir(path);
    struct dirent *entry;
    while (dir && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        add_file(c, child);
    }
    if (dir)
        closedir(dir);
}

static size_t mutate(uint8_t *buf, size_t size, const struct corpus *c)
{
    int edits = 1 + (int)(next_random() % 8);
    for (int e = 0; e < edits; e++) {
        switch (next_random() % 6) {
        case 0: /* flip a bit */
            if (size)
                buf[next_random() % size] ^= (uint8_t)(1u << (next_random() % 8));
            break;
        case 1: /* truncate */
            if (size)
                size = next_random() % size;
            break;
        case 2: /* set a byte to an interesting value */
            if (size) {
                static const uint8_t interesting[] = {0, 0xff, 0x7f, 0x80, ',', '"', '\n', '['};
                buf[next_random() % size] = interesting[next_random() % sizeof interesting];
            }
            break;
        case 3: /* insert random bytes */
            if (size + 16 < FUZZ_MAX_INPUT) {
                size_t at = size ? next_random() % size : 0;
                size_t n = 1 + next_random() % 16;
                memmove(buf + at + n, buf + at, size - at);
                for (size_t i = 0; i < n; i++)
                    buf[at + i] = (uint8_t)next_random();
                size += n;
            }
            break;
        case 4: /* splice in part of another corpus entry */
            if (c->count) {
                size_t other = next_random() % c->count;
                size_t from = c->sizes[other] ? next_random() % c->sizes[other] : 0;
                size_t n = c->sizes[other] - from;
                size_t at = size ? next_random() % size : 0;
                if (n > 256)
                    n = 256;
                if (at + n < FUZZ_MAX_INPUT) {
                    memcpy(buf + at, c->inputs[other] + from, n);
                    if (at + n > size)
                        size = at + n;
                }
            }
            break;
        default: /* duplicate a chunk */
            if (size && size * 2 < FUZZ_MAX_INPUT) {
                size_t from = next_random() % size;
                size_t n = (size - from) > 64 ? 64 : size - from;
                memmove(buf + from + n, buf + from, size - from);
                size += n;
            }
            break;
        }
    }
    return size;
}

int main(int argc, char **argv)
{
    struct corpus c = {0};
    for (int i = 1; i < argc; i++)
        add_path(&c, argv[i]);
    if (c.count == 0) {
        fprintf(stderr, "fuzz driver: empty corpus\n");
        return 2;
    }
    for (size_t i = 0; i < c.count; i++)
        LLVMFuzzerTestOneInput(c.inputs[i], c.sizes[i]);

    const char *env = getenv("MIXTAPE_FUZZ_ITERATIONS");
    long iterations = env ? strtol(env, NULL, 10) : 20000;
    uint8_t *buf = malloc(FUZZ_MAX_INPUT);
    if (!buf)
        return 2;
    for (long round = 0; round < iterations; round++) {
        size_t pick = next_random() % c.count;
        size_t size = c.sizes[pick];
        memcpy(buf, c.inputs[pick], size);
        size = mutate(buf, size, &c);
        LLVMFuzzerTestOneInput(buf, size);
    }
    printf("fuzz driver: %zu corpus inputs and %ld mutations ran clean\n", c.count, iterations);
    free(buf);
    for (size_t i = 0; i < c.count; i++)
        free(c.inputs[i]);
    free(c.inputs);
    free(c.sizes);
    return 0;
}
