/* The /api/mix request body: {"n", "variety", "max_per_artist", "discover", "target": {"energy",
 * "valence", "danceability", "tempo"}, "years": [from, to], "explicit"}, every member optional
 * (null counts as absent, other members are ignored), read into struct mix_params with the
 * contract's ranges (reco_limits.h). A wrong type or a value out of range is refused naming
 * the member, so the page (and a script) can say which control is wrong. */
#ifndef MIXTAPE_AUTH_MIX_PARAMS_H
#define MIXTAPE_AUTH_MIX_PARAMS_H

#include <stddef.h>

#include "mix.h"

enum mix_params_status {
    MIX_PARAMS_OK = 0,
    MIX_PARAMS_BAD_JSON,  /* not a JSON object */
    MIX_PARAMS_BAD_FIELD, /* a member of the wrong type or out of range */
};

/* What was wrong: the stable error code for the JSON answer ("bad_target"), the member's path
 * ("target.energy", "years[1]") and one sentence naming the member and its rule. */
struct mix_params_error {
    char code[32];
    char field[32];
    char message[192];
};

/* Reads body[0..len) (an empty body means every default) into *p, whose fields the body does
 * not name keep their values. On MIX_PARAMS_BAD_* fills *error and leaves *p as it was.
 * No I/O; thread-safe. */
enum mix_params_status mix_params_parse(const char *body, size_t len, struct mix_params *p,
                                        struct mix_params_error *error);

#endif
