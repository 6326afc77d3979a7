/* The HTML auth-service shows: the landing page, the mix page (streamed in pieces: progress
 * lines while the library is read, then the playlist), the pages for errors a user can act
 * on, and the one script and stylesheet they use. Everything user- or Spotify-supplied is
 * escaped; nothing inline needs a CSP exception. */
#ifndef MIXTAPE_AUTH_PAGES_H
#define MIXTAPE_AUTH_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "html.h"
#include "mix.h"
#include "page_error.h"

/* Whole pages. */
void pages_landing(struct html *h, const char *signed_in_as);
void pages_error(struct html *h, enum page_error error, const char *detail);
/* The landing page for a browser whose session cookie was expired or unreadable. */
void pages_session_ended(struct html *h);

/* The mix page in pieces, in this order: start, any number of progress lines, then either
 * result or error, then end. With auto_save, the result marks #save data-auto-save="true" and
 * the script (pages_script) presses it as soon as the page is shown, so the playlist is saved
 * through POST /api/save (CSRF-checked) and never by the GET that served the page. */
void pages_mix_start(struct html *h, const char *display_name);
/* A progress line: step "read" (done of total saved tracks), "cached", "match" or "rank"; the
 * line carries a progress bar of the whole job. */
void pages_mix_progress(struct html *h, const char *step, const char *text, size_t done,
                        size_t total);
void pages_mix_error(struct html *h, enum page_error error, const char *detail);
/* The playlist: summary, actions (#save, #regenerate keeping params, #open, downloads), the
 * controls (a GET form on /mix holding params), the first `shown` picks in #tracks (the rest
 * in the hidden #reserve, stand-ins for removed songs) and the styles legend. */
void pages_mix_result(struct html *h, const struct mix_result *r, size_t read, size_t total,
                      bool truncated, uint64_t next_variety, bool auto_save,
                      const struct mix_params *params, uint32_t shown);

/* "Same artist", "Similar sound", "New artist", or "" for an unknown reason. */
const char *pages_reason_text(enum reco_rpc_reason reason);

/* The number of distinct style patterns (styles past it reuse them, with their names). */
#define PAGES_N_PATTERNS 8
void pages_mix_end(struct html *h);

/* https://open.spotify.com/embed/playlist/{id}?utm_source=generator into out (256 bytes). */
void pages_embed_url(const char *playlist_id, char out[256]);

/* The script (/app.js) and stylesheet (/app.css), static text. */
extern const char pages_script[];
extern const char pages_stylesheet[];

#endif
