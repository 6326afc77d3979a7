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

static struct harness_proc reco, emu, front, auto_front;
static struct wd wd;
static char work[64], artifacts[1024], emu_base[128], front_base[128], auto_front_base[128];

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
    char env_keys[100], env_reco[320], env_accounts[160], env_api[160];
    snprintf(env_keys, sizeof env_keys, "SESSION_KEYS=%s", key_text);
    snprintf(env_reco, sizeof env_reco, "RECO_ENDPOINTS=%s", reco.addr);
    snprintf(env_accounts, sizeof env_accounts, "SPOTIFY_ACCOUNTS_URL=%s", emu_base);
    snprintf(env_api, sizeof env_api, "SPOTIFY_API_URL=%s", emu_base);
    char *front_env[] = {"SPOTIFY_CLIENT_ID=" CLIENT_ID,
                         "LISTEN=127.0.0.1:0",
                         env_keys,
                         env_reco,
                         env_accounts,
                         env_api,
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
    /* Register the fronts' callbacks (they learnt their ports only when they started). */
    const char *redirect = strstr(front.ready_line, "redirect_uri=");
    const char *auto_redirect = strstr(auto_front.ready_line, "redirect_uri=");
    if (!redirect || !auto_redirect)
        return -1;
    char registration[600];
    snprintf(registration, sizeof registration, "{\"redirect_uris\":\"%.*s,%.*s\"}",
             (int)strcspn(redirect + 13, " \n"), redirect + 13,
             (int)strcspn(auto_redirect + 13, " \n"), auto_redirect + 13);
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
    failures += harness_stop(&emu, 10000) != 0;
    failures += harness_stop(&reco, 10000) != 0;
    char command_line[200];
    snprintf(command_line, sizeof command_line, "rm -rf '%s'", work);
    failures += system(command_line) != 0;
    return failures ? -1 : 0;
}

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
    screenshot("e2e-signed-out");
}

static void test_faults_still_end_with_a_playlist(void **state)
{
    (void)state;
    assert_int_equal(emu_config("{\"rate_429\":0.15,\"rate_5xx\":0.1,\"retry_after\":1}"), 0);
    sign_in_to_tracks("approve");
    wait_for_tracks();
    save_and_check("e2e-faults-saved");
    /* Expired access tokens are refreshed transparently: Regenerate still gives 50 tracks. */
    struct emu_response answer;
    assert_int_equal(emu_request("POST", emu_base, "/_emu/expire", NULL, "", &answer), 0);
    emu_response_free(&answer);
    char element[WD_ELEMENT_LEN];
    expect("#regenerate", 5000, element);
    assert_int_equal(wd_click(&wd, element), 0);
    wait_for_tracks();
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_in_mix_and_save),
        cmocka_unit_test(test_auto_save_saves_at_once),
        cmocka_unit_test(test_deny_offers_retry),
        cmocka_unit_test(test_corrupted_session_cookie_is_signed_out),
        cmocka_unit_test(test_faults_still_end_with_a_playlist),
        cmocka_unit_test(test_progress_is_streamed),
    };
    return cmocka_run_group_tests(tests, start_all, stop_all);
}
