/* The emulator as one HTTP server: what every handler shares (catalog, users, mutable state,
 * the registered client) and the routing of a request to the Accounts service (/authorize,
 * /api/token), the Web API (/v1/...) or the control API (/_emu/...), with faults and latency
 * applied where Spotify would show them.
 * Threads: emu_server_handle runs on CivetWeb worker threads, many at once. */
#ifndef EMU_SERVER_H
#define EMU_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <civetweb.h>

#include "catalog.h"
#include "library.h"
#include "state.h"

#define EMU_FORM_LIMIT 8192  /* bytes of a form body (/authorize, /api/token) */
#define EMU_JSON_LIMIT 65536 /* bytes of a JSON body (Web API, control API) */

struct emu_server {
    struct emu_catalog catalog;
    struct emu_library library;
    struct emu_state state;
    const char *client_id;
    const char *client_secret; /* NULL: the app has no secret (PKCE only) */
    char base_url[96];         /* "http://127.0.0.1:PORT", known once listening */
};

/* The CivetWeb request handler for every path; cbdata is the struct emu_server. Returns the
 * HTTP status it answered with. */
int emu_server_handle(struct mg_connection *conn, void *cbdata);

/* Accounts service: GET and POST /authorize. Returns the status answered. */
int emu_accounts_authorize(struct emu_server *server, struct mg_connection *conn);

/* Accounts service: POST /api/token. Returns the status answered. */
int emu_accounts_token(struct emu_server *server, struct mg_connection *conn);

/* Web API: any /v1/... path (Bearer check, scopes, the endpoints). Returns the status. */
int emu_webapi_handle(struct emu_server *server, struct mg_connection *conn, const char *path,
                      const char **endpoint);

/* Control API: /_emu/config, /_emu/playlists, /_emu/users, /_emu/stats, /_emu/expire.
 * Returns the status answered. */
int emu_control_handle(struct emu_server *server, struct mg_connection *conn, const char *path);

#endif
