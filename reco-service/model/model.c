/* The model as the service sees it: model_open (a private copy of the file, then
 * model_validate.c's checks of every byte it will touch), the checksum, and the lookups,
 * transforms and nearest-centroid queries answered straight from that copy. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "model_build.h"
#include "model_format.h"
#include "model_load.h"
#include "model_validate.h"

static const char *const FEATURE_NAMES[FEAT_COUNT] = {
    [FEAT_VALENCE] = "valence",
    [FEAT_YEAR] = "year",
    [FEAT_ACOUSTICNESS] = "acousticness",
    [FEAT_POPULARITY] = "popularity",
    [FEAT_DANCEABILITY] = "danceability",
    [FEAT_DURATION_MS] = "duration_ms",
    [FEAT_ENERGY] = "energy",
    [FEAT_EXPLICIT] = "explicit",
    [FEAT_INSTRUMENTALNESS] = "instrumentalness",
    [FEAT_KEY] = "key",
    [FEAT_LIVENESS] = "liveness",
    [FEAT_LOUDNESS] = "loudness",
    [FEAT_MODE] = "mode",
    [FEAT_SPEECHINESS] = "speechiness",
    [FEAT_TEMPO] = "tempo",
};

const char *model_feature_name(enum model_feature feature)
{
    if ((unsigned)feature >= FEAT_COUNT)
        return "unknown";
    return FEATURE_NAMES[feature];
}

int model_feature_from_name(const char *name, enum model_feature *out)
{
    for (int f = 0; f < FEAT_COUNT; f++) {
        if (strcmp(name, FEATURE_NAMES[f]) == 0) {
            *out = (enum model_feature)f;
            return 0;
        }
    }
    return -1;
}

const char *model_strerror(enum model_status status)
{
    switch (status) {
    case MODEL_OK:
        return "ok";
    case MODEL_ERR_IO:
        return "cannot read the file";
    case MODEL_ERR_FOREIGN:
        return "not a mixtape model file";
    case MODEL_ERR_VERSION:
        return "unsupported model format version";
    case MODEL_ERR_TRUNCATED:
        return "model file is truncated";
    case MODEL_ERR_CORRUPT:
        return "model file is corrupt";
    case MODEL_ERR_NOMEM:
        return "out of memory";
    case MODEL_ERR_INVALID:
        return "invalid model build input";
    }
    return "unknown model status";
}

static const struct model_tables *tables_of(const struct model *model)
{
    return model->private_tables;
}

/* ---- checksum ---------------------------------------------------------------------------- */

#define P1 0x9e3779b185ebca87ull
#define P2 0xc2b2ae3d27d4eb4full
#define P3 0x165667b19e3779f9ull

static inline uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t mix_lane(uint64_t acc, uint64_t word)
{
    acc += word * P2;
    acc = rotl64(acc, 31);
    return acc * P1;
}

uint64_t model_checksum(const void *bytes, size_t len)
{
    const unsigned char *p = bytes;
    uint64_t lane[4] = {P1 + P2, P2, 0, (uint64_t)0 - P1};
    size_t i = 0;
    for (; i + 32 <= len; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, sizeof w);
        lane[0] = mix_lane(lane[0], w[0]);
        lane[1] = mix_lane(lane[1], w[1]);
        lane[2] = mix_lane(lane[2], w[2]);
        lane[3] = mix_lane(lane[3], w[3]);
    }
    uint64_t h = rotl64(lane[0], 1) + rotl64(lane[1], 7) + rotl64(lane[2], 12) +
                 rotl64(lane[3], 18) + (uint64_t)len;
    for (; i < len; i++)
        h = rotl64(h ^ (p[i] * P3), 11) * P1;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

/* ---- open and validate ------------------------------------------------------------------- */

enum model_status model_open(const char *path, struct model **out, char *err, size_t err_len)
{
    struct model_handle *h = NULL;
    unsigned char *map = NULL;
    size_t size = 0;
    /* A private copy (model_load.c): the file may be overwritten or truncated in place later
     * without the service ever seeing it (a shared mapping would die of SIGBUS). */
    enum model_status status =
        model_load_file(path, MODEL_MAX_FILE_BYTES, &map, &size, err, err_len);
    if (status != MODEL_OK)
        goto done;
    h = calloc(1, sizeof *h);
    if (!h) {
        errbuf_set(err, err_len, "model %s: out of memory", path);
        status = MODEL_ERR_NOMEM;
        goto done;
    }
    status = model_validate(h, map, size, path, err, err_len);
    if (status != MODEL_OK)
        goto done;
    h->pub.map = map;
    h->pub.map_len = size;
    h->pub.private_tables = &h->tables;
    *out = &h->pub;
    h = NULL;
    map = NULL;
done:
    if (h)
        free(h->tables.sources);
    free(h);
    model_load_release(map, size);
    return status;
}

void model_close(struct model *model)
{
    if (!model)
        return;
    model_load_release((unsigned char *)(uintptr_t)model->map, model->map_len);
    free(((struct model_handle *)model)->tables.sources);
    free((struct model_handle *)model);
}

const struct model_params *model_get_params(const struct model *model)
{
    return &tables_of(model)->params;
}

/* ---- per-row metadata -------------------------------------------------------------------- */

static const struct mf_row *row_meta(const struct model *model, uint32_t row)
{
    return &tables_of(model)->rows[row];
}

const char *model_row_id(const struct model *model, uint32_t row)
{
    return tables_of(model)->strings + row_meta(model, row)->id_off;
}

const char *model_row_name(const struct model *model, uint32_t row)
{
    return tables_of(model)->strings + row_meta(model, row)->name_off;
}

const char *model_row_artists(const struct model *model, uint32_t row)
{
    return tables_of(model)->strings + row_meta(model, row)->artists_off;
}

const char *model_row_isrc(const struct model *model, uint32_t row)
{
    return tables_of(model)->strings + row_meta(model, row)->isrc_off;
}

const char *model_row_genre(const struct model *model, uint32_t row)
{
    return tables_of(model)->strings + row_meta(model, row)->genre_off;
}

uint32_t model_row_artist_key(const struct model *model, uint32_t row)
{
    return model->artist_keys[row];
}

uint32_t model_row_song_key(const struct model *model, uint32_t row)
{
    return row_meta(model, row)->song_key;
}

uint16_t model_row_year(const struct model *model, uint32_t row)
{
    return row_meta(model, row)->year;
}

uint8_t model_row_popularity(const struct model *model, uint32_t row)
{
    return row_meta(model, row)->popularity;
}

uint32_t model_row_duration_ms(const struct model *model, uint32_t row)
{
    return row_meta(model, row)->duration_ms;
}

uint32_t model_row_cluster(const struct model *model, uint32_t row)
{
    return row_meta(model, row)->cluster;
}

#define TWO_PI 6.283185307179586

void model_row_raw(const struct model *model, uint32_t row, struct model_raw *out)
{
    const float *raw = tables_of(model)->raw + (size_t)row * MF_RAW_STRIDE;
    memset(out, 0, sizeof *out);
    out->present = row_meta(model, row)->present;
    for (int f = 0; f < FEAT_COUNT; f++)
        if (out->present & (1u << f))
            out->value[f] = raw[f];
}

float model_row_feature(const struct model *model, uint32_t row, enum model_feature feature)
{
    if ((unsigned)feature >= FEAT_COUNT)
        return 0.0f;
    return tables_of(model)->raw[(size_t)row * MF_RAW_STRIDE + feature];
}

bool model_row_has_feature(const struct model *model, uint32_t row, enum model_feature feature)
{
    return (unsigned)feature < FEAT_COUNT && (row_meta(model, row)->present & (1u << feature));
}

bool model_row_explicit(const struct model *model, uint32_t row)
{
    return model_row_has_feature(model, row, FEAT_EXPLICIT) &&
           model_row_feature(model, row, FEAT_EXPLICIT) >= 0.5f;
}

uint32_t model_row_source(const struct model *model, uint32_t row)
{
    return row_meta(model, row)->source;
}

const char *model_cluster_name(const struct model *model, uint32_t cluster)
{
    const struct model_tables *t = tables_of(model);
    return t->strings + t->cluster_names[cluster];
}

uint32_t model_cluster_size(const struct model *model, uint32_t cluster)
{
    return model->cluster_start[cluster + 1] - model->cluster_start[cluster];
}

const char *model_artist_genres(const struct model *model, uint32_t artist_key)
{
    const struct model_tables *t = tables_of(model);
    return t->strings + t->artist_genres[artist_key];
}

const struct model_source *model_source(const struct model *model, uint32_t i)
{
    return &tables_of(model)->sources[i];
}

/* ---- lookups ----------------------------------------------------------------------------- */

enum { TABLE_ID, TABLE_ISRC, TABLE_SONG, TABLE_ARTIST };

/* The probe of find_exact, with the key's mf_hash already known. */
static uint32_t find_hashed(const struct model_tables *t, int table, const char *key, uint64_t hash)
{
    uint64_t mask = t->n_slots[table] - 1;
    for (uint64_t i = hash & mask;; i = (i + 1) & mask) {
        const struct mf_slot *s = &t->slots[table][i];
        if (s->row == MF_EMPTY_SLOT)
            return MODEL_NO_ROW;
        if (strcmp(t->strings + s->key_off, key) == 0)
            return s->row;
    }
}

static uint32_t find_exact(const struct model *model, int table, const char *key)
{
    if (!key || !*key)
        return MODEL_NO_ROW;
    return find_hashed(tables_of(model), table, key, mf_hash(key));
}

uint32_t model_find_id(const struct model *model, const char *spotify_id)
{
    return find_exact(model, TABLE_ID, spotify_id);
}

/* How far ahead model_find_ids reads: the slot of lookup i + FIND_AHEAD is prefetched while
 * lookup i is probed, and the key string of lookup i + FIND_AHEAD / 2. */
#define FIND_AHEAD 8u

void model_find_ids(const struct model *model, const char *const *ids, size_t n, uint32_t *rows)
{
    const struct model_tables *t = tables_of(model);
    const struct mf_slot *slots = t->slots[TABLE_ID];
    const uint64_t mask = t->n_slots[TABLE_ID] - 1;
    uint64_t hashes[FIND_AHEAD]; /* of lookups i .. i + FIND_AHEAD - 1, by index % FIND_AHEAD */
    for (size_t i = 0; i < n + FIND_AHEAD; i++) {
        if (i >= FIND_AHEAD) {
            size_t j = i - FIND_AHEAD;
            uint32_t row = MODEL_NO_ROW;
            if (ids[j] && ids[j][0])
                row = find_hashed(t, TABLE_ID, ids[j], hashes[j % FIND_AHEAD]);
            rows[j] = row;
            if (row != MODEL_NO_ROW) {
                __builtin_prefetch(model->rows + (size_t)row * model->n_dims);
                __builtin_prefetch(model->rows + (size_t)row * model->n_dims + model->n_dims - 1);
                __builtin_prefetch(&model->row_norms[row]);
                __builtin_prefetch(&model->artist_keys[row]);
                __builtin_prefetch(&t->rows[row]);
            }
        }
        if (i >= FIND_AHEAD / 2 && i - FIND_AHEAD / 2 < n) {
            size_t j = i - FIND_AHEAD / 2;
            const struct mf_slot *s = &slots[hashes[j % FIND_AHEAD] & mask];
            if (ids[j] && ids[j][0] && s->row != MF_EMPTY_SLOT)
                __builtin_prefetch(t->strings + s->key_off);
        }
        if (i < n) {
            uint64_t h = ids[i] && ids[i][0] ? mf_hash(ids[i]) : 0;
            hashes[i % FIND_AHEAD] = h;
            __builtin_prefetch(&slots[h & mask]);
        }
    }
}

uint32_t model_find_isrc(const struct model *model, const char *isrc)
{
    return find_exact(model, TABLE_ISRC, isrc);
}

uint32_t model_find_artist(const struct model *model, const char *artist_name)
{
    char key[512]; /* as the writer: the first 511 bytes of the normalised name */
    if (!artist_name)
        return MODEL_NO_ROW;
    model_normalize(artist_name, false, key, sizeof key);
    return find_exact(model, TABLE_ARTIST, key);
}

uint32_t model_find_song(const struct model *model, const char *title, const char *primary_artist,
                         uint32_t duration_ms)
{
    const struct model_tables *t = tables_of(model);
    char key[1024];
    if (!title || !primary_artist)
        return MODEL_NO_ROW;
    size_t n = model_normalize(title, true, key, sizeof key / 2);
    if (n == 0)
        return MODEL_NO_ROW;
    key[n++] = '\x1f';
    model_normalize(primary_artist, false, key + n, sizeof key / 2);

    uint32_t best = MODEL_NO_ROW;
    uint32_t best_gap = UINT32_MAX;
    uint64_t mask = t->n_slots[TABLE_SONG] - 1;
    for (uint64_t i = mf_hash(key) & mask;; i = (i + 1) & mask) {
        const struct mf_slot *s = &t->slots[TABLE_SONG][i];
        if (s->row == MF_EMPTY_SLOT)
            break;
        if (strcmp(t->strings + s->key_off, key) != 0)
            continue;
        uint32_t d = t->rows[s->row].duration_ms;
        uint32_t gap = 0;
        if (duration_ms && d)
            gap = d > duration_ms ? d - duration_ms : duration_ms - d;
        if (duration_ms && d && gap > t->params.tolerance_ms)
            continue;
        if (gap < best_gap || (gap == best_gap && s->row < best)) {
            best = s->row;
            best_gap = gap;
        }
    }
    return best;
}

/* ---- the scaled space -------------------------------------------------------------------- */

void model_transform(const struct model *model, const struct model_raw *raw, float *out)
{
    const struct model_tables *t = tables_of(model);
    for (uint32_t d = 0; d < model->n_dims; d++) {
        const struct mf_dim *x = &t->dims[d];
        if (x->kind == MODEL_DIM_GENRE) {
            out[d] = 0.0f; /* genres unknown: the catalog mean */
            continue;
        }
        bool known = (raw->present & (1u << x->feature)) && isfinite(raw->value[x->feature]);
        bool no_key =
            known && x->feature == FEAT_KEY && raw->value[FEAT_KEY] < 0; /* Spotify's -1 */
        if (!known || no_key) {
            out[d] = 0.0f; /* the catalog mean */
            continue;
        }
        double v = raw->value[x->feature];
        if (x->kind == MODEL_DIM_SIN)
            v = sin(TWO_PI * v / 12.0);
        else if (x->kind == MODEL_DIM_COS)
            v = cos(TWO_PI * v / 12.0);
        out[d] = (float)((v - x->mean) / x->std * x->weight);
    }
}

uint32_t model_nearest_centroid(const struct model *model, const float *scaled, float *dist2)
{
    uint32_t best = 0;
    float best_d = INFINITY;
    for (uint32_t c = 0; c < model->k; c++) {
        const float *centroid = model->centroids + (size_t)c * model->n_dims;
        float d2 = 0.0f;
        for (uint32_t j = 0; j < model->n_dims; j++) {
            float diff = scaled[j] - centroid[j];
            d2 += diff * diff;
        }
        if (d2 < best_d) {
            best_d = d2;
            best = c;
        }
    }
    if (dist2)
        *dist2 = best_d;
    return best;
}
