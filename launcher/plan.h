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

#include <jansson.h>

#include "argv.h"
#include "cleanup.h"
#include "facts.h"
#include "placement.h"
#include "profile.h"

struct vx_plan_options {
        const char *runtime_dir; /* overrides host.runtime-dir; NULL = profile's or default */
        bool force_accel;        /* use accel below for every VM (--accel, VMXRUN_ACCEL) */
        enum vx_accel accel;
        const char *qemu_user; /* the user QEMU runs as (VMXRUN_QEMU_USER); NULL: vmxrun-qemu; "root": stays root */
        const struct vx_cpu_claims *cpu_claims; /* what running deployments hold (the CPU ledger); NULL: none */
        bool claim_cpus; /* start: launcher_plan_profile writes the plan's CPUs to the ledger (cpu-ledger.h) */
        /* --set values the profile was loaded with; kept in the state file, so a replan loads it the same way */
        struct vx_profile_sets sets;
};

/*
 * The fd table: every fd QEMU inherits, at the number argv names (fd=N).
 * Numbers start at VX_PLAN_FIRST_FD and follow the table's order. The
 * launcher creates the QMP socket itself; apply opens every other entry
 * (through the action named by `action`) and hands back one fd per entry,
 * so spawn passes exactly this table and nothing else relies on an order.
 * When an fd already has its number, dup2() is a no-op that keeps
 * FD_CLOEXEC: the child clears the flag instead.
 */
#define VX_PLAN_FIRST_FD 3

enum vx_plan_fd_kind {
        VX_PLAN_FD_QMP,   /* listening unix socket for QMP, created by vmxrun */
        VX_PLAN_FD_TAP,   /* /dev/net/tun opened and named by vmxrun (one per queue) */
        VX_PLAN_FD_VHOST, /* /dev/vhost-net (one per queue) */
        _VX_PLAN_FD_KIND_MAX,
};

struct vx_plan_fd {
        enum vx_plan_fd_kind kind;
        int number;    /* the fd number QEMU sees, named in argv as fd=N */
        char *object;  /* what it is for: socket path, tap name */
        size_t action; /* TAP/VHOST: index into plan->actions of the tap that opens it */
        unsigned queue;
};

enum vx_host_action_kind {
        VX_ACTION_BRIDGE,          /* create a bridge (or use an existing one) */
        VX_ACTION_UPLINK,          /* enslave a host interface to a bridge (carried out with its bridge) */
        VX_ACTION_TAP,             /* create a tap on a bridge, open its queues (and vhost-net) */
        VX_ACTION_VF_CONFIG,       /* set a VF's MAC, VLAN, rate, spoofchk, trust */
        VX_ACTION_VFIO_BIND,       /* bind a PCI device to vfio-pci */
        VX_ACTION_HUGEPAGES,       /* enough free pages in a hugepage pool */
        VX_ACTION_HUGETLBFS_MOUNT, /* mount a hugetlbfs with a page size */
        VX_ACTION_FILE_ACCESS,     /* a file QEMU opens (disk, kernel, initrd): its user must be able to */
        VX_ACTION_MEM_DIR,         /* a directory for QEMU's hugepage backing file, owned by its user */
        _VX_HOST_ACTION_KIND_MAX,
};

struct vx_action_bridge {
        char *name;
        bool stp;
        int forward_delay; /* seconds, -1: kernel default */
        unsigned mtu;      /* 0: kernel default */
};

struct vx_action_uplink {
        char *bridge;
        char *uplink;
        bool move_host_address;
};

struct vx_action_tap {
        char *name;
        char *bridge;         /* NULL: no bridge */
        char *guest_mac;      /* NULL: QEMU picks, the tap gets a random fe: MAC */
        unsigned mtu;         /* 0: the bridge's */
        unsigned queues;      /* >= 1 */
        bool vhost;           /* a /dev/vhost-net fd per queue too */
        size_t first_fd;      /* index into the VM's fd table: queues tap fds, then (vhost) queues vhost fds */
        bool declared_bridge; /* the bridge is one of the profile's bridges (else it must exist) */
};

struct vx_action_vf_config {
        char *pf;          /* the PF's interface */
        int vf;            /* VF index */
        char *pci_address; /* the VF's address on this host, NULL when it is not here (resolved at start) */
        char *mac;         /* NULL: leave */
        int vlan;          /* -1: leave */
        int rate_mbps;     /* -1: leave */
        enum vx_tristate spoofchk, trust;
        unsigned pf_mtu; /* 0: leave */

        /* vf: auto, a list of PFs, the PF's own settings, the placeholder (docs/sriov.md) */
        char **pfs; /* the PFs vf: auto picks from (pf is pfs[0]); just pf for vf: N */
        size_t n_pfs;
        bool vf_auto;  /* vf is -1: start picks a free VF of pfs */
        int numa_node; /* vf: auto prefers a PF on this node (memory.hugepages.node); -1: none */
        enum vx_tristate pf_up, pf_promisc, pf_allmulti; /* auto: leave */
        char *placeholder; /* pci_address NULL: the text argv holds in its place until start knows it */
};

struct vx_action_vfio_bind {
        char *pci_address; /* NULL: the VF pf/vf, resolved at start */
        char *pf;          /* VF NICs: the PF and VF index (-1: vf: auto); NULL for a pci NIC */
        int vf;
        char *placeholder; /* pci_address NULL: the VF's vf-config placeholder, resolved by it at start */
};

struct vx_action_hugepages {
        uint64_t page_size; /* bytes */
        int node;           /* -1: the whole host */
        uint64_t pages;     /* pages the VM needs */
};

struct vx_action_mount {
        char *path;
        uint64_t page_size;
};

struct vx_action_file_access {
        char *path;
        bool writable; /* read and write (a disk), else read only */
};

/*
 * One host action, with every parameter apply needs resolved here: apply
 * reads nothing but the plan.
 */
struct vx_host_action {
        enum vx_host_action_kind kind;
        char *object;      /* bridge/tap name, PCI address, page size: what a human calls it */
        char *description; /* one line for humans */
        char *key;         /* profile key path that asks for it */
        int vm;            /* index into plan->vms; -1 for deployment-wide actions (bridges) */
        union {
                struct vx_action_bridge bridge;
                struct vx_action_uplink uplink;
                struct vx_action_tap tap;
                struct vx_action_vf_config vf;
                struct vx_action_vfio_bind bind;
                struct vx_action_hugepages huge;
                struct vx_action_mount mount; /* HUGETLBFS_MOUNT; MEM_DIR uses path only */
                struct vx_action_file_access file;
        };
};

/* Where each vCPU runs: vCPU i is QEMU's cpu-index i. */
struct vx_plan_pinning {
        struct vx_cpuset *vcpus; /* one CPU list per vCPU; n_vcpus 0: vCPUs not pinned */
        size_t n_vcpus;
        bool has_emulator;
        struct vx_cpuset emulator; /* every thread that is not a pinned vCPU */
        /* pinning: auto (launcher/placement.h): what was chosen and why */
        bool automatic;
        int node;                  /* the node placed on; -1: not placed */
        struct vx_cpuset reserved; /* idle siblings held so that no other VM runs there */
        bool shared;               /* pinning.shared */
        bool core_scheduling;      /* pinning.core-scheduling */
        char **why;                /* one line per choice: node, emulator, each vCPU */
        size_t n_why;
};

/* The guest CPU topology, defaults decided (by the profile parser). */
struct vx_plan_topology {
        unsigned vcpus, sockets, dies, cores, threads;
};

struct vx_vm_plan {
        const struct vx_vm *vm; /* the model it was planned from (for cmdline/explain); launch reads the plan */
        char *name;
        size_t vm_index;
        char *runtime_dir;         /* <runtime>/<deployment>/<vm> */
        char *qmp_path;            /* <runtime_dir>/qmp.sock */
        enum vx_accel accel;       /* the accelerator actually used */
        struct vx_argv argv;       /* argv[0] is the QEMU binary */
        char **origin;             /* origin[i]: profile key path that produced argv.items[i], or NULL
                                    * for options vmxrun always adds; parallel to argv.items */
        struct vx_plan_fd *fds;
        size_t n_fds;
        struct vx_plan_topology topology;
        struct vx_plan_pinning pinning;
        uint64_t memlock_bytes;    /* RLIMIT_MEMLOCK for QEMU: 0 leave it, UINT64_MAX unlimited (memory.lock) */
        uint64_t prealloc_bytes;   /* memory QEMU preallocates before it answers on QMP (prealloc=on backends) */
        bool prealloc_hugetlb;     /* ... in hugepages (counted in smaps_rollup's *_Hugetlb) */
        char **notes;              /* things the user should know (TCG fallback, unresolved VF, ...) */
        size_t n_notes;
        bool complete; /* false when a value could only be a placeholder that start cannot
                                    * fill either (a PF not on this host): fine to print, refused by
                                    * start. A VF start creates or picks keeps the plan complete: its
                                    * placeholder (a note says why) is replaced by plan_resolve() */
};

struct vx_plan {
        const struct vx_profile *profile;
        char *qemu_user;      /* the user every QEMU runs as; NULL: root (with no capabilities) */
        char *deployment;     /* the deployment's name */
        char *runtime_root;   /* <runtime>: where .shared/ lives */
        char *deployment_dir; /* <runtime>/<deployment> */
        struct vx_vm_plan *vms;
        size_t n_vms;
        struct vx_host_action *actions;
        size_t n_actions;
        /* page-size: auto decided for this host: profile is then a copy of the
         * profile given, its vms a copy with the page sizes filled in (owned) */
        struct vx_profile resolved;
        struct vx_vm *resolved_vms;
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

/*
 * Start's half of a placeholder (docs/sriov.md): once a VF exists (created,
 * or picked by vf: auto), puts its address bdf wherever the plan holds
 * placeholder: the VM's argv and the VM's vf-config and vfio-bind actions.
 * Returns the number of argv items changed, or -ENOMEM.
 */
int plan_resolve(struct vx_plan *plan, size_t vm, const char *placeholder, const char *bdf);

/*
 * The PCI address the VM's NIC nic (a VF or a pci NIC) is given to QEMU
 * with, as its argv has it now: a placeholder until plan_resolve() filled it
 * in. Returns it (pointing into the argv) with its length, or NULL.
 */
const char *plan_nic_pci_address(const struct vx_vm_plan *vp, size_t nic, size_t *ret_len);

/*
 * How long to wait for QEMU's QMP greeting: QEMU answers only once its
 * memory is preallocated, so 30 s plus 5 s per GiB it preallocates (a slow
 * host, nested TCG under ASan, takes that long). In milliseconds.
 */
int plan_greeting_timeout_ms(const struct vx_vm_plan *vp);

/* The plan of the VM called name, or NULL. */
const struct vx_vm_plan *plan_find_vm(const struct vx_plan *plan, const char *name);

/* Names for output and JSON ("qmp", "tap", "vhost"; "bridge", "vf-config", ...); NULL when out of range. */
const char *plan_fd_kind_to_string(enum vx_plan_fd_kind k);
const char *plan_action_kind_to_string(enum vx_host_action_kind k);

/* The deployment-wide action of that kind and object (a bridge, an uplink of a bridge), or NULL. */
const struct vx_host_action *plan_find_action(const struct vx_plan *plan, enum vx_host_action_kind kind,
                                              const char *object);

/*
 * The plan as JSON: runtime dirs, per VM its argv (with origins), fd table,
 * pinning, notes, and the host actions with their parameters. only: one VM,
 * or NULL for all. Returns a new object, or NULL on -ENOMEM. The format is
 * docs/plan-json.md; golden files (tests/golden/<profile>.plan.json) keep it.
 */
json_t *plan_to_json(const struct vx_plan *plan, const struct vx_vm_plan *only);

/* A JSON array of n strings (NULL items become null), as argv and notes are printed; NULL on -ENOMEM. */
json_t *plan_json_strv(char *const *v, size_t n);
