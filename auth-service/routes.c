/* The HTTP routes of auth-service: see routes.h. Security rules kept here: every answer
 * carries a Content-Security-Policy that only frames https://open.spotify.com; POSTs from
 * another site are refused (Origin / Sec-Fetch-Site against PUBLIC_URL, JSON-only API); a GET
 * never writes to the user's account; cookies are HttpOnly and SameSite=Lax, and behind https
 * Secure with the __Host- prefix; no token, code or cookie value is ever logged or put in a URL
 * we build. */
#include "routes.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "mix.h"
#include "pages.h"
#include "pkce.h"
#include "reco.pb-c.h"
#include "session.h"

static const char CSP[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src https://open.spotify.com; form-action 'self' "
    "https://accounts.spotify.com; base-uri 'none'; frame-ancestors 'none'";

static const char SCOPES[] = "user-library-read playlist-modify-private";
static const char SCOPES_PUBLIC[] = "user-library-read playlist-modify-private "
                                    "playlist-modify-public";

/* One request as the handlers see it. */
struct request {
    struct mg_connection *conn;
    const struct mg_request_info *info;
    struct app *app;
    int64_t now;
    char set_cookies[2 * (SESSION_MAX_COOKIE_LEN + 256)]; /* Set-Cookie lines to send */
    int status;                                           /* what was answered */
};

static int64_t unix_now(void)
{
    return (int64_t)time(NULL);
}

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

/* Writes the status line and the headers every answer carries. extra: more header lines,
 * each ending in \r\n, or NULL. content_length < 0: chunked. */
static void send_head(struct request *r, int status, const char *content_type,
                      long long content_length, const char *extra)
{
    r->status = status;
    mg_printf(r->conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
              "Content-Security-Policy: %s\r\nX-Content-Type-Options: nosniff\r\n"
              "Referrer-Policy: same-origin\r\nX-Frame-Options: DENY\r\n%s%s",
              status, status_text(status), content_type, CSP, r->set_cookies, extra ? extra : "");
    if (content_length >= 0)
        mg_printf(r->conn, "Content-Length: %lld\r\n\r\n", content_length);
    else
        mg_printf(r->conn, "Transfer-Encoding: chunked\r\n\r\n");
}

static void send_body(struct request *r, int status, const char *content_type, const char *body,
                      size_t len)
{
    send_head(r, status, content_type, (long long)len, NULL);
    if (strcmp(r->info->request_method, "HEAD") != 0)
        mg_write(r->conn, body, len);
}

static void send_html(struct request *r, int status, struct html *h)
{
    if (h->failed) {
        send_body(r, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
        return;
    }
    send_body(r, status, "text/html; charset=utf-8", h->bytes ? h->bytes : "", h->len);
}

static void send_json(struct request *r, int status, cJSON *obj)
{
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!text) {
        send_body(r, 500, "application/json", "{\"error\":\"internal\"}", 20);
        return;
    }
    send_body(r, status, "application/json", text, strlen(text));
    free(text);
}

static void send_json_error(struct request *r, int status, const char *code, const char *message)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "error", code);
    cJSON_AddStringToObject(obj, "message", message);
    send_json(r, status, obj);
}

static void send_redirect(struct request *r, int status, const char *location)
{
    char extra[4096];
    snprintf(extra, sizeof extra, "Location: %s\r\n", location);
    send_head(r, status, "text/plain; charset=utf-8", 0, extra);
}

static void send_error_page(struct request *r, enum page_error error, const char *detail)
{
    struct html h = {0};
    pages_error(&h, error, detail);
    send_html(r, pages_error_info(error)->http_status, &h);
    html_free(&h);
}

/* ---- cookies ---- */

/* Cookies go by SESSION_HOST_PREFIX + purpose behind https, by the bare purpose over plain
 * http (session_cookie_name); a request is read only under the name of the current mode. */

static void add_cookie_named(struct request *r, const char *name, const char *value, long max_age)
{
    size_t used = strlen(r->set_cookies);
    if (session_cookie_header(r->set_cookies + used, sizeof r->set_cookies - used, name, value,
                              max_age, r->app->cfg->secure_cookies) < 0)
        log_error("cookie_not_set", "name=%s reason=\"no room for the Set-Cookie line\"", name);
}

static void add_cookie(struct request *r, const char *purpose, const char *value, long max_age)
{
    char name[SESSION_COOKIE_NAME_SIZE];
    session_cookie_name(purpose, r->app->cfg->secure_cookies, name);
    add_cookie_named(r, name, value, max_age);
}

static void clear_cookie(struct request *r, const char *purpose)
{
    add_cookie(r, purpose, "", 0);
}

/* Where the Cookie header's cookie called exactly `name` starts, or NULL (so that
 * "mixtape_session" is never found inside "__Host-mixtape_session" or the other way round). */
static const char *find_cookie(struct request *r, const char *name)
{
    const char *header = mg_get_header(r->conn, "Cookie");
    size_t n = strlen(name);
    for (const char *p = header ? strstr(header, name) : NULL; p; p = strstr(p + 1, name))
        if ((p == header || p[-1] == ' ' || p[-1] == ';') && p[n] == '=')
            return p;
    return NULL;
}

/* Copies the cookie of `purpose` (under its name in this mode) into dst (cap bytes). Returns
 * its length, or -1 if absent or too long. */
static int read_cookie(struct request *r, const char *purpose, char *dst, size_t cap)
{
    char name[SESSION_COOKIE_NAME_SIZE];
    session_cookie_name(purpose, r->app->cfg->secure_cookies, name);
    const char *found = find_cookie(r, name);
    if (!found)
        return -1;
    /* From the exact match on, so CivetWeb's own search finds that one first. */
    int n = mg_get_cookie(found, name, dst, cap);
    return n >= 0 ? n : -1;
}

/* Loads the signed-in session. False means signed out (a bad cookie is also cleared). */
static bool load_session(struct request *r, struct session *s)
{
    char *value = malloc(SESSION_MAX_COOKIE_LEN + 2);
    if (!value)
        return false;
    int n = read_cookie(r, SESSION_COOKIE, value, SESSION_MAX_COOKIE_LEN + 2);
    bool ok = false;
    if (n > 0) {
        enum session_status st = session_decode(&r->app->cfg->keys, value, (size_t)n, r->now, s);
        ok = st == SESSION_OK;
        if (!ok) {
            log_info("session_rejected", "reason=\"%s\"", session_strerror(st));
            clear_cookie(r, SESSION_COOKIE);
        }
    } else if (n == -1) {
        char name[SESSION_COOKIE_NAME_SIZE];
        session_cookie_name(SESSION_COOKIE, r->app->cfg->secure_cookies, name);
        if (find_cookie(r, name)) {
            log_info("session_rejected", "reason=\"cookie over %d bytes\"", SESSION_MAX_COOKIE_LEN);
            clear_cookie(r, SESSION_COOKIE);
        }
    }
    /* Behind https, a session cookie under the bare name (set before the __Host- prefix, or
     * planted by a sibling host or a plain-http page) is never read, only cleared. */
    if (r->app->cfg->secure_cookies && find_cookie(r, SESSION_COOKIE)) {
        log_info("session_rejected", "reason=\"cookie without the %s prefix\"",
                 SESSION_HOST_PREFIX);
        add_cookie_named(r, SESSION_COOKIE, "", 0);
    }
    OPENSSL_cleanse(value, SESSION_MAX_COOKIE_LEN + 2);
    free(value);
    return ok;
}

/* Re-issues the session cookie with the client's newest tokens. */
static void store_session(struct request *r, struct session *s, const struct spotify_tokens *t)
{
    snprintf(s->access_token, sizeof s->access_token, "%s", t->access_token);
    snprintf(s->refresh_token, sizeof s->refresh_token, "%s", t->refresh_token);
    s->access_expires = t->access_expires;
    char *cookie = NULL;
    enum session_status st = session_encode(&r->app->cfg->keys, s, &cookie);
    if (st != SESSION_OK) {
        log_error("session_store_failed", "reason=\"%s\"", session_strerror(st));
        return;
    }
    add_cookie(r, SESSION_COOKIE, cookie, (long)(s->expires - r->now));
    OPENSSL_cleanse(cookie, strlen(cookie));
    free(cookie);
}

/* ---- request checks ---- */

/* A POST must come from our own pages (or from a script, which sends neither header). */
static bool same_site(struct request *r)
{
    const char *site = mg_get_header(r->conn, "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin") != 0)
        return false;
    const char *origin = mg_get_header(r->conn, "Origin");
    if (origin && strcmp(origin, r->app->cfg->public_origin) != 0)
        return false;
    return true;
}

static bool is_json(struct request *r)
{
    const char *type = mg_get_header(r->conn, "Content-Type");
    if (!type)
        return false;
    size_t n = strlen("application/json");
    return strncasecmp(type, "application/json", n) == 0 && (type[n] == '\0' || type[n] == ';');
}

/* Reads the body, at most cap bytes. Returns 0 with *body (malloc'd, NUL-terminated),
 * 1 if it is over cap, -1 on a read error. */
static int read_body(struct request *r, size_t cap, char **body, size_t *len)
{
    long long declared = r->info->content_length;
    if (declared > (long long)cap)
        return 1;
    char *buf = malloc(cap + 2);
    if (!buf)
        return -1;
    size_t used = 0;
    for (;;) {
        int n = mg_read(r->conn, buf + used, cap + 1 - used);
        if (n < 0) {
            free(buf);
            return -1;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > cap) {
            free(buf);
            return 1;
        }
    }
    buf[used] = '\0';
    *body = buf;
    *len = used;
    return 0;
}

/* The common front of the JSON API: POST, same site, JSON, body within cap. Answers and returns
 * false when the request is refused. */
static bool api_preamble(struct request *r, size_t cap, char **body, size_t *len)
{
    if (!same_site(r)) {
        send_json_error(r, 403, "cross_site", "cross-site requests are refused");
        return false;
    }
    if (!is_json(r)) {
        send_json_error(r, 415, "content_type", "Content-Type must be application/json");
        return false;
    }
    int rc = read_body(r, cap, body, len);
    if (rc == 1) {
        char message[96];
        snprintf(message, sizeof message, "request body is over its limit of %zu bytes", cap);
        send_json_error(r, 413, "too_large", message);
        return false;
    }
    if (rc != 0) {
        send_json_error(r, 400, "bad_body", "the request body could not be read");
        return false;
    }
    return true;
}

/* ---- Spotify glue ---- */

static enum page_error page_error_of(enum spotify_status s)
{
    switch (s) {
    case SPOTIFY_ERR_QUOTA:
        return PAGE_ERR_QUOTA;
    case SPOTIFY_ERR_UNAUTHORIZED:
    case SPOTIFY_ERR_INVALID_GRANT:
        return PAGE_ERR_SIGNED_OUT;
    case SPOTIFY_ERR_NOT_ALLOWLISTED:
        return PAGE_ERR_NOT_ALLOWLISTED;
    case SPOTIFY_ERR_NO_PREMIUM:
        return PAGE_ERR_NO_PREMIUM;
    case SPOTIFY_ERR_SCOPE:
        return PAGE_ERR_SCOPE;
    case SPOTIFY_ERR_FORBIDDEN:
        return PAGE_ERR_FORBIDDEN;
    case SPOTIFY_ERR_INTERNAL:
        return PAGE_ERR_INTERNAL;
    default:
        return PAGE_ERR_SPOTIFY_DOWN;
    }
}

static enum page_error page_error_of_mix(enum mix_status s)
{
    switch (s) {
    case MIX_ERR_EMPTY_LIBRARY:
        return PAGE_ERR_EMPTY_LIBRARY;
    case MIX_ERR_NOTHING_MATCHED:
        return PAGE_ERR_NOTHING_MATCHED;
    case MIX_ERR_UNAVAILABLE:
        return PAGE_ERR_COMPUTE_DOWN;
    default:
        return PAGE_ERR_INTERNAL;
    }
}

static struct spotify_client *client_for(struct request *r, const struct session *s)
{
    struct spotify_tokens tokens = {0};
    if (s) {
        snprintf(tokens.access_token, sizeof tokens.access_token, "%s", s->access_token);
        snprintf(tokens.refresh_token, sizeof tokens.refresh_token, "%s", s->refresh_token);
        tokens.access_expires = s->access_expires;
    }
    struct spotify_client *c = spotify_client_new(&r->app->spotify, &tokens);
    OPENSSL_cleanse(&tokens, sizeof tokens);
    return c;
}

/* Refreshes ahead of time when the access token ends within two minutes, so a long read
 * rarely meets a 401 after the page's headers (and cookie) are gone. */
static enum spotify_status refresh_if_due(struct request *r, struct spotify_client *c,
                                          struct session *s)
{
    if (s->access_expires - r->now > 120)
        return SPOTIFY_OK;
    enum spotify_status st = spotify_refresh(c, r->now);
    if (st == SPOTIFY_OK)
        store_session(r, s, spotify_tokens(c));
    return st;
}

/* The mix from library to playlist, shared by /mix (streamed) and /api/mix. */
struct mix_job {
    struct request *r;
    struct spotify_client *client;
    struct mix_params params;
    struct saved_library lib;
    struct mix_result result;
    bool have_result;
    enum page_error error;
    char detail[512];
    bool save; /* save the playlist once made (AUTO_SAVE, POST /api/mix only) */
    char saved_id[64];
    /* streaming (/mix): the headers wait for the first page of saved tracks, so a token
     * refreshed on the way (401) still reaches the cookie */
    struct html *stream;
    struct session *session;
    bool stream_started;
    char streamed_token[SESSION_MAX_TOKEN_LEN + 1]; /* access token when headers left */
    size_t last_reported;
};

static void flush_stream(struct mix_job *job)
{
    struct html *h = job->stream;
    if (!h || h->failed || h->len == 0)
        return;
    mg_send_chunk(job->r->conn, h->bytes, (unsigned)h->len);
    h->len = 0;
}

static void begin_stream(struct mix_job *job)
{
    if (!job->stream || job->stream_started)
        return;
    struct request *r = job->r;
    if (spotify_tokens_changed(job->client))
        store_session(r, job->session, spotify_tokens(job->client));
    snprintf(job->streamed_token, sizeof job->streamed_token, "%s",
             spotify_tokens(job->client)->access_token);
    send_head(r, 200, "text/html; charset=utf-8", -1, NULL);
    pages_mix_start(job->stream, job->session->display_name);
    job->stream_started = true;
    flush_stream(job);
}

static void on_progress(void *ctx, size_t read, size_t total)
{
    struct mix_job *job = ctx;
    if (!job->stream)
        return;
    begin_stream(job);
    size_t step = total / 8 > SPOTIFY_PAGE_LIMIT ? total / 8 : SPOTIFY_PAGE_LIMIT;
    if (read < total && read - job->last_reported < step && job->last_reported != 0)
        return;
    job->last_reported = read;
    char text[128];
    snprintf(text, sizeof text, "Read %zu of %zu saved tracks", read, total);
    pages_mix_progress(job->stream, "read", text);
    flush_stream(job);
}

static void progress_line(struct mix_job *job, const char *step, const char *text)
{
    if (!job->stream)
        return;
    begin_stream(job);
    pages_mix_progress(job->stream, step, text);
    flush_stream(job);
}

static bool save_playlist(struct mix_job *job, const char *const *ids, size_t n)
{
    const struct auth_config *cfg = job->r->app->cfg;
    enum spotify_status st = spotify_save_playlist(job->client, cfg->playlist_name,
                                                   "Made by mixtape from your Liked Songs",
                                                   cfg->public_playlists, ids, n, job->saved_id);
    if (st != SPOTIFY_OK) {
        job->error = page_error_of(st);
        snprintf(job->detail, sizeof job->detail, "%s", spotify_last_error(job->client));
        log_warn("playlist_save_failed", "reason=\"%s\"", spotify_strerror(st));
        return false;
    }
    log_info("playlist_saved", "tracks=%zu", n);
    return true;
}

/* Returns true with job->result filled, or false with job->error and job->detail. */
static bool run_mix(struct mix_job *job)
{
    struct app *app = job->r->app;
    struct timespec start, read_done;
    clock_gettime(CLOCK_MONOTONIC, &start);
    enum spotify_status st = spotify_fetch_saved(job->client, &job->lib, on_progress, job);
    if (st != SPOTIFY_OK) {
        job->error = page_error_of(st);
        snprintf(job->detail, sizeof job->detail, "%s", spotify_last_error(job->client));
        log_warn("library_read_failed", "reason=\"%s\" detail=\"%s\"", spotify_strerror(st),
                 spotify_last_error(job->client));
        return false;
    }
    clock_gettime(CLOCK_MONOTONIC, &read_done);
    log_info("library_read", "tracks=%zu total=%zu pages=%d ms=%ld", job->lib.count, job->lib.total,
             job->lib.pages,
             (long)((read_done.tv_sec - start.tv_sec) * 1000 +
                    (read_done.tv_nsec - start.tv_nsec) / 1000000));
    if (job->lib.count == 0) {
        job->error = PAGE_ERR_EMPTY_LIBRARY;
        return false;
    }
    if (atomic_load(&app->audio_features_on)) {
        st = spotify_audio_features(job->client, &job->lib);
        if (st == SPOTIFY_ERR_FORBIDDEN) {
            atomic_store(&app->audio_features_on, false);
            log_warn("audio_features_off", "reason=\"403 from /v1/audio-features\"");
        } else if (st != SPOTIFY_OK) {
            log_warn("audio_features_skipped", "reason=\"%s\"", spotify_strerror(st));
        }
    }
    char text[160];
    snprintf(text, sizeof text, "Matching %zu saved tracks against the catalog", job->lib.count);
    progress_line(job, "match", text);
    struct mix_call call;
    enum mix_status ms =
        mix_run(app->rpc, (uint32_t)app->cfg->reco_timeout_ms, &job->lib, &job->params,
                &job->result, &call, job->detail, sizeof job->detail);
    if (call.called)
        metrics_rpc("Recommend", rpc_code_name(call.code), call.seconds);
    if (ms != MIX_OK) {
        job->error = page_error_of_mix(ms);
        return false;
    }
    job->have_result = true;
    snprintf(text, sizeof text, "Ranked the catalog: %zu songs across %zu of your styles",
             job->result.n_picks, job->result.n_clusters);
    progress_line(job, "rank", text);
    if (job->save) {
        const char **ids = calloc(job->result.n_picks, sizeof *ids);
        if (!ids) {
            job->error = PAGE_ERR_INTERNAL;
            return false;
        }
        for (size_t i = 0; i < job->result.n_picks; i++)
            ids[i] = job->result.picks[i].id;
        bool saved = save_playlist(job, ids, job->result.n_picks);
        free(ids);
        if (!saved)
            return false;
    }
    return true;
}

static uint64_t random_variety(void)
{
    uint64_t v = 0;
    if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
        v = (uint64_t)time(NULL);
    v &= (1ull << 53) - 1; /* exact in JSON numbers */
    return v ? v : 1;
}

/* ---- handlers ---- */

static void handle_landing(struct request *r)
{
    struct session s;
    bool signed_in = load_session(r, &s);
    struct html h = {0};
    pages_landing(&h, signed_in ? s.display_name : NULL);
    OPENSSL_cleanse(&s, sizeof s);
    send_html(r, 200, &h);
    html_free(&h);
}

static void handle_login(struct request *r)
{
    const struct auth_config *cfg = r->app->cfg;
    struct login_state l = {.expires = r->now + cfg->login_minutes * 60};
    char challenge[PKCE_CHALLENGE_LEN + 1];
    if (pkce_new_state(l.state) != PKCE_OK || pkce_new_verifier(l.verifier) != PKCE_OK ||
        pkce_challenge(l.verifier, challenge) != PKCE_OK) {
        send_error_page(r, PAGE_ERR_INTERNAL, "no randomness available");
        return;
    }
    char *cookie = NULL;
    if (login_encode(&cfg->keys, &l, &cookie) != SESSION_OK) {
        send_error_page(r, PAGE_ERR_INTERNAL, NULL);
        return;
    }
    add_cookie(r, LOGIN_COOKIE, cookie, (long)(cfg->login_minutes * 60));
    free(cookie);
    char *client = curl_easy_escape(NULL, cfg->client_id, 0);
    char *redirect = curl_easy_escape(NULL, cfg->redirect_uri, 0);
    char *scope = curl_easy_escape(NULL, cfg->public_playlists ? SCOPES_PUBLIC : SCOPES, 0);
    char location[3072];
    snprintf(location, sizeof location,
             "%s/authorize?client_id=%s&response_type=code&redirect_uri=%s&scope=%s&state=%s"
             "&code_challenge_method=S256&code_challenge=%s",
             cfg->accounts_base, client ? client : "", redirect ? redirect : "", scope ? scope : "",
             l.state, challenge);
    curl_free(client);
    curl_free(redirect);
    curl_free(scope);
    OPENSSL_cleanse(&l, sizeof l);
    log_info("login_started", "redirect_uri=%s", cfg->redirect_uri);
    send_redirect(r, 302, location);
}

static int query_value(struct request *r, const char *name, char *dst, size_t cap)
{
    const char *q = r->info->query_string;
    if (!q)
        return -1;
    int n = mg_get_var(q, strlen(q), name, dst, cap);
    return n;
}

static void handle_callback(struct request *r)
{
    const struct auth_config *cfg = r->app->cfg;
    char state[128] = "", error[64] = "", *code = malloc(2048);
    char *login_cookie = malloc(SESSION_MAX_COOKIE_LEN + 2);
    struct login_state l = {0};
    struct spotify_client *client = NULL;
    struct session *s = calloc(1, sizeof *s);
    if (!code || !login_cookie || !s) {
        send_error_page(r, PAGE_ERR_INTERNAL, NULL);
        goto done;
    }
    code[0] = '\0';
    clear_cookie(r, LOGIN_COOKIE); /* one use only, whatever happens next */
    int n_state = query_value(r, "state", state, sizeof state);
    int n_error = query_value(r, "error", error, sizeof error);
    int n_code = query_value(r, "code", code, 2048);
    int n_cookie = read_cookie(r, LOGIN_COOKIE, login_cookie, SESSION_MAX_COOKIE_LEN + 2);
    enum session_status ls =
        n_cookie > 0 ? login_decode(&cfg->keys, login_cookie, (size_t)n_cookie, r->now, &l)
                     : SESSION_ERR_FORMAT;
    if (n_error > 0) {
        log_info("login_finished", "outcome=denied error=%s",
                 strcmp(error, "access_denied") == 0 ? "access_denied" : "other");
        send_error_page(r, strcmp(error, "access_denied") == 0 ? PAGE_ERR_DENIED : PAGE_ERR_STATE,
                        NULL);
        goto done;
    }
    if (ls != SESSION_OK || n_state <= 0 || strlen(state) != strlen(l.state) ||
        CRYPTO_memcmp(state, l.state, strlen(state)) != 0) {
        log_info("login_finished", "outcome=state_mismatch reason=\"%s\"",
                 ls != SESSION_OK ? session_strerror(ls) : "state differs");
        send_error_page(r, PAGE_ERR_STATE, NULL);
        goto done;
    }
    if (n_code <= 0) {
        log_info("login_finished", "outcome=no_code");
        send_error_page(r, PAGE_ERR_CODE, "Spotify sent no code (or one over 2047 bytes).");
        goto done;
    }
    client = client_for(r, NULL);
    if (!client) {
        send_error_page(r, PAGE_ERR_INTERNAL, NULL);
        goto done;
    }
    enum spotify_status st = spotify_exchange_code(client, code, l.verifier, r->now);
    if (st != SPOTIFY_OK) {
        log_info("login_finished", "outcome=exchange_failed reason=\"%s\"", spotify_strerror(st));
        enum page_error pe = st == SPOTIFY_ERR_INVALID_GRANT || st == SPOTIFY_ERR_BAD_REQUEST
                                 ? PAGE_ERR_CODE
                                 : page_error_of(st);
        send_error_page(r, pe, spotify_last_error(client));
        goto done;
    }
    struct spotify_user user;
    st = spotify_me(client, &user);
    if (st != SPOTIFY_OK) {
        log_info("login_finished", "outcome=profile_failed reason=\"%s\"", spotify_strerror(st));
        send_error_page(r, page_error_of(st), spotify_last_error(client));
        goto done;
    }
    snprintf(s->user_id, sizeof s->user_id, "%s", user.id);
    snprintf(s->display_name, sizeof s->display_name, "%s", user.display_name);
    s->expires = r->now + cfg->session_hours * 3600;
    store_session(r, s, spotify_tokens(client));
    log_info("login_finished", "outcome=ok");
    send_redirect(r, 303, "/mix");
done:
    if (code)
        OPENSSL_cleanse(code, 2048);
    if (login_cookie)
        OPENSSL_cleanse(login_cookie, SESSION_MAX_COOKIE_LEN + 2);
    OPENSSL_cleanse(&l, sizeof l);
    if (s)
        OPENSSL_cleanse(s, sizeof *s);
    free(code);
    free(login_cookie);
    free(s);
    spotify_client_free(client);
}

static void handle_logout(struct request *r)
{
    if (!same_site(r)) {
        send_body(r, 403, "text/plain; charset=utf-8", "cross-site sign-out refused\n", 28);
        return;
    }
    clear_cookie(r, SESSION_COOKIE);
    clear_cookie(r, LOGIN_COOKIE);
    log_info("logout", "outcome=ok");
    send_redirect(r, 303, "/");
}

static void handle_mix_page(struct request *r)
{
    struct session *s = calloc(1, sizeof *s);
    struct mix_job job = {.r = r};
    struct html h = {0};
    if (!s) {
        send_error_page(r, PAGE_ERR_INTERNAL, NULL);
        return;
    }
    if (!load_session(r, s)) {
        send_redirect(r, 303, "/");
        goto done;
    }
    if (strcmp(r->info->request_method, "HEAD") == 0) {
        /* The page's headers only: no mix is made and no chunk is written (a body after a
         * HEAD answer would be read as the next answer on a kept-alive connection). */
        send_head(r, 200, "text/html; charset=utf-8", -1, NULL);
        goto done;
    }
    char variety[32];
    if (query_value(r, "variety", variety, sizeof variety) > 0)
        job.params.variety = strtoull(variety, NULL, 10);
    job.params.n = 50;
    job.client = client_for(r, s);
    if (!job.client) {
        send_error_page(r, PAGE_ERR_INTERNAL, NULL);
        goto done;
    }
    enum spotify_status st = refresh_if_due(r, job.client, s);
    if (st != SPOTIFY_OK) {
        if (page_error_of(st) == PAGE_ERR_SIGNED_OUT)
            clear_cookie(r, SESSION_COOKIE);
        send_error_page(r, page_error_of(st), spotify_last_error(job.client));
        goto done;
    }
    job.stream = &h;
    job.session = s;
    bool ok = run_mix(&job);
    if (!job.stream_started) {
        /* Failed before the first page: an ordinary error page, with its own status. */
        if (job.error == PAGE_ERR_SIGNED_OUT)
            clear_cookie(r, SESSION_COOKIE);
        else if (spotify_tokens_changed(job.client))
            store_session(r, s, spotify_tokens(job.client));
        send_error_page(r, job.error, job.detail);
        goto done;
    }
    if (ok) {
        /* A GET saves nothing: with AUTO_SAVE the page's script saves through POST /api/save
         * (CSRF-checked) as soon as it is shown. */
        pages_mix_result(&h, &job.result, job.lib.count, job.lib.total, job.lib.truncated,
                         random_variety(), r->app->cfg->auto_save);
    } else {
        pages_mix_error(&h, job.error, job.detail);
        r->status = pages_error_info(job.error)->http_status; /* for metrics and the log */
    }
    if (strcmp(job.streamed_token, spotify_tokens(job.client)->access_token) != 0)
        log_warn("tokens_refreshed_mid_stream",
                 "note=\"the token expired while the library was read; the cookie keeps the "
                 "previous one\"");
    pages_mix_end(&h);
    flush_stream(&job);
    mg_send_chunk(r->conn, "", 0);
done:
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
    html_free(&h);
    mix_result_free(&job.result);
    spotify_library_free(&job.lib);
    spotify_client_free(job.client);
}

static void send_job_error(struct request *r, const struct mix_job *job)
{
    const struct page_error_info *info = pages_error_info(job->error);
    if (job->error == PAGE_ERR_SIGNED_OUT)
        clear_cookie(r, SESSION_COOKIE);
    char message[768];
    snprintf(message, sizeof message, "%s %s%s%s", info->title, info->what,
             job->detail[0] ? " Detail: " : "", job->detail);
    send_json_error(r, info->http_status, info->code, message);
}

static void handle_api_mix(struct request *r)
{
    char *body = NULL;
    size_t len = 0;
    struct session *s = calloc(1, sizeof *s);
    struct mix_job job = {.r = r, .params = {.n = 50}, .save = r->app->cfg->auto_save};
    cJSON *req = NULL;
    if (!s) {
        send_json_error(r, 500, "internal", "out of memory");
        return;
    }
    if (!api_preamble(r, ROUTES_MAX_MIX_BODY, &body, &len))
        goto done;
    if (!load_session(r, s)) {
        send_json_error(r, 401, "signed_out", "sign in first: GET /login");
        goto done;
    }
    if (len > 0) {
        req = cJSON_ParseWithLength(body, len);
        if (!cJSON_IsObject(req)) {
            send_json_error(r, 400, "bad_json", "the body must be a JSON object");
            goto done;
        }
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(req, "n");
        const cJSON *variety = cJSON_GetObjectItemCaseSensitive(req, "variety");
        if (n && (!cJSON_IsNumber(n) || n->valuedouble < 1 || n->valuedouble > MIX_MAX_N ||
                  n->valuedouble != (double)(uint32_t)n->valuedouble)) {
            send_json_error(r, 400, "bad_n", "n must be a whole number from 1 to 500");
            goto done;
        }
        if (variety && (!cJSON_IsNumber(variety) || variety->valuedouble < 0 ||
                        variety->valuedouble > 9007199254740991.0)) {
            send_json_error(r, 400, "bad_variety",
                            "variety must be a whole number from 0 to 2^53-1");
            goto done;
        }
        if (n)
            job.params.n = (uint32_t)n->valuedouble;
        if (variety)
            job.params.variety = (uint64_t)variety->valuedouble;
    }
    job.client = client_for(r, s);
    if (!job.client) {
        send_json_error(r, 500, "internal", "out of memory");
        goto done;
    }
    enum spotify_status st = refresh_if_due(r, job.client, s);
    if (st != SPOTIFY_OK) {
        job.error = page_error_of(st);
        snprintf(job.detail, sizeof job.detail, "%s", spotify_last_error(job.client));
        send_job_error(r, &job);
        goto done;
    }
    bool ok = run_mix(&job);
    if (spotify_tokens_changed(job.client))
        store_session(r, s, spotify_tokens(job.client));
    if (!ok) {
        send_job_error(r, &job);
        goto done;
    }
    cJSON *answer = cJSON_CreateObject();
    mix_result_to_json(&job.result, answer);
    cJSON *stats = cJSON_GetObjectItemCaseSensitive(answer, "stats");
    cJSON_AddNumberToObject(stats, "read", (double)job.lib.count);
    cJSON_AddNumberToObject(stats, "total", (double)job.lib.total);
    cJSON_AddBoolToObject(stats, "truncated", job.lib.truncated);
    cJSON_AddNumberToObject(answer, "variety", (double)job.params.variety);
    if (job.saved_id[0]) {
        char embed[256];
        pages_embed_url(job.saved_id, embed);
        cJSON *saved = cJSON_AddObjectToObject(answer, "saved");
        cJSON_AddStringToObject(saved, "id", job.saved_id);
        cJSON_AddStringToObject(saved, "embed", embed);
    }
    send_json(r, 200, answer);
done:
    cJSON_Delete(req);
    free(body);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
    mix_result_free(&job.result);
    spotify_library_free(&job.lib);
    spotify_client_free(job.client);
}

static void handle_api_save(struct request *r)
{
    char *body = NULL;
    size_t len = 0;
    struct session *s = calloc(1, sizeof *s);
    struct mix_job job = {.r = r};
    cJSON *req = NULL;
    const char **ids = NULL;
    if (!s) {
        send_json_error(r, 500, "internal", "out of memory");
        return;
    }
    if (!api_preamble(r, ROUTES_MAX_SAVE_BODY, &body, &len))
        goto done;
    if (!load_session(r, s)) {
        send_json_error(r, 401, "signed_out", "sign in first: GET /login");
        goto done;
    }
    req = cJSON_ParseWithLength(body, len);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(req, "ids");
    if (!cJSON_IsArray(list)) {
        send_json_error(r, 400, "bad_ids", "the body must be {\"ids\": [track ids]}");
        goto done;
    }
    int n = cJSON_GetArraySize(list);
    if (n < 1 || n > (int)SPOTIFY_MAX_PLAYLIST) {
        send_json_error(r, 400, "bad_ids", "ids must hold 1 to 500 track ids");
        goto done;
    }
    ids = calloc((size_t)n, sizeof *ids);
    if (!ids) {
        send_json_error(r, 500, "internal", "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const cJSON *id = cJSON_GetArrayItem(list, i);
        bool ok = cJSON_IsString(id) && strlen(id->valuestring) == 22 &&
                  strspn(id->valuestring, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789") == 22;
        if (!ok) {
            char message[96];
            snprintf(message, sizeof message, "ids[%d] is not a 22-character Spotify track id", i);
            send_json_error(r, 400, "bad_ids", message);
            goto done;
        }
        ids[i] = id->valuestring;
    }
    job.client = client_for(r, s);
    if (!job.client) {
        send_json_error(r, 500, "internal", "out of memory");
        goto done;
    }
    enum spotify_status st = refresh_if_due(r, job.client, s);
    bool ok = st == SPOTIFY_OK && save_playlist(&job, ids, (size_t)n);
    if (st != SPOTIFY_OK) {
        job.error = page_error_of(st);
        snprintf(job.detail, sizeof job.detail, "%s", spotify_last_error(job.client));
    }
    if (spotify_tokens_changed(job.client) && st == SPOTIFY_OK)
        store_session(r, s, spotify_tokens(job.client));
    if (!ok) {
        send_job_error(r, &job);
        goto done;
    }
    char embed[256], url[128];
    pages_embed_url(job.saved_id, embed);
    snprintf(url, sizeof url, "https://open.spotify.com/playlist/%s", job.saved_id);
    cJSON *answer = cJSON_CreateObject();
    cJSON_AddStringToObject(answer, "id", job.saved_id);
    cJSON_AddStringToObject(answer, "url", url);
    cJSON_AddStringToObject(answer, "embed", embed);
    cJSON_AddNumberToObject(answer, "tracks", n);
    send_json(r, 201, answer);
done:
    free(ids);
    cJSON_Delete(req);
    free(body);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
    spotify_client_free(job.client);
}

static void handle_healthz(struct request *r)
{
    send_body(r, 200, "text/plain; charset=utf-8", "ok\n", 3);
}

static void handle_readyz(struct request *r)
{
    Mixtape__Reco__HealthRequest health = MIXTAPE__RECO__HEALTH_REQUEST__INIT;
    uint8_t request[16];
    size_t len = mixtape__reco__health_request__pack(&health, request);
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    char *message = NULL;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    enum rpc_code code =
        rpc_call(r->app->rpc, "Health", request, len, 1000, &reply, &reply_len, &message, NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    metrics_rpc("Health", rpc_code_name(code),
                (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
    Mixtape__Reco__HealthReply *h =
        code == RPC_OK ? mixtape__reco__health_reply__unpack(NULL, reply_len, reply) : NULL;
    cJSON *answer = cJSON_CreateObject();
    bool ready = h && h->serving;
    cJSON_AddBoolToObject(answer, "ready", ready);
    if (h && h->model_version)
        cJSON_AddStringToObject(answer, "model_version", h->model_version);
    if (!ready) {
        char why[256];
        snprintf(why, sizeof why, "reco-service %s%s%s",
                 code == RPC_OK ? "is not serving" : rpc_code_name(code), message ? ": " : "",
                 message ? message : "");
        cJSON_AddStringToObject(answer, "reason", why);
    }
    if (h)
        mixtape__reco__health_reply__free_unpacked(h, NULL);
    free(reply);
    free(message);
    send_json(r, ready ? 200 : 503, answer);
}

static void handle_metrics(struct request *r)
{
    char *text = metrics_render();
    if (!text) {
        send_body(r, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    send_body(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
    free(text);
}

static void handle_script(struct request *r)
{
    send_body(r, 200, "text/javascript; charset=utf-8", pages_script, strlen(pages_script));
}

static void handle_stylesheet(struct request *r)
{
    send_body(r, 200, "text/css; charset=utf-8", pages_stylesheet, strlen(pages_stylesheet));
}

struct route {
    const char *method;
    const char *path; /* also the metrics label */
    void (*handle)(struct request *r);
};

static const struct route ROUTES[] = {
    {"GET", "/", handle_landing},           {"GET", "/login", handle_login},
    {"GET", "/callback", handle_callback},  {"POST", "/logout", handle_logout},
    {"GET", "/mix", handle_mix_page},       {"POST", "/api/mix", handle_api_mix},
    {"POST", "/api/save", handle_api_save}, {"GET", "/healthz", handle_healthz},
    {"GET", "/readyz", handle_readyz},      {"GET", "/metrics", handle_metrics},
    {"GET", "/app.js", handle_script},      {"GET", "/app.css", handle_stylesheet},
};

static int dispatch(struct mg_connection *conn, void *cbdata)
{
    struct request *r = calloc(1, sizeof *r);
    if (!r)
        return 500;
    r->conn = conn;
    r->info = mg_get_request_info(conn);
    r->app = cbdata;
    r->now = unix_now();
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    const char *path = r->info->local_uri ? r->info->local_uri : "";
    const char *method = r->info->request_method;
    const char *label = "unknown";
    bool path_known = false;
    const struct route *route = NULL;
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        if (strcmp(ROUTES[i].path, path) != 0)
            continue;
        path_known = true;
        label = ROUTES[i].path;
        bool head_ok = strcmp(method, "HEAD") == 0 && strcmp(ROUTES[i].method, "GET") == 0;
        if (strcmp(ROUTES[i].method, method) == 0 || head_ok)
            route = &ROUTES[i];
    }
    if (route) {
        route->handle(r);
    } else if (path_known) {
        send_body(r, 405, "text/plain; charset=utf-8", "method not allowed\n", 19);
    } else {
        struct html h = {0};
        html_raw(&h, "<!doctype html><title>Not found</title><p>Nothing here. "
                     "<a href=\"/\">Start page</a></p>\n");
        send_html(r, 404, &h);
        html_free(&h);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    long ms = (long)((end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000);
    metrics_request(label, r->status);
    log_info("request", "method=%s route=%s status=%d ms=%ld", method, label, r->status, ms);
    int status = r->status ? r->status : 500;
    OPENSSL_cleanse(r->set_cookies, sizeof r->set_cookies);
    free(r);
    return status;
}

static void on_spotify_call(const char *endpoint, long status)
{
    metrics_spotify(endpoint, status);
}

void routes_init(struct app *app, const struct auth_config *cfg, struct rpc_client *rpc)
{
    app->cfg = cfg;
    app->rpc = rpc;
    atomic_init(&app->audio_features_on, cfg->audio_features);
    app->spotify = (struct spotify_settings){
        .accounts_base = cfg->accounts_base,
        .api_base = cfg->api_base,
        .api_origin = cfg->api_origin,
        .client_id = cfg->client_id,
        .client_secret = cfg->client_secret,
        .redirect_uri = cfg->redirect_uri,
        .connections = (int)cfg->spotify_connections,
        .timeout_ms = (long)cfg->spotify_timeout_ms,
        .budget_ms = (long)cfg->spotify_budget_ms,
        .max_tracks = (uint32_t)cfg->max_saved,
        .on_call = on_spotify_call,
    };
}

void routes_register(struct mg_context *ctx, struct app *app)
{
    mg_set_request_handler(ctx, "/", dispatch, app);
}
