/* Collecting an HTTP answer's body in the tests' libcurl clients: see http_body.h. */
#include "http_body.h"

#include <stdlib.h>
#include <string.h>

bool http_body_append(char **data, size_t *len, const char *bytes, size_t n)
{
    char *grown = realloc(*data, *len + n + 1);
    if (!grown)
        return false;
    memcpy(grown + *len, bytes, n);
    *data = grown;
    *len += n;
    grown[*len] = '\0';
    return true;
}

size_t http_body_write(char *bytes, size_t size, size_t n, void *body)
{
    struct http_body *b = body;
    size_t add = size * n;
    return http_body_append(&b->data, &b->len, bytes, add) ? add : 0;
}
