/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The deployment's hugetlbfs mounts and hugepage pools (docs/hugepages.md),
 * with a host-wide ledger of the pool sizes vmxrun left
 * (<runtime>/.shared/hugepages/), read and written under the registry lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply-internal.h"
#include "hugepages.h"
#include "log.h"
#include "runtime.h"

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
                r = asprintf(&p, "%s/.shared/hugepages/%" PRIu64 "kB-node%d", a->runtime_root, page_size >> 10, node);
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

/* " on node N", or "" for the whole host. */
static const char *node_suffix(int node, char *buf, size_t len)
{
        if (node < 0)
                buf[0] = '\0';
        else
                snprintf(buf, len, " on node %d", node);
        return buf;
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
                const struct vx_action_hugepages *h = &plan->actions[i].huge;
                size_t k;

                if (plan->actions[i].kind != VX_ACTION_HUGEPAGES)
                        continue;
                for (k = 0; k < n; k++)
                        if (needs[k].page_size == h->page_size && needs[k].node == h->node)
                                break;
                if (k == n)
                        needs[n++] = (struct huge_need){.page_size = h->page_size, .node = h->node};
                needs[k].pages += h->pages;
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
        char ps[32], pretty[32], node[32];
        uint64_t avail, missing, total;
        int r;

        hugepages_size_short(h->page_size, ps, sizeof(ps));
        hugepages_size_pretty(h->page_size, pretty, sizeof(pretty));
        node_suffix(h->node, node, sizeof(node));
        if (find_pool_step(a->journal, ps, h->node))
                return 0; /* reserved already (an adopted deployment) */
        r = apply_registry_lock(a, &lock);
        if (r < 0)
                return apply_fail(NULL, r, "Failed to lock the registry in %s/.shared: %m", a->runtime_root);
        r = hugepages_pool_read(a->host_root, h->page_size, h->node, &pool);
        if (r == -EOPNOTSUPP)
                return apply_fail(NULL, r,
                                  "This host has no pool of %s hugepages%s (not supported by the CPU or "
                                  "the kernel); refusing.",
                                  pretty, node);
        if (r == -ENODEV)
                return apply_fail(NULL, r, "Hugepages: there is no NUMA node %d on this host; refusing.", h->node);
        if (r < 0)
                return apply_fail(NULL, r, "Failed to read the pool of %s hugepages%s: %m", pretty, node);
        avail = hugepages_available(&pool);
        missing = h->pages > avail ? h->pages - avail : 0;
        if (missing == 0) {
                log_info("Hugepages: %" PRIu64 " %s pages%s are free, enough for the %" PRIu64 " needed.", avail,
                         pretty, node, h->pages);
                total = pool.total;
        } else {
                r = hugepages_grow(a->host_root, h->page_size, h->node, missing, &total);
                if (r == -ENOSPC || r == -EBUSY)
                        return apply_fail(NULL, -ENOSPC,
                                          "Hugepages: asked for %" PRIu64 " more %s pages%s, the kernel "
                                          "could not give them (free memory is fragmented or short)%s; refusing.",
                                          missing, pretty, node,
                                          r == -EBUSY ? ", and the ones it gave could not "
                                                        "be put back"
                                                      : "");
                if (r < 0)
                        return apply_fail(NULL, r, "Failed to grow the pool of %s hugepages%s: %m", pretty, node);
                log_info("Hugepages: added %" PRIu64 " %s pages%s (pool: %" PRIu64 " -> %" PRIu64 ").", missing, pretty,
                         node, pool.total, total);
                ledger_write(a, h->page_size, h->node, total);
        }
        r = journal_push(
                a->journal,
                &(struct vx_undo){
                        .kind = VX_UNDO_HUGEPAGES, .object = ps, .node = h->node, .pages = missing, .total = total});
        if (r < 0)
                return apply_fail(NULL, r, "Failed to write the undo journal %s: %m", journal_path(a->journal));
        return 0;
}

/* Mounts the hugetlbfs a VM's mem-path names, unless one with its page size is there already. */
static int mount_hugetlbfs(struct vx_apply *a, const struct vx_host_action *act)
{
        uint64_t want = act->mount.page_size;
        uint64_t have;
        bool created;
        int r, k;

        r = hugetlbfs_probe(act->mount.path, &have);
        if (r >= 0 && have == want)
                return 0; /* mounted already: by someone else, or for another VM of ours */
        if (r >= 0) {
                char h[32], w[32];

                hugepages_size_pretty(have, h, sizeof(h));
                hugepages_size_pretty(want, w, sizeof(w));
                return apply_fail(NULL, -EEXIST, "%s is a hugetlbfs with %s pages, not %s; refusing.", act->mount.path,
                                  h, w);
        }
        r = hugetlbfs_mount(act->mount.path, want, &created);
        if (r < 0) {
                char ps[32];

                hugepages_size_short(want, ps, sizeof(ps));
                return apply_fail(NULL, r, "Failed to mount a hugetlbfs with pagesize=%s at %s: %m", ps,
                                  act->mount.path);
        }
        log_info("Mounted a hugetlbfs at %s.", act->mount.path);
        /* Undone backwards: unmount, then remove the directory vmxrun created. */
        r = created ? journal_push(a->journal, UNDO(VX_UNDO_RMDIR, NULL, act->mount.path, NULL, NULL, 0)) : 0;
        k = journal_push(a->journal, UNDO(VX_UNDO_UMOUNT, NULL, act->mount.path, NULL, NULL, 0));
        if (r >= 0)
                r = k;
        if (r < 0)
                return apply_fail(NULL, r, "Failed to write the undo journal %s: %m", journal_path(a->journal));
        return 0;
}

/* The deployment's hugetlbfs mounts and hugepage pools, before any VM starts. */
int apply_hugepages(struct vx_apply *a)
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

int apply_hugepages_undo(struct vx_apply *a, const struct vx_undo *u)
{
        _cleanup_close_ int lock = -EBADF;
        char node[32];
        uint64_t ps, expected = u->total, after;
        int r;

        if (u->pages == 0)
                return 0; /* nothing was added */
        r = hugepages_size_parse(u->object, &ps);
        if (r < 0)
                return log_warning_errno(r, "Journal: '%s' is not a page size, ignoring the step.", u->object);
        r = apply_registry_lock(a, &lock);
        if (r < 0)
                return log_warning_errno(
                        r, "Failed to lock the registry in %s/.shared, leaving %" PRIu64 " hugepages of %s: %m",
                        a->runtime_root, u->pages, u->object);
        /* Another deployment may have grown or shrunk the pool since: the ledger has the size vmxrun left. */
        (void)ledger_read(a, ps, u->node, &expected);
        r = hugepages_shrink(a->host_root, ps, u->node, u->pages, expected, &after);
        if (r < 0)
                return log_warning_errno(r, "Failed to give back %" PRIu64 " hugepages of %s%s, leaving them: %m",
                                         u->pages, u->object, node_suffix(u->node, node, sizeof(node)));
        if (r > 0) {
                log_warning("Hugepages: the pool of %s pages%s has %" PRIu64 " pages, not the %" PRIu64 " vmxrun "
                            "left; someone changed it, so the %" PRIu64 " pages vmxrun added stay.",
                            u->object, node_suffix(u->node, node, sizeof(node)), after, expected, u->pages);
                return 0;
        }
        log_info("Hugepages: gave back %" PRIu64 " %s pages%s (pool: %" PRIu64 " -> %" PRIu64 ").", u->pages, u->object,
                 node_suffix(u->node, node, sizeof(node)), expected, after);
        ledger_write(a, ps, u->node, after);
        return 0;
}

/* The undo of a mount: what cannot be unmounted now stays, said once. */
int apply_hugetlbfs_umount(const char *path)
{
        int r = hugetlbfs_umount(path);

        if (r == -EBUSY)
                return log_warning_errno(r, "The hugetlbfs at %s is still in use; leaving it mounted.", path);
        if (r < 0)
                return log_warning_errno(r, "Failed to unmount the hugetlbfs at %s, leaving it: %m", path);
        if (r == 0)
                log_info("Unmounted the hugetlbfs at %s.", path);
        return 0;
}

int apply_undo_rmdir(const char *path)
{
        if (rmdir(path) < 0 && errno != ENOENT)
                return log_warning_errno(-errno, "Failed to remove %s, leaving it: %m", path);
        return 0;
}
