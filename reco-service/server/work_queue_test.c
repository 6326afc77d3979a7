/* work_queue: FIFO within a connection, round-robin across connections, a full queue refuses
 * the greediest connection's newcomers and makes room for others by evicting its newest job,
 * close wakes the workers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "work_queue.h"

static void test_round_robin(void **state)
{
    (void)state;
    struct work_queue q;
    assert_int_equal(work_queue_init(&q, 16), 0);
    struct work_job jobs[6] = {0};
    uint32_t conns[6] = {1, 1, 1, 1, 2, 3};
    struct work_job *evicted;
    for (int i = 0; i < 6; i++) {
        jobs[i].conn = conns[i];
        assert_int_equal(work_queue_push(&q, &jobs[i], &evicted), WORK_QUEUE_OK);
        assert_null(evicted);
    }
    assert_int_equal(work_queue_depth(&q), 6);
    /* conn 1's first, then 2, 3, then the rest of 1 in order. */
    struct work_job *want[6] = {&jobs[0], &jobs[4], &jobs[5], &jobs[1], &jobs[2], &jobs[3]};
    for (int i = 0; i < 6; i++)
        assert_ptr_equal(work_queue_pop(&q), want[i]);
    assert_int_equal(work_queue_depth(&q), 0);
    work_queue_destroy(&q);
}

static void test_full(void **state)
{
    (void)state;
    struct work_queue q;
    assert_int_equal(work_queue_init(&q, 4), 0);
    struct work_job greedy[5] = {0}, other[3] = {0};
    struct work_job *evicted;
    for (int i = 0; i < 4; i++) {
        greedy[i].conn = 7;
        assert_int_equal(work_queue_push(&q, &greedy[i], &evicted), WORK_QUEUE_OK);
    }
    /* The greedy connection itself is refused. */
    greedy[4].conn = 7;
    assert_int_equal(work_queue_push(&q, &greedy[4], &evicted), WORK_QUEUE_FULL);
    assert_null(evicted);
    /* Another connection gets in; the greedy one's newest job goes. */
    other[0].conn = 9;
    assert_int_equal(work_queue_push(&q, &other[0], &evicted), WORK_QUEUE_EVICTED);
    assert_ptr_equal(evicted, &greedy[3]);
    other[1].conn = 9;
    assert_int_equal(work_queue_push(&q, &other[1], &evicted), WORK_QUEUE_EVICTED);
    assert_ptr_equal(evicted, &greedy[2]);
    /* Now 2 and 2: equal shares, so conn 9 is refused too. */
    other[2].conn = 9;
    assert_int_equal(work_queue_push(&q, &other[2], &evicted), WORK_QUEUE_FULL);
    assert_int_equal(work_queue_depth(&q), 4);
    assert_ptr_equal(work_queue_pop(&q), &greedy[0]);
    assert_ptr_equal(work_queue_pop(&q), &other[0]);
    assert_ptr_equal(work_queue_pop(&q), &greedy[1]);
    assert_ptr_equal(work_queue_pop(&q), &other[1]);
    work_queue_destroy(&q);

    /* Four connections with one job each fill a queue of 4; a fifth with none gets in by
     * evicting one of them, and another job of the fifth is refused. */
    assert_int_equal(work_queue_init(&q, 4), 0);
    struct work_job single[6] = {0};
    for (int i = 0; i < 4; i++) {
        single[i].conn = (uint32_t)(20 + i);
        single[i].weight = i == 2 ? 50 : 1; /* conn 22 has been refused the most */
        assert_int_equal(work_queue_push(&q, &single[i], &evicted), WORK_QUEUE_OK);
    }
    single[4].conn = 30;
    assert_int_equal(work_queue_push(&q, &single[4], &evicted), WORK_QUEUE_EVICTED);
    assert_non_null(evicted);
    uint32_t gone = evicted->conn;
    assert_int_equal(gone, 22);
    single[5].conn = 30;
    assert_int_equal(work_queue_push(&q, &single[5], &evicted), WORK_QUEUE_FULL);
    for (int i = 0; i < 4; i++) {
        struct work_job *job = work_queue_pop(&q);
        assert_non_null(job);
        assert_int_not_equal(job->conn, gone);
    }
    assert_int_equal(work_queue_depth(&q), 0);
    work_queue_destroy(&q);
    assert_string_equal(work_queue_strerror(WORK_QUEUE_FULL), "FULL");
}

static void *popper(void *arg)
{
    return work_queue_pop(arg);
}

static void test_close_wakes(void **state)
{
    (void)state;
    struct work_queue q;
    assert_int_equal(work_queue_init(&q, 2), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, popper, &q), 0);
    struct work_job job = {.conn = 1};
    struct work_job *evicted;
    assert_int_equal(work_queue_push(&q, &job, &evicted), WORK_QUEUE_OK);
    void *got = NULL;
    pthread_join(t, &got);
    assert_ptr_equal(got, &job);
    assert_int_equal(pthread_create(&t, NULL, popper, &q), 0);
    work_queue_close(&q);
    pthread_join(t, &got);
    assert_null(got);
    assert_int_equal(work_queue_push(&q, &job, &evicted), WORK_QUEUE_CLOSED);
    work_queue_destroy(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_robin),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_close_wakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
