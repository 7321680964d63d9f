/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The NUMA and placement checks of a planned deployment, for `vmxrun doctor
 * PROFILE` and start's pre-flight (launcher/preflight.c lists them). Each
 * reports its results through report(): a stable id, a verdict, what was
 * checked, the profile key (NULL: host-wide), the fix (NULL: none) and one
 * line for humans. The verdicts are in the order of the pre-flight's
 * enum vx_check_status (ok, warn, fail), so an adapter can pass them on.
 * Pure: they read the plan and the host facts (with their topology), never
 * the host itself, and log nothing. Each returns 0, or what report()
 * returned when it failed (-ENOMEM).
 */

#include "facts.h"
#include "plan.h"

enum vx_numa_verdict {
        VX_NUMA_OK,
        VX_NUMA_WARN,
        VX_NUMA_FAIL,
};

typedef int (*vx_numa_report)(void *userdata, const char *id, enum vx_numa_verdict verdict, const char *subject,
                              const char *key, const char *fix, const char *message);

/*
 * "numa-locality": per VM, whether its pinned vCPUs, its memory's node and
 * its passthrough NICs are on one host node. WARN when not (FAIL with
 * numa.strict); OK when they are; nothing on a one-node host.
 */
int numa_check_locality(const struct vx_plan *plan, const struct vx_host_facts *facts, vx_numa_report report,
                        void *userdata);

/*
 * "cpu-placement": per VM with pinning: auto, the node and CPUs chosen (OK)
 * or why there is no room (FAIL); per VM pinned explicitly onto CPUs a
 * running deployment holds, FAIL naming the CPU and both VMs.
 */
int numa_check_placement(const struct vx_plan *plan, vx_numa_report report, void *userdata);

/*
 * "numa-cpus": per VM, that every pinned CPU exists and is online (FAIL),
 * and, for a VM with passthrough NICs or hugepages (a data plane), whether
 * its vCPUs are on isolated CPUs (WARN when none is: the host's own work
 * runs there too).
 */
int numa_check_cpus(const struct vx_plan *plan, const struct vx_host_facts *facts, vx_numa_report report,
                    void *userdata);

/*
 * "numa-memory": per node a VM's memory is bound to, whether the node's free
 * memory holds what its hugepage pools must grow by and, without hugepages,
 * the VM's memory (WARN when it does not: the kernel may fail the growth or
 * fall back to another node with policy preferred).
 */
int numa_check_memory(const struct vx_plan *plan, const struct vx_host_facts *facts, vx_numa_report report,
                      void *userdata);
