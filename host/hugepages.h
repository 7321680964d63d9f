/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The hugepage pool of one page size, for the whole host or one NUMA node,
 * as sysfs shows it under a root directory (normally "/"; tests point it at
 * a fixture tree):
 *
 *   whole host: <root>/sys/kernel/mm/hugepages/hugepages-<kB>kB/
 *   one node:   <root>/sys/devices/system/node/node<N>/hugepages/hugepages-<kB>kB/
 *
 * Growing writes nr_hugepages = current + missing and reads back what the
 * kernel gave (it may give fewer: then the pool is put back and the grow
 * fails). Shrinking writes current - added, and only when the pool still
 * has the size vmxrun left it at: a pool someone else changed since is left
 * as it is, with a warning.
 *
 * And hugetlbfs mounts: mount(2) with pagesize=2M/1G, umount2(2).
 *
 * Nothing here logs: every function returns -errno and the caller, which
 * knows why it asked, names the pool in its message.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vx_hugepage_pool {
        uint64_t total;    /* nr_hugepages: persistent pages (surplus not counted) */
        uint64_t free;     /* free_hugepages */
        uint64_t surplus;  /* surplus_hugepages */
        uint64_t reserved; /* resv_hugepages: promised to mappings, not faulted yet; whole host only (0 per
                              node) */
};

/* "2 MiB", "1 GiB": for messages. */
void hugepages_size_pretty(uint64_t page_size, char *buf, size_t len);
/* "2M", "1G", "64K": the pagesize= mount option and the journal's object. */
void hugepages_size_short(uint64_t page_size, char *buf, size_t len);
/* Parses "2M", "1G", "2048K" (what hugepages_size_short gives). Returns 0 or -EINVAL. */
int hugepages_size_parse(const char *s, uint64_t *ret);

/*
 * Reads the pool (node < 0: the whole host). root NULL or "/" is the real
 * host. Returns 0 and *ret, -EOPNOTSUPP when the kernel has no pool of that
 * page size, -ENODEV when there is no such node, or -errno. Does not log.
 */
int hugepages_pool_read(const char *root, uint64_t page_size, int node, struct vx_hugepage_pool *ret);

/* Pages a new mapping can still get: free minus reserved. */
uint64_t hugepages_available(const struct vx_hugepage_pool *pool);

/*
 * Adds missing pages to the pool (nr_hugepages = current + missing) and
 * checks what the kernel gave. Returns 0 and *ret_total (nr_hugepages now),
 * -ENOSPC when the kernel gave fewer (the pool is put back), -EBUSY when it
 * gave fewer and putting them back failed, -EOPNOTSUPP (no such page size),
 * -ENODEV (no such node), or -errno.
 */
int hugepages_grow(const char *root, uint64_t page_size, int node, uint64_t missing, uint64_t *ret_total);

/*
 * Takes added pages out of the pool again, when its nr_hugepages is still
 * expected_total (what vmxrun left). Returns 0 and *ret_total when shrunk,
 * 1 and *ret_total (the pool's size now) when the pool changed since and was
 * left alone, or -errno.
 */
int hugepages_shrink(const char *root, uint64_t page_size, int node, uint64_t added, uint64_t expected_total,
                     uint64_t *ret_total);

/*
 * What is at path: 0 and *ret_page_size when it is on a hugetlbfs,
 * -EMEDIUMTYPE when it is not, -errno (-ENOENT) when statfs fails. Does not log.
 */
int hugetlbfs_probe(const char *path, uint64_t *ret_page_size);

/*
 * Mounts a hugetlbfs with that page size at path, creating the directory
 * (0755) when absent. Returns 0 with *ret_created (whether the directory
 * was created), or -errno (a directory it created is removed again).
 */
int hugetlbfs_mount(const char *path, uint64_t page_size, bool *ret_created);

/*
 * Unmounts the hugetlbfs at path. Returns 0 when unmounted, 1 when no
 * hugetlbfs is mounted there any more, -EBUSY when it is in use (left
 * mounted), or -errno.
 */
int hugetlbfs_umount(const char *path);

/*
 * Hugetlb memory a process maps, in KiB: Private_Hugetlb + Shared_Hugetlb
 * of <root>/proc/<pid>/smaps_rollup. Returns 0 and *ret_kib, or -errno.
 */
int hugepages_process_kib(const char *root, int pid, uint64_t *ret_kib);
