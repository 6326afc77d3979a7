/* `reco-model build`: catalogs and artist genre files loaded and merged, features scaled, each
 * song's genre labels embedded beside them, k chosen and k-means fitted, styles named, and the
 * model written. One function per stage over a shared struct build. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "genres.h"
#include "kmeans.h"
#include "log.h"
#include "merge.h"
#include "model.h"
#include "model_build.h"
#include "reco_model.h"
#include "scale.h"
#include "style.h"

#define AUTO_K_MIN    2
#define AUTO_K_MAX    30
#define AUTO_K_SAMPLE 20000u

/* Everything one build makes on its way to the model file, freed by build_free. */
struct build {
    struct reco_model_opts *o;
    double t0, t_fit, t_fitted;
    uint32_t k;
    bool auto_k;
    struct scale_options fo;
    struct genre_map *artist_genres;
    uint32_t n_file_artists, n_column_artists;
    struct merged merged;
    bool merged_loaded;
    struct catalog *catalog; /* &merged.all */
    struct scale features;
    uint32_t n; /* songs: the model's rows */
    char **label_lists;
    uint32_t n_genre_rows, n_artist_genre_rows;
    uint32_t source_genre_rows[MODEL_MAX_SOURCES];
    char genres_text[1024];
    uint32_t n_audio, n_genre, dims;
    struct model_build_dim all_dims[MODEL_MAX_DIMS];
    const float *space;
    float *matrix, *embedding;
    uint32_t restarts;
    char k_reason[512];
    struct kmeans_result clusters;
    char *names;
    const char **name_of;
    struct model_build_row *rows;
    struct model_build_alias *aliases;
    uint32_t n_aliases;
    struct model_build_source *sources;
    uint32_t *row_of;
    char *source_names;
    char err[512];
};

static void build_free(struct build *b)
{
    if (b->label_lists)
        for (uint32_t r = 0; r < b->features.n_rows; r++)
            free(b->label_lists[r]);
    free(b->label_lists);
    free(b->names);
    free(b->name_of);
    free(b->source_names);
    free(b->matrix);
    free(b->embedding);
    free(b->rows);
    free(b->row_of);
    free(b->aliases);
    free(b->sources);
    kmeans_result_free(&b->clusters);
    scale_free(&b->features);
    genre_map_free(b->artist_genres);
    if (b->merged_loaded)
        merge_free(&b->merged);
}

/* Fails the build with one line on stderr; returns 1. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("reco-model build: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
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
    reco_model_progress("k-means [%s] restart %u/%u, iteration %u, inertia %.1f", bar, restart + 1,
                        *restarts, iteration + 1, inertia);
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
                used +=
                    (size_t)snprintf(lacking + used, sizeof lacking - used, "%s%s", used ? "," : "",
                                     reco_model_base_name(merged->sources[s].path));
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

/* The options build needs: --catalog and --out, --k, --key-encoding, --features. Returns 0, or
 * 2 with the reason on stderr. */
static int read_options(struct build *b)
{
    struct reco_model_opts *o = b->o;
    if (!o->catalog || !o->out) {
        fprintf(stderr, "reco-model build: --catalog and --out are required\n");
        return 2;
    }
    if (o->n_catalog_paths == 0) /* from RECO_CATALOG */
        o->catalog_paths[o->n_catalog_paths++] = o->catalog;
    b->auto_k = strcmp(o->k, "auto") == 0;
    if (!b->auto_k) {
        char *end = NULL;
        errno = 0;
        long v = strtol(o->k, &end, 10);
        if (errno || end == o->k || *end || v < 1 || v > (long)KMEANS_MAX_K) {
            fprintf(stderr, "reco-model build: --k '%s' is not a whole number in 1..%u or auto\n",
                    o->k, KMEANS_MAX_K);
            return 2;
        }
        b->k = (uint32_t)v;
    }
    b->fo = (struct scale_options){.binary_weight = o->binary_weight};
    if (strcmp(o->key_encoding, "circle") == 0) {
        b->fo.key_circle = true;
    } else if (strcmp(o->key_encoding, "linear") != 0) {
        fprintf(stderr, "reco-model build: --key-encoding '%s' is not linear or circle\n",
                o->key_encoding);
        return 2;
    }
    if (scale_parse_features(o->features, &b->fo.requested, b->err, sizeof b->err) != SCALE_OK) {
        fprintf(stderr, "reco-model build: %s\n", b->err);
        return 2;
    }
    return 0;
}

/* The --artist-genres files, read before the catalogs so a bad one fails fast. Returns 0 or 1. */
static int load_genre_files(struct build *b)
{
    if (genre_map_new(&b->artist_genres) != GENRES_OK)
        return fail("out of memory");
    for (uint32_t g = 0; g < b->o->n_genre_paths; g++) {
        uint32_t added = 0, malformed = 0;
        const char *path = b->o->genre_paths[g];
        if (genre_map_load(b->artist_genres, path, &added, &malformed, b->err, sizeof b->err) !=
            GENRES_OK)
            return fail("%s", b->err);
        log_info("artist_genres_loaded", "file=%s artists=%u malformed=%u", path, added, malformed);
        b->n_file_artists += added;
    }
    return 0;
}

/* Loads and merges the catalogs, reporting each file (log lines, and a line on stdout per file
 * when there are several). Returns 0 or 1. */
static int load_catalogs(struct build *b)
{
    struct reco_model_opts *o = b->o;
    struct merged *merged = &b->merged;
    reco_model_progress("loading %u catalog(s)", o->n_catalog_paths);
    enum merge_status mst = merge_load(o->catalog_paths, o->n_catalog_paths,
                                       (uint32_t)o->tolerance_ms, merged, b->err, sizeof b->err);
    reco_model_progress_done();
    if (mst != MERGE_OK)
        return fail("%s", b->err);
    b->merged_loaded = true;
    b->catalog = &merged->all;
    for (uint32_t s = 0; s < merged->n_sources; s++) {
        const struct catalog *file = merged->files[s];
        const struct merge_source *src = &merged->sources[s];
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
        if (merged->n_sources > 1)
            printf("source %u %s (%s): %" PRIu64 " rows, %u malformed, %u songs new, %u merged "
                   "into earlier files' songs (%u by id, %u by ISRC, %u by title + artist + "
                   "duration), %u collapsed inside the file, %u feature values given to "
                   "earlier songs\n",
                   s, reco_model_base_name(src->path), src->schema, src->n_records,
                   src->n_malformed, src->n_songs, src->n_merged, src->n_merged_id,
                   src->n_merged_isrc, src->n_merged - src->n_merged_id - src->n_merged_isrc,
                   src->n_collapsed + src->n_repeated_ids, src->n_filled);
    }
    const struct catalog *catalog = b->catalog;
    log_info("catalogs_merged",
             "files=%u records=%" PRIu64 " tracks=%u malformed=%u collapsed=%u seconds=%.3f",
             merged->n_sources, catalog->n_records, catalog->n_tracks, catalog->n_malformed,
             catalog->n_collapsed, reco_model_now() - b->t0);
    return 0;
}

/* The catalogs' artist genre columns, for artists the files did not have. Returns 0 or 1. */
static int add_column_genres(struct build *b)
{
    uint32_t before_columns = genre_map_size(b->artist_genres);
    for (uint32_t i = 0; i < b->catalog->n_tracks; i++) {
        const struct catalog_track *t = &b->catalog->tracks[i];
        if (t->artist_genres[0] && t->n_artists &&
            genre_map_add(b->artist_genres, t->artists[0], t->artist_genres) != GENRES_OK)
            return fail("out of memory for artist genres");
    }
    b->n_column_artists = genre_map_size(b->artist_genres) - before_columns;
    return 0;
}

/* Chooses and standardises the features (scale.c) and reports dropped and aligned ones.
 * Returns 0 or 1. */
static int scale_features(struct build *b)
{
    struct scale *features = &b->features;
    if (scale_build(b->catalog, &b->fo, features, b->err, sizeof b->err) != SCALE_OK)
        return fail("%s", b->err);
    if (features->dropped) {
        char list[256] = "";
        size_t used = 0;
        for (int f = 0; f < FEAT_COUNT; f++)
            if (features->dropped & (1u << f))
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", used ? "," : "",
                                         model_feature_name((enum model_feature)f));
        log_info("features_dropped", "schema=%s missing_or_constant=%s", b->catalog->schema, list);
    }
    report_alignment(&b->merged, features);
    b->n = features->n_rows;
    return 0;
}

/* Each song's genre labels: its primary artist's genres, and its catalog genre label unless
 * --no-catalog-genres. Returns 0 or 1. */
static int label_songs(struct build *b)
{
    uint32_t n = b->n;
    b->label_lists = calloc(n, sizeof *b->label_lists);
    if (!b->label_lists)
        return fail("out of memory");
    for (uint32_t r = 0; r < n; r++) {
        const struct catalog_track *t = &b->catalog->tracks[b->features.rows[r]];
        const char *by_artist =
            t->n_artists ? genre_map_find(b->artist_genres, t->artists[0]) : NULL;
        char own[CATALOG_MAX_TEXT + 2] = "";
        if (!b->o->no_catalog_genres && t->genre[0]) {
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
        b->label_lists[r] = malloc(bytes + 1);
        if (!b->label_lists[r])
            return fail("out of memory");
        memcpy(b->label_lists[r], joined, bytes + 1);
        b->n_genre_rows++;
        b->n_artist_genre_rows += by_artist != NULL;
        b->source_genre_rows[b->merged.source_of[b->features.rows[r]]]++;
    }
    return 0;
}

/* Where the genres came from and how many songs carry them: the model's `genres` text, printed
 * and logged. Returns 0. */
static int describe_genres(struct build *b)
{
    const struct reco_model_opts *o = b->o;
    char file_part[512];
    size_t used = 0;
    file_part[0] = '\0';
    for (uint32_t g = 0; g < o->n_genre_paths; g++)
        used += (size_t)snprintf(file_part + used, sizeof file_part - used, "%s%s",
                                 g ? " + " : "artist genres from ",
                                 reco_model_base_name(o->genre_paths[g]));
    if (used >= sizeof file_part)
        used = sizeof file_part - 1;
    snprintf(file_part + used, sizeof file_part - used, "%s (%u artists)",
             o->n_genre_paths ? "" : "no artist genres file", b->n_file_artists);
    snprintf(b->genres_text, sizeof b->genres_text,
             "%s; catalog artist_genres columns: %u more artists; catalog genre columns %s; "
             "%u of %u songs labelled (%u through their artist)",
             file_part, b->n_column_artists,
             o->no_catalog_genres ? "excluded (--no-catalog-genres)" : "used", b->n_genre_rows,
             b->n, b->n_artist_genre_rows);
    printf("genres: %s\n", b->genres_text);
    log_info("genre_labels", "labelled_songs=%u songs=%u by_artist=%u catalog_genres=%s",
             b->n_genre_rows, b->n, b->n_artist_genre_rows,
             o->no_catalog_genres ? "excluded" : "used");
    return 0;
}

/* The clustering space: scaled audio features, then the genre embedding (unit length per
 * labelled song, times genre_weight x sqrt(audio dimensions), so at weight 1 the two blocks
 * weigh alike; a song without labels sits at the block's origin). Dumped with --dump-matrix.
 * Returns 0 or 1. */
static int make_space(struct build *b)
{
    const struct reco_model_opts *o = b->o;
    uint32_t n = b->n, n_audio = b->features.n_dims;
    uint32_t n_genre = b->n_genre_rows && o->genre_dims > 0 ? (uint32_t)o->genre_dims : 0;
    uint32_t dims = n_audio + n_genre;
    double genre_scale = o->genre_weight * sqrt((double)n_audio);
    b->n_audio = n_audio;
    b->n_genre = n_genre;
    b->dims = dims;
    memcpy(b->all_dims, b->features.dims, n_audio * sizeof *b->all_dims);
    b->space = b->features.matrix;
    if (n_genre) {
        if (dims > MODEL_MAX_DIMS)
            return fail("%u audio + %u genre dimensions exceed %u", n_audio, n_genre,
                        MODEL_MAX_DIMS);
        b->embedding = malloc((size_t)n * n_genre * sizeof *b->embedding);
        b->matrix = malloc((size_t)n * dims * sizeof *b->matrix);
        if (!b->embedding || !b->matrix)
            return fail("out of memory for a %u x %u matrix", n, dims);
        if (genres_embed((const char *const *)b->label_lists, n, n_genre, (uint64_t)o->seed,
                         b->embedding, b->err, sizeof b->err) != GENRES_OK)
            return fail("%s", b->err);
        for (uint32_t r = 0; r < n; r++) {
            memcpy(b->matrix + (size_t)r * dims, b->features.matrix + (size_t)r * n_audio,
                   n_audio * sizeof *b->matrix);
            for (uint32_t g = 0; g < n_genre; g++)
                b->matrix[(size_t)r * dims + n_audio + g] =
                    (float)(b->embedding[(size_t)r * n_genre + g] * genre_scale);
        }
        for (uint32_t g = 0; g < n_genre; g++)
            b->all_dims[n_audio + g] = (struct model_build_dim){
                (enum model_feature)g, MODEL_DIM_GENRE, 0.0, 1.0, genre_scale};
        b->space = b->matrix;
        log_info("genre_embedding", "dims=%u weight=%g scale=%g", n_genre, o->genre_weight,
                 genre_scale);
    }
    if (o->dump && dump_matrix(o->dump, b->space, n, dims) != 0)
        return 1;
    return 0;
}

/* k (--k, or the elbow of the inertia curve with --k auto) and the k-means fit. Returns 0 or 1. */
static int cluster(struct build *b)
{
    const struct reco_model_opts *o = b->o;
    uint32_t n = b->n, dims = b->dims;
    b->restarts = (uint32_t)o->restarts;
    struct kmeans_options ko = {
        .restarts = b->restarts,
        .seed = (uint64_t)o->seed,
        .threads = (uint32_t)o->threads,
        .on_iteration = reco_model_progress_on ? on_iteration : NULL,
        .ctx = &b->restarts,
    };
    if (b->auto_k) {
        reco_model_progress("choosing k (k=%u..%u)", AUTO_K_MIN, AUTO_K_MAX);
        struct kmeans_options auto_o = ko;
        auto_o.restarts = 2;
        auto_o.on_iteration = NULL;
        enum kmeans_status ks =
            kmeans_choose_k(b->space, n, dims, AUTO_K_MIN, AUTO_K_MAX, AUTO_K_SAMPLE, &auto_o,
                            &b->k, b->k_reason, sizeof b->k_reason);
        reco_model_progress_done();
        if (ks != KMEANS_OK)
            return fail("%s", b->k_reason);
        printf("k=%u: %s\n", b->k, b->k_reason);
        log_info("k_chosen", "k=%u reason=\"%s\"", b->k, b->k_reason);
    }
    if (b->k > n)
        return fail("--k %u is more than the %u songs in the catalog", b->k, n);
    ko.k = b->k;
    b->t_fit = reco_model_now();
    enum kmeans_status ks = kmeans_run(b->space, n, dims, &ko, &b->clusters, b->err, sizeof b->err);
    reco_model_progress_done();
    if (ks != KMEANS_OK)
        return fail("%s", b->err);
    b->t_fitted = reco_model_now();
    const struct kmeans_result *c = &b->clusters;
    log_info("kmeans_done",
             "k=%u restarts=%u best_restart=%u iterations=%u total_iterations=%u inertia=%.6f "
             "kmeans_seconds=%.3f kernel=%s threads=%u parallel_restarts=%u",
             b->k, b->restarts, c->restart, c->iterations, c->total_iterations, c->inertia,
             b->t_fitted - b->t_fit, c->kernel, c->threads, c->teams);
    return 0;
}

/* Style names from the songs' labels, else from each centroid (style.c). Returns 0 or 1. */
static int name_styles(struct build *b)
{
    uint32_t k = b->k;
    b->names = malloc((size_t)k * STYLE_NAME_MAX);
    b->name_of = malloc((size_t)k * sizeof *b->name_of);
    if (!b->names || !b->name_of)
        return fail("out of memory");
    struct style_input si = {.k = k,
                             .n_rows = b->n,
                             .cluster = b->clusters.labels,
                             .row_labels =
                                 b->n_genre_rows ? (const char *const *)b->label_lists : NULL,
                             .dims = b->all_dims,
                             .n_dims = b->dims,
                             .centroids = b->clusters.centroids};
    uint32_t n_named = 0;
    if (style_name_clusters(&si, b->names, &n_named, b->err, sizeof b->err) != STYLE_OK)
        return fail("%s", b->err);
    for (uint32_t c = 0; c < k; c++)
        b->name_of[c] = b->names + (size_t)c * STYLE_NAME_MAX;
    log_info("styles_named", "k=%u from_genres=%u from_centroids=%u", k, n_named, k - n_named);
    return 0;
}

/* Canonical songs become model rows; every other id an alias of its canonical row. Returns 0
 * or 1. */
static int list_rows(struct build *b)
{
    const struct catalog *catalog = b->catalog;
    uint32_t n = b->n;
    b->rows = calloc(n, sizeof *b->rows);
    b->row_of = malloc((size_t)catalog->n_tracks * sizeof *b->row_of);
    uint32_t n_aliases = catalog->n_tracks - n;
    b->aliases = calloc(n_aliases ? n_aliases : 1, sizeof *b->aliases);
    b->sources = calloc(b->merged.n_sources, sizeof *b->sources);
    if (!b->rows || !b->row_of || !b->aliases || !b->sources)
        return fail("out of memory");
    for (uint32_t r = 0; r < n; r++) {
        const struct catalog_track *t = &catalog->tracks[b->features.rows[r]];
        b->row_of[b->features.rows[r]] = r;
        b->rows[r] = (struct model_build_row){
            .id = t->id,
            .name = t->name,
            .genre = t->genre,
            .isrc = t->isrc,
            .artists = t->artists,
            .n_artists = t->n_artists,
            .year = t->year,
            .popularity = t->popularity,
            .duration_ms = t->duration_ms,
            .cluster = b->clusters.labels[r],
            .present = t->present,
            .source = b->merged.source_of[b->features.rows[r]],
            .artist_genres = t->n_artists ? genre_map_find(b->artist_genres, t->artists[0]) : NULL,
        };
        memcpy(b->rows[r].value, t->value, sizeof b->rows[r].value);
    }
    for (uint32_t i = 0; i < catalog->n_tracks; i++) {
        const struct catalog_track *t = &catalog->tracks[i];
        if (t->canonical != i)
            b->aliases[b->n_aliases++] =
                (struct model_build_alias){t->id, t->isrc, b->row_of[t->canonical]};
    }
    return 0;
}

/* Each catalog file as a model source; the model's source is their base names joined by ", ".
 * Returns 0 or 1. */
static int list_sources(struct build *b)
{
    const struct merged *merged = &b->merged;
    size_t names_len = 0;
    for (uint32_t s = 0; s < merged->n_sources; s++)
        names_len += strlen(reco_model_base_name(merged->sources[s].path)) + 2;
    b->source_names = malloc(names_len + 1);
    if (!b->source_names)
        return fail("out of memory");
    b->source_names[0] = '\0';
    for (uint32_t s = 0, at = 0; s < merged->n_sources; s++) {
        const struct merge_source *src = &merged->sources[s];
        at += (uint32_t)sprintf(b->source_names + at, "%s%s", s ? ", " : "",
                                reco_model_base_name(src->path));
        b->sources[s] = (struct model_build_source){
            .name = reco_model_base_name(src->path),
            .schema = src->schema,
            .n_input_rows = (uint32_t)(src->n_records - src->n_malformed),
            .n_malformed = src->n_malformed,
            .n_merged = src->n_merged,
            .n_collapsed = src->n_collapsed + src->n_repeated_ids,
            .features = src->available,
            .n_genre_rows = b->source_genre_rows[s],
        };
    }
    return 0;
}

/* Writes the model file (model_write) and reports it. Returns 0 or 1. */
static int write_model(struct build *b)
{
    const struct reco_model_opts *o = b->o;
    const struct catalog *catalog = b->catalog;
    uint32_t n = b->n, k = b->k, dims = b->dims, n_genre = b->n_genre;
    struct model_build mb = {
        .cluster_names = b->name_of,
        .n_rows = n,
        .n_dims = dims,
        .k = k,
        .centroids = b->clusters.centroids,
        .scaled = b->space,
        .rows = b->rows,
        .aliases = b->aliases,
        .n_aliases = b->n_aliases,
        .seed = (uint64_t)o->seed,
        .built_unix = (uint64_t)time(NULL),
        .source = b->source_names,
        .schema = catalog->schema,
        .k_choice = b->k_reason,
        .restarts = b->restarts,
        .iterations = b->clusters.iterations,
        .tolerance_ms = (uint32_t)o->tolerance_ms,
        .n_input_rows = (uint32_t)(catalog->n_records - catalog->n_malformed),
        .n_malformed = catalog->n_malformed,
        .n_collapsed = catalog->n_collapsed + catalog->n_repeated_ids,
        .inertia = b->clusters.inertia,
        .binary_weight = o->binary_weight,
        .n_genre_dims = n_genre,
        .genre_weight = n_genre ? o->genre_weight : 0.0,
        .genres = b->n_genre_rows ? b->genres_text : "",
        .n_genre_rows = b->n_genre_rows,
        .sources = b->sources,
        .n_sources = b->merged.n_sources,
    };
    memcpy(mb.dims, b->all_dims, dims * sizeof *b->all_dims);
    if (model_write(&mb, o->out, b->err, sizeof b->err) != MODEL_OK)
        return fail("%s", b->err);
    double t_end = reco_model_now();
    log_info("model_built",
             "out=%s tracks=%u ids=%u dims=%u genre_dims=%u k=%u inertia=%.6f "
             "kmeans_seconds=%.3f total_seconds=%.3f",
             o->out, n, catalog->n_tracks, dims, n_genre, k, b->clusters.inertia,
             b->t_fitted - b->t_fit, t_end - b->t0);
    printf("built %s: %u songs (%u ids, %u duplicate releases collapsed, %u repeated ids, %u "
           "malformed rows), %u dims (%u genre), k=%u, inertia %.2f\n",
           o->out, n, catalog->n_tracks, catalog->n_collapsed, catalog->n_repeated_ids,
           catalog->n_malformed, dims, n_genre, k, b->clusters.inertia);
    return 0;
}

int reco_model_build(struct reco_model_opts *o)
{
    struct build *b = calloc(1, sizeof *b);
    if (!b)
        return fail("out of memory");
    b->o = o;
    b->t0 = reco_model_now();
    snprintf(b->k_reason, sizeof b->k_reason, "fixed");
    int rc = read_options(b);
    if (rc != 0)
        goto done;
    int (*const stages[])(struct build *) = {
        load_genre_files, load_catalogs,   add_column_genres, scale_features,
        label_songs,      describe_genres, make_space,        cluster,
        name_styles,      list_rows,       list_sources,      write_model,
    };
    for (size_t i = 0; rc == 0 && i < sizeof stages / sizeof stages[0]; i++)
        rc = stages[i](b);
done:
    build_free(b);
    free(b);
    return rc;
}
