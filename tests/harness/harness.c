/* Starting, waiting for and stopping services under test: see harness.h. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_RUNNING 32
static pid_t running[MAX_RUNNING];
static bool atexit_registered;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void stop_all_at_exit(void)
{
    for (int i = 0; i < MAX_RUNNING; i++) {
        if (running[i] > 0) {
            kill(-running[i], SIGKILL);
            waitpid(running[i], NULL, 0);
            running[i] = 0;
        }
    }
}

static void track(pid_t pid, bool add)
{
    for (int i = 0; i < MAX_RUNNING; i++) {
        if (add && running[i] == 0) {
            running[i] = pid;
            return;
        }
        if (!add && running[i] == pid) {
            running[i] = 0;
            return;
        }
    }
}

static const char *path_under(const char *env_name, const char *relative)
{
    static _Thread_local char path[4096];
    const char *base = getenv(env_name);
    snprintf(path, sizeof path, "%s/%s", base ? base : ".", relative);
    return path;
}

const char *harness_binary(const char *relative)
{
    return path_under("MIXTAPE_BUILD_DIR", relative);
}

const char *harness_source(const char *relative)
{
    return path_under("MIXTAPE_SOURCE_DIR", relative);
}

static char **merged_environment(char *const env_extra[])
{
    size_t n_env = 0, n_extra = 0;
    while (environ[n_env])
        n_env++;
    while (env_extra && env_extra[n_extra])
        n_extra++;
    char **env = calloc(n_env + n_extra + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t used = 0;
    for (size_t i = 0; i < n_env; i++) {
        bool overridden = false;
        const char *eq = strchr(environ[i], '=');
        size_t name_len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        for (size_t j = 0; j < n_extra; j++)
            if (strncmp(env_extra[j], environ[i], name_len) == 0 && env_extra[j][name_len] == '=')
                overridden = true;
        if (!overridden)
            env[used++] = environ[i];
    }
    for (size_t j = 0; j < n_extra; j++)
        env[used++] = env_extra[j];
    env[used] = NULL;
    return env;
}

/* Reads one line from fd into line (without the newline), waiting until deadline. */
static int read_line(int fd, char *line, size_t len, long long deadline)
{
    size_t used = 0;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        char c;
        ssize_t got = read(fd, &c, 1);
        if (got <= 0)
            return -1;
        if (c == '\n') {
            line[used] = '\0';
            return 0;
        }
        if (used + 1 < len)
            line[used++] = c;
    }
}

int harness_start(struct harness_proc *proc, char *const argv[], char *const env_extra[],
                  int timeout_ms)
{
    if (!atexit_registered) {
        atexit(stop_all_at_exit);
        atexit_registered = true;
    }
    memset(proc, 0, sizeof *proc);
    proc->pid = -1;
    proc->stdout_fd = -1;

    int out[2];
    if (pipe(out) != 0)
        return -1;
    char **env = merged_environment(env_extra);
    if (!env) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0); /* its own group, so stopping it stops whatever it started */
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        execve(argv[0], argv, env);
        fprintf(stderr, "harness: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(env);
    if (pid > 0)
        setpgid(pid, pid); /* also here, so the group exists before any kill */
    close(out[1]);
    if (pid < 0) {
        close(out[0]);
        return -1;
    }
    proc->pid = pid;
    proc->stdout_fd = out[0];
    track(pid, true);

    long long deadline = now_ms() + timeout_ms;
    char line[1024];
    while (read_line(out[0], line, sizeof line, deadline) == 0) {
        if (strncmp(line, "ready", 5) != 0)
            continue;
        snprintf(proc->ready_line, sizeof proc->ready_line, "%s", line);
        const char *addr = strstr(line, "addr=");
        if (addr) {
            addr += 5;
            size_t n = strcspn(addr, " ");
            if (n >= sizeof proc->addr)
                n = sizeof proc->addr - 1;
            memcpy(proc->addr, addr, n);
            proc->addr[n] = '\0';
        }
        return 0;
    }
    fprintf(stderr, "harness: %s did not print its ready line within %d ms\n", argv[0], timeout_ms);
    harness_kill(proc);
    return -1;
}

bool harness_exited(struct harness_proc *proc, int *status)
{
    if (proc->pid <= 0)
        return true;
    int st;
    pid_t r = waitpid(proc->pid, &st, WNOHANG);
    if (r == proc->pid) {
        track(proc->pid, false);
        proc->pid = -1;
        if (status)
            *status = st;
        return true;
    }
    return false;
}

int harness_stop(struct harness_proc *proc, int timeout_ms)
{
    if (proc->pid <= 0)
        return -1;
    pid_t pid_group = proc->pid;
    kill(proc->pid, SIGTERM);
    long long deadline = now_ms() + timeout_ms;
    int status = -1;
    while (now_ms() < deadline) {
        if (harness_exited(proc, &status))
            goto done;
        usleep(10000);
    }
    fprintf(stderr, "harness: pid %d ignored SIGTERM for %d ms; killing it\n", (int)proc->pid,
            timeout_ms);
    kill(-proc->pid, SIGKILL);
    waitpid(proc->pid, &status, 0);
    track(proc->pid, false);
    proc->pid = -1;
done:
    if (pid_group > 0)
        kill(-pid_group, SIGKILL); /* anything the service left behind */
    if (proc->stdout_fd >= 0) {
        close(proc->stdout_fd);
        proc->stdout_fd = -1;
    }
    return status;
}

void harness_kill(struct harness_proc *proc)
{
    if (proc->pid > 0) {
        kill(-proc->pid, SIGKILL);
        waitpid(proc->pid, NULL, 0);
        track(proc->pid, false);
        proc->pid = -1;
    }
    if (proc->stdout_fd >= 0) {
        close(proc->stdout_fd);
        proc->stdout_fd = -1;
    }
}

/* Drains whichever of the two pipes is readable into its buffer until both close. */
static int drain(int out_fd, int err_fd, char *out, size_t out_len, char *err, size_t err_len,
                 long long deadline)
{
    size_t out_used = 0, err_used = 0;
    struct pollfd pfd[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
    while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        int r = poll(pfd, 2, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        for (int i = 0; i < 2; i++) {
            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char chunk[4096];
            ssize_t got = read(pfd[i].fd, chunk, sizeof chunk);
            if (got <= 0) {
                pfd[i].fd = -1;
                continue;
            }
            char *dst = i == 0 ? out : err;
            size_t dst_len = i == 0 ? out_len : err_len;
            size_t *used = i == 0 ? &out_used : &err_used;
            if (dst && dst_len > 0) {
                size_t room = dst_len - 1 - *used;
                size_t n = (size_t)got < room ? (size_t)got : room;
                memcpy(dst + *used, chunk, n);
                *used += n;
                dst[*used] = '\0';
            }
        }
    }
    return 0;
}

int harness_run(char *const argv[], char *out, size_t out_len, char *err, size_t err_len,
                int timeout_ms)
{
    if (out && out_len)
        out[0] = '\0';
    if (err && err_len)
        err[0] = '\0';
    int po[2], pe[2];
    if (pipe(po) != 0)
        return -1;
    if (pipe(pe) != 0) {
        close(po[0]);
        close(po[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(po[1], STDOUT_FILENO);
        dup2(pe[1], STDERR_FILENO);
        close(po[0]);
        close(po[1]);
        close(pe[0]);
        close(pe[1]);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        execv(argv[0], argv);
        fprintf(stderr, "harness: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    if (pid < 0) {
        close(po[0]);
        close(pe[0]);
        return -1;
    }
    int drained = drain(po[0], pe[0], out, out_len, err, err_len, now_ms() + timeout_ms);
    close(po[0]);
    close(pe[0]);
    if (drained != 0)
        kill(-pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    if (drained != 0)
        return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}
