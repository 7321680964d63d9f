/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Facts about the host that the plan needs, read from /dev, /proc and /sys
 * under a root directory (normally "/"; tests point it at a fixture tree).
 * The plan takes them as data, so it stays pure and tests can make them up.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A VF of a PF, as found under /sys/class/net/<pf>/device/virtfn<N>. */
struct vx_vf_fact {
        const char *pf;
        int vf;
        const char *pci_address; /* "0000:23:10.0" */
};

/* A mounted hugetlbfs and its page size. */
struct vx_hugetlbfs_fact {
        uint64_t page_size;
        const char *path;
};

/* A hugepage pool of the whole host (/sys/kernel/mm/hugepages/hugepages-<kB>kB). */
struct vx_hugepage_pool_fact {
        uint64_t page_size;
        uint64_t total; /* nr_hugepages */
        uint64_t free;  /* free_hugepages */
};

/* A PCI device that can have VFs (sriov_totalvfs > 0). */
struct vx_sriov_fact {
        const char *pci_address;
        unsigned total_vfs;
};

/* An SR-IOV PF by interface (/sys/class/net/<ifname>/device/sriov_totalvfs > 0): what the plan of a VF needs. */
struct vx_pf_fact {
        const char *ifname;
        unsigned total_vfs; /* sriov_totalvfs */
        unsigned num_vfs;   /* sriov_numvfs: VFs that exist now */
};

struct vx_host_topology;

/* What the plan (and doctor) need to know about the host; gathered by host/ or made up by tests. */
struct vx_host_facts {
        bool kvm_usable;   /* /dev/kvm opens read-write */
        bool vhost_net;    /* /dev/vhost-net exists */
        bool tun;          /* /dev/net/tun exists */
        unsigned n_cpus;   /* online host CPUs; 0 = unknown (pin lists are not checked) */
        size_t n_iommu_groups; /* entries of /sys/kernel/iommu_groups: 0 = no IOMMU (no PCI passthrough) */
        const struct vx_vf_fact *vfs;
        size_t n_vfs;
        const struct vx_hugetlbfs_fact *hugetlbfs;
        size_t n_hugetlbfs;
        const struct vx_hugepage_pool_fact *pools;
        size_t n_pools;
        const struct vx_sriov_fact *sriov;
        size_t n_sriov;
        const struct vx_pf_fact *pfs; /* SR-IOV PFs by interface */
        size_t n_pfs;
        const struct vx_host_topology *topology; /* NUMA nodes, CPUs, siblings (topology.h); NULL: unknown */
};

/*
 * Reads the facts under root ("/" or NULL for the real host). Missing files
 * are facts too (no /dev/kvm: kvm_usable is false), so this only fails with
 * -ENOMEM. Free *ret with host_facts_free.
 */
int host_facts_gather(const char *root, struct vx_host_facts **ret);

struct vx_host_facts *host_facts_free(struct vx_host_facts *facts);

/* Whether KVM runs guests here (`vmxrun doctor`; host/probe.c explains the cases). */
enum vx_kvm_verdict {
        VX_KVM_ABSENT,      /* "absent": no /dev/kvm */
        VX_KVM_UNUSABLE,    /* "unusable": /dev/kvm does not open or is no KVM */
        VX_KVM_NOT_PROBED,  /* "present": /dev/kvm answers, QEMU was not asked */
        VX_KVM_USABLE,      /* "usable": QEMU created KVM vCPUs with -cpu host */
        VX_KVM_NO_HOST_CPU, /* "no-host-cpu": QEMU died creating them (nested KVM that runs only its own guests) */
        VX_KVM_UNKNOWN,     /* "unknown": QEMU could not be asked (not installed, ...) */
};

struct vx_kvm_report {
        enum vx_kvm_verdict verdict;
        int api_version; /* KVM_GET_API_VERSION, -1 when unknown */
        char reason[256];
};

/*
 * Tells the KVM verdict for /dev/kvm under root ("" or "/": the real one);
 * with probe, by starting qemu paused with -accel kvm -cpu host (up to 20 s).
 * Returns 0 and *ret, or -ENOMEM.
 */
int host_kvm_report(const char *root, const char *qemu, bool probe, struct vx_kvm_report *ret);

/* "absent", "usable", ...; NULL out of range. */
const char *host_kvm_verdict_to_string(enum vx_kvm_verdict v);
