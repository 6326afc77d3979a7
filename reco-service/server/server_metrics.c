/* reco-service's Prometheus metrics: see server_metrics.h. */
#include "server_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_buffer.h"

/* The most the exposition may grow to: the series are a fixed set, about 15 KB at most. */
#define MAX_EXPOSITION (256u * 1024u)

static const double BUCKETS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                 0.25,  0.5,    1,     2.5,  5,     10};
#define N_BUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

static const char *const METHODS[] = {"Recommend", "Info", "Health", "other", "none"};
#define N_METHODS (sizeof METHODS / sizeof METHODS[0])
static const enum rpc_code CODES[] = {RPC_OK,
                                      RPC_INVALID_ARGUMENT,
                                      RPC_DEADLINE_EXCEEDED,
                                      RPC_NOT_FOUND,
                                      RPC_RESOURCE_EXHAUSTED,
                                      RPC_FAILED_PRECONDITION,
                                      RPC_UNIMPLEMENTED,
                                      RPC_INTERNAL,
                                      RPC_UNAVAILABLE};
#define N_CODES (sizeof CODES / sizeof CODES[0])
static const char *const CLOSE_REASONS[] = {"send_timeout", "send_backlog", "idle", "limit"};
#define N_REASONS (sizeof CLOSE_REASONS / sizeof CLOSE_REASONS[0])

struct histogram {
    unsigned long long buckets[N_BUCKETS]; /* not cumulative */
    unsigned long long count;
    double sum;
};

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long requests[N_METHODS][N_CODES];
static struct histogram latency[N_METHODS];
static struct histogram queue_wait;
static unsigned long long expired;
static unsigned long long closed[N_REASONS + 1];
static unsigned long long matched_songs, matched_artists, unmatched;
static char model_version[64];
static uint32_t model_rows, model_k;
static double model_load_seconds;
static unsigned long long model_loads;

static size_t method_index(const char *method)
{
    if (!method)
        return N_METHODS - 1;
    for (size_t i = 0; i < N_METHODS - 2; i++)
        if (strcmp(method, METHODS[i]) == 0)
            return i;
    return N_METHODS - 2;
}

static size_t code_index(enum rpc_code code)
{
    for (size_t i = 0; i < N_CODES; i++)
        if (CODES[i] == code)
            return i;
    return 7; /* INTERNAL */
}

static void observe(struct histogram *h, double seconds)
{
    for (size_t b = 0; b < N_BUCKETS; b++)
        if (seconds <= BUCKETS[b]) {
            h->buckets[b]++;
            break;
        }
    h->count++;
    h->sum += seconds;
}

void server_metrics_request(const char *method, enum rpc_code code, double seconds)
{
    size_t m = method_index(method);
    pthread_mutex_lock(&metrics_lock);
    requests[m][code_index(code)]++;
    observe(&latency[m], seconds);
    pthread_mutex_unlock(&metrics_lock);
}

void server_metrics_queue_wait(double seconds)
{
    pthread_mutex_lock(&metrics_lock);
    observe(&queue_wait, seconds);
    pthread_mutex_unlock(&metrics_lock);
}

void server_metrics_expired(void)
{
    pthread_mutex_lock(&metrics_lock);
    expired++;
    pthread_mutex_unlock(&metrics_lock);
}

void server_metrics_conn_closed(const char *reason)
{
    size_t r = 0;
    while (r < N_REASONS && strcmp(reason, CLOSE_REASONS[r]) != 0)
        r++;
    pthread_mutex_lock(&metrics_lock);
    closed[r]++; /* r == N_REASONS: "other" */
    pthread_mutex_unlock(&metrics_lock);
}

void server_metrics_matches(uint32_t songs, uint32_t artist_only, uint32_t none)
{
    pthread_mutex_lock(&metrics_lock);
    matched_songs += songs;
    matched_artists += artist_only;
    unmatched += none;
    pthread_mutex_unlock(&metrics_lock);
}

void server_metrics_model(const char *version, uint32_t rows, uint32_t k, double load_seconds)
{
    pthread_mutex_lock(&metrics_lock);
    /* A label value: only characters that need no escaping in the exposition. */
    size_t n = 0;
    for (const char *c = version ? version : ""; *c && n + 1 < sizeof model_version; c++) {
        if ((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
            *c == '.' || *c == '-' || *c == '_')
            model_version[n++] = *c;
        else if (*c == '"' || *c == '}')
            model_version[n++] = '_';
    }
    model_version[n] = '\0';
    model_rows = rows;
    model_k = k;
    model_load_seconds = load_seconds;
    model_loads++;
    pthread_mutex_unlock(&metrics_lock);
}

static void header(struct text_buffer *t, const char *name, const char *type, const char *help)
{
    text_buffer_appendf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram's series; labels is "" or `method="Recommend",` (with the trailing comma). */
static void render_histogram(struct text_buffer *t, const char *name, const char *labels,
                             const struct histogram *h)
{
    unsigned long long cumulative = 0;
    for (size_t b = 0; b < N_BUCKETS; b++) {
        cumulative += h->buckets[b];
        text_buffer_appendf(t, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, BUCKETS[b],
                            cumulative);
    }
    text_buffer_appendf(t, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, h->count);
    size_t label_len = strlen(labels);
    if (label_len > 0) {
        text_buffer_appendf(t, "%s_sum{%.*s} %.6f\n", name, (int)label_len - 1, labels, h->sum);
        text_buffer_appendf(t, "%s_count{%.*s} %llu\n", name, (int)label_len - 1, labels, h->count);
    } else {
        text_buffer_appendf(t, "%s_sum %.6f\n", name, h->sum);
        text_buffer_appendf(t, "%s_count %llu\n", name, h->count);
    }
}

char *server_metrics_render(const struct server_gauges *g)
{
    struct text_buffer t;
    text_buffer_init(&t, MAX_EXPOSITION);
    pthread_mutex_lock(&metrics_lock);
    const char *name = "mixtape_reco_requests_total";
    header(&t, name, "counter", "RPC requests answered, by method and code");
    for (size_t m = 0; m < N_METHODS; m++)
        for (size_t c = 0; c < N_CODES; c++)
            if (requests[m][c] > 0 || (CODES[c] == RPC_OK && m < 3))
                text_buffer_appendf(&t, "%s{method=\"%s\",code=\"%s\"} %llu\n", name, METHODS[m],
                                    rpc_code_name(CODES[c]), requests[m][c]);
    name = "mixtape_reco_request_duration_seconds";
    header(&t, name, "histogram", "Time from a request's arrival to its reply, by method");
    for (size_t m = 0; m < N_METHODS; m++) {
        if (latency[m].count == 0 && m >= 3)
            continue;
        char labels[48];
        snprintf(labels, sizeof labels, "method=\"%s\",", METHODS[m]);
        render_histogram(&t, name, labels, &latency[m]);
    }
    name = "mixtape_reco_queue_wait_seconds";
    header(&t, name, "histogram", "Time requests waited in the queue for a worker");
    render_histogram(&t, name, "", &queue_wait);
    header(&t, "mixtape_reco_queue_depth", "gauge", "Requests waiting for a worker");
    text_buffer_appendf(&t, "mixtape_reco_queue_depth %zu\n", g->queue_depth);
    header(&t, "mixtape_reco_queue_capacity", "gauge", "Requests the queue holds (--queue)");
    text_buffer_appendf(&t, "mixtape_reco_queue_capacity %zu\n", g->queue_capacity);
    header(&t, "mixtape_reco_workers", "gauge", "Compute threads (--workers)");
    text_buffer_appendf(&t, "mixtape_reco_workers %d\n", g->workers);
    header(&t, "mixtape_reco_workers_busy", "gauge", "Compute threads working on a request");
    text_buffer_appendf(&t, "mixtape_reco_workers_busy %d\n", g->workers_busy);
    header(&t, "mixtape_reco_in_flight", "gauge",
           "Requests received and not yet answered (queued, computing or sending)");
    text_buffer_appendf(&t, "mixtape_reco_in_flight %d\n", g->in_flight);
    name = "mixtape_reco_expired_dropped_total";
    header(&t, name, "counter",
           "Requests dropped without computing because the caller's deadline had passed");
    text_buffer_appendf(&t, "%s %llu\n", name, expired);
    header(&t, "mixtape_reco_connections", "gauge", "Open RPC connections");
    text_buffer_appendf(&t, "mixtape_reco_connections %d\n", g->connections);
    name = "mixtape_reco_connections_closed_total";
    header(&t, name, "counter", "RPC connections the service closed, by reason");
    for (size_t r = 0; r < N_REASONS; r++)
        text_buffer_appendf(&t, "%s{reason=\"%s\"} %llu\n", name, CLOSE_REASONS[r], closed[r]);
    name = "mixtape_reco_saved_tracks_total";
    header(&t, name, "counter",
           "Saved tracks received in Recommend requests, by how they matched the catalog");
    text_buffer_appendf(&t, "%s{match=\"song\"} %llu\n", name, matched_songs);
    text_buffer_appendf(&t, "%s{match=\"artist_only\"} %llu\n", name, matched_artists);
    text_buffer_appendf(&t, "%s{match=\"unmatched\"} %llu\n", name, unmatched);
    header(&t, "mixtape_reco_model_info", "gauge", "The model served (value 1), by version");
    text_buffer_appendf(&t, "mixtape_reco_model_info{version=\"%s\"} 1\n", model_version);
    header(&t, "mixtape_reco_model_rows", "gauge", "Catalog rows in the model served");
    text_buffer_appendf(&t, "mixtape_reco_model_rows %u\n", model_rows);
    header(&t, "mixtape_reco_model_k", "gauge", "Clusters in the model served");
    text_buffer_appendf(&t, "mixtape_reco_model_k %u\n", model_k);
    header(&t, "mixtape_reco_model_load_seconds", "gauge",
           "How long opening the model served took");
    text_buffer_appendf(&t, "mixtape_reco_model_load_seconds %.6f\n", model_load_seconds);
    header(&t, "mixtape_reco_model_loads_total", "counter",
           "Models opened (start-up and each successful reload)");
    text_buffer_appendf(&t, "mixtape_reco_model_loads_total %llu\n", model_loads);
    pthread_mutex_unlock(&metrics_lock);
    char *text;
    return text_buffer_take(&t, &text, NULL) == TEXT_BUFFER_OK ? text : NULL;
}

void server_metrics_reset(void)
{
    pthread_mutex_lock(&metrics_lock);
    memset(requests, 0, sizeof requests);
    memset(latency, 0, sizeof latency);
    memset(&queue_wait, 0, sizeof queue_wait);
    expired = 0;
    memset(closed, 0, sizeof closed);
    matched_songs = matched_artists = unmatched = 0;
    model_version[0] = '\0';
    model_rows = model_k = 0;
    model_load_seconds = 0;
    model_loads = 0;
    pthread_mutex_unlock(&metrics_lock);
}
