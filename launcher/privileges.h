/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "plan.h"

/*
 * Once its VMs run, the supervisor keeps only the capabilities its remaining
 * jobs need: CAP_NET_ADMIN (taps for restarts, bind, tearing down bridges),
 * CAP_SYS_NICE (pinning after a restart), CAP_SYS_RESOURCE (the memlock
 * limit of a restarted QEMU), CAP_SYS_ADMIN only when the plan mounts a
 * hugetlbfs it must unmount at stop, CAP_KILL for a QEMU it adopted,
 * CAP_SETPCAP so that a restarted QEMU can still empty its bounding set, and
 * when QEMU runs as its own user CAP_SETUID, CAP_SETGID (to become it) and
 * CAP_CHOWN (its runtime dir, made anew at each restart).
 * Everything else (reading any file, ptrace, module loading, raw I/O, ...)
 * is dropped from the effective, permitted and bounding sets.
 * Returns 0, or -errno when the kernel refused (logged by the caller).
 */
int privileges_drop_for_supervisor(const struct vx_plan *plan);
