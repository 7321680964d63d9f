/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * struct imp_instance -> profile YAML text, with a comment on each part that
 * names the vmx.conf line (FILE:LINE) or the vmx.sh output it reproduces.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "import-internal.h"

#define COMMENT_COLUMN 40

struct out {
        FILE *f;
        const struct vx_import_options *opts;
        bool shared_metadata; /* several VCPs: the metadata disk is opened read-only */
        bool gigantic;        /* the host offers 1 GiB pages: the VFP uses them */
        const struct imp_instance *in; /* for "FILE:LINE" */
};

/* One line: indent, text, and a comment aligned at COMMENT_COLUMN when given. */
static void L(struct out *o, unsigned indent, const char *comment, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void L(struct out *o, unsigned indent, const char *comment, const char *fmt, ...)
{
        va_list ap;
        int n;

        n = fprintf(o->f, "%*s", (int)indent, "");
        va_start(ap, fmt);
        n += vfprintf(o->f, fmt, ap);
        va_end(ap);
        if (comment && *comment)
                fprintf(o->f, "%*s# %s", n < COMMENT_COLUMN ? COMMENT_COLUMN - n : 1, "", comment);
        fputc('\n', o->f);
}

/* A comment line. */
static void C(struct out *o, unsigned indent, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void C(struct out *o, unsigned indent, const char *fmt, ...)
{
        va_list ap;

        fprintf(o->f, "%*s# ", (int)indent, "");
        va_start(ap, fmt);
        vfprintf(o->f, fmt, ap);
        va_end(ap);
        fputc('\n', o->f);
}

/* "FILE:LINE KEY" in a static buffer ring, for comments. */
static const char *at(const struct out *o, unsigned line, const char *what)
{
        static char ring[8][256];
        static unsigned next;
        char *b = ring[next++ % 8];

        if (line)
                snprintf(b, sizeof(ring[0]), "%s:%u %s", o->in->base, line, what);
        else
                snprintf(b, sizeof(ring[0]), "%s", what);
        return b;
}

/* A YAML double-quoted scalar; the reader refused control characters already. */
static void put_quoted(FILE *f, const char *s)
{
        fputc('"', f);
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        fputc('\\', f);
                fputc(*s, f);
        }
        fputc('"', f);
}

/* Text safe in a comment: one line. */
static const char *one_line(const char *s, char *buf, size_t size)
{
        size_t i = 0;

        for (; *s && i + 1 < size; s++)
                buf[i++] = (unsigned char)*s < 0x20 ? ' ' : *s;
        buf[i] = '\0';
        return buf;
}

static void emit_header(struct out *o, struct imp_instance *const *ins, size_t n, const char *junosdev_base)
{
        unsigned cpus = ins[n - 1]->first_cpu + ins[n - 1]->vcp.vcpus + ins[n - 1]->vfp.vcpus;

        fprintf(o->f, "# Imported by `vmxrun import` from ");
        for (size_t i = 0; i < n; i++)
                fprintf(o->f, "%s%s", i ? ", " : "", ins[i]->base);
        if (junosdev_base)
                fprintf(o->f, " and %s", junosdev_base);
        fprintf(o->f, ",\n");
        C(o, 0, "the vMX configuration of Juniper's vmx.sh. Comments name the line each part comes");
        C(o, 0, "from (FILE:LINE KEY) or the file vmx.sh generated for it (vRE-/vPFE-generated.xml,");
        C(o, 0, "br-ext-/br-int-generated.xml, cpu_affinitize.sh, vfconfig-generated.sh).");
        C(o, 0, "docs/import.md describes the mapping. Not carried over, as vmxrun does not need it:");
        C(o, 0, "libvirt's networks and DHCP, the AC97 sound card, ixgbe driver builds, pci-stub binds.");
        fprintf(o->f, "#\n");
        C(o, 0, "vCPU pinning: cpu_affinitize.sh pinned each vCPU to one host CPU and the emulator");
        C(o, 0, "threads to CPU 0, picking the CPUs on the host it ran on. That host is not known here,");
        if (ins[0]->first_cpu == 0) {
                C(o, 0, "so each VM says `pinning: auto`: at start vmxrun places it on the host it runs on,");
                C(o, 0, "a VFP on the NUMA node of its VFs, on isolated cores first, around the CPUs other");
                C(o, 0, "deployments hold (docs/placement.md; `vmxrun cmdline --plan` shows the choice).");
        } else {
                C(o, 0, "so the rule is fixed: emulator threads on CPU 0; vCPUs one per host CPU, counting up");
                C(o, 0, "from CPU %u (--first-cpu), the VCP's, then the VFP's, instance after instance.",
                  ins[0]->first_cpu);
                C(o, 0, "This needs a host with at least %u CPUs: adjust pinning to the host, and keep each", cpus);
                C(o, 0, "VFP's vCPUs on the NUMA node of its NICs.");
        }
        fprintf(o->f, "#\n");
        C(o, 0, "Guest PCI slots are those libvirt gave vmx.sh's XML (slot 2 video, AC97's left empty),");
        C(o, 0, "so the guests see their NICs in the same order. The internal NICs (VCP em1, VFP int)");
        C(o, 0, "had MACs libvirt picked at random; here they are derived from the identifier, because");
        C(o, 0, "QEMU's default would give both ends of br-int the same one.");
}

static void emit_bridge_common(struct out *o, const char *name)
{
        L(o, 2, NULL, "- name: %s", name);
        L(o, 4, NULL, "stp: true");
        L(o, 4, NULL, "forward-delay: 0");
}

static bool declared(char **names, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(names[i], name) == 0)
                        return true;
        return false;
}

static int emit_bridges(struct out *o, struct imp_instance *const *ins, size_t n, const struct imp_links *links)
{
        _cleanup_free_ char **names = calloc(3 * n + (links ? links->n_bridges : 0) + 1, sizeof(char *));
        size_t nn = 0;

        if (!names)
                return -ENOMEM;
        fprintf(o->f, "\nbridges:\n");
        for (size_t i = 0; i < n; i++) {
                o->in = ins[i];
                if (!declared(names, nn, ins[i]->br_ext)) {
                        names[nn++] = ins[i]->br_ext;
                        C(o, 2, "The external bridge (%s; br-ext-generated.xml: stp on, delay 0).",
                          at(o, ins[i]->line_br_ext, "BRIDGES name"));
                        emit_bridge_common(o, ins[i]->br_ext);
                        if (ins[i]->mgmt) {
                                L(o, 4, at(o, ins[i]->line_mgmt, "host-management-interface"), "uplink: %s",
                                  ins[i]->mgmt);
                                L(o, 4, "vmx.sh: \"Flush\", \"Bind ... to br-ext\"", "move-host-address: true");
                        } else
                                C(o, 4, "No host-management-interface: no uplink.");
                }
                C(o, 2, "The internal VCP-VFP link of %s (br-int-generated.xml).", ins[i]->id);
                emit_bridge_common(o, ins[i]->br_int);
                names[nn++] = ins[i]->br_int;
                for (size_t d = 0; d < ins[i]->n_devs; d++)
                        if (ins[i]->device_type == IMP_VIRTIO && !ins[i]->devs[d].bridge) {
                                C(o, 2, "The Junos ports of %s that no vmx-junosdev.conf link binds. vmx.sh put them",
                                  ins[i]->id);
                                C(o, 2, "on libvirt's NAT network 'default' (virbr0); this bridge has no NAT, no DHCP.");
                                L(o, 2, NULL, "- name: %s", ins[i]->br_ge);
                                names[nn++] = ins[i]->br_ge;
                                break;
                        }
        }
        for (size_t i = 0; links && i < links->n_bridges; i++) {
                const struct imp_link_bridge *b = &links->bridges[i];

                if (!b->used || declared(names, nn, b->name))
                        continue;
                names[nn++] = b->name;
                fprintf(o->f, "  # %s:%u: vmx.sh --bind-dev created bridge %s.\n", links->base, b->line, b->name);
                L(o, 2, NULL, "- name: %s", b->name);
                if (b->uplink)
                        L(o, 4, "host_dev", "uplink: %s", b->uplink);
                if (b->mtu)
                        L(o, 4, NULL, "mtu: %u", b->mtu);
        }
        return 0;
}

static void emit_pinning(struct out *o, const struct imp_instance *in, bool vfp)
{
        unsigned first = in->first_cpu + (vfp ? in->vcp.vcpus : 0), vcpus = vfp ? in->vfp.vcpus : in->vcp.vcpus;

        if (in->first_cpu == 0) {
                L(o, 4,
                  vfp && in->device_type == IMP_SRIOV
                          ? "cpu_affinitize.sh: vmxrun places it on the NUMA node of its VFs, memory there too"
                          : "cpu_affinitize.sh: vmxrun places it (docs/placement.md)",
                  "pinning: auto");
                return;
        }
        L(o, 4, "cpu_affinitize.sh: the rule at the top", "pinning:");
        fprintf(o->f, "      vcpus: [");
        for (unsigned i = 0; i < vcpus; i++)
                fprintf(o->f, "%s\"%u\"", i ? ", " : "", first + i);
        fprintf(o->f, "]\n");
        L(o, 6, "virsh emulatorpin ... 0", "emulator: \"0\"");
}

static void emit_console(struct out *o, const struct imp_vm *vm, unsigned display)
{
        L(o, 4, at(o, vm->line_port, "console_port; <serial type=\"tcp\">, telnet"), "serial:");
        L(o, 6, NULL, "type: telnet");
        L(o, 6, NULL, "host: 127.0.0.1");
        L(o, 6, NULL, "port: %u", vm->console_port);
        L(o, 4, "<graphics type=\"vnc\" autoport=\"yes\">", "vnc:");
        L(o, 6, NULL, "listen: 127.0.0.1");
        L(o, 6, "autoport: the first free display", "display: %u", display);
        L(o, 4, "<video><model type=\"cirrus\"/>", "video: cirrus");
        L(o, 4, "<memballoon model=\"virtio\">", "balloon: true");
        L(o, 4, "<on_crash>restart, <on_poweroff>destroy", "restart:");
        L(o, 6, NULL, "policy: on-crash");
}

static void emit_tap(struct out *o, const char *tap, const char *bridge, const char *model, const char *mac,
                     const char *mac_comment, unsigned mtu, int slot)
{
        L(o, 6, NULL, "- type: tap");
        L(o, 8, NULL, "tap: %s", tap);
        L(o, 8, NULL, "bridge: %s", bridge);
        if (model)
                L(o, 8, NULL, "model: %s", model);
        if (mac)
                L(o, 8, mac_comment, "mac: \"%s\"", mac);
        if (mtu)
                L(o, 8, "the link's mtu (vmx-junosdev.conf)", "mtu: %u", mtu);
        if (slot > 0)
                L(o, 8, NULL, "pci-slot: %d", slot);
}

/*
 * vmx.sh wrote memory-mb into its XML as <memory unit="Mb">, and libvirt reads
 * "Mb" as 10^6 bytes: 2048 became 2,048,000,000 bytes, which libvirt handed
 * QEMU rounded up to whole MiB (-m 1954 in the seed's ps lines). This is what
 * the guests ran with, so it is what the profile says.
 */
static unsigned mib_of(unsigned memory_mb)
{
        unsigned long long bytes = (unsigned long long)memory_mb * 1000000ULL;
        return (unsigned)((bytes + (1ULL << 20) - 1) >> 20);
}

static void emit_memory_size(struct out *o, const struct imp_vm *vm, unsigned mib)
{
        L(o, 6, at(o, vm->line_memory, "memory-mb"), "size: %uMiB", mib);
        C(o, 6, "memory-mb %u went into libvirt as unit=\"Mb\" (10^6 bytes): the guest ran with %u MiB", vm->memory_mb,
          mib_of(vm->memory_mb));
        if (mib != mib_of(vm->memory_mb))
                C(o, 6, "(here %u MiB, a whole number of %s pages: QEMU refuses a size that is not)", mib,
                  o->gigantic ? "1 GiB" : "2 MiB");
}

/*
 * libvirt gave each domain a random UUID when vmx.sh defined it, which Junos
 * may have a licence tied to: vmx.conf does not have it, the running QEMU's
 * -uuid does (import --running).
 */
static void emit_uuid(struct out *o, const char *plane, const char *id)
{
        char name[64];

        snprintf(name, sizeof(name), "%s-%s", plane, id);
        for (size_t i = 0; o->opts && i < o->opts->n_running; i++)
                if (o->opts->running[i].uuid && strcmp(o->opts->running[i].name, name) == 0) {
                        _cleanup_free_ char *c = NULL;

                        if (asprintf(&c, "-uuid of the running QEMU (%s)", o->opts->running[i].origin) < 0)
                                c = NULL;
                        L(o, 4, c ?: "-uuid of the running QEMU", "uuid: %s", o->opts->running[i].uuid);
                        return;
                }
}

static void emit_vcp(struct out *o, const struct imp_instance *in)
{
        _cleanup_free_ char *dir = strdup(in->re_image);
        char *slash, tap[32];

        fprintf(o->f, "\n");
        C(o, 2, "vcp-%s: the routing engine, as vRE-generated.xml (%s).", in->id, at(o, in->vcp.line, "CONTROL_PLANE"));
        L(o, 2, NULL, "- name: vcp-%s", in->id);
        L(o, 4, "<type machine=\"pc-0.13\">: no longer in QEMU", "machine: pc");
        L(o, 4, "<cpu mode=\"host-model\">", "cpu: host");
        L(o, 4, at(o, in->vcp.line_vcpus, "vcpus"), "vcpus: %u", in->vcp.vcpus);
        emit_uuid(o, "vcp", in->id);
        L(o, 4, NULL, "memory:");
        emit_memory_size(o, &in->vcp, mib_of(in->vcp.memory_mb));
        emit_pinning(o, in, false);
        L(o, 4, "<sysinfo type=\"smbios\">: Junos reads it", "smbios:");
        L(o, 6, NULL, "- type: 0");
        L(o, 8, NULL, "vendor: Juniper");
        L(o, 6, NULL, "- type: 1");
        L(o, 8, NULL, "manufacturer: VMX");
        L(o, 8, NULL, "product: VM-vcp_%s-161-re-0", in->id);
        L(o, 8, NULL, "version: 0.1.0");
        L(o, 4, NULL, "disks:");
        C(o, 6, "%s (hda, the boot disk).", at(o, in->line_re_image, "routing-engine-image"));
        fprintf(o->f, "      - file: ");
        put_quoted(o->f, in->re_image);
        fprintf(o->f, "\n");
        L(o, 8, NULL, "bus: ide");
        L(o, 8, NULL, "format: qcow2");
        L(o, 8, "<driver cache=\"directsync\">", "cache: directsync");
        L(o, 8, NULL, "boot-order: 1");
        C(o, 6, "%s (hdb).", at(o, in->line_re_hdd, "routing-engine-hdd"));
        fprintf(o->f, "      - file: ");
        put_quoted(o->f, in->re_hdd);
        fprintf(o->f, "\n");
        L(o, 8, NULL, "bus: ide");
        L(o, 8, NULL, "format: qcow2");
        L(o, 8, NULL, "cache: directsync");
        /* vmx.sh took metadata_usb.img from the images directory of the package, beside the RE image. */
        if (dir && (slash = strrchr(dir, '/')))
                slash[1] = '\0';
        C(o, 6, "The metadata disk (sda on usb) vmx.sh always attached, from the package's images");
        C(o, 6, "directory: taken to be the directory of routing-engine-image.");
        fprintf(o->f, "      - file: \"");
        if (dir && strchr(dir, '/'))
                for (const char *s = dir; *s; s++)
                        fprintf(o->f, "%s%c", *s == '"' || *s == '\\' ? "\\" : "", *s);
        fprintf(o->f, "metadata_usb.img\"\n");
        L(o, 8, NULL, "bus: usb");
        L(o, 8, NULL, "format: raw");
        L(o, 8, NULL, "cache: directsync");
        if (o->shared_metadata)
                L(o, 8, "shared by the VCPs of this profile", "readonly: true");
        L(o, 4, NULL, "nics:");
        snprintf(tap, sizeof(tap), "vcp_ext-%s", in->id);
        C(o, 6, "fxp0: <interface type=\"bridge\"> on %s, e1000.", in->br_ext);
        emit_tap(o, tap, in->br_ext, "e1000", in->vcp.mac, at(o, in->vcp.line_mac, "macaddr"), 0, 3);
        snprintf(tap, sizeof(tap), "vcp_int-%s", in->id);
        C(o, 6, "em1: the internal link to the VFP, virtio (vhost: auto, as libvirt).");
        emit_tap(o, tap, in->br_int, "virtio", in->vcp.int_mac, "derived from the identifier", 0, 5);
        emit_console(o, &in->vcp, in->first_vnc);
}

static void emit_dev(struct out *o, const struct imp_instance *in, const struct imp_dev *d, size_t i)
{
        char buf[256], what[300];

        snprintf(what, sizeof(what), "%s%s%s%s", d->interface, d->description ? " (\"" : "",
                 d->description ? one_line(d->description, buf, sizeof(buf)) : "", d->description ? "\")" : "");
        if (in->device_type == IMP_VIRTIO) {
                unsigned slot = 5 + (unsigned)i;

                if (d->bridge)
                        C(o, 6, "%s; %s:%u link %s.", at(o, d->line, what), d->link_file, d->link_line,
                          d->link);
                else
                        C(o, 6, "%s; <interface type=\"network\">, virtio.", at(o, d->line, what));
                emit_tap(o, d->tap, d->bridge ? d->bridge : in->br_ge, NULL, d->mac,
                         at(o, d->line_mac, "mac-address"), d->mtu, slot <= 31 ? (int)slot : -1);
                return;
        }
        C(o, 6, "%s; vPFE-generated.xml <interface type=\"hostdev\">,", at(o, d->line, what));
        C(o, 6, "vfconfig-generated.sh: ip link set %s vf %d mac/rate/spoofchk off.", d->nic, d->vf);
        L(o, 6, NULL, "- type: vf");
        L(o, 8, at(o, d->line_nic, "nic"), "pf: %s", d->nic);
        L(o, 8, at(o, d->line_vf, "virtual-function"), "vf: %d", d->vf);
        if (d->mac)
                L(o, 8, at(o, d->line_mac, "mac-address"), "mac: \"%s\"", d->mac);
        if (d->speed > 0)
                L(o, 8, at(o, d->line_speed, "port-speed-mbps"), "rate: %d", d->speed);
        L(o, 8, NULL, "spoofchk: off");
        /* Without trust the PF drops the VF's multicast joins: OSPF (224.0.0.5/6) and IS-IS never come up. */
        L(o, 8, "the guest joins multicast groups (OSPF, VRRP): the PF must let it", "trust: on");
        if (6 + i <= 31)
                L(o, 8, NULL, "pci-slot: %zu", 6 + i);
}

static void emit_vfp(struct out *o, const struct imp_instance *in)
{
        bool sriov = in->device_type == IMP_SRIOV;
        unsigned page = o->gigantic ? 1024 : 2, mib = (mib_of(in->vfp.memory_mb) + page - 1) / page * page;
        char tap[32];

        fprintf(o->f, "\n");
        C(o, 2, "vfp-%s: the forwarding plane, as vPFE-generated.xml (%s).", in->id,
          at(o, in->vfp.line, "FORWARDING_PLANE"));
        L(o, 2, NULL, "- name: vfp-%s", in->id);
        L(o, 4, "<type machine=\"pc-i440fx-trusty\">", "machine: pc");
        L(o, 4, "<cpu mode=\"host-model\">", "cpu: host");
        L(o, 4, at(o, in->vfp.line_vcpus, "vcpus"), "vcpus: %u", in->vfp.vcpus);
        emit_uuid(o, "vfp", in->id);
        L(o, 4, NULL, "memory:");
        emit_memory_size(o, &in->vfp, mib);
        L(o, 6, "<memoryBacking><hugepages/>", "hugepages:");
        /* The seed's host reserved 2 MiB pages (vm.nr_hugepages = 32768); 1 GiB ones only where the host has them. */
        L(o, 8, o->gigantic ? "the host offers 1 GiB pages (import --hugepages 1G)" : "as the seed's host: 2M pages",
          "page-size: %s", o->gigantic ? "1G" : "2M");
        if (sriov && in->first_cpu > 0) {
                C(o, 8, "vmx.sh bound this memory to the NUMA node of the VFs' ports");
                C(o, 8, "(<numatune><memory mode=\"strict\" nodeset=...>). Set it: the node of %s is in",
                  in->n_devs ? in->devs[0].nic : "the port");
                C(o, 8, "/sys/class/net/%s/device/numa_node.", in->n_devs ? in->devs[0].nic : "NIC");
                C(o, 8, "node: 0");
        }
        L(o, 6, "<memoryBacking><nosharepages/>", "merge: false");
        emit_pinning(o, in, true);
        L(o, 4, NULL, "disks:");
        C(o, 6, "%s (hda, the boot disk).", at(o, in->line_fe_image, "forwarding-engine-image"));
        fprintf(o->f, "      - file: ");
        put_quoted(o->f, in->fe_image);
        fprintf(o->f, "\n");
        L(o, 8, NULL, "bus: ide");
        L(o, 8, NULL, "format: raw");
        L(o, 8, NULL, "cache: directsync");
        L(o, 8, NULL, "boot-order: 1");
        L(o, 4, NULL, "nics:");
        snprintf(tap, sizeof(tap), "vfp_ext-%s", in->id);
        C(o, 6, "ext: on %s, virtio (vhost: auto, as libvirt).", in->br_ext);
        emit_tap(o, tap, in->br_ext, NULL, in->vfp.mac, at(o, in->vfp.line_mac, "macaddr"), 0, 3);
        snprintf(tap, sizeof(tap), "vfp_int-%s", in->id);
        C(o, 6, "int: the internal link to the VCP.");
        emit_tap(o, tap, in->br_int, NULL, in->vfp.int_mac, "derived from the identifier", 0, 4);
        for (size_t i = 0; i < in->n_devs; i++)
                emit_dev(o, in, &in->devs[i], i);
        emit_console(o, &in->vfp, in->first_vnc + 1);
}

int imp_emit(struct imp_instance *const *ins, size_t n, const struct imp_links *links, const char *name,
             const char *junosdev_base, const struct vx_import_options *opts, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        struct out o = {.opts = opts, .in = ins[0], .shared_metadata = n > 1, .gigantic = opts && opts->gigantic_pages};
        int r;

        o.f = open_memstream(&buf, &len);
        if (!o.f)
                return -ENOMEM;
        emit_header(&o, ins, n, junosdev_base);
        fprintf(o.f, "name: %s\n", name);
        r = emit_bridges(&o, ins, n, links);
        fprintf(o.f, "\nvms:");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                o.in = ins[i];
                emit_vcp(&o, ins[i]);
                emit_vfp(&o, ins[i]);
        }
        if (ferror(o.f))
                r = -ENOMEM;
        if (fclose(o.f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}
