/* The on-disk layout of a model file, shared by the writer (model_write.c) and the reader
 * (model.c). Private to reco-service/model: everything else goes through model.h.
 * Little-endian, every section 8-byte aligned; see README.md for the table of sections. */
#ifndef MIXTAPE_MODEL_FORMAT_H
#define MIXTAPE_MODEL_FORMAT_H

#include <stdint.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the model file format is little-endian; this build targets a big-endian machine"
#endif

#define MF_MAGIC          "MIXTAPEM"
#define MF_FORMAT_VERSION 3u
#define MF_BYTE_ORDER     0x01020304u
#define MF_HEADER_LEN     64u
#define MF_EMPTY_SLOT     UINT32_MAX

/* The fixed header at offset 0. The checksum covers bytes [MF_HEADER_LEN, file_len). */
struct mf_header {
    char magic[8];
    uint32_t format_version;
    uint32_t header_len;
    uint32_t n_sections;
    uint32_t byte_order;
    uint64_t file_len;
    uint64_t checksum;
    uint8_t reserved[24]; /* zero */
};

/* One entry of the section table that follows the header. */
struct mf_section {
    uint32_t id;        /* enum mf_section_id, and entry i holds id i + 1 */
    uint32_t elem_size; /* bytes per element; length is a multiple of it */
    uint64_t offset;    /* from the start of the file, multiple of 8 */
    uint64_t length;    /* bytes, without padding */
};

enum mf_section_id {
    MF_SEC_PARAMS = 1,    /* struct mf_params */
    MF_SEC_DIMS,          /* n_dims x struct mf_dim */
    MF_SEC_CENTROIDS,     /* k x n_dims float */
    MF_SEC_CLUSTER_START, /* k + 1 uint32 */
    MF_SEC_ROWS,          /* n_rows x n_dims float, grouped by cluster */
    MF_SEC_ROW_NORMS,     /* n_rows float */
    MF_SEC_ROW_META,      /* n_rows x struct mf_row */
    MF_SEC_STRINGS,       /* NUL-terminated strings; ends with two NULs */
    MF_SEC_ID_TABLE,      /* power-of-two x struct mf_slot: Spotify id -> row */
    MF_SEC_ISRC_TABLE,    /* power-of-two x struct mf_slot: ISRC -> row */
    MF_SEC_SONG_TABLE,    /* power-of-two x struct mf_slot: "title\x1f artist" -> row */
    MF_SEC_ARTIST_KEYS,   /* n_rows uint32: each row's primary-artist key (< n_artists) */
    MF_SEC_ARTIST_START,  /* n_artists + 1 uint32: artist a's rows are
                             artist_rows[artist_start[a] .. artist_start[a + 1]) */
    MF_SEC_ARTIST_ROWS,   /* n_rows uint32: every row once, grouped by artist key, ascending */
    MF_SEC_ROW_RAW,       /* n_rows x MF_RAW_STRIDE float: raw feature values (an absent one
                             holds the catalog mean; mf_row.present says which are known) */
    MF_SEC_CLUSTER_NAMES, /* k uint32: string offset of each cluster's name (not empty) */
    MF_SEC_SOURCES,       /* n_sources x struct mf_source */
    MF_SEC_ARTIST_TABLE,  /* power-of-two x struct mf_slot: normalised artist -> artist key */
    MF_SEC_ARTIST_GENRES, /* n_artists uint32: string offset of each artist's genre list
                             ("a\0b\0\0"; 0 = none) */
    MF_SEC_COUNT = MF_SEC_ARTIST_GENRES
};

/* Floats per row in the row_raw section: FEAT_COUNT values, padded to 64 bytes. */
#define MF_RAW_STRIDE 16u

struct mf_params {
    uint32_t n_rows, n_dims, k, n_ids;
    uint32_t restarts, iterations, tolerance_ms, n_input_rows;
    uint32_t n_malformed, n_collapsed;
    uint32_t source_off, schema_off, k_choice_off; /* into the strings section */
    uint32_t n_artists;                            /* distinct primary-artist keys */
    uint32_t n_sources;                            /* catalogs merged, 1..MODEL_MAX_SOURCES */
    uint32_t n_genre_dims; /* the last n_genre_dims dimensions are the genre embedding */
    uint32_t genres_off;   /* into strings: what genre information the build used */
    uint32_t n_genre_rows; /* rows with at least one genre label */
    uint64_t seed, built_unix;
    double inertia, binary_weight, genre_weight;
};

/* One catalog file the model was built from. */
struct mf_source {
    uint32_t name_off, schema_off; /* into strings */
    uint32_t n_input_rows;         /* well-formed rows read */
    uint32_t n_malformed;          /* rows skipped as malformed */
    uint32_t n_rows;               /* model rows (canonical songs) that came from this file */
    uint32_t n_merged;     /* tracks that matched a song of an earlier file (id, ISRC or title +
                            artist + duration) and were merged into it */
    uint32_t n_collapsed;  /* repeated ids and duplicate releases inside this file */
    uint32_t features;     /* raw features this file carries, bit (1u << feature) */
    uint32_t n_genre_rows; /* of its tracks, those with genre labels the build used */
    uint32_t reserved;
};

/* One dimension of the scaled space: out = (source(value[feature]) - mean) / std * weight, where
 * source is the value itself (linear) or sin / cos of 2 pi value / 12 (key on the circle). */
struct mf_dim {
    uint32_t feature; /* enum model_feature */
    uint32_t kind;    /* enum model_dim_kind */
    double mean, std, weight;
};

struct mf_row {
    uint32_t id_off, name_off, artists_off, genre_off, isrc_off; /* into strings */
    uint32_t song_key; /* rows with the same primary-artist key and normalised title share it;
                          < n_rows */
    uint32_t duration_ms;
    uint32_t cluster;
    uint16_t year;
    uint8_t popularity;
    uint8_t source;   /* index into the sources section */
    uint32_t present; /* raw features known for this row, bit (1u << feature) */
};

struct mf_slot {
    uint32_t key_off; /* into strings */
    uint32_t row;     /* MF_EMPTY_SLOT when the slot is free */
};

_Static_assert(sizeof(struct mf_header) == MF_HEADER_LEN, "header layout");
_Static_assert(sizeof(struct mf_section) == 24, "section layout");
_Static_assert(sizeof(struct mf_params) == 112, "params layout");
_Static_assert(sizeof(struct mf_source) == 40, "source layout");
_Static_assert(sizeof(struct mf_dim) == 32, "dim layout");
_Static_assert(sizeof(struct mf_row) == 40, "row layout");
_Static_assert(sizeof(struct mf_slot) == 8, "slot layout");

/* FNV-1a over a NUL-terminated key: the hash of every lookup table. */
static inline uint64_t mf_hash(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

#endif
