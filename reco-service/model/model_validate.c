/* Validating a model file before anything reads it: the header, the section table and then
 * each section in turn (one function per section), every offset, count, index, string and hash
 * table, and filling the model's public fields and private tables from what passed. */
#include "model_validate.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "model_build.h"

/* What one validation has learned so far, shared by the section checks in file order. */
struct check {
    struct model *m;
    struct model_tables *t;
    const char *path;
    char *err;
    size_t err_len;
    struct mf_header header;
    const void *sec[MF_SEC_COUNT + 1];
    uint64_t len[MF_SEC_COUNT + 1];
    struct mf_params p;
    const char *strings;
    uint64_t strings_len;
    bool key_circle;
    uint32_t source_rows[MODEL_MAX_SOURCES];
};

static void fail(struct check *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct check *v, const char *fmt, ...)
{
    errbuf_set(v->err, v->err_len, "model %s: ", v->path);
    va_list ap;
    va_start(ap, fmt);
    errbuf_vappend(v->err, v->err_len, fmt, ap);
    va_end(ap);
}

static const char *const SECTION_NAMES[MF_SEC_COUNT + 1] = {
    "",           "params",        "dims",        "centroids",    "cluster_start",
    "rows",       "row_norms",     "row_meta",    "strings",      "id_table",
    "isrc_table", "song_table",    "artist_keys", "artist_start", "artist_rows",
    "row_raw",    "cluster_names", "sources",     "artist_table", "artist_genres",
};

/* The element size each section must declare. */
static uint32_t section_elem_size(uint32_t id)
{
    switch (id) {
    case MF_SEC_PARAMS:
        return sizeof(struct mf_params);
    case MF_SEC_DIMS:
        return sizeof(struct mf_dim);
    case MF_SEC_CENTROIDS:
    case MF_SEC_ROWS:
    case MF_SEC_ROW_NORMS:
    case MF_SEC_ROW_RAW:
        return sizeof(float);
    case MF_SEC_CLUSTER_START:
    case MF_SEC_ARTIST_KEYS:
    case MF_SEC_ARTIST_START:
    case MF_SEC_ARTIST_ROWS:
    case MF_SEC_CLUSTER_NAMES:
    case MF_SEC_ARTIST_GENRES:
        return sizeof(uint32_t);
    case MF_SEC_SOURCES:
        return sizeof(struct mf_source);
    case MF_SEC_ROW_META:
        return sizeof(struct mf_row);
    case MF_SEC_STRINGS:
        return 1;
    default:
        return sizeof(struct mf_slot);
    }
}

static bool all_finite(const float *values, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (!isfinite(values[i]))
            return false;
    return true;
}

/* Checks one lookup table: power-of-two size, every used slot in range, at least one free
 * slot (so probing ends). Writes the number of used slots. */
static bool table_valid(const struct mf_slot *slots, uint64_t n_slots, uint32_t n_rows,
                        uint64_t strings_len, uint64_t *used)
{
    if (n_slots == 0 || (n_slots & (n_slots - 1)) != 0)
        return false;
    uint64_t count = 0;
    for (uint64_t i = 0; i < n_slots; i++) {
        if (slots[i].row == MF_EMPTY_SLOT)
            continue;
        if (slots[i].row >= n_rows || slots[i].key_off >= strings_len)
            return false;
        count++;
    }
    if (count >= n_slots)
        return false;
    *used = count;
    return true;
}

/* Checks the header: magic, format version, byte order, length, reserved bytes, section count,
 * checksum. */
static enum model_status check_header(struct check *v, const unsigned char *base, size_t size)
{
    struct mf_header header;

    if (size < sizeof header.magic) {
        bool prefix = memcmp(base, MF_MAGIC, size) == 0;
        fail(v, "%s (%zu bytes)", prefix ? "truncated header" : "no magic", size);
        return prefix ? MODEL_ERR_TRUNCATED : MODEL_ERR_FOREIGN;
    }
    if (memcmp(base, MF_MAGIC, sizeof header.magic) != 0) {
        fail(v, "not a mixtape model (bad magic)");
        return MODEL_ERR_FOREIGN;
    }
    if (size < MF_HEADER_LEN) {
        fail(v, "truncated header (%zu of %u bytes)", size, MF_HEADER_LEN);
        return MODEL_ERR_TRUNCATED;
    }
    memcpy(&header, base, sizeof header);
    if (header.format_version != MF_FORMAT_VERSION) {
        fail(v, "format version %u, this build reads version %u (rebuild it with reco-model build)",
             header.format_version, MF_FORMAT_VERSION);
        return MODEL_ERR_VERSION;
    }
    if (header.byte_order != MF_BYTE_ORDER) {
        fail(v, "byte order marker 0x%08x is not 0x%08x", header.byte_order, MF_BYTE_ORDER);
        return MODEL_ERR_VERSION;
    }
    if (header.file_len > size) {
        fail(v, "truncated: header says %llu bytes, file has %zu",
             (unsigned long long)header.file_len, size);
        return MODEL_ERR_TRUNCATED;
    }
    if (header.file_len != size) {
        fail(v, "header says %llu bytes, file has %zu", (unsigned long long)header.file_len, size);
        return MODEL_ERR_CORRUPT;
    }
    for (size_t i = 0; i < sizeof header.reserved; i++) {
        if (header.reserved[i] != 0) {
            fail(v, "reserved header byte %zu is not zero", i);
            return MODEL_ERR_CORRUPT;
        }
    }
    if (header.header_len != MF_HEADER_LEN || header.n_sections != MF_SEC_COUNT) {
        fail(v, "header_len %u / n_sections %u, expected %u / %u", header.header_len,
             header.n_sections, MF_HEADER_LEN, (unsigned)MF_SEC_COUNT);
        return MODEL_ERR_CORRUPT;
    }
    uint64_t table_end = MF_HEADER_LEN + (uint64_t)MF_SEC_COUNT * sizeof(struct mf_section);
    if (size < table_end) {
        fail(v, "truncated section table");
        return MODEL_ERR_TRUNCATED;
    }
    uint64_t sum = model_checksum(base + MF_HEADER_LEN, size - MF_HEADER_LEN);
    if (sum != header.checksum) {
        fail(v, "checksum mismatch (file %016llx, content %016llx)",
             (unsigned long long)header.checksum, (unsigned long long)sum);
        return MODEL_ERR_CORRUPT;
    }
    v->header = header;
    return MODEL_OK;
}

/* Checks the section table: ids in order, aligned, inside the file, whole elements. */
static enum model_status check_section_table(struct check *v, const unsigned char *base,
                                             size_t size)
{
    /* Section table: ids in order, aligned, inside the file, whole elements. */
    uint64_t table_end = MF_HEADER_LEN + (uint64_t)MF_SEC_COUNT * sizeof(struct mf_section);
    const void **sec_ptr = v->sec;
    uint64_t *sec_len = v->len;
    for (uint32_t i = 0; i < MF_SEC_COUNT; i++) {
        struct mf_section s;
        memcpy(&s, base + MF_HEADER_LEN + i * sizeof s, sizeof s);
        uint32_t id = i + 1;
        if (s.id != id || s.elem_size != section_elem_size(id) || s.offset % 8 != 0 ||
            s.offset < table_end || s.offset > size || s.length > size - s.offset ||
            s.length % s.elem_size != 0) {
            fail(v, "section %u (%s) has a bad id, size, offset or length", id, SECTION_NAMES[id]);
            return MODEL_ERR_CORRUPT;
        }
        sec_ptr[id] = base + s.offset;
        sec_len[id] = s.length;
    }
    return MODEL_OK;
}

/* Checks the params section: counts in range, and every sized section as long as they say. */
static enum model_status check_params(struct check *v)
{
    const void *const *sec_ptr = v->sec;
    const uint64_t *sec_len = v->len;
    /* Params and counts. */
    struct mf_params p;
    if (sec_len[MF_SEC_PARAMS] != sizeof p) {
        fail(v, "params section is %llu bytes, expected %zu",
             (unsigned long long)sec_len[MF_SEC_PARAMS], sizeof p);
        return MODEL_ERR_CORRUPT;
    }
    memcpy(&p, sec_ptr[MF_SEC_PARAMS], sizeof p);
    if (p.n_rows == 0 || p.n_rows >= MF_EMPTY_SLOT || p.k == 0 || p.k > MODEL_MAX_K ||
        p.k > p.n_rows || p.n_dims == 0 || p.n_dims > MODEL_MAX_DIMS || p.n_artists == 0 ||
        p.n_artists > p.n_rows || p.n_sources == 0 || p.n_sources > MODEL_MAX_SOURCES ||
        p.n_genre_dims > MODEL_MAX_GENRE_DIMS || p.n_genre_dims >= p.n_dims ||
        p.n_genre_rows > p.n_rows) {
        fail(v,
             "counts out of range: n_rows %u, k %u, n_dims %u, n_artists %u, n_sources %u, "
             "n_genre_dims %u, n_genre_rows %u",
             p.n_rows, p.k, p.n_dims, p.n_artists, p.n_sources, p.n_genre_dims, p.n_genre_rows);
        return MODEL_ERR_CORRUPT;
    }
    uint64_t rows = p.n_rows, dims = p.n_dims, k = p.k, artists = p.n_artists;
    struct {
        uint32_t id;
        uint64_t want;
    } sizes[] = {
        {MF_SEC_DIMS, dims * sizeof(struct mf_dim)},
        {MF_SEC_CENTROIDS, k * dims * sizeof(float)},
        {MF_SEC_CLUSTER_START, (k + 1) * sizeof(uint32_t)},
        {MF_SEC_ROWS, rows * dims * sizeof(float)},
        {MF_SEC_ROW_NORMS, rows * sizeof(float)},
        {MF_SEC_ROW_META, rows * sizeof(struct mf_row)},
        {MF_SEC_ARTIST_KEYS, rows * sizeof(uint32_t)},
        {MF_SEC_ARTIST_START, (artists + 1) * sizeof(uint32_t)},
        {MF_SEC_ARTIST_ROWS, rows * sizeof(uint32_t)},
        {MF_SEC_ROW_RAW, rows * MF_RAW_STRIDE * sizeof(float)},
        {MF_SEC_CLUSTER_NAMES, k * sizeof(uint32_t)},
        {MF_SEC_SOURCES, (uint64_t)p.n_sources * sizeof(struct mf_source)},
        {MF_SEC_ARTIST_GENRES, artists * sizeof(uint32_t)},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (sec_len[sizes[i].id] != sizes[i].want) {
            fail(v, "section %s is %llu bytes, counts say %llu", SECTION_NAMES[sizes[i].id],
                 (unsigned long long)sec_len[sizes[i].id], (unsigned long long)sizes[i].want);
            return MODEL_ERR_CORRUPT;
        }
    }
    v->p = p;
    return MODEL_OK;
}

/* Checks the strings section and the params' string offsets and weights. */
static enum model_status check_strings(struct check *v)
{
    const void *const *sec_ptr = v->sec;
    const uint64_t *sec_len = v->len;
    const struct mf_params p = v->p;
    /* Strings: every offset below the length reaches a NUL, and an artist list reaches an
     * empty string, because the section ends with two NULs. */
    const char *strings = sec_ptr[MF_SEC_STRINGS];
    uint64_t strings_len = sec_len[MF_SEC_STRINGS];
    if (strings_len < 2 || strings_len >= UINT32_MAX || strings[strings_len - 1] != '\0' ||
        strings[strings_len - 2] != '\0') {
        fail(v, "strings section does not end with two NULs");
        return MODEL_ERR_CORRUPT;
    }
    if (p.source_off >= strings_len || p.schema_off >= strings_len ||
        p.k_choice_off >= strings_len || p.genres_off >= strings_len) {
        fail(v, "params string offset out of range");
        return MODEL_ERR_CORRUPT;
    }
    if (!isfinite(p.inertia) || p.inertia < 0 || !isfinite(p.binary_weight) ||
        !isfinite(p.genre_weight) || p.genre_weight < 0) {
        fail(v, "params inertia, binary_weight or genre_weight not finite");
        return MODEL_ERR_CORRUPT;
    }
    v->strings = strings;
    v->strings_len = strings_len;
    return MODEL_OK;
}

/* Checks the dimensions: known features, each once, key as one dimension or a sin + cos pair, then
 * the genre components; records the model's features. */
static enum model_status check_dims(struct check *v)
{
    const void *const *sec_ptr = v->sec;
    const struct mf_params p = v->p;
    struct model *m = v->m;
    /* Dimensions: known features, each once (key may be a sin + cos pair), sane scaler. */
    const struct mf_dim *dim = sec_ptr[MF_SEC_DIMS];
    uint32_t seen = 0;
    bool key_circle = false;
    m->n_features = 0;
    uint32_t first_genre = p.n_dims - p.n_genre_dims;
    for (uint32_t d = first_genre; d < p.n_dims; d++) {
        const struct mf_dim *x = &dim[d];
        if (x->kind != MODEL_DIM_GENRE || x->feature != d - first_genre || !(x->std > 0) ||
            !isfinite(x->std) || !isfinite(x->mean) || !(x->weight > 0) || !isfinite(x->weight)) {
            fail(v, "dimension %u is not genre embedding component %u", d, d - first_genre);
            return MODEL_ERR_CORRUPT;
        }
    }
    for (uint32_t d = 0; d < first_genre; d++) {
        const struct mf_dim *x = &dim[d];
        bool kind_ok =
            x->kind == MODEL_DIM_LINEAR ||
            (x->feature == FEAT_KEY && (x->kind == MODEL_DIM_SIN || x->kind == MODEL_DIM_COS));
        if (x->feature >= FEAT_COUNT || !kind_ok || !isfinite(x->mean) || !isfinite(x->std) ||
            !(x->std > 0) || !isfinite(x->weight) || !(x->weight > 0)) {
            fail(v, "dimension %u has a bad feature, kind or scaler", d);
            return MODEL_ERR_CORRUPT;
        }
        bool second_of_pair = x->kind == MODEL_DIM_COS && d > 0 && dim[d - 1].kind == MODEL_DIM_SIN;
        if (x->kind == MODEL_DIM_SIN &&
            (d + 1 >= first_genre || dim[d + 1].kind != MODEL_DIM_COS)) {
            fail(v, "dimension %u: key sin without its cos", d);
            return MODEL_ERR_CORRUPT;
        }
        if (x->kind == MODEL_DIM_SIN)
            key_circle = true;
        if (second_of_pair)
            continue;
        if (seen & (1u << x->feature)) {
            fail(v, "feature %s appears twice", model_feature_name(x->feature));
            return MODEL_ERR_CORRUPT;
        }
        if (x->kind == MODEL_DIM_COS) {
            fail(v, "dimension %u: key cos without its sin", d);
            return MODEL_ERR_CORRUPT;
        }
        seen |= 1u << x->feature;
        m->features[m->n_features++] = (enum model_feature)x->feature;
    }
    v->key_circle = key_circle;
    return MODEL_OK;
}

/* Checks centroids, rows and norms finite, each norm its row's, cluster_start monotone from 0 to
 * n_rows. */
static enum model_status check_vectors(struct check *v)
{
    const void *const *sec_ptr = v->sec;
    const struct mf_params p = v->p;
    uint64_t rows = p.n_rows, dims = p.n_dims, k = p.k;
    const float *centroids = sec_ptr[MF_SEC_CENTROIDS];
    const float *row_values = sec_ptr[MF_SEC_ROWS];
    const float *norms = sec_ptr[MF_SEC_ROW_NORMS];
    if (!all_finite(centroids, k * dims) || !all_finite(row_values, rows * dims) ||
        !all_finite(norms, rows)) {
        fail(v, "a centroid, row or norm is not a finite number");
        return MODEL_ERR_CORRUPT;
    }
    /* Each norm is its row's (a cosine divides by it: a tiny one would score past 1 and break
     * the rankings' bounds). The writer rounds the double sum to float; allow that rounding. */
    for (uint64_t r = 0; r < rows; r++) {
        double squares = 0;
        for (uint64_t d = 0; d < dims; d++)
            squares += (double)row_values[r * dims + d] * row_values[r * dims + d];
        double want = sqrt(squares);
        if (fabs((double)norms[r] - want) > 1e-6 * (want > 1.0 ? want : 1.0)) {
            fail(v, "row %llu: norm %g is not its vector's %g", (unsigned long long)r,
                 (double)norms[r], want);
            return MODEL_ERR_CORRUPT;
        }
    }
    const uint32_t *start = sec_ptr[MF_SEC_CLUSTER_START];
    if (start[0] != 0 || start[k] != p.n_rows) {
        fail(v, "cluster_start runs %u..%u, expected 0..%u", start[0], start[k], p.n_rows);
        return MODEL_ERR_CORRUPT;
    }
    for (uint64_t c = 0; c < k; c++) {
        if (start[c + 1] < start[c]) {
            fail(v, "cluster_start decreases at cluster %llu", (unsigned long long)c);
            return MODEL_ERR_CORRUPT;
        }
    }
    return MODEL_OK;
}

/* Checks row metadata: string offsets, cluster, song key, popularity, source and present bits in
 * range; counts each source's rows. */
static enum model_status check_row_meta(struct check *v)
{
    const void *const *sec_ptr = v->sec;
    const struct mf_params p = v->p;
    uint64_t strings_len = v->strings_len;
    const uint32_t *start = sec_ptr[MF_SEC_CLUSTER_START];
    const struct mf_row *meta = sec_ptr[MF_SEC_ROW_META];
    uint32_t *source_rows = v->source_rows;
    for (uint32_t c = 0; c < p.k; c++) {
        for (uint32_t r = start[c]; r < start[c + 1]; r++) {
            const struct mf_row *x = &meta[r];
            if (x->id_off >= strings_len || x->name_off >= strings_len ||
                x->artists_off >= strings_len || x->genre_off >= strings_len ||
                x->isrc_off >= strings_len || x->cluster != c || x->song_key >= p.n_rows ||
                (x->popularity > 100 && x->popularity != 255) || x->source >= p.n_sources ||
                (x->present & ~((1u << FEAT_COUNT) - 1u))) {
                fail(v,
                     "row %u: string offset, cluster, song key, popularity, source or present "
                     "bits out of range",
                     r);
                return MODEL_ERR_CORRUPT;
            }
            source_rows[x->source]++;
        }
    }
    return MODEL_OK;
}

/* Checks the artist index: keys in range, artist_start monotone from 0 to n_rows, and
 * artist_rows every row once, under its own key, ascending. */
static enum model_status check_artist_index(struct check *v)
{
    const void *const *sec_ptr = v->sec;
    const struct mf_params p = v->p;
    /* The artist index: keys in range, and artist_rows holds every row exactly once, under its
     * own key, ascending (n_rows entries, each under its key, strictly increasing inside a key:
     * so no row twice, so every row once). */
    const uint32_t *artist_key = sec_ptr[MF_SEC_ARTIST_KEYS];
    const uint32_t *artist_start = sec_ptr[MF_SEC_ARTIST_START];
    const uint32_t *artist_rows = sec_ptr[MF_SEC_ARTIST_ROWS];
    for (uint32_t r = 0; r < p.n_rows; r++) {
        if (artist_key[r] >= p.n_artists) {
            fail(v, "row %u: artist key %u out of range", r, artist_key[r]);
            return MODEL_ERR_CORRUPT;
        }
    }
    if (artist_start[0] != 0 || artist_start[p.n_artists] != p.n_rows) {
        fail(v, "artist_start runs %u..%u, expected 0..%u", artist_start[0],
             artist_start[p.n_artists], p.n_rows);
        return MODEL_ERR_CORRUPT;
    }
    for (uint32_t a = 0; a < p.n_artists; a++) {
        if (artist_start[a + 1] < artist_start[a]) {
            fail(v, "artist_start decreases at artist %u", a);
            return MODEL_ERR_CORRUPT;
        }
        for (uint32_t i = artist_start[a]; i < artist_start[a + 1]; i++) {
            uint32_t r = artist_rows[i];
            if (r >= p.n_rows || artist_key[r] != a ||
                (i > artist_start[a] && r <= artist_rows[i - 1])) {
                fail(v, "artist_rows[%u] (artist %u) is out of order or range", i, a);
                return MODEL_ERR_CORRUPT;
            }
        }
    }
    return MODEL_OK;
}

/* Checks that rows sharing a song key share the primary artist. */
static enum model_status check_song_artists(struct check *v)
{
    const void *const *sec_ptr = v->sec;
    const struct mf_params p = v->p;
    uint64_t rows = p.n_rows;
    const struct mf_row *meta = sec_ptr[MF_SEC_ROW_META];
    const uint32_t *artist_key = sec_ptr[MF_SEC_ARTIST_KEYS];
    /* The same song is by the same artist (the artist cap and the same-song rule count on it). */
    uint32_t *artist_of_song = malloc(rows * sizeof *artist_of_song);
    if (!artist_of_song) {
        fail(v, "out of memory");
        return MODEL_ERR_NOMEM;
    }
    memset(artist_of_song, 0xff, rows * sizeof *artist_of_song);
    for (uint32_t r = 0; r < p.n_rows; r++) {
        uint32_t song = meta[r].song_key;
        if (artist_of_song[song] == UINT32_MAX) {
            artist_of_song[song] = artist_key[r];
        } else if (artist_of_song[song] != artist_key[r]) {
            free(artist_of_song);
            fail(v, "row %u: song key %u belongs to another artist's song", r, song);
            return MODEL_ERR_CORRUPT;
        }
    }
    free(artist_of_song);
    return MODEL_OK;
}

/* Checks raw values finite, style names and artist genre lists in the strings, each source's row
 * count the rows that name it. */
static enum model_status check_names_and_sources(struct check *v)
{
    const uint32_t *source_rows = v->source_rows;
    const void *const *sec_ptr = v->sec;
    const struct mf_params p = v->p;
    uint64_t rows = p.n_rows;
    const char *strings = v->strings;
    uint64_t strings_len = v->strings_len;
    /* Raw values: finite (an unknown one holds a mean). */
    const float *raw = sec_ptr[MF_SEC_ROW_RAW];
    if (!all_finite(raw, rows * MF_RAW_STRIDE)) {
        fail(v, "a raw feature value is not a finite number");
        return MODEL_ERR_CORRUPT;
    }
    /* Names: in the strings, not empty. */
    const uint32_t *name_off = sec_ptr[MF_SEC_CLUSTER_NAMES];
    for (uint32_t c = 0; c < p.k; c++) {
        if (name_off[c] >= strings_len || strings[name_off[c]] == '\0') {
            fail(v, "cluster %u: name offset out of range or name empty", c);
            return MODEL_ERR_CORRUPT;
        }
    }
    const uint32_t *genres_off = sec_ptr[MF_SEC_ARTIST_GENRES];
    for (uint32_t a = 0; a < p.n_artists; a++) {
        if (genres_off[a] >= strings_len) {
            fail(v, "artist %u: genre list offset out of range", a);
            return MODEL_ERR_CORRUPT;
        }
    }
    /* Sources: strings in range, and each one's row count is the rows that name it. */
    const struct mf_source *source = sec_ptr[MF_SEC_SOURCES];
    for (uint32_t i = 0; i < p.n_sources; i++) {
        if (source[i].name_off >= strings_len || source[i].schema_off >= strings_len ||
            source[i].n_rows != source_rows[i] || source[i].reserved != 0) {
            fail(v,
                 "source %u: string offset, row count %u (rows say %u) or "
                 "reserved field wrong",
                 i, source[i].n_rows, source_rows[i]);
            return MODEL_ERR_CORRUPT;
        }
    }
    return MODEL_OK;
}

/* Checks the four lookup tables (id, ISRC, song, artist). */
static enum model_status check_tables(struct check *v)
{
    const void *const *sec_ptr = v->sec;
    const uint64_t *sec_len = v->len;
    const struct mf_params p = v->p;
    uint64_t strings_len = v->strings_len;
    struct model_tables *t = v->t;
    static const uint32_t table_ids[4] = {MF_SEC_ID_TABLE, MF_SEC_ISRC_TABLE, MF_SEC_SONG_TABLE,
                                          MF_SEC_ARTIST_TABLE};
    for (int i = 0; i < 4; i++) {
        uint64_t used = 0;
        uint32_t bound = i == 3 ? p.n_artists : p.n_rows;
        t->slots[i] = sec_ptr[table_ids[i]];
        t->n_slots[i] = sec_len[table_ids[i]] / sizeof(struct mf_slot);
        if (!table_valid(t->slots[i], t->n_slots[i], bound, strings_len, &used) ||
            (i == 0 && used != p.n_ids) || (i == 3 && used != p.n_artists)) {
            fail(v, "lookup table %s is malformed", SECTION_NAMES[table_ids[i]]);
            return MODEL_ERR_CORRUPT;
        }
    }
    return MODEL_OK;
}

/* Fills the model and its tables from the checked sections (the sources decoded into owned
 * memory). */
static enum model_status publish(struct check *v)
{
    const void *const *sec_ptr = v->sec;
    const struct mf_params p = v->p;
    const char *strings = v->strings;
    struct model *m = v->m;
    struct model_tables *t = v->t;
    const float *centroids = sec_ptr[MF_SEC_CENTROIDS];
    const float *row_values = sec_ptr[MF_SEC_ROWS];
    const float *norms = sec_ptr[MF_SEC_ROW_NORMS];
    const uint32_t *start = sec_ptr[MF_SEC_CLUSTER_START];
    const uint32_t *artist_key = sec_ptr[MF_SEC_ARTIST_KEYS];
    const uint32_t *artist_start = sec_ptr[MF_SEC_ARTIST_START];
    const uint32_t *artist_rows = sec_ptr[MF_SEC_ARTIST_ROWS];
    const float *raw = sec_ptr[MF_SEC_ROW_RAW];
    const uint32_t *name_off = sec_ptr[MF_SEC_CLUSTER_NAMES];
    const uint32_t *genres_off = sec_ptr[MF_SEC_ARTIST_GENRES];
    const struct mf_source *source = sec_ptr[MF_SEC_SOURCES];
    const struct mf_dim *dim = sec_ptr[MF_SEC_DIMS];
    const struct mf_row *meta = sec_ptr[MF_SEC_ROW_META];
    m->n_rows = p.n_rows;
    m->n_dims = p.n_dims;
    m->k = p.k;
    m->centroids = centroids;
    m->cluster_start = start;
    m->rows = row_values;
    m->row_norms = norms;
    m->artist_keys = artist_key;
    m->n_artists = p.n_artists;
    m->artist_start = artist_start;
    m->artist_rows = artist_rows;
    m->n_ids = p.n_ids;
    snprintf(m->version, sizeof m->version, "%016llx", (unsigned long long)v->header.checksum);
    m->built_unix = p.built_unix;
    m->seed = p.seed;
    m->source = strings + p.source_off;
    m->n_genre_dims = p.n_genre_dims;
    m->n_sources = p.n_sources;
    t->raw = raw;
    t->cluster_names = name_off;
    t->artist_genres = genres_off;
    t->sources = calloc(p.n_sources, sizeof *t->sources);
    if (!t->sources) {
        fail(v, "out of memory");
        return MODEL_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < p.n_sources; i++)
        t->sources[i] = (struct model_source){
            .name = strings + source[i].name_off,
            .schema = strings + source[i].schema_off,
            .n_input_rows = source[i].n_input_rows,
            .n_malformed = source[i].n_malformed,
            .n_rows = source[i].n_rows,
            .n_merged = source[i].n_merged,
            .n_collapsed = source[i].n_collapsed,
            .features = source[i].features & ((1u << FEAT_COUNT) - 1u),
            .n_genre_rows = source[i].n_genre_rows,
        };
    t->dims = dim;
    t->rows = meta;
    t->strings = strings;
    t->strings_len = v->strings_len;
    t->params = (struct model_params){
        .restarts = p.restarts,
        .iterations = p.iterations,
        .tolerance_ms = p.tolerance_ms,
        .n_input_rows = p.n_input_rows,
        .n_malformed = p.n_malformed,
        .n_collapsed = p.n_collapsed,
        .inertia = p.inertia,
        .binary_weight = p.binary_weight,
        .key_circle = v->key_circle,
        .schema = strings + p.schema_off,
        .k_choice = strings + p.k_choice_off,
        .genre_weight = p.genre_weight,
        .genres = strings + p.genres_off,
        .n_genre_rows = p.n_genre_rows,
    };
    return MODEL_OK;
}

enum model_status model_validate(struct model_handle *h, const unsigned char *base, size_t size,
                                 const char *path, char *err, size_t err_len)
{
    struct check check = {
        .m = &h->pub, .t = &h->tables, .path = path, .err = err, .err_len = err_len};
    struct check *v = &check;
    enum model_status status = check_header(v, base, size);
    if (status == MODEL_OK)
        status = check_section_table(v, base, size);
    enum model_status (*const checks[])(struct check *) = {
        check_params,       check_strings,
        check_dims,         check_vectors,
        check_row_meta,     check_artist_index,
        check_song_artists, check_names_and_sources,
        check_tables,       publish,
    };
    for (size_t i = 0; status == MODEL_OK && i < sizeof checks / sizeof checks[0]; i++)
        status = checks[i](v);
    return status;
}
