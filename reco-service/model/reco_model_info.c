/* `reco-model info` and `reco-model rows`: what a model file holds, as text or one JSON object
 * (with how long model_open took), and one tab-separated line per song for evaluations. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "model.h"
#include "model_build.h"
#include "model_format.h"
#include "reco_model.h"

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

int reco_model_info(const char *path, bool json)
{
    struct model *m = NULL;
    char err[512];
    double t0 = reco_model_now(), c0 = reco_model_cpu();
    enum model_status status = model_open(path, &m, err, sizeof err);
    double open_ms = (reco_model_now() - t0) * 1000.0;
    double open_cpu_ms = (reco_model_cpu() - c0) * 1000.0;
    if (status != MODEL_OK) {
        fprintf(stderr, "reco-model info: %s\n", err);
        return 1;
    }
    if (json) {
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
int reco_model_rows(const char *path)
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