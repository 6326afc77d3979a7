/* reco-model: the offline model tool. `build` turns a catalog CSV into a model file (load,
 * collapse duplicate releases, scale, k-means, write), `info` prints what a model holds, and
 * `synth` writes the synthetic catalog. Exit 0 on success; otherwise one line on stderr. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "scale.h"
#include "kmeans.h"
#include "log.h"
#include "model.h"
#include "model_build.h"
#include "options.h"
#include "synth.h"

#define DEFAULT_K        20
#define DEFAULT_RESTARTS 10 /* scikit-learn 1.2's n_init */
#define AUTO_K_MIN       2
#define AUTO_K_MAX       30
#define AUTO_K_SAMPLE    20000u

static const char USAGE[] =
    "usage: reco-model build --catalog FILE --out MODEL [--k N|auto] [--seed N] [--restarts N]\n"
    "                        [--features LIST] [--key-encoding linear|circle]\n"
    "                        [--binary-weight W] [--dump-matrix FILE]\n"
    "       reco-model info MODEL\n"
    "       reco-model synth --rows N --out FILE [--seed N]";

static const char *opt_catalog, *opt_out, *opt_k = "20", *opt_features, *opt_key_encoding,
                                          *opt_dump, *opt_log_level;
static long long opt_seed, opt_restarts, opt_rows, opt_threads, opt_tolerance_ms;
static double opt_binary_weight;

static const struct option_spec OPTIONS[] = {
    {"catalog", 0, "RECO_CATALOG", OPTION_STRING, NULL, 0, 0, "catalog CSV (.csv or .csv.gz)",
     &opt_catalog},
    {"out", 'o', NULL, OPTION_STRING, NULL, 0, 0, "output file (model for build, CSV for synth)",
     &opt_out},
    {"k", 'k', NULL, OPTION_STRING, "20", 0, 0, "clusters: 1..4096, or auto (elbow of inertia)",
     &opt_k},
    {"seed", 0, NULL, OPTION_INT, "1", 0, 9e15, "random seed (k-means, synth)", &opt_seed},
    {"restarts", 0, NULL, OPTION_INT, "10", 1, 1000,
     "k-means restarts, lowest inertia kept (scikit-learn 1.2 n_init)", &opt_restarts},
    {"features", 0, NULL, OPTION_STRING, "all", 0, 0,
     "comma-separated features (valence,year,...) or all", &opt_features},
    {"key-encoding", 0, NULL, OPTION_STRING, "linear", 0, 0,
     "key as one linear dimension, or circle (sin and cos)", &opt_key_encoding},
    {"binary-weight", 0, NULL, OPTION_DOUBLE, "0.5", 0.01, 100,
     "weight of the explicit and mode dimensions", &opt_binary_weight},
    {"tolerance-ms", 0, NULL, OPTION_INT, "10000", 0, 600000,
     "duration tolerance of duplicate-release collapse", &opt_tolerance_ms},
    {"dump-matrix", 0, NULL, OPTION_STRING, NULL, 0, 0,
     "also write the scaled matrix as .npy (for the benchmark)", &opt_dump},
    {"threads", 0, "RECO_THREADS", OPTION_INT, "0", 0, 64, "k-means threads (0 = every core)",
     &opt_threads},
    {"rows", 0, NULL, OPTION_INT, NULL, 1, SYNTH_MAX_ROWS, "synth: data rows to write", &opt_rows},
    {"log-level", 0, "LOG_LEVEL", OPTION_STRING, "info", 0, 0, "debug, info, warn or error",
     &opt_log_level},
};
#define N_OPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

static bool progress_on; /* stderr is a terminal */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void progress_line(const char *fmt, ...)
{
    if (!progress_on)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

static void progress_done(void)
{
    if (progress_on)
        fputs("\r\033[K", stderr);
}

/* k-means progress: restarts run in parallel and are handed out in order, so the highest
 * restart seen tells how far the fit is; calls come one at a time from the fit's threads. */
static void on_iteration(void *ctx, uint32_t restart, uint32_t iteration, double inertia)
{
    static uint32_t highest;
    const uint32_t *restarts = ctx;
    char bar[21];
    if (restart + 1 > highest)
        highest = restart + 1;
    uint32_t filled = *restarts ? (uint32_t)((uint64_t)20 * (highest - 1) / *restarts) : 0;
    for (uint32_t i = 0; i < 20; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[20] = '\0';
    progress_line("k-means [%s] restart %u/%u, iteration %u, inertia %.1f", bar, restart + 1,
                  *restarts, iteration + 1, inertia);
}

static void on_synth(void *ctx, uint64_t done, uint64_t total)
{
    (void)ctx;
    progress_line("synth: %" PRIu64 " / %" PRIu64 " rows", done, total);
}

/* Writes the matrix as a NumPy .npy file (format 1.0, little-endian float32, C order). */
static int dump_matrix(const char *path, const float *matrix, uint32_t rows, uint32_t dims)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "reco-model: --dump-matrix %s: %s\n", path, strerror(errno));
        return -1;
    }
    char dict[128];
    int n = snprintf(dict, sizeof dict,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%u, %u), }", rows, dims);
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    uint16_t header_len = (uint16_t)(n + pad + 1);
    bool ok = fwrite("\x93NUMPY\x01\x00", 1, 8, f) == 8 && fwrite(&header_len, 2, 1, f) == 1 &&
              fwrite(dict, 1, (size_t)n, f) == (size_t)n;
    for (size_t i = 0; ok && i < pad; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    ok = ok && fwrite(matrix, sizeof(float), (size_t)rows * dims, f) == (size_t)rows * dims;
    ok = fclose(f) == 0 && ok;
    if (!ok)
        fprintf(stderr, "reco-model: --dump-matrix %s: write failed\n", path);
    return ok ? 0 : -1;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int cmd_build(void)
{
    int rc = 1;
    struct catalog *catalog = NULL;
    struct scale features = {0};
    struct kmeans_result clusters = {0};
    struct model_build_row *rows = NULL;
    struct model_build_alias *aliases = NULL;
    uint32_t *row_of = NULL;
    char err[512], k_reason[512] = "fixed";
    double t0 = now_seconds();

    if (!opt_catalog || !opt_out) {
        fprintf(stderr, "reco-model build: --catalog and --out are required\n");
        return 2;
    }
    uint32_t k = 0;
    bool auto_k = strcmp(opt_k, "auto") == 0;
    if (!auto_k) {
        char *end = NULL;
        errno = 0;
        long v = strtol(opt_k, &end, 10);
        if (errno || end == opt_k || *end || v < 1 || v > (long)KMEANS_MAX_K) {
            fprintf(stderr, "reco-model build: --k '%s' is not a whole number in 1..%u or auto\n",
                    opt_k, KMEANS_MAX_K);
            return 2;
        }
        k = (uint32_t)v;
    }
    struct scale_options fo = {.binary_weight = opt_binary_weight};
    if (strcmp(opt_key_encoding, "circle") == 0) {
        fo.key_circle = true;
    } else if (strcmp(opt_key_encoding, "linear") != 0) {
        fprintf(stderr, "reco-model build: --key-encoding '%s' is not linear or circle\n",
                opt_key_encoding);
        return 2;
    }
    if (scale_parse_features(opt_features, &fo.requested, err, sizeof err) != SCALE_OK) {
        fprintf(stderr, "reco-model build: %s\n", err);
        return 2;
    }

    progress_line("loading %s", opt_catalog);
    enum catalog_status cs = catalog_load(opt_catalog, &catalog, err, sizeof err);
    progress_done();
    if (cs != CATALOG_OK) {
        fprintf(stderr, "reco-model build: %s\n", err);
        goto done;
    }
    for (uint32_t i = 0; i < catalog->n_reports; i++)
        log_warn("catalog_malformed_row", "catalog=%s detail=\"%s\"", opt_catalog,
                 catalog->reports[i]);
    if (catalog_collapse(catalog, (uint32_t)opt_tolerance_ms) != CATALOG_OK) {
        fprintf(stderr, "reco-model build: out of memory collapsing duplicates\n");
        goto done;
    }
    double t_load = now_seconds();
    log_info("catalog_loaded",
             "catalog=%s schema=%s records=%" PRIu64 " tracks=%u malformed=%u repeated_ids=%u "
             "collapsed_releases=%u seconds=%.3f",
             opt_catalog, catalog->schema, catalog->n_records, catalog->n_tracks,
             catalog->n_malformed, catalog->n_repeated_ids, catalog->n_collapsed, t_load - t0);

    if (scale_build(catalog, &fo, &features, err, sizeof err) != SCALE_OK) {
        fprintf(stderr, "reco-model build: %s\n", err);
        goto done;
    }
    if (features.dropped) {
        char list[256] = "";
        size_t used = 0;
        for (int f = 0; f < FEAT_COUNT; f++)
            if (features.dropped & (1u << f))
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", used ? "," : "",
                                         model_feature_name((enum model_feature)f));
        log_info("features_dropped", "schema=%s missing_or_constant=%s", catalog->schema, list);
    }
    if (opt_dump && dump_matrix(opt_dump, features.matrix, features.n_rows, features.n_dims) != 0)
        goto done;

    uint32_t restarts = (uint32_t)opt_restarts;
    struct kmeans_options ko = {
        .restarts = restarts,
        .seed = (uint64_t)opt_seed,
        .threads = (uint32_t)opt_threads,
        .on_iteration = progress_on ? on_iteration : NULL,
        .ctx = &restarts,
    };
    if (auto_k) {
        progress_line("choosing k (k=%u..%u)", AUTO_K_MIN, AUTO_K_MAX);
        struct kmeans_options auto_o = ko;
        auto_o.restarts = 2;
        auto_o.on_iteration = NULL;
        enum kmeans_status ks =
            kmeans_choose_k(features.matrix, features.n_rows, features.n_dims, AUTO_K_MIN,
                            AUTO_K_MAX, AUTO_K_SAMPLE, &auto_o, &k, k_reason, sizeof k_reason);
        progress_done();
        if (ks != KMEANS_OK) {
            fprintf(stderr, "reco-model build: %s\n", k_reason);
            goto done;
        }
        printf("k=%u: %s\n", k, k_reason);
        log_info("k_chosen", "k=%u reason=\"%s\"", k, k_reason);
    }
    if (k > features.n_rows) {
        fprintf(stderr, "reco-model build: --k %u is more than the %u songs in the catalog\n", k,
                features.n_rows);
        goto done;
    }
    ko.k = k;
    double t_fit = now_seconds();
    enum kmeans_status ks = kmeans_run(features.matrix, features.n_rows, features.n_dims, &ko,
                                       &clusters, err, sizeof err);
    progress_done();
    if (ks != KMEANS_OK) {
        fprintf(stderr, "reco-model build: %s\n", err);
        goto done;
    }
    double t_fitted = now_seconds();
    log_info("kmeans_done",
             "k=%u restarts=%u best_restart=%u iterations=%u total_iterations=%u inertia=%.6f "
             "kmeans_seconds=%.3f kernel=%s threads=%u parallel_restarts=%u",
             k, restarts, clusters.restart, clusters.iterations, clusters.total_iterations,
             clusters.inertia, t_fitted - t_fit, clusters.kernel, clusters.threads, clusters.teams);

    /* Canonical songs become model rows; every other id an alias of its canonical row. */
    uint32_t n = features.n_rows;
    rows = calloc(n, sizeof *rows);
    row_of = malloc(catalog->n_tracks * sizeof *row_of);
    uint32_t n_aliases = catalog->n_tracks - n;
    aliases = calloc(n_aliases ? n_aliases : 1, sizeof *aliases);
    if (!rows || !row_of || !aliases) {
        fprintf(stderr, "reco-model build: out of memory\n");
        goto done;
    }
    for (uint32_t r = 0; r < n; r++) {
        const struct catalog_track *t = &catalog->tracks[features.rows[r]];
        row_of[features.rows[r]] = r;
        rows[r] = (struct model_build_row){
            t->id,        t->name, t->genre,      t->isrc,        t->artists,
            t->n_artists, t->year, t->popularity, t->duration_ms, clusters.labels[r]};
    }
    uint32_t a = 0;
    for (uint32_t i = 0; i < catalog->n_tracks; i++) {
        const struct catalog_track *t = &catalog->tracks[i];
        if (t->canonical != i)
            aliases[a++] = (struct model_build_alias){t->id, t->isrc, row_of[t->canonical]};
    }
    struct model_build b = {
        .n_rows = n,
        .n_dims = features.n_dims,
        .k = k,
        .centroids = clusters.centroids,
        .scaled = features.matrix,
        .rows = rows,
        .aliases = aliases,
        .n_aliases = a,
        .seed = (uint64_t)opt_seed,
        .built_unix = (uint64_t)time(NULL),
        .source = base_name(opt_catalog),
        .schema = catalog->schema,
        .k_choice = k_reason,
        .restarts = restarts,
        .iterations = clusters.iterations,
        .tolerance_ms = (uint32_t)opt_tolerance_ms,
        .n_input_rows = (uint32_t)(catalog->n_records - catalog->n_malformed),
        .n_malformed = catalog->n_malformed,
        .n_collapsed = catalog->n_collapsed + catalog->n_repeated_ids,
        .inertia = clusters.inertia,
        .binary_weight = opt_binary_weight,
    };
    memcpy(b.dims, features.dims, sizeof b.dims);
    enum model_status ms = model_write(&b, opt_out, err, sizeof err);
    if (ms != MODEL_OK) {
        fprintf(stderr, "reco-model build: %s\n", err);
        goto done;
    }
    double t_end = now_seconds();
    log_info("model_built",
             "out=%s tracks=%u ids=%u dims=%u k=%u inertia=%.6f kmeans_seconds=%.3f "
             "total_seconds=%.3f",
             opt_out, n, catalog->n_tracks, features.n_dims, k, clusters.inertia, t_fitted - t_fit,
             t_end - t0);
    printf("built %s: %u songs (%u ids, %u duplicate releases collapsed, %u repeated ids, %u "
           "malformed rows), %u dims, k=%u, inertia %.2f\n",
           opt_out, n, catalog->n_tracks, catalog->n_collapsed, catalog->n_repeated_ids,
           catalog->n_malformed, features.n_dims, k, clusters.inertia);
    rc = 0;
done:
    free(rows);
    free(row_of);
    free(aliases);
    kmeans_result_free(&clusters);
    scale_free(&features);
    catalog_free(catalog);
    return rc;
}

static int cmd_info(const char *path)
{
    struct model *m = NULL;
    char err[512];
    double t0 = now_seconds();
    enum model_status status = model_open(path, &m, err, sizeof err);
    double open_ms = (now_seconds() - t0) * 1000.0;
    if (status != MODEL_OK) {
        fprintf(stderr, "reco-model info: %s\n", err);
        return 1;
    }
    const struct model_params *p = model_get_params(m);
    time_t built = (time_t)m->built_unix;
    struct tm utc;
    char when[32] = "?";
    if (gmtime_r(&built, &utc))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    printf("model       %s\n", path);
    printf("version     %s\n", m->version);
    printf("source      %s (schema %s)\n", m->source, p->schema);
    printf("built       %s\n", when);
    printf("tracks      %u songs\n", m->n_rows);
    printf("ids         %u\n", m->n_ids);
    printf("catalog     %u rows read, %u malformed, %u collapsed (duplicate releases and "
           "repeated ids)\n",
           p->n_input_rows, p->n_malformed, p->n_collapsed);
    printf("features    %u:", m->n_features);
    for (uint32_t f = 0; f < m->n_features; f++)
        printf("%s%s", f ? "," : " ", model_feature_name(m->features[f]));
    printf(" (%u dims, key %s, binary weight %g)\n", m->n_dims, p->key_circle ? "circle" : "linear",
           p->binary_weight);
    printf("k           %u (%s)\n", m->k, p->k_choice);
    printf("clusters   ");
    for (uint32_t c = 0; c < m->k; c++)
        printf(" %u", m->cluster_start[c + 1] - m->cluster_start[c]);
    printf("\n");
    printf("build       seed %" PRIu64 ", restarts %u, iterations %u, inertia %.2f, duration "
           "tolerance %u ms\n",
           m->seed, p->restarts, p->iterations, p->inertia, p->tolerance_ms);
    printf("opened in   %.1f ms\n", open_ms);
    model_close(m);
    return 0;
}

static int cmd_synth(void)
{
    char err[512];
    if (!opt_out || opt_rows <= 0) {
        fprintf(stderr, "reco-model synth: --rows and --out are required\n");
        return 2;
    }
    double t0 = now_seconds();
    enum synth_status status = synth_write(opt_out, (uint64_t)opt_rows, (uint64_t)opt_seed,
                                           progress_on ? on_synth : NULL, NULL, err, sizeof err);
    progress_done();
    if (status != SYNTH_OK) {
        fprintf(stderr, "reco-model synth: %s\n", err);
        return 1;
    }
    log_info("synth_written", "out=%s rows=%lld seed=%lld seconds=%.3f", opt_out, opt_rows,
             opt_seed, now_seconds() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    char **positional = calloc((size_t)argc + 1, sizeof *positional);
    int n_positional = 0;
    int rc = 2;
    if (!positional)
        return 1;
    enum options_result parsed =
        options_parse(OPTIONS, N_OPTIONS, argc, argv, USAGE, positional, &n_positional);
    if (parsed != OPTIONS_OK) {
        rc = parsed == OPTIONS_HELP ? 0 : 2;
        goto done;
    }
    enum log_level level;
    if (log_parse_level(opt_log_level, &level) != 0) {
        fprintf(stderr, "reco-model: --log-level '%s' is not debug, info, warn or error\n",
                opt_log_level);
        goto done;
    }
    log_threshold = level;
    progress_on = isatty(STDERR_FILENO);
    const char *command = n_positional > 0 ? positional[0] : "";
    if (strcmp(command, "build") == 0 && n_positional == 1) {
        rc = cmd_build();
    } else if (strcmp(command, "info") == 0 && n_positional == 2) {
        rc = cmd_info(positional[1]);
    } else if (strcmp(command, "synth") == 0 && n_positional == 1) {
        rc = cmd_synth();
    } else {
        fprintf(stderr, "reco-model: expected build, info MODEL or synth (see --help)\n");
    }
done:
    free(positional);
    return rc;
}
