/* The model file: what reco-service holds in memory. One versioned binary file written by
 * `reco-model build` (feature list, scaler, centroids, the scaled catalog grouped so each
 * cluster is one contiguous block, per-track metadata with artist and song keys, id / ISRC /
 * song lookups, an index of each artist's rows, build parameters, checksum). model_open reads it
 * into a private copy (model_load.h: regular files only, header and size checked first) and
 * validates every offset, length and the checksum before handing it out, so nothing later can
 * read out of bounds and the file may change on disk without touching the open model.
 *
 * Threads: a struct model is immutable once opened; any number of threads may read it at once.
 */
#ifndef MIXTAPE_MODEL_H
#define MIXTAPE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The raw audio/track features a catalog may carry: the original notebook's 15. */
enum model_feature {
    FEAT_VALENCE,
    FEAT_YEAR,
    FEAT_ACOUSTICNESS,
    FEAT_POPULARITY,
    FEAT_DANCEABILITY,
    FEAT_DURATION_MS,
    FEAT_ENERGY,
    FEAT_EXPLICIT,
    FEAT_INSTRUMENTALNESS,
    FEAT_KEY,
    FEAT_LIVENESS,
    FEAT_LOUDNESS,
    FEAT_MODE,
    FEAT_SPEECHINESS,
    FEAT_TEMPO,
    FEAT_COUNT
};

/* "valence", "year", ... as the catalogs spell them. Never NULL for a valid feature. */
const char *model_feature_name(enum model_feature feature);

/* Looks a feature up by its catalog name. Returns 0 and writes *out, or -1. */
int model_feature_from_name(const char *name, enum model_feature *out);

/* Raw (unscaled) values of one track, as far as they are known: value[f] is read only when
 * present has bit f. */
struct model_raw {
    double value[FEAT_COUNT];
    uint32_t present; /* bit (1u << feature) set when value[feature] is known */
};

enum model_status {
    MODEL_OK = 0,
    MODEL_ERR_IO,        /* cannot open, stat or map the file */
    MODEL_ERR_FOREIGN,   /* not a mixtape model file (bad magic) */
    MODEL_ERR_VERSION,   /* a model file of a format version this build cannot read */
    MODEL_ERR_TRUNCATED, /* shorter than its header says */
    MODEL_ERR_CORRUPT,   /* checksum mismatch, or an offset, length or count out of range */
    MODEL_ERR_NOMEM,
    MODEL_ERR_INVALID, /* model_write: the build input breaks a rule (the message says which) */
};

/* A short English phrase for a status. Never NULL. */
const char *model_strerror(enum model_status status);

#define MODEL_NO_ROW UINT32_MAX
/* At most this many dimensions in the scaled space (15 features, key may take two, then up to
 * MODEL_MAX_GENRE_DIMS of genre embedding); model_open refuses more. */
#define MODEL_MAX_DIMS       64u
#define MODEL_MAX_GENRE_DIMS 47u
/* At most this many catalog files merge into one model. */
#define MODEL_MAX_SOURCES 64u

/* The model as mapped. Every pointer points into the read-only mapping and stays valid until
 * model_close. Rows are canonical songs (duplicate releases collapsed at build time). */
struct model {
    uint32_t n_rows;     /* canonical songs */
    uint32_t n_dims;     /* dimensions of the scaled space (a feature may take more than one) */
    uint32_t k;          /* clusters */
    uint32_t n_features; /* raw features the model's audio dimensions use */
    enum model_feature features[FEAT_COUNT]; /* which, in order */
    uint32_t n_genre_dims;         /* the last n_genre_dims of the n_dims dimensions are the genre
                              embedding (0 when the build had no genre information) */
    uint32_t n_sources;            /* catalog files merged into the model (model_source) */
    const float *centroids;        /* k * n_dims, in the scaled space */
    const uint32_t *cluster_start; /* k + 1 entries: rows of cluster c are
                                      [cluster_start[c], cluster_start[c + 1]) */
    const float *rows;             /* n_rows * n_dims, scaled, row-major, grouped by cluster */
    const float *row_norms;        /* n_rows: L2 norm of each scaled row */
    const uint32_t *artist_keys;   /* n_rows: model_row_artist_key of each row, contiguous so a
                                    scan over rows reads 4 bytes per row */
    uint32_t n_artists;            /* distinct primary artists; artist keys are 0..n_artists-1 */
    const uint32_t *artist_start;  /* n_artists + 1: the rows of artist a are
                                     artist_rows[artist_start[a] .. artist_start[a + 1]) */
    const uint32_t *artist_rows;   /* n_rows: every row once, grouped by artist, ascending */
    uint32_t n_ids;                /* ids that resolve (duplicates included) */
    char version[17];              /* 16 hex digits: the file's content checksum */
    uint64_t built_unix;           /* when it was built */
    uint64_t seed;                 /* k-means seed it was built with */
    const char *source;            /* catalog file name it was built from (NUL-terminated) */
    /* private to model.c */
    const void *map;
    size_t map_len;
    const void *private_tables;
};

/* Maps and validates the file at path. On MODEL_OK writes *out (free with model_close).
 * Otherwise writes a one-line reason naming the file and the problem into err (NUL-terminated,
 * at most err_len bytes) and leaves *out untouched. Reads the whole file once (checksum);
 * blocks on I/O. */
enum model_status model_open(const char *path, struct model **out, char *err, size_t err_len);

/* Unmaps and frees. NULL is ignored. */
void model_close(struct model *model);

/* Per-row metadata. Strings are NUL-terminated, inside the mapping; never NULL (empty when
 * unknown). row must be < n_rows. */
const char *model_row_id(const struct model *model, uint32_t row);   /* canonical Spotify id */
const char *model_row_name(const struct model *model, uint32_t row); /* title */
/* Artists as consecutive NUL-terminated strings ending with an empty one: "A\0B\0\0".
 * Iterate: for (const char *a = artists; *a; a += strlen(a) + 1). */
const char *model_row_artists(const struct model *model, uint32_t row);
/* The song's ISRC as its catalog gave it, or "" when none did. */
const char *model_row_isrc(const struct model *model, uint32_t row);
const char *model_row_genre(const struct model *model, uint32_t row);   /* "" when unknown */
uint32_t model_row_artist_key(const struct model *model, uint32_t row); /* same primary artist,
                                                                           same key */
/* The same song: rows with the same primary-artist key and the same normalised title (as
 * model_normalize gives it, compared on its first 511 bytes) have the same song key, and no
 * others; model_open checks that a song key never spans two artists. < n_rows. */
uint32_t model_row_song_key(const struct model *model, uint32_t row);
uint16_t model_row_year(const struct model *model, uint32_t row);      /* 0 when unknown */
uint8_t model_row_popularity(const struct model *model, uint32_t row); /* 255 when unknown */
uint32_t model_row_duration_ms(const struct model *model, uint32_t row);
uint32_t model_row_cluster(const struct model *model, uint32_t row);
/* The row's raw feature values (as in the catalog), for the caller's display or evaluation.
 * Only the features the row's catalog carried are marked present. */
void model_row_raw(const struct model *model, uint32_t row, struct model_raw *out);
/* One raw feature of a row in O(1) (one load from a 64-byte per-row block), for a pass over
 * candidates: the catalog's value, or, when the row's catalog lacks the feature, the mean over
 * the rows that have it (0 when none has). Year 0 / popularity 255 "unknown" come back as that
 * mean too; model_row_year and model_row_popularity keep their "unknown" values. */
float model_row_feature(const struct model *model, uint32_t row, enum model_feature feature);
/* Whether the row's catalog gave this feature (a row merged from a catalog without year, or
 * without explicit, says false here). */
bool model_row_has_feature(const struct model *model, uint32_t row, enum model_feature feature);
/* The row is marked explicit (false when its catalog does not say). */
bool model_row_explicit(const struct model *model, uint32_t row);
/* Index of the catalog file (model_source) the row came from; < n_sources. */
uint32_t model_row_source(const struct model *model, uint32_t row);

/* ---- styles ------------------------------------------------------------------------------ */

/* The style's short human name ("jazz · bossa nova", or "calm · acoustic · 1970s" with no
 * genre labels): unique across the model's clusters, never empty. Never NULL; cluster < k.
 * Strings inside the mapping. */
const char *model_cluster_name(const struct model *model, uint32_t cluster);
/* Songs in a cluster (cluster_start[cluster + 1] - cluster_start[cluster]); cluster < k. */
uint32_t model_cluster_size(const struct model *model, uint32_t cluster);

/* ---- artists ----------------------------------------------------------------------------- */

/* The artist key of a primary-artist name (normalised as model_normalize does for artists,
 * compared on its first 511 bytes), or MODEL_NO_ROW when no song's primary artist has that
 * name. Thread-safe, no allocation. */
uint32_t model_find_artist(const struct model *model, const char *artist_name);
/* An artist's genre labels as consecutive NUL-terminated strings ending with an empty one
 * ("jazz\0bossa nova\0\0"; just "" when none): from the --artist-genres file and the catalogs'
 * artist genre columns. artist_key < n_artists. Inside the mapping. */
const char *model_artist_genres(const struct model *model, uint32_t artist_key);

/* ---- sources ----------------------------------------------------------------------------- */

/* One catalog file the model was built from. Strings point into the mapping. */
struct model_source {
    const char *name;      /* file name (no directory) */
    const char *schema;    /* detected schema ("tracks-114k", ...) */
    uint32_t n_input_rows; /* well-formed rows read */
    uint32_t n_malformed;  /* rows skipped as malformed */
    uint32_t n_rows;       /* model rows (canonical songs) that came from this file */
    uint32_t n_merged;     /* tracks that matched a song of an earlier file (same id, ISRC, or
                              title + primary artist + duration) and were merged into it */
    uint32_t n_collapsed;  /* repeated ids and duplicate releases inside the file */
    uint32_t features;     /* raw features the file carries, bit (1u << feature) */
    uint32_t n_genre_rows; /* its tracks with genre labels the build used */
};

/* Source i (< n_sources) of an open model. Never NULL; valid until model_close. */
const struct model_source *model_source(const struct model *model, uint32_t i);

/* How a model was built, as recorded in the file (for `reco-model info` and the service's Info).
 * Strings point into the mapping. */
struct model_params {
    uint32_t restarts;     /* k-means restarts (best inertia kept) */
    uint32_t iterations;   /* Lloyd iterations of the kept run */
    uint32_t tolerance_ms; /* duration tolerance of duplicate collapse and model_find_song */
    uint32_t n_input_rows; /* well-formed catalog rows read */
    uint32_t n_malformed;  /* catalog rows skipped as malformed */
    uint32_t n_collapsed;  /* rows folded into another as duplicate releases or repeated ids */
    double inertia;        /* sum of squared distances to the nearest centroid */
    double binary_weight;  /* weight of the explicit and mode dimensions */
    bool key_circle;       /* key encoded as sin and cos of its angle on the 12-step circle */
    const char *schema;    /* catalog schema detected ("kaggle-1921-2020", ...) */
    const char *k_choice;  /* "fixed" or why --k auto chose k */
    double genre_weight;   /* weight of the genre embedding block (0 without one) */
    const char *genres;    /* what genre information the build used ("" when none) */
    uint32_t n_genre_rows; /* rows with at least one genre label */
};

/* The build parameters of an open model. Never NULL; valid until model_close. */
const struct model_params *model_get_params(const struct model *model);

/* Lookups. Each returns the canonical row, or MODEL_NO_ROW. Thread-safe, no allocation. */
uint32_t model_find_id(const struct model *model, const char *spotify_id);
uint32_t model_find_isrc(const struct model *model, const char *isrc);
/* model_find_id for n ids at once: rows[i] = model_find_id(model, ids[i]) (NULL or empty ids
 * give MODEL_NO_ROW). Overlaps the memory reads of neighbouring lookups and prefetches each
 * found row's vector, norm and metadata, so a long list costs a fraction of n single calls. */
void model_find_ids(const struct model *model, const char *const *ids, size_t n, uint32_t *rows);
/* By normalised title + primary artist; when several songs share the key, the one whose
 * duration is nearest to duration_ms (0 = unknown) within the build's tolerance wins. */
uint32_t model_find_song(const struct model *model, const char *title, const char *primary_artist,
                         uint32_t duration_ms);

/* Maps raw values into the scaled space: the model's feature transform (standardisation with
 * the catalog's mean and standard deviation, and any encoding or weight the build chose).
 * A feature absent from raw->present (or not finite, or a key of -1, Spotify's "no key") is
 * taken as the catalog mean. out has n_dims floats. */
void model_transform(const struct model *model, const struct model_raw *raw, float *out);

/* Index of the centroid nearest (squared Euclidean) to a scaled vector; *dist2 receives the
 * distance if non-NULL. */
uint32_t model_nearest_centroid(const struct model *model, const float *scaled, float *dist2);

/* Normalises a title or an artist name for matching: lower case, accents folded to ASCII,
 * punctuation dropped, white space collapsed, and version suffixes such as " - Remastered 2011",
 * "(Live)", "(feat. X)" removed (for titles). Writes at most out_len bytes, NUL-terminated;
 * returns the length written. */
size_t model_normalize(const char *text, bool is_title, char *out, size_t out_len);

#endif
