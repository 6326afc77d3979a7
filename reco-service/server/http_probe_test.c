/* http_probe: HOST:PORT parsing, and the three routes served by a real NNG HTTP server on a
 * free loopback port (readiness from the source callback; unknown paths and methods refused
 * cleanly). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_probe.h"

static void test_parse(void **state)
{
    (void)state;
    char host[64];
    int port;
    assert_int_equal(http_probe_parse("127.0.0.1:7180", host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 7180);
    assert_int_equal(http_probe_parse("[::1]:0", host, sizeof host, &port), 0);
    assert_string_equal(host, "[::1]");
    assert_int_equal(port, 0);
    assert_int_equal(http_probe_parse("reco-0.reco:7180", host, sizeof host, &port), 0);
    const char *bad[] = {"",      "7180",   ":7180",   "host:",       "host:70000", "host:12a",
                         "a b:1", "::1:80", "[::1]80", "host:123456", "h/x:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (http_probe_parse(bad[i], host, sizeof host, &port) == 0)
            fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(http_probe_parse(NULL, host, sizeof host, &port), -1);
}

static bool ready_flag;

static bool source_ready(void *arg, char *why, size_t why_len)
{
    (void)arg;
    if (!ready_flag)
        snprintf(why, why_len, "queue full");
    return ready_flag;
}

static char *source_metrics(void *arg)
{
    (void)arg;
    return strdup("# TYPE x counter\nx 1\n");
}

/* Sends raw bytes to port and returns the answer (malloc'd), read until the peer closes or
 * the first answer is whole. */
static char *http_raw(int port, const char *request)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    char *buf = calloc(1, 65536);
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, buf + used, 65535 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        char *body = strstr(buf, "\r\n\r\n");
        const char *cl = strstr(buf, "Content-Length: ");
        if (body && cl && used >= (size_t)(body + 4 - buf) + (size_t)atoi(cl + 16))
            break;
    }
    close(fd);
    return buf;
}

static void test_serve(void **state)
{
    (void)state;
    struct http_probe *probe = NULL;
    struct http_probe_source src = {.ready = source_ready, .metrics = source_metrics};
    char bound[64], err[256];
    assert_int_equal(
        http_probe_start(&probe, "127.0.0.1:0", &src, bound, sizeof bound, err, sizeof err), 0);
    int port = atoi(strrchr(bound, ':') + 1);
    assert_true(port > 0);

    char *r = http_raw(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    assert_non_null(strstr(r, "\r\n\r\nok\n"));
    free(r);
    ready_flag = false;
    r = http_raw(port, "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 503"));
    assert_non_null(strstr(r, "not ready: queue full"));
    free(r);
    ready_flag = true;
    r = http_raw(port, "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    free(r);
    r = http_raw(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    assert_non_null(strstr(r, "text/plain; version=0.0.4"));
    assert_non_null(strstr(r, "\nx 1\n"));
    free(r);
    r = http_raw(port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 404"));
    free(r);
    r = http_raw(port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                       "Connection: close\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 405"));
    free(r);
    r = http_raw(port, "\x01\x02garbage\r\n\r\n");
    assert_true(r[0] == '\0' || strstr(r, "HTTP/1.1 400") != NULL);
    free(r);
    /* Still serving. */
    r = http_raw(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    free(r);
    http_probe_stop(probe);

    assert_int_equal(
        http_probe_start(&probe, "not-an-address", &src, bound, sizeof bound, err, sizeof err), -1);
    assert_non_null(strstr(err, "is not HOST:PORT"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_serve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
