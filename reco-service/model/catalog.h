/* Catalog loading: reads a track catalog CSV (.csv or .csv.gz), detects its schema from the
 * header (Kaggle 1921-2020 data.csv and our synthetic catalog, the 114k tracks set,
 * TidyTuesday 2020, the hit predictor, the 2024 genre search), parses every row into tracks
 * with their raw features, reports malformed rows by line, and collapses duplicate releases
 * of the same song onto one canonical track. */
#ifndef MIXTAPE_CATALOG_H
#define MIXTAPE_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Limits on untrusted catalog content. */
#define CATALOG_MAX_ROWS             20000000u /* tracks in one catalog */
#define CATALOG_MAX_ID               64u       /* bytes of a track id */
#define CATALOG_MAX_TEXT             1024u     /* bytes of a title, artist, genre or ISRC */
#define CATALOG_MAX_ARTISTS_TEXT     4096u     /* bytes of a whole artists field */
#define CATALOG_MAX_ARTISTS          64u       /* artists of one track (a model keeps 32) */
#define CATALOG_MAX_REPORTED         10u       /* malformed-row messages kept (all are counted) */
#define CATALOG_DEFAULT_TOLERANCE_MS 10000u

enum catalog_status {
    CATALOG_OK = 0,
    CATALOG_ERR_IO,     /* cannot open or read the file */
    CATALOG_ERR_SCHEMA, /* the header fits no known schema (the message names what is missing) */
    CATALOG_ERR_EMPTY,  /* no header, or no well-formed row */
    CATALOG_ERR_LIMIT,  /* more than CATALOG_MAX_ROWS rows */
    CATALOG_ERR_NOMEM,
};

/* "ok", "unknown catalog schema", ...; never NULL. */
const char *catalog_strerror(enum catalog_status status);

struct catalog_track {
    const char *id;    /* Spotify track id, never empty */
    const char *name;  /* "" when unknown */
    const char *genre; /* "" when unknown */
    const char *isrc;  /* "" when unknown */
    /* The primary artist's genres as given by the catalog (the 2024 set's artist_genres):
     * "a\0b\0\0", or "" when none. */
    const char *artist_genres;
    const char **artists;
    uint32_t n_artists;
    uint16_t year;      /* 0 = unknown */
    uint8_t popularity; /* 255 = unknown */
    uint32_t duration_ms;
    double value[FEAT_COUNT];
    uint32_t present;   /* bit (1u << feature) when value[feature] is known */
    uint32_t canonical; /* index of its canonical track (itself unless collapsed) */
    uint64_t line;      /* line of the catalog it came from */
};

struct catalog {
    const char *schema;           /* "kaggle-1921-2020", "tracks-114k", ... */
    uint32_t available;           /* features the schema carries, bit (1u << feature) */
    struct catalog_track *tracks; /* one per distinct id, in file order */
    uint32_t n_tracks;
    uint64_t n_records;      /* data records read (well-formed or not) */
    uint32_t n_malformed;    /* records skipped as malformed */
    uint32_t n_repeated_ids; /* records dropped because their id came earlier */
    uint32_t n_collapsed;    /* tracks folded into another song (catalog_collapse) */
    char reports[CATALOG_MAX_REPORTED][200]; /* "line N: why" for the first malformed rows */
    uint32_t n_reports;
    void *storage; /* private */
};

/* Reads the catalog at path. On CATALOG_OK writes *out (free with catalog_free); otherwise a
 * one-line reason into err. Malformed rows are skipped, counted and the first few described in
 * reports; a file without a single good row is CATALOG_ERR_EMPTY. Blocks on I/O. */
enum catalog_status catalog_load(const char *path, struct catalog **out, char *err, size_t err_len);

/* The same from a caller-owned buffer (for tests and fuzzing); name appears in messages. */
enum catalog_status catalog_load_memory(const void *bytes, size_t len, const char *name,
                                        struct catalog **out, char *err, size_t err_len);

/* Collapses duplicate releases: tracks with the same normalised title and primary artist whose
 * durations differ by at most tolerance_ms (or are unknown) become one song; the first in file
 * order stays canonical and the others point to it through canonical. Sets n_collapsed.
 * Returns CATALOG_OK, or CATALOG_ERR_NOMEM (the catalog is then unchanged). */
enum catalog_status catalog_collapse(struct catalog *catalog, uint32_t tolerance_ms);

/* Parses a Python list literal of strings such as ['A', "B's"] into at most max items,
 * copying each (NUL-terminated) into out_text (capacity text_len) and pointing items[] at
 * them. Returns the count, or -1 when it is not a well-formed list or does not fit. */
int catalog_parse_list(const char *literal, const char **items, int max, char *out_text,
                       size_t text_len);

void catalog_free(struct catalog *catalog);

#endif
