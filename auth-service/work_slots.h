/* The bounded pool of requests that may wait on Spotify or reco-service at once (THREADS), with
 * a bounded queue in front of it, so that a slow Spotify holds at most those slots and never the
 * connection workers that answer /healthz, /readyz, /metrics and the static files. */
#ifndef MIXTAPE_AUTH_WORK_SLOTS_H
#define MIXTAPE_AUTH_WORK_SLOTS_H

#include <pthread.h>

enum work_slots_status {
    WORK_SLOTS_OK = 0,
    WORK_SLOTS_QUEUE_FULL, /* max_waiting requests already wait: refused at once */
    WORK_SLOTS_TIMEOUT,    /* no slot came free within the wait */
};

const char *work_slots_strerror(enum work_slots_status status);

struct work_slots {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    int size;        /* slots in all */
    int free;        /* slots not taken */
    int waiting;     /* requests in work_slots_acquire now */
    int max_waiting; /* queue bound */
};

/* size slots (>= 1) and at most max_waiting (>= 0) waiters. Returns 0, or -1 if the mutex or
 * condition variable could not be made. */
int work_slots_init(struct work_slots *ws, int size, int max_waiting);
void work_slots_destroy(struct work_slots *ws);

/* Takes a slot, waiting at most wait_ms milliseconds (monotonic clock). Blocks; thread-safe.
 * On WORK_SLOTS_OK the caller gives it back with work_slots_release. */
enum work_slots_status work_slots_acquire(struct work_slots *ws, long wait_ms);
void work_slots_release(struct work_slots *ws);

/* Slots taken and requests waiting now (for /metrics and tests). */
void work_slots_counts(struct work_slots *ws, int *busy, int *waiting);

#endif
