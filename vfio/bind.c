/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Binding to vfio-pci and back, and sriov_numvfs. */
#include "vfio.h"
#include "sysfs.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#define DEV "/sys/bus/pci/devices/%s"

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Waits for root/dev/vfio/<group>: inotify on /dev/vfio (or /dev while that
 * does not exist), re-checked at least every 100 ms in case the watch missed
 * the directory's creation. Bounded by timeout_ms.
 */
static int wait_group_dev(const char *root, int group, unsigned timeout_ms)
{
        _cleanup_free_ char *dir = sysfs_path(root, "/dev/vfio"), *dev = sysfs_path(root, "/dev");
        _cleanup_close_ int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        uint64_t deadline = now_ms() + timeout_ms;

        if (!dir || !dev)
                return -ENOMEM;
        if (ifd >= 0 && inotify_add_watch(ifd, dir, IN_CREATE | IN_ATTRIB) < 0)
                (void)inotify_add_watch(ifd, dev, IN_CREATE);
        for (;;) {
                char buf[4096];
                uint64_t now;
                int wait;

                if (sysfs_exists(root, "/dev/vfio/%d", group))
                        return 0;
                now = now_ms();
                if (now >= deadline)
                        return -ETIMEDOUT;
                wait = (int)(deadline - now < 100 ? deadline - now : 100);
                if (ifd >= 0) {
                        struct pollfd p = {.fd = ifd, .events = POLLIN};

                        if (poll(&p, 1, wait) > 0)
                                while (read(ifd, buf, sizeof(buf)) > 0)
                                        ;
                } else {
                        (void)poll(NULL, 0, wait);
                }
        }
}

static int unbind_from(const char *root, const char *bdf, const char *driver)
{
        return sysfs_write(root, bdf, "/sys/bus/pci/drivers/%s/unbind", driver);
}

/* driver_override: "" clears it (the kernel takes a lone newline as "none"). */
static int set_override(const char *root, const char *bdf, const char *override)
{
        return sysfs_write(root, override && *override ? override : "\n", DEV "/driver_override", bdf);
}

/* Puts bdf on driver (the override is set already): a probe first, as at boot, then an explicit bind. */
static int rebind(const char *root, const char *bdf, const char *driver, char **why)
{
        char cur[VX_VFIO_DRIVER_SIZE];
        int r;

        r = vfio_read_driver(root, bdf, cur);
        if (r < 0)
                return r;
        if (!*cur) {
                /* A failed probe is no error of its own: the check below says what came of it. */
                (void)sysfs_write(root, bdf, "/sys/bus/pci/drivers_probe");
                r = vfio_read_driver(root, bdf, cur);
                if (r < 0)
                        return r;
        }
        if (strcmp(cur, driver) == 0)
                return 0;
        if (*cur && unbind_from(root, bdf, cur) < 0)
                return vfio_say(-EIO, why, "%s went to %s instead of %s and cannot be unbound from it.", bdf, cur,
                                driver);
        r = sysfs_write(root, bdf, "/sys/bus/pci/drivers/%s/bind", driver);
        if (r < 0)
                return vfio_say(r, why, "Failed to bind %s back to %s.", bdf, driver);
        r = vfio_read_driver(root, bdf, cur);
        if (r < 0)
                return r;
        if (strcmp(cur, driver) != 0)
                return vfio_say(-EIO, why, "%s is on %s, not back on %s.", bdf, *cur ? cur : "no driver", driver);
        return 0;
}

int vfio_unbind(const char *root, const char *bdf, const char *driver, const char *override, char **why)
{
        char cur[VX_VFIO_DRIVER_SIZE];
        int r, q;

        driver = driver ?: "";
        if (vfio_check_bdf(bdf) < 0)
                return -EINVAL;
        if (!sysfs_exists(root, DEV, bdf))
                return -ENODEV;
        r = vfio_read_driver(root, bdf, cur);
        if (r < 0)
                return r;
        if (*cur && strcmp(cur, driver) != 0) {
                r = unbind_from(root, bdf, cur);
                if (r < 0)
                        return vfio_say(r, why, "Failed to unbind %s from %s.", bdf, cur);
        }
        /* Best effort from here: a device left without its driver is worse than a stale override. */
        r = set_override(root, bdf, override);
        if (r < 0)
                (void)vfio_say(r, why, "Failed to restore driver_override of %s.", bdf);
        if (!*driver)
                return r;
        q = rebind(root, bdf, driver, r < 0 ? NULL : why);
        return r < 0 ? r : q;
}

static void save_driver(const struct vx_vfio_device *d, struct vx_vfio_record *saved)
{
        if (!saved)
                return;
        memset(saved, 0, sizeof(*saved));
        saved->parts = VX_VFIO_REC_DRIVER;
        memcpy(saved->bdf, d->bdf, sizeof(saved->bdf));
        memcpy(saved->driver, d->driver, sizeof(saved->driver));
        memcpy(saved->driver_override, d->driver_override, sizeof(saved->driver_override));
}

/*
 * The steps of a bind after the facts are read; any failure is undone by the
 * caller. driver_override goes first, as libvirt does it: it changes nothing
 * while the device is bound, and once it is unbound no other driver (a udev
 * rule, someone's drivers_probe) can take it before vfio-pci does.
 */
static int bind_steps(const char *root, const struct vx_vfio_device *d, unsigned timeout_ms, char **why)
{
        char cur[VX_VFIO_DRIVER_SIZE];
        int r;

        r = set_override(root, d->bdf, "vfio-pci");
        if (r < 0)
                return vfio_say(r, why, "Failed to set driver_override of %s to vfio-pci.", d->bdf);
        if (*d->driver) {
                r = unbind_from(root, d->bdf, d->driver);
                if (r < 0)
                        return vfio_say(r, why, "Failed to unbind %s from %s.", d->bdf, d->driver);
        }
        r = sysfs_write(root, d->bdf, "/sys/bus/pci/drivers_probe");
        if (r < 0)
                return vfio_say(r, why, "Failed to probe %s for vfio-pci (drivers_probe).", d->bdf);
        r = vfio_read_driver(root, d->bdf, cur);
        if (r < 0)
                return r;
        if (strcmp(cur, "vfio-pci") != 0)
                return vfio_say(-EIO, why, "vfio-pci did not take %s (it is on %s); is vfio-pci loaded?", d->bdf,
                                *cur ? cur : "no driver");
        r = wait_group_dev(root, d->iommu_group, timeout_ms);
        if (r < 0)
                return vfio_say(r, why, "%s is on vfio-pci but /dev/vfio/%d did not appear within %u ms.", d->bdf,
                                d->iommu_group, timeout_ms);
        return 0;
}

int vfio_bind(const char *root, const char *bdf, unsigned timeout_ms, struct vx_vfio_record *saved, int *ret_group,
              char **why)
{
        _cleanup_free_ struct vx_vfio_device *d = NULL;
        int r;

        r = vfio_device_new(root, bdf, &d);
        if (r < 0)
                return r;
        save_driver(d, saved);
        if (d->iommu_group < 0)
                return vfio_say(-ENXIO, why, "%s has no IOMMU group: the IOMMU is off (intel_iommu=on / amd_iommu=on).",
                                bdf);
        if (strcmp(d->driver, "vfio-pci") == 0)
                r = wait_group_dev(root, d->iommu_group, timeout_ms);
        else
                r = bind_steps(root, d, timeout_ms, why);
        if (r < 0) {
                if (strcmp(d->driver, "vfio-pci") != 0)
                        (void)vfio_unbind(root, bdf, d->driver, d->driver_override, NULL);
                return r;
        }
        *ret_group = d->iommu_group;
        return 0;
}

int vfio_pf_set_num_vfs(const char *root, const char *ifname, unsigned count, char **why)
{
        _cleanup_free_ struct vx_vfio_pf *pf = NULL;
        char value[16];
        int r;

        r = vfio_pf_new(root, ifname, &pf);
        if (r < 0)
                return r;
        if (pf->num_vfs == count)
                return 0;
        if (count > 0 && pf->num_vfs > 0)
                return vfio_say(-EBUSY, why,
                                "%s has %u VFs, not %u: vmxrun only raises sriov_numvfs from 0, since changing it "
                                "destroys the VFs others may be using. Set it to %u by hand if nothing uses them.",
                                ifname, pf->num_vfs, count, count);
        if (count > pf->total_vfs)
                return vfio_say(-ERANGE, why, "%s offers %u VFs (sriov_totalvfs), not %u.", ifname, pf->total_vfs,
                                count);
        snprintf(value, sizeof(value), "%u", count);
        r = sysfs_write(root, value, DEV "/sriov_numvfs", pf->bdf);
        if (r < 0)
                return vfio_say(r, why, "Failed to set sriov_numvfs of %s to %u.", ifname, count);
        r = vfio_pf_get(root, ifname, pf);
        if (r < 0)
                return r;
        if (pf->num_vfs != count)
                return vfio_say(-EIO, why, "%s has %u VFs after setting sriov_numvfs to %u.", ifname, pf->num_vfs,
                                count);
        return 1;
}

int vfio_pf_ensure_vfs(const char *root, const char *ifname, unsigned needed, char **why)
{
        _cleanup_free_ struct vx_vfio_pf *pf = NULL;
        int r;

        r = vfio_pf_new(root, ifname, &pf);
        if (r < 0)
                return r;
        if (pf->num_vfs >= needed)
                return 0;
        if (pf->num_vfs > 0)
                return vfio_say(-EBUSY, why,
                                "%s has %u VFs but %u are needed: vmxrun only raises sriov_numvfs from 0, since "
                                "changing it destroys the VFs others may be using.",
                                ifname, pf->num_vfs, needed);
        return vfio_pf_set_num_vfs(root, ifname, needed, why);
}
