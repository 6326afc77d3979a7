/* How many CPU cores reco-service may use: the CPUs in its affinity mask, lowered to the
 * cgroup v2 CPU quota (cpu.max) when one is set, rounded up, at least 1. The default number
 * of compute workers. */
#ifndef MIXTAPE_CPU_COUNT_H
#define MIXTAPE_CPU_COUNT_H

/* Parses the text of a cgroup v2 cpu.max file ("QUOTA PERIOD" or "max PERIOD"). Returns the
 * quota in cores rounded up (at least 1), or 0 when there is no quota or the text is not of
 * that form. Pure. */
int cpu_quota_cores(const char *cpu_max);

/* The cores this process may use now: sched_getaffinity's count (or the online CPUs if that
 * fails), capped by the quota of the cgroup at cgroup_root (normally "/sys/fs/cgroup"; the
 * process's own cgroup from /proc/self/cgroup, and each parent up to the root, whichever is
 * lowest). At least 1. Reads files; does not block otherwise. */
int cpu_count_usable(const char *cgroup_root);

#endif
