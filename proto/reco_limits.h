/* The limits and defaults of reco-service's Recommend contract (reco.proto), declared once for
 * both sides: the service enforces them on untrusted input and reports them by these names;
 * the front, the CLI and the benchmark never send more. The defaults are also in reco.proto
 * ([default = ...]); reco_contract_test.c ties the two together. Plain macros: no generated
 * code needed to include this. */
#ifndef MIXTAPE_RECO_LIMITS_H
#define MIXTAPE_RECO_LIMITS_H

#define RECO_MAX_SAVED              20000u /* saved tracks per request */
#define RECO_MAX_N                  500u   /* playlist length */
#define RECO_DEFAULT_N              50u    /* RecommendRequest.n [default = 50] */
#define RECO_DEFAULT_MAX_PER_ARTIST 3u     /* RecommendRequest.max_per_artist [default = 3] */
#define RECO_MAX_ARTISTS            16u    /* artists kept per saved track */
#define RECO_MAX_TEXT               512u   /* bytes of an id, ISRC, title or artist name */

/* Steering (RecommendRequest.discover, .target, .years): discover and the energy, valence and
 * danceability targets lie in 0..1; a tempo target in RECO_MIN_TEMPO..RECO_MAX_TEMPO BPM; each
 * end of a year range in RECO_MIN_YEAR..RECO_MAX_YEAR (0 or absent: open). reco-service refuses
 * anything else with INVALID_ARGUMENT naming the field; callers check first to say so sooner. */
#define RECO_MIN_TEMPO 1.0f   /* BPM */
#define RECO_MAX_TEMPO 300.0f /* BPM */
#define RECO_MIN_YEAR  1900u
#define RECO_MAX_YEAR  2100u

#endif
