/* Issue 17's steering cases, shared by the two tests that drive them through each door:
 * auth_steer_test (POST /api/mix's JSON) and reco_steer_test (reco-cli's flags). One table of
 * values that must move the playlist, one of values each door must refuse, and the checks both
 * make of an answer's styles and of its explicit songs. */
#ifndef MIXTAPE_STEER_CASES_H
#define MIXTAPE_STEER_CASES_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* One steering value that must change the playlist from the unsteered one. */
struct steer_move {
    const char *json;     /* members for POST /api/mix's body, e.g. "\"discover\": 0.8" */
    const char *flags[3]; /* reco-cli's flag and value for the same steering, NULL-terminated */
};

extern const struct steer_move STEER_MOVES[];
extern const size_t STEER_N_MOVES;

/* One rule a bad value breaks, as each door is asked to break it. */
struct steer_refusal {
    const char *body;          /* POST /api/mix's body */
    const char *error, *field; /* the 400 answer's "error" and "field" */
    const char *json_says;     /* part of its "message" */
    const char *flag, *value;  /* reco-cli's flag and value (NULL: the flag carries it) */
    const char *cli_says;      /* part of reco-cli's one line on stderr (exit 2) */
};

extern const struct steer_refusal STEER_REFUSALS[];
extern const size_t STEER_N_REFUSALS;

/* obj's member name; fails the running cmocka test when there is none. */
const cJSON *steer_item(const cJSON *obj, const char *name);

/* The checks of an answer (reco-cli --json's output or /api/mix's) both tests make: named
 * styles whose library shares, and playlist shares when there are tracks, add up to 1 within
 * tolerance, and a known reason on every track. Fails the running cmocka test otherwise. */
void steer_check_styles(const cJSON *answer, double tolerance);

/* The explicit-songs filter held: the unsteered answer (the same length) has explicit songs
 * and the clean one none, by the catalog's CSV (its "id" and "explicit" columns). what names the
 * steering in the failure message. Fails the running cmocka test otherwise. */
void steer_check_no_explicit(const char *catalog_csv, const cJSON *unsteered, const cJSON *clean,
                             const char *what);

#endif
