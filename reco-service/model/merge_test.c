/* Tests of merging catalogs of different schemas: the same id, the same ISRC and the same
 * title + primary artist + duration become one song across files; features one file lacks are
 * taken from another file's copy of the song or left absent; genre labels and artist genres
 * kept where any file has them; counts per file; limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "merge.h"

/* 114k schema: no year. */
static const char TRACKS_114K[] =
    "track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,"
    "key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,"
    "time_signature,track_genre\n"
    /* also in the TidyTuesday file under the same id */
    "6f807x0ima9a1j3VPbc7VN,Ed Sheeran,A,I Don't Care,66,194754,True,0.748,0.916,6,-2.634,1,"
    "0.0583,0.102,0,0.0653,0.518,122.036,4,pop\n"
    /* the same song as the TidyTuesday one below under another id (3 s apart) */
    "aaaaaaaaaaaaaaaaaaaaaa,Nina Park;Guest,B,Evening (Remastered 2011),40,200000,False,0.5,0.5,"
    "1,-8,1,0.05,0.5,0,0.1,0.5,100,4,soul\n"
    /* only here */
    "bbbbbbbbbbbbbbbbbbbbbb,Ada Lane,C,Morning,10,180000,False,0.3,0.2,2,-12,0,0.04,0.9,0.1,0.1,"
    "0.2,80,4,folk\n"
    /* a repeated id inside the file */
    "bbbbbbbbbbbbbbbbbbbbbb,Ada Lane,C,Morning,10,180000,False,0.3,0.2,2,-12,0,0.04,0.9,0.1,0.1,"
    "0.2,80,4,acoustic\n";

/* TidyTuesday schema: a year, no explicit. */
static const char TIDYTUESDAY[] =
    "track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,"
    "track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,"
    "danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,"
    "valence,tempo,duration_ms\n"
    "6f807x0ima9a1j3VPbc7VN,I Don't Care,Ed Sheeran,70,x,Album,2019-06-14,P,p,edm,dance pop,"
    "0.7,0.9,6,-2.6,1,0.05,0.1,0,0.06,0.5,122,194754\n"
    "cccccccccccccccccccccc,Evening,Nina Park,50,x,Album,1999-01-01,P,p,r&b,neo soul,"
    "0.5,0.5,1,-8,1,0.05,0.5,0,0.1,0.5,100,203000\n"
    /* the same title and artist, but 60 s longer: another song */
    "dddddddddddddddddddddd,Evening,Nina Park,50,x,Album,2005,P,p,r&b,neo soul,"
    "0.5,0.5,1,-8,1,0.05,0.5,0,0.1,0.5,100,263000\n"
    /* the song twice inside this file */
    "eeeeeeeeeeeeeeeeeeeeee,Only Here,Zed,50,x,Album,2010,P,p,rock,hard rock,"
    "0.5,0.5,1,-8,1,0.05,0.5,0,0.1,0.5,100,150000\n"
    "ffffffffffffffffffffff,Only Here - Live,Zed,50,x,Album,2011,P,p,rock,hard rock,"
    "0.5,0.5,1,-8,1,0.05,0.5,0,0.1,0.5,100,151000\n";

/* Kaggle schema with ISRCs: one recording under a new id and a different title spelling. */
static const char KAGGLE_ISRC[] =
    "valence,year,acousticness,artists,danceability,duration_ms,energy,explicit,id,"
    "instrumentalness,key,liveness,loudness,mode,name,popularity,release_date,speechiness,tempo,"
    "genre,isrc\n"
    "0.5,1990,0.1,['X'],0.4,200000,0.3,0,gggggggggggggggggggggg,0.9,5,0.2,-10.5,1,Song,12,1990,"
    "0.04,100.5,jazz,USAAA0000001\n";
static const char KAGGLE_ISRC_2[] =
    "valence,year,acousticness,artists,danceability,duration_ms,energy,explicit,id,"
    "instrumentalness,key,liveness,loudness,mode,name,popularity,release_date,speechiness,tempo,"
    "genre,isrc\n"
    "0.5,1990,0.1,['X Band'],0.4,200000,0.3,0,hhhhhhhhhhhhhhhhhhhhhh,0.9,5,0.2,-10.5,1,"
    "Song (Mono Version),12,1990,0.04,100.5,,USAAA0000001\n"
    "0.5,1990,0.1,['X'],0.4,200000,0.3,0,iiiiiiiiiiiiiiiiiiiiii,0.9,5,0.2,-10.5,1,Other,12,1990,"
    "0.04,100.5,,USAAA0000002\n";

static void load_two(const char *a, const char *b, struct merged *out)
{
    struct catalog *c[2] = {NULL, NULL};
    char err[256];
    assert_int_equal(catalog_load_memory(a, strlen(a), "first", &c[0], err, sizeof err),
                     CATALOG_OK);
    assert_int_equal(catalog_load_memory(b, strlen(b), "second", &c[1], err, sizeof err),
                     CATALOG_OK);
    static const char *const PATHS[] = {"dir/first.csv", "second.csv.gz"};
    assert_int_equal(merge_catalogs(c, PATHS, 2, 10000, out, err, sizeof err), MERGE_OK);
}

static const struct catalog_track *by_id(const struct merged *m, const char *id)
{
    for (uint32_t i = 0; i < m->all.n_tracks; i++)
        if (strcmp(m->all.tracks[i].id, id) == 0)
            return &m->all.tracks[i];
    fail_msg("id %s not in the merged catalog", id);
    return NULL;
}

static uint32_t index_of(const struct merged *m, const struct catalog_track *t)
{
    return (uint32_t)(t - m->all.tracks);
}

static void test_merge_across_schemas(void **state)
{
    (void)state;
    struct merged m;
    load_two(TRACKS_114K, TIDYTUESDAY, &m);
    assert_int_equal(m.n_sources, 2);
    assert_string_equal(m.all.schema, "merged");
    /* 3 distinct ids from the 114k file, 4 new ones from TidyTuesday (its first id repeats). */
    assert_int_equal(m.all.n_tracks, 7);
    /* The union of features: year from TidyTuesday, explicit from the 114k set. */
    assert_true(m.all.available & (1u << FEAT_YEAR));
    assert_true(m.all.available & (1u << FEAT_EXPLICIT));

    /* Same id: one track, which gains the year the 114k file lacks; its own values win. */
    const struct catalog_track *same_id = by_id(&m, "6f807x0ima9a1j3VPbc7VN");
    assert_int_equal(same_id->canonical, index_of(&m, same_id));
    assert_int_equal(same_id->year, 2019);
    assert_true(same_id->present & (1u << FEAT_YEAR));
    assert_true(same_id->value[FEAT_ENERGY] == 0.916);
    assert_int_equal(same_id->popularity, 66);
    assert_string_equal(same_id->genre, "pop");

    /* Same title + primary artist within the tolerance: TidyTuesday's "Evening" joins the
     * 114k "Evening (Remastered 2011)" and gives it a year; the 60 s longer one stays apart. */
    const struct catalog_track *first = by_id(&m, "aaaaaaaaaaaaaaaaaaaaaa");
    const struct catalog_track *joined = by_id(&m, "cccccccccccccccccccccc");
    const struct catalog_track *longer = by_id(&m, "dddddddddddddddddddddd");
    assert_int_equal(joined->canonical, index_of(&m, first));
    assert_int_equal(longer->canonical, index_of(&m, longer));
    assert_int_equal(first->year, 1999);
    assert_true(first->present & (1u << FEAT_EXPLICIT));

    /* Only in TidyTuesday: no explicit (absent, not false), its own genre. */
    const struct catalog_track *only = by_id(&m, "eeeeeeeeeeeeeeeeeeeeee");
    assert_false(only->present & (1u << FEAT_EXPLICIT));
    assert_string_equal(only->genre, "rock");
    assert_int_equal(by_id(&m, "ffffffffffffffffffffff")->canonical, index_of(&m, only));
    /* Only in the 114k file: no year. */
    assert_false(by_id(&m, "bbbbbbbbbbbbbbbbbbbbbb")->present & (1u << FEAT_YEAR));

    /* Per file. */
    const struct merge_source *a = &m.sources[0], *b = &m.sources[1];
    assert_string_equal(a->path, "dir/first.csv");
    assert_string_equal(a->schema, "tracks-114k");
    assert_int_equal(a->n_records, 4);
    assert_int_equal(a->n_tracks, 3);
    assert_int_equal(a->n_songs, 3);
    assert_int_equal(a->n_repeated_ids, 1);
    assert_int_equal(a->n_merged, 0);
    assert_string_equal(b->schema, "tidytuesday-2020");
    assert_int_equal(b->n_tracks, 4);
    assert_int_equal(b->n_songs, 2);  /* the longer Evening, Only Here */
    assert_int_equal(b->n_merged, 2); /* by id and by song */
    assert_int_equal(b->n_merged_id, 1);
    assert_int_equal(b->n_merged_isrc, 0);
    assert_int_equal(b->n_collapsed, 1);    /* Only Here - Live */
    assert_int_equal(b->n_filled, 2);       /* a year to each of two 114k songs */
    assert_int_equal(m.all.n_collapsed, 2); /* Evening and Only Here - Live */
    for (uint32_t i = 0; i < m.all.n_tracks; i++)
        assert_int_equal(m.source_of[i], i < 3 ? 0 : 1);
    merge_free(&m);
}

static void test_merge_by_isrc(void **state)
{
    (void)state;
    struct merged m;
    load_two(KAGGLE_ISRC, KAGGLE_ISRC_2, &m);
    assert_string_equal(m.all.schema, "merged");
    const struct catalog_track *first = by_id(&m, "gggggggggggggggggggggg");
    const struct catalog_track *mono = by_id(&m, "hhhhhhhhhhhhhhhhhhhhhh");
    assert_int_equal(mono->canonical, index_of(&m, first));
    assert_int_equal(by_id(&m, "iiiiiiiiiiiiiiiiiiiiii")->canonical,
                     index_of(&m, by_id(&m, "iiiiiiiiiiiiiiiiiiiiii")));
    assert_int_equal(m.sources[1].n_merged, 1);
    assert_int_equal(m.sources[1].n_merged_isrc, 1);
    merge_free(&m);
}

static void test_one_file_is_the_file(void **state)
{
    (void)state;
    struct catalog *c[1] = {NULL};
    struct merged m;
    char err[256];
    assert_int_equal(
        catalog_load_memory(TIDYTUESDAY, strlen(TIDYTUESDAY), "t", &c[0], err, sizeof err),
        CATALOG_OK);
    static const char *const PATHS[] = {"t.csv"};
    assert_int_equal(merge_catalogs(c, PATHS, 1, 10000, &m, err, sizeof err), MERGE_OK);
    assert_string_equal(m.all.schema, "tidytuesday-2020");
    assert_int_equal(m.all.n_tracks, 5);
    assert_int_equal(m.all.n_collapsed, 1);
    assert_int_equal(m.sources[0].n_songs, 4);
    merge_free(&m);
}

static void test_bad_lists(void **state)
{
    (void)state;
    struct merged m;
    char err[256];
    assert_int_equal(merge_load(NULL, 0, 10000, &m, err, sizeof err), MERGE_ERR_INVALID);
    assert_non_null(strstr(err, "0 catalogs, want 1..64"));
    const char *paths[MODEL_MAX_SOURCES + 1];
    for (int i = 0; i <= (int)MODEL_MAX_SOURCES; i++)
        paths[i] = "x.csv";
    assert_int_equal(merge_load(paths, MODEL_MAX_SOURCES + 1, 10000, &m, err, sizeof err),
                     MERGE_ERR_INVALID);
    static const char *const MISSING[] = {"/nonexistent/a.csv"};
    assert_int_equal(merge_load(MISSING, 1, 10000, &m, err, sizeof err), MERGE_ERR_CATALOG);
    assert_non_null(strstr(err, "/nonexistent/a.csv"));
    merge_free(&m);
    assert_string_equal(merge_strerror(MERGE_ERR_LIMIT), "too many tracks");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_across_schemas),
        cmocka_unit_test(test_merge_by_isrc),
        cmocka_unit_test(test_one_file_is_the_file),
        cmocka_unit_test(test_bad_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
