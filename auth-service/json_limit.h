/* Bounded JSON parsing: every JSON text auth-service parses (request bodies, Spotify answers,
 * the sealed cookie payload) goes through json_parse_limited, which refuses nesting deeper than
 * a small bound before cJSON recurses, so no input can run a worker thread out of stack. */
#ifndef MIXTAPE_AUTH_JSON_LIMIT_H
#define MIXTAPE_AUTH_JSON_LIMIT_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The deepest nesting of arrays and objects accepted. Spotify's answers nest 6 deep, our
 * request bodies 2. cJSON uses about 140 bytes of stack per level (measured: a 100 KiB CivetWeb
 * worker stack ended near depth 750), so 64 levels use under 10 KiB. */
#define JSON_MAX_DEPTH 64

enum json_limit_status {
    JSON_LIMIT_OK = 0,
    JSON_LIMIT_TOO_DEEP, /* arrays/objects nested deeper than the bound */
    JSON_LIMIT_INVALID,  /* not JSON (cJSON refused it) */
    JSON_LIMIT_NO_MEMORY,
};

const char *json_limit_strerror(enum json_limit_status status);

/* The deepest nesting of '[' and '{' outside strings in text[0..len), stopping as soon as it
 * exceeds max_depth (then returns max_depth + 1). Does not validate the JSON otherwise. Pure. */
int json_nesting_depth(const char *text, size_t len, int max_depth);

/* Parses text[0..len) (need not be NUL-terminated) when it nests at most max_depth levels.
 * Returns the tree (the caller frees it with cJSON_Delete), or NULL with *status (may be NULL)
 * saying why. Thread-safe; uses O(max_depth) stack. */
cJSON *json_parse_limited(const char *text, size_t len, int max_depth,
                          enum json_limit_status *status);

#endif
