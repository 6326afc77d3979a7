/* reco-bench: the load generator of the reco-service benchmark (tests/bench/reco/run.sh).
 * `sample` draws saved-track lists from a model file deterministically; `latency` times
 * sequential Recommend calls through the RPC client; `floor` times sequential Health calls (the
 * round trip with nothing to compute); `throughput` runs concurrent client threads for a fixed
 * time; `hostile` times one normal user's calls while --clients raw connections pipeline
 * --pipeline heavy Recommend requests each and never read a reply (issue 12); `kernels` times
 * one scoring pass over a model's rows, scalar and SIMD. Results go to stdout as `result ...` / `kernel ...` key=value lines. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attack.h"
#include "model.h"
#include "options.h"
#include "reco_rpc.h"
#include "recommend.h"
#include "rpc.h"
#include "rpc_envelope.h"
#include "splitmix64.h"

#define MAX_LINE         4096u
#define MAX_SAVED_FILE   RECO_MAX_SAVED
#define MAX_THREADS      64
#define MAX_SAMPLES      4000000u
#define LATENCY_MAX_REQS 1000000

/* Options, shared by every subcommand. */
static const char *opt_model;
static const char *opt_endpoint;
static const char *opt_saved;
static const char *opt_label;
static long long opt_count;
static long long opt_seed;
static long long opt_threads;
static long long opt_warmup;
static long long opt_min_requests;
static long long opt_max_requests;
static long long opt_timeout_ms;
static long long opt_resolve_interval;
static long long opt_n;
static long long opt_ranking;
static double opt_seconds;
static bool opt_ids_only;
static long long opt_clients;
static long long opt_pipeline;

static const struct option_spec SPECS[] = {
    {"model", 0, NULL, OPTION_STRING, NULL, 0, 0, "sample, kernels: the model file", &opt_model},
    {"count", 0, NULL, OPTION_INT, "1000", 1, MAX_SAVED_FILE, "sample: how many tracks",
     &opt_count},
    {"seed", 0, NULL, OPTION_INT, "1", 0, 1e15, "sample: seed of the draw", &opt_seed},
    {"endpoint", 0, "RECO_ENDPOINTS", OPTION_STRING, NULL, 0, 0,
     "latency/throughput: reco-service URL(s), comma-separated", &opt_endpoint},
    {"saved", 0, NULL, OPTION_STRING, NULL, 0, 0,
     "latency/throughput: a file written by `sample` (id, name, artists, duration, year)",
     &opt_saved},
    {"label", 0, NULL, OPTION_STRING, "catalog", 0, 0, "catalog name printed in result lines",
     &opt_label},
    {"seconds", 0, NULL, OPTION_DOUBLE, "3", 0.1, 3600, "how long to keep sending", &opt_seconds},
    {"warmup", 0, NULL, OPTION_INT, "20", 0, 100000, "untimed calls first", &opt_warmup},
    {"min-requests", 0, NULL, OPTION_INT, "50", 1, LATENCY_MAX_REQS,
     "latency: at least this many timed calls, even past --seconds", &opt_min_requests},
    {"max-requests", 0, NULL, OPTION_INT, "20000", 1, LATENCY_MAX_REQS,
     "latency: stop after this many timed calls", &opt_max_requests},
    {"threads", 0, NULL, OPTION_INT, "4", 1, MAX_THREADS, "throughput: concurrent client threads",
     &opt_threads},
    {"timeout-ms", 0, NULL, OPTION_INT, "10000", 1, 600000, "deadline of each call",
     &opt_timeout_ms},
    {"resolve-interval", 0, "RECO_RESOLVE_INTERVAL", OPTION_INT, "10", 1, 3600,
     "seconds between lookups of an endpoint's name (every address it has is used)",
     &opt_resolve_interval},
    {"n", 'n', NULL, OPTION_INT, "50", 1, 500, "playlist length asked for", &opt_n},
    {"ranking", 0, NULL, OPTION_INT, "0", 0, 64,
     "RecommendRequest.ranking by its number in reco.proto (0: the service's default, "
     "1: mean cosine, the notebook's)",
     &opt_ranking},
    {"clients", 0, NULL, OPTION_INT, "100", 0, 1000,
     "hostile: raw connections that send and never read", &opt_clients},
    {"pipeline", 0, NULL, OPTION_INT, "200", 1, 100000,
     "hostile: Recommend requests (n=500) each of them pipelines", &opt_pipeline},
    {"ids-only", 0, NULL, OPTION_BOOL, "false", 0, 0,
     "send only ids (default: id, name, artists, duration, year, as the front sends)",
     &opt_ids_only},
};
#define N_SPECS (sizeof SPECS / sizeof SPECS[0])

static const char USAGE[] =
    "usage: reco-bench sample --model MODEL --count N [--seed S]      (prints a saved list)\n"
    "       reco-bench latency --endpoint URL --saved FILE [--seconds S] [--label L]\n"
    "       reco-bench floor --endpoint URL [--seconds S] [--label L]   (Health round trips)\n"
    "       reco-bench throughput --endpoint URL --saved FILE --threads T [--seconds S]\n"
    "       reco-bench hostile --endpoint tcp://HOST:PORT --saved FILE [--clients C] "
    "[--pipeline P] [--seconds S]\n"
    "       reco-bench cores --threads T [--seconds S]   (CPU the machine gives now)\n"
    "       reco-bench kernels --model MODEL [--label L]   (cost of one scoring pass)";

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Prints a field with tabs and newlines replaced, so the line stays one record. */
static void put_field(const char *text)
{
    for (const char *p = text; *p; p++)
        putchar(*p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p);
}

/* True when the row's title and artists fit the service's limit on text fields
 * (RECO_MAX_TEXT): a track the service would refuse as input is not drawn (the 114k catalog
 * has a title of 517 bytes). */
static bool acceptable_text(const struct model *model, uint32_t row)
{
    if (strlen(model_row_name(model, row)) > RECO_MAX_TEXT)
        return false;
    for (const char *a = model_row_artists(model, row); *a; a += strlen(a) + 1)
        if (strlen(a) > RECO_MAX_TEXT)
            return false;
    return true;
}

/* `sample`: count distinct rows drawn by a partial Fisher-Yates shuffle seeded with --seed. */
static int run_sample(void)
{
    int rc = 1;
    struct model *model = NULL;
    uint32_t *rows = NULL;
    char err[512];
    if (opt_model == NULL) {
        fprintf(stderr, "reco-bench sample: --model is required\n");
        goto out;
    }
    enum model_status st = model_open(opt_model, &model, err, sizeof err);
    if (st != MODEL_OK) {
        fprintf(stderr, "reco-bench sample: %s\n", err);
        goto out;
    }
    if ((uint64_t)opt_count > model->n_rows) {
        fprintf(stderr, "reco-bench sample: --count %lld exceeds the model's %" PRIu32 " rows\n",
                opt_count, model->n_rows);
        goto out;
    }
    rows = malloc((size_t)model->n_rows * sizeof *rows);
    if (rows == NULL) {
        fprintf(stderr, "reco-bench sample: out of memory\n");
        goto out;
    }
    for (uint32_t i = 0; i < model->n_rows; i++)
        rows[i] = i;
    uint64_t state = (uint64_t)opt_seed;
    uint32_t taken = 0;
    for (uint32_t i = 0; i < model->n_rows && taken < (uint32_t)opt_count; i++) {
        uint32_t j = i + (uint32_t)(splitmix64_next(&state) % (model->n_rows - i));
        uint32_t row = rows[j];
        rows[j] = rows[i];
        rows[i] = row;
        if (model_row_id(model, row)[0] == '\0' || !acceptable_text(model, row))
            continue;
        put_field(model_row_id(model, row));
        putchar('\t');
        put_field(model_row_name(model, row));
        putchar('\t');
        const char *first = model_row_artists(model, row);
        for (const char *a = first; *a; a += strlen(a) + 1) {
            if (a != first)
                putchar(';');
            put_field(a);
        }
        printf("\t%" PRIu32 "\t%u\n", model_row_duration_ms(model, row),
               (unsigned)model_row_year(model, row));
        taken++;
    }
    if (taken < (uint32_t)opt_count) {
        fprintf(stderr, "reco-bench sample: only %" PRIu32 " rows have an id\n", taken);
        goto out;
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
out:
    free(rows);
    model_close(model);
    return rc;
}

/* A saved list read from a `sample` file, as the packed RecommendRequest sent on every call. */
struct saved_request {
    uint8_t *packed;
    size_t packed_len;
    uint32_t n_saved;
};

/* Splits line at tabs in place into at most max fields; returns how many. */
static size_t split_tabs(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *tab = strchr(p, '\t');
        if (tab == NULL)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

static int load_saved(const char *path, struct saved_request *out)
{
    int rc = -1;
    FILE *f = fopen(path, "r");
    char **lines = NULL;
    struct reco_rpc_track *tracks = NULL;
    char **artist_ptrs = NULL;
    size_t n = 0;
    char line[MAX_LINE];
    if (f == NULL) {
        fprintf(stderr, "reco-bench: cannot open %s: %s\n", path, strerror(errno));
        goto out;
    }
    lines = calloc(MAX_SAVED_FILE, sizeof *lines);
    tracks = calloc(MAX_SAVED_FILE, sizeof *tracks);
    artist_ptrs = calloc((size_t)MAX_SAVED_FILE * RECO_MAX_ARTISTS, sizeof *artist_ptrs);
    if (lines == NULL || tracks == NULL || artist_ptrs == NULL)
        goto out;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if (n == MAX_SAVED_FILE) {
            fprintf(stderr, "reco-bench: %s has more than %u saved tracks\n", path, MAX_SAVED_FILE);
            goto out;
        }
        lines[n] = strdup(line);
        if (lines[n] == NULL)
            goto out;
        char *fields[5] = {0};
        size_t n_fields = split_tabs(lines[n], fields, 5);
        struct reco_rpc_track *t = &tracks[n];
        t->id = fields[0];
        if (!opt_ids_only && n_fields == 5) {
            t->name = fields[1];
            char **artists = &artist_ptrs[n * RECO_MAX_ARTISTS];
            size_t n_artists = 0;
            for (char *a = fields[2]; a != NULL && *a && n_artists < RECO_MAX_ARTISTS;) {
                char *semi = strchr(a, ';');
                if (semi != NULL)
                    *semi = '\0';
                artists[n_artists++] = a;
                a = semi != NULL ? semi + 1 : NULL;
            }
            t->artists = artists;
            t->n_artists = n_artists;
            t->has_duration_ms = true;
            t->duration_ms = (uint32_t)strtoul(fields[3], NULL, 10);
            t->year = (uint32_t)strtoul(fields[4], NULL, 10);
            t->has_year = t->year != 0;
        }
        n++;
    }
    if (n == 0) {
        fprintf(stderr, "reco-bench: %s holds no saved tracks\n", path);
        goto out;
    }
    struct reco_rpc_request req = {.tracks = tracks,
                                   .n_tracks = n,
                                   .has_n = true,
                                   .n = (uint32_t)opt_n,
                                   .has_ranking = opt_ranking != 0,
                                   .ranking = (uint32_t)opt_ranking};
    if (reco_rpc_pack_request(&req, &out->packed, &out->packed_len) != 0)
        goto out;
    out->n_saved = (uint32_t)n;
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    for (size_t i = 0; lines != NULL && i < n; i++)
        free(lines[i]);
    free(lines);
    free(tracks);
    free(artist_ptrs);
    return rc;
}

/* What one reply said, checked after the clock stopped. */
struct reply_check {
    uint32_t picks, by_id, by_title, unmatched;
};

/* One Recommend call. Returns 0 on an OK reply holding at least one pick (*check filled). */
static int call_once(struct rpc_client *client, const struct saved_request *req, double *ms,
                     struct reply_check *check)
{
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    char *message = NULL;
    double start = now_ms();
    enum rpc_code code = rpc_call(client, "Recommend", req->packed, req->packed_len,
                                  (uint32_t)opt_timeout_ms, &reply, &reply_len, &message, NULL);
    *ms = now_ms() - start;
    int rc = -1;
    if (code != RPC_OK) {
        fprintf(stderr, "reco-bench: Recommend: %s: %s\n", rpc_code_name(code),
                message != NULL ? message : "(no message)");
        goto out;
    }
    struct reco_rpc_reply *r = reco_rpc_decode_reply(reply, reply_len);
    if (r == NULL) {
        fprintf(stderr, "reco-bench: Recommend: reply does not parse\n");
        goto out;
    }
    if (check != NULL) {
        check->picks = (uint32_t)r->n_picks;
        check->by_id = r->stats.by_id;
        check->by_title = r->stats.by_title;
        check->unmatched = r->stats.unmatched;
    }
    rc = r->n_picks > 0 ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "reco-bench: Recommend: OK reply without picks\n");
    reco_rpc_reply_free(r);
out:
    free(reply);
    free(message);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples. */
static double percentile(const double *sorted, size_t n, double q)
{
    size_t rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

static double mean_of(const double *v, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return n > 0 ? sum / (double)n : 0;
}

static int open_client(struct rpc_client **client, bool need_saved)
{
    char err[256];
    if (opt_endpoint == NULL || (need_saved && opt_saved == NULL)) {
        fprintf(stderr, "reco-bench: --endpoint%s required\n",
                need_saved ? " and --saved are" : " is");
        return -1;
    }
    struct rpc_client_options options = {.resolve_interval_s = (unsigned)opt_resolve_interval};
    if (rpc_client_open_with(client, opt_endpoint, &options, err, sizeof err) != RPC_OK) {
        fprintf(stderr, "reco-bench: --endpoint: %s\n", err);
        return -1;
    }
    return 0;
}

/* One Health call: 0 when it answered OK and serving. */
static int health_once(struct rpc_client *client, double *ms)
{
    struct reco_rpc_health *health = NULL;
    char *message = NULL;
    double start = now_ms();
    enum rpc_code code = reco_rpc_health(client, (uint32_t)opt_timeout_ms, &health, &message);
    *ms = now_ms() - start;
    int rc = -1;
    if (code != RPC_OK) {
        fprintf(stderr, "reco-bench: Health: %s: %s\n", rpc_code_name(code),
                message != NULL ? message : "(no message)");
    } else {
        rc = health != NULL && health->serving ? 0 : -1;
        if (rc != 0)
            fprintf(stderr, "reco-bench: Health: not serving, or the reply does not parse\n");
    }
    reco_rpc_health_free(health);
    free(message);
    return rc;
}

/* The calls `latency` and `floor` time: one call of either kind, 0 when it answered as it should. */
struct timed_call {
    struct rpc_client *client;
    const struct saved_request *req; /* Recommend; NULL: Health */
    struct reply_check check;        /* of the last Recommend */
};

static int call_timed(struct timed_call *call, double *ms)
{
    return call->req ? call_once(call->client, call->req, ms, &call->check)
                     : health_once(call->client, ms);
}

/* One client, calls back to back, each timed: the warm-up, then at least --min-requests and for
 * --seconds, at most --max-requests, giving up after 100 failures. Fills samples (sorted) and
 * *n; returns -1 with a message naming `command` when every warm-up call or every timed call
 * failed. */
static int time_calls(const char *command, struct timed_call *call, double *samples, size_t *n,
                      size_t *errors)
{
    *n = *errors = 0;
    for (long long i = 0; i < opt_warmup; i++) {
        double ms;
        if (call_timed(call, &ms) != 0)
            (*errors)++;
    }
    if (*errors > 0 && *errors == (size_t)opt_warmup) {
        fprintf(stderr, "reco-bench %s: every warm-up call failed\n", command);
        return -1;
    }
    double start = now_ms();
    while (*n < (size_t)opt_max_requests && *errors <= 100 &&
           (*n < (size_t)opt_min_requests || now_ms() - start < opt_seconds * 1e3)) {
        double ms;
        if (call_timed(call, &ms) != 0)
            (*errors)++;
        else
            samples[(*n)++] = ms;
    }
    if (*n == 0) {
        fprintf(stderr, "reco-bench %s: no call succeeded\n", command);
        return -1;
    }
    qsort(samples, *n, sizeof *samples, cmp_double);
    return 0;
}

/* `latency`: Recommend calls from one client, back to back, each timed. */
static int run_latency(void)
{
    int rc = 1;
    struct saved_request req = {0};
    struct timed_call call = {.req = &req};
    double *samples = calloc((size_t)opt_max_requests, sizeof *samples);
    size_t n, errors;
    if (samples == NULL || open_client(&call.client, true) != 0 ||
        load_saved(opt_saved, &req) != 0 || time_calls("latency", &call, samples, &n, &errors) != 0)
        goto out;
    printf("result impl=reco_service catalog=%s saved=%" PRIu32 " ranking=%lld requests=%zu "
           "p50_ms=%.4f "
           "p99_ms=%.4f mean_ms=%.4f errors=%zu request_bytes=%zu picks=%" PRIu32 " by_id=%" PRIu32
           " by_title=%" PRIu32 " unmatched=%" PRIu32 "\n",
           opt_label, req.n_saved, opt_ranking, n, percentile(samples, n, 0.50),
           percentile(samples, n, 0.99), mean_of(samples, n), errors, req.packed_len,
           call.check.picks, call.check.by_id, call.check.by_title, call.check.unmatched);
    rc = errors == 0 ? 0 : 1;
out:
    rpc_client_close(call.client);
    free(req.packed);
    free(samples);
    return rc;
}

/* `floor`: Health calls back to back, each timed: what the RPC itself costs (two envelopes of a
 * few bytes, NNG over the transport, the service's worker hand-off), below any Recommend. */
static int run_floor(void)
{
    int rc = 1;
    struct timed_call call = {.req = NULL};
    double *samples = calloc((size_t)opt_max_requests, sizeof *samples);
    size_t n, errors;
    if (samples == NULL || open_client(&call.client, false) != 0 ||
        time_calls("floor", &call, samples, &n, &errors) != 0)
        goto out;
    printf("result impl=rpc_floor catalog=%s method=Health requests=%zu p50_ms=%.4f p99_ms=%.4f "
           "mean_ms=%.4f errors=%zu\n",
           opt_label, n, percentile(samples, n, 0.50), percentile(samples, n, 0.99),
           mean_of(samples, n), errors);
    rc = errors == 0 ? 0 : 1;
out:
    rpc_client_close(call.client);
    free(samples);
    return rc;
}

struct worker {
    pthread_t thread;
    struct rpc_client *client;
    const struct saved_request *req;
    double stop_at;
    double *samples;
    size_t n, cap, errors;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    while (now_ms() < w->stop_at) {
        double ms;
        if (call_once(w->client, w->req, &ms, NULL) != 0) {
            w->errors++;
            continue;
        }
        if (w->n < w->cap)
            w->samples[w->n++] = ms;
    }
    return NULL;
}

/* While `throughput` runs: the client's endpoints watched every 20 ms, each change printed as
 *   endpoint t=UNIX_SECONDS url=URL event=added|active|ejected|connecting|removed|served
 * ("served": the endpoint got a call for the first time since it was added or came back), so a
 * test can tell when an instance was taken out and when it got traffic again. */
#define WATCH_MAX 64u
struct watch {
    struct rpc_client *client;
    atomic_bool stop;
    pthread_t thread;
    size_t n;
    struct {
        char url[512];
        const char *state;
        uint64_t calls_mark;
        bool awaiting_call, present;
    } seen[WATCH_MAX];
};

static void watch_event(const char *url, const char *event)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("endpoint t=%lld.%03ld url=%s event=%s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000,
           url, event);
    fflush(stdout);
}

static void *watch_main(void *arg)
{
    struct watch *w = arg;
    static struct rpc_endpoint_status eps[WATCH_MAX];
    while (!atomic_load(&w->stop)) {
        size_t n = rpc_client_endpoints(w->client, eps, WATCH_MAX, NULL);
        for (size_t k = 0; k < w->n; k++)
            w->seen[k].present = false;
        for (size_t i = 0; i < n && i < WATCH_MAX; i++) {
            size_t k = 0;
            while (k < w->n && strcmp(w->seen[k].url, eps[i].url) != 0)
                k++;
            if (k == w->n) {
                if (w->n == WATCH_MAX)
                    continue;
                w->n++;
                memcpy(w->seen[k].url, eps[i].url, sizeof w->seen[k].url);
                w->seen[k].state = "";
                w->seen[k].calls_mark = eps[i].calls;
                w->seen[k].awaiting_call = true;
                watch_event(eps[i].url, "added");
            }
            w->seen[k].present = true;
            if (strcmp(w->seen[k].state, eps[i].state) != 0) {
                w->seen[k].state = eps[i].state;
                watch_event(eps[i].url, eps[i].state);
                if (strcmp(eps[i].state, "active") != 0) {
                    w->seen[k].awaiting_call = true;
                    w->seen[k].calls_mark = eps[i].calls;
                }
            }
            if (w->seen[k].awaiting_call && strcmp(eps[i].state, "active") == 0 &&
                eps[i].calls > w->seen[k].calls_mark) {
                w->seen[k].awaiting_call = false;
                watch_event(eps[i].url, "served");
            }
        }
        for (size_t k = 0; k < w->n; k++) /* freed once its calls were over */
            if (!w->seen[k].present && strcmp(w->seen[k].state, "removed") != 0) {
                w->seen[k].state = "removed";
                watch_event(w->seen[k].url, "removed");
            }
        nanosleep(&(struct timespec){.tv_nsec = 20000000}, NULL);
    }
    return NULL;
}

/* `throughput`: --threads clients share one rpc_client (as the front's worker threads do) and
 * call back to back for --seconds; requests/s counts OK replies over the wall time. */
static int run_throughput(void)
{
    int rc = 1;
    struct rpc_client *client = NULL;
    struct saved_request req = {0};
    struct worker workers[MAX_THREADS];
    size_t started = 0;
    double *all = NULL;
    memset(workers, 0, sizeof workers);
    if (open_client(&client, true) != 0 || load_saved(opt_saved, &req) != 0)
        goto out;
    for (long long i = 0; i < opt_warmup; i++) {
        double ms;
        (void)call_once(client, &req, &ms, NULL);
    }
    size_t cap = MAX_SAMPLES / (size_t)opt_threads;
    static struct watch watch;
    watch.client = client;
    atomic_init(&watch.stop, false);
    bool watching = pthread_create(&watch.thread, NULL, watch_main, &watch) == 0;
    double start = now_ms();
    for (long long i = 0; i < opt_threads; i++) {
        struct worker *w = &workers[i];
        w->client = client;
        w->req = &req;
        w->stop_at = start + opt_seconds * 1e3;
        w->cap = cap;
        w->samples = malloc(cap * sizeof *w->samples);
        if (w->samples == NULL || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            fprintf(stderr, "reco-bench throughput: cannot start thread %lld\n", i);
            free(w->samples);
            w->samples = NULL;
            break;
        }
        started++;
    }
    size_t total = 0, errors = 0;
    for (size_t i = 0; i < started; i++) {
        pthread_join(workers[i].thread, NULL);
        total += workers[i].n;
        errors += workers[i].errors;
    }
    double wall_ms = now_ms() - start;
    if (watching) {
        atomic_store(&watch.stop, true);
        pthread_join(watch.thread, NULL);
    }
    if (started != (size_t)opt_threads || total == 0) {
        fprintf(stderr, "reco-bench throughput: no call succeeded\n");
        goto out;
    }
    all = malloc(total * sizeof *all);
    if (all == NULL)
        goto out;
    size_t at = 0;
    for (size_t i = 0; i < started; i++) {
        memcpy(all + at, workers[i].samples, workers[i].n * sizeof *all);
        at += workers[i].n;
    }
    qsort(all, total, sizeof *all, cmp_double);
    printf("result impl=reco_service_throughput catalog=%s saved=%" PRIu32
           " ranking=%lld threads=%lld "
           "requests=%zu seconds=%.2f rps=%.1f p50_ms=%.4f p99_ms=%.4f mean_ms=%.4f errors=%zu\n",
           opt_label, req.n_saved, opt_ranking, opt_threads, total, wall_ms / 1e3,
           (double)total / (wall_ms / 1e3), percentile(all, total, 0.50),
           percentile(all, total, 0.99), mean_of(all, total), errors);
    rc = errors == 0 ? 0 : 1;
out:
    for (size_t i = 0; i < (size_t)MAX_THREADS; i++)
        free(workers[i].samples);
    free(all);
    rpc_client_close(client);
    free(req.packed);
    return rc;
}

/* `hostile`: --clients raw connections each pipeline --pipeline Recommend requests for 500
 * picks and never read (attack.h), while one normal user calls Recommend (the --saved list,
 * --n picks) back to back through the real client. Prints the user's latency and failures and
 * how often the attackers were cut off. */
static int run_hostile(void)
{
    int rc = 1;
    struct rpc_client *client = NULL;
    struct saved_request req = {0}, heavy = {0};
    struct attack *attack = NULL;
    uint8_t *envelope = NULL;
    size_t envelope_len = 0, sent = 0, reconnects = 0, n = 0, errors = 0, cap = 1000000;
    double *samples = malloc(cap * sizeof *samples);
    long long user_n = opt_n;
    if (!samples || open_client(&client, true) != 0 || load_saved(opt_saved, &req) != 0)
        goto out;
    opt_n = 500;
    int loaded = load_saved(opt_saved, &heavy);
    opt_n = user_n;
    if (loaded != 0 || rpc_request_encode(1, "Recommend", 600000, heavy.packed, heavy.packed_len,
                                          &envelope, &envelope_len) != 0)
        goto out;
    if (opt_clients > 0) {
        attack = attack_start(opt_endpoint, envelope, envelope_len, opt_clients, opt_pipeline);
        if (!attack)
            goto out;
        struct timespec settle = {.tv_sec = 1};
        nanosleep(&settle, NULL); /* let the pipelines fill */
    }
    double start = now_ms(), worst = 0;
    while (now_ms() - start < opt_seconds * 1e3) {
        double ms;
        if (call_once(client, &req, &ms, NULL) != 0) {
            errors++;
            continue;
        }
        worst = ms > worst ? ms : worst;
        if (n < cap)
            samples[n++] = ms;
    }
    double wall_s = (now_ms() - start) / 1e3;
    if (attack)
        attack_stop(attack, &sent, &reconnects);
    attack = NULL;
    if (n == 0) {
        fprintf(stderr, "reco-bench hostile: no normal call succeeded\n");
        goto out;
    }
    qsort(samples, n, sizeof *samples, cmp_double);
    printf("result impl=reco_service_hostile catalog=%s saved=%" PRIu32 " clients=%lld "
           "pipeline=%lld attack_requests=%zu attack_reconnects=%zu user_calls=%zu "
           "seconds=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%zu\n",
           opt_label, req.n_saved, opt_clients, opt_pipeline, sent, reconnects, n, wall_s,
           percentile(samples, n, 0.50), percentile(samples, n, 0.99), worst, errors);
    rc = errors == 0 ? 0 : 1;
out:
    if (attack)
        attack_stop(attack, &sent, &reconnects);
    free(samples);
    free(envelope);
    rpc_client_close(client);
    free(req.packed);
    free(heavy.packed);
    return rc;
}

/* `cores`: how much CPU this machine gives right now (attack.h). A workers comparison means
 * little when this is far below the cores it pins to. */
static int run_cores(void)
{
    double cores = cores_measure((int)opt_threads, opt_seconds);
    printf("result impl=machine_cores threads=%lld seconds=%.2f cores=%.2f\n", opt_threads,
           opt_seconds, cores);
    return cores < 0 ? 1 : 0;
}

/* `kernels`: what one scoring pass over every row of a model costs on this machine, the way
 * recommend.c does it (scalar dot product with four accumulators, one call per row) and with
 * SIMD over a zero-padded query (GCC vector extensions, SSE everywhere and an AVX2 clone), next
 * to a plain read of the same bytes (the memory-bandwidth floor). Evidence for the service's
 * profile: the pass is where a Recommend call spends its time. */
typedef float vec4 __attribute__((vector_size(16)));
typedef float vec8 __attribute__((vector_size(32)));

/* The SIMD kernels read 16 floats per row for models of up to 16 dims (audio features alone),
 * 32 for up to 32 (with the genre embedding, 23 by default). */
#define KERNEL_PAD 32u

__attribute__((noinline)) static float scalar_dot(const float *a, const float *b, uint32_t n)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    uint32_t d = 0;
    for (; d + 4 <= n; d += 4) {
        s0 += a[d] * b[d];
        s1 += a[d + 1] * b[d + 1];
        s2 += a[d + 2] * b[d + 2];
        s3 += a[d + 3] * b[d + 3];
    }
    for (; d < n; d++)
        s0 += a[d] * b[d];
    return (s0 + s1) + (s2 + s3);
}

static float cosine_of(float dot, float norm, float inv_u)
{
    return norm > 0 ? dot * inv_u / norm : 0.0f;
}

static void pass_scalar(const struct model *m, const float *u, float inv_u, float *out)
{
    for (uint32_t i = 0; i < m->n_rows; i++)
        out[i] = cosine_of(scalar_dot(m->rows + (size_t)i * m->n_dims, u, m->n_dims),
                           m->row_norms[i], inv_u);
}

/* The floats the SIMD kernels read per row for this model: 16 or 32. */
static uint32_t kernel_pad(const struct model *m)
{
    return m->n_dims <= 16 ? 16u : 32u;
}

/* How many leading rows can be read `pad` floats at a time (past their end into the next row,
 * which the zero padding of u cancels) without reading past the matrix; the rest are scored
 * with the scalar dot. */
static uint32_t simd_rows(const struct model *m, uint32_t pad)
{
    size_t total = (size_t)m->n_rows * m->n_dims;
    return total >= pad ? (uint32_t)((total - pad) / m->n_dims + 1) : 0;
}

/* One pass reading `pad` floats per row 4 at a time; inlined with pad a constant, so each
 * caller's loop is unrolled. */
static inline __attribute__((always_inline)) void
pass_vec4_padded(const struct model *m, const float *u, float inv_u, float *out, uint32_t pad)
{
    vec4 uq[KERNEL_PAD / 4];
    memcpy(uq, u, pad * sizeof *u);
    uint32_t vector_rows = simd_rows(m, pad);
    for (uint32_t i = 0; i < vector_rows; i++) {
        const float *v = m->rows + (size_t)i * m->n_dims;
        vec4 s = {0, 0, 0, 0};
        for (uint32_t q = 0; q < pad / 4; q++) {
            vec4 a;
            memcpy(&a, v + 4 * q, sizeof a);
            s += a * uq[q];
        }
        out[i] = cosine_of((s[0] + s[1]) + (s[2] + s[3]), m->row_norms[i], inv_u);
    }
    for (uint32_t i = vector_rows; i < m->n_rows; i++)
        out[i] = cosine_of(scalar_dot(m->rows + (size_t)i * m->n_dims, u, m->n_dims),
                           m->row_norms[i], inv_u);
}

static void pass_vec4(const struct model *m, const float *u, float inv_u, float *out)
{
    if (kernel_pad(m) == 16)
        pass_vec4_padded(m, u, inv_u, out, 16);
    else
        pass_vec4_padded(m, u, inv_u, out, 32);
}

/* The same 8 floats at a time. */
static inline __attribute__((always_inline)) void
pass_vec8_padded(const struct model *m, const float *u, float inv_u, float *out, uint32_t pad)
{
    vec8 uq[KERNEL_PAD / 8];
    memcpy(uq, u, pad * sizeof *u);
    uint32_t vector_rows = simd_rows(m, pad);
    for (uint32_t i = 0; i < vector_rows; i++) {
        const float *v = m->rows + (size_t)i * m->n_dims;
        vec8 s = {0, 0, 0, 0, 0, 0, 0, 0};
        for (uint32_t q = 0; q < pad / 8; q++) {
            vec8 a;
            memcpy(&a, v + 8 * q, sizeof a);
            s += a * uq[q];
        }
        float dot = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
        out[i] = cosine_of(dot, m->row_norms[i], inv_u);
    }
    for (uint32_t i = vector_rows; i < m->n_rows; i++)
        out[i] = cosine_of(scalar_dot(m->rows + (size_t)i * m->n_dims, u, m->n_dims),
                           m->row_norms[i], inv_u);
}

__attribute__((target_clones("avx2", "default"))) static void
pass_vec8(const struct model *m, const float *u, float inv_u, float *out)
{
    if (kernel_pad(m) == 16)
        pass_vec8_padded(m, u, inv_u, out, 16);
    else
        pass_vec8_padded(m, u, inv_u, out, 32);
}

/* Sums every float of the matrix: the cost of only reading it. */
static void pass_read(const struct model *m, const float *u, float inv_u, float *out)
{
    vec4 a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0; /* independent sums: not add-bound */
    size_t n = (size_t)m->n_rows * m->n_dims, i = 0;
    for (; i + 16 <= n; i += 16) {
        vec4 v0, v1, v2, v3;
        memcpy(&v0, m->rows + i, sizeof v0);
        memcpy(&v1, m->rows + i + 4, sizeof v1);
        memcpy(&v2, m->rows + i + 8, sizeof v2);
        memcpy(&v3, m->rows + i + 12, sizeof v3);
        a0 += v0;
        a1 += v1;
        a2 += v2;
        a3 += v3;
    }
    vec4 acc = (a0 + a1) + (a2 + a3);
    float total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (; i < n; i++)
        total += m->rows[i];
    out[0] = total * inv_u + u[0];
}

static int run_kernels(void)
{
    int rc = 1;
    struct model *model = NULL;
    float *reference = NULL, *scores = NULL;
    char err[512];
    if (opt_model == NULL) {
        fprintf(stderr, "reco-bench kernels: --model is required\n");
        goto out;
    }
    if (model_open(opt_model, &model, err, sizeof err) != MODEL_OK) {
        fprintf(stderr, "reco-bench kernels: %s\n", err);
        goto out;
    }
    if (model->n_dims > KERNEL_PAD || model->n_rows < 4) {
        fprintf(stderr, "reco-bench kernels: needs at most %u dims and 4 rows\n", KERNEL_PAD);
        goto out;
    }
    /* The query: the mean of an even sample of rows, as a user's cluster mean would be. */
    float u[KERNEL_PAD] = {0};
    uint32_t step = model->n_rows / 1000 + 1, taken = 0;
    for (uint32_t i = 0; i < model->n_rows; i += step, taken++)
        for (uint32_t d = 0; d < model->n_dims; d++)
            u[d] += model->rows[(size_t)i * model->n_dims + d];
    float norm = 0;
    for (uint32_t d = 0; d < model->n_dims; d++) {
        u[d] /= (float)taken;
        norm += u[d] * u[d];
    }
    float inv_u = norm > 0 ? 1.0f / sqrtf(norm) : 0.0f;
    reference = malloc((size_t)model->n_rows * sizeof *reference);
    scores = malloc((size_t)model->n_rows * sizeof *scores);
    const int repeats = 30;
    if (reference == NULL || scores == NULL)
        goto out;
    pass_scalar(model, u, inv_u, reference);
    static const struct {
        const char *name;
        void (*pass)(const struct model *, const float *, float, float *);
        bool compare;
    } KERNELS[] = {
        {"scalar_dot_per_row", pass_scalar, true},
        {"simd_sse_vec4", pass_vec4, true},
        {"simd_avx2_vec8", pass_vec8, true},
        {"read_only_floor", pass_read, false},
    };
    for (size_t k = 0; k < sizeof KERNELS / sizeof KERNELS[0]; k++) {
        double best = 1e300;
        for (int r = 0; r < repeats; r++) {
            double start = now_ms();
            KERNELS[k].pass(model, u, inv_u, scores);
            double ms = now_ms() - start;
            if (ms < best)
                best = ms;
        }
        double worst_diff = 0;
        for (uint32_t i = 0; KERNELS[k].compare && i < model->n_rows; i++) {
            double diff = fabs((double)scores[i] - (double)reference[i]);
            if (diff > worst_diff)
                worst_diff = diff;
        }
        if (worst_diff > 1e-4) {
            fprintf(stderr, "reco-bench kernels: %s disagrees with the scalar pass by %g\n",
                    KERNELS[k].name, worst_diff);
            goto out;
        }
        printf("kernel catalog=%s name=%s rows=%" PRIu32 " dims=%" PRIu32
               " best_ms=%.4f ns_per_row=%.2f max_diff=%.1e\n",
               opt_label, KERNELS[k].name, model->n_rows, model->n_dims, best,
               best * 1e6 / model->n_rows, worst_diff);
    }
    rc = 0;
out:
    free(reference);
    free(scores);
    model_close(model);
    return rc;
}

int main(int argc, char **argv)
{
    char **positional = calloc((size_t)argc + 1, sizeof *positional);
    int n_positional = 0;
    int rc = 2;
    if (positional == NULL)
        goto out;
    enum options_result parsed =
        options_parse(SPECS, N_SPECS, argc, argv, USAGE, positional, &n_positional);
    if (parsed == OPTIONS_HELP) {
        rc = 0;
        goto out;
    }
    if (parsed != OPTIONS_OK)
        goto out;
    if (n_positional != 1) {
        fprintf(stderr, "%s\n", USAGE);
        goto out;
    }
    if (strcmp(positional[0], "sample") == 0)
        rc = run_sample();
    else if (strcmp(positional[0], "latency") == 0)
        rc = run_latency();
    else if (strcmp(positional[0], "floor") == 0)
        rc = run_floor();
    else if (strcmp(positional[0], "throughput") == 0)
        rc = run_throughput();
    else if (strcmp(positional[0], "kernels") == 0)
        rc = run_kernels();
    else if (strcmp(positional[0], "hostile") == 0)
        rc = run_hostile();
    else if (strcmp(positional[0], "cores") == 0)
        rc = run_cores();
    else
        fprintf(stderr, "reco-bench: unknown command '%s'\n%s\n", positional[0], USAGE);
out:
    free(positional);
    return rc;
}
