/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * vfio's one way to sysfs and /dev, under a root directory (NULL or "/":
 * the host). Internal to vfio/. Paths given here are relative to the root
 * ("/sys/bus/pci/devices/0000:03:00.0/driver"); every function returns 0 or
 * -errno. Writes go through vfio_sysfs_write() (vfio.h), the hook the tests
 * wrap to play the kernel.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct vx_vfio_device;
struct vx_vfio_pf;

/* root + printf(fmt): a malloc'd absolute path, NULL on ENOMEM. */
char *sysfs_path(const char *root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads a small file, without the trailing newline, into buf. -ENOENT when absent, -EOVERFLOW when too long. */
int vfio_sysfs_read(const char *root, char *buf, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Reads a decimal or 0x hex integer file. */
int sysfs_read_long(const char *root, long *ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The last component of a symlink's target into buf (a driver, a group number, a BDF). -ENOENT when absent. */
int sysfs_link_name(const char *root, char *buf, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Whether the path exists (lstat). */
bool sysfs_exists(const char *root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes value to the path through vfio_sysfs_write(). */
int sysfs_write(const char *root, const char *value, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The entries of a directory (no "." or ".."), sorted, as a NULL-terminated
 * array (free with sysfs_strv_free). -ENOENT when it does not exist.
 */
int sysfs_list(const char *root, char ***ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
char **sysfs_strv_free(char **l);

/*
 * For `return vfio_say(-EBUSY, why, "...")`: sets *why (when why is not NULL)
 * to the formatted sentence, replacing what it held, and returns r.
 */
int vfio_say(int r, char **why, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* vfio_device_get() / vfio_pf_get() into a new allocation (the structs are a few KiB): free *ret. */
int vfio_device_new(const char *root, const char *bdf, struct vx_vfio_device **ret);
int vfio_pf_new(const char *root, const char *ifname, struct vx_vfio_pf **ret);

/* The driver bdf is bound to, "" when none. */
int vfio_read_driver(const char *root, const char *bdf, char buf[64]);
