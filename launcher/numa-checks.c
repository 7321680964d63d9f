/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NUMA and placement checks for the pre-flight (numa-checks.h). */
#include "numa-checks.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "hugepages.h"
#include "topology.h"

static int reportf(vx_numa_report report, void *userdata, const char *id, enum vx_numa_verdict v, const char *subject,
                   const char *key, const char *fix, const char *fmt, ...) __attribute__((format(printf, 8, 9)));
static int reportf(vx_numa_report report, void *userdata, const char *id, enum vx_numa_verdict v, const char *subject,
                   const char *key, const char *fix, const char *fmt, ...)
{
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&message, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return report(userdata, id, v, subject, key, fix, message);
}

static bool multi_node(const struct vx_host_facts *facts)
{
        return facts && facts->topology && facts->topology->n_nodes > 1;
}

/* The node the VM's memory is bound to, as the plan has it: -1 unbound. */
static int memory_node(const struct vx_vm_plan *vp, const struct vx_host_facts *facts)
{
        if (vp->vm->memory.hugepages && vp->vm->memory.node >= 0)
                return vp->vm->memory.node;
        return vp->pinning.automatic && multi_node(facts) ? vp->pinning.node : -1;
}

int numa_check_locality(const struct vx_plan *plan, const struct vx_host_facts *facts, vx_numa_report report,
                        void *userdata)
{
        if (!multi_node(facts))
                return 0;
        for (size_t i = 0; i < plan->n_vms; i++) {
                const struct vx_vm_plan *vp = &plan->vms[i];
                _cleanup_free_ char *message = NULL, *key = NULL;
                int r;

                r = placement_check_locality(vp->vm, vp->vm_index, facts, vp->pinning.vcpus, vp->pinning.n_vcpus,
                                             memory_node(vp, facts), &message);
                if (r < 0)
                        return r;
                if (asprintf(&key, "vms[%zu].numa", vp->vm_index) < 0)
                        return -ENOMEM;
                r = r == 0 ? reportf(report, userdata, "numa-locality", VX_NUMA_OK, vp->name, key, NULL,
                                     "its vCPUs, memory and passthrough NICs are on one NUMA node, or not bound")
                           : report(userdata, "numa-locality", vp->vm->numa.strict ? VX_NUMA_FAIL : VX_NUMA_WARN,
                                    vp->name, key,
                                    "pin the vCPUs (or pinning: auto) and bind memory.hugepages.node to the node of "
                                    "the NICs",
                                    message);
                if (r < 0)
                        return r;
        }
        return 0;
}

int numa_check_placement(const struct vx_plan *plan, vx_numa_report report, void *userdata)
{
        for (size_t i = 0; i < plan->n_vms; i++) {
                const struct vx_vm_plan *vp = &plan->vms[i];
                const struct vx_plan_pinning *pp = &vp->pinning;
                _cleanup_free_ char *key = NULL;
                int r = 0;

                if (asprintf(&key, "vms[%zu].pinning", vp->vm_index) < 0)
                        return -ENOMEM;
                if (vp->vm->pinning.automatic && pp->n_vcpus > 0) {
                        _cleanup_free_ char *emulator = vx_cpuset_format(&pp->emulator);
                        _cleanup_free_ char *vcpus = NULL;
                        struct vx_cpuset all = {0};

                        for (size_t k = 0; k < pp->n_vcpus; k++)
                                for (int cpu = 0; cpu <= vx_cpuset_last(&pp->vcpus[k]); cpu++)
                                        if (vx_cpuset_isset(&pp->vcpus[k], (unsigned)cpu))
                                                vx_cpuset_set(&all, (unsigned)cpu);
                        vcpus = vx_cpuset_format(&all);
                        if (!emulator || !vcpus)
                                return -ENOMEM;
                        r = reportf(report, userdata, "cpu-placement", VX_NUMA_OK, vp->name, key, NULL,
                                    "%s; vCPUs on CPUs %s, emulator threads on %s", pp->n_why ? pp->why[0] : "", vcpus,
                                    emulator);
                }
                /* What plan.c noted: no room, or explicit pins on a CPU a running deployment holds. */
                for (size_t k = 0; r >= 0 && k < vp->n_notes; k++)
                        if (strstr(vp->notes[k], "no room on node") || strstr(vp->notes[k], "is held by VM") ||
                            strstr(vp->notes[k], "topology could not be read"))
                                r = report(userdata, "cpu-placement", VX_NUMA_FAIL, vp->name, key,
                                           "stop a deployment that holds the CPUs, or give the VM fewer vCPUs",
                                           vp->notes[k]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool data_plane(const struct vx_vm *vm)
{
        for (size_t j = 0; j < vm->n_nics; j++)
                if (vm->nics[j].type != VX_NIC_TAP)
                        return true;
        return vm->memory.hugepages;
}

int numa_check_cpus(const struct vx_plan *plan, const struct vx_host_facts *facts, vx_numa_report report,
                    void *userdata)
{
        const struct vx_host_topology *t = facts ? facts->topology : NULL;

        if (!t)
                return 0;
        for (size_t i = 0; i < plan->n_vms; i++) {
                const struct vx_vm_plan *vp = &plan->vms[i];
                _cleanup_free_ char *key = NULL;
                unsigned isolated = 0, pinned = 0;
                int r = 0;

                if (asprintf(&key, "vms[%zu].pinning", vp->vm_index) < 0)
                        return -ENOMEM;
                for (size_t k = 0; r >= 0 && k <= vp->pinning.n_vcpus; k++) {
                        const struct vx_cpuset *set = k < vp->pinning.n_vcpus    ? &vp->pinning.vcpus[k]
                                                      : vp->pinning.has_emulator ? &vp->pinning.emulator
                                                                                 : NULL;

                        for (int cpu = 0; set && r >= 0 && cpu <= vx_cpuset_last(set); cpu++) {
                                const struct vx_topo_cpu *c;
                                char subject[32];

                                if (!vx_cpuset_isset(set, (unsigned)cpu))
                                        continue;
                                c = host_topology_cpu(t, (unsigned)cpu);
                                snprintf(subject, sizeof(subject), "CPU %d", cpu);
                                if (!c || !c->online)
                                        r = reportf(report, userdata, "numa-cpus", VX_NUMA_FAIL, subject, key,
                                                    c ? "echo 1 > /sys/devices/system/cpu/cpuN/online" : NULL,
                                                    "%s: %s pins CPU %d, which this host %s", vp->name,
                                                    k < vp->pinning.n_vcpus ? "a vCPU" : "the emulator set", cpu,
                                                    c ? "has offline" : "does not have");
                                else if (k < vp->pinning.n_vcpus) {
                                        pinned++;
                                        isolated += c->isolated;
                                }
                        }
                }
                if (r >= 0 && pinned > 0 && data_plane(vp->vm) && isolated == 0 && vx_cpuset_count(&t->isolated) > 0)
                        r = reportf(report, userdata, "numa-cpus", VX_NUMA_WARN, vp->name, key,
                                    "pin its vCPUs to isolated CPUs (or pinning: auto)",
                                    "none of the vCPUs of %s is on an isolated CPU (isolated: the host keeps its "
                                    "own work off them)",
                                    vp->name);
                else if (r >= 0 && pinned > 0)
                        r = reportf(report, userdata, "numa-cpus", VX_NUMA_OK, vp->name, key, NULL,
                                    "%u pinned vCPU CPUs online, %u of them isolated", pinned, isolated);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Bytes a node must give: the growth of its hugepage pools (from the plan's actions) and RAM-bound VMs. */
static uint64_t node_need(const struct vx_plan *plan, const struct vx_host_facts *facts, int node)
{
        static const uint64_t sizes[] = {UINT64_C(2) << 20, UINT64_C(1) << 30};
        uint64_t bytes = 0;

        for (size_t s = 0; s < ELEMENTSOF(sizes); s++) {
                const struct vx_topo_pool *pool = host_topology_pool(facts->topology, node, sizes[s]);
                uint64_t pages = 0, free_pages = pool ? pool->free : 0;

                for (size_t a = 0; a < plan->n_actions; a++)
                        if (plan->actions[a].kind == VX_ACTION_HUGEPAGES && plan->actions[a].huge.node == node &&
                            plan->actions[a].huge.page_size == sizes[s])
                                pages += plan->actions[a].huge.pages;
                if (pages > free_pages)
                        bytes += (pages - free_pages) * sizes[s];
        }
        for (size_t i = 0; i < plan->n_vms; i++)
                if (!plan->vms[i].vm->memory.hugepages && memory_node(&plan->vms[i], facts) == node)
                        bytes += plan->vms[i].vm->memory.size;
        return bytes;
}

int numa_check_memory(const struct vx_plan *plan, const struct vx_host_facts *facts, vx_numa_report report,
                      void *userdata)
{
        if (!multi_node(facts))
                return 0;
        for (size_t k = 0; k < facts->topology->n_nodes; k++) {
                const struct vx_topo_node *n = &facts->topology->nodes[k];
                uint64_t need = node_need(plan, facts, n->id);
                char subject[32], have[32], want[32];
                int r;

                if (need == 0)
                        continue;
                snprintf(subject, sizeof(subject), "memory of node %d", n->id);
                hugepages_size_pretty(n->mem_free & ~((UINT64_C(1) << 20) - 1), have, sizeof(have));
                hugepages_size_pretty(need, want, sizeof(want));
                if (n->mem_free >= need)
                        r = reportf(report, userdata, "numa-memory", VX_NUMA_OK, subject, NULL, NULL,
                                    "node %d has %s free for the %s its VMs' memory needs there", n->id, have, want);
                else
                        r = reportf(report, userdata, "numa-memory", VX_NUMA_WARN, subject, NULL,
                                    "free memory on the node (stop what uses it), or reserve the hugepages at boot",
                                    "node %d has %s free, its VMs need %s more there: growing the pools may fail",
                                    n->id, have, want);
                if (r < 0)
                        return r;
        }
        return 0;
}
