/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Starting QEMU: fork, set up the child, execv. The child inherits exactly
 * the fds in the keep-list, each at the number the plan named in argv
 * (fd=N); everything else is closed. It runs in its own session with no
 * parent-death signal, so VMs outlive a crashed supervisor and are adopted by
 * the next one.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cpuset.h"
#include "users.h"

struct vx_spawn_fd {
        int fd;     /* open in the parent (CLOEXEC) */
        int target; /* the number the child sees it under */
};

struct vx_spawn_options {
        const struct vx_spawn_fd *fds;
        size_t n_fds;
        int log_fd;                 /* stdout and stderr of the child; -EBADF: /dev/null */
        bool drop_capabilities;     /* clear every capability and the bounding set, set no_new_privs before exec */
        const struct vx_user *user; /* become this user (its groups only) before the capability drop; NULL: stay */
        uint64_t memlock_bytes;     /* RLIMIT_MEMLOCK for the child: 0 leave it, UINT64_MAX unlimited */
        const struct vx_cpuset *affinity; /* CPU set of the child before exec, or NULL: every thread
                                           * QEMU creates inherits it, so this pins the emulator */
};

/*
 * Forks and execs argv[0] (an absolute path) with argv. Returns 0 with the
 * child's pid and a pidfd for it (CLOEXEC), or -errno if fork/pidfd_open
 * failed. An exec failure shows as the child exiting with status 127, its
 * reason written to log_fd.
 */
int spawn_qemu(char *const argv[], const struct vx_spawn_options *opts, pid_t *ret_pid, int *ret_pidfd);
