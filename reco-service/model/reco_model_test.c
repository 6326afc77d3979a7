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
    assert_non_null(strstr(head + 10, ", 15), }"));
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

    static const struct {
        const char *args[8];
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
        {{"dance", NULL}, "expected build, info MODEL or synth"},
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
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
