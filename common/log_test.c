/* log: one line per event, the level threshold, and values with control characters written
 * as \xNN so that no value (a peer's method name, a reason quoting it) can end the line and
 * forge another. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Runs log_emit with stderr captured; returns what it wrote (static buffer). */
static const char *captured(enum log_level level, const char *event, const char *value)
{
    static char out[4096];
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    log_emit(level, event, "method=%s reason=\"%s\"", value, value);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], out, sizeof out - 1);
    close(fds[0]);
    out[n > 0 ? n : 0] = '\0';
    return out;
}

static void test_escapes_control_characters(void **state)
{
    (void)state;
    const char *line =
        captured(LOG_LEVEL_WARN, "request", "X\nts=2026 level=error event=forged\r\x1b[2J\x7f");
    assert_non_null(strstr(line, "level=warn event=request method=X\\x0ats=2026 level=error "
                                 "event=forged\\x0d\\x1b[2J\\x7f reason=\"X\\x0ats=2026"));
    /* One line: the only newline is the last byte. */
    assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1);
    assert_int_equal(strncmp(line, "ts=", 3), 0);
}

static void test_plain_and_long(void **state)
{
    (void)state;
    const char *line = captured(LOG_LEVEL_INFO, "request", "Recommend");
    assert_non_null(
        strstr(line, "level=info event=request method=Recommend reason=\"Recommend\"\n"));
    char big[3000];
    memset(big, '\n', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    line = captured(LOG_LEVEL_INFO, "request", big);
    assert_ptr_equal(strchr(line, '\n'), line + strlen(line) - 1); /* cut, still one line */
    assert_true(strlen(line) < 2048);
}

static void test_levels(void **state)
{
    (void)state;
    enum log_level level;
    assert_int_equal(log_parse_level("warn", &level), 0);
    assert_int_equal(level, LOG_LEVEL_WARN);
    assert_int_equal(log_parse_level("loud", &level), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes_control_characters),
        cmocka_unit_test(test_plain_and_long),
        cmocka_unit_test(test_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
