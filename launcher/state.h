/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * <deployment>/state.json: what the supervisor knows, written atomically on
 * every change, so a new supervisor can adopt VMs a dead one left running,
 * and `status` can say something even then. The same JSON, with live
 * fields added, is what `vmxrun status --json` prints (docs/status-json.md).
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "plan.h"
#include "vm.h"

/* What a NIC was on the host when the state was written: a tap's ifindex, a VF's or PCI device's address. */
struct vx_saved_nic {
        char *tap;         /* NULL for a VF or pci NIC */
        int ifindex;       /* the tap's; 0 when it was not there */
        char *pci_address; /* NULL for a tap, or when not known yet */
};

struct vx_saved_vm {
        char *name;
        pid_t pid;
        unsigned long long start_ticks;
        int64_t started_usec;
        unsigned restarts;
        bool ready;
        struct vx_plan_pinning *pin_live; /* what `vmxrun pin` set (vm_pinning_free); NULL: none, or an older vmxrun */
        struct vx_saved_nic *nics;        /* in the profile's NIC order; none in a state file of an older vmxrun */
        size_t n_nics;
};

struct vx_saved_state {
        char *deployment;
        char *profile_path;
        pid_t supervisor_pid;
        bool force_accel;
        enum vx_accel accel;
        char *runtime_dir;
        char *qemu_user; /* the plan's ("root" when QEMU stays root); NULL in a state file of an older vmxrun */
        char **sets;     /* the --set values of the start, in order (NULL-terminated); empty: none */
        size_t n_sets;
        struct vx_saved_vm *vms;
        size_t n_vms;
};

/* Writes state.json for the instances. Returns 0 or -errno. */
int state_save(const struct vx_plan *plan, const char *profile_path, const struct vx_plan_options *opts,
               struct vx_vm_instance *const *insts, size_t n);

/* Reads state.json. Returns 0 and *ret, -ENOENT when there is none, -EBADMSG when unreadable, or -errno. */
int state_load(const char *deployment_dir, struct vx_saved_state **ret);

void state_remove(const char *deployment_dir);

/* Whether any VM the state file names still runs (its pid answers kill 0). */
bool state_vms_alive(const struct vx_saved_state *s);

/* The plan options the start of a state file used (accel, runtime dir, QEMU's user, --set values). */
struct vx_plan_options state_plan_options(const struct vx_saved_state *s);

const struct vx_saved_vm *state_find_vm(const struct vx_saved_state *s, const char *name);

struct vx_saved_state *state_free(struct vx_saved_state *s);
static inline void state_freep(struct vx_saved_state **s)
{
        *s = state_free(*s);
}

/*
 * The status of every VM, live: QMP run state, uptime, and each vCPU's
 * thread and its CPU list as the kernel has it (Cpus_allowed_list).
 * Returns a new object or NULL on -ENOMEM.
 */
json_t *state_status_json(const struct vx_plan *plan, const char *profile_path, struct vx_vm_instance *const *insts,
                          size_t n);
