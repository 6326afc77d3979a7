/* Error text written into a caller's fixed buffer (char *err, size_t err_len), the way our
 * functions report why they failed next to the status they return. */
#ifndef MIXTAPE_ERRBUF_H
#define MIXTAPE_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

/* Formats into err, truncating to err_len - 1 bytes and always NUL-terminating. Does nothing
 * when err is NULL or err_len is 0, so callers may pass (NULL, 0) to skip the text. Never
 * allocates; thread-safe for distinct buffers. */
void errbuf_set(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats after the text already in err (which must be NUL-terminated), truncating like
 * errbuf_set; does nothing when err is NULL, err_len is 0 or err is already full. For a
 * prefix written with errbuf_set followed by a caller's own format. Never allocates. */
void errbuf_vappend(char *err, size_t err_len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
