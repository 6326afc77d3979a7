/* The /api/mix request body read into struct mix_params (mix_params.h): one reader per member,
 * each naming the member when it refuses a value. */
#include "mix_params.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "json_limit.h"
#include "reco_limits.h"

#define MAX_VARIETY 9007199254740991.0 /* 2^53 - 1: what a JSON number holds exactly */

static enum mix_params_status refuse(struct mix_params_error *error, const char *code,
                                     const char *field, const char *message)
{
    snprintf(error->code, sizeof error->code, "%s", code);
    snprintf(error->field, sizeof error->field, "%s", field);
    snprintf(error->message, sizeof error->message, "%s", message);
    return MIX_PARAMS_BAD_FIELD;
}

/* A member, or NULL when absent or null. */
static const cJSON *member(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNull(it) ? NULL : it;
}

static bool number_in(const cJSON *it, double min, double max, bool whole)
{
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return false;
    double v = it->valuedouble;
    return v >= min && v <= max && (!whole || v == floor(v));
}

/* The target object: its four members, each optional, no others. */
static enum mix_params_status read_target(const cJSON *target, struct mix_params *p,
                                          struct mix_params_error *error)
{
    if (!cJSON_IsObject(target))
        return refuse(error, "bad_target", "target",
                      "target must be an object with energy, valence, danceability and/or tempo");
    const struct {
        const char *name, *field, *message;
        double min, max;
        struct reco_rpc_target *out;
    } rules[] = {
        {"energy", "target.energy", "target.energy must be a number from 0 to 1", 0, 1, &p->energy},
        {"valence", "target.valence", "target.valence must be a number from 0 to 1", 0, 1,
         &p->valence},
        {"danceability", "target.danceability", "target.danceability must be a number from 0 to 1",
         0, 1, &p->danceability},
        {"tempo", "target.tempo", "target.tempo must be a number of BPM from 1 to 300",
         RECO_MIN_TEMPO, RECO_MAX_TEMPO, &p->tempo},
    };
    const size_t n_rules = sizeof rules / sizeof rules[0];
    const cJSON *it;
    cJSON_ArrayForEach(it, target)
    {
        size_t r = 0;
        while (r < n_rules && strcmp(it->string, rules[r].name) != 0)
            r++;
        if (r == n_rules) {
            char field[32], message[192];
            snprintf(field, sizeof field, "target.%.24s", it->string);
            snprintf(message, sizeof message,
                     "target.%.40s is not a target (energy, valence, danceability, tempo)",
                     it->string);
            return refuse(error, "bad_target", field, message);
        }
    }
    struct reco_rpc_target values[4];
    for (size_t r = 0; r < n_rules; r++) {
        it = member(target, rules[r].name);
        values[r] = *rules[r].out;
        if (!it)
            continue;
        if (!number_in(it, rules[r].min, rules[r].max, false))
            return refuse(error, "bad_target", rules[r].field, rules[r].message);
        values[r] = (struct reco_rpc_target){.set = true, .value = (float)it->valuedouble};
    }
    for (size_t r = 0; r < n_rules; r++)
        *rules[r].out = values[r];
    return MIX_PARAMS_OK;
}

/* years: [from, to], each a whole year in range or null (open). */
static enum mix_params_status read_years(const cJSON *years, uint32_t *from, uint32_t *to,
                                         struct mix_params_error *error)
{
    if (!cJSON_IsArray(years) || cJSON_GetArraySize(years) != 2)
        return refuse(error, "bad_years", "years",
                      "years must be [from, to], each a year from 1900 to 2100 or null");
    uint32_t ends[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        const cJSON *it = cJSON_GetArrayItem(years, i);
        if (cJSON_IsNull(it))
            continue;
        if (!number_in(it, RECO_MIN_YEAR, RECO_MAX_YEAR, true)) {
            char field[16], message[96];
            snprintf(field, sizeof field, "years[%d]", i);
            snprintf(message, sizeof message,
                     "years[%d] must be a whole year from 1900 to 2100, or null", i);
            return refuse(error, "bad_years", field, message);
        }
        ends[i] = (uint32_t)it->valuedouble;
    }
    if (ends[0] && ends[1] && ends[0] > ends[1]) {
        char message[96];
        snprintf(message, sizeof message, "years: %u comes after %u ([from, to], from first)",
                 ends[0], ends[1]);
        return refuse(error, "bad_years", "years", message);
    }
    *from = ends[0];
    *to = ends[1];
    return MIX_PARAMS_OK;
}

enum mix_params_status mix_params_parse(const char *body, size_t len, struct mix_params *p,
                                        struct mix_params_error *error)
{
    memset(error, 0, sizeof *error);
    if (len == 0)
        return MIX_PARAMS_OK;
    enum mix_params_status status = MIX_PARAMS_BAD_JSON;
    struct mix_params out = *p;
    cJSON *req = json_parse_limited(body, len, JSON_MAX_DEPTH, NULL); /* bounded nesting */
    if (!cJSON_IsObject(req)) {
        snprintf(error->code, sizeof error->code, "bad_json");
        snprintf(error->message, sizeof error->message, "the body must be a JSON object");
        goto done;
    }
    status = MIX_PARAMS_BAD_FIELD;
    const cJSON *n = member(req, "n");
    if (n && !number_in(n, 1, RECO_MAX_N, true)) {
        refuse(error, "bad_n", "n", "n must be a whole number from 1 to 500");
        goto done;
    }
    const cJSON *variety = member(req, "variety");
    if (variety && !number_in(variety, 0, MAX_VARIETY, true)) {
        refuse(error, "bad_variety", "variety", "variety must be a whole number from 0 to 2^53-1");
        goto done;
    }
    const cJSON *per_artist = member(req, "max_per_artist");
    if (per_artist && !number_in(per_artist, 1, RECO_MAX_N, true)) {
        refuse(error, "bad_max_per_artist", "max_per_artist",
               "max_per_artist must be a whole number from 1 to 500");
        goto done;
    }
    const cJSON *discover = member(req, "discover");
    if (discover && !number_in(discover, 0, 1, false)) {
        refuse(error, "bad_discover", "discover",
               "discover must be a number from 0 (familiar) to 1 (new artists only)");
        goto done;
    }
    const cJSON *target = member(req, "target");
    if (target && read_target(target, &out, error) != MIX_PARAMS_OK)
        goto done;
    const cJSON *years = member(req, "years");
    if (years && read_years(years, &out.year_from, &out.year_to, error) != MIX_PARAMS_OK)
        goto done;
    const cJSON *explicit_ = member(req, "explicit");
    if (explicit_ && !cJSON_IsBool(explicit_)) {
        refuse(error, "bad_explicit", "explicit",
               "explicit must be true (explicit songs allowed) or false (left out)");
        goto done;
    }
    if (n)
        out.n = (uint32_t)n->valuedouble;
    if (variety)
        out.variety = (uint64_t)variety->valuedouble;
    if (per_artist)
        out.max_per_artist = (uint32_t)per_artist->valuedouble;
    if (discover) {
        out.has_discover = true;
        out.discover = (float)discover->valuedouble;
    }
    if (explicit_)
        out.no_explicit = cJSON_IsFalse(explicit_);
    *p = out;
    status = MIX_PARAMS_OK;
done:
    cJSON_Delete(req);
    return status;
}
