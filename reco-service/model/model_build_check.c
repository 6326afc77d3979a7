/* Checking a model build before anything is written (model_write's first step): counts in
 * range, dimensions and their scalers, centroids and scaled rows finite, each row's cluster,
 * artists, source and strings within the format's limits, aliases pointing at rows. */
#include "model_build_check.h"

#include <math.h>
#include <string.h>

#include "errbuf.h"
#include "model_format.h"
#include "style.h"

bool model_build_check(const struct model_build *b, char *err, size_t err_len)
{
    if (b->n_rows == 0 || b->n_rows >= MF_EMPTY_SLOT - 1) {
        errbuf_set(err, err_len, "model_write: n_rows %u outside 1..%u", b->n_rows,
                   MF_EMPTY_SLOT - 2);
        return false;
    }
    if (b->k == 0 || b->k > MODEL_MAX_K || b->k > b->n_rows) {
        errbuf_set(err, err_len, "model_write: k %u outside 1..min(%u, n_rows %u)", b->k,
                   MODEL_MAX_K, b->n_rows);
        return false;
    }
    if (b->n_dims == 0 || b->n_dims > MODEL_MAX_DIMS) {
        errbuf_set(err, err_len, "model_write: n_dims %u outside 1..%u", b->n_dims, MODEL_MAX_DIMS);
        return false;
    }
    if (b->n_genre_dims > MODEL_MAX_GENRE_DIMS || b->n_genre_dims >= b->n_dims) {
        errbuf_set(err, err_len, "model_write: n_genre_dims %u outside 0..min(%u, n_dims %u - 1)",
                   b->n_genre_dims, MODEL_MAX_GENRE_DIMS, b->n_dims);
        return false;
    }
    uint32_t first_genre = b->n_dims - b->n_genre_dims;
    for (uint32_t d = 0; d < b->n_dims; d++) {
        const struct model_build_dim *x = &b->dims[d];
        bool genre = d >= first_genre;
        bool feature_ok = genre ? x->kind == MODEL_DIM_GENRE && x->feature == d - first_genre
                                : x->kind != MODEL_DIM_GENRE && (unsigned)x->feature < FEAT_COUNT;
        if (!feature_ok || !isfinite(x->mean) || !(x->std > 0) || !isfinite(x->std) ||
            !(x->weight > 0) || !isfinite(x->weight)) {
            errbuf_set(err, err_len, "model_write: dimension %u has a bad feature or scaler", d);
            return false;
        }
    }
    if (b->n_sources > MODEL_MAX_SOURCES || (b->n_sources && !b->sources)) {
        errbuf_set(err, err_len, "model_write: n_sources %u outside 0..%u", b->n_sources,
                   MODEL_MAX_SOURCES);
        return false;
    }
    if (!isfinite(b->genre_weight) || b->genre_weight < 0 || b->n_genre_rows > b->n_rows) {
        errbuf_set(err, err_len, "model_write: genre_weight %g or n_genre_rows %u out of range",
                   b->genre_weight, b->n_genre_rows);
        return false;
    }
    for (uint32_t c = 0; b->cluster_names && c < b->k; c++) {
        const char *name = b->cluster_names[c];
        if (!name || !*name || strlen(name) >= STYLE_NAME_MAX) {
            errbuf_set(err, err_len, "model_write: cluster %u name empty or over %u bytes", c,
                       STYLE_NAME_MAX - 1);
            return false;
        }
        for (uint32_t o = 0; o < c; o++) {
            if (strcmp(b->cluster_names[o], name) == 0) {
                errbuf_set(err, err_len, "model_write: clusters %u and %u are both named '%s'", o,
                           c, name);
                return false;
            }
        }
    }
    uint32_t n_sources = b->n_sources ? b->n_sources : 1;
    for (uint32_t r = 0; r < b->n_rows; r++) {
        const struct model_build_row *row = &b->rows[r];
        if (row->cluster >= b->k || row->source >= n_sources ||
            (row->present & ~((1u << FEAT_COUNT) - 1u))) {
            errbuf_set(err, err_len,
                       "model_write: row %u cluster %u (k %u), source %u (%u sources) or "
                       "present bits 0x%x out of range",
                       r, row->cluster, b->k, row->source, n_sources, row->present);
            return false;
        }
        for (int f = 0; f < FEAT_COUNT; f++) {
            if ((row->present & (1u << f)) && !isfinite(row->value[f])) {
                errbuf_set(err, err_len, "model_write: row %u %s is not finite", r,
                           model_feature_name((enum model_feature)f));
                return false;
            }
        }
    }
    for (uint32_t a = 0; a < b->n_aliases; a++) {
        if (b->aliases[a].row >= b->n_rows) {
            errbuf_set(err, err_len, "model_write: alias %u row %u >= n_rows %u", a,
                       b->aliases[a].row, b->n_rows);
            return false;
        }
    }
    for (uint64_t i = 0; i < (uint64_t)b->n_rows * b->n_dims; i++) {
        if (!isfinite(b->scaled[i])) {
            errbuf_set(err, err_len, "model_write: scaled value %llu is not finite",
                       (unsigned long long)i);
            return false;
        }
    }
    for (uint64_t i = 0; i < (uint64_t)b->k * b->n_dims; i++) {
        if (!isfinite(b->centroids[i])) {
            errbuf_set(err, err_len, "model_write: centroid value %llu is not finite",
                       (unsigned long long)i);
            return false;
        }
    }
    return true;
}
