/* reco-evaluate: the recommendation-quality evaluation. Reads a model and the genre-labelled
 * catalog it was built from, simulates users (users.h), runs each through the real recommend()
 * path and through the baselines (baselines.h), and prints the metrics (metrics.h) per method
 * and user type as tab-separated lines. Run by tests/quality/run.sh; see README.md. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "baselines.h"
#include "labels.h"
#include "log.h"
#include "metrics.h"
#include "model.h"
#include "options.h"
#include "recommend.h"
#include "users.h"

#define MAX_METHODS 16u
#define MAX_THREADS 64u

/* A method is a ranking of recommend() or a baseline. */
struct method {
    const char *name;
    int is_baseline;
    enum reco_ranking ranking;
    enum baseline baseline;
    int excludes_saved; /* hygiene must be 0 */
};

static const struct method METHODS[] = {
    {"reco-default", 0, RECO_RANK_DEFAULT, 0, 1},
    {"reco-mean", 0, RECO_RANK_MEAN_COSINE, 0, 1},
    {"reco-centroid", 0, RECO_RANK_CENTROID_COSINE, 0, 1},
    {"reco-nn", 0, RECO_RANK_NEAREST_NEIGHBOURS, 0, 1},
    {"reco-votes", 0, RECO_RANK_NEIGHBOUR_VOTES, 0, 1},
    {"reco-votes-artists", 0, RECO_RANK_VOTES_AND_ARTISTS, 0, 1},
    {"reco-mean-artists", 0, RECO_RANK_MEAN_AND_ARTISTS, 0, 1},
    {"mean", 1, 0, BASELINE_MEAN, 1},
    {"mean-unfiltered", 1, 0, BASELINE_MEAN_UNFILTERED, 0},
    {"notebook", 1, 0, BASELINE_NOTEBOOK, 0},
    {"knn-union", 1, 0, BASELINE_KNN_UNION, 1},
    {"knn-union-artists", 1, 0, BASELINE_KNN_UNION_ARTISTS, 1},
    {"random-genre", 1, 0, BASELINE_RANDOM_GENRE, 1},
    {"random-catalog", 1, 0, BASELINE_RANDOM_CATALOG, 1},
};
#define N_KNOWN_METHODS (sizeof METHODS / sizeof METHODS[0])

struct evaluation {
    const struct model *model;
    const struct labels *labels;
    const struct method *methods[MAX_METHODS];
    uint32_t n_methods;
    uint32_t users_per_type, n_users, n, min_pool, max_per_artist;
    uint64_t seed;
    struct metrics *results; /* n_methods * n_users */
    double *seconds;         /* n_methods * n_threads */
    uint32_t *skipped;       /* n_users: 1 when the catalog could not give this user */
    uint32_t *failed;        /* n_methods * n_threads: recommend() errors */
    uint32_t n_threads;
};

struct worker {
    struct evaluation *evaluation;
    uint32_t index;
    int status;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs one method for one user; writes picks and returns how many, or UINT32_MAX on error. */
static uint32_t run_method(const struct evaluation *ev, const struct method *method,
                           const struct sim_user *user, const struct reco_saved *saved,
                           const uint32_t *saved_rows, uint32_t n_saved_rows, struct rng *rng,
                           struct baseline_scratch *scratch, uint32_t *picks)
{
    if (method->is_baseline)
        return baseline_run(method->baseline, ev->model, ev->labels, user, saved_rows, n_saved_rows,
                            ev->n, rng, scratch, picks);
    struct reco_options options = {
        .n = ev->n, .max_per_artist = ev->max_per_artist, .ranking = method->ranking};
    struct reco_result result = {0};
    char err[256];
    enum reco_status status =
        recommend(ev->model, saved, user->n_saved, &options, &result, err, sizeof err);
    if (status != RECO_OK) {
        log_error("recommend_failed", "method=%s status=\"%s\" reason=\"%s\"", method->name,
                  reco_strerror(status), err);
        return UINT32_MAX;
    }
    uint32_t got = result.n_picks;
    for (uint32_t i = 0; i < got; i++)
        picks[i] = result.picks[i].row;
    reco_result_free(&result);
    return got;
}

static int evaluate_user(struct evaluation *ev, uint32_t u, uint32_t thread,
                         struct baseline_scratch *scratch, uint32_t *picks, uint32_t *keys)
{
    struct sim_user user;
    uint32_t type = u / ev->users_per_type;
    if (users_make(ev->labels, type, u % ev->users_per_type, ev->seed, ev->min_pool, &user) != 0) {
        ev->skipped[u] = 1;
        return 0;
    }
    int result = -1;
    uint32_t *saved_rows = malloc((user.n_saved ? user.n_saved : 1) * sizeof *saved_rows);
    uint32_t *held_rows = malloc((user.n_held ? user.n_held : 1) * sizeof *held_rows);
    struct reco_saved *saved = calloc(user.n_saved ? user.n_saved : 1, sizeof *saved);
    if (!saved_rows || !held_rows || !saved)
        goto done;
    for (uint32_t i = 0; i < user.n_saved; i++) {
        saved_rows[i] = ev->labels->id_row[user.saved[i]];
        saved[i].id = ev->labels->ids[user.saved[i]];
    }
    size_t n_saved_rows = metrics_sort_unique(saved_rows, user.n_saved);
    size_t n_held_rows = 0;
    for (uint32_t i = 0; i < user.n_held; i++) {
        uint32_t row = ev->labels->id_row[user.held[i]];
        if (!metrics_contains(saved_rows, n_saved_rows, row))
            held_rows[n_held_rows++] = row;
    }
    n_held_rows = metrics_sort_unique(held_rows, n_held_rows);
    struct metrics_user scored = {user.n_genres, user.genres, user.shares, saved_rows,
                                  n_saved_rows,  held_rows,   n_held_rows};
    for (uint32_t m = 0; m < ev->n_methods; m++) {
        const struct method *method = ev->methods[m];
        struct rng rng = {ev->seed ^ ((uint64_t)u << 20) ^ m};
        double start = now_seconds();
        uint32_t got = run_method(ev, method, &user, saved, saved_rows, (uint32_t)n_saved_rows,
                                  &rng, scratch, picks);
        ev->seconds[m * ev->n_threads + thread] += now_seconds() - start;
        if (got == UINT32_MAX) {
            ev->failed[m * ev->n_threads + thread]++;
            got = 0;
        }
        for (uint32_t i = 0; i < got; i++)
            keys[i] = model_row_artist_key(ev->model, picks[i]);
        metrics_score(&scored, ev->labels->row_genres, picks, keys, got,
                      &ev->results[(size_t)m * ev->n_users + u]);
    }
    result = 0;
done:
    free(saved_rows);
    free(held_rows);
    free(saved);
    users_free(&user);
    return result;
}

static void *worker_main(void *arg)
{
    struct worker *worker = arg;
    struct evaluation *ev = worker->evaluation;
    struct baseline_scratch scratch = {0};
    uint32_t *picks = malloc((ev->n + ev->model->k) * sizeof *picks);
    uint32_t *keys = malloc((ev->n + ev->model->k) * sizeof *keys);
    worker->status = -1;
    if (!picks || !keys || baseline_scratch_init(&scratch, ev->model->n_rows) != 0)
        goto done;
    for (uint32_t u = worker->index; u < ev->n_users; u += ev->n_threads)
        if (evaluate_user(ev, u, worker->index, &scratch, picks, keys) != 0)
            goto done;
    worker->status = 0;
done:
    baseline_scratch_free(&scratch);
    free(picks);
    free(keys);
    return NULL;
}

static int parse_methods(const char *list, struct evaluation *ev)
{
    char copy[1024];
    if (strlen(list) >= sizeof copy) {
        log_error("bad_option", "option=methods reason=\"longer than %zu bytes\"", sizeof copy);
        return -1;
    }
    strcpy(copy, list);
    char *save = NULL;
    for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        int all = strcmp(name, "all") == 0, baselines = strcmp(name, "baselines") == 0,
            reco = strcmp(name, "reco") == 0, found = 0;
        for (uint32_t i = 0; i < N_KNOWN_METHODS; i++) {
            const struct method *method = &METHODS[i];
            int wanted = all || (baselines && method->is_baseline) ||
                         (reco && !method->is_baseline && method->ranking != RECO_RANK_DEFAULT) ||
                         strcmp(name, method->name) == 0;
            if (!wanted)
                continue;
            found = 1;
            if (ev->n_methods == MAX_METHODS) {
                log_error("bad_option", "option=methods reason=\"more than %u methods\"",
                          MAX_METHODS);
                return -1;
            }
            ev->methods[ev->n_methods++] = method;
        }
        if (!found) {
            log_error("bad_option", "option=methods reason=\"unknown method %s\"", name);
            return -1;
        }
    }
    return 0;
}

static void print_row(const struct evaluation *ev, const char *label, uint32_t m,
                      const char *type_name, uint32_t first, uint32_t last, double ms)
{
    struct metrics sum = {0};
    uint32_t users = 0;
    for (uint32_t u = first; u < last; u++) {
        if (ev->skipped[u])
            continue;
        metrics_add(&sum, &ev->results[(size_t)m * ev->n_users + u]);
        users++;
    }
    double n = users ? users : 1;
    printf("%s\t%s\t%s\t%u\t%.4f\t%.4f\t%.4f\t%.2f\t%.3f\t%.2f\t%.3f\n", label,
           ev->methods[m]->name, type_name, users, sum.precision / n, sum.fidelity / n,
           sum.recall / n, sum.artists / n, sum.hygiene / n, sum.picks / n, ms);
}

/* Checks --check's rules: every metric finite, hygiene 0 where saved songs are excluded, full
 * playlists from recommend(), no recommend() error. Returns the number of broken rules. */
static int check_results(const struct evaluation *ev)
{
    int broken = 0;
    for (uint32_t m = 0; m < ev->n_methods; m++) {
        const struct method *method = ev->methods[m];
        uint32_t failed = 0;
        for (uint32_t t = 0; t < ev->n_threads; t++)
            failed += ev->failed[m * ev->n_threads + t];
        struct metrics sum = {0};
        uint32_t short_lists = 0, users = 0;
        for (uint32_t u = 0; u < ev->n_users; u++) {
            if (ev->skipped[u])
                continue;
            const struct metrics *r = &ev->results[(size_t)m * ev->n_users + u];
            metrics_add(&sum, r);
            short_lists += !method->is_baseline && r->picks < ev->n;
            users++;
        }
        int finite = isfinite(sum.precision) && isfinite(sum.fidelity) && isfinite(sum.recall);
        int hygiene_bad = method->excludes_saved && sum.hygiene > 0;
        if (failed || !finite || hygiene_bad || short_lists || users == 0) {
            log_error("check_failed",
                      "method=%s users=%u failed=%u finite=%d hygiene=%.0f short_playlists=%u",
                      method->name, users, failed, finite, sum.hygiene, short_lists);
            broken++;
        }
    }
    return broken;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *catalog_path = NULL, *methods = NULL, *label = NULL,
               *genre_column = NULL, *log_level = NULL;
    long long users_per_type = 0, seed = 0, n = 0, threads = 0, min_pool = 0, max_per_artist = 0;
    bool check = false, header = false;
    const struct option_spec specs[] = {
        {"model", 0, NULL, OPTION_STRING, NULL, 0, 0, "model file (reco-model build)", &model_path},
        {"catalog", 0, NULL, OPTION_STRING, NULL, 0, 0,
         "the genre-labelled catalog CSV the model was built from (.csv or .csv.gz)",
         &catalog_path},
        {"genre-column", 0, NULL, OPTION_STRING, NULL, 0, 0,
         "genre column (default: track_genre, genre, playlist_genre or search_genre)",
         &genre_column},
        {"methods", 0, NULL, OPTION_STRING, "reco", 0, 0,
         "comma list of reco-default, reco-mean, reco-centroid, reco-nn, reco-votes, "
         "reco-votes-artists, reco-mean-artists, mean, "
         "mean-unfiltered, notebook, knn-union, knn-union-artists, random-genre, random-catalog, "
         "or the groups "
         "reco, baselines, all",
         &methods},
        {"users", 0, NULL, OPTION_INT, "200", 1, 100000, "simulated users per user type",
         &users_per_type},
        {"seed", 0, NULL, OPTION_INT, "7", 0, 1e15, "seed of the simulated users", &seed},
        {"n", 'n', NULL, OPTION_INT, "50", 1, RECO_MAX_N, "playlist length", &n},
        {"max-per-artist", 0, NULL, OPTION_INT, "0", 0, RECO_MAX_N,
         "recommend()'s cap on picks per primary artist (0: its default)", &max_per_artist},
        {"min-genre-size", 0, NULL, OPTION_INT, "20", 1, 1e9,
         "a genre needs this many catalog ids to be given to a user", &min_pool},
        {"threads", 0, NULL, OPTION_INT, "2", 1, MAX_THREADS, "worker threads", &threads},
        {"label", 0, NULL, OPTION_STRING, "", 0, 0, "first column of every output line", &label},
        {"header", 0, NULL, OPTION_BOOL, "false", 0, 0, "print a header line first", &header},
        {"check", 0, NULL, OPTION_BOOL, "false", 0, 0,
         "exit 1 unless every metric is finite, hygiene is 0 wherever saved songs are "
         "excluded, and recommend() always gives full playlists",
         &check},
        {"log-level", 0, "LOG_LEVEL", OPTION_STRING, "info", 0, 0, "debug, info, warn, error",
         &log_level},
    };
    const size_t n_specs = sizeof specs / sizeof specs[0];
    char *positional[64];
    int n_positional = 0;
    if (argc > 64) {
        fprintf(stderr, "reco-evaluate: more than 63 arguments\n");
        return 2;
    }
    enum options_result parsed = options_parse(
        specs, n_specs, argc, argv, "usage: reco-evaluate --model MODEL --catalog CSV [options]",
        positional, &n_positional);
    if (parsed == OPTIONS_HELP)
        return 0;
    if (parsed == OPTIONS_ERROR)
        return 2;
    if (log_parse_level(log_level, &log_threshold) != 0) {
        fprintf(stderr, "reco-evaluate: --log-level: expected debug, info, warn or error\n");
        return 2;
    }
    if (!model_path || !catalog_path || n_positional > 0) {
        fprintf(stderr, "reco-evaluate: --model and --catalog are required, and nothing else "
                        "(see --help)\n");
        return 2;
    }

    int exit_code = 1;
    struct model *model = NULL;
    struct labels labels = {0};
    struct evaluation ev = {0};
    struct worker workers[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    char err[512];
    if (parse_methods(methods, &ev) != 0) {
        exit_code = 2;
        goto done;
    }
    enum model_status model_status = model_open(model_path, &model, err, sizeof err);
    if (model_status != MODEL_OK) {
        log_error("model_open_failed", "path=%s reason=\"%s\"", model_path, err);
        goto done;
    }
    double start = now_seconds();
    enum labels_status labels_status =
        labels_read(catalog_path, genre_column, model, &labels, err, sizeof err);
    if (labels_status != LABELS_OK) {
        log_error("labels_failed", "path=%s reason=\"%s\"", catalog_path, err);
        goto done;
    }
    log_info("labels_read",
             "catalog=%s genres=%u ids=%u unresolved=%u rows=%u k=%u dims=%u seconds=%.1f",
             catalog_path, labels.n_genres, labels.n_ids, labels.unresolved, model->n_rows,
             model->k, model->n_dims, now_seconds() - start);

    ev.model = model;
    ev.labels = &labels;
    ev.users_per_type = (uint32_t)users_per_type;
    ev.n_users = ev.users_per_type * USER_N_TYPES;
    ev.n = (uint32_t)n;
    ev.min_pool = (uint32_t)min_pool;
    ev.max_per_artist = (uint32_t)max_per_artist;
    ev.seed = (uint64_t)seed;
    ev.n_threads = (uint32_t)threads;
    ev.results = calloc((size_t)ev.n_methods * ev.n_users, sizeof *ev.results);
    ev.seconds = calloc((size_t)ev.n_methods * ev.n_threads, sizeof *ev.seconds);
    ev.failed = calloc((size_t)ev.n_methods * ev.n_threads, sizeof *ev.failed);
    ev.skipped = calloc(ev.n_users, sizeof *ev.skipped);
    if (!ev.results || !ev.seconds || !ev.failed || !ev.skipped) {
        log_error("out_of_memory", "users=%u methods=%u", ev.n_users, ev.n_methods);
        goto done;
    }
    start = now_seconds();
    uint32_t started = 0;
    for (uint32_t t = 0; t < ev.n_threads; t++) {
        workers[t] = (struct worker){&ev, t, -1};
        if (pthread_create(&tids[t], NULL, worker_main, &workers[t]) != 0)
            break;
        started++;
    }
    int workers_ok = started == ev.n_threads;
    for (uint32_t t = 0; t < started; t++) {
        pthread_join(tids[t], NULL);
        workers_ok &= workers[t].status == 0;
    }
    if (!workers_ok) {
        log_error("workers_failed", "threads=%u started=%u", ev.n_threads, started);
        goto done;
    }
    log_info("evaluated", "users=%u methods=%u seconds=%.1f", ev.n_users, ev.n_methods,
             now_seconds() - start);

    if (header)
        printf("label\tmethod\tusers_type\tusers\tprecision\tfidelity\trecall\tartists\thygiene"
               "\tpicks\tms_per_user\n");
    for (uint32_t m = 0; m < ev.n_methods; m++) {
        double seconds = 0;
        for (uint32_t t = 0; t < ev.n_threads; t++)
            seconds += ev.seconds[m * ev.n_threads + t];
        double ms = 1000.0 * seconds / ev.n_users;
        for (uint32_t type = 0; type < USER_N_TYPES; type++)
            print_row(&ev, label, m, USER_TYPES[type].name, type * ev.users_per_type,
                      (type + 1) * ev.users_per_type, ms);
        print_row(&ev, label, m, "all", 0, ev.n_users, ms);
    }
    fflush(stdout);
    exit_code = check && check_results(&ev) > 0 ? 1 : 0;
done:
    free(ev.results);
    free(ev.seconds);
    free(ev.failed);
    free(ev.skipped);
    labels_free(&labels);
    model_close(model);
    return exit_code;
}
