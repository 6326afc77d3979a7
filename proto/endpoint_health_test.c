/* Tables for the RPC client's endpoint health: ejection after consecutive failures, the cap
 * of half the endpoints, exponential backoff and its forgiveness, probe readmission, the retry
 * budget and the per-attempt timeout from the observed p99. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "endpoint_health.h"

/* One step of a scripted endpoint life. */
enum step_kind { FAIL, SUCCEED, PROBE_OK, PROBE_FAIL };
struct step {
    enum step_kind kind;
    int64_t at_ms;
    unsigned ejected_now, n_endpoints; /* for FAIL */
    bool expect;                       /* FAIL: ejected now; PROBE_*: readmitted now */
    enum health_state state_after;
};

static void run_script(const char *name, const struct step *steps, size_t n)
{
    struct endpoint_health h;
    memset(&h, 0, sizeof h);
    for (size_t i = 0; i < n; i++) {
        const struct step *s = &steps[i];
        bool got = false;
        switch (s->kind) {
        case FAIL:
            got = health_failure(&h, s->at_ms, s->ejected_now, s->n_endpoints);
            break;
        case SUCCEED:
            health_success(&h, s->at_ms);
            break;
        case PROBE_OK:
        case PROBE_FAIL:
            got = health_probe(&h, s->at_ms, s->kind == PROBE_OK);
            break;
        }
        if (got != s->expect || h.state != s->state_after)
            fail_msg("%s, step %zu: returned %d (want %d), state %d (want %d)", name, i, got,
                     s->expect, h.state, s->state_after);
    }
}

static void test_ejection_and_readmission(void **state)
{
    (void)state;
    const enum health_state A = HEALTH_ACTIVE, E = HEALTH_EJECTED;
    /* Two failures in a row eject; a success between them resets the count. */
    static const struct step reset[] = {
        {FAIL, 0, 0, 3, false, HEALTH_ACTIVE},
        {SUCCEED, 1, 0, 0, false, HEALTH_ACTIVE},
        {FAIL, 2, 0, 3, false, HEALTH_ACTIVE},
        {FAIL, 3, 0, 3, true, HEALTH_EJECTED},
    };
    run_script("reset by success", reset, sizeof reset / sizeof reset[0]);
    /* The cap: with 3 endpoints one may be ejected, with 1 none, with 4 two. */
    static const struct step cap[] = {
        {FAIL, 0, 1, 3, false, HEALTH_ACTIVE},
        {FAIL, 1, 1, 3, false, HEALTH_ACTIVE}, /* another is out: this one stays */
        {FAIL, 2, 0, 1, false, HEALTH_ACTIVE}, /* a lone endpoint is never ejected */
        {FAIL, 3, 1, 4, true, HEALTH_EJECTED}, /* 1 of 4 out: a second may go */
    };
    run_script("cap", cap, sizeof cap / sizeof cap[0]);
    /* Probes: not before the backoff (1 s), not when they fail; then readmitted. */
    static const struct step probes[] = {
        {FAIL, 0, 0, 3, false, HEALTH_ACTIVE},
        {FAIL, 0, 0, 3, true, HEALTH_EJECTED},
        {FAIL, 10, 0, 3, false, HEALTH_EJECTED}, /* failures while out change nothing */
        {PROBE_OK, 500, 0, 0, false, HEALTH_EJECTED},
        {PROBE_FAIL, 1000, 0, 0, false, HEALTH_EJECTED},
        {PROBE_OK, 1000, 0, 0, true, HEALTH_ACTIVE},
        {PROBE_OK, 1100, 0, 0, false, HEALTH_ACTIVE}, /* not ejected: nothing to readmit */
    };
    run_script("probes", probes, sizeof probes / sizeof probes[0]);
    (void)A;
    (void)E;
}

static void test_backoff(void **state)
{
    (void)state;
    /* Re-ejected soon after each readmission: 1, 2, 4, 8, 16, 30, 30 s. After a healthy
     * HEALTH_FORGIVE_MS the next ejection is back to 1 s. */
    static const int64_t want[] = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
    struct endpoint_health h;
    memset(&h, 0, sizeof h);
    int64_t now = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        health_failure(&h, now, 0, 3);
        assert_true(health_failure(&h, now, 0, 3));
        assert_int_equal(h.ejected_until_ms - now, want[i]);
        now = h.ejected_until_ms;
        assert_true(health_probe(&h, now, true));
        now += 100;
    }
    assert_int_equal(h.ejections, 7);
    assert_int_equal(h.readmissions, 7);
    now += HEALTH_FORGIVE_MS;
    health_success(&h, now);
    health_failure(&h, now, 0, 3);
    assert_true(health_failure(&h, now, 0, 3));
    assert_int_equal(h.ejected_until_ms - now, HEALTH_BACKOFF_BASE_MS);
    assert_int_equal(health_max_ejected(0), 0);
    assert_int_equal(health_max_ejected(2), 1);
    assert_int_equal(health_max_ejected(5), 2);
}

static void test_retry_budget(void **state)
{
    (void)state;
    /* ratio 0.2, floor 10/s, cap 20: starts with 10 tokens. */
    struct retry_budget b;
    retry_budget_init(&b, 0.2, 10.0, 20.0, 0);
    int granted = 0;
    while (retry_budget_take(&b, 0))
        granted++;
    assert_int_equal(granted, 10);
    assert_int_equal(b.refused, 1);
    /* 100 calls deposit 20 tokens, capped at 20. */
    for (int i = 0; i < 200; i++)
        retry_budget_deposit(&b, 0);
    granted = 0;
    while (retry_budget_take(&b, 0))
        granted++;
    assert_int_equal(granted, 20);
    /* Time alone refills the floor: 0.5 s gives 5. */
    granted = 0;
    while (retry_budget_take(&b, 500))
        granted++;
    assert_int_equal(granted, 5);
    /* A sick instance cannot multiply load: 1,000 calls allow at most 20% retries + floor. */
    retry_budget_init(&b, 0.2, 10.0, 100.0, 0);
    granted = 0;
    for (int i = 0; i < 1000; i++) {
        retry_budget_deposit(&b, i); /* 1,000 calls in one second */
        if (retry_budget_take(&b, i))
            granted++;
    }
    assert_true(granted <= 200 + 20);
    assert_true(granted >= 200);
}

static void test_attempt_timeout(void **state)
{
    (void)state;
    struct latency_window w;
    memset(&w, 0, sizeof w);
    /* No samples: the first guess, bounded by what is left of the call. */
    assert_int_equal(attempt_timeout_ms(&w, 10000), ATTEMPT_UNKNOWN_MS);
    assert_int_equal(attempt_timeout_ms(&w, 300), 300);
    /* One call in 50 takes 100 ms, the rest 1 ms: p99 = 100 ms, timeout 4x = 400 ms. */
    for (uint32_t i = 0; i < 2 * LATENCY_SAMPLES; i++)
        latency_add(&w, i % 50 == 0 ? 100000 : 1000);
    assert_int_equal(w.p99_us, 100000);
    assert_int_equal(attempt_timeout_ms(&w, 10000), 400);
    assert_int_equal(attempt_timeout_ms(&w, 250), 250);
    /* Fast calls: the floor. */
    static const struct {
        uint32_t sample_us, want_ms;
    } cases[] = {{200, ATTEMPT_FLOOR_MS}, {30000, 150}, {50000, 200}, {250000, 1000}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memset(&w, 0, sizeof w);
        for (unsigned i = 0; i < LATENCY_SAMPLES; i++)
            latency_add(&w, cases[c].sample_us);
        if (attempt_timeout_ms(&w, 60000) != cases[c].want_ms)
            fail_msg("samples of %u us: %u ms, want %u", cases[c].sample_us,
                     attempt_timeout_ms(&w, 60000), cases[c].want_ms);
    }
    /* The window forgets: old slow samples leave as new fast ones arrive. */
    memset(&w, 0, sizeof w);
    for (unsigned i = 0; i < LATENCY_SAMPLES; i++)
        latency_add(&w, 500000);
    for (unsigned i = 0; i < LATENCY_SAMPLES + 64; i++)
        latency_add(&w, 1000);
    assert_int_equal(attempt_timeout_ms(&w, 60000), ATTEMPT_FLOOR_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ejection_and_readmission),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_retry_budget),
        cmocka_unit_test(test_attempt_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
