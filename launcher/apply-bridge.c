/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bridges and their uplinks, shared between deployments through a host-wide
 * registry (<runtime>/.shared/bridges/<bridge>/: users/<deployment> files and
 * the bridge's own journal, under <runtime>/.shared/lock), and `vmxrun bind`.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply-internal.h"
#include "log.h"
#include "runtime.h"

static char *bridge_dir(struct vx_apply *a, const char *bridge, const char *sub)
{
        char *p;

        if (asprintf(&p, "%s/.shared/bridges/%s%s%s", a->runtime_root, bridge, sub ? "/" : "", sub ?: "") < 0)
                return NULL;
        return p;
}

/*
 * Counts the deployments that use a bridge, dropping stale entries: a
 * deployment whose journal is gone was torn down (or never got far) and
 * holds nothing any more. Our own entry is never stale.
 */
static size_t registry_users(struct vx_apply *a, const char *bridge)
{
        _cleanup_free_ char *users = bridge_dir(a, bridge, "users");
        DIR *d = users ? opendir(users) : NULL;
        struct dirent *de;
        size_t n = 0;

        if (!d)
                return 0;
        while ((de = readdir(d))) {
                _cleanup_free_ char *journal = NULL, *entry = NULL;

                if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
                        continue;
                if (strcmp(de->d_name, a->deployment) != 0 &&
                    asprintf(&journal, "%s/%s/journal.json", a->runtime_root, de->d_name) >= 0 &&
                    access(journal, F_OK) < 0 && asprintf(&entry, "%s/%s", users, de->d_name) >= 0) {
                        log_info("Bridge %s: deployment %s is gone; forgetting its claim.", bridge, de->d_name);
                        (void)unlink(entry);
                        continue;
                }
                n++;
        }
        closedir(d);
        return n;
}

static void registry_remove_bridge(struct vx_apply *a, const char *bridge)
{
        _cleanup_free_ char *users = bridge_dir(a, bridge, "users"), *dir = bridge_dir(a, bridge, NULL);

        if (users)
                (void)rmdir(users);
        if (dir)
                (void)rmdir(dir);
}

/* Enslaves the uplink, and moves its addresses and default routes when asked; steps go to bj. */
static int attach_uplink(struct vx_apply *a, struct vx_journal *bj, const struct vx_action_uplink *br, int br_ifindex)
{
        char **routes = NULL, **addrs = NULL;
        struct vx_netsetup_link l;
        int r;

        r = netsetup_link_get(a->ns, br->uplink, &l);
        if (r == -ENODEV)
                return apply_fail(NULL, r, "Bridge %s: uplink %s does not exist.", br->bridge, br->uplink);
        if (r < 0)
                return apply_fail(NULL, r, "Bridge %s: failed to read uplink %s: %m", br->bridge, br->uplink);
        if (l.master_ifindex == br_ifindex)
                return 0; /* already its port: nothing to do, nothing to undo */
        if (l.master_ifindex > 0)
                return apply_fail(NULL, -EBUSY, "Bridge %s: uplink %s is a port of %s; refusing.", br->bridge,
                                  br->uplink, l.master);
        if (strcmp(l.kind, "bridge") == 0)
                return apply_fail(NULL, -EINVAL, "Bridge %s: uplink %s is itself a bridge; refusing.", br->bridge,
                                  br->uplink);
        if (br->move_host_address) {
                r = netsetup_default_routes(a->ns, br->uplink, &routes);
                if (r >= 0)
                        r = netsetup_addresses(a->ns, br->uplink, &addrs);
                if (r < 0) {
                        netsetup_strv_free(routes);
                        return apply_fail(NULL, r, "Bridge %s: failed to read the addresses of %s: %m", br->bridge,
                                          br->uplink);
                }
        }

        r = netsetup_link_set_master(a->ns, br->uplink, br->bridge);
        if (r < 0) {
                netsetup_strv_free(routes);
                netsetup_strv_free(addrs);
                return apply_fail(NULL, r, "Bridge %s: failed to enslave uplink %s: %m", br->bridge, br->uplink);
        }
        r = journal_push(bj, UNDO(VX_UNDO_SET_MASTER, NULL, br->uplink, NULL, br->bridge, 0));
        /*
         * The order below keeps the host reachable as long as possible, and
         * undoing it backwards (journal order) restores it the same way.
         */
        for (size_t i = 0; r >= 0 && routes && routes[i]; i++) {
                r = netsetup_default_route_del(a->ns, br->uplink, routes[i]);
                if (r >= 0)
                        r = journal_push(bj, UNDO(VX_UNDO_ROUTE_DEL, NULL, routes[i], br->uplink, NULL, 0));
        }
        for (size_t i = 0; r >= 0 && addrs && addrs[i]; i++) {
                r = netsetup_address_add(a->ns, br->bridge, addrs[i]);
                if (r >= 0)
                        r = journal_push(bj, UNDO(VX_UNDO_ADDRESS_ADD, NULL, addrs[i], NULL, br->bridge, 0));
                if (r >= 0)
                        r = netsetup_address_del(a->ns, br->uplink, addrs[i]);
                if (r >= 0)
                        r = journal_push(bj, UNDO(VX_UNDO_ADDRESS_DEL, NULL, addrs[i], br->uplink, NULL, 0));
        }
        for (size_t i = 0; r >= 0 && routes && routes[i]; i++) {
                r = netsetup_default_route_add(a->ns, br->bridge, routes[i]);
                if (r >= 0)
                        r = journal_push(bj, UNDO(VX_UNDO_ROUTE_ADD, NULL, routes[i], NULL, br->bridge, 0));
        }
        if (r < 0 && br->move_host_address)
                log_error_errno(r, "Bridge %s: failed to move the host address from %s: %m", br->bridge, br->uplink);
        netsetup_strv_free(routes);
        netsetup_strv_free(addrs);
        return r;
}

/* Makes sure the bridge exists (the bridge's journal records a creation), with its uplink. */
static int setup_shared_bridge(struct vx_apply *a, struct vx_journal *bj, const struct vx_action_bridge *br,
                               const struct vx_action_uplink *up)
{
        struct vx_netsetup_bridge cfg = {
                .name = br->name, .stp = br->stp, .forward_delay = br->forward_delay, .mtu = br->mtu};
        struct vx_netsetup_link l;
        bool created;
        int ifindex, r;

        r = netsetup_link_get(a->ns, br->name, &l);
        if (r == -ENODEV && journal_size(bj) > 0) {
                /* Its journal outlived the bridge (deleted by hand?): what it says is stale. */
                log_info("Bridge %s is gone; forgetting what its journal says.", br->name);
                (void)journal_undo(bj, 0, false, NULL, apply_run_undo, a);
        }
        r = netsetup_bridge_ensure(a->ns, &cfg, &created, &ifindex);
        if (r == -EEXIST)
                return apply_fail(NULL, r,
                                  "Bridge %s: the name is taken by an interface that is not a bridge; refusing.",
                                  br->name);
        if (r < 0)
                return apply_fail(NULL, r, "Bridge %s: failed to create it: %m", br->name);
        if (created) {
                log_info("Bridge %s: created (STP %s).", br->name, br->stp ? "on" : "off");
                r = journal_push(bj, UNDO(VX_UNDO_DELETE_LINK, NULL, br->name, NULL, NULL, ifindex));
                if (r < 0)
                        return apply_fail(NULL, r, "Bridge %s: failed to write %s: %m", br->name, journal_path(bj));
        } else
                log_info("Bridge %s: exists, using it as it is.", br->name);
        if (up)
                return attach_uplink(a, bj, up, ifindex);
        return 0;
}

/*
 * Claims bridge br->name for this deployment (owner: the step's owner in the
 * deployment journal). Under the registry lock: sets the bridge (and its
 * uplink up, when not NULL) up when no other deployment holds it, records
 * our claim.
 */
int apply_bridge_claim(struct vx_apply *a, const struct vx_action_bridge *br, const struct vx_action_uplink *up,
                       const char *owner)
{
        _cleanup_(journal_freep) struct vx_journal *bj = NULL;
        _cleanup_free_ char *dir = NULL, *users = NULL, *entry = NULL, *bj_path = NULL;
        _cleanup_close_ int lock = -EBADF, fd = -EBADF;
        bool had_claim = journal_count(a->journal, VX_UNDO_BRIDGE_CLAIM, br->name) > 0;
        size_t keep;
        int r;

        if (journal_find(a->journal, VX_UNDO_BRIDGE_CLAIM, br->name, true, owner))
                return 0; /* claimed already (an adopted deployment) */
        r = netsetup_check_ifname(br->name);
        if (r < 0)
                return apply_fail(NULL, r, "Bridge '%s': %s; refusing.", br->name,
                                  r == -ENAMETOOLONG ? "the name is longer than 15 bytes"
                                                     : "not a valid interface name");
        dir = bridge_dir(a, br->name, NULL);
        users = bridge_dir(a, br->name, "users");
        bj_path = bridge_dir(a, br->name, "journal.json");
        if (!dir || !users || !bj_path || asprintf(&entry, "%s/%s", users, a->deployment) < 0)
                return log_error_errno(-ENOMEM, "Out of memory.");
        r = apply_registry_lock(a, &lock);
        if (r < 0)
                return apply_fail(NULL, r, "Failed to lock the bridge registry in %s/.shared: %m", a->runtime_root);
        r = runtime_mkdir(users);
        if (r < 0)
                return apply_fail(NULL, r, "Failed to create %s: %m", users);
        r = journal_open(bj_path, &bj);
        if (r < 0)
                return apply_fail(NULL, r, "Failed to read %s: %m", bj_path);
        keep = journal_size(bj);

        (void)registry_users(a, br->name); /* drops the stale claims before we look */
        r = setup_shared_bridge(a, bj, br, up);
        if (r >= 0) {
                fd = open(entry, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        r = apply_fail(NULL, -errno, "Failed to create %s: %m", entry);
        }
        if (r >= 0)
                r = journal_push(a->journal, UNDO(VX_UNDO_BRIDGE_CLAIM, owner, br->name, NULL, NULL, 0));
        if (r < 0) {
                /* What this call did goes again; all of it when nobody else holds the bridge. */
                if (!had_claim)
                        (void)unlink(entry);
                (void)journal_undo(bj, !had_claim && registry_users(a, br->name) == 0 ? 0 : keep, false, NULL,
                                   apply_run_undo, a);
                if (journal_size(bj) == 0 && registry_users(a, br->name) == 0)
                        registry_remove_bridge(a, br->name);
        }
        return r;
}

/* The undo of a claim: the last deployment out undoes the bridge's journal. */
int apply_bridge_release(struct vx_apply *a, const char *bridge)
{
        _cleanup_(journal_freep) struct vx_journal *bj = NULL;
        _cleanup_free_ char *entry = NULL, *bj_path = bridge_dir(a, bridge, "journal.json");
        _cleanup_close_ int lock = -EBADF;
        int r;

        if (journal_count(a->journal, VX_UNDO_BRIDGE_CLAIM, bridge) > 1)
                return 0; /* a `bind` of ours still uses it */
        if (!bj_path || asprintf(&entry, "%s/.shared/bridges/%s/users/%s", a->runtime_root, bridge, a->deployment) < 0)
                return -ENOMEM;
        r = apply_registry_lock(a, &lock);
        if (r < 0)
                return log_warning_errno(r, "Failed to lock the bridge registry, leaving bridge %s: %m", bridge);
        (void)unlink(entry);
        if (registry_users(a, bridge) > 0) {
                log_info("Bridge %s: still used by another deployment; leaving it.", bridge);
                return 0;
        }
        r = journal_open(bj_path, &bj);
        if (r < 0)
                return log_warning_errno(r, "Failed to read %s, leaving bridge %s: %m", bj_path, bridge);
        r = journal_undo(bj, 0, false, NULL, apply_run_undo, a);
        if (journal_size(bj) == 0)
                registry_remove_bridge(a, bridge);
        return r;
}

int apply_undo_set_master(struct vx_apply *a, const struct vx_undo *u)
{
        struct vx_netsetup_link l;
        int r;

        r = netsetup_link_get(a->ns, u->object, &l);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        if (!u->to || strcmp(l.master, u->to) != 0)
                return 0; /* someone moved it since: not ours to change back */
        r = netsetup_link_set_master(a->ns, u->object, u->from);
        if (r == -ENODEV && u->from)
                r = netsetup_link_set_master(a->ns, u->object, NULL); /* its old bridge is gone */
        return r;
}

/* ---- bind / unbind ---- */

static bool is_our_tap(const struct vx_plan *plan, const char *name)
{
        for (size_t i = 0; i < plan->n_actions; i++)
                if (plan->actions[i].kind == VX_ACTION_TAP && strcmp(plan->actions[i].tap.name, name) == 0)
                        return true;
        return false;
}

static bool has_owner(const struct vx_journal *j, const char *owner)
{
        for (size_t i = 0; i < journal_size(j); i++) {
                const struct vx_undo *u = journal_step(j, i);
                if (u->owner && strcmp(u->owner, owner) == 0)
                        return true;
        }
        return false;
}

int apply_bind(struct vx_apply *a, const char *iface, const char *bridge, char **ret_error)
{
        const struct vx_host_action *declared = plan_find_action(a->plan, VX_ACTION_BRIDGE, bridge);
        const struct vx_host_action *uplink = plan_find_action(a->plan, VX_ACTION_UPLINK, bridge);
        struct vx_action_bridge fresh = {.name = (char *)bridge, .forward_delay = -1};
        _cleanup_free_ char *owner = NULL;
        struct vx_netsetup_link l;
        size_t keep = journal_size(a->journal);
        int r;

        if (asprintf(&owner, "bind:%s", iface) < 0)
                return -ENOMEM;
        if (has_owner(a->journal, owner))
                return apply_fail(ret_error, -EEXIST, "%s is bound already; unbind it first.", iface);
        r = netsetup_check_ifname(iface);
        if (r < 0)
                return apply_fail(ret_error, r, "'%s' is not a valid interface name.", iface);
        r = netsetup_check_ifname(bridge);
        if (r < 0)
                return apply_fail(ret_error, r, "Bridge '%s': %s; refusing.", bridge,
                                  r == -ENAMETOOLONG ? "the name is longer than 15 bytes"
                                                     : "not a valid interface name");
        r = netsetup_link_get(a->ns, iface, &l);
        if (r < 0)
                return apply_fail(ret_error, r, "Interface %s: %s", iface,
                                  r == -ENODEV ? "no such interface" : strerror(-r));
        if (!is_our_tap(a->plan, iface)) {
                if (strcmp(l.kind, "bridge") == 0 || strcmp(iface, "lo") == 0)
                        return apply_fail(ret_error, -EINVAL, "%s is a bridge or loopback; refusing.", iface);
                if (l.master_ifindex > 0)
                        return apply_fail(ret_error, -EBUSY, "%s is a port of %s; refusing.", iface, l.master);
        }
        if (strcmp(l.master, bridge) == 0)
                return apply_fail(ret_error, -EEXIST, "%s is a port of %s already.", iface, bridge);

        /* A bridge the profile declares keeps its settings; another one is made plain (no STP). */
        r = apply_bridge_claim(a, declared ? &declared->bridge : &fresh, declared && uplink ? &uplink->uplink : NULL,
                               owner);
        if (r < 0)
                return apply_fail(ret_error, r, "Bridge %s: cannot use it: %m", bridge);
        r = netsetup_link_set_master(a->ns, iface, bridge);
        if (r < 0)
                apply_fail(ret_error, r, "Failed to make %s a port of %s: %m", iface, bridge);
        else
                r = journal_push(a->journal,
                                 UNDO(VX_UNDO_SET_MASTER, owner, iface, l.master[0] ? l.master : NULL, bridge, 0));
        if (r < 0) {
                (void)journal_undo(a->journal, keep, false, NULL, apply_run_undo, a);
                return r;
        }
        log_info("Bound %s to bridge %s.", iface, bridge);
        return 0;
}

int apply_unbind(struct vx_apply *a, const char *iface, char **ret_error)
{
        _cleanup_free_ char *owner = NULL;
        int r;

        if (asprintf(&owner, "bind:%s", iface) < 0)
                return -ENOMEM;
        if (!has_owner(a->journal, owner))
                return apply_fail(ret_error, -ENOENT, "%s is not bound by `vmxrun bind`.", iface);
        r = journal_undo(a->journal, 0, true, owner, apply_run_undo, a);
        if (r < 0)
                return apply_fail(ret_error, r, "Unbinding %s was not clean: %m", iface);
        log_info("Unbound %s.", iface);
        return 0;
}
