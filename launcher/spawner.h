/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The spawner: a process the supervisor forks before it installs its seccomp
 * filter, which starts every later QEMU for it (host/spawn.c's spawn_qemu).
 * A filter is inherited across fork and exec: a QEMU the filtered supervisor
 * forked would run under the supervisor's filter on top of its own -sandbox,
 * and a restarted QEMU would differ from one started first. The spawner has
 * no filter of its own, for that reason. The supervisor starts the first
 * QEMUs itself, before either exists (unfiltered too): the spawner is forked
 * once the start is answered, off the start's critical path.
 *
 * The supervisor talks to it over a SOCK_SEQPACKET socketpair, one request
 * and one answer at a time: a spawn request carries argv, the spawn options
 * and the fds (SCM_RIGHTS), and is answered with the pid and a pidfd; a reap
 * request (QEMU is the spawner's child, so only the spawner can wait for it)
 * with the wait status. The spawner keeps no other fd, reads nothing else,
 * ignores the terminal's signals, and exits when the supervisor goes (end of
 * file), leaving its QEMUs running, as a supervisor's death always did.
 *
 * One spawner per process; without one (unit tests, a supervisor whose
 * spawner could not start) both calls below act in this process.
 */

#include <stdbool.h>
#include <sys/types.h>

#include "plan.h"
#include "spawn.h"

/*
 * Forks the spawner and waits until it is set up (its fds closed, its name
 * vmxrun-spawner). It runs only the QEMU binaries the plan names (argv[0]
 * of each VM), always with no_new_privs and its capabilities dropped.
 * Returns 0 or -errno (nothing is left running on failure).
 */
int spawner_start(const struct vx_plan *plan);

/* True when this process has a spawner. */
bool spawner_running(void);

/* spawn_qemu() (same contract), through the spawner when there is one. */
int spawner_spawn(char *const argv[], const struct vx_spawn_options *opts, pid_t *ret_pid, int *ret_pidfd);

/*
 * Waits for pid, a QEMU that spawner_spawn() started, in this process or
 * through the spawner (blocking: it is dead or dying). Returns its wait
 * status (>= 0), or -errno when it cannot be had (-ECHILD: the spawner that
 * started it is gone, and init reaped it).
 */
int spawner_reap(pid_t pid);

/* Closes this process's end: the spawner exits. Safe without a spawner. */
void spawner_stop(void);
