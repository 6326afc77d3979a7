/* Tests of catalog loading: one small file per supported schema (detected from the header,
 * parsed into the right ids, titles, artists, years and features), unknown headers naming the
 * missing columns, malformed rows reported by line, repeated ids, the Python list parser, and
 * duplicate-release collapse with its duration tolerance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "catalog.h"

#define KAGGLE_HEADER                                                                              \
    "valence,year,acousticness,artists,danceability,duration_ms,energy,explicit,id,"               \
    "instrumentalness,key,liveness,loudness,mode,name,popularity,release_date,speechiness,tempo\n"

static const char KAGGLE[] = KAGGLE_HEADER
    "0.5,1999,0.1,\"['Sergei Rachmaninoff', 'James Levine']\",0.4,200000,0.3,0,"
    "4BJqT0PrAfrxzMOxytFOIz,0.9,5,0.2,-10.5,1,\"Piano Concerto No. 3, Op. 30\",12,1999-05,0.04,"
    "100.5\n"
    "0.7,2001,0.2,\"[\"\"Destiny's Child\"\"]\",0.8,250000,0.7,1,1AhDOtG9vPSOmsWgNW0BEY,0,-1,0.1,"
    "-5,0,Survivor,70,2001-05-01,0.1,160\n";

static const char TRACKS_114K[] =
    "track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,"
    "key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,"
    "time_signature,track_genre\n"
    "5SuOikwiRyPMVoIQDJUgSV,Gen Hoshino,Comedy,Comedy,73,230666,False,0.676,0.461,1,-6.746,0,"
    "0.143,0.0322,1.01e-06,0.358,0.715,87.917,4,acoustic\n"
    "4qPNDBW1i3p13qLCt0Ki3A,Ingrid Michaelson;ZAYN,Ghost,Ghost - Acoustic,55,149610,True,0.42,"
    "0.166,1,-17.235,1,0.0763,0.924,5.56e-06,0.101,0.267,77.489,4,acoustic\n"
    "5SuOikwiRyPMVoIQDJUgSV,Gen Hoshino,Comedy,Comedy,73,230666,False,0.676,0.461,1,-6.746,0,"
    "0.143,0.0322,1.01e-06,0.358,0.715,87.917,4,j-pop\n";

static const char TIDYTUESDAY[] =
    "track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,"
    "track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,"
    "danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,"
    "valence,tempo,duration_ms\n"
    "6f807x0ima9a1j3VPbc7VN,I Don't Care,Ed Sheeran,66,2oCs0DGTsRO98Gh5ZSl2Cx,Album,2019-06-14,"
    "Pop Remix,37i9dQZF1DXcZDD7cfEKhW,pop,dance pop,0.748,0.916,6,-2.634,1,0.0583,0.102,0,"
    "0.0653,0.518,122.036,194754\n"
    "0r7CVbZTWZgbTCYdfa2P31,NA,NA,67,63rPSO264uRjW1X5E6cWv6,NA,2019,Pop,37i9dQZF1DXcZDD7cfEKhW,"
    "pop,dance pop,0.726,0.815,11,-4.969,1,0.0373,0.0724,0.00421,0.357,0.693,99.972,162600\n";

static const char HIT_PREDICTOR[] =
    "track,artist,uri,danceability,energy,key,loudness,mode,speechiness,acousticness,"
    "instrumentalness,liveness,valence,tempo,duration_ms,time_signature,chorus_hit,sections,"
    "target,decade\n"
    "Jealous Kind Of Fella,Garland Green,spotify:track:1dtKN6wwlolkM8XZy2y9C1,0.417,0.62,3,"
    "-7.727,1,0.0403,0.49,0,0.0779,0.845,185.655,173533,3,32.94975,9,1,1960\n"
    "Bad Uri,Somebody,spotify:album:1dtKN6wwlolkM8XZy2y9C1,0.417,0.62,3,-7.727,1,0.0403,0.49,0,"
    "0.0779,0.845,185.655,173533,3,32.94975,9,1,1960\n";

static const char GENRE_SEARCH[] =
    "search_genre,track_name,track_id,artist_name,artist_id,album_name,release_date,duration_ms,"
    "explicit,track_number,popularity,danceability,energy,key,loudness,mode,speechiness,"
    "acousticness,instrumentalness,liveness,valence,tempo,time_signature,artist_genres,"
    "artist_popularity,artist_followers\n"
    "acid jazz,Jazz In The Present Tense,0poAcsyKGAMc8goHsV0Dxm,Solsonics,0hRcHqu2R885utzNyofwbj,"
    "Jazz In The Present Tense,2003-01-01,258106,False,1,29,0.765,0.509,8,-12.017,1,0.0557,0.375,"
    "0.753,0.109,0.61,96.212,4,\"['acid jazz', 'instrumental funk']\",28,4635\n";

static uint32_t bits(int a, int b, int c)
{
    return (1u << a) | (1u << b) | (1u << c);
}

static void test_schemas(void **state)
{
    (void)state;
    const uint32_t AUDIO = (1u << FEAT_DANCEABILITY) | (1u << FEAT_ENERGY) | (1u << FEAT_KEY) |
                           (1u << FEAT_LOUDNESS) | (1u << FEAT_MODE) | (1u << FEAT_SPEECHINESS) |
                           (1u << FEAT_ACOUSTICNESS) | (1u << FEAT_INSTRUMENTALNESS) |
                           (1u << FEAT_LIVENESS) | (1u << FEAT_VALENCE) | (1u << FEAT_TEMPO) |
                           (1u << FEAT_DURATION_MS);
    static const struct {
        const char *text;
        const char *schema;
        uint32_t extra; /* available beyond the audio features */
        uint32_t n_tracks, n_malformed, n_repeated;
        const char *id, *name, *artist0, *artist1;
        uint16_t year;
        uint8_t popularity;
        const char *genre;
    } CASES[] = {
        {KAGGLE, "kaggle-1921-2020", 0, 2, 0, 0, "1AhDOtG9vPSOmsWgNW0BEY", "Survivor",
         "Destiny's Child", NULL, 2001, 70, ""},
        {KAGGLE, "kaggle-1921-2020", 0, 2, 0, 0, "4BJqT0PrAfrxzMOxytFOIz",
         "Piano Concerto No. 3, Op. 30", "Sergei Rachmaninoff", "James Levine", 1999, 12, ""},
        {TRACKS_114K, "tracks-114k", 0, 2, 0, 1, "4qPNDBW1i3p13qLCt0Ki3A", "Ghost - Acoustic",
         "Ingrid Michaelson", "ZAYN", 0, 55, "acoustic"},
        {TIDYTUESDAY, "tidytuesday-2020", 0, 2, 0, 0, "6f807x0ima9a1j3VPbc7VN", "I Don't Care",
         "Ed Sheeran", NULL, 2019, 66, "pop"},
        {TIDYTUESDAY, "tidytuesday-2020", 0, 2, 0, 0, "0r7CVbZTWZgbTCYdfa2P31", "", NULL, NULL,
         2019, 67, "pop"},
        {HIT_PREDICTOR, "hit-predictor-1960-2019", 0, 1, 1, 0, "1dtKN6wwlolkM8XZy2y9C1",
         "Jealous Kind Of Fella", "Garland Green", NULL, 0, 255, ""},
        {GENRE_SEARCH, "genre-search-2024", 0, 1, 0, 0, "0poAcsyKGAMc8goHsV0Dxm",
         "Jazz In The Present Tense", "Solsonics", NULL, 2003, 29, "acid jazz"},
    };
    const uint32_t EXTRA[] = {
        bits(FEAT_YEAR, FEAT_POPULARITY, FEAT_EXPLICIT),
        bits(FEAT_YEAR, FEAT_POPULARITY, FEAT_EXPLICIT),
        bits(FEAT_POPULARITY, FEAT_EXPLICIT, FEAT_EXPLICIT),
        bits(FEAT_YEAR, FEAT_POPULARITY, FEAT_POPULARITY),
        bits(FEAT_YEAR, FEAT_POPULARITY, FEAT_POPULARITY),
        0,
        bits(FEAT_YEAR, FEAT_POPULARITY, FEAT_EXPLICIT),
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        struct catalog *c = NULL;
        char err[256];
        enum catalog_status s =
            catalog_load_memory(CASES[i].text, strlen(CASES[i].text), "t.csv", &c, err, sizeof err);
        if (s != CATALOG_OK)
            fail_msg("case %zu: %s", i, err);
        assert_string_equal(c->schema, CASES[i].schema);
        assert_int_equal(c->available, AUDIO | EXTRA[i]);
        assert_int_equal(c->n_tracks, CASES[i].n_tracks);
        assert_int_equal(c->n_malformed, CASES[i].n_malformed);
        assert_int_equal(c->n_repeated_ids, CASES[i].n_repeated);
        const struct catalog_track *t = NULL;
        for (uint32_t j = 0; j < c->n_tracks; j++)
            if (strcmp(c->tracks[j].id, CASES[i].id) == 0)
                t = &c->tracks[j];
        assert_non_null(t);
        assert_string_equal(t->name, CASES[i].name);
        assert_int_equal(t->n_artists, (CASES[i].artist0 ? 1 : 0) + (CASES[i].artist1 ? 1 : 0));
        if (CASES[i].artist0)
            assert_string_equal(t->artists[0], CASES[i].artist0);
        if (CASES[i].artist1)
            assert_string_equal(t->artists[1], CASES[i].artist1);
        assert_int_equal(t->year, CASES[i].year);
        assert_int_equal(t->popularity, CASES[i].popularity);
        assert_string_equal(t->genre, CASES[i].genre);
        catalog_free(c);
    }
}

static void test_feature_values(void **state)
{
    (void)state;
    struct catalog *c = NULL;
    char err[256];
    assert_int_equal(catalog_load_memory(KAGGLE, strlen(KAGGLE), "k.csv", &c, err, sizeof err),
                     CATALOG_OK);
    const struct catalog_track *survivor = &c->tracks[1];
    assert_true(survivor->value[FEAT_EXPLICIT] == 1.0);
    assert_true(survivor->value[FEAT_TEMPO] == 160.0);
    assert_int_equal(survivor->duration_ms, 250000);
    assert_false(survivor->present & (1u << FEAT_KEY)); /* key -1: none detected */
    assert_true(c->tracks[0].present & (1u << FEAT_KEY));
    assert_true(c->tracks[0].value[FEAT_KEY] == 5.0);
    catalog_free(c);
}

static void test_unknown_schema_names_missing_columns(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum catalog_status status;
        const char *err_has;
    } CASES[] = {
        {"artists,acousticness,danceability,duration_ms,energy,instrumentalness,liveness,"
         "loudness,speechiness,tempo,valence,popularity,key,mode,count,genres\n",
         CATALOG_ERR_SCHEMA, "missing columns: "},
        {KAGGLE_HEADER, CATALOG_ERR_EMPTY, "no well-formed rows"},
        {"", CATALOG_ERR_EMPTY, "no header"},
        {"valence,year,acousticness,artists,danceability,duration_ms,energy,explicit,id\n",
         CATALOG_ERR_SCHEMA,
         "key, loudness, mode, speechiness, instrumentalness, liveness, tempo, popularity, name, "
         "release_date"},
        {"hello\nworld\n", CATALOG_ERR_SCHEMA, "unknown catalog schema"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        struct catalog *c = NULL;
        char err[512] = "";
        assert_int_equal(
            catalog_load_memory(CASES[i].text, strlen(CASES[i].text), "x.csv", &c, err, sizeof err),
            CASES[i].status);
        assert_null(c);
        if (!strstr(err, CASES[i].err_has) || !strstr(err, "x.csv"))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, CASES[i].err_has);
    }
    struct catalog *c = NULL;
    char err[256];
    assert_int_equal(catalog_load("/nonexistent/c.csv", &c, err, sizeof err), CATALOG_ERR_IO);
}

static void test_malformed_rows_are_reported_by_line(void **state)
{
    (void)state;
    static const char TEXT[] = KAGGLE_HEADER
        "0.5,1999,0.1,['A'],0.4,200000,0.3,0,aaaaaaaaaaaaaaaaaaaaa1,0.9,5,0.2,-10,1,Good,12,1999,"
        "0.04,100\n" /* line 2 */
        "abc,1999,0.1,['A'],0.4,200000,0.3,0,aaaaaaaaaaaaaaaaaaaaa2,0.9,5,0.2,-10,1,X,12,1999,"
        "0.04,100\n" /* line 3 */
        "0.5,1999,0.1,['A'],1.4,200000,0.3,0,aaaaaaaaaaaaaaaaaaaaa3,0.9,5,0.2,-10,1,X,12,1999,"
        "0.04,100\n" /* line 4 */
        "0.5,1999,0.1,['A'],0.4,200000,0.3,0,bad-id!,0.9,5,0.2,-10,1,X,12,1999,0.04,100\n"
        "0.5,1999,0.1,\"['A', \",0.4,200000,0.3,0,aaaaaaaaaaaaaaaaaaaaa5,0.9,5,0.2,-10,1,X,12,"
        "1999,0.04,100\n"  /* line 6 */
        "0.5,1999\n"       /* line 7 */
        "\"bad\"quote,1\n" /* line 8 */
        "0.5,1999,0.1,['B'],0.4,200000,0.3,0,aaaaaaaaaaaaaaaaaaaaa9,0.9,5,0.2,-10,1,Also good,12,"
        "1999,0.04,100\n";
    static const char *const WANT[] = {
        "line 3: valence 'abc' is not a number in 0..1",
        "line 4: danceability '1.4' is not a number in 0..1",
        "line 5: id 'bad-id!' is not 1..64 letters and digits",
        "line 6: artists '['A',' is not a list",
        "line 7: 2 fields, the header has 19",
        "line 8: text after a closing quote",
    };
    struct catalog *c = NULL;
    char err[256];
    assert_int_equal(catalog_load_memory(TEXT, strlen(TEXT), "m.csv", &c, err, sizeof err),
                     CATALOG_OK);
    assert_int_equal(c->n_tracks, 2);
    assert_int_equal(c->n_records, 8);
    assert_int_equal(c->n_malformed, 6);
    assert_int_equal(c->n_reports, 6);
    for (size_t i = 0; i < 6; i++)
        if (strncmp(c->reports[i], WANT[i], strlen(WANT[i])) != 0)
            fail_msg("report %zu: '%s', want '%s'", i, c->reports[i], WANT[i]);
    assert_string_equal(c->tracks[1].name, "Also good");
    catalog_free(c);
}

static void test_parse_list(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int count;
        const char *first, *second;
    } CASES[] = {
        {"['Sergei Rachmaninoff', 'James Levine']", 2, "Sergei Rachmaninoff", "James Levine"},
        {"[\"Destiny's Child\"]", 1, "Destiny's Child", NULL},
        {"['Guns N\\' Roses']", 1, "Guns N' Roses", NULL},
        {"[]", 0, NULL, NULL},
        {"  [ 'a' ,\"b\" ]  ", 2, "a", "b"},
        {"['a',", -1, NULL, NULL},
        {"['a' 'b']", -1, NULL, NULL},
        {"[a]", -1, NULL, NULL},
        {"['a'] trailing", -1, NULL, NULL},
        {"['unterminated]", -1, NULL, NULL},
        {"", -1, NULL, NULL},
        {"['1', '2', '3', '4', '5']", -1, NULL, NULL}, /* more than max = 4 */
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const char *items[4];
        char text[64];
        int n = catalog_parse_list(CASES[i].in, items, 4, text, sizeof text);
        if (n != CASES[i].count)
            fail_msg("case %zu: '%s' gave %d, want %d", i, CASES[i].in, n, CASES[i].count);
        if (CASES[i].first)
            assert_string_equal(items[0], CASES[i].first);
        if (CASES[i].second)
            assert_string_equal(items[1], CASES[i].second);
    }
    const char *items[4];
    char tiny[4];
    assert_int_equal(catalog_parse_list("['abcdef']", items, 4, tiny, sizeof tiny), -1);
}

static void test_collapse(void **state)
{
    (void)state;
    static const char TEXT[] = KAGGLE_HEADER
        "0.5,1975,0.1,['Queen'],0.4,354000,0.3,0,aaaaaaaaaaaaaaaaaaaaa1,0.9,5,0.2,-10,1,Bohemian "
        "Rhapsody,80,1975,0.04,100\n"
        "0.5,2011,0.1,['Queen'],0.4,355000,0.3,0,aaaaaaaaaaaaaaaaaaaaa2,0.9,5,0.2,-10,1,Bohemian "
        "Rhapsody - Remastered 2011,70,2011,0.04,100\n"
        "0.5,1986,0.1,['Queen'],0.4,480000,0.3,0,aaaaaaaaaaaaaaaaaaaaa3,0.9,5,0.2,-10,1,Bohemian "
        "Rhapsody (Live),50,1986,0.04,100\n"
        "0.5,1975,0.1,\"['QUEEN', 'Someone']\",0.4,360000,0.3,0,aaaaaaaaaaaaaaaaaaaaa4,0.9,5,0.2,"
        "-10,1,bohemian rhapsody,60,1975,0.04,100\n"
        "0.5,1975,0.1,['Queen'],0.4,200000,0.3,0,aaaaaaaaaaaaaaaaaaaaa5,0.9,5,0.2,-10,1,Other,60,"
        "1975,0.04,100\n"
        "0.5,1975,0.1,['Other Band'],0.4,354000,0.3,0,aaaaaaaaaaaaaaaaaaaaa6,0.9,5,0.2,-10,1,"
        "Bohemian Rhapsody,60,1975,0.04,100\n";
    static const struct {
        uint32_t tolerance_ms;
        uint32_t canonical[6];
        uint32_t collapsed;
    } CASES[] = {
        {10000, {0, 0, 2, 0, 4, 5}, 2},
        {500, {0, 1, 2, 3, 4, 5}, 0},
        {1000, {0, 0, 2, 3, 4, 5}, 1},
        {200000, {0, 0, 0, 0, 4, 5}, 3},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        struct catalog *c = NULL;
        char err[256];
        assert_int_equal(catalog_load_memory(TEXT, strlen(TEXT), "c.csv", &c, err, sizeof err),
                         CATALOG_OK);
        assert_int_equal(catalog_collapse(c, CASES[i].tolerance_ms), CATALOG_OK);
        assert_int_equal(c->n_collapsed, CASES[i].collapsed);
        for (uint32_t j = 0; j < 6; j++)
            if (c->tracks[j].canonical != CASES[i].canonical[j])
                fail_msg("case %zu track %u: canonical %u, want %u", i, j, c->tracks[j].canonical,
                         CASES[i].canonical[j]);
        catalog_free(c);
    }
}

/* The real catalogs in /work/shared/data (or $MIXTAPE_DATA), when present: each is detected,
 * every row is well-formed, and the distinct ids match the counts their README gives. */
static void test_real_catalogs(void **state)
{
    (void)state;
    static const struct {
        const char *file, *schema;
        uint32_t ids;
    } CASES[] = {
        {"spotify_tracks_114k.csv.gz", "tracks-114k", 89741},
        {"spotify_songs_tidytuesday_2020.csv.gz", "tidytuesday-2020", 28356},
        {"spotify_hit_predictor_1960_2019.csv.gz", "hit-predictor-1960-2019", 40560},
        {"spotify_genre_search_2024.csv.gz", "genre-search-2024", 63382},
    };
    const char *dir = getenv("MIXTAPE_DATA") ? getenv("MIXTAPE_DATA") : "/work/shared/data";
    int found = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char path[512], err[512];
        snprintf(path, sizeof path, "%s/%s", dir, CASES[i].file);
        if (access(path, R_OK) != 0)
            continue;
        found++;
        struct catalog *c = NULL;
        if (catalog_load(path, &c, err, sizeof err) != CATALOG_OK)
            fail_msg("%s", err);
        assert_string_equal(c->schema, CASES[i].schema);
        assert_int_equal(c->n_malformed, 0);
        assert_int_equal(c->n_tracks, CASES[i].ids);
        assert_int_equal(catalog_collapse(c, CATALOG_DEFAULT_TOLERANCE_MS), CATALOG_OK);
        assert_true(c->n_collapsed > 0 && c->n_collapsed < c->n_tracks / 5);
        catalog_free(c);
    }
    if (!found)
        skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schemas),
        cmocka_unit_test(test_feature_values),
        cmocka_unit_test(test_unknown_schema_names_missing_columns),
        cmocka_unit_test(test_malformed_rows_are_reported_by_line),
        cmocka_unit_test(test_parse_list),
        cmocka_unit_test(test_collapse),
        cmocka_unit_test(test_real_catalogs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
