/* A short-lived, bounded, per-session memory of what a user's mix needs again: the resolved
 * library (so a control change or Regenerate does not re-read Spotify), the songs last shown
 * (so Regenerate shows others) and the playlist the session's first Save made (so saving
 * again replaces its items). In memory only, never on
 * disk; entries end after a time to live and the least recently used go first. */
#ifndef MIXTAPE_AUTH_MIX_CACHE_H
#define MIXTAPE_AUTH_MIX_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "session.h"
#include "spotify.h"

struct mix_cache;

/* A cache of at most max_entries sessions and max_tracks tracks in all, whose libraries live
 * ttl_seconds after they were read. NULL when out of memory. Thread-safe (one mutex). */
struct mix_cache *mix_cache_new(size_t max_entries, size_t max_tracks, int ttl_seconds);
void mix_cache_free(struct mix_cache *c);

/* The session's key: SHA-256 over the user id, the session's end (fixed at sign-in) and the
 * browser's mix id (a random value in its own cookie, mix.c), so two sign-ins, even in the
 * same second, are two entries and nothing secret is kept. */
void mix_cache_key(const struct session *s, const char *browser_id, uint8_t key[32]);

/* Copies the session's library into *out (caller frees with spotify_library_free) when one
 * younger than the time to live is held; now is time(NULL) (a parameter for the tests). */
bool mix_cache_get_library(struct mix_cache *c, const uint8_t key[32], time_t now,
                           struct saved_library *out);
/* Keeps a copy of lib for the session (replacing any), evicting the least recently used
 * entries to stay within the bounds; a library larger than max_tracks is not kept. */
void mix_cache_put_library(struct mix_cache *c, const uint8_t key[32], time_t now,
                           const struct saved_library *lib);

/* The playlist this session saved (out: 64 bytes), if any. */
bool mix_cache_get_playlist(struct mix_cache *c, const uint8_t key[32], time_t now, char out[64]);
void mix_cache_put_playlist(struct mix_cache *c, const uint8_t key[32], time_t now,
                            const char *playlist_id);

/* The track ids (22 characters) the session was shown last: *ids malloc'd (caller frees),
 * false when none. */
bool mix_cache_get_shown(struct mix_cache *c, const uint8_t key[32], time_t now, char (**ids)[23],
                         size_t *n);
void mix_cache_put_shown(struct mix_cache *c, const uint8_t key[32], time_t now,
                         const char *const *ids, size_t n);

/* Entries and tracks held (for tests and metrics). */
size_t mix_cache_entries(struct mix_cache *c);
size_t mix_cache_tracks(struct mix_cache *c);

#endif
