/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "affinity.h"
#include "apply.h"
#include "cleanup.h"
#include "control.h"
#include "log.h"
#include "privileges.h"
#include "readiness.h"
#include "runtime.h"
#include "state.h"

enum event_kind {
        EV_SIGNAL,
        EV_CONTROL,
        EV_PIDFD,
        EV_QMP,
        EV_TIMER,
        EV_CONSOLE,
        EV_READY_TIMEOUT,
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
};

struct pending_stop {
        int fd;
        char *vm; /* NULL: the whole deployment */
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
        void (*notified)(const char *deployment_dir);
        struct pending_stop *pending;
        size_t n_pending;
        bool exit_loop;
};

static int64_t monotonic_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int epoll_add(struct vx_supervisor *sv, int fd, enum event_kind kind, size_t index)
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

static void save_state(struct vx_supervisor *sv)
{
        _cleanup_free_ struct vx_vm_instance **insts = calloc(sv->n_slots, sizeof(*insts));
        int r;

        if (!insts)
                return;
        for (size_t i = 0; i < sv->n_slots; i++)
                insts[i] = &sv->slots[i].inst;
        r = state_save(sv->plan, sv->profile_path, &sv->plan_options, insts, sv->n_slots);
        if (r < 0)
                log_warning_errno(r, "Failed to write the state file, ignoring: %m");
}

/* Watches a freshly started or adopted VM: its pidfd, its QMP socket and its console. */
static int watch_vm(struct vx_supervisor *sv, size_t i)
{
        struct vm_slot *slot = &sv->slots[i];
        int r;

        r = epoll_add(sv, slot->inst.pidfd, EV_PIDFD, i);
        if (r >= 0)
                r = epoll_add(sv, qmp_get_fd(slot->inst.qmp), EV_QMP, i);
        if (r < 0)
                return log_error_errno(r, "%s: failed to watch QEMU: %m", slot->inst.plan->name);
        slot->readiness = readiness_free(slot->readiness);
        if (!slot->inst.ready && slot->inst.plan->vm->ready.console_pattern) {
                r = readiness_watch(slot->inst.plan, &slot->readiness);
                if (r < 0)
                        return log_error_errno(r, "%s: failed to watch the console for readiness: %m",
                                               slot->inst.plan->name);
                r = epoll_add(sv, readiness_fd(slot->readiness), EV_CONSOLE, i);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void maybe_notify(struct vx_supervisor *sv, bool timed_out);

/* ready.qmp-status: the VM is ready once QEMU's run state is the one asked for. */
static void check_qmp_ready(struct vx_supervisor *sv, struct vm_slot *slot)
{
        const char *want = slot->inst.plan->vm->ready.qmp_status;
        _cleanup_free_ char *status = NULL;

        if (slot->inst.ready || !want || !slot->inst.qmp)
                return;
        if (qmp_query_status(slot->inst.qmp, VX_QMP_COMMAND_TIMEOUT_MS, &status, NULL, NULL) < 0 ||
            strcmp(status, want) != 0)
                return;
        log_info("%s: ready (QEMU is %s).", slot->inst.plan->name, status);
        slot->inst.ready = true;
        save_state(sv);
        maybe_notify(sv, false);
}

static void unwatch_vm(struct vx_supervisor *sv, struct vm_slot *slot)
{
        if (slot->inst.qmp)
                epoll_del(sv, qmp_get_fd(slot->inst.qmp));
        epoll_del(sv, slot->inst.pidfd);
        slot->readiness = readiness_free(slot->readiness); /* closing removes it from epoll */
}

static bool slot_active(const struct vm_slot *slot)
{
        return slot->inst.state == VX_VM_RUNNING || slot->inst.state == VX_VM_STOPPING ||
               slot->inst.state == VX_VM_BACKOFF;
}

size_t supervisor_running(const struct vx_supervisor *sv)
{
        size_t n = 0;

        for (size_t i = 0; i < sv->n_slots; i++)
                n += sv->slots[i].inst.state == VX_VM_RUNNING;
        return n;
}

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
static int start_vm(struct vx_supervisor *sv, struct vx_vm_instance *inst)
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
        r = epoll_add(sv, sv->signal_fd, EV_SIGNAL, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        r = control_listen(sv->plan->deployment_dir, &sv->control_fd);
        if (r < 0)
                return log_error_errno(r, "Failed to create the control socket in %s: %m",
                                       sv->plan->deployment_dir);
        r = epoll_add(sv, sv->control_fd, EV_CONTROL, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the control socket: %m");

        for (size_t i = 0; i < sv->n_slots; i++) {
                sv->slots[i].timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
                if (sv->slots[i].timer_fd < 0)
                        return log_error_errno(-errno, "Failed to create a timer: %m");
                r = epoll_add(sv, sv->slots[i].timer_fd, EV_TIMER, i);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int watch_running(struct vx_supervisor *sv)
{
        for (size_t i = 0; i < sv->n_slots; i++)
                if (sv->slots[i].inst.state == VX_VM_RUNNING) {
                        int r = watch_vm(sv, i);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/*
 * First phase of a start: adopt what a dead supervisor left running, spawn
 * every other QEMU paused. They initialise in parallel while the supervisor
 * sets itself up; attach_all() then pins and runs them.
 */
static int spawn_all(struct vx_supervisor *sv, const struct vx_saved_state *saved, bool *spawned)
{
        for (size_t i = 0; i < sv->n_slots; i++) {
                struct vx_vm_instance *inst = &sv->slots[i].inst;
                const struct vx_saved_vm *old = saved ? state_find_vm(saved, inst->plan->name) : NULL;
                int r;

                if (old && old->pid > 0) {
                        r = vm_adopt(inst, old->pid, old->start_ticks);
                        if (r >= 0) {
                                inst->restarts = old->restarts;
                                inst->started_usec = old->started_usec;
                                inst->ready = old->ready || (!inst->plan->vm->ready.console_pattern &&
                                                             !inst->plan->vm->ready.qmp_status);
                                log_info("%s: adopted running QEMU (pid %d).", inst->plan->name, (int)old->pid);
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
                r = spawn_vm(sv, inst);
                if (r < 0)
                        return r;
                spawned[i] = true;
        }
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

static void write_profile_copy(const struct vx_plan *plan, const char *text)
{
        _cleanup_free_ char *copy = NULL;

        if (text && asprintf(&copy, "%s/profile.yaml", plan->deployment_dir) >= 0)
                (void)runtime_write_atomic(copy, text, strlen(text));
}

/* Everything a start does after the lock; on failure, stops what this call started. */
static int start_locked(struct vx_supervisor *sv, const struct vx_supervisor_options *opts)
{
        _cleanup_(state_freep) struct vx_saved_state *saved = NULL;
        _cleanup_free_ bool *spawned = calloc(sv->n_slots ? sv->n_slots : 1, sizeof(bool));
        int r;

        if (!spawned)
                return -ENOMEM;
        (void)state_load(sv->plan->deployment_dir, &saved);
        /* The journal a dead supervisor left says what is ours; bridges come before any VM. */
        r = apply_open(sv->plan, &sv->apply);
        if (r >= 0)
                r = apply_deployment(sv->apply);
        if (r >= 0)
                r = spawn_all(sv, saved, spawned);
        if (r >= 0) {
                /* While the QEMUs initialise. */
                write_profile_copy(sv->plan, opts->profile_copy);
                r = setup_loop(sv);
        }
        if (r >= 0)
                r = attach_all(sv, spawned);
        if (r >= 0) {
                /* On record as soon as they run: a supervisor that dies from here on leaves VMs to adopt. */
                save_state(sv);
                r = watch_running(sv);
        }
        if (r < 0) {
                rollback_started(sv, spawned);
                if (supervisor_running(sv) == 0)
                        state_remove(sv->plan->deployment_dir);
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
        sv->lock_fd = sv->epoll_fd = sv->signal_fd = sv->control_fd = sv->ready_timer_fd = -EBADF;
        sv->notify_fd = opts->notify_fd;
        sv->wait_ready = opts->wait_ready;
        sv->notified = opts->notified;
        sv->plan_options = opts->plan_options;
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
        save_state(sv);
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

static bool all_ready(const struct vx_supervisor *sv)
{
        for (size_t i = 0; i < sv->n_slots; i++)
                if (sv->slots[i].inst.state == VX_VM_RUNNING && !sv->slots[i].inst.ready)
                        return false;
        return true;
}

/* Lets `start` return: at once, or with --wait once every VM is ready. */
static void maybe_notify(struct vx_supervisor *sv, bool timed_out)
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
                        const struct vx_vm *vm = sv->slots[i].inst.plan->vm;

                        if (sv->slots[i].inst.state != VX_VM_RUNNING || sv->slots[i].inst.ready)
                                continue;
                        if (vm->ready.console_pattern)
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
static int arm_ready_timeout(struct vx_supervisor *sv)
{
        unsigned longest = 0;
        struct itimerspec its = {0};
        int r;

        if (!sv->wait_ready || all_ready(sv))
                return 0;
        for (size_t i = 0; i < sv->n_slots; i++)
                if (!sv->slots[i].inst.ready && sv->slots[i].inst.plan->vm->ready.timeout_s > longest)
                        longest = sv->slots[i].inst.plan->vm->ready.timeout_s;
        sv->ready_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (sv->ready_timer_fd < 0)
                return -errno;
        its.it_value.tv_sec = longest ? longest : 1;
        if (timerfd_settime(sv->ready_timer_fd, 0, &its, NULL) < 0)
                return -errno;
        r = epoll_add(sv, sv->ready_timer_fd, EV_READY_TIMEOUT, 0);
        return r;
}

/* ---- stopping ---- */

static int qmp_simple(struct vm_slot *slot, const char *cmd)
{
        json_t *result = NULL;
        int r;

        if (!slot->inst.qmp)
                return -ENOTCONN;
        r = qmp_execute(slot->inst.qmp, cmd, NULL, VX_QMP_COMMAND_TIMEOUT_MS, &result, NULL);
        json_decref(result);
        return r;
}

static void kill_slot(struct vm_slot *slot)
{
        slot->stop_stage = STOP_KILL;
        if (slot->inst.pidfd >= 0)
                (void)syscall(SYS_pidfd_send_signal, slot->inst.pidfd, SIGKILL, NULL, 0);
}

static void begin_stop(struct vm_slot *slot, unsigned timeout_s, bool force)
{
        const char *name = slot->inst.plan->name;

        slot->stop_requested = true;
        if (slot->inst.state == VX_VM_BACKOFF || slot->inst.state == VX_VM_FAILED) {
                disarm_timer(slot);
                slot->inst.state = VX_VM_STOPPED;
                return;
        }
        if (slot->inst.state != VX_VM_RUNNING && slot->inst.state != VX_VM_STOPPING)
                return;
        slot->inst.state = VX_VM_STOPPING;
        if (force) {
                log_info("%s: killing QEMU (--force).", name);
                kill_slot(slot);
                return;
        }
        if (slot->stop_stage != STOP_NONE)
                return; /* already on its way */
        log_info("%s: asking the guest to power off (timeout %us).", name, timeout_s);
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
        const char *name = slot->inst.plan->name;

        if (slot->stop_stage == STOP_POWERDOWN) {
                log_info("%s: the guest did not power off in time; sending quit.", name);
                slot->stop_stage = STOP_QUIT;
                if (qmp_simple(slot, "quit") >= 0) {
                        (void)arm_timer(slot, VX_QUIT_GRACE_MS);
                        return;
                }
        }
        log_warning("%s: QEMU did not exit; killing it.", name);
        kill_slot(slot);
}

static bool stop_done(const struct vx_supervisor *sv, const struct pending_stop *p)
{
        for (size_t i = 0; i < sv->n_slots; i++) {
                const struct vm_slot *slot = &sv->slots[i];
                if (p->vm && strcmp(p->vm, slot->inst.plan->name) != 0)
                        continue;
                if (slot_active(slot))
                        return false;
        }
        return true;
}

static bool any_active(const struct vx_supervisor *sv);

static void answer_pending(struct vx_supervisor *sv, bool all)
{
        size_t kept = 0;

        /* When nothing is left to supervise, every stop is answered after the teardown. */
        if (!all && !any_active(sv))
                return;

        for (size_t i = 0; i < sv->n_pending; i++) {
                struct pending_stop *p = &sv->pending[i];
                /* A whole-deployment stop is answered after teardown: then the host is as it was. */
                if (all || (p->vm && stop_done(sv, p))) {
                        json_t *ok = json_pack("{s:b}", "ok", 1);
                        (void)control_write_answer(p->fd, ok);
                        json_decref(ok);
                        close(p->fd);
                        free(p->vm);
                } else
                        sv->pending[kept++] = *p;
        }
        sv->n_pending = kept;
}

/* ---- exits and restarts ---- */

static void restart_or_give_up(struct vm_slot *slot)
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

static void on_qemu_exit(struct vx_supervisor *sv, size_t i)
{
        struct vm_slot *slot = &sv->slots[i];
        const char *name = slot->inst.plan->name;
        bool guest_off = slot->inst.guest_shutdown && !slot->panicked;
        int status;

        unwatch_vm(sv, slot);
        status = vm_reap(&slot->inst);
        disarm_timer(slot);
        slot->stop_stage = STOP_NONE;
        if (status >= 0)
                log_debug("%s: QEMU exited with wait status 0x%x.", name, (unsigned)status);

        if (slot->stop_requested) {
                log_info("%s: stopped.", name);
                slot->inst.state = VX_VM_STOPPED;
        } else if (guest_off && slot->inst.plan->vm->restart.policy != VX_RESTART_ALWAYS) {
                log_info("%s: the guest powered off.", name);
                slot->inst.state = VX_VM_STOPPED;
        } else {
                record_crash(slot, status);
                restart_or_give_up(slot);
        }
        if (slot->inst.state == VX_VM_STOPPED)
                runtime_remove_vm_dir(slot->inst.plan->runtime_dir);
        if (slot->inst.state == VX_VM_STOPPED || slot->inst.state == VX_VM_FAILED)
                (void)apply_vm_undo(sv->apply, slot->inst.plan);
        slot->panicked = false;
        save_state(sv);
}

static void on_restart_timer(struct vx_supervisor *sv, size_t i)
{
        struct vm_slot *slot = &sv->slots[i];
        const char *name = slot->inst.plan->name;
        int r;

        if (slot->n_restart_times < slot->inst.plan->vm->restart.max_restarts)
                slot->restart_times[slot->n_restart_times++] = monotonic_ms();
        slot->inst.restarts++;
        r = start_vm(sv, &slot->inst);
        if (r >= 0)
                r = watch_vm(sv, i);
        if (r < 0) {
                log_error("%s: restart failed: %s", name, slot->inst.last_error ?: strerror(-r));
                if (slot->inst.pid > 0) {
                        unwatch_vm(sv, slot);
                        vm_kill(&slot->inst);
                }
                restart_or_give_up(slot);
        } else {
                log_info("%s: restarted (pid %d), vCPUs pinned again.", name, (int)slot->inst.pid);
                check_qmp_ready(sv, slot);
        }
        save_state(sv);
}

static void on_timer(struct vx_supervisor *sv, size_t i)
{
        struct vm_slot *slot = &sv->slots[i];
        uint64_t expirations;

        if (read(slot->timer_fd, &expirations, sizeof(expirations)) < 0)
                return; /* disarmed meanwhile */
        if (slot->inst.state == VX_VM_BACKOFF)
                on_restart_timer(sv, i);
        else if (slot->inst.state == VX_VM_STOPPING)
                escalate_stop(slot);
}

static void on_qmp(struct vx_supervisor *sv, size_t i)
{
        struct vm_slot *slot = &sv->slots[i];
        const char *name = slot->inst.plan->name;
        int r;

        r = qmp_process(slot->inst.qmp);
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
        }
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
                log_info("%s: ready (console printed '%s').", slot->inst.plan->name,
                         slot->inst.plan->vm->ready.console_pattern);
                slot->inst.ready = true;
                slot->readiness = readiness_free(slot->readiness);
                save_state(sv);
                maybe_notify(sv, false);
        } else if (r < 0) {
                log_warning_errno(r, "%s: lost the console log, readiness unknown: %m", slot->inst.plan->name);
                slot->readiness = readiness_free(slot->readiness);
        }
}

/* ---- control requests ---- */

static struct vm_slot *find_slot(struct vx_supervisor *sv, const char *name)
{
        for (size_t i = 0; i < sv->n_slots; i++)
                if (strcmp(sv->slots[i].inst.plan->name, name) == 0)
                        return &sv->slots[i];
        return NULL;
}

static json_t *handle_status(struct vx_supervisor *sv)
{
        _cleanup_free_ struct vx_vm_instance **insts = calloc(sv->n_slots ? sv->n_slots : 1, sizeof(*insts));
        json_t *status;

        if (!insts)
                return control_error(-ENOMEM, "out of memory");
        for (size_t i = 0; i < sv->n_slots; i++)
                insts[i] = &sv->slots[i].inst;
        status = state_status_json(sv->plan, sv->profile_path, insts, sv->n_slots);
        if (!status)
                return control_error(-ENOMEM, "out of memory");
        json_object_set_new(status, "ok", json_true());
        return status;
}

/* Returns NULL when the answer is deferred (the client waits for the stop). */
static json_t *handle_stop(struct vx_supervisor *sv, json_t *req, int *client_fd)
{
        const char *vm = json_string_value(json_object_get(req, "vm"));
        json_t *timeout = json_object_get(req, "timeout");
        bool force = json_is_true(json_object_get(req, "force"));
        unsigned timeout_s = json_is_integer(timeout) && json_integer_value(timeout) >= 0
                                     ? (unsigned)json_integer_value(timeout)
                                     : VX_STOP_TIMEOUT_DEFAULT_S;
        struct pending_stop *p;

        if (vm && !find_slot(sv, vm))
                return control_error(-ENOENT, "no VM named '%s' in this deployment", vm);
        p = realloc(sv->pending, (sv->n_pending + 1) * sizeof(*p));
        if (!p)
                return control_error(-ENOMEM, "out of memory");
        sv->pending = p;
        sv->pending[sv->n_pending++] = (struct pending_stop){.fd = TAKE_FD(*client_fd), .vm = vm ? strdup(vm) : NULL};
        for (size_t i = 0; i < sv->n_slots; i++)
                if (!vm || strcmp(vm, sv->slots[i].inst.plan->name) == 0)
                        begin_stop(&sv->slots[i], timeout_s, force);
        save_state(sv);
        answer_pending(sv, false);
        return NULL;
}

static json_t *handle_monitor(struct vx_supervisor *sv, json_t *req, bool hmp)
{
        const char *vm = json_string_value(json_object_get(req, "vm"));
        _cleanup_(qmp_error_done) struct vx_qmp_error err = {0};
        struct vm_slot *slot;
        json_t *result = NULL;
        int r;

        if (!vm)
                return control_error(-EINVAL, "which VM? (--vm)");
        slot = find_slot(sv, vm);
        if (!slot)
                return control_error(-ENOENT, "no VM named '%s' in this deployment", vm);
        if (!slot->inst.qmp)
                return control_error(-ENOTCONN, "%s is %s", vm, vx_vm_state_to_string(slot->inst.state));
        if (hmp) {
                _cleanup_free_ char *out = NULL;
                const char *line = json_string_value(json_object_get(req, "command"));
                if (!line)
                        return control_error(-EINVAL, "no HMP command");
                r = qmp_hmp(slot->inst.qmp, line, VX_QMP_COMMAND_TIMEOUT_MS, &out, &err);
                if (r >= 0)
                        return json_pack("{s:b, s:s}", "ok", 1, "output", out);
        } else {
                const char *cmd = json_string_value(json_object_get(req, "execute"));
                if (!cmd)
                        return control_error(-EINVAL, "no \"execute\" in the QMP command");
                r = qmp_execute(slot->inst.qmp, cmd, json_object_get(req, "arguments"), VX_QMP_COMMAND_TIMEOUT_MS,
                                &result, &err);
                if (r >= 0)
                        return json_pack("{s:b, s:o}", "ok", 1, "return", result);
        }
        if (r == -EREMOTEIO)
                return json_pack("{s:b, s:s, s:s, s:i}", "ok", 0, "error", err.desc ?: "", "class",
                                 err.class ?: "", "errno", EREMOTEIO);
        return control_error(r, "QMP: %s", strerror(-r));
}

/* `vmxrun bind` / `unbind`: a tap of ours or a host interface into a named bridge, journaled. */
static json_t *handle_bind(struct vx_supervisor *sv, json_t *req, bool bind)
{
        const char *iface = json_string_value(json_object_get(req, "interface"));
        const char *bridge = json_string_value(json_object_get(req, "bridge"));
        _cleanup_free_ char *error = NULL;
        int r;

        if (!iface || (bind && !bridge))
                return control_error(-EINVAL, bind ? "bind needs an interface and a bridge" : "unbind needs an interface");
        r = bind ? apply_bind(sv->apply, iface, bridge, &error) : apply_unbind(sv->apply, iface, &error);
        if (r < 0)
                return control_error(r, "%s", error ?: strerror(-r));
        return json_pack("{s:b}", "ok", 1);
}

static void on_control(struct vx_supervisor *sv)
{
        _cleanup_close_ int fd = -EBADF;
        json_t *req = NULL, *answer = NULL;
        const char *cmd;
        int r;

        fd = accept4(sv->control_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return;
        /* Root-only socket; a client sends its request at once, so a short bound is enough. */
        r = control_read_request(fd, 2000, &req);
        if (r < 0) {
                log_debug_errno(r, "Bad control request, ignoring: %m");
                return;
        }
        cmd = json_string_value(json_object_get(req, "cmd"));
        if (!cmd)
                answer = control_error(-EINVAL, "no \"cmd\"");
        else if (strcmp(cmd, "status") == 0)
                answer = handle_status(sv);
        else if (strcmp(cmd, "stop") == 0)
                answer = handle_stop(sv, req, &fd);
        else if (strcmp(cmd, "qmp") == 0)
                answer = handle_monitor(sv, req, false);
        else if (strcmp(cmd, "hmp") == 0)
                answer = handle_monitor(sv, req, true);
        else if (strcmp(cmd, "bind") == 0 || strcmp(cmd, "unbind") == 0)
                answer = handle_bind(sv, req, strcmp(cmd, "bind") == 0);
        else
                answer = control_error(-EOPNOTSUPP, "unknown command '%s'", cmd);
        if (answer && fd >= 0)
                (void)control_write_answer(fd, answer);
        json_decref(answer);
        json_decref(req);
}

static void on_signal(struct vx_supervisor *sv)
{
        struct signalfd_siginfo si;

        while (read(sv->signal_fd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGHUP)
                        continue; /* no configuration to reload: the profile is fixed at start */
                log_info("Got signal %u: stopping every VM.", si.ssi_signo);
                for (size_t i = 0; i < sv->n_slots; i++)
                        begin_stop(&sv->slots[i], VX_STOP_TIMEOUT_DEFAULT_S, false);
                save_state(sv);
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
                if (slot_active(&sv->slots[i]) || sv->slots[i].inst.state == VX_VM_FAILED)
                        return true;
        return false;
}

static void teardown(struct vx_supervisor *sv)
{
        for (size_t i = 0; i < sv->n_slots; i++)
                runtime_remove_vm_dir(sv->slots[i].inst.plan->runtime_dir);
        /* Backwards through the journal: taps (gone with QEMU), bindings, our claims on bridges. */
        (void)apply_teardown(sv->apply);
        state_remove(sv->plan->deployment_dir);
        runtime_remove_deployment_dir(sv->plan->deployment_dir);
}

int supervisor_run(struct vx_supervisor *sv)
{
        int r;

        for (size_t i = 0; i < sv->n_slots; i++)
                check_qmp_ready(sv, &sv->slots[i]);
        r = privileges_drop_for_supervisor(sv->plan);
        if (r < 0)
                log_warning_errno(r, "Failed to drop capabilities, ignoring: %m");
        r = arm_ready_timeout(sv);
        if (r < 0)
                return log_error_errno(r, "Failed to arm the readiness timeout: %m");
        maybe_notify(sv, false);

        for (size_t i = 0; i < sv->n_slots; i++) {
                struct vm_slot *slot = &sv->slots[i];
                slot->restart_times = calloc(slot->inst.plan->vm->restart.max_restarts + 1, sizeof(int64_t));
                if (!slot->restart_times)
                        return log_error_errno(-ENOMEM, "Out of memory.");
        }

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
                                on_control(sv);
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
                                maybe_notify(sv, true);
                                sv->ready_timer_fd = safe_close(sv->ready_timer_fd);
                                break;
                        }
                }
                answer_pending(sv, false);
        }

        log_info("No VM of %s is running any more; cleaning up.", sv->profile->name);
        teardown(sv);
        answer_pending(sv, true);
        return 0;
}

struct vx_supervisor *supervisor_free(struct vx_supervisor *sv)
{
        if (!sv)
                return NULL;
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
        supervisor_notify(sv->notify_fd, VX_NOTIFY_FAILED);
        apply_free(sv->apply);
        plan_free(sv->plan);
        profile_free(sv->profile);
        free(sv->profile_path);
        free(sv);
        return NULL;
}
