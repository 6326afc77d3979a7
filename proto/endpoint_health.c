/* The RPC client's per-endpoint health (endpoint_health.h): ejection with exponential
 * backoff and a cap, probe readmission, the retry budget and the per-attempt timeout from the
 * observed p99. */
#include "endpoint_health.h"

#include <stdlib.h>
#include <string.h>

unsigned health_max_ejected(unsigned n_endpoints)
{
    return n_endpoints / 2u;
}

void health_success(struct endpoint_health *h, int64_t now_ms)
{
    h->successes++;
    h->consecutive_failures = 0;
    if (h->state == HEALTH_ACTIVE && h->backoff_level > 0 &&
        now_ms - h->readmitted_ms >= HEALTH_FORGIVE_MS)
        h->backoff_level = 0;
}

bool health_failure(struct endpoint_health *h, int64_t now_ms, unsigned ejected_now,
                    unsigned n_endpoints)
{
    h->failures++;
    if (h->state == HEALTH_EJECTED)
        return false;
    h->consecutive_failures++;
    if (h->consecutive_failures < HEALTH_EJECT_AFTER ||
        ejected_now >= health_max_ejected(n_endpoints))
        return false;
    if (h->backoff_level > 0 && now_ms - h->readmitted_ms >= HEALTH_FORGIVE_MS)
        h->backoff_level = 0;
    int64_t backoff = HEALTH_BACKOFF_BASE_MS;
    for (unsigned i = 0; i < h->backoff_level && backoff < HEALTH_BACKOFF_MAX_MS; i++)
        backoff *= 2;
    if (backoff > HEALTH_BACKOFF_MAX_MS)
        backoff = HEALTH_BACKOFF_MAX_MS;
    h->backoff_level++;
    h->state = HEALTH_EJECTED;
    h->ejected_until_ms = now_ms + backoff;
    h->ejections++;
    return true;
}

bool health_probe(struct endpoint_health *h, int64_t now_ms, bool ok)
{
    if (h->state != HEALTH_EJECTED || !ok || now_ms < h->ejected_until_ms)
        return false;
    h->state = HEALTH_ACTIVE;
    h->consecutive_failures = 0;
    h->readmitted_ms = now_ms;
    h->readmissions++;
    return true;
}

static void refill(struct retry_budget *b, int64_t now_ms)
{
    if (now_ms > b->refilled_ms) {
        b->tokens += b->min_per_s * (double)(now_ms - b->refilled_ms) / 1000.0;
        b->refilled_ms = now_ms;
    }
    if (b->tokens > b->cap)
        b->tokens = b->cap;
}

void retry_budget_init(struct retry_budget *b, double ratio, double min_per_s, double cap,
                       int64_t now_ms)
{
    memset(b, 0, sizeof *b);
    b->ratio = ratio;
    b->min_per_s = min_per_s;
    b->cap = cap;
    b->tokens = min_per_s < cap ? min_per_s : cap;
    b->refilled_ms = now_ms;
}

void retry_budget_deposit(struct retry_budget *b, int64_t now_ms)
{
    b->tokens += b->ratio;
    refill(b, now_ms);
}

bool retry_budget_take(struct retry_budget *b, int64_t now_ms)
{
    refill(b, now_ms);
    if (b->tokens < 1.0) {
        b->refused++;
        return false;
    }
    b->tokens -= 1.0;
    b->granted++;
    return true;
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Below this many samples the p99 means little; the first guess stands. */
#define LATENCY_MIN_SAMPLES 50u
/* Recompute the p99 after this many new samples (a sort of at most LATENCY_SAMPLES). */
#define LATENCY_UPDATE_EVERY 64u

void latency_add(struct latency_window *w, uint32_t us)
{
    w->us[w->next] = us;
    w->next = (w->next + 1) % LATENCY_SAMPLES;
    if (w->n < LATENCY_SAMPLES)
        w->n++;
    w->since_update++;
    if (w->n < LATENCY_MIN_SAMPLES || (w->since_update < LATENCY_UPDATE_EVERY && w->p99_us != 0))
        return;
    w->since_update = 0;
    uint32_t sorted[LATENCY_SAMPLES];
    memcpy(sorted, w->us, w->n * sizeof sorted[0]);
    qsort(sorted, w->n, sizeof sorted[0], compare_u32);
    unsigned at = (w->n * 99u) / 100u;
    if (at >= w->n)
        at = w->n - 1;
    w->p99_us = sorted[at] > 0 ? sorted[at] : 1;
}

uint32_t attempt_timeout_ms(const struct latency_window *w, uint32_t remaining_ms)
{
    uint64_t ms = ATTEMPT_UNKNOWN_MS;
    if (w->p99_us != 0) {
        ms = ((uint64_t)w->p99_us * ATTEMPT_P99_MULTIPLE + 999u) / 1000u;
        if (ms < ATTEMPT_FLOOR_MS)
            ms = ATTEMPT_FLOOR_MS;
    }
    return ms < remaining_ms ? (uint32_t)ms : remaining_ms;
}
