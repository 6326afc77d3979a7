/* Reading the catalog CSV the emulator's users and audio features are drawn from: see
 * catalog.h. Columns are found by name in the header, so several public schemas work. */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "splitmix64.h"
#include "xalloc.h"

#define MAX_ROWS   4000000
#define MAX_FIELDS 64

static const char *const FEATURE_NAMES[EMU_FEAT_COUNT] = {
    "danceability", "energy",           "key",      "loudness", "mode",  "speechiness",
    "acousticness", "instrumentalness", "liveness", "valence",  "tempo", "time_signature",
};

const char *emu_feature_name(enum emu_feature feature)
{
    return FEATURE_NAMES[feature];
}

const char *emu_catalog_strerror(enum emu_catalog_status status)
{
    switch (status) {
    case EMU_CATALOG_OK:
        return "ok";
    case EMU_CATALOG_ERR_IO:
        return "cannot open or read the catalog file";
    case EMU_CATALOG_ERR_HEADER:
        return "the catalog header lacks a required column (id or track_id, name or track_name, "
               "artists)";
    case EMU_CATALOG_ERR_LINE:
        return "a catalog line is longer than 65536 bytes";
    case EMU_CATALOG_ERR_EMPTY:
        return "the catalog has no usable row";
    case EMU_CATALOG_ERR_TOO_BIG:
        return "the catalog has more than 4000000 rows";
    }
    return "unknown catalog status";
}

uint64_t emu_random_next(uint64_t *state)
{
    return splitmix64_next(state);
}

static uint64_t hash_text(const char *text, uint64_t salt)
{
    uint64_t h = 0xcbf29ce484222325ull ^ salt;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

void emu_id_from(const char *text, uint64_t salt, char out[EMU_ID_LEN + 1])
{
    static const char BASE62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint64_t state = hash_text(text, salt);
    for (int i = 0; i < EMU_ID_LEN; i++)
        out[i] = BASE62[emu_random_next(&state) % 62];
    out[EMU_ID_LEN] = '\0';
}

bool emu_id_valid(const char *text)
{
    size_t n = 0;
    for (; text[n]; n++) {
        char c = text[n];
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (!ok || n >= EMU_ID_LEN)
            return false;
    }
    return n == EMU_ID_LEN;
}

static const char *keep(struct emu_catalog *catalog, const char *text)
{
    if (catalog->n_strings == catalog->cap_strings) {
        catalog->cap_strings = catalog->cap_strings ? catalog->cap_strings * 2 : 1024;
        catalog->strings = xrealloc(catalog->strings, catalog->cap_strings * sizeof(char *));
    }
    char *copy = xstrdup(text);
    catalog->strings[catalog->n_strings++] = copy;
    return copy;
}

/* Splits one RFC 4180 line in place: fields[] point into line, quotes removed and "" unescaped.
 * Returns the number of fields, at most MAX_FIELDS. */
static int split_csv(char *line, char *fields[MAX_FIELDS])
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == MAX_FIELDS)
            return n;
        char *out = p;
        fields[n++] = out;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '\0')
                    break;
                if (*p == '"' && p[1] == '"') {
                    *out++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *out++ = *p++;
                }
            }
            while (*p && *p != ',')
                p++;
        } else {
            while (*p && *p != ',')
                *out++ = *p++;
        }
        if (*p == ',') {
            *out = '\0';
            p++;
            continue;
        }
        *out = '\0';
        return n;
    }
}

/* Artists as "['A', "B's"]" (Python list literal) or "A;B". Writes at most EMU_MAX_ARTISTS. */
static int parse_artists(struct emu_catalog *catalog, const char *text, struct emu_track *track)
{
    char name[512];
    int n = 0;
    if (text[0] != '[') {
        const char *p = text;
        while (*p && n < EMU_MAX_ARTISTS) {
            const char *end = strchr(p, ';');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (len > 0 && len < sizeof name) {
                memcpy(name, p, len);
                name[len] = '\0';
                track->artists[n++] = keep(catalog, name);
            }
            if (!end)
                break;
            p = end + 1;
        }
        return n;
    }
    const char *p = text + 1;
    while (*p && *p != ']' && n < EMU_MAX_ARTISTS) {
        while (*p == ' ' || *p == ',')
            p++;
        char quote = *p;
        if (quote != '\'' && quote != '"')
            break;
        p++;
        size_t len = 0;
        while (*p && *p != quote) {
            if (*p == '\\' && p[1])
                p++;
            if (len + 1 < sizeof name)
                name[len++] = *p;
            p++;
        }
        name[len] = '\0';
        if (*p == quote)
            p++;
        if (len > 0)
            track->artists[n++] = keep(catalog, name);
    }
    return n;
}

enum column {
    COL_ID,
    COL_NAME,
    COL_ARTISTS,
    COL_ALBUM,
    COL_YEAR,
    COL_RELEASE_DATE,
    COL_DURATION,
    COL_EXPLICIT,
    COL_ISRC,
    COL_GENRE,
    COL_COUNT
};

struct layout {
    int column[COL_COUNT];
    int feature[EMU_FEAT_COUNT];
};

static void read_header(char *header, struct layout *layout)
{
    static const struct {
        const char *name;
        enum column column;
    } NAMES[] = {
        {"id", COL_ID},
        {"track_id", COL_ID},
        {"name", COL_NAME},
        {"track_name", COL_NAME},
        {"artists", COL_ARTISTS},
        {"album_name", COL_ALBUM},
        {"year", COL_YEAR},
        {"release_date", COL_RELEASE_DATE},
        {"duration_ms", COL_DURATION},
        {"explicit", COL_EXPLICIT},
        {"isrc", COL_ISRC},
        {"genre", COL_GENRE},
        {"track_genre", COL_GENRE},
    };
    for (int c = 0; c < COL_COUNT; c++)
        layout->column[c] = -1;
    for (int f = 0; f < EMU_FEAT_COUNT; f++)
        layout->feature[f] = -1;
    char *fields[MAX_FIELDS];
    int n = split_csv(header, fields);
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof NAMES / sizeof NAMES[0]; k++)
            if (strcmp(fields[i], NAMES[k].name) == 0 && layout->column[NAMES[k].column] < 0)
                layout->column[NAMES[k].column] = i;
        for (int f = 0; f < EMU_FEAT_COUNT; f++)
            if (strcmp(fields[i], FEATURE_NAMES[f]) == 0)
                layout->feature[f] = i;
    }
}

static const char *field(char *fields[], int n, const struct layout *layout, enum column c)
{
    int i = layout->column[c];
    return (i >= 0 && i < n) ? fields[i] : "";
}

static void index_insert(struct emu_catalog *catalog, size_t position)
{
    size_t mask = catalog->index_size - 1;
    size_t slot = hash_text(catalog->tracks[position].id, 0) & mask;
    while (catalog->index[slot] != 0)
        slot = (slot + 1) & mask;
    catalog->index[slot] = (uint32_t)position + 1;
}

const struct emu_track *emu_catalog_find(const struct emu_catalog *catalog, const char *id)
{
    if (catalog->index_size == 0)
        return NULL;
    size_t mask = catalog->index_size - 1;
    size_t slot = hash_text(id, 0) & mask;
    while (catalog->index[slot] != 0) {
        const struct emu_track *track = &catalog->tracks[catalog->index[slot] - 1];
        if (strcmp(track->id, id) == 0)
            return track;
        slot = (slot + 1) & mask;
    }
    return NULL;
}

/* Grows the index to keep it at most half full. */
static void index_reserve(struct emu_catalog *catalog, size_t wanted)
{
    if (wanted * 2 <= catalog->index_size)
        return;
    size_t size = catalog->index_size ? catalog->index_size : 1024;
    while (size < wanted * 2)
        size *= 2;
    free(catalog->index);
    catalog->index = xcalloc(size, sizeof(uint32_t));
    catalog->index_size = size;
    for (size_t i = 0; i + 1 < wanted; i++)
        index_insert(catalog, i);
}

static void fill_release_date(struct emu_track *track, const char *release_date, const char *year)
{
    size_t len = strlen(release_date);
    if ((len == 4 || len == 7 || len == 10) && release_date[0] >= '0' && release_date[0] <= '9') {
        memcpy(track->release_date, release_date, len + 1);
        return;
    }
    long y = strtol(year, NULL, 10);
    if (y < 1000 || y > 9999) {
        /* The 114k schema has no date: derive a stable year from the album name. */
        char id[EMU_ID_LEN + 1];
        emu_id_from(track->album, 7, id);
        y = 1960 + (long)((unsigned char)id[0] * 7 + (unsigned char)id[1]) % 63;
    }
    snprintf(track->release_date, sizeof track->release_date, "%04ld", y);
}

/* Adds one data line. Returns false when the row is unusable (it is counted as skipped). */
static bool add_row(struct emu_catalog *catalog, char *line, const struct layout *layout)
{
    char *fields[MAX_FIELDS];
    int n = split_csv(line, fields);
    const char *id = field(fields, n, layout, COL_ID);
    const char *name = field(fields, n, layout, COL_NAME);
    if (!emu_id_valid(id) || name[0] == '\0' || emu_catalog_find(catalog, id))
        return false;
    struct emu_track track;
    memset(&track, 0, sizeof track);
    memcpy(track.id, id, EMU_ID_LEN + 1);
    track.n_artists = parse_artists(catalog, field(fields, n, layout, COL_ARTISTS), &track);
    if (track.n_artists == 0)
        return false;
    track.name = keep(catalog, name);
    const char *album = field(fields, n, layout, COL_ALBUM);
    track.album = album[0] ? keep(catalog, album) : track.name;
    fill_release_date(&track, field(fields, n, layout, COL_RELEASE_DATE),
                      field(fields, n, layout, COL_YEAR));
    long duration = strtol(field(fields, n, layout, COL_DURATION), NULL, 10);
    track.duration_ms = (duration > 0 && duration < 100000000) ? (int)duration : 180000;
    const char *explicit_text = field(fields, n, layout, COL_EXPLICIT);
    track.explicit_lyrics = strcmp(explicit_text, "1") == 0 || strcmp(explicit_text, "True") == 0 ||
                            strcmp(explicit_text, "true") == 0;
    const char *isrc = field(fields, n, layout, COL_ISRC);
    if (strlen(isrc) == 12)
        memcpy(track.isrc, isrc, 13);
    const char *genre = field(fields, n, layout, COL_GENRE);
    if (genre[0] != '\0') {
        /* Genres repeat: share one copy with the previous row that had the same genre. */
        const char *same = NULL;
        for (size_t back = catalog->n_tracks; back > 0 && back + 64 > catalog->n_tracks; back--)
            if (catalog->tracks[back - 1].genre &&
                strcmp(catalog->tracks[back - 1].genre, genre) == 0) {
                same = catalog->tracks[back - 1].genre;
                break;
            }
        track.genre = same ? same : keep(catalog, genre);
    }
    track.has_features = true;
    for (int f = 0; f < EMU_FEAT_COUNT; f++) {
        int i = layout->feature[f];
        if (i < 0 || i >= n || fields[i][0] == '\0') {
            if (f == EMU_FEAT_TIME_SIGNATURE) {
                track.features[f] = 4;
                continue;
            }
            track.has_features = false;
            continue;
        }
        track.features[f] = strtod(fields[i], NULL);
    }
    catalog->tracks[catalog->n_tracks++] = track;
    index_reserve(catalog, catalog->n_tracks);
    index_insert(catalog, catalog->n_tracks - 1);
    return true;
}

enum emu_catalog_status emu_catalog_load(const char *path, struct emu_catalog *out)
{
    enum emu_catalog_status status = EMU_CATALOG_ERR_IO;
    struct emu_catalog catalog;
    memset(&catalog, 0, sizeof catalog);
    size_t cap = 0;
    char *line = malloc(EMU_MAX_LINE + 2);
    gzFile file = gzopen(path, "rb");
    if (!line || !file)
        goto done;
    if (!gzgets(file, line, EMU_MAX_LINE + 2))
        goto done;
    line[strcspn(line, "\r\n")] = '\0';
    struct layout layout;
    read_header(line, &layout);
    status = EMU_CATALOG_ERR_HEADER;
    if (layout.column[COL_ID] < 0 || layout.column[COL_NAME] < 0 || layout.column[COL_ARTISTS] < 0)
        goto done;
    while (gzgets(file, line, EMU_MAX_LINE + 2)) {
        size_t len = strlen(line);
        if (len > EMU_MAX_LINE) {
            status = EMU_CATALOG_ERR_LINE;
            goto done;
        }
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if (catalog.n_tracks == cap) {
            if (cap >= MAX_ROWS) {
                status = EMU_CATALOG_ERR_TOO_BIG;
                goto done;
            }
            cap = cap ? cap * 2 : 4096;
            catalog.tracks = xrealloc(catalog.tracks, cap * sizeof *catalog.tracks);
        }
        if (!add_row(&catalog, line, &layout))
            catalog.skipped_rows++;
    }
    int errnum = 0;
    gzerror(file, &errnum);
    status = EMU_CATALOG_ERR_IO;
    if (errnum != Z_OK && errnum != Z_STREAM_END)
        goto done;
    status = EMU_CATALOG_ERR_EMPTY;
    if (catalog.n_tracks == 0)
        goto done;
    status = EMU_CATALOG_OK;
    *out = catalog;
done:
    if (file)
        gzclose(file);
    free(line);
    if (status != EMU_CATALOG_OK)
        emu_catalog_free(&catalog);
    return status;
}

void emu_catalog_free(struct emu_catalog *catalog)
{
    for (size_t i = 0; i < catalog->n_strings; i++)
        free(catalog->strings[i]);
    free(catalog->strings);
    free(catalog->tracks);
    free(catalog->index);
    memset(catalog, 0, sizeof *catalog);
}
