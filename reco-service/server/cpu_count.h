/* How many CPU cores reco-service may use: the CPUs in its affinity mask, lowered to the
 * cgroup CPU quota when one is set (v2 cpu.max; on a v1 host, cpu.cfs_quota_us), rounded up, at least 1. The default number
 * of compute workers. */
#ifndef MIXTAPE_CPU_COUNT_H
#define MIXTAPE_CPU_COUNT_H

/* Parses the text of a cgroup v2 cpu.max file ("QUOTA PERIOD" or "max PERIOD"). Returns the
 * quota in cores rounded up (at least 1), or 0 when there is no quota or the text is not of
 * that form. Pure. */
int cpu_quota_cores(const char *cpu_max);

/* The same for cgroup v1's cpu.cfs_quota_us and cpu.cfs_period_us values (quota -1: none).
 * Returns the cores rounded up (at least 1), or 0 when there is no quota. Pure. */
int cpu_quota_cores_v1(long long quota_us, long long period_us);

/* The cores this process may use now: sched_getaffinity's count (or the online CPUs if that
 * fails), capped by the quota of the cgroup at cgroup_root (normally "/sys/fs/cgroup"; the
 * process's own cgroup from /proc/self/cgroup, and each parent up to the root, whichever is
 * lowest; cgroup v1's cpu controller under cgroup_root/cpu when v2 sets none). At least 1. Reads files; does not block otherwise. */
int cpu_count_usable(const char *cgroup_root);

#endif
