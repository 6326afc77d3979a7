/* Tests of the integration harness itself, against a shell standing in for a service. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "harness.h"

static void test_start_reads_ready_line_and_stop_terminates(void **state)
{
    (void)state;
    /* Like a real service, it installs its SIGTERM handler before it says it is ready. */
    char *argv[] = {"/bin/sh", "-c",
                    "trap 'exit 0' TERM; echo starting; echo ready addr=127.0.0.1:4242 k=v; "
                    "while :; do sleep 0.05; done",
                    NULL};
    struct harness_proc proc;
    assert_int_equal(harness_start(&proc, argv, NULL, 5000), 0);
    assert_string_equal(proc.addr, "127.0.0.1:4242");
    assert_false(harness_exited(&proc, NULL));
    int status = harness_stop(&proc, 5000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_start_fails_without_ready_line(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sh", "-c", "echo not yet; exit 3", NULL};
    struct harness_proc proc;
    assert_int_equal(harness_start(&proc, argv, NULL, 2000), -1);
}

static void test_environment_reaches_the_service(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sh", "-c", "echo ready addr=$HARNESS_TEST_ADDR; sleep 30", NULL};
    char *env[] = {"HARNESS_TEST_ADDR=ipc:///tmp/x", NULL};
    struct harness_proc proc;
    assert_int_equal(harness_start(&proc, argv, env, 5000), 0);
    assert_string_equal(proc.addr, "ipc:///tmp/x");
    harness_kill(&proc);
    assert_true(harness_exited(&proc, NULL));
}

static void test_run_captures_output_and_status(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 7", NULL};
    char out[64], err[64];
    assert_int_equal(harness_run(argv, out, sizeof out, err, sizeof err, 5000), 7);
    assert_string_equal(out, "out\n");
    assert_string_equal(err, "err\n");
    char *slow[] = {"/bin/sh", "-c", "sleep 5", NULL};
    assert_int_equal(harness_run(slow, NULL, 0, NULL, 0, 200), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_reads_ready_line_and_stop_terminates),
        cmocka_unit_test(test_start_fails_without_ready_line),
        cmocka_unit_test(test_environment_reaches_the_service),
        cmocka_unit_test(test_run_captures_output_and_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
