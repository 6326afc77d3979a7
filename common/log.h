/* One line per event, key=value pairs, to stderr. The level is tested before anything is
 * formatted, and the format string is printf-checked. Never pass a token, code or cookie. */
#ifndef MIXTAPE_LOG_H
#define MIXTAPE_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

/* The lowest level that is written; LOG_LEVEL_INFO unless changed. Read without a lock. */
extern enum log_level log_threshold;

/* Parses "debug", "info", "warn" or "error". Returns 0 and writes *out, or -1. */
int log_parse_level(const char *text, enum log_level *out);

/* Writes "ts=... level=... event=EVENT " followed by the formatted pairs as one line with
 * one write(2), so lines from different threads never interleave. Thread-safe. */
void log_emit(enum log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_AT(level, event, ...)                                                                  \
    do {                                                                                           \
        if ((level) >= log_threshold)                                                              \
            log_emit((level), (event), __VA_ARGS__);                                               \
    } while (0)

#define log_debug(event, ...) LOG_AT(LOG_LEVEL_DEBUG, event, __VA_ARGS__)
#define log_info(event, ...)  LOG_AT(LOG_LEVEL_INFO, event, __VA_ARGS__)
#define log_warn(event, ...)  LOG_AT(LOG_LEVEL_WARN, event, __VA_ARGS__)
#define log_error(event, ...) LOG_AT(LOG_LEVEL_ERROR, event, __VA_ARGS__)

#endif
