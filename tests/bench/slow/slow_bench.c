/* slow-bench: a normal user's latency while many slow clients hold connections to auth-service
 * (issue 12's slowloris bar: 1,000 slow connections, p99 under 1 s). Starts reco-service,
 * spotify-emu and auth-service (with any --env settings) through the integration fixture, signs
 * one user in, then for --seconds: SLOW connections each send a request line and then one header
 * line every --interval-ms, never finishing (reconnecting whenever the front closes one), while
 * the user asks GET /healthz every 100 ms on a fresh connection and POST /api/mix every 5th
 * time. Prints the user's p50 / p99 / max per route, failures, the slow connections held and
 * how often the front dropped them, and auth-service's RSS and threads at the end. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(double *values, int n, double p)
{
    if (n == 0)
        return 0;
    qsort(values, (size_t)n, sizeof *values, by_value);
    int i = (int)(p * (n - 1) + 0.5);
    return values[i];
}

static struct fixture world;
static int n_slow = 1000, seconds = 30, interval_ms = 2000;
static atomic_bool stop;
static atomic_long reconnects, held_min = 1 << 30, held_max;

static int open_slow(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)world.auth_port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    const char *start = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (send(fd, start, strlen(start), MSG_NOSIGNAL) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The attackers: keep n_slow connections half-sent, one header line per interval each. */
static void *slow_clients(void *arg)
{
    (void)arg;
    int *fds = calloc((size_t)n_slow, sizeof *fds);
    struct pollfd *pfds = calloc((size_t)n_slow, sizeof *pfds);
    if (!fds || !pfds)
        return NULL;
    for (int i = 0; i < n_slow; i++)
        fds[i] = open_slow();
    while (!atomic_load(&stop)) {
        double round_start = now_ms();
        long held = 0;
        for (int i = 0; i < n_slow; i++) {
            if (fds[i] >= 0 && send(fds[i], "X-Slow: 1\r\n", 11, MSG_NOSIGNAL) < 0) {
                close(fds[i]);
                fds[i] = -1;
            }
            /* a connection the front closed (EOF or an error answer) is opened again */
            if (fds[i] >= 0) {
                pfds[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
                if (poll(&pfds[i], 1, 0) == 1) {
                    close(fds[i]);
                    fds[i] = -1;
                }
            }
            if (fds[i] < 0) {
                fds[i] = open_slow();
                atomic_fetch_add(&reconnects, 1);
            }
            held += fds[i] >= 0;
        }
        if (held < atomic_load(&held_min))
            atomic_store(&held_min, held);
        if (held > atomic_load(&held_max))
            atomic_store(&held_max, held);
        while (!atomic_load(&stop) && now_ms() - round_start < interval_ms) {
            struct timespec pause = {0, 50000000};
            nanosleep(&pause, NULL);
        }
    }
    for (int i = 0; i < n_slow; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    free(pfds);
    return NULL;
}

static void proc_status(pid_t pid, long *rss_kb, long *threads)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    *rss_kb = *threads = -1;
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "VmRSS: %ld", rss_kb);
        sscanf(line, "Threads: %ld", threads);
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *env[16] = {NULL};
    int n_env = 0, library = 500;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--slow") == 0 && i + 1 < argc)
            n_slow = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--interval-ms") == 0 && i + 1 < argc)
            interval_ms = atoi(argv[++i]);
        else if (strcmp(argv[i], "--library") == 0 && i + 1 < argc)
            library = atoi(argv[++i]);
        else if (strcmp(argv[i], "--env") == 0 && i + 1 < argc && n_env < 15)
            env[n_env++] = argv[++i];
        else {
            fprintf(stderr,
                    "usage: slow-bench [--slow N] [--seconds S] [--interval-ms MS] [--library N] "
                    "[--env NAME=value]...\n");
            return 2;
        }
    }
    struct rlimit files;
    getrlimit(RLIMIT_NOFILE, &files);
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files); /* inherited by auth-service too */
    if (fixture_start(&world, 6000, library, NULL, env) != 0)
        return 1;
    struct browser user;
    if (browser_open(&user) != 0 || browser_sign_in(&user, &world, "demo") != 0) {
        fprintf(stderr, "slow-bench: sign-in failed\n");
        fixture_stop(&world);
        return 1;
    }
    pthread_t attackers;
    pthread_create(&attackers, NULL, slow_clients, NULL);
    struct timespec settle = {1, 0};
    nanosleep(&settle, NULL);

    int cap = seconds * 20 + 16, n_health = 0, n_mix = 0, failures = 0;
    double *health = calloc((size_t)cap, sizeof *health), *mix = calloc((size_t)cap, sizeof *mix);
    double end = now_ms() + seconds * 1000.0;
    char url[512];
    const char *json[] = {"Content-Type: application/json", NULL};
    for (int i = 0; now_ms() < end && n_health < cap; i++) {
        struct browser probe;
        browser_open(&probe);
        curl_easy_setopt(probe.curl, CURLOPT_TIMEOUT_MS, 15000L);
        snprintf(url, sizeof url, "%s/healthz", world.auth_base);
        struct reply r;
        double t0 = now_ms();
        int rc = browser_request(&probe, "GET", url, NULL, NULL, &r);
        double ms = now_ms() - t0;
        if (rc != 0 || r.status != 200) {
            failures++;
            ms = ms < 15000 ? 15000 : ms; /* a failure counts as the timeout */
        }
        if (rc == 0)
            reply_free(&r);
        health[n_health++] = ms;
        browser_close(&probe);
        if (i % 5 == 0) {
            snprintf(url, sizeof url, "%s/api/mix", world.auth_base);
            curl_easy_setopt(user.curl, CURLOPT_TIMEOUT_MS, 15000L);
            t0 = now_ms();
            rc = browser_request(&user, "POST", url, json, "{\"n\":50}", &r);
            ms = now_ms() - t0;
            if (rc != 0 || r.status != 200) {
                failures++;
                ms = ms < 15000 ? 15000 : ms;
            }
            if (rc == 0)
                reply_free(&r);
            mix[n_mix++] = ms;
        }
        struct timespec pause = {0, 100000000};
        nanosleep(&pause, NULL);
    }
    long rss_kb, threads;
    proc_status(world.auth.pid, &rss_kb, &threads);
    atomic_store(&stop, true);
    pthread_join(attackers, NULL);
    double h50 = percentile(health, n_health, 0.5), h99 = percentile(health, n_health, 0.99),
           hmax = percentile(health, n_health, 1.0);
    double m50 = percentile(mix, n_mix, 0.5), m99 = percentile(mix, n_mix, 0.99),
           mmax = percentile(mix, n_mix, 1.0);
    printf("slow=%d interval_ms=%d seconds=%d env=", n_slow, interval_ms, seconds);
    for (int i = 0; i < n_env; i++)
        printf("%s%s", i ? "," : "", env[i]);
    printf("%s\n", n_env ? "" : "(defaults)");
    printf("  healthz n=%d p50=%.1f ms p99=%.1f ms max=%.1f ms\n", n_health, h50, h99, hmax);
    printf("  api/mix n=%d p50=%.1f ms p99=%.1f ms max=%.1f ms\n", n_mix, m50, m99, mmax);
    printf("  failures=%d slow_held_min=%ld slow_held_max=%ld reconnects=%ld auth_rss_kb=%ld "
           "auth_threads=%ld\n",
           failures, atomic_load(&held_min), atomic_load(&held_max), atomic_load(&reconnects),
           rss_kb, threads);
    free(health);
    free(mix);
    browser_close(&user);
    fixture_stop(&world);
    return 0;
}
