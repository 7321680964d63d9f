/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A fake sysfs tree for vfio/ and its callers (tests/test_vfio.c,
 * tests/test_apply_vfio.c), laid out like the kernel's under a temp dir T:
 * /sys/devices/pci0000:00/BDF with the /sys/bus/pci/devices/BDF links,
 * drivers with bind/unbind, drivers_probe, iommu_groups, /sys/class/net,
 * /dev/vfio. A test links it with -Wl,--wrap=vfio_sysfs_write: the wrapper
 * here plays the kernel (an unbind removes the driver link, drivers_probe
 * binds by driver_override or the device's own driver, a bind to vfio-pci
 * creates /dev/vfio/<group>, sriov_numvfs creates or removes the VFs) and
 * logs every write in `writes`; a write to a path ending in fail_suffix
 * fails with fail_errno.
 */
#include <limits.h>
#include <stdbool.h>

#include "vfio.h"

extern char T[PATH_MAX];      /* its root */
extern char writes[4096];     /* every write, "REL=VALUE;" in order */
extern char fail_suffix[128]; /* a write to a path ending so fails ... */
extern int fail_errno;        /* ... with this */
extern bool no_dev_nodes;     /* vfio-pci binds but /dev/vfio/N never appears */
/* Called with each write (the file's name, the value) before the kernel plays it; NULL: none. */
extern void (*write_hook)(const char *name, const char *value);

#define MAX_FAKE 32
struct fake {
        char bdf[VX_VFIO_BDF_SIZE];
        char native[32]; /* the driver whose id table matches it */
        int group;       /* -1: none */
        char pf[VX_VFIO_BDF_SIZE];
        char ifname[16];
};
extern struct fake fakes[MAX_FAKE];
extern size_t n_fakes;
extern int next_group;

void xmkdir(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes a file T + dir + "/" + name (name NULL: T + dir). */
void put_at(const char *dir, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define put(rel, ...) put_at(rel, NULL, __VA_ARGS__)
/* A symlink at rel pointing at T + target_rel. */
void ln(const char *target_rel, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rm(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* rm -rf T + rel. */
void rm_tree(const char *rel);
bool there(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The current driver of a fake device, "" when none; its driver_override as sysfs shows it. */
const char *driver_of(const char *bdf);
const char *override_of(const char *bdf);
struct fake *fake_find(const char *bdf);
/* What the kernel does when a driver takes the function, or lets it go. */
void do_bind(struct fake *f, const char *driver);
void do_unbind(struct fake *f);
/* A registered PCI driver: its directory with bind and unbind. */
void fake_driver(const char *name);
/* A PCI function; ifname: its net interface (bound to native), NULL for none; group -1: IOMMU off for it. */
struct fake *fake_device(const char *bdf, unsigned vendor, unsigned device, const char *native, int group,
                         const char *ifname, bool bound, int numa);
/* An igb PF with total VFs (none enabled yet). */
void fake_pf(const char *bdf, const char *ifname, unsigned total, int numa);
int __wrap_vfio_sysfs_write(const char *path, const char *value);
/* cmocka setup/teardown: the tree with PFs p3p1 (0000:03:00.0, 7 VFs, node 1) and p2p1 (0000:02:00.0, 4, node 0). */
int tree_setup(void **state);
int tree_teardown(void **state);
