/* reco-service and its model file on a bad day (issue 12 items 6 and 7), with the real
 * binaries: the model overwritten in place under a running service (`cp half.model
 * live.model`, then garbage, then another model) never kills it and it keeps answering from
 * what it loaded; a FIFO, a directory or a 100 GB sparse file at the model path are refused at
 * start-up within a second with a line naming the problem; a SIGHUP reload onto a 20 GB sparse
 * file returns at once and keeps the old model; SIGTERM during the load of a 3 GB file ends the
 * process promptly. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "test_model.h"

static char dir[64], live[128], other[128], likes[128];
static char cli_bin[4096], service_bin[4096];

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void write_bytes(const char *path, const void *bytes, size_t len, int flags)
{
    int fd = open(path, O_WRONLY | O_CREAT | flags, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);
}

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

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/reco-model-file-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(cli_bin, sizeof cli_bin, "%s", harness_binary("bin/reco-cli"));
    snprintf(service_bin, sizeof service_bin, "%s", harness_binary("bin/reco-service"));
    snprintf(live, sizeof live, "%s/live.model", dir);
    snprintf(other, sizeof other, "%s/other.model", dir);
    snprintf(likes, sizeof likes, "%s/likes.txt", dir);
    if (test_model_write(live, 30000, 8, 1) != 0 || test_model_write(other, 30000, 8, 2) != 0)
        return -1;
    char text[4096] = "";
    for (uint32_t r = 0; r < 40; r++) {
        char id[23];
        test_model_id(r * 13, id);
        strcat(text, id);
        strcat(text, "\n");
    }
    write_bytes(likes, text, strlen(text), O_TRUNC);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* reco-cli recommend against addr: its stdout (a static buffer), or fails the test. */
static const char *recommend(char *addr)
{
    static char out[1 << 16], err[1 << 12];
    char *argv[] = {cli_bin, "--endpoint", addr, "recommend", likes, "-n", "20", NULL};
    int rc = harness_run(argv, out, sizeof out, err, sizeof err, 30000);
    if (rc != 0)
        fail_msg("reco-cli recommend: exit %d: %s", rc, err);
    return out;
}

static void test_overwrite_in_place(void **state)
{
    (void)state;
    struct harness_proc proc;
    char *argv[] = {service_bin, "--model", live, "--listen", "tcp://127.0.0.1:0", NULL};
    assert_int_equal(harness_start(&proc, argv, NULL, 20000), 0);
    char *before = strdup(recommend(proc.addr));
    size_t other_len;
    unsigned char *other_bytes = slurp(other, &other_len);
    /* `cp half.model live.model` (same inode, truncated then written): used to be SIGBUS */
    write_bytes(live, other_bytes, other_len / 2, O_TRUNC);
    assert_string_equal(recommend(proc.addr), before);
    write_bytes(live, "garbage", 7, O_TRUNC);
    assert_string_equal(recommend(proc.addr), before);
    write_bytes(live, other_bytes, other_len, O_TRUNC);
    assert_string_equal(recommend(proc.addr), before);
    int status;
    assert_false(harness_exited(&proc, &status));
    /* a reload now picks the new file up */
    kill(proc.pid, SIGHUP);
    struct timespec pause = {1, 0};
    nanosleep(&pause, NULL);
    assert_string_not_equal(recommend(proc.addr), before);
    assert_int_equal(harness_stop(&proc, 10000), 0);
    free(before);
    free(other_bytes);
}

/* reco-service --model path: the exit status and stderr, within deadline_ms. */
static int start_refused(char *path, char *err, size_t err_len, double *ms)
{
    char *argv[] = {service_bin, "--model", path, "--listen", "tcp://127.0.0.1:0", NULL};
    double t0 = now_ms();
    int rc = harness_run(argv, NULL, 0, err, err_len, 5000);
    *ms = now_ms() - t0;
    return rc;
}

static void sparse(const char *path, uint64_t size, const void *head, size_t head_len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    assert_int_equal(pwrite(fd, head, head_len, 0), (ssize_t)head_len);
    close(fd);
}

/* A real model's 64-byte header claiming len bytes. */
static void header_claiming(unsigned char header[64], uint64_t len)
{
    size_t n;
    unsigned char *bytes = slurp(other, &n);
    memcpy(header, bytes, 64);
    memcpy(header + 24, &len, sizeof len);
    free(bytes);
}

static void test_bad_paths_refused_at_start(void **state)
{
    (void)state;
    char fifo[128], huge[128], err[4096];
    snprintf(fifo, sizeof fifo, "%s/fifo.model", dir);
    snprintf(huge, sizeof huge, "%s/huge.model", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    sparse(huge, UINT64_C(100) << 30, "NOTAMODEL", 9);
    const struct {
        char *path;
        const char *says;
    } cases[] = {{fifo, "a FIFO, not a regular file"},
                 {dir, "a directory, not a regular file"},
                 {huge, "not a mixtape model (bad magic)"}};
    for (size_t i = 0; i < 3; i++) {
        double ms;
        int rc = start_refused(cases[i].path, err, sizeof err, &ms);
        if (rc <= 0 || rc >= 128 || !strstr(err, cases[i].says) || ms > 3000)
            fail_msg("%s: exit %d after %.0f ms: %s", cases[i].path, rc, ms, err);
    }
    unlink(huge);
    unlink(fifo);
}

static void test_reload_onto_huge_file(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/reload.model", dir);
    size_t n;
    unsigned char *bytes = slurp(other, &n);
    write_bytes(path, bytes, n, O_TRUNC);
    free(bytes);
    struct harness_proc proc;
    char *argv[] = {service_bin, "--model", path, "--listen", "tcp://127.0.0.1:0", NULL};
    assert_int_equal(harness_start(&proc, argv, NULL, 20000), 0);
    char *before = strdup(recommend(proc.addr));
    unsigned char header[64];
    header_claiming(header, UINT64_C(20) << 30);
    sparse(path, UINT64_C(20) << 30, header, sizeof header);
    double t0 = now_ms();
    kill(proc.pid, SIGHUP);
    /* answered right after, with the model it had */
    assert_string_equal(recommend(proc.addr), before);
    double ms = now_ms() - t0;
    print_message("reload onto a 20 GB file: old model answering after %.0f ms\n", ms);
    assert_true(ms < 3000);
    assert_int_equal(harness_stop(&proc, 10000), 0);
    free(before);
    unlink(path);
}

static void test_sigterm_during_a_long_load(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/slow.model", dir);
    unsigned char header[64];
    header_claiming(header, UINT64_C(3) << 30); /* under the 4 GiB cap: read whole */
    sparse(path, UINT64_C(3) << 30, header, sizeof header);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl(service_bin, service_bin, "--model", path, "--listen", "tcp://127.0.0.1:0",
              (char *)NULL);
        _exit(127);
    }
    struct timespec pause = {0, 150000000};
    nanosleep(&pause, NULL);
    double t0 = now_ms();
    kill(pid, SIGTERM);
    int status = 0;
    pid_t done = 0;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() - t0 < 5000) {
        struct timespec step = {0, 10000000};
        nanosleep(&step, NULL);
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("reco-service ignored SIGTERM while loading a 3 GB model");
    }
    print_message("SIGTERM during a 3 GB load: exited after %.0f ms\n", now_ms() - t0);
    assert_true(now_ms() - t0 < 2000);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overwrite_in_place),
        cmocka_unit_test(test_bad_paths_refused_at_start),
        cmocka_unit_test(test_reload_onto_huge_file),
        cmocka_unit_test(test_sigterm_during_a_long_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
