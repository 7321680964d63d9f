/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The service manager's notification protocol (sd_notify(3)), without
 * libsystemd: one datagram of "KEY=VALUE\n" lines sent to the AF_UNIX socket
 * $NOTIFY_SOCKET names (a path, or an abstract address written with a
 * leading '@'). systemd reads READY=1, STATUS=..., STOPPING=1, WATCHDOG=1.
 */

#include <stdint.h>

/*
 * Sends state (one or more "KEY=VALUE" lines) as one datagram to the socket
 * named by socket_path (NULL: $NOTIFY_SOCKET). Returns 1 when sent, 0 when
 * there is no socket to send to (not run by a service manager), -EINVAL for
 * an address that is neither absolute nor abstract or is too long, or the
 * -errno of socket()/sendto().
 */
int sd_notify_send(const char *socket_path, const char *state);

/* The same with printf-style formatting of state; -ENOMEM when it cannot be built. */
int sd_notify_sendf(const char *socket_path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The watchdog interval the service manager asks for: $WATCHDOG_USEC, when
 * $WATCHDOG_PID is unset or names pid (0: this process). Returns 1 and
 * *ret_usec, 0 when no watchdog is asked for (unset, or for another pid), or
 * -EINVAL when a variable is not a positive number.
 */
int sd_watchdog_usec(int pid, uint64_t *ret_usec);
