/* Bounded JSON parsing (json_limit.h): a linear pre-scan counts nesting outside strings and
 * refuses a text deeper than the bound before cJSON, whose parser recurses once per level,
 * sees it. */
#include "json_limit.h"

#include <stdbool.h>

const char *json_limit_strerror(enum json_limit_status status)
{
    switch (status) {
    case JSON_LIMIT_OK:
        return "ok";
    case JSON_LIMIT_TOO_DEEP:
        return "nested too deeply";
    case JSON_LIMIT_INVALID:
        return "not valid JSON";
    case JSON_LIMIT_NO_MEMORY:
        return "out of memory";
    }
    return "unknown status";
}

int json_nesting_depth(const char *text, size_t len, int max_depth)
{
    int depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest) {
                deepest = depth;
                if (deepest > max_depth)
                    return max_depth + 1;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return deepest;
}

cJSON *json_parse_limited(const char *text, size_t len, int max_depth,
                          enum json_limit_status *status)
{
    enum json_limit_status st = JSON_LIMIT_OK;
    cJSON *tree = NULL;
    if (!text) {
        st = JSON_LIMIT_INVALID;
        goto done;
    }
    if (json_nesting_depth(text, len, max_depth) > max_depth) {
        st = JSON_LIMIT_TOO_DEEP;
        goto done;
    }
    tree = cJSON_ParseWithLength(text, len);
    if (!tree)
        st = JSON_LIMIT_INVALID;
done:
    if (status)
        *status = st;
    return tree;
}
