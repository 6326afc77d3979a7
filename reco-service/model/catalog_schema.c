/* The catalog schemas (catalog_schema.h): one table of every known header and each column's
 * role, and the header matching that picks one (or names the closest and what it lacks). */
#include "catalog_schema.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"

#define F(name, feat)                                                                              \
    {                                                                                              \
        name, R_FEATURE + (feat), true                                                             \
    }
#define AUDIO_FEATURES                                                                             \
    F("danceability", FEAT_DANCEABILITY), F("energy", FEAT_ENERGY), F("key", FEAT_KEY),            \
        F("loudness", FEAT_LOUDNESS), F("mode", FEAT_MODE), F("speechiness", FEAT_SPEECHINESS),    \
        F("acousticness", FEAT_ACOUSTICNESS), F("instrumentalness", FEAT_INSTRUMENTALNESS),        \
        F("liveness", FEAT_LIVENESS), F("valence", FEAT_VALENCE), F("tempo", FEAT_TEMPO),          \
        F("duration_ms", FEAT_DURATION_MS)

static const struct schema SCHEMAS[] = {
    {"kaggle-1921-2020",
     false,
     {AUDIO_FEATURES,
      F("year", FEAT_YEAR),
      F("popularity", FEAT_POPULARITY),
      F("explicit", FEAT_EXPLICIT),
      {"id", R_ID, true},
      {"name", R_NAME, true},
      {"artists", R_ARTISTS_LIST, true},
      {"release_date", R_IGNORE, true},
      {"genre", R_GENRE, false},
      {"isrc", R_ISRC, false}}},
    {"tracks-114k",
     false,
     {AUDIO_FEATURES,
      F("popularity", FEAT_POPULARITY),
      F("explicit", FEAT_EXPLICIT),
      {"track_id", R_ID, true},
      {"track_name", R_NAME, true},
      {"artists", R_ARTISTS_SEMI, true},
      {"album_name", R_IGNORE, true},
      {"track_genre", R_GENRE, true}}},
    {"tidytuesday-2020",
     true,
     {AUDIO_FEATURES,
      F("track_popularity", FEAT_POPULARITY),
      {"track_id", R_ID, true},
      {"track_name", R_NAME, true},
      {"track_artist", R_ARTIST, true},
      {"track_album_release_date", R_RELEASE_DATE, true},
      {"playlist_genre", R_GENRE, true}}},
    {"hit-predictor-1960-2019",
     false,
     {AUDIO_FEATURES,
      {"track", R_NAME, true},
      {"artist", R_ARTIST, true},
      {"uri", R_URI, true},
      {"target", R_IGNORE, true}}},
    {"genre-search-2024",
     false,
     {AUDIO_FEATURES,
      F("popularity", FEAT_POPULARITY),
      F("explicit", FEAT_EXPLICIT),
      {"track_id", R_ID, true},
      {"track_name", R_NAME, true},
      {"artist_name", R_ARTIST, true},
      {"release_date", R_RELEASE_DATE, true},
      {"search_genre", R_GENRE, true},
      {"artist_genres", R_ARTIST_GENRES, false}}},
};
#define N_SCHEMAS (sizeof SCHEMAS / sizeof SCHEMAS[0])

void catalog_trim(const char **text, size_t *len)
{
    while (*len && isspace((unsigned char)(*text)[0])) {
        (*text)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*text)[*len - 1]))
        (*len)--;
}

static int header_find(const struct csv_record *header, const char *name)
{
    for (size_t i = 0; i < header->n_fields; i++) {
        const char *h = header->field[i];
        size_t len = header->field_len[i];
        if (i == 0 && len >= 3 && memcmp(h, "\xef\xbb\xbf", 3) == 0) {
            h += 3; /* UTF-8 byte order mark */
            len -= 3;
        }
        catalog_trim(&h, &len);
        if (len == strlen(name) && memcmp(h, name, len) == 0)
            return (int)i;
    }
    return -1;
}

bool catalog_detect_schema(const struct csv_record *header, struct layout *out, char *err,
                           size_t err_len)
{
    size_t best_missing = SIZE_MAX;
    const struct schema *closest = NULL;
    for (size_t s = 0; s < N_SCHEMAS; s++) {
        const struct schema *schema = &SCHEMAS[s];
        size_t missing = 0;
        struct layout layout = {schema, {0}, header->n_fields};
        for (int c = 0; c < MAX_COLUMNS && schema->columns[c].name; c++) {
            layout.index[c] = header_find(header, schema->columns[c].name);
            if (layout.index[c] < 0 && schema->columns[c].required)
                missing++;
        }
        if (missing == 0) {
            *out = layout;
            return true;
        }
        if (missing < best_missing) {
            best_missing = missing;
            closest = schema;
        }
    }
    char list[512] = "";
    size_t used = 0;
    for (int c = 0; c < MAX_COLUMNS && closest->columns[c].name; c++) {
        if (!closest->columns[c].required || header_find(header, closest->columns[c].name) >= 0)
            continue;
        int n = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "",
                         closest->columns[c].name);
        if (n < 0 || (size_t)n >= sizeof list - used)
            break;
        used += (size_t)n;
    }
    errbuf_set(err, err_len, "unknown catalog schema: closest is %s, missing columns: %s",
               closest->name, list);
    return false;
}
