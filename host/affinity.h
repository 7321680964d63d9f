/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Thread CPU affinity: what pins vCPU and emulator threads, and reads it back
 * from the kernel. Paths are read under a /proc root so tests can use fixtures.
 */

#include <sys/types.h>

#include "cpuset.h"

/* sched_setaffinity() for one thread. Returns 0 or -errno (-EINVAL: no online CPU in set). */
int affinity_set(pid_t tid, const struct vx_cpuset *set);

/* sched_getaffinity() for one thread. Returns 0 or -errno (-ESRCH: gone). */
int affinity_get(pid_t tid, struct vx_cpuset *ret);

/*
 * Lists the thread ids of a process from <proc_root>/proc/<pid>/task. proc_root
 * is "" or NULL for the real /proc. Returns 0 and a malloc'd array, or -errno.
 */
int affinity_list_threads(const char *proc_root, pid_t pid, pid_t **ret_tids, size_t *ret_n);

/*
 * Per-thread scheduling facts from <proc_root>/proc/<pid>/task/<tid>/stat: the
 * CPU it last ran on and its CPU time in nanoseconds (utime + stime).
 * Returns 0 or -errno.
 */
int affinity_thread_stat(const char *proc_root, pid_t pid, pid_t tid, int *ret_last_cpu, unsigned long long *ret_cpu_ns);

/*
 * How a thread has been scheduled: the time it waited on a run queue (ns,
 * <proc_root>/proc/<pid>/task/<tid>/schedstat) and how often it moved to
 * another CPU (se.nr_migrations of .../sched). Returns 0 or -errno.
 */
int affinity_thread_sched(const char *proc_root, pid_t pid, pid_t tid, unsigned long long *ret_wait_ns,
                          unsigned long long *ret_migrations);

/*
 * Core scheduling (PR_SCHED_CORE, Linux 5.14+): a new cookie for every thread
 * of process pid and what it starts later, so that they share a core only
 * with each other. Returns 0, -EOPNOTSUPP when the kernel lacks it (built
 * without CONFIG_SCHED_CORE, or no SMT: -EINVAL/-ENODEV from prctl), or -errno.
 */
int affinity_core_cookie(pid_t pid);

/* Reads Cpus_allowed_list from <proc_root>/proc/<pid>/task/<tid>/status. */
int affinity_read_status(const char *proc_root, pid_t pid, pid_t tid, struct vx_cpuset *ret);
