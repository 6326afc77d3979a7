/* End to end in a real browser: headless Chromium (through chromedriver and our WebDriver
 * client) signs in to auth-service through the Spotify emulator's consent page, watches the
 * playlist being made, saves it, and sees the embed of the playlist the emulator now holds;
 * the same with AUTO_SAVE=true and no click (a second front); then Deny on the consent page, a corrupted session cookie, and the same flow with 429s, 5xx
 * and expired tokens. Starts spotify-emu, reco-service (on a small synthetic model) and
 * auth-service on free ports; keeps PNG screenshots in BUILD/tests/e2e/artifacts/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "emu_client.h"
#include "harness.h"
#include "webdriver.h"

#define CLIENT_ID    "mixtape-e2e"
#define LIBRARY_SIZE "1000"
#define PLAYLIST_LEN 50

static struct harness_proc reco, emu, front, auto_front, lonely_front;
static struct wd wd;
static char work[64], artifacts[1024], emu_base[128], front_base[128], auto_front_base[128],
    lonely_front_base[128];

static int run(char *const argv[], int timeout_ms)
{
    char err[4096] = "";
    int status = harness_run(argv, NULL, 0, err, sizeof err, timeout_ms);
    if (status != 0)
        fprintf(stderr, "%s failed (%d): %s\n", argv[0], status, err);
    return status;
}

static void copy(char *dst, size_t len, const char *src)
{
    size_t n = strnlen(src, len - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int emu_config(const char *json_text)
{
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct emu_response answer;
    if (emu_request("POST", emu_base, "/_emu/config", headers, json_text, &answer) != 0)
        return -1;
    long status = answer.status;
    if (status != 200)
        fprintf(stderr, "/_emu/config %s: %s\n", json_text, answer.body);
    emu_response_free(&answer);
    return status == 200 ? 0 : -1;
}

static int start_all(void **state)
{
    (void)state;
    const char *build = getenv("MIXTAPE_BUILD_DIR");
    snprintf(artifacts, sizeof artifacts, "%s/tests/e2e/artifacts", build ? build : ".");
    char command_line[1200];
    snprintf(command_line, sizeof command_line, "mkdir -p '%s'", artifacts);
    if (system(command_line) != 0)
        return -1;
    copy(work, sizeof work, "/tmp/mixtape-e2e-XXXXXX");
    if (!mkdtemp(work))
        return -1;
    char catalog[128], model[128], model_bin[1024], reco_bin[1024], emu_bin[1024], front_bin[1024];
    snprintf(catalog, sizeof catalog, "%s/catalog.csv", work);
    snprintf(model, sizeof model, "%s/model.mxm", work);
    copy(model_bin, sizeof model_bin, harness_binary("bin/reco-model"));
    copy(reco_bin, sizeof reco_bin, harness_binary("bin/reco-service"));
    copy(emu_bin, sizeof emu_bin, harness_binary("bin/spotify-emu"));
    copy(front_bin, sizeof front_bin, harness_binary("bin/auth-service"));

    char *synth[] = {model_bin, "synth", "--rows", "6000", "--out", catalog, "--seed", "5", NULL};
    char *build_model[] = {model_bin, "build", "--catalog",  catalog, "--out", model,
                           "--k",     "10",    "--restarts", "2",     NULL};
    if (run(synth, 60000) != 0 || run(build_model, 120000) != 0)
        return -1;
    char *reco_argv[] = {reco_bin, "--model", model, "--listen", "tcp://127.0.0.1:0", NULL};
    if (harness_start(&reco, reco_argv, NULL, 30000) != 0)
        return -1;
    char *emu_argv[] = {emu_bin,
                        "--catalog",
                        catalog,
                        "--client-id",
                        CLIENT_ID,
                        "--redirect-uri",
                        "http://127.0.0.1:1/callback",
                        "--library-size",
                        LIBRARY_SIZE,
                        "--log-level",
                        "warn",
                        NULL};
    if (harness_start(&emu, emu_argv, NULL, 30000) != 0)
        return -1;
    snprintf(emu_base, sizeof emu_base, "http://%.100s", emu.addr);

    unsigned char key[32];
    char key_text[64];
    RAND_bytes(key, sizeof key);
    EVP_EncodeBlock((unsigned char *)key_text, key, sizeof key);
    char env_keys[100], env_reco[320], env_accounts[160], env_api[160], env_oembed[160];
    snprintf(env_keys, sizeof env_keys, "SESSION_KEYS=%s", key_text);
    snprintf(env_reco, sizeof env_reco, "RECO_ENDPOINTS=%s", reco.addr);
    snprintf(env_accounts, sizeof env_accounts, "SPOTIFY_ACCOUNTS_URL=%s", emu_base);
    snprintf(env_api, sizeof env_api, "SPOTIFY_API_URL=%s", emu_base);
    snprintf(env_oembed, sizeof env_oembed, "SPOTIFY_OEMBED_URL=%s", emu_base);
    char *front_env[] = {"SPOTIFY_CLIENT_ID=" CLIENT_ID,
                         "LISTEN=127.0.0.1:0",
                         env_keys,
                         env_reco,
                         env_accounts,
                         env_api,
                         env_oembed,
                         "LOG_LEVEL=warn",
                         NULL};
    char *front_argv[] = {front_bin, NULL};
    if (harness_start(&front, front_argv, front_env, 30000) != 0)
        return -1;
    copy(front_base, sizeof front_base, front.addr);
    /* A second front, same keys, with AUTO_SAVE=true. */
    char *auto_env[] = {"SPOTIFY_CLIENT_ID=" CLIENT_ID,
                        "LISTEN=127.0.0.1:0",
                        env_keys,
                        env_reco,
                        env_accounts,
                        env_api,
                        "LOG_LEVEL=warn",
                        "AUTO_SAVE=true",
                        NULL};
    if (harness_start(&auto_front, front_argv, auto_env, 30000) != 0)
        return -1;
    copy(auto_front_base, sizeof auto_front_base, auto_front.addr);
    /* A third front whose reco-service is not there (nothing listens on port 1). */
    char *lonely_env[] = {"SPOTIFY_CLIENT_ID=" CLIENT_ID,
                          "LISTEN=127.0.0.1:0",
                          env_keys,
                          "RECO_ENDPOINTS=tcp://127.0.0.1:1",
                          env_accounts,
                          env_api,
                          "LOG_LEVEL=warn",
                          NULL};
    if (harness_start(&lonely_front, front_argv, lonely_env, 30000) != 0)
        return -1;
    copy(lonely_front_base, sizeof lonely_front_base, lonely_front.addr);
    /* Register the fronts' callbacks (they learnt their ports only when they started). */
    const char *redirect = strstr(front.ready_line, "redirect_uri=");
    const char *auto_redirect = strstr(auto_front.ready_line, "redirect_uri=");
    const char *lonely_redirect = strstr(lonely_front.ready_line, "redirect_uri=");
    if (!redirect || !auto_redirect || !lonely_redirect)
        return -1;
    char registration[900];
    snprintf(registration, sizeof registration, "{\"redirect_uris\":\"%.*s,%.*s,%.*s\"}",
             (int)strcspn(redirect + 13, " \n"), redirect + 13,
             (int)strcspn(auto_redirect + 13, " \n"), auto_redirect + 13,
             (int)strcspn(lonely_redirect + 13, " \n"), lonely_redirect + 13);
    if (emu_config(registration) != 0)
        return -1;
    char log_path[1100];
    snprintf(log_path, sizeof log_path, "%s/chromedriver.log", artifacts);
    return wd_start(&wd, "/usr/bin/chromedriver", "/usr/bin/chromium", log_path, 1280, 2400,
                    "normal");
}

static int stop_all(void **state)
{
    (void)state;
    wd_stop(&wd);
    int failures = 0;
    failures += harness_stop(&front, 10000) != 0;
    failures += harness_stop(&auto_front, 10000) != 0;
    failures += harness_stop(&lonely_front, 10000) != 0;
    failures += harness_stop(&emu, 10000) != 0;
    failures += harness_stop(&reco, 10000) != 0;
    char command_line[200];
    snprintf(command_line, sizeof command_line, "rm -rf '%s'", work);
    failures += system(command_line) != 0;
    return failures ? -1 : 0;
}

static void axe_check(const char *page_state);
static int emu_count(const char *endpoint);

static void screenshot(const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.png", artifacts, name);
    assert_int_equal(wd_screenshot(&wd, path), 0);
    struct stat info;
    assert_int_equal(stat(path, &info), 0);
    assert_true(info.st_size > 1000);
    fprintf(stderr, "screenshot: %s (%lld bytes)\n", path, (long long)info.st_size);
}

static void expect(const char *css, int timeout_ms, char element[WD_ELEMENT_LEN])
{
    if (wd_wait(&wd, css, timeout_ms, element) != 0) {
        char url[1024] = "";
        wd_current_url(&wd, url, sizeof url);
        fprintf(stderr, "no '%s' on %s within %d ms (%s)\n", css, url, timeout_ms, wd.last_error);
        screenshot("e2e-failure");
        fail();
    }
}

/* Signed out: from the landing page of the front at base through the consent page (as the
 * default user) to 50 tracks on the mix page. */
static void sign_in_at(const char *base, const char *decision)
{
    char element[WD_ELEMENT_LEN];
    char url[300];
    snprintf(url, sizeof url, "%s/", base);
    assert_int_equal(wd_navigate(&wd, url), 0);
    assert_int_equal(wd_delete_cookies(&wd), 0);
    assert_int_equal(wd_navigate(&wd, url), 0);
    expect("#login", 10000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    expect("#approve", 15000, element);
    char selected[64] = "";
    char option[WD_ELEMENT_LEN];
    expect("select#user option[selected]", 1000, option);
    assert_int_equal(wd_attribute(&wd, option, "value", selected, sizeof selected), 0);
    assert_string_equal(selected, "demo");
    static bool consent_shot;
    if (!consent_shot) {
        screenshot("e2e-consent");
        consent_shot = true;
    }
    char selector[64];
    snprintf(selector, sizeof selector, "#%s", decision);
    expect(selector, 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
}

static void sign_in_to_tracks(const char *decision)
{
    sign_in_at(front_base, decision);
}

static void wait_for_tracks(void)
{
    char element[WD_ELEMENT_LEN];
    expect("#tracks li", 90000, element);
    assert_int_equal(wd_count(&wd, "#tracks li"), PLAYLIST_LEN);
    /* The progress was streamed: reading steps, then matching. */
    assert_true(wd_count(&wd, "#progress li[data-step=\"read\"]") > 0);
    assert_true(wd_count(&wd, "#progress li[data-step=\"match\"]") > 0);
}

static cJSON *emu_get(const char *path)
{
    struct emu_response answer;
    assert_int_equal(emu_request("GET", emu_base, path, NULL, NULL, &answer), 0);
    assert_int_equal(answer.status, 200);
    cJSON *json = cJSON_Parse(answer.body);
    emu_response_free(&answer);
    assert_non_null(json);
    return json;
}

/* Waits for the embed and checks the playlist the emulator holds: the shown tracks in order,
 * 50 distinct, none already saved by the demo user, private. */
static void check_saved(const char *shot)
{
    char shown[PLAYLIST_LEN * 24 + 64];
    assert_int_equal(wd_script(&wd,
                               "return Array.prototype.map.call(document.querySelectorAll("
                               "'#tracks li'), function (li) { return li.getAttribute('data-id'); "
                               "}).join(',');",
                               shown, sizeof shown),
                     0);
    char element[WD_ELEMENT_LEN];
    expect("iframe#embed", 60000, element);
    char src[512];
    assert_int_equal(wd_attribute(&wd, element, "src", src, sizeof src), 0);
    const char *prefix = "https://open.spotify.com/embed/playlist/";
    assert_true(strncmp(src, prefix, strlen(prefix)) == 0);
    char id[32];
    snprintf(id, sizeof id, "%.*s", (int)strcspn(src + strlen(prefix), "?"), src + strlen(prefix));
    assert_int_equal(strlen(id), 22);
    screenshot(shot);

    cJSON *playlists = emu_get("/_emu/playlists");
    cJSON *users = emu_get("/_emu/users");
    const cJSON *saved_ids = cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(users, "users"), 0), "saved_ids");
    const cJSON *found = NULL, *playlist;
    cJSON_ArrayForEach(playlist, cJSON_GetObjectItem(playlists, "playlists"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(playlist, "id")), id) == 0)
            found = playlist;
    }
    assert_non_null(found);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(found, "user")), "demo");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(found, "public")));
    const cJSON *uris = cJSON_GetObjectItem(found, "uris");
    assert_int_equal(cJSON_GetArraySize(uris), PLAYLIST_LEN);
    const char *cursor = shown;
    for (int i = 0; i < PLAYLIST_LEN; i++) {
        const char *uri = cJSON_GetStringValue(cJSON_GetArrayItem(uris, i));
        assert_true(strncmp(uri, "spotify:track:", 14) == 0);
        const char *track = uri + 14;
        /* In the order shown on the page. */
        assert_true(strncmp(cursor, track, 22) == 0);
        cursor += 22 + (cursor[22] == ',');
        for (int k = 0; k < i; k++)
            assert_string_not_equal(cJSON_GetStringValue(cJSON_GetArrayItem(uris, k)), uri);
        const cJSON *saved;
        cJSON_ArrayForEach(saved, saved_ids)
        {
            assert_string_not_equal(cJSON_GetStringValue(saved), track);
        }
    }
    cJSON_Delete(playlists);
    cJSON_Delete(users);
}

/* Clicks Save, then checks as check_saved. */
static void save_and_check(const char *shot)
{
    char element[WD_ELEMENT_LEN];
    expect("#save", 5000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    check_saved(shot);
}

static void test_sign_in_mix_and_save(void **state)
{
    (void)state;
    sign_in_to_tracks("approve");
    wait_for_tracks();
    screenshot("e2e-tracks");
    save_and_check("e2e-saved");
}

/* AUTO_SAVE=true: the playlist is saved as soon as it is shown, with no click (the page's
 * script saves through POST /api/save; the GET /mix itself writes nothing). */
static void test_auto_save_saves_at_once(void **state)
{
    (void)state;
    sign_in_at(auto_front_base, "approve");
    wait_for_tracks();
    check_saved("e2e-auto-saved");
    char element[WD_ELEMENT_LEN], label[64] = "";
    expect("#save", 1000, element);
    assert_int_equal(wd_text(&wd, element, label, sizeof label), 0);
    assert_string_equal(label, "Saved to Spotify");
}

static void test_deny_offers_retry(void **state)
{
    (void)state;
    sign_in_to_tracks("deny");
    char element[WD_ELEMENT_LEN], code[64];
    expect("#error", 15000, element);
    assert_int_equal(wd_attribute(&wd, element, "data-code", code, sizeof code), 0);
    assert_string_equal(code, "access_denied");
    screenshot("e2e-denied");
    expect("#retry", 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    /* Trying again leads back to the consent page. */
    expect("#approve", 15000, element);
}

static void test_corrupted_session_cookie_is_signed_out(void **state)
{
    (void)state;
    sign_in_to_tracks("approve");
    wait_for_tracks();
    char element[WD_ELEMENT_LEN], url[300];
    snprintf(url, sizeof url, "%s/", front_base);
    assert_int_equal(wd_navigate(&wd, url), 0);
    expect("#mix", 5000, element); /* signed in */
    assert_true(wd_corrupt_cookies(&wd) >= 1);
    assert_int_equal(wd_navigate(&wd, url), 0);
    expect("#login", 5000, element);
    assert_int_equal(wd_count(&wd, "#mix"), 0);
    assert_int_equal(wd_count(&wd, "#logout"), 0);
    expect("#session-ended", 1000, element);
    screenshot("e2e-signed-out");
    axe_check("session-ended-landing");
}

static void test_faults_still_end_with_a_playlist(void **state)
{
    (void)state;
    assert_int_equal(emu_config("{\"rate_429\":0.15,\"rate_5xx\":0.1,\"retry_after\":1}"), 0);
    sign_in_to_tracks("approve");
    wait_for_tracks();
    save_and_check("e2e-faults-saved");
    /* Expired access tokens are refreshed transparently: Regenerate still gives 50 tracks (from
     * the library read a moment ago), and saving them meets the expired token and refreshes. */
    struct emu_response answer;
    assert_int_equal(emu_request("POST", emu_base, "/_emu/expire", NULL, "", &answer), 0);
    emu_response_free(&answer);
    int grants = emu_count("token");
    char element[WD_ELEMENT_LEN];
    expect("#regenerate", 5000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    expect("#progress li[data-step=\"cached\"]", 60000, element);
    expect("#tracks li", 60000, element);
    assert_int_equal(wd_count(&wd, "#tracks li"), PLAYLIST_LEN);
    save_and_check("e2e-faults-resaved");
    assert_true(emu_count("token") > grants);
    assert_int_equal(emu_config("{\"rate_429\":0,\"rate_5xx\":0}"), 0);
    /* The faults did happen. */
    cJSON *stats = emu_get("/_emu/stats");
    int faults = 0, refreshes = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(stats, "requests"))
    {
        int status = (int)cJSON_GetObjectItem(row, "status")->valuedouble;
        const char *endpoint = cJSON_GetStringValue(cJSON_GetObjectItem(row, "endpoint"));
        int count = (int)cJSON_GetObjectItem(row, "count")->valuedouble;
        if (strcmp(endpoint, "control") != 0 && (status == 429 || status >= 500))
            faults += count;
        if (strcmp(endpoint, "token") == 0 && status == 200)
            refreshes += count;
    }
    cJSON_Delete(stats);
    fprintf(stderr, "faults answered: %d; token grants: %d\n", faults, refreshes);
    assert_true(faults > 0);
}

/* The progress is streamed: with 300 ms added to every Spotify call, a browser that does not
 * wait for the page to finish sees reading steps while no track is shown yet, then 50 tracks. */
static void test_progress_is_streamed(void **state)
{
    (void)state;
    struct wd watcher;
    char log_path[1100];
    snprintf(log_path, sizeof log_path, "%s/chromedriver-streaming.log", artifacts);
    assert_int_equal(wd_start(&watcher, "/usr/bin/chromedriver", "/usr/bin/chromium", log_path,
                              1280, 1600, "none"),
                     0);
    assert_int_equal(emu_config("{\"latency_ms\":300}"), 0);
    char url[300], element[WD_ELEMENT_LEN];
    snprintf(url, sizeof url, "%s/login", front_base);
    assert_int_equal(wd_navigate(&watcher, url), 0);
    assert_int_equal(wd_wait(&watcher, "#approve", 20000, element), 0);
    assert_int_equal(wd_click(&watcher, element), 0);
    assert_int_equal(wd_wait(&watcher, "#progress li[data-step=\"read\"]", 20000, element), 0);
    int shown_while_reading = wd_count(&watcher, "#tracks li");
    char first_step[200] = "";
    wd_text(&watcher, element, first_step, sizeof first_step);
    fprintf(stderr, "first progress line: %s; tracks shown then: %d\n", first_step,
            shown_while_reading);
    assert_int_equal(shown_while_reading, 0);
    assert_int_equal(wd_wait(&watcher, "#tracks li", 60000, element), 0);
    for (int i = 0; i < 50 && wd_count(&watcher, "#tracks li") < PLAYLIST_LEN; i++)
        usleep(100 * 1000);
    assert_int_equal(wd_count(&watcher, "#tracks li"), PLAYLIST_LEN);
    wd_stop(&watcher);
    assert_int_equal(emu_config("{\"latency_ms\":0}"), 0);
}

/* ---- the playlist page people use (issue 13), at desktop and phone sizes ---- */

static char *axe_source;

/* Loads the pinned axe-core (deploy/deps.sh test runs npm ci in tests/e2e/axe). */
static void load_axe(void)
{
    if (axe_source)
        return;
    const char *source = getenv("MIXTAPE_SOURCE_DIR");
    char path[1200];
    snprintf(path, sizeof path, "%s/tests/e2e/axe/node_modules/axe-core/axe.min.js",
             source ? source : ".");
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "no axe-core at %s: run deploy/deps.sh test\n", path);
        fail();
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    axe_source = malloc((size_t)size + 64);
    assert_non_null(axe_source);
    size_t got = fread(axe_source, 1, (size_t)size, f);
    fclose(f);
    assert_int_equal((long)got, size);
    snprintf(axe_source + size, 64, "\n;return 'loaded';");
}

/* Runs axe-core (every rule) on the page as it is now; no serious or critical violation may
 * remain. Prints every violation found. */
static void axe_check(const char *page_state)
{
    load_axe();
    char out[64] = "";
    assert_int_equal(
        wd_script(&wd, "return typeof axe === 'undefined' ? 'no' : 'yes';", out, sizeof out), 0);
    /* a loaded machine can make one injection of axe's 550 KB fail: say why, try again */
    for (int attempt = 0; attempt < 3 && strcmp(out, "loaded") != 0; attempt++) {
        if (strcmp(out, "yes") == 0)
            break;
        if (wd_script(&wd, axe_source, out, sizeof out) != 0) {
            fprintf(stderr, "axe %s: injection failed: %s\n", page_state, wd.last_error);
            snprintf(out, sizeof out, "no");
        }
    }
    if (strcmp(out, "no") == 0)
        fail_msg("axe could not be loaded into the page (%s)", page_state);
    assert_int_equal(
        wd_script(&wd,
                  "window.__axe = '';"
                  "axe.run(document, {iframes: false, resultTypes: ['violations']})"
                  ".then(function (r) { window.__axe = JSON.stringify(r.violations.map("
                  "function (v) { return {id: v.id, impact: v.impact, help: v.help, "
                  "nodes: v.nodes.length, target: v.nodes[0] ? v.nodes[0].target.join(' ') : ''"
                  "}; })); }, function (e) { window.__axe = 'error: ' + e; });"
                  "return 'started';",
                  out, sizeof out),
        0);
    static char result[65536];
    result[0] = '\0';
    for (int i = 0; i < 600 && result[0] == '\0'; i++) {
        usleep(50 * 1000);
        assert_int_equal(wd_script(&wd, "return window.__axe || '';", result, sizeof result), 0);
    }
    cJSON *violations = cJSON_Parse(result);
    if (!cJSON_IsArray(violations)) {
        fprintf(stderr, "axe on %s: %s\n", page_state, result);
        fail();
    }
    int serious = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, violations)
    {
        const char *impact = cJSON_GetStringValue(cJSON_GetObjectItem(v, "impact"));
        bool bad = impact && (strcmp(impact, "serious") == 0 || strcmp(impact, "critical") == 0);
        serious += bad;
        fprintf(stderr, "axe %s: %s %s (%d nodes, first %s): %s\n", page_state,
                impact ? impact : "?", cJSON_GetStringValue(cJSON_GetObjectItem(v, "id")),
                (int)cJSON_GetObjectItem(v, "nodes")->valuedouble,
                cJSON_GetStringValue(cJSON_GetObjectItem(v, "target")),
                cJSON_GetStringValue(cJSON_GetObjectItem(v, "help")));
    }
    fprintf(stderr, "axe %s: %d violations, %d serious or critical\n", page_state,
            cJSON_GetArraySize(violations), serious);
    cJSON_Delete(violations);
    assert_int_equal(serious, 0);
}

/* Screenshot named e2e-<size>-<what>. */
static void shot_at(const char *size, const char *what)
{
    char name[128];
    snprintf(name, sizeof name, "e2e-%s-%s", size, what);
    screenshot(name);
}

static int script_int(const char *script)
{
    char out[64] = "";
    assert_int_equal(wd_script(&wd, script, out, sizeof out), 0);
    return atoi(out);
}

static void shown_ids(char *out, size_t len)
{
    assert_int_equal(wd_script(&wd,
                               "return Array.prototype.map.call(document.querySelectorAll("
                               "'#tracks li'), function (li) { return li.getAttribute('data-id'); "
                               "}).join(',');",
                               out, len),
                     0);
}

/* Requests the emulator answered for endpoint (every status). */
static int emu_count(const char *endpoint)
{
    cJSON *stats = emu_get("/_emu/stats");
    int n = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItem(stats, "requests"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(row, "endpoint")), endpoint) == 0)
            n += (int)cJSON_GetObjectItem(row, "count")->valuedouble;
    }
    cJSON_Delete(stats);
    return n;
}

/* The demo user's playlists in the emulator; *last_id gets the newest one's id and *uris
 * (caller deletes) its items. */
static int demo_playlists(char last_id[32], cJSON **uris)
{
    cJSON *playlists = emu_get("/_emu/playlists");
    int n = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(playlists, "playlists"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "user")), "demo") != 0)
            continue;
        n++;
        if (last_id)
            snprintf(last_id, 32, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(p, "id")));
        if (uris) {
            cJSON_Delete(*uris);
            *uris = cJSON_Duplicate(cJSON_GetObjectItem(p, "uris"), true);
        }
    }
    cJSON_Delete(playlists);
    return n;
}

/* The emulator's playlist id holds exactly the songs the page shows, in order. */
static void expect_playlist_is_shown(const char *id)
{
    char shown[PLAYLIST_LEN * 24 + 64], last[32] = "";
    shown_ids(shown, sizeof shown);
    cJSON *uris = NULL;
    cJSON *playlists = emu_get("/_emu/playlists");
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(playlists, "playlists"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "id")), id) == 0)
            uris = cJSON_Duplicate(cJSON_GetObjectItem(p, "uris"), true);
    }
    cJSON_Delete(playlists);
    assert_non_null(uris);
    assert_int_equal(cJSON_GetArraySize(uris), PLAYLIST_LEN);
    const char *cursor = shown;
    for (int i = 0; i < PLAYLIST_LEN; i++) {
        const char *uri = cJSON_GetStringValue(cJSON_GetArrayItem(uris, i));
        assert_true(strncmp(uri + 14, cursor, 22) == 0);
        cursor += 23;
    }
    cJSON_Delete(uris);
    (void)last;
}

/* Waits until the element's text is want (the button states change after an answer). */
static void expect_text(const char *css, const char *want, int timeout_ms)
{
    char element[WD_ELEMENT_LEN], text[256] = "";
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        if (wd_find(&wd, css, element) == 0 && wd_text(&wd, element, text, sizeof text) == 0 &&
            strcmp(text, want) == 0)
            return;
        usleep(100 * 1000);
    }
    fprintf(stderr, "%s reads '%s', not '%s'\n", css, text, want);
    screenshot("e2e-failure");
    fail();
}

/* Marks the current document, so the next page can be told apart from it. */
static void mark_page(void)
{
    char out[16];
    assert_int_equal(wd_script(&wd, "document.body.setAttribute('data-old', '1'); return 'ok';",
                               out, sizeof out),
                     0);
}

/* Navigation Timing of the page shown: ms from the request to its last byte. */
static int page_ms(void)
{
    return script_int("var n = performance.getEntriesByType('navigation')[0];"
                      "return String(Math.round(n.responseEnd - n.startTime));");
}

/* Everything a user sees on the playlist page, at one window size. */
static void page_tour(int width, int height, const char *size)
{
    assert_int_equal(emu_config("{\"rate_429\":0,\"rate_5xx\":0,\"latency_ms\":0}"), 0);
    assert_int_equal(wd_window_size(&wd, width, height), 0);
    int reads_before = emu_count("me_tracks");
    sign_in_to_tracks("approve");
    wait_for_tracks();
    char element[WD_ELEMENT_LEN];
    /* The playlist first: the summary is one line, the actions are on the first screen, the
     * songs start on it too, and nothing scrolls sideways. */
    assert_int_equal(script_int("return String(document.getElementById('making')"
                                ".getBoundingClientRect().height);"),
                     0);
    assert_true(script_int("return String(Math.round(document.getElementById('actions')"
                           ".getBoundingClientRect().bottom));") <= height);
    assert_true(script_int("return String(Math.round(document.querySelector('#tracks li')"
                           ".getBoundingClientRect().top));") < height);
    assert_true(script_int("return String(document.documentElement.scrollWidth - "
                           "window.innerWidth);") <= 0);
    /* The header stays on one line at this size: the title and the account bar. */
    assert_true(script_int("return String(Math.round(document.querySelector('header')"
                           ".getBoundingClientRect().height));") <= 120);
    /* Covers through oEmbed (the emulator's 64x64 PNGs), loaded for the songs on screen. */
    int covers = 0;
    for (int i = 0; i < 100 && covers == 0; i++) {
        usleep(100 * 1000);
        covers = script_int("var i = document.querySelector('#tracks img.cover');"
                            "return String(i.complete && i.naturalWidth === 64 ? 1 : 0);");
    }
    assert_int_equal(covers, 1);
    shot_at(size, "tracks");
    axe_check("tracks");
    /* Each song links to Spotify and says its style and why it is here. */
    assert_int_equal(script_int("var ok = 0; document.querySelectorAll('#tracks li')"
                                ".forEach(function (li) { var a = li.querySelector('a.title');"
                                " if (a && a.href === 'https://open.spotify.com/track/' + "
                                "li.getAttribute('data-id') && li.querySelector('.chip')"
                                ".textContent.trim().length > 0 && /^(Same artist|Similar sound|"
                                "New artist)$/.test(li.querySelector('.reason').textContent)) "
                                "ok++; }); return String(ok);"),
                     PLAYLIST_LEN);
    assert_true(script_int("return String(Array.prototype.filter.call(document."
                           "querySelectorAll('#tracks .because'), function (b) { return "
                           "/^because you saved .+ by .+$/.test(b.textContent); }).length);") > 0);
    /* The styles legend reads as words, with both shares as text. */
    int styles = wd_count(&wd, "#legend li");
    assert_true(styles >= 1);
    assert_int_equal(
        script_int("var ok = 0; document.querySelectorAll('#legend li')"
                   ".forEach(function (li) { if (li.querySelector('.name')"
                   ".textContent.trim() && /Library \\d+%/.test(li.textContent) && "
                   "/Playlist \\d+%/.test(li.textContent)) ok++; }); return String(ok);"),
        styles);
    /* A style the user has saved every song of says so instead of showing an unexplained 0%:
     * the fixture's library (60% of 1,000 songs from one genre of a 6,000-song catalog) has
     * none left in its largest style. Its styles are named by genres that share no word, so
     * none lends its share to another (that would be a related style's right): every row short
     * of its library share by half or more without the note would be a playlist that silently
     * drops a style, and every row with the note is short of its share. */
    assert_true(script_int("return String(document.querySelectorAll('#legend li .ran-out')"
                           ".length);") >= 1);
    assert_int_equal(
        script_int("var bad = 0; document.querySelectorAll('#legend li .ran-out').forEach("
                   "function (n) { var li = n.closest('li'), l = +/Library (\\d+)%/.exec("
                   "li.textContent)[1], p = +/Playlist (\\d+)%/.exec(li.textContent)[1]; "
                   "if (p >= l) bad++; }); return String(bad);"),
        0);
    assert_int_equal(
        script_int("var bad = 0; document.querySelectorAll('#legend li').forEach(function (li) "
                   "{ var l = +/Library (\\d+)%/.exec(li.textContent)[1], p = +/Playlist "
                   "(\\d+)%/.exec(li.textContent)[1]; if (l >= 20 && p * 2 <= l && "
                   "!li.querySelector('.ran-out')) bad++; }); return String(bad);"),
        0);
    char scrolled[16];
    assert_int_equal(wd_script(&wd,
                               "document.getElementById('styles').scrollIntoView({block: "
                               "'end'}); return 'ok';",
                               scrolled, sizeof scrolled),
                     0);
    shot_at(size, "styles");
    assert_int_equal(
        wd_script(&wd, "window.scrollTo(0, 0); return 'ok';", scrolled, sizeof scrolled), 0);
    /* The bars are <progress> values equal to the percentages in words (no inline style: the
     * CSP forbids it, and a blocked width once showed every bar full). */
    assert_int_equal(script_int("return String(document.querySelectorAll('[style]').length);"), 0);
    assert_int_equal(script_int("var bad = 0; document.querySelectorAll('#legend .bar')"
                                ".forEach(function (b) { var m = /(\\d+)%/.exec(b.textContent);"
                                " if (!m || b.querySelector('progress').value !== Number(m[1])) "
                                "bad++; }); return String(bad);"),
                     0);
    /* Every song's style is in the legend. */
    assert_int_equal(script_int("var names = Array.prototype.map.call(document."
                                "querySelectorAll('#legend .name'), function (n) { return "
                                "n.textContent; }); return String(Array.prototype.filter.call("
                                "document.querySelectorAll('#tracks li'), function (li) { return "
                                "names.indexOf(li.getAttribute('data-style')) < 0; }).length);"),
                     0);
    /* Play in place: Spotify's player for that song, only once asked for. */
    assert_int_equal(wd_count(&wd, "iframe"), 0);
    expect("#tracks li:first-child button.play", 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    expect("#tracks li:first-child iframe.player", 2000, element);
    char src[300] = "", first_id[32] = "";
    assert_int_equal(wd_attribute(&wd, element, "src", src, sizeof src), 0);
    assert_int_equal(wd_script(&wd,
                               "return document.querySelector('#tracks li').getAttribute("
                               "'data-id');",
                               first_id, sizeof first_id),
                     0);
    char want[200];
    snprintf(want, sizeof want, "https://open.spotify.com/embed/track/%s?", first_id);
    assert_true(strncmp(src, want, strlen(want)) == 0);
    shot_at(size, "playing");
    axe_check("playing");
    expect("#tracks li:first-child button.play", 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    assert_int_equal(wd_count(&wd, "iframe"), 0);
    /* Remove a song: one of the same style takes its place. */
    char style[200] = "", removed[32] = "", replacement[32] = "", new_style[200] = "";
    assert_int_equal(wd_script(&wd,
                               "return document.querySelector('#tracks li:nth-child(3)')"
                               ".getAttribute('data-style');",
                               style, sizeof style),
                     0);
    assert_int_equal(wd_script(&wd,
                               "return document.querySelector('#tracks li:nth-child(3)')"
                               ".getAttribute('data-id');",
                               removed, sizeof removed),
                     0);
    int same_style_standing_by = script_int(
        "var s = document.querySelector('#tracks li:nth-child(3)').getAttribute('data-style');"
        "return String(Array.prototype.filter.call(document.querySelectorAll('#reserve li'),"
        "function (li) { return li.getAttribute('data-style') === s; }).length);");
    expect("#tracks li:nth-child(3) button.remove", 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    assert_int_equal(wd_count(&wd, "#tracks li"), PLAYLIST_LEN);
    assert_int_equal(wd_script(&wd,
                               "return document.querySelector('#tracks li:nth-child(3)')"
                               ".getAttribute('data-id');",
                               replacement, sizeof replacement),
                     0);
    assert_int_equal(wd_script(&wd,
                               "return document.querySelector('#tracks li:nth-child(3)')"
                               ".getAttribute('data-style');",
                               new_style, sizeof new_style),
                     0);
    assert_string_not_equal(removed, replacement);
    char gone[120];
    snprintf(gone, sizeof gone, "#tracks li[data-id=\"%s\"]", removed);
    assert_int_equal(wd_count(&wd, gone), 0);
    if (same_style_standing_by > 0)
        assert_string_equal(style, new_style);
    fprintf(stderr, "removed a song of '%s'; its place went to one of '%s'\n", style, new_style);
    /* Downloads: CSV and JSPF of the songs shown. The CSV's isrc column comes from each song's
     * data-isrc: the synthetic catalog gives every song one, so every song shown has one. */
    assert_int_equal(script_int("var ok = 0; document.querySelectorAll('#tracks li')"
                                ".forEach(function (li) { if (/^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$/"
                                ".test(li.getAttribute('data-isrc') || '')) ok++; }); "
                                "return String(ok);"),
                     PLAYLIST_LEN);
    expect("#download-csv", 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    expect_text("#save-status", "Downloaded mixtape.csv.", 3000);
    expect("#download-jspf", 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    expect_text("#save-status", "Downloaded mixtape.jspf.", 3000);

    /* Save: a private playlist named with the date, then the embed and Open in Spotify; the
     * button is done and a second click does nothing. */
    int playlists_before = demo_playlists(NULL, NULL);
    int creates_before = emu_count("create_playlist");
    expect("#save", 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    expect_text("#save", "Saved to Spotify", 15000);
    char playlist[32] = "";
    assert_int_equal(demo_playlists(playlist, NULL), playlists_before + 1);
    expect_playlist_is_shown(playlist);
    expect("iframe#embed", 1000, element);
    expect("#open:not([hidden])", 1000, element);
    char href[200];
    assert_int_equal(wd_attribute(&wd, element, "href", href, sizeof href), 0);
    char want_href[120];
    snprintf(want_href, sizeof want_href, "https://open.spotify.com/playlist/%s", playlist);
    assert_string_equal(href, want_href);
    char disabled[16] = "";
    expect("#save", 1000, element);
    assert_int_equal(wd_attribute(&wd, element, "aria-disabled", disabled, sizeof disabled), 0);
    assert_string_equal(disabled, "true");
    assert_int_equal(wd_click(&wd, element), 0);
    usleep(500 * 1000);
    assert_int_equal(emu_count("create_playlist"), creates_before + 1);
    cJSON *playlists = emu_get("/_emu/playlists");
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(playlists, "playlists"))
    {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(p, "id")), playlist) == 0) {
            assert_false(cJSON_IsTrue(cJSON_GetObjectItem(p, "public")));
            const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(p, "name"));
            const char *description = cJSON_GetStringValue(cJSON_GetObjectItem(p, "description"));
            fprintf(stderr, "saved '%s': %s\n", name, description);
            assert_true(strncmp(name, "mixtape \xc2\xb7 ", 10) == 0);
            assert_non_null(strstr(description, "Styles: "));
        }
    }
    cJSON_Delete(playlists);
    shot_at(size, "saved");
    axe_check("saved");

    /* Edit and save again: the same playlist, now with the songs shown. */
    expect("#tracks li:nth-child(5) button.remove", 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    expect_text("#save", "Update playlist on Spotify", 2000);
    expect("#save", 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    expect_text("#save", "Updated on Spotify", 15000);
    char last[32] = "";
    assert_int_equal(demo_playlists(last, NULL), playlists_before + 1);
    assert_string_equal(last, playlist);
    expect_playlist_is_shown(playlist);

    /* A failing save: a plain sentence within 10 s, and Save again works. */
    assert_int_equal(emu_config("{\"rate_5xx\":1}"), 0);
    expect("#tracks li:nth-child(6) button.remove", 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    expect("#save", 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    expect_text("#save", "Try saving again", 10000);
    char sentence[300] = "";
    expect("#save-error", 1000, element);
    assert_int_equal(wd_text(&wd, element, sentence, sizeof sentence), 0);
    fprintf(stderr, "failed save says: %s\n", sentence);
    assert_true(strlen(sentence) > 20);
    assert_null(strstr(sentence, "50"));
    assert_null(strstr(sentence, "HTTP"));
    shot_at(size, "save-failed");
    axe_check("save-failed");
    assert_int_equal(emu_config("{\"rate_5xx\":0}"), 0);
    expect("#save", 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    expect_text("#save", "Updated on Spotify", 20000);
    assert_int_equal(demo_playlists(last, NULL), playlists_before + 1);
    expect_playlist_is_shown(playlist);

    /* Controls: open them, change the energy; the answer comes from the cached library. */
    int reads = emu_count("me_tracks");
    char out[16];
    /* as a person would: scroll to the controls (they are below the sticky actions) */
    assert_int_equal(wd_script(&wd,
                               "document.getElementById('steer').scrollIntoView({block: "
                               "'center'}); return 'ok';",
                               out, sizeof out),
                     0);
    expect("#steer summary", 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    shot_at(size, "controls");
    axe_check("controls");
    mark_page();
    assert_int_equal(wd_script(&wd,
                               "var s = document.getElementById('energy'); s.value = '0.85';"
                               "s.dispatchEvent(new Event('change', {bubbles: true}));"
                               "return 'ok';",
                               out, sizeof out),
                     0);
    expect("body:not([data-old]) #tracks li", 30000, element);
    assert_int_equal(wd_count(&wd, "#tracks li"), PLAYLIST_LEN);
    assert_int_equal(wd_count(&wd, "#progress li[data-step=\"cached\"]"), 1);
    assert_int_equal(wd_count(&wd, "#energy option[value=\"0.85\"][selected]"), 1);
    fprintf(stderr, "%s: control change answered in %d ms (page, sanitizers)\n", size, page_ms());
    assert_int_equal(emu_count("me_tracks"), reads);
    /* Regenerate: mostly new songs, still from the cached library. */
    char before[PLAYLIST_LEN * 24 + 64], after[PLAYLIST_LEN * 24 + 64];
    shown_ids(before, sizeof before);
    mark_page();
    expect("#regenerate", 1000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    expect("body:not([data-old]) #tracks li", 30000, element);
    assert_int_equal(wd_count(&wd, "#tracks li"), PLAYLIST_LEN);
    assert_int_equal(wd_count(&wd, "#energy option[value=\"0.85\"][selected]"), 1);
    shown_ids(after, sizeof after);
    int shared = 0;
    for (const char *id = after; *id; id += 22 + (id[22] == ',')) {
        char one[23];
        snprintf(one, sizeof one, "%.22s", id);
        shared += strstr(before, one) != NULL;
    }
    fprintf(stderr, "%s: Regenerate answered in %d ms; %d of %d songs shared\n", size, page_ms(),
            shared, PLAYLIST_LEN);
    assert_true(shared <= PLAYLIST_LEN * 2 / 5);
    assert_int_equal(emu_count("me_tracks"), reads);
    shot_at(size, "regenerated");
    axe_check("regenerated");
    /* Dark theme by prefers-color-scheme. */
    assert_int_equal(wd_color_scheme(&wd, "dark"), 0);
    shot_at(size, "dark");
    axe_check("dark");
    assert_int_equal(wd_color_scheme(&wd, ""), 0);
    fprintf(stderr, "%s: %d pages of saved tracks read for the whole tour (one read)\n", size,
            emu_count("me_tracks") - reads_before);
}

static void test_playlist_page_desktop(void **state)
{
    (void)state;
    page_tour(1280, 900, "desktop");
}

static void test_playlist_page_phone(void **state)
{
    (void)state;
    page_tour(390, 844, "phone");
    assert_int_equal(wd_window_size(&wd, 1280, 2400), 0);
}

/* Errors a person understands: no compute ready (said before the library is read), the
 * callback reloaded while signed in, GET on an API path, an ended session. */
static void test_errors_in_plain_words(void **state)
{
    (void)state;
    char element[WD_ELEMENT_LEN], url[400], code[64] = "", body[2048] = "";
    assert_int_equal(emu_config("{\"rate_429\":0,\"rate_5xx\":0,\"latency_ms\":0}"), 0);
    assert_int_equal(wd_window_size(&wd, 390, 844), 0);
    int reads = emu_count("me_tracks");
    sign_in_at(lonely_front_base, "approve");
    expect("#error", 20000, element);
    assert_int_equal(wd_attribute(&wd, element, "data-code", code, sizeof code), 0);
    assert_string_equal(code, "compute_unavailable");
    assert_int_equal(emu_count("me_tracks"), reads); /* the library was not read */
    assert_int_equal(wd_script(&wd, "return document.body.innerText;", body, sizeof body), 0);
    assert_non_null(strstr(body, "not running"));
    assert_null(strstr(body, "UNAVAILABLE"));
    assert_null(strstr(body, "503"));
    expect("#retry", 1000, element);
    shot_at("phone", "compute-down");
    axe_check("compute-down");
    assert_int_equal(wd_window_size(&wd, 1280, 900), 0);
    shot_at("desktop", "compute-down");
    axe_check("compute-down");
    /* The callback reloaded while signed in goes to the app. */
    sign_in_to_tracks("approve");
    wait_for_tracks();
    snprintf(url, sizeof url, "%s/callback?code=used-already&state=whatever", front_base);
    assert_int_equal(wd_navigate(&wd, url), 0);
    expect("#tracks li", 60000, element);
    assert_int_equal(wd_current_url(&wd, url, sizeof url), 0);
    assert_non_null(strstr(url, "/mix"));
    /* GET on an API path: a short JSON error. */
    snprintf(url, sizeof url, "%s/api/mix", front_base);
    assert_int_equal(wd_navigate(&wd, url), 0);
    assert_int_equal(wd_script(&wd, "return document.body.innerText;", body, sizeof body), 0);
    cJSON *error = cJSON_Parse(body);
    assert_non_null(error);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(error, "error")),
                        "method_not_allowed");
    cJSON_Delete(error);
    /* A garbled session on the mix page: "your session ended, sign in again". */
    snprintf(url, sizeof url, "%s/", front_base);
    assert_int_equal(wd_navigate(&wd, url), 0);
    assert_true(wd_corrupt_cookies(&wd) >= 1);
    snprintf(url, sizeof url, "%s/mix", front_base);
    assert_int_equal(wd_navigate(&wd, url), 0);
    expect("#error[data-code=\"signed_out\"]", 5000, element);
    assert_int_equal(wd_script(&wd, "return document.body.innerText;", body, sizeof body), 0);
    assert_non_null(strstr(body, "Your session ended, sign in again"));
    shot_at("desktop", "session-ended");
    axe_check("session-ended");
    assert_int_equal(wd_window_size(&wd, 1280, 2400), 0);
}

#define KEY_TAB   "\xee\x80\x84"
#define KEY_ENTER "\xee\x80\x87"

/* Tabs (at most 200 times) until the focused element matches css; its focus ring shows. */
static void tab_to(const char *css)
{
    char script[300], out[16] = "";
    snprintf(script, sizeof script,
             "var a = document.activeElement; return a && a.matches('%s') ? "
             "(getComputedStyle(a).outlineStyle !== 'none' ? 'ring' : 'plain') : 'no';",
             css);
    for (int i = 0; i < 200; i++) {
        assert_int_equal(wd_keys(&wd, KEY_TAB), 0);
        assert_int_equal(wd_script(&wd, script, out, sizeof out), 0);
        if (strcmp(out, "no") != 0)
            break;
    }
    if (strcmp(out, "ring") != 0)
        fprintf(stderr, "tabbing to %s: %s\n", css, out);
    assert_string_equal(out, "ring");
}

/* The keyboard alone: Tab to a song's Play and Remove, the controls and Save; Enter uses each. */
static void test_keyboard_alone(void **state)
{
    (void)state;
    assert_int_equal(emu_config("{\"rate_429\":0,\"rate_5xx\":0,\"latency_ms\":0}"), 0);
    assert_int_equal(wd_window_size(&wd, 1280, 900), 0);
    sign_in_to_tracks("approve");
    wait_for_tracks();
    char element[WD_ELEMENT_LEN], out[16];
    assert_int_equal(wd_script(&wd,
                               "document.activeElement.blur(); window.scrollTo(0, 0); "
                               "return 'ok';",
                               out, sizeof out),
                     0);
    tab_to("#save");
    tab_to("#steer summary");
    assert_int_equal(wd_keys(&wd, KEY_ENTER), 0);
    assert_int_equal(script_int("return document.getElementById('steer').open ? '1' : '0';"), 1);
    tab_to("#tracks li:first-child button.play");
    assert_int_equal(wd_keys(&wd, KEY_ENTER), 0);
    expect("#tracks li:first-child iframe.player", 2000, element);
    tab_to("#tracks li:first-child button.remove");
    char removed[32] = "";
    assert_int_equal(wd_script(&wd,
                               "return document.querySelector('#tracks li').getAttribute("
                               "'data-id');",
                               removed, sizeof removed),
                     0);
    assert_int_equal(wd_keys(&wd, KEY_ENTER), 0);
    char gone[120];
    snprintf(gone, sizeof gone, "#tracks li[data-id=\"%s\"]", removed);
    assert_int_equal(wd_count(&wd, gone), 0);
    assert_int_equal(wd_count(&wd, "#tracks li"), PLAYLIST_LEN);
    /* the focus stays on the list: on the stand-in's Remove */
    assert_int_equal(script_int("return document.activeElement.classList.contains('remove') ? "
                                "'1' : '0';"),
                     1);
    assert_int_equal(wd_script(&wd,
                               "window.scrollTo(0, 0); document.activeElement.blur(); "
                               "return 'ok';",
                               out, sizeof out),
                     0);
    tab_to("#save");
    assert_int_equal(wd_keys(&wd, KEY_ENTER), 0);
    expect_text("#save", "Saved to Spotify", 15000);
    shot_at("desktop", "keyboard-saved");
    assert_int_equal(wd_window_size(&wd, 1280, 2400), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_in_mix_and_save),
        cmocka_unit_test(test_auto_save_saves_at_once),
        cmocka_unit_test(test_deny_offers_retry),
        cmocka_unit_test(test_corrupted_session_cookie_is_signed_out),
        cmocka_unit_test(test_faults_still_end_with_a_playlist),
        cmocka_unit_test(test_progress_is_streamed),
        cmocka_unit_test(test_playlist_page_desktop),
        cmocka_unit_test(test_playlist_page_phone),
        cmocka_unit_test(test_errors_in_plain_words),
        cmocka_unit_test(test_keyboard_alone),
    };
    return cmocka_run_group_tests(tests, start_all, stop_all);
}
