/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Carrying out a plan's host actions (hugepages, bridges, uplinks, taps), each
 * successful one followed by its undo step in the deployment's journal
 * (<deployment dir>/journal.json, see journal.h):
 *
 *  - deployment-wide, before any VM starts: the hugetlbfs mounts the VMs'
 *    mem-path needs (mounted when absent), then each hugepage pool (page
 *    size, node) grown by the pages missing for all the VMs that use it,
 *    added up (docs/hugepages.md). The pages stay reserved across QEMU
 *    restarts and go back at teardown, when the pool is still as vmxrun
 *    left it (a host-wide record, <runtime>/.shared/hugepages/, follows the
 *    other deployments' changes). Then each bridge of the profile is
 *    claimed in the host-wide registry <runtime>/.shared/bridges/<bridge>/
 *    (users/<deployment> files, flock()ed by <runtime>/.shared/lock). The
 *    first claimer creates it (or finds it), enslaves the uplink and moves
 *    the host address, and those steps go to the bridge's own journal in
 *    that directory: the last deployment to release the bridge undoes them.
 *    A bridge vmxrun found existing is never deleted.
 *  - per VM, before each QEMU (re)start: its taps, new each time. They are
 *    not persistent, so they vanish with QEMU; the caller closes its copies
 *    of the fds once QEMU has them.
 *
 * Failure anywhere undoes what that call did; teardown undoes everything.
 * Apply reads nothing but the plan: each action carries its parameters
 * (a VF start creates or picks is a placeholder until apply_vfio_resolve()
 * fills it in). The files: apply-internal.h.
 */

#include <stddef.h>

#include "cleanup.h"
#include "journal.h"
#include "netsetup.h"
#include "plan.h"
#include "users.h"

struct vx_apply;

/*
 * Opens the netlink socket and the deployment's journal (reading what a
 * previous supervisor left there). Returns 0 and *ret, or -errno (logged).
 */
int apply_open(const struct vx_plan *plan, struct vx_apply **ret);

struct vx_apply *apply_free(struct vx_apply *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vx_apply *, apply_free)

/* The deployment's journal (owned by a). */
struct vx_journal *apply_journal(struct vx_apply *a);

/* Where hugepage pools are read and written: a fixture tree for tests; NULL (default) is "/". */
void apply_set_host_root(struct vx_apply *a, const char *root);

/*
 * The deployment-wide actions: mounts hugetlbfs and reserves hugepages
 * (skipping pools the journal already has), claims every bridge (skipping those the
 * journal already claims, e.g. after adoption) with its uplink, and checks
 * that every bridge a tap names exists. On failure undoes what this call did.
 * Returns 0 or -errno (logged, naming the bridge or interface).
 */
int apply_deployment(struct vx_apply *a);

/*
 * After apply_deployment(): puts the address of every VF that start created
 * or picked (vf: auto) in place of its placeholder in plan (the plan a was
 * opened with; the journal knows the addresses, also after adoption).
 * Returns 0 or -errno (logged).
 */
int apply_vfio_resolve(struct vx_apply *a, struct vx_plan *plan);

/*
 * The VM's actions: first undoes what the journal still holds for it (taps
 * of a QEMU that is gone), then creates its taps and opens their vhost-net
 * fds. fds has one slot per entry of the VM's fd table (vp->n_fds), all
 * -EBADF on entry; each fd apply opens lands in its entry's slot (the QMP
 * entry is the launcher's). Returns 0, or -errno (logged; every slot is
 * -EBADF again and nothing of the VM's is left).
 */
int apply_vm(struct vx_apply *a, const struct vx_vm_plan *vp, int *fds);

/* Closes the open fds of the table and sets each slot to -EBADF. */
void apply_close_fds(int *fds, size_t n);

/*
 * The user QEMU runs as, resolved by apply_deployment() (created when it
 * does not exist yet); uid 0 when the plan keeps QEMU as root.
 */
const struct vx_user *apply_qemu_user(const struct vx_apply *a);

/*
 * Gives a runtime directory vmxrun made to QEMU's group with mode (0710: it
 * may pass; 0770: it may create its sockets and logs there). A no-op when
 * QEMU stays root. Returns 0 or -errno.
 */
int apply_runtime_dir_for_qemu(const struct vx_apply *a, const char *dir, mode_t mode);

/* Undoes the VM's steps (after its QEMU is gone for good). Returns 0 or -errno (logged). */
int apply_vm_undo(struct vx_apply *a, const struct vx_vm_plan *vp);

/* Undoes every step of the deployment, newest first. Returns 0 or the first -errno (each logged). */
int apply_teardown(struct vx_apply *a);

/*
 * `vmxrun bind`: makes iface (a tap of this deployment, or a host interface
 * that is no bridge's port) a port of bridge, which is created when absent
 * (and deleted by the last one to release it). Returns 0, -EEXIST when iface
 * is bound already, -EBUSY when a host interface is another bridge's port,
 * -ENODEV, or -errno; *ret_error gets a message for the client (free()).
 */
int apply_bind(struct vx_apply *a, const char *iface, const char *bridge, char **ret_error);

/* `vmxrun unbind`: undoes apply_bind. Returns 0, -ENOENT when iface is not bound, or -errno. */
int apply_unbind(struct vx_apply *a, const char *iface, char **ret_error);

/* The undo runner behind the journals, exposed for tests. */
int apply_run_undo(const struct vx_undo *step, void *userdata);
