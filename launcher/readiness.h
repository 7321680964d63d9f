/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Readiness by console pattern, as vrnetlab waits for "login:": QEMU copies
 * the serial console to <vm dir>/console.log (chardev logfile=), and inotify
 * tells us when it grows, so nothing polls and `vmxrun console` keeps the
 * console socket to itself.
 */

#include "plan.h"

struct vx_readiness;

/* Starts watching the VM's console log for vm->ready.console_pattern. Returns 0 or -errno. */
int readiness_watch(const struct vx_vm_plan *vp, struct vx_readiness **ret);

/* The fd to watch (inotify); readable when the log grew. */
int readiness_fd(const struct vx_readiness *r);

/* Reads what the log gained. Returns 1 once the pattern was seen, 0 if not yet, or -errno. */
int readiness_process(struct vx_readiness *r);

struct vx_readiness *readiness_free(struct vx_readiness *r);
