/* The emulator's catalog: every track Spotify "knows", read once at start-up from a catalog CSV
 * (the synthetic schema of `reco-model synth`, the Kaggle 1921-2020 data.csv schema, or the
 * Kaggle 114k schema; gzip or plain). Users' libraries and audio features are drawn from it.
 * Threads: immutable after emu_catalog_load; any number of threads may read it at once. */
#ifndef EMU_CATALOG_H
#define EMU_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMU_ID_LEN      22 /* base62 track / artist / album / playlist ids */
#define EMU_MAX_ARTISTS 4
#define EMU_MAX_LINE    65536 /* longest CSV line accepted */

/* Audio features the legacy /v1/audio-features endpoint answers with, in this order. */
enum emu_feature {
    EMU_FEAT_DANCEABILITY,
    EMU_FEAT_ENERGY,
    EMU_FEAT_KEY,
    EMU_FEAT_LOUDNESS,
    EMU_FEAT_MODE,
    EMU_FEAT_SPEECHINESS,
    EMU_FEAT_ACOUSTICNESS,
    EMU_FEAT_INSTRUMENTALNESS,
    EMU_FEAT_LIVENESS,
    EMU_FEAT_VALENCE,
    EMU_FEAT_TEMPO,
    EMU_FEAT_TIME_SIGNATURE,
    EMU_FEAT_COUNT
};

/* "danceability", ... as the Web API spells them. */
const char *emu_feature_name(enum emu_feature feature);

/* One track as the Web API describes it. Strings are owned by whoever owns the track (the
 * catalog for its rows, the library for tracks it invents). */
struct emu_track {
    char id[EMU_ID_LEN + 1]; /* "" for a local file */
    const char *name;
    const char *artists[EMU_MAX_ARTISTS];
    int n_artists;
    const char *album;
    char release_date[11]; /* "1987", "1987-05" or "1987-05-12" */
    int duration_ms;
    bool explicit_lyrics;
    char isrc[13]; /* "" when unknown */
    const char *genre;
    bool has_features;
    double features[EMU_FEAT_COUNT];
};

struct emu_catalog {
    struct emu_track *tracks; /* one per distinct id, in file order */
    size_t n_tracks;
    uint32_t *index; /* open-addressing table of track positions + 1 (0 = empty) */
    size_t index_size;
    char **strings; /* every string the rows point at, freed by emu_catalog_free */
    size_t n_strings, cap_strings;
    size_t skipped_rows; /* rows without a valid id, name or artist, or repeating an id */
};

enum emu_catalog_status {
    EMU_CATALOG_OK = 0,
    EMU_CATALOG_ERR_IO,      /* cannot open or read the file */
    EMU_CATALOG_ERR_HEADER,  /* the header lacks a required column (id, name, artists) */
    EMU_CATALOG_ERR_LINE,    /* a line longer than EMU_MAX_LINE */
    EMU_CATALOG_ERR_EMPTY,   /* no usable row */
    EMU_CATALOG_ERR_TOO_BIG, /* more than 4,000,000 rows */
};

/* A short English phrase for a status. Never NULL. */
const char *emu_catalog_strerror(enum emu_catalog_status status);

/* Reads path into *catalog (caller-owned struct, filled only on success; free with
 * emu_catalog_free). Blocks on file I/O. */
enum emu_catalog_status emu_catalog_load(const char *path, struct emu_catalog *catalog);

/* Frees everything the catalog owns. Safe on a zeroed struct. */
void emu_catalog_free(struct emu_catalog *catalog);

/* The catalog track with this id, or NULL. Thread-safe. */
const struct emu_track *emu_catalog_find(const struct emu_catalog *catalog, const char *id);

/* True if text is exactly EMU_ID_LEN characters of [0-9A-Za-z]. */
bool emu_id_valid(const char *text);

/* Writes a deterministic EMU_ID_LEN-character base62 id derived from (text, salt) into out. */
void emu_id_from(const char *text, uint64_t salt, char out[EMU_ID_LEN + 1]);

/* splitmix64: advances *state and returns the next value. Deterministic. */
uint64_t emu_random_next(uint64_t *state);

#endif
