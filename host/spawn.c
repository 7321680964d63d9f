/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "affinity.h"
#include "cleanup.h"

static void __attribute__((noreturn)) child_fail(int log_fd, const char *what)
{
        /* Only async-signal-safe calls here: write(2), no stdio. */
        if (log_fd >= 0) {
                const char *err = strerror(errno);
                (void)!write(log_fd, "vmxrun: ", 8);
                (void)!write(log_fd, what, strlen(what));
                (void)!write(log_fd, ": ", 2);
                (void)!write(log_fd, err, strlen(err));
                (void)!write(log_fd, "\n", 1);
        }
        _exit(127);
}

/*
 * Every capability the kernel knows out of the bounding set (PR_CAPBSET_READ
 * says EINVAL past the last). Without CAP_SETPCAP, as an unprivileged
 * vmxrun, there is nothing to drop it from (libcap-ng skipped it then too).
 */
static int drop_bounding_set(void)
{
        int in;

        for (unsigned long cap = 0; (in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) >= 0; cap++)
                if (in > 0 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                        return errno == EPERM && geteuid() != 0 ? 0 : -errno;
        return errno == EINVAL ? 0 : -errno;
}

/* Empty effective, permitted and inheritable sets (capset(2), version 3: two 32-bit words each). */
static int clear_capabilities(void)
{
        struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct data[2] = {{0}};

        return syscall(SYS_capset, &header, data) < 0 ? -errno : 0;
}

/*
 * Runs in the child between fork and exec. Never returns. The supervisor is
 * single-threaded, so no lock can be held by a thread that fork() left
 * behind: the few allocations below (the CPU mask) are safe here.
 */
static void __attribute__((noreturn)) child_exec(char *const argv[], const struct vx_spawn_options *opts)
{
        int log_fd = opts->log_fd, top = 3, null_fd;
        sigset_t none;

        /* Our signal mask (the supervisor blocks signals for its signalfd) must not reach QEMU. */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < _NSIG; sig++)
                signal(sig, SIG_DFL);

        if (setsid() < 0)
                child_fail(log_fd, "setsid");

        for (size_t i = 0; i < opts->n_fds; i++)
                if (opts->fds[i].target >= top)
                        top = opts->fds[i].target + 1;

        /*
         * Move every fd we keep above the highest target first, so that dup2() to
         * the targets cannot clobber a source that happens to sit on a target number.
         */
        if (log_fd >= 0) {
                log_fd = fcntl(log_fd, F_DUPFD_CLOEXEC, top + (int)opts->n_fds);
                if (log_fd < 0)
                        child_fail(opts->log_fd, "dup log fd");
        }
        int moved[opts->n_fds + 1];
        for (size_t i = 0; i < opts->n_fds; i++) {
                moved[i] = fcntl(opts->fds[i].fd, F_DUPFD_CLOEXEC, top + (int)opts->n_fds + 1);
                if (moved[i] < 0)
                        child_fail(log_fd, "dup kept fd");
        }
        for (size_t i = 0; i < opts->n_fds; i++)
                if (dup2(moved[i], opts->fds[i].target) < 0) /* dup2 clears CLOEXEC on the target */
                        child_fail(log_fd, "dup2 kept fd");

        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd >= 0 ? log_fd : null_fd, STDOUT_FILENO) < 0 ||
            dup2(log_fd >= 0 ? log_fd : null_fd, STDERR_FILENO) < 0)
                child_fail(log_fd, "set up stdio");

        /*
         * Everything else goes: the moved copies, the log fd's copy and any stray fd,
         * above the targets and in the gaps between them.
         */
        for (int fd = 3; fd < top; fd++) {
                bool kept = false;
                for (size_t i = 0; i < opts->n_fds && !kept; i++)
                        kept = opts->fds[i].target == fd;
                if (!kept)
                        (void)close(fd);
        }
        if (syscall(SYS_close_range, (unsigned)top, ~0U, 0) < 0)
                child_fail(STDERR_FILENO, "close_range");

        if (opts->memlock_bytes) {
                rlim_t v = opts->memlock_bytes == UINT64_MAX ? RLIM_INFINITY : (rlim_t)opts->memlock_bytes;
                struct rlimit lim = {v, v};
                if (setrlimit(RLIMIT_MEMLOCK, &lim) < 0)
                        child_fail(STDERR_FILENO, "raise RLIMIT_MEMLOCK");
        }

        if (opts->affinity) {
                int r = affinity_set(0, opts->affinity);
                if (r < 0) {
                        errno = -r;
                        child_fail(STDERR_FILENO, "set emulator CPU affinity");
                }
        }

        if (opts->user) {
                /*
                 * Its own user and group, and no supplementary group but the ones it is
                 * given (kvm for /dev/kvm): whatever escapes into QEMU owns nothing else.
                 */
                if (setgroups(opts->user->n_groups, opts->user->groups) < 0)
                        child_fail(STDERR_FILENO, "setgroups");
        }
        if (opts->drop_capabilities) {
                /*
                 * QEMU gets every host resource as an fd or a file it owns; it needs no
                 * capability, and no exec may regain one. The bounding set goes first,
                 * while CAP_SETPCAP is still ours, then the ambient set, the gid and uid
                 * (setresgid, setresuid), and the empty effective, permitted and
                 * inheritable sets. Direct calls: libcap-ng's capng_change_id() read
                 * /proc/self/status four times here, on every start's critical path.
                 */
                if (drop_bounding_set() < 0)
                        child_fail(STDERR_FILENO, "empty the capability bounding set");
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                        child_fail(STDERR_FILENO, "clear the ambient capabilities");
                if (opts->user && (setresgid(opts->user->gid, opts->user->gid, opts->user->gid) < 0 ||
                                   setresuid(opts->user->uid, opts->user->uid, opts->user->uid) < 0))
                        child_fail(STDERR_FILENO, "change to QEMU's user");
                if (clear_capabilities() < 0)
                        child_fail(STDERR_FILENO, "drop capabilities");
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        child_fail(STDERR_FILENO, "set no_new_privs");
        } else if (opts->user) {
                if (setresgid(opts->user->gid, opts->user->gid, opts->user->gid) < 0 ||
                    setresuid(opts->user->uid, opts->user->uid, opts->user->uid) < 0)
                        child_fail(STDERR_FILENO, "change to QEMU's user");
        }

        execv(argv[0], argv);
        child_fail(STDERR_FILENO, argv[0]);
}

int spawn_qemu(char *const argv[], const struct vx_spawn_options *opts, pid_t *ret_pid, int *ret_pidfd)
{
        pid_t pid;
        int pidfd;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                child_exec(argv, opts);

        /* Our own unreaped child cannot be recycled, so its pid names it until we wait. */
        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
                int r = -errno;
                kill(pid, SIGKILL);
                (void)waitpid(pid, NULL, 0);
                return r;
        }
        (void)fcntl(pidfd, F_SETFD, FD_CLOEXEC); /* pidfd_open sets it; say so where it matters */
        *ret_pid = pid;
        *ret_pidfd = pidfd;
        return 0;
}
