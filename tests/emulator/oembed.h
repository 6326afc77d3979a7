/* Spotify's oEmbed endpoint as open.spotify.com serves it (no token, no scope): GET
 * /oembed?url=https://open.spotify.com/track/ID answers the embed's HTML, its title and a
 * thumbnail_url, the track's cover (300x300). The emulator's thumbnails live on its own base
 * URL (/image/ID, a small PNG drawn from the id) where Spotify's live on its image CDN. */
#ifndef MIXTAPE_EMU_OEMBED_H
#define MIXTAPE_EMU_OEMBED_H

#include <civetweb.h>

#include "server.h"

/* GET /oembed: 200 JSON for a known track (catalog or a user's library), 404 for an unknown
 * one, 400 without a track URL of open.spotify.com. Returns the status. */
int emu_oembed_handle(struct emu_server *server, struct mg_connection *conn);

/* GET /image/ID: the cover PNG of a known track, 404 otherwise. Returns the status. */
int emu_oembed_image(struct emu_server *server, struct mg_connection *conn, const char *id);

/* A PNG of width x height pixels in two colours drawn from seed: *out malloc'd (caller frees).
 * Returns its length, 0 when out of memory. */
size_t emu_oembed_png(uint64_t seed, int width, int height, unsigned char **out);

#endif
