/* Genre labels for the quality evaluation: one pass over the catalog CSV collects (id, genre)
 * pairs, sorts them, and resolves each distinct id to its model row. See labels.h. */
#include "labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_FIELDS 64u

struct pair {
    char id[LABELS_MAX_ID + 1];
    uint32_t genre;
};

const char *labels_strerror(enum labels_status status)
{
    switch (status) {
    case LABELS_OK:
        return "ok";
    case LABELS_ERR_IO:
        return "cannot read the catalog";
    case LABELS_ERR_FORMAT:
        return "catalog format not understood";
    case LABELS_ERR_NOMATCH:
        return "no catalog id is in the model";
    case LABELS_ERR_NOMEM:
        return "out of memory";
    }
    return "unknown labels status";
}

size_t labels_split_csv(char *line, char **fields, size_t max_fields)
{
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    size_t n = 0;
    char *read = line;
    for (;;) {
        char *write = read;
        char *start = read;
        if (*read == '"') {
            read++;
            for (;;) {
                if (*read == '\0')
                    break;
                if (*read == '"' && read[1] == '"') {
                    *write++ = '"';
                    read += 2;
                } else if (*read == '"') {
                    read++;
                    break;
                } else {
                    *write++ = *read++;
                }
            }
        }
        while (*read != ',' && *read != '\0')
            *write++ = *read++;
        char end = *read;
        *write = '\0';
        if (n < max_fields)
            fields[n] = start;
        n++;
        if (end == '\0')
            break;
        read++;
    }
    return n;
}

static int find_column(char **header, size_t n, const char *const *names)
{
    for (const char *const *name = names; *name; name++)
        for (size_t i = 0; i < n; i++)
            if (strcmp(header[i], *name) == 0)
                return (int)i;
    return -1;
}

static int compare_pairs(const void *a, const void *b)
{
    const struct pair *pa = a, *pb = b;
    int c = strcmp(pa->id, pb->id);
    if (c != 0)
        return c;
    return (pa->genre > pb->genre) - (pa->genre < pb->genre);
}

static int genre_index(struct labels *labels, const char *name, uint32_t *out)
{
    for (uint32_t g = 0; g < labels->n_genres; g++) {
        if (strcmp(labels->genre_names[g], name) == 0) {
            *out = g;
            return 0;
        }
    }
    if (labels->n_genres >= LABELS_MAX_GENRES)
        return -1;
    char *copy = strdup(name);
    if (!copy)
        return -1;
    labels->genre_names[labels->n_genres] = copy;
    *out = labels->n_genres++;
    return 0;
}

/* Reads every (id, genre) pair of the file into *pairs_out. */
static enum labels_status read_pairs(const char *path, const char *genre_column,
                                     struct labels *labels, struct pair **pairs_out, size_t *n_out,
                                     char *err, size_t err_len)
{
    enum labels_status status = LABELS_ERR_IO;
    struct pair *pairs = NULL;
    size_t n_pairs = 0, cap = 0;
    char *line = malloc(LABELS_MAX_LINE);
    gzFile file = gzopen(path, "rb");
    if (!line || !file) {
        snprintf(err, err_len, "%s: cannot open", path);
        goto done;
    }
    char *fields[MAX_FIELDS];
    if (!gzgets(file, line, (int)LABELS_MAX_LINE)) {
        snprintf(err, err_len, "%s: empty file", path);
        goto done;
    }
    size_t n_header = labels_split_csv(line, fields, MAX_FIELDS);
    if (n_header > MAX_FIELDS)
        n_header = MAX_FIELDS;
    static const char *const ID_NAMES[] = {"track_id", "id", NULL};
    static const char *const GENRE_NAMES[] = {"track_genre", "genre", "playlist_genre",
                                              "search_genre", NULL};
    const char *const chosen[] = {genre_column, NULL};
    int id_col = find_column(fields, n_header, ID_NAMES);
    int genre_col = find_column(fields, n_header, genre_column ? chosen : GENRE_NAMES);
    if (id_col < 0 || genre_col < 0) {
        status = LABELS_ERR_FORMAT;
        snprintf(err, err_len, "%s: header has no %s column", path,
                 id_col < 0 ? "track_id/id" : (genre_column ? genre_column : "genre"));
        goto done;
    }
    size_t line_no = 1;
    while (gzgets(file, line, (int)LABELS_MAX_LINE)) {
        line_no++;
        size_t len = strlen(line);
        if (len == LABELS_MAX_LINE - 1 && line[len - 1] != '\n') {
            status = LABELS_ERR_FORMAT;
            snprintf(err, err_len, "%s:%zu: line longer than %u bytes", path, line_no,
                     LABELS_MAX_LINE - 1);
            goto done;
        }
        size_t n = labels_split_csv(line, fields, MAX_FIELDS);
        if (n <= (size_t)id_col || n <= (size_t)genre_col || n > MAX_FIELDS)
            continue; /* a short or malformed record carries no usable label */
        const char *id = fields[id_col];
        const char *genre = fields[genre_col];
        if (id[0] == '\0' || genre[0] == '\0')
            continue;
        if (strlen(id) > LABELS_MAX_ID) {
            status = LABELS_ERR_FORMAT;
            snprintf(err, err_len, "%s:%zu: field id longer than %u bytes", path, line_no,
                     LABELS_MAX_ID);
            goto done;
        }
        uint32_t g;
        if (genre_index(labels, genre, &g) != 0) {
            status = LABELS_ERR_FORMAT;
            snprintf(err, err_len, "%s:%zu: field genre: more than %u distinct genres", path,
                     line_no, LABELS_MAX_GENRES);
            goto done;
        }
        if (n_pairs == cap) {
            cap = cap ? cap * 2 : 4096;
            struct pair *grown = realloc(pairs, cap * sizeof *pairs);
            if (!grown) {
                status = LABELS_ERR_NOMEM;
                snprintf(err, err_len, "out of memory reading %s", path);
                goto done;
            }
            pairs = grown;
        }
        memcpy(pairs[n_pairs].id, id, strlen(id) + 1);
        pairs[n_pairs].genre = g;
        n_pairs++;
    }
    if (!gzeof(file)) {
        snprintf(err, err_len, "%s: read error", path);
        goto done;
    }
    *pairs_out = pairs;
    *n_out = n_pairs;
    pairs = NULL;
    status = LABELS_OK;
done:
    free(pairs);
    free(line);
    if (file)
        gzclose(file);
    return status;
}

enum labels_status labels_read(const char *path, const char *genre_column,
                               const struct model *model, struct labels *out, char *err,
                               size_t err_len)
{
    enum labels_status status = LABELS_ERR_NOMEM;
    struct labels labels = {0};
    struct pair *pairs = NULL;
    size_t n_pairs = 0;
    labels.n_rows = model->n_rows;
    labels.genre_names = calloc(LABELS_MAX_GENRES, sizeof *labels.genre_names);
    labels.row_genres = calloc(model->n_rows ? model->n_rows : 1, sizeof *labels.row_genres);
    if (!labels.genre_names || !labels.row_genres) {
        snprintf(err, err_len, "out of memory");
        goto done;
    }
    status = read_pairs(path, genre_column, &labels, &pairs, &n_pairs, err, err_len);
    if (status != LABELS_OK)
        goto done;
    status = LABELS_ERR_NOMEM;
    qsort(pairs, n_pairs, sizeof *pairs, compare_pairs);
    labels.ids = malloc((n_pairs ? n_pairs : 1) * sizeof *labels.ids);
    labels.id_row = malloc((n_pairs ? n_pairs : 1) * sizeof *labels.id_row);
    labels.genre_pool = calloc(labels.n_genres ? labels.n_genres : 1, sizeof *labels.genre_pool);
    labels.genre_pool_len = calloc(labels.n_genres ? labels.n_genres : 1, sizeof(uint32_t));
    if (!labels.ids || !labels.id_row || !labels.genre_pool || !labels.genre_pool_len) {
        snprintf(err, err_len, "out of memory");
        goto done;
    }
    for (uint32_t g = 0; g < labels.n_genres; g++) {
        labels.genre_pool[g] = malloc(n_pairs * sizeof(uint32_t));
        if (!labels.genre_pool[g]) {
            snprintf(err, err_len, "out of memory");
            goto done;
        }
    }
    /* One distinct id per run of equal ids; each distinct (id, genre) joins that genre's pool. */
    uint32_t row = MODEL_NO_ROW;
    for (size_t i = 0; i < n_pairs; i++) {
        int new_id = i == 0 || strcmp(pairs[i].id, pairs[i - 1].id) != 0;
        if (new_id) {
            row = model_find_id(model, pairs[i].id);
            if (row == MODEL_NO_ROW) {
                labels.unresolved++;
                continue;
            }
            memcpy(labels.ids[labels.n_ids], pairs[i].id, sizeof pairs[i].id);
            labels.id_row[labels.n_ids] = row;
            labels.n_ids++;
        } else if (row == MODEL_NO_ROW || pairs[i].genre == pairs[i - 1].genre) {
            continue;
        }
        uint32_t g = pairs[i].genre;
        genre_set_add(&labels.row_genres[row], g);
        labels.genre_pool[g][labels.genre_pool_len[g]++] = labels.n_ids - 1;
    }
    if (labels.n_ids == 0) {
        status = LABELS_ERR_NOMATCH;
        snprintf(err, err_len, "%s: none of its %zu labelled records has an id the model knows",
                 path, n_pairs);
        goto done;
    }
    *out = labels;
    labels = (struct labels){0};
    status = LABELS_OK;
done:
    free(pairs);
    labels_free(&labels);
    return status;
}

void labels_free(struct labels *labels)
{
    if (labels->genre_names)
        for (uint32_t g = 0; g < labels->n_genres; g++)
            free(labels->genre_names[g]);
    if (labels->genre_pool)
        for (uint32_t g = 0; g < labels->n_genres; g++)
            free(labels->genre_pool[g]);
    free(labels->genre_names);
    free(labels->genre_pool);
    free(labels->genre_pool_len);
    free(labels->row_genres);
    free(labels->ids);
    free(labels->id_row);
    *labels = (struct labels){0};
}
