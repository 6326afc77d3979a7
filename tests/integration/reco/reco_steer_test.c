/* Issue 17's steering end to end with the real binaries: a model built by reco-model from its
 * synthetic catalog (genre labels, so styles have names), reco-service on a free port, and
 * reco-cli with each steering flag (--discover, --energy, --valence, --danceability, --tempo,
 * --years, --no-explicit) and each bad value; the service's own INVALID_ARGUMENT for values
 * only it can judge, sent through the typed client; artist-only matches; and Health after
 * every refusal, to show the service still standing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "reco_rpc.h"
#include "saved_file.h"
#include "steer_cases.h"

static char work_dir[256], csv[320], model[320], thin_model[320], saved_path[320];
static char artists_path[320], strangers_path[320];
static char cli_bin[4096], service_bin[4096], model_bin[4096];
static struct harness_proc service, thin_service;
static struct saved_list saved;
static char out[1 << 18], err[1 << 14];

static char *mutable(const char *s)
{
    return (char *)(uintptr_t)s;
}

static int run_quiet(char *const argv[])
{
    return harness_run(argv, out, sizeof out, err, sizeof err, 120000);
}

static int start(struct harness_proc *proc, const char *model_file)
{
    char *argv[] = {
        service_bin, "--model", mutable(model_file), "--listen", "tcp://127.0.0.1:0", "--workers",
        "2",         NULL};
    return harness_start(proc, argv, NULL, 30000);
}

/* The catalog, two models (all features; and one without energy, for a target the service
 * refuses), the saved files, and a service on each model. */
static int setup(void **state)
{
    (void)state;
    snprintf(cli_bin, sizeof cli_bin, "%s", harness_binary("bin/reco-cli"));
    snprintf(service_bin, sizeof service_bin, "%s", harness_binary("bin/reco-service"));
    snprintf(model_bin, sizeof model_bin, "%s", harness_binary("bin/reco-model"));
    snprintf(work_dir, sizeof work_dir, "/tmp/reco_steer_%d", (int)getpid());
    if (mkdir(work_dir, 0700) != 0)
        return -1;
    snprintf(csv, sizeof csv, "%s/synth.csv", work_dir);
    snprintf(model, sizeof model, "%s/synth.model", work_dir);
    snprintf(thin_model, sizeof thin_model, "%s/thin.model", work_dir);
    snprintf(saved_path, sizeof saved_path, "%s/saved.csv", work_dir);
    snprintf(artists_path, sizeof artists_path, "%s/artists.csv", work_dir);
    snprintf(strangers_path, sizeof strangers_path, "%s/strangers.csv", work_dir);
    char *synth[] = {model_bin, "synth", "--rows", "6000", "--seed", "11", "--out", csv, NULL};
    char *build[] = {model_bin, "build", "--catalog",  csv, "--out", model,
                     "--k",     "8",     "--restarts", "1", NULL};
    char *thin[] = {model_bin, "build",    "--catalog",  csv,
                    "--out",   thin_model, "--features", "valence,danceability,tempo,year",
                    "--k",     "4",        "--restarts", "1",
                    NULL};
    if (run_quiet(synth) != 0 || run_quiet(build) != 0 || run_quiet(thin) != 0) {
        fprintf(stderr, "reco-model: %s\n", err);
        return -1;
    }
    /* Saved: the header and 150 rows of the catalog. */
    FILE *in = fopen(csv, "r");
    FILE *to = fopen(saved_path, "w");
    if (!in || !to)
        return -1;
    static char line[8192];
    for (int i = 0; i <= 150 && fgets(line, sizeof line, in); i++)
        fputs(line, to);
    fclose(in);
    fclose(to);
    if (saved_file_read(saved_path, &saved, err, sizeof err) != 0 || saved.n != 150)
        return -1;
    /* Songs the catalog does not have, by artists it does: artist-only matches. */
    to = fopen(artists_path, "w");
    if (!to)
        return -1;
    fputs("name,artists\n", to);
    for (size_t i = 0; i < 20; i++)
        fprintf(to, "\"A song nobody wrote %zu\",\"%s\"\n", i, saved.items[i].artists[0]);
    fclose(to);
    to = fopen(strangers_path, "w");
    if (!to)
        return -1;
    fputs("name,artists\nNo such song,Nobody Anyone Knows\nNor this one,Another Stranger\n", to);
    fclose(to);
    if (start(&service, model) != 0 || start(&thin_service, thin_model) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_stop(&service, 10000);
    harness_stop(&thin_service, 10000);
    saved_list_free(&saved);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", work_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The service answers Health: it is still standing. */
static void expect_standing(const struct harness_proc *proc)
{
    char *argv[] = {cli_bin, "--endpoint", mutable(proc->addr), "health", NULL};
    int rc = harness_run(argv, out, sizeof out, err, sizeof err, 30000);
    if (rc != 0 || !strstr(out, "serving=true"))
        fail_msg("reco-service is not standing: exit %d: %s%s", rc, out, err);
}

/* reco-cli recommend FILE --json -n N with extra flags (NULL-terminated); the parsed output. */
static cJSON *recommend_json(const char *file, const char *n, const char *const *extra)
{
    char *argv[32] = {cli_bin,       "--endpoint", service.addr, "recommend",
                      mutable(file), "--json",     "-n",         mutable(n)};
    int argc = 8;
    for (; extra && *extra && argc < 31; extra++)
        argv[argc++] = mutable(*extra);
    argv[argc] = NULL;
    int rc = harness_run(argv, out, sizeof out, err, sizeof err, 60000);
    if (rc != 0)
        fail_msg("reco-cli %s: exit %d: %s", extra ? "(steered)" : "", rc, err);
    cJSON *root = cJSON_Parse(out);
    assert_non_null(root);
    return root;
}

static bool is_saved_artist(const char *artist)
{
    for (size_t s = 0; s < saved.n; s++)
        if (saved.items[s].n_artists && strcmp(saved.items[s].artists[0], artist) == 0)
            return true;
    return false;
}

/* The shared checks of the styles, and every pick's style_index naming its style. */
static void check_styles(const cJSON *root)
{
    steer_check_styles(root, 0.001);
    const cJSON *styles = steer_item(root, "styles");
    const cJSON *t;
    cJSON_ArrayForEach(t, steer_item(root, "tracks"))
    {
        int index = steer_item(t, "style_index")->valueint;
        const cJSON *own = cJSON_GetArrayItem(styles, index);
        assert_non_null(own);
        assert_string_equal(steer_item(t, "style")->valuestring,
                            steer_item(own, "name")->valuestring);
    }
}

static void test_each_flag(void **state)
{
    (void)state;
    /* Nothing steered: named styles, reasons, and the table prints them. */
    cJSON *plain = recommend_json(saved_path, "30", NULL);
    assert_int_equal(cJSON_GetArraySize(steer_item(plain, "tracks")), 30);
    check_styles(plain);
    assert_null(cJSON_GetObjectItemCaseSensitive(plain, "short_reason"));
    char *table[] = {cli_bin,    "--endpoint", service.addr, "recommend",
                     saved_path, "-n",         "12",         NULL};
    assert_int_equal(harness_run(table, out, sizeof out, err, sizeof err, 60000), 0);
    assert_non_null(strstr(out, "style"));
    assert_non_null(strstr(out, "library  playlist"));
    const cJSON *first_style = cJSON_GetArrayItem(steer_item(plain, "styles"), 0);
    assert_non_null(strstr(out, steer_item(first_style, "name")->valuestring));
    assert_non_null(strstr(out, "matched 150 of 150 saved tracks"));

    /* --discover 1: no saved artist, every pick a new artist. */
    const char *discover[] = {"--discover", "1", NULL};
    cJSON *fresh = recommend_json(saved_path, "30", discover);
    check_styles(fresh);
    const cJSON *t;
    cJSON_ArrayForEach(t, steer_item(fresh, "tracks"))
    {
        assert_string_equal(steer_item(t, "reason")->valuestring, "new_artist");
        const char *artist = cJSON_GetArrayItem(steer_item(t, "artists"), 0)->valuestring;
        if (is_saved_artist(artist))
            fail_msg("--discover 1 picked %s, a saved artist", artist);
    }
    /* --discover 0.5 differs from both ends. */
    const char *half[] = {"--discover", "0.5", NULL};
    cJSON *mixed = recommend_json(saved_path, "30", half);
    check_styles(mixed);
    assert_false(cJSON_Compare(steer_item(mixed, "tracks"), steer_item(plain, "tracks"), true));

    /* --years: every pick inside the range. */
    const char *years[] = {"--years", "1990-1999", NULL};
    cJSON *nineties = recommend_json(saved_path, "30", years);
    check_styles(nineties);
    assert_true(cJSON_GetArraySize(steer_item(nineties, "tracks")) > 0);
    cJSON_ArrayForEach(t, steer_item(nineties, "tracks"))
    {
        int year = steer_item(t, "year")->valueint;
        if (year < 1990 || year > 1999)
            fail_msg("--years 1990-1999 picked a song from %d", year);
    }
    /* --years 1995: a narrow range gives fewer songs and says why. */
    const char *one_year[] = {"--years", "1995", "--no-explicit", "--discover", "1", NULL};
    cJSON *narrow = recommend_json(saved_path, "200", one_year);
    int got = cJSON_GetArraySize(steer_item(narrow, "tracks"));
    assert_true(got < 200);
    const cJSON *why = steer_item(narrow, "short_reason");
    assert_non_null(strstr(why->valuestring, "1995"));
    cJSON_ArrayForEach(t, steer_item(narrow, "tracks"))
    {
        assert_int_equal(steer_item(t, "year")->valueint, 1995);
    }

    /* Each steering value alone (steer_cases.c): accepted, and it changes the playlist. */
    for (size_t m = 0; m < STEER_N_MOVES; m++) {
        cJSON *moved = recommend_json(saved_path, "30", STEER_MOVES[m].flags);
        check_styles(moved);
        if (cJSON_Compare(steer_item(moved, "tracks"), steer_item(plain, "tracks"), true))
            fail_msg("%s %s left the playlist as it was", STEER_MOVES[m].flags[0],
                     STEER_MOVES[m].flags[1]);
        cJSON_Delete(moved);
    }
    /* --no-explicit: no explicit song, where the unsteered playlist of the same length has
     * some (the synthetic catalog marks about one song in eight). */
    cJSON *long_plain = recommend_json(saved_path, "200", NULL);
    const char *clean_flags[] = {"--no-explicit", NULL};
    cJSON *clean = recommend_json(saved_path, "200", clean_flags);
    check_styles(clean);
    steer_check_no_explicit(csv, long_plain, clean, "--no-explicit");
    cJSON_Delete(clean);
    cJSON_Delete(long_plain);
    /* All at once, with n and max-per-artist. */
    const char *all[] = {"--discover",
                         "0.3",
                         "--energy",
                         "0.7",
                         "--valence",
                         "0.6",
                         "--danceability",
                         "0.5",
                         "--tempo",
                         "120",
                         "--years",
                         "1980-",
                         "--no-explicit",
                         "--max-per-artist",
                         "1",
                         NULL};
    cJSON *steered = recommend_json(saved_path, "25", all);
    check_styles(steered);
    cJSON_ArrayForEach(t, steer_item(steered, "tracks"))
    {
        assert_true(steer_item(t, "year")->valueint >= 1980);
    }
    cJSON_Delete(steered);
    cJSON_Delete(narrow);
    cJSON_Delete(nineties);
    cJSON_Delete(mixed);
    cJSON_Delete(fresh);
    cJSON_Delete(plain);
    expect_standing(&service);
}

static void test_bad_values(void **state)
{
    (void)state;
    /* Each rule both doors enforce (steer_cases.c): exit 2 and one line naming the flag. */
    for (size_t i = 0; i < STEER_N_REFUSALS; i++) {
        const struct steer_refusal *c = &STEER_REFUSALS[i];
        char *argv[] = {cli_bin,    "--endpoint",     service.addr,      "recommend",
                        saved_path, mutable(c->flag), mutable(c->value), NULL};
        int rc = harness_run(argv, out, sizeof out, err, sizeof err, 30000);
        if (rc != 2 || !strstr(err, c->cli_says))
            fail_msg("%s %s: exit %d, said '%s'", c->flag, c->value ? c->value : "", rc, err);
        assert_int_equal(out[0], '\0');
        assert_int_equal(strchr(err, '\n') - err + 1, (long)strlen(err)); /* one line */
    }
    /* A value only the service can judge: the model has no energy feature. Exit 1, the
     * service's message naming the field. */
    char *thin[] = {cli_bin, "--endpoint", thin_service.addr, "recommend", saved_path, "--energy",
                    "0.5",   NULL};
    int rc = harness_run(thin, out, sizeof out, err, sizeof err, 30000);
    if (rc != 1 || !strstr(err, "INVALID_ARGUMENT: target.energy: the model has no energy"))
        fail_msg("--energy on a model without energy: exit %d: %s", rc, err);
    expect_standing(&thin_service);
    /* The tempo target works there: the model has tempo. */
    char *thin_tempo[] = {
        cli_bin, "--endpoint", thin_service.addr, "recommend", saved_path, "--tempo", "100", NULL};
    assert_int_equal(harness_run(thin_tempo, out, sizeof out, err, sizeof err, 30000), 0);
    expect_standing(&service);
}

/* Values reco-cli would refuse, sent straight through the typed client: the service refuses
 * each with INVALID_ARGUMENT naming the field, and keeps serving. */
static void test_service_refusals(void **state)
{
    (void)state;
    struct rpc_client *client = NULL;
    char why[256];
    assert_int_equal(rpc_client_open(&client, service.addr, why, sizeof why), RPC_OK);
    struct reco_rpc_track tracks[10];
    for (size_t i = 0; i < 10; i++)
        tracks[i] = (struct reco_rpc_track){.id = saved.items[i].id};
    static const struct {
        const char *what;
        struct reco_rpc_request steer;
        const char *says;
    } cases[] = {
        {"discover 1.5", {.has_discover = true, .discover = 1.5f}, "discover: 1.5 is outside 0..1"},
        {"discover -0.25",
         {.has_discover = true, .discover = -0.25f},
         "discover: -0.25 is outside"},
        {"energy 3", {.energy = {true, 3.0f}}, "target.energy: 3 is outside 0..1"},
        {"valence -1", {.valence = {true, -1.0f}}, "target.valence: -1 is outside 0..1"},
        {"danceability 1.5", {.danceability = {true, 1.5f}}, "target.danceability: 1.5 is outside"},
        {"tempo 0.5", {.tempo = {true, 0.5f}}, "target.tempo: 0.5 is outside 1..300"},
        {"tempo 400", {.tempo = {true, 400.0f}}, "target.tempo: 400 is outside 1..300"},
        {"years from 1800", {.year_from = 1800}, "years: 1800 is outside 1900..2100"},
        {"years to 3000", {.year_to = 3000}, "years: 3000 is outside 1900..2100"},
        {"years to 100000", {.year_to = 100000}, "years: 100000 is outside 1900..2100"},
        {"years reversed",
         {.year_from = 2010, .year_to = 2000},
         "years: from 2010 is after to 2000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct reco_rpc_request req = cases[i].steer;
        req.tracks = tracks;
        req.n_tracks = 10;
        struct reco_rpc_reply *reply = NULL;
        char *message = NULL;
        enum rpc_code code = reco_rpc_recommend(client, &req, 10000, &reply, &message, NULL);
        if (code != RPC_INVALID_ARGUMENT || !message || !strstr(message, cases[i].says))
            fail_msg("%s: %s '%s'", cases[i].what, rpc_code_name(code), message ? message : "");
        assert_null(reply);
        free(message);
        expect_standing(&service);
    }
    rpc_client_close(client);
}

/* Saved songs the catalog lacks, by artists it has: they count as artist-only matches and
 * place the user in styles; a library of strangers is refused in words. */
static void test_artist_only_matches(void **state)
{
    (void)state;
    cJSON *root = recommend_json(artists_path, "20", NULL);
    const cJSON *stats = steer_item(root, "stats");
    assert_int_equal(steer_item(stats, "saved")->valueint, 20);
    assert_true(steer_item(stats, "by_artist")->valueint >= 15); /* a title may still match */
    assert_int_equal(
        steer_item(stats, "by_artist")->valueint + steer_item(stats, "by_title")->valueint, 20);
    assert_int_equal(steer_item(stats, "unmatched")->valueint, 0);
    const cJSON *decades = steer_item(stats, "by_decade");
    assert_int_equal(cJSON_GetArraySize(decades), 1);
    assert_int_equal(steer_item(cJSON_GetArrayItem(decades, 0), "artists_only")->valueint,
                     steer_item(stats, "by_artist")->valueint);
    check_styles(root);
    assert_int_equal(cJSON_GetArraySize(steer_item(root, "tracks")), 20);
    cJSON_Delete(root);

    char *argv[] = {cli_bin, "--endpoint", service.addr, "recommend", strangers_path, NULL};
    int rc = harness_run(argv, out, sizeof out, err, sizeof err, 30000);
    if (rc != 1 || !strstr(err, "NOT_FOUND: saved: none of the 2 saved tracks matched"))
        fail_msg("strangers: exit %d: %s", rc, err);
    expect_standing(&service);
}

/* Info lists every style with its size. */
static void test_info_styles(void **state)
{
    (void)state;
    char *argv[] = {cli_bin, "--endpoint", service.addr, "info", "--json", NULL};
    assert_int_equal(harness_run(argv, out, sizeof out, err, sizeof err, 30000), 0);
    cJSON *root = cJSON_Parse(out);
    assert_non_null(root);
    const cJSON *styles = steer_item(root, "styles");
    assert_int_equal(cJSON_GetArraySize(styles), steer_item(root, "k")->valueint);
    int total = 0;
    const cJSON *st;
    cJSON_ArrayForEach(st, styles)
    {
        assert_true(strlen(steer_item(st, "name")->valuestring) > 0);
        total += steer_item(st, "size")->valueint;
    }
    assert_int_equal(total, steer_item(root, "tracks")->valueint);
    cJSON_Delete(root);
    char *text[] = {cli_bin, "--endpoint", service.addr, "info", NULL};
    assert_int_equal(harness_run(text, out, sizeof out, err, sizeof err, 30000), 0);
    assert_non_null(strstr(out, "styles         8"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_flag),        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_service_refusals), cmocka_unit_test(test_artist_only_matches),
        cmocka_unit_test(test_info_styles),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
