/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "hugepages.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

#define KIB UINT64_C(1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

void hugepages_size_pretty(uint64_t page_size, char *buf, size_t len)
{
        if (page_size >= GIB && page_size % GIB == 0)
                snprintf(buf, len, "%" PRIu64 " GiB", page_size / GIB);
        else if (page_size >= MIB && page_size % MIB == 0)
                snprintf(buf, len, "%" PRIu64 " MiB", page_size / MIB);
        else
                snprintf(buf, len, "%" PRIu64 " KiB", page_size / KIB);
}

void hugepages_size_short(uint64_t page_size, char *buf, size_t len)
{
        if (page_size >= GIB && page_size % GIB == 0)
                snprintf(buf, len, "%" PRIu64 "G", page_size / GIB);
        else if (page_size >= MIB && page_size % MIB == 0)
                snprintf(buf, len, "%" PRIu64 "M", page_size / MIB);
        else
                snprintf(buf, len, "%" PRIu64 "K", page_size / KIB);
}

int hugepages_size_parse(const char *s, uint64_t *ret)
{
        unsigned long long v;
        uint64_t unit;
        char *end;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || v == 0)
                return -EINVAL;
        switch (*end) {
        case 'K':
                unit = KIB;
                break;
        case 'M':
                unit = MIB;
                break;
        case 'G':
                unit = GIB;
                break;
        default:
                return -EINVAL;
        }
        if (end[1] != '\0' || v > UINT64_MAX / unit)
                return -EINVAL;
        *ret = v * unit;
        return 0;
}

static char *pool_dir(const char *root, uint64_t page_size, int node)
{
        char *p;
        int r;

        if (!root || strcmp(root, "/") == 0)
                root = "";
        if (node < 0)
                r = asprintf(&p, "%s/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB", root,
                             page_size / KIB);
        else
                r = asprintf(&p, "%s/sys/devices/system/node/node%d/hugepages/hugepages-%" PRIu64 "kB", root,
                             node, page_size / KIB);
        return r < 0 ? NULL : p;
}

static int read_u64(const char *dir, const char *name, uint64_t *ret)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        char buf[64], *end;
        unsigned long long v;
        ssize_t n;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        errno = 0;
        v = strtoull(buf, &end, 10);
        if (errno != 0 || end == buf || (*end && *end != '\n'))
                return -EBADMSG;
        *ret = v;
        return 0;
}

static int write_u64(const char *dir, const char *name, uint64_t v)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        char buf[32];
        ssize_t n;
        int len;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        /* O_TRUNC is what a shell's `>` does: sysfs ignores it, a fixture file needs it. */
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
        n = write(fd, buf, (size_t)len);
        if (n < 0)
                return -errno;
        return n == len ? 0 : -EIO;
}

int hugepages_pool_read(const char *root, uint64_t page_size, int node, struct vx_hugepage_pool *ret)
{
        _cleanup_free_ char *dir = pool_dir(root, page_size, node);
        struct vx_hugepage_pool pool = {0};
        struct stat st;
        int r;

        if (!dir)
                return -ENOMEM;
        if (stat(dir, &st) < 0) {
                _cleanup_free_ char *node_dir = NULL;

                if (errno != ENOENT)
                        return -errno;
                if (node < 0)
                        return -EOPNOTSUPP;
                /* No such node, or a node without that page size? */
                node_dir = strdup(dir);
                if (!node_dir)
                        return -ENOMEM;
                *strrchr(node_dir, '/') = '\0';
                *strrchr(node_dir, '/') = '\0';
                return stat(node_dir, &st) < 0 ? -ENODEV : -EOPNOTSUPP;
        }
        r = read_u64(dir, "nr_hugepages", &pool.total);
        if (r >= 0)
                r = read_u64(dir, "free_hugepages", &pool.free);
        if (r >= 0)
                r = read_u64(dir, "surplus_hugepages", &pool.surplus);
        if (r >= 0 && node < 0)
                r = read_u64(dir, "resv_hugepages", &pool.reserved);
        if (r < 0)
                return r;
        *ret = pool;
        return 0;
}

uint64_t hugepages_available(const struct vx_hugepage_pool *pool)
{
        return pool->free > pool->reserved ? pool->free - pool->reserved : 0;
}

int hugepages_grow(const char *root, uint64_t page_size, int node, uint64_t missing, uint64_t *ret_total)
{
        _cleanup_free_ char *dir = pool_dir(root, page_size, node);
        struct vx_hugepage_pool pool;
        uint64_t now;
        int r;

        if (!dir)
                return -ENOMEM;
        r = hugepages_pool_read(root, page_size, node, &pool);
        if (r < 0)
                return r;
        if (missing == 0) {
                *ret_total = pool.total;
                return 0;
        }
        r = write_u64(dir, "nr_hugepages", pool.total + missing);
        if (r < 0)
                return r;
        r = read_u64(dir, "nr_hugepages", &now);
        if (r < 0)
                return r;
        if (now < pool.total + missing) {
                uint64_t gave = now > pool.total ? now - pool.total : 0;

                /* Put back what this call added; what others did in between is theirs. */
                if (gave > 0 && write_u64(dir, "nr_hugepages", now - gave) < 0)
                        return -EBUSY;
                return -ENOSPC;
        }
        *ret_total = now;
        return 0;
}

int hugepages_shrink(const char *root, uint64_t page_size, int node, uint64_t added, uint64_t expected_total,
                     uint64_t *ret_total)
{
        _cleanup_free_ char *dir = pool_dir(root, page_size, node);
        uint64_t now, after;
        int r;

        if (!dir)
                return -ENOMEM;
        r = read_u64(dir, "nr_hugepages", &now);
        if (r < 0)
                return r;
        if (added == 0) {
                *ret_total = now;
                return 0;
        }
        if (now != expected_total || now < added) {
                *ret_total = now; /* for the caller's message: someone changed the pool */
                return 1;
        }
        r = write_u64(dir, "nr_hugepages", now - added);
        if (r < 0)
                return r;
        r = read_u64(dir, "nr_hugepages", &after);
        if (r < 0)
                return r;
        *ret_total = after;
        return 0;
}

int hugetlbfs_probe(const char *path, uint64_t *ret_page_size)
{
        struct statfs sfs;

        if (statfs(path, &sfs) < 0)
                return -errno;
        if ((uint64_t)(unsigned long)sfs.f_type != HUGETLBFS_MAGIC)
                return -EMEDIUMTYPE;
        *ret_page_size = (uint64_t)sfs.f_bsize;
        return 0;
}

int hugetlbfs_mount(const char *path, uint64_t page_size, bool *ret_created)
{
        char opts[64], ps[32];
        bool created = false;

        hugepages_size_short(page_size, ps, sizeof(ps));
        if (mkdir(path, 0755) >= 0)
                created = true;
        else if (errno != EEXIST)
                return -errno;
        snprintf(opts, sizeof(opts), "pagesize=%s", ps);
        if (mount("hugetlbfs", path, "hugetlbfs", MS_NOSUID | MS_NODEV, opts) < 0) {
                int r = -errno;

                if (created)
                        (void)rmdir(path);
                return r;
        }
        *ret_created = created;
        return 0;
}

int hugetlbfs_umount(const char *path)
{
        uint64_t ps;
        int r;

        r = hugetlbfs_probe(path, &ps);
        if (r == -ENOENT || r == -EMEDIUMTYPE)
                return 1; /* unmounted by someone else already */
        if (r < 0)
                return r;
        if (umount2(path, UMOUNT_NOFOLLOW) < 0) {
                r = -errno;
                if (r == -EINVAL)
                        return 1; /* not a mount point: what is mounted is above it, not ours */
                return r;
        }
        return 0;
}

int hugepages_process_kib(const char *root, int pid, uint64_t *ret_kib)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char line[256];
        uint64_t sum = 0;
        bool seen = false;

        if (!root || strcmp(root, "/") == 0)
                root = "";
        if (asprintf(&path, "%s/proc/%d/smaps_rollup", root, pid) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                unsigned long long kib;

                if (sscanf(line, "Private_Hugetlb: %llu kB", &kib) == 1 ||
                    sscanf(line, "Shared_Hugetlb: %llu kB", &kib) == 1) {
                        sum += kib;
                        seen = true;
                }
        }
        if (!seen)
                return -ENODATA;
        *ret_kib = sum;
        return 0;
}
