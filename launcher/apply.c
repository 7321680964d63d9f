/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "apply.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "hugepages.h"
#include "log.h"
#include "runtime.h"

struct vx_apply {
        const struct vx_plan *plan;
        struct vx_netsetup *ns;
        struct vx_journal *journal;
        char *runtime_root; /* the parent of the deployment dir: where .shared/ lives */
        const char *deployment;
        const char *host_root; /* where /sys is read and written (hugepage pools); NULL: "/" */
};

int apply_open(const struct vx_plan *plan, struct vx_apply **ret)
{
        _cleanup_(apply_freep) struct vx_apply *a = calloc(1, sizeof(*a));
        _cleanup_free_ char *path = NULL;
        char *slash;
        int r;

        if (!a)
                return log_error_errno(-ENOMEM, "Out of memory.");
        a->plan = plan;
        a->deployment = plan->profile->name;
        a->runtime_root = strdup(plan->deployment_dir);
        if (!a->runtime_root || asprintf(&path, "%s/journal.json", plan->deployment_dir) < 0)
                return log_error_errno(-ENOMEM, "Out of memory.");
        slash = strrchr(a->runtime_root, '/');
        if (slash && slash != a->runtime_root)
                *slash = '\0';
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
        free(a->runtime_root);
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

int *apply_close_fds(int *fds, size_t n)
{
        for (size_t i = 0; fds && i < n; i++)
                safe_close(fds[i]);
        free(fds);
        return NULL;
}

/* Logs an error once and keeps its text for a control client. Returns r. */
static int fail_msg(char **ret_error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_msg(char **ret_error, int r, const char *fmt, ...)
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

/* An undo step, for journal_push(). */
#define UNDO(k, own, obj, f, t, idx)                                                                          \
        (&(struct vx_undo){.kind = (k), .owner = (char *)(own), .object = (char *)(obj), .from = (char *)(f), \
                           .to = (char *)(t), .ifindex = (idx)})

/* ---- the host-wide registry of shared bridges ---- */

static int registry_lock(struct vx_apply *a, int *ret_fd)
{
        _cleanup_free_ char *dir = NULL, *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (asprintf(&dir, "%s/.shared", a->runtime_root) < 0 || asprintf(&path, "%s/lock", dir) < 0)
                return -ENOMEM;
        r = runtime_mkdir(dir);
        if (r < 0)
                return r;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

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
static int attach_uplink(struct vx_apply *a, struct vx_journal *bj, const struct vx_bridge *br, int br_ifindex)
{
        char **routes = NULL, **addrs = NULL;
        struct vx_netsetup_link l;
        int r;

        r = netsetup_link_get(a->ns, br->uplink, &l);
        if (r == -ENODEV)
                return fail_msg(NULL, r, "Bridge %s: uplink %s does not exist.", br->name, br->uplink);
        if (r < 0)
                return fail_msg(NULL, r, "Bridge %s: failed to read uplink %s: %m", br->name, br->uplink);
        if (l.master_ifindex == br_ifindex)
                return 0; /* already its port: nothing to do, nothing to undo */
        if (l.master_ifindex > 0)
                return fail_msg(NULL, -EBUSY, "Bridge %s: uplink %s is a port of %s; refusing.", br->name,
                                br->uplink, l.master);
        if (strcmp(l.kind, "bridge") == 0)
                return fail_msg(NULL, -EINVAL, "Bridge %s: uplink %s is itself a bridge; refusing.", br->name,
                                br->uplink);
        if (br->move_host_address) {
                r = netsetup_default_routes(a->ns, br->uplink, &routes);
                if (r >= 0)
                        r = netsetup_addresses(a->ns, br->uplink, &addrs);
                if (r < 0) {
                        netsetup_strv_free(routes);
                        return fail_msg(NULL, r, "Bridge %s: failed to read the addresses of %s: %m", br->name,
                                        br->uplink);
                }
        }

        r = netsetup_link_set_master(a->ns, br->uplink, br->name);
        if (r < 0) {
                netsetup_strv_free(routes);
                netsetup_strv_free(addrs);
                return fail_msg(NULL, r, "Bridge %s: failed to enslave uplink %s: %m", br->name, br->uplink);
        }
        r = journal_push(bj, UNDO(VX_UNDO_SET_MASTER, NULL, br->uplink, NULL, br->name, 0));
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
                r = netsetup_address_add(a->ns, br->name, addrs[i]);
                if (r >= 0)
                        r = journal_push(bj, UNDO(VX_UNDO_ADDRESS_ADD, NULL, addrs[i], NULL, br->name, 0));
                if (r >= 0)
                        r = netsetup_address_del(a->ns, br->uplink, addrs[i]);
                if (r >= 0)
                        r = journal_push(bj, UNDO(VX_UNDO_ADDRESS_DEL, NULL, addrs[i], br->uplink, NULL, 0));
        }
        for (size_t i = 0; r >= 0 && routes && routes[i]; i++) {
                r = netsetup_default_route_add(a->ns, br->name, routes[i]);
                if (r >= 0)
                        r = journal_push(bj, UNDO(VX_UNDO_ROUTE_ADD, NULL, routes[i], NULL, br->name, 0));
        }
        if (r < 0 && br->move_host_address)
                log_error_errno(r, "Bridge %s: failed to move the host address from %s: %m", br->name, br->uplink);
        netsetup_strv_free(routes);
        netsetup_strv_free(addrs);
        return r;
}

/* Makes sure the bridge exists (the bridge's journal records a creation), with its uplink. */
static int setup_shared_bridge(struct vx_apply *a, struct vx_journal *bj, const struct vx_bridge *br)
{
        struct vx_netsetup_bridge cfg = {.name = br->name, .stp = br->stp, .forward_delay = br->forward_delay,
                                         .mtu = br->mtu};
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
                return fail_msg(NULL, r, "Bridge %s: the name is taken by an interface that is not a bridge; refusing.",
                                br->name);
        if (r < 0)
                return fail_msg(NULL, r, "Bridge %s: failed to create it: %m", br->name);
        if (created) {
                log_info("Bridge %s: created (STP %s).", br->name, br->stp ? "on" : "off");
                r = journal_push(bj, UNDO(VX_UNDO_DELETE_LINK, NULL, br->name, NULL, NULL, ifindex));
                if (r < 0)
                        return fail_msg(NULL, r, "Bridge %s: failed to write %s: %m", br->name, journal_path(bj));
        } else
                log_info("Bridge %s: exists, using it as it is.", br->name);
        if (br->uplink)
                return attach_uplink(a, bj, br, ifindex);
        return 0;
}

/*
 * Claims bridge br->name for this deployment (owner: the step's owner in the
 * deployment journal). Under the registry lock: sets the bridge up when no
 * other deployment holds it, records our claim.
 */
static int claim_bridge(struct vx_apply *a, const struct vx_bridge *br, const char *owner)
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
                return fail_msg(NULL, r, "Bridge '%s': %s; refusing.", br->name,
                                r == -ENAMETOOLONG ? "the name is longer than 15 bytes" : "not a valid interface name");
        dir = bridge_dir(a, br->name, NULL);
        users = bridge_dir(a, br->name, "users");
        bj_path = bridge_dir(a, br->name, "journal.json");
        if (!dir || !users || !bj_path || asprintf(&entry, "%s/%s", users, a->deployment) < 0)
                return log_error_errno(-ENOMEM, "Out of memory.");
        r = registry_lock(a, &lock);
        if (r < 0)
                return fail_msg(NULL, r, "Failed to lock the bridge registry in %s/.shared: %m", a->runtime_root);
        r = runtime_mkdir(users);
        if (r < 0)
                return fail_msg(NULL, r, "Failed to create %s: %m", users);
        r = journal_open(bj_path, &bj);
        if (r < 0)
                return fail_msg(NULL, r, "Failed to read %s: %m", bj_path);
        keep = journal_size(bj);

        (void)registry_users(a, br->name); /* drops the stale claims before we look */
        r = setup_shared_bridge(a, bj, br);
        if (r >= 0) {
                fd = open(entry, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0)
                        r = fail_msg(NULL, -errno, "Failed to create %s: %m", entry);
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
static int release_bridge(struct vx_apply *a, const char *bridge)
{
        _cleanup_(journal_freep) struct vx_journal *bj = NULL;
        _cleanup_free_ char *entry = NULL, *bj_path = bridge_dir(a, bridge, "journal.json");
        _cleanup_close_ int lock = -EBADF;
        int r;

        if (journal_count(a->journal, VX_UNDO_BRIDGE_CLAIM, bridge) > 1)
                return 0; /* a `bind` of ours still uses it */
        if (!bj_path || asprintf(&entry, "%s/.shared/bridges/%s/users/%s", a->runtime_root, bridge, a->deployment) < 0)
                return -ENOMEM;
        r = registry_lock(a, &lock);
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

/* ---- hugepage pools and hugetlbfs mounts ---- */

#define HUGE_DEFAULT_PAGE_SIZE (UINT64_C(2) << 20)

/*
 * The host-wide record of the pool size vmxrun last left, one file per pool
 * (<runtime>/.shared/hugepages/<kB>kB[-node<N>]): a deployment that shrinks
 * the pool after another deployment grew it sees the pool as vmxrun left it,
 * not as someone else changed it. Read and written under the registry lock.
 */
static char *ledger_path(struct vx_apply *a, uint64_t page_size, int node)
{
        char *p;
        int r;

        if (node < 0)
                r = asprintf(&p, "%s/.shared/hugepages/%" PRIu64 "kB", a->runtime_root, page_size >> 10);
        else
                r = asprintf(&p, "%s/.shared/hugepages/%" PRIu64 "kB-node%d", a->runtime_root, page_size >> 10,
                             node);
        return r < 0 ? NULL : p;
}

static int ledger_read(struct vx_apply *a, uint64_t page_size, int node, uint64_t *ret)
{
        _cleanup_free_ char *path = ledger_path(a, page_size, node);
        _cleanup_fclose_ FILE *f = NULL;
        uint64_t v;

        if (!path)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return -errno;
        if (fscanf(f, "%" SCNu64, &v) != 1)
                return -EBADMSG;
        *ret = v;
        return 0;
}

static void ledger_write(struct vx_apply *a, uint64_t page_size, int node, uint64_t total)
{
        _cleanup_free_ char *path = ledger_path(a, page_size, node), *dir = NULL;
        char text[32];
        int r;

        if (!path || asprintf(&dir, "%s/.shared/hugepages", a->runtime_root) < 0)
                return;
        snprintf(text, sizeof(text), "%" PRIu64 "\n", total);
        r = runtime_mkdir(dir);
        if (r >= 0)
                r = runtime_write_atomic(path, text, strlen(text));
        if (r < 0)
                log_warning_errno(r, "Failed to write %s, ignoring: %m", path);
}

/* What the deployment's VMs need from one pool, added up. */
struct huge_need {
        uint64_t page_size;
        int node;
        uint64_t pages;
};

static size_t collect_needs(const struct vx_plan *plan, struct huge_need *needs)
{
        size_t n = 0;

        for (size_t i = 0; i < plan->n_actions; i++) {
                const struct vx_host_action *act = &plan->actions[i];
                const struct vx_memory *m;
                uint64_t ps;
                size_t k;

                if (act->kind != VX_ACTION_HUGEPAGES || !act->vm)
                        continue;
                m = &act->vm->memory;
                ps = m->page_size ? m->page_size : HUGE_DEFAULT_PAGE_SIZE;
                for (k = 0; k < n; k++)
                        if (needs[k].page_size == ps && needs[k].node == m->node)
                                break;
                if (k == n)
                        needs[n++] = (struct huge_need){.page_size = ps, .node = m->node};
                needs[k].pages += (m->size + ps - 1) / ps;
        }
        return n;
}

static const struct vx_undo *find_pool_step(const struct vx_journal *j, const char *object, int node)
{
        for (size_t i = 0; i < journal_size(j); i++) {
                const struct vx_undo *u = journal_step(j, i);
                if (u->kind == VX_UNDO_HUGEPAGES && !u->owner && strcmp(u->object, object) == 0 && u->node == node)
                        return u;
        }
        return NULL;
}

/*
 * Makes sure the pool has the free pages the deployment needs, adding the
 * missing ones. Always journals a step (0 pages when none were missing), so
 * that an adopting supervisor, whose QEMUs already hold the pages, does not
 * add them again. Pages stay reserved across QEMU restarts: QEMU gives them
 * back to the pool when it exits.
 */
static int reserve_pool(struct vx_apply *a, const struct huge_need *h)
{
        struct vx_hugepage_pool pool;
        _cleanup_close_ int lock = -EBADF;
        char ps[32], pretty[32], node[32] = "";
        uint64_t avail, missing, total;
        int r;

        hugepages_size_short(h->page_size, ps, sizeof(ps));
        hugepages_size_pretty(h->page_size, pretty, sizeof(pretty));
        if (h->node >= 0)
                snprintf(node, sizeof(node), " on node %d", h->node);
        if (find_pool_step(a->journal, ps, h->node))
                return 0; /* reserved already (an adopted deployment) */
        r = registry_lock(a, &lock);
        if (r < 0)
                return fail_msg(NULL, r, "Failed to lock the registry in %s/.shared: %m", a->runtime_root);
        r = hugepages_pool_read(a->host_root, h->page_size, h->node, &pool);
        if (r == -EOPNOTSUPP)
                return fail_msg(NULL, r, "This host has no pool of %s hugepages%s (not supported by the CPU or "
                                "the kernel); refusing.", pretty, node);
        if (r == -ENODEV)
                return fail_msg(NULL, r, "Hugepages: there is no NUMA node %d on this host; refusing.", h->node);
        if (r < 0)
                return fail_msg(NULL, r, "Failed to read the pool of %s hugepages%s: %m", pretty, node);
        avail = hugepages_available(&pool);
        missing = h->pages > avail ? h->pages - avail : 0;
        if (missing == 0) {
                log_info("Hugepages: %" PRIu64 " %s pages%s are free, enough for the %" PRIu64 " needed.", avail,
                         pretty, node, h->pages);
                total = pool.total;
        } else {
                r = hugepages_grow(a->host_root, h->page_size, h->node, missing, &total);
                if (r < 0)
                        return r;
                ledger_write(a, h->page_size, h->node, total);
        }
        r = journal_push(a->journal, &(struct vx_undo){.kind = VX_UNDO_HUGEPAGES, .object = ps, .node = h->node,
                                                       .pages = missing, .total = total});
        if (r < 0)
                return fail_msg(NULL, r, "Failed to write the undo journal %s: %m", journal_path(a->journal));
        return 0;
}

/* Mounts the hugetlbfs a VM's mem-path names, unless one with its page size is there already. */
static int mount_hugetlbfs(struct vx_apply *a, const struct vx_host_action *act)
{
        uint64_t want = act->vm && act->vm->memory.page_size ? act->vm->memory.page_size : HUGE_DEFAULT_PAGE_SIZE;
        uint64_t have;
        bool created;
        int r, k;

        r = hugetlbfs_probe(act->object, &have);
        if (r >= 0 && have == want)
                return 0; /* mounted already: by someone else, or for another VM of ours */
        if (r >= 0) {
                char h[32], w[32];

                hugepages_size_pretty(have, h, sizeof(h));
                hugepages_size_pretty(want, w, sizeof(w));
                return fail_msg(NULL, -EEXIST, "%s is a hugetlbfs with %s pages, not %s; refusing.", act->object, h,
                                w);
        }
        r = hugetlbfs_mount(act->object, want, &created);
        if (r < 0)
                return r;
        /* Undone backwards: unmount, then remove the directory vmxrun created. */
        r = created ? journal_push(a->journal, UNDO(VX_UNDO_RMDIR, NULL, act->object, NULL, NULL, 0)) : 0;
        k = journal_push(a->journal, UNDO(VX_UNDO_UMOUNT, NULL, act->object, NULL, NULL, 0));
        if (r >= 0)
                r = k;
        if (r < 0)
                return fail_msg(NULL, r, "Failed to write the undo journal %s: %m", journal_path(a->journal));
        return 0;
}

/* The deployment's hugetlbfs mounts and hugepage pools, before any VM starts. */
static int apply_hugepages(struct vx_apply *a)
{
        const struct vx_plan *plan = a->plan;
        _cleanup_free_ struct huge_need *needs = calloc(plan->n_actions + 1, sizeof(*needs));
        size_t n;
        int r = 0;

        if (!needs)
                return log_error_errno(-ENOMEM, "Out of memory.");
        for (size_t i = 0; r >= 0 && i < plan->n_actions; i++)
                if (plan->actions[i].kind == VX_ACTION_HUGETLBFS_MOUNT)
                        r = mount_hugetlbfs(a, &plan->actions[i]);
        n = collect_needs(plan, needs);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = reserve_pool(a, &needs[i]);
        return r;
}

static int undo_hugepages(struct vx_apply *a, const struct vx_undo *u)
{
        _cleanup_close_ int lock = -EBADF;
        uint64_t ps, expected = u->total, after;
        int r;

        if (u->pages == 0)
                return 0; /* nothing was added */
        r = hugepages_size_parse(u->object, &ps);
        if (r < 0)
                return log_warning_errno(r, "Journal: '%s' is not a page size, ignoring the step.", u->object);
        r = registry_lock(a, &lock);
        if (r < 0)
                return log_warning_errno(r, "Failed to lock the registry in %s/.shared, leaving %" PRIu64
                                         " hugepages of %s: %m", a->runtime_root, u->pages, u->object);
        /* Another deployment may have grown or shrunk the pool since: the ledger has the size vmxrun left. */
        (void)ledger_read(a, ps, u->node, &expected);
        r = hugepages_shrink(a->host_root, ps, u->node, u->pages, expected, &after);
        if (r == 0)
                ledger_write(a, ps, u->node, after);
        return r < 0 ? r : 0;
}

static int undo_rmdir(const char *path)
{
        if (rmdir(path) < 0 && errno != ENOENT)
                return log_warning_errno(-errno, "Failed to remove %s, leaving it: %m", path);
        return 0;
}

/* ---- undo ---- */

static int undo_set_master(struct vx_apply *a, const struct vx_undo *u)
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
                r = undo_set_master(a, u);
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
                return release_bridge(a, u->object);
        case VX_UNDO_HUGEPAGES: /* these log their own failures */
                return undo_hugepages(a, u);
        case VX_UNDO_UMOUNT:
                return hugetlbfs_umount(u->object);
        case VX_UNDO_RMDIR:
                return undo_rmdir(u->object);
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

static const struct vx_bridge *profile_bridge(const struct vx_profile *p, const char *name)
{
        for (size_t i = 0; i < p->n_bridges; i++)
                if (strcmp(p->bridges[i].name, name) == 0)
                        return &p->bridges[i];
        return NULL;
}

int apply_deployment(struct vx_apply *a)
{
        const struct vx_plan *plan = a->plan;
        size_t keep = journal_size(a->journal);
        int r;

        /* Hugepages first: a host short of memory fails before the network is touched. */
        r = apply_hugepages(a);
        for (size_t i = 0; r >= 0 && i < plan->n_actions; i++) {
                const struct vx_host_action *act = &plan->actions[i];
                const struct vx_bridge *br;

                if (act->kind != VX_ACTION_BRIDGE)
                        continue; /* VX_ACTION_UPLINK comes with its bridge */
                br = profile_bridge(plan->profile, act->object);
                if (!br)
                        continue;
                r = claim_bridge(a, br, NULL);
        }
        /* A tap's bridge that the profile does not declare must exist: vmxrun does not invent bridges. */
        for (size_t v = 0; r >= 0 && v < plan->n_vms; v++)
                for (size_t n = 0; r >= 0 && n < plan->vms[v].vm->n_nics; n++) {
                        const struct vx_nic *nic = &plan->vms[v].vm->nics[n];
                        struct vx_netsetup_link l;

                        if (nic->type != VX_NIC_TAP || !nic->bridge || profile_bridge(plan->profile, nic->bridge))
                                continue;
                        r = netsetup_link_get(a->ns, nic->bridge, &l);
                        if (r >= 0 && strcmp(l.kind, "bridge") != 0)
                                r = -ENOTTY;
                        if (r < 0)
                                fail_msg(NULL, r, "%s: tap %s: bridge %s %s; refusing.", plan->vms[v].vm->name,
                                         nic->tap, nic->bridge,
                                         r == -ENOTTY ? "is not a bridge"
                                                      : "does not exist and is not declared in bridges");
                }
        if (r < 0)
                (void)journal_undo(a->journal, keep, false, NULL, apply_run_undo, a);
        return r;
}

static char *vm_owner(const struct vx_vm_plan *vp)
{
        char *o;

        if (asprintf(&o, "vm:%s", vp->vm->name) < 0)
                return NULL;
        return o;
}

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

static int create_tap(struct vx_apply *a, const struct vx_vm_plan *vp, const char *owner, const struct vx_nic *nic,
                      unsigned queues, int *ret_fds)
{
        struct vx_netsetup_tap cfg = {.name = nic->tap, .bridge = nic->bridge, .guest_mac = nic->mac,
                                      .mtu = nic->mtu, .queues = queues};
        int ifindex, r;

        r = netsetup_tap_create(a->ns, &cfg, ret_fds, &ifindex);
        if (r == -EEXIST)
                return fail_msg(NULL, r, "%s: tap %s: the name is taken by an existing interface; refusing.",
                                vp->vm->name, nic->tap);
        if (r == -ENAMETOOLONG || r == -EINVAL)
                return fail_msg(NULL, r, "%s: tap '%s': not a valid interface name; refusing.", vp->vm->name,
                                nic->tap);
        if (r < 0)
                return fail_msg(NULL, r, "%s: failed to create tap %s on bridge %s: %m", vp->vm->name, nic->tap,
                                nic->bridge ?: "(none)");
        r = journal_push(a->journal, UNDO(VX_UNDO_DELETE_LINK, owner, nic->tap, NULL, NULL, ifindex));
        if (r < 0) {
                for (unsigned q = 0; q < queues; q++)
                        ret_fds[q] = safe_close(ret_fds[q]);
                return fail_msg(NULL, r, "%s: failed to write the undo journal: %m", vp->vm->name);
        }
        log_debug("%s: tap %s created on %s (%u queue%s).", vp->vm->name, nic->tap, nic->bridge ?: "no bridge",
                  queues, queues > 1 ? "s" : "");
        rebind_tap(a, nic->tap);
        return 0;
}

int apply_vm(struct vx_apply *a, const struct vx_vm_plan *vp, int **ret_fds, size_t *ret_n)
{
        _cleanup_free_ char *owner = vm_owner(vp);
        int *fds = calloc(vp->n_fds + 1, sizeof(int));
        size_t n = 0;
        int r = 0;

        if (!owner || !fds) {
                free(fds);
                return log_error_errno(-ENOMEM, "Out of memory.");
        }
        /* Taps of a QEMU that is gone: normally gone with it; if not, they go now. */
        (void)journal_undo(a->journal, 0, true, owner, apply_run_undo, a);

        for (size_t k = 0; r >= 0 && k < vp->n_fds; k++) {
                const struct vx_plan_fd *f = &vp->fds[k];

                if (f->kind == VX_PLAN_FD_TAP) {
                        unsigned queues = 0;
                        /* The plan lists a NIC's tap queues one after another, from queue 0. */
                        while (k + queues < vp->n_fds && vp->fds[k + queues].kind == VX_PLAN_FD_TAP &&
                               vp->fds[k + queues].nic == f->nic)
                                queues++;
                        r = create_tap(a, vp, owner, &vp->vm->nics[f->nic], queues, &fds[n]);
                        if (r >= 0) {
                                n += queues;
                                k += queues - 1;
                        }
                } else if (f->kind == VX_PLAN_FD_VHOST) {
                        r = netsetup_vhost_open(&fds[n]);
                        if (r == -ENOENT)
                                fail_msg(NULL, r, "%s: tap %s: vhost is on, but this host has no /dev/vhost-net "
                                         "(load vhost_net, or set vhost: off).", vp->vm->name, f->object);
                        else if (r < 0)
                                fail_msg(NULL, r, "%s: failed to open /dev/vhost-net for %s: %m", vp->vm->name,
                                         f->object);
                        else
                                n++;
                }
        }
        if (r < 0) {
                apply_close_fds(fds, n);
                (void)journal_undo(a->journal, 0, true, owner, apply_run_undo, a);
                return r;
        }
        *ret_fds = fds;
        *ret_n = n;
        return 0;
}

int apply_vm_undo(struct vx_apply *a, const struct vx_vm_plan *vp)
{
        _cleanup_free_ char *owner = vm_owner(vp);

        if (!owner)
                return -ENOMEM;
        return journal_undo(a->journal, 0, true, owner, apply_run_undo, a);
}

int apply_teardown(struct vx_apply *a)
{
        return journal_undo(a->journal, 0, false, NULL, apply_run_undo, a);
}

/* ---- bind / unbind ---- */

static bool is_our_tap(const struct vx_plan *plan, const char *name)
{
        for (size_t v = 0; v < plan->n_vms; v++)
                for (size_t n = 0; n < plan->vms[v].vm->n_nics; n++) {
                        const struct vx_nic *nic = &plan->vms[v].vm->nics[n];
                        if (nic->type == VX_NIC_TAP && nic->tap && strcmp(nic->tap, name) == 0)
                                return true;
                }
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
        const struct vx_bridge *declared = profile_bridge(a->plan->profile, bridge);
        struct vx_bridge fresh = {.name = (char *)bridge, .forward_delay = -1};
        _cleanup_free_ char *owner = NULL;
        struct vx_netsetup_link l;
        size_t keep = journal_size(a->journal);
        int r;

        if (asprintf(&owner, "bind:%s", iface) < 0)
                return -ENOMEM;
        if (has_owner(a->journal, owner))
                return fail_msg(ret_error, -EEXIST, "%s is bound already; unbind it first.", iface);
        r = netsetup_check_ifname(iface);
        if (r < 0)
                return fail_msg(ret_error, r, "'%s' is not a valid interface name.", iface);
        r = netsetup_check_ifname(bridge);
        if (r < 0)
                return fail_msg(ret_error, r, "Bridge '%s': %s; refusing.", bridge,
                                r == -ENAMETOOLONG ? "the name is longer than 15 bytes" : "not a valid interface name");
        r = netsetup_link_get(a->ns, iface, &l);
        if (r < 0)
                return fail_msg(ret_error, r, "Interface %s: %s", iface, r == -ENODEV ? "no such interface" : strerror(-r));
        if (!is_our_tap(a->plan, iface)) {
                if (strcmp(l.kind, "bridge") == 0 || strcmp(iface, "lo") == 0)
                        return fail_msg(ret_error, -EINVAL, "%s is a bridge or loopback; refusing.", iface);
                if (l.master_ifindex > 0)
                        return fail_msg(ret_error, -EBUSY, "%s is a port of %s; refusing.", iface, l.master);
        }
        if (strcmp(l.master, bridge) == 0)
                return fail_msg(ret_error, -EEXIST, "%s is a port of %s already.", iface, bridge);

        /* A bridge the profile declares keeps its settings; another one is made plain (no STP). */
        r = claim_bridge(a, declared ?: &fresh, owner);
        if (r < 0)
                return fail_msg(ret_error, r, "Bridge %s: cannot use it: %m", bridge);
        r = netsetup_link_set_master(a->ns, iface, bridge);
        if (r < 0)
                fail_msg(ret_error, r, "Failed to make %s a port of %s: %m", iface, bridge);
        else
                r = journal_push(a->journal, UNDO(VX_UNDO_SET_MASTER, owner, iface, l.master[0] ? l.master : NULL, bridge, 0));
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
                return fail_msg(ret_error, -ENOENT, "%s is not bound by `vmxrun bind`.", iface);
        r = journal_undo(a->journal, 0, true, owner, apply_run_undo, a);
        if (r < 0)
                return fail_msg(ret_error, r, "Unbinding %s was not clean: %m", iface);
        log_info("Unbound %s.", iface);
        return 0;
}
