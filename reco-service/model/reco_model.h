/* Private to the reco-model tool: its options (filled by reco_model.c's one options table),
 * terminal progress and clocks, and one entry point per subcommand, each in its own file. */
#ifndef MIXTAPE_RECO_MODEL_H
#define MIXTAPE_RECO_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "model_build.h"

#define RECO_MODEL_MAX_GENRE_FILES 8u

/* The command line as parsed; build reads every --catalog and --artist-genres path, in order
 * (the options table keeps only the last of each). */
struct reco_model_opts {
    const char *catalog, *out, *k, *features, *key_encoding, *dump, *log_level, *artist_genres;
    long long seed, restarts, rows, threads, tolerance_ms, genre_dims;
    double binary_weight, genre_weight;
    bool no_catalog_genres, json;
    const char *catalog_paths[MODEL_MAX_SOURCES];
    uint32_t n_catalog_paths;
    const char *genre_paths[RECO_MODEL_MAX_GENRE_FILES];
    uint32_t n_genre_paths;
};

/* True when stderr is a terminal: progress_line draws there, otherwise nothing does. */
extern bool reco_model_progress_on;

/* Redraws the progress line on stderr (only when reco_model_progress_on). Main thread or one
 * caller at a time. */
void reco_model_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Clears the progress line (only when reco_model_progress_on). */
void reco_model_progress_done(void);

/* Monotonic wall-clock seconds. */
double reco_model_now(void);

/* CPU seconds of this process (user + system): a figure a loaded machine disturbs less. */
double reco_model_cpu(void);

/* The last component of path (a pointer into it). */
const char *reco_model_base_name(const char *path);

/* The subcommands (reco_model_build.c, reco_model_info.c, reco_model_synth.c). Each prints its
 * results on stdout and one line on stderr when it fails, and returns the exit status: 0, 1 on
 * failure, 2 for a bad command line. */
int reco_model_build(struct reco_model_opts *o);
int reco_model_info(const char *path, bool json);
int reco_model_rows(const char *path);
int reco_model_synth(const struct reco_model_opts *o);

#endif
