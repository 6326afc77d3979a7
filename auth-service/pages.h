/* The HTML auth-service shows: the landing page, the mix page (streamed in pieces: progress
 * lines while the library is read, then the playlist), the pages for errors a user can act
 * on, and the one script and stylesheet they use. Everything user- or Spotify-supplied is
 * escaped; nothing inline needs a CSP exception. */
#ifndef MIXTAPE_AUTH_PAGES_H
#define MIXTAPE_AUTH_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mix.h"

/* Markup being built. Grows as needed; on out-of-memory, `failed` is set and appends stop. */
struct html {
    char *bytes;
    size_t len, cap;
    bool failed;
};

void html_free(struct html *h);
/* Appends text with & < > " ' escaped. */
void html_text(struct html *h, const char *text);
/* Appends markup as is (our own literals and numbers only). */
void html_raw(struct html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The errors a user can act on, each with a page. */
enum page_error {
    PAGE_ERR_DENIED,          /* declined on Spotify's consent page */
    PAGE_ERR_STATE,           /* state mismatch or sign-in cookie missing or expired */
    PAGE_ERR_CODE,            /* code expired or already used */
    PAGE_ERR_SIGNED_OUT,      /* session expired, tampered or revoked: sign in again */
    PAGE_ERR_NOT_ALLOWLISTED, /* 403: not on the app's allow-list */
    PAGE_ERR_NO_PREMIUM,      /* 403: owner without Premium */
    PAGE_ERR_SCOPE,           /* 403: a scope was not granted */
    PAGE_ERR_FORBIDDEN,       /* 403, other */
    PAGE_ERR_QUOTA,           /* app quota exceeded */
    PAGE_ERR_SPOTIFY_DOWN,    /* Spotify unreachable, erroring or rate limiting too long */
    PAGE_ERR_EMPTY_LIBRARY,
    PAGE_ERR_NOTHING_MATCHED,
    PAGE_ERR_COMPUTE_DOWN, /* reco-service unavailable */
    PAGE_ERR_INTERNAL,
};

struct page_error_info {
    int http_status;
    const char *code;  /* stable machine name for the JSON API: "quota_exceeded" */
    const char *title; /* one line */
    const char *what;  /* what happened and what to do */
    const char *retry_href;
    const char *retry_label;
};

/* The fixed description of an error; never NULL. */
const struct page_error_info *pages_error_info(enum page_error error);

/* Whole pages. */
void pages_landing(struct html *h, const char *signed_in_as);
void pages_error(struct html *h, enum page_error error, const char *detail);

/* The mix page in pieces, in this order: start, any number of progress lines, then either
 * result or error, then end. With auto_save, the result marks #save data-auto-save="true" and
 * the script (pages_script) presses it as soon as the page is shown, so the playlist is saved
 * through POST /api/save (CSRF-checked) and never by the GET that served the page. */
void pages_mix_start(struct html *h, const char *display_name);
void pages_mix_progress(struct html *h, const char *step, const char *text);
void pages_mix_error(struct html *h, enum page_error error, const char *detail);
void pages_mix_result(struct html *h, const struct mix_result *r, size_t read, size_t total,
                      bool truncated, uint64_t next_variety, bool auto_save);
void pages_mix_end(struct html *h);

/* https://open.spotify.com/embed/playlist/{id}?utm_source=generator into out (256 bytes). */
void pages_embed_url(const char *playlist_id, char out[256]);

/* The script (/app.js) and stylesheet (/app.css), static text. */
extern const char pages_script[];
extern const char pages_stylesheet[];

#endif
