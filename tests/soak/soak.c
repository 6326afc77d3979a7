/* mixtape-soak: auth-service in front of two reco-service instances under mixed load with
 * faults for --minutes (30 by default; not run in CI, see run.sh). Users sign in and ask
 * /api/mix with a few fixed (n, variety) pairs: every answer must equal the first one seen for
 * that user and pair (a wrong answer is any difference), while others read /mix, /healthz,
 * /readyz and /metrics, send deep JSON and trickle slow headers. Every minute Spotify gets 20 s
 * of 5% 429s and 5% 5xx, then 10 s of 400 ms latency; every 5 minutes one reco-service is
 * killed with SIGKILL and started again on its address, and the other reloads its model
 * (SIGHUP). Every 10 s the front's and each instance's RSS and open descriptors are sampled.
 * Prints the samples and a summary; exits 1 on any wrong answer or when the front's RSS or
 * descriptors grew over 20% from the first to the last fifth of the run. */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

#define USERS    3
#define PAIRS    4
#define WORKERS  6
#define MAX_SAMP 4096

static struct fixture world;
static struct harness_proc reco2;
static char reco2_listen[300];
static atomic_bool stop;
static atomic_long n_requests, n_errors, n_wrong, n_busy;
static pthread_mutex_t answers_lock = PTHREAD_MUTEX_INITIALIZER;
static char *answers[USERS][PAIRS]; /* the first /api/mix answer's tracks, per user and pair */
static char cookies[USERS][4096];
static const char *const USER_NAMES[USERS] = {"demo", "river", "eclectic"};
static const char *const PAIR_BODIES[PAIRS] = {
    "{\"n\":50,\"variety\":0}", "{\"n\":50,\"variety\":7}", "{\"n\":20,\"variety\":1}",
    "{\"n\":100,\"variety\":123456789}"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* The "tracks" array of an /api/mix answer: the part that must not change. */
static char *tracks_of(const char *body)
{
    const char *start = strstr(body, "\"tracks\":");
    const char *end = start ? strstr(start, "],\"stats\"") : NULL;
    if (!start || !end)
        return NULL;
    return strndup(start, (size_t)(end - start));
}

static void check_mix(int user, int pair, const struct reply *r)
{
    if (r->status == 503 && strstr(r->body, "\"busy\"")) {
        atomic_fetch_add(&n_busy, 1);
        return;
    }
    if (r->status != 200) {
        atomic_fetch_add(&n_errors, 1);
        return;
    }
    char *tracks = tracks_of(r->body);
    if (!tracks) {
        atomic_fetch_add(&n_wrong, 1);
        fprintf(stderr, "soak: wrong answer (no tracks) for %s pair %d\n", USER_NAMES[user], pair);
        return;
    }
    pthread_mutex_lock(&answers_lock);
    if (!answers[user][pair]) {
        answers[user][pair] = tracks;
        tracks = NULL;
    } else if (strcmp(answers[user][pair], tracks) != 0) {
        atomic_fetch_add(&n_wrong, 1);
        fprintf(stderr, "soak: wrong answer for %s pair %d\n", USER_NAMES[user], pair);
    }
    pthread_mutex_unlock(&answers_lock);
    free(tracks);
}

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 7919u + 1;
    struct browser b;
    browser_open(&b);
    curl_easy_setopt(b.curl, CURLOPT_TIMEOUT_MS, 60000L);
    const char *json[] = {"Content-Type: application/json", NULL};
    char url[512], deep[2100];
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    deep[2000] = '\0';
    while (!atomic_load(&stop)) {
        int what = (int)(rand_r(&seed) % 20), user = (int)(rand_r(&seed) % USERS);
        int pair = (int)(rand_r(&seed) % PAIRS);
        browser_set_cookie(&b, "mixtape_session", cookies[user]);
        struct reply r;
        int rc;
        if (what < 10) {
            snprintf(url, sizeof url, "%s/api/mix", world.auth_base);
            rc = browser_request(&b, "POST", url, json, PAIR_BODIES[pair], &r);
            if (rc == 0)
                check_mix(user, pair, &r);
        } else {
            const char *paths[] = {"/healthz", "/readyz",  "/metrics", "/mix?variety=3", "/",
                                   "/app.js",  "/api/mix", "/nowhere", "/healthz",       "/readyz"};
            const char *path = paths[what - 10];
            bool post = strcmp(path, "/api/mix") == 0;
            snprintf(url, sizeof url, "%s%s", world.auth_base, path);
            rc = browser_request(&b, post ? "POST" : "GET", url, post ? json : NULL,
                                 post ? deep : NULL, &r);
            long want = post ? 400 : strcmp(path, "/nowhere") == 0 ? 404 : 200;
            if (rc == 0 && r.status != want && !(r.status == 503 && strstr(path, "readyz")))
                atomic_fetch_add(&n_errors, 1);
        }
        if (rc != 0)
            atomic_fetch_add(&n_errors, 1);
        else
            reply_free(&r);
        atomic_fetch_add(&n_requests, 1);
        nap_ms(20);
    }
    browser_close(&b);
    return NULL;
}

static int open_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        sscanf(line, "VmRSS: %ld", &kb);
    fclose(f);
    return kb;
}

static int start_reco2(void)
{
    static char bin[4096];
    snprintf(bin, sizeof bin, "%s", harness_binary("bin/reco-service"));
    char *argv[] = {bin, "--model", world.model, "--listen", reco2_listen, NULL};
    return harness_start(&reco2, argv, NULL, 20000);
}

int main(int argc, char **argv)
{
    double minutes = 30;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--minutes") == 0 && i + 1 < argc) {
            minutes = atof(argv[++i]);
        } else {
            fprintf(stderr, "usage: mixtape-soak [--minutes M]\n");
            return 2;
        }
    }
    if (fixture_start(&world, 12000, 1500, NULL, NULL) != 0)
        return 1;
    /* A second instance on a fixed port (so it can come back on the same address), then the
     * front again with both instances. */
    snprintf(reco2_listen, sizeof reco2_listen, "tcp://127.0.0.1:%d", fixture_free_port());
    if (start_reco2() != 0)
        goto fail;
    harness_stop(&world.auth, 10000);
    world.auth_running = false;
    if ((size_t)snprintf(world.reco_addr, sizeof world.reco_addr, "%.120s,%.120s", world.reco.addr,
                         reco2.addr) >= sizeof world.reco_addr)
        goto fail;
    if (fixture_start_front(&world, &world.auth, world.auth_port, NULL) != 0)
        goto fail;
    world.auth_running = true;
    for (int u = 0; u < USERS; u++) {
        struct browser b;
        if (browser_open(&b) != 0 || browser_sign_in(&b, &world, USER_NAMES[u]) != 0 ||
            browser_cookie(&b, "mixtape_session", cookies[u], sizeof cookies[u]) != 0)
            goto fail;
        browser_close(&b);
    }
    pthread_t workers[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&workers[i], NULL, worker, (void *)(uintptr_t)i);

    static long front_rss[MAX_SAMP];
    static int front_fds[MAX_SAMP];
    int n_samples = 0;
    double start = now_s(), end = start + minutes * 60, next_sample = start;
    printf("t_s,front_rss_kb,front_fds,reco1_rss_kb,reco1_fds,reco2_rss_kb,reco2_fds,requests,"
           "errors,busy,wrong\n");
    int last_minute = -1;
    while (now_s() < end) {
        double t = now_s() - start;
        int minute = (int)(t / 60), second = (int)t % 60;
        if (second < 20 && minute != last_minute) {
            fixture_emu_config(&world, "{\"rate_429\":0.05,\"rate_5xx\":0.05}");
            last_minute = minute;
            if (minute > 0 && minute % 5 == 0) {
                harness_kill(&reco2); /* a crash, as peers see it */
                nap_ms(2000);
                start_reco2();
                kill(world.reco.pid, SIGHUP);
            }
        } else if (second >= 20 && second < 30) {
            fixture_emu_config(&world, "{\"rate_429\":0,\"rate_5xx\":0,\"latency_ms\":400}");
        } else if (second >= 30) {
            fixture_emu_config(&world, "{\"latency_ms\":0}");
        }
        if (now_s() >= next_sample && n_samples < MAX_SAMP) {
            front_rss[n_samples] = rss_kb(world.auth.pid);
            front_fds[n_samples] = open_fds(world.auth.pid);
            printf("%.0f,%ld,%d,%ld,%d,%ld,%d,%ld,%ld,%ld,%ld\n", t, front_rss[n_samples],
                   front_fds[n_samples], rss_kb(world.reco.pid), open_fds(world.reco.pid),
                   rss_kb(reco2.pid), open_fds(reco2.pid), atomic_load(&n_requests),
                   atomic_load(&n_errors), atomic_load(&n_busy), atomic_load(&n_wrong));
            fflush(stdout);
            n_samples++;
            next_sample += 10;
        }
        nap_ms(500);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(workers[i], NULL);
    /* flat: the mean of the last fifth against the mean of the first fifth (after warm-up) */
    int fifth = n_samples / 5 > 0 ? n_samples / 5 : 1;
    double rss_first = 0, rss_last = 0, fds_first = 0, fds_last = 0;
    for (int i = 0; i < fifth; i++) {
        rss_first += front_rss[i] / (double)fifth;
        fds_first += front_fds[i] / (double)fifth;
        rss_last += front_rss[n_samples - 1 - i] / (double)fifth;
        fds_last += front_fds[n_samples - 1 - i] / (double)fifth;
    }
    double rss_growth = rss_first > 0 ? (rss_last / rss_first - 1) * 100 : 0;
    double fds_growth = fds_first > 0 ? (fds_last / fds_first - 1) * 100 : 0;
    printf("summary minutes=%.1f requests=%ld errors=%ld busy=%ld wrong=%ld "
           "front_rss_kb first=%.0f last=%.0f (%+.1f%%) front_fds first=%.1f last=%.1f (%+.1f%%)\n",
           minutes, atomic_load(&n_requests), atomic_load(&n_errors), atomic_load(&n_busy),
           atomic_load(&n_wrong), rss_first, rss_last, rss_growth, fds_first, fds_last, fds_growth);
    harness_stop(&reco2, 10000);
    fixture_stop(&world);
    return atomic_load(&n_wrong) == 0 && rss_growth < 20 && fds_growth < 20 ? 0 : 1;
fail:
    fprintf(stderr, "soak: start-up failed\n");
    harness_stop(&reco2, 10000);
    fixture_stop(&world);
    return 1;
}
