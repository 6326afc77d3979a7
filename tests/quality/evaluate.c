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
#include "playlists.h"
#include "recommend.h"
#include "users.h"

#define MAX_METHODS 32u
#define MAX_THREADS 64u

/* A method is a ranking of recommend() (with its steering) or a baseline. */
struct method {
    const char *name;
    int is_baseline;
    enum reco_ranking ranking;
    enum baseline baseline;
    int excludes_saved; /* hygiene must be 0 */
    float discover;
    float energy; /* a target when > 0 */
    int variety;  /* scored with variety 1; overlap with variety 2 and with 0 measured */
    int in_reco;  /* part of the group "reco" */
};

static const struct method METHODS[] = {
    {"reco-default", 0, RECO_RANK_DEFAULT, 0, 1, 0, 0, 0, 0},
    {"reco-mean", 0, RECO_RANK_MEAN_COSINE, 0, 1, 0, 0, 0, 1},
    {"reco-centroid", 0, RECO_RANK_CENTROID_COSINE, 0, 1, 0, 0, 0, 1},
    {"reco-nn", 0, RECO_RANK_NEAREST_NEIGHBOURS, 0, 1, 0, 0, 0, 1},
    {"reco-votes", 0, RECO_RANK_NEIGHBOUR_VOTES, 0, 1, 0, 0, 0, 1},
    {"reco-votes-artists", 0, RECO_RANK_VOTES_AND_ARTISTS, 0, 1, 0, 0, 0, 1},
    {"reco-mean-artists", 0, RECO_RANK_MEAN_AND_ARTISTS, 0, 1, 0, 0, 0, 1},
    {"mean", 1, 0, BASELINE_MEAN, 1, 0, 0, 0, 0},
    {"mean-unfiltered", 1, 0, BASELINE_MEAN_UNFILTERED, 0, 0, 0, 0, 0},
    {"notebook", 1, 0, BASELINE_NOTEBOOK, 0, 0, 0, 0, 0},
    {"knn-union", 1, 0, BASELINE_KNN_UNION, 1, 0, 0, 0, 0},
    {"knn-union-artists", 1, 0, BASELINE_KNN_UNION_ARTISTS, 1, 0, 0, 0, 0},
    {"random-genre", 1, 0, BASELINE_RANDOM_GENRE, 1, 0, 0, 0, 0},
    {"random-catalog", 1, 0, BASELINE_RANDOM_CATALOG, 1, 0, 0, 0, 0},
    /* issue 17: the flat ranking, steering, and the kNN union's neighbour count */
    {"reco-flat", 0, RECO_RANK_FLAT, 0, 1, 0, 0, 0, 0},
    {"reco-discover", 0, RECO_RANK_DEFAULT, 0, 1, 1.0f, 0, 0, 0},
    {"reco-discover-half", 0, RECO_RANK_DEFAULT, 0, 1, 0.5f, 0, 0, 0},
    {"reco-energy-high", 0, RECO_RANK_DEFAULT, 0, 1, 0, 0.9f, 0, 0},
    {"reco-energy-low", 0, RECO_RANK_DEFAULT, 0, 1, 0, 0.1f, 0, 0},
    {"reco-variety", 0, RECO_RANK_DEFAULT, 0, 1, 0, 0, 1, 0},
    {"knn-union-3", 1, 0, BASELINE_KNN_UNION_3, 1, 0, 0, 0, 0},
    {"knn-union-30", 1, 0, BASELINE_KNN_UNION_30, 1, 0, 0, 0, 0},
};
#define N_KNOWN_METHODS (sizeof METHODS / sizeof METHODS[0])

struct evaluation {
    const struct model *model;
    const struct labels *labels;
    const struct method *methods[MAX_METHODS];
    uint32_t n_methods;
    uint32_t users_per_type, n_users, n, min_pool, max_per_artist, min_library;
    const struct playlists *playlists; /* real-playlist users instead of simulated ones */
    uint32_t n_types;
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
                           struct baseline_scratch *scratch, uint32_t *picks, double *overlap)
{
    if (method->is_baseline)
        return baseline_run(method->baseline, ev->model, ev->labels, user, saved_rows, n_saved_rows,
                            ev->n, rng, scratch, picks);
    struct reco_options options = {.n = ev->n,
                                   .max_per_artist = ev->max_per_artist,
                                   .ranking = method->ranking,
                                   .discover = method->discover,
                                   .variety = method->variety ? 1u : 0u};
    if (method->energy > 0)
        options.energy = (struct reco_target){true, method->energy};
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
    if (method->variety && overlap) {
        /* The share of songs the scored playlist (variety 1) has in common with variety 2 and
         * with variety 0, the larger of the two. */
        double worst = 0;
        for (uint64_t other = 0; other <= 2; other += 2) {
            options.variety = other;
            if (recommend(ev->model, saved, user->n_saved, &options, &result, err, sizeof err) !=
                RECO_OK)
                return UINT32_MAX;
            uint32_t common = 0;
            for (uint32_t i = 0; i < result.n_picks; i++)
                for (uint32_t j = 0; j < got; j++)
                    common += result.picks[i].row == picks[j];
            double share = got ? (double)common / got : 0;
            if (share > worst)
                worst = share;
            reco_result_free(&result);
        }
        *overlap = worst;
    }
    return got;
}

static int evaluate_user(struct evaluation *ev, uint32_t u, uint32_t thread,
                         struct baseline_scratch *scratch, uint32_t *picks, uint32_t *keys)
{
    struct sim_user user;
    uint32_t type = u / ev->users_per_type;
    int made = ev->playlists ? playlists_make_user(ev->playlists, ev->labels, type,
                                                   u % ev->users_per_type, ev->seed, &user)
                             : users_make_sized(ev->labels, type, u % ev->users_per_type, ev->seed,
                                                ev->min_pool, ev->min_library, &user);
    if (made != 0) {
        ev->skipped[u] = 1;
        return 0;
    }
    int result = -1;
    uint32_t *saved_keys = NULL, *held_new = NULL;
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
    /* Held-back songs by artists with no saved song: what discovery can find. */
    saved_keys = malloc((n_saved_rows + 1) * sizeof *saved_keys);
    held_new = malloc((n_held_rows + 1) * sizeof *held_new);
    if (!saved_keys || !held_new)
        goto done;
    for (size_t i = 0; i < n_saved_rows; i++)
        saved_keys[i] = model_row_artist_key(ev->model, saved_rows[i]);
    size_t n_saved_keys = metrics_sort_unique(saved_keys, n_saved_rows);
    size_t n_held_new = 0;
    for (size_t i = 0; i < n_held_rows; i++)
        if (!metrics_contains(saved_keys, n_saved_keys,
                              model_row_artist_key(ev->model, held_rows[i])))
            held_new[n_held_new++] = held_rows[i];
    struct metrics_user scored = {user.n_genres, user.genres, user.shares, saved_rows, n_saved_rows,
                                  held_rows,     n_held_rows, held_new,    n_held_new};
    for (uint32_t m = 0; m < ev->n_methods; m++) {
        const struct method *method = ev->methods[m];
        struct rng rng = {ev->seed ^ ((uint64_t)u << 20) ^ m};
        double start = now_seconds();
        double overlap = 0;
        uint32_t got = run_method(ev, method, &user, saved, saved_rows, (uint32_t)n_saved_rows,
                                  &rng, scratch, picks, &overlap);
        ev->seconds[m * ev->n_threads + thread] += now_seconds() - start;
        if (got == UINT32_MAX) {
            ev->failed[m * ev->n_threads + thread]++;
            got = 0;
        }
        for (uint32_t i = 0; i < got; i++)
            keys[i] = model_row_artist_key(ev->model, picks[i]);
        struct metrics *r = &ev->results[(size_t)m * ev->n_users + u];
        metrics_score(&scored, ev->labels->row_genres, picks, keys, got, r);
        double energy = 0;
        for (uint32_t i = 0; i < got; i++) {
            struct model_raw raw;
            model_row_raw(ev->model, picks[i], &raw);
            energy += raw.value[FEAT_ENERGY];
        }
        r->energy = got ? energy / got : 0;
        r->energy_ok = method->energy > 0 && fabs(r->energy - method->energy) <= 0.1;
        r->overlap = overlap;
    }
    result = 0;
done:
    free(saved_rows);
    free(held_rows);
    free(saved_keys);
    free(held_new);
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
            int wanted = all || (baselines && method->is_baseline) || (reco && method->in_reco) ||
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
    printf("%s\t%s\t%s\t%u\t%.4f\t%.4f\t%.4f\t%.2f\t%.3f\t%.2f\t%.3f\t%.4f\t%.4f\t%.4f\t%.4f"
           "\n",
           label, ev->methods[m]->name, type_name, users, sum.precision / n, sum.fidelity / n,
           sum.recall / n, sum.artists / n, sum.hygiene / n, sum.picks / n, ms,
           sum.new_users ? sum.recall_new / sum.new_users : 0.0, sum.energy / n, sum.energy_ok / n,
           sum.overlap / n);
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
               *genre_column = NULL, *log_level = NULL, *playlists_path = NULL;
    struct playlists playlists = {0};
    long long users_per_type = 0, seed = 0, n = 0, threads = 0, min_pool = 0, max_per_artist = 0,
              min_library = 0;
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
         "reco-votes-artists, reco-mean-artists, reco-flat, reco-discover, reco-discover-half, "
         "reco-energy-high, reco-energy-low, reco-variety, mean, mean-unfiltered, notebook, "
         "knn-union, knn-union-3, knn-union-30, knn-union-artists, random-genre, "
         "random-catalog, or the groups reco, baselines, all",
         &methods},
        {"playlists", 0, NULL, OPTION_STRING, NULL, 0, 0,
         "real-playlist users from this playlist CSV (playlist_id, track_id, playlist_genre): "
         "every playlist of 30+ tracks, and 2 or 3 of different genres mixed 70/30 and "
         "50/30/20, 30% held back (--catalog then gives the same file's labels)",
         &playlists_path},
        {"users", 0, NULL, OPTION_INT, "200", 1, 100000,
         "simulated users per user type (with --playlists: mixed users per type, and at least "
         "one per playlist)",
         &users_per_type},
        {"seed", 0, NULL, OPTION_INT, "7", 0, 1e15, "seed of the simulated users", &seed},
        {"min-library", 0, NULL, OPTION_INT, "50", USERS_MIN_LIBRARY, USERS_MAX_LIBRARY,
         "simulated libraries are drawn from this many to 1000 tracks (then shrunk to fit the "
         "genres)",
         &min_library},
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
    if (playlists_path) {
        if (playlists_read(playlists_path, &labels, &playlists, err, sizeof err) != 0) {
            log_error("playlists_failed", "path=%s reason=\"%s\"", playlists_path, err);
            goto done;
        }
        ev.playlists = &playlists;
        /* Type 0 is every playlist once; the mixed types as many users as asked. */
        if (ev.users_per_type < playlists.n)
            ev.users_per_type = playlists.n;
        log_info("playlists_read", "path=%s playlists=%u", playlists_path, playlists.n);
    }
    ev.n_types = ev.playlists ? PLAYLIST_N_TYPES : USER_N_TYPES;
    ev.n_users = ev.users_per_type * ev.n_types;
    ev.n = (uint32_t)n;
    ev.min_pool = (uint32_t)min_pool;
    ev.min_library = (uint32_t)min_library;
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
               "\tpicks\tms_per_user\trecall_new\tenergy\tenergy_ok\toverlap\n");
    for (uint32_t m = 0; m < ev.n_methods; m++) {
        double seconds = 0;
        for (uint32_t t = 0; t < ev.n_threads; t++)
            seconds += ev.seconds[m * ev.n_threads + t];
        double ms = 1000.0 * seconds / ev.n_users;
        for (uint32_t type = 0; type < ev.n_types; type++)
            print_row(&ev, label, m,
                      ev.playlists ? PLAYLIST_TYPES[type].name : USER_TYPES[type].name,
                      type * ev.users_per_type, (type + 1) * ev.users_per_type, ms);
        print_row(&ev, label, m, "all", 0, ev.n_users, ms);
    }
    fflush(stdout);
    exit_code = check && check_results(&ev) > 0 ? 1 : 0;
done:
    free(ev.results);
    free(ev.seconds);
    free(ev.failed);
    free(ev.skipped);
    playlists_free(&playlists);
    labels_free(&labels);
    model_close(model);
    return exit_code;
}
