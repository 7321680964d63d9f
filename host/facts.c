/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "facts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cpuset.h"
#include "topology.h"

/* The facts own their strings; the public struct exposes them as const. */
struct facts_storage {
        struct vx_host_facts pub;
        struct vx_vf_fact *vfs;
        struct vx_hugetlbfs_fact *hugetlbfs;
        struct vx_hugepage_pool_fact *pools;
        struct vx_sriov_fact *sriov;
        struct vx_pf_fact *pfs;
};

static char *path_join(const char *root, const char *path)
{
        char *s;

        if (asprintf(&s, "%s%s", root, path) < 0)
                return NULL;
        return s;
}

/* Opening /dev/kvm is what QEMU does first; a node that exists but does not open is not usable. */
static bool device_opens(const char *root, const char *dev)
{
        _cleanup_free_ char *p = path_join(root, dev);
        _cleanup_close_ int fd = -EBADF;

        if (!p)
                return false;
        fd = open(p, O_RDWR | O_CLOEXEC | O_NOCTTY);
        return fd >= 0;
}

static unsigned count_online_cpus(const char *root)
{
        _cleanup_free_ char *p = path_join(root, "/sys/devices/system/cpu/online");
        _cleanup_fclose_ FILE *f = NULL;
        char line[4096];
        struct vx_cpuset set;

        if (!p)
                return 0;
        f = fopen(p, "re");
        if (!f || !fgets(line, sizeof(line), f))
                return 0;
        line[strcspn(line, "\n")] = '\0';
        if (vx_cpuset_parse(line, &set) < 0)
                return 0;
        /* The highest online CPU + 1: pin lists name CPUs by number. */
        return (unsigned)vx_cpuset_last(&set) + 1;
}

/* "pagesize=2M" / "pagesize=1024M" / "pagesize=1G" in hugetlbfs mount options. */
static uint64_t parse_pagesize_option(const char *opts)
{
        const char *p = strstr(opts, "pagesize=");
        char *end;
        unsigned long long v;

        if (!p)
                return UINT64_C(2) << 20; /* the default hugepage size on x86_64 */
        v = strtoull(p + strlen("pagesize="), &end, 10);
        switch (*end) {
        case 'G':
                return (uint64_t)v << 30;
        case 'M':
                return (uint64_t)v << 20;
        case 'K':
        case 'k':
                return (uint64_t)v << 10;
        default:
                return v;
        }
}

static int read_hugetlbfs_mounts(const char *root, struct facts_storage *s)
{
        _cleanup_free_ char *p = path_join(root, "/proc/mounts");
        _cleanup_fclose_ FILE *f = NULL;
        char dev[256], dir[PATH_MAX], type[64], opts[1024];

        if (!p)
                return -ENOMEM;
        f = fopen(p, "re");
        if (!f)
                return 0;
        while (fscanf(f, "%255s %4095s %63s %1023s %*d %*d", dev, dir, type, opts) == 4) {
                struct vx_hugetlbfs_fact *n;

                if (strcmp(type, "hugetlbfs") != 0)
                        continue;
                n = realloc(s->hugetlbfs, (s->pub.n_hugetlbfs + 1) * sizeof(*n));
                if (!n)
                        return -ENOMEM;
                s->hugetlbfs = n;
                n[s->pub.n_hugetlbfs].page_size = parse_pagesize_option(opts);
                n[s->pub.n_hugetlbfs].path = strdup(dir);
                if (!n[s->pub.n_hugetlbfs].path)
                        return -ENOMEM;
                s->pub.n_hugetlbfs++;
        }
        return 0;
}

static int add_vf(struct facts_storage *s, const char *pf, int vf, const char *link_target)
{
        const char *bdf = strrchr(link_target, '/');
        struct vx_vf_fact *n;
        char *pf_copy, *bdf_copy;

        bdf = bdf ? bdf + 1 : link_target;
        n = realloc(s->vfs, (s->pub.n_vfs + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        s->vfs = n;
        pf_copy = strdup(pf);
        bdf_copy = strdup(bdf);
        if (!pf_copy || !bdf_copy) {
                free(pf_copy);
                free(bdf_copy);
                return -ENOMEM;
        }
        n[s->pub.n_vfs++] = (struct vx_vf_fact){.pf = pf_copy, .vf = vf, .pci_address = bdf_copy};
        return 0;
}

static int read_u64_file(const char *path, uint64_t *ret);

/* An interface whose device has sriov_totalvfs > 0 is an SR-IOV PF; devdir is its device directory. */
static int add_pf(struct facts_storage *s, const char *ifname, const char *devdir)
{
        _cleanup_free_ char *total_path = NULL, *num_path = NULL;
        uint64_t total = 0, num = 0;
        struct vx_pf_fact *n;

        if (asprintf(&total_path, "%s/sriov_totalvfs", devdir) < 0 ||
            asprintf(&num_path, "%s/sriov_numvfs", devdir) < 0)
                return -ENOMEM;
        if (read_u64_file(total_path, &total) < 0 || total == 0)
                return 0;
        (void)read_u64_file(num_path, &num);
        n = realloc(s->pfs, (s->pub.n_pfs + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        s->pfs = n;
        n[s->pub.n_pfs] =
                (struct vx_pf_fact){.ifname = strdup(ifname), .total_vfs = (unsigned)total, .num_vfs = (unsigned)num};
        if (!n[s->pub.n_pfs].ifname)
                return -ENOMEM;
        s->pub.n_pfs++;
        return 0;
}

/* Each /sys/class/net/<pf>/device/virtfn<N> is a symlink to the VF's PCI device directory. */
static int read_vfs_of(const char *root, const char *pf, struct facts_storage *s)
{
        _cleanup_free_ char *devdir = NULL;
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (asprintf(&devdir, "%s/sys/class/net/%s/device", root, pf) < 0)
                return -ENOMEM;
        r = add_pf(s, pf, devdir);
        if (r < 0)
                return r;
        d = opendir(devdir);
        if (!d)
                return 0;
        while (r >= 0 && (de = readdir(d))) {
                char target[PATH_MAX];
                _cleanup_free_ char *link = NULL;
                char *end;
                long vf;
                ssize_t n;

                if (strncmp(de->d_name, "virtfn", 6) != 0)
                        continue;
                vf = strtol(de->d_name + 6, &end, 10);
                if (*end || end == de->d_name + 6 || vf < 0 || vf > INT_MAX)
                        continue;
                if (asprintf(&link, "%s/%s", devdir, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                n = readlink(link, target, sizeof(target) - 1);
                if (n < 0)
                        continue;
                target[n] = '\0';
                r = add_vf(s, pf, (int)vf, target);
        }
        closedir(d);
        return r;
}

static int read_vfs(const char *root, struct facts_storage *s)
{
        _cleanup_free_ char *p = path_join(root, "/sys/class/net");
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (!p)
                return -ENOMEM;
        d = opendir(p);
        if (!d)
                return 0;
        while (r >= 0 && (de = readdir(d)))
                if (de->d_name[0] != '.')
                        r = read_vfs_of(root, de->d_name, s);
        closedir(d);
        return r;
}

static bool exists(const char *root, const char *path)
{
        _cleanup_free_ char *p = path_join(root, path);

        return p && access(p, F_OK) == 0;
}

static size_t count_entries(const char *root, const char *path)
{
        _cleanup_free_ char *dir = path_join(root, path);
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        if (!dir || !(d = opendir(dir)))
                return 0;
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

static int read_u64_file(const char *path, uint64_t *ret)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        unsigned long long v;

        if (!f)
                return -errno;
        if (fscanf(f, "%llu", &v) != 1)
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* The whole-host hugepage pools, one per page size the kernel offers. */
static int read_pools(const char *root, struct facts_storage *s)
{
        _cleanup_free_ char *dir = path_join(root, "/sys/kernel/mm/hugepages");
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return 0;
        while (r >= 0 && (de = readdir(d))) {
                _cleanup_free_ char *total = NULL, *free_path = NULL;
                struct vx_hugepage_pool_fact pool = {0};
                struct vx_hugepage_pool_fact *n;
                unsigned long long kib;

                if (sscanf(de->d_name, "hugepages-%llukB", &kib) != 1)
                        continue;
                if (asprintf(&total, "%s/%s/nr_hugepages", dir, de->d_name) < 0 ||
                    asprintf(&free_path, "%s/%s/free_hugepages", dir, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                pool.page_size = (uint64_t)kib << 10;
                (void)read_u64_file(total, &pool.total);
                (void)read_u64_file(free_path, &pool.free);
                n = realloc(s->pools, (s->pub.n_pools + 1) * sizeof(*n));
                if (!n) {
                        r = -ENOMEM;
                        break;
                }
                s->pools = n;
                n[s->pub.n_pools++] = pool;
        }
        closedir(d);
        return r;
}

/* PCI devices that can have VFs. */
static int read_sriov(const char *root, struct facts_storage *s)
{
        _cleanup_free_ char *dir = path_join(root, "/sys/bus/pci/devices");
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return 0;
        while (r >= 0 && (de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                struct vx_sriov_fact *n;
                uint64_t total;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&p, "%s/%s/sriov_totalvfs", dir, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (read_u64_file(p, &total) < 0 || total == 0)
                        continue;
                n = realloc(s->sriov, (s->pub.n_sriov + 1) * sizeof(*n));
                if (!n) {
                        r = -ENOMEM;
                        break;
                }
                s->sriov = n;
                n[s->pub.n_sriov] =
                        (struct vx_sriov_fact){.pci_address = strdup(de->d_name), .total_vfs = (unsigned)total};
                if (!n[s->pub.n_sriov].pci_address) {
                        r = -ENOMEM;
                        break;
                }
                s->pub.n_sriov++;
        }
        closedir(d);
        return r;
}

int host_facts_gather(const char *root, struct vx_host_facts **ret)
{
        struct facts_storage *s;
        int r;

        if (!root || strcmp(root, "/") == 0)
                root = "";

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->pub.kvm_usable = device_opens(root, "/dev/kvm");
        s->pub.vhost_net = device_opens(root, "/dev/vhost-net");
        s->pub.tun = exists(root, "/dev/net/tun");
        s->pub.n_cpus = count_online_cpus(root);
        s->pub.n_iommu_groups = count_entries(root, "/sys/kernel/iommu_groups");

        r = read_hugetlbfs_mounts(root, s);
        if (r >= 0)
                r = read_vfs(root, s);
        if (r >= 0)
                r = read_pools(root, s);
        if (r >= 0)
                r = read_sriov(root, s);
        if (r >= 0) {
                struct vx_host_topology *t = NULL;

                /* A tree without cpu/online (a partial fixture) has no topology: placement says so. */
                r = host_topology_read(root[0] ? root : "/", &t);
                s->pub.topology = t;
                if (r == -ENOENT || r == -EBADMSG)
                        r = 0;
        }
        s->pub.vfs = s->vfs;
        s->pub.hugetlbfs = s->hugetlbfs;
        s->pub.pools = s->pools;
        s->pub.sriov = s->sriov;
        s->pub.pfs = s->pfs;
        if (r < 0) {
                host_facts_free(&s->pub);
                return r;
        }
        *ret = &s->pub;
        return 0;
}

struct vx_host_facts *host_facts_free(struct vx_host_facts *facts)
{
        struct facts_storage *s = (struct facts_storage *)facts;

        if (!facts)
                return NULL;
        for (size_t i = 0; i < facts->n_vfs; i++) {
                free((char *)s->vfs[i].pf);
                free((char *)s->vfs[i].pci_address);
        }
        for (size_t i = 0; i < facts->n_hugetlbfs; i++)
                free((char *)s->hugetlbfs[i].path);
        for (size_t i = 0; i < facts->n_sriov; i++)
                free((char *)s->sriov[i].pci_address);
        free(s->vfs);
        free(s->hugetlbfs);
        free(s->pools);
        free(s->sriov);
        for (size_t i = 0; i < facts->n_pfs; i++)
                free((char *)s->pfs[i].ifname);
        free(s->pfs);
        host_topology_free((struct vx_host_topology *)facts->topology);
        free(s);
        return NULL;
}
