/* One HTTP request as the handlers see it (request.h). Security rules kept here: every answer
 * carries a Content-Security-Policy that only frames https://open.spotify.com; POSTs from
 * another site are refused (Origin / Sec-Fetch-Site against PUBLIC_URL, JSON-only API);
 * cookies are HttpOnly and SameSite=Lax, and behind https Secure with the __Host- prefix. */
#include "request.h"

#include "pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json_limit.h"
#include "log.h"
#include "session.h"

static const char CSP[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src https://open.spotify.com; form-action 'self' "
    "https://accounts.spotify.com; base-uri 'none'; frame-ancestors 'none'";

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
void request_send_head(struct request *r, int status, const char *content_type,
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

void request_send_body(struct request *r, int status, const char *content_type, const char *body,
                       size_t len)
{
    request_send_head(r, status, content_type, (long long)len, NULL);
    if (strcmp(r->info->request_method, "HEAD") != 0)
        mg_write(r->conn, body, len);
}

void request_send_html(struct request *r, int status, struct html *h)
{
    if (html_failed(h)) {
        request_send_body(r, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
        return;
    }
    request_send_body(r, status, "text/html; charset=utf-8", h->text.bytes ? h->text.bytes : "",
                      h->text.len);
}

void request_send_json(struct request *r, int status, cJSON *obj)
{
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!text) {
        request_send_body(r, 500, "application/json", "{\"error\":\"internal\"}", 20);
        return;
    }
    request_send_body(r, status, "application/json", text, strlen(text));
    free(text);
}

void request_send_json_error(struct request *r, int status, const char *code, const char *message)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "error", code);
    cJSON_AddStringToObject(obj, "message", message);
    request_send_json(r, status, obj);
}

void request_send_redirect(struct request *r, int status, const char *location)
{
    char extra[4096];
    snprintf(extra, sizeof extra, "Location: %s\r\n", location);
    request_send_head(r, status, "text/plain; charset=utf-8", 0, extra);
}

void request_send_error_page(struct request *r, enum page_error error, const char *detail)
{
    struct html h;
    html_init(&h);
    pages_error(&h, error, detail);
    request_send_html(r, pages_error_info(error)->http_status, &h);
    html_free(&h);
}

/* Cookies go by SESSION_HOST_PREFIX + purpose behind https, by the bare purpose over plain
 * http (session_cookie_name); a request is read only under the name of the current mode. */

/* Cookies go by SESSION_HOST_PREFIX + purpose behind https, by the bare purpose over plain
 * http (session_cookie_name); a request is read only under the name of the current mode. */

void request_add_cookie_named(struct request *r, const char *name, const char *value, long max_age)
{
    size_t used = strlen(r->set_cookies);
    if (session_cookie_header(r->set_cookies + used, sizeof r->set_cookies - used, name, value,
                              max_age, r->app->cfg->secure_cookies) < 0)
        log_error("cookie_not_set", "name=%s reason=\"no room for the Set-Cookie line\"", name);
}

void request_add_cookie(struct request *r, const char *purpose, const char *value, long max_age)
{
    char name[SESSION_COOKIE_NAME_SIZE];
    session_cookie_name(purpose, r->app->cfg->secure_cookies, name);
    request_add_cookie_named(r, name, value, max_age);
}

void request_clear_cookie(struct request *r, const char *purpose)
{
    request_add_cookie(r, purpose, "", 0);
}

/* Where the Cookie header's cookie called exactly `name` starts, or NULL (so that
 * "mixtape_session" is never found inside "__Host-mixtape_session" or the other way round). */
const char *request_find_cookie(struct request *r, const char *name)
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
int request_read_cookie(struct request *r, const char *purpose, char *dst, size_t cap)
{
    char name[SESSION_COOKIE_NAME_SIZE];
    session_cookie_name(purpose, r->app->cfg->secure_cookies, name);
    const char *found = request_find_cookie(r, name);
    if (!found)
        return -1;
    /* From the exact match on, so CivetWeb's own search finds that one first. */
    int n = mg_get_cookie(found, name, dst, cap);
    return n >= 0 ? n : -1;
}

/* A POST must come from our own pages (or from a script, which sends neither header). */
bool request_same_site(struct request *r)
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

const char *request_framing_error(const struct mg_request_info *ri)
{
    const char *length = NULL;
    bool chunked = false;
    for (int i = 0; i < ri->num_headers; i++) {
        const char *name = ri->http_headers[i].name, *value = ri->http_headers[i].value;
        if (!name || !value)
            continue;
        if (strcasecmp(name, "Content-Length") == 0) {
            if (length && strcmp(length, value) != 0)
                return "two different Content-Length headers";
            length = value;
        } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
            chunked = true;
        }
    }
    if (length && chunked)
        return "both Content-Length and Transfer-Encoding";
    if (ri->query_string && strstr(ri->query_string, "%00"))
        return "a NUL byte (%00) in the query";
    /* CivetWeb 1.15 decodes the path in place in its request buffer, so `/app.js%00.html`
     * reaches us as "/app.js". What decoding shortened is left between the decoded path's NUL
     * and the query (or the " HTTP/1.x" that followed the path): anything there but NULs and
     * blanks means the path held a percent-escape, which none of our routes has. */
    const char *path = ri->local_uri_raw;
    const char *next = ri->query_string   ? ri->query_string
                       : ri->http_version ? ri->http_version - 5 /* "HTTP/" */
                                          : NULL;
    if (path && next) {
        const char *after = path + strlen(path) + 1;
        if (next >= after && next - after < 16384)
            for (const char *p = after; p < next; p++)
                if (*p != '\0' && *p != ' ' && *p != '\t')
                    return "a percent-escape in the path (a %00 would cut it short)";
    }
    return NULL;
}

/* The common front of the JSON API: POST, same site, JSON, body within cap. Answers and returns
 * false when the request is refused. */
bool request_api_preamble(struct request *r, size_t cap, char **body, size_t *len)
{
    if (!request_same_site(r)) {
        request_send_json_error(r, 403, "cross_site", "cross-site requests are refused");
        return false;
    }
    if (!is_json(r)) {
        request_send_json_error(r, 415, "content_type", "Content-Type must be application/json");
        return false;
    }
    int rc = read_body(r, cap, body, len);
    if (rc == 1) {
        char message[96];
        snprintf(message, sizeof message, "request body is over its limit of %zu bytes", cap);
        request_send_json_error(r, 413, "too_large", message);
        return false;
    }
    if (rc != 0) {
        request_send_json_error(r, 400, "bad_body", "the request body could not be read");
        return false;
    }
    /* Every API body is JSON: its nesting is bounded here, before any handler parses it. */
    if (json_nesting_depth(*body, *len, JSON_MAX_DEPTH) > JSON_MAX_DEPTH) {
        free(*body);
        *body = NULL;
        char message[96];
        snprintf(message, sizeof message, "the body nests arrays or objects over %d levels deep",
                 JSON_MAX_DEPTH);
        request_send_json_error(r, 400, "too_deep", message);
        return false;
    }
    return true;
}

int request_query_value(struct request *r, const char *name, char *dst, size_t cap)
{
    const char *q = r->info->query_string;
    if (!q)
        return -1;
    int n = mg_get_var(q, strlen(q), name, dst, cap);
    return n;
}
