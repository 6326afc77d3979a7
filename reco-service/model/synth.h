/* The synthetic catalog: a deterministic generator of a track catalog in the Kaggle 1921-2020
 * data.csv schema plus `genre` and `isrc` columns, for tests and the demo. Eighteen genre-like
 * clusters with their own feature profiles, plausible titles and artist names (some with
 * quotes, commas and accents, as real catalogs have), and duplicate releases of the same song
 * under new ids sharing title, artists, ISRC and a near-equal duration. */
#ifndef MIXTAPE_SYNTH_H
#define MIXTAPE_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#define SYNTH_MAX_ROWS 50000000u
#define SYNTH_N_GENRES 18u
#define SYNTH_DUP_RATE 0.06 /* share of songs released a second time */

enum synth_status {
    SYNTH_OK = 0,
    SYNTH_ERR_INVALID, /* rows outside 1..SYNTH_MAX_ROWS */
    SYNTH_ERR_IO,      /* cannot create or write the file */
    SYNTH_ERR_NOMEM,
};

/* "ok", "cannot write the catalog", ...; never NULL. */
const char *synth_strerror(enum synth_status status);

/* Name of genre g (< SYNTH_N_GENRES). */
const char *synth_genre_name(uint32_t genre);

/* Writes rows data rows (plus the header) to path: gzip when it ends in ".gz", plain CSV
 * otherwise. The same (rows, seed) always gives the same bytes. progress, if not NULL, is
 * called now and then with the rows written (on the calling thread). Returns SYNTH_OK, or an
 * error with a reason in err. Blocks on I/O. */
enum synth_status synth_write(const char *path, uint64_t rows, uint64_t seed,
                              void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                              char *err, size_t err_len);

#endif
