/* Collecting an HTTP answer's body in the tests' libcurl clients (the emulator client, the
 * auth-service fixture, the WebDriver client): one growing, NUL-terminated buffer. */
#ifndef MIXTAPE_HTTP_BODY_H
#define MIXTAPE_HTTP_BODY_H

#include <stdbool.h>
#include <stddef.h>

/* A body being received: data is malloc'd and NUL-terminated (or NULL before the first
 * bytes); len excludes the NUL. The owner frees data. */
struct http_body {
    char *data;
    size_t len;
};

/* Appends n bytes to *data (holding *len bytes), growing it and keeping it NUL-terminated.
 * Returns true, or false with *data and *len unchanged when memory runs out. */
bool http_body_append(char **data, size_t *len, const char *bytes, size_t n);

/* A CURLOPT_WRITEFUNCTION callback appending to the struct http_body given as CURLOPT_WRITEDATA.
 * Returns size * n, or 0 (curl then fails the transfer) when memory runs out. */
size_t http_body_write(char *bytes, size_t size, size_t n, void *body);

#endif
