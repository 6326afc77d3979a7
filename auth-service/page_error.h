/* The errors a user can act on: each has a page (pages.c), an HTTP status and a stable code
 * for the JSON API, and the Spotify failures that lead to each. Shared by the pages, the mix
 * flow and the routes. */
#ifndef MIXTAPE_AUTH_PAGE_ERROR_H
#define MIXTAPE_AUTH_PAGE_ERROR_H

#include "spotify.h"

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
    PAGE_ERR_COMPUTE_DOWN,      /* reco-service unavailable */
    PAGE_ERR_COMPUTE_NOT_READY, /* no reco-service instance ready before the library is read */
    PAGE_ERR_BAD_CONTROL,       /* a control of the mix page holds an impossible value */
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

/* The page a failed Spotify call shows (a refused grant or token: signed out). */
enum page_error pages_error_of_spotify(enum spotify_status s);

#endif
