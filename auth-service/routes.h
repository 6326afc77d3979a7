/* auth-service's HTTP routes on CivetWeb: sign-in (/login, /callback, /logout), the pages
 * (/, /mix), the JSON API (/api/mix, /api/save), and /healthz, /readyz, /metrics. One
 * dispatcher counts every answer by route and status and logs one line per request. */
#ifndef MIXTAPE_AUTH_ROUTES_H
#define MIXTAPE_AUTH_ROUTES_H

#include <civetweb.h>

#include "app.h"
#include "config.h"
#include "rpc.h"

/* Fills app->spotify from cfg (metrics hooked in); app->rpc is the caller's. */
void routes_init(struct app *app, const struct auth_config *cfg, struct rpc_client *rpc);

/* Registers the dispatcher for every path on ctx. Handlers run on CivetWeb's worker threads
 * and are thread-safe; app must outlive mg_stop. */
void routes_register(struct mg_context *ctx, struct app *app);

/* Request body caps (bytes); larger bodies get 413 naming the limit. */
#define ROUTES_MAX_MIX_BODY  4096
#define ROUTES_MAX_SAVE_BODY 65536

#endif
