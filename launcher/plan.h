/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The plan: a pure function from a validated profile and facts about the host
 * (passed in as data, never read here) to what `start` will do: each VM's QEMU
 * argv as an array, the fds QEMU expects to inherit, and the host actions
 * needed first. `cmdline` and `explain` print it; tests compare it with golden
 * files. Nothing here touches the host.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "argv.h"
#include "cleanup.h"
#include "facts.h"
#include "profile.h"

struct vx_plan_options {
        const char *runtime_dir; /* overrides host.runtime-dir; NULL = profile's or default */
        bool force_accel;        /* use accel below for every VM (--accel, VMXRUN_ACCEL) */
        enum vx_accel accel;
};

/*
 * Fd numbers are fixed by the plan: the launcher dup2()s each fd to its number
 * in the child. When an fd already has its number, dup2() is a no-op that keeps
 * FD_CLOEXEC: clear the flag with fcntl() instead. Numbers are VX_PLAN_FIRST_FD
 * for QMP, then per tap NIC in NIC order its tap fds (one per queue), then its
 * vhost fds (one per queue) when it uses vhost. VF and hostdev NICs take none.
 */
#define VX_PLAN_FIRST_FD 3

enum vx_plan_fd_kind {
        VX_PLAN_FD_QMP,   /* listening unix socket for QMP, created by vmxrun */
        VX_PLAN_FD_TAP,   /* /dev/net/tun opened and named by vmxrun (one per queue) */
        VX_PLAN_FD_VHOST, /* /dev/vhost-net (one per queue) */
};

struct vx_plan_fd {
        enum vx_plan_fd_kind kind;
        int number;   /* the fd number QEMU sees, named in argv as fd=N */
        char *object; /* what it is for: socket path, tap name */
        size_t nic;   /* index into vm->nics for TAP/VHOST */
        unsigned queue;
};

enum vx_host_action_kind {
        VX_ACTION_BRIDGE,     /* create bridge (or use an existing one) */
        VX_ACTION_UPLINK,     /* enslave a host interface to a bridge */
        VX_ACTION_TAP,        /* create a tap on a bridge */
        VX_ACTION_VF_CONFIG,  /* set a VF's MAC, VLAN, rate, spoofchk, trust (object "p3p1/vf0") */
        VX_ACTION_VFIO_BIND,  /* bind a PCI device to vfio-pci (object: address, or "@p3p1/vf0@") */
        VX_ACTION_HUGEPAGES,  /* enough free pages in the hugepage pool (object: page size, "1G") */
        VX_ACTION_HUGETLBFS_MOUNT, /* mount a hugetlbfs with that page size (object: mount point) */
};

struct vx_host_action {
        enum vx_host_action_kind kind;
        char *object;      /* bridge/tap name, PCI address, page size */
        char *description; /* one line for humans */
        char *key;         /* profile key path that asks for it */
        const struct vx_vm *vm; /* NULL for deployment-wide actions (bridges) */
};

struct vx_vm_plan {
        const struct vx_vm *vm;
        size_t vm_index;
        char *runtime_dir;         /* <runtime>/<deployment>/<vm> */
        char *qmp_path;            /* <runtime_dir>/qmp.sock */
        enum vx_accel accel;       /* the accelerator actually used */
        struct vx_argv argv;       /* argv[0] is the QEMU binary */
        char **origin;             /* origin[i]: profile key path that produced argv.items[i], or NULL
                                    * for options vmxrun always adds; parallel to argv.items */
        struct vx_plan_fd *fds;
        size_t n_fds;
        char **notes;              /* things the user should know (TCG fallback, unresolved VF, ...) */
        size_t n_notes;
        bool complete;             /* false when a value could only be a placeholder (VF not on this
                                    * host): fine to print, refused by start */
};

struct vx_plan {
        const struct vx_profile *profile;
        char *deployment_dir; /* <runtime>/<deployment> */
        struct vx_vm_plan *vms;
        size_t n_vms;
        struct vx_host_action *actions;
        size_t n_actions;
};

/*
 * Builds the plan for every VM of a validated profile. Returns 0 and *ret
 * (free with plan_free; it points into p, which must outlive it) or -ENOMEM.
 * What only matters at start (KVM unusable without a TCG fallback, a VF that
 * is not on this host) is not an error here: it becomes a note, the plan is
 * marked incomplete, and start refuses it. facts must not be NULL; opts may
 * be NULL (no overrides).
 */
int plan_build(const struct vx_profile *p, const struct vx_host_facts *facts, const struct vx_plan_options *opts,
               struct vx_plan **ret);

struct vx_plan *plan_free(struct vx_plan *plan);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vx_plan *, plan_free)

/* The plan of the VM called name, or NULL. */
const struct vx_vm_plan *plan_find_vm(const struct vx_plan *plan, const char *name);

/* Names for output and JSON ("qmp", "tap", "vhost"; "bridge", "vf-config", ...); NULL when out of range. */
const char *plan_fd_kind_to_string(enum vx_plan_fd_kind k);
const char *plan_action_kind_to_string(enum vx_host_action_kind k);
