/* The page routes (route_handlers.h): GET / (the landing page) and GET /mix, which streams the
 * mix page while the library is read and the playlist made (mix.c runs the flow). A GET never
 * writes to the user's account: with AUTO_SAVE the page's script saves through POST /api/save. */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mix.h"
#include "mix_params.h"
#include "pages.h"
#include "route_handlers.h"
#include "signed_in.h"

/* The variety the page's Regenerate link asks for next: random, exact in a JSON number. */
static uint64_t random_variety(void)
{
    uint64_t v = 0;
    if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
        v = (uint64_t)time(NULL);
    v &= (1ull << 53) - 1; /* exact in JSON numbers */
    return v ? v : 1;
}

/* True when the request carried a session cookie (valid or not). */
static bool had_session_cookie(struct request *r)
{
    char name[SESSION_COOKIE_NAME_SIZE];
    session_cookie_name(SESSION_COOKIE, r->app->cfg->secure_cookies, name);
    return request_find_cookie(r, name) != NULL;
}

/* Reads the controls from the query (variety, n, discover, energy, valence, from, to, clean)
 * through the /api/mix parser, so both take the same values with the same limits. The page
 * shows `shown` songs and asks for a quarter more as stand-ins for removed ones. */
static bool params_from_query(struct request *r, struct mix_params *p, uint32_t *shown,
                              struct mix_params_error *bad)
{
    static const char *const NUMBERS[] = {"variety", "n",    "discover", "energy",
                                          "valence", "from", "to"};
    char values[7][32];
    for (size_t i = 0; i < 7; i++) {
        int n = request_query_value(r, NUMBERS[i], values[i], sizeof values[i]);
        if (n <= 0 || strspn(values[i], "0123456789.") != strlen(values[i]))
            values[i][0] = '\0'; /* absent, or not a plain number: the default */
    }
    char clean[8] = "";
    request_query_value(r, "clean", clean, sizeof clean);
    char body[512];
    int len = snprintf(body, sizeof body, "{\"n\":%s", values[1][0] ? values[1] : "50");
    if (values[0][0])
        len += snprintf(body + len, sizeof body - (size_t)len, ",\"variety\":%s", values[0]);
    if (values[2][0])
        len += snprintf(body + len, sizeof body - (size_t)len, ",\"discover\":%s", values[2]);
    if (values[3][0] || values[4][0]) {
        len += snprintf(body + len, sizeof body - (size_t)len, ",\"target\":{");
        if (values[3][0])
            len += snprintf(body + len, sizeof body - (size_t)len, "\"energy\":%s", values[3]);
        if (values[4][0])
            len += snprintf(body + len, sizeof body - (size_t)len, "%s\"valence\":%s",
                            values[3][0] ? "," : "", values[4]);
        len += snprintf(body + len, sizeof body - (size_t)len, "}");
    }
    if (values[5][0] || values[6][0])
        len += snprintf(body + len, sizeof body - (size_t)len, ",\"years\":[%s,%s]",
                        values[5][0] ? values[5] : "null", values[6][0] ? values[6] : "null");
    if (strcmp(clean, "1") == 0)
        len += snprintf(body + len, sizeof body - (size_t)len, ",\"explicit\":false");
    snprintf(body + len, sizeof body - (size_t)len, "}");
    if (mix_params_parse(body, strlen(body), p, bad) != MIX_PARAMS_OK)
        return false;
    *shown = p->n;
    uint32_t more = p->n + (p->n + 3) / 4;
    p->n = more > RECO_MAX_N ? RECO_MAX_N : more;
    return true;
}

void handle_landing(struct request *r)
{
    struct session s;
    bool signed_in = signed_in_load_session(r, &s);
    struct html h;
    html_init(&h);
    if (!signed_in && had_session_cookie(r))
        pages_session_ended(&h);
    else
        pages_landing(&h, signed_in ? s.display_name : NULL);
    OPENSSL_cleanse(&s, sizeof s);
    request_send_html(r, 200, &h);
    html_free(&h);
}

/* Ends the streamed page: the playlist or the error, then the last chunk. */
static void finish_stream(struct request *r, struct mix_job *job, struct html *h, bool ok)
{
    if (ok) {
        pages_mix_result(h, &job->result, job->lib.count, job->lib.total, job->lib.truncated,
                         random_variety(), r->app->cfg->auto_save, &job->params, job->shown);
    } else {
        pages_mix_error(h, job->error, job->detail);
        r->status = pages_error_info(job->error)->http_status; /* for metrics and the log */
    }
    /* The cookie left with the headers: a refresh after them is kept on this front for the
     * session's next request, which re-issues the cookie (renewed.h). */
    if (strcmp(job->streamed_token, spotify_tokens(job->client)->access_token) != 0) {
        renewed_put(&r->app->renewed, job->session->sid, spotify_tokens(job->client),
                    job->session->expires, r->now);
        log_info("tokens_refreshed_mid_stream", "note=\"kept for the next request\"");
    }
    pages_mix_end(h);
    mix_job_flush(job);
    mg_send_chunk(r->conn, "", 0);
}

void handle_mix_page(struct request *r)
{
    struct signed_in si;
    struct mix_job job = {.r = r};
    struct html h;
    html_init(&h);
    enum signed_in_status sis = signed_in_begin(r, &si);
    if (sis == SIGNED_IN_ERR_INTERNAL) {
        request_send_error_page(r, PAGE_ERR_INTERNAL, NULL);
        goto done;
    }
    if (sis == SIGNED_IN_NO_SESSION) {
        if (had_session_cookie(r)) /* expired or garbled: say so, do not just start over */
            request_send_error_page(r, PAGE_ERR_SIGNED_OUT, NULL);
        else
            request_send_redirect(r, 303, "/");
        goto done;
    }
    if (strcmp(r->info->request_method, "HEAD") == 0) {
        /* The page's headers only: no mix is made and no chunk is written (a body after a
         * HEAD answer would be read as the next answer on a kept-alive connection). */
        request_send_head(r, 200, "text/html; charset=utf-8", -1, NULL);
        goto done;
    }
    struct mix_params_error bad;
    if (!params_from_query(r, &job.params, &job.shown, &bad)) {
        request_send_error_page(r, PAGE_ERR_BAD_CONTROL, bad.message);
        goto done;
    }
    sis = signed_in_connect(r, &si);
    if (sis == SIGNED_IN_ERR_INTERNAL) {
        request_send_error_page(r, PAGE_ERR_INTERNAL, NULL);
        goto done;
    }
    if (sis == SIGNED_IN_ERR_SPOTIFY) {
        if (si.error == PAGE_ERR_SIGNED_OUT)
            request_clear_cookie(r, SESSION_COOKIE);
        request_send_error_page(r, si.error, si.detail);
        goto done;
    }
    job.client = si.client;
    job.stream = &h;
    job.session = si.session;
    bool ok = mix_job_run(&job);
    if (!job.stream_started) {
        /* Failed before the first page: an ordinary error page, with its own status. */
        if (job.error == PAGE_ERR_SIGNED_OUT)
            request_clear_cookie(r, SESSION_COOKIE);
        else
            signed_in_keep_tokens(r, &si);
        request_send_error_page(r, job.error, job.detail);
        goto done;
    }
    finish_stream(r, &job, &h, ok);
done:
    html_free(&h);
    mix_job_free(&job);
    signed_in_end(&si);
}

/* GET /art?id=TRACK: the track's cover (art.h) for a signed-in page, or the placeholder. */
void handle_art(struct request *r)
{
    struct session s;
    bool signed_in = signed_in_load_session(r, &s);
    OPENSSL_cleanse(&s, sizeof s);
    char id[32] = "", type[32] = "";
    char *bytes = NULL;
    size_t len = 0;
    bool found = signed_in && request_query_value(r, "id", id, sizeof id) == 22 && r->app->art &&
                 art_get(r->app->art, id, time(NULL), &bytes, &len, type);
    if (found) {
        request_send_head(r, 200, type, (long long)len,
                          "Cache-Control: private, max-age=86400\r\n");
        if (strcmp(r->info->request_method, "HEAD") != 0)
            mg_write(r->conn, bytes, len);
    } else {
        /* not cached by the browser: a later visit tries again */
        request_send_head(r, 200, "image/svg+xml", (long long)strlen(art_placeholder_svg),
                          "Cache-Control: no-store\r\n");
        if (strcmp(r->info->request_method, "HEAD") != 0)
            mg_write(r->conn, art_placeholder_svg, strlen(art_placeholder_svg));
    }
    free(bytes);
}
