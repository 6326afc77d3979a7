/* Routing every request of the emulator to the Accounts service, the Web API or the control
 * API, counting it and logging one line: see server.h. */
#include "server.h"

#include <string.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "oembed.h"

int emu_server_handle(struct mg_connection *conn, void *cbdata)
{
    struct emu_server *server = cbdata;
    const struct mg_request_info *info = mg_get_request_info(conn);
    const char *path = info->local_uri ? info->local_uri : "/";
    const char *endpoint = "other";
    int status;
    if (strcmp(path, "/authorize") == 0) {
        endpoint = "authorize";
        status = emu_accounts_authorize(server, conn);
    } else if (strcmp(path, "/api/token") == 0) {
        endpoint = "token";
        struct emu_config config;
        emu_state_get_config(&server->state, &config);
        if (config.latency_ms > 0)
            usleep((useconds_t)(config.latency_ms * 1000));
        status = emu_accounts_token(server, conn);
    } else if (strncmp(path, "/v1/", 4) == 0) {
        status = emu_webapi_handle(server, conn, path, &endpoint);
    } else if (strcmp(path, "/oembed") == 0 || strncmp(path, "/image/", 7) == 0) {
        /* open.spotify.com's oEmbed and the covers it points at (no token) */
        endpoint = path[1] == 'o' ? "oembed" : "image";
        struct emu_config config;
        emu_state_get_config(&server->state, &config);
        if (config.latency_ms > 0)
            usleep((useconds_t)(config.latency_ms * 1000));
        status = strcmp(info->request_method, "GET") != 0
                     ? emu_http_api_error(conn, 405, "Method not allowed")
                 : path[1] == 'o' ? emu_oembed_handle(server, conn)
                                  : emu_oembed_image(server, conn, path + 7);
    } else if (strncmp(path, "/_emu/", 6) == 0) {
        endpoint = "control";
        status = emu_control_handle(server, conn, path);
    } else {
        status = emu_http_api_error(conn, 404, "Service not found");
    }
    emu_state_count(&server->state, endpoint, status);
    log_info("request", "method=%s endpoint=%s status=%d", info->request_method, endpoint, status);
    return status;
}
