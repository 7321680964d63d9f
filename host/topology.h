/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The host's CPU and memory topology, read under a root directory (normally
 * "/"; tests point it at a fixture tree such as tests/fixtures/host-2node-smt):
 *
 *   <root>/sys/devices/system/node/node<N>/{cpulist,distance,meminfo}
 *   <root>/sys/devices/system/node/node<N>/hugepages/hugepages-<kB>kB/{nr,free}_hugepages
 *   <root>/sys/devices/system/cpu/{online,isolated,nohz_full}
 *   <root>/sys/devices/system/cpu/cpu<N>/topology/{core_id,physical_package_id,thread_siblings_list}
 *   <root>/sys/bus/pci/devices/<BDF>/numa_node
 *
 * On the real host, free memory per node and node distances come from
 * libnuma (numa_node_size64, numa_distance), which knows the kernel's view
 * better than a parse of meminfo; under any other root, from the files. A
 * host without NUMA in sysfs (no node directory) is one node 0 with every
 * online CPU. Nothing here logs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpuset.h"

/* One host CPU (present in sysfs). */
struct vx_topo_cpu {
        unsigned id;
        int node;                  /* NUMA node, -1 when no node lists it */
        int core_id;               /* topology/core_id, -1 unknown */
        int package_id;            /* topology/physical_package_id (socket), -1 unknown */
        struct vx_cpuset siblings; /* topology/thread_siblings_list, itself included */
        bool online;
        bool isolated;  /* in cpu/isolated (isolcpus=) */
        bool nohz_full; /* in cpu/nohz_full */
};

/* A hugepage pool of one node and page size. */
struct vx_topo_pool {
        uint64_t page_size; /* bytes */
        uint64_t total;     /* nr_hugepages */
        uint64_t free;      /* free_hugepages */
};

struct vx_topo_node {
        int id;
        struct vx_cpuset cpus; /* cpulist */
        uint64_t mem_total;    /* bytes; 0 unknown */
        uint64_t mem_free;     /* bytes; 0 unknown */
        struct vx_topo_pool *pools;
        size_t n_pools;
};

struct vx_topo_pci {
        char bdf[16]; /* "0000:81:10.0" */
        int node;     /* numa_node: -1 when the device has none (one-node hosts) */
};

struct vx_host_topology {
        struct vx_topo_node *nodes; /* by ascending id */
        size_t n_nodes;
        struct vx_topo_cpu *cpus; /* by ascending id */
        size_t n_cpus;
        struct vx_cpuset online, isolated, nohz_full;
        unsigned *distance; /* n_nodes * n_nodes, by index into nodes; 0 unknown */
        struct vx_topo_pci *pci;
        size_t n_pci;
};

/*
 * Reads the topology under root (NULL or "/": the real host, with libnuma).
 * Missing files are facts (no isolated file: no isolated CPUs), so this fails
 * only with -ENOMEM, or -ENOENT when not even cpu/online is there. Free *ret
 * with host_topology_free.
 */
int host_topology_read(const char *root, struct vx_host_topology **ret);

struct vx_host_topology *host_topology_free(struct vx_host_topology *t);

/* The CPU with that id, or NULL. */
const struct vx_topo_cpu *host_topology_cpu(const struct vx_host_topology *t, unsigned cpu);

/* Node of a CPU: >= 0, or -ENOENT (no such CPU, or no node lists it). */
int host_topology_cpu_node(const struct vx_host_topology *t, unsigned cpu);

/* The node with that id, or NULL. */
const struct vx_topo_node *host_topology_node(const struct vx_host_topology *t, int node);

/*
 * Node of a PCI device ("0000:81:10.0"; "81:10.0" means domain 0000): >= 0,
 * -1 when the device has no node (numa_node -1), or -ENOENT (not present).
 */
int host_topology_pci_node(const struct vx_host_topology *t, const char *bdf);

/* The pool of that node and page size, or NULL when the node has no such pool. */
const struct vx_topo_pool *host_topology_pool(const struct vx_host_topology *t, int node, uint64_t page_size);

/* Distance between two nodes as the firmware tells it (10 = local), 0 unknown. */
unsigned host_topology_distance(const struct vx_host_topology *t, int a, int b);

/* Online CPUs of a node (empty set for an unknown node). */
void host_topology_node_online(const struct vx_host_topology *t, int node, struct vx_cpuset *ret);
