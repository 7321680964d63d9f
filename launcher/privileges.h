/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "plan.h"

/*
 * Once its VMs run, the supervisor keeps only the capabilities its remaining
 * jobs need: CAP_NET_ADMIN (taps for restarts, bind, tearing down bridges),
 * CAP_SYS_NICE (pinning after a restart), CAP_SYS_RESOURCE (the memlock
 * limit of a restarted QEMU), CAP_SYS_ADMIN only when the plan mounts a
 * hugetlbfs it must unmount at stop, CAP_KILL for a QEMU it adopted, and
 * when QEMU runs as its own user CAP_CHOWN (its runtime dir, made anew at
 * each restart). Everything else (reading any file, ptrace, module loading,
 * raw I/O, ...) is dropped from the effective, permitted and bounding sets,
 * CAP_SETPCAP last: shrinking the bounding set is its last use (the first
 * QEMUs were started before this, every later one comes from the spawner,
 * with capabilities of its own).
 * Returns 0, or -errno when the kernel refused (logged by the caller).
 */
int privileges_drop_for_supervisor(const struct vx_plan *plan);

/*
 * Called right after the spawner is forked (spawner_start()), which from
 * then on is the one to become QEMU's user: drops CAP_SETUID and CAP_SETGID
 * from the supervisor's effective and permitted sets (the bounding set, which
 * only the useradd a start may run sees, shrinks with
 * privileges_drop_for_supervisor()). Nothing the supervisor does itself
 * (applying and tearing down, adoption, restarts through the spawner)
 * changes its ids. Returns 0, or -errno (logged by the caller).
 */
int privileges_drop_after_spawner(void);
