/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The user QEMU runs as: looked up in <root>/etc/passwd and /etc/group (read
 * directly, so a static vmxrun needs no NSS modules and tests use fixture
 * trees), created with useradd(8) on first use, and what such a user may
 * open, judged from owners and mode bits. Nothing here logs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The default QEMU user; the install step creates it (systemd sysusers.d, scripts/install-deps.sh). */
#define VX_QEMU_USER "vmxrun-qemu"

struct vx_user {
        uid_t uid;
        gid_t gid;       /* primary group */
        gid_t groups[1]; /* supplementary groups QEMU keeps: only kvm, when KVM is used */
        size_t n_groups;
};

/* Looks up name in <root>/etc/passwd (root NULL or "/": the host's). Returns 0, -ESRCH when absent, or -errno. */
int host_user_lookup(const char *root, const char *name, struct vx_user *ret);

/* Looks up a group's id in <root>/etc/group. Returns 0, -ESRCH when absent, or -errno. */
int host_group_lookup(const char *root, const char *name, gid_t *ret);

/*
 * Creates name as a system user with its own group, no home and no login
 * shell (useradd --system --user-group). Returns 0, or -errno (-ENOENT: no
 * useradd; -EIO: it failed).
 */
int host_user_create(const char *name);

/*
 * Whether u may open path (absolute) with mode (R_OK, W_OK, X_OK bits),
 * judged as the kernel would from the owner, group and mode bits of path and
 * of every directory above it (search permission), without capabilities.
 * Returns 0 when it may; -EACCES when the file itself refuses, -EPERM when a
 * directory above it does, with *ret_blocker (free()) naming what refuses in
 * both cases; or -errno (-ENOENT).
 */
int host_access_as(const char *path, const struct vx_user *u, int mode, char **ret_blocker);
