/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Carrying out the plan's host actions: the deployment-wide ones before any
 * VM starts, a VM's own before each QEMU (re)start, and the undo of any step
 * a journal holds. Only the plan is read: every action carries its
 * parameters (launcher/plan.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply-internal.h"
#include "hugepages.h"
#include "lockfile.h"
#include "log.h"
#include "runtime.h"

int apply_open(const struct vx_plan *plan, struct vx_apply **ret)
{
        _cleanup_(apply_freep) struct vx_apply *a = calloc(1, sizeof(*a));
        _cleanup_free_ char *path = NULL;
        int r;

        if (!a)
                return log_error_errno(-ENOMEM, "Out of memory.");
        a->plan = plan;
        a->deployment = plan->deployment;
        a->runtime_root = plan->runtime_root;
        if (asprintf(&path, "%s/journal.json", plan->deployment_dir) < 0)
                return log_error_errno(-ENOMEM, "Out of memory.");
        r = journal_open(path, &a->journal);
        if (r < 0)
                return log_error_errno(r, "Failed to read the undo journal %s: %m", path);
        r = netsetup_open(&a->ns);
        if (r < 0)
                return log_error_errno(r, "Failed to open a netlink socket: %m");
        *ret = TAKE_PTR(a);
        return 0;
}

struct vx_apply *apply_free(struct vx_apply *a)
{
        if (!a)
                return NULL;
        netsetup_free(a->ns);
        journal_free(a->journal);
        free(a);
        return NULL;
}

struct vx_journal *apply_journal(struct vx_apply *a)
{
        return a->journal;
}

void apply_set_host_root(struct vx_apply *a, const char *root)
{
        a->host_root = root;
}

void apply_close_fds(int *fds, size_t n)
{
        for (size_t i = 0; fds && i < n; i++)
                fds[i] = safe_close(fds[i]);
}

int apply_fail(char **ret_error, int r, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        errno = r < 0 ? -r : r; /* for %m */
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        log_error_errno(r, "%s", msg ?: "out of memory");
        if (ret_error) {
                free(*ret_error);
                *ret_error = TAKE_PTR(msg);
        }
        return r;
}

int apply_registry_lock(struct vx_apply *a, int *ret_fd)
{
        _cleanup_free_ char *dir = NULL, *path = NULL;
        int r;

        if (asprintf(&dir, "%s/.shared", a->runtime_root) < 0 || asprintf(&path, "%s/lock", dir) < 0)
                return -ENOMEM;
        r = runtime_mkdir(dir);
        if (r < 0)
                return r;
        return vx_lock_file(path, ret_fd);
}

char *apply_vm_owner(const struct vx_vm_plan *vp)
{
        char *o;

        if (asprintf(&o, "vm:%s", vp->name) < 0)
                return NULL;
        return o;
}

/* ---- undo ---- */

int apply_run_undo(const struct vx_undo *u, void *userdata)
{
        struct vx_apply *a = userdata;
        int r;

        log_debug("Undo: %s %s%s%s%s%s", journal_kind_to_string(u->kind), u->object, u->from ? " from " : "",
                  u->from ?: "", u->to ? " to " : "", u->to ?: "");
        switch (u->kind) {
        case VX_UNDO_DELETE_LINK:
                r = netsetup_link_delete(a->ns, u->object, u->ifindex);
                if (r >= 0)
                        log_info("Deleted %s.", u->object);
                break;
        case VX_UNDO_SET_MASTER:
                r = apply_undo_set_master(a, u);
                break;
        case VX_UNDO_ADDRESS_ADD:
                r = u->to ? netsetup_address_del(a->ns, u->to, u->object) : -EINVAL;
                break;
        case VX_UNDO_ADDRESS_DEL:
                r = u->from ? netsetup_address_add(a->ns, u->from, u->object) : -EINVAL;
                break;
        case VX_UNDO_ROUTE_ADD:
                r = u->to ? netsetup_default_route_del(a->ns, u->to, u->object) : -EINVAL;
                break;
        case VX_UNDO_ROUTE_DEL:
                r = u->from ? netsetup_default_route_add(a->ns, u->from, u->object) : -EINVAL;
                break;
        case VX_UNDO_BRIDGE_CLAIM:
                return apply_bridge_release(a, u->object);
        case VX_UNDO_HUGEPAGES: /* these log their own failures */
                return apply_hugepages_undo(a, u);
        case VX_UNDO_UMOUNT:
                return apply_hugetlbfs_umount(u->object);
        case VX_UNDO_RMDIR:
                return apply_undo_rmdir(u->object);
        case VX_UNDO_CHOWN:
                return apply_undo_chown(u);
        case VX_UNDO_VFIO_CLAIM:
        case VX_UNDO_VFIO_RESTORE:
        case VX_UNDO_VFIO_PF:
                return apply_vfio_undo(a, u);
        default:
                r = -EINVAL;
        }
        /* Already undone (gone, absent, present again) is what undo wants. */
        if (r == -ENODEV || r == -EADDRNOTAVAIL || r == -EEXIST || r == -ESRCH)
                r = 0;
        if (r < 0)
                log_warning_errno(r, "Failed to undo %s %s, leaving it: %m", journal_kind_to_string(u->kind),
                                  u->object);
        return r;
}

/* ---- deployment, VMs ---- */

int apply_deployment(struct vx_apply *a)
{
        const struct vx_plan *plan = a->plan;
        size_t keep = journal_size(a->journal);
        int r;

        r = apply_qemu_user_resolve(a);
        if (r < 0)
                return r;
        /* Hugepages first: a host short of memory fails before the network is touched. */
        r = apply_hugepages(a);
        if (r >= 0)
                r = apply_access(a); /* after the mounts: QEMU's backing-file directories are in them */
        if (r >= 0)
                r = apply_vfio(a); /* its refusals (IOMMU off, a group not viable) before the network changes */
        for (size_t i = 0; r >= 0 && i < plan->n_actions; i++) {
                const struct vx_host_action *act = &plan->actions[i];

                if (act->kind == VX_ACTION_BRIDGE) {
                        const struct vx_host_action *up = plan_find_action(plan, VX_ACTION_UPLINK, act->bridge.name);
                        r = apply_bridge_claim(a, &act->bridge, up ? &up->uplink : NULL, NULL);
                } else if (act->kind == VX_ACTION_TAP)
                        r = apply_tap_check_bridge(a, &plan->vms[act->vm], act);
                /* UPLINK goes with its bridge; TAP (the tap itself) is a VM's, at each start; the rest, above. */
        }
        if (r < 0)
                (void)journal_undo(a->journal, keep, false, NULL, apply_run_undo, a);
        return r;
}

int apply_vm(struct vx_apply *a, const struct vx_vm_plan *vp, int *fds)
{
        const struct vx_plan *plan = a->plan;
        _cleanup_free_ char *owner = apply_vm_owner(vp);
        int r = 0;

        if (!owner)
                return log_error_errno(-ENOMEM, "Out of memory.");
        /* Taps of a QEMU that is gone: normally gone with it; if not, they go now. */
        (void)journal_undo(a->journal, 0, true, owner, apply_run_undo, a);

        for (size_t i = 0; r >= 0 && i < plan->n_actions; i++) {
                const struct vx_host_action *act = &plan->actions[i];

                if (act->vm != (int)vp->vm_index || act->kind != VX_ACTION_TAP)
                        continue;
                r = apply_tap(a, vp, owner, act, fds);
        }
        if (r < 0) {
                apply_close_fds(fds, vp->n_fds);
                (void)journal_undo(a->journal, 0, true, owner, apply_run_undo, a);
        }
        return r;
}

int apply_vm_undo(struct vx_apply *a, const struct vx_vm_plan *vp)
{
        _cleanup_free_ char *owner = apply_vm_owner(vp);

        if (!owner)
                return -ENOMEM;
        return journal_undo(a->journal, 0, true, owner, apply_run_undo, a);
}

int apply_teardown(struct vx_apply *a)
{
        return journal_undo(a->journal, 0, false, NULL, apply_run_undo, a);
}
