/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The supervisor under a service manager (vmxrun@.service, Type=notify):
 * READY=1 once every VM runs pinned and is ready, STATUS= whenever the VMs'
 * states change, STOPPING=1 when the whole deployment is being stopped, and
 * WATCHDOG=1 at half the interval $WATCHDOG_USEC asks for, from a timerfd
 * the supervisor's event loop watches. Without $NOTIFY_SOCKET it sends
 * nothing and costs nothing. Logs nothing: a lost notification is not worth
 * stopping a VM for, and systemd says when READY=1 never came.
 */

#include <stddef.h>

#include "cleanup.h"
#include "vm.h"

struct vx_service;

/*
 * Reads $NOTIFY_SOCKET and $WATCHDOG_USEC. Returns 0 and *ret (NULL when no
 * service manager listens: every function below accepts NULL), or -errno
 * when the watchdog timer cannot be created.
 */
int service_open(struct vx_service **ret);

/* The watchdog's timerfd to watch for EPOLLIN, or -EBADF when no watchdog is asked for (or s is NULL). */
int service_watchdog_fd(const struct vx_service *s);

/* The watchdog timer fired: consumes it and sends WATCHDOG=1. */
void service_on_watchdog(struct vx_service *s);

/*
 * The VMs' states changed (or may have): sends STATUS= when its text
 * changed, READY=1 the first time every VM is running (pinned: vm_attach()
 * pins before the state becomes running) and ready, STOPPING=1 the first
 * time none runs and one is stopping.
 */
void service_update(struct vx_service *s, struct vx_vm_instance *const *vms, size_t n);

/* The text STATUS= carries for these VMs, e.g. "2/2 VMs running: vcp running, vfp running (not ready)". NULL: -ENOMEM. */
char *service_status_text(struct vx_vm_instance *const *vms, size_t n);

struct vx_service *service_free(struct vx_service *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vx_service *, service_free)
