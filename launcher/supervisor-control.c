/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The supervisor's control socket: one JSON request per connection, one answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "control.h"
#include "cpu-ledger.h"
#include "log.h"
#include "state.h"
#include "supervisor-internal.h"

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
        /* What status reports is what the kernel has now; a drift it shows is repaired right after. */
        status = state_status_json(sv->plan, sv->profile_path, insts, sv->n_slots);
        for (size_t i = 0; i < sv->n_slots; i++)
                if (sv->slots[i].inst.state == VX_VM_RUNNING)
                        (void)vm_pin_repair(&sv->slots[i].inst);
        if (!status)
                return control_error(-ENOMEM, "out of memory");
        if (sv->state_error < 0)
                json_object_set_new(status, "state_error", json_string(strerror(-sv->state_error)));
        json_object_set_new(status, "ok", json_true());
        return status;
}

/* Returns NULL when the answer is deferred (the client waits for the stop, or the restart). */
static json_t *handle_stop(struct vx_supervisor *sv, json_t *req, int *client_fd, bool restart)
{
        const char *vm = json_string_value(json_object_get(req, "vm"));
        json_t *timeout = json_object_get(req, "timeout");
        bool force = json_is_true(json_object_get(req, "force"));
        bool progress = json_is_true(json_object_get(req, "progress"));
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
        sv->pending[sv->n_pending++] = (struct pending_stop){
                .fd = TAKE_FD(*client_fd), .vm = vm ? strdup(vm) : NULL, .progress = progress, .restart = restart};
        /* In reverse order of start (after:), each graceful; a restart then starts them again in order. */
        if (restart)
                sv_request_restart(sv, vm, timeout_s, force);
        else
                sv_request_stop(sv, vm, timeout_s, force);
        sv_save_state(sv);
        sv_answer_pending(sv, false);
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
                /* A command may have made QEMU create threads (object_add iothread, device_add): pin them now. */
                (void)vm_pin_new_threads(&slot->inst);
                if (r >= 0)
                        return json_pack("{s:b, s:s}", "ok", 1, "output", out);
        } else {
                const char *cmd = json_string_value(json_object_get(req, "execute"));
                if (!cmd)
                        return control_error(-EINVAL, "no \"execute\" in the QMP command");
                r = qmp_execute(slot->inst.qmp, cmd, json_object_get(req, "arguments"), VX_QMP_COMMAND_TIMEOUT_MS,
                                &result, &err);
                (void)vm_pin_new_threads(&slot->inst);
                if (r >= 0)
                        return json_pack("{s:b, s:o}", "ok", 1, "return", result);
        }
        if (r == -EREMOTEIO)
                return json_pack("{s:b, s:s, s:s, s:i}", "ok", 0, "error", err.desc ?: "", "class", err.class ?: "",
                                 "errno", EREMOTEIO);
        return control_error(r, "QMP: %s", strerror(-r));
}

/* The ledger entry of the deployment as its VMs are pinned now (lock held). */
static int record_live_pinning(struct vx_supervisor *sv)
{
        _cleanup_free_ const struct vx_plan_pinning **live = calloc(sv->n_slots ? sv->n_slots : 1, sizeof(*live));

        if (!live)
                return -ENOMEM;
        for (size_t i = 0; i < sv->n_slots; i++)
                live[i] = vm_pinning(&sv->slots[i].inst);
        return cpu_ledger_write_live(sv->plan, live, getpid());
}

/* `vmxrun pin`: a vCPU's or the emulator's CPUs, live, kept for restarts. */
static json_t *handle_pin(struct vx_supervisor *sv, json_t *req)
{
        const char *vm = json_string_value(json_object_get(req, "vm"));
        const char *list = json_string_value(json_object_get(req, "cpus"));
        json_t *vcpu = json_object_get(req, "vcpu");
        _cleanup_close_ int ledger_fd = -EBADF;
        _cleanup_free_ char *holder = NULL;
        struct vx_cpuset cpus;
        struct vm_slot *slot;
        int r;

        if (!vm || !list || (vcpu && !json_is_integer(vcpu)))
                return control_error(-EINVAL, "pin needs a VM, CPUs and a vCPU (or the emulator)");
        slot = find_slot(sv, vm);
        if (!slot)
                return control_error(-ENOENT, "no VM named '%s' in this deployment", vm);
        if (slot->inst.state != VX_VM_RUNNING)
                return control_error(-ENOTCONN, "%s is %s", vm, vx_vm_state_to_string(slot->inst.state));
        r = vx_cpuset_parse(list, &cpus);
        if (r < 0)
                return control_error(r, "'%s' is not a CPU list", list);
        /* A vCPU onto a CPU another deployment holds is refused, as at start; the ledger follows the move. */
        r = cpu_ledger_lock(sv->plan->runtime_root, &ledger_fd);
        if (r >= 0 && vcpu) {
                r = cpu_ledger_check_pin(sv->plan, vm, &cpus, slot->inst.plan->pinning.shared, &holder);
                if (r == -EBUSY)
                        return control_error(r, "%s", holder);
        }
        if (r < 0)
                return control_error(r, "the CPU ledger: %s", strerror(-r));
        r = vm_repin(&slot->inst, vcpu ? (int)json_integer_value(vcpu) : -1, &cpus);
        if (r == -ERANGE)
                return control_error(r, "%s has %u vCPUs (0 to %u)", vm, slot->inst.plan->topology.vcpus,
                                     slot->inst.plan->topology.vcpus - 1);
        if (r < 0)
                return control_error(r, "pinning %s to %s failed: %s", vm, list, strerror(-r));
        r = record_live_pinning(sv);
        if (r < 0)
                log_warning_errno(r, "Failed to record the new pinning of %s in the CPU ledger: %m", vm);
        if (vcpu)
                log_info("%s: vCPU %lld pinned to CPUs %s (vmxrun pin).", vm, (long long)json_integer_value(vcpu),
                         list);
        else
                log_info("%s: emulator threads pinned to CPUs %s (vmxrun pin).", vm, list);
        (void)sv_save_state(sv);
        return json_pack("{s:b}", "ok", 1);
}

/* `vmxrun bind` / `unbind`: a tap of ours or a host interface into a named bridge, journaled. */
static json_t *handle_bind(struct vx_supervisor *sv, json_t *req, bool bind)
{
        const char *iface = json_string_value(json_object_get(req, "interface"));
        const char *bridge = json_string_value(json_object_get(req, "bridge"));
        _cleanup_free_ char *error = NULL;
        int r;

        if (!iface || (bind && !bridge))
                return control_error(-EINVAL,
                                     bind ? "bind needs an interface and a bridge" : "unbind needs an interface");
        r = bind ? apply_bind(sv->apply, iface, bridge, &error) : apply_unbind(sv->apply, iface, &error);
        if (r < 0)
                return control_error(r, "%s", error ?: strerror(-r));
        return json_pack("{s:b}", "ok", 1);
}

void sv_on_control(struct vx_supervisor *sv)
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
                answer = handle_stop(sv, req, &fd, false);
        else if (strcmp(cmd, "restart") == 0)
                answer = handle_stop(sv, req, &fd, true);
        else if (strcmp(cmd, "qmp") == 0)
                answer = handle_monitor(sv, req, false);
        else if (strcmp(cmd, "hmp") == 0)
                answer = handle_monitor(sv, req, true);
        else if (strcmp(cmd, "pin") == 0)
                answer = handle_pin(sv, req);
        else if (strcmp(cmd, "bind") == 0 || strcmp(cmd, "unbind") == 0)
                answer = handle_bind(sv, req, strcmp(cmd, "bind") == 0);
        else
                answer = control_error(-EOPNOTSUPP, "unknown command '%s'", cmd);
        if (answer && fd >= 0)
                (void)control_write_answer(fd, answer);
        json_decref(answer);
        json_decref(req);
}
