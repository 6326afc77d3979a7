/* auth-service end to end against spotify-emu and reco-service: sign-in with PKCE through the
 * consent form, denied consent, state mismatch, replayed code, tampered and expired cookies,
 * the mix page (and its HEAD, which sends no body) and JSON API, saving and reading back,
 * sign-out, cross-site refusals, body limits, the allow-list, an empty library, AUTO_SAVE (the
 * JSON API saves; GET /mix never does), and no secret in any log line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "fixture.h"

static struct fixture world;

/* The songs shown: <li data-id= inside <ol id="tracks"> (the page keeps stand-ins after it). */
static size_t shown_count(const char *body)
{
    const char *start = strstr(body, "<ol id=\"tracks\">");
    const char *end = start ? strstr(start, "</ol>") : NULL;
    size_t n = 0;
    for (const char *li = start; li && end && (li = strstr(li, "<li data-id=")) && li < end; li++)
        n++;
    return n;
}
/* Every secret a test saw (tokens, codes, cookie values), to search the log for at the end. */
static char secrets[64][1024];
static int n_secrets;

static void remember_secret(const char *value)
{
    size_t len = strlen(value);
    if (n_secrets >= 64 || len < 8)
        return;
    /* A long secret is remembered by its first 1023 bytes: finding those in a log is enough. */
    if (len >= sizeof secrets[0])
        len = sizeof secrets[0] - 1;
    memcpy(secrets[n_secrets], value, len);
    secrets[n_secrets++][len] = '\0';
}

static int setup(void **state)
{
    (void)state;
    return fixture_start(&world, 6000, 600, NULL, NULL);
}

static int teardown(void **state)
{
    (void)state;
    fixture_stop(&world);
    return 0;
}

static void url_of(char *out, size_t len, const char *path)
{
    snprintf(out, len, "%s%s", world.auth_base, path);
}

static struct reply get(struct browser *b, const char *path)
{
    char url[512];
    url_of(url, sizeof url, path);
    struct reply r;
    assert_int_equal(browser_request(b, "GET", url, NULL, NULL, &r), 0);
    return r;
}

static struct reply post_json(struct browser *b, const char *path, const char *body,
                              const char *extra_header)
{
    char url[512];
    url_of(url, sizeof url, path);
    const char *headers[] = {"Content-Type: application/json", extra_header, NULL};
    struct reply r;
    assert_int_equal(browser_request(b, "POST", url, headers, body, &r), 0);
    return r;
}

static struct browser signed_in(const char *user)
{
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    assert_int_equal(browser_sign_in(&b, &world, user), 0);
    char cookie[4096];
    assert_int_equal(browser_cookie(&b, SESSION_COOKIE, cookie, sizeof cookie), 0);
    remember_secret(cookie);
    struct session s;
    assert_int_equal(session_decode(&world.keys, cookie, strlen(cookie), time(NULL), &s),
                     SESSION_OK);
    remember_secret(s.access_token);
    remember_secret(s.refresh_token);
    return b;
}

/* The ids the emulator says user saved. */
static cJSON *saved_ids(const char *user)
{
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    char url[512];
    snprintf(url, sizeof url, "%s/_emu/users", world.emu_base);
    struct reply r;
    assert_int_equal(browser_request(&b, "GET", url, NULL, NULL, &r), 0);
    cJSON *all = cJSON_Parse(r.body);
    reply_free(&r);
    browser_close(&b);
    cJSON *users = cJSON_GetObjectItem(all, "users"), *u, *found = NULL;
    cJSON_ArrayForEach(u, users)
    {
        if (strcmp(cJSON_GetObjectItem(u, "id")->valuestring, user) == 0)
            found = cJSON_DetachItemFromObject(u, "saved_ids");
    }
    cJSON_Delete(all);
    assert_non_null(found);
    return found;
}

static bool in_list(const cJSON *list, const char *id)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        if (strcmp(item->valuestring, id) == 0)
            return true;
    }
    return false;
}

static void test_sign_in_mix_page_and_api(void **state)
{
    (void)state;
    struct browser b = signed_in("demo");
    struct reply page = get(&b, "/mix");
    assert_int_equal(page.status, 200);
    assert_non_null(strstr(page.body, "id=\"progress\""));
    assert_non_null(strstr(page.body, "Read 600 of 600 saved tracks"));
    assert_non_null(strstr(page.body, "data-step=\"match\""));
    assert_non_null(strstr(page.body, "data-step=\"rank\""));
    assert_non_null(strstr(page.body, "<ol id=\"tracks\">"));
    assert_int_equal(shown_count(page.body), 50);
    assert_non_null(
        strstr(page.body, "id=\"regenerate\" class=\"button secondary\" href=\"/mix?variety="));
    assert_non_null(strstr(page.body, "id=\"save\""));
    assert_non_null(strstr(page.body, "because you saved "));
    assert_non_null(strstr(page.body, "<ul id=\"legend\">"));
    assert_non_null(strstr(page.body, "saved tracks matched the catalog"));
    reply_free(&page);

    struct reply r = post_json(&b, "/api/mix", "{\"n\":50,\"variety\":0}", NULL);
    assert_int_equal(r.status, 200);
    cJSON *answer = cJSON_Parse(r.body);
    reply_free(&r);
    cJSON *tracks = cJSON_GetObjectItem(answer, "tracks");
    assert_int_equal(cJSON_GetArraySize(tracks), 50);
    cJSON *saved = saved_ids("demo");
    assert_true(cJSON_GetArraySize(saved) > 500); /* local files have no id */
    const cJSON *t;
    cJSON_ArrayForEach(t, tracks)
    {
        const char *id = cJSON_GetObjectItem(t, "id")->valuestring;
        assert_false(in_list(saved, id)); /* never a song the user saved */
        assert_non_null(cJSON_GetObjectItem(t, "name"));
        assert_non_null(cJSON_GetObjectItem(t, "artists"));
        assert_non_null(cJSON_GetObjectItem(t, "because"));
    }
    const cJSON *stats = cJSON_GetObjectItem(answer, "stats");
    assert_int_equal(cJSON_GetObjectItem(stats, "read")->valueint, 600);
    assert_true(cJSON_GetObjectItem(stats, "matched")->valueint > 300);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(answer, "clusters")) > 0);

    /* Empty body: the defaults; a new variety: a different playlist. */
    r = post_json(&b, "/api/mix", "", NULL);
    assert_int_equal(r.status, 200);
    cJSON *again = cJSON_Parse(r.body);
    reply_free(&r);
    assert_true(cJSON_Compare(cJSON_GetObjectItem(again, "tracks"), tracks, true));
    r = post_json(&b, "/api/mix", "{\"variety\":12345}", NULL);
    assert_int_equal(r.status, 200);
    cJSON *other = cJSON_Parse(r.body);
    reply_free(&r);
    assert_false(cJSON_Compare(cJSON_GetObjectItem(other, "tracks"), tracks, true));
    cJSON_Delete(other);
    cJSON_Delete(again);
    cJSON_Delete(saved);
    cJSON_Delete(answer);
    browser_close(&b);
}

static void test_save_and_read_back(void **state)
{
    (void)state;
    struct browser b = signed_in("river");
    struct reply r = post_json(&b, "/api/mix", "{}", NULL);
    assert_int_equal(r.status, 200);
    cJSON *answer = cJSON_Parse(r.body);
    reply_free(&r);
    cJSON *ids = cJSON_CreateArray();
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(answer, "tracks"))
    {
        cJSON_AddItemToArray(ids, cJSON_CreateString(cJSON_GetObjectItem(t, "id")->valuestring));
    }
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "ids", ids);
    char *text = cJSON_PrintUnformatted(body);
    char origin[320];
    snprintf(origin, sizeof origin, "Origin: %s", world.auth_base);
    r = post_json(&b, "/api/save", text, origin);
    assert_int_equal(r.status, 201);
    cJSON *saved = cJSON_Parse(r.body);
    reply_free(&r);
    const char *playlist = cJSON_GetObjectItem(saved, "id")->valuestring;
    char embed[256];
    snprintf(embed, sizeof embed, "https://open.spotify.com/embed/playlist/%s?utm_source=generator",
             playlist);
    assert_string_equal(cJSON_GetObjectItem(saved, "embed")->valuestring, embed);

    struct browser emu;
    assert_int_equal(browser_open(&emu), 0);
    char url[512];
    snprintf(url, sizeof url, "%s/_emu/playlists", world.emu_base);
    assert_int_equal(browser_request(&emu, "GET", url, NULL, NULL, &r), 0);
    cJSON *all = cJSON_Parse(r.body);
    reply_free(&r);
    const cJSON *p, *found = NULL;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(all, "playlists"))
    {
        if (strcmp(cJSON_GetObjectItem(p, "id")->valuestring, playlist) == 0)
            found = p;
    }
    assert_non_null(found);
    assert_string_equal(cJSON_GetObjectItem(found, "user")->valuestring, "river");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(found, "public")));
    const cJSON *uris = cJSON_GetObjectItem(found, "uris");
    assert_int_equal(cJSON_GetArraySize(uris), 50);
    for (int i = 0; i < 50; i++) {
        char uri[64];
        snprintf(uri, sizeof uri, "spotify:track:%s", cJSON_GetArrayItem(ids, i)->valuestring);
        assert_string_equal(cJSON_GetArrayItem(uris, i)->valuestring, uri);
    }
    /* A bad id is refused naming it. */
    r = post_json(&b, "/api/save", "{\"ids\":[\"0000000000000000000001\",\"nope\"]}", NULL);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "ids[1]"));
    reply_free(&r);
    cJSON_Delete(all);
    browser_close(&emu);
    free(text);
    cJSON_Delete(body);
    cJSON_Delete(saved);
    cJSON_Delete(answer);
    browser_close(&b);
}

static void expect_error_page(struct reply *r, long status, const char *code)
{
    assert_int_equal(r->status, status);
    char marker[96];
    snprintf(marker, sizeof marker, "id=\"error\" role=\"alert\" data-code=\"%s\"", code);
    if (!strstr(r->body, marker))
        fail_msg("no %s in: %s", marker, r->body);
    assert_non_null(strstr(r->body, "id=\"retry\""));
}

static void test_denied_consent(void **state)
{
    (void)state;
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    char query[4096], callback[4096];
    assert_int_equal(browser_begin_sign_in(&b, &world, query, sizeof query), 0);
    assert_int_equal(browser_consent(&b, &world, query, "demo", "deny", callback, sizeof callback),
                     0);
    assert_non_null(strstr(callback, "error=access_denied"));
    struct reply r;
    assert_int_equal(browser_request(&b, "GET", callback, NULL, NULL, &r), 0);
    expect_error_page(&r, 403, "access_denied");
    assert_non_null(strstr(r.body, "href=\"/login\""));
    reply_free(&r);
    char cookie[4096];
    assert_int_equal(browser_cookie(&b, SESSION_COOKIE, cookie, sizeof cookie), -1);
    browser_close(&b);
}

static void test_state_mismatch(void **state)
{
    (void)state;
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    char query[4096], callback[4096];
    assert_int_equal(browser_begin_sign_in(&b, &world, query, sizeof query), 0);
    assert_int_equal(
        browser_consent(&b, &world, query, "demo", "approve", callback, sizeof callback), 0);
    /* The same callback in another browser (no sign-in cookie) is refused... */
    struct browser other;
    assert_int_equal(browser_open(&other), 0);
    struct reply r;
    assert_int_equal(browser_request(&other, "GET", callback, NULL, NULL, &r), 0);
    expect_error_page(&r, 400, "state_mismatch");
    reply_free(&r);
    browser_close(&other);
    /* ...and so is a changed state in the right browser. */
    char *s = strstr(callback, "state=");
    assert_non_null(s);
    s[6] = s[6] == 'A' ? 'B' : 'A';
    assert_int_equal(browser_request(&b, "GET", callback, NULL, NULL, &r), 0);
    expect_error_page(&r, 400, "state_mismatch");
    reply_free(&r);
    char cookie[4096];
    assert_int_equal(browser_cookie(&b, SESSION_COOKIE, cookie, sizeof cookie), -1);
    browser_close(&b);
}

static void test_replayed_code(void **state)
{
    (void)state;
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    char query[4096], callback[4096];
    assert_int_equal(browser_begin_sign_in(&b, &world, query, sizeof query), 0);
    assert_int_equal(
        browser_consent(&b, &world, query, "demo", "approve", callback, sizeof callback), 0);
    const char *code = strstr(callback, "code=");
    char code_value[512];
    snprintf(code_value, sizeof code_value, "%.*s", (int)strcspn(code + 5, "&"), code + 5);
    remember_secret(code_value);
    struct reply r;
    assert_int_equal(browser_request(&b, "GET", callback, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 303);
    reply_free(&r);
    /* A new sign-in in the same browser, answered with the old (used) code. */
    assert_int_equal(browser_begin_sign_in(&b, &world, query, sizeof query), 0);
    const char *st = strstr(query, "state=");
    char replay[4096];
    snprintf(replay, sizeof replay, "%s/callback?code=%s&%.*s", world.auth_base, code_value,
             (int)strcspn(st, "&"), st);
    assert_int_equal(browser_request(&b, "GET", replay, NULL, NULL, &r), 0);
    expect_error_page(&r, 400, "code_rejected");
    reply_free(&r);
    browser_close(&b);
}

static void test_tampered_and_expired_cookies(void **state)
{
    (void)state;
    struct browser b = signed_in("demo");
    char cookie[4096];
    assert_int_equal(browser_cookie(&b, SESSION_COOKIE, cookie, sizeof cookie), 0);
    struct session s;
    assert_int_equal(session_decode(&world.keys, cookie, strlen(cookie), time(NULL), &s),
                     SESSION_OK);
    assert_string_equal(s.user_id, "demo");

    size_t positions[] = {0, 3, 10, strlen(cookie) / 2, strlen(cookie) - 1};
    for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
        char tampered[4096];
        snprintf(tampered, sizeof tampered, "%s", cookie);
        tampered[positions[i]] = tampered[positions[i]] == 'A' ? 'B' : 'A';
        browser_set_cookie(&b, SESSION_COOKIE, tampered);
        struct reply r = get(&b, "/");
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.body, "id=\"login\"")); /* signed out */
        assert_non_null(strstr(r.set_cookie, "mixtape_session=; Path=/; Max-Age=0"));
        reply_free(&r);
        browser_set_cookie(&b, SESSION_COOKIE, tampered);
        r = post_json(&b, "/api/mix", "", NULL);
        assert_int_equal(r.status, 401);
        assert_non_null(strstr(r.body, "signed_out"));
        reply_free(&r);
    }
    /* Truncated. */
    char truncated[4096];
    snprintf(truncated, sizeof truncated, "%.*s", (int)strlen(cookie) - 7, cookie);
    browser_set_cookie(&b, SESSION_COOKIE, truncated);
    struct reply r = get(&b, "/mix");
    assert_int_equal(r.status, 401); /* said in words (issue 13), not a silent start page */
    assert_non_null(strstr(r.body, "Your session ended, sign in again"));
    assert_non_null(strstr(r.body, "data-code=\"signed_out\""));
    reply_free(&r);
    browser_set_cookie(&b, SESSION_COOKIE, truncated);
    r = get(&b, "/");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "Your session ended, sign in again"));
    assert_non_null(strstr(r.body, "id=\"login\""));
    reply_free(&r);
    /* Authentic but expired. */
    s.expires = time(NULL) - 1;
    char *expired = NULL;
    assert_int_equal(session_encode(&world.keys, &s, &expired), SESSION_OK);
    browser_set_cookie(&b, SESSION_COOKIE, expired);
    r = post_json(&b, "/api/mix", "", NULL);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    free(expired);
    /* Sealed with a foreign key. */
    struct session_keyring foreign;
    assert_int_equal(session_keyring_random(&foreign), SESSION_OK);
    s.expires = time(NULL) + 3600;
    char *alien = NULL;
    assert_int_equal(session_encode(&foreign, &s, &alien), SESSION_OK);
    browser_set_cookie(&b, SESSION_COOKIE, alien);
    r = post_json(&b, "/api/mix", "", NULL);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    free(alien);
    /* The genuine cookie still works. */
    browser_set_cookie(&b, SESSION_COOKIE, cookie);
    r = get(&b, "/");
    assert_non_null(strstr(r.body, "id=\"mix\""));
    reply_free(&r);
    browser_close(&b);
}

static void test_logout(void **state)
{
    (void)state;
    struct browser b = signed_in("demo");
    char url[512], origin[320];
    url_of(url, sizeof url, "/logout");
    snprintf(origin, sizeof origin, "Origin: %s", world.auth_base);
    const char *headers[] = {origin, "Content-Type: application/x-www-form-urlencoded", NULL};
    struct reply r;
    assert_int_equal(browser_request(&b, "POST", url, headers, "", &r), 0);
    assert_int_equal(r.status, 303);
    assert_string_equal(r.location, "/");
    assert_non_null(strstr(r.set_cookie, "mixtape_session=; Path=/; Max-Age=0; HttpOnly; "
                                         "SameSite=Lax"));
    reply_free(&r);
    r = post_json(&b, "/api/mix", "", NULL);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    r = get(&b, "/");
    assert_non_null(strstr(r.body, "id=\"login\""));
    reply_free(&r);
    browser_close(&b);
}

static void test_cross_site_refused(void **state)
{
    (void)state;
    struct browser b = signed_in("demo");
    static const char *const hostile[] = {
        "Origin: http://evil.example", "Origin: http://127.0.0.1:1", "Sec-Fetch-Site: cross-site",
        "Sec-Fetch-Site: same-site"};
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        struct reply r = post_json(&b, "/api/mix", "", hostile[i]);
        assert_int_equal(r.status, 403);
        assert_non_null(strstr(r.body, "cross_site"));
        reply_free(&r);
        r = post_json(&b, "/api/save", "{\"ids\":[\"0000000000000000000001\"]}", hostile[i]);
        assert_int_equal(r.status, 403);
        reply_free(&r);
        char url[512];
        url_of(url, sizeof url, "/logout");
        const char *headers[] = {hostile[i], NULL};
        assert_int_equal(browser_request(&b, "POST", url, headers, "", &r), 0);
        assert_int_equal(r.status, 403);
        reply_free(&r);
    }
    /* A form post (not JSON) cannot reach the API. */
    char url[512];
    url_of(url, sizeof url, "/api/mix");
    const char *form[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    struct reply r;
    assert_int_equal(browser_request(&b, "POST", url, form, "n=50", &r), 0);
    assert_int_equal(r.status, 415);
    reply_free(&r);
    const char *plain[] = {"Content-Type: text/plain", NULL};
    assert_int_equal(browser_request(&b, "POST", url, plain, "{}", &r), 0);
    assert_int_equal(r.status, 415);
    reply_free(&r);
    /* GET on a POST route. */
    r = get(&b, "/api/mix");
    assert_int_equal(r.status, 405);
    reply_free(&r);
    /* Still signed in: nothing above signed us out. */
    r = post_json(&b, "/api/mix", "{\"n\":5}", NULL);
    assert_int_equal(r.status, 200);
    cJSON *answer = cJSON_Parse(r.body);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(answer, "tracks")), 5);
    cJSON_Delete(answer);
    reply_free(&r);
    browser_close(&b);
}

static void test_limits_and_headers(void **state)
{
    (void)state;
    struct browser b = signed_in("demo");
    char big[4096 + 64];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[0] = '{';
    big[sizeof big - 2] = '}';
    struct reply r = post_json(&b, "/api/mix", big, NULL);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "4096 bytes"));
    reply_free(&r);
    static const struct {
        const char *body;
        const char *names;
    } bad[] = {{"{\"n\":501}", "n must be"},    {"{\"n\":0}", "n must be"},
               {"{\"n\":2.5}", "n must be"},    {"{\"n\":\"50\"}", "n must be"},
               {"{\"variety\":-1}", "variety"}, {"[1,2]", "JSON object"},
               {"{\"n\":50", "JSON object"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = post_json(&b, "/api/mix", bad[i].body, NULL);
        assert_int_equal(r.status, 400);
        if (!strstr(r.body, bad[i].names))
            fail_msg("%s: %s", bad[i].body, r.body);
        reply_free(&r);
    }
    /* Every page carries the CSP that only frames Spotify's embed, and cookies are hardened. */
    char url[512];
    struct browser fresh;
    assert_int_equal(browser_open(&fresh), 0);
    url_of(url, sizeof url, "/login");
    assert_int_equal(browser_request(&fresh, "GET", url, NULL, NULL, &r), 0);
    assert_non_null(strstr(r.set_cookie, "mixtape_login="));
    assert_non_null(strstr(r.set_cookie, "; HttpOnly; SameSite=Lax"));
    assert_non_null(strstr(r.location, "code_challenge_method=S256"));
    assert_non_null(strstr(r.location, "scope=user-library-read%20playlist-modify-private"));
    assert_null(strstr(r.location, "code_verifier"));
    reply_free(&r);
    browser_close(&fresh);
    browser_close(&b);
}

/* HEAD /mix must not stream a body (nor run a mix): the bytes would be read as the next answer
 * on a kept-alive connection. HEAD /mix and GET /healthz go pipelined on one raw connection;
 * the answer after the first header block must be the second status line. */
static void test_head_mix_sends_no_body(void **state)
{
    (void)state;
    struct browser b = signed_in("demo");
    char cookie[4096];
    assert_int_equal(browser_cookie(&b, SESSION_COOKIE, cookie, sizeof cookie), 0);
    char *request = malloc(8192);
    assert_non_null(request);
    int len = snprintf(request, 8192,
                       "HEAD /mix HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s=%s\r\n\r\n"
                       "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                       SESSION_COOKIE, cookie);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)world.auth_port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(write(fd, request, (size_t)len), len);
    size_t cap = 1 << 20, used = 0;
    char *answer = malloc(cap + 1);
    assert_non_null(answer);
    for (;;) {
        ssize_t n = read(fd, answer + used, cap - used);
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    answer[used] = '\0';
    close(fd);
    free(request);
    const char *end_of_head = strstr(answer, "\r\n\r\n");
    assert_non_null(end_of_head);
    if (strncmp(end_of_head + 4, "HTTP/1.1 200", 12) != 0)
        fail_msg("bytes after the HEAD answer's headers: %.80s", end_of_head + 4);
    assert_null(strstr(answer, "<ol id=\"tracks\""));
    free(answer);
    browser_close(&b);
}

static void test_csp_header(void **state)
{
    (void)state;
    CURL *c = curl_easy_init();
    char url[512];
    url_of(url, sizeof url, "/");
    FILE *sink = fopen("/dev/null", "w");
    char *headers = NULL;
    size_t headers_len = 0;
    FILE *h = open_memstream(&headers, &headers_len);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    fclose(h);
    fclose(sink);
    curl_easy_cleanup(c);
    assert_non_null(strstr(headers, "Content-Security-Policy: default-src 'none'; "));
    assert_non_null(strstr(headers, "frame-src https://open.spotify.com;"));
    assert_non_null(strstr(headers, "frame-ancestors 'none'"));
    assert_non_null(strstr(headers, "X-Content-Type-Options: nosniff"));
    free(headers);
}

static void test_not_allowlisted(void **state)
{
    (void)state;
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    char query[4096], callback[4096];
    assert_int_equal(browser_begin_sign_in(&b, &world, query, sizeof query), 0);
    assert_int_equal(
        browser_consent(&b, &world, query, "outsider", "approve", callback, sizeof callback), 0);
    struct reply r;
    assert_int_equal(browser_request(&b, "GET", callback, NULL, NULL, &r), 0);
    expect_error_page(&r, 403, "not_allowlisted");
    assert_non_null(strstr(r.body, "User Management"));
    reply_free(&r);
    browser_close(&b);
}

static void test_empty_library(void **state)
{
    (void)state;
    struct browser b = signed_in("newcomer");
    struct reply r = post_json(&b, "/api/mix", "", NULL);
    assert_int_equal(r.status, 422);
    assert_non_null(strstr(r.body, "empty_library"));
    reply_free(&r);
    r = get(&b, "/mix");
    assert_int_equal(r.status, 200); /* streamed: the error is part of the page */
    assert_non_null(strstr(r.body, "data-code=\"empty_library\""));
    assert_non_null(strstr(r.body, "id=\"retry\""));
    reply_free(&r);
    browser_close(&b);
}

static void test_health_and_metrics(void **state)
{
    (void)state;
    struct browser b;
    assert_int_equal(browser_open(&b), 0);
    struct reply r = get(&b, "/healthz");
    assert_int_equal(r.status, 200);
    reply_free(&r);
    r = get(&b, "/readyz");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"ready\":true"));
    reply_free(&r);
    r = get(&b, "/metrics");
    assert_int_equal(r.status, 200);
    assert_non_null(
        strstr(r.body, "mixtape_auth_requests_total{route=\"/api/mix\",status=\"200\"}"));
    assert_non_null(strstr(
        r.body, "mixtape_auth_spotify_calls_total{endpoint=\"saved_tracks\",status=\"200\"}"));
    assert_non_null(
        strstr(r.body, "mixtape_auth_rpc_duration_seconds_bucket{method=\"Recommend\""));
    reply_free(&r);
    browser_close(&b);
}

/* Starts a front with AUTO_SAVE=true on a fresh port whose callback the emulator accepts. */
static void start_auto_save_front(struct harness_proc *front)
{
    int port = fixture_free_port();
    char config[512];
    snprintf(config, sizeof config,
             "{\"redirect_uris\":\"http://127.0.0.1:%d/callback,http://127.0.0.1:%d/callback\"}",
             world.auth_port, port);
    assert_int_equal(fixture_emu_config(&world, config), 0);
    const char *env[] = {"AUTO_SAVE=true", NULL};
    assert_int_equal(fixture_start_front(&world, front, port, env), 0);
}

/* Every playlist the emulator holds, as /_emu/playlists lists them. */
static cJSON *emu_playlists(void)
{
    char url[512];
    snprintf(url, sizeof url, "%s/_emu/playlists", world.emu_base);
    struct browser emu;
    assert_int_equal(browser_open(&emu), 0);
    struct reply r;
    assert_int_equal(browser_request(&emu, "GET", url, NULL, NULL, &r), 0);
    browser_close(&emu);
    assert_int_equal(r.status, 200);
    cJSON *all = cJSON_Parse(r.body);
    reply_free(&r);
    cJSON *list = cJSON_DetachItemFromObject(all, "playlists");
    cJSON_Delete(all);
    assert_true(cJSON_IsArray(list));
    return list;
}

/* A second front with the same keys serves the same user (no server-side sessions), and its
 * AUTO_SAVE option saves every playlist the JSON API (a CSRF-checked POST) makes. */
static void test_second_front_shares_sessions_and_auto_saves(void **state)
{
    (void)state;
    struct harness_proc front;
    start_auto_save_front(&front);
    struct browser b = signed_in("eclectic"); /* on the first front */
    char url[512];
    snprintf(url, sizeof url, "%s/api/mix", front.addr);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct reply r;
    assert_int_equal(browser_request(&b, "POST", url, headers, "", &r), 0);
    assert_int_equal(r.status, 200);
    cJSON *answer = cJSON_Parse(r.body);
    reply_free(&r);
    const cJSON *saved = cJSON_GetObjectItem(answer, "saved");
    assert_non_null(saved);
    const char *playlist = cJSON_GetObjectItem(saved, "id")->valuestring;
    assert_non_null(strstr(cJSON_GetObjectItem(saved, "embed")->valuestring, playlist));
    cJSON *playlists = emu_playlists();
    bool found = false;
    const cJSON *p;
    cJSON_ArrayForEach(p, playlists)
    {
        found |= strcmp(cJSON_GetObjectItem(p, "id")->valuestring, playlist) == 0;
    }
    assert_true(found);
    cJSON_Delete(playlists);
    cJSON_Delete(answer);
    browser_close(&b);
    int status = harness_stop(&front, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* With AUTO_SAVE, GET /mix writes nothing to the user's account, even when it arrives as a
 * top-level cross-site navigation (which SameSite=Lax cookies accompany): the page only asks
 * its script to save. Doing what the script does (POST /api/save from the page's origin with
 * the page's tracks) then saves exactly those tracks. */
static void test_auto_save_get_mix_saves_nothing(void **state)
{
    (void)state;
    struct harness_proc front;
    start_auto_save_front(&front);
    struct browser b = signed_in("river");
    cJSON *before = emu_playlists();
    int n_before = cJSON_GetArraySize(before);
    cJSON_Delete(before);

    char url[512];
    snprintf(url, sizeof url, "%s/mix", front.addr);
    const char *navigation[] = {"Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: navigate",
                                "Sec-Fetch-Dest: document", "Referer: https://evil.example/", NULL};
    struct reply page;
    assert_int_equal(browser_request(&b, "GET", url, navigation, NULL, &page), 0);
    assert_int_equal(page.status, 200);
    assert_int_equal(shown_count(page.body), 50);
    cJSON *after = emu_playlists();
    assert_int_equal(cJSON_GetArraySize(after), n_before); /* the GET saved nothing */
    cJSON_Delete(after);
    assert_non_null(strstr(
        page.body, "<button id=\"save\" type=\"button\" data-auto-save=\"true\">Save to Spotify"));
    assert_null(strstr(page.body, "<iframe"));

    /* What the page's script does next: POST /api/save with the shown ids, same origin. */
    char body[50 * 26 + 16] = "{\"ids\":[";
    size_t used = strlen(body);
    int n_ids = 0;
    const char *reserve = strstr(page.body, "<ol id=\"reserve\"");
    for (const char *li = strstr(page.body, "<li data-id=\""); li && li < reserve;
         li = strstr(li + 1, "<li data-id=\"")) {
        used += (size_t)snprintf(body + used, sizeof body - used, "%s\"%.22s\"", n_ids ? "," : "",
                                 li + 13);
        n_ids++;
    }
    snprintf(body + used, sizeof body - used, "]}");
    assert_int_equal(n_ids, 50);
    char origin[400];
    snprintf(origin, sizeof origin, "Origin: %s", front.addr);
    const char *fetch[] = {"Content-Type: application/json", origin, "Sec-Fetch-Site: same-origin",
                           NULL};
    snprintf(url, sizeof url, "%s/api/save", front.addr);
    struct reply r;
    assert_int_equal(browser_request(&b, "POST", url, fetch, body, &r), 0);
    assert_int_equal(r.status, 201);
    cJSON *answer = cJSON_Parse(r.body);
    reply_free(&r);
    const char *id = cJSON_GetObjectItem(answer, "id")->valuestring;
    after = emu_playlists();
    assert_int_equal(cJSON_GetArraySize(after), n_before + 1);
    const cJSON *p, *found = NULL;
    cJSON_ArrayForEach(p, after)
    {
        if (strcmp(cJSON_GetObjectItem(p, "id")->valuestring, id) == 0)
            found = p;
    }
    assert_non_null(found);
    assert_string_equal(cJSON_GetObjectItem(found, "user")->valuestring, "river");
    const cJSON *uris = cJSON_GetObjectItem(found, "uris");
    assert_int_equal(cJSON_GetArraySize(uris), 50);
    const char *first = strstr(page.body, "<li data-id=\"") + 13;
    assert_true(strncmp(cJSON_GetArrayItem(uris, 0)->valuestring + 14, first, 22) == 0);
    cJSON_Delete(after);
    cJSON_Delete(answer);
    reply_free(&page);
    browser_close(&b);
    int status = harness_stop(&front, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Last: nothing any test saw (tokens, codes, cookies) is in auth-service's log. */
static void test_no_secret_in_log(void **state)
{
    (void)state;
    FILE *f = fopen(world.auth_log, "r");
    assert_non_null(f);
    static char log[1 << 22];
    size_t n = fread(log, 1, sizeof log - 1, f);
    fclose(f);
    log[n] = '\0';
    assert_true(n > 0);
    assert_true(n_secrets >= 10);
    for (int i = 0; i < n_secrets; i++)
        if (strstr(log, secrets[i]))
            fail_msg("secret %d found in the log", i);
    assert_null(strstr(log, "?code="));
    assert_null(strstr(log, "&code="));
    assert_null(strstr(log, "Bearer"));
    assert_null(strstr(log, "mixtape_session="));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_in_mix_page_and_api),
        cmocka_unit_test(test_save_and_read_back),
        cmocka_unit_test(test_denied_consent),
        cmocka_unit_test(test_state_mismatch),
        cmocka_unit_test(test_replayed_code),
        cmocka_unit_test(test_tampered_and_expired_cookies),
        cmocka_unit_test(test_logout),
        cmocka_unit_test(test_cross_site_refused),
        cmocka_unit_test(test_limits_and_headers),
        cmocka_unit_test(test_csp_header),
        cmocka_unit_test(test_head_mix_sends_no_body),
        cmocka_unit_test(test_not_allowlisted),
        cmocka_unit_test(test_empty_library),
        cmocka_unit_test(test_health_and_metrics),
        cmocka_unit_test(test_second_front_shares_sessions_and_auto_saves),
        cmocka_unit_test(test_auto_save_get_mix_saves_nothing),
        cmocka_unit_test(test_no_secret_in_log),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
