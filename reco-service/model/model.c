/* Reading a model file: map it, validate every byte the service will ever touch (header,
 * section table, checksum, offsets, counts, indexes, strings, hash tables), then answer
 * lookups, transforms and nearest-centroid queries straight from the mapping. */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "model_build.h"
#include "model_format.h"
#include "model_load.h"

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

/* What model_open keeps beside the public struct: typed views of the sections. */
struct model_tables {
    struct model_params params;
    const struct mf_dim *dims;
    const struct mf_row *rows;
    const char *strings;
    uint64_t strings_len;
    const struct mf_slot *slots[4]; /* id, isrc, song, artist */
    uint64_t n_slots[4];
    const float *raw;              /* n_rows x MF_RAW_STRIDE */
    const uint32_t *cluster_names; /* k string offsets */
    const uint32_t *artist_genres; /* n_artists string offsets */
    struct model_source *sources;  /* n_sources, decoded (owned) */
};

struct model_handle {
    struct model pub; /* first, so a struct model * is a struct model_handle * */
    struct model_tables tables;
};

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

static void say(char *err, size_t err_len, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void say(char *err, size_t err_len, const char *path, const char *fmt, ...)
{
    errbuf_set(err, err_len, "model %s: ", path);
    va_list ap;
    va_start(ap, fmt);
    errbuf_vappend(err, err_len, fmt, ap);
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

static enum model_status validate(struct model_handle *h, const unsigned char *base, size_t size,
                                  const char *path, char *err, size_t err_len)
{
    struct model *m = &h->pub;
    struct model_tables *t = &h->tables;
    struct mf_header header;

    if (size < sizeof header.magic) {
        bool prefix = memcmp(base, MF_MAGIC, size) == 0;
        say(err, err_len, path, "%s (%zu bytes)", prefix ? "truncated header" : "no magic", size);
        return prefix ? MODEL_ERR_TRUNCATED : MODEL_ERR_FOREIGN;
    }
    if (memcmp(base, MF_MAGIC, sizeof header.magic) != 0) {
        say(err, err_len, path, "not a mixtape model (bad magic)");
        return MODEL_ERR_FOREIGN;
    }
    if (size < MF_HEADER_LEN) {
        say(err, err_len, path, "truncated header (%zu of %u bytes)", size, MF_HEADER_LEN);
        return MODEL_ERR_TRUNCATED;
    }
    memcpy(&header, base, sizeof header);
    if (header.format_version != MF_FORMAT_VERSION) {
        say(err, err_len, path,
            "format version %u, this build reads version %u (rebuild it with reco-model build)",
            header.format_version, MF_FORMAT_VERSION);
        return MODEL_ERR_VERSION;
    }
    if (header.byte_order != MF_BYTE_ORDER) {
        say(err, err_len, path, "byte order marker 0x%08x is not 0x%08x", header.byte_order,
            MF_BYTE_ORDER);
        return MODEL_ERR_VERSION;
    }
    if (header.file_len > size) {
        say(err, err_len, path, "truncated: header says %llu bytes, file has %zu",
            (unsigned long long)header.file_len, size);
        return MODEL_ERR_TRUNCATED;
    }
    if (header.file_len != size) {
        say(err, err_len, path, "header says %llu bytes, file has %zu",
            (unsigned long long)header.file_len, size);
        return MODEL_ERR_CORRUPT;
    }
    for (size_t i = 0; i < sizeof header.reserved; i++) {
        if (header.reserved[i] != 0) {
            say(err, err_len, path, "reserved header byte %zu is not zero", i);
            return MODEL_ERR_CORRUPT;
        }
    }
    if (header.header_len != MF_HEADER_LEN || header.n_sections != MF_SEC_COUNT) {
        say(err, err_len, path, "header_len %u / n_sections %u, expected %u / %u",
            header.header_len, header.n_sections, MF_HEADER_LEN, (unsigned)MF_SEC_COUNT);
        return MODEL_ERR_CORRUPT;
    }
    uint64_t table_end = MF_HEADER_LEN + (uint64_t)MF_SEC_COUNT * sizeof(struct mf_section);
    if (size < table_end) {
        say(err, err_len, path, "truncated section table");
        return MODEL_ERR_TRUNCATED;
    }
    uint64_t sum = model_checksum(base + MF_HEADER_LEN, size - MF_HEADER_LEN);
    if (sum != header.checksum) {
        say(err, err_len, path, "checksum mismatch (file %016llx, content %016llx)",
            (unsigned long long)header.checksum, (unsigned long long)sum);
        return MODEL_ERR_CORRUPT;
    }

    /* Section table: ids in order, aligned, inside the file, whole elements. */
    const void *sec_ptr[MF_SEC_COUNT + 1] = {0};
    uint64_t sec_len[MF_SEC_COUNT + 1] = {0};
    for (uint32_t i = 0; i < MF_SEC_COUNT; i++) {
        struct mf_section s;
        memcpy(&s, base + MF_HEADER_LEN + i * sizeof s, sizeof s);
        uint32_t id = i + 1;
        if (s.id != id || s.elem_size != section_elem_size(id) || s.offset % 8 != 0 ||
            s.offset < table_end || s.offset > size || s.length > size - s.offset ||
            s.length % s.elem_size != 0) {
            say(err, err_len, path, "section %u (%s) has a bad id, size, offset or length", id,
                SECTION_NAMES[id]);
            return MODEL_ERR_CORRUPT;
        }
        sec_ptr[id] = base + s.offset;
        sec_len[id] = s.length;
    }

    /* Params and counts. */
    struct mf_params p;
    if (sec_len[MF_SEC_PARAMS] != sizeof p) {
        say(err, err_len, path, "params section is %llu bytes, expected %zu",
            (unsigned long long)sec_len[MF_SEC_PARAMS], sizeof p);
        return MODEL_ERR_CORRUPT;
    }
    memcpy(&p, sec_ptr[MF_SEC_PARAMS], sizeof p);
    if (p.n_rows == 0 || p.n_rows >= MF_EMPTY_SLOT || p.k == 0 || p.k > MODEL_MAX_K ||
        p.k > p.n_rows || p.n_dims == 0 || p.n_dims > MODEL_MAX_DIMS || p.n_artists == 0 ||
        p.n_artists > p.n_rows || p.n_sources == 0 || p.n_sources > MODEL_MAX_SOURCES ||
        p.n_genre_dims > MODEL_MAX_GENRE_DIMS || p.n_genre_dims >= p.n_dims ||
        p.n_genre_rows > p.n_rows) {
        say(err, err_len, path,
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
            say(err, err_len, path, "section %s is %llu bytes, counts say %llu",
                SECTION_NAMES[sizes[i].id], (unsigned long long)sec_len[sizes[i].id],
                (unsigned long long)sizes[i].want);
            return MODEL_ERR_CORRUPT;
        }
    }

    /* Strings: every offset below the length reaches a NUL, and an artist list reaches an
     * empty string, because the section ends with two NULs. */
    const char *strings = sec_ptr[MF_SEC_STRINGS];
    uint64_t strings_len = sec_len[MF_SEC_STRINGS];
    if (strings_len < 2 || strings_len >= UINT32_MAX || strings[strings_len - 1] != '\0' ||
        strings[strings_len - 2] != '\0') {
        say(err, err_len, path, "strings section does not end with two NULs");
        return MODEL_ERR_CORRUPT;
    }
    if (p.source_off >= strings_len || p.schema_off >= strings_len ||
        p.k_choice_off >= strings_len || p.genres_off >= strings_len) {
        say(err, err_len, path, "params string offset out of range");
        return MODEL_ERR_CORRUPT;
    }
    if (!isfinite(p.inertia) || p.inertia < 0 || !isfinite(p.binary_weight) ||
        !isfinite(p.genre_weight) || p.genre_weight < 0) {
        say(err, err_len, path, "params inertia, binary_weight or genre_weight not finite");
        return MODEL_ERR_CORRUPT;
    }

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
            say(err, err_len, path, "dimension %u is not genre embedding component %u", d,
                d - first_genre);
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
            say(err, err_len, path, "dimension %u has a bad feature, kind or scaler", d);
            return MODEL_ERR_CORRUPT;
        }
        bool second_of_pair = x->kind == MODEL_DIM_COS && d > 0 && dim[d - 1].kind == MODEL_DIM_SIN;
        if (x->kind == MODEL_DIM_SIN &&
            (d + 1 >= first_genre || dim[d + 1].kind != MODEL_DIM_COS)) {
            say(err, err_len, path, "dimension %u: key sin without its cos", d);
            return MODEL_ERR_CORRUPT;
        }
        if (x->kind == MODEL_DIM_SIN)
            key_circle = true;
        if (second_of_pair)
            continue;
        if (seen & (1u << x->feature)) {
            say(err, err_len, path, "feature %s appears twice", model_feature_name(x->feature));
            return MODEL_ERR_CORRUPT;
        }
        if (x->kind == MODEL_DIM_COS) {
            say(err, err_len, path, "dimension %u: key cos without its sin", d);
            return MODEL_ERR_CORRUPT;
        }
        seen |= 1u << x->feature;
        m->features[m->n_features++] = (enum model_feature)x->feature;
    }

    const float *centroids = sec_ptr[MF_SEC_CENTROIDS];
    const float *row_values = sec_ptr[MF_SEC_ROWS];
    const float *norms = sec_ptr[MF_SEC_ROW_NORMS];
    if (!all_finite(centroids, k * dims) || !all_finite(row_values, rows * dims) ||
        !all_finite(norms, rows)) {
        say(err, err_len, path, "a centroid, row or norm is not a finite number");
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
            say(err, err_len, path, "row %llu: norm %g is not its vector's %g",
                (unsigned long long)r, (double)norms[r], want);
            return MODEL_ERR_CORRUPT;
        }
    }
    const uint32_t *start = sec_ptr[MF_SEC_CLUSTER_START];
    if (start[0] != 0 || start[k] != p.n_rows) {
        say(err, err_len, path, "cluster_start runs %u..%u, expected 0..%u", start[0], start[k],
            p.n_rows);
        return MODEL_ERR_CORRUPT;
    }
    for (uint64_t c = 0; c < k; c++) {
        if (start[c + 1] < start[c]) {
            say(err, err_len, path, "cluster_start decreases at cluster %llu",
                (unsigned long long)c);
            return MODEL_ERR_CORRUPT;
        }
    }

    const struct mf_row *meta = sec_ptr[MF_SEC_ROW_META];
    uint32_t source_rows[MODEL_MAX_SOURCES] = {0};
    for (uint32_t c = 0; c < p.k; c++) {
        for (uint32_t r = start[c]; r < start[c + 1]; r++) {
            const struct mf_row *x = &meta[r];
            if (x->id_off >= strings_len || x->name_off >= strings_len ||
                x->artists_off >= strings_len || x->genre_off >= strings_len ||
                x->isrc_off >= strings_len || x->cluster != c || x->song_key >= p.n_rows ||
                (x->popularity > 100 && x->popularity != 255) || x->source >= p.n_sources ||
                (x->present & ~((1u << FEAT_COUNT) - 1u))) {
                say(err, err_len, path,
                    "row %u: string offset, cluster, song key, popularity, source or present "
                    "bits out of range",
                    r);
                return MODEL_ERR_CORRUPT;
            }
            source_rows[x->source]++;
        }
    }

    /* The artist index: keys in range, and artist_rows holds every row exactly once, under its
     * own key, ascending (n_rows entries, each under its key, strictly increasing inside a key:
     * so no row twice, so every row once). */
    const uint32_t *artist_key = sec_ptr[MF_SEC_ARTIST_KEYS];
    const uint32_t *artist_start = sec_ptr[MF_SEC_ARTIST_START];
    const uint32_t *artist_rows = sec_ptr[MF_SEC_ARTIST_ROWS];
    for (uint32_t r = 0; r < p.n_rows; r++) {
        if (artist_key[r] >= p.n_artists) {
            say(err, err_len, path, "row %u: artist key %u out of range", r, artist_key[r]);
            return MODEL_ERR_CORRUPT;
        }
    }
    if (artist_start[0] != 0 || artist_start[p.n_artists] != p.n_rows) {
        say(err, err_len, path, "artist_start runs %u..%u, expected 0..%u", artist_start[0],
            artist_start[p.n_artists], p.n_rows);
        return MODEL_ERR_CORRUPT;
    }
    for (uint32_t a = 0; a < p.n_artists; a++) {
        if (artist_start[a + 1] < artist_start[a]) {
            say(err, err_len, path, "artist_start decreases at artist %u", a);
            return MODEL_ERR_CORRUPT;
        }
        for (uint32_t i = artist_start[a]; i < artist_start[a + 1]; i++) {
            uint32_t r = artist_rows[i];
            if (r >= p.n_rows || artist_key[r] != a ||
                (i > artist_start[a] && r <= artist_rows[i - 1])) {
                say(err, err_len, path, "artist_rows[%u] (artist %u) is out of order or range", i,
                    a);
                return MODEL_ERR_CORRUPT;
            }
        }
    }

    /* The same song is by the same artist (the artist cap and the same-song rule count on it). */
    uint32_t *artist_of_song = malloc(rows * sizeof *artist_of_song);
    if (!artist_of_song) {
        say(err, err_len, path, "out of memory");
        return MODEL_ERR_NOMEM;
    }
    memset(artist_of_song, 0xff, rows * sizeof *artist_of_song);
    for (uint32_t r = 0; r < p.n_rows; r++) {
        uint32_t song = meta[r].song_key;
        if (artist_of_song[song] == UINT32_MAX) {
            artist_of_song[song] = artist_key[r];
        } else if (artist_of_song[song] != artist_key[r]) {
            free(artist_of_song);
            say(err, err_len, path, "row %u: song key %u belongs to another artist's song", r,
                song);
            return MODEL_ERR_CORRUPT;
        }
    }
    free(artist_of_song);

    /* Raw values: finite (an unknown one holds a mean). */
    const float *raw = sec_ptr[MF_SEC_ROW_RAW];
    if (!all_finite(raw, rows * MF_RAW_STRIDE)) {
        say(err, err_len, path, "a raw feature value is not a finite number");
        return MODEL_ERR_CORRUPT;
    }
    /* Names: in the strings, not empty. */
    const uint32_t *name_off = sec_ptr[MF_SEC_CLUSTER_NAMES];
    for (uint32_t c = 0; c < p.k; c++) {
        if (name_off[c] >= strings_len || strings[name_off[c]] == '\0') {
            say(err, err_len, path, "cluster %u: name offset out of range or name empty", c);
            return MODEL_ERR_CORRUPT;
        }
    }
    const uint32_t *genres_off = sec_ptr[MF_SEC_ARTIST_GENRES];
    for (uint32_t a = 0; a < p.n_artists; a++) {
        if (genres_off[a] >= strings_len) {
            say(err, err_len, path, "artist %u: genre list offset out of range", a);
            return MODEL_ERR_CORRUPT;
        }
    }
    /* Sources: strings in range, and each one's row count is the rows that name it. */
    const struct mf_source *source = sec_ptr[MF_SEC_SOURCES];
    for (uint32_t i = 0; i < p.n_sources; i++) {
        if (source[i].name_off >= strings_len || source[i].schema_off >= strings_len ||
            source[i].n_rows != source_rows[i] || source[i].reserved != 0) {
            say(err, err_len, path,
                "source %u: string offset, row count %u (rows say %u) or "
                "reserved field wrong",
                i, source[i].n_rows, source_rows[i]);
            return MODEL_ERR_CORRUPT;
        }
    }

    static const uint32_t table_ids[4] = {MF_SEC_ID_TABLE, MF_SEC_ISRC_TABLE, MF_SEC_SONG_TABLE,
                                          MF_SEC_ARTIST_TABLE};
    for (int i = 0; i < 4; i++) {
        uint64_t used = 0;
        uint32_t bound = i == 3 ? p.n_artists : p.n_rows;
        t->slots[i] = sec_ptr[table_ids[i]];
        t->n_slots[i] = sec_len[table_ids[i]] / sizeof(struct mf_slot);
        if (!table_valid(t->slots[i], t->n_slots[i], bound, strings_len, &used) ||
            (i == 0 && used != p.n_ids) || (i == 3 && used != p.n_artists)) {
            say(err, err_len, path, "lookup table %s is malformed", SECTION_NAMES[table_ids[i]]);
            return MODEL_ERR_CORRUPT;
        }
    }

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
    snprintf(m->version, sizeof m->version, "%016llx", (unsigned long long)header.checksum);
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
        say(err, err_len, path, "out of memory");
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
    t->strings_len = strings_len;
    t->params = (struct model_params){
        .restarts = p.restarts,
        .iterations = p.iterations,
        .tolerance_ms = p.tolerance_ms,
        .n_input_rows = p.n_input_rows,
        .n_malformed = p.n_malformed,
        .n_collapsed = p.n_collapsed,
        .inertia = p.inertia,
        .binary_weight = p.binary_weight,
        .key_circle = key_circle,
        .schema = strings + p.schema_off,
        .k_choice = strings + p.k_choice_off,
        .genre_weight = p.genre_weight,
        .genres = strings + p.genres_off,
        .n_genre_rows = p.n_genre_rows,
    };
    return MODEL_OK;
}

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
        say(err, err_len, path, "out of memory");
        status = MODEL_ERR_NOMEM;
        goto done;
    }
    status = validate(h, map, size, path, err, err_len);
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
