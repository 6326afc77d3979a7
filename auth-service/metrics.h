/* auth-service's metrics in Prometheus text format: requests by route and status, Spotify
 * calls by endpoint and status, a latency histogram of RPC calls to reco-service, and how the
 * users' saved tracks matched the catalog (song, artist only, unmatched).
 * Process-wide counters behind one lock (metrics_lock); every function is thread-safe. */
#ifndef MIXTAPE_AUTH_METRICS_H
#define MIXTAPE_AUTH_METRICS_H

#include <stddef.h>

/* Series kept per family; further label combinations are counted under status "other". */
#define METRICS_MAX_SERIES 128

/* Counts one answered request. route is a fixed label such as "/api/mix" (the pointer is kept:
 * pass string literals). */
void metrics_request(const char *route, int status);

/* Counts one Spotify call; status 0 means no HTTP answer (timeout, refused connection). */
void metrics_spotify(const char *endpoint, long status);

/* Records one RPC call's latency in seconds; code is rpc_code_name()'s text (a literal). */
void metrics_rpc(const char *method, const char *code, double seconds);

/* Counts how the saved tracks of one Recommend matched the catalog: songs matched to a catalog
 * song, artist-only matches (no song, but the primary artist), and unmatched. Their ratios are
 * the catalog's match rate (mixtape_auth_saved_tracks_total{match=...}). */
void metrics_match(unsigned long songs, unsigned long artists_only, unsigned long unmatched);

struct rpc_client;

/* The whole exposition as text (malloc'd, caller frees), or NULL when out of memory (or past
 * the 1 MiB bound, which the capped series stay below). With client (may be NULL), also each
 * reco-service endpoint's health as the client sees it. */
char *metrics_render(struct rpc_client *client);

/* Forgets every series (for tests). */
void metrics_reset(void);

#endif
