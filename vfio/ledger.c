/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host-wide ledger of claimed PCI addresses, and `vf: auto`. */
#include "vfio.h"
#include "sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lockfile.h"

/* mkdir -p, 0700 for what it creates. */
static int mkdir_p(const char *path)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, 0700) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        return mkdir(p, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

static int ledger_lock(const char *dir, int *ret_fd)
{
        _cleanup_free_ char *claims = NULL, *lock = NULL;
        int r;

        if (!dir || !*dir)
                return -EINVAL;
        if (asprintf(&claims, "%s/claims", dir) < 0 || asprintf(&lock, "%s/lock", dir) < 0)
                return -ENOMEM;
        r = mkdir_p(claims);
        if (r < 0)
                return r;
        return vx_lock_file(lock, ret_fd);
}

/* The live holder of bdf (lock held): 0 and *ret_owner, -ENOENT. A stale claim is removed. */
static int holder(const char *dir, const char *bdf, vx_vfio_alive alive, void *userdata, char **ret_owner)
{
        _cleanup_free_ char *path = NULL;
        char owner[256];
        int r;

        if (asprintf(&path, "%s/claims/%s", dir, bdf) < 0)
                return -ENOMEM;
        r = vfio_sysfs_read(NULL, owner, sizeof(owner), "%s", path);
        if (r < 0)
                return r;
        if (alive && !alive(owner, userdata)) {
                (void)unlink(path);
                return -ENOENT;
        }
        *ret_owner = strdup(owner);
        return *ret_owner ? 0 : -ENOMEM;
}

/* Writes the claim file (lock held): a temporary file renamed over it, so a reader never sees half of it. */
static int write_claim(const char *dir, const char *bdf, const char *owner)
{
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len = strlen(owner);

        if (asprintf(&path, "%s/claims/%s", dir, bdf) < 0 || asprintf(&tmp, "%s/claims/.%s.tmp", dir, bdf) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (write(fd, owner, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
                int r = -errno ?: -EIO;
                (void)unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                int r = -errno;
                (void)unlink(tmp);
                return r;
        }
        return 0;
}

static int check_owner(const char *owner)
{
        if (!owner || !*owner || strlen(owner) >= 255 || strchr(owner, '\n'))
                return -EINVAL;
        return 0;
}

/* Claims bdf with the lock held. */
static int claim_locked(const char *dir, const char *bdf, const char *owner, vx_vfio_alive alive, void *userdata,
                        char **why)
{
        _cleanup_free_ char *held = NULL;
        int r;

        r = holder(dir, bdf, alive, userdata, &held);
        if (r >= 0) {
                if (strcmp(held, owner) == 0)
                        return 0;
                return vfio_say(-EBUSY, why, "%s is held by deployment %s.", bdf, held);
        }
        if (r != -ENOENT)
                return r;
        return write_claim(dir, bdf, owner);
}

int vfio_ledger_claim(const char *dir, const char *bdf, const char *owner, vx_vfio_alive alive, void *userdata,
                      char **why)
{
        _cleanup_close_ int lock = -EBADF;
        int r;

        if (vfio_check_bdf(bdf) < 0 || check_owner(owner) < 0)
                return -EINVAL;
        r = ledger_lock(dir, &lock);
        if (r < 0)
                return r;
        return claim_locked(dir, bdf, owner, alive, userdata, why);
}

int vfio_ledger_release(const char *dir, const char *bdf, const char *owner)
{
        _cleanup_close_ int lock = -EBADF;
        _cleanup_free_ char *held = NULL, *path = NULL;
        int r;

        if (vfio_check_bdf(bdf) < 0 || check_owner(owner) < 0)
                return -EINVAL;
        r = ledger_lock(dir, &lock);
        if (r < 0)
                return r;
        r = holder(dir, bdf, NULL, NULL, &held);
        if (r < 0)
                return r;
        if (strcmp(held, owner) != 0)
                return -ENOENT;
        if (asprintf(&path, "%s/claims/%s", dir, bdf) < 0)
                return -ENOMEM;
        return unlink(path) < 0 ? -errno : 0;
}

int vfio_ledger_owner(const char *dir, const char *bdf, vx_vfio_alive alive, void *userdata, char **ret_owner)
{
        _cleanup_close_ int lock = -EBADF;
        int r;

        if (vfio_check_bdf(bdf) < 0)
                return -EINVAL;
        r = ledger_lock(dir, &lock);
        if (r < 0)
                return r;
        return holder(dir, bdf, alive, userdata, ret_owner);
}

/* Live claims on VFs of PF pf, the lock held; 0 for a PF that is gone. */
static int count_claims(const char *root, const char *dir, const char *pf, vx_vfio_alive alive, void *userdata)
{
        _cleanup_free_ struct vx_vfio_pf *p = NULL;
        int r, n = 0;

        r = vfio_pf_new(root, pf, &p);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        for (unsigned i = 0; i < p->num_vfs; i++) {
                _cleanup_free_ char *held = NULL;

                r = holder(dir, p->vfs[i], alive, userdata, &held);
                if (r >= 0)
                        n++;
                else if (r != -ENOENT)
                        return r;
        }
        return n;
}

int vfio_ledger_count_pf(const char *root, const char *dir, const char *pf_ifname, vx_vfio_alive alive, void *userdata)
{
        _cleanup_close_ int lock = -EBADF;
        int r;

        r = ledger_lock(dir, &lock);
        if (r < 0)
                return r;
        return count_claims(root, dir, pf_ifname, alive, userdata);
}

/*
 * A VF is free for `auto` when nobody claimed it and the host does not use
 * it: unbound, or held by its VF net driver (it has net interfaces) that is
 * not up with addresses. A VF on vfio-pci or pci-stub that the ledger does
 * not know is someone else's passthrough (libvirt, a hand-made QEMU).
 */
static int vf_free(const char *root, struct vx_netsetup *ns, const char *dir, const char *bdf, vx_vfio_alive alive,
                   void *userdata)
{
        _cleanup_free_ struct vx_vfio_device *d = NULL;
        _cleanup_free_ char *held = NULL;
        int r;

        r = holder(dir, bdf, alive, userdata, &held);
        if (r >= 0)
                return 0;
        if (r != -ENOENT)
                return r;
        r = vfio_device_new(root, bdf, &d);
        if (r < 0)
                return r == -ENODEV ? 0 : r;
        if (*d->driver && d->n_net == 0)
                return 0;
        if (ns) {
                r = vfio_check_not_in_use(root, ns, bdf, NULL);
                if (r == -EBUSY)
                        return 0;
                if (r < 0)
                        return r;
        }
        return 1;
}

struct candidate {
        size_t order;
        int numa_node;
        unsigned n_free;
        int first_free; /* lowest free VF index */
        const char *pf;
        char bdf[VX_VFIO_BDF_SIZE];
};

static int pick(const char *root, struct vx_netsetup *ns, const char *dir, const char *pf_name, size_t order,
                vx_vfio_alive alive, void *userdata, struct candidate *ret)
{
        _cleanup_free_ struct vx_vfio_pf *pf = NULL;
        struct candidate c = {.order = order, .first_free = -1, .pf = pf_name};
        int r;

        r = vfio_pf_new(root, pf_name, &pf);
        if (r < 0)
                return r;
        c.numa_node = pf->numa_node;
        for (unsigned i = 0; i < pf->num_vfs; i++) {
                r = vf_free(root, ns, dir, pf->vfs[i], alive, userdata);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (c.first_free < 0) {
                        c.first_free = (int)i;
                        memcpy(c.bdf, pf->vfs[i], sizeof(c.bdf));
                }
                c.n_free++;
        }
        *ret = c;
        return 0;
}

static bool better(const struct candidate *a, const struct candidate *b, int numa_node)
{
        bool an = numa_node >= 0 && a->numa_node == numa_node, bn = numa_node >= 0 && b->numa_node == numa_node;

        if (an != bn)
                return an;
        if (a->n_free != b->n_free)
                return a->n_free > b->n_free;
        return a->order < b->order;
}

int vfio_vf_claim_auto(const char *root, struct vx_netsetup *ns, const char *dir, const char *const *pfs, size_t n,
                       int numa_node, const char *owner, vx_vfio_alive alive, void *userdata,
                       struct vx_vfio_choice *ret, char **why)
{
        _cleanup_close_ int lock = -EBADF;
        struct candidate best = {0};
        bool have = false;
        int r;

        if (check_owner(owner) < 0 || (n > 0 && !pfs))
                return -EINVAL;
        r = ledger_lock(dir, &lock);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                struct candidate c;

                r = pick(root, ns, dir, pfs[i], i, alive, userdata, &c);
                if (r == -ENODEV || r == -ENOTSUP)
                        continue;
                if (r < 0)
                        return r;
                if (c.n_free > 0 && (!have || better(&c, &best, numa_node))) {
                        best = c;
                        have = true;
                }
        }
        if (!have) {
                _cleanup_free_ char *list = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&list, &len);

                if (!f)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        fprintf(f, "%s%s", i ? ", " : "", pfs[i]);
                if (fclose(f) != 0)
                        return -ENOMEM;
                return vfio_say(-ENOSPC, why,
                                "No free VF on %s: every VF is claimed by a deployment, used by the host or passed "
                                "through by someone else (or the PF has no VFs yet: raise sriov_numvfs first).",
                                n ? list : "(no PF given)");
        }
        r = claim_locked(dir, best.bdf, owner, alive, userdata, why);
        if (r < 0)
                return r;
        memset(ret, 0, sizeof(*ret));
        snprintf(ret->pf, sizeof(ret->pf), "%s", best.pf);
        ret->vf = (unsigned)best.first_free;
        memcpy(ret->bdf, best.bdf, sizeof(ret->bdf));
        return 0;
}

static char *pf_record_path(const char *dir, const char *pf)
{
        char *p;

        if (!pf || !*pf || strchr(pf, '/') || pf[0] == '.' || strlen(pf) >= VX_NETSETUP_IFNAMSIZ)
                return NULL;
        if (asprintf(&p, "%s/pfs/%s.json", dir, pf) < 0)
                return NULL;
        return p;
}

/* Writes rec as PF pf's kept record (lock held, path its file): a temporary file renamed over it. */
static int write_pf_record(const char *dir, const char *path, const struct vx_vfio_record *rec)
{
        _cleanup_free_ char *pfs = NULL, *json = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len;
        int r;

        if (asprintf(&pfs, "%s/pfs", dir) < 0 || asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        r = vfio_record_to_json(rec, &json);
        if (r < 0)
                return r;
        r = mkdir_p(pfs);
        if (r < 0)
                return r;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        len = strlen(json);
        if (write(fd, json, len) != (ssize_t)len || rename(tmp, path) < 0) {
                r = -errno ?: -EIO;
                (void)unlink(tmp);
                return r;
        }
        return 0;
}

static bool pf_parts_ok(unsigned parts)
{
        return (parts & (VX_VFIO_REC_PF | VX_VFIO_REC_NUMVFS)) &&
               !(parts & ~(unsigned)(VX_VFIO_REC_PF | VX_VFIO_REC_NUMVFS));
}

int vfio_ledger_pf_keep(const char *dir, const struct vx_vfio_record *rec)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int lock = -EBADF;
        int r;

        if (!pf_parts_ok(rec->parts))
                return -EINVAL;
        path = pf_record_path(dir, rec->pf);
        if (!path)
                return -EINVAL;
        r = ledger_lock(dir, &lock);
        if (r < 0)
                return r;
        if (access(path, F_OK) == 0)
                return 0;
        r = write_pf_record(dir, path, rec);
        return r < 0 ? r : 1;
}

/* dir/pfs/<PF>.users, or the entry of owner in it. */
static char *pf_users_path(const char *dir, const char *pf, const char *owner)
{
        char *p;

        if (owner && (strchr(owner, '/') || owner[0] == '.'))
                return NULL;
        if (asprintf(&p, "%s/pfs/%s.users%s%s", dir, pf, owner ? "/" : "", owner ?: "") < 0)
                return NULL;
        return p;
}

/* Live users of PF pf (lock held); an entry whose owner is gone is removed. */
static int count_users(const char *dir, const char *pf, vx_vfio_alive alive, void *userdata)
{
        _cleanup_free_ char *users = pf_users_path(dir, pf, NULL);
        char **names = NULL;
        int r, n = 0;

        if (!users)
                return -ENOMEM;
        r = sysfs_list(NULL, &names, "%s", users);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (size_t i = 0; names[i]; i++) {
                _cleanup_free_ char *entry = NULL;

                if (!alive || alive(names[i], userdata)) {
                        n++;
                        continue;
                }
                entry = pf_users_path(dir, pf, names[i]);
                if (entry)
                        (void)unlink(entry);
        }
        sysfs_strv_free(names);
        return n;
}

static int read_pf_record(const char *path, struct vx_vfio_record *ret)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *json = NULL;
        size_t len = 0;

        if (!f)
                return -errno;
        if (getdelim(&json, &len, 0, f) < 0)
                return -EBADMSG;
        return vfio_record_from_json(json, ret);
}

/* Whether nobody uses PF pf any more (lock held): no live user entry and no live claim on a VF of it. */
static int pf_unused(const char *root, const char *dir, const char *pf, vx_vfio_alive alive, void *userdata)
{
        int r = count_users(dir, pf, alive, userdata);

        if (r == 0)
                r = count_claims(root, dir, pf, alive, userdata);
        return r < 0 ? r : r == 0;
}

int vfio_ledger_pf_last(const char *root, const char *dir, const char *pf, vx_vfio_alive alive, void *userdata,
                        struct vx_vfio_record *ret)
{
        _cleanup_free_ char *path = pf_record_path(dir, pf);
        _cleanup_close_ int lock = -EBADF;
        struct vx_vfio_record rec;
        int r;

        if (!path)
                return -EINVAL;
        r = ledger_lock(dir, &lock);
        if (r < 0)
                return r;
        if (access(path, F_OK) < 0)
                return -errno;
        r = pf_unused(root, dir, pf, alive, userdata);
        if (r <= 0)
                return r;
        r = read_pf_record(path, &rec);
        if (r < 0)
                return r;
        if (unlink(path) < 0)
                return -errno;
        *ret = rec;
        return 1;
}

/* A PF's record, its users dir and owner's entry in it, and the ledger lock, held. */
struct pf_paths {
        char *path, *users, *entry;
        int lock;
};

static void pf_paths_done(struct pf_paths *p)
{
        free(p->path);
        free(p->users);
        free(p->entry);
        safe_close(p->lock);
}

static int pf_paths_lock(const char *dir, const char *pf, const char *owner, struct pf_paths *p)
{
        if (check_owner(owner) < 0)
                return -EINVAL;
        p->path = pf_record_path(dir, pf);
        p->users = p->path ? pf_users_path(dir, pf, NULL) : NULL;
        p->entry = p->path ? pf_users_path(dir, pf, owner) : NULL;
        if (!p->path || !p->users || !p->entry)
                return -EINVAL;
        return ledger_lock(dir, &p->lock);
}

int vfio_ledger_pf_use(const char *root, struct vx_netsetup *ns, const char *dir, const char *pf, unsigned parts,
                       const char *owner)
{
        _cleanup_(pf_paths_done) struct pf_paths p = {.lock = -EBADF};
        _cleanup_close_ int fd = -EBADF;
        bool kept = false;
        int r;

        if (!pf_parts_ok(parts))
                return -EINVAL;
        r = pf_paths_lock(dir, pf, owner, &p);
        if (r < 0)
                return r;
        if (access(p.path, F_OK) < 0) {
                struct vx_vfio_record rec;

                /* Read under the lock: a last user restoring the PF has finished, so this is the host's own state. */
                r = vfio_record_save(root, ns, parts, NULL, pf, 0, &rec);
                if (r < 0)
                        return r;
                r = write_pf_record(dir, p.path, &rec);
                if (r < 0)
                        return r;
                kept = true;
        }
        r = mkdir_p(p.users);
        if (r < 0)
                return r;
        fd = open(p.entry, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        return kept;
}

int vfio_ledger_pf_done(const char *root, struct vx_netsetup *ns, const char *dir, const char *pf, const char *owner,
                        vx_vfio_alive alive, void *userdata, char **why)
{
        _cleanup_(pf_paths_done) struct pf_paths p = {.lock = -EBADF};
        struct vx_vfio_record rec;
        int r;

        r = pf_paths_lock(dir, pf, owner, &p);
        if (r < 0)
                return r;
        if (unlink(p.entry) < 0 && errno != ENOENT)
                return -errno;
        if (access(p.path, F_OK) < 0)
                return -errno;
        r = pf_unused(root, dir, pf, alive, userdata);
        if (r <= 0)
                return r;
        r = read_pf_record(p.path, &rec);
        if (r < 0)
                return r;
        /*
         * Restored with the lock still held: a start that becomes a user meanwhile waits, then finds
         * no record and saves the host's own state, never this user's changes half undone.
         */
        r = vfio_record_restore(root, ns, &rec, why);
        if (r < 0)
                return r; /* the record stays: the next last user tries again */
        if (unlink(p.path) < 0)
                return -errno;
        (void)rmdir(p.users);
        return 1;
}
