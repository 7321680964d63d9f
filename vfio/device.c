/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Facts about PFs, VFs and PCI devices, and the preconditions of a bind. */
#include "vfio.h"
#include "sysfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEV "/sys/bus/pci/devices/%s"

int vfio_check_bdf(const char *bdf)
{
        static const char shape[] = "xxxx:xx:xx.x";

        if (!bdf || strlen(bdf) != sizeof(shape) - 1)
                return -EINVAL;
        for (size_t i = 0; shape[i]; i++) {
                char c = bdf[i];

                if (shape[i] != 'x' ? c != shape[i] : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                        return -EINVAL;
        }
        if (bdf[11] > '7' || bdf[8] > '1') /* function 0-7, device 00-1f */
                return -EINVAL;
        return 0;
}

int vfio_read_driver(const char *root, const char *bdf, char buf[VX_VFIO_DRIVER_SIZE])
{
        int r = sysfs_link_name(root, buf, VX_VFIO_DRIVER_SIZE, DEV "/driver", bdf);

        if (r == -ENOENT) {
                buf[0] = 0;
                return 0;
        }
        return r;
}

static int read_numa(const char *root, const char *bdf)
{
        long v;

        if (sysfs_read_long(root, &v, DEV "/numa_node", bdf) < 0 || v < 0)
                return -1;
        return (int)v;
}

int vfio_pf_get(const char *root, const char *ifname, struct vx_vfio_pf *ret)
{
        _cleanup_free_ struct vx_vfio_pf *pf = calloc(1, sizeof(*pf));
        long total, num;
        int r;

        if (!pf)
                return -ENOMEM;
        if (!ifname || !*ifname || strlen(ifname) >= sizeof(pf->ifname) || strchr(ifname, '/'))
                return -EINVAL;
        snprintf(pf->ifname, sizeof(pf->ifname), "%s", ifname);
        r = sysfs_link_name(root, pf->bdf, sizeof(pf->bdf), "/sys/class/net/%s/device", ifname);
        if (r == -ENOENT)
                return sysfs_exists(root, "/sys/class/net/%s", ifname) ? -ENOTSUP : -ENODEV;
        if (r < 0)
                return r;
        if (vfio_check_bdf(pf->bdf) < 0)
                return -ENOTSUP; /* not a PCI device */
        r = sysfs_read_long(root, &total, DEV "/sriov_totalvfs", pf->bdf);
        if (r == -ENOENT)
                return -ENOTSUP;
        if (r < 0)
                return r;
        r = sysfs_read_long(root, &num, DEV "/sriov_numvfs", pf->bdf);
        if (r < 0)
                return r;
        if (total < 0 || num < 0 || num > total)
                return -EIO;
        if (total > VX_VFIO_MAX_VFS)
                return -E2BIG;
        pf->total_vfs = (unsigned)total;
        pf->num_vfs = (unsigned)num;
        r = vfio_read_driver(root, pf->bdf, pf->driver);
        if (r < 0)
                return r;
        pf->numa_node = read_numa(root, pf->bdf);
        for (unsigned i = 0; i < pf->num_vfs; i++) {
                r = sysfs_link_name(root, pf->vfs[i], sizeof(pf->vfs[i]), DEV "/virtfn%u", pf->bdf, i);
                if (r < 0)
                        return r == -ENOENT ? -EIO : r; /* sriov_numvfs says it exists */
        }
        memcpy(ret, pf, sizeof(*pf));
        return 0;
}

int vfio_pf_vf(const char *root, const char *ifname, unsigned vf, char ret[VX_VFIO_BDF_SIZE])
{
        _cleanup_free_ struct vx_vfio_pf *pf = NULL;
        int r;

        r = vfio_pf_new(root, ifname, &pf);
        if (r < 0)
                return r;
        if (vf >= pf->total_vfs)
                return -ERANGE;
        if (vf >= pf->num_vfs)
                return -ENXIO;
        memcpy(ret, pf->vfs[vf], VX_VFIO_BDF_SIZE);
        return 0;
}

int vfio_vf_of(const char *root, const char *bdf, char ret_pf[VX_NETSETUP_IFNAMSIZ], unsigned *ret_vf)
{
        _cleanup_free_ struct vx_vfio_device *vf = NULL, *pfdev = NULL;
        _cleanup_free_ struct vx_vfio_pf *pf = NULL;
        int r;

        r = vfio_device_new(root, bdf, &vf);
        if (r < 0)
                return r;
        if (!vf->physfn[0])
                return -EINVAL;
        r = vfio_device_new(root, vf->physfn, &pfdev);
        if (r < 0)
                return r;
        if (pfdev->n_net == 0)
                return -ENODEV;
        r = vfio_pf_new(root, pfdev->net[0], &pf);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < pf->num_vfs; i++)
                if (strcmp(pf->vfs[i], vf->bdf) == 0) {
                        memcpy(ret_pf, pf->ifname, VX_NETSETUP_IFNAMSIZ);
                        *ret_vf = i;
                        return 0;
                }
        return -ENOENT;
}

static int read_group_peers(const char *root, struct vx_vfio_device *d)
{
        char **l = NULL;
        long class;
        int r;

        r = sysfs_list(root, &l, "/sys/kernel/iommu_groups/%d/devices", d->iommu_group);
        if (r < 0)
                return r;
        d->n_peers = 0;
        for (char **i = l; *i; i++) {
                struct vx_vfio_peer *p;

                if (strcmp(*i, d->bdf) == 0 || vfio_check_bdf(*i) < 0)
                        continue;
                if (d->n_peers >= VX_VFIO_GROUP_MAX) {
                        sysfs_strv_free(l);
                        return -E2BIG;
                }
                p = &d->peers[d->n_peers++];
                snprintf(p->bdf, sizeof(p->bdf), "%s", *i);
                p->bridge = sysfs_read_long(root, &class, DEV "/class", p->bdf) >= 0 && (class >> 8) == 0x0604;
                r = vfio_read_driver(root, p->bdf, p->driver);
                if (r < 0) {
                        sysfs_strv_free(l);
                        return r;
                }
        }
        sysfs_strv_free(l);
        return 0;
}

int vfio_device_get(const char *root, const char *bdf, struct vx_vfio_device *ret)
{
        _cleanup_free_ struct vx_vfio_device *d = calloc(1, sizeof(*d));
        char buf[32], **net = NULL;
        long v;
        int r;

        if (!d)
                return -ENOMEM;
        if (vfio_check_bdf(bdf) < 0)
                return -EINVAL;
        if (!sysfs_exists(root, DEV, bdf))
                return -ENODEV;
        snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
        r = sysfs_read_long(root, &v, DEV "/vendor", bdf);
        if (r < 0)
                return r;
        d->vendor = (unsigned)v;
        r = sysfs_read_long(root, &v, DEV "/device", bdf);
        if (r < 0)
                return r;
        d->device = (unsigned)v;
        r = vfio_read_driver(root, bdf, d->driver);
        if (r < 0)
                return r;
        r = vfio_sysfs_read(root, d->driver_override, sizeof(d->driver_override), DEV "/driver_override", bdf);
        if (r == -ENOENT || (r >= 0 && strcmp(d->driver_override, "(null)") == 0))
                memset(d->driver_override, 0, sizeof(d->driver_override));
        else if (r < 0)
                return r;
        d->numa_node = read_numa(root, bdf);
        if (sysfs_link_name(root, d->physfn, sizeof(d->physfn), DEV "/physfn", bdf) < 0)
                d->physfn[0] = 0;
        d->iommu_group = -1;
        r = sysfs_link_name(root, buf, sizeof(buf), DEV "/iommu_group", bdf);
        if (r >= 0) {
                char *end;
                long g = strtol(buf, &end, 10);

                if (end == buf || *end || g < 0)
                        return -EIO;
                d->iommu_group = (int)g;
                r = read_group_peers(root, d);
                if (r < 0)
                        return r;
        } else if (r != -ENOENT)
                return r;
        if (sysfs_list(root, &net, DEV "/net", bdf) >= 0) {
                for (char **i = net; *i && d->n_net < VX_VFIO_NET_MAX; i++)
                        snprintf(d->net[d->n_net++], VX_NETSETUP_IFNAMSIZ, "%s", *i);
                sysfs_strv_free(net);
        }
        memcpy(ret, d, sizeof(*d));
        return 0;
}

int vfio_check_iommu(const char *root, char **why)
{
        char **l = NULL;
        bool any;
        int r;

        r = sysfs_list(root, &l, "/sys/kernel/iommu_groups");
        if (r == -ENOMEM)
                return r;
        any = r >= 0 && l[0];
        sysfs_strv_free(l);
        if (any)
                return 0;
        return vfio_say(
                -ENODEV, why,
                "The IOMMU is off (no groups in /sys/kernel/iommu_groups): enable VT-d/AMD-Vi in the firmware and "
                "boot the host with intel_iommu=on (Intel) or amd_iommu=on (AMD) on the kernel command line.");
}

/* Whether modules.dep or modules.builtin of the running kernel lists vfio-pci.ko. */
static bool module_listed(const char *root, const char *release, const char *file)
{
        _cleanup_free_ char *p = sysfs_path(root, "/lib/modules/%s/%s", release, file);
        _cleanup_fclose_ FILE *f = p ? fopen(p, "re") : NULL;
        char line[512];

        while (f && fgets(line, sizeof(line), f)) {
                char *colon = strchr(line, ':'), *nl = strchr(line, '\n');
                const char *base;

                if (colon)
                        *colon = 0;
                if (nl)
                        *nl = 0;
                base = strrchr(line, '/');
                base = base ? base + 1 : line;
                if (strncmp(base, "vfio-pci.ko", 11) == 0 || strncmp(base, "vfio_pci.ko", 11) == 0)
                        return true;
        }
        return false;
}

int vfio_check_driver(const char *root, char **why)
{
        char release[128];

        if (sysfs_exists(root, "/sys/bus/pci/drivers/vfio-pci"))
                return 0;
        if (vfio_sysfs_read(root, release, sizeof(release), "/proc/sys/kernel/osrelease") >= 0 &&
            (module_listed(root, release, "modules.dep") || module_listed(root, release, "modules.builtin")))
                return 1;
        return vfio_say(
                -ENOENT, why,
                "vfio-pci is not available: /sys/bus/pci/drivers/vfio-pci does not exist and the running kernel "
                "has no vfio-pci module (modprobe vfio-pci, or install a kernel with CONFIG_VFIO_PCI).");
}

static bool viable_peer(const struct vx_vfio_peer *p)
{
        return !*p->driver || strcmp(p->driver, "vfio-pci") == 0 || strcmp(p->driver, "pci-stub") == 0 || p->bridge;
}

int vfio_check_group(const char *root, const char *bdf, char **why)
{
        _cleanup_free_ struct vx_vfio_device *d = NULL;
        _cleanup_free_ char *list = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        r = vfio_device_new(root, bdf, &d);
        if (r < 0)
                return r;
        if (d->iommu_group < 0)
                return vfio_say(-ENXIO, why, "%s has no IOMMU group: the IOMMU is off (intel_iommu=on / amd_iommu=on).",
                                bdf);
        f = open_memstream(&list, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0, n = 0; i < d->n_peers; i++)
                if (!viable_peer(&d->peers[i]))
                        fprintf(f, "%s%s (%s)", n++ ? ", " : "", d->peers[i].bdf, d->peers[i].driver);
        if (fclose(f) != 0)
                return -ENOMEM;
        if (!list || !*list)
                return 0;
        return vfio_say(
                -EBUSY, why,
                "IOMMU group %d of %s is not viable: %s %s bound to a host driver; every device of a group must "
                "be unbound, on vfio-pci or on pci-stub before one of them can be passed through.",
                d->iommu_group, bdf, list, strchr(list, ',') ? "are" : "is");
}

int vfio_check_not_in_use(const char *root, struct vx_netsetup *ns, const char *bdf, char **why)
{
        _cleanup_free_ struct vx_vfio_device *d = NULL;
        int r;

        if (!ns)
                return -EINVAL;
        r = vfio_device_new(root, bdf, &d);
        if (r < 0)
                return r;
        for (size_t i = 0; i < d->n_net; i++) {
                struct vx_netsetup_link l;
                char **addrs = NULL;

                r = netsetup_link_get(ns, d->net[i], &l);
                if (r == -ENODEV)
                        continue;
                if (r < 0)
                        return r;
                if (!l.up)
                        continue;
                r = netsetup_addresses(ns, d->net[i], &addrs);
                if (r < 0)
                        return r;
                if (addrs[0]) {
                        r = vfio_say(-EBUSY, why, "%s is host interface %s, up with address %s%s; refusing to take it.",
                                     bdf, d->net[i], addrs[0], addrs[1] ? " and more" : "");
                        netsetup_strv_free(addrs);
                        return r;
                }
                netsetup_strv_free(addrs);
        }
        return 0;
}

int vfio_device_new(const char *root, const char *bdf, struct vx_vfio_device **ret)
{
        _cleanup_free_ struct vx_vfio_device *d = malloc(sizeof(*d));
        int r;

        if (!d)
                return -ENOMEM;
        r = vfio_device_get(root, bdf, d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

int vfio_pf_new(const char *root, const char *ifname, struct vx_vfio_pf **ret)
{
        _cleanup_free_ struct vx_vfio_pf *pf = malloc(sizeof(*pf));
        int r;

        if (!pf)
                return -ENOMEM;
        r = vfio_pf_get(root, ifname, pf);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(pf);
        return 0;
}
