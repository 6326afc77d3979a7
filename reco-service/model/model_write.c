/* Writing a model file (model_build.h): rows grouped by cluster, strings pooled, lookup tables
 * built, the whole file assembled in memory, checksummed, and renamed into place. */
#include "model_build.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
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

static bool build_valid(const struct model_build *b, char *err, size_t err_len)
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

enum model_status model_write(const struct model_build *b, const char *path, char *err,
                              size_t err_len)
{
    enum model_status status = MODEL_ERR_NOMEM;
    uint32_t *order = NULL, *new_index = NULL, *start = NULL;
    struct mf_row *meta = NULL;
    struct mf_slot *tables[3] = {NULL, NULL, NULL};
    struct mf_slot *artist_table = NULL, *song_table = NULL;
    uint32_t *artist_key = NULL, *artist_start = NULL, *artist_rows = NULL;
    uint32_t *song_lookup_off = NULL; /* per row: its song-table key in the strings, or 0 */
    unsigned char *file = NULL;
    float *raw = NULL;
    uint32_t *present_of = NULL, *artist_genres = NULL, *name_off = NULL;
    char *names = NULL;
    struct mf_source *sources = NULL;
    struct pool pool = {0};
    uint64_t n_slots[3];
    uint32_t n_ids = 0;

    if (!build_valid(b, err, err_len)) {
        status = MODEL_ERR_INVALID;
        goto done;
    }
    uint32_t n = b->n_rows, k = b->k, dims = b->n_dims;
    uint32_t n_sources = b->n_sources ? b->n_sources : 1;

    /* Group rows by cluster (stable counting sort). */
    order = malloc(n * sizeof *order);
    new_index = malloc(n * sizeof *new_index);
    start = calloc(k + 1, sizeof *start);
    meta = calloc(n, sizeof *meta);
    if (!order || !new_index || !start || !meta)
        goto done;
    for (uint32_t r = 0; r < n; r++)
        start[b->rows[r].cluster + 1]++;
    for (uint32_t c = 0; c < k; c++)
        start[c + 1] += start[c];
    {
        uint32_t *fill = malloc(k * sizeof *fill);
        if (!fill)
            goto done;
        memcpy(fill, start, k * sizeof *fill);
        for (uint32_t r = 0; r < n; r++) {
            uint32_t to = fill[b->rows[r].cluster]++;
            order[to] = r;
            new_index[r] = to;
        }
        free(fill);
    }

    /* Strings, row metadata, the song lookup keys, and the artist and song keys: each distinct
     * normalised primary artist, and each distinct (normalised title, artist), numbered in
     * catalog order. */
    pool_add_bytes(&pool, "", 0);
    song_lookup_off = malloc(((size_t)n + 1) * sizeof *song_lookup_off);
    artist_key = malloc(((size_t)n + 1) * sizeof *artist_key);
    if (!song_lookup_off || !artist_key)
        goto done;
    n_slots[2] = table_size(n);
    uint64_t key_slots = table_size(n);
    artist_table = table_new(key_slots);
    song_table = table_new(key_slots);
    artist_genres = calloc((size_t)n + 1, sizeof *artist_genres);
    present_of = malloc(((size_t)n + 1) * sizeof *present_of);
    if (!artist_genres || !present_of)
        goto done;
    uint32_t n_artist_keys = 0, n_song_keys = 0;
    for (uint32_t to = 0; to < n && artist_table && song_table; to++) {
        const struct model_build_row *row = &b->rows[order[to]];
        struct mf_row *x = &meta[to];
        x->id_off = pool_add(&pool, row->id);
        x->name_off = pool_add(&pool, row->name);
        x->genre_off = pool_add(&pool, row->genre);
        x->isrc_off = pool_add(&pool, row->isrc);
        uint32_t n_artists =
            row->n_artists < MODEL_MAX_ARTISTS ? row->n_artists : MODEL_MAX_ARTISTS;
        x->artists_off = (uint32_t)pool.len;
        for (uint32_t a = 0; a < n_artists; a++) {
            const char *artist = row->artists[a] ? row->artists[a] : "";
            if (*artist)
                pool_add_bytes(&pool, artist, strlen(artist));
        }
        pool_add_bytes(&pool, "", 0);
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
        uint32_t song_off = pool_add_bytes(&pool, key, title_len + 1 + artist_len);
        song_lookup_off[to] = title_len ? song_off : 0;
        uint32_t artist_off = pool_add_bytes(&pool, key + title_len + 1, artist_len);
        if (pool.failed)
            break;
        uint32_t found = table_find(artist_table, key_slots, pool.bytes, pool.bytes + artist_off);
        if (found == MF_EMPTY_SLOT) {
            found = n_artist_keys++;
            table_insert(artist_table, key_slots, pool.bytes, artist_off, found, false);
        }
        artist_key[to] = found;
        if (!artist_genres[found] && row->artist_genres && *row->artist_genres)
            artist_genres[found] = pool_add_list(&pool, row->artist_genres);
        found = table_find(song_table, key_slots, pool.bytes, pool.bytes + song_off);
        if (found == MF_EMPTY_SLOT) {
            found = n_song_keys++;
            table_insert(song_table, key_slots, pool.bytes, song_off, found, false);
        }
        x->song_key = found;
    }
    if (!artist_table || !song_table || pool.failed)
        goto done;
    /* The artist index: every row once, grouped by artist key, ascending (counting sort). */
    artist_start = calloc((size_t)n_artist_keys + 1, sizeof *artist_start);
    artist_rows = malloc(((size_t)n + 1) * sizeof *artist_rows);
    if (!artist_start || !artist_rows)
        goto done;
    for (uint32_t to = 0; to < n; to++)
        artist_start[artist_key[to] + 1]++;
    for (uint32_t a = 0; a < n_artist_keys; a++)
        artist_start[a + 1] += artist_start[a];
    for (uint32_t to = 0, *fill = artist_start; to < n; to++)
        artist_rows[fill[artist_key[to]]++] = to;
    /* The fill moved each start to the next artist's: shift back. */
    memmove(artist_start + 1, artist_start, n_artist_keys * sizeof *artist_start);
    artist_start[0] = 0;
    uint32_t source_off = pool_add(&pool, b->source);
    uint32_t schema_off = pool_add(&pool, b->schema);
    uint32_t k_choice_off = pool_add(&pool, b->k_choice);
    uint32_t genres_off = pool_add(&pool, b->genres);

    /* Raw values, each row's known features. */
    raw = raw_table(b, order, present_of);
    if (!raw)
        goto done;
    for (uint32_t to = 0; to < n; to++)
        meta[to].present = present_of[to];

    /* Cluster names: the builder's, or each centroid's. */
    name_off = malloc((size_t)k * sizeof *name_off);
    if (!name_off)
        goto done;
    if (b->cluster_names) {
        for (uint32_t c = 0; c < k; c++)
            name_off[c] = pool_add(&pool, b->cluster_names[c]);
    } else {
        uint32_t *cluster_of = malloc((size_t)n * sizeof *cluster_of);
        names = malloc((size_t)k * STYLE_NAME_MAX);
        if (!cluster_of || !names) {
            free(cluster_of);
            goto done;
        }
        for (uint32_t r = 0; r < n; r++)
            cluster_of[r] = b->rows[r].cluster;
        struct style_input in = {.k = k,
                                 .n_rows = n,
                                 .cluster = cluster_of,
                                 .dims = b->dims,
                                 .n_dims = dims,
                                 .centroids = b->centroids};
        enum style_status ss = style_name_clusters(&in, names, NULL, err, err_len);
        free(cluster_of);
        if (ss != STYLE_OK) {
            status = ss == STYLE_ERR_NOMEM ? MODEL_ERR_NOMEM : MODEL_ERR_INVALID;
            goto done;
        }
        for (uint32_t c = 0; c < k; c++)
            name_off[c] = pool_add(&pool, names + (size_t)c * STYLE_NAME_MAX);
    }

    /* Sources: the builder's list, or one from the build's own counts. */
    sources = calloc(n_sources, sizeof *sources);
    if (!sources)
        goto done;
    if (b->n_sources) {
        for (uint32_t i = 0; i < n_sources; i++) {
            const struct model_build_source *x = &b->sources[i];
            sources[i] = (struct mf_source){
                .name_off = pool_add(&pool, x->name),
                .schema_off = pool_add(&pool, x->schema),
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
        for (uint32_t to = 0; to < n; to++)
            features |= present_of[to];
        sources[0] = (struct mf_source){.name_off = source_off,
                                        .schema_off = schema_off,
                                        .n_input_rows = b->n_input_rows,
                                        .n_malformed = b->n_malformed,
                                        .n_collapsed = b->n_collapsed,
                                        .features = features,
                                        .n_genre_rows = b->n_genre_rows};
    }
    for (uint32_t to = 0; to < n; to++)
        sources[meta[to].source].n_rows++;
    pool_add_bytes(&pool, "", 0); /* the section ends with two NULs */
    if (pool.failed)
        goto done;

    /* Lookup tables: ids and ISRCs of rows then aliases (first wins), songs by key. */
    n_slots[0] = table_size((uint64_t)n + b->n_aliases);
    n_slots[1] = n_slots[0];
    for (int i = 0; i < 3; i++)
        tables[i] = table_new(n_slots[i]);
    if (!tables[0] || !tables[1] || !tables[2])
        goto done;
    for (uint32_t to = 0; to < n; to++) {
        if (meta[to].id_off)
            n_ids += (uint32_t)table_insert(tables[0], n_slots[0], pool.bytes, meta[to].id_off, to,
                                            true);
        if (meta[to].isrc_off)
            table_insert(tables[1], n_slots[1], pool.bytes, meta[to].isrc_off, to, true);
        if (song_lookup_off[to])
            table_insert(tables[2], n_slots[2], pool.bytes, song_lookup_off[to], to, false);
    }
    for (uint32_t a = 0; a < b->n_aliases; a++) {
        const struct model_build_alias *alias = &b->aliases[a];
        uint32_t to = new_index[alias->row];
        if (alias->id && *alias->id) {
            uint32_t off = pool_add(&pool, alias->id);
            if (pool.failed)
                goto done;
            n_ids += (uint32_t)table_insert(tables[0], n_slots[0], pool.bytes, off, to, true);
        }
        if (alias->isrc && *alias->isrc) {
            uint32_t off = pool_add(&pool, alias->isrc);
            if (pool.failed)
                goto done;
            table_insert(tables[1], n_slots[1], pool.bytes, off, to, true);
        }
    }
    /* Aliases were appended after the closing NULs: close again. */
    pool_add_bytes(&pool, "", 0);
    if (pool.failed)
        goto done;

    /* Layout. */
    struct section_source sec[MF_SEC_COUNT + 1] = {{0}};
    struct mf_params params = {
        .n_rows = n,
        .n_dims = dims,
        .k = k,
        .n_ids = n_ids,
        .restarts = b->restarts,
        .iterations = b->iterations,
        .tolerance_ms = b->tolerance_ms,
        .n_input_rows = b->n_input_rows,
        .n_malformed = b->n_malformed,
        .n_collapsed = b->n_collapsed,
        .source_off = source_off,
        .schema_off = schema_off,
        .k_choice_off = k_choice_off,
        .n_artists = n_artist_keys,
        .seed = b->seed,
        .built_unix = b->built_unix,
        .n_sources = n_sources,
        .n_genre_dims = b->n_genre_dims,
        .genres_off = genres_off,
        .n_genre_rows = b->n_genre_rows,
        .inertia = isfinite(b->inertia) && b->inertia >= 0 ? b->inertia : 0.0,
        .binary_weight = b->binary_weight,
        .genre_weight = b->genre_weight,
    };
    struct mf_dim dim_table[MODEL_MAX_DIMS];
    for (uint32_t d = 0; d < dims; d++)
        dim_table[d] = (struct mf_dim){(uint32_t)b->dims[d].feature, (uint32_t)b->dims[d].kind,
                                       b->dims[d].mean, b->dims[d].std, b->dims[d].weight};
    sec[MF_SEC_PARAMS] = (struct section_source){&params, sizeof params, sizeof params};
    sec[MF_SEC_DIMS] =
        (struct section_source){dim_table, dims * sizeof(struct mf_dim), sizeof(struct mf_dim)};
    sec[MF_SEC_CENTROIDS] =
        (struct section_source){b->centroids, (uint64_t)k * dims * sizeof(float), sizeof(float)};
    sec[MF_SEC_CLUSTER_START] =
        (struct section_source){start, (k + 1) * sizeof(uint32_t), sizeof(uint32_t)};
    sec[MF_SEC_ROWS] =
        (struct section_source){NULL, (uint64_t)n * dims * sizeof(float), sizeof(float)};
    sec[MF_SEC_ROW_NORMS] =
        (struct section_source){NULL, (uint64_t)n * sizeof(float), sizeof(float)};
    sec[MF_SEC_ROW_META] = (struct section_source){meta, (uint64_t)n * sizeof *meta, sizeof *meta};
    sec[MF_SEC_STRINGS] = (struct section_source){pool.bytes, pool.len, 1};
    for (int i = 0; i < 3; i++)
        sec[MF_SEC_ID_TABLE + i] = (struct section_source){
            tables[i], n_slots[i] * sizeof(struct mf_slot), sizeof(struct mf_slot)};
    sec[MF_SEC_ARTIST_KEYS] =
        (struct section_source){artist_key, (uint64_t)n * sizeof(uint32_t), sizeof(uint32_t)};
    sec[MF_SEC_ARTIST_START] = (struct section_source){
        artist_start, ((uint64_t)n_artist_keys + 1) * sizeof(uint32_t), sizeof(uint32_t)};
    sec[MF_SEC_ARTIST_ROWS] =
        (struct section_source){artist_rows, (uint64_t)n * sizeof(uint32_t), sizeof(uint32_t)};
    sec[MF_SEC_ROW_RAW] =
        (struct section_source){raw, (uint64_t)n * MF_RAW_STRIDE * sizeof(float), sizeof(float)};
    sec[MF_SEC_CLUSTER_NAMES] =
        (struct section_source){name_off, (uint64_t)k * sizeof(uint32_t), sizeof(uint32_t)};
    sec[MF_SEC_SOURCES] = (struct section_source){
        sources, (uint64_t)n_sources * sizeof(struct mf_source), sizeof(struct mf_source)};
    sec[MF_SEC_ARTIST_TABLE] = (struct section_source){
        artist_table, key_slots * sizeof(struct mf_slot), sizeof(struct mf_slot)};
    sec[MF_SEC_ARTIST_GENRES] = (struct section_source){
        artist_genres, (uint64_t)n_artist_keys * sizeof(uint32_t), sizeof(uint32_t)};

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
    free(song_table);
    song_table = NULL;
    free(song_lookup_off);
    song_lookup_off = NULL;
    file = calloc(1, file_len);
    if (!file)
        goto done;
    for (uint32_t id = 1; id <= MF_SEC_COUNT; id++) {
        struct mf_section s = {id, sec[id].elem, offset[id], sec[id].length};
        memcpy(file + MF_HEADER_LEN + (id - 1) * sizeof s, &s, sizeof s);
        if (sec[id].bytes)
            memcpy(file + offset[id], sec[id].bytes, sec[id].length);
        switch (id) {
        case MF_SEC_CLUSTER_START:
            free(start);
            start = NULL;
            break;
        case MF_SEC_ROW_META:
            free(meta);
            meta = NULL;
            break;
        case MF_SEC_STRINGS:
            free(pool.bytes);
            pool.bytes = NULL;
            break;
        case MF_SEC_ID_TABLE:
        case MF_SEC_ISRC_TABLE:
        case MF_SEC_SONG_TABLE:
            free(tables[id - MF_SEC_ID_TABLE]);
            tables[id - MF_SEC_ID_TABLE] = NULL;
            break;
        case MF_SEC_ARTIST_KEYS:
            free(artist_key);
            artist_key = NULL;
            break;
        case MF_SEC_ARTIST_START:
            free(artist_start);
            artist_start = NULL;
            break;
        case MF_SEC_ARTIST_ROWS:
            free(artist_rows);
            artist_rows = NULL;
            break;
        case MF_SEC_ARTIST_TABLE:
            free(artist_table);
            artist_table = NULL;
            break;
        default:
            break;
        }
    }
    float *rows_out = (float *)(void *)(file + offset[MF_SEC_ROWS]);
    float *norms_out = (float *)(void *)(file + offset[MF_SEC_ROW_NORMS]);
    for (uint32_t to = 0; to < n; to++) {
        const float *from = b->scaled + (size_t)order[to] * dims;
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

    status = write_file(path, file, file_len, err, err_len);
done:
    if (status == MODEL_ERR_NOMEM)
        errbuf_set(err, err_len, "model %s: out of memory while building", path);
    free(file);
    free(raw);
    free(present_of);
    free(artist_genres);
    free(name_off);
    free(names);
    free(sources);
    for (int i = 0; i < 3; i++)
        free(tables[i]);
    free(artist_table);
    free(song_table);
    free(song_lookup_off);
    free(artist_key);
    free(artist_start);
    free(artist_rows);
    free(pool.bytes);
    free(meta);
    free(start);
    free(new_index);
    free(order);
    return status;
}
