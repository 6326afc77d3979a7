/* Catalog loading (catalog.h): the header matched to a schema (catalog_schema.c), row parsing
 * with range checks (one function per kind of field), repeated-id removal, and duplicate-release
 * collapse. Strings live in one arena that catalog_free releases at once. */
#include "catalog.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_schema.h"
#include "csv.h"
#include "errbuf.h"
#include "label_table.h"

const char *catalog_strerror(enum catalog_status status)
{
    switch (status) {
    case CATALOG_OK:
        return "ok";
    case CATALOG_ERR_IO:
        return "cannot read the catalog";
    case CATALOG_ERR_SCHEMA:
        return "unknown catalog schema";
    case CATALOG_ERR_EMPTY:
        return "catalog has no usable rows";
    case CATALOG_ERR_LIMIT:
        return "catalog too large";
    case CATALOG_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown catalog status";
}

/* ---- arena ------------------------------------------------------------------------------- */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    _Alignas(8) unsigned char bytes[];
};

struct storage {
    struct arena_block *blocks;
    uint32_t *id_slots; /* id -> track index + 1, open addressing */
    size_t id_cap;
};

static void *arena_alloc(struct storage *s, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    struct arena_block *b = s->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > (1u << 20) ? n : (1u << 20);
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = s->blocks;
        b->used = 0;
        b->cap = cap;
        s->blocks = b;
    }
    void *p = b->bytes + b->used;
    b->used += n;
    return p;
}

static const char *arena_strdup(struct storage *s, const char *text, size_t len)
{
    if (len == 0)
        return "";
    char *p = arena_alloc(s, len + 1);
    if (!p)
        return NULL;
    memcpy(p, text, len);
    p[len] = '\0';
    return p;
}

/* Valid range of each feature's raw value. */
static const struct {
    double min, max;
} RANGE[FEAT_COUNT] = {
    [FEAT_VALENCE] = {0, 1},      [FEAT_YEAR] = {1000, 2100},   [FEAT_ACOUSTICNESS] = {0, 1},
    [FEAT_POPULARITY] = {0, 100}, [FEAT_DANCEABILITY] = {0, 1}, [FEAT_DURATION_MS] = {0, 86400000},
    [FEAT_ENERGY] = {0, 1},       [FEAT_EXPLICIT] = {0, 1},     [FEAT_INSTRUMENTALNESS] = {0, 1},
    [FEAT_KEY] = {-1, 11},        [FEAT_LIVENESS] = {0, 1},     [FEAT_LOUDNESS] = {-100, 10},
    [FEAT_MODE] = {0, 1},         [FEAT_SPEECHINESS] = {0, 1},  [FEAT_TEMPO] = {0, 1000},
};

/* ---- values ------------------------------------------------------------------------------ */

static bool parse_number(const char *text, double *out)
{
    if (!*text)
        return false;
    if (strcmp(text, "True") == 0 || strcmp(text, "true") == 0 || strcmp(text, "TRUE") == 0) {
        *out = 1;
        return true;
    }
    if (strcmp(text, "False") == 0 || strcmp(text, "false") == 0 || strcmp(text, "FALSE") == 0) {
        *out = 0;
        return true;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end); /* always sets end (to text when nothing parsed) */
    while (isspace((unsigned char)*end))
        end++;
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static bool valid_id(const char *id, size_t len)
{
    if (len == 0 || len > CATALOG_MAX_ID)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)id[i]))
            return false;
    return true;
}

int catalog_parse_list(const char *literal, const char **items, int max, char *out_text,
                       size_t text_len)
{
    const char *p = literal;
    size_t used = 0;
    int count = 0;
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != '[')
        return -1;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (*p == ']' && count == 0) {
            p++;
            break;
        }
        char quote = *p++;
        if (quote != '\'' && quote != '"')
            return -1;
        if (count >= max)
            return -1;
        items[count] = out_text + used;
        for (;;) {
            char c = *p++;
            if (c == '\0')
                return -1;
            if (c == quote)
                break;
            if (c == '\\') {
                c = *p++;
                if (c == '\0')
                    return -1;
                if (c == 'n')
                    c = '\n';
                else if (c == 't')
                    c = '\t';
            }
            if (used + 2 > text_len)
                return -1;
            out_text[used++] = c;
        }
        if (used + 1 > text_len)
            return -1;
        out_text[used++] = '\0';
        count++;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == ']') {
            p++;
            break;
        }
        return -1;
    }
    while (isspace((unsigned char)*p))
        p++;
    return *p == '\0' ? count : -1;
}

/* ---- loading ----------------------------------------------------------------------------- */

struct loader {
    struct catalog *catalog;
    struct storage *storage;
    struct layout layout;
    uint32_t cap_tracks;
};

static void report(struct catalog *c, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct catalog *c, uint64_t line, const char *fmt, ...)
{
    c->n_malformed++;
    if (c->n_reports >= CATALOG_MAX_REPORTED)
        return;
    char *out = c->reports[c->n_reports++];
    errbuf_set(out, sizeof c->reports[0], "line %llu: ", (unsigned long long)line);
    va_list ap;
    va_start(ap, fmt);
    errbuf_vappend(out, sizeof c->reports[0], fmt, ap);
    va_end(ap);
}

/* Finds an id among the loaded tracks; returns its slot (free or holding that id). */
static size_t id_slot(const struct loader *l, const char *id)
{
    size_t mask = l->storage->id_cap - 1;
    for (size_t i = label_table_hash(id) & mask;; i = (i + 1) & mask) {
        uint32_t held = l->storage->id_slots[i];
        if (held == 0 || strcmp(l->catalog->tracks[held - 1].id, id) == 0)
            return i;
    }
}

static bool id_index_grow(struct loader *l)
{
    struct storage *s = l->storage;
    size_t cap = s->id_cap ? s->id_cap * 2 : 1024;
    uint32_t *old = s->id_slots;
    size_t old_cap = s->id_cap;
    s->id_slots = calloc(cap, sizeof *s->id_slots);
    if (!s->id_slots) {
        s->id_slots = old;
        return false;
    }
    s->id_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            s->id_slots[id_slot(l, l->catalog->tracks[old[i] - 1].id)] = old[i];
    free(old);
    return true;
}

static const char *text_field(const struct loader *l, const struct csv_record *rec, int column,
                              size_t *len)
{
    int index = l->layout.index[column];
    if (index < 0 || (size_t)index >= rec->n_fields) {
        *len = 0;
        return "";
    }
    const char *text = rec->field[index];
    *len = strlen(text);
    catalog_trim(&text, len);
    if (l->layout.schema->na_is_empty && *len == 2 && memcmp(text, "NA", 2) == 0)
        *len = 0;
    return text;
}

/* One record on its way to becoming a track: the fields read so far. */
struct draft {
    struct catalog_track t;
    const char *artist_text[CATALOG_MAX_ARTISTS];
    size_t artist_len[CATALOG_MAX_ARTISTS];
    char list_text[CATALOG_MAX_ARTISTS_TEXT + CATALOG_MAX_ARTISTS];
    uint32_t n_artists;
    const char *id;
    size_t id_len;
};

/* A feature column: a number in its range (key -1 = no key). Returns 1, or 0 reported. */
static int read_feature(struct loader *l, const struct csv_record *rec, struct draft *d,
                        const char *name, enum model_feature f, const char *text, size_t len)
{
    struct catalog *c = l->catalog;
    double v;
    char number[64];
    if (len >= sizeof number) {
        report(c, rec->line, "%s is longer than %zu bytes", name, sizeof number - 1);
        return 0;
    }
    memcpy(number, text, len);
    number[len] = '\0';
    if (!parse_number(number, &v) || v < RANGE[f].min || v > RANGE[f].max) {
        report(c, rec->line, "%s '%.40s' is not a number in %g..%g", name, number, RANGE[f].min,
               RANGE[f].max);
        return 0;
    }
    if (f == FEAT_KEY && v < 0)
        return 1; /* -1: no key detected */
    d->t.value[f] = v;
    d->t.present |= 1u << f;
    return 1;
}

/* The track id, plain or as spotify:track:<id>. Returns 1, or 0 reported. */
static int read_id(struct loader *l, const struct csv_record *rec, struct draft *d,
                   const char *name, int role, const char *text, size_t len)
{
    struct catalog *c = l->catalog;
    if (role == R_URI) {
        static const char PREFIX[] = "spotify:track:";
        if (len < sizeof PREFIX || memcmp(text, PREFIX, sizeof PREFIX - 1) != 0) {
            report(c, rec->line, "uri '%.60s' is not spotify:track:<id>", text);
            return 0;
        }
        text += sizeof PREFIX - 1;
        len -= sizeof PREFIX - 1;
    }
    if (!valid_id(text, len)) {
        report(c, rec->line, "%s '%.40s' is not 1..%u letters and digits", name, text,
               CATALOG_MAX_ID);
        return 0;
    }
    d->id = text;
    d->id_len = len;
    return 1;
}

/* The primary artist's genres, a Python list literal, stored as "a\0b\0\0" without empty
 * items. Returns 1, 0 reported, or -1 out of memory. */
static int read_artist_genres(struct loader *l, const struct csv_record *rec, struct draft *d,
                              const char *name, const char *text, size_t len)
{
    struct catalog *c = l->catalog;
    const char *items[CATALOG_MAX_ARTISTS];
    char literal[CATALOG_MAX_TEXT + 1], genre_text[CATALOG_MAX_TEXT + 1];
    if (len == 0)
        return 1;
    if (len > CATALOG_MAX_TEXT) {
        report(c, rec->line, "%s is longer than %u bytes", name, CATALOG_MAX_TEXT);
        return 0;
    }
    memcpy(literal, text, len);
    literal[len] = '\0';
    int n = catalog_parse_list(literal, items, CATALOG_MAX_ARTISTS, genre_text, sizeof genre_text);
    if (n < 0) {
        report(c, rec->line, "%s '%.60s' is not a list of at most %u quoted genres", name, literal,
               CATALOG_MAX_ARTISTS);
        return 0;
    }
    /* Empty items are dropped (an empty string would end the list early). */
    size_t used = 0;
    for (int i = 0; i < n; i++)
        used += items[i][0] ? strlen(items[i]) + 1 : 0;
    if (used == 0)
        return 1;
    char *copy = arena_alloc(l->storage, used + 1);
    if (!copy)
        return -1;
    used = 0;
    for (int i = 0; i < n; i++) {
        size_t ilen = strlen(items[i]);
        if (!ilen)
            continue;
        memcpy(copy + used, items[i], ilen + 1);
        used += ilen + 1;
    }
    copy[used] = '\0';
    d->t.artist_genres = copy;
    return 1;
}

/* A release date's year (YYYY, YYYY-MM or YYYY-MM-DD), when it is in range. */
static void read_release_year(struct draft *d, const char *text, size_t len)
{
    if (len >= 4 && isdigit((unsigned char)text[0]) && isdigit((unsigned char)text[1]) &&
        isdigit((unsigned char)text[2]) && isdigit((unsigned char)text[3])) {
        int year =
            (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
        if (year >= RANGE[FEAT_YEAR].min && year <= RANGE[FEAT_YEAR].max) {
            d->t.value[FEAT_YEAR] = year;
            d->t.present |= 1u << FEAT_YEAR;
        }
    }
}

/* Artists as "A;B". Returns 1, or 0 reported. */
static int read_artists_semi(struct loader *l, const struct csv_record *rec, struct draft *d,
                             const char *text, size_t len)
{
    while (len) {
        const char *semi = memchr(text, ';', len);
        size_t part = semi ? (size_t)(semi - text) : len;
        const char *a = text;
        size_t alen = part;
        catalog_trim(&a, &alen);
        if (alen) {
            if (d->n_artists >= CATALOG_MAX_ARTISTS) {
                report(l->catalog, rec->line, "artists: more than %u", CATALOG_MAX_ARTISTS);
                return 0;
            }
            d->artist_text[d->n_artists] = a;
            d->artist_len[d->n_artists++] = alen;
        }
        if (!semi)
            break;
        text += part + 1;
        len -= part + 1;
    }
    return 1;
}

/* Artists as a Python list literal (or a plain name where a list was expected). Returns 1, or
 * 0 reported. */
static int read_artists_list(struct loader *l, const struct csv_record *rec, struct draft *d,
                             const char *text, size_t len)
{
    char literal[CATALOG_MAX_ARTISTS_TEXT + 1];
    memcpy(literal, text, len);
    literal[len] = '\0';
    if (len && text[0] != '[') {
        d->artist_text[0] = text; /* a plain name where a list was expected */
        d->artist_len[0] = len;
        d->n_artists = 1;
        return 1;
    }
    int n = catalog_parse_list(literal, d->artist_text, CATALOG_MAX_ARTISTS, d->list_text,
                               sizeof d->list_text);
    if (n < 0) {
        report(l->catalog, rec->line, "artists '%.60s' is not a list of at most %u quoted names",
               literal, CATALOG_MAX_ARTISTS);
        return 0;
    }
    d->n_artists = 0;
    for (int i = 0; i < n; i++) {
        size_t alen = strlen(d->artist_text[i]);
        const char *a = d->artist_text[i];
        catalog_trim(&a, &alen);
        if (alen) {
            d->artist_text[d->n_artists] = a;
            d->artist_len[d->n_artists++] = alen;
        }
    }
    return 1;
}

/* One column of the record by its role. Returns 1 read, 0 reported (the row is skipped), or
 * -1 out of memory. */
static int read_column(struct loader *l, const struct csv_record *rec, struct draft *d, int col)
{
    const struct column *column = &l->layout.schema->columns[col];
    const char *name = column->name;
    int role = column->role;
    size_t len;
    const char *text = text_field(l, rec, col, &len);
    if (role >= R_FEATURE)
        return read_feature(l, rec, d, name, (enum model_feature)(role - R_FEATURE), text, len);
    bool artists = role == R_ARTISTS_LIST || role == R_ARTISTS_SEMI;
    size_t limit = artists ? CATALOG_MAX_ARTISTS_TEXT : CATALOG_MAX_TEXT;
    if (len > limit && role != R_IGNORE) {
        report(l->catalog, rec->line, "%s is longer than %zu bytes", name, limit);
        return 0;
    }
    const char **copy = NULL;
    switch (role) {
    case R_ID:
    case R_URI:
        return read_id(l, rec, d, name, role, text, len);
    case R_NAME:
        copy = &d->t.name;
        break;
    case R_GENRE:
        copy = &d->t.genre;
        break;
    case R_ISRC:
        copy = &d->t.isrc;
        break;
    case R_ARTIST_GENRES:
        return read_artist_genres(l, rec, d, name, text, len);
    case R_RELEASE_DATE:
        read_release_year(d, text, len);
        return 1;
    case R_ARTIST:
        if (len) {
            d->artist_text[0] = text;
            d->artist_len[0] = len;
            d->n_artists = 1;
        }
        return 1;
    case R_ARTISTS_SEMI:
        return read_artists_semi(l, rec, d, text, len);
    case R_ARTISTS_LIST:
        return read_artists_list(l, rec, d, text, len);
    default:
        return 1;
    }
    *copy = arena_strdup(l->storage, text, len);
    return *copy ? 1 : -1;
}

/* Adds the draft as a track unless its id is already known (a repeated id keeps its first row).
 * Returns 1 added, 0 repeated, -1 out of memory, -2 over CATALOG_MAX_ROWS. */
static int add_track(struct loader *l, struct draft *d)
{
    struct catalog *c = l->catalog;
    struct catalog_track t = d->t;
    if ((uint64_t)(c->n_tracks + 1) * 2 > l->storage->id_cap && !id_index_grow(l))
        return -1;
    char id_copy[CATALOG_MAX_ID + 1];
    memcpy(id_copy, d->id, d->id_len);
    id_copy[d->id_len] = '\0';
    size_t slot = id_slot(l, id_copy);
    if (l->storage->id_slots[slot] != 0) {
        c->n_repeated_ids++;
        return 0;
    }
    if (c->n_tracks >= CATALOG_MAX_ROWS)
        return -2;

    t.id = arena_strdup(l->storage, id_copy, d->id_len);
    if (!t.name)
        t.name = "";
    if (!t.genre)
        t.genre = "";
    if (!t.isrc)
        t.isrc = "";
    if (!t.artist_genres)
        t.artist_genres = "";
    uint32_t n_artists = d->n_artists;
    t.artists = arena_alloc(l->storage, (n_artists ? n_artists : 1) * sizeof *t.artists);
    if (!t.id || !t.artists)
        return -1;
    for (uint32_t i = 0; i < n_artists; i++) {
        t.artists[i] = arena_strdup(l->storage, d->artist_text[i], d->artist_len[i]);
        if (!t.artists[i])
            return -1;
    }
    t.n_artists = n_artists;
    if (t.present & (1u << FEAT_YEAR))
        t.year = (uint16_t)t.value[FEAT_YEAR];
    if (t.present & (1u << FEAT_POPULARITY))
        t.popularity = (uint8_t)lround(t.value[FEAT_POPULARITY]);
    if (t.present & (1u << FEAT_DURATION_MS))
        t.duration_ms = (uint32_t)lround(t.value[FEAT_DURATION_MS]);

    if (c->n_tracks == l->cap_tracks) {
        uint32_t cap = l->cap_tracks ? l->cap_tracks * 2 : 4096;
        struct catalog_track *grown = realloc(c->tracks, cap * sizeof *grown);
        if (!grown)
            return -1;
        c->tracks = grown;
        l->cap_tracks = cap;
    }
    t.canonical = c->n_tracks;
    c->tracks[c->n_tracks] = t;
    l->storage->id_slots[slot] = ++c->n_tracks;
    return 1;
}

/* Parses one record into a track; returns 1 added, 0 skipped (malformed or repeated id),
 * -1 out of memory, -2 over CATALOG_MAX_ROWS. */
static int add_record(struct loader *l, const struct csv_record *rec)
{
    struct catalog *c = l->catalog;
    const struct schema *schema = l->layout.schema;
    struct draft d = {.t = {.popularity = 255, .line = rec->line}};

    if (rec->n_fields != l->layout.n_header) {
        report(c, rec->line, "%zu fields, the header has %zu", rec->n_fields, l->layout.n_header);
        return 0;
    }
    for (int col = 0; col < MAX_COLUMNS && schema->columns[col].name; col++) {
        int read = read_column(l, rec, &d, col);
        if (read != 1)
            return read;
    }
    if (!d.id) {
        report(c, rec->line, "no track id");
        return 0;
    }
    return add_track(l, &d);
}

static enum catalog_status load(struct csv_reader *reader, const char *name, struct catalog **out,
                                char *err, size_t err_len)
{
    enum catalog_status status = CATALOG_ERR_NOMEM;
    struct catalog *c = calloc(1, sizeof *c);
    struct storage *s = calloc(1, sizeof *s);
    struct loader l = {.catalog = c, .storage = s};
    struct csv_record rec;
    char why[256];
    if (!c || !s) {
        free(s);
        s = NULL;
        errbuf_set(err, err_len, "%s: out of memory", name);
        goto done;
    }
    c->storage = s;

    /* The header: the first record that parses. */
    enum csv_status cs = csv_next(reader, &rec, why, sizeof why);
    if (cs != CSV_OK) {
        status = cs == CSV_END ? CATALOG_ERR_EMPTY : CATALOG_ERR_IO;
        errbuf_set(err, err_len, "%s: %s", name, cs == CSV_END ? "empty file, no header" : why);
        goto done;
    }
    if (!catalog_detect_schema(&rec, &l.layout, why, sizeof why)) {
        status = CATALOG_ERR_SCHEMA;
        errbuf_set(err, err_len, "%s: %s", name, why);
        goto done;
    }
    c->schema = l.layout.schema->name;
    for (int col = 0; col < MAX_COLUMNS && l.layout.schema->columns[col].name; col++) {
        int role = l.layout.schema->columns[col].role;
        if (l.layout.index[col] < 0)
            continue;
        if (role >= R_FEATURE)
            c->available |= 1u << (role - R_FEATURE);
        if (role == R_RELEASE_DATE)
            c->available |= 1u << FEAT_YEAR;
    }

    for (;;) {
        cs = csv_next(reader, &rec, why, sizeof why);
        if (cs == CSV_END)
            break;
        if (cs == CSV_ERR_IO || cs == CSV_ERR_NOMEM) {
            status = cs == CSV_ERR_IO ? CATALOG_ERR_IO : CATALOG_ERR_NOMEM;
            errbuf_set(err, err_len, "%s: %s", name, why);
            goto done;
        }
        c->n_records++;
        if (cs != CSV_OK) {
            report(c, rec.line, "%s", strchr(why, ':') ? strchr(why, ':') + 2 : why);
            continue;
        }
        int added = add_record(&l, &rec);
        if (added == -1) {
            errbuf_set(err, err_len, "%s: out of memory at line %llu", name,
                       (unsigned long long)rec.line);
            goto done;
        }
        if (added == -2) {
            status = CATALOG_ERR_LIMIT;
            errbuf_set(err, err_len, "%s: more than %u tracks (line %llu)", name, CATALOG_MAX_ROWS,
                       (unsigned long long)rec.line);
            goto done;
        }
    }
    if (c->n_tracks == 0) {
        status = CATALOG_ERR_EMPTY;
        errbuf_set(err, err_len, "%s: no well-formed rows (%llu read, %u malformed%s%s)", name,
                   (unsigned long long)c->n_records, c->n_malformed,
                   c->n_reports ? "; first: " : "", c->n_reports ? c->reports[0] : "");
        goto done;
    }
    free(s->id_slots);
    s->id_slots = NULL;
    *out = c;
    c = NULL;
    status = CATALOG_OK;
done:
    catalog_free(c);
    return status;
}

enum catalog_status catalog_load(const char *path, struct catalog **out, char *err, size_t err_len)
{
    struct csv_reader *reader = NULL;
    if (csv_open_file(path, NULL, &reader, err, err_len) != CSV_OK)
        return CATALOG_ERR_IO;
    enum catalog_status status = load(reader, path, out, err, err_len);
    csv_close(reader);
    return status;
}

enum catalog_status catalog_load_memory(const void *bytes, size_t len, const char *name,
                                        struct catalog **out, char *err, size_t err_len)
{
    struct csv_reader *reader = NULL;
    if (csv_open_memory(bytes, len, NULL, &reader) != CSV_OK) {
        errbuf_set(err, err_len, "%s: out of memory", name);
        return CATALOG_ERR_NOMEM;
    }
    enum catalog_status status = load(reader, name, out, err, err_len);
    csv_close(reader);
    return status;
}

void catalog_free(struct catalog *c)
{
    if (!c)
        return;
    struct storage *s = c->storage;
    if (s) {
        while (s->blocks) {
            struct arena_block *next = s->blocks->next;
            free(s->blocks);
            s->blocks = next;
        }
        free(s->id_slots);
        free(s);
    }
    free(c->tracks);
    free(c);
}

/* ---- duplicate releases ------------------------------------------------------------------ */

enum catalog_status catalog_collapse(struct catalog *c, uint32_t tolerance_ms)
{
    enum catalog_status result = CATALOG_ERR_NOMEM;
    size_t cap = 16;
    while (cap < (size_t)c->n_tracks * 2)
        cap *= 2;
    uint32_t *head = calloc(cap, sizeof *head); /* key -> first canonical + 1 */
    uint32_t *next = malloc((c->n_tracks ? c->n_tracks : 1) * sizeof *next);
    char **keys = calloc(c->n_tracks ? c->n_tracks : 1, sizeof *keys);
    if (!head || !next || !keys)
        goto done;
    uint32_t collapsed = 0;
    uint32_t *canonical = malloc((c->n_tracks ? c->n_tracks : 1) * sizeof *canonical);
    if (!canonical)
        goto done;
    for (uint32_t i = 0; i < c->n_tracks; i++) {
        struct catalog_track *t = &c->tracks[i];
        canonical[i] = i;
        next[i] = UINT32_MAX;
        char key[1024];
        size_t n = model_normalize(t->name, true, key, sizeof key / 2);
        if (n == 0)
            continue;
        key[n++] = '\x1f';
        model_normalize(t->n_artists ? t->artists[0] : "", false, key + n, sizeof key - n);
        keys[i] = strdup(key);
        if (!keys[i]) {
            free(canonical);
            goto done;
        }
        size_t mask = cap - 1;
        size_t slot = label_table_hash(key) & mask;
        while (head[slot] && strcmp(keys[head[slot] - 1], key) != 0)
            slot = (slot + 1) & mask;
        if (!head[slot]) {
            head[slot] = i + 1;
            continue;
        }
        uint32_t last = UINT32_MAX;
        for (uint32_t j = head[slot] - 1; j != UINT32_MAX; j = next[j]) {
            uint32_t a = c->tracks[j].duration_ms, b = t->duration_ms;
            uint32_t gap = a > b ? a - b : b - a;
            if (a == 0 || b == 0 || gap <= tolerance_ms) {
                canonical[i] = j;
                collapsed++;
                break;
            }
            last = j;
        }
        if (canonical[i] == i && last != UINT32_MAX)
            next[last] = i;
    }
    for (uint32_t i = 0; i < c->n_tracks; i++)
        c->tracks[i].canonical = canonical[i];
    c->n_collapsed = collapsed;
    free(canonical);
    result = CATALOG_OK;
done:
    if (keys)
        for (uint32_t i = 0; i < c->n_tracks; i++)
            free(keys[i]);
    free(keys);
    free(next);
    free(head);
    return result;
}
