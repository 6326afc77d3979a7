/* Cover art for the mix page without a new Spotify scope: a track's picture from Spotify's
 * oEmbed endpoint ({base}/oembed?url=https://open.spotify.com/track/ID gives thumbnail_url on
 * Spotify's image hosts), fetched by the front with size and time limits, kept in a bounded
 * in-memory cache, and served from our own origin (so the page's CSP needs no image host). */
#ifndef MIXTAPE_AUTH_ART_H
#define MIXTAPE_AUTH_ART_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define ART_MAX_OEMBED_BYTES (16 * 1024) /* an oEmbed answer is about 1 KiB */
#define ART_MAX_IMAGE_BYTES  (512 * 1024)
#define ART_TIMEOUT_MS       3000L /* each of the two calls */
#define ART_TTL_SECONDS      86400 /* a picture is kept a day */
#define ART_MISS_SECONDS     600   /* a failure is remembered ten minutes */
#define ART_MAX_FETCHES      8     /* fetches at once; more wait up to ART_TIMEOUT_MS */

struct art_cache;

/* A cache of at most max_entries pictures and max_bytes bytes in all, fetching from the oEmbed
 * service at oembed_base ("https://open.spotify.com", or an emulator's base URL). Thumbnails
 * are only fetched from Spotify's image hosts (i.scdn.co, mosaic.scdn.co,
 * image-cdn-*.spotifycdn.com over https) or from oembed_base's own origin. NULL when out of
 * memory. Thread-safe. */
struct art_cache *art_cache_new(const char *oembed_base, size_t max_entries, size_t max_bytes);
void art_cache_free(struct art_cache *c);

/* The picture of track_id (a 22-character id): *bytes (malloc'd, caller frees), *len and its
 * content type (image/jpeg, image/png or image/webp) in type. False when there is none (not
 * found, too large, too slow, a host not allowed, too many fetches at once): show a
 * placeholder. Blocks up to about 2 * ART_TIMEOUT_MS on a miss. */
bool art_get(struct art_cache *c, const char *track_id, time_t now, char **bytes, size_t *len,
             char type[32]);

/* Whether a thumbnail URL may be fetched (the hosts above, https; or oembed_base's origin). */
bool art_url_allowed(const char *oembed_base, const char *url);

/* The placeholder picture (SVG, static). */
extern const char art_placeholder_svg[];

#endif
