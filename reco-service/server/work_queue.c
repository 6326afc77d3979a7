/* The fair bounded work queue of reco-service: see work_queue.h. Connections with jobs sit in
 * a ring; each holds its jobs oldest first. Every operation is O(connections with jobs), which
 * the capacity bounds. */
#include "work_queue.h"

#include <stdlib.h>

struct work_conn {
    uint32_t conn;
    uint32_t weight; /* of its newest job */
    size_t count;
    struct work_job *head, *tail;
    struct work_conn *prev, *next; /* in the ring, or next in the free list */
};

const char *work_queue_strerror(enum work_queue_status status)
{
    switch (status) {
    case WORK_QUEUE_OK:
        return "OK";
    case WORK_QUEUE_FULL:
        return "FULL";
    case WORK_QUEUE_CLOSED:
        return "CLOSED";
    case WORK_QUEUE_EVICTED:
        return "EVICTED";
    }
    return "UNKNOWN";
}

int work_queue_init(struct work_queue *q, size_t capacity)
{
    *q = (struct work_queue){.capacity = capacity ? capacity : 1};
    q->slots = calloc(q->capacity, sizeof *q->slots);
    if (!q->slots)
        return -1;
    for (size_t i = 0; i < q->capacity; i++) {
        q->slots[i].next = q->free_slots;
        q->free_slots = &q->slots[i];
    }
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->ready, NULL);
    return 0;
}

void work_queue_destroy(struct work_queue *q)
{
    if (!q->slots)
        return;
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->ready);
    free(q->slots);
    q->slots = NULL;
}

static struct work_conn *find_conn(struct work_queue *q, uint32_t conn)
{
    struct work_conn *c = q->ring;
    if (!c)
        return NULL;
    do {
        if (c->conn == conn)
            return c;
        c = c->next;
    } while (c != q->ring);
    return NULL;
}

/* Puts c last in the ring (the ring's head is served next). */
static void ring_append(struct work_queue *q, struct work_conn *c)
{
    if (!q->ring) {
        c->prev = c->next = c;
        q->ring = c;
        return;
    }
    c->next = q->ring;
    c->prev = q->ring->prev;
    q->ring->prev->next = c;
    q->ring->prev = c;
}

static void ring_remove(struct work_queue *q, struct work_conn *c)
{
    if (c->next == c) {
        q->ring = NULL;
    } else {
        c->prev->next = c->next;
        c->next->prev = c->prev;
        if (q->ring == c)
            q->ring = c->next;
    }
    c->next = q->free_slots;
    q->free_slots = c;
}

static void conn_push(struct work_conn *c, struct work_job *job)
{
    job->next = NULL;
    job->prev = c->tail;
    if (c->tail)
        c->tail->next = job;
    else
        c->head = job;
    c->tail = job;
    c->count++;
}

static struct work_job *conn_take_tail(struct work_conn *c)
{
    struct work_job *job = c->tail;
    c->tail = job->prev;
    if (c->tail)
        c->tail->next = NULL;
    else
        c->head = NULL;
    c->count--;
    job->prev = job->next = NULL;
    return job;
}

static struct work_job *conn_take_head(struct work_conn *c)
{
    struct work_job *job = c->head;
    c->head = job->next;
    if (c->head)
        c->head->prev = NULL;
    else
        c->tail = NULL;
    c->count--;
    job->prev = job->next = NULL;
    return job;
}

enum work_queue_status work_queue_push(struct work_queue *q, struct work_job *job,
                                       struct work_job **evicted)
{
    enum work_queue_status status = WORK_QUEUE_OK;
    *evicted = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        status = WORK_QUEUE_CLOSED;
        goto done;
    }
    struct work_conn *mine = find_conn(q, job->conn);
    if (q->depth == q->capacity) {
        struct work_conn *greediest = q->ring;
        struct work_conn *c = q->ring;
        do {
            if (c->count > greediest->count ||
                (c->count == greediest->count && c->weight > greediest->weight))
                greediest = c;
            c = c->next;
        } while (c != q->ring);
        size_t have = mine ? mine->count : 0;
        if (greediest->count <= have) {
            status = WORK_QUEUE_FULL;
            goto done;
        }
        /* greediest has more queued than this connection: it gives up its newest. */
        *evicted = conn_take_tail(greediest);
        q->depth--;
        status = WORK_QUEUE_EVICTED;
        if (greediest->count == 0)
            ring_remove(q, greediest); /* never mine: mine has fewer */
    }
    if (!mine) {
        mine = q->free_slots;
        q->free_slots = mine->next;
        *mine = (struct work_conn){.conn = job->conn};
        ring_append(q, mine);
    }
    mine->weight = job->weight;
    conn_push(mine, job);
    q->depth++;
    pthread_cond_signal(&q->ready);
done:
    pthread_mutex_unlock(&q->lock);
    return status;
}

struct work_job *work_queue_pop(struct work_queue *q)
{
    struct work_job *job = NULL;
    pthread_mutex_lock(&q->lock);
    while (q->depth == 0 && !q->closed)
        pthread_cond_wait(&q->ready, &q->lock);
    if (q->depth > 0) {
        struct work_conn *c = q->ring;
        job = conn_take_head(c);
        q->depth--;
        if (c->count == 0)
            ring_remove(q, c);
        else
            q->ring = c->next; /* its next job waits for the others' turns */
    }
    pthread_mutex_unlock(&q->lock);
    return job;
}

size_t work_queue_depth(struct work_queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t depth = q->depth;
    pthread_mutex_unlock(&q->lock);
    return depth;
}

void work_queue_close(struct work_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->ready);
    pthread_mutex_unlock(&q->lock);
}
