/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the apply-*.c files share: the state of one apply, the host-wide
 * registry lock, error reporting, and each action family's entry points.
 * Private to launcher/apply*.c.
 *
 * One file per action family:
 *   apply.c            open, the deployment and VM steps (dispatch by action
 *                      kind), the undo runner
 *   apply-bridge.c     bridges and uplinks (host-wide registry), bind/unbind
 *   apply-tap.c        taps and vhost-net fds of a VM
 *   apply-hugepages.c  hugetlbfs mounts and hugepage pools (host-wide ledger)
 *   apply-access.c     QEMU's user: what it must open, ownership given and given back
 *   apply-vfio.c       PCI passthrough: VF settings, vfio-pci binds (host-wide ledger)
 */

#include <stdarg.h>

#include "apply.h"
#include "users.h"

struct vx_apply {
        const struct vx_plan *plan;
        struct vx_netsetup *ns;
        struct vx_journal *journal;
        const char *runtime_root; /* the parent of the deployment dir: where .shared/ lives */
        const char *deployment;
        const char *host_root;    /* where /sys is read and written (hugepage pools); NULL: "/" */
        struct vx_user qemu_user; /* resolved by apply_deployment(); uid 0 when QEMU stays root */
};

/* Logs an error once and keeps its text for a control client (*ret_error, when not NULL). Returns r. */
int apply_fail(char **ret_error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* An undo step, for journal_push(). */
#define UNDO(k, own, obj, f, t, idx)                                                                                   \
        (&(struct vx_undo){.kind = (k),                                                                                \
                           .owner = (char *)(own),                                                                     \
                           .object = (char *)(obj),                                                                    \
                           .from = (char *)(f),                                                                        \
                           .to = (char *)(t),                                                                          \
                           .ifindex = (idx)})

/* Takes <runtime>/.shared/lock (flock, blocking). Returns 0 and the fd, or -errno. */
int apply_registry_lock(struct vx_apply *a, int *ret_fd);

/* "vm:NAME": the journal owner of a VM's steps; NULL on -ENOMEM. */
char *apply_vm_owner(const struct vx_vm_plan *vp);

/* apply-bridge.c */
int apply_bridge_claim(struct vx_apply *a, const struct vx_action_bridge *br, const struct vx_action_uplink *up,
                       const char *owner);
int apply_bridge_release(struct vx_apply *a, const char *bridge);
int apply_undo_set_master(struct vx_apply *a, const struct vx_undo *u);

/* apply-tap.c: a tap action's fds go to fds[tap->first_fd ...] (the VM's fd table). */
int apply_tap(struct vx_apply *a, const struct vx_vm_plan *vp, const char *owner, const struct vx_host_action *act,
              int *fds);
/* Checks that the bridge of a tap that the profile does not declare exists. */
int apply_tap_check_bridge(struct vx_apply *a, const struct vx_vm_plan *vp, const struct vx_host_action *act);

/* apply-access.c */
int apply_qemu_user_resolve(struct vx_apply *a);
int apply_access(struct vx_apply *a);
int apply_undo_chown(const struct vx_undo *u);

/* apply-hugepages.c */
int apply_hugepages(struct vx_apply *a);
int apply_hugepages_undo(struct vx_apply *a, const struct vx_undo *u);
int apply_undo_rmdir(const char *path);
int apply_hugetlbfs_umount(const char *path);

/* apply-vfio.c */
int apply_vfio(struct vx_apply *a);
int apply_vfio_undo(struct vx_apply *a, const struct vx_undo *u);
