/* The bounded work pool (work_slots.h): a counting semaphore on a mutex and a condition
 * variable on the monotonic clock, with a cap on waiters so a queue cannot grow without end. */
#include "work_slots.h"

#include <errno.h>
#include <time.h>

const char *work_slots_strerror(enum work_slots_status status)
{
    switch (status) {
    case WORK_SLOTS_OK:
        return "ok";
    case WORK_SLOTS_QUEUE_FULL:
        return "every work slot is taken and the queue is full";
    case WORK_SLOTS_TIMEOUT:
        return "no work slot came free in time";
    }
    return "unknown status";
}

int work_slots_init(struct work_slots *ws, int size, int max_waiting)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    int rc = -1;
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0)
        goto done;
    if (pthread_mutex_init(&ws->lock, NULL) != 0)
        goto done;
    if (pthread_cond_init(&ws->freed, &attr) != 0) {
        pthread_mutex_destroy(&ws->lock);
        goto done;
    }
    ws->size = size;
    ws->free = size;
    ws->waiting = 0;
    ws->max_waiting = max_waiting;
    rc = 0;
done:
    pthread_condattr_destroy(&attr);
    return rc;
}

void work_slots_destroy(struct work_slots *ws)
{
    pthread_cond_destroy(&ws->freed);
    pthread_mutex_destroy(&ws->lock);
}

enum work_slots_status work_slots_acquire(struct work_slots *ws, long wait_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += wait_ms / 1000;
    deadline.tv_nsec += (wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    enum work_slots_status status = WORK_SLOTS_OK;
    pthread_mutex_lock(&ws->lock);
    if (ws->free == 0) {
        if (ws->waiting >= ws->max_waiting) {
            status = WORK_SLOTS_QUEUE_FULL;
            goto done;
        }
        ws->waiting++;
        int rc = 0;
        while (ws->free == 0 && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&ws->freed, &ws->lock, &deadline);
        ws->waiting--;
        if (ws->free == 0) {
            status = WORK_SLOTS_TIMEOUT;
            goto done;
        }
    }
    ws->free--;
done:
    pthread_mutex_unlock(&ws->lock);
    return status;
}

void work_slots_release(struct work_slots *ws)
{
    pthread_mutex_lock(&ws->lock);
    ws->free++;
    pthread_cond_signal(&ws->freed);
    pthread_mutex_unlock(&ws->lock);
}

void work_slots_counts(struct work_slots *ws, int *busy, int *waiting)
{
    pthread_mutex_lock(&ws->lock);
    *busy = ws->size - ws->free;
    *waiting = ws->waiting;
    pthread_mutex_unlock(&ws->lock);
}
