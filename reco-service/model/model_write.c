/* Writing a model file (model_build.h): rows grouped by cluster, strings pooled, lookup tables
 * built, the whole file assembled in memory, checksummed, and renamed into place. */
#include "model_build.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "model_build_check.h"
#include "model_format.h"
#include "style.h"

/* The strings section under construction. Offsets stay valid across growth. */
struct pool {
    char *bytes;
    size_t len, cap;
    bool failed;
};

static uint32_t pool_add_bytes(struct pool *pool, const char *text, size_t len)
{
    if (pool->failed)
        return 0;
    if (pool->len + len + 1 > pool->cap) {
        size_t cap = pool->cap ? pool->cap : 4096;
        while (cap < pool->len + len + 1)
            cap *= 2;
        char *grown = cap < UINT32_MAX ? realloc(pool->bytes, cap) : NULL;
        if (!grown) {
            pool->failed = true; /* pool->bytes is still ours to free */
            return 0;
        }
        pool->bytes = grown;
        pool->cap = cap;
    }
    uint32_t off = (uint32_t)pool->len;
    memcpy(pool->bytes + pool->len, text, len);
    pool->bytes[pool->len + len] = '\0';
    pool->len += len + 1;
    return off;
}

/* Adds a string; "" and NULL share offset 0. */
static uint32_t pool_add(struct pool *pool, const char *text)
{
    if (!text || !*text)
        return 0;
    return pool_add_bytes(pool, text, strlen(text));
}

static uint64_t table_size(uint64_t entries)
{
    uint64_t n = 8;
    while (n < entries * 2 + 1)
        n *= 2;
    return n;
}

/* Inserts key -> row. With unique, an existing equal key keeps its row and 0 is returned;
 * otherwise returns 1. */
static int table_insert(struct mf_slot *slots, uint64_t n_slots, const char *strings,
                        uint32_t key_off, uint32_t row, bool unique)
{
    uint64_t mask = n_slots - 1;
    for (uint64_t i = mf_hash(strings + key_off) & mask;; i = (i + 1) & mask) {
        if (slots[i].row == MF_EMPTY_SLOT) {
            slots[i].key_off = key_off;
            slots[i].row = row;
            return 1;
        }
        if (unique && strcmp(strings + slots[i].key_off, strings + key_off) == 0)
            return 0;
    }
}

/* Finds key in a table; returns its row or MF_EMPTY_SLOT. */
static uint32_t table_find(const struct mf_slot *slots, uint64_t n_slots, const char *strings,
                           const char *key)
{
    uint64_t mask = n_slots - 1;
    for (uint64_t i = mf_hash(key) & mask;; i = (i + 1) & mask) {
        if (slots[i].row == MF_EMPTY_SLOT)
            return MF_EMPTY_SLOT;
        if (strcmp(strings + slots[i].key_off, key) == 0)
            return slots[i].row;
    }
}

static struct mf_slot *table_new(uint64_t n_slots)
{
    struct mf_slot *slots = malloc(n_slots * sizeof *slots);
    if (!slots)
        return NULL;
    for (uint64_t i = 0; i < n_slots; i++)
        slots[i] = (struct mf_slot){0, MF_EMPTY_SLOT};
    return slots;
}

/* Where a section's bytes come from (NULL: filled in place) and how long it is. */
struct section_source {
    const void *bytes;
    uint64_t length;
    uint32_t elem;
};

static uint64_t align8(uint64_t n)
{
    return (n + 7) & ~(uint64_t)7;
}

static enum model_status write_file(const char *path, const unsigned char *bytes, size_t len,
                                    char *err, size_t err_len)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        errbuf_set(err, err_len, "model %s: path too long", path);
        return MODEL_ERR_IO;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        errbuf_set(err, err_len, "model %s: cannot create %s: %s", path, tmp, strerror(errno));
        return MODEL_ERR_IO;
    }
    bool ok = fwrite(bytes, 1, len, f) == len;
    ok = fflush(f) == 0 && ok;
    int saved_errno = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        errbuf_set(err, err_len, "model %s: cannot write: %s", path,
                   strerror(ok ? errno : saved_errno));
        remove(tmp);
        return MODEL_ERR_IO;
    }
    return MODEL_OK;
}

#define TWO_PI 6.283185307179586

/* Row r's raw values and which are known: as given, or (present == 0) from its scaled vector
 * through the inverse of the audio dimensions and year / popularity / duration from the row. */
static uint32_t row_raw(const struct model_build *b, uint32_t r, double value[FEAT_COUNT])
{
    const struct model_build_row *row = &b->rows[r];
    if (row->present) {
        memcpy(value, row->value, FEAT_COUNT * sizeof *value);
        return row->present;
    }
    uint32_t present = 0;
    const float *scaled = b->scaled + (size_t)r * b->n_dims;
    for (uint32_t d = 0; d < b->n_dims; d++) {
        const struct model_build_dim *x = &b->dims[d];
        double source = scaled[d] / x->weight * x->std + x->mean;
        if (x->kind == MODEL_DIM_GENRE)
            break;
        if (x->kind == MODEL_DIM_SIN && d + 1 < b->n_dims && b->dims[d + 1].kind == MODEL_DIM_COS) {
            const struct model_build_dim *y = &b->dims[d + 1];
            double cosine = scaled[d + 1] / y->weight * y->std + y->mean;
            double key = round(atan2(source, cosine) / TWO_PI * 12.0);
            value[FEAT_KEY] = fmod(key + 12.0, 12.0);
            present |= 1u << FEAT_KEY;
            d++;
            continue;
        }
        if (x->kind != MODEL_DIM_LINEAR)
            continue;
        value[x->feature] = source;
        present |= 1u << x->feature;
    }
    if (row->year) {
        value[FEAT_YEAR] = row->year;
        present |= 1u << FEAT_YEAR;
    }
    if (row->popularity <= 100) {
        value[FEAT_POPULARITY] = row->popularity;
        present |= 1u << FEAT_POPULARITY;
    }
    if (row->duration_ms) {
        value[FEAT_DURATION_MS] = row->duration_ms;
        present |= 1u << FEAT_DURATION_MS;
    }
    return present;
}

/* The row_raw section (n rows in file order, MF_RAW_STRIDE floats each): known values, and
 * each unknown one the mean of the rows that know it. Writes each row's present mask. */
static float *raw_table(const struct model_build *b, const uint32_t *order, uint32_t *present_of)
{
    uint32_t n = b->n_rows;
    float *raw = calloc((size_t)n * MF_RAW_STRIDE, sizeof *raw);
    if (!raw)
        return NULL;
    double sum[FEAT_COUNT] = {0};
    uint64_t count[FEAT_COUNT] = {0};
    for (uint32_t to = 0; to < n; to++) {
        double value[FEAT_COUNT] = {0};
        uint32_t present = row_raw(b, order[to], value);
        present_of[to] = present;
        for (int f = 0; f < FEAT_COUNT; f++) {
            if (!(present & (1u << f)))
                continue;
            raw[(size_t)to * MF_RAW_STRIDE + f] = (float)value[f];
            sum[f] += value[f];
            count[f]++;
        }
    }
    for (uint32_t to = 0; to < n; to++)
        for (int f = 0; f < FEAT_COUNT; f++)
            if (!(present_of[to] & (1u << f)) && count[f])
                raw[(size_t)to * MF_RAW_STRIDE + f] = (float)(sum[f] / (double)count[f]);
    return raw;
}

/* Adds an artists-style list ("a\0b\0\0") to the pool; returns its offset (0 for none). */
static uint32_t pool_add_list(struct pool *pool, const char *list)
{
    if (!list || !*list)
        return 0;
    size_t len = 0;
    while (list[len])
        len += strlen(list + len) + 1;
    /* list[0 .. len) holds the items with their NULs; pool_add_bytes adds the closing one. */
    return pool_add_bytes(pool, list, len);
}

/* Everything model_write builds on its way to the file, freed by writer_free. */
struct writer {
    const struct model_build *b;
    uint32_t n, k, dims, n_sources;
    uint32_t *order, *new_index, *start; /* catalog row of each file row, and back; clusters */
    struct mf_row *meta;
    struct pool pool;
    uint32_t *song_lookup_off; /* per row: its song-table key in the strings, or 0 */
    uint32_t *artist_key, *artist_genres, *present_of;
    struct mf_slot *artist_table, *song_table;
    uint64_t key_slots;
    uint32_t n_artist_keys;
    uint32_t *artist_start, *artist_rows;
    uint32_t source_off, schema_off, k_choice_off, genres_off;
    float *raw;
    uint32_t *name_off;
    char *names;
    struct mf_source *sources;
    struct mf_slot *tables[3]; /* id, isrc, song */
    uint64_t n_slots[3];
    uint32_t n_ids;
    unsigned char *file;
    uint64_t file_len;
};

static void writer_free(struct writer *w)
{
    free(w->file);
    free(w->raw);
    free(w->present_of);
    free(w->artist_genres);
    free(w->name_off);
    free(w->names);
    free(w->sources);
    for (int i = 0; i < 3; i++)
        free(w->tables[i]);
    free(w->artist_table);
    free(w->song_table);
    free(w->song_lookup_off);
    free(w->artist_key);
    free(w->artist_start);
    free(w->artist_rows);
    free(w->pool.bytes);
    free(w->meta);
    free(w->start);
    free(w->new_index);
    free(w->order);
}

/* Groups the rows by cluster (stable counting sort): order, new_index and start. Returns false
 * when out of memory. */
static bool group_by_cluster(struct writer *w)
{
    const struct model_build *b = w->b;
    uint32_t n = w->n, k = w->k;
    w->order = malloc(n * sizeof *w->order);
    w->new_index = malloc(n * sizeof *w->new_index);
    w->start = calloc(k + 1, sizeof *w->start);
    w->meta = calloc(n, sizeof *w->meta);
    if (!w->order || !w->new_index || !w->start || !w->meta)
        return false;
    for (uint32_t r = 0; r < n; r++)
        w->start[b->rows[r].cluster + 1]++;
    for (uint32_t c = 0; c < k; c++)
        w->start[c + 1] += w->start[c];
    uint32_t *fill = malloc(k * sizeof *fill);
    if (!fill)
        return false;
    memcpy(fill, w->start, k * sizeof *fill);
    for (uint32_t r = 0; r < n; r++) {
        uint32_t to = fill[b->rows[r].cluster]++;
        w->order[to] = r;
        w->new_index[r] = to;
    }
    free(fill);
    return true;
}

/* Row `to`'s strings and metadata, its song lookup key, and its artist and song keys (each
 * distinct normalised primary artist, and each distinct (normalised title, artist), numbered in
 * catalog order). Returns false when the pool ran out of memory. */
static bool add_row(struct writer *w, uint32_t to, uint32_t *n_song_keys)
{
    struct pool *pool = &w->pool;
    const struct model_build_row *row = &w->b->rows[w->order[to]];
    struct mf_row *x = &w->meta[to];
    x->id_off = pool_add(pool, row->id);
    x->name_off = pool_add(pool, row->name);
    x->genre_off = pool_add(pool, row->genre);
    x->isrc_off = pool_add(pool, row->isrc);
    uint32_t n_artists = row->n_artists < MODEL_MAX_ARTISTS ? row->n_artists : MODEL_MAX_ARTISTS;
    x->artists_off = (uint32_t)pool->len;
    for (uint32_t a = 0; a < n_artists; a++) {
        const char *artist = row->artists[a] ? row->artists[a] : "";
        if (*artist)
            pool_add_bytes(pool, artist, strlen(artist));
    }
    pool_add_bytes(pool, "", 0);
    x->duration_ms = row->duration_ms;
    x->cluster = row->cluster;
    x->year = row->year;
    x->popularity = row->popularity <= 100 ? row->popularity : 255;
    x->source = (uint8_t)row->source;

    char key[1024];
    const char *primary = n_artists ? row->artists[0] : "";
    size_t title_len = model_normalize(row->name, true, key, sizeof key / 2);
    key[title_len] = '\x1f';
    /* Title and artist each normalised into at most 511 bytes, so an artist's key never
     * depends on the length of a title (model_find_song and model_find_artist agree). */
    size_t artist_len = model_normalize(primary, false, key + title_len + 1, sizeof key / 2);
    uint32_t song_off = pool_add_bytes(pool, key, title_len + 1 + artist_len);
    w->song_lookup_off[to] = title_len ? song_off : 0;
    uint32_t artist_off = pool_add_bytes(pool, key + title_len + 1, artist_len);
    if (pool->failed)
        return false;
    uint32_t found =
        table_find(w->artist_table, w->key_slots, pool->bytes, pool->bytes + artist_off);
    if (found == MF_EMPTY_SLOT) {
        found = w->n_artist_keys++;
        table_insert(w->artist_table, w->key_slots, pool->bytes, artist_off, found, false);
    }
    w->artist_key[to] = found;
    if (!w->artist_genres[found] && row->artist_genres && *row->artist_genres)
        w->artist_genres[found] = pool_add_list(pool, row->artist_genres);
    found = table_find(w->song_table, w->key_slots, pool->bytes, pool->bytes + song_off);
    if (found == MF_EMPTY_SLOT) {
        found = (*n_song_keys)++;
        table_insert(w->song_table, w->key_slots, pool->bytes, song_off, found, false);
    }
    x->song_key = found;
    return true;
}

/* Every row's strings, metadata and keys (add_row), in file order. Returns false when out of
 * memory. */
static bool add_rows(struct writer *w)
{
    uint32_t n = w->n;
    pool_add_bytes(&w->pool, "", 0);
    w->song_lookup_off = malloc(((size_t)n + 1) * sizeof *w->song_lookup_off);
    w->artist_key = malloc(((size_t)n + 1) * sizeof *w->artist_key);
    if (!w->song_lookup_off || !w->artist_key)
        return false;
    w->n_slots[2] = table_size(n);
    w->key_slots = table_size(n);
    w->artist_table = table_new(w->key_slots);
    w->song_table = table_new(w->key_slots);
    w->artist_genres = calloc((size_t)n + 1, sizeof *w->artist_genres);
    w->present_of = malloc(((size_t)n + 1) * sizeof *w->present_of);
    if (!w->artist_genres || !w->present_of)
        return false;
    uint32_t n_song_keys = 0;
    for (uint32_t to = 0; to < n && w->artist_table && w->song_table; to++)
        if (!add_row(w, to, &n_song_keys))
            break;
    return w->artist_table && w->song_table && !w->pool.failed;
}

/* The artist index: every row once, grouped by artist key, ascending (counting sort). Returns
 * false when out of memory. */
static bool index_artists(struct writer *w)
{
    uint32_t n = w->n, n_keys = w->n_artist_keys;
    w->artist_start = calloc((size_t)n_keys + 1, sizeof *w->artist_start);
    w->artist_rows = malloc(((size_t)n + 1) * sizeof *w->artist_rows);
    if (!w->artist_start || !w->artist_rows)
        return false;
    for (uint32_t to = 0; to < n; to++)
        w->artist_start[w->artist_key[to] + 1]++;
    for (uint32_t a = 0; a < n_keys; a++)
        w->artist_start[a + 1] += w->artist_start[a];
    for (uint32_t to = 0, *fill = w->artist_start; to < n; to++)
        w->artist_rows[fill[w->artist_key[to]]++] = to;
    /* The fill moved each start to the next artist's: shift back. */
    memmove(w->artist_start + 1, w->artist_start, n_keys * sizeof *w->artist_start);
    w->artist_start[0] = 0;
    return true;
}

/* Cluster names: the builder's, or each centroid's (style.c). Returns MODEL_OK, or the status
 * (with err set by style.c unless out of memory). */
static enum model_status name_clusters(struct writer *w, char *err, size_t err_len)
{
    const struct model_build *b = w->b;
    uint32_t n = w->n, k = w->k;
    w->name_off = malloc((size_t)k * sizeof *w->name_off);
    if (!w->name_off)
        return MODEL_ERR_NOMEM;
    if (b->cluster_names) {
        for (uint32_t c = 0; c < k; c++)
            w->name_off[c] = pool_add(&w->pool, b->cluster_names[c]);
        return MODEL_OK;
    }
    /* NOLINTNEXTLINE(clang-analyzer-optin.portability.UnixAPI): n >= 1 (see model_write) */
    uint32_t *cluster_of = malloc((size_t)n * sizeof *cluster_of);
    w->names = malloc((size_t)k * STYLE_NAME_MAX);
    if (!cluster_of || !w->names) {
        free(cluster_of);
        return MODEL_ERR_NOMEM;
    }
    for (uint32_t r = 0; r < n; r++)
        cluster_of[r] = b->rows[r].cluster;
    struct style_input in = {.k = k,
                             .n_rows = n,
                             .cluster = cluster_of,
                             .dims = b->dims,
                             .n_dims = w->dims,
                             .centroids = b->centroids};
    enum style_status ss = style_name_clusters(&in, w->names, NULL, err, err_len);
    free(cluster_of);
    if (ss != STYLE_OK)
        return ss == STYLE_ERR_NOMEM ? MODEL_ERR_NOMEM : MODEL_ERR_INVALID;
    for (uint32_t c = 0; c < k; c++)
        w->name_off[c] = pool_add(&w->pool, w->names + (size_t)c * STYLE_NAME_MAX);
    return MODEL_OK;
}

/* Sources: the builder's list, or one from the build's own counts; each one's rows counted.
 * Returns false when out of memory. */
static bool describe_sources(struct writer *w)
{
    const struct model_build *b = w->b;
    w->sources = calloc(w->n_sources, sizeof *w->sources);
    if (!w->sources)
        return false;
    if (b->n_sources) {
        for (uint32_t i = 0; i < w->n_sources; i++) {
            const struct model_build_source *x = &b->sources[i];
            w->sources[i] = (struct mf_source){
                .name_off = pool_add(&w->pool, x->name),
                .schema_off = pool_add(&w->pool, x->schema),
                .n_input_rows = x->n_input_rows,
                .n_malformed = x->n_malformed,
                .n_merged = x->n_merged,
                .n_collapsed = x->n_collapsed,
                .features = x->features & ((1u << FEAT_COUNT) - 1u),
                .n_genre_rows = x->n_genre_rows,
            };
        }
    } else {
        uint32_t features = 0;
        for (uint32_t to = 0; to < w->n; to++)
            features |= w->present_of[to];
        w->sources[0] = (struct mf_source){.name_off = w->source_off,
                                           .schema_off = w->schema_off,
                                           .n_input_rows = b->n_input_rows,
                                           .n_malformed = b->n_malformed,
                                           .n_collapsed = b->n_collapsed,
                                           .features = features,
                                           .n_genre_rows = b->n_genre_rows};
    }
    for (uint32_t to = 0; to < w->n; to++)
        w->sources[w->meta[to].source].n_rows++;
    return true;
}

/* Lookup tables: ids and ISRCs of rows then aliases (first wins), songs by key; the strings
 * closed again after the aliases. Returns false when out of memory. */
static bool fill_lookups(struct writer *w)
{
    const struct model_build *b = w->b;
    struct pool *pool = &w->pool;
    w->n_slots[0] = table_size((uint64_t)w->n + b->n_aliases);
    w->n_slots[1] = w->n_slots[0];
    for (int i = 0; i < 3; i++)
        w->tables[i] = table_new(w->n_slots[i]);
    if (!w->tables[0] || !w->tables[1] || !w->tables[2])
        return false;
    for (uint32_t to = 0; to < w->n; to++) {
        const struct mf_row *x = &w->meta[to];
        if (x->id_off)
            w->n_ids += (uint32_t)table_insert(w->tables[0], w->n_slots[0], pool->bytes, x->id_off,
                                               to, true);
        if (x->isrc_off)
            table_insert(w->tables[1], w->n_slots[1], pool->bytes, x->isrc_off, to, true);
        if (w->song_lookup_off[to])
            table_insert(w->tables[2], w->n_slots[2], pool->bytes, w->song_lookup_off[to], to,
                         false);
    }
    for (uint32_t a = 0; a < b->n_aliases; a++) {
        const struct model_build_alias *alias = &b->aliases[a];
        uint32_t to = w->new_index[alias->row];
        if (alias->id && *alias->id) {
            uint32_t off = pool_add(pool, alias->id);
            if (pool->failed)
                return false;
            w->n_ids +=
                (uint32_t)table_insert(w->tables[0], w->n_slots[0], pool->bytes, off, to, true);
        }
        if (alias->isrc && *alias->isrc) {
            uint32_t off = pool_add(pool, alias->isrc);
            if (pool->failed)
                return false;
            table_insert(w->tables[1], w->n_slots[1], pool->bytes, off, to, true);
        }
    }
    /* Aliases were appended after the closing NULs: close again. */
    pool_add_bytes(pool, "", 0);
    return !pool->failed;
}

/* The params section from the build and what the writer counted. */
static struct mf_params params_of(const struct writer *w)
{
    const struct model_build *b = w->b;
    return (struct mf_params){
        .n_rows = w->n,
        .n_dims = w->dims,
        .k = w->k,
        .n_ids = w->n_ids,
        .restarts = b->restarts,
        .iterations = b->iterations,
        .tolerance_ms = b->tolerance_ms,
        .n_input_rows = b->n_input_rows,
        .n_malformed = b->n_malformed,
        .n_collapsed = b->n_collapsed,
        .source_off = w->source_off,
        .schema_off = w->schema_off,
        .k_choice_off = w->k_choice_off,
        .n_artists = w->n_artist_keys,
        .seed = b->seed,
        .built_unix = b->built_unix,
        .n_sources = w->n_sources,
        .n_genre_dims = b->n_genre_dims,
        .genres_off = w->genres_off,
        .n_genre_rows = b->n_genre_rows,
        .inertia = isfinite(b->inertia) && b->inertia >= 0 ? b->inertia : 0.0,
        .binary_weight = b->binary_weight,
        .genre_weight = b->genre_weight,
    };
}

/* Where each section's bytes come from, in section order (rows and norms are filled in place). */
static void list_sections(const struct writer *w, const struct mf_params *params,
                          const struct mf_dim *dim_table, struct section_source *sec)
{
    uint64_t n = w->n, k = w->k, dims = w->dims, n_artist_keys = w->n_artist_keys;
    sec[MF_SEC_PARAMS] = (struct section_source){params, sizeof *params, sizeof *params};
    sec[MF_SEC_DIMS] =
        (struct section_source){dim_table, dims * sizeof(struct mf_dim), sizeof(struct mf_dim)};
    sec[MF_SEC_CENTROIDS] =
        (struct section_source){w->b->centroids, k * dims * sizeof(float), sizeof(float)};
    sec[MF_SEC_CLUSTER_START] =
        (struct section_source){w->start, (k + 1) * sizeof(uint32_t), sizeof(uint32_t)};
    sec[MF_SEC_ROWS] = (struct section_source){NULL, n * dims * sizeof(float), sizeof(float)};
    sec[MF_SEC_ROW_NORMS] = (struct section_source){NULL, n * sizeof(float), sizeof(float)};
    sec[MF_SEC_ROW_META] = (struct section_source){w->meta, n * sizeof *w->meta, sizeof *w->meta};
    sec[MF_SEC_STRINGS] = (struct section_source){w->pool.bytes, w->pool.len, 1};
    for (int i = 0; i < 3; i++)
        sec[MF_SEC_ID_TABLE + i] = (struct section_source){
            w->tables[i], w->n_slots[i] * sizeof(struct mf_slot), sizeof(struct mf_slot)};
    sec[MF_SEC_ARTIST_KEYS] =
        (struct section_source){w->artist_key, n * sizeof(uint32_t), sizeof(uint32_t)};
    sec[MF_SEC_ARTIST_START] = (struct section_source){
        w->artist_start, (n_artist_keys + 1) * sizeof(uint32_t), sizeof(uint32_t)};
    sec[MF_SEC_ARTIST_ROWS] =
        (struct section_source){w->artist_rows, n * sizeof(uint32_t), sizeof(uint32_t)};
    sec[MF_SEC_ROW_RAW] =
        (struct section_source){w->raw, n * MF_RAW_STRIDE * sizeof(float), sizeof(float)};
    sec[MF_SEC_CLUSTER_NAMES] =
        (struct section_source){w->name_off, k * sizeof(uint32_t), sizeof(uint32_t)};
    sec[MF_SEC_SOURCES] = (struct section_source){
        w->sources, (uint64_t)w->n_sources * sizeof(struct mf_source), sizeof(struct mf_source)};
    sec[MF_SEC_ARTIST_TABLE] = (struct section_source){
        w->artist_table, w->key_slots * sizeof(struct mf_slot), sizeof(struct mf_slot)};
    sec[MF_SEC_ARTIST_GENRES] = (struct section_source){
        w->artist_genres, n_artist_keys * sizeof(uint32_t), sizeof(uint32_t)};
}

/* Frees a section built here once it is in the file image (NULLs its pointer). */
static void release_section(struct writer *w, uint32_t id)
{
    switch (id) {
    case MF_SEC_CLUSTER_START:
        free(w->start);
        w->start = NULL;
        break;
    case MF_SEC_ROW_META:
        free(w->meta);
        w->meta = NULL;
        break;
    case MF_SEC_STRINGS:
        free(w->pool.bytes);
        w->pool.bytes = NULL;
        break;
    case MF_SEC_ID_TABLE:
    case MF_SEC_ISRC_TABLE:
    case MF_SEC_SONG_TABLE:
        free(w->tables[id - MF_SEC_ID_TABLE]);
        w->tables[id - MF_SEC_ID_TABLE] = NULL;
        break;
    case MF_SEC_ARTIST_KEYS:
        free(w->artist_key);
        w->artist_key = NULL;
        break;
    case MF_SEC_ARTIST_START:
        free(w->artist_start);
        w->artist_start = NULL;
        break;
    case MF_SEC_ARTIST_ROWS:
        free(w->artist_rows);
        w->artist_rows = NULL;
        break;
    case MF_SEC_ARTIST_TABLE:
        free(w->artist_table);
        w->artist_table = NULL;
        break;
    default:
        break;
    }
}

/* The whole file image in w->file: section table, sections, rows and norms in file order, and
 * the header with its checksum. Returns false when out of memory. */
static bool assemble(struct writer *w)
{
    uint32_t n = w->n, dims = w->dims;
    struct section_source sec[MF_SEC_COUNT + 1] = {{0}};
    struct mf_params params = params_of(w);
    struct mf_dim dim_table[MODEL_MAX_DIMS];
    for (uint32_t d = 0; d < dims; d++)
        dim_table[d] =
            (struct mf_dim){(uint32_t)w->b->dims[d].feature, (uint32_t)w->b->dims[d].kind,
                            w->b->dims[d].mean, w->b->dims[d].std, w->b->dims[d].weight};
    list_sections(w, &params, dim_table, sec);

    uint64_t offset[MF_SEC_COUNT + 1];
    uint64_t at = align8(MF_HEADER_LEN + MF_SEC_COUNT * sizeof(struct mf_section));
    for (uint32_t id = 1; id <= MF_SEC_COUNT; id++) {
        offset[id] = at;
        at = align8(at + sec[id].length);
    }
    uint64_t file_len = at;
    /* The lookups used only while building go before the file is allocated, and each section
     * built here is freed as soon as it is copied in, so a large catalog does not hold every
     * section twice at the peak of its build. */
    free(w->song_table);
    w->song_table = NULL;
    free(w->song_lookup_off);
    w->song_lookup_off = NULL;
    unsigned char *file = w->file = calloc(1, file_len);
    if (!file)
        return false;
    for (uint32_t id = 1; id <= MF_SEC_COUNT; id++) {
        struct mf_section s = {id, sec[id].elem, offset[id], sec[id].length};
        memcpy(file + MF_HEADER_LEN + (id - 1) * sizeof s, &s, sizeof s);
        if (sec[id].bytes)
            memcpy(file + offset[id], sec[id].bytes, sec[id].length);
        release_section(w, id);
    }
    float *rows_out = (float *)(void *)(file + offset[MF_SEC_ROWS]);
    float *norms_out = (float *)(void *)(file + offset[MF_SEC_ROW_NORMS]);
    for (uint32_t to = 0; to < n; to++) {
        const float *from = w->b->scaled + (size_t)w->order[to] * dims;
        double sum = 0;
        for (uint32_t d = 0; d < dims; d++) {
            rows_out[(size_t)to * dims + d] = from[d];
            sum += (double)from[d] * from[d];
        }
        norms_out[to] = (float)sqrt(sum);
    }
    struct mf_header header = {.format_version = MF_FORMAT_VERSION,
                               .header_len = MF_HEADER_LEN,
                               .n_sections = MF_SEC_COUNT,
                               .byte_order = MF_BYTE_ORDER,
                               .file_len = file_len};
    memcpy(header.magic, MF_MAGIC, sizeof header.magic);
    header.checksum = model_checksum(file + MF_HEADER_LEN, file_len - MF_HEADER_LEN);
    memcpy(file, &header, sizeof header);
    w->file_len = file_len;
    return true;
}

enum model_status model_write(const struct model_build *b, const char *path, char *err,
                              size_t err_len)
{
    enum model_status status = MODEL_ERR_NOMEM;
    struct writer w = {.b = b};

    if (!model_build_check(b, err, err_len)) {
        status = MODEL_ERR_INVALID;
        goto done;
    }
    assert(b->k >= 1 && b->n_rows >= 1); /* checked: every array below has elements */
    w.n = b->n_rows;
    w.k = b->k;
    w.dims = b->n_dims;
    w.n_sources = b->n_sources ? b->n_sources : 1;
    if (!group_by_cluster(&w) || !add_rows(&w) || !index_artists(&w))
        goto done;
    w.source_off = pool_add(&w.pool, b->source);
    w.schema_off = pool_add(&w.pool, b->schema);
    w.k_choice_off = pool_add(&w.pool, b->k_choice);
    w.genres_off = pool_add(&w.pool, b->genres);

    /* Raw values, each row's known features. */
    w.raw = raw_table(b, w.order, w.present_of);
    if (!w.raw)
        goto done;
    for (uint32_t to = 0; to < w.n; to++)
        w.meta[to].present = w.present_of[to];

    status = name_clusters(&w, err, err_len);
    if (status != MODEL_OK)
        goto done;
    status = MODEL_ERR_NOMEM;
    if (!describe_sources(&w))
        goto done;
    pool_add_bytes(&w.pool, "", 0); /* the section ends with two NULs */
    if (w.pool.failed || !fill_lookups(&w) || !assemble(&w))
        goto done;

    status = write_file(path, w.file, w.file_len, err, err_len);
done:
    if (status == MODEL_ERR_NOMEM)
        errbuf_set(err, err_len, "model %s: out of memory while building", path);
    writer_free(&w);
    return status;
}
