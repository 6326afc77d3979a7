/* Prometheus counters and one histogram for auth-service: see metrics.h. */
#include "metrics.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double BUCKETS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

struct counter {
    const char *label; /* route or endpoint */
    long status;
    unsigned long long count;
};

struct histogram {
    const char *method;
    const char *code;
    unsigned long long buckets[N_BUCKETS]; /* cumulative at render time */
    unsigned long long count;
    double sum;
};

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct counter requests[METRICS_MAX_SERIES];
static size_t n_requests;
static struct counter spotify_calls[METRICS_MAX_SERIES];
static size_t n_spotify_calls;
static struct histogram rpc[METRICS_MAX_SERIES / 4];
static size_t n_rpc;
/* Saved tracks by how they matched: song, artist only, unmatched. */
static unsigned long long matched[3];
static const char *const MATCH_KINDS[3] = {"song", "artist_only", "unmatched"};

/* Finds or adds (label, status); the last slot takes overflow under status -1 ("other"). */
static void bump(struct counter *series, size_t *n, const char *label, long status)
{
    for (size_t i = 0; i < *n; i++) {
        if (series[i].status == status && strcmp(series[i].label, label) == 0) {
            series[i].count++;
            return;
        }
    }
    if (*n + 1 < METRICS_MAX_SERIES) {
        series[*n] = (struct counter){.label = label, .status = status, .count = 1};
        (*n)++;
        return;
    }
    if (*n + 1 == METRICS_MAX_SERIES) {
        series[*n] = (struct counter){.label = "other", .status = -1, .count = 0};
        (*n)++;
    }
    series[*n - 1].count++;
}

void metrics_request(const char *route, int status)
{
    pthread_mutex_lock(&metrics_lock);
    bump(requests, &n_requests, route, status);
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_spotify(const char *endpoint, long status)
{
    pthread_mutex_lock(&metrics_lock);
    bump(spotify_calls, &n_spotify_calls, endpoint, status);
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_rpc(const char *method, const char *code, double seconds)
{
    pthread_mutex_lock(&metrics_lock);
    struct histogram *h = NULL;
    for (size_t i = 0; i < n_rpc && !h; i++)
        if (strcmp(rpc[i].method, method) == 0 && strcmp(rpc[i].code, code) == 0)
            h = &rpc[i];
    if (!h && n_rpc < sizeof rpc / sizeof rpc[0]) {
        h = &rpc[n_rpc++];
        memset(h, 0, sizeof *h);
        h->method = method;
        h->code = code;
    }
    if (h) {
        for (size_t b = 0; b < N_BUCKETS; b++)
            if (seconds <= BUCKETS[b]) {
                h->buckets[b]++;
                break;
            }
        h->count++;
        h->sum += seconds;
    }
    pthread_mutex_unlock(&metrics_lock);
}

void metrics_match(unsigned long songs, unsigned long artists_only, unsigned long unmatched)
{
    pthread_mutex_lock(&metrics_lock);
    matched[0] += songs;
    matched[1] += artists_only;
    matched[2] += unmatched;
    pthread_mutex_unlock(&metrics_lock);
}

struct text {
    char *bytes;
    size_t len, cap;
    bool failed;
};

static void append(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(struct text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->bytes + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        char *grown = realloc(t->bytes, t->cap * 2 + (size_t)n);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->bytes = grown;
        t->cap = t->cap * 2 + (size_t)n;
    }
}

static void render_counters(struct text *t, const char *name, const char *help,
                            const char *label_name, const struct counter *series, size_t n)
{
    append(t, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i < n; i++) {
        if (series[i].status < 0)
            append(t, "%s{%s=\"%s\",status=\"other\"} %llu\n", name, label_name, series[i].label,
                   series[i].count);
        else
            append(t, "%s{%s=\"%s\",status=\"%ld\"} %llu\n", name, label_name, series[i].label,
                   series[i].status, series[i].count);
    }
}

char *metrics_render(void)
{
    struct text t = {.bytes = malloc(4096), .cap = 4096};
    if (!t.bytes)
        return NULL;
    t.bytes[0] = '\0';
    pthread_mutex_lock(&metrics_lock);
    render_counters(&t, "mixtape_auth_requests_total",
                    "HTTP requests answered, by route and status", "route", requests, n_requests);
    render_counters(&t, "mixtape_auth_spotify_calls_total",
                    "Spotify calls by endpoint and HTTP status (0: no answer)", "endpoint",
                    spotify_calls, n_spotify_calls);
    const char *h = "mixtape_auth_rpc_duration_seconds";
    append(&t, "# HELP %s Latency of RPC calls to reco-service\n# TYPE %s histogram\n", h, h);
    for (size_t i = 0; i < n_rpc; i++) {
        unsigned long long cumulative = 0;
        for (size_t b = 0; b < N_BUCKETS; b++) {
            cumulative += rpc[i].buckets[b];
            append(&t, "%s_bucket{method=\"%s\",code=\"%s\",le=\"%g\"} %llu\n", h, rpc[i].method,
                   rpc[i].code, BUCKETS[b], cumulative);
        }
        append(&t, "%s_bucket{method=\"%s\",code=\"%s\",le=\"+Inf\"} %llu\n", h, rpc[i].method,
               rpc[i].code, rpc[i].count);
        append(&t, "%s_sum{method=\"%s\",code=\"%s\"} %.6f\n", h, rpc[i].method, rpc[i].code,
               rpc[i].sum);
        append(&t, "%s_count{method=\"%s\",code=\"%s\"} %llu\n", h, rpc[i].method, rpc[i].code,
               rpc[i].count);
    }
    const char *m = "mixtape_auth_saved_tracks_total";
    append(&t,
           "# HELP %s Saved tracks sent to Recommend, by how they matched the catalog (song, "
           "artist_only: the primary artist but no song, unmatched)\n# TYPE %s counter\n",
           m, m);
    for (size_t k = 0; k < 3; k++)
        append(&t, "%s{match=\"%s\"} %llu\n", m, MATCH_KINDS[k], matched[k]);
    pthread_mutex_unlock(&metrics_lock);
    if (t.failed) {
        free(t.bytes);
        return NULL;
    }
    return t.bytes;
}

void metrics_reset(void)
{
    pthread_mutex_lock(&metrics_lock);
    n_requests = 0;
    n_spotify_calls = 0;
    n_rpc = 0;
    memset(matched, 0, sizeof matched);
    pthread_mutex_unlock(&metrics_lock);
}
