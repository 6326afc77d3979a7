/* Tokens refreshed after a streamed page's headers had left (so its cookie could not carry
 * them), kept on this front by session id until the session's next request picks them up and
 * re-issues the cookie: an access token that expires while /mix streams no longer signs the
 * user out when Spotify revokes the refresh token the cookie still holds. Thread-safe. */
#ifndef MIXTAPE_AUTH_RENEWED_H
#define MIXTAPE_AUTH_RENEWED_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "session.h"
#include "spotify.h"

/* Sessions remembered at most; when full, the entry ending soonest goes. */
#define RENEWED_CAPACITY 1024u

struct renewed_entry {
    char sid[SESSION_SID_LEN + 1]; /* "" = free */
    struct spotify_tokens tokens;
    int64_t until;
};

struct renewed {
    pthread_mutex_t lock;
    struct renewed_entry entries[RENEWED_CAPACITY];
};

/* Returns 0, or -1 when the mutex could not be made. */
int renewed_init(struct renewed *set);
/* Wipes every token and frees the mutex. */
void renewed_destroy(struct renewed *set);

/* Keeps t for session sid until `until` (unix seconds), replacing an older entry of sid. */
void renewed_put(struct renewed *set, const char *sid, const struct spotify_tokens *t,
                 int64_t until, int64_t now);

/* When tokens newer than the cookie's were kept for sid (a refresh token other than
 * cookie_refresh), copies them into *out, forgets them and returns true. */
bool renewed_take(struct renewed *set, const char *sid, const char *cookie_refresh, int64_t now,
                  struct spotify_tokens *out);

#endif
