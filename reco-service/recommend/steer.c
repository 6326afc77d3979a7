/* Steering (steer.h): the rules a row must pass, the mood targets turned into windows on the
 * model's raw features, the variety seed's first-round skips and the short playlist's reason. */
#include "steer.h"

#include "errbuf.h"

#include <math.h>
#include <stdio.h>

bool passes_song_rules(const struct picking *p, uint32_t row)
{
    const struct model *m = p->model;
    if (p->year_from || p->year_to) {
        uint16_t year = model_row_year(m, row);
        if (year == 0 || (p->year_from && year < p->year_from) || (p->year_to && year > p->year_to))
            return false;
    }
    if (p->no_explicit &&
        (!model_row_has_feature(m, row, FEAT_EXPLICIT) || model_row_explicit(m, row)))
        return false;
    if (p->window_scale > 0.0f) {
        for (uint32_t t = 0; t < p->n_windows; t++) {
            const struct target_window *w = &p->windows[t];
            float v = model_row_feature(m, row, w->feature);
            if (!(fabsf(v - w->value) <= w->half * p->window_scale))
                return false;
        }
    }
    return true;
}

bool passes_rules(const struct picking *p, uint32_t row)
{
    if (p->new_artists_only && by_saved_artist(p, row))
        return false;
    if (p->saved_artists_only && !by_saved_artist(p, row))
        return false;
    return passes_song_rules(p, row);
}

bool skipped_by_variety(const struct picking *p, const struct cluster_state *cs, uint32_t row)
{
    if (p->variety == 0 || cs->round > 0)
        return false;
    return mix64(p->variety ^ ((uint64_t)row * 0x9e3779b97f4a7c15ull)) % VARIETY_KEEP != 0;
}

enum reco_status set_targets(struct picking *p, const struct reco_options *o, char *err,
                             size_t err_len)
{
    const struct {
        const char *name;
        const struct reco_target *target;
        enum model_feature feature;
        float half, mean;
    } targets[] = {
        {"energy", &o->energy, FEAT_ENERGY, TARGET_WINDOW, TARGET_MEAN},
        {"valence", &o->valence, FEAT_VALENCE, TARGET_WINDOW, TARGET_MEAN},
        {"danceability", &o->danceability, FEAT_DANCEABILITY, TARGET_WINDOW, TARGET_MEAN},
        {"tempo", &o->tempo, FEAT_TEMPO, TARGET_WINDOW_TEMPO, TARGET_MEAN_TEMPO}};
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        if (!targets[t].target->set)
            continue;
        bool known = false;
        for (uint32_t f = 0; f < p->model->n_features; f++)
            known |= p->model->features[f] == targets[t].feature;
        if (!known) {
            errbuf_set(err, err_len, "target.%s: the model has no %s feature", targets[t].name,
                       targets[t].name);
            return RECO_ERR_INVALID;
        }
        p->windows[p->n_windows++] = (struct target_window){
            .feature = targets[t].feature,
            .value = targets[t].target->value,
            .half = targets[t].half,
            .mean_tolerance = targets[t].mean,
            .dim = p->model->n_dims,
        };
        /* Where the target sits in the scaled space: the one dimension a raw value with only
         * this feature known moves away from the catalog mean (0). */
        struct model_raw raw = {.present = 1u << targets[t].feature};
        raw.value[targets[t].feature] = targets[t].target->value;
        float scaled[MODEL_MAX_DIMS];
        model_transform(p->model, &raw, scaled);
        struct target_window *w = &p->windows[p->n_windows - 1];
        for (uint32_t d = 0; d < p->model->n_dims; d++)
            if (scaled[d] != 0.0f && w->dim == p->model->n_dims) {
                w->dim = d;
                w->scaled = scaled[d];
            }
    }
    return RECO_OK;
}

void say_short(const struct picking *p, char *out, size_t len)
{
    char rules[128] = "";
    size_t at = 0;
    if (p->year_from || p->year_to)
        at += (size_t)snprintf(rules + at, sizeof rules - at, " from %u-%u",
                               p->year_from ? p->year_from : RECO_MIN_YEAR,
                               p->year_to ? p->year_to : RECO_MAX_YEAR);
    if (p->no_explicit && at < sizeof rules)
        at += (size_t)snprintf(rules + at, sizeof rules - at, " without explicit lyrics");
    if (p->discover >= 1.0f && at < sizeof rules)
        snprintf(rules + at, sizeof rules - at, " by artists you have not saved");
    snprintf(out, len, "only %u songs%s that you have not saved are in the catalog", p->n_picks,
             rules);
}
