/* Live discovery (resolve.h): which entries are names, their addresses through getaddrinfo,
 * and the difference between two resolutions. */
#include "resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

bool resolve_entry_name(const char *url, char host[RESOLVE_MAX_HOST], char port[16])
{
    static const char scheme[] = "tcp://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0)
        return false;
    const char *h = url + sizeof scheme - 1;
    if (*h == '[') /* an IPv6 literal */
        return false;
    const char *colon = strrchr(h, ':');
    if (!colon || colon == h || (size_t)(colon - h) >= RESOLVE_MAX_HOST)
        return false;
    size_t port_len = strlen(colon + 1);
    if (port_len == 0 || port_len >= 16 || strspn(colon + 1, "0123456789") != port_len)
        return false;
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    memcpy(port, colon + 1, port_len + 1);
    struct in_addr v4;
    if (inet_pton(AF_INET, host, &v4) == 1 || strcmp(host, "*") == 0)
        return false;
    return true;
}

static int compare_url(const void *a, const void *b)
{
    return strcmp(a, b);
}

int resolve_lookup(const char *host, const char *port, char urls[][RESOLVE_MAX_URL], size_t max,
                   char *err, size_t err_len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *found = NULL;
    int rv = getaddrinfo(host, port, &hints, &found);
    if (rv != 0) {
        snprintf(err, err_len, "%s: %s", host, gai_strerror(rv));
        return -1;
    }
    size_t n = 0;
    for (struct addrinfo *a = found; a && n < max; a = a->ai_next) {
        char addr[INET6_ADDRSTRLEN];
        if (a->ai_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)a->ai_addr)->sin_addr, addr, sizeof addr);
            snprintf(urls[n], RESOLVE_MAX_URL, "tcp://%s:%s", addr, port);
        } else if (a->ai_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, addr, sizeof addr);
            snprintf(urls[n], RESOLVE_MAX_URL, "tcp://[%s]:%s", addr, port);
        } else {
            continue;
        }
        n++;
    }
    freeaddrinfo(found);
    qsort(urls, n, RESOLVE_MAX_URL, compare_url);
    size_t unique = 0;
    for (size_t i = 0; i < n; i++)
        if (unique == 0 || strcmp(urls[unique - 1], urls[i]) != 0)
            memmove(urls[unique++], urls[i], RESOLVE_MAX_URL);
    if (unique == 0) {
        snprintf(err, err_len, "%s: no IPv4 or IPv6 address", host);
        return -1;
    }
    return (int)unique;
}

size_t resolve_diff(char old[][RESOLVE_MAX_URL], size_t n_old, char fresh[][RESOLVE_MAX_URL],
                    size_t n_fresh, bool *gone, bool *added)
{
    size_t i = 0, j = 0, changes = 0;
    while (i < n_old || j < n_fresh) {
        int c = i == n_old ? 1 : j == n_fresh ? -1 : strcmp(old[i], fresh[j]);
        if (c < 0) {
            gone[i++] = true;
            changes++;
        } else if (c > 0) {
            added[j++] = true;
            changes++;
        } else {
            gone[i++] = false;
            added[j++] = false;
        }
    }
    return changes;
}
