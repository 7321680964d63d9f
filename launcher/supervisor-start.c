/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The start sequence: adopt what a dead supervisor left running, spawn every
 * other QEMU paused, set the event loop up while they initialise, then
 * attach, pin and run each; and telling the waiting `start` how it went.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cleanup.h"
#include "control.h"
#include "cpu-ledger.h"
#include "drift.h"
#include "launcher.h"
#include "log.h"
#include "runtime.h"
#include "state.h"
#include "supervisor-internal.h"

static void rollback_started(struct vx_supervisor *sv, const bool *started)
{
        for (size_t i = 0; i < sv->n_slots; i++) {
                if (!started[i])
                        continue;
                log_info("%s: stopping it again: the deployment did not start.", sv->slots[i].inst.plan->name);
                vm_kill(&sv->slots[i].inst);
                runtime_remove_vm_dir(sv->slots[i].inst.plan->runtime_dir);
                (void)apply_vm_undo(sv->apply, sv->slots[i].inst.plan);
                sv->slots[i].inst.state = VX_VM_STOPPED;
        }
}

/*
 * Creates the VM's taps (new ones: those of a previous QEMU died with it) and
 * starts QEMU, paused, with the plan's fd table. Our copies are closed once
 * QEMU has them, so the taps live exactly as long as QEMU.
 */
static int spawn_vm(struct vx_supervisor *sv, struct vx_vm_instance *inst)
{
        size_t n = inst->plan->n_fds;
        _cleanup_free_ int *fds = malloc((n ? n : 1) * sizeof(int));
        int r;

        if (!fds)
                return log_error_errno(-ENOMEM, "Out of memory.");
        for (size_t i = 0; i < n; i++)
                fds[i] = -EBADF;
        r = apply_vm(sv->apply, inst->plan, fds);
        if (r < 0) {
                free(inst->last_error);
                inst->last_error = strdup("host networking failed; see the supervisor log");
                inst->state = VX_VM_FAILED;
                return r;
        }
        inst->qemu_user = apply_qemu_user(sv->apply);
        r = vm_spawn(inst, fds);
        apply_close_fds(fds, n);
        if (r < 0)
                (void)apply_vm_undo(sv->apply, inst->plan);
        return r;
}

static int attach_vm(struct vx_supervisor *sv, struct vx_vm_instance *inst)
{
        int r = vm_attach(inst);

        if (r < 0)
                (void)apply_vm_undo(sv->apply, inst->plan);
        return r;
}

/* A whole (re)start of one VM. */
int sv_start_vm(struct vx_supervisor *sv, struct vx_vm_instance *inst)
{
        int r = spawn_vm(sv, inst);

        return r < 0 ? r : attach_vm(sv, inst);
}

static int setup_loop(struct vx_supervisor *sv)
{
        sigset_t mask;
        int r;

        sv->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (sv->epoll_fd < 0)
                return log_error_errno(-errno, "Failed to create epoll: %m");

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGPIPE);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "Failed to block signals: %m");
        sigdelset(&mask, SIGPIPE); /* blocked only: a closed control client must not kill us */
        sv->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sv->signal_fd < 0)
                return log_error_errno(-errno, "Failed to create signalfd: %m");
        r = sv_epoll_add(sv, sv->signal_fd, EV_SIGNAL, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        r = control_listen(sv->plan->deployment_dir, &sv->control_fd);
        if (r < 0)
                return log_error_errno(r, "Failed to create the control socket in %s: %m", sv->plan->deployment_dir);
        r = sv_epoll_add(sv, sv->control_fd, EV_CONTROL, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the control socket: %m");

        for (size_t i = 0; i < sv->n_slots; i++) {
                sv->slots[i].timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
                if (sv->slots[i].timer_fd < 0)
                        return log_error_errno(-errno, "Failed to create a timer: %m");
                r = sv_epoll_add(sv, sv->slots[i].timer_fd, EV_TIMER, i);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int watch_running(struct vx_supervisor *sv)
{
        for (size_t i = 0; i < sv->n_slots; i++)
                if (sv->slots[i].inst.state == VX_VM_RUNNING) {
                        int r = sv_watch_vm(sv, i);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/*
 * An adopted QEMU runs what the profile said when it was started; the
 * profile may have been edited since. Plans the profile as it is now and
 * says, per VM, how the running command line differs (status shows it;
 * stop and start apply it). Nothing is changed: a difference is a report.
 */
int sv_plan_profile_now(struct vx_supervisor *sv, struct vx_profile **ret_profile, struct vx_plan **ret_plan)
{
        struct vx_diags diags = {};
        int r;

        r = launcher_plan_profile(sv->profile_path, getenv("VMXRUN_ROOT"), &sv->plan_options, &diags, ret_profile,
                                  ret_plan);
        diag_done(&diags);
        return r;
}

/* The taps the state file recorded for an adopted VM, against the kernel's devices of those names now. */
static int check_saved_taps(const struct vx_saved_vm *old, char ***lines)
{
        for (size_t k = 0; k < old->n_nics; k++) {
                const struct vx_saved_nic *n = &old->nics[k];
                int r = drift_tap(n->tap, n->ifindex, n->tap ? (int)if_nametoindex(n->tap) : 0, lines);

                if (r < 0)
                        return r;
        }
        return 0;
}

static void check_drift(struct vx_supervisor *sv, const bool *adopted, const struct vx_saved_state *saved)
{
        _cleanup_(profile_freep) struct vx_profile *profile = NULL;
        _cleanup_(plan_freep) struct vx_plan *now = NULL;
        int r;

        r = sv_plan_profile_now(sv, &profile, &now);
        if (r < 0) {
                log_warning_errno(r, "Cannot plan %s as it is now, so the adopted VMs are not compared with it: %m",
                                  sv->profile_path);
                return;
        }
        (void)apply_vfio_resolve(sv->apply, now); /* the VFs the journal knows, not their placeholders */
        for (size_t i = 0; i < sv->n_slots; i++) {
                struct vx_vm_instance *inst = &sv->slots[i].inst;
                const struct vx_vm_plan *vp = adopted[i] ? plan_find_vm(now, inst->plan->name) : NULL;
                _cleanup_free_ char *buf = NULL;
                _cleanup_free_ char **argv = NULL;
                size_t n = 0;

                const struct vx_saved_vm *old = saved ? state_find_vm(saved, inst->plan->name) : NULL;

                if (!vp || vm_read_cmdline(inst->pid, &buf, &argv, &n) < 0)
                        continue;
                inst->argv_drift = drift_free(inst->argv_drift);
                if (drift_argv(argv, n, vp->argv.items, vp->argv.n, &inst->argv_drift) < 0 ||
                    (old && check_saved_taps(old, &inst->argv_drift) < 0) || !inst->argv_drift[0]) {
                        inst->argv_drift = drift_free(inst->argv_drift);
                        continue;
                }
                log_warning("%s: the running QEMU differs from %s as it is now (restart, or stop and start, apply it):",
                            inst->plan->name, sv->profile_path);
                for (size_t k = 0; inst->argv_drift[k]; k++)
                        log_warning("%s:   %s", inst->plan->name, inst->argv_drift[k]);
        }
}

/*
 * First phase of a start: adopt what a dead supervisor left running, spawn
 * every other QEMU paused. They initialise in parallel while the supervisor
 * sets itself up; attach_all() then pins and runs them.
 */
static int spawn_all(struct vx_supervisor *sv, const struct vx_saved_state *saved, bool *spawned)
{
        _cleanup_free_ bool *adopted = calloc(sv->n_slots ? sv->n_slots : 1, sizeof(bool));
        bool any_adopted = false;

        if (!adopted)
                return -ENOMEM;
        for (size_t i = 0; i < sv->n_slots; i++) {
                struct vx_vm_instance *inst = &sv->slots[i].inst;
                const struct vx_saved_vm *old = saved ? state_find_vm(saved, inst->plan->name) : NULL;
                int r;

                if (old && old->pid > 0) {
                        sv_restore_pin_live(&sv->slots[i], old);
                        r = vm_adopt(inst, old->pid, old->start_ticks);
                        if (r >= 0) {
                                inst->restarts = old->restarts;
                                inst->started_usec = old->started_usec;
                                inst->ready = old->ready || !vm_has_ready_condition(inst->plan);
                                log_info("%s: adopted running QEMU (pid %d).", inst->plan->name, (int)old->pid);
                                adopted[i] = any_adopted = true;
                                continue;
                        }
                        vm_instance_done(inst);
                        *inst = (struct vx_vm_instance){.plan = inst->plan, .pidfd = -EBADF};
                        if (r != -ESRCH)
                                return r;
                        log_info("%s: the QEMU recorded as pid %d is gone; starting it.", inst->plan->name,
                                 (int)old->pid);
                }
                if (!inst->plan->complete)
                        return log_error_errno(-EOPNOTSUPP, "%s: the plan is not complete on this host (%s); refusing.",
                                               inst->plan->name,
                                               inst->plan->n_notes ? inst->plan->notes[0] : "see `vmxrun cmdline`");
                if (inst->plan->vm->after) {
                        /* Started from the event loop once the VM it starts after runs or is ready (sv_advance). */
                        inst->state = VX_VM_WAITING;
                        sv->slots[i].start_pending = true;
                        continue;
                }
                r = spawn_vm(sv, inst);
                if (r < 0)
                        return r;
                spawned[i] = true;
        }
        if (any_adopted)
                check_drift(sv, adopted, saved);
        return 0;
}

static int attach_all(struct vx_supervisor *sv, const bool *spawned)
{
        for (size_t i = 0; i < sv->n_slots; i++) {
                struct vx_vm_instance *inst = &sv->slots[i].inst;
                int r;

                if (!spawned[i])
                        continue;
                r = attach_vm(sv, inst);
                if (r < 0)
                        return r;
                log_info("%s: running (pid %d, %zu vCPUs pinned).", inst->plan->name, (int)inst->pid,
                         inst->plan->pinning.n_vcpus);
        }
        return 0;
}

/* The profile as started: what an adopting supervisor plans from. Without it the VMs could not be adopted. */
int sv_write_profile_copy(const struct vx_plan *plan, const char *text)
{
        _cleanup_free_ char *copy = NULL;
        int r;

        if (!text)
                return 0;
        if (asprintf(&copy, "%s/profile.yaml", plan->deployment_dir) < 0)
                return log_error_errno(-ENOMEM, "Out of memory.");
        r = runtime_write_atomic(copy, text, strlen(text));
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", copy);
        return 0;
}

/*
 * No state file, but QEMUs of this deployment run (a supervisor died before
 * its first state write): they are taken over like any VM a state file names.
 */
static struct vx_saved_state *orphans_as_state(const struct vx_plan *plan)
{
        _cleanup_free_ struct vx_orphan *o = NULL;
        struct vx_saved_state *s;
        bool leftover = false;
        size_t n = 0;

        /* An orphan keeps its QMP socket in its runtime dir: without one, a scan of /proc would find nothing. */
        for (size_t i = 0; i < plan->n_vms && !leftover; i++)
                leftover = access(plan->vms[i].qmp_path, F_OK) == 0;
        if (!leftover || launcher_find_orphans(plan->deployment_dir, &o, &n) < 0 || n == 0)
                return NULL;
        s = calloc(1, sizeof(*s));
        if (!s || !(s->vms = calloc(n, sizeof(*s->vms))))
                return state_free(s);
        for (size_t i = 0; i < n; i++) {
                log_info("%s: found orphan QEMU (pid %d), whose supervisor died before recording it; adopting it.",
                         o[i].vm, (int)o[i].pid);
                s->vms[i] =
                        (struct vx_saved_vm){.name = strdup(o[i].vm), .pid = o[i].pid, .start_ticks = o[i].start_ticks};
                if (!s->vms[i].name)
                        return state_free(s);
                s->n_vms++;
        }
        return s;
}

/*
 * The plan's CPUs in the host-wide ledger, with this supervisor as their
 * holder: the start that placed them wrote them with its own pid, an
 * adopting supervisor rewrites what it adopted. Teardown removes them.
 */
static int claim_cpus(struct vx_supervisor *sv)
{
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = cpu_ledger_lock(sv->plan->runtime_root, &fd);
        if (r >= 0)
                r = cpu_ledger_write(sv->plan, getpid());
        if (r < 0)
                return log_error_errno(r, "Failed to record the CPUs of %s in %s/.shared/cpus: %m",
                                       sv->plan->deployment, sv->plan->runtime_root);
        return 0;
}

/* Everything a start does after the lock; on failure, stops what this call started. */
static int start_locked(struct vx_supervisor *sv, const struct vx_supervisor_options *opts)
{
        _cleanup_(state_freep) struct vx_saved_state *saved = NULL;
        _cleanup_free_ bool *spawned = calloc(sv->n_slots ? sv->n_slots : 1, sizeof(bool));
        int r;

        if (!spawned)
                return -ENOMEM;
        if (state_load(sv->plan->deployment_dir, &saved) < 0)
                saved = orphans_as_state(sv->plan);
        /* The journal a dead supervisor left says what is ours; bridges come before any VM. */
        r = apply_open(sv->plan, &sv->apply);
        if (r >= 0)
                r = apply_deployment(sv->apply);
        if (r >= 0)
                r = apply_vfio_resolve(sv->apply, sv->plan);
        if (r >= 0)
                r = claim_cpus(sv);
        if (r >= 0)
                r = spawn_all(sv, saved, spawned);
        if (r >= 0) {
                /* While the QEMUs initialise. */
                r = sv_write_profile_copy(sv->plan, opts->profile_copy);
                if (r >= 0)
                        r = setup_loop(sv);
        }
        if (r >= 0)
                r = attach_all(sv, spawned);
        if (r >= 0) {
                /*
                 * On record as soon as they run: a supervisor that dies from here on leaves VMs to
                 * adopt. VMs no state file names could not be found again: a failed write fails the start.
                 */
                r = sv_save_state(sv);
                if (r >= 0)
                        r = watch_running(sv);
        }
        if (r < 0) {
                rollback_started(sv, spawned);
                if (supervisor_running(sv) == 0) {
                        state_remove(sv->plan->deployment_dir);
                        (void)cpu_ledger_release(sv->plan->runtime_root, sv->plan->deployment);
                }
        }
        return r;
}

int supervisor_start(struct vx_profile *profile, struct vx_plan *plan, const struct vx_supervisor_options *opts,
                     struct vx_supervisor **ret)
{
        struct vx_supervisor *sv;
        bool lost_race = false;
        int r;

        sv = calloc(1, sizeof(*sv));
        if (!sv)
                return -ENOMEM;
        sv->profile = profile;
        sv->plan = plan;
        sv->lock_fd = sv->epoll_fd = sv->signal_fd = sv->control_fd = sv->ready_timer_fd = sv->link_fd = -EBADF;
        sv->notify_fd = opts->notify_fd;
        sv->wait_ready = opts->wait_ready;
        sv->notified = opts->notified;
        /* Only the foreground supervisor is the unit's main process; a daemon reports on notify_fd. */
        if (opts->notify_fd < 0 && service_open(&sv->service) < 0)
                log_warning("Failed to set up the systemd watchdog timer, ignoring.");
        sv->plan_options = opts->plan_options;
        sv->plan_options.claim_cpus = false; /* a replan (drift) looks; the CPUs are claimed from sv->plan */
        sv->profile_path = strdup(opts->profile_path);
        sv->n_slots = plan->n_vms;
        sv->slots = calloc(sv->n_slots ? sv->n_slots : 1, sizeof(*sv->slots));
        if (!sv->profile_path || !sv->slots) {
                supervisor_free(sv);
                return -ENOMEM;
        }
        for (size_t i = 0; i < sv->n_slots; i++)
                sv->slots[i] = (struct vm_slot){
                        .inst = {.plan = &plan->vms[i], .pidfd = -EBADF},
                        .timer_fd = -EBADF,
                        .sv = sv,
                };

        r = runtime_mkdir(plan->deployment_dir);
        if (r < 0)
                log_error_errno(r, "Failed to create %s: %m", plan->deployment_dir);
        else {
                r = runtime_lock(plan->deployment_dir, &sv->lock_fd);
                if (r < 0 && r != -EBUSY)
                        log_error_errno(r, "Failed to lock %s: %m", plan->deployment_dir);
                lost_race = r == -EBUSY;
        }
        if (r >= 0) {
                r = start_locked(sv, opts);
                /* -EBUSY means "another supervisor runs it" to our callers; a busy host object was logged. */
                if (r == -EBUSY)
                        r = -EIO;
        }
        if (r < 0) {
                /* Nothing of ours may stay behind when nothing runs: the deployment dir goes with the lock. */
                if (sv->lock_fd >= 0 && supervisor_running(sv) == 0) {
                        if (sv->apply)
                                (void)apply_teardown(sv->apply);
                        runtime_remove_deployment_dir(plan->deployment_dir);
                }
                sv->profile = NULL; /* the caller still owns them on failure */
                sv->plan = NULL;
                if (lost_race) {
                        /* Another supervisor holds the lock: "already running", not "failed". */
                        supervisor_notify(sv->notify_fd, VX_NOTIFY_RUNNING);
                        sv->notify_fd = -EBADF;
                }
                supervisor_free(sv);
                return r;
        }
        /* start_locked() wrote the state file once every VM ran: a second write would only delay the notify. */
        *ret = sv;
        return 0;
}

void supervisor_notify(int fd, int status)
{
        unsigned char b = (unsigned char)status;

        if (fd < 0)
                return;
        (void)!write(fd, &b, 1);
        close(fd);
}

/* A VM's ready.timeout, and that of each VM it starts after: it cannot be ready before they are. */
static unsigned ready_timeout_s(struct vx_supervisor *sv, const struct vm_slot *slot)
{
        unsigned total = 0;

        for (size_t hops = 0; slot && hops <= sv->n_slots; hops++, slot = sv_after_slot(sv, slot))
                total += slot->inst.plan->vm->ready.timeout_s;
        return total;
}

static bool all_ready(const struct vx_supervisor *sv)
{
        for (size_t i = 0; i < sv->n_slots; i++)
                if ((sv->slots[i].inst.state == VX_VM_RUNNING && !sv->slots[i].inst.ready) ||
                    sv->slots[i].inst.state == VX_VM_WAITING)
                        return false;
        return true;
}

/* Lets `start` return: at once, or with --wait once every VM is ready. */
void sv_maybe_notify(struct vx_supervisor *sv, bool timed_out)
{
        if (sv->notify_fd < 0)
                return;
        if (!sv->wait_ready || all_ready(sv)) {
                supervisor_notify(sv->notify_fd, VX_NOTIFY_STARTED);
                sv->notify_fd = -EBADF;
                if (sv->notified)
                        sv->notified(sv->plan->deployment_dir);
        } else if (timed_out) {
                for (size_t i = 0; i < sv->n_slots; i++) {
                        const struct vx_vm_instance *inst = &sv->slots[i].inst;
                        const struct vx_vm *vm = inst->plan->vm;

                        if (inst->state == VX_VM_WAITING)
                                log_error("%s: not started after %us: waiting for %s.", vm->name,
                                          ready_timeout_s(sv, &sv->slots[i]), inst->waiting_for ?: "its turn");
                        if (inst->state != VX_VM_RUNNING || inst->ready)
                                continue;
                        /* The condition still missing, as sv_check_ready() found it; the console's wording stays. */
                        if (inst->waiting_for && !(vm->ready.console_pattern && !sv->slots[i].console_seen) &&
                            !(vm->ready.qmp_status && !sv->slots[i].qmp_ok))
                                log_error("%s: not ready after %us: waiting for %s.", vm->name, vm->ready.timeout_s,
                                          inst->waiting_for);
                        else if (vm->ready.console_pattern)
                                log_error("%s: not ready after %us (the console never printed '%s').", vm->name,
                                          vm->ready.timeout_s, vm->ready.console_pattern);
                        else
                                log_error("%s: not ready after %us (QEMU never was '%s').", vm->name,
                                          vm->ready.timeout_s, vm->ready.qmp_status);
                }
                supervisor_notify(sv->notify_fd, VX_NOTIFY_NOT_READY);
                sv->notify_fd = -EBADF;
                if (sv->notified)
                        sv->notified(sv->plan->deployment_dir);
        }
}

/* With --wait, the longest ready.timeout of the VMs that are not ready yet bounds the wait. */
int sv_arm_ready_timeout(struct vx_supervisor *sv)
{
        unsigned longest = 0;
        struct itimerspec its = {0};
        int r;

        if (!sv->wait_ready || all_ready(sv))
                return 0;
        for (size_t i = 0; i < sv->n_slots; i++)
                if (!sv->slots[i].inst.ready && ready_timeout_s(sv, &sv->slots[i]) > longest)
                        longest = ready_timeout_s(sv, &sv->slots[i]);
        sv->ready_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (sv->ready_timer_fd < 0)
                return -errno;
        its.it_value.tv_sec = longest ? longest : 1;
        if (timerfd_settime(sv->ready_timer_fd, 0, &its, NULL) < 0)
                return -errno;
        r = sv_epoll_add(sv, sv->ready_timer_fd, EV_READY_TIMEOUT, 0);
        return r;
}
