/* Genre information for a build (genres.h): an open-addressing map from normalised artist name
 * to genre list kept in one growing pool, the reader of artist -> genres CSV files, list joins,
 * and the embedding (a randomized truncated SVD of the songs x labels TF-IDF matrix). */
#include "genres.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "csv.h"
#include "errbuf.h"
#include "label_table.h"
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
        uint64_t s = label_table_hash(map->pool + map->entries[i].key) & (n_slots - 1);
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
    uint64_t s = label_table_hash(key) & mask;
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

/* A standard normal draw (Box-Muller) from the generator. */
static double normal(uint64_t *state)
{
    double u = splitmix64_uniform(state), v = splitmix64_uniform(state);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Orthonormalises the s columns (each len long, column-major) by modified Gram-Schmidt; a
 * column that depends on the earlier ones becomes zero. */
static void orthonormalise(double *cols, uint64_t len, uint32_t s)
{
    for (uint32_t j = 0; j < s; j++) {
        double *cj = cols + j * len;
        for (uint32_t i = 0; i < j; i++) {
            const double *ci = cols + i * len;
            double d = 0;
            for (uint64_t r = 0; r < len; r++)
                d += ci[r] * cj[r];
            for (uint64_t r = 0; r < len; r++)
                cj[r] -= d * ci[r];
        }
        double norm = 0;
        for (uint64_t r = 0; r < len; r++)
            norm += cj[r] * cj[r];
        norm = sqrt(norm);
        for (uint64_t r = 0; r < len; r++)
            cj[r] = norm > 1e-9 ? cj[r] / norm : 0.0;
    }
}

/* Eigen-decomposition of the symmetric s x s matrix a (row-major, destroyed) by cyclic Jacobi
 * rotations: eigenvalues into value, eigenvectors into the columns of vec (row-major). */
static void jacobi_eigen(double *a, uint32_t s, double *value, double *vec)
{
    for (uint32_t i = 0; i < s; i++)
        for (uint32_t j = 0; j < s; j++)
            vec[i * s + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (uint32_t i = 0; i < s; i++)
            for (uint32_t j = i + 1; j < s; j++)
                off += a[i * s + j] * a[i * s + j];
        if (off < 1e-22)
            break;
        for (uint32_t p = 0; p < s; p++) {
            for (uint32_t q = p + 1; q < s; q++) {
                double apq = a[p * s + q];
                if (fabs(apq) < 1e-300)
                    continue;
                double theta = (a[q * s + q] - a[p * s + p]) / (2.0 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), sn = t * c;
                for (uint32_t k = 0; k < s; k++) { /* columns p and q */
                    double akp = a[k * s + p], akq = a[k * s + q];
                    a[k * s + p] = c * akp - sn * akq;
                    a[k * s + q] = sn * akp + c * akq;
                }
                for (uint32_t k = 0; k < s; k++) { /* rows p and q */
                    double apk = a[p * s + k], aqk = a[q * s + k];
                    a[p * s + k] = c * apk - sn * aqk;
                    a[q * s + k] = sn * apk + c * aqk;
                }
                for (uint32_t k = 0; k < s; k++) {
                    double vkp = vec[k * s + p], vkq = vec[k * s + q];
                    vec[k * s + p] = c * vkp - sn * vkq;
                    vec[k * s + q] = sn * vkp + c * vkq;
                }
            }
        }
    }
    for (uint32_t i = 0; i < s; i++)
        value[i] = a[i * s + i];
}

#define OVERSAMPLE   8u /* extra columns of the randomized SVD */
#define POWER_ROUNDS 2u

/* The songs x labels TF-IDF matrix, compressed rows: row r's entries are
 * [row_ptr[r], row_ptr[r + 1]) of col (label) and val. */
struct tfidf {
    uint64_t *row_ptr; /* n_rows + 1 */
    uint32_t *col;
    double *val;
};

/* Interns every label of every row into t, counting the rows with at least one. Returns false
 * when out of memory. */
static bool intern_labels(struct label_table *t, const char *const *row_labels, uint32_t n_rows,
                          uint64_t *labelled)
{
    *labelled = 0;
    for (uint32_t r = 0; r < n_rows; r++) {
        bool any = false;
        for (const char *p = row_labels[r]; p && *p; p += strlen(p) + 1) {
            if (label_table_intern(t, p) == UINT32_MAX)
                return false;
            any = true;
        }
        *labelled += any;
    }
    return true;
}

/* The TF-IDF matrix of the interned labels (idf = 1 + ln(labelled / df), df the rows with the
 * label, a label listed twice in a row counted once, each row of unit length) into a. Returns
 * false when out of memory (what a holds is freed by the caller). */
static bool tfidf_build(const struct label_table *t, const char *const *row_labels, uint32_t n_rows,
                        uint64_t labelled, struct tfidf *a)
{
    bool ok = false;
    uint64_t nnz = 0;
    uint32_t *seen_in_row = malloc(t->n * sizeof *seen_in_row);
    uint32_t *df = calloc(t->n, sizeof *df); /* rows with each label */
    a->row_ptr = malloc(((size_t)n_rows + 1) * sizeof *a->row_ptr);
    if (!seen_in_row || !df || !a->row_ptr)
        goto done;
    memset(seen_in_row, 0xff, t->n * sizeof *seen_in_row);
    for (uint32_t r = 0; r < n_rows; r++) {
        for (const char *p = row_labels[r]; p && *p; p += strlen(p) + 1) {
            uint32_t i = label_table_find(t, p);
            if (seen_in_row[i] != r) {
                seen_in_row[i] = r;
                df[i]++;
                nnz++;
            }
        }
    }
    a->col = malloc((nnz ? nnz : 1) * sizeof *a->col);
    a->val = malloc((nnz ? nnz : 1) * sizeof *a->val);
    if (!a->col || !a->val)
        goto done;
    memset(seen_in_row, 0xff, t->n * sizeof *seen_in_row);
    uint64_t at = 0;
    for (uint32_t r = 0; r < n_rows; r++) {
        a->row_ptr[r] = at;
        double norm = 0;
        for (const char *p = row_labels[r]; p && *p; p += strlen(p) + 1) {
            uint32_t i = label_table_find(t, p);
            if (seen_in_row[i] == r)
                continue;
            seen_in_row[i] = r;
            a->col[at] = i;
            a->val[at] = 1.0 + log((double)labelled / (double)df[i]);
            norm += a->val[at] * a->val[at];
            at++;
        }
        for (uint64_t j = a->row_ptr[r]; j < at; j++)
            a->val[j] /= sqrt(norm);
    }
    a->row_ptr[n_rows] = at;
    ok = true;
done:
    free(seen_in_row);
    free(df);
    return ok;
}

/* An orthonormal basis Y (n x s, column-major) of the range of A (n x l), by a randomized range
 * finder: Y = A Z for a seeded Gaussian Z (l x s, scratch), POWER_ROUNDS rounds of
 * Z = A^T Y, Y = A Z, orthonormalised in between. */
static void range_basis(const struct tfidf *a, uint64_t n, uint64_t l, uint32_t s, uint64_t seed,
                        double *y, double *z)
{
    uint64_t state = seed ^ 0x6a09e667f3bcc909ull;
    for (uint64_t i = 0; i < l * s; i++)
        z[i] = normal(&state);
    for (uint32_t round = 0; round <= POWER_ROUNDS; round++) {
        /* Y = A Z */
        memset(y, 0, n * s * sizeof *y);
        for (uint64_t r = 0; r < n; r++)
            for (uint64_t j = a->row_ptr[r]; j < a->row_ptr[r + 1]; j++)
                for (uint32_t k = 0; k < s; k++)
                    y[k * n + r] += a->val[j] * z[k * l + a->col[j]];
        orthonormalise(y, n, s);
        if (round == POWER_ROUNDS)
            break;
        /* Z = A^T Y */
        memset(z, 0, l * s * sizeof *z);
        for (uint64_t r = 0; r < n; r++)
            for (uint64_t j = a->row_ptr[r]; j < a->row_ptr[r + 1]; j++)
                for (uint32_t k = 0; k < s; k++)
                    z[k * l + a->col[j]] += a->val[j] * y[k * n + r];
        orthonormalise(z, l, s);
    }
}

/* The small problem: B^T = A^T Q into b (l x s, column-major, zeroed), C = B B^T into c
 * (s x s), and C's eigenvalues and eigenvectors into value and vec. */
static void small_eigen(const struct tfidf *a, uint64_t n, uint64_t l, uint32_t s, const double *y,
                        double *b, double *c, double *value, double *vec)
{
    for (uint64_t r = 0; r < n; r++)
        for (uint64_t j = a->row_ptr[r]; j < a->row_ptr[r + 1]; j++)
            for (uint32_t k = 0; k < s; k++)
                b[k * l + a->col[j]] += a->val[j] * y[k * n + r];
    for (uint32_t i = 0; i < s; i++)
        for (uint32_t j = i; j < s; j++) {
            double d = 0;
            for (uint64_t x = 0; x < l; x++)
                d += b[i * l + x] * b[j * l + x];
            c[i * s + j] = c[j * s + i] = d;
        }
    jacobi_eigen(c, s, value, vec);
}

/* Each labelled song's coordinates on the n_dims strongest directions, (Q W)[song] x sqrt(L),
 * scaled to unit length, into out (n x n_dims). */
static void project_rows(const struct tfidf *a, uint64_t n, uint32_t s, uint32_t n_dims,
                         const double *y, const double *value, const double *vec, float *out)
{
    /* The n_dims largest eigenvalues, in order. */
    uint32_t order[64 + OVERSAMPLE];
    for (uint32_t i = 0; i < s; i++)
        order[i] = i;
    for (uint32_t i = 1; i < s; i++)
        for (uint32_t j = i; j > 0 && value[order[j]] > value[order[j - 1]]; j--) {
            uint32_t swap = order[j];
            order[j] = order[j - 1];
            order[j - 1] = swap;
        }
    for (uint64_t r = 0; r < n; r++) {
        if (a->row_ptr[r] == a->row_ptr[r + 1])
            continue;
        double v[64], norm = 0;
        for (uint32_t g = 0; g < n_dims; g++) {
            uint32_t e = order[g];
            double sigma = value[e] > 0 ? sqrt(value[e]) : 0.0, d = 0;
            for (uint32_t k = 0; k < s; k++)
                d += y[k * n + r] * vec[k * s + e];
            v[g] = d * sigma;
            norm += v[g] * v[g];
        }
        norm = sqrt(norm);
        for (uint32_t g = 0; g < n_dims; g++)
            out[r * n_dims + g] = norm > 0 ? (float)(v[g] / norm) : 0.0f;
    }
}

enum genres_status genres_embed(const char *const *row_labels, uint32_t n_rows, uint32_t n_dims,
                                uint64_t seed, float *out, char *err, size_t err_len)
{
    enum genres_status status = GENRES_ERR_NOMEM;
    struct label_table t = {0};
    struct tfidf a = {0};
    double *y = NULL, *z = NULL, *b = NULL, *c = NULL, *value = NULL, *vec = NULL;
    if (n_dims == 0 || n_dims > 64) {
        errbuf_set(err, err_len, "genre embedding: %u dimensions, want 1..64", n_dims);
        return GENRES_ERR_INVALID;
    }
    memset(out, 0, (size_t)n_rows * n_dims * sizeof *out);
    uint64_t labelled;
    if (!intern_labels(&t, row_labels, n_rows, &labelled))
        goto done;
    if (t.n == 0) {
        status = GENRES_OK;
        goto done;
    }
    if (!tfidf_build(&t, row_labels, n_rows, labelled, &a))
        goto done;

    /* Randomized SVD (Halko, Martinsson, Tropp 2011): Y = A Omega, a few power rounds,
     * Q = orth(Y), then the small problem B = Q^T A, B B^T = W L W^T; a song's coordinates are
     * (Q W)[song] x sqrt(L), the first n_dims of them. */
    uint32_t s = n_dims + OVERSAMPLE;
    uint64_t n = n_rows, l = t.n;
    y = calloc(n * s, sizeof *y); /* column-major n x s */
    z = calloc(l * s, sizeof *z); /* column-major l x s */
    b = calloc(l * s, sizeof *b); /* B^T, column-major l x s */
    c = calloc((size_t)s * s, sizeof *c);
    value = calloc(s, sizeof *value);
    vec = calloc((size_t)s * s, sizeof *vec);
    if (!y || !z || !b || !c || !value || !vec)
        goto done;
    range_basis(&a, n, l, s, seed, y, z);
    small_eigen(&a, n, l, s, y, b, c, value, vec);
    project_rows(&a, n, s, n_dims, y, value, vec, out);
    status = GENRES_OK;
done:
    if (status == GENRES_ERR_NOMEM)
        errbuf_set(err, err_len, "genre embedding: out of memory");
    label_table_free(&t);
    free(a.row_ptr);
    free(a.col);
    free(a.val);
    free(y);
    free(z);
    free(b);
    free(c);
    free(value);
    free(vec);
    return status;
}
