/* Genre information for a build (genres.h): an open-addressing map from normalised artist name
 * to genre list kept in one growing pool, the reader of artist -> genres CSV files, list joins,
 * and the TF-IDF random-projection embedding. */
#include "genres.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "csv.h"
#include "errbuf.h"
#include "model.h"
#include "splitmix64.h"

const char *genres_strerror(enum genres_status status)
{
    switch (status) {
    case GENRES_OK:
        return "ok";
    case GENRES_ERR_IO:
        return "cannot read the artist genres file";
    case GENRES_ERR_SCHEMA:
        return "not an artist genres file";
    case GENRES_ERR_LIMIT:
        return "too many artists";
    case GENRES_ERR_INVALID:
        return "invalid genre input";
    case GENRES_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown genres status";
}

static uint64_t hash_text(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Bytes of a list "a\0b\0\0" without its final NUL. */
static size_t list_bytes(const char *list)
{
    size_t len = 0;
    while (list[len])
        len += strlen(list + len) + 1;
    return len;
}

/* ---- the artist map ---------------------------------------------------------------------- */

struct entry {
    size_t key, list; /* offsets into pool */
};

struct genre_map {
    char *pool;
    size_t pool_len, pool_cap;
    struct entry *entries;
    uint32_t n, cap;
    uint32_t *slots; /* entry index + 1, 0 = free */
    uint64_t n_slots;
};

enum genres_status genre_map_new(struct genre_map **out)
{
    struct genre_map *map = calloc(1, sizeof *map);
    if (!map)
        return GENRES_ERR_NOMEM;
    *out = map;
    return GENRES_OK;
}

static bool pool_put(struct genre_map *map, const char *bytes, size_t len, size_t *off)
{
    if (map->pool_len + len > map->pool_cap) {
        size_t cap = map->pool_cap ? map->pool_cap : 65536;
        while (cap < map->pool_len + len)
            cap *= 2;
        char *grown = realloc(map->pool, cap);
        if (!grown)
            return false;
        map->pool = grown;
        map->pool_cap = cap;
    }
    memcpy(map->pool + map->pool_len, bytes, len);
    *off = map->pool_len;
    map->pool_len += len;
    return true;
}

static bool slots_grow(struct genre_map *map)
{
    uint64_t n_slots = map->n_slots ? map->n_slots * 2 : 4096;
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return false;
    for (uint32_t i = 0; i < map->n; i++) {
        uint64_t s = hash_text(map->pool + map->entries[i].key) & (n_slots - 1);
        while (slots[s])
            s = (s + 1) & (n_slots - 1);
        slots[s] = i + 1;
    }
    free(map->slots);
    map->slots = slots;
    map->n_slots = n_slots;
    return true;
}

/* The slot of a normalised key: its entry's, or the free one where it would go. */
static uint64_t find_slot(const struct genre_map *map, const char *key)
{
    uint64_t mask = map->n_slots - 1;
    uint64_t s = hash_text(key) & mask;
    while (map->slots[s] && strcmp(map->pool + map->entries[map->slots[s] - 1].key, key) != 0)
        s = (s + 1) & mask;
    return s;
}

enum genres_status genre_map_add(struct genre_map *map, const char *artist, const char *list)
{
    char key[1024];
    if (!artist || !list || !*list)
        return GENRES_OK;
    if (model_normalize(artist, false, key, sizeof key) == 0)
        return GENRES_OK;
    if (map->n >= GENRES_MAX_ARTISTS)
        return GENRES_ERR_LIMIT;
    if ((uint64_t)(map->n + 1) * 2 > map->n_slots && !slots_grow(map))
        return GENRES_ERR_NOMEM;
    uint64_t s = find_slot(map, key);
    if (map->slots[s])
        return GENRES_OK; /* the first list wins */
    if (map->n == map->cap) {
        uint32_t cap = map->cap ? map->cap * 2 : 1024;
        struct entry *grown = realloc(map->entries, cap * sizeof *grown);
        if (!grown)
            return GENRES_ERR_NOMEM;
        map->entries = grown;
        map->cap = cap;
    }
    struct entry e;
    if (!pool_put(map, key, strlen(key) + 1, &e.key) ||
        !pool_put(map, list, list_bytes(list) + 1, &e.list))
        return GENRES_ERR_NOMEM;
    map->entries[map->n] = e;
    map->slots[s] = ++map->n;
    return GENRES_OK;
}

const char *genre_map_find(const struct genre_map *map, const char *artist)
{
    char key[1024];
    if (!map || !map->n || !artist)
        return NULL;
    if (model_normalize(artist, false, key, sizeof key) == 0)
        return NULL;
    uint64_t s = find_slot(map, key);
    return map->slots[s] ? map->pool + map->entries[map->slots[s] - 1].list : NULL;
}

uint32_t genre_map_size(const struct genre_map *map)
{
    return map ? map->n : 0;
}

void genre_map_free(struct genre_map *map)
{
    if (!map)
        return;
    free(map->pool);
    free(map->entries);
    free(map->slots);
    free(map);
}

/* Parses a Python list literal into a "a\0b\0\0" list in out (empty items dropped). Returns
 * false when it is not a list. */
static bool parse_genre_list(const char *literal, char *out, size_t out_len)
{
    const char *items[GENRES_MAX_LABELS];
    char text[CATALOG_MAX_TEXT + GENRES_MAX_LABELS];
    int n = catalog_parse_list(literal, items, GENRES_MAX_LABELS, text, sizeof text);
    if (n < 0)
        return false;
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(items[i]);
        if (!len || used + len + 2 > out_len)
            continue;
        memcpy(out + used, items[i], len + 1);
        used += len + 1;
    }
    out[used] = '\0';
    return true;
}

enum genres_status genre_map_load(struct genre_map *map, const char *path, uint32_t *n_added,
                                  uint32_t *n_malformed, char *err, size_t err_len)
{
    enum genres_status status = GENRES_ERR_IO;
    struct csv_reader *reader = NULL;
    struct csv_record rec;
    char why[256];
    uint32_t added = 0, malformed = 0;
    if (csv_open_file(path, NULL, &reader, why, sizeof why) != CSV_OK) {
        errbuf_set(err, err_len, "--artist-genres %s: %s", path, why);
        goto done;
    }
    enum csv_status cs = csv_next(reader, &rec, why, sizeof why);
    if (cs != CSV_OK) {
        errbuf_set(err, err_len, "--artist-genres %s: %s", path,
                   cs == CSV_END ? "empty file, no header" : why);
        goto done;
    }
    long artist_col = -1, genres_col = -1;
    for (size_t i = 0; i < rec.n_fields; i++) {
        const char *name = rec.field[i];
        if (artist_col < 0 && (strcmp(name, "artists") == 0 || strcmp(name, "artist") == 0 ||
                               strcmp(name, "artist_name") == 0))
            artist_col = (long)i;
        if (genres_col < 0 && (strcmp(name, "genres") == 0 || strcmp(name, "artist_genres") == 0))
            genres_col = (long)i;
    }
    if (artist_col < 0 || genres_col < 0) {
        status = GENRES_ERR_SCHEMA;
        errbuf_set(err, err_len,
                   "--artist-genres %s: the header has no %s column (want artists or "
                   "artist_name, and genres)",
                   path, artist_col < 0 ? "artist" : "genres");
        goto done;
    }
    size_t need = (size_t)(artist_col > genres_col ? artist_col : genres_col) + 1;
    for (;;) {
        cs = csv_next(reader, &rec, why, sizeof why);
        if (cs == CSV_END)
            break;
        if (cs == CSV_ERR_IO || cs == CSV_ERR_NOMEM) {
            status = cs == CSV_ERR_IO ? GENRES_ERR_IO : GENRES_ERR_NOMEM;
            errbuf_set(err, err_len, "--artist-genres %s: %s", path, why);
            goto done;
        }
        if (cs != CSV_OK || rec.n_fields < need || rec.field_len[genres_col] > CATALOG_MAX_TEXT ||
            rec.field_len[artist_col] > CATALOG_MAX_TEXT) {
            malformed++;
            continue;
        }
        char list[CATALOG_MAX_TEXT + GENRES_MAX_LABELS + 1];
        if (!parse_genre_list(rec.field[genres_col], list, sizeof list)) {
            malformed++;
            continue;
        }
        const char *artist = rec.field[artist_col];
        char first[CATALOG_MAX_TEXT + CATALOG_MAX_ARTISTS + 1];
        if (artist[0] == '[') { /* a list of names: the first one */
            if (!parse_genre_list(artist, first, sizeof first)) {
                malformed++;
                continue;
            }
            artist = first;
        }
        if (!list[0])
            continue;
        uint32_t before = map->n;
        enum genres_status gs = genre_map_add(map, artist, list);
        if (gs != GENRES_OK) {
            status = gs;
            errbuf_set(err, err_len, "--artist-genres %s: %s (at most %u artists)", path,
                       genres_strerror(gs), GENRES_MAX_ARTISTS);
            goto done;
        }
        added += map->n > before;
    }
    *n_added = added;
    *n_malformed = malformed;
    status = GENRES_OK;
done:
    csv_close(reader);
    return status;
}

size_t genres_join(const char *first, const char *second, char *out, size_t out_len)
{
    const char *lists[2] = {first, second};
    size_t used = 0;
    uint32_t count = 0;
    if (out_len == 0)
        return 0;
    out[0] = '\0';
    for (int l = 0; l < 2; l++) {
        for (const char *p = lists[l]; p && *p; p += strlen(p) + 1) {
            size_t len = strlen(p);
            bool seen = false;
            for (const char *q = out; q < out + used && !seen; q += strlen(q) + 1)
                seen = strcmp(q, p) == 0;
            if (seen || count >= GENRES_MAX_LABELS)
                continue;
            if (used + len + 2 > out_len) {
                out[0] = '\0';
                return 0;
            }
            memcpy(out + used, p, len + 1);
            used += len + 1;
            count++;
        }
    }
    out[used] = '\0';
    return used + 1;
}

/* ---- the embedding ----------------------------------------------------------------------- */

struct label_table {
    const char **text;
    uint32_t *df;
    uint32_t n, cap;
    uint32_t *slots;
    uint64_t n_slots;
};

static bool table_grow(struct label_table *t)
{
    uint64_t n_slots = t->n_slots ? t->n_slots * 2 : 1024;
    uint32_t *slots = calloc(n_slots, sizeof *slots);
    if (!slots)
        return false;
    for (uint32_t i = 0; i < t->n; i++) {
        uint64_t s = hash_text(t->text[i]) & (n_slots - 1);
        while (slots[s])
            s = (s + 1) & (n_slots - 1);
        slots[s] = i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    return true;
}

static uint32_t table_intern(struct label_table *t, const char *text)
{
    if ((uint64_t)(t->n + 1) * 2 > t->n_slots && !table_grow(t))
        return UINT32_MAX;
    uint64_t mask = t->n_slots - 1, s = hash_text(text) & mask;
    for (; t->slots[s]; s = (s + 1) & mask)
        if (strcmp(t->text[t->slots[s] - 1], text) == 0)
            return t->slots[s] - 1;
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 1024;
        const char **text_grown = realloc(t->text, cap * sizeof *text_grown);
        if (!text_grown)
            return UINT32_MAX;
        t->text = text_grown;
        uint32_t *df_grown = realloc(t->df, cap * sizeof *df_grown);
        if (!df_grown)
            return UINT32_MAX;
        t->df = df_grown;
        t->cap = cap;
    }
    t->text[t->n] = text;
    t->df[t->n] = 0;
    t->slots[s] = ++t->n;
    return t->n - 1;
}

/* A standard normal draw (Box-Muller) from the generator. */
static double normal(uint64_t *state)
{
    double u = splitmix64_uniform(state), v = splitmix64_uniform(state);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

enum genres_status genres_embed(const char *const *row_labels, uint32_t n_rows, uint32_t n_dims,
                                uint64_t seed, float *out, char *err, size_t err_len)
{
    enum genres_status status = GENRES_ERR_NOMEM;
    struct label_table t = {0};
    float *direction = NULL;
    uint32_t *seen_in_row = NULL;
    if (n_dims == 0 || n_dims > 64) {
        errbuf_set(err, err_len, "genre embedding: %u dimensions, want 1..64", n_dims);
        return GENRES_ERR_INVALID;
    }
    /* Document frequencies (a label listed twice in a row counts once). */
    uint64_t labelled = 0;
    for (uint32_t r = 0; r < n_rows; r++) {
        bool any = false;
        for (const char *p = row_labels[r]; p && *p; p += strlen(p) + 1) {
            uint32_t i = table_intern(&t, p);
            if (i == UINT32_MAX)
                goto done;
            any = true;
        }
        labelled += any;
    }
    seen_in_row = malloc((t.n ? t.n : 1) * sizeof *seen_in_row);
    direction = malloc((size_t)(t.n ? t.n : 1) * n_dims * sizeof *direction);
    if (!seen_in_row || !direction)
        goto done;
    memset(seen_in_row, 0xff, (t.n ? t.n : 1) * sizeof *seen_in_row);
    for (uint32_t r = 0; r < n_rows; r++) {
        for (const char *p = row_labels[r]; p && *p; p += strlen(p) + 1) {
            uint32_t i = table_intern(&t, p);
            if (seen_in_row[i] != r) {
                seen_in_row[i] = r;
                t.df[i]++;
            }
        }
    }
    /* Each label's direction: drawn from its name, so the same label points the same way in
     * every build with this seed. */
    for (uint32_t i = 0; i < t.n; i++) {
        uint64_t state = seed ^ hash_text(t.text[i]);
        for (uint32_t d = 0; d < n_dims; d++)
            direction[(size_t)i * n_dims + d] = (float)normal(&state);
    }
    memset(seen_in_row, 0xff, (t.n ? t.n : 1) * sizeof *seen_in_row);
    for (uint32_t r = 0; r < n_rows; r++) {
        double v[64] = {0};
        for (const char *p = row_labels[r]; p && *p; p += strlen(p) + 1) {
            uint32_t i = table_intern(&t, p);
            if (seen_in_row[i] == r)
                continue;
            seen_in_row[i] = r;
            double idf = log((double)labelled / (double)t.df[i]) + 1.0;
            for (uint32_t d = 0; d < n_dims; d++)
                v[d] += idf * direction[(size_t)i * n_dims + d];
        }
        double norm = 0;
        for (uint32_t d = 0; d < n_dims; d++)
            norm += v[d] * v[d];
        norm = sqrt(norm);
        for (uint32_t d = 0; d < n_dims; d++)
            out[(size_t)r * n_dims + d] = norm > 0 ? (float)(v[d] / norm) : 0.0f;
    }
    status = GENRES_OK;
done:
    if (status == GENRES_ERR_NOMEM)
        errbuf_set(err, err_len, "genre embedding: out of memory");
    free(t.text);
    free(t.df);
    free(t.slots);
    free(direction);
    free(seen_in_row);
    return status;
}
