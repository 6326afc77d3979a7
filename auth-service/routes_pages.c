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

void handle_landing(struct request *r)
{
    struct session s;
    bool signed_in = signed_in_load_session(r, &s);
    struct html h = {0};
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
                         random_variety(), r->app->cfg->auto_save);
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
    struct html h = {0};
    enum signed_in_status sis = signed_in_begin(r, &si);
    if (sis == SIGNED_IN_ERR_INTERNAL) {
        request_send_error_page(r, PAGE_ERR_INTERNAL, NULL);
        goto done;
    }
    if (sis == SIGNED_IN_NO_SESSION) {
        request_send_redirect(r, 303, "/");
        goto done;
    }
    if (strcmp(r->info->request_method, "HEAD") == 0) {
        /* The page's headers only: no mix is made and no chunk is written (a body after a
         * HEAD answer would be read as the next answer on a kept-alive connection). */
        request_send_head(r, 200, "text/html; charset=utf-8", -1, NULL);
        goto done;
    }
    char variety[32];
    if (request_query_value(r, "variety", variety, sizeof variety) > 0)
        job.params.variety = strtoull(variety, NULL, 10);
    job.params.n = 50;
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
