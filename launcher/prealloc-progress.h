/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A progress line while QEMU preallocates its memory (it answers on QMP only
 * when it is done): "vfp-vmx1: preallocating memory: 3.2 of 16.0 GiB", on
 * stderr when it is a terminal, rewritten in place twice a second and
 * erased at the end. Silent otherwise, and for less than 1 GiB.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct vx_prealloc_progress;

/*
 * Starts the line for QEMU pid (name: the VM's) preallocating bytes of
 * hugepages. Returns 0 and *ret (NULL when nothing is shown), or -errno.
 */
int prealloc_progress_start(const char *name, pid_t pid, uint64_t bytes, struct vx_prealloc_progress **ret);

/* Erases the line and frees p. Accepts NULL. */
void prealloc_progress_stop(struct vx_prealloc_progress *p);
