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

#include <cjson/cJSON.h>

#include "catalog.h"
#include "genres.h"
#include "merge.h"
#include "scale.h"
#include "style.h"
#include "kmeans.h"
#include "log.h"
#include "model.h"
#include "model_build.h"
#include "model_format.h"
#include "options.h"
#include "synth.h"

#define DEFAULT_K        20
#define DEFAULT_RESTARTS 10 /* scikit-learn 1.2's n_init */
#define AUTO_K_MIN       2
#define AUTO_K_MAX       30
#define AUTO_K_SAMPLE    20000u

static const char USAGE[] =
    "usage: reco-model build --catalog FILE [--catalog FILE ...] --out MODEL [--k N|auto]\n"
    "                        [--seed N] [--restarts N] [--features LIST]\n"
    "                        [--key-encoding linear|circle] [--binary-weight W]\n"
    "                        [--artist-genres FILE] [--no-catalog-genres] [--genre-dims N]\n"
    "                        [--genre-weight W] [--dump-matrix FILE]\n"
    "       reco-model info MODEL [--json]\n"
    "       reco-model rows MODEL   (one line per song: row, id, style, source, genre, artist)\n"
    "       reco-model synth --rows N --out FILE [--seed N]";

static const char *opt_catalog, *opt_out, *opt_k = "20", *opt_features, *opt_key_encoding,
                                          *opt_dump, *opt_log_level;
static const char *opt_artist_genres;
static long long opt_seed, opt_restarts, opt_rows, opt_threads, opt_tolerance_ms, opt_genre_dims;
static double opt_binary_weight, opt_genre_weight;
static bool opt_no_catalog_genres, opt_json;

static const struct option_spec OPTIONS[] = {
    {"catalog", 0, "RECO_CATALOG", OPTION_STRING, NULL, 0, 0,
     "catalog CSV (.csv or .csv.gz); repeat to merge several", &opt_catalog},
    {"artist-genres", 0, NULL, OPTION_STRING, NULL, 0, 0,
     "build: artist -> genres CSV (artists, genres columns) joined on the primary artist",
     &opt_artist_genres},
    {"no-catalog-genres", 0, NULL, OPTION_BOOL, "false", 0, 0,
     "build: leave the catalogs' genre label columns (track_genre, playlist_genre, "
     "search_genre, genre) out of the clustering and the names",
     &opt_no_catalog_genres},
    {"genre-dims", 0, NULL, OPTION_INT, "8", 0, MODEL_MAX_GENRE_DIMS,
     "build: genre embedding dimensions when genre labels are at hand (0 = audio only)",
     &opt_genre_dims},
    {"genre-weight", 0, NULL, OPTION_DOUBLE, "2", 0.01, 100,
     "build: weight of the genre embedding against the audio features (1 = alike)",
     &opt_genre_weight},
    {"json", 0, NULL, OPTION_BOOL, "false", 0, 0, "info: print the model's facts as JSON",
     &opt_json},
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

/* CPU seconds of this process (user + system): a figure a loaded machine disturbs less. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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

/* The --catalog and --artist-genres paths, in order (the options table keeps only the last;
 * build uses all). */
#define MAX_GENRE_FILES 8u
static const char *catalog_paths[MODEL_MAX_SOURCES];
static uint32_t n_catalog_paths;
static const char *genre_paths[MAX_GENRE_FILES];
static uint32_t n_genre_paths;

/* Collects every --catalog FILE / --catalog=FILE and --artist-genres FILE of argv. Returns -1
 * (message printed) when there are more than MODEL_MAX_SOURCES or MAX_GENRE_FILES. */
static int collect_paths(int argc, char **argv)
{
    static const struct {
        const char *flag;
        const char **paths;
        uint32_t *n, max;
    } LISTS[] = {{"catalog", catalog_paths, &n_catalog_paths, MODEL_MAX_SOURCES},
                 {"artist-genres", genre_paths, &n_genre_paths, MAX_GENRE_FILES}};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        for (size_t l = 0; l < sizeof LISTS / sizeof LISTS[0]; l++) {
            size_t len = strlen(LISTS[l].flag);
            const char *path = NULL;
            if (strncmp(argv[i], "--", 2) != 0 || strncmp(argv[i] + 2, LISTS[l].flag, len) != 0)
                continue;
            if (argv[i][2 + len] == '\0' && i + 1 < argc)
                path = argv[++i];
            else if (argv[i][2 + len] == '=')
                path = argv[i] + 3 + len;
            if (!path)
                continue;
            if (*LISTS[l].n >= LISTS[l].max) {
                fprintf(stderr, "reco-model build: more than %u --%s files\n", LISTS[l].max,
                        LISTS[l].flag);
                return -1;
            }
            LISTS[l].paths[(*LISTS[l].n)++] = path;
            break;
        }
    }
    return 0;
}

/* Prints (and logs) how each feature some file lacks was handled. */
static void report_alignment(const struct merged *merged, const struct scale *features)
{
    if (merged->n_sources < 2)
        return;
    for (int f = 0; f < FEAT_COUNT; f++) {
        uint32_t bit = 1u << f;
        if (!(features->used & bit))
            continue;
        char lacking[512] = "";
        size_t used = 0;
        for (uint32_t s = 0; s < merged->n_sources; s++)
            if (!(merged->sources[s].available & bit))
                used += (size_t)snprintf(lacking + used, sizeof lacking - used, "%s%s",
                                         used ? "," : "", base_name(merged->sources[s].path));
        if (!used)
            continue;
        uint32_t absent = 0, filled = 0;
        for (uint32_t r = 0; r < features->n_rows; r++) {
            uint32_t i = features->rows[r];
            bool has = merged->all.tracks[i].present & bit;
            absent += !has;
            filled += has && !(merged->sources[merged->source_of[i]].available & bit);
        }
        printf("feature %s: not in %s; %u songs from those files take it from another file's "
               "copy of the song, %u have none (scaled as the catalog mean, marked absent)\n",
               model_feature_name((enum model_feature)f), lacking, filled, absent);
        log_info("feature_aligned",
                 "feature=%s missing_in=%s filled_songs=%u absent_songs=%u policy=mean_imputed",
                 model_feature_name((enum model_feature)f), lacking, filled, absent);
    }
}

static int cmd_build(void)
{
    int rc = 1;
    struct merged merged = {0};
    bool merged_loaded = false;
    struct genre_map *artist_genres = NULL;
    struct scale features = {0};
    struct kmeans_result clusters = {0};
    struct model_build_row *rows = NULL;
    struct model_build_alias *aliases = NULL;
    struct model_build_source *sources = NULL;
    uint32_t *row_of = NULL;
    char **label_lists = NULL, *names = NULL, *source_names = NULL;
    const char **name_of = NULL;
    float *matrix = NULL, *embedding = NULL;
    char err[512], k_reason[512] = "fixed", genres_text[1024] = "";
    double t0 = now_seconds();

    if (!opt_catalog || !opt_out) {
        fprintf(stderr, "reco-model build: --catalog and --out are required\n");
        return 2;
    }
    if (n_catalog_paths == 0) /* from RECO_CATALOG */
        catalog_paths[n_catalog_paths++] = opt_catalog;
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

    /* Artist genres: the --artist-genres files first (read before the catalogs, so a bad one
     * fails fast), then the catalogs' artist genre columns for artists they do not have. */
    if (genre_map_new(&artist_genres) != GENRES_OK) {
        fprintf(stderr, "reco-model build: out of memory\n");
        goto done;
    }
    uint32_t n_file_artists = 0, n_file_malformed = 0;
    for (uint32_t g = 0; g < n_genre_paths; g++) {
        uint32_t added = 0, malformed = 0;
        enum genres_status gs =
            genre_map_load(artist_genres, genre_paths[g], &added, &malformed, err, sizeof err);
        if (gs != GENRES_OK) {
            fprintf(stderr, "reco-model build: %s\n", err);
            goto done;
        }
        log_info("artist_genres_loaded", "file=%s artists=%u malformed=%u", genre_paths[g], added,
                 malformed);
        n_file_artists += added;
        n_file_malformed += malformed;
    }
    progress_line("loading %u catalog(s)", n_catalog_paths);
    enum merge_status mst = merge_load(catalog_paths, n_catalog_paths, (uint32_t)opt_tolerance_ms,
                                       &merged, err, sizeof err);
    progress_done();
    if (mst != MERGE_OK) {
        fprintf(stderr, "reco-model build: %s\n", err);
        goto done;
    }
    merged_loaded = true;
    struct catalog *catalog = &merged.all;
    for (uint32_t s = 0; s < merged.n_sources; s++) {
        const struct catalog *file = merged.files[s];
        const struct merge_source *src = &merged.sources[s];
        for (uint32_t i = 0; i < file->n_reports; i++)
            log_warn("catalog_malformed_row", "catalog=%s detail=\"%s\"", src->path,
                     file->reports[i]);
        log_info("catalog_loaded",
                 "catalog=%s schema=%s records=%" PRIu64 " tracks=%u malformed=%u "
                 "repeated_ids=%u collapsed_releases=%u merged=%u merged_by_id=%u "
                 "merged_by_isrc=%u songs=%u features_filled=%u",
                 src->path, src->schema, src->n_records, src->n_tracks, src->n_malformed,
                 src->n_repeated_ids, src->n_collapsed, src->n_merged, src->n_merged_id,
                 src->n_merged_isrc, src->n_songs, src->n_filled);
        if (merged.n_sources > 1)
            printf("source %u %s (%s): %" PRIu64 " rows, %u malformed, %u songs new, %u merged "
                   "into earlier files' songs (%u by id, %u by ISRC, %u by title + artist + "
                   "duration), %u collapsed inside the file, %u feature values given to "
                   "earlier songs\n",
                   s, base_name(src->path), src->schema, src->n_records, src->n_malformed,
                   src->n_songs, src->n_merged, src->n_merged_id, src->n_merged_isrc,
                   src->n_merged - src->n_merged_id - src->n_merged_isrc,
                   src->n_collapsed + src->n_repeated_ids, src->n_filled);
    }
    double t_load = now_seconds();
    log_info("catalogs_merged",
             "files=%u records=%" PRIu64 " tracks=%u malformed=%u collapsed=%u seconds=%.3f",
             merged.n_sources, catalog->n_records, catalog->n_tracks, catalog->n_malformed,
             catalog->n_collapsed, t_load - t0);

    uint32_t before_columns = genre_map_size(artist_genres);
    for (uint32_t i = 0; i < catalog->n_tracks; i++) {
        const struct catalog_track *t = &catalog->tracks[i];
        if (t->artist_genres[0] && t->n_artists &&
            genre_map_add(artist_genres, t->artists[0], t->artist_genres) != GENRES_OK) {
            fprintf(stderr, "reco-model build: out of memory for artist genres\n");
            goto done;
        }
    }
    uint32_t n_column_artists = genre_map_size(artist_genres) - before_columns;

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
    report_alignment(&merged, &features);

    /* Each song's genre labels: its primary artist's genres, and its catalog genre label
     * unless --no-catalog-genres. */
    uint32_t n = features.n_rows;
    label_lists = calloc(n, sizeof *label_lists);
    if (!label_lists) {
        fprintf(stderr, "reco-model build: out of memory\n");
        goto done;
    }
    uint32_t n_genre_rows = 0, n_artist_genre_rows = 0;
    uint32_t source_genre_rows[MODEL_MAX_SOURCES] = {0};
    for (uint32_t r = 0; r < n; r++) {
        const struct catalog_track *t = &catalog->tracks[features.rows[r]];
        const char *by_artist = t->n_artists ? genre_map_find(artist_genres, t->artists[0]) : NULL;
        char own[CATALOG_MAX_TEXT + 2] = "";
        if (!opt_no_catalog_genres && t->genre[0]) {
            size_t len = strlen(t->genre);
            memcpy(own, t->genre, len + 1);
            own[len + 1] = '\0';
        }
        char joined[8192];
        if (genres_join(by_artist, own, joined, sizeof joined) <= 1)
            continue;
        size_t bytes = 0;
        while (joined[bytes])
            bytes += strlen(joined + bytes) + 1;
        label_lists[r] = malloc(bytes + 1);
        if (!label_lists[r]) {
            fprintf(stderr, "reco-model build: out of memory\n");
            goto done;
        }
        memcpy(label_lists[r], joined, bytes + 1);
        n_genre_rows++;
        n_artist_genre_rows += by_artist != NULL;
        source_genre_rows[merged.source_of[features.rows[r]]]++;
    }
    {
        char file_part[512];
        size_t used = 0;
        file_part[0] = '\0';
        for (uint32_t g = 0; g < n_genre_paths; g++)
            used += (size_t)snprintf(file_part + used, sizeof file_part - used, "%s%s",
                                     g ? " + " : "artist genres from ", base_name(genre_paths[g]));
        if (used >= sizeof file_part)
            used = sizeof file_part - 1;
        snprintf(file_part + used, sizeof file_part - used, "%s (%u artists)",
                 n_genre_paths ? "" : "no artist genres file", n_file_artists);
        snprintf(genres_text, sizeof genres_text,
                 "%s; catalog artist_genres columns: %u more artists; catalog genre columns %s; "
                 "%u of %u songs labelled (%u through their artist)",
                 file_part, n_column_artists,
                 opt_no_catalog_genres ? "excluded (--no-catalog-genres)" : "used", n_genre_rows, n,
                 n_artist_genre_rows);
    }
    printf("genres: %s\n", genres_text);
    log_info("genre_labels", "labelled_songs=%u songs=%u by_artist=%u catalog_genres=%s",
             n_genre_rows, n, n_artist_genre_rows, opt_no_catalog_genres ? "excluded" : "used");

    /* The clustering space: scaled audio features, then the genre embedding (unit length per
     * labelled song, times genre_weight x sqrt(audio dimensions), so at weight 1 the two
     * blocks weigh alike; a song without labels sits at the block's origin). */
    uint32_t n_audio = features.n_dims;
    uint32_t n_genre = n_genre_rows && opt_genre_dims > 0 ? (uint32_t)opt_genre_dims : 0;
    uint32_t dims = n_audio + n_genre;
    double genre_scale = opt_genre_weight * sqrt((double)n_audio);
    struct model_build_dim all_dims[MODEL_MAX_DIMS];
    memcpy(all_dims, features.dims, n_audio * sizeof *all_dims);
    const float *space = features.matrix;
    if (n_genre) {
        if (dims > MODEL_MAX_DIMS) {
            fprintf(stderr, "reco-model build: %u audio + %u genre dimensions exceed %u\n", n_audio,
                    n_genre, MODEL_MAX_DIMS);
            goto done;
        }
        embedding = malloc((size_t)n * n_genre * sizeof *embedding);
        matrix = malloc((size_t)n * dims * sizeof *matrix);
        if (!embedding || !matrix) {
            fprintf(stderr, "reco-model build: out of memory for a %u x %u matrix\n", n, dims);
            goto done;
        }
        if (genres_embed((const char *const *)label_lists, n, n_genre, (uint64_t)opt_seed,
                         embedding, err, sizeof err) != GENRES_OK) {
            fprintf(stderr, "reco-model build: %s\n", err);
            goto done;
        }
        for (uint32_t r = 0; r < n; r++) {
            memcpy(matrix + (size_t)r * dims, features.matrix + (size_t)r * n_audio,
                   n_audio * sizeof *matrix);
            for (uint32_t g = 0; g < n_genre; g++)
                matrix[(size_t)r * dims + n_audio + g] =
                    (float)(embedding[(size_t)r * n_genre + g] * genre_scale);
        }
        for (uint32_t g = 0; g < n_genre; g++)
            all_dims[n_audio + g] = (struct model_build_dim){(enum model_feature)g, MODEL_DIM_GENRE,
                                                             0.0, 1.0, genre_scale};
        space = matrix;
        log_info("genre_embedding", "dims=%u weight=%g scale=%g", n_genre, opt_genre_weight,
                 genre_scale);
    }
    if (opt_dump && dump_matrix(opt_dump, space, n, dims) != 0)
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
            kmeans_choose_k(space, n, dims, AUTO_K_MIN, AUTO_K_MAX, AUTO_K_SAMPLE, &auto_o, &k,
                            k_reason, sizeof k_reason);
        progress_done();
        if (ks != KMEANS_OK) {
            fprintf(stderr, "reco-model build: %s\n", k_reason);
            goto done;
        }
        printf("k=%u: %s\n", k, k_reason);
        log_info("k_chosen", "k=%u reason=\"%s\"", k, k_reason);
    }
    if (k > n) {
        fprintf(stderr, "reco-model build: --k %u is more than the %u songs in the catalog\n", k,
                n);
        goto done;
    }
    ko.k = k;
    double t_fit = now_seconds();
    enum kmeans_status ks = kmeans_run(space, n, dims, &ko, &clusters, err, sizeof err);
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

    /* Style names from the songs' labels, else from each centroid. */
    names = malloc((size_t)k * STYLE_NAME_MAX);
    name_of = malloc((size_t)k * sizeof *name_of);
    if (!names || !name_of) {
        fprintf(stderr, "reco-model build: out of memory\n");
        goto done;
    }
    struct style_input si = {.k = k,
                             .n_rows = n,
                             .cluster = clusters.labels,
                             .row_labels = n_genre_rows ? (const char *const *)label_lists : NULL,
                             .dims = all_dims,
                             .n_dims = dims,
                             .centroids = clusters.centroids};
    uint32_t n_named = 0;
    if (style_name_clusters(&si, names, &n_named, err, sizeof err) != STYLE_OK) {
        fprintf(stderr, "reco-model build: %s\n", err);
        goto done;
    }
    for (uint32_t c = 0; c < k; c++)
        name_of[c] = names + (size_t)c * STYLE_NAME_MAX;
    log_info("styles_named", "k=%u from_genres=%u from_centroids=%u", k, n_named, k - n_named);

    /* Canonical songs become model rows; every other id an alias of its canonical row. */
    rows = calloc(n, sizeof *rows);
    row_of = malloc((size_t)catalog->n_tracks * sizeof *row_of);
    uint32_t n_aliases = catalog->n_tracks - n;
    aliases = calloc(n_aliases ? n_aliases : 1, sizeof *aliases);
    sources = calloc(merged.n_sources, sizeof *sources);
    if (!rows || !row_of || !aliases || !sources) {
        fprintf(stderr, "reco-model build: out of memory\n");
        goto done;
    }
    for (uint32_t r = 0; r < n; r++) {
        const struct catalog_track *t = &catalog->tracks[features.rows[r]];
        row_of[features.rows[r]] = r;
        rows[r] = (struct model_build_row){
            .id = t->id,
            .name = t->name,
            .genre = t->genre,
            .isrc = t->isrc,
            .artists = t->artists,
            .n_artists = t->n_artists,
            .year = t->year,
            .popularity = t->popularity,
            .duration_ms = t->duration_ms,
            .cluster = clusters.labels[r],
            .present = t->present,
            .source = merged.source_of[features.rows[r]],
            .artist_genres = t->n_artists ? genre_map_find(artist_genres, t->artists[0]) : NULL,
        };
        memcpy(rows[r].value, t->value, sizeof rows[r].value);
    }
    uint32_t a = 0;
    for (uint32_t i = 0; i < catalog->n_tracks; i++) {
        const struct catalog_track *t = &catalog->tracks[i];
        if (t->canonical != i)
            aliases[a++] = (struct model_build_alias){t->id, t->isrc, row_of[t->canonical]};
    }
    /* Source names: each file's base name; the model's source is them joined by ", ". */
    size_t names_len = 0;
    for (uint32_t s = 0; s < merged.n_sources; s++)
        names_len += strlen(base_name(merged.sources[s].path)) + 2;
    source_names = malloc(names_len + 1);
    if (!source_names) {
        fprintf(stderr, "reco-model build: out of memory\n");
        goto done;
    }
    source_names[0] = '\0';
    for (uint32_t s = 0, at = 0; s < merged.n_sources; s++) {
        const struct merge_source *src = &merged.sources[s];
        at += (uint32_t)sprintf(source_names + at, "%s%s", s ? ", " : "", base_name(src->path));
        sources[s] = (struct model_build_source){
            .name = base_name(src->path),
            .schema = src->schema,
            .n_input_rows = (uint32_t)(src->n_records - src->n_malformed),
            .n_malformed = src->n_malformed,
            .n_merged = src->n_merged,
            .n_collapsed = src->n_collapsed + src->n_repeated_ids,
            .features = src->available,
            .n_genre_rows = source_genre_rows[s],
        };
    }
    struct model_build b = {
        .cluster_names = name_of,
        .n_rows = n,
        .n_dims = dims,
        .k = k,
        .centroids = clusters.centroids,
        .scaled = space,
        .rows = rows,
        .aliases = aliases,
        .n_aliases = a,
        .seed = (uint64_t)opt_seed,
        .built_unix = (uint64_t)time(NULL),
        .source = source_names,
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
        .n_genre_dims = n_genre,
        .genre_weight = n_genre ? opt_genre_weight : 0.0,
        .genres = n_genre_rows ? genres_text : "",
        .n_genre_rows = n_genre_rows,
        .sources = sources,
        .n_sources = merged.n_sources,
    };
    memcpy(b.dims, all_dims, dims * sizeof *all_dims);
    enum model_status ms = model_write(&b, opt_out, err, sizeof err);
    if (ms != MODEL_OK) {
        fprintf(stderr, "reco-model build: %s\n", err);
        goto done;
    }
    double t_end = now_seconds();
    log_info("model_built",
             "out=%s tracks=%u ids=%u dims=%u genre_dims=%u k=%u inertia=%.6f "
             "kmeans_seconds=%.3f total_seconds=%.3f",
             opt_out, n, catalog->n_tracks, dims, n_genre, k, clusters.inertia, t_fitted - t_fit,
             t_end - t0);
    printf("built %s: %u songs (%u ids, %u duplicate releases collapsed, %u repeated ids, %u "
           "malformed rows), %u dims (%u genre), k=%u, inertia %.2f\n",
           opt_out, n, catalog->n_tracks, catalog->n_collapsed, catalog->n_repeated_ids,
           catalog->n_malformed, dims, n_genre, k, clusters.inertia);
    rc = 0;
done:
    if (label_lists)
        for (uint32_t r = 0; r < features.n_rows; r++)
            free(label_lists[r]);
    free(label_lists);
    free(names);
    free(name_of);
    free(source_names);
    free(matrix);
    free(embedding);
    free(rows);
    free(row_of);
    free(aliases);
    free(sources);
    kmeans_result_free(&clusters);
    scale_free(&features);
    genre_map_free(artist_genres);
    if (merged_loaded)
        merge_free(&merged);
    return rc;
}

static void print_features(const struct model *m, uint32_t mask)
{
    bool first = true;
    for (int f = 0; f < FEAT_COUNT; f++) {
        if (!(mask & (1u << f)))
            continue;
        printf("%s%s", first ? "" : ",", model_feature_name((enum model_feature)f));
        first = false;
    }
    (void)m;
}

/* The model's facts as one JSON object on stdout. Returns 0, or 1 when out of memory. */
static int print_json(const struct model *m, const char *path, double open_ms, double open_cpu_ms)
{
    const struct model_params *p = model_get_params(m);
    cJSON *root = cJSON_CreateObject();
    cJSON *features = cJSON_AddArrayToObject(root, "features");
    cJSON *sources = cJSON_AddArrayToObject(root, "sources");
    cJSON *styles = cJSON_AddArrayToObject(root, "styles");
    cJSON *build = cJSON_AddObjectToObject(root, "build");
    cJSON *genres = cJSON_AddObjectToObject(root, "genres");
    if (!root || !features || !sources || !styles || !build || !genres) {
        cJSON_Delete(root);
        return 1;
    }
    cJSON_AddStringToObject(root, "model", path);
    cJSON_AddStringToObject(root, "version", m->version);
    cJSON_AddNumberToObject(root, "format", MF_FORMAT_VERSION);
    cJSON_AddStringToObject(root, "source", m->source);
    cJSON_AddStringToObject(root, "schema", p->schema);
    cJSON_AddNumberToObject(root, "built_unix", (double)m->built_unix);
    cJSON_AddNumberToObject(root, "rows", m->n_rows);
    cJSON_AddNumberToObject(root, "ids", m->n_ids);
    cJSON_AddNumberToObject(root, "artists", m->n_artists);
    cJSON_AddNumberToObject(root, "k", m->k);
    cJSON_AddNumberToObject(root, "dims", m->n_dims);
    cJSON_AddNumberToObject(root, "audio_dims", m->n_dims - m->n_genre_dims);
    cJSON_AddNumberToObject(root, "genre_dims", m->n_genre_dims);
    for (uint32_t f = 0; f < m->n_features; f++)
        cJSON_AddItemToArray(features, cJSON_CreateString(model_feature_name(m->features[f])));
    for (uint32_t i = 0; i < m->n_sources; i++) {
        const struct model_source *src = model_source(m, i);
        cJSON *o = cJSON_CreateObject();
        cJSON *have = cJSON_AddArrayToObject(o, "features");
        cJSON_AddStringToObject(o, "name", src->name);
        cJSON_AddStringToObject(o, "schema", src->schema);
        cJSON_AddNumberToObject(o, "input_rows", src->n_input_rows);
        cJSON_AddNumberToObject(o, "malformed", src->n_malformed);
        cJSON_AddNumberToObject(o, "rows", src->n_rows);
        cJSON_AddNumberToObject(o, "merged", src->n_merged);
        cJSON_AddNumberToObject(o, "collapsed", src->n_collapsed);
        cJSON_AddNumberToObject(o, "genre_rows", src->n_genre_rows);
        for (int f = 0; f < FEAT_COUNT; f++)
            if (src->features & (1u << f))
                cJSON_AddItemToArray(have,
                                     cJSON_CreateString(model_feature_name((enum model_feature)f)));
        cJSON_AddItemToArray(sources, o);
    }
    for (uint32_t c = 0; c < m->k; c++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "cluster", c);
        cJSON_AddStringToObject(o, "name", model_cluster_name(m, c));
        cJSON_AddNumberToObject(o, "size", model_cluster_size(m, c));
        cJSON_AddItemToArray(styles, o);
    }
    cJSON_AddNumberToObject(build, "seed", (double)m->seed);
    cJSON_AddNumberToObject(build, "restarts", p->restarts);
    cJSON_AddNumberToObject(build, "iterations", p->iterations);
    cJSON_AddNumberToObject(build, "inertia", p->inertia);
    cJSON_AddStringToObject(build, "k_choice", p->k_choice);
    cJSON_AddNumberToObject(build, "tolerance_ms", p->tolerance_ms);
    cJSON_AddNumberToObject(build, "binary_weight", p->binary_weight);
    cJSON_AddStringToObject(build, "key_encoding", p->key_circle ? "circle" : "linear");
    cJSON_AddNumberToObject(build, "input_rows", p->n_input_rows);
    cJSON_AddNumberToObject(build, "malformed", p->n_malformed);
    cJSON_AddNumberToObject(build, "collapsed", p->n_collapsed);
    cJSON_AddStringToObject(genres, "used", p->genres);
    cJSON_AddNumberToObject(genres, "labelled_rows", p->n_genre_rows);
    cJSON_AddNumberToObject(genres, "weight", p->genre_weight);
    cJSON_AddNumberToObject(root, "open_ms", open_ms);
    cJSON_AddNumberToObject(root, "open_cpu_ms", open_cpu_ms);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return 1;
    puts(text);
    cJSON_free(text);
    return 0;
}

static int cmd_info(const char *path)
{
    struct model *m = NULL;
    char err[512];
    double t0 = now_seconds(), c0 = cpu_seconds();
    enum model_status status = model_open(path, &m, err, sizeof err);
    double open_ms = (now_seconds() - t0) * 1000.0;
    double open_cpu_ms = (cpu_seconds() - c0) * 1000.0;
    if (status != MODEL_OK) {
        fprintf(stderr, "reco-model info: %s\n", err);
        return 1;
    }
    if (opt_json) {
        int rc = print_json(m, path, open_ms, open_cpu_ms);
        if (rc)
            fprintf(stderr, "reco-model info: out of memory\n");
        model_close(m);
        return rc;
    }
    const struct model_params *p = model_get_params(m);
    time_t built = (time_t)m->built_unix;
    struct tm utc;
    char when[32] = "?";
    if (gmtime_r(&built, &utc))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    printf("model       %s\n", path);
    printf("version     %s (format %u)\n", m->version, MF_FORMAT_VERSION);
    printf("source      %s (schema %s)\n", m->source, p->schema);
    printf("built       %s\n", when);
    printf("tracks      %u songs, %u primary artists\n", m->n_rows, m->n_artists);
    printf("ids         %u\n", m->n_ids);
    printf("catalog     %u rows read, %u malformed, %u collapsed (duplicate releases, repeated "
           "ids and songs merged across files)\n",
           p->n_input_rows, p->n_malformed, p->n_collapsed);
    printf("sources     %u\n", m->n_sources);
    for (uint32_t i = 0; i < m->n_sources; i++) {
        const struct model_source *src = model_source(m, i);
        printf("  %u  %s (%s): %u rows read, %u malformed, %u songs, %u merged into earlier "
               "files' songs, %u collapsed, %u with genre labels; features ",
               i, src->name, src->schema, src->n_input_rows, src->n_malformed, src->n_rows,
               src->n_merged, src->n_collapsed, src->n_genre_rows);
        print_features(m, src->features);
        printf("\n");
    }
    printf("features    %u:", m->n_features);
    for (uint32_t f = 0; f < m->n_features; f++)
        printf("%s%s", f ? "," : " ", model_feature_name(m->features[f]));
    printf(" (%u dims, key %s, binary weight %g)\n", m->n_dims - m->n_genre_dims,
           p->key_circle ? "circle" : "linear", p->binary_weight);
    if (m->n_genre_dims)
        printf("genres      %u embedding dims, weight %g; %s\n", m->n_genre_dims, p->genre_weight,
               p->genres);
    else
        printf("genres      none in the clustering%s%s\n", p->genres[0] ? "; " : "", p->genres);
    printf("k           %u (%s)\n", m->k, p->k_choice);
    printf("clusters   ");
    for (uint32_t c = 0; c < m->k; c++)
        printf(" %u", model_cluster_size(m, c));
    printf("\n");
    printf("styles      %u\n", m->k);
    for (uint32_t c = 0; c < m->k; c++)
        printf("  %4u  %7u  %s\n", c, model_cluster_size(m, c), model_cluster_name(m, c));
    printf("build       seed %" PRIu64 ", restarts %u, iterations %u, inertia %.2f, duration "
           "tolerance %u ms\n",
           m->seed, p->restarts, p->iterations, p->inertia, p->tolerance_ms);
    printf("opened in   %.1f ms (%.1f ms CPU)\n", open_ms, open_cpu_ms);
    model_close(m);
    return 0;
}

/* One tab-separated line per song (row, id, style, source, catalog genre, primary artist), for
 * evaluations such as tests/quality/styles_purity.sh. */
static int cmd_rows(const char *path)
{
    struct model *m = NULL;
    char err[512];
    if (model_open(path, &m, err, sizeof err) != MODEL_OK) {
        fprintf(stderr, "reco-model rows: %s\n", err);
        return 1;
    }
    printf("row\tid\tstyle\tsource\tgenre\tartist\n");
    for (uint32_t r = 0; r < m->n_rows; r++)
        printf("%u\t%s\t%u\t%u\t%s\t%s\n", r, model_row_id(m, r), model_row_cluster(m, r),
               model_row_source(m, r), model_row_genre(m, r), model_row_artists(m, r));
    model_close(m);
    return fflush(stdout) == 0 ? 0 : 1;
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
    if (collect_paths(argc, argv) != 0)
        goto done;
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
    } else if (strcmp(command, "rows") == 0 && n_positional == 2) {
        rc = cmd_rows(positional[1]);
    } else if (strcmp(command, "synth") == 0 && n_positional == 1) {
        rc = cmd_synth();
    } else {
        fprintf(stderr,
                "reco-model: expected build, info MODEL, rows MODEL or synth (see --help)\n");
    }
done:
    free(positional);
    return rc;
}
