/* Per-endpoint health for the RPC client (issue 16): failure accrual and outlier ejection
 * (consecutive failures or slow answers eject an endpoint for an exponential backoff, with a
 * cap on how many are ejected at once), readmission by a passing Health probe, and a retry
 * budget so that retries cannot multiply the load a sick instance causes. Pure logic on
 * caller-supplied clocks; no locking (the client holds its lock around every call). */
#ifndef MIXTAPE_ENDPOINT_HEALTH_H
#define MIXTAPE_ENDPOINT_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

/* Consecutive failures (errors, lost connections, attempts that timed out) that eject. */
#define HEALTH_EJECT_AFTER 2u
/* First ejection lasts this long; each re-ejection soon after a readmission doubles it. */
#define HEALTH_BACKOFF_BASE_MS 1000
#define HEALTH_BACKOFF_MAX_MS  30000
/* Healthy this long after a readmission, an endpoint's backoff starts again from the base. */
#define HEALTH_FORGIVE_MS 30000

enum health_state {
    HEALTH_ACTIVE = 0, /* takes calls */
    HEALTH_EJECTED,    /* takes no calls; probed until it answers and its backoff has passed */
};

struct endpoint_health {
    enum health_state state;
    unsigned consecutive_failures;
    unsigned backoff_level;   /* ejections in a row without a forgiving healthy period */
    int64_t ejected_until_ms; /* the earliest readmission */
    int64_t readmitted_ms;    /* when it last came back, for forgiving the backoff */
    uint64_t successes, failures, ejections, readmissions;
};

/* At most this many of n endpoints may be ejected at once (half, rounded down). */
unsigned health_max_ejected(unsigned n_endpoints);

/* A call on the endpoint answered (any reply but UNAVAILABLE). */
void health_success(struct endpoint_health *h, int64_t now_ms);

/* A call on the endpoint failed (error, lost connection, no answer in the attempt's time,
 * UNAVAILABLE). ejected_now is how many endpoints of n_endpoints are ejected. Returns true
 * when this failure ejected the endpoint (the caller then re-dials it and starts probing). */
bool health_failure(struct endpoint_health *h, int64_t now_ms, unsigned ejected_now,
                    unsigned n_endpoints);

/* A Health probe of an ejected endpoint ended (ok: it answered OK). Returns true when the
 * endpoint is readmitted (the probe passed and its backoff is over). */
bool health_probe(struct endpoint_health *h, int64_t now_ms, bool ok);

/* Envoy's retry budget with Finagle's floor: each call deposits `ratio` of a token, and
 * `min_per_s` tokens accrue each second, up to `cap`; a retry takes one token. */
struct retry_budget {
    double tokens, ratio, min_per_s, cap;
    int64_t refilled_ms;
    uint64_t granted, refused;
};

void retry_budget_init(struct retry_budget *b, double ratio, double min_per_s, double cap,
                       int64_t now_ms);
void retry_budget_deposit(struct retry_budget *b, int64_t now_ms);
/* Returns true and takes a token when a retry is allowed now. */
bool retry_budget_take(struct retry_budget *b, int64_t now_ms);

/* The observed latency of successful calls: a ring of the latest samples and their p99. */
#define LATENCY_SAMPLES 512u
struct latency_window {
    uint32_t us[LATENCY_SAMPLES];
    unsigned n, next, since_update;
    uint32_t p99_us; /* 0 until there are enough samples */
};

void latency_add(struct latency_window *w, uint32_t us);

/* The per-attempt timeout, in ms, for a call with remaining_ms left: a multiple of the
 * observed p99 with a floor (a first guess before there are samples), never more than
 * remaining_ms. */
#define ATTEMPT_P99_MULTIPLE 4u
#define ATTEMPT_FLOOR_MS     150u
#define ATTEMPT_UNKNOWN_MS   1000u
uint32_t attempt_timeout_ms(const struct latency_window *w, uint32_t remaining_ms);

#endif
