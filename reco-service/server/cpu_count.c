/* The cores reco-service may use (affinity mask and cgroup v2 quota): see cpu_count.h. */
/* glibc's feature-test macro, for sched_getaffinity and CPU_COUNT */
#define _GNU_SOURCE /* NOLINT(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
#include "cpu_count.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cpu_quota_cores(const char *cpu_max)
{
    /* "QUOTA PERIOD\n", QUOTA being "max" or a whole number of microseconds. */
    if (!cpu_max || strncmp(cpu_max, "max", 3) == 0 || *cpu_max < '0' || *cpu_max > '9')
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long q = strtoull(cpu_max, &end, 10);
    if (errno != 0 || *end != ' ' || q == 0)
        return 0;
    const char *period_text = end + 1;
    if (*period_text < '0' || *period_text > '9')
        return 0;
    errno = 0;
    unsigned long long period = strtoull(period_text, &end, 10);
    if (errno != 0 || period == 0 || (*end != '\0' && *end != '\n'))
        return 0;
    unsigned long long cores = (q + period - 1) / period;
    if (cores > INT_MAX)
        return 0;
    return cores < 1 ? 1 : (int)cores;
}

int cpu_quota_cores_v1(long long quota_us, long long period_us)
{
    if (quota_us <= 0 || period_us <= 0)
        return 0;
    long long cores = (quota_us + period_us - 1) / period_us;
    if (cores > INT_MAX)
        return 0;
    return cores < 1 ? 1 : (int)cores;
}

/* A number read from a file, or -1. */
static long long read_number(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char text[32];
    long long value = -1;
    if (fgets(text, sizeof text, f)) {
        char *end = NULL;
        errno = 0;
        long long read = strtoll(text, &end, 10);
        if (errno == 0 && end != text && (*end == '\0' || *end == '\n'))
            value = read;
    }
    fclose(f);
    return value;
}

/* The v1 quota of this process's cpu cgroup, or 0. */
static int cgroup_v1_quota(const char *root)
{
    char line[PATH_MAX], dir[2 * PATH_MAX + 64], path[3 * PATH_MAX];
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        return 0;
    int quota = 0;
    while (quota == 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *controllers = strchr(line, ':');
        char *rel = controllers ? strchr(controllers + 1, ':') : NULL;
        if (!rel)
            continue;
        *rel++ = '\0';
        controllers++;
        bool has_cpu = false;
        for (char *save = NULL, *c = strtok_r(controllers, ",", &save); c;
             c = strtok_r(NULL, ",", &save))
            has_cpu |= strcmp(c, "cpu") == 0;
        if (!has_cpu)
            continue;
        static const char *const mounts[] = {"cpu", "cpu,cpuacct", "cpuacct,cpu"};
        for (size_t m = 0; m < sizeof mounts / sizeof mounts[0] && quota == 0; m++) {
            snprintf(dir, sizeof dir, "%s/%s%s", root, mounts[m], strcmp(rel, "/") ? rel : "");
            snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
            long long q = read_number(path);
            snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
            quota = cpu_quota_cores_v1(q, read_number(path));
        }
    }
    fclose(f);
    return quota;
}

/* The quota in the cgroup directory dir, or 0. */
static int quota_at(const char *dir)
{
    char path[PATH_MAX + 16], text[128];
    snprintf(path, sizeof path, "%s/cpu.max", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return cpu_quota_cores(text);
}

/* The lowest quota from this process's cgroup up to root, or 0 when none is set. */
static int cgroup_quota(const char *root)
{
    char line[PATH_MAX], dir[2 * PATH_MAX];
    int lowest = 0;
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        return quota_at(root);
    const char *rel = NULL;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "0::", 3) == 0) { /* the v2 hierarchy */
            line[strcspn(line, "\n")] = '\0';
            rel = line + 3;
            break;
        }
    }
    fclose(f);
    snprintf(dir, sizeof dir, "%s%s", root, rel && strcmp(rel, "/") != 0 ? rel : "");
    for (;;) {
        int q = quota_at(dir);
        if (q > 0 && (lowest == 0 || q < lowest))
            lowest = q;
        char *slash = strrchr(dir, '/');
        if (!slash || (size_t)(slash - dir) < strlen(root))
            break;
        *slash = '\0';
    }
    return lowest;
}

int cpu_count_usable(const char *cgroup_root)
{
    int cores = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        cores = CPU_COUNT(&set);
    if (cores <= 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        cores = online > 0 ? (int)online : 1;
    }
    int quota = cgroup_root ? cgroup_quota(cgroup_root) : 0;
    if (quota == 0 && cgroup_root)
        quota = cgroup_v1_quota(cgroup_root);
    if (quota > 0 && quota < cores)
        cores = quota;
    return cores < 1 ? 1 : cores;
}
