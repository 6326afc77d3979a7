/* The HTML builder the pages write into (pages.h): a growing buffer of markup, with raw
 * appends for our own literals and escaped appends for anything user- or Spotify-supplied. */
#ifndef MIXTAPE_AUTH_HTML_H
#define MIXTAPE_AUTH_HTML_H

#include <stdbool.h>
#include <stddef.h>

/* Markup being built. Grows as needed; on out-of-memory, `failed` is set and appends stop.
 * A zeroed struct html is empty and ready; bytes is NUL-terminated once anything was appended
 * and belongs to the struct until html_free. Not thread-safe: one builder per thread. */
struct html {
    char *bytes;
    size_t len, cap;
    bool failed;
};

/* Frees the markup and leaves the builder zeroed (empty, ready again). */
void html_free(struct html *h);
/* Appends text with & < > " ' escaped. */
void html_text(struct html *h, const char *text);
/* Appends markup as is (our own literals and numbers only). */
void html_raw(struct html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
