/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Automatic CPU placement (`pinning: auto`, docs/placement.md) and the claims
 * it places around. Pure: the host topology and the CPUs other deployments
 * hold are data (host/topology.h, launcher/cpu-ledger.h reads the claims), so
 * the plan stays a function of its inputs and tests make up both.
 *
 * For each VM with placement: auto, in profile order:
 *  - the node: pinning.node, else memory.hugepages.node, else the node of its
 *    passthrough NICs (VFs, hostdevs), else the node with the most free CPUs;
 *  - the emulator set (pinning.emulator-cpus CPUs) on that node: housekeeping
 *    CPUs (not isolated, CPU 0 first), shared with other VMs' emulator sets
 *    but never with anyone's vCPUs;
 *  - the vCPUs on whole free cores of that node, isolated cores first. With
 *    topology.threads T > 1 each T consecutive vCPUs take one core's T
 *    siblings; with threads 1, one vCPU per core and its siblings left idle
 *    (reserved: nobody else gets them) unless pinning.smt is share.
 * A CPU is free when no other VM of the profile and no claim of another
 * deployment has a vCPU, a reserved sibling or (for vCPUs) its emulator on it.
 * A VM of the same deployment already in the claims keeps exactly what it
 * has (adoption, a replan while it runs).
 */

#include <stdbool.h>
#include <stddef.h>

#include "cpuset.h"
#include "facts.h"
#include "profile.h"
#include "topology.h"

/* What one VM of one deployment holds (an entry of the host-wide CPU ledger). */
struct vx_cpu_claim {
        char *deployment;
        char *vm;
        char *key;               /* the profile key that pinned them: "vms[1].pinning.vcpus" */
        struct vx_cpuset *vcpus; /* one set per vCPU, in vCPU order */
        size_t n_vcpus;
        struct vx_cpuset reserved; /* idle siblings kept free (smt: isolate) */
        bool has_emulator;
        struct vx_cpuset emulator;
        int node;    /* placement's node, -1: pinned explicitly */
        bool shared; /* pinning.shared */
};

struct vx_cpu_claims {
        struct vx_cpu_claim *items;
        size_t n;
};

void cpu_claim_done(struct vx_cpu_claim *c);
void cpu_claims_done(struct vx_cpu_claims *claims);

/* Every CPU a claim's vCPUs run on, and those plus its reserved siblings. */
void cpu_claim_vcpu_cpus(const struct vx_cpu_claim *c, struct vx_cpuset *ret);
void cpu_claim_held(const struct vx_cpu_claim *c, struct vx_cpuset *ret);

/* One VM's placement: vx_plan_pinning is filled from it. */
struct vx_placement {
        bool automatic; /* placed here (else: the profile's lists, or not pinned) */
        bool failed;    /* no room: why[0] says why; the plan is incomplete */
        int node;
        struct vx_cpuset *vcpus; /* one CPU per vCPU */
        size_t n_vcpus;
        struct vx_cpuset reserved;
        struct vx_cpuset emulator;
        unsigned sockets, cores, threads; /* topology: auto, derived from the CPUs (0: not derived) */
        char **why;                       /* lines for cmdline --plan, --json and status: node, isolation, siblings */
        size_t n_why;
        char **conflicts; /* explicit pins on CPUs another deployment holds: start refuses */
        size_t n_conflicts;
};

void placement_done(struct vx_placement *pl);

/*
 * Places every VM of p (ret_placements: p->n_vms entries, in VM order; free
 * each with placement_done and the array with free). topology NULL: nothing
 * is placed, VMs with placement: auto fail with a reason. claims: what
 * running deployments hold (may include the deployment's own VMs, which are
 * reused); NULL for none. Returns 0, or -ENOMEM. A VM that does not fit is
 * not an error here: its placement is marked failed, with the reason.
 */
int placement_plan(const struct vx_profile *p, const struct vx_host_facts *facts, const struct vx_cpu_claims *claims,
                   struct vx_placement **ret_placements);

/*
 * The host NUMA nodes a VM's parts are on, for the locality check: its vCPU
 * CPUs (pins), its memory (node, -1 unbound), and each passthrough NIC.
 * Writes a sentence to *ret_message (malloc'd) when they are not all on one
 * node and returns 1; 0 when they are (or nothing is known); -ENOMEM.
 */
int placement_check_locality(const struct vx_vm *vm, size_t vm_index, const struct vx_host_facts *facts,
                             const struct vx_cpuset *vcpus, size_t n_vcpus, int memory_node, char **ret_message);
