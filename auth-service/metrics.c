/* Prometheus counters and one histogram for auth-service: see metrics.h. */
#include "metrics.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"
#include "text_buffer.h"

/* The most the exposition may grow to: the series are capped (METRICS_MAX_SERIES each,
 * MAX_RENDERED_ENDPOINTS endpoints), and this is several times what they can take. */
#define MAX_EXPOSITION (1024u * 1024u)

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

static void render_counters(struct text_buffer *t, const char *name, const char *help,
                            const char *label_name, const struct counter *series, size_t n)
{
    text_buffer_appendf(t, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i < n; i++) {
        if (series[i].status < 0)
            text_buffer_appendf(t, "%s{%s=\"%s\",status=\"other\"} %llu\n", name, label_name,
                                series[i].label, series[i].count);
        else
            text_buffer_appendf(t, "%s{%s=\"%s\",status=\"%ld\"} %llu\n", name, label_name,
                                series[i].label, series[i].status, series[i].count);
    }
}

/* Most endpoints listed in /metrics (a headless name may stand for many). */
#define MAX_RENDERED_ENDPOINTS 64u

/* Per-endpoint series of the RPC client (issue 16): state, calls, failures, ejections. False
 * when out of memory. */
static bool render_endpoints(struct text_buffer *t, struct rpc_client *client)
{
    static const struct {
        const char *name, *type, *help;
    } series[] = {
        {"mixtape_auth_reco_endpoint_up", "gauge",
         "1 when the reco-service endpoint is connected and takes calls (not ejected)"},
        {"mixtape_auth_reco_endpoint_ejected", "gauge",
         "1 while the endpoint is ejected for failures or hangs (probed until it answers)"},
        {"mixtape_auth_reco_endpoint_in_flight", "gauge", "calls in flight on the endpoint"},
        {"mixtape_auth_reco_endpoint_calls_total", "counter", "attempts sent to the endpoint"},
        {"mixtape_auth_reco_endpoint_failures_total", "counter",
         "failed attempts: errors, lost connections, no answer within the attempt timeout"},
        {"mixtape_auth_reco_endpoint_timeouts_total", "counter",
         "attempts with no answer within the per-attempt timeout"},
        {"mixtape_auth_reco_endpoint_ejections_total", "counter", "times the endpoint was ejected"},
        {"mixtape_auth_reco_endpoint_readmissions_total", "counter",
         "times a Health probe brought the endpoint back"},
    };
    struct rpc_endpoint_status *eps = calloc(MAX_RENDERED_ENDPOINTS, sizeof *eps);
    struct rpc_client_status status;
    if (!eps)
        return false;
    size_t n = rpc_client_endpoints(client, eps, MAX_RENDERED_ENDPOINTS, &status);
    if (n > MAX_RENDERED_ENDPOINTS)
        n = MAX_RENDERED_ENDPOINTS;
    for (size_t s = 0; s < sizeof series / sizeof series[0]; s++) {
        text_buffer_appendf(t, "# HELP %s %s\n# TYPE %s %s\n", series[s].name, series[s].help,
                            series[s].name, series[s].type);
        for (size_t i = 0; i < n; i++) {
            const struct rpc_endpoint_status *e = &eps[i];
            unsigned long long v[] = {strcmp(e->state, "active") == 0,
                                      strcmp(e->state, "ejected") == 0,
                                      e->in_flight,
                                      (unsigned long long)e->calls,
                                      (unsigned long long)e->failures,
                                      (unsigned long long)e->timeouts,
                                      (unsigned long long)e->ejections,
                                      (unsigned long long)e->readmissions};
            text_buffer_appendf(t, "%s{endpoint=\"%s\"} %llu\n", series[s].name, e->url, v[s]);
        }
    }
    text_buffer_appendf(
        t,
        "# HELP mixtape_auth_reco_attempt_timeout_seconds Per-attempt timeout now (a multiple "
        "of the observed p99, with a floor)\n# TYPE mixtape_auth_reco_attempt_timeout_seconds "
        "gauge\nmixtape_auth_reco_attempt_timeout_seconds %.3f\n",
        status.attempt_timeout_ms / 1000.0);
    text_buffer_appendf(
        t,
        "# HELP mixtape_auth_reco_retries_total Attempts resent elsewhere, by the retry "
        "budget's answer\n# TYPE mixtape_auth_reco_retries_total counter\n"
        "mixtape_auth_reco_retries_total{budget=\"granted\"} %llu\n"
        "mixtape_auth_reco_retries_total{budget=\"refused\"} %llu\n",
        (unsigned long long)status.retries, (unsigned long long)status.retries_refused);
    free(eps);
    return true;
}

char *metrics_render(struct rpc_client *client)
{
    struct text_buffer t;
    text_buffer_init(&t, MAX_EXPOSITION);
    pthread_mutex_lock(&metrics_lock);
    render_counters(&t, "mixtape_auth_requests_total",
                    "HTTP requests answered, by route and status", "route", requests, n_requests);
    render_counters(&t, "mixtape_auth_spotify_calls_total",
                    "Spotify calls by endpoint and HTTP status (0: no answer)", "endpoint",
                    spotify_calls, n_spotify_calls);
    const char *h = "mixtape_auth_rpc_duration_seconds";
    text_buffer_appendf(&t, "# HELP %s Latency of RPC calls to reco-service\n# TYPE %s histogram\n",
                        h, h);
    for (size_t i = 0; i < n_rpc; i++) {
        unsigned long long cumulative = 0;
        for (size_t b = 0; b < N_BUCKETS; b++) {
            cumulative += rpc[i].buckets[b];
            text_buffer_appendf(&t, "%s_bucket{method=\"%s\",code=\"%s\",le=\"%g\"} %llu\n", h,
                                rpc[i].method, rpc[i].code, BUCKETS[b], cumulative);
        }
        text_buffer_appendf(&t, "%s_bucket{method=\"%s\",code=\"%s\",le=\"+Inf\"} %llu\n", h,
                            rpc[i].method, rpc[i].code, rpc[i].count);
        text_buffer_appendf(&t, "%s_sum{method=\"%s\",code=\"%s\"} %.6f\n", h, rpc[i].method,
                            rpc[i].code, rpc[i].sum);
        text_buffer_appendf(&t, "%s_count{method=\"%s\",code=\"%s\"} %llu\n", h, rpc[i].method,
                            rpc[i].code, rpc[i].count);
    }
    const char *m = "mixtape_auth_saved_tracks_total";
    text_buffer_appendf(
        &t,
        "# HELP %s Saved tracks sent to Recommend, by how they matched the catalog (song, "
        "artist_only: the primary artist but no song, unmatched)\n# TYPE %s counter\n",
        m, m);
    for (size_t k = 0; k < 3; k++)
        text_buffer_appendf(&t, "%s{match=\"%s\"} %llu\n", m, MATCH_KINDS[k], matched[k]);
    pthread_mutex_unlock(&metrics_lock);
    if (client && !render_endpoints(&t, client)) {
        text_buffer_free(&t);
        return NULL;
    }
    char *text;
    return text_buffer_take(&t, &text, NULL) == TEXT_BUFFER_OK ? text : NULL;
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
