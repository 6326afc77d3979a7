/* Fuzz target: auth-service's HTTP front as a client meets it. At the first input it starts
 * CivetWeb in this process with auth-service's routes and begin_request hook (Spotify and
 * reco-service addresses that refuse at once); every input is written raw to a fresh loopback
 * connection (request line, headers, cookies, bodies; several pipelined requests), the write
 * side is shut, and the answer is read to the end. The routes, the cookie decoder, the CSRF and
 * framing checks, the body limits and the JSON API parsers all run on the bytes. */
#include <arpa/inet.h>
#include <civetweb.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "routes.h"
#include "rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct auth_config cfg;
static struct app app;
static struct rpc_client *rpc;
static struct mg_context *ctx;
static int port;

static void stop_server(void)
{
    if (ctx)
        mg_stop(ctx);
    rpc_client_close(rpc);
    mg_exit_library();
    curl_global_cleanup();
}

static void start_server(void)
{
    /* The key of the integration fixture; nothing here is secret. */
    char *argv[] = {"auth-http-fuzz",
                    "--client-id=fuzz-client",
                    "--session-keys=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                    "--listen=127.0.0.1:0",
                    "--reco-endpoints=tcp://127.0.0.1:9",
                    "--accounts-url=http://127.0.0.1:9",
                    "--api-url=http://127.0.0.1:9",
                    "--spotify-budget-ms=1000",
                    "--spotify-timeout-ms=200",
                    "--reco-timeout-ms=200",
                    "--threads=4",
                    "--connections=64",
                    "--request-timeout-ms=1000",
                    "--log-level=error",
                    NULL};
    char err[768];
    if (config_load(&cfg, (int)(sizeof argv / sizeof argv[0]) - 1, argv, err, sizeof err) !=
        CONFIG_OK) {
        fprintf(stderr, "auth_http_fuzz: config: %s\n", err);
        abort();
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rpc_client_open(&rpc, cfg.reco_endpoints, err, sizeof err) != RPC_OK ||
        routes_init(&app, &cfg, rpc) != 0) {
        fprintf(stderr, "auth_http_fuzz: cannot start: %s\n", err);
        abort();
    }
    mg_init_library(0);
    const char *options[] = {
        "listening_ports",   "127.0.0.1:0", "num_threads", "64", "request_timeout_ms", "1000",
        "enable_keep_alive", "yes",         NULL};
    struct mg_callbacks callbacks;
    memset(&callbacks, 0, sizeof callbacks);
    callbacks.begin_request = routes_begin_request;
    ctx = mg_start(&callbacks, &app, options);
    struct mg_server_port ports[2];
    if (!ctx || mg_get_server_ports(ctx, 2, ports) < 1)
        abort();
    port = ports[0].port;
    config_set_bound_port(&cfg, port);
    routes_register(ctx, &app);
    atexit(stop_server);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx)
        start_server();
    if (size > 256 * 1024)
        return 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval limit = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return 0;
    }
    size_t sent = 0;
    while (sent < size) {
        ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    char buf[16384];
    while (recv(fd, buf, sizeof buf, 0) > 0)
        ;
    close(fd);
    return 0;
}
