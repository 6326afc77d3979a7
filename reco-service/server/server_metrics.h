/* reco-service's metrics in Prometheus text format (names follow auth-service/metrics.c:
 * mixtape_reco_*, counters end in _total, times in seconds): requests by method and code, a
 * latency histogram, queue depth and wait, expired requests dropped, connections closed and
 * why, the model served, and how saved tracks matched. Process-wide state behind one lock;
 * every function is thread-safe and never blocks on I/O. */
#ifndef MIXTAPE_SERVER_METRICS_H
#define MIXTAPE_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

/* Counts one answered request: method is the name received (anything not Recommend, Info or
 * Health counts as "other", a missing one as "none"); seconds from its arrival to its reply. */
void server_metrics_request(const char *method, enum rpc_code code, double seconds);

/* Records how long a request waited in the queue before a worker took it. */
void server_metrics_queue_wait(double seconds);

/* Counts a request dropped without computing because its deadline had passed. */
void server_metrics_expired(void);

/* Counts a connection closed by the server; reason is a literal ("send_timeout", ...). */
void server_metrics_conn_closed(const char *reason);

/* Adds one Recommend's saved tracks by how they matched the catalog. */
void server_metrics_matches(uint32_t songs, uint32_t artist_only, uint32_t unmatched);

/* The model now served (version is copied). */
void server_metrics_model(const char *version, uint32_t rows, uint32_t k, double load_seconds);

/* Values read at render time. */
struct server_gauges {
    size_t queue_depth, queue_capacity;
    int workers, workers_busy;
    int connections;
    int in_flight;
};

/* The whole exposition as text (malloc'd, caller frees), or NULL when out of memory (or past
 * the 256 KiB bound, which the fixed set of series stays far below). */
char *server_metrics_render(const struct server_gauges *gauges);

/* Forgets everything (for tests). */
void server_metrics_reset(void);

#endif
