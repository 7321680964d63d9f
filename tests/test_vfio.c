/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio/ against a fake sysfs tree that each test builds in a temp dir, laid
 * out like the kernel's (tests/fake-sysfs.h). vfio/ writes to sysfs only
 * through vfio_sysfs_write(), which this test wraps (-Wl,--wrap) to play the
 * kernel. Failures are injected by path. The netns tests (PF flags on a bridge, "up with
 * addresses") need root and skip without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake-sysfs.h"
#include "vfio.h"

/* Field by field: the structs' padding is not part of a record. */
static void assert_record_equal(const struct vx_vfio_record *a, const struct vx_vfio_record *b)
{
        assert_int_equal(a->parts, b->parts);
        assert_string_equal(a->bdf, b->bdf);
        assert_string_equal(a->driver, b->driver);
        assert_string_equal(a->driver_override, b->driver_override);
        assert_string_equal(a->pf, b->pf);
        assert_int_equal(a->vf, b->vf);
        assert_int_equal(a->num_vfs, b->num_vfs);
        if (a->parts & VX_VFIO_REC_VF) {
                const struct vx_netsetup_vf *x = &a->vf_settings, *y = &b->vf_settings;

                assert_int_equal(x->index, y->index);
                assert_string_equal(x->mac, y->mac);
                assert_int_equal(x->vlan, y->vlan);
                assert_int_equal(x->qos, y->qos);
                assert_int_equal(x->max_rate, y->max_rate);
                assert_int_equal(x->min_rate, y->min_rate);
                assert_int_equal(x->spoofchk, y->spoofchk);
                assert_int_equal(x->trust, y->trust);
                assert_int_equal(x->link_state, y->link_state);
        }
        if (a->parts & VX_VFIO_REC_PF) {
                assert_int_equal(a->pf_settings.up, b->pf_settings.up);
                assert_int_equal(a->pf_settings.mtu, b->pf_settings.mtu);
                assert_int_equal(a->pf_settings.promisc, b->pf_settings.promisc);
                assert_int_equal(a->pf_settings.allmulti, b->pf_settings.allmulti);
        }
}

/* ---- facts ---- */

static void test_pf_facts_and_numvfs(void **state)
{
        struct vx_vfio_pf pf;
        char bdf[VX_VFIO_BDF_SIZE], *why = NULL;

        assert_int_equal(vfio_pf_get(T, "p3p1", &pf), 0);
        assert_string_equal(pf.bdf, "0000:03:00.0");
        assert_string_equal(pf.driver, "igb");
        assert_int_equal(pf.numa_node, 1);
        assert_int_equal(pf.total_vfs, 7);
        assert_int_equal(pf.num_vfs, 0);
        assert_int_equal(vfio_pf_vf(T, "p3p1", 0, bdf), -ENXIO);

        assert_int_equal(vfio_pf_set_num_vfs(T, "p3p1", 4, &why), 1);
        assert_null(why);
        assert_string_equal(writes, "sriov_numvfs=4;");
        assert_int_equal(vfio_pf_get(T, "p3p1", &pf), 0);
        assert_int_equal(pf.num_vfs, 4);
        assert_string_equal(pf.vfs[0], "0000:03:10.0");
        assert_string_equal(pf.vfs[3], "0000:03:10.3");
        assert_int_equal(vfio_pf_vf(T, "p3p1", 2, bdf), 0);
        assert_string_equal(bdf, "0000:03:10.2");
        {
                /* And back: what status shows for a VF vf: auto picked, known by its address only. */
                char ifname[VX_NETSETUP_IFNAMSIZ];
                unsigned vf = 99;

                assert_int_equal(vfio_vf_of(T, "0000:03:10.3", ifname, &vf), 0);
                assert_string_equal(ifname, "p3p1");
                assert_int_equal(vf, 3);
                assert_int_equal(vfio_vf_of(T, "0000:03:00.0", ifname, &vf), -EINVAL); /* the PF is no VF */
                assert_true(vfio_vf_of(T, "0000:03:10.6", ifname, &vf) < 0);           /* not created */
        }
        /* VF index out of range: beyond sriov_totalvfs it can never exist; beyond numvfs it does not yet. */
        assert_int_equal(vfio_pf_vf(T, "p3p1", 7, bdf), -ERANGE);
        assert_int_equal(vfio_pf_vf(T, "p3p1", 5, bdf), -ENXIO);

        /* The same count again is no change; another count with VFs present is refused, saying why. */
        writes[0] = 0;
        assert_int_equal(vfio_pf_set_num_vfs(T, "p3p1", 4, NULL), 0);
        assert_int_equal(vfio_pf_set_num_vfs(T, "p3p1", 6, &why), -EBUSY);
        assert_non_null(strstr(why, "only raises sriov_numvfs from 0"));
        assert_string_equal(writes, "");
        free(why);
        why = NULL;
        assert_int_equal(vfio_pf_set_num_vfs(T, "p2p1", 5, &why), -ERANGE);
        assert_non_null(strstr(why, "offers 4 VFs"));
        free(why);
        assert_string_equal(writes, "");

        /* What a start asks: enough VFs. 4 are there: 3 or 4 is no change, 5 is refused. */
        assert_int_equal(vfio_pf_ensure_vfs(T, "p3p1", 3, NULL), 0);
        assert_int_equal(vfio_pf_ensure_vfs(T, "p3p1", 4, NULL), 0);
        why = NULL;
        assert_int_equal(vfio_pf_ensure_vfs(T, "p3p1", 5, &why), -EBUSY);
        assert_non_null(strstr(why, "has 4 VFs but 5 are needed"));
        free(why);
        assert_int_equal(vfio_pf_ensure_vfs(T, "p2p1", 2, NULL), 1);
        assert_int_equal(vfio_pf_set_num_vfs(T, "p2p1", 0, NULL), 1);
        assert_string_equal(writes, "sriov_numvfs=2;sriov_numvfs=0;");

        /* Back to 0: the VFs are gone. */
        assert_int_equal(vfio_pf_set_num_vfs(T, "p3p1", 0, NULL), 1);
        assert_int_equal(vfio_pf_get(T, "p3p1", &pf), 0);
        assert_int_equal(pf.num_vfs, 0);
        assert_false(there("/sys/bus/pci/devices/0000:03:10.0"));
        assert_false(there("/sys/devices/pci0000:00/0000:03:00.0/virtfn0"));
}

static void test_pf_missing(void **state)
{
        struct vx_vfio_pf pf;
        char bdf[VX_VFIO_BDF_SIZE];

        assert_int_equal(vfio_pf_get(T, "p9p9", &pf), -ENODEV);
        assert_int_equal(vfio_pf_vf(T, "p9p9", 0, bdf), -ENODEV);
        assert_int_equal(vfio_pf_set_num_vfs(T, "p9p9", 2, NULL), -ENODEV);
        assert_int_equal(vfio_pf_get(T, "em1", &pf), -ENOTSUP); /* a NIC without SR-IOV */
        assert_int_equal(vfio_pf_get(T, "lo", &pf), -ENOTSUP);  /* no PCI device */
        assert_int_equal(vfio_pf_get(T, "../x", &pf), -EINVAL);
}

static void test_device_facts(void **state)
{
        struct vx_vfio_device d;

        assert_int_equal(vfio_pf_set_num_vfs(T, "p3p1", 2, NULL), 1);
        assert_int_equal(vfio_device_get(T, "0000:03:10.1", &d), 0);
        assert_int_equal(d.vendor, 0x8086);
        assert_int_equal(d.device, 0x10ca);
        assert_string_equal(d.driver, "igbvf");
        assert_string_equal(d.driver_override, "");
        assert_true(d.iommu_group >= 10);
        assert_int_equal(d.n_peers, 0);
        assert_int_equal(d.n_net, 1);
        assert_string_equal(d.net[0], "p3p1v1");
        assert_string_equal(d.physfn, "0000:03:00.0");
        assert_int_equal(d.numa_node, -1);

        assert_int_equal(vfio_device_get(T, "0000:03:00.0", &d), 0);
        assert_string_equal(d.physfn, "");
        assert_string_equal(d.net[0], "p3p1");
        assert_int_equal(vfio_device_get(T, "0000:09:00.0", &d), -ENODEV);
        assert_int_equal(vfio_device_get(T, "0000:03:00.8", &d), -EINVAL);
        assert_int_equal(vfio_device_get(T, "03:00.0", &d), -EINVAL);
        assert_int_equal(vfio_device_get(T, "0000:03:00.0/../x", &d), -EINVAL);
}

static void test_doctor_facts(void **state)
{
        _cleanup_free_ struct vx_vfio_pf *pfs = NULL;
        struct vx_vfio_iommu_info info;
        struct vx_vfio_vf_status st;

        assert_int_equal(vfio_pf_set_num_vfs(T, "p2p1", 1, NULL), 1);
        assert_int_equal(vfio_pfs(T, &pfs), 2); /* em1 has no SR-IOV, lo no device */
        assert_string_equal(pfs[0].ifname, "p2p1");
        assert_int_equal(pfs[0].num_vfs, 1);
        assert_int_equal(pfs[0].numa_node, 0);
        assert_string_equal(pfs[1].ifname, "p3p1");
        assert_int_equal(pfs[1].total_vfs, 7);
        assert_int_equal(vfio_vf_status(T, NULL, "p2p1", 4, &st), -ERANGE);
        assert_int_equal(vfio_vf_status(T, NULL, "p2p1", 1, &st), -ENXIO);

        /* Nothing but groups: no command line, no interrupt facts. */
        assert_int_equal(vfio_iommu_info(T, &info), 0);
        assert_true(info.n_groups >= 3);
        assert_false(info.cmdline_intel);
        assert_int_equal(info.intremap_supported, -1);
        assert_false(info.intremap_enabled);
        assert_false(info.unsafe_interrupts);
        assert_int_equal(info.vfio_pci, 0);

        xmkdir("/proc");
        put("/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on iommu=pt\n");
        put("/proc/interrupts", "  24:  0  IR-PCI-MSI 327680-edge  xhci_hcd\n");
        xmkdir("/sys/class/iommu/dmar0/intel-iommu");
        put("/sys/class/iommu/dmar0/intel-iommu/ecap", "f050da\n"); /* bit 3 (IR) set */
        xmkdir("/sys/module/vfio_iommu_type1/parameters");
        put("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "N\n");
        assert_int_equal(vfio_iommu_info(T, &info), 0);
        assert_true(info.cmdline_intel);
        assert_false(info.cmdline_amd);
        assert_int_equal(info.intremap_supported, 1);
        assert_true(info.intremap_enabled);
        assert_false(info.unsafe_interrupts);
        put("/sys/class/iommu/dmar0/intel-iommu/ecap", "f050d2\n"); /* bit 3 clear */
        put("/proc/cmdline", "root=/dev/sda1 xintel_iommu=on amd_iommu=on\n");
        assert_int_equal(vfio_iommu_info(T, &info), 0);
        assert_int_equal(info.intremap_supported, 0);
        assert_false(info.cmdline_intel);
        assert_true(info.cmdline_amd);
}

/* ---- preconditions ---- */

static void test_iommu_off(void **state)
{
        char *why = NULL;
        int group = -1;
        struct vx_vfio_record saved;

        assert_int_equal(vfio_check_iommu(T, NULL), 0);
        /* No groups at all (the directory exists empty when the IOMMU is off on some kernels, or is missing). */
        rm_tree("/sys/kernel/iommu_groups");
        xmkdir("/sys/kernel/iommu_groups");
        assert_int_equal(vfio_check_iommu(T, &why), -ENODEV);
        assert_non_null(strstr(why, "intel_iommu=on"));
        assert_non_null(strstr(why, "amd_iommu=on"));
        free(why);
        why = NULL;
        rm("/sys/kernel/iommu_groups");
        assert_int_equal(vfio_check_iommu(T, NULL), -ENODEV);

        /* A device without a group is refused before anything is written. */
        rm("/sys/devices/pci0000:00/0000:01:00.0/iommu_group");
        assert_int_equal(vfio_check_group(T, "0000:01:00.0", &why), -ENXIO);
        assert_non_null(strstr(why, "intel_iommu=on"));
        free(why);
        why = NULL;
        assert_int_equal(vfio_bind(T, "0000:01:00.0", 1000, &saved, &group, &why), -ENXIO);
        free(why);
        assert_string_equal(writes, "");
        assert_string_equal(driver_of("0000:01:00.0"), "igb");
        assert_int_equal(group, -1);
}

static void test_driver_available(void **state)
{
        char *why = NULL;

        assert_int_equal(vfio_check_driver(T, NULL), 0);
        rm_tree("/sys/bus/pci/drivers/vfio-pci");
        assert_int_equal(vfio_check_driver(T, &why), -ENOENT);
        assert_non_null(strstr(why, "vfio-pci"));
        free(why);
        xmkdir("/proc/sys/kernel");
        put("/proc/sys/kernel/osrelease", "6.1.0-test\n");
        xmkdir("/lib/modules/6.1.0-test");
        put("/lib/modules/6.1.0-test/modules.dep",
            "kernel/drivers/net/ethernet/intel/igb/igb.ko.xz: kernel/drivers/dca/dca.ko.xz\n");
        assert_int_equal(vfio_check_driver(T, NULL), -ENOENT);
        put("/lib/modules/6.1.0-test/modules.dep",
            "kernel/drivers/vfio/pci/vfio-pci.ko.xz: kernel/drivers/vfio/pci/vfio-pci-core.ko.xz\n");
        assert_int_equal(vfio_check_driver(T, NULL), 1); /* loadable, not loaded */
}

static void test_group_viability(void **state)
{
        char *why = NULL;

        /* A dual-port NIC whose two functions share group 40. */
        fake_device("0000:05:00.0", 0x8086, 0x10fb, "ixgbe", 40, "p5p1", true, 0);
        fake_device("0000:05:00.1", 0x8086, 0x10fb, "ixgbe", 40, "p5p2", true, 0);
        assert_int_equal(vfio_check_group(T, "0000:05:00.0", &why), -EBUSY);
        assert_non_null(strstr(why, "0000:05:00.1 (ixgbe) is bound to a host driver"));
        free(why);
        why = NULL;
        fake_device("0000:05:00.2", 0x8086, 0x10fb, "ixgbe", 40, NULL, true, 0);
        assert_int_equal(vfio_check_group(T, "0000:05:00.0", &why), -EBUSY);
        assert_non_null(strstr(why, "0000:05:00.1 (ixgbe), 0000:05:00.2 (ixgbe) are bound"));
        free(why);
        why = NULL;

        /* Unbound, on vfio-pci or on pci-stub: viable, as libvirt has it. */
        do_unbind(fake_find("0000:05:00.1"));
        do_unbind(fake_find("0000:05:00.2"));
        do_bind(fake_find("0000:05:00.2"), "pci-stub");
        assert_int_equal(vfio_check_group(T, "0000:05:00.0", NULL), 0);
        do_bind(fake_find("0000:05:00.1"), "vfio-pci");
        assert_int_equal(vfio_check_group(T, "0000:05:00.0", NULL), 0);
        /* A PCI bridge in the group may keep its driver (pcieport), as the kernel's vfio allows. */
        fake_device("0000:04:00.0", 0x8086, 0x1901, "pcieport", 40, NULL, false, 0);
        fake_driver("pcieport");
        do_bind(fake_find("0000:04:00.0"), "pcieport");
        put("/sys/devices/pci0000:00/0000:04:00.0/class", "0x060400\n");
        assert_int_equal(vfio_check_group(T, "0000:05:00.0", NULL), 0);
        put("/sys/devices/pci0000:00/0000:04:00.0/class", "0x020000\n"); /* no bridge: not viable */
        assert_int_equal(vfio_check_group(T, "0000:05:00.0", &why), -EBUSY);
        assert_non_null(strstr(why, "0000:04:00.0 (pcieport) is bound"));
        free(why);
        why = NULL;
        /* A VF alone in its group is viable as it is. */
        assert_int_equal(vfio_pf_set_num_vfs(T, "p2p1", 1, NULL), 1);
        assert_int_equal(vfio_check_group(T, "0000:02:10.0", NULL), 0);
}

/* ---- bind, unbind, restore ---- */

static void test_bind_unbind_restore(void **state)
{
        struct vx_vfio_record saved, back;
        _cleanup_free_ char *json = NULL;
        struct vx_vfio_device d;
        char *why = NULL;
        int group = -1;

        assert_int_equal(vfio_pf_set_num_vfs(T, "p3p1", 2, NULL), 1);
        assert_int_equal(vfio_device_get(T, "0000:03:10.1", &d), 0);
        writes[0] = 0;
        assert_int_equal(vfio_bind(T, "0000:03:10.1", 5000, &saved, &group, &why), 0);
        assert_null(why);
        assert_int_equal(group, d.iommu_group);
        /* driver_override first (nothing else can take it once unbound), the unbind, drivers_probe. */
        assert_string_equal(writes, "driver_override=vfio-pci;unbind=0000:03:10.1;drivers_probe=0000:03:10.1;");
        assert_string_equal(driver_of("0000:03:10.1"), "vfio-pci");
        assert_string_equal(override_of("0000:03:10.1"), "vfio-pci");
        assert_true(there("/dev/vfio/%d", group));
        assert_int_equal(saved.parts, VX_VFIO_REC_DRIVER);
        assert_string_equal(saved.bdf, "0000:03:10.1");
        assert_string_equal(saved.driver, "igbvf");
        assert_string_equal(saved.driver_override, "");
        assert_string_equal(driver_of("0000:03:10.0"), "igbvf"); /* the other VF untouched */

        /* Binding again is no change. */
        writes[0] = 0;
        assert_int_equal(vfio_bind(T, "0000:03:10.1", 5000, NULL, &group, NULL), 0);
        assert_string_equal(writes, "");

        /* Through the journal's string and back, then restored. */
        assert_int_equal(vfio_record_to_json(&saved, &json), 0);
        assert_int_equal(vfio_record_from_json(json, &back), 0);
        assert_record_equal(&back, &saved);
        writes[0] = 0;
        assert_int_equal(vfio_record_restore(T, NULL, &back, &why), 0);
        assert_null(why);
        assert_string_equal(writes, "unbind=0000:03:10.1;driver_override=\\n;drivers_probe=0000:03:10.1;");
        assert_string_equal(driver_of("0000:03:10.1"), "igbvf");
        assert_string_equal(override_of("0000:03:10.1"), "(null)");
        assert_false(there("/dev/vfio/%d", group));
        /* Restoring what is already so writes nothing. */
        writes[0] = 0;
        assert_int_equal(vfio_record_restore(T, NULL, &back, NULL), 0);
        assert_string_equal(writes, "");
        /* A VF that is gone (the PF's VFs removed) has nothing left to put back. */
        assert_int_equal(vfio_pf_set_num_vfs(T, "p3p1", 0, NULL), 1);
        writes[0] = 0;
        assert_int_equal(vfio_record_restore(T, NULL, &back, NULL), 0);
        assert_string_equal(writes, "");
}

/* A probe that leaves the device unbound: the explicit bind to the original driver puts it back. */
static void test_unbind_explicit_bind(void **state)
{
        int group;

        assert_int_equal(vfio_pf_set_num_vfs(T, "p3p1", 1, NULL), 1);
        assert_int_equal(vfio_bind(T, "0000:03:10.0", 5000, NULL, &group, NULL), 0);
        /* The device's own driver does not match it by probe any more (its id table was edited, say). */
        snprintf(fake_find("0000:03:10.0")->native, sizeof(fakes[0].native), "%s", "none");
        writes[0] = 0;
        /* ... but an explicit bind is refused by the fake kernel too (no id match): the failure is said. */
        char *why = NULL;
        assert_int_equal(vfio_unbind(T, "0000:03:10.0", "igbvf", NULL, &why), -ENODEV);
        assert_non_null(strstr(why, "back to igbvf"));
        free(why);
        snprintf(fake_find("0000:03:10.0")->native, sizeof(fakes[0].native), "%s", "igbvf");
        assert_int_equal(vfio_unbind(T, "0000:03:10.0", "igbvf", NULL, NULL), 0);
        assert_string_equal(driver_of("0000:03:10.0"), "igbvf");
}

static void check_put_back(const char *bdf)
{
        assert_string_equal(driver_of(bdf), "igbvf");
        assert_string_equal(override_of(bdf), "(null)");
}

static void test_bind_fails_half_way(void **state)
{
        struct vx_vfio_record saved;
        char *why = NULL;
        int group = -1;

        assert_int_equal(vfio_pf_set_num_vfs(T, "p3p1", 1, NULL), 1);

        /* drivers_probe fails: already unbound and overridden, so both are put back. */
        snprintf(fail_suffix, sizeof(fail_suffix), "/drivers_probe");
        fail_errno = EIO;
        writes[0] = 0;
        assert_int_equal(vfio_bind(T, "0000:03:10.0", 5000, &saved, &group, &why), -EIO);
        assert_non_null(strstr(why, "drivers_probe"));
        free(why);
        why = NULL;
        assert_string_equal(saved.driver, "igbvf"); /* saved even on failure, for the journal */
        assert_int_equal(group, -1);
        fail_suffix[0] = 0;
        check_put_back("0000:03:10.0");
        assert_non_null(strstr(writes, "driver_override=\\n;"));
        assert_non_null(strstr(writes, ";bind=0000:03:10.0;")); /* the probe's failure left it unbound */

        /* driver_override fails: it is the first write, the device stays where it is. */
        snprintf(fail_suffix, sizeof(fail_suffix), "0000:03:10.0/driver_override");
        fail_errno = EACCES;
        writes[0] = 0;
        assert_int_equal(vfio_bind(T, "0000:03:10.0", 5000, NULL, &group, NULL), -EACCES);
        fail_suffix[0] = 0;
        assert_null(strstr(writes, "unbind="));
        check_put_back("0000:03:10.0");

        /* The unbind fails after the override was set: the override is cleared again. */
        snprintf(fail_suffix, sizeof(fail_suffix), "igbvf/unbind");
        fail_errno = EBUSY;
        writes[0] = 0;
        assert_int_equal(vfio_bind(T, "0000:03:10.0", 5000, NULL, &group, &why), -EBUSY);
        fail_suffix[0] = 0;
        assert_non_null(strstr(why, "Failed to unbind 0000:03:10.0 from igbvf"));
        free(why);
        why = NULL;
        assert_string_equal(writes, "driver_override=vfio-pci;unbind=0000:03:10.0;driver_override=\\n;");
        check_put_back("0000:03:10.0");

        /* vfio-pci is not loaded: the probe finds no driver, nothing takes the device. */
        rm_tree("/sys/bus/pci/drivers/vfio-pci");
        assert_int_equal(vfio_bind(T, "0000:03:10.0", 5000, NULL, &group, &why), -EIO);
        assert_non_null(strstr(why, "vfio-pci did not take 0000:03:10.0"));
        free(why);
        why = NULL;
        check_put_back("0000:03:10.0");

        /* vfio-pci takes it but /dev/vfio/<group> never comes: a bounded wait, then put back. */
        fake_driver("vfio-pci");
        no_dev_nodes = true;
        assert_int_equal(vfio_bind(T, "0000:03:10.0", 300, NULL, &group, &why), -ETIMEDOUT);
        assert_non_null(strstr(why, "did not appear within 300 ms"));
        free(why);
        check_put_back("0000:03:10.0");
}

/* ---- the ledger and vf: auto ---- */

static bool alive_unless_dead(const char *owner, void *userdata)
{
        return strcmp(owner, "dead") != 0;
}

static char *ledger_dir(void)
{
        static char d[PATH_MAX + 32];

        snprintf(d, sizeof(d), "%s/run/.shared/vfio", T);
        xmkdir("/run/.shared");
        return d;
}

static void test_ledger(void **state)
{
        const char *dir = ledger_dir();
        char *why = NULL, *owner = NULL;

        assert_int_equal(vfio_ledger_claim(dir, "0000:03:10.0", "dep1", NULL, NULL, NULL), 0);
        assert_int_equal(vfio_ledger_claim(dir, "0000:03:10.0", "dep1", NULL, NULL, NULL), 0);
        assert_int_equal(vfio_ledger_claim(dir, "0000:03:10.0", "dep2", NULL, NULL, &why), -EBUSY);
        assert_non_null(strstr(why, "held by deployment dep1"));
        free(why);
        assert_int_equal(vfio_ledger_owner(dir, "0000:03:10.0", NULL, NULL, &owner), 0);
        assert_string_equal(owner, "dep1");
        free(owner);
        assert_int_equal(vfio_ledger_release(dir, "0000:03:10.0", "dep2"), -ENOENT);
        assert_int_equal(vfio_ledger_release(dir, "0000:03:10.0", "dep1"), 0);
        assert_int_equal(vfio_ledger_owner(dir, "0000:03:10.0", NULL, NULL, &owner), -ENOENT);
        assert_int_equal(vfio_ledger_release(dir, "0000:03:10.0", "dep1"), -ENOENT);

        /* A claim whose owner is gone is stale: dropped when someone asks. */
        assert_int_equal(vfio_ledger_claim(dir, "0000:03:10.1", "dead", NULL, NULL, NULL), 0);
        assert_int_equal(vfio_ledger_claim(dir, "0000:03:10.1", "dep2", alive_unless_dead, NULL, NULL), 0);
        assert_int_equal(vfio_ledger_owner(dir, "0000:03:10.1", NULL, NULL, &owner), 0);
        assert_string_equal(owner, "dep2");
        free(owner);

        assert_int_equal(vfio_ledger_claim(dir, "0000:03:10.1", "bad\nname", NULL, NULL, NULL), -EINVAL);
        assert_int_equal(vfio_ledger_claim(dir, "../../etc", "dep1", NULL, NULL, NULL), -EINVAL);

        assert_int_equal(vfio_pf_set_num_vfs(T, "p3p1", 3, NULL), 1);
        assert_int_equal(vfio_ledger_claim(dir, "0000:03:10.2", "dep1", NULL, NULL, NULL), 0);
        assert_int_equal(vfio_ledger_count_pf(T, dir, "p3p1", NULL, NULL), 2);
        assert_int_equal(vfio_ledger_count_pf(T, dir, "p2p1", NULL, NULL), 0);
}

/* Two deployments on one PF: the state from before the first is kept, and given back when the last goes. */
static void test_shared_pf_record(void **state)
{
        const char *dir = ledger_dir();
        struct vx_vfio_record first = {0}, second = {0}, back;
        struct vx_vfio_pf pf;

        assert_int_equal(vfio_record_save(T, NULL, VX_VFIO_REC_NUMVFS, NULL, "p3p1", 0, &first), 0);
        assert_int_equal(first.num_vfs, 0);
        first.parts |= VX_VFIO_REC_PF; /* as netsetup would have read it */
        first.pf_settings = (struct vx_netsetup_pf){.up = false, .mtu = 1500};
        assert_int_equal(vfio_ledger_pf_keep(dir, &first), 1);
        assert_int_equal(vfio_pf_ensure_vfs(T, "p3p1", 2, NULL), 1);
        assert_int_equal(vfio_ledger_claim(dir, "0000:03:10.0", "dep1", NULL, NULL, NULL), 0);

        /* The second deployment sees the changed PF; its record does not replace the first. */
        assert_int_equal(vfio_record_save(T, NULL, VX_VFIO_REC_NUMVFS, NULL, "p3p1", 0, &second), 0);
        assert_int_equal(second.num_vfs, 2);
        assert_int_equal(vfio_ledger_pf_keep(dir, &second), 0);
        assert_int_equal(vfio_ledger_claim(dir, "0000:03:10.1", "dep2", NULL, NULL, NULL), 0);

        /* dep1 stops first: dep2 still holds a VF, nothing is given back. */
        assert_int_equal(vfio_ledger_release(dir, "0000:03:10.0", "dep1"), 0);
        assert_int_equal(vfio_ledger_pf_last(T, dir, "p3p1", NULL, NULL, &back), 0);
        /* dep2 stops: the first record comes back, once. */
        assert_int_equal(vfio_ledger_release(dir, "0000:03:10.1", "dep2"), 0);
        assert_int_equal(vfio_ledger_pf_last(T, dir, "p3p1", NULL, NULL, &back), 1);
        assert_record_equal(&back, &first);
        assert_int_equal(vfio_ledger_pf_last(T, dir, "p3p1", NULL, NULL, &back), -ENOENT);

        /* Restoring its NUMVFS part takes the VFs away again (its PF part needs netlink: the lab does it). */
        back.parts = VX_VFIO_REC_NUMVFS;
        writes[0] = 0;
        assert_int_equal(vfio_record_restore(T, NULL, &back, NULL), 0);
        assert_string_equal(writes, "sriov_numvfs=0;");
        assert_int_equal(vfio_pf_get(T, "p3p1", &pf), 0);
        assert_int_equal(pf.num_vfs, 0);
        /* A host that had VFs of its own keeps them: restoring a count that is there writes nothing. */
        assert_int_equal(vfio_pf_set_num_vfs(T, "p3p1", 3, NULL), 1);
        back.num_vfs = 3;
        writes[0] = 0;
        assert_int_equal(vfio_record_restore(T, NULL, &back, NULL), 0);
        assert_string_equal(writes, "");
        back.num_vfs = 1; /* another count: through 0, as the kernel wants */
        assert_int_equal(vfio_record_restore(T, NULL, &back, NULL), 0);
        assert_string_equal(writes, "sriov_numvfs=0;sriov_numvfs=1;");

        assert_int_equal(vfio_ledger_pf_keep(dir, &(struct vx_vfio_record){.parts = VX_VFIO_REC_DRIVER}), -EINVAL);
        assert_int_equal(vfio_ledger_pf_keep(dir, &(struct vx_vfio_record){.parts = VX_VFIO_REC_PF, .pf = "../x"}),
                         -EINVAL);
}

static void test_auto_selection(void **state)
{
        const char *dir = ledger_dir();
        const char *pfs[] = {"p3p1", "p2p1", "p9p9"};
        struct vx_vfio_choice c;
        char *why = NULL;

        assert_int_equal(vfio_pf_set_num_vfs(T, "p3p1", 4, NULL), 1); /* NUMA node 1 */
        assert_int_equal(vfio_pf_set_num_vfs(T, "p2p1", 2, NULL), 1); /* NUMA node 0 */

        /* The VM's node first ... */
        assert_int_equal(vfio_vf_claim_auto(T, NULL, dir, pfs, 3, 0, "a", NULL, NULL, &c, NULL), 0);
        assert_string_equal(c.pf, "p2p1");
        assert_int_equal(c.vf, 0);
        assert_string_equal(c.bdf, "0000:02:10.0");
        assert_int_equal(vfio_vf_claim_auto(T, NULL, dir, pfs, 3, 0, "b", NULL, NULL, &c, NULL), 0);
        assert_string_equal(c.bdf, "0000:02:10.1");
        /* ... then, with that PF full, the other one. */
        assert_int_equal(vfio_vf_claim_auto(T, NULL, dir, pfs, 3, 0, "c", NULL, NULL, &c, NULL), 0);
        assert_string_equal(c.bdf, "0000:03:10.0");

        /* Someone else's passthrough (vfio-pci or pci-stub without a claim) is not free. */
        do_unbind(fake_find("0000:03:10.1"));
        do_bind(fake_find("0000:03:10.1"), "vfio-pci");
        do_unbind(fake_find("0000:03:10.2"));
        do_bind(fake_find("0000:03:10.2"), "pci-stub");
        assert_int_equal(vfio_vf_claim_auto(T, NULL, dir, pfs, 3, -1, "d", NULL, NULL, &c, NULL), 0);
        assert_string_equal(c.bdf, "0000:03:10.3");
        assert_int_equal(c.vf, 3);
        assert_int_equal(vfio_vf_claim_auto(T, NULL, dir, pfs, 3, -1, "e", NULL, NULL, &c, &why), -ENOSPC);
        assert_non_null(strstr(why, "p3p1, p2p1, p9p9"));
        free(why);

        /* Without a NUMA preference, the PF with most free VFs; an unbound VF is free. */
        assert_int_equal(vfio_ledger_release(dir, "0000:02:10.0", "a"), 0);
        do_unbind(fake_find("0000:03:10.2"));
        assert_int_equal(vfio_ledger_release(dir, "0000:03:10.0", "c"), 0);
        assert_int_equal(vfio_vf_claim_auto(T, NULL, dir, pfs, 3, -1, "f", NULL, NULL, &c, NULL), 0);
        assert_string_equal(c.bdf, "0000:03:10.0"); /* p3p1: 2 free, p2p1: 1 */
        assert_int_equal(vfio_vf_claim_auto(T, NULL, dir, pfs, 3, -1, "g", NULL, NULL, &c, NULL), 0);
        assert_string_equal(c.bdf, "0000:03:10.2"); /* 1 and 1: the order given */
        assert_int_equal(vfio_vf_claim_auto(T, NULL, dir, pfs, 3, -1, "h", NULL, NULL, &c, NULL), 0);
        assert_string_equal(c.bdf, "0000:02:10.0");
}

/* Two processes claim `auto` VFs at once: every VF is claimed once, never twice. */
static void test_auto_concurrent(void **state)
{
        const char *dir = ledger_dir();
        const char *pfs[] = {"p2p1"};
        int go[2], out[2];
        pid_t pids[2];
        char buf[4096] = "";
        size_t len = 0;
        ssize_t n;
        int ok = 0, full = 0;

        assert_int_equal(vfio_pf_set_num_vfs(T, "p2p1", 4, NULL), 1);
        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        for (int p = 0; p < 2; p++) {
                pids[p] = fork();
                assert_true(pids[p] >= 0);
                if (pids[p] == 0) {
                        char owner[16], c;

                        close(go[1]);
                        close(out[0]);
                        snprintf(owner, sizeof(owner), "dep%d", p);
                        if (read(go[0], &c, 1) < 0)
                                _exit(2);
                        for (int i = 0; i < 3; i++) {
                                struct vx_vfio_choice ch;
                                char line[64];
                                int r = vfio_vf_claim_auto(T, NULL, dir, pfs, 1, -1, owner, NULL, NULL, &ch, NULL);

                                snprintf(line, sizeof(line), "%s %s\n", owner,
                                         r == 0         ? ch.bdf
                                         : r == -ENOSPC ? "full"
                                                        : "error");
                                if (write(out[1], line, strlen(line)) < 0)
                                        _exit(2);
                        }
                        _exit(0);
                }
        }
        close(go[0]);
        close(out[1]);
        close(go[1]); /* both start at once */
        while ((n = read(out[0], buf + len, sizeof(buf) - 1 - len)) > 0)
                len += (size_t)n;
        buf[len] = 0;
        close(out[0]);
        for (int p = 0; p < 2; p++) {
                int st;

                assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
                assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        for (unsigned v = 0; v < 4; v++) {
                char bdf[32], *first, *second;

                snprintf(bdf, sizeof(bdf), " 0000:02:10.%u\n", v);
                first = strstr(buf, bdf);
                assert_non_null(first);
                second = strstr(first + 1, bdf);
                assert_null(second);
                ok++;
        }
        for (char *s = buf; (s = strstr(s, " full\n")); s++)
                full++;
        assert_int_equal(ok, 4);
        assert_int_equal(full, 2);
        assert_null(strstr(buf, "error"));
        assert_int_equal(vfio_ledger_count_pf(T, dir, "p2p1", NULL, NULL), 4);
}

/* PF users: a PF is in use from the moment a start decides to use it, claims or not. */
static void test_pf_users(void **state)
{
        const char *dir = ledger_dir();
        struct vx_vfio_pf pf;
        char path[PATH_MAX + 64];

        /* dep1 raises the VFs; dep2 becomes a user before it claims anything. */
        assert_int_equal(vfio_ledger_pf_use(T, NULL, dir, "p3p1", VX_VFIO_REC_NUMVFS, "dep1"), 1);
        assert_int_equal(vfio_pf_ensure_vfs(T, "p3p1", 2, NULL), 1);
        assert_int_equal(vfio_ledger_claim(dir, "0000:03:10.0", "dep1", NULL, NULL, NULL), 0);
        assert_int_equal(vfio_ledger_pf_use(T, NULL, dir, "p3p1", VX_VFIO_REC_NUMVFS, "dep2"), 0);
        assert_int_equal(vfio_ledger_pf_use(T, NULL, dir, "p3p1", VX_VFIO_REC_NUMVFS, "dep2"), 0);

        /* dep1 goes: dep2 has no claim yet, but uses the PF: nothing is given back. */
        assert_int_equal(vfio_ledger_release(dir, "0000:03:10.0", "dep1"), 0);
        writes[0] = 0;
        assert_int_equal(vfio_ledger_pf_done(T, NULL, dir, "p3p1", "dep1", NULL, NULL, NULL), 0);
        assert_string_equal(writes, "");
        assert_int_equal(vfio_pf_get(T, "p3p1", &pf), 0);
        assert_int_equal(pf.num_vfs, 2);
        assert_int_equal(vfio_ledger_pf_last(T, dir, "p3p1", NULL, NULL, &(struct vx_vfio_record){0}), 0);

        /* A user whose deployment is gone does not count; dep2, the last, gets the VFs removed. */
        assert_int_equal(vfio_ledger_pf_use(T, NULL, dir, "p3p1", VX_VFIO_REC_NUMVFS, "dead"), 0);
        assert_int_equal(vfio_ledger_pf_done(T, NULL, dir, "p3p1", "dep2", alive_unless_dead, NULL, NULL), 1);
        assert_string_equal(writes, "sriov_numvfs=0;");
        assert_int_equal(vfio_pf_get(T, "p3p1", &pf), 0);
        assert_int_equal(pf.num_vfs, 0);
        snprintf(path, sizeof(path), "%s/pfs/p3p1.json", dir);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(vfio_ledger_pf_done(T, NULL, dir, "p3p1", "dep2", NULL, NULL, NULL), -ENOENT);

        assert_int_equal(vfio_ledger_pf_use(T, NULL, dir, "p3p1", VX_VFIO_REC_DRIVER, "dep1"), -EINVAL);
        assert_int_equal(vfio_ledger_pf_use(T, NULL, dir, "../x", VX_VFIO_REC_NUMVFS, "dep1"), -EINVAL);
        assert_int_equal(vfio_ledger_pf_use(T, NULL, dir, "p3p1", VX_VFIO_REC_NUMVFS, ".."), -EINVAL);
}

/* The race of issue 10: a start keeping its PF record while the PF's last user tears down. */
static int race_to_b = -1, race_to_a = -1;

/* In A, the last user: its restore writes sriov_numvfs; B looks then, and A waits until B has. */
static void race_hook(const char *name, const char *value)
{
        char c = 'R';

        if (strcmp(name, "sriov_numvfs") != 0 || strcmp(value, "0") != 0)
                return;
        if (write(race_to_b, &c, 1) != 1 || read(race_to_a, &c, 1) != 1)
                _exit(4);
}

static void test_pf_last_user_race(void **state)
{
        const char *dir = ledger_dir();
        char lock[PATH_MAX + 64], c;
        int to_b[2], to_a[2], st, lfd, r, e, used;
        struct vx_vfio_record kept;
        struct vx_vfio_pf pf;
        pid_t a;

        assert_int_equal(pipe2(to_b, O_CLOEXEC), 0);
        assert_int_equal(pipe2(to_a, O_CLOEXEC), 0);
        a = fork();
        assert_true(a >= 0);
        if (a == 0) {
                /* A: uses the PF, creates its VFs, claims one, stops. */
                race_to_b = to_b[1];
                race_to_a = to_a[0];
                if (vfio_ledger_pf_use(T, NULL, dir, "p3p1", VX_VFIO_REC_NUMVFS, "depA") != 1 ||
                    vfio_pf_ensure_vfs(T, "p3p1", 2, NULL) != 1 ||
                    vfio_ledger_claim(dir, "0000:03:10.0", "depA", NULL, NULL, NULL) != 0 ||
                    vfio_ledger_release(dir, "0000:03:10.0", "depA") != 0)
                        _exit(2);
                write_hook = race_hook;
                _exit(vfio_ledger_pf_done(T, NULL, dir, "p3p1", "depA", NULL, NULL, NULL) == 1 ? 0 : 3);
        }
        close(to_b[1]);
        close(to_a[0]);

        /*
         * B: A is restoring the PF; it must hold the ledger lock while it does. Checked once A is
         * done (it waits for B's word), so that a failure here ends A too.
         */
        assert_int_equal(read(to_b[0], &c, 1), 1);
        snprintf(lock, sizeof(lock), "%s/lock", dir);
        lfd = open(lock, O_RDWR | O_CLOEXEC);
        r = lfd >= 0 ? flock(lfd, LOCK_EX | LOCK_NB) : -2;
        e = errno;
        if (lfd >= 0)
                close(lfd);
        assert_int_equal(write(to_a[1], "G", 1), 1);
        close(to_a[1]);

        /* B becomes a user (waiting for A's restore to end): it keeps the host's own state, 0 VFs. */
        used = vfio_ledger_pf_use(T, NULL, dir, "p3p1", VX_VFIO_REC_NUMVFS, "depB");
        assert_int_equal(vfio_pf_get(T, "p3p1", &pf), 0);
        assert_int_equal(waitpid(a, &st, 0), a);
        close(to_b[0]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        assert_int_equal(r, -1);
        assert_int_equal(e, EWOULDBLOCK);
        assert_int_equal(used, 1);
        assert_int_equal(pf.num_vfs, 0);

        /* B raises the VFs itself; as the last user it gives the host back its 0. */
        assert_int_equal(vfio_pf_ensure_vfs(T, "p3p1", 3, NULL), 1);
        assert_int_equal(vfio_ledger_pf_done(T, NULL, dir, "p3p1", "depB", NULL, NULL, NULL), 1);
        assert_int_equal(vfio_pf_get(T, "p3p1", &pf), 0);
        assert_int_equal(pf.num_vfs, 0);
        assert_int_equal(vfio_ledger_pf_last(T, dir, "p3p1", NULL, NULL, &kept), -ENOENT);
}

/* ---- records ---- */

static void test_record_json(void **state)
{
        struct vx_vfio_record
                rec =
                        {
                                .parts = VX_VFIO_REC_DRIVER | VX_VFIO_REC_VF | VX_VFIO_REC_PF | VX_VFIO_REC_NUMVFS,
                                .num_vfs = 2,
                                .bdf = "0000:03:10.0",
                                .driver = "igbvf",
                                .driver_override = "",
                                .pf = "p3p1",
                                .vf = 3,
                                .vf_settings = {.index = 3,
                                                .mac = "02:04:17:01:02:01",
                                                .vlan = 100,
                                                .qos = 3,
                                                .max_rate = 10000,
                                                .min_rate = 0,
                                                .spoofchk = 0,
                                                .trust = 1,
                                                .link_state = -1},
                                .pf_settings = {.up = true, .mtu = 2000, .promisc = true, .allmulti = false},
                        },
                back;
        _cleanup_free_ char *s = NULL;

        assert_int_equal(vfio_record_to_json(&rec, &s), 0);
        assert_non_null(strstr(s, "\"parts\":[\"driver\",\"vf\",\"pf\",\"num_vfs\"]"));
        assert_non_null(strstr(s, "\"mac\":\"02:04:17:01:02:01\""));
        assert_int_equal(vfio_record_from_json(s, &back), 0);
        assert_record_equal(&back, &rec);

        assert_int_equal(vfio_record_from_json("", &back), -EBADMSG);
        assert_int_equal(vfio_record_from_json("{\"parts\":[]}", &back), -EBADMSG);
        assert_int_equal(vfio_record_from_json("{\"parts\":[\"disk\"]}", &back), -EBADMSG);
        assert_int_equal(vfio_record_from_json("{\"parts\":[\"driver\"],\"bdf\":\"../x\",\"driver\":\"\","
                                               "\"driver_override\":\"\"}",
                                               &back),
                         -EBADMSG);
        assert_int_equal(vfio_record_from_json("{\"parts\":[\"vf\"],\"pf\":\"p3p1\",\"vf\":0,\"vf_settings\":"
                                               "{\"mac\":\"zz\",\"vlan\":0,\"qos\":0,\"max_rate\":0,\"min_rate\":0,"
                                               "\"spoofchk\":1,\"trust\":0,\"link_state\":0}}",
                                               &back),
                         -EBADMSG);
        assert_int_equal(vfio_record_from_json("{\"parts\":[\"pf\"],\"pf\":\"p3p1\",\"pf_settings\":"
                                               "{\"up\":true,\"mtu\":0,\"promisc\":false,\"allmulti\":false}}",
                                               &back),
                         -EBADMSG);
}

/* ---- against the kernel, in a network namespace of our own ---- */

static bool in_netns;

static void netns_or_skip(void)
{
        if (in_netns)
                return;
        if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0 || system("ip -V >/dev/null 2>&1") != 0) {
                printf("SKIP: needs root, a network namespace and iproute2\n");
                skip();
        }
        in_netns = true;
}

static void test_not_in_use(void **state)
{
        _cleanup_(netsetup_freep) struct vx_netsetup *ns = NULL;
        const char *dir = ledger_dir(), *pfs[] = {"p3p1"};
        struct vx_vfio_choice c;
        char *why = NULL;

        netns_or_skip();
        assert_int_equal(netsetup_open(&ns), 0);
        assert_int_equal(vfio_pf_set_num_vfs(T, "p3p1", 2, NULL), 1);
        /* VF 0's host interface (a bridge of its name here) is up with an address; VF 1's is up without. */
        assert_int_equal(system("ip link add p3p1v0 type bridge && ip addr add 192.0.2.7/24 dev p3p1v0 && "
                                "ip link set p3p1v0 up && ip link add p3p1v1 type bridge && ip link set p3p1v1 up"),
                         0);
        assert_int_equal(vfio_check_not_in_use(T, ns, "0000:03:10.0", &why), -EBUSY);
        assert_non_null(strstr(why, "p3p1v0, up with address 192.0.2.7/24"));
        free(why);
        assert_int_equal(vfio_check_not_in_use(T, ns, "0000:03:10.1", NULL), 0);
        assert_int_equal(vfio_vf_claim_auto(T, ns, dir, pfs, 1, -1, "a", NULL, NULL, &c, NULL), 0);
        assert_string_equal(c.bdf, "0000:03:10.1");
        assert_int_equal(system("ip link del p3p1v0 && ip link del p3p1v1"), 0);
}

/* `ip -o link show NAME`: read back without netsetup. */
static void ip_line(const char *name, char *buf, size_t size)
{
        char cmd[64];
        FILE *f;

        snprintf(cmd, sizeof(cmd), "ip -o link show %s", name);
        f = popen(cmd, "r");
        assert_non_null(f);
        assert_non_null(fgets(buf, (int)size, f));
        pclose(f);
}

/* PF flags (up, MTU, promisc, allmulti) on a bridge, read back with ip, then restored from a record. */
static void test_pf_settings_record(void **state)
{
        _cleanup_(netsetup_freep) struct vx_netsetup *ns = NULL;
        struct vx_netsetup_pf want = {.up = true, .mtu = 2000, .promisc = true, .allmulti = true}, got;
        struct vx_netsetup_vf *vfs = NULL;
        struct vx_vfio_record rec;
        char line[512] = "";

        netns_or_skip();
        assert_int_equal(netsetup_open(&ns), 0);
        assert_int_equal(system("ip link add vxpf0 type bridge"), 0);
        assert_int_equal(vfio_record_save(T, ns, VX_VFIO_REC_PF, NULL, "vxpf0", 0, &rec), 0);
        assert_false(rec.pf_settings.up);
        assert_int_equal(rec.pf_settings.mtu, 1500);
        assert_int_equal(netsetup_pf_set(ns, "vxpf0", &want, VX_NETSETUP_PF_ALL), 0);
        ip_line("vxpf0", line, sizeof(line));
        assert_non_null(strstr(line, "PROMISC"));
        assert_non_null(strstr(line, "ALLMULTI"));
        assert_non_null(strstr(line, ",UP"));
        assert_non_null(strstr(line, "mtu 2000"));
        assert_int_equal(netsetup_pf_get(ns, "vxpf0", &got), 0);
        assert_int_equal(got.up, want.up);
        assert_int_equal(got.mtu, want.mtu);
        assert_int_equal(got.promisc, want.promisc);
        assert_int_equal(got.allmulti, want.allmulti);

        /* A bridge has no VFs: an empty list, and VF 0 does not exist. */
        assert_int_equal(netsetup_vfs_get(ns, "vxpf0", &vfs), 0);
        assert_null(vfs);
        assert_int_equal(vfio_record_save(T, ns, VX_VFIO_REC_VF, NULL, "vxpf0", 0, &rec), -ENOENT);
        assert_int_equal(netsetup_vfs_get(ns, "nosuch0", &vfs), -ENODEV);

        assert_int_equal(vfio_record_save(T, ns, VX_VFIO_REC_PF, NULL, "vxpf0", 0, &rec), 0);
        assert_int_equal(system("ip link set vxpf0 down mtu 1500 promisc off allmulticast off"), 0);
        rec.pf_settings = (struct vx_netsetup_pf){.up = false, .mtu = 1500};
        assert_int_equal(netsetup_pf_set(ns, "vxpf0", &want, VX_NETSETUP_PF_ALL), 0);
        assert_int_equal(vfio_record_restore(T, ns, &rec, NULL), 0);
        ip_line("vxpf0", line, sizeof(line));
        assert_null(strstr(line, "PROMISC"));
        assert_null(strstr(line, "ALLMULTI"));
        assert_null(strstr(line, ",UP"));
        assert_non_null(strstr(line, "mtu 1500"));
        assert_int_equal(system("ip link del vxpf0"), 0);
}

#define T_(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T_(test_pf_facts_and_numvfs),
                T_(test_pf_missing),
                T_(test_device_facts),
                T_(test_doctor_facts),
                T_(test_iommu_off),
                T_(test_driver_available),
                T_(test_group_viability),
                T_(test_bind_unbind_restore),
                T_(test_unbind_explicit_bind),
                T_(test_bind_fails_half_way),
                T_(test_ledger),
                T_(test_shared_pf_record),
                T_(test_auto_selection),
                T_(test_auto_concurrent),
                T_(test_pf_users),
                T_(test_pf_last_user_race),
                T_(test_record_json),
                T_(test_not_in_use),
                T_(test_pf_settings_record),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
