/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "syscall-filter.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

/* gcc says -fsanitize=address with __SANITIZE_ADDRESS__, clang with __has_feature. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VX_CLANG_ASAN 1
#endif
#endif
#ifndef VX_CLANG_ASAN
#define VX_CLANG_ASAN 0
#endif

/*
 * What the supervisor does once its VMs run, by the strace -f of a whole
 * lifecycle (start, status, pin, qmp/hmp, a QEMU killed and restarted with
 * its taps, stop, the teardown of bridges, taps, hugepages and vfio
 * bindings) and the calls the same code may make on another glibc or path
 * (stat vs statx, poll vs ppoll). Names this libseccomp does not know on this
 * architecture are skipped. One string per group, names separated by spaces.
 */
static const char *const allowed[] = {
        /* memory, the C library, time */
        /* get_mempolicy: libnuma's numa_available(), when a replan (adoption, restart) reads the topology */
        "brk mmap munmap mremap mprotect madvise futex set_robust_list rseq restart_syscall getrandom get_mempolicy "
        "clock_gettime clock_getres gettimeofday time nanosleep clock_nanosleep uname sysinfo getrlimit "
        "prlimit64 getrusage exit exit_group",
        /*
         * files: the state, journal, log and runtime dirs, /proc, sysfs (hugepages, vfio driver
         * binding); ioctl: taps (TUNSETIFF, TUNSETPERSIST), vhost-net
         */
        "read write readv writev pread64 pwrite64 lseek close close_range openat open creat fstat newfstatat "
        "stat lstat statx fstatfs statfs getdents getdents64 readlink readlinkat access faccessat faccessat2 "
        "fcntl dup dup2 dup3 pipe2 mkdir mkdirat rmdir unlink unlinkat rename renameat renameat2 chmod "
        "fchmod fchmodat chown fchown fchownat lchown ftruncate fsync fdatasync flock umask getcwd ioctl",
        /* sockets: control, QMP, console, netlink (libnl), systemd's notify socket */
        "socket bind listen accept accept4 connect sendto sendmsg recvfrom recvmsg setsockopt getsockopt "
        "getsockname getpeername shutdown",
        /* the event loop */
        "epoll_create1 epoll_ctl epoll_wait epoll_pwait epoll_pwait2 poll ppoll select pselect6 "
        "timerfd_create timerfd_settime timerfd_gettime signalfd4 inotify_init1 inotify_add_watch "
        "inotify_rm_watch",
        /* signals and processes: QEMU's pidfd, stop escalation, the spawner */
        "rt_sigaction rt_sigprocmask rt_sigreturn sigaltstack kill tgkill pidfd_open pidfd_send_signal wait4 "
        "waitid getpid getppid gettid getuid geteuid getgid getegid getgroups",
        /* the capability drop once the VMs run (libcap-ng), pinning */
        "capget capset prctl sched_getaffinity sched_setaffinity sched_yield",
};

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
        if (*ctx)
                seccomp_release(*ctx);
}

static bool plan_unmounts(const struct vx_plan *plan)
{
        for (size_t i = 0; i < plan->n_actions; i++)
                if (plan->actions[i].kind == VX_ACTION_HUGETLBFS_MOUNT)
                        return true;
        return false;
}

static int allow(scmp_filter_ctx ctx, const char *name)
{
        int nr = seccomp_syscall_resolve_name(name);

        if (nr == __NR_SCMP_ERROR)
                return 0; /* not a system call of this architecture */
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

/* Each of the space-separated names. */
static int allow_all(scmp_filter_ctx ctx, const char *names)
{
        _cleanup_free_ char *copy = strdup(names);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *name = strtok_r(copy, " ", &save); name; name = strtok_r(NULL, " ", &save)) {
                int r = allow(ctx, name);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * LeakSanitizer's check at exit (a foreground supervisor) stops the world: a
 * thread (clone with CLONE_VM, never a fork) that attaches to ours and reads
 * their registers. Sanitizer builds only, and only those ptrace requests.
 */
static int allow_sanitizer(scmp_filter_ctx ctx)
{
#if defined(__SANITIZE_ADDRESS__) || VX_CLANG_ASAN
        static const long requests[] = {PTRACE_ATTACH, PTRACE_DETACH, PTRACE_GETREGSET, PTRACE_GETREGS,
                                        PTRACE_GETFPREGS};
        int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                 SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_VM, CLONE_VM));

        for (size_t i = 0; r >= 0 && i < sizeof(requests) / sizeof(requests[0]); i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ptrace), 1,
                                     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)requests[i]));
        return r;
#else
        return 0;
#endif
}

/* "<3>" when stderr is the journal (an error, as log_error says it), decided before the filter. */
static const char *trap_prefix = "";

/*
 * SIGSYS from the filter: the supervisor made a call outside its list. Only
 * async-signal-safe calls here (write, _exit, both allowed): say which call
 * and what it means, once, on stderr (the supervisor's log, or the journal),
 * and end the supervisor. Its QEMUs (none under this filter) do not
 * notice; the next vmxrun command adopts them from the state file.
 */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
        static const char head[] = "vmxrun: supervisor: system call ";
        static const char tail[] = " is outside its seccomp allow-list; the supervisor exits here. Its VMs keep "
                                   "running: the next vmxrun command (status, stop, start) adopts them. Please "
                                   "report it (VMXRUN_SECCOMP=0 runs the supervisor without the filter).\n";
        char num[16];
        int n = si->si_syscall, len = 0;

        (void)sig;
        (void)uc;
        do
                num[sizeof(num) - 1 - len++] = (char)('0' + n % 10);
        while ((n /= 10) > 0 && len < (int)sizeof(num) - 1);
        (void)!write(STDERR_FILENO, trap_prefix, strlen(trap_prefix));
        (void)!write(STDERR_FILENO, head, sizeof(head) - 1);
        (void)!write(STDERR_FILENO, num + sizeof(num) - len, (size_t)len);
        (void)!write(STDERR_FILENO, tail, sizeof(tail) - 1);
        _exit(VX_SYSCALL_FILTER_EXIT);
}

int syscall_filter_install(const struct vx_plan *plan)
{
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
        struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
        int r;

        if (!ctx)
                return -ENOMEM;
        trap_prefix = log_stderr_is_journal() ? "<3>" : "";
        if (sigaction(SIGSYS, &sa, NULL) < 0)
                return -errno;
        /* Every refusal in the kernel's log; an older kernel without it still gets the filter. */
        (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
        /* An i386 or x32 call from this 64-bit process is never ours: it ends the process. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (r < 0)
                return r;
        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
                r = allow_all(ctx, allowed[i]);
                if (r < 0)
                        return r;
        }
        r = allow_sanitizer(ctx);
        if (r < 0)
                return r;
        if (plan_unmounts(plan)) {
                r = allow(ctx, "umount2");
                if (r < 0)
                        return r;
        }
        return seccomp_load(ctx);
}

void syscall_filter_test_probe(void)
{
        int mount_errno = 0, ptrace_errno = 0;

        if (!getenv("VMXRUN_TEST_SECCOMP_PROBE"))
                return;
        log_info("seccomp probe: calling mount(2) and ptrace(2)");
        if (mount("none", "/nonexistent/vmxrun-seccomp-probe", "tmpfs", 0, NULL) < 0)
                mount_errno = errno;
        if (ptrace(PTRACE_PEEKDATA, 1, NULL, NULL) < 0)
                ptrace_errno = errno;
        log_info("seccomp probe: mount: %s; ptrace: %s", mount_errno ? strerror(mount_errno) : "succeeded",
                 ptrace_errno ? strerror(ptrace_errno) : "succeeded");
}
