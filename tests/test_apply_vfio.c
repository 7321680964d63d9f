/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * launcher/apply-vfio.c (VF_CONFIG and VFIO_BIND) against the fake sysfs
 * tree of tests/fake-sysfs.h (the kernel's sysfs played by a wrapped
 * vfio_sysfs_write()) and a fake PF driver for the netlink side (wrapped
 * netsetup_vf_get/set and netsetup_pf_get/set: each PF's VF settings and
 * flags in memory). Every test compares the whole tree (links, drivers,
 * driver_override, sriov_numvfs, /dev/vfio) and the PF driver's state with
 * a snapshot taken before: a teardown, or a start failing half way, must
 * give back exactly what was there. Runs in a network namespace of its own
 * (root), so that "up with addresses" asks an empty one.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "deployment.h"
#include "fake-sysfs.h"
#include "journal.h"
#include "netns.h"

/* ---- a fake PF driver (netlink) ---- */

#define FAKE_VFS 8
static struct fake_pf_state {
        const char *name;
        struct vx_netsetup_pf flags;
        struct vx_netsetup_vf vfs[FAKE_VFS];
} pfs[2];
static unsigned refuse_field; /* netsetup_vf_set refuses this VX_NETSETUP_VF_* field (0: none) */

static void fake_pfs_reset(void)
{
        static const char *const names[2] = {"p3p1", "p2p1"};

        for (size_t i = 0; i < 2; i++) {
                pfs[i] = (struct fake_pf_state){.name = names[i], .flags = {.up = true, .mtu = 1500}};
                for (unsigned v = 0; v < FAKE_VFS; v++)
                        pfs[i].vfs[v] = (struct vx_netsetup_vf){
                                .index = v, .mac = "00:00:00:00:00:00", .spoofchk = 1, .trust = 0, .link_state = 0};
        }
        refuse_field = 0;
}

static struct fake_pf_state *fake_pf_state(const char *name)
{
        for (size_t i = 0; i < 2; i++)
                if (strcmp(pfs[i].name, name) == 0)
                        return &pfs[i];
        return NULL;
}

int __wrap_netsetup_vf_get(struct vx_netsetup *ns, const char *pf, unsigned index, struct vx_netsetup_vf *ret);
int __wrap_netsetup_vf_get(struct vx_netsetup *ns, const char *pf, unsigned index, struct vx_netsetup_vf *ret)
{
        struct fake_pf_state *p = fake_pf_state(pf);

        if (!p)
                return -ENODEV;
        if (index >= FAKE_VFS)
                return -ENOENT;
        *ret = p->vfs[index];
        return 0;
}

int __wrap_netsetup_vf_set(struct vx_netsetup *ns, const char *pf, const struct vx_netsetup_vf *vf, unsigned mask,
                           unsigned *ret_failed);
int __wrap_netsetup_vf_set(struct vx_netsetup *ns, const char *pf, const struct vx_netsetup_vf *vf, unsigned mask,
                           unsigned *ret_failed)
{
        struct fake_pf_state *p = fake_pf_state(pf);
        struct vx_netsetup_vf *v;

        if (!p)
                return -ENODEV;
        if (vf->index >= FAKE_VFS)
                return -ENOENT;
        v = &p->vfs[vf->index];
        /* The order netsetup_vf_set() promises; an Intel PF refuses spoof checking of a VF without its MAC. */
        for (unsigned f = VX_NETSETUP_VF_MAC; f <= VX_NETSETUP_VF_LINK_STATE; f <<= 1) {
                if (!(mask & f))
                        continue;
                if (f == refuse_field) {
                        if (ret_failed)
                                *ret_failed = f;
                        return -EOPNOTSUPP;
                }
                switch (f) {
                case VX_NETSETUP_VF_MAC:
                        memcpy(v->mac, vf->mac, sizeof(v->mac));
                        break;
                case VX_NETSETUP_VF_VLAN:
                        v->vlan = vf->vlan;
                        v->qos = vf->qos;
                        break;
                case VX_NETSETUP_VF_RATE:
                        v->max_rate = vf->max_rate;
                        v->min_rate = vf->min_rate;
                        break;
                case VX_NETSETUP_VF_SPOOFCHK:
                        v->spoofchk = vf->spoofchk;
                        break;
                case VX_NETSETUP_VF_TRUST:
                        v->trust = vf->trust;
                        break;
                default:
                        v->link_state = vf->link_state;
                }
        }
        return 0;
}

int __wrap_netsetup_pf_get(struct vx_netsetup *ns, const char *name, struct vx_netsetup_pf *ret);
int __wrap_netsetup_pf_get(struct vx_netsetup *ns, const char *name, struct vx_netsetup_pf *ret)
{
        struct fake_pf_state *p = fake_pf_state(name);

        if (!p)
                return -ENODEV;
        *ret = p->flags;
        return 0;
}

int __wrap_netsetup_pf_set(struct vx_netsetup *ns, const char *name, const struct vx_netsetup_pf *pf, unsigned mask);
int __wrap_netsetup_pf_set(struct vx_netsetup *ns, const char *name, const struct vx_netsetup_pf *pf, unsigned mask)
{
        struct fake_pf_state *p = fake_pf_state(name);

        if (!p)
                return -ENODEV;
        if (mask & VX_NETSETUP_PF_MTU)
                p->flags.mtu = pf->mtu;
        if (mask & VX_NETSETUP_PF_PROMISC)
                p->flags.promisc = pf->promisc;
        if (mask & VX_NETSETUP_PF_ALLMULTI)
                p->flags.allmulti = pf->allmulti;
        if (mask & VX_NETSETUP_PF_UP)
                p->flags.up = pf->up;
        return 0;
}

/* ---- the host as a whole: the tree and the PF driver ---- */

/* Every path of the tree, with its link target or its content (sysfs files are one line). */
static char *snapshot(void)
{
        char cmd[PATH_MAX + 256], *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size), *f;
        char line[PATH_MAX * 2];

        assert_non_null(out);
        snprintf(cmd, sizeof(cmd),
                 "cd '%s' && find . | LC_ALL=C sort | while read -r p; do "
                 "if [ -L \"$p\" ]; then echo \"$p -> $(readlink \"$p\" | sed 's|.*/||')\"; "
                 "elif [ -f \"$p\" ]; then echo \"$p = $(head -c 64 \"$p\")\"; "
                 "else echo \"$p/\"; fi; done",
                 T);
        f = popen(cmd, "r");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f))
                fputs(line, out);
        assert_int_equal(pclose(f), 0);
        for (size_t i = 0; i < 2; i++) {
                const struct fake_pf_state *p = &pfs[i];

                fprintf(out, "pf %s up=%d mtu=%u promisc=%d allmulti=%d\n", p->name, p->flags.up, p->flags.mtu,
                        p->flags.promisc, p->flags.allmulti);
                for (unsigned v = 0; v < FAKE_VFS; v++)
                        fprintf(out, "pf %s vf %u mac=%s vlan=%u/%u rate=%u/%u spoofchk=%d trust=%d link=%d\n", p->name,
                                v, p->vfs[v].mac, p->vfs[v].vlan, p->vfs[v].qos, p->vfs[v].max_rate, p->vfs[v].min_rate,
                                p->vfs[v].spoofchk, p->vfs[v].trust, p->vfs[v].link_state);
        }
        fclose(out);
        return buf;
}

static char runtime[PATH_MAX + 8];

/* Entries of <runtime>/.shared/vfio/SUB (claims, pfs), "" when none: "NAME=CONTENT;" each. */
static const char *ledger(const char *sub)
{
        static char buf[1024];
        char cmd[sizeof(runtime) + 256];
        size_t n = 0;
        FILE *f;

        snprintf(cmd, sizeof(cmd),
                 "cd '%s/.shared/vfio/%s' 2>/dev/null && for c in *; do [ -e \"$c\" ] && "
                 "printf '%%s=%%s;' \"$c\" \"$(head -c 32 \"$c\")\"; done",
                 runtime, sub);
        f = popen(cmd, "r");
        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = 0;
        pclose(f);
        return buf;
}

/* The host is as it was; on a difference, shows it. */
static void assert_same_host(const char *before)
{
        _cleanup_free_ char *after = snapshot();

        if (strcmp(before, after) != 0) {
                char a[PATH_MAX + 16], b[PATH_MAX + 16], cmd[4 * (PATH_MAX + 16) + 32];
                FILE *f;

                snprintf(b, sizeof(b), "%s.before", T);
                snprintf(a, sizeof(a), "%s.after", T);
                assert_non_null(f = fopen(b, "we"));
                fputs(before, f);
                fclose(f);
                assert_non_null(f = fopen(a, "we"));
                fputs(after, f);
                fclose(f);
                snprintf(cmd, sizeof(cmd), "diff -u '%s' '%s'; rm -f '%s' '%s'", b, a, b, a);
                (void)system(cmd);
                fail_msg("the host is not as it was");
        }
}

/* ---- deployments ---- */

#define VF0 "0000:03:10.0"
#define VF1 "0000:03:10.1"
#define VF2 "0000:03:10.2"
#define HOSTDEV "0000:05:00.0"

/* The SR-IOV PFs the plan sees (tests of VFs created at start set them; NULL: none). */
static const struct vx_pf_fact *plan_pfs;
static size_t n_plan_pfs;

static void deployment_load(struct deployment *d, const char *yaml, const char *qemu_user, bool vfs_known)
{
        /* VFs the plan saw on the host (they exist before the start), or none (created at start). */
        static const struct vx_vf_fact vfs[] = {{"p3p1", 0, VF0}, {"p3p1", 1, VF1}};
        struct vx_host_facts facts = {.kvm_usable = false,
                                      .n_iommu_groups = 8,
                                      .vfs = vfs_known ? vfs : NULL,
                                      .n_vfs = vfs_known ? 2 : 0,
                                      .pfs = plan_pfs,
                                      .n_pfs = n_plan_pfs};
        struct vx_plan_options opts = {.runtime_dir = runtime, .qemu_user = qemu_user};

        deployment_load_facts(d, yaml, &facts, &opts, T);
}

#define VM(name, nics) "  - name: " name "\n    accel: tcg\n    memory:\n      size: 64MiB\n    nics:\n" nics
#define VFNIC(vf, mac, vlan)                                                                                           \
        "      - {type: vf, pf: p3p1, vf: " vf ", mac: \"" mac "\", vlan: " vlan ", rate: 1000, spoofchk: off, "       \
        "trust: on}\n"
#define HOSTDEVNIC "      - {type: hostdev, host: \"" HOSTDEV "\"}\n"

static int setup(void **state)
{
        int r = tree_setup(state);

        /* A NIC passed whole, alone in its group, on its host driver without an interface. */
        fake_device(HOSTDEV, 0x8086, 0x10fb, "ixgbe", next_group++, NULL, true, 0);
        fake_pfs_reset();
        plan_pfs = NULL;
        n_plan_pfs = 0;
        snprintf(runtime, sizeof(runtime), "%s.run", T);
        return r;
}

static int teardown(void **state)
{
        char cmd[sizeof(runtime) + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", runtime);
        assert_int_equal(system(cmd), 0);
        return tree_teardown(state);
}

static void assert_owner(const char *rel, uid_t uid)
{
        char p[PATH_MAX * 2];
        struct stat st;

        snprintf(p, sizeof(p), "%s%s", T, rel);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_uid, uid);
}

/* ---- tests ---- */

/*
 * A VF NIC whose VFs the PF does not have yet (created at start) and a
 * hostdev NIC, QEMU as nobody: everything as asked while it runs, and the
 * host exactly as before after the teardown.
 */
static void test_apply_teardown(void **state)
{
        _cleanup_free_ char *before = snapshot();
        struct deployment d = {0};
        struct fake_pf_state *p = fake_pf_state("p3p1");
        char path[PATH_MAX + 64];

        deployment_load(&d, "name: sriov\nvms:\n" VM("vfp", VFNIC("1", "02:04:17:01:02:02", "200") HOSTDEVNIC),
                        "nobody", false);
        assert_false(d.plan->vms[0].complete); /* the VF is not on the host yet */
        assert_int_equal(apply_deployment(d.apply), 0);

        /* The PF got 2 VFs (the highest index asked + 1), its MTU; VF 1 its settings, then vfio-pci. */
        assert_true(there("/sys/bus/pci/devices/%s", VF1));
        assert_string_equal(driver_of(VF0), "igbvf");
        assert_string_equal(driver_of(VF1), "vfio-pci");
        assert_string_equal(override_of(VF1), "vfio-pci");
        assert_int_equal(p->flags.mtu, 1500);
        assert_string_equal(p->vfs[1].mac, "02:04:17:01:02:02");
        assert_int_equal(p->vfs[1].vlan, 200);
        assert_int_equal(p->vfs[1].max_rate, 1000);
        assert_int_equal(p->vfs[1].spoofchk, 0);
        assert_int_equal(p->vfs[1].trust, 1);
        assert_string_equal(p->vfs[0].mac, "00:00:00:00:00:00");
        assert_string_equal(driver_of(HOSTDEV), "vfio-pci");
        /* The MAC is written before spoof checking is turned off (the netlink order), the override before the unbind. */
        assert_non_null(strstr(writes, "driver_override=vfio-pci;unbind=" VF1 ";drivers_probe=" VF1 ";"));
        /* QEMU's user opens the groups; the ledger holds both addresses, the PF's state kept. */
        snprintf(path, sizeof(path), "/dev/vfio/%d", fake_find(VF1)->group);
        assert_owner(path, 65534);
        snprintf(path, sizeof(path), "/dev/vfio/%d", fake_find(HOSTDEV)->group);
        assert_owner(path, 65534);
        assert_string_equal(ledger("claims"), VF1 "=sriov;" HOSTDEV "=sriov;");
        assert_non_null(strstr(ledger("pfs"), "p3p1.json="));
        /* Steps journaled for a later supervisor. */
        assert_non_null(journal_find(apply_journal(d.apply), VX_UNDO_VFIO_RESTORE, VF1, false, NULL));
        assert_non_null(journal_find(apply_journal(d.apply), VX_UNDO_VFIO_PF, "p3p1", false, NULL));

        assert_int_equal(apply_teardown(d.apply), 0);
        assert_same_host(before);
        assert_string_equal(ledger("claims"), "");
        assert_string_equal(ledger("pfs"), "");
        assert_int_equal(journal_size(apply_journal(d.apply)), 0);
        deployment_done(&d);
}

/*
 * What a new supervisor finds: the journal on disk alone (no plan, no
 * apply state of the first one) undoes it all.
 */
static void test_teardown_from_journal(void **state)
{
        _cleanup_free_ char *before = snapshot();
        struct deployment d = {0}, again = {0};

        deployment_load(&d, "name: crash\nvms:\n" VM("v", VFNIC("0", "02:04:17:01:02:01", "100")), "root", false);
        assert_int_equal(apply_deployment(d.apply), 0);
        assert_string_equal(driver_of(VF0), "vfio-pci");
        d.apply = apply_free(d.apply); /* the supervisor dies */
        deployment_load(&again, "name: crash\nvms:\n" VM("v", VFNIC("0", "02:04:17:01:02:01", "100")), "root", false);
        assert_int_equal(apply_teardown(again.apply), 0);
        assert_same_host(before);
        assert_string_equal(ledger("claims"), "");
        deployment_done(&again);
        deployment_done(&d);
}

/* A start failing half way gives back what it had done, whichever step failed. */
static void test_failure_half_way(void **state)
{
        _cleanup_free_ char *before = snapshot();
        struct deployment d = {0};
        const char *yaml = "name: half\nvms:\n" VM("v", VFNIC("1", "02:04:17:01:02:02", "200") HOSTDEVNIC);

        /* 1. The hostdev's group is not viable (a peer on a host driver), after the VF was set and bound. */
        {
                struct fake *peer =
                        fake_device("0000:05:00.1", 0x8086, 0x10fb, "ixgbe", fake_find(HOSTDEV)->group, NULL, true, 0);
                char g[64];

                deployment_load(&d, yaml, "nobody", false);
                assert_int_equal(apply_deployment(d.apply), -EBUSY);
                assert_non_null(strstr(writes, "unbind=" VF1)); /* it did get that far */
                assert_string_equal(driver_of(HOSTDEV), "ixgbe");
                deployment_done(&d);
                /* The peer goes, as it came (it is no part of the snapshot). */
                do_unbind(peer);
                snprintf(g, sizeof(g), "/sys/kernel/iommu_groups/%d/devices/%s", peer->group, peer->bdf);
                rm("%s", g);
                rm_tree("/sys/devices/pci0000:00/0000:05:00.1");
                rm("/sys/bus/pci/devices/0000:05:00.1");
                peer->bdf[0] = 0;
                assert_same_host(before);
                assert_string_equal(ledger("claims"), "");
                assert_string_equal(ledger("pfs"), "");
        }
        /* 2. The PF's driver refuses trust, after the MAC, VLAN, rate and spoof check were set. */
        refuse_field = VX_NETSETUP_VF_TRUST;
        deployment_load(&d, yaml, "nobody", false);
        assert_int_equal(apply_deployment(d.apply), -EOPNOTSUPP);
        deployment_done(&d);
        refuse_field = 0;
        assert_same_host(before);
        /* 3. The hostdev's bind fails half way: its driver_override is written, the unbind fails. */
        snprintf(fail_suffix, sizeof(fail_suffix), "ixgbe/unbind");
        fail_errno = EIO;
        deployment_load(&d, yaml, "nobody", false);
        assert_true(apply_deployment(d.apply) < 0);
        deployment_done(&d);
        fail_suffix[0] = 0;
        assert_same_host(before);
        /* 4. A VF index the PF can never have; a PF that does not exist. Nothing changed at all. */
        writes[0] = 0;
        deployment_load(&d, "name: range\nvms:\n" VM("v", VFNIC("7", "02:04:17:01:02:02", "200")), "root", false);
        assert_int_equal(apply_deployment(d.apply), -ERANGE);
        deployment_done(&d);
        deployment_load(&d,
                        "name: nopf\nvms:\n  - name: v\n    accel: tcg\n    memory:\n      size: 64MiB\n    "
                        "nics:\n      - {type: vf, pf: p9p9, vf: 0}\n",
                        "root", false);
        assert_int_equal(apply_deployment(d.apply), -ENODEV);
        deployment_done(&d);
        assert_string_equal(writes, "");
        assert_same_host(before);
        assert_string_equal(ledger("claims"), "");
        assert_string_equal(ledger("pfs"), "");
}

/* The IOMMU off: refused before anything changes, naming the kernel parameter. */
static void test_iommu_off(void **state)
{
        _cleanup_free_ char *before = NULL;
        struct deployment d = {0};

        rm_tree("/sys/kernel/iommu_groups");
        xmkdir("/sys/kernel/iommu_groups");
        before = snapshot();
        deployment_load(&d, "name: off\nvms:\n" VM("v", HOSTDEVNIC), "root", false);
        assert_int_equal(apply_deployment(d.apply), -ENODEV);
        deployment_done(&d);
        assert_string_equal(writes, "");
        assert_same_host(before);
}

/*
 * Two deployments: the second wants the first's VF and is refused, leaving
 * the first's VF as it set it; a third takes another VF of the PF. The PF's
 * state (the VFs the first created) is given back by the last of them only.
 */
static void test_two_deployments(void **state)
{
        _cleanup_free_ char *before = snapshot(), *during = NULL;
        struct deployment a = {0}, b = {0}, c = {0};
        struct fake_pf_state *p = fake_pf_state("p3p1");

        deployment_load(&a,
                        "name: da\nvms:\n" VM("v", VFNIC("0", "02:04:17:01:02:01", "100")
                                                           VFNIC("2", "02:04:17:01:02:03", "100")),
                        "root", false);
        assert_int_equal(apply_deployment(a.apply), 0);
        during = snapshot();

        deployment_load(&b, "name: db\nvms:\n" VM("v", VFNIC("0", "02:04:17:0b:02:01", "300")), "root", true);
        assert_int_equal(apply_deployment(b.apply), -EBUSY);
        assert_same_host(during); /* da's VF untouched, the PF still da's */
        assert_string_equal(ledger("claims"), VF0 "=da;" VF2 "=da;");
        deployment_done(&b);

        deployment_load(&c, "name: dc\nvms:\n" VM("v", VFNIC("1", "02:04:17:0c:02:02", "300")), "root", true);
        assert_int_equal(apply_deployment(c.apply), 0);
        assert_string_equal(driver_of(VF1), "vfio-pci");
        assert_string_equal(ledger("claims"), VF0 "=da;" VF1 "=dc;" VF2 "=da;");

        assert_int_equal(apply_teardown(a.apply), 0);
        /* dc still uses the PF: its VFs and MTU stay; da's VF is back as it was. */
        assert_true(there("/sys/bus/pci/devices/%s", VF2));
        assert_string_equal(driver_of(VF0), "igbvf");
        assert_string_equal(driver_of(VF2), "igbvf");
        assert_string_equal(p->vfs[0].mac, "00:00:00:00:00:00");
        assert_string_equal(ledger("claims"), VF1 "=dc;");

        assert_int_equal(apply_teardown(c.apply), 0);
        assert_same_host(before);
        assert_string_equal(ledger("pfs"), "");
        deployment_done(&a);
        deployment_done(&c);
}

/* The VM's -device vfio-pci argument for hostdev n. */
static const char *vfio_device(const struct vx_vm_plan *vp, unsigned n)
{
        char id[32];

        snprintf(id, sizeof(id), ",id=hostdev%u", n);
        for (size_t i = 0; i < vp->argv.n; i++)
                if (strncmp(vp->argv.items[i], "vfio-pci,host=", 14) == 0 && strstr(vp->argv.items[i], id))
                        return vp->argv.items[i];
        return NULL;
}

/*
 * Issue 10, start's half: the plan is complete with placeholders (the PF has
 * no VFs yet; vf: auto from a list), start creates the VFs (the highest index
 * + 1, and one per vf: auto), picks one, sets the PF's own settings, and the
 * addresses go in place of the placeholders; teardown gives everything back.
 */
static void test_created_and_picked_at_start(void **state)
{
        static const struct vx_pf_fact p3p1[] = {{.ifname = "p3p1", .total_vfs = 7, .num_vfs = 0}};
        _cleanup_free_ char *before = snapshot();
        struct fake_pf_state *p = fake_pf_state("p3p1");
        struct deployment d = {0};
        const struct vx_vm_plan *vp;
        struct vx_vfio_pf pf;

        plan_pfs = p3p1;
        n_plan_pfs = 1;
        deployment_load(&d,
                        "name: made\nvms:\n" VM("vfp",
                                                VFNIC("1", "02:04:17:01:02:02",
                                                      "200") "      - {type: vf, pf: [p9p9, p3p1], vf: auto, mac: "
                                                             "\"02:04:17:01:02:03\",\n"
                                                             "         pf-settings: {mtu: 2000, promisc: on, allmulti: "
                                                             "on}}\n"),
                        "root", false);
        vp = &d.plan->vms[0];
        assert_true(vp->complete);
        assert_non_null(strstr(vfio_device(vp, 0), "host=@p3p1/vf1@,"));
        assert_non_null(strstr(vfio_device(vp, 1), "host=@p9p9,p3p1/auto:nics[1]@,"));

        assert_int_equal(apply_deployment(d.apply), 0);
        assert_int_equal(apply_vfio_resolve(d.apply, d.plan), 0);
        /* 3 VFs: vf 1 needs 2, the auto one more; auto took the lowest free one, VF 0. */
        assert_int_equal(vfio_pf_get(T, "p3p1", &pf), 0);
        assert_int_equal(pf.num_vfs, 3);
        assert_non_null(strstr(vfio_device(vp, 0), "host=" VF1 ","));
        assert_non_null(strstr(vfio_device(vp, 1), "host=" VF0 ","));
        assert_string_equal(driver_of(VF0), "vfio-pci");
        assert_string_equal(driver_of(VF1), "vfio-pci");
        assert_string_equal(driver_of(VF2), "igbvf");
        assert_string_equal(p->vfs[0].mac, "02:04:17:01:02:03");
        assert_string_equal(p->vfs[1].mac, "02:04:17:01:02:02");
        assert_int_equal(p->flags.mtu, 2000);
        assert_true(p->flags.promisc);
        assert_true(p->flags.allmulti);
        assert_true(p->flags.up); /* not asked: left as it was */
        assert_string_equal(ledger("claims"), VF0 "=made;" VF1 "=made;");
        /* An adopting supervisor finds the same addresses in the journal. */
        {
                struct deployment again = {0};

                deployment_load(
                        &again,
                        "name: made\nvms:\n" VM("vfp", VFNIC("1", "02:04:17:01:02:02",
                                                             "200") "      - {type: vf, pf: [p9p9, p3p1], vf: auto}\n"),
                        "root", false);
                assert_int_equal(apply_vfio_resolve(again.apply, again.plan), 0);
                assert_non_null(strstr(vfio_device(&again.plan->vms[0], 1), "host=" VF0 ","));
                deployment_done(&again);
        }

        assert_int_equal(apply_teardown(d.apply), 0);
        assert_same_host(before);
        assert_string_equal(ledger("claims"), "");
        assert_string_equal(ledger("pfs"), "");
        deployment_done(&d);
}

/* A start that created the PF's VFs and fails later lowers sriov_numvfs back to what it was. */
static void test_created_then_failed(void **state)
{
        static const struct vx_pf_fact p3p1[] = {{.ifname = "p3p1", .total_vfs = 7, .num_vfs = 0}};
        _cleanup_free_ char *before = snapshot();
        struct deployment d = {0};

        plan_pfs = p3p1;
        n_plan_pfs = 1;
        deployment_load(
                &d,
                "name: fails\nvms:\n" VM("vfp", VFNIC("2", "02:04:17:01:02:02",
                                                      "200") "      - {type: vf, pf: p3p1, vf: auto, pf-settings: {up: "
                                                             "off}}\n"),
                "root", false);
        assert_true(d.plan->vms[0].complete);
        /* The second bind fails: by then the VFs exist, one is bound, the PF is down. */
        snprintf(fail_suffix, sizeof(fail_suffix), "%s", VF0 "/driver_override");
        fail_errno = EIO;
        assert_true(apply_deployment(d.apply) < 0);
        assert_same_host(before);
        assert_string_equal(ledger("claims"), "");
        assert_string_equal(ledger("pfs"), "");
        deployment_done(&d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_apply_teardown, setup, teardown),
                cmocka_unit_test_setup_teardown(test_teardown_from_journal, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failure_half_way, setup, teardown),
                cmocka_unit_test_setup_teardown(test_iommu_off, setup, teardown),
                cmocka_unit_test_setup_teardown(test_two_deployments, setup, teardown),
                cmocka_unit_test_setup_teardown(test_created_and_picked_at_start, setup, teardown),
                cmocka_unit_test_setup_teardown(test_created_then_failed, setup, teardown),
        };

        netns_enter_or_skip();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
