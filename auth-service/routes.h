/* auth-service's HTTP routes on CivetWeb: sign-in (/login, /callback, /logout), the pages
 * (/, /mix), the JSON API (/api/mix, /api/save), and /healthz, /readyz, /metrics. One
 * dispatcher counts every answer by route and status and logs one line per request. */
#ifndef MIXTAPE_AUTH_ROUTES_H
#define MIXTAPE_AUTH_ROUTES_H

#include <civetweb.h>

#include "app.h"
#include "config.h"
#include "rpc.h"

/* Fills app->spotify from cfg (metrics hooked in) and makes the work slots (THREADS, with a
 * queue of 8 x THREADS); app->rpc is the caller's. Returns 0, or -1 when the slots could not be
 * made. */
int routes_init(struct app *app, const struct auth_config *cfg, struct rpc_client *rpc);

/* CivetWeb's begin_request callback (the context's user data is the app): refuses a request
 * whose framing is ambiguous (request_framing_error) with 400 before any handler or body read.
 * Returns 1 when it answered, else 0. (`OPTIONS *` never reaches it: CivetWeb 1.15 closes such
 * a connection itself, see the README's Security section.) */
int routes_begin_request(struct mg_connection *conn);

/* Registers the dispatcher for every path on ctx. Handlers run on CivetWeb's worker threads
 * and are thread-safe; app must outlive mg_stop. */
void routes_register(struct mg_context *ctx, struct app *app);

/* Request body caps (bytes); larger bodies get 413 naming the limit. */
#define ROUTES_MAX_MIX_BODY  4096
#define ROUTES_MAX_SAVE_BODY 65536

/* Queue in front of the work slots, per slot. */
#define ROUTES_QUEUE_PER_SLOT 8

#endif
