/* Opening a model safely: a model overwritten or truncated in place after model_open stays
 * readable (a private copy, no SIGBUS); a FIFO, a directory and a device are refused at once
 * (a FIFO used to hang the open); a 100 GB sparse file with a bad header and a 20 GB one with a
 * plausible header are refused in well under a second, without reading them; a pending SIGTERM
 * stops a long load. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "model.h"
#include "model_build.h"
#include "model_load.h"
#include "test_model.h"

static char dir[64];

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void path_in_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/model_load_test.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The whole file into a malloc'd buffer. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* `cp half.model live.model`: the same inode truncated and rewritten with other bytes. */
static void overwrite_in_place(const char *path, const unsigned char *bytes, size_t len)
{
    int fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);
}

static void test_overwrite_in_place_keeps_serving(void **state)
{
    (void)state;
    char live[128], other[128];
    path_in_dir(live, sizeof live, "live.model");
    path_in_dir(other, sizeof other, "other.model");
    assert_int_equal(test_model_write(live, 20000, 8, 1), 0);
    assert_int_equal(test_model_write(other, 20000, 8, 2), 0);
    struct model *m = NULL;
    char err[512] = "";
    assert_int_equal(model_open(live, &m, err, sizeof err), MODEL_OK);
    char version[32];
    snprintf(version, sizeof version, "%s", m->version);
    size_t other_len;
    unsigned char *other_bytes = slurp(other, &other_len);
    /* half a model, then nothing at all, then another model: every row still reads as before */
    overwrite_in_place(live, other_bytes, other_len / 2);
    overwrite_in_place(live, other_bytes, 0);
    overwrite_in_place(live, other_bytes, other_len);
    char id[23];
    for (uint32_t row = 0; row < m->n_rows; row++) {
        test_model_id(row, id);
        uint32_t found = model_find_id(m, id);
        assert_true(found < m->n_rows);
        assert_string_equal(model_row_id(m, found), id);
    }
    assert_string_equal(m->version, version);
    assert_int_equal(model_checksum((const unsigned char *)m->map + 64, m->map_len - 64),
                     strtoull(version, NULL, 16));
    model_close(m);
    free(other_bytes);
}

struct open_run {
    const char *path;
    enum model_status status;
    char err[512];
    double ms;
};

static void *open_in_thread(void *arg)
{
    struct open_run *run = arg;
    struct model *m = NULL;
    double t0 = now_ms();
    run->status = model_open(run->path, &m, run->err, sizeof run->err);
    run->ms = now_ms() - t0;
    model_close(m);
    return NULL;
}

/* model_open(path) on a thread, given at most 3 s (a FIFO used to block forever). */
static struct open_run open_with_deadline(const char *path)
{
    struct open_run run = {.path = path, .status = MODEL_OK, .ms = -1};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, open_in_thread, &run), 0);
    for (int i = 0; i < 300 && run.ms < 0; i++) {
        struct timespec pause = {0, 10000000};
        nanosleep(&pause, NULL);
    }
    if (run.ms < 0) {
        /* unblock a FIFO open so the thread can end, then fail */
        int fd = open(path, O_WRONLY | O_NONBLOCK);
        pthread_join(thread, NULL);
        if (fd >= 0)
            close(fd);
        fail_msg("model_open(%s) did not return within 3 s", path);
    }
    pthread_join(thread, NULL);
    return run;
}

static void test_non_regular_files_refused(void **state)
{
    (void)state;
    char fifo[128];
    path_in_dir(fifo, sizeof fifo, "fifo.model");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    static const struct {
        const char *kind;
    } kinds[] = {{"a FIFO"}, {"a directory"}, {"a character device"}};
    const char *paths[] = {fifo, dir, "/dev/null"};
    for (size_t i = 0; i < 3; i++) {
        struct open_run run = open_with_deadline(paths[i]);
        assert_int_equal(run.status, MODEL_ERR_IO);
        if (!strstr(run.err, kinds[i].kind) || !strstr(run.err, "not a regular file"))
            fail_msg("%s: message \"%s\" does not say %s", paths[i], run.err, kinds[i].kind);
        assert_true(run.ms < 1000);
    }
}

/* A sparse file of size bytes starting with head (head_len bytes). */
static void sparse_file(const char *path, uint64_t size, const void *head, size_t head_len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    if (ftruncate(fd, (off_t)size) != 0)
        fail_msg("ftruncate %s to %llu: %s", path, (unsigned long long)size, strerror(errno));
    assert_int_equal(pwrite(fd, head, head_len, 0), (ssize_t)head_len);
    close(fd);
}

/* The first 64 bytes of a real model with its file length set to len. */
static void plausible_header(unsigned char header[64], uint64_t len)
{
    char path[128];
    path_in_dir(path, sizeof path, "header.model");
    assert_int_equal(test_model_write(path, 200, 2, 3), 0);
    size_t n;
    unsigned char *bytes = slurp(path, &n);
    memcpy(header, bytes, 64);
    memcpy(header + 24, &len, sizeof len); /* file_len */
    free(bytes);
}

static void test_huge_files_refused_fast(void **state)
{
    (void)state;
    char path[128];
    path_in_dir(path, sizeof path, "huge.model");
    /* 100 GB of holes behind a foreign header */
    sparse_file(path, UINT64_C(100) << 30, "NOTAMODEL", 9);
    struct open_run run = open_with_deadline(path);
    assert_int_equal(run.status, MODEL_ERR_FOREIGN);
    assert_true(run.ms < 500);
    /* 20 GB behind a header that says 20 GB: over the size limit */
    unsigned char header[64];
    plausible_header(header, UINT64_C(20) << 30);
    sparse_file(path, UINT64_C(20) << 30, header, sizeof header);
    run = open_with_deadline(path);
    assert_int_equal(run.status, MODEL_ERR_IO);
    assert_non_null(strstr(run.err, "file too large"));
    assert_non_null(strstr(run.err, "the limit is 4294967296"));
    assert_true(run.ms < 500);
    /* 3 GB behind a header that says 1 GB: refused before reading */
    plausible_header(header, UINT64_C(1) << 30);
    sparse_file(path, UINT64_C(3) << 30, header, sizeof header);
    run = open_with_deadline(path);
    if (run.status != MODEL_ERR_CORRUPT)
        fail_msg("3 GB file, 1 GB header: %s", run.err);
    assert_non_null(strstr(run.err, "header says 1073741824 bytes"));
    assert_true(run.ms < 500);
    unlink(path);
}

static void test_pending_sigterm_stops_a_long_load(void **state)
{
    (void)state;
    char path[128];
    path_in_dir(path, sizeof path, "slow.model");
    unsigned char header[64];
    uint64_t size = UINT64_C(3) << 30; /* under the limit: it would be read whole */
    plausible_header(header, size);
    sparse_file(path, size, header, sizeof header);
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
    assert_int_equal(pthread_kill(pthread_self(), SIGTERM), 0);
    unsigned char *bytes = NULL;
    size_t len = 0;
    char err[512] = "";
    double t0 = now_ms();
    enum model_status st =
        model_load_file(path, MODEL_MAX_FILE_BYTES, &bytes, &len, err, sizeof err);
    double ms = now_ms() - t0;
    assert_int_equal(st, MODEL_ERR_IO);
    assert_non_null(strstr(err, "loading stopped by SIGTERM"));
    assert_true(ms < 500);
    /* the signal is still pending for the caller's sigwait */
    struct timespec zero = {0, 0};
    assert_int_equal(sigtimedwait(&term, NULL, &zero), SIGTERM);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overwrite_in_place_keeps_serving),
        cmocka_unit_test(test_non_regular_files_refused),
        cmocka_unit_test(test_huge_files_refused_fast),
        cmocka_unit_test(test_pending_sigterm_stops_a_long_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
