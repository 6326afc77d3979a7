/* Private to the catalog reader: the schemas a catalog header is matched against (each column's
 * name and role) and the layout of the chosen one in a file (catalog_schema.c). */
#ifndef MIXTAPE_CATALOG_SCHEMA_H
#define MIXTAPE_CATALOG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "csv.h"
#include "model.h"

/* ---- schemas ----------------------------------------------------------------------------- */

enum role {
    R_IGNORE,
    R_ID,
    R_URI, /* spotify:track:<id> */
    R_NAME,
    R_ARTISTS_LIST, /* Python list literal */
    R_ARTISTS_SEMI, /* "A;B" */
    R_ARTIST,       /* one name */
    R_GENRE,
    R_ISRC,
    R_RELEASE_DATE,  /* YYYY, YYYY-MM or YYYY-MM-DD: the year */
    R_ARTIST_GENRES, /* Python list literal of the primary artist's genres */
    R_FEATURE,       /* + enum model_feature */
};

struct column {
    const char *name;
    int role;
    bool required;
};

#define MAX_COLUMNS 24

struct schema {
    const char *name;
    bool na_is_empty; /* the literal NA marks a missing text value */
    struct column columns[MAX_COLUMNS];
};

/* Column index of each column of the chosen schema in the file, or -1. */
struct layout {
    const struct schema *schema;
    int index[MAX_COLUMNS];
    size_t n_header;
};

/* Strips leading and trailing white space from the text[0, *len) in place. */
void catalog_trim(const char **text, size_t *len);

/* Matches header against the schemas, first fit wins, and fills *out. Returns false with
 * "unknown catalog schema: closest is NAME, missing columns: A, B" in err when none fits. */
bool catalog_detect_schema(const struct csv_record *header, struct layout *out, char *err,
                           size_t err_len);

#endif
