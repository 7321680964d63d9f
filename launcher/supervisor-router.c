/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The paired lifecycle (docs/router.md): a vMX is a VCP and a VFP that only
 * work together, so the supervisor treats its VMs as one router. VMs start in
 * profile order, each one that says `after:` once that VM runs or is ready;
 * they stop in reverse order; `restart.scope: deployment` and `vmxrun
 * restart` stop them in reverse order and start them again in order. All of
 * it moves on from sv_advance(), run after each batch of events: nothing here
 * wakes the supervisor up on its own.
 */
#include <errno.h>
#include <stdarg.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "control.h"
#include "drift.h"
#include "launcher.h"
#include "log.h"
#include "netsetup.h"
#include "runtime.h"
#include "supervisor-internal.h"

struct vm_slot *sv_after_slot(struct vx_supervisor *sv, const struct vm_slot *slot)
{
        const char *after = slot->inst.plan->vm->after;

        for (size_t i = 0; after && i < sv->n_slots; i++)
                if (strcmp(sv->slots[i].inst.plan->name, after) == 0)
                        return &sv->slots[i];
        return NULL;
}

static void set_waiting_for(struct vx_vm_instance *inst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_waiting_for(struct vx_vm_instance *inst, const char *fmt, ...)
{
        char *s = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (s && inst->waiting_for && strcmp(s, inst->waiting_for) == 0) {
                free(s);
                return;
        }
        free(inst->waiting_for);
        inst->waiting_for = s;
}

static void clear_waiting_for(struct vx_vm_instance *inst)
{
        free(inst->waiting_for);
        inst->waiting_for = NULL;
}

/* Whether the VM slot starts after may go: its `after` VM runs, and is ready unless after.until is running. */
static bool after_satisfied(struct vx_supervisor *sv, struct vm_slot *slot)
{
        struct vm_slot *dep = sv_after_slot(sv, slot);

        if (!dep)
                return true;
        if (dep->inst.state != VX_VM_RUNNING) {
                set_waiting_for(&slot->inst, "%s to run (after: %s)", dep->inst.plan->name, dep->inst.plan->name);
                return false;
        }
        if (!slot->inst.plan->vm->after_running && !dep->inst.ready) {
                set_waiting_for(&slot->inst, "%s to be ready (after: %s)", dep->inst.plan->name, dep->inst.plan->name);
                return false;
        }
        return true;
}

/* One pending start: the whole start of a VM, as a restart does it. */
static void start_slot(struct vx_supervisor *sv, size_t i)
{
        struct vm_slot *slot = &sv->slots[i];
        const char *name = slot->inst.plan->name;
        int r;

        slot->start_pending = false;
        clear_waiting_for(&slot->inst);
        r = sv_start_vm(sv, &slot->inst);
        if (r >= 0)
                r = sv_watch_vm(sv, i);
        if (r < 0) {
                log_error("%s: start failed: %s", name, slot->inst.last_error ?: strerror(-r));
                if (slot->inst.pid > 0) {
                        sv_unwatch_vm(sv, slot);
                        vm_kill(&slot->inst);
                }
                sv_restart_or_give_up(slot);
                if (slot->inst.state == VX_VM_FAILED)
                        slot->in_restart = false;
        } else {
                struct vm_slot *dep = sv_after_slot(sv, slot);

                slot->in_restart = false;
                if (dep)
                        log_info("%s: running (pid %d), started after %s.", name, (int)slot->inst.pid,
                                 dep->inst.plan->name);
                else
                        log_info("%s: running (pid %d), vCPUs pinned.", name, (int)slot->inst.pid);
                sv_check_ready(sv, slot);
        }
        sv_state_changed(sv);
}

/* A slot to be stopped goes once no VM that starts after it is still to be stopped or stopping. */
static bool dependents_gone(struct vx_supervisor *sv, size_t i)
{
        for (size_t k = 0; k < sv->n_slots; k++) {
                struct vm_slot *other = &sv->slots[k];

                if (sv_after_slot(sv, other) == &sv->slots[i] &&
                    (other->stop_pending || other->inst.state == VX_VM_STOPPING))
                        return false;
        }
        return true;
}

static void advance_stops(struct vx_supervisor *sv)
{
        for (size_t i = sv->n_slots; i-- > 0;) {
                struct vm_slot *slot = &sv->slots[i];

                if (!slot->stop_pending || !dependents_gone(sv, i))
                        continue;
                slot->stop_pending = false;
                clear_waiting_for(&slot->inst);
                sv_begin_stop(slot, slot->stop_timeout_s, false);
        }
}

static void advance_starts(struct vx_supervisor *sv)
{
        bool restart_stopping = false, earlier_restarting = false;

        for (size_t i = 0; i < sv->n_slots; i++)
                restart_stopping =
                        restart_stopping || (sv->slots[i].in_restart &&
                                             (sv->slots[i].stop_pending || sv->slots[i].inst.state == VX_VM_STOPPING));
        for (size_t i = 0; i < sv->n_slots; i++) {
                struct vm_slot *slot = &sv->slots[i];
                bool restarting = slot->in_restart;

                if (!slot->start_pending) {
                        earlier_restarting = earlier_restarting || restarting;
                        continue;
                }
                /* A restart stops every VM first, then starts them again in profile order. */
                if (restarting && restart_stopping)
                        set_waiting_for(&slot->inst, "the restart's other VMs to stop");
                else if (restarting && earlier_restarting)
                        set_waiting_for(&slot->inst, "the VMs before it to start again");
                else if (after_satisfied(sv, slot))
                        start_slot(sv, i);
                earlier_restarting = earlier_restarting || slot->in_restart;
        }
}

static void link_watch_update(struct vx_supervisor *sv);

void sv_advance(struct vx_supervisor *sv)
{
        advance_stops(sv);
        advance_starts(sv);
        link_watch_update(sv);
}

void sv_request_stop(struct vx_supervisor *sv, const char *vm, unsigned timeout_s, bool force)
{
        if (!vm)
                sv->stopping_all = true;
        for (size_t i = 0; i < sv->n_slots; i++) {
                struct vm_slot *slot = &sv->slots[i];

                if (vm && strcmp(vm, slot->inst.plan->name) != 0)
                        continue;
                slot->in_restart = false;
                if (slot->inst.state == VX_VM_WAITING) {
                        slot->start_pending = false;
                        slot->stop_requested = true;
                        slot->inst.state = VX_VM_STOPPED;
                        clear_waiting_for(&slot->inst);
                        runtime_remove_vm_dir(slot->inst.plan->runtime_dir);
                        (void)apply_vm_undo(sv->apply, slot->inst.plan);
                } else if (!vm && !force && slot->inst.state == VX_VM_RUNNING) {
                        /* The whole deployment: the VMs that start after another stop before it. */
                        slot->stop_pending = true;
                        slot->stop_timeout_s = timeout_s;
                } else
                        sv_begin_stop(slot, timeout_s, force);
        }
        sv_advance(sv);
}

/* Marks one VM for a restart: a running one is stopped first, one that does not run waits for its turn. */
static void mark_restart(struct vm_slot *slot, unsigned timeout_s, bool force)
{
        slot->in_restart = true;
        switch (slot->inst.state) {
        case VX_VM_RUNNING:
                if (force)
                        sv_begin_stop(slot, timeout_s, true);
                else {
                        slot->stop_pending = true;
                        slot->stop_timeout_s = timeout_s;
                }
                break;
        case VX_VM_BACKOFF:
        case VX_VM_FAILED:
        case VX_VM_STOPPED:
                /* Asked for by the user: the restart limit starts over. */
                slot->n_restart_times = 0;
                slot->stop_requested = false;
                slot->inst.state = VX_VM_WAITING;
                slot->start_pending = true;
                break;
        case VX_VM_STOPPING: /* on its way down already; on_qemu_exit() turns it to waiting */
        case VX_VM_WAITING:
        case VX_VM_STARTING:
                break;
        }
}

/* ---- restart applies the profile as it is now ---- */

static bool json_member_equal(json_t *a, json_t *b, const char *key)
{
        return json_equal(json_object_get(a, key), json_object_get(b, key));
}

/*
 * Whether the plan now needs the very host objects the supervisor runs with
 * (bridges, taps, VFs, hugepages, QEMU's user) and has the same VMs in the
 * same order: then a restart can start a VM from it, and only the VMs' own
 * options (memory, vCPUs, pinning, disks, ...) change.
 */
static bool same_host_objects(const struct vx_plan *was, const struct vx_plan *now)
{
        json_t *a = plan_to_json(was, NULL), *b = plan_to_json(now, NULL);
        bool same = a && b && was->n_vms == now->n_vms && json_member_equal(a, b, "host_actions") &&
                    json_member_equal(a, b, "qemu_user") && json_member_equal(a, b, "deployment_dir");

        for (size_t i = 0; same && i < was->n_vms; i++) {
                json_t *va = json_array_get(json_object_get(a, "vms"), i),
                       *vb = json_array_get(json_object_get(b, "vms"), i);

                same = strcmp(was->vms[i].name, now->vms[i].name) == 0 && json_member_equal(va, vb, "fds") &&
                       now->vms[i].complete;
        }
        json_decref(a);
        json_decref(b);
        return same;
}

static bool str_equal(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

/*
 * Whether a VM would start the same from b as from a: its plan (command line,
 * pinning, topology, fds: what plan_to_json() shows) and its lifecycle keys
 * (restart, ready, after), which the command line does not carry.
 */
/* The plan a slot's VM plan belongs to: the one the supervisor started with, or one `restart` applied. */
static const struct vx_plan *owning_plan(const struct vx_supervisor *sv, const struct vx_vm_plan *vp)
{
        for (size_t i = 0; i < sv->n_later; i++)
                if (vp >= sv->later_plans[i]->vms && vp < sv->later_plans[i]->vms + sv->later_plans[i]->n_vms)
                        return sv->later_plans[i];
        return sv->plan;
}

static bool vm_plan_equal(const struct vx_plan *pa, const struct vx_vm_plan *a, const struct vx_plan *pb,
                          const struct vx_vm_plan *b)
{
        const struct vx_vm *va = a->vm, *vb = b->vm;
        json_t *ja = plan_to_json(pa, a), *jb = plan_to_json(pb, b);
        bool same = ja && jb && json_equal(json_object_get(ja, "vms"), json_object_get(jb, "vms"));

        json_decref(ja);
        json_decref(jb);
        return same && va->restart.policy == vb->restart.policy &&
               va->restart.max_restarts == vb->restart.max_restarts && va->restart.window_s == vb->restart.window_s &&
               va->restart.backoff_ms == vb->restart.backoff_ms && va->restart.scope == vb->restart.scope &&
               str_equal(va->ready.console_pattern, vb->ready.console_pattern) &&
               str_equal(va->ready.qmp_status, vb->ready.qmp_status) && str_equal(va->ready.link, vb->ready.link) &&
               va->ready.timeout_s == vb->ready.timeout_s && str_equal(va->after, vb->after) &&
               va->after_running == vb->after_running;
}

/* The slot runs from vp from its next start on. */
static int swap_vm_plan(struct vm_slot *slot, const struct vx_vm_plan *vp)
{
        unsigned max = vp->vm->restart.max_restarts;
        int64_t *times = realloc(slot->restart_times, (max + 1) * sizeof(*times));

        if (!times)
                return -ENOMEM;
        slot->restart_times = times;
        if (slot->n_restart_times > max)
                slot->n_restart_times = max;
        if (slot->inst.pin_live && slot->inst.pin_live->n_vcpus != 0 &&
            slot->inst.pin_live->n_vcpus != vp->topology.vcpus) {
                log_warning("%s: the pinning `vmxrun pin` set is for %zu vCPUs, the profile now gives %u: pinning "
                            "as it says.",
                            vp->name, slot->inst.pin_live->n_vcpus, vp->topology.vcpus);
                slot->inst.pin_live = vm_pinning_free(slot->inst.pin_live);
        }
        slot->inst.argv_drift = drift_free(slot->inst.argv_drift);
        slot->inst.plan = vp;
        return 0;
}

/* Keeps profile and plan for as long as the supervisor lives: the slots point into them. Takes them on success. */
static int keep_later(struct vx_supervisor *sv, struct vx_profile *profile, struct vx_plan *plan)
{
        struct vx_profile **profiles = realloc(sv->later_profiles, (sv->n_later + 1) * sizeof(*profiles));
        struct vx_plan **plans;

        if (!profiles)
                return -ENOMEM;
        sv->later_profiles = profiles;
        plans = realloc(sv->later_plans, (sv->n_later + 1) * sizeof(*plans));
        if (!plans)
                return -ENOMEM;
        sv->later_plans = plans;
        sv->later_profiles[sv->n_later] = profile;
        sv->later_plans[sv->n_later++] = plan;
        return 0;
}

/*
 * `vmxrun restart` applies what the profile says now (status showed it as
 * differs_from_profile), when it needs the same host objects; otherwise the
 * VMs restart as they ran, and stop and start apply it.
 */
static void apply_profile_now(struct vx_supervisor *sv, const char *vm)
{
        _cleanup_(profile_freep) struct vx_profile *profile = NULL;
        _cleanup_(plan_freep) struct vx_plan *now = NULL;
        _cleanup_free_ char *text = NULL;
        bool changed = false;
        int r;

        r = sv_plan_profile_now(sv, &profile, &now);
        if (r < 0) {
                log_warning_errno(r, "Cannot plan %s as it is now; restarting the VMs as they ran: %m",
                                  sv->profile_path);
                return;
        }
        if (!same_host_objects(sv->plan, now)) {
                log_warning("%s changed more than the VMs' own options (its VMs, bridges, taps, VFs, hugepages or "
                            "QEMU's user): restarting the VMs as they ran; stop and start apply it.",
                            sv->profile_path);
                return;
        }
        for (size_t i = 0; i < sv->n_slots; i++)
                if ((!vm || strcmp(vm, sv->slots[i].inst.plan->name) == 0) &&
                    !vm_plan_equal(owning_plan(sv, sv->slots[i].inst.plan), sv->slots[i].inst.plan, now, &now->vms[i]))
                        changed = true;
        if (!changed)
                return;
        text = launcher_read_text(sv->profile_path);
        if (!text || keep_later(sv, profile, now) < 0) {
                log_warning("Out of memory; restarting the VMs as they ran.");
                return;
        }
        for (size_t i = 0; i < sv->n_slots; i++) {
                struct vm_slot *slot = &sv->slots[i];

                if ((vm && strcmp(vm, slot->inst.plan->name) != 0) ||
                    vm_plan_equal(owning_plan(sv, slot->inst.plan), slot->inst.plan, now, &now->vms[i]))
                        continue;
                if (swap_vm_plan(slot, &now->vms[i]) < 0)
                        log_warning("%s: out of memory; restarting it as it ran.", slot->inst.plan->name);
                else
                        log_info("%s: restarting with %s as it is now.", slot->inst.plan->name, sv->profile_path);
        }
        /* An adopting supervisor plans from the copy: it must be what runs now. */
        (void)sv_write_profile_copy(sv->plan, text);
        TAKE_PTR(profile);
        TAKE_PTR(now);
}

void sv_request_restart(struct vx_supervisor *sv, const char *vm, unsigned timeout_s, bool force)
{
        apply_profile_now(sv, vm);
        for (size_t i = 0; i < sv->n_slots; i++)
                if (!vm || strcmp(vm, sv->slots[i].inst.plan->name) == 0) {
                        log_info("%s: restarting (vmxrun restart).", sv->slots[i].inst.plan->name);
                        mark_restart(&sv->slots[i], timeout_s, force);
                }
        sv_save_state(sv);
        sv_advance(sv);
}

void sv_restart_deployment(struct vx_supervisor *sv, size_t crashed)
{
        log_warning("%s: restart.scope is deployment: every VM of %s is stopped and started again, in order.",
                    sv->slots[crashed].inst.plan->name, sv->profile->name);
        sv->slots[crashed].in_restart = true; /* in backoff: its timer makes it waiting */
        for (size_t i = 0; i < sv->n_slots; i++) {
                struct vm_slot *slot = &sv->slots[i];

                if (i == crashed || slot->stop_requested)
                        continue;
                if (slot->inst.state == VX_VM_RUNNING || slot->inst.state == VX_VM_BACKOFF ||
                    slot->inst.state == VX_VM_WAITING)
                        mark_restart(slot, VX_STOP_TIMEOUT_DEFAULT_S, false);
        }
}

bool sv_restart_answer(struct vx_supervisor *sv, const struct pending_stop *p, json_t **ret_answer)
{
        const struct vm_slot *failed = NULL;

        for (size_t i = 0; i < sv->n_slots; i++) {
                const struct vm_slot *slot = &sv->slots[i];

                if (p->vm && strcmp(p->vm, slot->inst.plan->name) != 0)
                        continue;
                if (slot->in_restart)
                        return false;
                if (slot->inst.state != VX_VM_RUNNING && !failed)
                        failed = slot;
        }
        if (failed)
                *ret_answer = control_error(-EIO, "%s is %s after the restart: %s", failed->inst.plan->name,
                                            vx_vm_state_to_string(failed->inst.state),
                                            failed->inst.last_error ?: "see the supervisor log");
        else
                *ret_answer = json_pack("{s:b}", "ok", 1);
        return true;
}

/* ---- readiness ---- */

/*
 * ready.link: every tap of the VM on that bridge is a port of it, up, with
 * carrier. Returns true when it holds; else says which tap does not.
 */
static bool link_ready(struct vm_slot *slot)
{
        const struct vx_vm *vm = slot->inst.plan->vm;
        _cleanup_(netsetup_freep) struct vx_netsetup *ns = NULL;
        int r;

        r = netsetup_open(&ns);
        if (r < 0) {
                set_waiting_for(&slot->inst, "the internal link %s (netlink: %s)", vm->ready.link, strerror(-r));
                return false;
        }
        for (size_t i = 0; i < vm->n_nics; i++) {
                const struct vx_nic *nic = &vm->nics[i];
                struct vx_netsetup_link l;

                if (nic->type != VX_NIC_TAP || !nic->bridge || strcmp(nic->bridge, vm->ready.link) != 0)
                        continue;
                if (netsetup_link_get(ns, nic->tap, &l) < 0) {
                        set_waiting_for(&slot->inst, "the internal link %s: tap %s does not exist", vm->ready.link,
                                        nic->tap);
                        return false;
                }
                if (strcmp(l.master, vm->ready.link) != 0 || !l.up || !l.lower_up) {
                        set_waiting_for(&slot->inst, "the internal link %s: tap %s is %s", vm->ready.link, nic->tap,
                                        strcmp(l.master, vm->ready.link) != 0 ? "not a port of the bridge"
                                        : !l.up                               ? "down"
                                                                              : "without carrier");
                        return false;
                }
        }
        return true;
}

void sv_ready_reset(struct vm_slot *slot)
{
        slot->console_seen = false;
        slot->qmp_ok = false;
}

void sv_check_ready(struct vx_supervisor *sv, struct vm_slot *slot)
{
        const struct vx_ready *want = &slot->inst.plan->vm->ready;

        if (slot->inst.ready || slot->inst.state != VX_VM_RUNNING)
                return;
        if (want->console_pattern && !slot->console_seen) {
                set_waiting_for(&slot->inst, "the console to print '%s'", want->console_pattern);
                return;
        }
        if (want->qmp_status && !slot->qmp_ok) {
                set_waiting_for(&slot->inst, "QEMU to be '%s'", want->qmp_status);
                return;
        }
        if (want->link && !link_ready(slot))
                return;
        clear_waiting_for(&slot->inst);
        log_info("%s: ready.", slot->inst.plan->name);
        vm_reached(&slot->inst, VX_STAGE_READY);
        sv_save_state(sv);
        sv_maybe_notify(sv, false);
}

static bool waits_for_link(const struct vm_slot *slot)
{
        return slot->inst.state == VX_VM_RUNNING && !slot->inst.ready && slot->inst.plan->vm->ready.link;
}

/* rtnetlink link events, only while some VM waits for its internal link: no wake-ups otherwise. */
static void link_watch_update(struct vx_supervisor *sv)
{
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
        bool need = false;
        int r;

        for (size_t i = 0; i < sv->n_slots && !need; i++)
                need = waits_for_link(&sv->slots[i]);
        if (!need) {
                sv->link_fd = safe_close(sv->link_fd);
                return;
        }
        if (sv->link_fd >= 0)
                return;
        sv->link_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (sv->link_fd < 0 || bind(sv->link_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                log_warning_errno(-errno, "Failed to watch links for ready.link (checked on other events only): %m");
                sv->link_fd = safe_close(sv->link_fd);
                return;
        }
        r = sv_epoll_add(sv, sv->link_fd, EV_LINK, 0);
        if (r < 0) {
                log_warning_errno(r, "Failed to watch links for ready.link: %m");
                sv->link_fd = safe_close(sv->link_fd);
                return;
        }
        /* What changed before the socket listened is seen now. */
        sv_on_link(sv);
}

void sv_on_link(struct vx_supervisor *sv)
{
        char buf[8192];

        /* The messages only say that something changed; the links are read as they are now. */
        while (sv->link_fd >= 0 && recv(sv->link_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
                ;
        for (size_t i = 0; i < sv->n_slots; i++)
                if (waits_for_link(&sv->slots[i]))
                        sv_check_ready(sv, &sv->slots[i]);
}

/* ---- adoption ---- */

void sv_restore_pin_live(struct vm_slot *slot, const struct vx_saved_vm *old)
{
        const struct vx_plan_pinning *saved = old->pin_live;
        struct vx_plan_pinning *pin;
        size_t n = slot->inst.plan->topology.vcpus;

        if (!saved)
                return;
        if (saved->n_vcpus != 0 && saved->n_vcpus != n) {
                log_warning("%s: the pinning `vmxrun pin` set is for %zu vCPUs, the plan has %zu: pinning as the "
                            "plan says.",
                            slot->inst.plan->name, saved->n_vcpus, n);
                return;
        }
        pin = calloc(1, sizeof(*pin));
        if (!pin || !(pin->vcpus = calloc(n ? n : 1, sizeof(*pin->vcpus)))) {
                vm_pinning_free(pin);
                return;
        }
        pin->n_vcpus = saved->n_vcpus;
        for (size_t i = 0; i < saved->n_vcpus; i++)
                pin->vcpus[i] = saved->vcpus[i];
        pin->has_emulator = saved->has_emulator;
        pin->emulator = saved->emulator;
        vm_pinning_free(slot->inst.pin_live);
        slot->inst.pin_live = pin;
}
