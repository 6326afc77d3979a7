/* reco-service under attack and bad days, the real binary on loopback (issues 12, 14, 16):
 * a client pipelining 200 Recommend requests and never reading; 30 connections announcing
 * 32 MiB messages and sending most of them (and messages just under the limit); a method name
 * with a newline; a frozen-then-thawed instance, which must compute no request whose deadline
 * had passed; a full queue; the HTTP probe port. Throughout, a normal client must be served
 * within 1 s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "reco.pb-c.h"
#include "rpc.h"
#include "rpc_envelope.h"
#include "test_model.h"

#define ROWS 20000u
#define K    8u

static char model_path[320];
static char work_dir[256];
static char service_bin[4096];

static char *mutable(const char *s)
{
    return (char *)(uintptr_t)s;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state)
{
    (void)state;
    snprintf(service_bin, sizeof service_bin, "%s", harness_binary("bin/reco-service"));
    snprintf(work_dir, sizeof work_dir, "/tmp/reco_hard_%d", (int)getpid());
    if (mkdir(work_dir, 0700) != 0)
        return -1;
    snprintf(model_path, sizeof model_path, "%s/model.bin", work_dir);
    signal(SIGPIPE, SIG_IGN);
    return test_model_write(model_path, ROWS, K, 1);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Starts reco-service with extra flags; if log_path is set its stderr goes there. */
static void start_service(struct harness_proc *proc, const char *const *extra, const char *log_path)
{
    char *argv[40] = {service_bin, "--model", model_path, "--listen", "tcp://127.0.0.1:0"};
    int argc = 5;
    for (; extra && *extra && argc < 38; extra++)
        argv[argc++] = mutable(*extra);
    argv[argc] = NULL;
    int saved = -1;
    if (log_path) {
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    int rv = harness_start(proc, argv, NULL, 30000);
    if (log_path) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
    assert_int_equal(rv, 0);
}

static int port_of(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    assert_non_null(colon);
    return atoi(colon + 1);
}

/* A RecommendRequest envelope for count saved ids from row first, n picks. */
static uint8_t *recommend_envelope(uint64_t id, uint32_t first, uint32_t count, uint32_t n,
                                   uint32_t timeout_ms, size_t *len)
{
    Mixtape__Reco__SavedTrack *tracks = calloc(count + 1, sizeof *tracks);
    Mixtape__Reco__SavedTrack **ptrs = calloc(count + 1, sizeof *ptrs);
    char(*ids)[23] = calloc(count + 1, 23);
    for (uint32_t i = 0; i < count; i++) {
        mixtape__reco__saved_track__init(&tracks[i]);
        test_model_id((first + i * 7) % ROWS, ids[i]);
        tracks[i].id = ids[i];
        ptrs[i] = &tracks[i];
    }
    Mixtape__Reco__RecommendRequest req = MIXTAPE__RECO__RECOMMEND_REQUEST__INIT;
    req.saved = ptrs;
    req.n_saved = count;
    req.has_n = 1;
    req.n = n;
    size_t plen = mixtape__reco__recommend_request__get_packed_size(&req);
    uint8_t *payload = malloc(plen + 1);
    mixtape__reco__recommend_request__pack(&req, payload);
    uint8_t *bytes = NULL;
    assert_int_equal(rpc_request_encode(id, "Recommend", timeout_ms, payload, plen, &bytes, len),
                     0);
    free(payload);
    free(tracks);
    free(ptrs);
    free(ids);
    return bytes;
}

/* One Recommend through the real client; returns its time in ms, or -1 when not OK. */
static int64_t timed_recommend(struct rpc_client *client, uint32_t timeout_ms)
{
    static uint8_t *payload;
    static size_t payload_len;
    if (!payload) {
        size_t len;
        uint8_t *env = recommend_envelope(1, 10, 50, 20, 1000, &len);
        struct rpc_request req;
        char err[256];
        assert_int_equal(rpc_request_decode(env, len, len, &req, err, sizeof err), RPC_OK);
        payload = malloc(req.payload_len);
        memcpy(payload, req.payload, req.payload_len);
        payload_len = req.payload_len;
        rpc_request_free(&req);
        free(env);
    }
    int64_t start = mono_ms();
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    char *message = NULL;
    enum rpc_code code = rpc_call(client, "Recommend", payload, payload_len, timeout_ms, &reply,
                                  &reply_len, &message, NULL);
    int64_t took = mono_ms() - start;
    if (code != RPC_OK)
        fprintf(stderr, "normal client: %s %s after %lld ms\n", rpc_code_name(code),
                message ? message : "", (long long)took);
    free(reply);
    free(message);
    return code == RPC_OK ? took : -1;
}

/* The normal user: calls for seconds, every call must be OK within 1 s. Returns the worst. */
static int64_t normal_user_for(const char *addr, int seconds)
{
    struct rpc_client *client = NULL;
    char err[256];
    assert_int_equal(rpc_client_open(&client, addr, err, sizeof err), RPC_OK);
    int64_t worst = 0, end = mono_ms() + seconds * 1000;
    int calls = 0;
    while (mono_ms() < end) {
        int64_t took = timed_recommend(client, 5000);
        if (took < 0 || took > 1000)
            fail_msg("normal call %d: %s after %lld ms", calls, took < 0 ? "failed" : "slow",
                     (long long)took);
        if (took > worst)
            worst = took;
        calls++;
        nng_msleep(20);
    }
    rpc_client_close(client);
    fprintf(stderr, "normal user: %d calls, worst %lld ms\n", calls, (long long)worst);
    return worst;
}

/* A raw SP-over-TCP connection speaking req0 by hand: connects, handshakes. rcvbuf > 0 sets
 * a small receive buffer first (a peer that reads nothing fills up fast). Returns the fd. */
static int sp_connect(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    const uint8_t hello[8] = {0, 'S', 'P', 0, 0, 48 /* req0 */, 0, 0};
    assert_int_equal(write(fd, hello, 8), 8);
    uint8_t theirs[8];
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(read(fd, theirs, 8), 8);
    assert_int_equal(theirs[5], 49); /* rep0 */
    return fd;
}

/* Writes all of buf; returns 0, or -1 when the peer is gone. */
static int write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sends one req0 message: 8-byte length, 4-byte request id (high bit set), the envelope. */
static int sp_send(int fd, uint32_t req_id, const uint8_t *body, size_t len)
{
    uint8_t head[12];
    uint64_t total = len + 4;
    for (int i = 0; i < 8; i++)
        head[i] = (uint8_t)(total >> (56 - 8 * i));
    uint32_t id = req_id | 0x80000000u;
    head[8] = (uint8_t)(id >> 24);
    head[9] = (uint8_t)(id >> 16);
    head[10] = (uint8_t)(id >> 8);
    head[11] = (uint8_t)id;
    if (write_all(fd, head, sizeof head) != 0)
        return -1;
    return write_all(fd, body, len);
}

/* ThreadSanitizer keeps shadow memory for every byte the service touches (several times the
 * bytes themselves), so its RSS bounds scale by this factor; without the caps the service held
 * ten times the bound (738 MB for the 32 MiB announcements), which still fails. */
#if defined(__SANITIZE_THREAD__)
#define RSS_FACTOR 5
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RSS_FACTOR 5
#endif
#endif
#ifndef RSS_FACTOR
#define RSS_FACTOR 1
#endif

/* VmRSS of pid in KiB. */
static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* GET path from the HTTP port; returns the whole answer (malloc'd). */
static char *http_get(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char req[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    assert_int_equal(write_all(fd, req, strlen(req)), 0);
    size_t cap = 1 << 20, used = 0;
    char *buf = calloc(1, cap);
    for (;;) {
        ssize_t n = read(fd, buf + used, cap - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        char *body = strstr(buf, "\r\n\r\n");
        const char *cl = strstr(buf, "Content-Length: ");
        if (body && cl && used >= (size_t)(body + 4 - buf) + (size_t)atol(cl + 16))
            break;
    }
    close(fd);
    return buf;
}

/* The value of a metric line "name value" (name includes any labels), or -1. */
static double metric(const char *text, const char *name)
{
    char key[300];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *at = strstr(text, key);
    return at ? atof(at + strlen(key)) : -1;
}

static int http_port_of(const struct harness_proc *proc)
{
    const char *http = strstr(proc->ready_line, "http=");
    assert_non_null(http);
    return atoi(strrchr(http, ':') + 1);
}

/* Issue 12 item 2: one connection pipelines 200 Recommend (n=500) and reads nothing. */
static void test_non_reading_client(void **state)
{
    (void)state;
    struct harness_proc proc;
    static const char *const flags[] = {"--workers", "2", "--http-listen", "127.0.0.1:0", NULL};
    start_service(&proc, flags, NULL);
    int port = port_of(proc.addr);
    size_t len;
    uint8_t *env = recommend_envelope(1, 0, 200, 500, 60000, &len);
    int attackers[3];
    for (int a = 0; a < 3; a++) {
        attackers[a] = sp_connect(port, 4096);
        for (uint32_t i = 0; i < 200; i++)
            if (sp_send(attackers[a], i + 1, env, len) != 0)
                break; /* already cut off: fine */
    }
    free(env);
    normal_user_for(proc.addr, 4);
    char *m = http_get(http_port_of(&proc), "/metrics");
    double closed = metric(m, "mixtape_reco_connections_closed_total{reason=\"send_backlog\"}") +
                    metric(m, "mixtape_reco_connections_closed_total{reason=\"send_timeout\"}");
    free(m);
    fprintf(stderr, "non-reading connections closed: %.0f\n", closed);
    assert_false(harness_exited(&proc, NULL));
    /* Stopped while the attackers are still connected: the drain must not wait on them (their
     * replies time out and the service closes them). Closing them from this side first races
     * nng 1.5.2's reply hand-off against the pipe closing, which can lose one reply. */
    int status = harness_stop(&proc, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int a = 0; a < 3; a++)
        close(attackers[a]);
}

/* Issue 12 item 4: partial messages must not pin memory. */
static void test_partial_messages(void **state)
{
    (void)state;
    struct harness_proc proc;
    /* 2,000 saved tracks: the largest request is 2000 * 512 + 64 KiB, about 1.1 MB. */
    static const char *const flags[] = {
        "--workers",         "2",  "--max-saved", "2000", "--idle-timeout-ms", "1500",
        "--max-connections", "20", NULL};
    start_service(&proc, flags, NULL);
    int port = port_of(proc.addr);
    long before = rss_kib(proc.pid);
    size_t chunk_len = 1 << 20;
    uint8_t *chunk = calloc(1, chunk_len);

    /* 30 connections announce 32 MiB and send 30 MiB: refused at the header, unallocated. */
    int fds[30];
    for (int c = 0; c < 30; c++) {
        fds[c] = sp_connect(port, 0);
        uint8_t head[8];
        uint64_t total = 32ull << 20;
        for (int i = 0; i < 8; i++)
            head[i] = (uint8_t)(total >> (56 - 8 * i));
        write_all(fds[c], head, 8);
    }
    long peak = before;
    for (int mib = 0; mib < 30; mib++)
        for (int c = 0; c < 30; c++)
            if (fds[c] >= 0 && write_all(fds[c], chunk, chunk_len) != 0) {
                close(fds[c]);
                fds[c] = -1; /* dropped by the service */
            }
    int dropped = 0;
    for (int c = 0; c < 30; c++) {
        dropped += fds[c] < 0;
        if (fds[c] >= 0)
            close(fds[c]);
    }
    long now = rss_kib(proc.pid);
    peak = now > peak ? now : peak;
    fprintf(stderr, "32 MiB announcements: rss %ld -> %ld KiB, %d of 30 dropped while sending\n",
            before, now, dropped);
    assert_true(peak - before < RSS_FACTOR * 64 * 1024);
    normal_user_for(proc.addr, 1);

    /* Just under the limit: 30 connections (20 allowed) each send all but 1 KiB of a 1 MB
     * message and stall. Memory is capped per connection and by the connection limit, and
     * the stalled ones are closed after the idle timeout. */
    size_t announce = 1000000;
    for (int c = 0; c < 30; c++) {
        fds[c] = sp_connect(port, 0);
        uint8_t head[8];
        for (int i = 0; i < 8; i++)
            head[i] = (uint8_t)((uint64_t)announce >> (56 - 8 * i));
        if (write_all(fds[c], head, 8) != 0 || write_all(fds[c], chunk, announce - 1024) != 0) {
            close(fds[c]);
            fds[c] = -1;
        }
    }
    now = rss_kib(proc.pid);
    fprintf(stderr, "stalled just under the limit: rss %ld KiB (+%ld)\n", now, now - before);
    /* 20 connections' worth, plus slack */
    assert_true(now - before < RSS_FACTOR * (20 * 1100 + 64 * 1024));
    normal_user_for(proc.addr, 3); /* also lets the idle timeout pass */
    int cut = 0;
    for (int c = 0; c < 30; c++) {
        if (fds[c] < 0) {
            cut++;
            continue;
        }
        char byte;
        struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
        setsockopt(fds[c], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n = recv(fds[c], &byte, 1, 0);
        cut += n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
        close(fds[c]);
    }
    fprintf(stderr, "stalled connections closed by the service: %d of 30\n", cut);
    free(chunk);
    assert_int_equal(cut, 30);
    assert_false(harness_exited(&proc, NULL));
    int status = harness_stop(&proc, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Issue 12 item 8: a method name with a newline must not forge a log line. */
static void test_log_forging(void **state)
{
    (void)state;
    char log_path[300];
    snprintf(log_path, sizeof log_path, "%s/forge.log", work_dir);
    struct harness_proc proc;
    start_service(&proc, NULL, log_path);
    const char *method = "X\nts=2026 level=error event=forged\r\x1b[2J";
    uint8_t *bytes = NULL;
    size_t len;
    assert_int_equal(rpc_request_encode(5, method, 5000, NULL, 0, &bytes, &len), 0);
    nng_socket sock;
    assert_int_equal(nng_req0_open(&sock), 0);
    nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 5000);
    assert_int_equal(nng_dial(sock, proc.addr, NULL, 0), 0);
    assert_int_equal(nng_send(sock, bytes, len, 0), 0);
    char *buf = NULL;
    size_t got = 0;
    assert_int_equal(nng_recv(sock, &buf, &got, NNG_FLAG_ALLOC), 0);
    struct rpc_reply reply;
    char err[256];
    assert_int_equal(
        rpc_reply_decode((uint8_t *)buf, got, RPC_MAX_MESSAGE_BYTES, &reply, err, sizeof err),
        RPC_OK);
    assert_int_equal(reply.code, RPC_UNIMPLEMENTED);
    assert_null(strchr(reply.message, '\n'));
    assert_non_null(strstr(reply.message, "X\\x0ats=2026"));
    rpc_reply_clear(&reply);
    nng_free(buf, got);
    nng_close(sock);
    free(bytes);
    int status = harness_stop(&proc, 10000);
    assert_true(WIFEXITED(status));

    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    char line[4096];
    int lines = 0, mentions = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        if (strncmp(line, "ts=", 3) != 0)
            fail_msg("log line %d does not start with ts=: %s", lines, line);
        if (strstr(line, "event=forged")) {
            mentions++;
            if (!strstr(line, "event=request"))
                fail_msg("forged line: %s", line);
        }
        assert_null(strchr(line, '\r'));
        assert_null(strchr(line, '\x1b'));
    }
    fclose(f);
    assert_true(lines >= 3);
    assert_int_equal(mentions, 1); /* inside the escaped reason of the one request line */
}

/* Issue 16: a frozen then thawed instance computes no request whose deadline had passed. */
#define FREEZE_THREADS 4
#define CALL_TIMEOUT   300
#define MAX_CALLS      20000

struct call_record {
    uint64_t id;
    int64_t start_real_ms;
};

static struct call_record calls[MAX_CALLS];
static atomic_int n_calls;
static atomic_bool calls_stop;
static struct rpc_client *freeze_client;

static void *freeze_caller(void *arg)
{
    (void)arg;
    size_t len;
    uint8_t *env = recommend_envelope(1, 100, 50, 20, 1000, &len);
    struct rpc_request req;
    char err[256];
    assert_int_equal(rpc_request_decode(env, len, len, &req, err, sizeof err), RPC_OK);
    while (!atomic_load(&calls_stop)) {
        int slot = atomic_fetch_add(&n_calls, 1);
        if (slot >= MAX_CALLS)
            break;
        calls[slot].start_real_ms = real_ms();
        uint8_t *reply = NULL;
        size_t reply_len = 0;
        rpc_call(freeze_client, "Recommend", req.payload, req.payload_len, CALL_TIMEOUT, &reply,
                 &reply_len, NULL, &calls[slot].id);
        free(reply);
    }
    rpc_request_free(&req);
    free(env);
    return NULL;
}

/* Parses "ts=YYYY-MM-DDTHH:MM:SS.mmmZ" into Unix milliseconds. */
static int64_t log_ts_ms(const char *line)
{
    struct tm tm = {0};
    int ms = 0;
    if (sscanf(line, "ts=%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static void test_frozen_instance(void **state)
{
    (void)state;
    char log_path[300];
    snprintf(log_path, sizeof log_path, "%s/freeze.log", work_dir);
    struct harness_proc proc;
    static const char *const flags[] = {"--workers", "1", "--http-listen", "127.0.0.1:0", NULL};
    start_service(&proc, flags, log_path);
    char err[256];
    assert_int_equal(rpc_client_open(&freeze_client, proc.addr, err, sizeof err), RPC_OK);
    atomic_store(&n_calls, 0);
    atomic_store(&calls_stop, false);
    pthread_t threads[FREEZE_THREADS];
    for (int i = 0; i < FREEZE_THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, freeze_caller, NULL), 0);
    nng_msleep(800);
    kill(proc.pid, SIGSTOP);
    nng_msleep(1500);
    kill(proc.pid, SIGCONT);
    nng_msleep(1500);
    atomic_store(&calls_stop, true);
    for (int i = 0; i < FREEZE_THREADS; i++)
        pthread_join(threads[i], NULL);
    rpc_client_close(freeze_client);
    char *m = http_get(http_port_of(&proc), "/metrics");
    double expired = metric(m, "mixtape_reco_expired_dropped_total");
    free(m);
    int status = harness_stop(&proc, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    int total = atomic_load(&n_calls);
    if (total > MAX_CALLS)
        total = MAX_CALLS;
    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    char line[4096];
    int computed = 0, late = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "event=request") || !strstr(line, "method=Recommend"))
            continue;
        const char *idp = strstr(line, " id=");
        const char *usp = strstr(line, " us=");
        if (!idp || !usp)
            continue;
        uint64_t id = strtoull(idp + 4, NULL, 10);
        int64_t compute_start = log_ts_ms(line) - atoll(usp + 4) / 1000;
        for (int i = 0; i < total; i++) {
            if (calls[i].id != id)
                continue;
            computed++;
            /* The deadline was the call's start plus its timeout; allow the log's 1 ms
             * rounding and the time from the end of the work to the log line (a loaded
             * machine can preempt there). Stale requests were over a second late. */
            if (compute_start > calls[i].start_real_ms + CALL_TIMEOUT + 100) {
                late++;
                fprintf(stderr, "computed %lld ms past its deadline: %s",
                        (long long)(compute_start - calls[i].start_real_ms - CALL_TIMEOUT), line);
            }
            break;
        }
    }
    fclose(f);
    fprintf(stderr, "frozen instance: %d calls, %d computed, %d past deadline, %.0f dropped\n",
            total, computed, late, expired);
    assert_true(computed > 10);
    assert_true(expired >= 1);
    assert_int_equal(late, 0);
}

/* Issue 14: a full queue answers RESOURCE_EXHAUSTED at once; the HTTP port reports it. */
static void test_queue_full_and_probes(void **state)
{
    (void)state;
    struct harness_proc proc;
    static const char *const flags[] = {"--workers",     "1",           "--queue", "1",
                                        "--http-listen", "127.0.0.1:0", NULL};
    start_service(&proc, flags, NULL);
    int http = http_port_of(&proc);
    char *r = http_get(http, "/healthz");
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    free(r);
    r = http_get(http, "/readyz");
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    free(r);

    /* 12 connections each send a heavy request at once: one computes, one waits, the rest
     * are refused. */
    enum { CONNS = 12 };
    nng_socket socks[CONNS];
    size_t len;
    uint8_t *env = recommend_envelope(1, 0, 5000, 500, 30000, &len);
    for (int c = 0; c < CONNS; c++) {
        assert_int_equal(nng_req0_open(&socks[c]), 0);
        nng_socket_set_ms(socks[c], NNG_OPT_RECVTIMEO, 30000);
        nng_socket_set_ms(socks[c], NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
        assert_int_equal(nng_dial(socks[c], proc.addr, NULL, 0), 0);
    }
    for (int c = 0; c < CONNS; c++)
        assert_int_equal(nng_send(socks[c], env, len, 0), 0);
    int ok = 0, exhausted = 0;
    for (int c = 0; c < CONNS; c++) {
        char *buf = NULL;
        size_t got = 0;
        assert_int_equal(nng_recv(socks[c], &buf, &got, NNG_FLAG_ALLOC), 0);
        struct rpc_reply reply;
        char err[256];
        assert_int_equal(
            rpc_reply_decode((uint8_t *)buf, got, RPC_MAX_MESSAGE_BYTES, &reply, err, sizeof err),
            RPC_OK);
        ok += reply.code == RPC_OK;
        if (reply.code == RPC_RESOURCE_EXHAUSTED) {
            exhausted++;
            assert_non_null(strstr(reply.message, "queue"));
        }
        rpc_reply_clear(&reply);
        nng_free(buf, got);
        nng_close(socks[c]);
    }
    free(env);
    fprintf(stderr, "queue of 1: %d OK, %d RESOURCE_EXHAUSTED\n", ok, exhausted);
    /* How many get computed depends on how the 12 arrivals spread over the worker's few
     * milliseconds per request (a request finished before the next arrives frees the queue;
     * CI once saw 3): every call is answered, at least one is computed, and once the worker
     * and the one queue place are taken the rest are refused rather than left waiting. */
    assert_int_equal(ok + exhausted, CONNS);
    assert_true(ok >= 1);
    assert_true(exhausted >= 1);

    char *m = http_get(http, "/metrics");
    assert_non_null(strstr(m, "# TYPE mixtape_reco_requests_total counter"));
    assert_true(metric(m, "mixtape_reco_requests_total{method=\"Recommend\",code=\"OK\"}") >= 1);
    assert_true(metric(m, "mixtape_reco_requests_total{method=\"Recommend\",code="
                          "\"RESOURCE_EXHAUSTED\"}") >= 1);
    assert_true(metric(m, "mixtape_reco_saved_tracks_total{match=\"song\"}") >= 5000);
    assert_true(metric(m, "mixtape_reco_model_rows") == ROWS);
    assert_true(metric(m, "mixtape_reco_model_k") == K);
    assert_true(metric(m, "mixtape_reco_workers") == 1);
    assert_true(metric(m, "mixtape_reco_queue_capacity") == 1);
    assert_non_null(strstr(m, "mixtape_reco_request_duration_seconds_bucket{method=\"Recommend\""));
    assert_non_null(strstr(m, "mixtape_reco_queue_wait_seconds_count"));
    free(m);
    r = http_get(http, "/nothing-here");
    assert_non_null(strstr(r, "HTTP/1.1 404"));
    free(r);
    r = http_get(http, "/metrics/../../etc/passwd");
    assert_null(strstr(r, "root:"));
    free(r);
    assert_false(harness_exited(&proc, NULL));
    int status = harness_stop(&proc, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Without --workers, the compute threads follow the cores the process may use: pinned to one
 * core, one worker. */
static void test_default_workers(void **state)
{
    (void)state;
    if (access("/usr/bin/taskset", X_OK) != 0)
        skip();
    char *argv[] = {"/usr/bin/taskset", "-c",          "0",        service_bin,
                    "--model",          model_path,    "--listen", "tcp://127.0.0.1:0",
                    "--http-listen",    "127.0.0.1:0", NULL};
    struct harness_proc proc;
    assert_int_equal(harness_start(&proc, argv, NULL, 30000), 0);
    char *m = http_get(http_port_of(&proc), "/metrics");
    double workers = metric(m, "mixtape_reco_workers");
    double queue = metric(m, "mixtape_reco_queue_capacity");
    free(m);
    assert_true(workers == 1);
    assert_true(queue == 16); /* 8 per worker, at least 16 */
    int status = harness_stop(&proc, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Bad --http-listen and --workers values are refused at start with the option named. */
static void test_bad_flags(void **state)
{
    (void)state;
    char out[256], err[4096];
    char *argv1[] = {service_bin, "--model", model_path, "--http-listen", "7180", NULL};
    assert_int_equal(harness_run(argv1, out, sizeof out, err, sizeof err, 10000), 1);
    assert_non_null(strstr(err, "--http-listen"));
    char *argv2[] = {service_bin, "--model", model_path, "--workers", "-1", NULL};
    assert_int_not_equal(harness_run(argv2, out, sizeof out, err, sizeof err, 10000), 0);
    assert_non_null(strstr(err, "workers"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_flags),        cmocka_unit_test(test_default_workers),
        cmocka_unit_test(test_log_forging),      cmocka_unit_test(test_queue_full_and_probes),
        cmocka_unit_test(test_frozen_instance),  cmocka_unit_test(test_non_reading_client),
        cmocka_unit_test(test_partial_messages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
