/* Feature selection and standardisation (features.h), the way scikit-learn's StandardScaler
 * does it: mean and population standard deviation per dimension. */
#include "scale.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

#define TWO_PI 6.283185307179586

const char *scale_strerror(enum scale_status status)
{
    switch (status) {
    case SCALE_OK:
        return "ok";
    case SCALE_ERR_INVALID:
        return "unknown feature";
    case SCALE_ERR_NO_FEATURE:
        return "no usable feature";
    case SCALE_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown scale status";
}

enum scale_status scale_parse_features(const char *list, uint32_t *mask, char *err, size_t err_len)
{
    uint32_t result = 0;
    if (strcmp(list, "all") == 0) {
        *mask = SCALE_ALL_FEATURES;
        return SCALE_OK;
    }
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[32];
        enum model_feature f;
        if (len == 0 || len >= sizeof name) {
            errbuf_set(err, err_len, "--features: empty or overlong name in '%s'", list);
            return SCALE_ERR_INVALID;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        if (model_feature_from_name(name, &f) != 0) {
            errbuf_set(err, err_len, "--features: unknown feature '%s' (known: valence, year, ...)",
                       name);
            return SCALE_ERR_INVALID;
        }
        result |= 1u << f;
        p += len + (comma ? 1 : 0);
    }
    if (!result) {
        errbuf_set(err, err_len, "--features: no feature named");
        return SCALE_ERR_INVALID;
    }
    *mask = result;
    return SCALE_OK;
}

/* The source value of dimension kind for a raw value. */
static double source_value(enum model_dim_kind kind, double v)
{
    if (kind == MODEL_DIM_SIN)
        return sin(TWO_PI * v / 12.0);
    if (kind == MODEL_DIM_COS)
        return cos(TWO_PI * v / 12.0);
    return v;
}

/* A dimension's mean over the canonical songs that have its feature, and its population
 * standard deviation with the songs that lack it counted as the mean (StandardScaler's). */
static void fit_dim(const struct catalog *c, uint32_t n_rows, struct model_build_dim *dim)
{
    double sum = 0, sum2 = 0;
    uint64_t count = 0;
    uint32_t bit = 1u << dim->feature;
    for (uint32_t i = 0; i < c->n_tracks; i++) {
        const struct catalog_track *t = &c->tracks[i];
        if (t->canonical != i || !(t->present & bit))
            continue;
        sum += source_value(dim->kind, t->value[dim->feature]);
        count++;
    }
    double mean = count ? sum / (double)count : 0.0;
    for (uint32_t i = 0; i < c->n_tracks; i++) {
        const struct catalog_track *t = &c->tracks[i];
        if (t->canonical != i || !(t->present & bit))
            continue;
        double delta = source_value(dim->kind, t->value[dim->feature]) - mean;
        sum2 += delta * delta;
    }
    /* Missing values count as the mean: they add to n but not to the squares. */
    dim->mean = mean;
    dim->std = n_rows ? sqrt(sum2 / (double)n_rows) : 0.0;
}

enum scale_status scale_build(const struct catalog *c, const struct scale_options *o,
                              struct scale *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    uint32_t requested = o->requested ? o->requested : SCALE_ALL_FEATURES;
    double weight = o->binary_weight > 0 ? o->binary_weight : 1.0;

    uint32_t n_rows = 0;
    for (uint32_t i = 0; i < c->n_tracks; i++)
        n_rows += c->tracks[i].canonical == i;

    /* Dimensions of the features the catalog has, then their mean and deviation. */
    struct model_build_dim dims[MODEL_MAX_DIMS];
    uint32_t n_dims = 0;
    for (int f = 0; f < FEAT_COUNT; f++) {
        if (!(requested & (1u << f)))
            continue;
        if (!(c->available & (1u << f))) {
            out->dropped |= 1u << f;
            continue;
        }
        double w = (f == FEAT_EXPLICIT || f == FEAT_MODE) ? weight : 1.0;
        if (f == FEAT_KEY && o->key_circle) {
            dims[n_dims++] = (struct model_build_dim){FEAT_KEY, MODEL_DIM_SIN, 0, 0, w};
            dims[n_dims++] = (struct model_build_dim){FEAT_KEY, MODEL_DIM_COS, 0, 0, w};
        } else {
            dims[n_dims++] =
                (struct model_build_dim){(enum model_feature)f, MODEL_DIM_LINEAR, 0, 0, w};
        }
    }
    for (uint32_t d = 0; d < n_dims; d++)
        fit_dim(c, n_rows, &dims[d]);
    /* A constant dimension carries nothing (and cannot be scaled): drop its feature. */
    uint32_t kept = 0;
    for (uint32_t d = 0; d < n_dims; d++) {
        bool constant = !(dims[d].std > 1e-12);
        bool pair_constant =
            dims[d].kind != MODEL_DIM_LINEAR &&
            !((dims[d].kind == MODEL_DIM_SIN ? dims[d + 1] : dims[d - 1]).std > 1e-12);
        if (constant && (dims[d].kind == MODEL_DIM_LINEAR || pair_constant)) {
            out->dropped |= 1u << dims[d].feature;
            continue;
        }
        if (constant)
            dims[d].std = 1.0; /* half of a key pair that varies in the other half */
        out->dims[kept++] = dims[d];
        out->used |= 1u << dims[d].feature;
    }
    out->n_dims = kept;
    if (kept == 0) {
        errbuf_set(err, err_len,
                   "no usable feature: the catalog (schema %s) has none of the requested "
                   "ones, or they are constant",
                   c->schema);
        return SCALE_ERR_NO_FEATURE;
    }

    out->matrix = malloc((size_t)n_rows * kept * sizeof *out->matrix);
    out->rows = malloc((size_t)(n_rows ? n_rows : 1) * sizeof *out->rows);
    if (!out->matrix || !out->rows) {
        scale_free(out);
        errbuf_set(err, err_len, "out of memory for a %u x %u matrix", n_rows, kept);
        return SCALE_ERR_NOMEM;
    }
    uint32_t r = 0;
    for (uint32_t i = 0; i < c->n_tracks; i++) {
        const struct catalog_track *t = &c->tracks[i];
        if (t->canonical != i)
            continue;
        float *row = out->matrix + (size_t)r * kept;
        for (uint32_t d = 0; d < kept; d++) {
            const struct model_build_dim *x = &out->dims[d];
            if (!(t->present & (1u << x->feature))) {
                row[d] = 0.0f;
                continue;
            }
            double v = source_value(x->kind, t->value[x->feature]);
            row[d] = (float)((v - x->mean) / x->std * x->weight);
        }
        out->rows[r++] = i;
    }
    out->n_rows = n_rows;
    return SCALE_OK;
}

void scale_free(struct scale *f)
{
    free(f->matrix);
    free(f->rows);
    f->matrix = NULL;
    f->rows = NULL;
}
