/* The logging sink shared by both services and their tools: see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOG_LEVEL_INFO;

static const char *const LEVEL_NAMES[] = {"debug", "info", "warn", "error"};

int log_parse_level(const char *text, enum log_level *out)
{
    for (size_t i = 0; i < sizeof LEVEL_NAMES / sizeof LEVEL_NAMES[0]; i++) {
        if (strcmp(text, LEVEL_NAMES[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_emit(enum log_level level, const char *event, const char *fmt, ...)
{
    char line[2048];
    struct timespec now;
    struct tm utc;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &utc);

    size_t used = strftime(line, sizeof line, "ts=%Y-%m-%dT%H:%M:%S", &utc);
    int n = snprintf(line + used, sizeof line - used, ".%03ldZ level=%s event=%s ",
                     now.tv_nsec / 1000000L, LEVEL_NAMES[level], event);
    if (n > 0 && (size_t)n < sizeof line - used)
        used += (size_t)n;

    /* The pairs may carry text from peers (a method name, a reason quoting it): control
     * characters are written as \xNN, so no value can end the line and forge another. */
    char pairs[sizeof line];
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(pairs, sizeof pairs, fmt, ap);
    va_end(ap);
    size_t pairs_len = n < 0 ? 0 : (size_t)n < sizeof pairs ? (size_t)n : sizeof pairs - 1;
    for (size_t i = 0; i < pairs_len && used < sizeof line - 2; i++) {
        unsigned char c = (unsigned char)pairs[i];
        if (c >= 0x20 && c != 0x7f) {
            line[used++] = (char)c;
        } else if (used + 4 < sizeof line - 1) {
            static const char hex[] = "0123456789abcdef";
            line[used++] = '\\';
            line[used++] = 'x';
            line[used++] = hex[c >> 4];
            line[used++] = hex[c & 15];
        } else {
            break;
        }
    }
    if (used >= sizeof line - 1)
        used = sizeof line - 2;
    line[used++] = '\n';

    ssize_t written = write(STDERR_FILENO, line, used);
    (void)written;
}
