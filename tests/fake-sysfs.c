/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fake sysfs tree of tests/fake-sysfs.h. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "fake-sysfs.h"

char T[PATH_MAX];      /* its root */
char writes[4096];     /* every write, "REL=VALUE;" in order */
char fail_suffix[128]; /* a write to a path ending so fails ... */
int fail_errno;        /* ... with this */
bool no_dev_nodes;     /* vfio-pci binds but /dev/vfio/N never appears */
void (*write_hook)(const char *name, const char *value);

struct fake fakes[MAX_FAKE];
size_t n_fakes;
int next_group = 10;

void xmkdir(const char *fmt, ...)
{
        char rel[PATH_MAX], p[PATH_MAX * 2], *s;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(rel, sizeof(rel), fmt, ap);
        va_end(ap);
        snprintf(p, sizeof(p), "%s%s", T, rel);
        for (s = p + strlen(T) + 1; (s = strchr(s, '/')); s++) {
                *s = 0;
                (void)mkdir(p, 0755);
                *s = '/';
        }
        (void)mkdir(p, 0755);
}

/* Writes a file T + dir + "/" + name (name NULL: T + dir). */
void put_at(const char *dir, const char *name, const char *fmt, ...)
{
        char p[PATH_MAX * 2];
        va_list ap;
        FILE *f;

        snprintf(p, sizeof(p), "%s%s%s%s", T, dir, name ? "/" : "", name ?: "");
        f = fopen(p, "we");
        assert_non_null(f);
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        fclose(f);
}

/* A symlink at rel pointing at T + target_rel (the kernel's are relative; only the last component is read). */
void ln(const char *target_rel, const char *fmt, ...)
{
        char rel[PATH_MAX], p[PATH_MAX * 2], t[PATH_MAX * 2];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(rel, sizeof(rel), fmt, ap);
        va_end(ap);
        snprintf(p, sizeof(p), "%s%s", T, rel);
        snprintf(t, sizeof(t), "%s%s", T, target_rel);
        (void)unlink(p);
        assert_int_equal(symlink(t, p), 0);
}

void rm(const char *fmt, ...)
{
        char rel[PATH_MAX], p[PATH_MAX * 2];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(rel, sizeof(rel), fmt, ap);
        va_end(ap);
        snprintf(p, sizeof(p), "%s%s", T, rel);
        (void)unlink(p);
        (void)rmdir(p);
}

/* rm -rf T + rel. */
void rm_tree(const char *rel)
{
        char cmd[PATH_MAX * 2 + 32];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s%s'", T, rel);
        assert_int_equal(system(cmd), 0);
}

bool there(const char *fmt, ...)
{
        char rel[PATH_MAX], p[PATH_MAX * 2];
        struct stat st;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(rel, sizeof(rel), fmt, ap);
        va_end(ap);
        snprintf(p, sizeof(p), "%s%s", T, rel);
        return lstat(p, &st) == 0;
}

/* The current driver of a fake device, "" when none. */
const char *driver_of(const char *bdf)
{
        static char buf[PATH_MAX];
        char p[PATH_MAX * 2];
        ssize_t n;

        snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s/driver", T, bdf);
        n = readlink(p, buf, sizeof(buf) - 1);
        if (n < 0)
                return "";
        buf[n] = 0;
        return strrchr(buf, '/') + 1;
}

const char *override_of(const char *bdf)
{
        static char buf[128];
        char p[PATH_MAX * 2];
        FILE *f;

        snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s/driver_override", T, bdf);
        f = fopen(p, "re");
        assert_non_null(f);
        if (!fgets(buf, sizeof(buf), f))
                buf[0] = 0;
        fclose(f);
        buf[strcspn(buf, "\n")] = 0;
        return buf;
}

struct fake *fake_find(const char *bdf)
{
        for (size_t i = 0; i < n_fakes; i++)
                if (strcmp(fakes[i].bdf, bdf) == 0)
                        return &fakes[i];
        return NULL;
}

/* A registered PCI driver: its directory with bind and unbind. */
void fake_driver(const char *name)
{
        char d[PATH_MAX];

        snprintf(d, sizeof(d), "/sys/bus/pci/drivers/%s", name);
        xmkdir("%s", d);
        put_at(d, "bind", "%s", "");
        put_at(d, "unbind", "%s", "");
}

/* The net interface of a function exists while its own (net) driver holds it, as in the kernel. */
static void net_add(struct fake *f)
{
        char net[PATH_MAX], target[PATH_MAX];

        if (!f->ifname[0])
                return;
        snprintf(net, sizeof(net), "/sys/devices/pci0000:00/%s/net/%s", f->bdf, f->ifname);
        snprintf(target, sizeof(target), "/sys/devices/pci0000:00/%s", f->bdf);
        xmkdir("%s", net);
        xmkdir("/sys/class/net");
        ln(net, "/sys/class/net/%s", f->ifname);
        ln(target, "%s/device", net);
}

static void net_remove(struct fake *f)
{
        if (!f->ifname[0])
                return;
        rm("/sys/devices/pci0000:00/%s/net/%s/device", f->bdf, f->ifname);
        rm("/sys/devices/pci0000:00/%s/net/%s", f->bdf, f->ifname);
        rm("/sys/devices/pci0000:00/%s/net", f->bdf);
        rm("/sys/class/net/%s", f->ifname);
}

void do_bind(struct fake *f, const char *driver)
{
        char target[PATH_MAX];

        snprintf(target, sizeof(target), "/sys/bus/pci/drivers/%s", driver);
        ln(target, "/sys/devices/pci0000:00/%s/driver", f->bdf);
        snprintf(target, sizeof(target), "/sys/devices/pci0000:00/%s", f->bdf);
        ln(target, "/sys/bus/pci/drivers/%s/%s", driver, f->bdf);
        if (strcmp(driver, f->native) == 0)
                net_add(f);
        if (strcmp(driver, "vfio-pci") == 0 && f->group >= 0 && !no_dev_nodes) {
                char node[16];

                snprintf(node, sizeof(node), "%d", f->group);
                put_at("/dev/vfio", node, "%s", "");
        }
}

void do_unbind(struct fake *f)
{
        const char *drv = driver_of(f->bdf);

        if (!*drv)
                return;
        if (strcmp(drv, "vfio-pci") == 0 && f->group >= 0)
                rm("/dev/vfio/%d", f->group);
        rm("/sys/bus/pci/drivers/%s/%s", drv, f->bdf);
        rm("/sys/devices/pci0000:00/%s/driver", f->bdf);
        net_remove(f);
}

/* A PCI function; ifname: its net interface (bound to native), NULL for none; group -1: IOMMU off for it. */
struct fake *fake_device(const char *bdf, unsigned vendor, unsigned device, const char *native, int group,
                         const char *ifname, bool bound, int numa)
{
        struct fake *f = &fakes[n_fakes++];
        char target[PATH_MAX];

        assert_true(n_fakes <= MAX_FAKE);
        memset(f, 0, sizeof(*f));
        snprintf(f->bdf, sizeof(f->bdf), "%s", bdf);
        snprintf(f->native, sizeof(f->native), "%s", native);
        f->group = group;
        xmkdir("/sys/devices/pci0000:00/%s", bdf);
        snprintf(target, sizeof(target), "/sys/devices/pci0000:00/%s", bdf);
        ln(target, "/sys/bus/pci/devices/%s", bdf);
        put_at(target, "vendor", "0x%04x\n", vendor);
        put_at(target, "device", "0x%04x\n", device);
        put_at(target, "driver_override", "(null)\n");
        put_at(target, "numa_node", "%d\n", numa);
        if (group >= 0) {
                char g[64];

                snprintf(g, sizeof(g), "/sys/kernel/iommu_groups/%d", group);
                xmkdir("%s/devices", g);
                ln(g, "/sys/devices/pci0000:00/%s/iommu_group", bdf);
                ln(target, "%s/devices/%s", g, bdf);
        }
        if (ifname)
                snprintf(f->ifname, sizeof(f->ifname), "%s", ifname);
        if (bound)
                do_bind(f, native);
        return f;
}

/* An igb PF with total VFs (none enabled yet). */
void fake_pf(const char *bdf, const char *ifname, unsigned total, int numa)
{
        char dir[PATH_MAX];

        fake_device(bdf, 0x8086, 0x10c9, "igb", next_group++, ifname, true, numa);
        snprintf(dir, sizeof(dir), "/sys/devices/pci0000:00/%s", bdf);
        put_at(dir, "sriov_totalvfs", "%u\n", total);
        put_at(dir, "sriov_numvfs", "0\n");
}

/* What the kernel does on sriov_numvfs: VF i at bus:10.i (function bits), each in a group of its own, on igbvf. */
static int emulate_numvfs(const char *pf_bdf, const char *value)
{
        struct fake *pf = fake_find(pf_bdf);
        char rel[PATH_MAX * 2], cur_s[16];
        unsigned n = (unsigned)atoi(value), cur, total;
        FILE *f;

        assert_non_null(pf);
        snprintf(rel, sizeof(rel), "%s/sys/devices/pci0000:00/%s/sriov_numvfs", T, pf_bdf);
        f = fopen(rel, "re");
        assert_non_null(f);
        assert_non_null(fgets(cur_s, sizeof(cur_s), f));
        fclose(f);
        cur = (unsigned)atoi(cur_s);
        snprintf(rel, sizeof(rel), "%s/sys/devices/pci0000:00/%s/sriov_totalvfs", T, pf_bdf);
        f = fopen(rel, "re");
        assert_non_null(f);
        assert_non_null(fgets(cur_s, sizeof(cur_s), f));
        fclose(f);
        total = (unsigned)atoi(cur_s);
        if (n > total)
                return -ERANGE;
        if (n && cur)
                return -EBUSY;
        if (n == 0) {
                for (unsigned i = 0; i < cur; i++) {
                        char vf[32], gone[96];
                        struct fake *v;

                        snprintf(vf, sizeof(vf), "%.8s%02x.%u", pf_bdf, 0x10 + i / 8, i % 8);
                        v = fake_find(vf);
                        assert_non_null(v);
                        do_unbind(v);
                        rm("/sys/devices/pci0000:00/%s/virtfn%u", pf_bdf, i);
                        rm("/sys/bus/pci/devices/%s", vf);
                        if (v->ifname[0])
                                rm("/sys/class/net/%s", v->ifname);
                        /* The kernel removes the function, and its IOMMU group with it. */
                        snprintf(gone, sizeof(gone), "/sys/devices/pci0000:00/%s", vf);
                        rm_tree(gone);
                        if (v->group >= 0) {
                                snprintf(gone, sizeof(gone), "/sys/kernel/iommu_groups/%d", v->group);
                                rm_tree(gone);
                        }
                        v->bdf[0] = 0; /* gone */
                }
        }
        for (unsigned i = 0; i < n; i++) {
                char vf[32], ifn[32], target[PATH_MAX];
                struct fake *v;

                snprintf(vf, sizeof(vf), "%.8s%02x.%u", pf_bdf, 0x10 + i / 8, i % 8);
                snprintf(ifn, sizeof(ifn), "%sv%u", pf->ifname, i);
                v = fake_device(vf, 0x8086, 0x10ca, "igbvf", next_group++, ifn, true, -1);
                snprintf(v->pf, sizeof(v->pf), "%s", pf_bdf);
                snprintf(target, sizeof(target), "/sys/devices/pci0000:00/%s", vf);
                ln(target, "/sys/devices/pci0000:00/%s/virtfn%u", pf_bdf, i);
                snprintf(target, sizeof(target), "/sys/devices/pci0000:00/%s", pf_bdf);
                ln(target, "/sys/devices/pci0000:00/%s/physfn", vf);
        }
        snprintf(rel, sizeof(rel), "/sys/devices/pci0000:00/%s/sriov_numvfs", pf_bdf);
        put(rel, "%u\n", n);
        return 0;
}

/* Plays the kernel for one write; path is under T. */
static int emulate(const char *rel, const char *value)
{
        char bdf[VX_VFIO_BDF_SIZE] = "", drv[64] = "", attr[64] = "";
        struct fake *f;

        if (sscanf(rel, "/sys/bus/pci/drivers/%63[^/]/%63s", drv, attr) == 2 && strcmp(attr, "unbind") == 0) {
                f = fake_find(value);
                if (!f || strcmp(driver_of(value), drv) != 0)
                        return -ENODEV;
                do_unbind(f);
                return 0;
        }
        if (sscanf(rel, "/sys/bus/pci/drivers/%63[^/]/%63s", drv, attr) == 2 && strcmp(attr, "bind") == 0) {
                const char *ov;

                f = fake_find(value);
                if (!f)
                        return -ENODEV;
                if (*driver_of(value))
                        return -EBUSY;
                ov = override_of(value);
                if (strcmp(ov, "(null)") != 0 ? strcmp(ov, drv) != 0 : strcmp(f->native, drv) != 0)
                        return -ENODEV;
                do_bind(f, drv);
                return 0;
        }
        if (strcmp(rel, "/sys/bus/pci/drivers_probe") == 0) {
                const char *ov, *want;

                f = fake_find(value);
                if (!f)
                        return -ENODEV;
                if (*driver_of(value))
                        return 0;
                ov = override_of(value);
                want = strcmp(ov, "(null)") != 0 ? ov : f->native;
                if (there("/sys/bus/pci/drivers/%s", want))
                        do_bind(f, want);
                return 0; /* no driver matched: the kernel's write still succeeds */
        }
        if (sscanf(rel, "/sys/devices/pci0000:00/%12[^/]/%63s", bdf, attr) == 2) {
                if (strcmp(attr, "driver_override") == 0) {
                        put(rel, "%s\n", strcmp(value, "\n") == 0 ? "(null)" : value);
                        return 0;
                }
                if (strcmp(attr, "sriov_numvfs") == 0)
                        return emulate_numvfs(bdf, value);
        }
        return -EACCES; /* nothing else is writable */
}

int __wrap_vfio_sysfs_write(const char *path, const char *value)
{
        _cleanup_free_ char *rel = NULL;
        const char *at, *sub = path + strlen(T);
        char shown[64];
        size_t n;

        assert_true(strncmp(path, T, strlen(T)) == 0); /* never outside the fake tree */
        /* The sysfs links in the tree point into T: resolve /sys/bus/pci/devices/BDF/ to the device dir. */
        if (strncmp(sub, "/sys/bus/pci/devices/", 21) == 0 && strlen(sub) > 21 + 12)
                assert_true(asprintf(&rel, "/sys/devices/pci0000:00/%s", sub + 21) > 0);
        else
                assert_non_null(rel = strdup(sub));
        snprintf(shown, sizeof(shown), "%s", strcmp(value, "\n") == 0 ? "\\n" : value);
        at = strrchr(rel, '/');
        n = strlen(writes);
        snprintf(writes + n, sizeof(writes) - n, "%s=%s;", at ? at + 1 : rel, shown);
        if (write_hook)
                write_hook(at ? at + 1 : rel, value);
        if (fail_suffix[0] && strlen(rel) >= strlen(fail_suffix) &&
            strcmp(rel + strlen(rel) - strlen(fail_suffix), fail_suffix) == 0)
                return -fail_errno;
        return emulate(rel, value);
}

int tree_setup(void **state)
{
        snprintf(T, sizeof(T), "/tmp/vx-vfio-test-XXXXXX");
        if (!mkdtemp(T))
                return -1;
        n_fakes = 0;
        next_group = 10;
        writes[0] = fail_suffix[0] = 0;
        fail_errno = 0;
        no_dev_nodes = false;
        write_hook = NULL;
        xmkdir("/sys/bus/pci/devices");
        put("/sys/bus/pci/drivers_probe", "%s", "");
        for (const char *const *d = (const char *const[]){"igb", "igbvf", "ixgbe", "vfio-pci", "pci-stub", NULL}; *d;
             d++)
                fake_driver(*d);
        xmkdir("/sys/kernel/iommu_groups");
        xmkdir("/dev/vfio");
        fake_pf("0000:03:00.0", "p3p1", 7, 1);
        fake_pf("0000:02:00.0", "p2p1", 4, 0);
        /* A NIC without SR-IOV, and an interface without a device. */
        fake_device("0000:01:00.0", 0x8086, 0x1533, "igb", next_group++, "em1", true, 0);
        xmkdir("/sys/class/net/lo");
        return 0;
}

int tree_teardown(void **state)
{
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T);
        return system(cmd) == 0 ? 0 : -1;
}
