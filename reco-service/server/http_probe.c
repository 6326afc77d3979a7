/* reco-service's HTTP probes and metrics on NNG's HTTP server: see http_probe.h. */
#include "http_probe.h"

#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http_probe {
    nng_http_server *server;
    nng_url *url;
    struct http_probe_source src;
};

int http_probe_parse(const char *host_port, char *host, size_t host_len, int *port)
{
    if (!host_port || !host_port[0])
        return -1;
    const char *colon;
    const char *h = host_port;
    size_t hlen;
    if (host_port[0] == '[') {
        const char *close = strchr(host_port, ']');
        if (!close || close[1] != ':')
            return -1;
        colon = close + 1;
        hlen = (size_t)(colon - host_port); /* keeps the brackets */
    } else {
        colon = strrchr(host_port, ':');
        if (!colon || strchr(host_port, ':') != colon)
            return -1;
        hlen = (size_t)(colon - host_port);
    }
    if (hlen == 0 || hlen >= host_len)
        return -1;
    for (size_t i = 0; i < hlen; i++) {
        char c = h[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
            return -1;
    }
    const char *p = colon + 1;
    if (!*p || strlen(p) > 5)
        return -1;
    int value = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        value = value * 10 + (*p - '0');
    }
    if (value > 65535)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = value;
    return 0;
}

static void reply(nng_aio *aio, uint16_t status, const char *type, const char *body)
{
    nng_http_res *res = NULL;
    int rv = nng_http_res_alloc(&res);
    if (rv == 0)
        rv = nng_http_res_set_status(res, status);
    if (rv == 0)
        rv = nng_http_res_set_header(res, "Content-Type", type);
    if (rv == 0)
        rv = nng_http_res_set_header(res, "Cache-Control", "no-store");
    if (rv == 0)
        rv = nng_http_res_copy_data(res, body, strlen(body));
    if (rv != 0) {
        if (res)
            nng_http_res_free(res);
        nng_aio_finish(aio, rv);
        return;
    }
    nng_aio_set_output(aio, 0, res);
    nng_aio_finish(aio, 0);
}

static struct http_probe *probe_of(nng_aio *aio)
{
    nng_http_handler *h = nng_aio_get_input(aio, 1);
    return nng_http_handler_get_data(h);
}

static void on_healthz(nng_aio *aio)
{
    reply(aio, 200, "text/plain; charset=utf-8", "ok\n");
}

static void on_readyz(nng_aio *aio)
{
    struct http_probe *probe = probe_of(aio);
    char why[256] = "";
    char body[300];
    if (probe->src.ready(probe->src.arg, why, sizeof why)) {
        reply(aio, 200, "text/plain; charset=utf-8", "ready\n");
        return;
    }
    snprintf(body, sizeof body, "not ready: %s\n", why);
    reply(aio, 503, "text/plain; charset=utf-8", body);
}

static void on_metrics(nng_aio *aio)
{
    struct http_probe *probe = probe_of(aio);
    char *text = probe->src.metrics(probe->src.arg);
    if (!text) {
        reply(aio, 500, "text/plain; charset=utf-8", "out of memory\n");
        return;
    }
    reply(aio, 200, "text/plain; version=0.0.4; charset=utf-8", text);
    free(text);
}

int http_probe_start(struct http_probe **out, const char *host_port,
                     const struct http_probe_source *src, char *bound, size_t bound_len, char *err,
                     size_t err_len)
{
    char host[200], url_text[256];
    int port = 0, rv;
    struct http_probe *probe = NULL;
    if (http_probe_parse(host_port, host, sizeof host, &port) != 0) {
        snprintf(err, err_len, "'%.100s' is not HOST:PORT (e.g. 0.0.0.0:7180)", host_port);
        return -1;
    }
    probe = calloc(1, sizeof *probe);
    if (!probe) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    probe->src = *src;
    snprintf(url_text, sizeof url_text, "http://%s:%d", host, port);
    rv = nng_url_parse(&probe->url, url_text);
    if (rv == 0)
        rv = nng_http_server_hold(&probe->server, probe->url);
    static const struct {
        const char *path;
        void (*cb)(nng_aio *);
    } routes[] = {{"/healthz", on_healthz}, {"/readyz", on_readyz}, {"/metrics", on_metrics}};
    for (size_t i = 0; rv == 0 && i < sizeof routes / sizeof routes[0]; i++) {
        nng_http_handler *h = NULL;
        rv = nng_http_handler_alloc(&h, routes[i].path, routes[i].cb);
        if (rv == 0)
            rv = nng_http_handler_set_method(h, "GET");
        if (rv == 0)
            rv = nng_http_handler_set_data(h, probe, NULL);
        if (rv == 0)
            rv = nng_http_server_add_handler(probe->server, h);
        if (rv != 0 && h)
            nng_http_handler_free(h);
    }
    if (rv == 0)
        rv = nng_http_server_start(probe->server);
    if (rv != 0) {
        snprintf(err, err_len, "%s: %s", host_port, nng_strerror(rv));
        goto fail;
    }
    nng_sockaddr sa;
    int bound_port = port;
    if (nng_http_server_get_addr(probe->server, &sa) == 0) {
        if (sa.s_family == NNG_AF_INET)
            bound_port = ntohs(sa.s_in.sa_port);
        else if (sa.s_family == NNG_AF_INET6)
            bound_port = ntohs(sa.s_in6.sa_port);
    }
    snprintf(bound, bound_len, "%s:%d", host, bound_port);
    *out = probe;
    return 0;
fail:
    if (probe->server)
        nng_http_server_release(probe->server);
    if (probe->url)
        nng_url_free(probe->url);
    free(probe);
    return -1;
}

void http_probe_stop(struct http_probe *probe)
{
    if (!probe)
        return;
    nng_http_server_stop(probe->server);
    nng_http_server_release(probe->server);
    nng_url_free(probe->url);
    free(probe);
}
