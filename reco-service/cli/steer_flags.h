/* reco-cli's steering flags (issue 17): --discover, --energy, --valence, --danceability,
 * --tempo, --years FROM-TO and --no-explicit, as rows of the program's one options table, and
 * their values turned into a Recommend request's fields. Ranges are the contract's
 * (reco_limits.h): a value outside them is refused here, naming the flag, before any call. */
#ifndef MIXTAPE_STEER_FLAGS_H
#define MIXTAPE_STEER_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "reco_rpc.h"

/* Rows steer_flags_specs adds to an options table. */
#define STEER_FLAGS_COUNT 7u

/* What the flags set. Fill with steer_flags_init before parsing: a number left NaN was not
 * given. */
struct steer_flags {
    double discover, energy, valence, danceability, tempo;
    const char *years; /* "FROM-TO", or NULL */
    bool no_explicit;
};

void steer_flags_init(struct steer_flags *flags);

/* Writes the STEER_FLAGS_COUNT rows for flags into out (numbers bounded by options_parse: an
 * out-of-range or non-numeric value prints one line naming the flag and fails the parse). */
void steer_flags_specs(struct steer_flags *flags, struct option_spec out[STEER_FLAGS_COUNT]);

/* Parses a release-year range: "1990-1999", "1990-" (open end), "-1999" (open start) or
 * "1995" (that year alone), each year RECO_MIN_YEAR..RECO_MAX_YEAR and from <= to. Returns 0
 * with *from and *to (0 for an open end), or -1 with a one-line reason naming --years in err. */
int steer_flags_years(const char *text, uint32_t *from, uint32_t *to, char *err, size_t err_len);

/* Copies the given flags into req's steering fields (the rest of req is left alone). Returns
 * 0, or -1 with a one-line reason in err (a bad --years). */
int steer_flags_apply(const struct steer_flags *flags, struct reco_rpc_request *req, char *err,
                      size_t err_len);

#endif
