/* Error text written into a caller's fixed buffer: one place for the NULL, zero-length and
 * truncation rules every module's err/err_len out-parameter follows. */
#include "errbuf.h"

#include <stdio.h>
#include <string.h>

void errbuf_set(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || err_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

void errbuf_vappend(char *err, size_t err_len, const char *fmt, va_list ap)
{
    if (!err || err_len == 0)
        return;
    const char *end = memchr(err, '\0', err_len);
    if (!end || (size_t)(end - err) >= err_len - 1)
        return;
    size_t used = (size_t)(end - err);
    vsnprintf(err + used, err_len - used, fmt, ap);
}
