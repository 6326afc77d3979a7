/* The bounded queue between reco-service's I/O callbacks and its compute workers, fair across
 * connections: workers take requests round-robin by connection, so one connection that sends
 * hundreds of requests gets its turn like any other instead of the whole queue. */
#ifndef MIXTAPE_WORK_QUEUE_H
#define MIXTAPE_WORK_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A queued request. Embed it in the caller's own record (container-of style); the queue only
 * links it. conn names the connection it came from (an nng pipe id). */
struct work_job {
    struct work_job *prev, *next;
    uint32_t conn;
    uint32_t weight; /* how hard the connection has been pushing lately (its refused
                        requests): among connections with as many jobs queued, the heaviest
                        gives way first */
};

enum work_queue_status {
    WORK_QUEUE_OK,      /* queued */
    WORK_QUEUE_FULL,    /* refused: the queue is full and the job's connection has its share */
    WORK_QUEUE_CLOSED,  /* refused: the queue is closed */
    WORK_QUEUE_EVICTED, /* queued, and *evicted (another connection's newest job) was taken out
                           to make room: the caller answers it as refused */
};

/* "OK", "FULL", ...; never NULL. */
const char *work_queue_strerror(enum work_queue_status status);

struct work_conn; /* private: one connection's jobs */

struct work_queue {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    size_t capacity, depth;
    struct work_conn *slots;      /* capacity records, one per connection with jobs */
    struct work_conn *free_slots; /* unused records */
    struct work_conn *ring;       /* connections with jobs, next to serve first */
    bool closed;
};

/* Sets up an empty queue for at most capacity jobs (>= 1). Returns 0, or -1 out of memory. */
int work_queue_init(struct work_queue *q, size_t capacity);

/* Frees the queue's records (jobs still queued are the caller's; it must not be in use). */
void work_queue_destroy(struct work_queue *q);

/* Queues job. When the queue is full, a job is admitted only if its connection has fewer jobs
 * queued than the connection with the most: that connection's newest job is taken out and
 * returned in *evicted (WORK_QUEUE_EVICTED); among equals, the one with the largest weight. So a connection with nothing queued always gets
 * in, however many others flood the queue. Never blocks; thread-safe. */
enum work_queue_status work_queue_push(struct work_queue *q, struct work_job *job,
                                       struct work_job **evicted);

/* Takes the oldest job of the connection whose turn it is, waiting while the queue is empty.
 * Returns NULL once the queue is closed and empty. Thread-safe; blocks. */
struct work_job *work_queue_pop(struct work_queue *q);

/* Jobs queued now (a snapshot). Thread-safe. */
size_t work_queue_depth(struct work_queue *q);

/* Refuses further pushes and wakes every waiting pop; jobs already queued are still popped. */
void work_queue_close(struct work_queue *q);

#endif
