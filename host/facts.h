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

/* What the plan needs to know about the host; gathered by host/ or made up by tests. */
struct vx_host_facts {
        bool kvm_usable;   /* /dev/kvm opens read-write */
        bool vhost_net;    /* /dev/vhost-net exists */
        unsigned n_cpus;   /* online host CPUs; 0 = unknown (pin lists are not checked) */
        const struct vx_vf_fact *vfs;
        size_t n_vfs;
        const struct vx_hugetlbfs_fact *hugetlbfs;
        size_t n_hugetlbfs;
};

/*
 * Reads the facts under root ("/" or NULL for the real host). Missing files
 * are facts too (no /dev/kvm: kvm_usable is false), so this only fails with
 * -ENOMEM. Free *ret with host_facts_free.
 */
int host_facts_gather(const char *root, struct vx_host_facts **ret);

struct vx_host_facts *host_facts_free(struct vx_host_facts *facts);
