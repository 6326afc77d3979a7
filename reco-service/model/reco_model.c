/* reco-model: the offline model tool's command line: the one options table (flags, env,
 * --help), terminal progress and clocks, and the dispatch to `build` (reco_model_build.c),
 * `info` and `rows` (reco_model_info.c) and `synth` (reco_model_synth.c). Exit 0 on success;
 * otherwise one line on stderr (2 for a bad command line). */
#include "reco_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "model.h"
#include "options.h"
#include "synth.h"

static const char USAGE[] =
    "usage: reco-model build --catalog FILE [--catalog FILE ...] --out MODEL [--k N|auto]\n"
    "                        [--seed N] [--restarts N] [--features LIST]\n"
    "                        [--key-encoding linear|circle] [--binary-weight W]\n"
    "                        [--artist-genres FILE] [--no-catalog-genres] [--genre-dims N]\n"
    "                        [--genre-weight W] [--dump-matrix FILE]\n"
    "       reco-model info MODEL [--json]\n"
    "       reco-model rows MODEL   (one line per song: row, id, style, source, genre, artist)\n"
    "       reco-model synth --rows N --out FILE [--seed N]";

static struct reco_model_opts opts = {.k = "20"};

static const struct option_spec OPTIONS[] = {
    {"catalog", 0, "RECO_CATALOG", OPTION_STRING, NULL, 0, 0,
     "catalog CSV (.csv or .csv.gz); repeat to merge several", &opts.catalog},
    {"artist-genres", 0, NULL, OPTION_STRING, NULL, 0, 0,
     "build: artist -> genres CSV (artists, genres columns) joined on the primary artist",
     &opts.artist_genres},
    {"no-catalog-genres", 0, NULL, OPTION_BOOL, "false", 0, 0,
     "build: leave the catalogs' genre label columns (track_genre, playlist_genre, "
     "search_genre, genre) out of the clustering and the names",
     &opts.no_catalog_genres},
    {"genre-dims", 0, NULL, OPTION_INT, "8", 0, MODEL_MAX_GENRE_DIMS,
     "build: genre embedding dimensions when genre labels are at hand (0 = audio only)",
     &opts.genre_dims},
    {"genre-weight", 0, NULL, OPTION_DOUBLE, "2", 0.01, 100,
     "build: weight of the genre embedding against the audio features (1 = alike)",
     &opts.genre_weight},
    {"json", 0, NULL, OPTION_BOOL, "false", 0, 0, "info: print the model's facts as JSON",
     &opts.json},
    {"out", 'o', NULL, OPTION_STRING, NULL, 0, 0, "output file (model for build, CSV for synth)",
     &opts.out},
    {"k", 'k', NULL, OPTION_STRING, "20", 0, 0, "clusters: 1..4096, or auto (elbow of inertia)",
     &opts.k},
    {"seed", 0, NULL, OPTION_INT, "1", 0, 9e15, "random seed (k-means, synth)", &opts.seed},
    {"restarts", 0, NULL, OPTION_INT, "10", 1, 1000,
     "k-means restarts, lowest inertia kept (scikit-learn 1.2 n_init)", &opts.restarts},
    {"features", 0, NULL, OPTION_STRING, "all", 0, 0,
     "comma-separated features (valence,year,...) or all", &opts.features},
    {"key-encoding", 0, NULL, OPTION_STRING, "linear", 0, 0,
     "key as one linear dimension, or circle (sin and cos)", &opts.key_encoding},
    {"binary-weight", 0, NULL, OPTION_DOUBLE, "0.5", 0.01, 100,
     "weight of the explicit and mode dimensions", &opts.binary_weight},
    {"tolerance-ms", 0, NULL, OPTION_INT, "10000", 0, 600000,
     "duration tolerance of duplicate-release collapse", &opts.tolerance_ms},
    {"dump-matrix", 0, NULL, OPTION_STRING, NULL, 0, 0,
     "also write the scaled matrix as .npy (for the benchmark)", &opts.dump},
    {"threads", 0, "RECO_THREADS", OPTION_INT, "0", 0, 64, "k-means threads (0 = every core)",
     &opts.threads},
    {"rows", 0, NULL, OPTION_INT, NULL, 1, SYNTH_MAX_ROWS, "synth: data rows to write", &opts.rows},
    {"log-level", 0, "LOG_LEVEL", OPTION_STRING, "info", 0, 0, "debug, info, warn or error",
     &opts.log_level},
};
#define N_OPTIONS (sizeof OPTIONS / sizeof OPTIONS[0])

bool reco_model_progress_on;

double reco_model_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double reco_model_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void reco_model_progress(const char *fmt, ...)
{
    if (!reco_model_progress_on)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

void reco_model_progress_done(void)
{
    if (reco_model_progress_on)
        fputs("\r\033[K", stderr);
}

const char *reco_model_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Collects every --catalog FILE / --catalog=FILE and --artist-genres FILE of argv. Returns -1
 * (message printed) when there are more than MODEL_MAX_SOURCES or RECO_MODEL_MAX_GENRE_FILES. */
static int collect_paths(int argc, char **argv)
{
    static const struct {
        const char *flag;
        const char **paths;
        uint32_t *n, max;
    } LISTS[] = {
        {"catalog", opts.catalog_paths, &opts.n_catalog_paths, MODEL_MAX_SOURCES},
        {"artist-genres", opts.genre_paths, &opts.n_genre_paths, RECO_MODEL_MAX_GENRE_FILES}};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        for (size_t l = 0; l < sizeof LISTS / sizeof LISTS[0]; l++) {
            size_t len = strlen(LISTS[l].flag);
            const char *path = NULL;
            /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): argv[i < argc] is set */
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
    if (log_parse_level(opts.log_level, &level) != 0) {
        fprintf(stderr, "reco-model: --log-level '%s' is not debug, info, warn or error\n",
                opts.log_level);
        goto done;
    }
    log_threshold = level;
    reco_model_progress_on = isatty(STDERR_FILENO);
    const char *command = n_positional > 0 ? positional[0] : "";
    if (strcmp(command, "build") == 0 && n_positional == 1) {
        rc = reco_model_build(&opts);
    } else if (strcmp(command, "info") == 0 && n_positional == 2) {
        rc = reco_model_info(positional[1], opts.json);
    } else if (strcmp(command, "rows") == 0 && n_positional == 2) {
        rc = reco_model_rows(positional[1]);
    } else if (strcmp(command, "synth") == 0 && n_positional == 1) {
        rc = reco_model_synth(&opts);
    } else {
        fprintf(stderr,
                "reco-model: expected build, info MODEL, rows MODEL or synth (see --help)\n");
    }
done:
    free(positional);
    return rc;
}
