/* Resolving saved tracks (steps 1 and 2): each by id, ISRC, normalised title and primary
 * artist, else the caller's features, else its primary artist alone; placed in a cluster, with
 * the match statistics, the saved songs that are never recommended back and the artist keys. */
#include "picking.h"

#include "score.h"

#include <math.h>
#include <string.h>

/* An artist-only match is placed from at most this many of the artist's songs. */
#define ARTIST_PLACE_ROWS 64u

/* Features that describe the sound itself: a track known only by year, duration, popularity
 * or explicitness is not placed from its features. */
#define AUDIO_FEATURES                                                                             \
    ((1u << FEAT_VALENCE) | (1u << FEAT_ACOUSTICNESS) | (1u << FEAT_DANCEABILITY) |                \
     (1u << FEAT_ENERGY) | (1u << FEAT_INSTRUMENTALNESS) | (1u << FEAT_KEY) |                      \
     (1u << FEAT_LIVENESS) | (1u << FEAT_LOUDNESS) | (1u << FEAT_MODE) |                           \
     (1u << FEAT_SPEECHINESS) | (1u << FEAT_TEMPO))

/* True for a title or artist name that matching may use: present, not empty, and at most
 * RECO_MAX_TEXT bytes (a longer one is ignored rather than failing the whole request). */
static bool usable_text(const char *text)
{
    return text && text[0] && strnlen(text, RECO_MAX_TEXT + 1) <= RECO_MAX_TEXT;
}

static void note_saved_song(struct picking *p, uint32_t row)
{
    if (!row_set_add(&p->excluded, row))
        return;
    p->saved_rows[p->n_saved_rows++] = row;
    row_set_add(&p->saved_songs, model_row_song_key(p->model, row));
}

/* The cluster of a row, from the cluster boundaries alone (the row metadata would cost a cache
 * miss): the last cluster whose first row is at or before it. */
uint32_t cluster_of_row(const struct model *m, uint32_t row)
{
    uint32_t lo = 0, hi = m->k;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->cluster_start[mid] <= row)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* The RECO_DECADES index of a saved track's release year (as the caller gave it). */
static uint32_t decade_of(const struct reco_saved *s)
{
    if (!(s->raw.present & (1u << FEAT_YEAR)) || !isfinite(s->raw.value[FEAT_YEAR]) ||
        s->raw.value[FEAT_YEAR] < 1.0)
        return 0;
    double year = s->raw.value[FEAT_YEAR];
    if (year < 1960.0)
        return 1;
    if (year >= 2020.0)
        return RECO_DECADES - 1;
    return 2 + (uint32_t)((year - 1960.0) / 10.0);
}

/* An artist-only match: the cluster most of the artist's songs (the first ARTIST_PLACE_ROWS
 * of them) are in, ties to the lower, and into vec the mean of those songs there. */
static uint32_t place_by_artist(const struct model *m, uint32_t key, float *vec)
{
    uint32_t first = m->artist_start[key], end = m->artist_start[key + 1];
    if (end - first > ARTIST_PLACE_ROWS)
        end = first + ARTIST_PLACE_ROWS;
    const uint32_t n = end - first;
    uint32_t cluster[ARTIST_PLACE_ROWS];
    uint32_t best = 0, best_count = 0;
    for (uint32_t i = 0; i < n; i++)
        cluster[i] = cluster_of_row(m, m->artist_rows[first + i]);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t count = 0;
        for (uint32_t j = 0; j < n; j++)
            count += cluster[j] == cluster[i];
        if (count > best_count || (count == best_count && cluster[i] < best)) {
            best = cluster[i];
            best_count = count;
        }
    }
    memset(vec, 0, m->n_dims * sizeof *vec);
    for (uint32_t i = 0; i < n; i++) {
        if (cluster[i] != best)
            continue;
        const float *row = m->rows + (size_t)m->artist_rows[first + i] * m->n_dims;
        for (uint32_t d = 0; d < m->n_dims; d++)
            vec[d] += row[d];
    }
    for (uint32_t d = 0; d < m->n_dims; d++)
        vec[d] /= (float)(best_count ? best_count : 1);
    return best;
}

/* The catalog row of a saved song: by id (id_row, from model_find_ids), else ISRC, else
 * normalised title and primary artist (and duration); *how says which was tried last.
 * MODEL_NO_ROW when none matched. */
static uint32_t match_song(const struct model *m, const struct reco_saved *s, uint32_t id_row,
                           enum reco_match *how)
{
    uint32_t row = MODEL_NO_ROW;
    const char *artist = s->n_artists > 0 ? s->artists[0] : NULL;
    *how = RECO_MATCH_NONE;
    if (s->id && s->id[0]) {
        row = id_row;
        *how = RECO_MATCH_ID;
    }
    if (row == MODEL_NO_ROW && s->isrc && s->isrc[0]) {
        row = model_find_isrc(m, s->isrc);
        *how = RECO_MATCH_ISRC;
    }
    if (row == MODEL_NO_ROW && usable_text(s->name) && usable_text(artist)) {
        row = model_find_song(m, s->name, artist, s->duration_ms);
        *how = RECO_MATCH_TITLE;
    }
    return row;
}

/* Resolves saved track i (id_row: its id's row) into *r and counts it in stats: a catalog
 * song, else its audio features (mask: the model's), else its primary artist alone. Returns
 * whether it was placed (r then holds it, but for r->index). */
static bool resolve_one(struct picking *p, size_t i, uint32_t id_row, uint32_t mask,
                        struct resolved *r, uint32_t *n_feature_vecs, struct reco_stats *stats)
{
    const struct model *m = p->model;
    const struct reco_saved *s = &p->saved[i];
    const char *artist = s->n_artists > 0 ? s->artists[0] : NULL;
    enum reco_match how;
    uint32_t row = match_song(m, s, id_row, &how);
    if (row != MODEL_NO_ROW) {
        note_saved_song(p, row);
        r->vec = m->rows + (size_t)row * p->n_dims;
        r->cluster = model_row_cluster(m, row);
        r->inv_norm = m->row_norms[row] > 0 ? 1.0f / m->row_norms[row] : 0.0f;
    } else if (s->raw.present & mask & AUDIO_FEATURES) {
        how = RECO_MATCH_FEATURES;
        float *vec = p->feature_vecs + (size_t)(*n_feature_vecs)++ * p->n_dims;
        model_transform(m, &s->raw, vec);
        r->vec = vec;
        r->cluster = model_nearest_centroid(m, vec, NULL);
        float n = norm_of(vec, p->n_dims);
        r->inv_norm = n > 0 ? 1.0f / n : 0.0f;
    } else {
        how = RECO_MATCH_NONE;
    }
    bool song_match = how == RECO_MATCH_ID || how == RECO_MATCH_ISRC || how == RECO_MATCH_TITLE;
    bool artist_only = false;
    if (!song_match && usable_text(artist)) {
        /* No catalog song, but its primary artist may be in the catalog: the artist feeds
         * the saved-artists rule, and, when the track has no audio features of its own, it
         * is placed among the artist's songs. */
        uint32_t key = model_find_artist(m, artist);
        if (key != MODEL_NO_ROW && key < m->n_artists) {
            p->artist_only_keys[p->n_artist_only++] = key;
            if (how == RECO_MATCH_NONE) {
                float *vec = p->feature_vecs + (size_t)(*n_feature_vecs)++ * p->n_dims;
                r->cluster = place_by_artist(m, key, vec);
                r->vec = vec;
                float n = norm_of(vec, p->n_dims);
                r->inv_norm = n > 0 ? 1.0f / n : 0.0f;
                artist_only = true;
            }
        }
    }
    uint32_t decade = decade_of(s);
    stats->decade_saved[decade]++;
    if (song_match)
        stats->decade_song[decade]++;
    if (artist_only) {
        stats->decade_artist[decade]++;
        stats->by_artist++;
    }
    if (!song_match && usable_text(s->name) && usable_text(artist)) {
        /* Not placed by a catalog row, but it may still be a catalog song: never
         * recommend it back. */
        uint32_t same = model_find_song(m, s->name, artist, 0);
        if (same != MODEL_NO_ROW)
            note_saved_song(p, same);
    }
    switch (how) {
    case RECO_MATCH_ID:
        stats->by_id++;
        break;
    case RECO_MATCH_ISRC:
        stats->by_isrc++;
        break;
    case RECO_MATCH_TITLE:
        stats->by_title++;
        break;
    case RECO_MATCH_FEATURES:
        stats->by_features++;
        break;
    case RECO_MATCH_NONE:
        if (!artist_only)
            stats->unmatched++;
        return artist_only;
    }
    return true;
}

enum reco_status resolve_all(struct picking *p, size_t n_saved, struct reco_stats *stats,
                             uint32_t *counts)
{
    const struct model *m = p->model;
    uint32_t mask = 0;
    for (uint32_t f = 0; f < m->n_features; f++)
        mask |= 1u << m->features[f];
    const struct reco_arena_mark mark = reco_arena_mark(&p->arena); /* the temporaries' */
    struct resolved *unsorted = reco_arena_alloc(&p->arena, n_saved, sizeof *unsorted);
    const char **ids = reco_arena_alloc(&p->arena, n_saved, sizeof *ids);
    uint32_t *id_rows = reco_arena_alloc(&p->arena, n_saved, sizeof *id_rows);
    uint32_t *next_slot = reco_arena_calloc(&p->arena, m->k, sizeof *next_slot);
    if (!unsorted || !ids || !id_rows || !next_slot)
        return RECO_ERR_NOMEM;
    /* Every id at once: the lookups' memory reads overlap (model_find_ids). */
    for (size_t i = 0; i < n_saved; i++)
        ids[i] = p->saved[i].id;
    model_find_ids(m, ids, n_saved, id_rows);
    uint32_t n_feature_vecs = 0;
    stats->saved = (uint32_t)n_saved;
    for (size_t i = 0; i < n_saved; i++) {
        struct resolved *r = &unsorted[p->n_resolved];
        if (!resolve_one(p, i, id_rows[i], mask, r, &n_feature_vecs, stats))
            continue;
        r->index = (uint32_t)i;
        counts[r->cluster]++;
        p->n_resolved++;
    }
    /* Counting sort by cluster, keeping the callers' order inside each. */
    uint32_t at = 0;
    for (uint32_t c = 0; c < m->k; c++) {
        next_slot[c] = at;
        at += counts[c];
    }
    for (uint32_t i = 0; i < p->n_resolved; i++)
        p->resolved[next_slot[unsorted[i].cluster]++] = unsorted[i];
    reco_arena_release(&p->arena, mark);
    return RECO_OK;
}
