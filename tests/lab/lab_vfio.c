/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lab_vfio PF [iommu|no-iommu]: runs inside the SR-IOV lab VM (tests/lab/run)
 * on a real kernel with QEMU's igb (82576, 7 VFs) and, in "iommu" mode, an
 * emulated VT-d. Drives vx_vfio and vx_netsetup the way a start and a stop
 * will: creates VFs, configures two of them, binds one to vfio-pci, then
 * restores everything from the save records and checks the host is as it
 * was. Settings are read back twice: with netsetup (netlink) and with `ip
 * link show` (iproute2, independent of vmxrun's code).
 *
 * Prints "LAB ok WHAT" or "LAB FAIL WHAT: DETAIL" per check; the runner
 * matches the ok lines against its list. Exits 0 when every check passed.
 * check()'s arguments are evaluated in any order, so every struct they read
 * starts zeroed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vfio.h"

#define LEDGER "/run/vx/.shared/vfio"

static int failures;

static void check(bool ok, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check(bool ok, const char *what, const char *fmt, ...)
{
        va_list ap;

        if (ok) {
                printf("LAB ok %s\n", what);
        } else {
                failures++;
                printf("LAB FAIL %s: ", what);
                va_start(ap, fmt);
                vprintf(fmt, ap);
                va_end(ap);
                printf("\n");
        }
        fflush(stdout);
}

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The "vf N ..." line of `ip link show PF`, or "" (static buffer). */
static const char *ip_vf_line(const char *pf, unsigned vf)
{
        static char line[1024];
        char cmd[128], prefix[16];
        FILE *f;

        snprintf(cmd, sizeof(cmd), "ip link show %s", pf);
        snprintf(prefix, sizeof(prefix), "vf %u ", vf);
        f = popen(cmd, "r");
        if (!f)
                return "";
        while (fgets(line, sizeof(line), f)) {
                char *s = line + strspn(line, " \t");

                if (strncmp(s, prefix, strlen(prefix)) == 0) {
                        s[strcspn(s, "\n")] = 0;
                        pclose(f);
                        return s;
                }
        }
        pclose(f);
        return "";
}

static bool has_all(const char *s, const char *const *parts)
{
        for (; *parts; parts++)
                if (!strstr(s, *parts))
                        return false;
        return true;
}

static bool vf_equal(const struct vx_netsetup_vf *a, const struct vx_netsetup_vf *b)
{
        return strcmp(a->mac, b->mac) == 0 && a->vlan == b->vlan && a->qos == b->qos && a->max_rate == b->max_rate &&
               a->min_rate == b->min_rate && a->spoofchk == b->spoofchk && a->trust == b->trust &&
               a->link_state == b->link_state;
}

static bool pf_equal(const struct vx_netsetup_pf *a, const struct vx_netsetup_pf *b)
{
        return a->up == b->up && a->mtu == b->mtu && a->promisc == b->promisc && a->allmulti == b->allmulti;
}

/* igb takes a VF rate only while the PF has link: wait for carrier (a hang guard, not a timing). */
static bool wait_carrier(struct vx_netsetup *ns, const char *pf)
{
        uint64_t deadline = now_ms() + 120000;
        struct vx_netsetup_link l;

        while (now_ms() < deadline) {
                if (netsetup_link_get(ns, pf, &l) == 0 && l.lower_up)
                        return true;
                (void)poll(NULL, 0, 100);
        }
        return false;
}

/* The group's fd is usable by a VMM: VFIO_GROUP_GET_STATUS says viable. */
static bool group_viable(int group)
{
        struct vfio_group_status st = {.argsz = sizeof(st)};
        char p[64];
        int fd, r;

        snprintf(p, sizeof(p), "/dev/vfio/%d", group);
        fd = open(p, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return false;
        r = ioctl(fd, VFIO_GROUP_GET_STATUS, &st);
        close(fd);
        return r == 0 && (st.flags & VFIO_GROUP_FLAGS_VIABLE);
}

/*
 * A QEMU takes the VF: bookworm's QEMU from the host's root starts paused
 * with -device vfio-pci,host=BDF (realizing it opens the group and maps the
 * guest's RAM for DMA) and QMP query-pci lists the VF's PCI IDs (igbvf:
 * 8086:10ca, 32902:4298). Returns what QEMU said, in buf.
 */
static bool qemu_takes(const char *bdf, char *buf, size_t size)
{
        char cmd[512];
        size_t len = 0;
        FILE *f;

        snprintf(cmd, sizeof(cmd),
                 "printf '%%s\\n' '{\"execute\":\"qmp_capabilities\"}' '{\"execute\":\"query-pci\"}' "
                 "'{\"execute\":\"quit\"}' | timeout 300 qemu-system-x86_64 -machine q35,accel=tcg -m 64 "
                 "-nodefaults -display none -S -qmp stdio -device vfio-pci,host=%s 2>&1",
                 bdf);
        f = popen(cmd, "r");
        if (!f)
                return false;
        while (len + 1 < size && fgets(buf + len, (int)(size - len), f))
                len += strlen(buf + len);
        buf[len] = 0;
        return pclose(f) == 0 && strstr(buf, "\"device\": 4298") && strstr(buf, "\"vendor\": 32902");
}

static const struct vx_netsetup_vf want[2] = {
        {.index = 0, .mac = "02:04:17:01:02:01", .vlan = 100, .qos = 3, .max_rate = 500, .spoofchk = 0, .trust = 1},
        {.index = 1, .mac = "02:04:17:01:02:02", .vlan = 200, .qos = 0, .max_rate = 100, .spoofchk = 0, .trust = 1},
};

static const unsigned vf_fields =
        VX_NETSETUP_VF_MAC | VX_NETSETUP_VF_VLAN | VX_NETSETUP_VF_RATE | VX_NETSETUP_VF_SPOOFCHK | VX_NETSETUP_VF_TRUST;

static void configure_vfs(struct vx_netsetup *ns, const char *pf, struct vx_vfio_pf *p, struct vx_vfio_record rec[2])
{
        for (unsigned i = 0; i < 2; i++) {
                struct vx_netsetup_vf got = {0};
                unsigned failed = 0;
                char what[128], rate[32], vlan[32];
                int r;

                r = vfio_record_save(NULL, ns, VX_VFIO_REC_DRIVER | VX_VFIO_REC_VF, p->vfs[i], pf, i, &rec[i]);
                snprintf(what, sizeof(what), "VF %u saved before any change (driver igbvf, MAC 00:..)", i);
                check(r == 0 && strcmp(rec[i].driver, "igbvf") == 0 && rec[i].driver_override[0] == 0 &&
                              strcmp(rec[i].vf_settings.mac, "00:00:00:00:00:00") == 0 &&
                              rec[i].vf_settings.spoofchk == 1 && rec[i].vf_settings.trust == 0,
                      what, "r=%d driver=%s mac=%s spoofchk=%d trust=%d", r, rec[i].driver, rec[i].vf_settings.mac,
                      rec[i].vf_settings.spoofchk, rec[i].vf_settings.trust);

                r = netsetup_vf_set(ns, pf, &want[i], vf_fields, &failed);
                snprintf(what, sizeof(what), "VF %u set: MAC, VLAN/QoS, rate, spoofchk off, trust on", i);
                check(r == 0, what, "%s (field %#x)", strerror(-r), failed);
                r = netsetup_vf_get(ns, pf, i, &got);
                snprintf(what, sizeof(what), "VF %u read back over netlink as set", i);
                check(r == 0 && strcmp(got.mac, want[i].mac) == 0 && got.vlan == want[i].vlan &&
                              got.qos == want[i].qos && got.max_rate == want[i].max_rate && got.spoofchk == 0 &&
                              got.trust == 1,
                      what, "r=%d mac=%s vlan=%u qos=%u rate=%u spoofchk=%d trust=%d", r, got.mac, got.vlan, got.qos,
                      got.max_rate, got.spoofchk, got.trust);
                snprintf(rate, sizeof(rate), "max_tx_rate %uMbps", want[i].max_rate);
                snprintf(vlan, sizeof(vlan), "vlan %u", want[i].vlan);
                snprintf(what, sizeof(what), "VF %u as set in `ip link show`", i);
                check(has_all(ip_vf_line(pf, i),
                              (const char *const[]){want[i].mac, vlan, rate, "spoof checking off", "trust on", NULL}),
                      what, "%s", ip_vf_line(pf, i));
        }
}

static void bind_vf0(struct vx_netsetup *ns, struct vx_vfio_pf *p)
{
        struct vx_vfio_device d = {0};
        struct vx_vfio_record saved = {0};
        _cleanup_free_ char *why = NULL;
        struct stat st;
        char node[64];
        int r, group = -1;

        r = vfio_device_get(NULL, p->vfs[0], &d);
        check(r == 0 && d.iommu_group >= 0 && d.n_peers == 0, "VF 0 is alone in its IOMMU group",
              "r=%d group=%d peers=%zu", r, d.iommu_group, d.n_peers);
        r = vfio_check_group(NULL, p->vfs[0], &why);
        check(r == 0, "VF 0's group is viable", "%s", why ?: strerror(-r));
        r = vfio_check_not_in_use(NULL, ns, p->vfs[0], &why);
        check(r == 0, "VF 0 is not a host interface in use", "%s", why ?: strerror(-r));
        r = vfio_ledger_claim(LEDGER, p->vfs[0], "lab", NULL, NULL, &why);
        check(r == 0, "VF 0 claimed in the ledger", "%s", why ?: strerror(-r));

        r = vfio_bind(NULL, p->vfs[0], 60000, &saved, &group, &why);
        snprintf(node, sizeof(node), "/dev/vfio/%d", group);
        check(r == 0 && group == d.iommu_group && stat(node, &st) == 0 && S_ISCHR(st.st_mode),
              "VF 0 bound to vfio-pci, /dev/vfio/<group> is there", "r=%d %s", r, why ?: "");
        r = vfio_device_get(NULL, p->vfs[0], &d);
        check(r == 0 && strcmp(d.driver, "vfio-pci") == 0 && strcmp(d.driver_override, "vfio-pci") == 0 && d.n_net == 0,
              "VF 0 is on vfio-pci (driver_override vfio-pci) and has left the host's interfaces",
              "driver=%s override=%s", d.driver, d.driver_override);
        check(group >= 0 && group_viable(group), "VFIO_GROUP_GET_STATUS: the group is viable for a VMM", "group %d",
              group);
        {
                static char out[65536];

                check(qemu_takes(p->vfs[0], out, sizeof(out)),
                      "QEMU takes VF 0 (vfio-pci) and query-pci shows 8086:10ca", "%s", out);
        }
        r = vfio_device_get(NULL, p->vfs[1], &d);
        check(r == 0 && strcmp(d.driver, "igbvf") == 0, "VF 1 stays on igbvf", "driver=%s", d.driver);
}

static void restore_and_check(struct vx_netsetup *ns, const char *pf, const struct vx_vfio_record rec[2])
{
        _cleanup_free_ char *why = NULL;
        int r;

        for (unsigned i = 0; i < 2; i++) {
                struct vx_netsetup_vf got = {0};
                struct vx_vfio_device d = {0};
                struct vx_vfio_record back = {0};
                _cleanup_free_ char *json = NULL;
                char what[128];

                /* What the journal stores is the JSON string: restore from that. */
                r = vfio_record_to_json(&rec[i], &json);
                if (r == 0)
                        r = vfio_record_from_json(json, &back);
                if (r == 0)
                        r = vfio_record_restore(NULL, ns, &back, &why);
                snprintf(what, sizeof(what), "VF %u restored from its record", i);
                check(r == 0, what, "%s", why ?: strerror(-r));
                r = vfio_device_get(NULL, rec[i].bdf, &d);
                snprintf(what, sizeof(what), "VF %u back on igbvf, driver_override cleared", i);
                check(r == 0 && strcmp(d.driver, "igbvf") == 0 && d.driver_override[0] == 0, what,
                      "driver=%s override=%s", d.driver, d.driver_override);
                r = netsetup_vf_get(ns, pf, i, &got);
                snprintf(what, sizeof(what), "VF %u settings exactly as before", i);
                check(r == 0 && vf_equal(&got, &rec[i].vf_settings), what,
                      "mac=%s vlan=%u rate=%u spoofchk=%d trust=%d", got.mac, got.vlan, got.max_rate, got.spoofchk,
                      got.trust);
        }
        r = vfio_ledger_release(LEDGER, rec[0].bdf, "lab");
        check(r == 0, "VF 0's claim released", "%s", strerror(-r));
}

/* The preconditions, and what doctor would show. */
static void host_checks(const char *pf)
{
        _cleanup_free_ struct vx_vfio_pf *pfs = NULL;
        _cleanup_free_ char *why = NULL;
        struct vx_vfio_iommu_info info = {0};
        int r, n;

        r = vfio_check_iommu(NULL, &why);
        check(r == 0, "the IOMMU is on (iommu_groups)", "%s", why ?: strerror(-r));
        r = vfio_check_driver(NULL, &why);
        check(r == 0, "vfio-pci is registered", "r=%d %s", r, why ?: "");
        r = vfio_iommu_info(NULL, &info);
        check(r == 0 && info.n_groups > 0 && info.cmdline_intel && info.intremap_supported == 1 &&
                      info.intremap_enabled && info.vfio_pci == 0,
              "doctor: groups, intel_iommu=on, interrupt remapping supported and on, vfio-pci",
              "groups=%zu cmdline=%d ir=%d/%d vfio-pci=%d", info.n_groups, info.cmdline_intel, info.intremap_supported,
              info.intremap_enabled, info.vfio_pci);
        n = vfio_pfs(NULL, &pfs);
        check(n == 1 && strcmp(pfs[0].ifname, pf) == 0 && pfs[0].total_vfs == 7, "doctor: one SR-IOV PF, the igb",
              "n=%d", n);
}

/*
 * A bind that fails half way on the real kernel: with vfio_pci unloaded
 * (delete_module: the host's root has no kmod), the unbind and
 * driver_override work, the probe finds no driver for the VF, and vfio_bind()
 * must put it back on igbvf with driver_override cleared. Last, since the
 * module cannot be loaded again from the host's root.
 */
static void bind_fails_half_way(const struct vx_vfio_pf *p)
{
        _cleanup_free_ char *why = NULL;
        struct vx_vfio_device d = {0};
        int r, group = -1;

        r = (int)syscall(SYS_delete_module, "vfio_pci", O_NONBLOCK);
        check(r == 0 && vfio_check_driver(NULL, NULL) != 0, "vfio_pci unloaded: vfio-pci is not available", "%s",
              r < 0 ? strerror(errno) : "still registered");
        r = vfio_bind(NULL, p->vfs[1], 10000, NULL, &group, &why);
        check(r == -EIO && why && strstr(why, "vfio-pci did not take") && vfio_device_get(NULL, p->vfs[1], &d) == 0 &&
                      strcmp(d.driver, "igbvf") == 0 && d.driver_override[0] == 0,
              "a bind failing half way (no vfio-pci) puts VF 1 back on igbvf, driver_override cleared",
              "r=%d driver=%s override=%s %s", r, d.driver, d.driver_override, why ?: "");
}

/* The PF's end: its kept record comes back with its last user and is restored. */
static void pf_last_checks(struct vx_netsetup *ns, const char *pf, const struct vx_vfio_record *pf_rec)
{
        _cleanup_free_ char *why = NULL;
        struct vx_vfio_record kept = {0};
        struct vx_netsetup_pf now = {0};
        struct vx_vfio_pf p = {0};
        char virtfn[128];
        int r;

        r = vfio_ledger_pf_last(NULL, LEDGER, pf, NULL, NULL, &kept);
        check(r == 1 && kept.num_vfs == 0 && pf_equal(&kept.pf_settings, &pf_rec->pf_settings),
              "the PF's kept record comes back with its last user", "r=%d", r);
        r = vfio_record_restore(NULL, ns, &kept, &why);
        snprintf(virtfn, sizeof(virtfn), "/sys/class/net/%s/device/virtfn0", pf);
        check(r == 0 && vfio_pf_get(NULL, pf, &p) == 0 && p.num_vfs == 0 && access(virtfn, F_OK) < 0,
              "sriov_numvfs back to 0, the VFs gone", "r=%d %s", r, why ?: "");
        check(r == 0 && netsetup_pf_get(ns, pf, &now) == 0 && pf_equal(&now, &pf_rec->pf_settings),
              "PF flags exactly as before", "r=%d up=%d mtu=%u promisc=%d allmulti=%d", r, now.up, now.mtu, now.promisc,
              now.allmulti);
}

static int lab_iommu(const char *pf)
{
        _cleanup_(netsetup_freep) struct vx_netsetup *ns = NULL;
        _cleanup_free_ char *why = NULL;
        struct vx_vfio_record pf_rec = {0}, rec[2] = {0};
        struct vx_netsetup_pf pf_now = {0}, pf_want = {.up = true, .mtu = 2000, .promisc = true, .allmulti = true};
        struct vx_vfio_pf p = {0};
        struct vx_netsetup_vf ls = {.index = 0, .link_state = VX_NETSETUP_VF_LINK_ENABLE};
        unsigned failed = 0;
        int r;

        r = netsetup_open(&ns);
        if (r < 0) {
                check(false, "netlink", "%s", strerror(-r));
                return 1;
        }
        host_checks(pf);
        r = vfio_pf_get(NULL, pf, &p);
        check(r == 0 && p.total_vfs == 7 && p.num_vfs == 0 && strcmp(p.driver, "igb") == 0,
              "the igb PF offers 7 VFs, none enabled", "r=%d total=%u num=%u driver=%s", r, p.total_vfs, p.num_vfs,
              p.driver);
        if (r < 0)
                return 1;

        /* The PF as the seed set it by hand: up promisc allmulti mtu 2000. */
        r = vfio_record_save(NULL, ns, VX_VFIO_REC_PF | VX_VFIO_REC_NUMVFS, NULL, pf, 0, &pf_rec);
        if (r == 0)
                r = vfio_ledger_pf_keep(LEDGER, &pf_rec);
        check(r == 1 && pf_rec.num_vfs == 0, "PF flags and sriov_numvfs saved, kept in the ledger", "r=%d", r);
        r = netsetup_pf_set(ns, pf, &pf_want, VX_NETSETUP_PF_ALL);
        check(r == 0 && netsetup_pf_get(ns, pf, &pf_now) == 0 && pf_equal(&pf_now, &pf_want),
              "PF up, MTU 2000, promisc, allmulti", "r=%d", r);
        check(wait_carrier(ns, pf), "PF has carrier", "%s", "no carrier within the guard");

        r = vfio_pf_set_num_vfs(NULL, pf, 2, &why);
        check(r == 1, "sriov_numvfs raised from 0 to 2", "r=%d %s", r, why ?: "");
        /* Enabling VFs resets igb's PF: its link drops and comes back, and a VF rate needs the link. */
        check(wait_carrier(ns, pf), "PF has carrier again after the VFs' reset", "%s", "no carrier within the guard");
        r = vfio_pf_ensure_vfs(NULL, pf, 3, &why);
        check(r == -EBUSY && vfio_pf_ensure_vfs(NULL, pf, 2, NULL) == 0 &&
                      vfio_pf_set_num_vfs(NULL, pf, 3, NULL) == -EBUSY,
              "raising 2 to 3 is refused (only from 0), 2 are enough", "r=%d", r);
        r = vfio_pf_get(NULL, pf, &p);
        check(r == 0 && p.num_vfs == 2, "two VFs exist", "num=%u", p.num_vfs);
        {
                char bdf[VX_VFIO_BDF_SIZE];

                check(vfio_pf_vf(NULL, pf, 7, bdf) == -ERANGE && vfio_pf_vf(NULL, pf, 2, bdf) == -ENXIO,
                      "VF index 7 is out of range, VF 2 not created", "%s", "wrong errors");
        }

        configure_vfs(ns, pf, &p, rec);
        {
                struct vx_vfio_vf_status st = {0};

                r = vfio_vf_status(NULL, ns, pf, 0, &st);
                check(r == 0 && strcmp(st.bdf, p.vfs[0]) == 0 && st.iommu_group >= 0 &&
                              strcmp(st.driver, "igbvf") == 0 && strcmp(st.settings.mac, want[0].mac) == 0 &&
                              st.settings.vlan == 100 && st.settings.trust == 1,
                      "status of VF 0: address, group, driver, settings", "r=%d bdf=%s group=%d driver=%s mac=%s", r,
                      st.bdf, st.iommu_group, st.driver, st.settings.mac);
        }
        r = netsetup_vf_set(ns, pf, &ls, VX_NETSETUP_VF_LINK_STATE, &failed);
        check(r == -EOPNOTSUPP && failed == VX_NETSETUP_VF_LINK_STATE,
              "igb has no VF link state: EOPNOTSUPP, the field named", "r=%d field=%#x", r, failed);

        bind_vf0(ns, &p);
        restore_and_check(ns, pf, rec);

        bind_fails_half_way(&p);
        pf_last_checks(ns, pf, &pf_rec);
        return failures ? 1 : 0;
}

static int lab_no_iommu(const char *pf)
{
        _cleanup_free_ char *why = NULL;
        struct vx_vfio_device d = {0};
        struct vx_vfio_pf p = {0};
        int r, group = -1;

        struct vx_vfio_iommu_info info = {0};

        r = vfio_iommu_info(NULL, &info);
        check(r == 0 && info.n_groups == 0 && info.cmdline_intel && info.intremap_supported == -1 &&
                      !info.intremap_enabled,
              "doctor without an IOMMU: no groups though intel_iommu=on, no interrupt remapping",
              "groups=%zu cmdline=%d ir=%d/%d", info.n_groups, info.cmdline_intel, info.intremap_supported,
              info.intremap_enabled);
        r = vfio_check_iommu(NULL, &why);
        check(r == -ENODEV && why && strstr(why, "intel_iommu=on") && strstr(why, "amd_iommu=on"),
              "without an IOMMU: refused, naming intel_iommu=on / amd_iommu=on", "r=%d %s", r, why ?: "");
        r = vfio_pf_set_num_vfs(NULL, pf, 1, NULL);
        check(r == 1 && vfio_pf_get(NULL, pf, &p) == 0 && p.num_vfs == 1, "a VF is created without an IOMMU", "r=%d",
              r);
        r = vfio_check_group(NULL, p.vfs[0], &why);
        check(r == -ENXIO, "the VF has no IOMMU group: not viable", "r=%d", r);
        r = vfio_bind(NULL, p.vfs[0], 10000, NULL, &group, &why);
        check(r == -ENXIO && vfio_device_get(NULL, p.vfs[0], &d) == 0 && strcmp(d.driver, "igbvf") == 0,
              "vfio_bind refuses it and leaves it on igbvf", "r=%d driver=%s", r, d.driver);
        r = vfio_pf_set_num_vfs(NULL, pf, 0, NULL);
        check(r == 1 && vfio_pf_get(NULL, pf, &p) == 0 && p.num_vfs == 0, "sriov_numvfs back to 0 (no IOMMU)", "r=%d",
              r);
        return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr, "usage: lab_vfio PF iommu|no-iommu\n");
                return 2;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (strcmp(argv[2], "iommu") == 0)
                return lab_iommu(argv[1]);
        if (strcmp(argv[2], "no-iommu") == 0)
                return lab_no_iommu(argv[1]);
        fprintf(stderr, "lab_vfio: unknown mode %s\n", argv[2]);
        return 2;
}
