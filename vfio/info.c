/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What `vmxrun doctor` and `vmxrun status` show: PFs, a VF as it is, the IOMMU. */
#include "vfio.h"
#include "sysfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vfio_pfs(const char *root, struct vx_vfio_pf **ret)
{
        _cleanup_free_ struct vx_vfio_pf *list = NULL;
        char **names = NULL;
        size_t n = 0;
        int r;

        r = sysfs_list(root, &names, "/sys/class/net");
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        for (char **i = names; *i; i++) {
                struct vx_vfio_pf *grown;

                if (!sysfs_exists(root, "/sys/class/net/%s/device/sriov_totalvfs", *i))
                        continue;
                grown = realloc(list, (n + 1) * sizeof(*list));
                if (!grown) {
                        sysfs_strv_free(names);
                        return -ENOMEM;
                }
                list = grown;
                r = vfio_pf_get(root, *i, &list[n]);
                if (r == -ENOMEM) {
                        sysfs_strv_free(names);
                        return r;
                }
                if (r >= 0 && list[n].total_vfs > 0)
                        n++;
        }
        sysfs_strv_free(names);
        *ret = n ? TAKE_PTR(list) : NULL;
        return (int)n;
}

int vfio_vf_status(const char *root, struct vx_netsetup *ns, const char *pf, unsigned vf, struct vx_vfio_vf_status *ret)
{
        _cleanup_free_ struct vx_vfio_device *d = NULL;
        struct vx_vfio_vf_status st = {.vf = vf};
        int r;

        if (!pf || strlen(pf) >= sizeof(st.pf))
                return -EINVAL;
        snprintf(st.pf, sizeof(st.pf), "%s", pf);
        r = vfio_pf_vf(root, pf, vf, st.bdf);
        if (r < 0)
                return r;
        r = vfio_device_new(root, st.bdf, &d);
        if (r < 0)
                return r;
        st.iommu_group = d->iommu_group;
        memcpy(st.driver, d->driver, sizeof(st.driver));
        r = netsetup_vf_get(ns, pf, vf, &st.settings);
        if (r < 0)
                return r;
        *ret = st;
        return 0;
}

/* Whether a word of the kernel command line is exactly word. */
static bool cmdline_has(const char *cmdline, const char *word)
{
        size_t len = strlen(word);

        for (const char *s = cmdline; (s = strstr(s, word)); s += len)
                if ((s == cmdline || s[-1] == ' ') && (s[len] == 0 || s[len] == ' ' || s[len] == '\n'))
                        return true;
        return false;
}

static int intel_ir_supported(const char *root)
{
        char **l = NULL;
        int found = -1;

        if (sysfs_list(root, &l, "/sys/class/iommu") < 0)
                return -1;
        for (char **i = l; *i; i++) {
                char ecap[32];
                unsigned long long v;

                if (vfio_sysfs_read(root, ecap, sizeof(ecap), "/sys/class/iommu/%s/intel-iommu/ecap", *i) < 0)
                        continue;
                v = strtoull(ecap, NULL, 16);
                if (!((v >> 3) & 1)) {
                        found = 0; /* one unit without IR: no remapping for its devices */
                        break;
                }
                found = 1;
        }
        sysfs_strv_free(l);
        return found;
}

static bool ir_chips(const char *root)
{
        _cleanup_free_ char *p = sysfs_path(root, "/proc/interrupts");
        _cleanup_fclose_ FILE *f = p ? fopen(p, "re") : NULL;
        char line[512];

        while (f && fgets(line, sizeof(line), f))
                if (strstr(line, " IR-"))
                        return true;
        return false;
}

int vfio_iommu_info(const char *root, struct vx_vfio_iommu_info *ret)
{
        struct vx_vfio_iommu_info info = {0};
        char cmdline[4096], yn[8];
        char **groups = NULL;
        int r;

        r = sysfs_list(root, &groups, "/sys/kernel/iommu_groups");
        if (r == -ENOMEM)
                return r;
        for (char **i = r >= 0 ? groups : NULL; i && *i; i++)
                info.n_groups++;
        sysfs_strv_free(groups);
        if (vfio_sysfs_read(root, cmdline, sizeof(cmdline), "/proc/cmdline") >= 0) {
                info.cmdline_intel = cmdline_has(cmdline, "intel_iommu=on");
                info.cmdline_amd = cmdline_has(cmdline, "amd_iommu=on");
        }
        info.intremap_supported = intel_ir_supported(root);
        info.intremap_enabled = ir_chips(root);
        info.unsafe_interrupts =
                vfio_sysfs_read(root, yn, sizeof(yn),
                                "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts") >= 0 &&
                yn[0] == 'Y';
        info.vfio_pci = vfio_check_driver(root, NULL);
        *ret = info;
        return 0;
}
