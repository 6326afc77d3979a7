/* Sharing the playlist's slots (step 3): the library's styles (clusters with enough of the
 * user's tracks, joined when their centroids are close) and the largest-remainder apportionment
 * of the slots by weight. */
#include "picking.h"

#include "style.h"

#include <stdlib.h>
#include <string.h>

/* Styles (style_weights): a cluster holding at least STYLE_MIN_SHARE_PERCENT of the user's
 * placed tracks is a candidate style; two candidates whose centroids are closer than
 * STYLE_LINK_PERCENT of the median distance between centroids (on the genre dimensions when the
 * model has them, over at most STYLE_SAMPLE centroids) are one style. A library of one style is
 * ranked flat, over the whole catalog (splitting it across clusters cost precision and recall);
 * a library of several shares the slots in proportion across its candidate clusters, and the
 * tracks in thinner clusters share theirs through the flat ranking. Values chosen on the
 * quality evaluation (tests/quality/RESULTS17.md, issue 17): at 90% the 114k set's 2- and
 * 3-genre libraries were linked into one style and ranked flat (a mix only a point closer than
 * flat's); 70% keeps them apart (12 and 21 points closer to the library's mix than flat, at
 * higher precision) and leaves the real playlists' figures within 0.1 point (30..90% all do). */
#define STYLE_MIN_SHARE_PERCENT 8u
#define STYLE_LINK_PERCENT      70u
#define STYLE_SAMPLE            64u

/* Two styles are related (styles_related) when their centroids are closer than
 * STYLE_RELATED_PERCENT of the same median distance and their names do not set them apart: they
 * share a genre word ("pop" and "indie pop"), or one is named by its sound alone ("dark · loose
 * · 2010s": a cluster no genre label decides). A style whose saved artists run out lends its
 * share to the saved artists of related styles, and keeps it from everyone else. Chosen on
 * tests/quality (issue 17, real playlists on tt-ag, 100 mixed users per type, BENCHMARKS section
 * 9): never lending cost 1.0-1.7 points of precision, 1.8 below flat on single playlists, whose
 * extra "styles" are mostly sound-named clusters; lending to any style (the earlier behaviour)
 * turned a library of 48% edm, 40% punk and 12% folk into a playlist a third folk; by distance
 * alone (120%) every pair of a catalog whose genres are equally far apart, as the synthetic
 * one's, is related. Distance and names together keep the precision of lending (71.7 on single
 * playlists, against 71.2 lending to any and 70.2 never) and the genres' shares. */
#define STYLE_RELATED_PERCENT 120u

void reco_apportion(const uint32_t *counts, size_t n_groups, uint32_t slots, uint32_t *alloc)
{
    uint64_t total = 0;
    for (size_t g = 0; g < n_groups; g++)
        total += counts[g];
    uint64_t given = 0;
    for (size_t g = 0; g < n_groups; g++) {
        alloc[g] = total ? (uint32_t)(((uint64_t)slots * counts[g]) / total) : 0;
        given += alloc[g];
    }
    if (total == 0)
        return;
    /* Hand the rest out one at a time by largest remainder, ties to the lower index. Each
     * group gets at most one, and fewer than n_groups remain. */
    uint64_t rest = slots - given;
    while (rest > 0) {
        size_t best = n_groups;
        uint64_t best_rem = 0;
        for (size_t g = 0; g < n_groups; g++) {
            uint64_t rem = ((uint64_t)slots * counts[g]) % total;
            uint64_t floor_share = ((uint64_t)slots * counts[g]) / total;
            if (alloc[g] > floor_share || counts[g] == 0)
                continue;
            if (best == n_groups || rem > best_rem) {
                best = g;
                best_rem = rem;
            }
        }
        alloc[best]++;
        rest--;
    }
}

/* Squared distance between two centroids over dimensions [from, to). */
static float centroid_distance2(const struct model *m, uint32_t a, uint32_t b, uint32_t from,
                                uint32_t to)
{
    const float *x = m->centroids + (size_t)a * m->n_dims,
                *y = m->centroids + (size_t)b * m->n_dims;
    float sum = 0;
    for (uint32_t d = from; d < to; d++)
        sum += (x[d] - y[d]) * (x[d] - y[d]);
    return sum;
}

static int by_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static uint32_t find_root(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x)
        x = parent[x] = parent[parent[x]];
    return x;
}

/* The first dimension styles are compared on: the genre dimensions when the model has them,
 * else all. */
static uint32_t style_dims_from(const struct model *m)
{
    return m->n_dims - m->n_genre_dims < m->n_dims ? m->n_dims - m->n_genre_dims : 0;
}

bool styles_related(const struct model *m, float related2, uint32_t a, uint32_t b)
{
    if (!(centroid_distance2(m, a, b, style_dims_from(m), m->n_dims) < related2))
        return false;
    const char *x = model_cluster_name(m, a), *y = model_cluster_name(m, b);
    return style_name_is_descriptive(x) || style_name_is_descriptive(y) ||
           style_names_share_genre(x, y);
}

enum reco_status style_weights(struct reco_arena *arena, const struct model *m,
                               const uint32_t *counts, uint32_t n_resolved, uint32_t *weight,
                               float *related2)
{
    const uint32_t k = m->k;
    uint32_t n_styles = 0;
    for (uint32_t c = 0; c < k; c++)
        n_styles += (uint64_t)counts[c] * 100u >= (uint64_t)n_resolved * STYLE_MIN_SHARE_PERCENT;
    memset(weight, 0, (k + 1) * sizeof *weight);
    *related2 = 0.0f;
    bool several = false;
    if (n_styles >= 2) {
        const uint32_t from = style_dims_from(m);
        /* The median distance between centroids, over at most STYLE_SAMPLE of them. */
        const uint32_t sample = k < STYLE_SAMPLE ? k : STYLE_SAMPLE;
        const struct reco_arena_mark mark = reco_arena_mark(arena);
        float *d2 = reco_arena_alloc(arena, (size_t)sample * sample / 2 + 1, sizeof *d2);
        uint32_t *style = reco_arena_alloc(arena, n_styles + 1, sizeof *style);
        uint32_t *parent = reco_arena_alloc(arena, n_styles + 1, sizeof *parent);
        if (!d2 || !style || !parent)
            return RECO_ERR_NOMEM;
        size_t n_d2 = 0;
        for (uint32_t i = 0; i < sample; i++)
            for (uint32_t j = i + 1; j < sample; j++)
                d2[n_d2++] = centroid_distance2(m, i * k / sample, j * k / sample, from, m->n_dims);
        qsort(d2, n_d2, sizeof *d2, by_float);
        float median = n_d2 ? d2[n_d2 / 2] : 0.0f;
        float link = median * (STYLE_LINK_PERCENT / 100.0f) * (STYLE_LINK_PERCENT / 100.0f);
        *related2 = median * (STYLE_RELATED_PERCENT / 100.0f) * (STYLE_RELATED_PERCENT / 100.0f);
        uint32_t n = 0;
        for (uint32_t c = 0; c < k; c++)
            if ((uint64_t)counts[c] * 100u >= (uint64_t)n_resolved * STYLE_MIN_SHARE_PERCENT) {
                style[n] = c;
                parent[n] = n;
                n++;
            }
        for (uint32_t i = 0; i < n; i++)
            for (uint32_t j = i + 1; j < n; j++)
                if (centroid_distance2(m, style[i], style[j], from, m->n_dims) < link)
                    parent[find_root(parent, i)] = find_root(parent, j);
        for (uint32_t i = 1; i < n; i++)
            several |= find_root(parent, i) != find_root(parent, 0);
        reco_arena_release(arena, mark);
    }
    for (uint32_t c = 0; c < k; c++) {
        bool is_style =
            several && (uint64_t)counts[c] * 100u >= (uint64_t)n_resolved * STYLE_MIN_SHARE_PERCENT;
        weight[is_style ? c : k] += counts[c];
    }
    return RECO_OK;
}
