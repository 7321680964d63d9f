/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A VM's taps and vhost-net fds, new before each QEMU (re)start. Taps are not
 * persistent: they vanish with the last fd, i.e. with QEMU. Each fd lands in
 * the slot of the VM's fd table the plan gave it.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply-internal.h"
#include "log.h"

/* A tap moved by `vmxrun bind` goes back to that bridge after a restart. */
static void rebind_tap(struct vx_apply *a, const char *tap)
{
        _cleanup_free_ char *owner = NULL;
        const struct vx_undo *u;
        int r;

        if (asprintf(&owner, "bind:%s", tap) < 0)
                return;
        u = journal_find(a->journal, VX_UNDO_SET_MASTER, tap, true, owner);
        if (!u || !u->to)
                return;
        r = netsetup_link_set_master(a->ns, tap, u->to);
        if (r < 0)
                log_warning_errno(r, "Tap %s: failed to put it back into bridge %s, ignoring: %m", tap, u->to);
}

static int create_tap(struct vx_apply *a, const struct vx_vm_plan *vp, const char *owner,
                      const struct vx_action_tap *tap, int *ret_fds)
{
        struct vx_netsetup_tap cfg = {.name = tap->name,
                                      .bridge = tap->bridge,
                                      .guest_mac = tap->guest_mac,
                                      .mtu = tap->mtu,
                                      .queues = tap->queues};
        int ifindex, r;

        r = netsetup_tap_create(a->ns, &cfg, ret_fds, &ifindex);
        if (r == -EEXIST || r == -EBUSY)
                return apply_fail(NULL, r, "%s: tap %s: the name is taken by an existing interface; refusing.",
                                  vp->name, tap->name);
        if (r == -ENAMETOOLONG || r == -EINVAL)
                return apply_fail(NULL, r, "%s: tap '%s': not a valid interface name; refusing.", vp->name, tap->name);
        if (r < 0)
                return apply_fail(NULL, r, "%s: failed to create tap %s on bridge %s: %m", vp->name, tap->name,
                                  tap->bridge ?: "(none)");
        r = journal_push(a->journal, UNDO(VX_UNDO_DELETE_LINK, owner, tap->name, NULL, NULL, ifindex));
        if (r < 0) {
                for (unsigned q = 0; q < tap->queues; q++)
                        ret_fds[q] = safe_close(ret_fds[q]);
                return apply_fail(NULL, r, "%s: failed to write the undo journal: %m", vp->name);
        }
        log_debug("%s: tap %s created on %s (%u queue%s).", vp->name, tap->name, tap->bridge ?: "no bridge",
                  tap->queues, tap->queues > 1 ? "s" : "");
        rebind_tap(a, tap->name);
        return 0;
}

int apply_tap(struct vx_apply *a, const struct vx_vm_plan *vp, const char *owner, const struct vx_host_action *act,
              int *fds)
{
        const struct vx_action_tap *tap = &act->tap;
        int r;

        assert(tap->first_fd + tap->queues * (tap->vhost ? 2 : 1) <= vp->n_fds);
        r = create_tap(a, vp, owner, tap, &fds[tap->first_fd]);
        if (r < 0)
                return r;
        for (unsigned q = 0; tap->vhost && q < tap->queues; q++) {
                r = netsetup_vhost_open(&fds[tap->first_fd + tap->queues + q]);
                if (r == -ENOENT)
                        return apply_fail(NULL, r,
                                          "%s: tap %s: vhost is on, but this host has no /dev/vhost-net "
                                          "(load vhost_net, or set vhost: off) [%s.vhost].",
                                          vp->name, tap->name, act->key);
                if (r < 0)
                        return apply_fail(NULL, r, "%s: failed to open /dev/vhost-net for %s: %m", vp->name, tap->name);
        }
        return 0;
}

/* vmxrun does not invent bridges: a tap's bridge that the profile does not declare must exist. */
int apply_tap_check_bridge(struct vx_apply *a, const struct vx_vm_plan *vp, const struct vx_host_action *act)
{
        struct vx_netsetup_link l;
        int r;

        if (!act->tap.bridge || act->tap.declared_bridge)
                return 0;
        r = netsetup_link_get(a->ns, act->tap.bridge, &l);
        if (r >= 0 && strcmp(l.kind, "bridge") != 0)
                r = -ENOTTY;
        if (r < 0)
                return apply_fail(NULL, r, "%s: tap %s: bridge %s %s; refusing [%s.bridge].", vp->name, act->tap.name,
                                  act->tap.bridge,
                                  r == -ENOTTY ? "is not a bridge" : "does not exist and is not declared in bridges",
                                  act->key);
        return 0;
}
