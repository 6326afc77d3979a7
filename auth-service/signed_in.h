/* The signed-in side of a request, written once for every handler that needs it: the session
 * from its cookie, a Spotify client with the session's tokens, the refresh ahead of expiry,
 * and the cookie re-issued when a refresh changed the tokens. Runs on the request's thread. */
#ifndef MIXTAPE_AUTH_SIGNED_IN_H
#define MIXTAPE_AUTH_SIGNED_IN_H

#include <stdbool.h>

#include "page_error.h"
#include "request.h"
#include "session.h"
#include "spotify.h"

/* Loads the signed-in session into *s. False means signed out (a bad, idle-expired or
 * signed-out (revoked) cookie is also cleared, and behind https a cookie without the __Host-
 * prefix too). A session past half its idle time is re-issued (sliding refresh). */
bool signed_in_load_session(struct request *r, struct session *s);
/* Re-issues the session cookie as it is, fresh for SESSION_IDLE_MINUTES more (never past
 * its end). */
void signed_in_reseal(struct request *r, struct session *s);
/* Re-issues the session cookie with the tokens t (and fresh again). */
void signed_in_store_session(struct request *r, struct session *s, const struct spotify_tokens *t);
/* A Spotify client with s's tokens (s NULL: none yet, before sign-in), or NULL when out of
 * memory. The caller frees it with spotify_client_free. */
struct spotify_client *signed_in_client(struct request *r, const struct session *s);
/* Refreshes ahead of time when the access token ends within two minutes (re-issuing the
 * cookie), so a long read rarely meets a 401 after the page's headers (and cookie) are gone. */
enum spotify_status signed_in_refresh_if_due(struct request *r, struct spotify_client *c,
                                             struct session *s);

/* The preamble of a handler acting for the user, in two steps, so a handler can check its
 * input between them without touching Spotify. */
struct signed_in {
    struct session *session;       /* owned; cleansed and freed by signed_in_end */
    struct spotify_client *client; /* owned, after signed_in_connect */
    enum page_error error;         /* SIGNED_IN_ERR_SPOTIFY: what to show */
    char detail[512];
};

enum signed_in_status {
    SIGNED_IN_OK = 0,
    SIGNED_IN_NO_SESSION,   /* signed out */
    SIGNED_IN_ERR_SPOTIFY,  /* the refresh failed: error and detail say how */
    SIGNED_IN_ERR_INTERNAL, /* out of memory */
};

/* Step 1: loads the session (si is initialised whatever happens; end it with signed_in_end). */
enum signed_in_status signed_in_begin(struct request *r, struct signed_in *si);
/* Step 2: the Spotify client, and the refresh when the token is about to end. */
enum signed_in_status signed_in_connect(struct request *r, struct signed_in *si);
/* Re-issues the cookie if a refresh on the way changed the tokens. */
void signed_in_keep_tokens(struct request *r, struct signed_in *si);
/* Cleanses and frees the session and frees the client. */
void signed_in_end(struct signed_in *si);

#endif
