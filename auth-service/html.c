/* The HTML builder: a growing buffer of markup with raw (printf-style) appends and escaped
 * text appends; the first out-of-memory stops further appends. See html.h. */
#include "html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void grow(struct html *h, size_t more)
{
    if (h->failed || h->len + more + 1 <= h->cap)
        return;
    size_t cap = h->cap ? h->cap : 4096;
    while (cap < h->len + more + 1)
        cap *= 2;
    char *bytes = realloc(h->bytes, cap);
    if (!bytes) {
        h->failed = true;
        return;
    }
    h->bytes = bytes;
    h->cap = cap;
}

void html_free(struct html *h)
{
    free(h->bytes);
    memset(h, 0, sizeof *h);
}

void html_raw(struct html *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        h->failed = true;
        return;
    }
    grow(h, (size_t)n);
    if (h->failed)
        return;
    va_start(ap, fmt);
    vsnprintf(h->bytes + h->len, h->cap - h->len, fmt, ap);
    va_end(ap);
    h->len += (size_t)n;
}

void html_text(struct html *h, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '&':
            html_raw(h, "&amp;");
            break;
        case '<':
            html_raw(h, "&lt;");
            break;
        case '>':
            html_raw(h, "&gt;");
            break;
        case '"':
            html_raw(h, "&quot;");
            break;
        case '\'':
            html_raw(h, "&#39;");
            break;
        default:
            grow(h, 1);
            if (h->failed)
                return;
            h->bytes[h->len++] = *p;
            h->bytes[h->len] = '\0';
        }
    }
}
