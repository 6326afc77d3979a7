/* Runs the real reco-model binary: synth -> build -> info on a small catalog (fixed k, auto
 * k, circle key encoding, a feature subset, the .npy matrix dump), and the bad inputs an
 * operator meets (missing file, unknown schema, bad --k, a non-model file), checking exit
 * codes and the one-line reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "catalog.h"
#include "harness.h"
#include "model.h"

static char dir[128];

static const char *in_dir(const char *name)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

struct run {
    int status;
    char out[8192], err[8192];
};

static void run(struct run *r, char *const argv[])
{
    r->status = harness_run(argv, r->out, sizeof r->out, r->err, sizeof r->err, 60000);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/reco_model_test_%d", (int)getpid());
    char *argv[] = {"/bin/mkdir", "-p", dir, NULL};
    return harness_run(argv, NULL, 0, NULL, 0, 5000) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char *argv[] = {"/bin/rm", "-rf", dir, NULL};
    harness_run(argv, NULL, 0, NULL, 0, 5000);
    return 0;
}

static void test_synth_build_info(void **state)
{
    (void)state;
    char bin[512];
    snprintf(bin, sizeof bin, "%s", harness_binary("bin/reco-model"));
    char catalog[256], model[256], matrix[256];
    snprintf(catalog, sizeof catalog, "%s", in_dir("cat.csv.gz"));
    snprintf(model, sizeof model, "%s", in_dir("m.model"));
    snprintf(matrix, sizeof matrix, "%s", in_dir("m.npy"));
    struct run r;

    char *synth[] = {bin, "synth", "--rows", "3000", "--out", catalog, "--seed", "4", NULL};
    run(&r, synth);
    assert_int_equal(r.status, 0);

    char *build[] = {bin, "build",      "--catalog", catalog,         "--out", model, "--k",
                     "8", "--restarts", "2",         "--dump-matrix", matrix,  NULL};
    run(&r, build);
    if (r.status != 0)
        fail_msg("build failed: %s", r.err);
    assert_non_null(strstr(r.out, "k=8"));
    assert_non_null(strstr(r.err, "event=model_built"));
    assert_null(strstr(r.err, "\r")); /* no progress lines when stderr is not a terminal */

    char *info[] = {bin, "info", model, NULL};
    run(&r, info);
    assert_int_equal(r.status, 0);
    static const char *const WANT[] = {
        "tracks      ",
        "ids         3000",
        "features    15: valence,year",
        "k           8 (fixed)",
        "clusters    ",
        "restarts 2",
        "source      cat.csv.gz (schema kaggle-1921-2020)",
        "version     ",
    };
    for (size_t i = 0; i < sizeof WANT / sizeof WANT[0]; i++)
        if (!strstr(r.out, WANT[i]))
            fail_msg("info lacks '%s':\n%s", WANT[i], r.out);

    /* The model opens in process too, with every id resolvable. */
    struct model *m = NULL;
    char err[256];
    assert_int_equal(model_open(model, &m, err, sizeof err), MODEL_OK);
    assert_int_equal(m->n_ids, 3000);
    assert_true(m->n_rows < 3000); /* duplicate releases collapsed */
    assert_int_equal(m->k, 8);
    /* Every catalog id resolves; a duplicate release resolves to a song of the same title and
     * primary artist. */
    struct catalog *c = NULL;
    assert_int_equal(catalog_load(catalog, &c, err, sizeof err), CATALOG_OK);
    uint32_t aliases = 0;
    for (uint32_t i = 0; i < c->n_tracks; i++) {
        uint32_t row = model_find_id(m, c->tracks[i].id);
        assert_int_not_equal(row, MODEL_NO_ROW);
        if (strcmp(model_row_id(m, row), c->tracks[i].id) == 0)
            continue;
        aliases++;
        assert_string_equal(model_row_name(m, row), c->tracks[i].name);
        assert_string_equal(model_row_artists(m, row), c->tracks[i].artists[0]);
        assert_int_equal(model_find_isrc(m, c->tracks[i].isrc), row);
    }
    assert_int_equal(aliases, 3000 - m->n_rows);
    catalog_free(c);
    model_close(m);

    /* The .npy dump: magic, then the shape of the matrix. */
    FILE *f = fopen(matrix, "rb");
    assert_non_null(f);
    char head[128] = "";
    assert_int_equal(fread(head, 1, 127, f), 127);
    fclose(f);
    assert_memory_equal(head, "\x93NUMPY", 6);
    assert_non_null(strstr(head + 10, "'descr': '<f4'"));
    /* 15 audio features and 8 genre dimensions (the synthetic catalog has a genre column). */
    assert_non_null(strstr(head + 10, ", 23), }"));
}

static void test_build_options(void **state)
{
    (void)state;
    char bin[512];
    snprintf(bin, sizeof bin, "%s", harness_binary("bin/reco-model"));
    char catalog[256], model[256];
    snprintf(catalog, sizeof catalog, "%s", in_dir("opts.csv"));
    snprintf(model, sizeof model, "%s", in_dir("opts.model"));
    struct run r;
    char *synth[] = {bin, "synth", "--rows", "2500", "--out", catalog, NULL};
    run(&r, synth);
    assert_int_equal(r.status, 0);

    static const struct {
        const char *args[6];
        const char *info_has;
    } CASES[] = {
        {{"--k", "auto", NULL}, "(auto: elbow of inertia"},
        {{"--key-encoding", "circle", "--k", "5", NULL}, "(16 dims, key circle"},
        {{"--features", "valence,energy,tempo", "--k", "4", NULL}, "features    3: valence,"},
        {{"--binary-weight", "0.5", "--k", "3", NULL}, "binary weight 0.5"},
        {{"--genre-dims", "5", "--genre-weight", "3", NULL},
         "genres      5 embedding dims, weight 3"},
        {{"--no-catalog-genres", "--k", "3", NULL}, "genres      none in the clustering"},
        {{"--genre-dims", "0", "--k", "3", NULL}, "catalog genre columns used"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char *argv[16] = {bin, "build", "--catalog", catalog, "--out", model, "--restarts", "1"};
        int n = 8;
        for (int a = 0; CASES[i].args[a]; a++)
            argv[n++] = (char *)(uintptr_t)CASES[i].args[a];
        argv[n] = NULL;
        run(&r, argv);
        if (r.status != 0)
            fail_msg("case %zu: build failed: %s", i, r.err);
        char *info[] = {bin, "info", model, NULL};
        run(&r, info);
        assert_int_equal(r.status, 0);
        if (!strstr(r.out, CASES[i].info_has))
            fail_msg("case %zu: info lacks '%s':\n%s", i, CASES[i].info_has, r.out);
    }
}

static const char TIDY_HEADER[] =
    "track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,"
    "track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,"
    "danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,"
    "valence,tempo,duration_ms\n";

/* Two catalogs of different schemas merged, an --artist-genres file, --no-catalog-genres, and
 * what info, info --json and rows say about it. */
static void test_merge_genres_json(void **state)
{
    (void)state;
    char bin[512];
    snprintf(bin, sizeof bin, "%s", harness_binary("bin/reco-model"));
    char synth_path[256], tidy[256], genres[256], model[256];
    snprintf(synth_path, sizeof synth_path, "%s", in_dir("merge_a.csv"));
    snprintf(tidy, sizeof tidy, "%s", in_dir("merge_b.csv"));
    snprintf(genres, sizeof genres, "%s", in_dir("artist_genres.csv"));
    snprintf(model, sizeof model, "%s", in_dir("merged.model"));
    struct run r;
    char *synth[] = {bin, "synth", "--rows", "400", "--out", synth_path, "--seed", "3", NULL};
    run(&r, synth);
    assert_int_equal(r.status, 0);

    /* The second file: 3 ids of the first (same id), 2 new songs, in the TidyTuesday schema. */
    struct catalog *c = NULL;
    char err[256];
    assert_int_equal(catalog_load(synth_path, &c, err, sizeof err), CATALOG_OK);
    FILE *f = fopen(tidy, "w");
    FILE *g = fopen(genres, "w");
    assert_non_null(f);
    assert_non_null(g);
    fputs(TIDY_HEADER, f);
    fputs("artists,count,genres\n", g);
    for (uint32_t i = 0; i < 3; i++)
        fprintf(f,
                "%s,Same Id %u,Whoever,50,x,A,2001-01-01,P,p,pop,dance pop,0.5,0.5,1,-8,1,"
                "0.05,0.5,0,0.1,0.5,100,200000\n",
                c->tracks[i].id, i);
    fputs("NEWNEWNEWNEWNEWNEWNEW1,Brand New,Zed Band,50,x,A,2019,P,p,rock,hard rock,0.5,0.9,1,-4,"
          "1,0.05,0.01,0,0.1,0.5,150,200000\n"
          "NEWNEWNEWNEWNEWNEWNEW2,Brand New Too,Zed Band,50,x,A,2020,P,p,rock,hard rock,0.5,0.9,"
          "1,-4,1,0.05,0.01,0,0.1,0.5,150,210000\n",
          f);
    /* Genres for every artist of the first file, and for Zed Band. */
    for (uint32_t i = 0; i < c->n_tracks; i++)
        if (c->tracks[i].n_artists)
            fprintf(g, "\"%s\",1,\"['%s style', 'shared']\"\n", c->tracks[i].artists[0],
                    c->tracks[i].genre[0] ? c->tracks[i].genre : "misc");
    fputs("Zed Band,2,['hard rock']\n", g);
    fclose(f);
    fclose(g);
    catalog_free(c);

    char *build[] = {
        bin,   "build", "--catalog",  synth_path, "--catalog=",      "--out", model,
        "--k", "4",     "--restarts", "1",        "--artist-genres", genres,  "--no-catalog-genres",
        NULL};
    char catalog_arg[300];
    snprintf(catalog_arg, sizeof catalog_arg, "--catalog=%s", tidy);
    build[4] = catalog_arg;
    run(&r, build);
    if (r.status != 0)
        fail_msg("build failed: %s", r.err);
    static const char *const BUILD_SAYS[] = {
        "source 1 merge_b.csv (tidytuesday-2020): 5 rows, 0 malformed, 2 songs new, 3 merged "
        "into earlier files' songs (3 by id, 0 by ISRC, 0 by title + artist + duration)",
        "feature explicit: not in merge_b.csv",
        "catalog genre columns excluded (--no-catalog-genres)",
        "(8 genre)",
    };
    for (size_t i = 0; i < sizeof BUILD_SAYS / sizeof BUILD_SAYS[0]; i++)
        if (!strstr(r.out, BUILD_SAYS[i]))
            fail_msg("build output lacks '%s':\n%s", BUILD_SAYS[i], r.out);
    assert_non_null(strstr(r.err, "event=feature_aligned feature=explicit"));

    char *info[] = {bin, "info", model, NULL};
    run(&r, info);
    assert_int_equal(r.status, 0);
    static const char *const INFO_SAYS[] = {
        "sources     2",
        "0  merge_a.csv (kaggle-1921-2020)",
        "1  merge_b.csv (tidytuesday-2020): 5 rows read, 0 malformed, 2 songs, 3 merged",
        "source      merge_a.csv, merge_b.csv (schema merged)",
        "genres      8 embedding dims, weight 2; artist genres from artist_genres.csv",
        "styles      4",
    };
    for (size_t i = 0; i < sizeof INFO_SAYS / sizeof INFO_SAYS[0]; i++)
        if (!strstr(r.out, INFO_SAYS[i]))
            fail_msg("info lacks '%s':\n%s", INFO_SAYS[i], r.out);

    /* The model: two sources, the new songs from source 1, the same ids merged, names unique. */
    struct model *m = NULL;
    assert_int_equal(model_open(model, &m, err, sizeof err), MODEL_OK);
    assert_int_equal(m->n_sources, 2);
    assert_int_equal(m->n_genre_dims, 8);
    assert_int_equal(model_source(m, 1)->n_rows, 2);
    assert_int_equal(model_source(m, 1)->n_merged, 3);
    assert_int_equal(model_source(m, 0)->n_rows + 2, m->n_rows);
    uint32_t row = model_find_id(m, "NEWNEWNEWNEWNEWNEWNEW1");
    assert_int_not_equal(row, MODEL_NO_ROW);
    assert_int_equal(model_row_source(m, row), 1);
    assert_false(model_row_has_feature(m, row, FEAT_EXPLICIT));
    assert_true(model_row_has_feature(m, row, FEAT_YEAR));
    assert_int_equal(model_row_year(m, row), 2019);
    assert_true(model_row_feature(m, row, FEAT_ENERGY) > 0.89f);
    uint32_t zed = model_find_artist(m, "zed band");
    assert_int_equal(zed, model_row_artist_key(m, row));
    assert_string_equal(model_artist_genres(m, zed), "hard rock");
    for (uint32_t a = 0; a < m->k; a++)
        for (uint32_t b = 0; b < a; b++)
            assert_string_not_equal(model_cluster_name(m, a), model_cluster_name(m, b));
    model_close(m);

    /* info --json: the facts, parsed. */
    char *json_args[] = {bin, "info", model, "--json", NULL};
    run(&r, json_args);
    assert_int_equal(r.status, 0);
    cJSON *root = cJSON_Parse(r.out);
    assert_non_null(root);
    assert_int_equal(cJSON_GetObjectItem(root, "k")->valueint, 4);
    assert_int_equal(cJSON_GetObjectItem(root, "genre_dims")->valueint, 8);
    assert_int_equal(cJSON_GetObjectItem(root, "dims")->valueint,
                     8 + cJSON_GetArraySize(cJSON_GetObjectItem(root, "features")));
    cJSON *sources = cJSON_GetObjectItem(root, "sources");
    assert_int_equal(cJSON_GetArraySize(sources), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(sources, 1), "schema")->valuestring,
                        "tidytuesday-2020");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(sources, 1), "merged")->valueint, 3);
    cJSON *styles = cJSON_GetObjectItem(root, "styles");
    assert_int_equal(cJSON_GetArraySize(styles), 4);
    int total = 0;
    for (int i = 0; i < 4; i++) {
        cJSON *style = cJSON_GetArrayItem(styles, i);
        assert_true(strlen(cJSON_GetObjectItem(style, "name")->valuestring) > 0);
        total += cJSON_GetObjectItem(style, "size")->valueint;
    }
    assert_int_equal(total, cJSON_GetObjectItem(root, "rows")->valueint);
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "build"), "seed"));
    assert_true(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "genres"), "used")));
    cJSON_Delete(root);

    /* rows: a header and one line per song. */
    char *rows[] = {bin, "rows", model, NULL};
    char out[65536], errs[1024];
    int status = harness_run(rows, out, sizeof out, errs, sizeof errs, 60000);
    assert_int_equal(status, 0);
    static const char HEADER[] = "row\tid\tstyle\tsource\tgenre\tartist\n";
    assert_memory_equal(out, HEADER, strlen(HEADER));
    assert_non_null(strstr(out, "\tNEWNEWNEWNEWNEWNEWNEW1\t"));
}

static void test_bad_inputs(void **state)
{
    (void)state;
    char bin[512];
    snprintf(bin, sizeof bin, "%s", harness_binary("bin/reco-model"));
    char unknown[256], notmodel[256], out[256];
    snprintf(unknown, sizeof unknown, "%s", in_dir("unknown.csv"));
    snprintf(notmodel, sizeof notmodel, "%s", in_dir("notmodel.bin"));
    snprintf(out, sizeof out, "%s", in_dir("never.model"));
    FILE *f = fopen(unknown, "w");
    fputs("artist,genres,count\nA,[],1\n", f);
    fclose(f);
    f = fopen(notmodel, "w");
    fputs("this is not a model file, just text that is long enough to have a header\n", f);
    fclose(f);
    char good[256];
    snprintf(good, sizeof good, "%s", in_dir("good.csv"));
    char *synth[] = {bin, "synth", "--rows", "200", "--out", good, NULL};
    struct run made;
    run(&made, synth);
    assert_int_equal(made.status, 0);

    static const struct {
        const char *args[10];
        const char *err_has;
    } CASES[] = {
        {{"build", "--catalog", "/nonexistent/c.csv", "--out", "OUT", NULL}, "cannot open"},
        {{"build", "--catalog", "UNKNOWN", "--out", "OUT", NULL},
         "unknown catalog schema: closest is"},
        {{"build", "--catalog", "UNKNOWN", "--out", "OUT", "--k", "abc", NULL},
         "--k 'abc' is not a whole number in 1..4096 or auto"},
        {{"build", "--catalog", "UNKNOWN", "--out", "OUT", "--k", "0", NULL}, "--k '0'"},
        {{"build", "--catalog", "UNKNOWN", "--out", "OUT", "--features", "tempo,nope", NULL},
         "unknown feature 'nope'"},
        {{"build", "--catalog", "UNKNOWN", "--out", "OUT", "--key-encoding", "spiral", NULL},
         "--key-encoding 'spiral'"},
        {{"build", "--out", "OUT", NULL}, "--catalog and --out are required"},
        {{"info", "NOTMODEL", NULL}, "not a mixtape model"},
        {{"info", "/nonexistent/m.model", NULL}, "cannot open"},
        {{"synth", "--rows", "0", "--out", "OUT", NULL}, "--rows"},
        {{"dance", NULL}, "expected build, info MODEL, rows MODEL or synth"},
        {{"rows", "NOTMODEL", NULL}, "not a mixtape model"},
        {{"build", "--catalog", "UNKNOWN", "--out", "OUT", "--genre-dims", "48", NULL},
         "--genre-dims"},
        {{"build", "--catalog", "UNKNOWN", "--out", "OUT", "--genre-weight", "0", NULL},
         "--genre-weight"},
        {{"build", "--catalog", "GOOD", "--out", "OUT", "--artist-genres", "/nonexistent/g.csv",
          NULL},
         "--artist-genres /nonexistent/g.csv"},
        {{"build", "--catalog", "GOOD", "--out", "OUT", "--artist-genres", "NOTMODEL", NULL},
         "the header has no artist column"},
        {{"build", "--catalog", "GOOD", "--catalog", "UNKNOWN", "--out", "OUT", NULL},
         "unknown catalog schema"},
        {{"build", "--restarts", "0", NULL}, "--restarts"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char *argv[12] = {bin};
        int n = 1;
        for (int a = 0; CASES[i].args[a]; a++) {
            const char *arg = CASES[i].args[a];
            if (strcmp(arg, "UNKNOWN") == 0)
                arg = unknown;
            else if (strcmp(arg, "NOTMODEL") == 0)
                arg = notmodel;
            else if (strcmp(arg, "OUT") == 0)
                arg = out;
            else if (strcmp(arg, "GOOD") == 0)
                arg = good;
            argv[n++] = (char *)(uintptr_t)arg;
        }
        argv[n] = NULL;
        struct run r;
        run(&r, argv);
        if (r.status == 0 || !strstr(r.err, CASES[i].err_has))
            fail_msg("case %zu: status %d, stderr '%s' lacks '%s'", i, r.status, r.err,
                     CASES[i].err_has);
        /* One line: the reason, and nothing else. */
        char *newline = strchr(r.err, '\n');
        assert_true(newline && newline[1] == '\0');
    }
    assert_int_equal(access(out, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synth_build_info),
        cmocka_unit_test(test_build_options),
        cmocka_unit_test(test_merge_genres_json),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
