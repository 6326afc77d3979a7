/* The HTML builder: markup in a text_buffer (common/text_buffer.h), raw (printf-style) appends
 * and escaped text appends; the first failure stops further appends. See html.h. */
#include "html.h"

#include <stdarg.h>
#include <string.h>

void html_init(struct html *h)
{
    text_buffer_init(&h->text, HTML_MAX_BYTES);
}

bool html_failed(const struct html *h)
{
    return h->text.status != TEXT_BUFFER_OK;
}

void html_clear(struct html *h)
{
    text_buffer_clear(&h->text);
}

void html_free(struct html *h)
{
    text_buffer_free(&h->text);
}

void html_raw(struct html *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    text_buffer_vappendf(&h->text, fmt, ap);
    va_end(ap);
}

/* The entity that stands for c in HTML text and attribute values, or NULL when c stands as
 * itself. */
static const char *entity_of(char c)
{
    switch (c) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

void html_text(struct html *h, const char *text)
{
    const char *run = text; /* the start of the characters that stand as themselves */
    for (const char *p = text;; p++) {
        const char *entity = *p ? entity_of(*p) : NULL;
        if (*p && !entity)
            continue;
        if (p > run)
            text_buffer_append(&h->text, run, (size_t)(p - run));
        if (!*p)
            return;
        text_buffer_append(&h->text, entity, strlen(entity));
        run = p + 1;
    }
}
