/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "affinity.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cleanup.h"

/* The kernel's mask may be larger than ours; CPU_ALLOC sizes it for VX_CPUSET_MAX. */
int affinity_set(pid_t tid, const struct vx_cpuset *set)
{
        cpu_set_t *mask = CPU_ALLOC(VX_CPUSET_MAX);
        size_t size = CPU_ALLOC_SIZE(VX_CPUSET_MAX);
        int r = 0;

        if (!mask)
                return -ENOMEM;
        CPU_ZERO_S(size, mask);
        for (unsigned c = 0; c < VX_CPUSET_MAX; c++)
                if (vx_cpuset_isset(set, c))
                        CPU_SET_S(c, size, mask);
        if (sched_setaffinity(tid, size, mask) < 0)
                r = -errno;
        CPU_FREE(mask);
        return r;
}

int affinity_get(pid_t tid, struct vx_cpuset *ret)
{
        cpu_set_t *mask = CPU_ALLOC(VX_CPUSET_MAX);
        size_t size = CPU_ALLOC_SIZE(VX_CPUSET_MAX);
        struct vx_cpuset set = {0};

        if (!mask)
                return -ENOMEM;
        if (sched_getaffinity(tid, size, mask) < 0) {
                int r = -errno;
                CPU_FREE(mask);
                return r;
        }
        for (unsigned c = 0; c < VX_CPUSET_MAX; c++)
                if (CPU_ISSET_S(c, size, mask))
                        vx_cpuset_set(&set, c);
        CPU_FREE(mask);
        *ret = set;
        return 0;
}

int affinity_list_threads(const char *proc_root, pid_t pid, pid_t **ret_tids, size_t *ret_n)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ pid_t *tids = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *d;

        if (asprintf(&path, "%s/proc/%d/task", proc_root ?: "", (int)pid) < 0)
                return -ENOMEM;
        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char *end;
                long tid = strtol(de->d_name, &end, 10);

                if (de->d_name[0] == '.' || *end || tid <= 0)
                        continue;
                if (n == cap) {
                        pid_t *t;

                        cap = cap ? cap * 2 : 16;
                        t = realloc(tids, cap * sizeof(*t));
                        if (!t) {
                                closedir(d);
                                return -ENOMEM;
                        }
                        tids = t;
                }
                tids[n++] = (pid_t)tid;
        }
        closedir(d);
        *ret_tids = TAKE_PTR(tids);
        *ret_n = n;
        return 0;
}

static int read_task_file(const char *proc_root, pid_t pid, pid_t tid, const char *name, char *buf, size_t size)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t n;

        if (asprintf(&path, "%s/proc/%d/task/%d/%s", proc_root ?: "", (int)pid, (int)tid, name) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return -errno;
        n = fread(buf, 1, size - 1, f);
        if (ferror(f))
                return -EIO;
        buf[n] = '\0';
        return 0;
}

int affinity_thread_stat(const char *proc_root, pid_t pid, pid_t tid, int *ret_last_cpu, unsigned long long *ret_cpu_ns)
{
        char buf[4096];
        unsigned long long utime, stime;
        int cpu, r;
        const char *p;
        long hz = sysconf(_SC_CLK_TCK);

        r = read_task_file(proc_root, pid, tid, "stat", buf, sizeof(buf));
        if (r < 0)
                return r;
        /* The command name is in parentheses and may contain spaces: parse after the last ')'. */
        p = strrchr(buf, ')');
        if (!p)
                return -EBADMSG;
        /* Fields after ')': 3 state ... 14 utime 15 stime ... 39 processor (man 5 proc). */
        if (sscanf(p + 2,
                   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %*u %*u %*d "
                   "%*u %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u %*u %*d %d",
                   &utime, &stime, &cpu) != 3)
                return -EBADMSG;
        if (hz <= 0)
                hz = 100;
        *ret_last_cpu = cpu;
        *ret_cpu_ns = (utime + stime) * (1000000000ULL / (unsigned long long)hz);
        return 0;
}

int affinity_thread_sched(const char *proc_root, pid_t pid, pid_t tid, unsigned long long *ret_wait_ns,
                          unsigned long long *ret_migrations)
{
        char buf[8192];
        unsigned long long run, wait, m = 0;
        const char *p;
        int r;

        /* schedstat: time on the CPU, time waiting on a run queue (ns), timeslices. */
        r = read_task_file(proc_root, pid, tid, "schedstat", buf, sizeof(buf));
        if (r < 0)
                return r;
        if (sscanf(buf, "%llu %llu", &run, &wait) != 2)
                return -EBADMSG;
        r = read_task_file(proc_root, pid, tid, "sched", buf, sizeof(buf));
        if (r < 0)
                return r;
        p = strstr(buf, "se.nr_migrations");
        if (!p || sscanf(p, "se.nr_migrations %*[ :] %llu", &m) != 1)
                return -EBADMSG;
        *ret_wait_ns = wait;
        *ret_migrations = m;
        return 0;
}

int affinity_read_status(const char *proc_root, pid_t pid, pid_t tid, struct vx_cpuset *ret)
{
        char buf[8192];
        const char *p;
        char list[4096];
        int r;

        r = read_task_file(proc_root, pid, tid, "status", buf, sizeof(buf));
        if (r < 0)
                return r;
        p = strstr(buf, "\nCpus_allowed_list:");
        if (!p || sscanf(p + strlen("\nCpus_allowed_list:"), " %4095s", list) != 1)
                return -EBADMSG;
        return vx_cpuset_parse(list, ret);
}

/* Not in every libc's headers yet (glibc 2.36 has them; older ones may not). */
#ifndef PR_SCHED_CORE
#define PR_SCHED_CORE 62
#endif
#ifndef PR_SCHED_CORE_CREATE
#define PR_SCHED_CORE_CREATE 1
#endif
#define VX_PIDTYPE_TGID 1

int affinity_core_cookie(pid_t pid)
{
        if (prctl(PR_SCHED_CORE, PR_SCHED_CORE_CREATE, (unsigned long)pid, VX_PIDTYPE_TGID, 0UL) < 0) {
                if (errno == EINVAL || errno == ENODEV)
                        return -EOPNOTSUPP;
                return -errno;
        }
        return 0;
}
