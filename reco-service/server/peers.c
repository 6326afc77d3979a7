/* Per-connection state of reco-service: see peers.h. A flat array searched linearly: the
 * connection limit keeps it small. */
#include "peers.h"

#include <stdint.h>
#include <stdlib.h>

/* The offset minimum is kept over two windows of this length, so it follows clock
 * adjustments within about two windows. */
#define OFFSET_WINDOW_US (30 * 1000000LL)

int peers_init(struct peers *t, size_t capacity, int max_sends)
{
    *t = (struct peers){.capacity = capacity ? capacity : 1, .max_sends = max_sends};
    t->slots = calloc(2 * t->capacity, sizeof *t->slots);
    if (!t->slots)
        return -1;
    pthread_mutex_init(&t->lock, NULL);
    return 0;
}

void peers_destroy(struct peers *t)
{
    if (!t->slots)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t->slots);
    t->slots = NULL;
}

static struct peer *find(struct peers *t, uint32_t id)
{
    for (size_t i = 0; i < 2 * t->capacity; i++)
        if (t->slots[i].id == id)
            return &t->slots[i];
    return NULL;
}

bool peers_add(struct peers *t, uint32_t id, int64_t now_us, int64_t min_silent_us)
{
    bool added = false;
    pthread_mutex_lock(&t->lock);
    if (t->count - t->closing >= t->capacity) {
        struct peer *quietest = NULL;
        for (size_t i = 0; i < 2 * t->capacity; i++) {
            struct peer *p = &t->slots[i];
            if (p->id != 0 && !p->closing && p->held == 0 &&
                now_us - p->last_msg_us >= min_silent_us &&
                (!quietest || p->last_msg_us < quietest->last_msg_us))
                quietest = p;
        }
        if (!quietest)
            goto done;
        quietest->close_reason = "limit";
        quietest->closing = true;
        t->closing++;
    }
    struct peer *free_slot = find(t, 0);
    if (free_slot) {
        *free_slot = (struct peer){.id = id, .last_msg_us = now_us, .window_start_us = now_us};
        t->count++;
        added = true;
    }
done:
    pthread_mutex_unlock(&t->lock);
    return added;
}

void peers_remove(struct peers *t, uint32_t id)
{
    pthread_mutex_lock(&t->lock);
    struct peer *p = id ? find(t, id) : NULL;
    if (p) {
        if (p->closing)
            t->closing--;
        p->id = 0;
        t->count--;
    }
    pthread_mutex_unlock(&t->lock);
}

int64_t peers_request(struct peers *t, uint32_t id, int64_t now_us, int64_t now_real_us,
                      int64_t sent_real_us)
{
    int64_t waited = 0;
    pthread_mutex_lock(&t->lock);
    struct peer *p = id ? find(t, id) : NULL;
    if (p) {
        p->last_msg_us = now_us;
        p->held++;
        if (sent_real_us > 0) {
            int64_t offset = now_real_us - sent_real_us;
            if (now_us - p->window_start_us >= OFFSET_WINDOW_US) {
                p->offset_prev_us = p->have_offset ? p->offset_min_us : offset;
                p->offset_min_us = offset;
                p->window_start_us = now_us;
                p->refused_prev = p->refused;
                p->refused = 0;
            }
            if (!p->have_offset) {
                p->offset_min_us = p->offset_prev_us = offset;
                p->have_offset = true;
            }
            if (offset < p->offset_min_us)
                p->offset_min_us = offset;
            int64_t least =
                p->offset_prev_us < p->offset_min_us ? p->offset_prev_us : p->offset_min_us;
            waited = offset - least;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return waited;
}

bool peers_send_begin(struct peers *t, uint32_t id)
{
    pthread_mutex_lock(&t->lock);
    struct peer *p = id ? find(t, id) : NULL;
    bool ok = p && !p->closing;
    if (ok) {
        if (p->sends >= t->max_sends && !p->closing) {
            p->close_reason = "send_backlog";
            p->closing = true;
            t->closing++;
        }
        p->sends++;
    }
    pthread_mutex_unlock(&t->lock);
    return ok;
}

void peers_done(struct peers *t, uint32_t id)
{
    pthread_mutex_lock(&t->lock);
    struct peer *p = id ? find(t, id) : NULL;
    if (p && p->held > 0)
        p->held--;
    pthread_mutex_unlock(&t->lock);
}

void peers_send_end(struct peers *t, uint32_t id, bool timed_out)
{
    pthread_mutex_lock(&t->lock);
    struct peer *p = id ? find(t, id) : NULL;
    if (p) {
        if (p->sends > 0)
            p->sends--;
        if (timed_out && !p->closing) {
            p->close_reason = "send_timeout";
            p->closing = true;
            t->closing++;
        }
    }
    pthread_mutex_unlock(&t->lock);
}

void peers_refused(struct peers *t, uint32_t id)
{
    pthread_mutex_lock(&t->lock);
    struct peer *p = id ? find(t, id) : NULL;
    if (p && p->refused < UINT32_MAX)
        p->refused++;
    pthread_mutex_unlock(&t->lock);
}

uint32_t peers_refusals(struct peers *t, uint32_t id)
{
    pthread_mutex_lock(&t->lock);
    struct peer *p = id ? find(t, id) : NULL;
    uint64_t n = p ? (uint64_t)p->refused + p->refused_prev : 0;
    pthread_mutex_unlock(&t->lock);
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

bool peers_open(struct peers *t, uint32_t id)
{
    pthread_mutex_lock(&t->lock);
    bool open = id != 0 && find(t, id) != NULL;
    pthread_mutex_unlock(&t->lock);
    return open;
}

size_t peers_count(struct peers *t)
{
    pthread_mutex_lock(&t->lock);
    size_t n = t->count - t->closing;
    pthread_mutex_unlock(&t->lock);
    return n;
}

size_t peers_sweep(struct peers *t, int64_t now_us, int64_t idle_us, uint32_t *ids,
                   const char **reasons, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < 2 * t->capacity && n < max; i++) {
        struct peer *p = &t->slots[i];
        if (p->id == 0)
            continue;
        if (!p->closing && idle_us > 0 && p->held == 0 && now_us - p->last_msg_us >= idle_us) {
            p->close_reason = "idle";
            p->closing = true;
            t->closing++;
        }
        if (p->close_reason) {
            ids[n] = p->id;
            reasons[n] = p->close_reason;
            n++;
            p->close_reason = NULL;
            p->last_msg_us = now_us; /* not marked again while its close is under way */
        }
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}
