/* Integration-test harness: starts a built binary, waits until it says it is ready, and always
 * stops it (at the end of the test, or at exit if the test fails first).
 *
 * Readiness protocol, followed by every mixtape service: once it is listening, the service
 * prints one line to stdout of the form
 *     ready addr=<address it actually bound> [more key=value pairs]
 * so a test can ask for port 0 (a free port) and learn the real one. */
#ifndef MIXTAPE_HARNESS_H
#define MIXTAPE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct harness_proc {
    pid_t pid;
    int stdout_fd;  /* the rest of the service's stdout, after the ready line */
    char addr[256]; /* the addr= value of the ready line */
    char ready_line[1024];
};

/* Path of a built binary: $MIXTAPE_BUILD_DIR/<relative>. Returns a static buffer. */
const char *harness_binary(const char *relative);

/* Path of a source file: $MIXTAPE_SOURCE_DIR/<relative>. Returns a static buffer. */
const char *harness_source(const char *relative);

/* Starts argv[0] with argv, the current environment plus env_extra ("NAME=value" strings,
 * NULL-terminated, may be NULL), and waits up to timeout_ms for the ready line. The service's
 * stderr goes to the test's stderr. Returns 0 with *proc filled, or -1 (the process, if any,
 * is killed and its exit is reported on stderr). Registered for stopping at exit. */
int harness_start(struct harness_proc *proc, char *const argv[], char *const env_extra[],
                  int timeout_ms);

/* Sends SIGTERM, waits up to timeout_ms for exit, then SIGKILL. Returns the exit status as
 * waitpid reports it, or -1 if it was already stopped. */
int harness_stop(struct harness_proc *proc, int timeout_ms);

/* Sends SIGKILL at once (a crash, as far as peers can tell) and reaps the process. */
void harness_kill(struct harness_proc *proc);

/* True if the process has exited (and reaps it). */
bool harness_exited(struct harness_proc *proc, int *status);

/* Runs argv to completion with stdin from /dev/null, capturing at most out_len-1 bytes of
 * stdout into out (NUL-terminated; may be NULL) and of stderr into err (may be NULL).
 * Returns the exit status (0..255), 128+signal if killed by one, or -1 if it could not run or
 * took longer than timeout_ms (then it is killed). */
int harness_run(char *const argv[], char *out, size_t out_len, char *err, size_t err_len,
                int timeout_ms);

#endif
