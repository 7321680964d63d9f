/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The supervisor's state, shared by its three files (private to them):
 *   supervisor.c          the event loop: QEMU exits and restarts, stop
 *                         escalation, signals, teardown
 *   supervisor-start.c    the start sequence (adopt or spawn every VM, set
 *                         the loop up, attach, pin, run) and reporting it
 *   supervisor-control.c  the control socket's requests (status, stop, qmp,
 *                         hmp, bind, unbind)
 *   supervisor-router.c   the paired lifecycle: start in order (after:), stop
 *                         in reverse order, restarts of the whole deployment
 *                         (restart.scope, vmxrun restart), readiness made of
 *                         several conditions (ready.link among them)
 */

#include <stdbool.h>
#include <stdint.h>

#include "apply.h"
#include "readiness.h"
#include "service.h"
#include "state.h"
#include "supervisor.h"

enum event_kind {
        EV_SIGNAL,
        EV_CONTROL,
        EV_PIDFD,
        EV_QMP,
        EV_TIMER,
        EV_CONSOLE,
        EV_READY_TIMEOUT,
        EV_WATCHDOG,
        EV_LINK,
};

#define EV(kind, index) (((uint64_t)(kind) << 32) | (uint32_t)(index))
#define EV_KIND(u) ((enum event_kind)((u) >> 32))
#define EV_INDEX(u) ((size_t)(uint32_t)(u))

/* After powerdown's timeout, `quit`; if QEMU still lives this long after, SIGKILL. */
#define VX_QUIT_GRACE_MS 5000
#define VX_RESTART_BACKOFF_MAX_MS 60000
#define VX_STOP_TIMEOUT_DEFAULT_S 60

enum stop_stage {
        STOP_NONE,
        STOP_POWERDOWN, /* system_powerdown sent, waiting for the guest */
        STOP_QUIT,      /* quit sent */
        STOP_KILL,      /* SIGKILL sent */
};

struct vm_slot {
        struct vx_vm_instance inst;
        int timer_fd;
        enum stop_stage stop_stage;
        bool stop_requested;
        bool panicked;
        int64_t *restart_times; /* CLOCK_MONOTONIC ms of recent restarts, max_restarts entries */
        size_t n_restart_times;
        struct vx_readiness *readiness;
        struct vx_qmp_stats qmp_seen; /* the connection's drop counters when last logged */
        struct vx_supervisor *sv;     /* whose slot it is: a stop tells its waiting clients how it goes */
        /* The paired lifecycle (supervisor-router.c). */
        bool start_pending;      /* VX_VM_WAITING: sv_advance() starts it once its turn comes */
        bool stop_pending;       /* to be stopped once the VMs that start after it are gone */
        unsigned stop_timeout_s; /* for stop_pending */
        bool in_restart;         /* part of a restart: started again, in order, once stopped */
        bool console_seen;       /* ready.console matched, for the current QEMU */
        bool qmp_ok;             /* ready.qmp-status reached, for the current QEMU */
};

struct pending_stop {
        int fd;
        char *vm;      /* NULL: the whole deployment */
        bool progress; /* the client wants the stop's progress lines */
        bool restart;  /* a `vmxrun restart`: answered once its VMs run again */
};

struct vx_supervisor {
        struct vx_profile *profile;
        struct vx_plan *plan;
        struct vx_apply *apply; /* host networking and its undo journal */
        char *profile_path;
        struct vx_plan_options plan_options;
        struct vm_slot *slots;
        size_t n_slots;
        int lock_fd, epoll_fd, signal_fd, control_fd;
        int notify_fd, ready_timer_fd;
        bool wait_ready;
        bool start_reported; /* supervisor_report_start() ran */
        void (*notified)(const char *deployment_dir);
        struct vx_service *service; /* systemd's notify socket (start --foreground under Type=notify), or NULL */
        struct pending_stop *pending;
        size_t n_pending;
        bool exit_loop;
        int state_error;         /* the last state write's error, 0 when it was written */
        bool state_dirty;        /* changed since the last write: written once the current events are handled */
        bool stopping_all;       /* the whole deployment stops (a client's stop, a signal): ends in the teardown */
        bool stopping_all_saved; /* state.json says so: not written again before the teardown removes it */
        struct vx_readiness **retired; /* console watches to close once the current event is answered */
        size_t n_retired;
        int link_fd; /* rtnetlink link events, open only while a VM waits for ready.link; -EBADF otherwise */
        /* Profiles and plans `vmxrun restart` applied (slots point into them); freed with the supervisor. */
        struct vx_profile **later_profiles;
        struct vx_plan **later_plans;
        size_t n_later;
};

/* The profile file as it is now, planned as this supervisor plans (VMXRUN_ROOT, its options). Returns 0 or -errno. */
int sv_plan_profile_now(struct vx_supervisor *sv, struct vx_profile **ret_profile, struct vx_plan **ret_plan);
/* Writes <deployment>/profile.yaml, what an adopting supervisor plans from; text NULL: nothing. Returns 0 or -errno (logged). */
int sv_write_profile_copy(const struct vx_plan *plan, const char *text);
int sv_epoll_add(struct vx_supervisor *sv, int fd, enum event_kind kind, size_t index);
/*
 * Writes state.json. A failure is logged (once until it is written again)
 * and kept in sv->state_error for status. Returns 0 or -errno.
 */
int sv_save_state(struct vx_supervisor *sv);
/*
 * The state changed where an event is handled: state.json is written once
 * the loop has handled the whole batch of events (before stops are
 * answered), not once per event (a stop of 64 VMs: 64 exits, one write).
 */
void sv_state_changed(struct vx_supervisor *sv);
/* Watches a freshly started or adopted VM: its pidfd, its QMP socket and its console. */
int sv_watch_vm(struct vx_supervisor *sv, size_t i);
/* A whole (re)start of one VM: taps, QEMU paused, attach, pin, run. */
int sv_start_vm(struct vx_supervisor *sv, struct vx_vm_instance *inst);
/* Lets `start` return: at once, or with --wait once every VM is ready (or timed_out). */
void sv_maybe_notify(struct vx_supervisor *sv, bool timed_out);
int sv_arm_ready_timeout(struct vx_supervisor *sv);
void sv_begin_stop(struct vm_slot *slot, unsigned timeout_s, bool force);
/* Answers the stop requests that are done (all: every one, after teardown). */
void sv_answer_pending(struct vx_supervisor *sv, bool all);
void sv_on_control(struct vx_supervisor *sv);
void sv_unwatch_vm(struct vx_supervisor *sv, struct vm_slot *slot);
/* The restart policy after a QEMU died or a restart failed: backoff (timer armed) or failed. */
void sv_restart_or_give_up(struct vm_slot *slot);
bool sv_slot_active(const struct vm_slot *slot);

/* ---- supervisor-router.c ---- */

/*
 * Moves every pending start and stop on, in order: a VM starts once the VM
 * it starts after runs (or is ready) and, in a restart, once the VMs before
 * it started again; a VM stops once the VMs that start after it are gone.
 * Called after every batch of events and before the loop: no wake-up of its own.
 */
void sv_advance(struct vx_supervisor *sv);
/* Stops vm (NULL: every VM, in reverse order; with force, at once). Cancels pending starts and restarts. */
void sv_request_stop(struct vx_supervisor *sv, const char *vm, unsigned timeout_s, bool force);
/* `vmxrun restart`: stops vm (NULL: every VM) in reverse order and starts it again in order. */
void sv_request_restart(struct vx_supervisor *sv, const char *vm, unsigned timeout_s, bool force);
/* restart.scope: deployment: the VM at index crashed (and is in backoff); every other VM restarts with it. */
void sv_restart_deployment(struct vx_supervisor *sv, size_t crashed);
/* Whether the restart request p is over; if so *ret_answer is its answer (ok, or which VM failed). */
bool sv_restart_answer(struct vx_supervisor *sv, const struct pending_stop *p, json_t **ret_answer);
/* Checks every readiness condition of the VM; the VM is ready once all hold. */
void sv_check_ready(struct vx_supervisor *sv, struct vm_slot *slot);
/* A QEMU (re)started or adopted: its readiness conditions start over. */
void sv_ready_reset(struct vm_slot *slot);
void sv_on_link(struct vx_supervisor *sv);
/* The slot of the VM vm->after names, or NULL. */
struct vm_slot *sv_after_slot(struct vx_supervisor *sv, const struct vm_slot *slot);
/* Takes the pinning `vmxrun pin` had set from a state file, for the adopted VM (when it still fits the plan). */
void sv_restore_pin_live(struct vm_slot *slot, const struct vx_saved_vm *old);
