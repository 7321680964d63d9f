/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Pre-flight checks as data: a list of results, each OK, WARN or FAIL with
 * what was checked, why, the command that fixes it and the profile key that
 * asks for it. launcher/preflight.c fills one for a plan (`vmxrun doctor
 * PROFILE`, and `start` before it changes anything); cli/ prints it. And the
 * facts those checks read that host/facts.c does not keep: the CPU's flags,
 * the kernel command line, which CPUs exist and are online, QEMU's version.
 * Everything is read under a root directory (NULL or "/": the real host) so
 * tests run on fixture trees. Nothing here logs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpuset.h"

enum vx_check_status {
        VX_CHECK_OK,   /* "ok" */
        VX_CHECK_WARN, /* "warn": start goes on, the user should know */
        VX_CHECK_FAIL, /* "fail": start refuses, having changed nothing */
        _VX_CHECK_STATUS_MAX,
};

struct vx_check {
        char *id; /* stable name of the check: "cpu-virtualization", "hugepages", ... (docs/doctor-json.md) */
        enum vx_check_status status;
        char *subject; /* what was checked: "vmx", "CPU 15", "2 MiB pages on node 1"; never NULL */
        char *message; /* one line for humans; never NULL */
        char *fix;     /* the command (or step) that fixes it; NULL when there is none or nothing to fix */
        char *key;     /* the profile key path that asks for it ("vms[1].memory.hugepages"); NULL: host-wide */
};

struct vx_checks {
        struct vx_check *items;
        size_t n;
};

/*
 * Appends a result; subject and the formatted message are copied, key and
 * fix may be NULL. Returns 0 or -ENOMEM (then the list is as it was).
 */
int checks_add(struct vx_checks *c, const char *id, enum vx_check_status status, const char *subject, const char *key,
               const char *fix, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* How many results have that status. */
size_t checks_count(const struct vx_checks *c, enum vx_check_status status);

/* Frees every item; the list is empty afterwards. */
void checks_done(struct vx_checks *c);

/* "ok", "warn", "fail"; NULL out of range. */
const char *check_status_to_string(enum vx_check_status s);

/*
 * The flags line of the first processor in <root>/proc/cpuinfo, as a string
 * of space-separated names. Returns 0 and *ret (free()), -ENOENT when there
 * is no cpuinfo or no flags line, or -errno.
 */
int host_cpu_flags(const char *root, char **ret);

/* Whether the space-separated flags hold name as a whole word. */
bool host_flags_have(const char *flags, const char *name);

/*
 * The CPUs of <root>/sys/devices/system/cpu/<which>, which is "online",
 * "present" or "possible". Returns 0 and *ret, -ENOENT when the file is
 * absent, -EINVAL when it cannot be parsed, or -errno.
 */
int host_cpus_read(const char *root, const char *which, struct vx_cpuset *ret);

/* <root>/proc/cmdline without its newline. Returns 0 and *ret (free()), or -errno (-ENOENT). */
int host_kernel_cmdline(const char *root, char **ret);

/* Whether the kernel command line has word as a parameter ("intel_iommu=on", "iommu=pt"). */
bool host_cmdline_has(const char *cmdline, const char *word);

/*
 * The first line qemu prints for --version ("QEMU emulator version 7.2.22
 * (...)"), into buf; and its version number as major*10000+minor*100+micro
 * in *ret_version when not NULL (0 when the line has none). Returns 0,
 * -errno when it cannot be started, or -ENODATA when it says nothing.
 */
int host_qemu_version(const char *qemu, char *buf, size_t size, unsigned *ret_version);
