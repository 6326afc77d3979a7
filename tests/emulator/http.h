/* The emulator's HTTP plumbing over CivetWeb: reading bounded request bodies, reading form and
 * query parameters, and sending answers with a Content-Length so connections stay alive.
 * Threads: every function works on one connection and may be called from any worker thread;
 * the send functions block until the answer is written. */
#ifndef EMU_HTTP_H
#define EMU_HTTP_H

#include <stddef.h>

#include <civetweb.h>
#include <cjson/cJSON.h>

enum emu_http_status {
    EMU_HTTP_OK = 0,
    EMU_HTTP_TOO_LARGE, /* the body is longer than the limit */
    EMU_HTTP_IO,        /* the connection failed while reading */
};

/* Reads the whole request body, at most limit bytes, into a new NUL-terminated buffer.
 * On EMU_HTTP_OK, *body (caller frees) and *len are written; an absent body reads as "". */
enum emu_http_status emu_http_read_body(struct mg_connection *conn, size_t limit, char **body,
                                        size_t *len);

/* Looks name up in form-encoded or query-string data (may be NULL) and URL-decodes it into
 * dst. Returns the length, -1 if absent, -2 if longer than dst_len - 1. */
int emu_http_param(const char *data, size_t len, const char *name, char *dst, size_t dst_len);

/* Sends status with body[0..len) of content_type and the extra headers (NULL-terminated list of
 * name, value, name, value, ...; may be NULL). Returns status. */
int emu_http_send(struct mg_connection *conn, int status, const char *content_type,
                  const char *body, size_t len, const char *const *headers);

/* Sends json (consumed: freed here) as application/json. Returns status. */
int emu_http_send_json(struct mg_connection *conn, int status, cJSON *json,
                       const char *const *headers);

/* Sends a Web API error {"error":{"status":S,"message":M}}. Returns status. */
int emu_http_api_error(struct mg_connection *conn, int status, const char *message);

/* Appends text to dst (size dst_size) with every byte outside [A-Za-z0-9-._~] percent-encoded.
 * Truncates safely. */
void emu_http_url_encode(char *dst, size_t dst_size, const char *text);

/* Appends text to dst (size dst_size) with & < > " ' escaped for HTML. Truncates safely. */
void emu_http_html_escape(char *dst, size_t dst_size, const char *text);

#endif
