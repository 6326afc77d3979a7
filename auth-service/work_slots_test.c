/* The work pool: slots are taken up to the size, a waiter gets a released slot, the wait ends
 * at its deadline, and the queue bound refuses at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "work_slots.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct waiter {
    struct work_slots *ws;
    enum work_slots_status got;
};

static void *wait_for_slot(void *arg)
{
    struct waiter *w = arg;
    w->got = work_slots_acquire(w->ws, 5000);
    return NULL;
}

static void test_size_and_release(void **state)
{
    (void)state;
    struct work_slots ws;
    assert_int_equal(work_slots_init(&ws, 2, 0), 0);
    assert_int_equal(work_slots_acquire(&ws, 0), WORK_SLOTS_OK);
    assert_int_equal(work_slots_acquire(&ws, 0), WORK_SLOTS_OK);
    /* no queue: the third is refused at once */
    double t0 = now_ms();
    assert_int_equal(work_slots_acquire(&ws, 1000), WORK_SLOTS_QUEUE_FULL);
    assert_true(now_ms() - t0 < 500);
    int busy, waiting;
    work_slots_counts(&ws, &busy, &waiting);
    assert_int_equal(busy, 2);
    work_slots_release(&ws);
    assert_int_equal(work_slots_acquire(&ws, 0), WORK_SLOTS_OK);
    work_slots_release(&ws);
    work_slots_release(&ws);
    work_slots_counts(&ws, &busy, &waiting);
    assert_int_equal(busy, 0);
    work_slots_destroy(&ws);
}

static void test_wait_times_out(void **state)
{
    (void)state;
    struct work_slots ws;
    assert_int_equal(work_slots_init(&ws, 1, 4), 0);
    assert_int_equal(work_slots_acquire(&ws, 0), WORK_SLOTS_OK);
    double t0 = now_ms();
    assert_int_equal(work_slots_acquire(&ws, 150), WORK_SLOTS_TIMEOUT);
    double waited = now_ms() - t0;
    assert_true(waited >= 140 && waited < 2000);
    work_slots_release(&ws);
    work_slots_destroy(&ws);
}

static void test_waiter_gets_released_slot(void **state)
{
    (void)state;
    struct work_slots ws;
    assert_int_equal(work_slots_init(&ws, 1, 1), 0);
    assert_int_equal(work_slots_acquire(&ws, 0), WORK_SLOTS_OK);
    struct waiter w = {&ws, WORK_SLOTS_TIMEOUT};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, wait_for_slot, &w), 0);
    int busy = 0, waiting = 0;
    for (int i = 0; i < 500 && waiting == 0; i++) {
        struct timespec pause = {0, 2000000};
        nanosleep(&pause, NULL);
        work_slots_counts(&ws, &busy, &waiting);
    }
    assert_int_equal(waiting, 1);
    /* the queue (1) is full: another is refused */
    assert_int_equal(work_slots_acquire(&ws, 1000), WORK_SLOTS_QUEUE_FULL);
    work_slots_release(&ws);
    pthread_join(thread, NULL);
    assert_int_equal(w.got, WORK_SLOTS_OK);
    work_slots_release(&ws);
    work_slots_destroy(&ws);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_and_release),
        cmocka_unit_test(test_wait_times_out),
        cmocka_unit_test(test_waiter_gets_released_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
