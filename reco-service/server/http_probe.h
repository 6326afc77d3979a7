/* reco-service's HTTP side port (--http-listen): GET /healthz (the process answers), /readyz
 * (the service can take work: model open and workers free) and /metrics (Prometheus text).
 * Served by NNG's HTTP server on its own threads; anything else gets a plain 404/405/400 from
 * it and the service goes on. */
#ifndef MIXTAPE_HTTP_PROBE_H
#define MIXTAPE_HTTP_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/* Where the answers come from. Both callbacks run on NNG's HTTP threads, concurrently with
 * everything else: they must be thread-safe and must not block. */
struct http_probe_source {
    void *arg;
    /* True when ready; otherwise writes why (one line) into why. */
    bool (*ready)(void *arg, char *why, size_t why_len);
    /* The /metrics body (malloc'd, the probe frees it), or NULL when out of memory. */
    char *(*metrics)(void *arg);
};

struct http_probe;

/* Parses "HOST:PORT" ("127.0.0.1:7180", "0.0.0.0:7180", "[::1]:7180"; port 0 picks a free
 * one). Returns 0 when it has that form (copies host and port), else -1. Pure. */
int http_probe_parse(const char *host_port, char *host, size_t host_len, int *port);

/* Starts serving on host_port. Returns 0 with *out and the bound "HOST:PORT" in bound (for
 * port 0, the port chosen), or -1 with a reason in err. src is copied. Stop with
 * http_probe_stop. Blocks only while binding. */
int http_probe_start(struct http_probe **out, const char *host_port,
                     const struct http_probe_source *src, char *bound, size_t bound_len, char *err,
                     size_t err_len);

/* Stops serving and frees the probe (NULL is ignored). Waits for handlers that are running. */
void http_probe_stop(struct http_probe *probe);

#endif
