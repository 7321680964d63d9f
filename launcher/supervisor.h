/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The supervisor of one deployment: starts (or adopts) every VM of the plan,
 * then runs one event loop (epoll over the QEMU pidfds, their QMP sockets,
 * restart and stop timers, a signalfd and the control socket) until the last
 * VM is gone. No polling: it sleeps until something happens.
 */

#include <stdbool.h>

#include "plan.h"
#include "vm.h"

struct vx_supervisor;

struct vx_supervisor_options {
        const char *profile_path; /* absolute; recorded in the state file */
        const char *profile_copy; /* the profile text as started, kept for adoption; may be NULL */
        struct vx_plan_options plan_options;
        int notify_fd;   /* written once with a VX_NOTIFY_* byte when the start is over, then closed; -1: none */
        bool wait_ready; /* notify only once every VM is ready (start --wait) */
        /* Called once right after the notify byte is written: the daemon moves its
         * output from the user's terminal to the deployment's log then, so that
         * everything said before (why a VM is not ready, too) reaches the user. */
        void (*notified)(const char *deployment_dir);
};

enum {
        VX_NOTIFY_STARTED = 0,   /* every VM runs (and is ready, with wait_ready) */
        VX_NOTIFY_FAILED = 1,    /* nothing runs; the reason was logged */
        VX_NOTIFY_NOT_READY = 2, /* VMs run, but one was not ready within its ready.timeout */
        VX_NOTIFY_RUNNING = 3,   /* another supervisor runs the deployment; nothing was changed */
};

/*
 * Takes ownership of profile and plan on success (the caller keeps them on
 * failure). Takes the deployment lock and starts every VM, in profile order. If one
 * cannot start, the ones already started are killed and the runtime dir is
 * removed: the host is left as it was. A VM found running from an earlier
 * supervisor (state file, live pid, same QEMU) is adopted, not restarted.
 * Returns 0 and *ret, -EBUSY when a supervisor already runs this deployment,
 * or -errno (logged).
 */
int supervisor_start(struct vx_profile *profile, struct vx_plan *plan, const struct vx_supervisor_options *opts,
                     struct vx_supervisor **ret);

/* Writes one VX_NOTIFY_* byte to fd and closes it; used by the daemonizing `start`. Safe with fd < 0. */
void supervisor_notify(int fd, int status);

/*
 * Ends the start: checks the readiness conditions once, then lets `start`
 * return (the notify byte, the notified callback), at once or, with
 * wait_ready, from the loop once every VM is ready (the readiness timeout is
 * armed here). Called once the VMs run and before the supervisor confines
 * itself (spawner, filter, capabilities), which need not delay the start;
 * supervisor_run() calls it when the caller did not. Returns 0 or -errno (logged).
 */
int supervisor_report_start(struct vx_supervisor *sv);

/* Runs the event loop until every VM has stopped and the runtime dir is gone. Returns 0 or -errno. */
int supervisor_run(struct vx_supervisor *sv);

/* Frees the supervisor (does not stop VMs: they outlive it by design). Accepts NULL. */
struct vx_supervisor *supervisor_free(struct vx_supervisor *sv);

/* Number of VMs in state running. */
size_t supervisor_running(const struct vx_supervisor *sv);
