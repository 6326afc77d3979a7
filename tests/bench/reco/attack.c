/* The hostile load of `reco-bench hostile` (attack.h): raw SP-over-TCP connections that speak
 * req0 by hand, pipeline a request and never read; and `reco-bench cores`. */
#include "attack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct attack {
    struct sockaddr_in addr;
    uint8_t *frame; /* one request as sent on the wire: length, request id, envelope */
    size_t frame_len;
    long long clients, pipeline;
    atomic_bool stop;
    atomic_size_t reconnects, sent;
    pthread_t thread;
};

/* Connects and exchanges the SP header; returns the fd or -1. */
static int attack_connect(const struct attack *h)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct timeval tv = {.tv_sec = 1};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const uint8_t hello[8] = {0, 'S', 'P', 0, 0, 48 /* req0 */, 0, 0};
    uint8_t theirs[8];
    if (connect(fd, (const struct sockaddr *)&h->addr, sizeof h->addr) != 0 ||
        send(fd, hello, 8, MSG_NOSIGNAL) != 8 || recv(fd, theirs, 8, MSG_WAITALL) != 8) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *attack_main(void *arg)
{
    struct attack *h = arg;
    int *fds = malloc((size_t)h->clients * sizeof *fds);
    long long *left = malloc((size_t)h->clients * sizeof *left);
    size_t *offset = calloc((size_t)h->clients, sizeof *offset);
    if (!fds || !left || !offset)
        goto out;
    for (long long c = 0; c < h->clients; c++) {
        fds[c] = attack_connect(h);
        left[c] = h->pipeline;
    }
    while (!atomic_load(&h->stop)) {
        bool progress = false;
        for (long long c = 0; c < h->clients && !atomic_load(&h->stop); c++) {
            if (fds[c] < 0) {
                fds[c] = attack_connect(h);
                left[c] = h->pipeline;
                offset[c] = 0;
                atomic_fetch_add(&h->reconnects, 1);
                continue;
            }
            if (left[c] == 0)
                continue; /* all sent; it just sits there, reading nothing */
            ssize_t n = send(fds[c], h->frame + offset[c], h->frame_len - offset[c],
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                progress = true;
                offset[c] += (size_t)n;
                if (offset[c] == h->frame_len) {
                    offset[c] = 0;
                    left[c]--;
                    atomic_fetch_add(&h->sent, 1);
                }
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                close(fds[c]); /* cut off by the service: come back */
                fds[c] = -1;
            }
        }
        /* Connections that have sent everything: notice when the service closes them. */
        for (long long c = 0; c < h->clients; c++) {
            if (fds[c] >= 0 && left[c] == 0) {
                char byte;
                ssize_t n = recv(fds[c], &byte, 1, MSG_PEEK | MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                    close(fds[c]);
                    fds[c] = -1;
                }
            }
        }
        if (!progress) {
            struct timespec pause = {.tv_nsec = 2000000};
            nanosleep(&pause, NULL);
        }
    }
    for (long long c = 0; c < h->clients; c++)
        if (fds[c] >= 0)
            close(fds[c]);
out:
    free(fds);
    free(left);
    free(offset);
    return NULL;
}

struct attack *attack_start(const char *endpoint, const uint8_t *envelope, size_t len,
                            long long clients, long long pipeline)
{
    const char *hostport = strstr(endpoint, "tcp://");
    const char *colon = hostport ? strrchr(hostport, ':') : NULL;
    char host[64];
    if (!hostport || !colon || (size_t)(colon - hostport - 6) >= sizeof host) {
        fprintf(stderr, "reco-bench hostile: --endpoint must be one tcp://HOST:PORT\n");
        return NULL;
    }
    memcpy(host, hostport + 6, (size_t)(colon - hostport - 6));
    host[colon - hostport - 6] = '\0';
    struct attack *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->addr.sin_family = AF_INET;
    h->addr.sin_port = htons((uint16_t)atoi(colon + 1));
    h->clients = clients;
    h->pipeline = pipeline;
    h->frame_len = 12 + len;
    h->frame = malloc(h->frame_len);
    if (inet_pton(AF_INET, host, &h->addr.sin_addr) != 1 || !h->frame) {
        fprintf(stderr, "reco-bench hostile: '%s' is not an IPv4 address\n", host);
        free(h->frame);
        free(h);
        return NULL;
    }
    uint64_t total = len + 4; /* the 8-byte length, then the request id with its high bit */
    for (int i = 0; i < 8; i++)
        h->frame[i] = (uint8_t)(total >> (56 - 8 * i));
    h->frame[8] = 0x80;
    h->frame[9] = h->frame[10] = 0;
    h->frame[11] = 1;
    memcpy(h->frame + 12, envelope, len);
    if (pthread_create(&h->thread, NULL, attack_main, h) != 0) {
        free(h->frame);
        free(h);
        return NULL;
    }
    return h;
}

void attack_stop(struct attack *h, size_t *sent, size_t *reconnects)
{
    atomic_store(&h->stop, true);
    pthread_join(h->thread, NULL);
    *sent = atomic_load(&h->sent);
    *reconnects = atomic_load(&h->reconnects);
    free(h->frame);
    free(h);
}

static atomic_bool cores_stop;

static void *cores_spin(void *arg)
{
    volatile unsigned long *count = arg;
    while (!atomic_load_explicit(&cores_stop, memory_order_relaxed))
        (*count)++;
    return NULL;
}

double cores_measure(int threads, double seconds)
{
    pthread_t ids[64];
    unsigned long counts[64] = {0};
    struct timespec cpu0, cpu1, wall0, wall1;
    if (threads > 64)
        threads = 64;
    atomic_store(&cores_stop, false);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
    clock_gettime(CLOCK_MONOTONIC, &wall0);
    int started = 0;
    for (; started < threads; started++)
        if (pthread_create(&ids[started], NULL, cores_spin, &counts[started]) != 0)
            break;
    struct timespec wait = {.tv_sec = (time_t)seconds,
                            .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&wait, NULL);
    atomic_store(&cores_stop, true);
    for (int i = 0; i < started; i++)
        pthread_join(ids[i], NULL);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
    clock_gettime(CLOCK_MONOTONIC, &wall1);
    double cpu = (double)(cpu1.tv_sec - cpu0.tv_sec) + (double)(cpu1.tv_nsec - cpu0.tv_nsec) / 1e9;
    double wall =
        (double)(wall1.tv_sec - wall0.tv_sec) + (double)(wall1.tv_nsec - wall0.tv_nsec) / 1e9;
    return started == threads && wall > 0 ? cpu / wall : -1;
}
