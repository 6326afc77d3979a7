/* A growing text buffer with printf-style appends, a caller-set limit and a sticky failure
 * status: see text_buffer.h. */
#include "text_buffer.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first allocation; each later one doubles (short of max). */
#define FIRST_CAP 1024u

void text_buffer_init(struct text_buffer *t, size_t max)
{
    *t = (struct text_buffer){.max = max};
}

/* Makes room for more bytes of text and the NUL; false (with the status recorded) when that
 * would pass max or memory runs out. */
static bool reserve(struct text_buffer *t, size_t more)
{
    if (more > t->max - t->len) {
        t->status = TEXT_BUFFER_TOO_LONG;
        return false;
    }
    size_t need = t->len + more + 1; /* at most max + 1: no overflow unless max is SIZE_MAX */
    if (need == 0) {
        t->status = TEXT_BUFFER_TOO_LONG;
        return false;
    }
    if (need <= t->cap)
        return true;
    size_t cap = t->cap ? t->cap : FIRST_CAP;
    while (cap < need && cap <= SIZE_MAX / 2)
        cap *= 2;
    if (cap < need)
        cap = need;
    if (t->max < SIZE_MAX && cap > t->max + 1)
        cap = t->max + 1;
    char *grown = realloc(t->bytes, cap);
    if (!grown) {
        t->status = TEXT_BUFFER_NO_MEMORY;
        return false;
    }
    t->bytes = grown;
    t->cap = cap;
    return true;
}

void text_buffer_append(struct text_buffer *t, const char *text, size_t len)
{
    if (t->status != TEXT_BUFFER_OK || !reserve(t, len))
        return;
    memcpy(t->bytes + t->len, text, len);
    t->len += len;
    t->bytes[t->len] = '\0';
}

void text_buffer_vappendf(struct text_buffer *t, const char *fmt, va_list ap)
{
    if (t->status != TEXT_BUFFER_OK)
        return;
    /* Formats straight into the free space; only a text that does not fit is formatted twice. */
    va_list again;
    va_copy(again, ap);
    size_t room = t->bytes ? t->cap - t->len : 0;
    char scratch[1];
    int n = vsnprintf(room ? t->bytes + t->len : scratch, room ? room : sizeof scratch, fmt, ap);
    if (n < 0) {
        t->status = TEXT_BUFFER_FORMAT_FAILED;
    } else if ((size_t)n < room) {
        t->len += (size_t)n;
    } else if (reserve(t, (size_t)n)) {
        vsnprintf(t->bytes + t->len, t->cap - t->len, fmt, again);
        t->len += (size_t)n;
    }
    if (t->bytes)
        t->bytes[t->len] = '\0'; /* a failed attempt may have written a partial text */
    va_end(again);
}

void text_buffer_appendf(struct text_buffer *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    text_buffer_vappendf(t, fmt, ap);
    va_end(ap);
}

void text_buffer_clear(struct text_buffer *t)
{
    t->len = 0;
    if (t->bytes)
        t->bytes[0] = '\0';
}

enum text_buffer_status text_buffer_take(struct text_buffer *t, char **text, size_t *len)
{
    *text = NULL;
    if (t->status == TEXT_BUFFER_OK && !t->bytes)
        (void)reserve(t, 0); /* nothing appended: the text is "" (or the status says why not) */
    char *bytes = t->bytes;
    enum text_buffer_status status = t->status;
    if (status != TEXT_BUFFER_OK || !bytes) {
        text_buffer_free(t);
        return status != TEXT_BUFFER_OK ? status : TEXT_BUFFER_NO_MEMORY;
    }
    bytes[t->len] = '\0';
    *text = bytes;
    if (len)
        *len = t->len;
    t->bytes = NULL;
    text_buffer_free(t);
    return TEXT_BUFFER_OK;
}

void text_buffer_free(struct text_buffer *t)
{
    free(t->bytes);
    text_buffer_init(t, t->max);
}

const char *text_buffer_strerror(enum text_buffer_status status)
{
    switch (status) {
    case TEXT_BUFFER_OK:
        return "ok";
    case TEXT_BUFFER_NO_MEMORY:
        return "out of memory";
    case TEXT_BUFFER_TOO_LONG:
        return "the text would pass the buffer's limit";
    case TEXT_BUFFER_FORMAT_FAILED:
        return "a format could not be written (encoding error)";
    }
    return "unknown text_buffer status";
}
