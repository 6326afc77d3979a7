/* One HTTP request as auth-service's handlers see it: the answers (every one with the security
 * headers and the Set-Cookie lines gathered so far), the cookies under their name for this
 * mode (__Host- behind https), the same-site check, the body and query of a request. Every
 * function runs on the request's CivetWeb worker thread. */
#ifndef MIXTAPE_AUTH_REQUEST_H
#define MIXTAPE_AUTH_REQUEST_H

#include <cjson/cJSON.h>
#include <civetweb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "page_error.h"
#include "session.h"

struct html;

struct request {
    struct mg_connection *conn;
    const struct mg_request_info *info;
    struct app *app;
    int64_t now;
    char set_cookies[2 * (SESSION_MAX_COOKIE_LEN + 256)]; /* Set-Cookie lines to send */
    int status;                                           /* what was answered */
};

/* Writes the status line and the headers every answer carries. extra: more header lines,
 * each ending in \r\n, or NULL. content_length < 0: chunked. */
void request_send_head(struct request *r, int status, const char *content_type,
                       long long content_length, const char *extra);
/* A whole answer (no body after a HEAD request). */
void request_send_body(struct request *r, int status, const char *content_type, const char *body,
                       size_t len);
/* h's markup, or 500 when building it ran out of memory. */
void request_send_html(struct request *r, int status, struct html *h);
/* obj printed (and deleted here). */
void request_send_json(struct request *r, int status, cJSON *obj);
/* {"error": code, "message": message}. */
void request_send_json_error(struct request *r, int status, const char *code, const char *message);
void request_send_redirect(struct request *r, int status, const char *location);
/* The page of error with its HTTP status; detail (may be NULL) is shown escaped. */
void request_send_error_page(struct request *r, enum page_error error, const char *detail);

/* Adds a Set-Cookie line for the cookie called exactly name / for purpose (SESSION_COOKIE,
 * LOGIN_COOKIE) under this mode's name; max_age 0 clears it. */
void request_add_cookie_named(struct request *r, const char *name, const char *value, long max_age);
void request_add_cookie(struct request *r, const char *purpose, const char *value, long max_age);
void request_clear_cookie(struct request *r, const char *purpose);
/* Where the Cookie header's cookie called exactly `name` starts, or NULL. */
const char *request_find_cookie(struct request *r, const char *name);
/* Copies the cookie of `purpose` (under its name in this mode) into dst (cap bytes). Returns
 * its length, or -1 if absent or too long. */
int request_read_cookie(struct request *r, const char *purpose, char *dst, size_t cap);

/* Why a request's framing is refused (400) before anything reads it, or NULL when it is fine:
 * two Content-Length headers with different values, Content-Length together with
 * Transfer-Encoding, a "%00" in the query, or any percent-escape in the path (none of our
 * routes has one, and a %00 would cut the path short: `/app.js%00.html` was served as
 * /app.js). ri must be CivetWeb's own (the path check reads its request buffer). Pure. */
const char *request_framing_error(const struct mg_request_info *ri);

/* A POST must come from our own pages (or from a script, which sends neither header). */
bool request_same_site(struct request *r);
/* The common front of the JSON API: same site, JSON, body within cap. Returns true with *body
 * (malloc'd, NUL-terminated; the caller frees) or answers and returns false. */
bool request_api_preamble(struct request *r, size_t cap, char **body, size_t *len);
/* The query parameter `name` into dst (cap bytes): its length, or < 0 when absent. */
int request_query_value(struct request *r, const char *name, char *dst, size_t cap);

#endif
