/* Reading saved tracks from ids / URIs / URLs, CSV or YourLibrary.json: see saved_file.h. */
#include "saved_file.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "xalloc.h"

#define MAX_FIELD 4096u

static char *dup_n(const char *s, size_t n)
{
    char *copy = xmalloc(n + 1);
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

static struct saved_entry *append(struct saved_list *list)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 64;
        list->items = xrealloc(list->items, cap * sizeof *list->items);
        list->cap = cap;
    }
    struct saved_entry *e = &list->items[list->n++];
    memset(e, 0, sizeof *e);
    return e;
}

static bool is_base62(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]))
            return false;
    return true;
}

int saved_file_track_id(const char *text, size_t len, char id[23])
{
    while (len > 0 && isspace((unsigned char)*text)) {
        text++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    static const char uri[] = "spotify:track:";
    const char *start = text;
    size_t n = len;
    if (len >= sizeof uri - 1 && strncmp(text, uri, sizeof uri - 1) == 0) {
        start = text + sizeof uri - 1;
        n = len - (sizeof uri - 1);
    } else {
        /* https://open.spotify.com/track/ID?si=..., also /intl-xx/track/ID */
        const char *host = NULL;
        for (size_t i = 0; i + 17 <= len; i++)
            if (strncmp(text + i, "open.spotify.com/", 17) == 0) {
                host = text + i;
                break;
            }
        if (host) {
            const char *track = NULL;
            for (const char *p = host; p + 7 <= text + len; p++)
                if (strncmp(p, "/track/", 7) == 0) {
                    track = p + 7;
                    break;
                }
            if (!track)
                return -1;
            start = track;
            n = 0;
            while (track + n < text + len && isalnum((unsigned char)track[n]))
                n++;
        }
    }
    if (n != 22 || !is_base62(start, n))
        return -1;
    memcpy(id, start, 22);
    id[22] = '\0';
    return 0;
}

/* Splits an artists cell: a Python list literal "['A', 'B']", "A;B", or (when plural is true)
 * "A,B"; otherwise the whole cell is one artist. */
static void add_artists(struct saved_entry *e, const char *cell, bool plural)
{
    size_t len = strlen(cell);
    while (len > 0 && isspace((unsigned char)*cell)) {
        cell++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)cell[len - 1]))
        len--;
    if (len >= 2 && cell[0] == '[' && cell[len - 1] == ']') {
        const char *p = cell + 1, *end = cell + len - 1;
        while (p < end && e->n_artists < SAVED_FILE_MAX_ARTISTS) {
            while (p < end && (isspace((unsigned char)*p) || *p == ','))
                p++;
            if (p >= end)
                break;
            char quote = (char)((*p == '\'' || *p == '"') ? *p++ : ',');
            const char *q = p;
            while (q < end && *q != quote)
                q++;
            if (q > p)
                e->artists[e->n_artists++] = dup_n(p, (size_t)(q - p));
            p = q < end ? q + 1 : end;
        }
        return;
    }
    char sep = (char)(memchr(cell, ';', len) ? ';' : (plural ? ',' : '\0'));
    const char *p = cell, *end = cell + len;
    while (p < end && e->n_artists < SAVED_FILE_MAX_ARTISTS) {
        const char *q = sep ? memchr(p, sep, (size_t)(end - p)) : NULL;
        if (!q)
            q = end;
        const char *a = p, *b = q;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a)
            e->artists[e->n_artists++] = dup_n(a, (size_t)(b - a));
        p = q + 1;
    }
}

/* ---- CSV ---- */

struct csv {
    const char *p, *end;
    size_t line;
};

/* Reads one record into cells (at most max_cells, each at most MAX_FIELD-1 bytes kept).
 * Returns the number of cells, 0 at the end, -1 on an unterminated quote. */
static int csv_record(struct csv *c, char cells[][MAX_FIELD], int max_cells)
{
    if (c->p >= c->end)
        return 0;
    int n = 0;
    for (;;) {
        size_t len = 0;
        char *cell = n < max_cells ? cells[n] : NULL;
        if (c->p < c->end && *c->p == '"') {
            c->p++;
            for (;;) {
                if (c->p >= c->end)
                    return -1;
                if (*c->p == '"') {
                    if (c->p + 1 < c->end && c->p[1] == '"') {
                        c->p++;
                    } else {
                        c->p++;
                        break;
                    }
                }
                if (*c->p == '\n')
                    c->line++;
                if (cell && len + 1 < MAX_FIELD)
                    cell[len++] = *c->p;
                c->p++;
            }
        }
        while (c->p < c->end && *c->p != ',' && *c->p != '\n') {
            if (cell && len + 1 < MAX_FIELD && *c->p != '\r')
                cell[len++] = *c->p;
            c->p++;
        }
        if (cell)
            cell[len] = '\0';
        n++;
        if (c->p >= c->end || *c->p == '\n') {
            c->line++;
            if (c->p < c->end)
                c->p++;
            return n < max_cells ? n : max_cells;
        }
        c->p++; /* the comma */
    }
}

static void lower_trim(const char *in, char *out, size_t out_len)
{
    while (isspace((unsigned char)*in))
        in++;
    size_t n = 0;
    while (in[n] && n + 1 < out_len) {
        out[n] = (char)tolower((unsigned char)in[n]);
        n++;
    }
    while (n > 0 && isspace((unsigned char)out[n - 1]))
        n--;
    out[n] = '\0';
    if ((unsigned char)out[0] == 0xef && (unsigned char)out[1] == 0xbb &&
        (unsigned char)out[2] == 0xbf)
        memmove(out, out + 3, strlen(out + 3) + 1); /* a UTF-8 byte-order mark */
}

static bool one_of(const char *name, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(name, *names) == 0)
            return true;
    return false;
}

static const char *const ID_COLUMNS[] = {"id",          "track_id",  "uri",        "track_uri",
                                         "spotify_uri", "track uri", "spotify id", NULL};
static const char *const NAME_COLUMNS[] = {"name",  "track_name", "track name",
                                           "title", "track",      NULL};
static const char *const ARTIST_COLUMNS[] = {"artist", "track_artist", "artist_name", NULL};
static const char *const ARTISTS_COLUMNS[] = {"artists", "artist name(s)", "artist_names", NULL};

#define MAX_CELLS 64

struct header {
    int id, name, artists;
    bool plural;
};

static bool csv_header(char cells[][MAX_FIELD], int n, struct header *h)
{
    *h = (struct header){-1, -1, -1, false};
    for (int i = 0; i < n; i++) {
        char name[64];
        lower_trim(cells[i], name, sizeof name);
        if (h->id < 0 && one_of(name, ID_COLUMNS))
            h->id = i;
        else if (h->name < 0 && one_of(name, NAME_COLUMNS))
            h->name = i;
        else if (h->artists < 0 && one_of(name, ARTISTS_COLUMNS)) {
            h->artists = i;
            h->plural = true;
        } else if (h->artists < 0 && one_of(name, ARTIST_COLUMNS))
            h->artists = i;
    }
    return h->id >= 0 || (h->name >= 0 && h->artists >= 0);
}

static int parse_csv(const char *text, size_t len, struct saved_list *out, char *err,
                     size_t err_len)
{
    int rc = -1;
    char(*cells)[MAX_FIELD] = calloc(MAX_CELLS, MAX_FIELD);
    if (!cells) {
        errbuf_set(err, err_len, "out of memory");
        return -1;
    }
    struct csv c = {text, text + len, 1};
    struct header h;
    int n = csv_record(&c, cells, MAX_CELLS);
    if (n <= 0 || !csv_header(cells, n, &h)) {
        errbuf_set(err, err_len,
                   "line 1: a CSV header needs an id/track_id/uri column, or name and "
                   "artists columns");
        goto done;
    }
    for (;;) {
        size_t line = c.line;
        n = csv_record(&c, cells, MAX_CELLS);
        if (n == 0)
            break;
        if (n < 0) {
            errbuf_set(err, err_len, "line %zu: a quoted field never ends", line);
            goto done;
        }
        if (n == 1 && cells[0][0] == '\0')
            continue; /* a blank line */
        char id[23] = "";
        if (h.id >= 0 && h.id < n && cells[h.id][0] &&
            saved_file_track_id(cells[h.id], strlen(cells[h.id]), id) != 0) {
            errbuf_set(err, err_len, "line %zu: '%.60s' is not a Spotify track id, URI or URL",
                       line, cells[h.id]);
            goto done;
        }
        const char *name = h.name >= 0 && h.name < n ? cells[h.name] : "";
        if (!id[0] && !name[0])
            continue; /* nothing to go on */
        struct saved_entry *e = append(out);
        if (id[0])
            e->id = dup_n(id, 22);
        if (name[0])
            e->name = dup_n(name, strlen(name));
        if (h.artists >= 0 && h.artists < n)
            add_artists(e, cells[h.artists], h.plural);
    }
    rc = 0;
done:
    free(cells);
    return rc;
}

/* ---- YourLibrary.json (and Web API saved-track pages) ---- */

static void json_artists(struct saved_entry *e, const cJSON *artists)
{
    if (cJSON_IsString(artists)) {
        add_artists(e, artists->valuestring, false);
        return;
    }
    const cJSON *a;
    cJSON_ArrayForEach(a, artists)
    {
        if (e->n_artists == SAVED_FILE_MAX_ARTISTS)
            break;
        const cJSON *name = cJSON_IsObject(a) ? cJSON_GetObjectItemCaseSensitive(a, "name") : a;
        if (cJSON_IsString(name) && name->valuestring[0])
            e->artists[e->n_artists++] = dup_n(name->valuestring, strlen(name->valuestring));
    }
}

static int parse_json(const char *text, size_t len, struct saved_list *out, char *err,
                      size_t err_len)
{
    const char *stopped = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &stopped, 0);
    if (!root) {
        errbuf_set(err, err_len, "not valid JSON (near byte %zu)",
                   (size_t)(stopped ? stopped - text : 0));
        return -1;
    }
    const cJSON *tracks = root;
    if (cJSON_IsObject(root)) {
        tracks = cJSON_GetObjectItemCaseSensitive(root, "tracks");
        if (!tracks)
            tracks = cJSON_GetObjectItemCaseSensitive(root, "items");
    }
    if (!cJSON_IsArray(tracks)) {
        errbuf_set(err, err_len,
                   "tracks: expected an array of tracks (YourLibrary.json: "
                   "{\"tracks\":[{\"artist\",\"track\",\"uri\"}]})");
        cJSON_Delete(root);
        return -1;
    }
    size_t index = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tracks)
    {
        if (!cJSON_IsObject(t)) {
            errbuf_set(err, err_len, "tracks[%zu]: expected an object", index);
            cJSON_Delete(root);
            return -1;
        }
        const cJSON *inner = cJSON_GetObjectItemCaseSensitive(t, "track");
        if (cJSON_IsObject(inner))
            t = inner; /* a Web API saved-track item */
        const cJSON *uri = cJSON_GetObjectItemCaseSensitive(t, "uri");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "track");
        if (!cJSON_IsString(name))
            name = cJSON_GetObjectItemCaseSensitive(t, "name");
        const cJSON *artists = cJSON_GetObjectItemCaseSensitive(t, "artists");
        if (!artists)
            artists = cJSON_GetObjectItemCaseSensitive(t, "artist");
        char track_id[23] = "";
        const cJSON *id_text = cJSON_IsString(uri) ? uri : id;
        if (cJSON_IsString(id_text) && id_text->valuestring[0] &&
            saved_file_track_id(id_text->valuestring, strlen(id_text->valuestring), track_id) != 0)
            track_id[0] = '\0'; /* a local file or podcast: go by name */
        bool has_name = cJSON_IsString(name) && name->valuestring[0];
        index++;
        if (!track_id[0] && !has_name)
            continue;
        struct saved_entry *e = append(out);
        if (track_id[0])
            e->id = dup_n(track_id, 22);
        if (has_name)
            e->name = dup_n(name->valuestring, strlen(name->valuestring));
        if (artists)
            json_artists(e, artists);
    }
    cJSON_Delete(root);
    return 0;
}

/* ---- one id / URI / URL per line ---- */

static int parse_lines(const char *text, size_t len, struct saved_list *out, char *err,
                       size_t err_len)
{
    const char *p = text, *end = text + len;
    for (size_t line = 1; p < end; line++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *a = p;
        while (a < eol && isspace((unsigned char)*a))
            a++;
        if (a < eol && *a != '#') {
            char id[23];
            if (saved_file_track_id(a, (size_t)(eol - a), id) != 0) {
                int shown = eol - a > 60 ? 60 : (int)(eol - a);
                errbuf_set(err, err_len, "line %zu: '%.*s' is not a Spotify track id, URI or URL",
                           line, shown, a);
                return -1;
            }
            append(out)->id = dup_n(id, 22);
        }
        p = eol + 1;
    }
    return 0;
}

int saved_file_parse(const char *text, size_t len, struct saved_list *out, char *err,
                     size_t err_len)
{
    size_t i = 0;
    if (len >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb &&
        (unsigned char)text[2] == 0xbf)
        i = 3;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    if (i < len && (text[i] == '{' || text[i] == '['))
        return parse_json(text + i, len - i, out, err, err_len);
    const char *eol = memchr(text, '\n', len);
    size_t first = eol ? (size_t)(eol - text) : len;
    if (memchr(text, ',', first)) {
        char(*cells)[MAX_FIELD] = xcalloc(MAX_CELLS, MAX_FIELD);
        struct csv c = {text, text + len, 1};
        int n = csv_record(&c, cells, MAX_CELLS);
        struct header h;
        bool csv = n > 0 && csv_header(cells, n, &h);
        free(cells);
        if (csv)
            return parse_csv(text, len, out, err, err_len);
    }
    return parse_lines(text, len, out, err, err_len);
}

int saved_file_read(const char *path, struct saved_list *out, char *err, size_t err_len)
{
    int rc = -1;
    char *text = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        errbuf_set(err, err_len, "%s: %s", path, strerror(errno));
        goto done;
    }
    text = malloc(SAVED_FILE_MAX_BYTES + 1);
    if (!text) {
        errbuf_set(err, err_len, "%s: out of memory", path);
        goto done;
    }
    size_t len = fread(text, 1, SAVED_FILE_MAX_BYTES + 1, f);
    if (ferror(f)) {
        errbuf_set(err, err_len, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (len > SAVED_FILE_MAX_BYTES) {
        errbuf_set(err, err_len, "%s: larger than the limit of %u bytes", path,
                   SAVED_FILE_MAX_BYTES);
        goto done;
    }
    char reason[400];
    if (saved_file_parse(text, len, out, reason, sizeof reason) != 0) {
        errbuf_set(err, err_len, "%s: %s", path, reason);
        goto done;
    }
    if (out->n == 0) {
        errbuf_set(err, err_len, "%s: no tracks found", path);
        goto done;
    }
    rc = 0;
done:
    if (f)
        fclose(f);
    free(text);
    return rc;
}

void saved_list_free(struct saved_list *list)
{
    for (size_t i = 0; i < list->n; i++) {
        free(list->items[i].id);
        free(list->items[i].name);
        for (uint32_t a = 0; a < list->items[i].n_artists; a++)
            free(list->items[i].artists[a]);
    }
    free(list->items);
    memset(list, 0, sizeof *list);
}
