/* HTTP helpers for the emulator's handlers: see http.h. */
#include "http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

enum emu_http_status emu_http_read_body(struct mg_connection *conn, size_t limit, char **body,
                                        size_t *len)
{
    const struct mg_request_info *request = mg_get_request_info(conn);
    if (request->content_length > (long long)limit)
        return EMU_HTTP_TOO_LARGE;
    char *buffer = xmalloc(limit + 2);
    size_t used = 0;
    for (;;) {
        int n = mg_read(conn, buffer + used, limit + 1 - used);
        if (n < 0) {
            free(buffer);
            return EMU_HTTP_IO;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > limit) {
            free(buffer);
            return EMU_HTTP_TOO_LARGE;
        }
    }
    buffer[used] = '\0';
    *body = buffer;
    *len = used;
    return EMU_HTTP_OK;
}

int emu_http_param(const char *data, size_t len, const char *name, char *dst, size_t dst_len)
{
    if (!data)
        return -1;
    int n = mg_get_var2(data, len, name, dst, dst_len, 0);
    if (n == -2 || n == -3)
        return -2;
    return n < 0 ? -1 : n;
}

int emu_http_send(struct mg_connection *conn, int status, const char *content_type,
                  const char *body, size_t len, const char *const *headers)
{
    char length[32];
    snprintf(length, sizeof length, "%zu", len);
    mg_response_header_start(conn, status);
    mg_response_header_add(conn, "Content-Type", content_type, -1);
    mg_response_header_add(conn, "Content-Length", length, -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
        mg_response_header_add(conn, headers[i], headers[i + 1], -1);
    mg_response_header_send(conn);
    if (len > 0)
        mg_write(conn, body, len);
    return status;
}

int emu_http_send_json(struct mg_connection *conn, int status, cJSON *json,
                       const char *const *headers)
{
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    if (!text)
        abort();
    emu_http_send(conn, status, "application/json; charset=utf-8", text, strlen(text), headers);
    cJSON_free(text);
    return status;
}

int emu_http_api_error(struct mg_connection *conn, int status, const char *message)
{
    cJSON *body = cJSON_CreateObject();
    cJSON *error = cJSON_AddObjectToObject(body, "error");
    cJSON_AddNumberToObject(error, "status", status);
    cJSON_AddStringToObject(error, "message", message);
    return emu_http_send_json(conn, status, body, NULL);
}

void emu_http_url_encode(char *dst, size_t dst_size, const char *text)
{
    static const char HEX[] = "0123456789ABCDEF";
    size_t used = strlen(dst);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        size_t need = plain ? 1 : 3;
        if (used + need >= dst_size)
            break;
        if (plain) {
            dst[used++] = (char)*p;
        } else {
            dst[used++] = '%';
            dst[used++] = HEX[*p >> 4];
            dst[used++] = HEX[*p & 15];
        }
    }
    dst[used] = '\0';
}

void emu_http_html_escape(char *dst, size_t dst_size, const char *text)
{
    size_t used = strlen(dst);
    for (const char *p = text; *p; p++) {
        const char *entity = NULL;
        switch (*p) {
        case '&':
            entity = "&amp;";
            break;
        case '<':
            entity = "&lt;";
            break;
        case '>':
            entity = "&gt;";
            break;
        case '"':
            entity = "&quot;";
            break;
        case '\'':
            entity = "&#39;";
            break;
        default:
            break;
        }
        size_t need = entity ? strlen(entity) : 1;
        if (used + need >= dst_size)
            break;
        if (entity) {
            memcpy(dst + used, entity, need);
            used += need;
        } else {
            dst[used++] = *p;
        }
    }
    dst[used] = '\0';
}
