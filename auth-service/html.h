/* The HTML builder the pages write into (pages.h): markup in a common text_buffer, with raw
 * appends for our own literals and escaped appends for anything user- or Spotify-supplied. */
#ifndef MIXTAPE_AUTH_HTML_H
#define MIXTAPE_AUTH_HTML_H

#include <stdbool.h>
#include <stddef.h>

#include "text_buffer.h"

/* The most markup one builder holds. The largest page the input limits allow is the mix page
 * with RECO_MAX_N (500) picks, each with at most 16 artists and eight other texts of
 * RECO_MAX_TEXT (512) bytes, escaped at most six-fold: under 40 MB. */
#define HTML_MAX_BYTES (64u * 1024u * 1024u)

/* Markup being built: text.bytes (NUL-terminated once anything was appended, NULL before) and
 * text.len are for callers to read, never to write. Grows as needed; the first failure (out of
 * memory, a format error, or more than HTML_MAX_BYTES) is kept (html_failed) and every later
 * append does nothing. Not thread-safe: one builder per thread. */
struct html {
    struct text_buffer text;
};

/* An empty builder, ready for appends; allocates nothing. html_free must end it. */
void html_init(struct html *h);
/* True once an append failed; the markup is then incomplete and must not be sent. */
bool html_failed(const struct html *h);
/* Empties the markup but keeps its allocation and any failure (a page streamed in chunks:
 * each chunk is appended, sent, then cleared). */
void html_clear(struct html *h);
/* Frees the markup and leaves the builder as html_init made it (empty, ready again). */
void html_free(struct html *h);
/* Appends text with & < > " ' escaped. */
void html_text(struct html *h, const char *text);
/* Appends markup as is (our own literals and numbers only). */
void html_raw(struct html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
