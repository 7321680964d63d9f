/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The supervisor's event loop: what happens to running VMs, and the end. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cpu-ledger.h"
#include "control.h"
#include "log.h"
#include "privileges.h"
#include "runtime.h"
#include "state.h"
#include "supervisor-internal.h"

static int64_t monotonic_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sv_epoll_add(struct vx_supervisor *sv, int fd, enum event_kind kind, size_t index)
{
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV(kind, index)};

        if (epoll_ctl(sv->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
                return -errno;
        return 0;
}

static void epoll_del(struct vx_supervisor *sv, int fd)
{
        if (fd >= 0)
                (void)epoll_ctl(sv->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
}

static int arm_timer(struct vm_slot *slot, int64_t ms)
{
        struct itimerspec its = {
                .it_value = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 + (ms == 0)},
        };

        if (timerfd_settime(slot->timer_fd, 0, &its, NULL) < 0)
                return -errno;
        return 0;
}

static void disarm_timer(struct vm_slot *slot)
{
        struct itimerspec none = {0};

        (void)timerfd_settime(slot->timer_fd, 0, &none, NULL);
}

int sv_save_state(struct vx_supervisor *sv)
{
        _cleanup_free_ struct vx_vm_instance **insts = calloc(sv->n_slots ? sv->n_slots : 1, sizeof(*insts));
        int r;

        sv->state_dirty = false;
        if (!insts)
                r = -ENOMEM;
        else {
                for (size_t i = 0; i < sv->n_slots; i++)
                        insts[i] = &sv->slots[i].inst;
                /* Every change of state is saved here, so it is also where the service manager hears of it. */
                service_update(sv->service, insts, sv->n_slots);
                /*
                 * A whole-deployment stop is written once ("stopping", with the pids); the teardown
                 * removes the file when the last VM is gone. Rewriting it, every VM in it, at each
                 * exit until then made a stop of N VMs cost N writes of N VMs. An adopting supervisor
                 * or the leftovers check finds the pids that are gone by then either way.
                 */
                if (sv->stopping_all && sv->stopping_all_saved)
                        return 0;
                /* Through a temporary file and rename: a failed write leaves the last good state in place. */
                r = state_save(sv->plan, sv->profile_path, &sv->plan_options, insts, sv->n_slots);
                sv->stopping_all_saved = sv->stopping_all && r >= 0;
        }
        if (r < 0 && sv->state_error != r)
                log_error_errno(r, "Failed to write the state file in %s (the last one written stays): %m",
                                sv->plan->deployment_dir);
        else if (r >= 0 && sv->state_error < 0)
                log_info("The state file is written again.");
        sv->state_error = r < 0 ? r : 0;
        return r;
}

void sv_state_changed(struct vx_supervisor *sv)
{
        sv->state_dirty = true;
}

/* Watches a freshly started or adopted VM: its pidfd, its QMP socket and its console. */
int sv_watch_vm(struct vx_supervisor *sv, size_t i)
{
        struct vm_slot *slot = &sv->slots[i];
        int r;

        slot->qmp_seen = (struct vx_qmp_stats){0}; /* a new connection counts from 0 */
        sv_ready_reset(slot);
        r = sv_epoll_add(sv, slot->inst.pidfd, EV_PIDFD, i);
        if (r >= 0)
                r = sv_epoll_add(sv, qmp_get_fd(slot->inst.qmp), EV_QMP, i);
        if (r < 0)
                return log_error_errno(r, "%s: failed to watch QEMU: %m", slot->inst.plan->name);
        slot->readiness = readiness_free(slot->readiness);
        if (!slot->inst.ready && slot->inst.plan->vm->ready.console_pattern) {
                r = readiness_watch(slot->inst.plan, &slot->readiness);
                if (r < 0)
                        return log_error_errno(r, "%s: failed to watch the console for readiness: %m",
                                               slot->inst.plan->name);
                r = sv_epoll_add(sv, readiness_fd(slot->readiness), EV_CONSOLE, i);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ready.qmp-status: that condition holds once QEMU's run state is the one asked for. */
static void check_qmp_ready(struct vx_supervisor *sv, struct vm_slot *slot)
{
        const char *want = slot->inst.plan->vm->ready.qmp_status;
        _cleanup_free_ char *status = NULL;

        if (slot->inst.ready || !want || !slot->inst.qmp || slot->qmp_ok)
                return;
        if (qmp_query_status(slot->inst.qmp, VX_QMP_COMMAND_TIMEOUT_MS, &status, NULL, NULL) < 0 ||
            strcmp(status, want) != 0)
                return;
        log_info("%s: QEMU is %s (ready.qmp-status).", slot->inst.plan->name, status);
        slot->qmp_ok = true;
        sv_check_ready(sv, slot);
}

/*
 * Closing an inotify fd waits for the kernel's SRCU grace period (about 12 ms
 * measured): a VM's console watch is closed after the stop that ended it is
 * answered, not before. Until then it is only out of epoll.
 */
static void retire_readiness(struct vx_supervisor *sv, struct vm_slot *slot)
{
        struct vx_readiness **n;

        if (!slot->readiness)
                return;
        epoll_del(sv, readiness_fd(slot->readiness));
        n = realloc(sv->retired, (sv->n_retired + 1) * sizeof(*n));
        if (!n) {
                slot->readiness = readiness_free(slot->readiness);
                return;
        }
        sv->retired = n;
        sv->retired[sv->n_retired++] = TAKE_PTR(slot->readiness);
}

static void free_retired(struct vx_supervisor *sv)
{
        for (size_t i = 0; i < sv->n_retired; i++)
                readiness_free(sv->retired[i]);
        sv->n_retired = 0;
}

void sv_unwatch_vm(struct vx_supervisor *sv, struct vm_slot *slot)
{
        if (slot->inst.qmp)
                epoll_del(sv, qmp_get_fd(slot->inst.qmp));
        epoll_del(sv, slot->inst.pidfd);
        retire_readiness(sv, slot);
}

bool sv_slot_active(const struct vm_slot *slot)
{
        return slot->inst.state == VX_VM_RUNNING || slot->inst.state == VX_VM_STOPPING ||
               slot->inst.state == VX_VM_BACKOFF || slot->inst.state == VX_VM_WAITING;
}

size_t supervisor_running(const struct vx_supervisor *sv)
{
        size_t n = 0;

        for (size_t i = 0; i < sv->n_slots; i++)
                n += sv->slots[i].inst.state == VX_VM_RUNNING;
        return n;
}

/* ---- stopping ---- */

static int qmp_simple(struct vm_slot *slot, const char *cmd)
{
        json_t *result = NULL;
        int r;

        if (!slot->inst.qmp)
                return -ENOTCONN;
        /* An unresponsive QEMU must not hold the loop: stop escalates instead. */
        r = qmp_execute(slot->inst.qmp, cmd, NULL, VX_QMP_UNRESPONSIVE_MS, &result, NULL);
        json_decref(result);
        return r;
}

/*
 * How a stop goes, in the same words for the supervisor's log and for every
 * `stop` waiting on this VM: "powering off (timeout 60 s)", "did not power
 * off: sending quit", "killed".
 */
static void stop_say(struct vm_slot *slot, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stop_say(struct vm_slot *slot, const char *fmt, ...)
{
        _cleanup_free_ char *what = NULL, *line = NULL;
        struct vx_supervisor *sv = slot->sv;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&what, fmt, ap);
        va_end(ap);
        if (k < 0 || asprintf(&line, "%s: %s", slot->inst.plan->name, what) < 0)
                return;
        log_info("%s", line);
        for (size_t i = 0; sv && i < sv->n_pending; i++) {
                const struct pending_stop *p = &sv->pending[i];

                /* Best effort: a client that went away gets its answer's error later. */
                if (p->progress && (!p->vm || strcmp(p->vm, slot->inst.plan->name) == 0))
                        (void)control_write_progress(p->fd, line);
        }
}

static void kill_slot(struct vm_slot *slot)
{
        slot->stop_stage = STOP_KILL;
        if (slot->inst.pidfd >= 0)
                (void)syscall(SYS_pidfd_send_signal, slot->inst.pidfd, SIGKILL, NULL, 0);
}

void sv_begin_stop(struct vm_slot *slot, unsigned timeout_s, bool force)
{
        slot->stop_requested = true;
        if (slot->inst.state == VX_VM_BACKOFF || slot->inst.state == VX_VM_FAILED ||
            slot->inst.state == VX_VM_WAITING) {
                disarm_timer(slot);
                slot->start_pending = false;
                slot->inst.state = VX_VM_STOPPED;
                return;
        }
        if (slot->inst.state != VX_VM_RUNNING && slot->inst.state != VX_VM_STOPPING)
                return;
        slot->inst.state = VX_VM_STOPPING;
        if (force) {
                kill_slot(slot);
                stop_say(slot, "killed (--force)");
                return;
        }
        if (slot->stop_stage != STOP_NONE)
                return; /* already on its way */
        stop_say(slot, "powering off (timeout %u s)", timeout_s);
        if (qmp_simple(slot, "system_powerdown") < 0) {
                slot->stop_stage = STOP_POWERDOWN;
                (void)arm_timer(slot, 0); /* escalate at once */
                return;
        }
        slot->stop_stage = STOP_POWERDOWN;
        (void)arm_timer(slot, (int64_t)timeout_s * 1000);
}

static void escalate_stop(struct vm_slot *slot)
{
        if (slot->stop_stage == STOP_POWERDOWN) {
                stop_say(slot, "did not power off: sending quit");
                slot->stop_stage = STOP_QUIT;
                if (qmp_simple(slot, "quit") >= 0) {
                        (void)arm_timer(slot, VX_QUIT_GRACE_MS);
                        return;
                }
        }
        kill_slot(slot);
        stop_say(slot, "QEMU did not exit: killed");
}

static bool stop_done(const struct vx_supervisor *sv, const struct pending_stop *p)
{
        for (size_t i = 0; i < sv->n_slots; i++) {
                const struct vm_slot *slot = &sv->slots[i];
                if (p->vm && strcmp(p->vm, slot->inst.plan->name) != 0)
                        continue;
                if (sv_slot_active(slot))
                        return false;
        }
        return true;
}

static bool any_active(const struct vx_supervisor *sv);

void sv_answer_pending(struct vx_supervisor *sv, bool all)
{
        size_t kept = 0;

        /* When nothing is left to supervise, every stop is answered after the teardown. */
        if (!all && !any_active(sv))
                return;

        for (size_t i = 0; i < sv->n_pending; i++) {
                struct pending_stop *p = &sv->pending[i];
                json_t *answer = NULL;

                /* A whole-deployment stop is answered after teardown: then the host is as it was. */
                if (p->restart && !all ? sv_restart_answer(sv, p, &answer) : all || (p->vm && stop_done(sv, p))) {
                        if (!answer)
                                answer = p->restart ? control_error(-ESHUTDOWN, "the deployment stopped")
                                                    : json_pack("{s:b}", "ok", 1);
                        (void)control_write_answer(p->fd, answer);
                        json_decref(answer);
                        close(p->fd);
                        free(p->vm);
                } else
                        sv->pending[kept++] = *p;
        }
        sv->n_pending = kept;
}

/* ---- exits and restarts ---- */

void sv_restart_or_give_up(struct vm_slot *slot)
{
        const struct vx_restart *policy = &slot->inst.plan->vm->restart;
        const char *name = slot->inst.plan->name;
        int64_t now = monotonic_ms(), delay;
        size_t kept = 0;

        if (policy->policy == VX_RESTART_NEVER) {
                log_warning("%s: QEMU stopped unexpectedly; restart policy is never.", name);
                slot->inst.state = VX_VM_FAILED;
                return;
        }
        /* Only restarts within the window count against the limit. */
        for (size_t i = 0; i < slot->n_restart_times; i++)
                if (now - slot->restart_times[i] < (int64_t)policy->window_s * 1000)
                        slot->restart_times[kept++] = slot->restart_times[i];
        slot->n_restart_times = kept;
        if (kept >= policy->max_restarts) {
                log_error("%s: QEMU stopped %zu times within %us; giving up.", name, kept + 1, policy->window_s);
                slot->inst.state = VX_VM_FAILED;
                return;
        }
        delay = (int64_t)policy->backoff_ms << (kept < 16 ? kept : 16);
        if (delay > VX_RESTART_BACKOFF_MAX_MS)
                delay = VX_RESTART_BACKOFF_MAX_MS;
        log_warning("%s: QEMU stopped unexpectedly; restarting in %lld ms.", name, (long long)delay);
        slot->inst.state = VX_VM_BACKOFF;
        (void)arm_timer(slot, delay);
}

/* Says why QEMU went away, for status (last_error) and the log. */
static void record_crash(struct vm_slot *slot, int status)
{
        char *why = NULL;
        int r;

        if (slot->panicked)
                r = asprintf(&why, "the guest panicked");
        else if (status >= 0 && WIFSIGNALED(status))
                r = asprintf(&why, "QEMU was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        else if (status >= 0 && WIFEXITED(status))
                r = asprintf(&why, "QEMU exited with status %d", WEXITSTATUS(status));
        else
                r = asprintf(&why, "QEMU exited (it was adopted: no exit status)");
        if (r < 0)
                return;
        free(slot->inst.last_error);
        slot->inst.last_error = why;
        log_warning("%s: %s.", slot->inst.plan->name, why);
}

static void restart_now(struct vx_supervisor *sv, size_t i);

static void on_qemu_exit(struct vx_supervisor *sv, size_t i)
{
        struct vm_slot *slot = &sv->slots[i];
        const char *name = slot->inst.plan->name;
        bool guest_off = slot->inst.guest_shutdown && !slot->panicked;
        int status;

        sv_unwatch_vm(sv, slot);
        status = vm_reap(&slot->inst);
        disarm_timer(slot);
        slot->stop_stage = STOP_NONE;
        if (status >= 0)
                log_debug("%s: QEMU exited with wait status 0x%x.", name, (unsigned)status);

        if (slot->stop_requested && slot->in_restart) {
                /* Stopped to be started again (vmxrun restart, restart.scope): its host objects stay. */
                stop_say(slot, "stopped, to be started again");
                slot->stop_requested = false;
                slot->inst.restarts++;
                slot->inst.state = VX_VM_WAITING;
                slot->start_pending = true;
        } else if (slot->stop_requested) {
                stop_say(slot, "stopped");
                slot->inst.state = VX_VM_STOPPED;
        } else if (guest_off && slot->inst.plan->vm->restart.policy != VX_RESTART_ALWAYS) {
                log_info("%s: the guest powered off.", name);
                slot->inst.state = VX_VM_STOPPED;
        } else {
                record_crash(slot, status);
                sv_restart_or_give_up(slot);
                if (slot->inst.state == VX_VM_BACKOFF &&
                    slot->inst.plan->vm->restart.scope == VX_RESTART_SCOPE_DEPLOYMENT)
                        sv_restart_deployment(sv, i);
        }
        if (slot->inst.state == VX_VM_STOPPED)
                runtime_remove_vm_dir(slot->inst.plan->runtime_dir);
        if (slot->inst.state == VX_VM_STOPPED || slot->inst.state == VX_VM_FAILED)
                (void)apply_vm_undo(sv->apply, slot->inst.plan);
        slot->panicked = false;
        sv_state_changed(sv);
        /*
         * restart.backoff 0: started again right here, not after a timer's wake-up and
         * a state write that the restart would supersede at once (one write, with the new pid).
         */
        if (slot->inst.state == VX_VM_BACKOFF && slot->inst.plan->vm->restart.backoff_ms == 0 &&
            slot->inst.plan->vm->restart.scope != VX_RESTART_SCOPE_DEPLOYMENT) {
                disarm_timer(slot);
                restart_now(sv, i);
        }
}

/* The backoff is over: the VM starts again as soon as its turn comes (sv_advance: after:, a restart's order). */
static void restart_now(struct vx_supervisor *sv, size_t i)
{
        struct vm_slot *slot = &sv->slots[i];

        if (slot->n_restart_times < slot->inst.plan->vm->restart.max_restarts)
                slot->restart_times[slot->n_restart_times++] = monotonic_ms();
        slot->inst.restarts++;
        slot->inst.state = VX_VM_WAITING;
        slot->start_pending = true;
        sv_advance(sv);
        if (slot->inst.state == VX_VM_RUNNING)
                check_qmp_ready(sv, slot);
}

static void on_timer(struct vx_supervisor *sv, size_t i)
{
        struct vm_slot *slot = &sv->slots[i];
        uint64_t expirations;

        if (read(slot->timer_fd, &expirations, sizeof(expirations)) < 0)
                return; /* disarmed meanwhile */
        if (slot->inst.state == VX_VM_BACKOFF)
                restart_now(sv, i);
        else if (slot->inst.state == VX_VM_STOPPING)
                escalate_stop(slot);
}

/* What the QMP connection dropped since we last looked, said once per batch (qmp/ does not log). */
static void log_qmp_drops(struct vm_slot *slot)
{
        struct vx_qmp_stats now;

        qmp_get_stats(slot->inst.qmp, &now);
        if (now.events_dropped > slot->qmp_seen.events_dropped)
                log_warning("%s: QMP event queue full: dropped %" PRIu64 " of QEMU's events.", slot->inst.plan->name,
                            now.events_dropped - slot->qmp_seen.events_dropped);
        if (now.replies_dropped > slot->qmp_seen.replies_dropped)
                log_debug("%s: QMP: dropped %" PRIu64 " late replies.", slot->inst.plan->name,
                          now.replies_dropped - slot->qmp_seen.replies_dropped);
        slot->qmp_seen = now;
}

static void on_qmp(struct vx_supervisor *sv, size_t i)
{
        struct vm_slot *slot = &sv->slots[i];
        const char *name = slot->inst.plan->name;
        bool any_event = false;
        int r;

        r = qmp_process(slot->inst.qmp);
        log_qmp_drops(slot);
        for (;;) {
                _cleanup_(qmp_event_freep) struct vx_qmp_event *e = NULL;
                if (qmp_pop_event(slot->inst.qmp, &e) <= 0)
                        break;
                log_debug("%s: QMP event %s", name, e->name);
                if (strcmp(e->name, "SHUTDOWN") == 0) {
                        json_t *guest = e->data ? json_object_get(e->data, "guest") : NULL;
                        json_t *reason = e->data ? json_object_get(e->data, "reason") : NULL;
                        slot->inst.guest_shutdown = json_is_true(guest);
                        if (reason && json_is_string(reason) && strcmp(json_string_value(reason), "guest-panic") == 0)
                                slot->panicked = true;
                } else if (strcmp(e->name, "GUEST_PANICKED") == 0) {
                        log_warning("%s: the guest panicked.", name);
                        slot->panicked = true;
                } else if (strcmp(e->name, "RESET") == 0)
                        log_info("%s: the guest rebooted.", name);
                any_event = true;
        }
        /* A QMP event is a wake-up the VM caused anyway: threads QEMU created since are pinned now. */
        if (any_event)
                (void)vm_pin_new_threads(&slot->inst);
        if (r < 0) {
                /* QEMU is going away; its pidfd tells us when it is gone. */
                epoll_del(sv, qmp_get_fd(slot->inst.qmp));
                slot->inst.qmp = qmp_free(slot->inst.qmp);
                return;
        }
        /* An event (STOP, RESUME, SUSPEND, ...) may have brought the run state ready.qmp-status waits for. */
        check_qmp_ready(sv, slot);
}

static void on_console(struct vx_supervisor *sv, size_t i)
{
        struct vm_slot *slot = &sv->slots[i];
        int r;

        r = readiness_process(slot->readiness);
        if (r > 0) {
                log_info("%s: the console printed '%s'.", slot->inst.plan->name,
                         slot->inst.plan->vm->ready.console_pattern);
                slot->console_seen = true;
                slot->readiness = readiness_free(slot->readiness);
                sv_check_ready(sv, slot);
        } else if (r < 0) {
                log_warning_errno(r, "%s: lost the console log, readiness unknown: %m", slot->inst.plan->name);
                slot->readiness = readiness_free(slot->readiness);
        }
}

static void on_signal(struct vx_supervisor *sv)
{
        struct signalfd_siginfo si;

        while (read(sv->signal_fd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGHUP)
                        continue; /* no configuration to reload: the profile is fixed at start */
                log_info("Got signal %u: stopping every VM.", si.ssi_signo);
                sv_request_stop(sv, NULL, VX_STOP_TIMEOUT_DEFAULT_S, false);
                sv_state_changed(sv);
        }
}

/*
 * The supervisor lives while a VM runs or may run again, and also while one
 * has failed: `status` must be able to say so, and why, until a `stop`
 * acknowledges it.
 */
static bool any_active(const struct vx_supervisor *sv)
{
        for (size_t i = 0; i < sv->n_slots; i++)
                if (sv_slot_active(&sv->slots[i]) || sv->slots[i].inst.state == VX_VM_FAILED)
                        return true;
        return false;
}

static void teardown(struct vx_supervisor *sv)
{
        for (size_t i = 0; i < sv->n_slots; i++)
                runtime_remove_vm_dir(sv->slots[i].inst.plan->runtime_dir);
        /* Backwards through the journal: taps (gone with QEMU), bindings, our claims on bridges. */
        (void)apply_teardown(sv->apply);
        (void)cpu_ledger_release(sv->plan->runtime_root, sv->plan->deployment);
        state_remove(sv->plan->deployment_dir);
        runtime_remove_deployment_dir(sv->plan->deployment_dir);
}

int supervisor_report_start(struct vx_supervisor *sv)
{
        int r;

        if (sv->start_reported)
                return 0;
        sv->start_reported = true;
        for (size_t i = 0; i < sv->n_slots; i++)
                check_qmp_ready(sv, &sv->slots[i]);
        r = sv_arm_ready_timeout(sv);
        if (r < 0)
                return log_error_errno(r, "Failed to arm the readiness timeout: %m");
        sv_maybe_notify(sv, false);
        return 0;
}

int supervisor_run(struct vx_supervisor *sv)
{
        int r;

        r = supervisor_report_start(sv);
        if (r < 0)
                return r;
        /* After the start's answer: the capabilities a running supervisor keeps (the spawner has its own). */
        r = privileges_drop_for_supervisor(sv->plan);
        if (r < 0)
                log_warning_errno(r, "Failed to drop capabilities, ignoring: %m");
        if (service_watchdog_fd(sv->service) >= 0) {
                r = sv_epoll_add(sv, service_watchdog_fd(sv->service), EV_WATCHDOG, 0);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch the systemd watchdog timer: %m");
        }

        for (size_t i = 0; i < sv->n_slots; i++) {
                struct vm_slot *slot = &sv->slots[i];
                slot->restart_times = calloc(slot->inst.plan->vm->restart.max_restarts + 1, sizeof(int64_t));
                if (!slot->restart_times)
                        return log_error_errno(-ENOMEM, "Out of memory.");
        }
        /* The VMs that start after another (after:), and readiness conditions checked once before any event. */
        for (size_t i = 0; i < sv->n_slots; i++)
                sv_check_ready(sv, &sv->slots[i]);
        sv_advance(sv);
        /* The start wrote it once every VM ran: again only if a VM started (after:) or changed since. */
        if (sv->state_dirty)
                sv_save_state(sv);

        while (any_active(sv)) {
                struct epoll_event events[16];
                int n = epoll_wait(sv->epoll_fd, events, (int)ELEMENTSOF(events), -1);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(-errno, "epoll_wait failed: %m");
                }
                for (int k = 0; k < n; k++) {
                        uint64_t u = events[k].data.u64;
                        size_t i = EV_INDEX(u);

                        switch (EV_KIND(u)) {
                        case EV_SIGNAL:
                                on_signal(sv);
                                break;
                        case EV_CONTROL:
                                sv_on_control(sv);
                                break;
                        case EV_PIDFD:
                                if (sv->slots[i].inst.pidfd >= 0)
                                        on_qemu_exit(sv, i);
                                break;
                        case EV_QMP:
                                if (sv->slots[i].inst.qmp)
                                        on_qmp(sv, i);
                                break;
                        case EV_TIMER:
                                on_timer(sv, i);
                                break;
                        case EV_CONSOLE:
                                if (sv->slots[i].readiness)
                                        on_console(sv, i);
                                break;
                        case EV_READY_TIMEOUT:
                                sv_maybe_notify(sv, true);
                                sv->ready_timer_fd = safe_close(sv->ready_timer_fd);
                                break;
                        case EV_WATCHDOG:
                                service_on_watchdog(sv->service);
                                break;
                        case EV_LINK:
                                sv_on_link(sv);
                                break;
                        }
                }
                sv_advance(sv);
                /* Once the last VM is gone the teardown below removes the file: writing it first
                 * would only put a rename (1 ms on ext4) before the stop's answer. */
                if (sv->state_dirty && any_active(sv))
                        sv_save_state(sv);
                sv_answer_pending(sv, false);
                free_retired(sv);
        }

        log_info("No VM of %s is running any more; cleaning up.", sv->profile->name);
        teardown(sv);
        sv_answer_pending(sv, true);
        free_retired(sv);
        return 0;
}

struct vx_supervisor *supervisor_free(struct vx_supervisor *sv)
{
        if (!sv)
                return NULL;
        free_retired(sv);
        free(sv->retired);
        for (size_t i = 0; i < sv->n_slots; i++) {
                vm_instance_done(&sv->slots[i].inst);
                safe_close(sv->slots[i].timer_fd);
                free(sv->slots[i].restart_times);
                readiness_free(sv->slots[i].readiness);
        }
        for (size_t i = 0; i < sv->n_pending; i++) {
                safe_close(sv->pending[i].fd);
                free(sv->pending[i].vm);
        }
        free(sv->pending);
        free(sv->slots);
        safe_close(sv->control_fd);
        safe_close(sv->signal_fd);
        safe_close(sv->epoll_fd);
        safe_close(sv->lock_fd);
        safe_close(sv->ready_timer_fd);
        safe_close(sv->link_fd);
        service_free(sv->service);
        for (size_t i = 0; i < sv->n_later; i++) {
                plan_free(sv->later_plans[i]);
                profile_free(sv->later_profiles[i]);
        }
        free(sv->later_plans);
        free(sv->later_profiles);
        supervisor_notify(sv->notify_fd, VX_NOTIFY_FAILED);
        apply_free(sv->apply);
        plan_free(sv->plan);
        profile_free(sv->profile);
        free(sv->profile_path);
        free(sv);
        return NULL;
}
