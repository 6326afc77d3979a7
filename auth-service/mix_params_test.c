/* The /api/mix body, table-driven: every member with good values, and every bad value of each
 * (wrong type, out of range, not whole, unknown target) refused naming the member, leaving the
 * parameters as they were. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mix_params.h"

static const struct mix_params DEFAULTS = {.n = 50};

/* got and want field by field (the struct has padding, so not byte by byte). */
static void expect_params(const char *body, const struct mix_params *got,
                          const struct mix_params *want)
{
#define SAME(field)                                                                                \
    if (got->field != want->field)                                                                 \
    fail_msg("%s: " #field " is %.17g, want %.17g", body, (double)got->field, (double)want->field)
    SAME(n);
    SAME(variety);
    SAME(max_per_artist);
    SAME(has_discover);
    SAME(discover);
    SAME(energy.set);
    SAME(energy.value);
    SAME(valence.set);
    SAME(valence.value);
    SAME(danceability.set);
    SAME(danceability.value);
    SAME(tempo.set);
    SAME(tempo.value);
    SAME(year_from);
    SAME(year_to);
    SAME(no_explicit);
#undef SAME
}

static void test_good_bodies(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        struct mix_params want; /* parsed over DEFAULTS */
    } cases[] = {
        {"", {.n = 50}},
        {"{}", {.n = 50}},
        /* Every member, and one that is not ours (ignored). */
        {"{\"n\": 30, \"variety\": 9007199254740991, \"max_per_artist\": 2, \"discover\": 0.25, "
         "\"target\": {\"energy\": 0.9, \"valence\": 0, \"danceability\": 1, \"tempo\": 128.5}, "
         "\"years\": [1990, 1999], \"explicit\": false, \"something_else\": [1, 2]}",
         {.n = 30,
          .variety = 9007199254740991ull,
          .max_per_artist = 2,
          .has_discover = true,
          .discover = 0.25f,
          .energy = {true, 0.9f},
          .valence = {true, 0.0f},
          .danceability = {true, 1.0f},
          .tempo = {true, 128.5f},
          .year_from = 1990,
          .year_to = 1999,
          .no_explicit = true}},
        /* null is absent; open ends; explicit true allows; edges of every range. */
        {"{\"discover\": null, \"target\": {\"energy\": null, \"tempo\": 1}, "
         "\"years\": [null, 1975], \"explicit\": true, \"n\": 500}",
         {.n = 500, .tempo = {true, 1.0f}, .year_to = 1975}},
        {"{\"discover\": 1, \"target\": {\"tempo\": 300}, \"years\": [1900, null], "
         "\"n\": 1, \"variety\": 0, \"max_per_artist\": 500}",
         {.n = 1,
          .max_per_artist = 500,
          .has_discover = true,
          .discover = 1.0f,
          .tempo = {true, 300.0f},
          .year_from = 1900}},
        {"{\"years\": [2100, 2100], \"target\": {}}",
         {.n = 50, .year_from = 2100, .year_to = 2100}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mix_params p = DEFAULTS;
        struct mix_params_error e;
        enum mix_params_status got = mix_params_parse(cases[i].body, strlen(cases[i].body), &p, &e);
        if (got != MIX_PARAMS_OK)
            fail_msg("%s: %d %s '%s'", cases[i].body, (int)got, e.code, e.message);
        expect_params(cases[i].body, &p, &cases[i].want);
    }
}

static void test_bad_bodies(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        enum mix_params_status want;
        const char *code, *field, *says;
    } cases[] = {
        {"[]", MIX_PARAMS_BAD_JSON, "bad_json", "", "the body must be a JSON object"},
        {"{\"n\": 5", MIX_PARAMS_BAD_JSON, "bad_json", "", "JSON object"},
        {"\"n\"", MIX_PARAMS_BAD_JSON, "bad_json", "", "JSON object"},
        {"null", MIX_PARAMS_BAD_JSON, "bad_json", "", "JSON object"},
        {"{\"n\": 0}", MIX_PARAMS_BAD_FIELD, "bad_n", "n",
         "n must be a whole number from 1 to 500"},
        {"{\"n\": 501}", MIX_PARAMS_BAD_FIELD, "bad_n", "n", "from 1 to 500"},
        {"{\"n\": 2.5}", MIX_PARAMS_BAD_FIELD, "bad_n", "n", "whole number"},
        {"{\"n\": \"50\"}", MIX_PARAMS_BAD_FIELD, "bad_n", "n", "whole number"},
        {"{\"n\": -1}", MIX_PARAMS_BAD_FIELD, "bad_n", "n", "whole number"},
        {"{\"n\": 1e999}", MIX_PARAMS_BAD_FIELD, "bad_n", "n", "whole number"},
        {"{\"variety\": -1}", MIX_PARAMS_BAD_FIELD, "bad_variety", "variety", "from 0 to 2^53-1"},
        {"{\"variety\": 9007199254740993}", MIX_PARAMS_BAD_FIELD, "bad_variety", "variety", ""},
        {"{\"variety\": 0.5}", MIX_PARAMS_BAD_FIELD, "bad_variety", "variety", "whole number"},
        {"{\"variety\": true}", MIX_PARAMS_BAD_FIELD, "bad_variety", "variety", "whole number"},
        {"{\"max_per_artist\": 0}", MIX_PARAMS_BAD_FIELD, "bad_max_per_artist", "max_per_artist",
         "max_per_artist must be a whole number from 1 to 500"},
        {"{\"max_per_artist\": 1.5}", MIX_PARAMS_BAD_FIELD, "bad_max_per_artist", "max_per_artist",
         "whole number"},
        {"{\"max_per_artist\": \"3\"}", MIX_PARAMS_BAD_FIELD, "bad_max_per_artist",
         "max_per_artist", "whole number"},
        {"{\"discover\": 1.01}", MIX_PARAMS_BAD_FIELD, "bad_discover", "discover",
         "discover must be a number from 0 (familiar) to 1 (new artists only)"},
        {"{\"discover\": -0.1}", MIX_PARAMS_BAD_FIELD, "bad_discover", "discover", "from 0"},
        {"{\"discover\": \"0.5\"}", MIX_PARAMS_BAD_FIELD, "bad_discover", "discover", "number"},
        {"{\"discover\": false}", MIX_PARAMS_BAD_FIELD, "bad_discover", "discover", "number"},
        {"{\"discover\": [0.5]}", MIX_PARAMS_BAD_FIELD, "bad_discover", "discover", "number"},
        {"{\"target\": 0.5}", MIX_PARAMS_BAD_FIELD, "bad_target", "target",
         "target must be an object with energy, valence, danceability and/or tempo"},
        {"{\"target\": [0.5]}", MIX_PARAMS_BAD_FIELD, "bad_target", "target", "an object"},
        {"{\"target\": \"happy\"}", MIX_PARAMS_BAD_FIELD, "bad_target", "target", "an object"},
        {"{\"target\": {\"energy\": 1.5}}", MIX_PARAMS_BAD_FIELD, "bad_target", "target.energy",
         "target.energy must be a number from 0 to 1"},
        {"{\"target\": {\"energy\": -0.5}}", MIX_PARAMS_BAD_FIELD, "bad_target", "target.energy",
         "from 0 to 1"},
        {"{\"target\": {\"energy\": \"high\"}}", MIX_PARAMS_BAD_FIELD, "bad_target",
         "target.energy", "a number"},
        {"{\"target\": {\"valence\": 2}}", MIX_PARAMS_BAD_FIELD, "bad_target", "target.valence",
         "target.valence must be a number from 0 to 1"},
        {"{\"target\": {\"valence\": true}}", MIX_PARAMS_BAD_FIELD, "bad_target", "target.valence",
         "a number"},
        {"{\"target\": {\"danceability\": 1.2}}", MIX_PARAMS_BAD_FIELD, "bad_target",
         "target.danceability", "target.danceability must be a number from 0 to 1"},
        {"{\"target\": {\"danceability\": {}}}", MIX_PARAMS_BAD_FIELD, "bad_target",
         "target.danceability", "a number"},
        {"{\"target\": {\"tempo\": 0}}", MIX_PARAMS_BAD_FIELD, "bad_target", "target.tempo",
         "target.tempo must be a number of BPM from 1 to 300"},
        {"{\"target\": {\"tempo\": 301}}", MIX_PARAMS_BAD_FIELD, "bad_target", "target.tempo",
         "from 1 to 300"},
        {"{\"target\": {\"tempo\": \"fast\"}}", MIX_PARAMS_BAD_FIELD, "bad_target", "target.tempo",
         "a number"},
        {"{\"target\": {\"loudness\": -5}}", MIX_PARAMS_BAD_FIELD, "bad_target", "target.loudness",
         "target.loudness is not a target (energy, valence, danceability, tempo)"},
        {"{\"target\": {\"energy\": 0.5, \"Energy\": 0.5}}", MIX_PARAMS_BAD_FIELD, "bad_target",
         "target.Energy", "is not a target"},
        {"{\"years\": 1990}", MIX_PARAMS_BAD_FIELD, "bad_years", "years",
         "years must be [from, to], each a year from 1900 to 2100 or null"},
        {"{\"years\": [1990]}", MIX_PARAMS_BAD_FIELD, "bad_years", "years", "[from, to]"},
        {"{\"years\": [1990, 1995, 1999]}", MIX_PARAMS_BAD_FIELD, "bad_years", "years",
         "[from, to]"},
        {"{\"years\": \"1990-1999\"}", MIX_PARAMS_BAD_FIELD, "bad_years", "years", "[from, to]"},
        {"{\"years\": {\"from\": 1990}}", MIX_PARAMS_BAD_FIELD, "bad_years", "years", "[from, to]"},
        {"{\"years\": [1899, 1950]}", MIX_PARAMS_BAD_FIELD, "bad_years", "years[0]",
         "years[0] must be a whole year from 1900 to 2100, or null"},
        {"{\"years\": [1990, 2101]}", MIX_PARAMS_BAD_FIELD, "bad_years", "years[1]",
         "years[1] must be a whole year"},
        {"{\"years\": [1990.5, 2000]}", MIX_PARAMS_BAD_FIELD, "bad_years", "years[0]",
         "whole year"},
        {"{\"years\": [\"1990\", 2000]}", MIX_PARAMS_BAD_FIELD, "bad_years", "years[0]",
         "whole year"},
        {"{\"years\": [2000, 1990]}", MIX_PARAMS_BAD_FIELD, "bad_years", "years",
         "years: 2000 comes after 1990 ([from, to], from first)"},
        {"{\"explicit\": 0}", MIX_PARAMS_BAD_FIELD, "bad_explicit", "explicit",
         "explicit must be true (explicit songs allowed) or false (left out)"},
        {"{\"explicit\": \"false\"}", MIX_PARAMS_BAD_FIELD, "bad_explicit", "explicit",
         "true (explicit songs allowed)"},
        /* A good member does not hide a bad one, and nothing is applied from a bad body. */
        {"{\"n\": 20, \"discover\": 0.5, \"years\": [2000, 1990]}", MIX_PARAMS_BAD_FIELD,
         "bad_years", "years", "comes after"},
        {"{\"target\": {\"energy\": 0.5, \"tempo\": 900}}", MIX_PARAMS_BAD_FIELD, "bad_target",
         "target.tempo", "from 1 to 300"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mix_params p = DEFAULTS;
        struct mix_params_error e;
        enum mix_params_status got = mix_params_parse(cases[i].body, strlen(cases[i].body), &p, &e);
        if (got != cases[i].want || strcmp(e.code, cases[i].code) != 0 ||
            strcmp(e.field, cases[i].field) != 0 || !strstr(e.message, cases[i].says))
            fail_msg("%s: got %d %s %s '%s'", cases[i].body, (int)got, e.code, e.field, e.message);
        expect_params(cases[i].body, &p, &DEFAULTS); /* left as it was */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_bodies),
        cmocka_unit_test(test_bad_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
