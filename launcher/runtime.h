/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The runtime directory of a deployment, <runtime>/<deployment>/ (mode 0700):
 *   supervisor.lock  flock()ed by the live supervisor: held = running
 *   control.sock     the supervisor's control socket (stop, status, qmp)
 *   state.json       written atomically on every change; what a new
 *                    supervisor reads to adopt VMs left running
 *   <vm>/            per VM: qmp.sock, qemu.log, console.log
 */

#include <stdbool.h>
#include <stddef.h>

/*
 * Creates path (and missing parents, 0755) as a directory of mode 0700; one
 * that exists loses every permission for others (its group's stay, see
 * runtime.c). Returns 0, -EPERM when another user owns it, or -errno.
 */
int runtime_mkdir(const char *path);

/*
 * Writes data to path through a temporary file and rename: readers see the old
 * or the new content, never a mix. Not fsync'd (see runtime.c). Returns 0 or -errno.
 */
int runtime_write_atomic(const char *path, const char *data, size_t len);

/*
 * Takes the deployment's supervisor lock without blocking. Returns 0 and the
 * lock fd (CLOEXEC; the lock lives as long as it is open), -EBUSY when another
 * process holds it, or -errno.
 */
int runtime_lock(const char *deployment_dir, int *ret_fd);

/* True when a live process holds the deployment's supervisor lock. */
bool runtime_is_locked(const char *deployment_dir);

/* Removes the VM's and deployment's runtime files, then the directories if empty. */
void runtime_remove_vm_dir(const char *vm_dir);
void runtime_remove_deployment_dir(const char *deployment_dir);
