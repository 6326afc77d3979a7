/* Genre information for a build: the artist -> genres map (from an --artist-genres file such as
 * the 160k companion file, and from catalogs' artist genre columns), each song's label list,
 * and the genre embedding the clustering appends to the audio features (a truncated SVD of the
 * songs x labels TF-IDF matrix, unit length per song, so songs of related styles sit close). */
#ifndef MIXTAPE_GENRES_H
#define MIXTAPE_GENRES_H

#include <stddef.h>
#include <stdint.h>

#define GENRES_MAX_ARTISTS 5000000u /* artists in one --artist-genres file */
#define GENRES_MAX_LABELS  64u      /* labels kept per artist or song */

enum genres_status {
    GENRES_OK = 0,
    GENRES_ERR_IO,     /* cannot open or read the file */
    GENRES_ERR_SCHEMA, /* the header lacks an artist or a genres column */
    GENRES_ERR_LIMIT,  /* more than GENRES_MAX_ARTISTS artists */
    GENRES_ERR_INVALID,
    GENRES_ERR_NOMEM,
};

/* "ok", ...; never NULL. */
const char *genres_strerror(enum genres_status status);

/* Normalised artist name (model_normalize) -> genre list ("a\0b\0\0"). Opaque. */
struct genre_map;

enum genres_status genre_map_new(struct genre_map **out);

/* Adds artist's genres (a "a\0b\0\0" list; empty lists are ignored). The first list given for
 * an artist wins. Copies what it keeps. */
enum genres_status genre_map_add(struct genre_map *map, const char *artist, const char *list);

/* Reads an artist -> genres CSV (plain or gzip): a column `artists` or `artist` or
 * `artist_name` (one name, or a Python list whose first name counts) and a column `genres`
 * (a Python list literal such as "['jazz', 'bossa nova']"), other columns ignored, as the
 * 160k companion file spotify160k_v1_data_w_genres.csv.gz has them. Rows whose list does not
 * parse are skipped and counted in *n_malformed. Writes *n_added (artists with at least one
 * genre). Blocks on I/O. */
enum genres_status genre_map_load(struct genre_map *map, const char *path, uint32_t *n_added,
                                  uint32_t *n_malformed, char *err, size_t err_len);

/* The genre list of an artist name (normalised here), or NULL. Valid until genre_map_free. */
const char *genre_map_find(const struct genre_map *map, const char *artist);

/* Artists in the map. */
uint32_t genre_map_size(const struct genre_map *map);

void genre_map_free(struct genre_map *map);

/* Joins two label lists into out ("a\0b\0\0", labels of first then new ones of second, at most
 * GENRES_MAX_LABELS, each once). Returns the bytes written including the final NUL (1 for an
 * empty list), or 0 when out_len is too small (out then holds an empty list when out_len > 0). */
size_t genres_join(const char *first, const char *second, char *out, size_t out_len);

/* The genre embedding (latent semantic analysis): the songs x labels TF-IDF matrix (idf =
 * 1 + ln(labelled songs / songs with the label), each song's row of unit length), reduced by a
 * randomized truncated SVD (seeded; 2 power rounds, 8 extra columns) to its n_dims strongest
 * directions; each song's coordinates there scaled to unit length, written to out (n_rows x
 * n_dims, row-major; all zeros for a song without labels). Labels that go together (pop and
 * dance pop) share directions, so songs that share no label but their styles still sit close.
 * n_dims 1..64. Returns GENRES_OK, or GENRES_ERR_NOMEM / _INVALID with a reason in err. Does
 * not block on I/O. */
enum genres_status genres_embed(const char *const *row_labels, uint32_t n_rows, uint32_t n_dims,
                                uint64_t seed, float *out, char *err, size_t err_len);

#endif
