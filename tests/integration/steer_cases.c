/* The steering cases and checks both steering tests share: see steer_cases.h. A rule added to
 * the product gets a row here, and both doors are then held to it. */
#include "steer_cases.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

const struct steer_move STEER_MOVES[] = {
    {"\"discover\": 0.8", {"--discover", "0.8", NULL}},
    {"\"target\": {\"energy\": 0.9}", {"--energy", "0.9", NULL}},
    {"\"target\": {\"energy\": 0.1}", {"--energy", "0.1", NULL}},
    {"\"target\": {\"valence\": 0.1}", {"--valence", "0.1", NULL}},
    {"\"target\": {\"valence\": 0.2}", {"--valence", "0.2", NULL}},
    {"\"target\": {\"danceability\": 0.8}", {"--danceability", "0.8", NULL}},
    {"\"target\": {\"danceability\": 0.9}", {"--danceability", "0.9", NULL}},
    {"\"target\": {\"tempo\": 170}", {"--tempo", "170", NULL}},
    {"\"years\": [2000, null]", {"--years", "2000-", NULL}},
    {"\"max_per_artist\": 1", {"--max-per-artist", "1", NULL}},
};
const size_t STEER_N_MOVES = sizeof STEER_MOVES / sizeof STEER_MOVES[0];

const struct steer_refusal STEER_REFUSALS[] = {
    {"{\"discover\": 1.5}", "bad_discover", "discover", "from 0 (familiar) to 1", "--discover",
     "1.5", "--discover (command line): 1.5 is outside 0..1"},
    {"{\"discover\": -0.5}", "bad_discover", "discover", "from 0", "--discover", "-1",
     "--discover (command line): -1 is outside 0..1"},
    {"{\"discover\": \"half\"}", "bad_discover", "discover", "a number", "--discover", "often",
     "--discover (command line): 'often' is not a number"},
    {"{\"target\": {\"energy\": 1.1}}", "bad_target", "target.energy", "from 0 to 1", "--energy",
     "1.2", "--energy (command line): 1.2 is outside 0..1"},
    {"{\"target\": {\"energy\": \"loud\"}}", "bad_target", "target.energy", "a number", "--energy",
     "nan", "--energy (command line): 'nan' is not a number"},
    {"{\"target\": {\"valence\": -0.1}}", "bad_target", "target.valence", "from 0 to 1",
     "--valence", "-0.5", "--valence (command line): -0.5 is outside 0..1"},
    {"{\"target\": {\"danceability\": 2}}", "bad_target", "target.danceability", "from 0 to 1",
     "--danceability", "2", "--danceability (command line): 2 is outside 0..1"},
    {"{\"target\": {\"tempo\": 0}}", "bad_target", "target.tempo", "BPM from 1 to 300", "--tempo",
     "0", "--tempo (command line): 0 is outside 1..300"},
    {"{\"target\": {\"tempo\": 1000}}", "bad_target", "target.tempo", "BPM from 1 to 300",
     "--tempo", "1000", "--tempo (command line): 1000 is outside 1..300"},
    {"{\"years\": [2010, 2000]}", "bad_years", "years", "2010 comes after 2000", "--years",
     "1999-1990", "--years: 1999 comes after 1990"},
    {"{\"years\": [1800, 1900]}", "bad_years", "years[0]", "from 1900 to 2100", "--years",
     "1850-1900", "--years: '1850-1900' is not FROM-TO"},
    {"{\"years\": \"1990s\"}", "bad_years", "years", "[from, to]", "--years", "nineties",
     "--years: 'nineties' is not FROM-TO"},
    {"{\"explicit\": \"no\"}", "bad_explicit", "explicit", "true (explicit songs allowed)",
     "--no-explicit=perhaps", NULL, "--no-explicit (command line): 'perhaps' is not a"},
};
const size_t STEER_N_REFUSALS = sizeof STEER_REFUSALS / sizeof STEER_REFUSALS[0];

const cJSON *steer_item(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!it)
        fail_msg("no '%s' in the answer", name);
    return it;
}

void steer_check_styles(const cJSON *answer, double tolerance)
{
    const cJSON *styles = steer_item(answer, "styles");
    assert_true(cJSON_GetArraySize(styles) > 0);
    double library = 0, playlist = 0;
    const cJSON *st;
    cJSON_ArrayForEach(st, styles)
    {
        assert_true(strlen(steer_item(st, "name")->valuestring) > 0);
        library += steer_item(st, "library_share")->valuedouble;
        playlist += steer_item(st, "playlist_share")->valuedouble;
        /* "exhausted" is a boolean, true only for a style short of its library share */
        const cJSON *ran_out = steer_item(st, "exhausted");
        assert_true(cJSON_IsBool(ran_out));
        if (cJSON_IsTrue(ran_out) && !(steer_item(st, "playlist_share")->valuedouble <
                                       steer_item(st, "library_share")->valuedouble))
            fail_msg("style '%s' ran out but has its library share",
                     steer_item(st, "name")->valuestring);
    }
    if (library < 1 - tolerance || library > 1 + tolerance)
        fail_msg("the library shares add up to %f", library);
    const cJSON *tracks = steer_item(answer, "tracks");
    if (cJSON_GetArraySize(tracks) > 0 && (playlist < 1 - tolerance || playlist > 1 + tolerance))
        fail_msg("the playlist shares add up to %f", playlist);
    const cJSON *t;
    cJSON_ArrayForEach(t, tracks)
    {
        const char *reason = steer_item(t, "reason")->valuestring;
        if (strcmp(reason, "same_artist") != 0 && strcmp(reason, "similar_sound") != 0 &&
            strcmp(reason, "new_artist") != 0)
            fail_msg("a track's reason is '%s'", reason);
    }
}

/* Splits one CSV line into at most max fields (in place); returns how many. */
static size_t split_csv(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *to = line;
    for (char *p = line; n < max;) {
        fields[n++] = to;
        bool quoted = *p == '"';
        p += quoted;
        for (;; p++) {
            if (quoted && *p == '"' && p[1] == '"') {
                *to++ = '"';
                p++;
            } else if (quoted && *p == '"') {
                quoted = false;
            } else if (!quoted && (*p == ',' || *p == '\n' || *p == '\r' || *p == '\0')) {
                break;
            } else {
                *to++ = *p;
            }
        }
        bool more = *p == ',';
        *to++ = '\0';
        if (!more)
            break;
        p++;
    }
    return n;
}

/* The catalog's explicit songs, by id. */
struct explicit_songs {
    char (*ids)[23];
    size_t n;
};

static void explicit_songs_load(struct explicit_songs *songs, const char *csv_path)
{
    enum { MAX_FIELDS = 32, MAX_SONGS = 10000 };
    FILE *in = fopen(csv_path, "r");
    if (!in)
        fail_msg("cannot open the catalog %s", csv_path);
    static char line[8192];
    char *fields[MAX_FIELDS];
    assert_non_null(fgets(line, sizeof line, in));
    size_t n = split_csv(line, fields, MAX_FIELDS), id_col = MAX_FIELDS, explicit_col = MAX_FIELDS;
    for (size_t f = 0; f < n; f++) {
        id_col = strcmp(fields[f], "id") == 0 ? f : id_col;
        explicit_col = strcmp(fields[f], "explicit") == 0 ? f : explicit_col;
    }
    if (id_col == MAX_FIELDS || explicit_col == MAX_FIELDS)
        fail_msg("%s has no id or no explicit column", csv_path);
    songs->ids = calloc(MAX_SONGS, sizeof *songs->ids);
    assert_non_null(songs->ids);
    songs->n = 0;
    while (fgets(line, sizeof line, in) && songs->n < MAX_SONGS) {
        n = split_csv(line, fields, MAX_FIELDS);
        if (n > id_col && n > explicit_col && strcmp(fields[explicit_col], "1") == 0)
            snprintf(songs->ids[songs->n++], sizeof songs->ids[0], "%s", fields[id_col]);
    }
    fclose(in);
    if (songs->n <= 100)
        fail_msg("%s marks only %zu songs explicit", csv_path, songs->n);
}

static bool explicit_songs_has(const struct explicit_songs *songs, const char *id)
{
    for (size_t i = 0; i < songs->n; i++)
        if (strcmp(songs->ids[i], id) == 0)
            return true;
    return false;
}

static void explicit_songs_free(struct explicit_songs *songs)
{
    free(songs->ids);
    songs->ids = NULL;
    songs->n = 0;
}

void steer_check_no_explicit(const char *catalog_csv, const cJSON *unsteered, const cJSON *clean,
                             const char *what)
{
    struct explicit_songs songs;
    explicit_songs_load(&songs, catalog_csv);
    size_t before = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, steer_item(unsteered, "tracks"))
    {
        before += explicit_songs_has(&songs, steer_item(t, "id")->valuestring);
    }
    const char *picked = NULL;
    cJSON_ArrayForEach(t, steer_item(clean, "tracks"))
    {
        if (!picked && explicit_songs_has(&songs, steer_item(t, "id")->valuestring))
            picked = steer_item(t, "id")->valuestring;
    }
    explicit_songs_free(&songs);
    if (before == 0)
        fail_msg("the unsteered playlist has no explicit song: %s cannot be judged", what);
    if (picked)
        fail_msg("%s picked %s, an explicit song", what, picked);
}
