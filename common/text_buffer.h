/* A growing text buffer for output assembled piece by piece (each service's /metrics
 * exposition, auth-service's HTML pages): printf-style appends, growth by doubling up to a limit the caller sets, and the
 * first failure remembered so a long run of appends is checked once, when the text is taken. */
#ifndef MIXTAPE_TEXT_BUFFER_H
#define MIXTAPE_TEXT_BUFFER_H

#include <stdarg.h>
#include <stddef.h>

enum text_buffer_status {
    TEXT_BUFFER_OK = 0,
    TEXT_BUFFER_NO_MEMORY,     /* an allocation failed */
    TEXT_BUFFER_TOO_LONG,      /* the text would pass the buffer's max */
    TEXT_BUFFER_FORMAT_FAILED, /* vsnprintf refused the format (an encoding error) */
};

/* Fields are read-only for callers: use the functions below. */
struct text_buffer {
    char *bytes;                    /* NUL-terminated text, or NULL before the first append */
    size_t len;                     /* bytes of text, without the NUL */
    size_t cap;                     /* bytes allocated, the NUL included */
    size_t max;                     /* most bytes of text the buffer may hold */
    enum text_buffer_status status; /* TEXT_BUFFER_OK, or the first failure (sticky) */
};

/* An empty buffer that will hold at most max bytes of text (its NUL not counted). Allocates
 * nothing; every later function may be called on it, and text_buffer_take or text_buffer_free
 * must end it. Not thread-safe: one buffer belongs to one thread at a time. */
void text_buffer_init(struct text_buffer *t, size_t max);

/* Appends len bytes of text (which must not hold a NUL). Grows the allocation by doubling;
 * on failure, or when the text would pass max, appends nothing and records the status, after
 * which every append does nothing. Never aborts. */
void text_buffer_append(struct text_buffer *t, const char *text, size_t len);

/* Appends printf-formatted text, with text_buffer_append's growth and failure rules. */
void text_buffer_appendf(struct text_buffer *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void text_buffer_vappendf(struct text_buffer *t, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Empties the text but keeps the allocation, the limit and the status: for text sent piece by
 * piece (append a piece, send it, clear). */
void text_buffer_clear(struct text_buffer *t);

/* Ends the buffer. When every append succeeded, returns TEXT_BUFFER_OK and hands the
 * NUL-terminated text to *text (the caller frees it; "" when nothing was appended) and its
 * length to *len (len may be NULL). Otherwise returns the first failure, frees the text and
 * writes NULL to *text. Either way the buffer is left empty, as text_buffer_init made it. */
enum text_buffer_status text_buffer_take(struct text_buffer *t, char **text, size_t *len);

/* Ends the buffer without taking its text (frees it); the buffer is left empty. */
void text_buffer_free(struct text_buffer *t);

/* A short English description of a status (a static string, never NULL). */
const char *text_buffer_strerror(enum text_buffer_status status);

#endif
