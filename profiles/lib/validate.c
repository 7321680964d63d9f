/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Checks on the model that need no host: rules that relate several values
 * (topology, unique names, MACs, ports), and strings that QEMU could not take
 * inside an option. Types, ranges and units were checked by the parser; this
 * runs on whatever it managed to fill in, so every field may still be NULL or
 * a default, and nothing is reported twice.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "profile-internal.h"
#include "strmap.h"

/*
 * What earlier VMs and NICs used, each to the first (VM, NIC) index that used
 * it: every check of "also used by" is one lookup, so validation stays linear
 * in the size of the profile.
 */
struct seen {
        struct vx_strmap bridges;      /* bridge name -> bridge */
        struct vx_strmap names;        /* VM name -> VM */
        struct vx_strmap macs;         /* lower-case MAC -> VM, NIC */
        struct vx_strmap taps;         /* tap name -> VM, NIC */
        struct vx_strmap vfs;          /* "<vf> <pf>" -> VM, NIC */
        struct vx_strmap hostdevs;     /* PCI address -> VM, NIC */
        struct vx_strmap slots;        /* "<vm> <slot>" -> VM, NIC */
        struct vx_strmap console_any;  /* "<port>" -> first VM with a TCP console on it */
        struct vx_strmap console_wild; /* "<port>" -> first VM listening on it on every address */
        struct vx_strmap console_at;   /* "<port> <host>" -> first VM */
        struct vx_strmap display_any;  /* the same for VNC displays */
        struct vx_strmap display_wild;
        struct vx_strmap display_at;
        struct vx_strmap vnc_ports; /* "<5900 + display>" -> first VM of all, not only earlier ones */
};

struct vctx {
        struct vx_profile *p;
        struct vx_diags *diags;
        struct seen seen;
        int r; /* sticky -ENOMEM */
};

static void seen_done(struct seen *s)
{
        struct vx_strmap *maps[] = {
                &s->bridges,     &s->names,        &s->macs,        &s->taps,         &s->vfs,
                &s->hostdevs,    &s->slots,        &s->console_any, &s->console_wild, &s->console_at,
                &s->display_any, &s->display_wild, &s->display_at,  &s->vnc_ports,
        };

        for (size_t i = 0; i < ELEMENTSOF(maps); i++)
                vx_strmap_done(maps[i]);
}

/* vx_strmap_first() and vx_strmap_firstf() that keep -ENOMEM in c->r and say "not seen" then. */
static bool seen_first(struct vctx *c, int r)
{
        if (r < 0 && c->r == 0)
                c->r = r;
        return r > 0;
}

static void vdiag(struct vctx *c, enum vx_diag_severity severity, const char *path, const char *hint,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void vdiag(struct vctx *c, enum vx_diag_severity severity, const char *path, const char *hint,
                  const char *fmt, ...)
{
        _cleanup_free_ char *message = NULL;
        unsigned line, column;
        va_list ap;
        int r;

        if (!path) /* building the path ran out of memory */
                return;
        va_start(ap, fmt);
        r = vasprintf(&message, fmt, ap);
        va_end(ap);
        if (r < 0) {
                message = NULL;
                c->r = -ENOMEM;
                return;
        }
        profile_position(c->p, path, &line, &column);
        r = diag_add(c->diags, severity, c->p->file, line, column, path, hint, "%s", message);
        if (r < 0)
                c->r = r;
}

#define verr(c, path, hint, ...) vdiag((c), VX_DIAG_ERROR, (path), (hint), __VA_ARGS__)

static char *vpath(struct vctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *vpath(struct vctx *c, const char *fmt, ...)
{
        char *s;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0) {
                c->r = -ENOMEM;
                return NULL;
        }
        return s;
}

static void line_of(struct vctx *c, const char *path, unsigned *ret_line)
{
        unsigned column;

        profile_position(c->p, path, ret_line, &column);
}

/*
 * vmxrun puts values into QEMU's "key=value,key=value" options without
 * escaping: a comma would have to be doubled and a newline cannot be passed at
 * all, so both are refused here, where the position is known.
 */
static void check_qemu_string(struct vctx *c, const char *path, const char *s)
{
        if (!s)
                return;
        for (const char *q = s; *q; q++) {
                unsigned char ch = (unsigned char)*q;

                if (ch == ',') {
                        verr(c, path, "vmxrun does not escape QEMU options; rename it",
                             "%s contains a ',', which QEMU would read as an option separator", DIAG_QUOTE(s));
                        return;
                }
                if (ch < 0x20 || ch == 0x7f) {
                        verr(c, path, NULL, "contains a control character (0x%02x)", ch);
                        return;
                }
        }
}

static void check_no_control(struct vctx *c, const char *path, const char *s)
{
        for (const char *q = s; q && *q; q++)
                if ((unsigned char)*q < 0x20 || *q == 0x7f) {
                        verr(c, path, NULL, "contains a control character (0x%02x)", (unsigned char)*q);
                        return;
                }
}

/* QEMU's RunState names (qapi/run-state.json), what query-status answers. */
static const char *const run_states[] = {
        "debug",    "inmigrate", "internal-error", "io-error", "paused",   "postmigrate", "prelaunch",
        "finish-migrate", "restore-vm", "running", "save-vm", "shutdown", "suspended", "watchdog",
        "guest-panicked", "colo", "preconfig", NULL,
};

static void check_ready(struct vctx *c, size_t i, const struct vx_vm *vm)
{
        _cleanup_free_ char *console = vpath(c, "vms[%zu].ready.console", i);
        _cleanup_free_ char *status = vpath(c, "vms[%zu].ready.qmp-status", i);
        bool known = false;

        if (vm->ready.console_pattern && vm->serial.type == VX_SERIAL_NONE)
                verr(c, console, "add a serial: console readiness reads what the guest prints on it",
                     "waiting for the console needs a serial console");
        if (vm->ready.console_pattern && vm->ready.qmp_status)
                verr(c, status, NULL, "give ready.console or ready.qmp-status, not both");
        if (!vm->ready.qmp_status)
                return;
        for (const char *const *s = run_states; *s && !known; s++)
                known = strcmp(*s, vm->ready.qmp_status) == 0;
        if (!known)
                verr(c, status, "query-status answers running, paused, suspended, shutdown, ...",
                     "%s is not a QEMU run state", DIAG_QUOTE(vm->ready.qmp_status));
}


static bool is_name_char(char ch)
{
        return isascii(ch) && (isalnum(ch) || ch == '_' || ch == '.' || ch == '-');
}

static void check_name(struct vctx *c, const char *path, const char *s, size_t max)
{
        if (!s)
                return;
        if (strlen(s) > max) {
                verr(c, path, NULL, "%s is longer than %zu bytes", DIAG_QUOTE(s), max);
                return;
        }
        for (const char *q = s; *q; q++)
                if (!is_name_char(*q)) {
                        /* The whole character, not the first byte of a UTF-8 sequence (that is not text). */
                        char ch[5] = {q[0]};

                        for (size_t n = 1; n < 4 && ((unsigned char)q[n] & 0xC0) == 0x80; n++)
                                ch[n] = q[n];
                        verr(c, path, "use letters, digits, '_', '.' and '-'", "%s contains %s", DIAG_QUOTE(s),
                             DIAG_QUOTE(ch));
                        return;
                }
        if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                verr(c, path, NULL, "%s is not a usable name", DIAG_QUOTE(s));
}

/*
 * The kernel's rules for interface names (dev_valid_name), plus '%': a tap
 * name with "%d" would be a template, and the kernel would pick the name.
 */
static void check_ifname(struct vctx *c, const char *path, const char *s)
{
        if (!s)
                return;
        if (strlen(s) >= VX_IFNAMSIZ) {
                verr(c, path, NULL, "interface name %s is longer than %d bytes", DIAG_QUOTE(s), VX_IFNAMSIZ - 1);
                return;
        }
        if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
                verr(c, path, NULL, "%s is not a valid interface name", DIAG_QUOTE(s));
                return;
        }
        for (const char *q = s; *q; q++) {
                unsigned char ch = (unsigned char)*q;

                if (ch == '/' || ch == ':' || ch == '%' || ch <= 0x20 || ch == 0x7f) {
                        verr(c, path, NULL, "interface name %s contains %s", DIAG_QUOTE(s),
                             ch == '/'   ? "'/'"
                             : ch == ':' ? "':'"
                             : ch == '%' ? "'%'"
                                         : "whitespace or a control character");
                        return;
                }
        }
}

static int hexval(char ch)
{
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        ch = (char)tolower((unsigned char)ch);
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        return -1;
}

/* "02:04:17:01:01:01": six hex pairs with ':'. Lower-cases in place. */
static void check_mac(struct vctx *c, const char *path, char *mac)
{
        unsigned bytes[6];
        bool zero = true;

        if (strlen(mac) != 17) {
                verr(c, path, "write six hex pairs separated by ':', e.g. 02:04:17:01:01:01", "%s is not a MAC address",
                     DIAG_QUOTE(mac));
                return;
        }
        for (size_t i = 0; i < 6; i++) {
                int hi = hexval(mac[i * 3]), lo = hexval(mac[i * 3 + 1]);

                if (hi < 0 || lo < 0 || (i < 5 && mac[i * 3 + 2] != ':')) {
                        verr(c, path, "write six hex pairs separated by ':', e.g. 02:04:17:01:01:01",
                             "%s is not a MAC address", DIAG_QUOTE(mac));
                        return;
                }
                bytes[i] = (unsigned)(hi << 4 | lo);
                if (bytes[i])
                        zero = false;
        }
        for (char *q = mac; *q; q++)
                *q = (char)tolower((unsigned char)*q);
        if (zero)
                verr(c, path, NULL, "%s is the all-zero MAC address", DIAG_QUOTE(mac));
        else if (bytes[0] & 1)
                verr(c, path, "the low bit of the first byte must be 0; 02:... is a locally administered unicast",
                     "%s is a multicast MAC address, not a unicast one", DIAG_QUOTE(mac));
}

/* "0000:23:10.0" or "23:10.0". Rewrites *addr in canonical form (with domain, lower case). */
static void check_pci_address(struct vctx *c, const char *path, char **addr)
{
        unsigned domain = 0, bus, slot, function;
        char *canonical, *s = *addr;
        int n = -1, n4 = -1;

        if (sscanf(s, "%4x:%2x:%2x.%1u%n", &domain, &bus, &slot, &function, &n4) == 4 && n4 == (int)strlen(s) &&
            strlen(s) == 12)
                ;
        else if (domain = 0, sscanf(s, "%2x:%2x.%1u%n", &bus, &slot, &function, &n) == 3 &&
                                  n == (int)strlen(s) && strlen(s) == 7)
                ;
        else {
                verr(c, path, "write it as in lspci -D, e.g. 0000:23:10.0", "%s is not a PCI address", DIAG_QUOTE(s));
                return;
        }
        for (const char *q = s; *q; q++)
                if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.') {
                        verr(c, path, "write it as in lspci -D, e.g. 0000:23:10.0", "%s is not a PCI address",
                             DIAG_QUOTE(s));
                        return;
                }
        if (slot > 0x1f || function > 7) {
                verr(c, path, NULL, "%s is not a PCI address (slot is at most 1f, function at most 7)", DIAG_QUOTE(s));
                return;
        }
        if (asprintf(&canonical, "%04x:%02x:%02x.%u", domain, bus, slot, function) < 0) {
                c->r = -ENOMEM;
                return;
        }
        free(*addr);
        *addr = canonical;
}

static void check_uuid(struct vctx *c, const char *path, char *uuid)
{
        static const int dashes[] = {8, 13, 18, 23};
        bool ok = strlen(uuid) == 36;

        for (size_t i = 0; ok && i < 36; i++) {
                bool dash = false;

                for (size_t j = 0; j < ELEMENTSOF(dashes); j++)
                        dash = dash || (int)i == dashes[j];
                ok = dash ? uuid[i] == '-' : isxdigit((unsigned char)uuid[i]);
        }
        if (!ok) {
                verr(c, path, "e.g. 2f1e8c3a-5b7d-4e2a-9c1b-0d3e4f5a6b7c", "%s is not a UUID", DIAG_QUOTE(uuid));
                return;
        }
        for (char *q = uuid; *q; q++)
                *q = (char)tolower((unsigned char)*q);
}

static void check_absolute(struct vctx *c, const char *path, const char *s)
{
        if (s && s[0] != '/')
                verr(c, path, NULL, "%s is not an absolute path", DIAG_QUOTE(s));
}

static void check_bridges(struct vctx *c)
{
        struct vx_profile *p = c->p;
        _cleanup_(vx_strmap_done) struct vx_strmap uplinks = {};

        for (size_t i = 0; i < p->n_bridges && c->r == 0; i++) {
                struct vx_bridge *b = &p->bridges[i];
                _cleanup_free_ char *name = vpath(c, "bridges[%zu].name", i);
                _cleanup_free_ char *uplink = vpath(c, "bridges[%zu].uplink", i);
                _cleanup_free_ char *move = vpath(c, "bridges[%zu].move-host-address", i);

                size_t j;

                check_ifname(c, name, b->name);
                check_ifname(c, uplink, b->uplink);
                if (b->move_host_address && !b->uplink)
                        verr(c, move, NULL, "needs an uplink to move the address from");

                if (b->name && seen_first(c, vx_strmap_first(&c->seen.bridges, b->name, i, 0, &j, NULL))) {
                        _cleanup_free_ char *other = vpath(c, "bridges[%zu].name", j);
                        unsigned line;

                        line_of(c, other, &line);
                        verr(c, name, NULL, "bridge %s is declared twice (first at line %u)", DIAG_QUOTE(b->name),
                             line);
                }
                if (b->uplink && seen_first(c, vx_strmap_first(&uplinks, b->uplink, i, 0, &j, NULL)))
                        verr(c, uplink, NULL, "%s is already the uplink of bridge %s", DIAG_QUOTE(b->uplink),
                             DIAG_EXCERPT(p->bridges[j].name ?: "?"));
        }
}

static void check_cpu(struct vctx *c, size_t i, struct vx_vm *vm)
{
        _cleanup_free_ char *model = vpath(c, "vms[%zu].cpu.model", i);

        check_qemu_string(c, model, vm->cpu.model);
        if (vm->cpu.model && strcmp(vm->cpu.model, "host") == 0 && vm->accel == VX_ACCEL_TCG)
                verr(c, model, "use 'max' for TCG", "cpu model 'host' needs KVM, but accel is tcg");

        for (size_t j = 0; j < vm->cpu.n_features; j++) {
                _cleanup_free_ char *path = vpath(c, "vms[%zu].cpu.features[%zu]", i, j);
                const char *f = vm->cpu.features[j];
                bool ok = f && (f[0] == '+' || f[0] == '-') && f[1];

                for (const char *q = f ? f + 1 : ""; ok && *q; q++)
                        ok = is_name_char(*q);
                if (f && !ok)
                        verr(c, path, "write +name to add a feature or -name to remove it, e.g. +vmx",
                             "%s is not a CPU feature", DIAG_QUOTE(f));
        }
}

static void check_topology(struct vctx *c, size_t i, struct vx_vm *vm)
{
        const struct vx_topology *t = &vm->topology;
        _cleanup_free_ char *path = vpath(c, "vms[%zu].topology", i);
        uint64_t product;

        if (t->cores == 0) {
                verr(c, path, "set topology.cores, or make vcpus a multiple",
                     "vcpus (%u) is not a multiple of sockets*dies*threads (%u)", vm->vcpus,
                     t->sockets * t->dies * t->threads);
                return;
        }
        product = (uint64_t)t->sockets * t->dies * t->cores * t->threads;
        if (product != vm->vcpus)
                verr(c, path, NULL, "sockets*dies*cores*threads is %u*%u*%u*%u = %llu, but vcpus is %u", t->sockets,
                     t->dies, t->cores, t->threads, (unsigned long long)product, vm->vcpus);
}

static void check_memory(struct vctx *c, size_t i, struct vx_vm *vm)
{
        const struct vx_memory *m = &vm->memory;
        _cleanup_free_ char *size = vpath(c, "vms[%zu].memory.size", i);
        _cleanup_free_ char *hpath = vpath(c, "vms[%zu].memory.hugepages.path", i);

        check_qemu_string(c, hpath, m->path);
        check_absolute(c, hpath, m->path);
        if (m->hugepages && m->size > 0 && m->page_size > 0 && m->size % m->page_size != 0)
                verr(c, size, NULL, "memory size is not a multiple of the hugepage size (%llu MiB)",
                     (unsigned long long)(m->page_size >> 20));
}

static void check_pinning(struct vctx *c, size_t i, struct vx_vm *vm)
{
        _cleanup_free_ char *path = vpath(c, "vms[%zu].pinning.vcpus", i);

        if (vm->pinning.n_vcpus > 0 && vm->pinning.n_vcpus != vm->vcpus)
                verr(c, path, "give one CPU list per vCPU, in vCPU order",
                     "%zu CPU list%s for %u vCPU%s", vm->pinning.n_vcpus, vm->pinning.n_vcpus == 1 ? "" : "s",
                     vm->vcpus, vm->vcpus == 1 ? "" : "s");
}

/* ---- placement and NUMA (docs/placement.md) ---- */

static void check_placement(struct vctx *c, size_t i, struct vx_vm *vm)
{
        const struct vx_pinning *pin = &vm->pinning;
        _cleanup_free_ char *path = vpath(c, "vms[%zu].pinning", i);

        if (pin->automatic && (pin->n_vcpus > 0 || pin->has_emulator))
                verr(c, path, "leave pinning.vcpus and pinning.emulator out, or drop placement: auto",
                     "placement: auto chooses the CPUs itself, but CPU lists are given too");
        if (!pin->automatic && pin->node >= 0)
                verr(c, path, "add placement: auto, or pin with pinning.vcpus and leave node out",
                     "pinning.node applies only to placement: auto");
        if (!pin->automatic && pin->emulator_cpus != 1)
                verr(c, path, "add placement: auto, or list them in pinning.emulator",
                     "pinning.emulator-cpus applies only to placement: auto");
        if (pin->automatic && vm->memory.hugepages && vm->memory.node >= 0 && pin->node >= 0 &&
            pin->node != vm->memory.node)
                verr(c, path, "place the VM where its memory is, or move memory.hugepages.node",
                     "pinning.node is %d, but memory.hugepages.node is %d", pin->node, vm->memory.node);
}

static void check_guest_numa(struct vctx *c, size_t i, struct vx_vm *vm)
{
        const struct vx_numa *numa = &vm->numa;
        struct vx_cpuset seen = {0};
        uint64_t sum = 0;

        for (size_t k = 0; k < numa->n_nodes; k++) {
                const struct vx_guest_node *g = &numa->nodes[k];
                _cleanup_free_ char *path = vpath(c, "vms[%zu].numa.nodes[%zu].vcpus", i, k);
                int last = vx_cpuset_last(&g->vcpus);

                if (last >= (int)vm->vcpus)
                        verr(c, path, NULL, "vCPU %d is not one of the VM's %u vCPUs (0-%u)", last, vm->vcpus,
                             vm->vcpus - 1);
                for (unsigned v = 0; v < vm->vcpus; v++)
                        if (vx_cpuset_isset(&g->vcpus, v) && vx_cpuset_isset(&seen, v))
                                verr(c, path, NULL, "vCPU %u is in two guest nodes", v);
                for (size_t w = 0; w < ELEMENTSOF(seen.bits); w++)
                        seen.bits[w] |= g->vcpus.bits[w];
                sum += g->size;
                if (vm->memory.hugepages && vm->memory.page_size && g->size % vm->memory.page_size != 0) {
                        _cleanup_free_ char *size = vpath(c, "vms[%zu].numa.nodes[%zu].size", i, k);

                        verr(c, size, NULL, "not a multiple of the hugepage size (%llu MiB)",
                             (unsigned long long)(vm->memory.page_size >> 20));
                }
        }
        if (numa->n_nodes > 0) {
                _cleanup_free_ char *path = vpath(c, "vms[%zu].numa.nodes", i);

                unsigned in_nodes = 0;

                for (unsigned v = 0; v < vm->vcpus; v++)
                        in_nodes += vx_cpuset_isset(&seen, v);
                if (in_nodes != vm->vcpus)
                        verr(c, path, "give every vCPU to one guest node", "%u of the %u vCPUs are in a guest node",
                             in_nodes, vm->vcpus);
                if (sum != vm->memory.size)
                        verr(c, path, NULL, "the guest nodes' sizes add up to %llu MiB, memory.size is %llu MiB",
                             (unsigned long long)(sum >> 20), (unsigned long long)(vm->memory.size >> 20));
        }
}

/* The first host CPU in both sets, or -1. */
static int first_common_cpu(const struct vx_cpuset *a, const struct vx_cpuset *b)
{
        for (size_t w = 0; w < ELEMENTSOF(a->bits); w++)
                if (a->bits[w] & b->bits[w])
                        return (int)(w * 64) + __builtin_ctzll(a->bits[w] & b->bits[w]);
        return -1;
}

/* The first vCPU of VM b on a host CPU a vCPU of VM a has too: an error naming both (one per pair of VMs). */
static void check_vcpu_pair(struct vctx *c, size_t a, size_t b)
{
        const struct vx_profile *p = c->p;
        const struct vx_pinning *pa = &p->vms[a].pinning, *pb = &p->vms[b].pinning;

        for (size_t j = 0; j < pb->n_vcpus; j++)
                for (size_t k = 0; k < pa->n_vcpus; k++) {
                        int cpu = first_common_cpu(&pa->vcpus[k], &pb->vcpus[j]);
                        _cleanup_free_ char *path = NULL, *other = NULL;
                        unsigned line;

                        if (cpu < 0)
                                continue;
                        path = vpath(c, "vms[%zu].pinning.vcpus[%zu]", b, j);
                        other = vpath(c, "vms[%zu].pinning.vcpus[%zu]", a, k);
                        if (!other)
                                return;
                        line_of(c, other, &line);
                        verr(c, path,
                             "give each VM its own CPUs, or set pinning.shared: true on both VMs if sharing is "
                             "intended",
                             "host CPU %d is pinned to vCPU %zu of %s and to vCPU %zu of %s (%s, line %u)", cpu, j,
                             p->vms[b].name, k, p->vms[a].name, other, line);
                        return;
                }
}

/*
 * Two VMs with a vCPU on one host CPU are refused unless both say sharing is
 * intended (pinning.shared). Emulator sets may overlap: housekeeping CPUs
 * are shared by design.
 */
static void check_vcpu_overlap(struct vctx *c)
{
        for (size_t a = 0; a < c->p->n_vms; a++)
                for (size_t b = a + 1; b < c->p->n_vms; b++)
                        if (!c->p->vms[a].pinning.shared || !c->p->vms[b].pinning.shared)
                                check_vcpu_pair(c, a, b);
}

static void check_disks(struct vctx *c, size_t i, struct vx_vm *vm)
{
        _cleanup_(vx_strmap_done) struct vx_strmap orders = {};

        for (size_t j = 0; j < vm->n_disks && c->r == 0; j++) {
                const struct vx_disk *d = &vm->disks[j];
                _cleanup_free_ char *file = vpath(c, "vms[%zu].disks[%zu].file", i, j);
                size_t k;

                check_qemu_string(c, file, d->file);
                if (d->boot_order > 0 &&
                    seen_first(c, vx_strmap_firstf(&orders, j, 0, &k, NULL, "%u", d->boot_order))) {
                        _cleanup_free_ char *order = vpath(c, "vms[%zu].disks[%zu].boot-order", i, j);

                        verr(c, order, NULL, "boot-order %u is also used by disks[%zu]", d->boot_order, k);
                }
        }
}

/* --- vf NICs: pf (one or a list), vf (an index or auto), pf-settings --- */

static void check_vf_fields(struct vctx *c, const char *pf, const char *vf, const struct vx_nic *n)
{
        if (!n->pf)
                verr(c, pf, NULL, "a vf NIC needs 'pf' (the physical function's interface, or a list of them)");
        if (n->vf < 0 && !n->vf_auto)
                verr(c, vf, NULL, "a vf NIC needs 'vf' (the VF index, or auto)");
        if (n->n_pfs > 1 && !n->vf_auto)
                verr(c, vf, "set vf: auto, or name one PF", "a list of PFs needs vf: auto (VF %d of which PF?)", n->vf);
        if (n->n_pfs <= 1) {
                check_ifname(c, pf, n->pf);
                return;
        }
        for (size_t k = 0; k < n->n_pfs; k++) {
                _cleanup_free_ char *item = vpath(c, "%s[%zu]", pf, k);

                check_ifname(c, item, n->pfs[k]);
                for (size_t l = 0; l < k && item; l++)
                        if (n->pfs[k] && n->pfs[l] && strcmp(n->pfs[k], n->pfs[l]) == 0)
                                verr(c, item, NULL, "%s is in the list twice", DIAG_QUOTE(n->pfs[k]));
        }
}

/* One setting of two NICs' pf-settings that disagree, or NULL. */
static const char *pf_settings_clash(const struct vx_pf_settings *a, const struct vx_pf_settings *b)
{
        if (a->mtu && b->mtu && a->mtu != b->mtu)
                return "mtu";
        if (a->up != VX_AUTO && b->up != VX_AUTO && a->up != b->up)
                return "up";
        if (a->promisc != VX_AUTO && b->promisc != VX_AUTO && a->promisc != b->promisc)
                return "promisc";
        if (a->allmulti != VX_AUTO && b->allmulti != VX_AUTO && a->allmulti != b->allmulti)
                return "allmulti";
        return NULL;
}

/* A PF has one MTU and one set of flags: the pf-settings of NICs on the same PF must agree. */
static void check_pf_settings_against_earlier(struct vctx *c, size_t i, size_t j)
{
        const struct vx_nic *n = &c->p->vms[i].nics[j];

        if (n->type != VX_NIC_VF || !n->pf)
                return;
        for (size_t k = 0; k <= i; k++)
                for (size_t l = 0; l < (k == i ? j : c->p->vms[k].n_nics); l++) {
                        const struct vx_nic *o = &c->p->vms[k].nics[l];
                        _cleanup_free_ char *path = NULL;
                        const char *what;

                        if (o->type != VX_NIC_VF || !o->pf || n->n_pfs != 1 || o->n_pfs != 1 ||
                            strcmp(o->pf, n->pf) != 0 || !(what = pf_settings_clash(&n->pf_settings, &o->pf_settings)))
                                continue;
                        path = vpath(c, "vms[%zu].nics[%zu].pf-settings.%s", i, j, what);
                        verr(c, path, "give every NIC on this PF the same pf-settings, or leave it out on all but one",
                             "PF %s has one %s; vms[%zu].nics[%zu] asks for another", DIAG_QUOTE(n->pf), what, k, l);
                        return;
                }
}

static void check_nic_type_fields(struct vctx *c, size_t i, size_t j, struct vx_nic *n)
{
        _cleanup_free_ char *base = vpath(c, "vms[%zu].nics[%zu]", i, j);
        _cleanup_free_ char *tap = vpath(c, "%s.tap", base ?: "");
        _cleanup_free_ char *bridge = vpath(c, "%s.bridge", base ?: "");
        _cleanup_free_ char *pf = vpath(c, "%s.pf", base ?: "");
        _cleanup_free_ char *vf = vpath(c, "%s.vf", base ?: "");
        _cleanup_free_ char *host = vpath(c, "%s.host", base ?: "");
        _cleanup_free_ char *queues = vpath(c, "%s.queues", base ?: "");
        _cleanup_free_ char *vhost = vpath(c, "%s.vhost", base ?: "");

        switch (n->type) {
        case VX_NIC_TAP:
                if (!n->tap)
                        verr(c, tap, NULL, "a tap NIC needs 'tap' (the tap device's name)");
                if (!n->bridge)
                        verr(c, bridge, NULL, "a tap NIC needs 'bridge'");
                check_ifname(c, tap, n->tap);
                check_ifname(c, bridge, n->bridge);
                if (n->queues > 1 && n->model != VX_NIC_MODEL_VIRTIO)
                        verr(c, queues, NULL, "more than one queue needs model virtio-net-pci, not %s",
                             vx_nic_model_to_string(n->model));
                if (n->vhost == VX_ON && n->model != VX_NIC_MODEL_VIRTIO)
                        verr(c, vhost, "set vhost: auto or off", "vhost works only with virtio-net-pci, not %s",
                             vx_nic_model_to_string(n->model));
                break;
        case VX_NIC_VF:
                check_vf_fields(c, pf, vf, n);
                break;
        case VX_NIC_HOSTDEV:
                if (!n->host)
                        verr(c, host, NULL, "a pci NIC needs 'host' (a PCI address such as 0000:23:10.0)");
                else
                        check_pci_address(c, host, &n->host);
                break;
        }
}

/*
 * Looks key up in map, the values of earlier NICs, and adds NIC (i, j): when
 * an earlier one has it, reports "<what> <value> is also used by <that NIC>"
 * at the NIC's field. Each clash is reported once, naming the first NIC.
 */
static void nic_clash(struct vctx *c, size_t i, size_t j, const char *field, struct vx_strmap *map, const char *key,
                      const char *what, const char *value)
{
        _cleanup_free_ char *path = NULL, *where = NULL;
        size_t k, l;

        if (!key) {
                c->r = -ENOMEM;
                return;
        }
        if (!seen_first(c, vx_strmap_first(map, key, i, j, &k, &l)))
                return;
        path = vpath(c, "vms[%zu].nics[%zu].%s", i, j, field);
        where = vpath(c, "vms[%zu].nics[%zu]", k, l);
        verr(c, path, NULL, "%s %s is also used by %s", what, value, where ?: "?");
}

static void check_nic_against_earlier(struct vctx *c, size_t i, size_t j)
{
        struct seen *s = &c->seen;
        const struct vx_nic *n = &c->p->vms[i].nics[j];

        if (n->mac) {
                _cleanup_free_ char *lower = strdup(n->mac);

                for (char *q = lower; q && *q; q++)
                        *q = (char)tolower((unsigned char)*q);
                nic_clash(c, i, j, "mac", &s->macs, lower, "MAC address", DIAG_EXCERPT(n->mac));
        }
        if (n->tap)
                nic_clash(c, i, j, "tap", &s->taps, n->tap, "tap", DIAG_QUOTE(n->tap));
        if (n->type == VX_NIC_VF && n->pf && n->vf >= 0) {
                _cleanup_free_ char *key = vpath(c, "%d %s", n->vf, n->pf);
                _cleanup_free_ char *value = vpath(c, "%d of %s", n->vf, DIAG_EXCERPT(n->pf));

                if (value)
                        nic_clash(c, i, j, "vf", &s->vfs, key, "VF", value);
        }
        check_pf_settings_against_earlier(c, i, j);
        if (n->type == VX_NIC_HOSTDEV && n->host)
                nic_clash(c, i, j, "host", &s->hostdevs, n->host, "PCI device", DIAG_EXCERPT(n->host));
        if (n->pci_slot >= 0) {
                _cleanup_free_ char *key = vpath(c, "%zu %d", i, n->pci_slot);
                char slot[16];

                snprintf(slot, sizeof(slot), "%d", n->pci_slot);
                nic_clash(c, i, j, "pci-slot", &s->slots, key, "PCI slot", slot);
        }
}

static void check_nics(struct vctx *c, size_t i, struct vx_vm *vm)
{
        for (size_t j = 0; j < vm->n_nics && c->r == 0; j++) {
                struct vx_nic *n = &vm->nics[j];
                _cleanup_free_ char *mac = vpath(c, "vms[%zu].nics[%zu].mac", i, j);
                _cleanup_free_ char *tap = vpath(c, "vms[%zu].nics[%zu].tap", i, j);

                if (n->mac)
                        check_mac(c, mac, n->mac);
                check_nic_type_fields(c, i, j, n);
                if (n->tap && vx_strmap_get(&c->seen.bridges, n->tap, NULL, NULL))
                        verr(c, tap, NULL, "%s is the name of a bridge", DIAG_QUOTE(n->tap));
                check_nic_against_earlier(c, i, j);
        }
}

static bool is_wildcard(const char *host)
{
        return !host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 || strcmp(host, "") == 0;
}

static bool serial_is_tcp(const struct vx_serial *s)
{
        return s->type == VX_SERIAL_TELNET || s->type == VX_SERIAL_TCP;
}

/*
 * The first earlier VM listening on the same port (or display) as one on
 * host, given the maps of what earlier VMs listen on; a wildcard address
 * clashes with every address. SIZE_MAX when there is none. Adds this VM.
 */
static size_t listener_clash(struct vctx *c, struct vx_strmap *any, struct vx_strmap *wild, struct vx_strmap *at,
                             size_t i, unsigned port, const char *host)
{
        size_t first = SIZE_MAX, k;
        char key[16];

        snprintf(key, sizeof(key), "%u", port);
        if (is_wildcard(host)) {
                if (vx_strmap_get(any, key, &k, NULL))
                        first = k;
                (void)seen_first(c, vx_strmap_first(wild, key, i, 0, NULL, NULL));
        } else {
                if (vx_strmap_get(wild, key, &k, NULL))
                        first = k;
                if (seen_first(c, vx_strmap_firstf(at, i, 0, &k, NULL, "%u %s", port, host)) && k < first)
                        first = k;
        }
        (void)seen_first(c, vx_strmap_first(any, key, i, 0, NULL, NULL));
        return first;
}

/* TCP ports: consoles and VNC displays must not collide anywhere in the deployment. */
static void check_ports(struct vctx *c, size_t i, struct vx_vm *vm)
{
        struct seen *s = &c->seen;
        _cleanup_free_ char *port = vpath(c, "vms[%zu].serial.port", i);
        size_t console, vnc = SIZE_MAX, k;
        char key[16];

        if (serial_is_tcp(&vm->serial) && vm->serial.port == 0)
                verr(c, port, NULL, "a %s serial console needs 'port'", vx_serial_type_to_string(vm->serial.type));

        if (serial_is_tcp(&vm->serial) && vm->serial.port > 0) {
                console = listener_clash(c, &s->console_any, &s->console_wild, &s->console_at, i, vm->serial.port,
                                         vm->serial.host);
                snprintf(key, sizeof(key), "%u", vm->serial.port);
                if (vx_strmap_get(&s->vnc_ports, key, &k, NULL))
                        vnc = k;
                /* The first VM that clashes either way is named; its console before its VNC display. */
                if (console != SIZE_MAX && console <= vnc) {
                        _cleanup_free_ char *oport = vpath(c, "vms[%zu].serial.port", console);

                        verr(c, port, NULL, "port %u is also the console port of %s", vm->serial.port, oport ?: "?");
                } else if (vnc != SIZE_MAX) {
                        _cleanup_free_ char *odisplay = vpath(c, "vms[%zu].vnc.display", vnc);

                        verr(c, port, NULL, "port %u is also the VNC port of %s (5900 + display %d)", vm->serial.port,
                             odisplay ?: "?", c->p->vms[vnc].vnc.display);
                }
        }
        if (vm->vnc.enabled) {
                k = listener_clash(c, &s->display_any, &s->display_wild, &s->display_at, i, (unsigned)vm->vnc.display,
                                   vm->vnc.listen);
                if (k != SIZE_MAX) {
                        _cleanup_free_ char *display = vpath(c, "vms[%zu].vnc.display", i);
                        _cleanup_free_ char *odisplay = vpath(c, "vms[%zu].vnc.display", k);

                        verr(c, display, NULL, "VNC display %d is also used by %s", vm->vnc.display, odisplay ?: "?");
                }
        }
}

static void check_vm_strings(struct vctx *c, size_t i, struct vx_vm *vm)
{
        static const char *const smbios_hint = "use letters, digits, '_' and '-'";
        _cleanup_free_ char *qemu = vpath(c, "vms[%zu].qemu", i);
        _cleanup_free_ char *machine = vpath(c, "vms[%zu].machine", i);
        _cleanup_free_ char *uuid = vpath(c, "vms[%zu].uuid", i);
        _cleanup_free_ char *shost = vpath(c, "vms[%zu].serial.host", i);
        _cleanup_free_ char *spath = vpath(c, "vms[%zu].serial.path", i);
        _cleanup_free_ char *listen = vpath(c, "vms[%zu].vnc.listen", i);
        _cleanup_free_ char *kernel = vpath(c, "vms[%zu].boot.kernel", i);
        _cleanup_free_ char *initrd = vpath(c, "vms[%zu].boot.initrd", i);
        _cleanup_free_ char *cmdline = vpath(c, "vms[%zu].boot.cmdline", i);
        _cleanup_free_ char *console = vpath(c, "vms[%zu].ready.console", i);

        check_qemu_string(c, qemu, vm->qemu);
        check_absolute(c, qemu, vm->qemu);
        check_qemu_string(c, machine, vm->machine);
        if (vm->uuid)
                check_uuid(c, uuid, vm->uuid);
        check_qemu_string(c, shost, vm->serial.host);
        check_qemu_string(c, spath, vm->serial.path);
        check_qemu_string(c, listen, vm->vnc.listen);
        check_qemu_string(c, kernel, vm->boot.kernel);
        check_qemu_string(c, initrd, vm->boot.initrd);
        /* -append takes the command line as one argv item: commas are fine there. */
        check_no_control(c, cmdline, vm->boot.cmdline);
        check_no_control(c, console, vm->ready.console_pattern);
        check_ready(c, i, vm);
        if (!vm->boot.kernel && vm->boot.initrd)
                verr(c, initrd, NULL, "an initrd needs boot.kernel");
        if (!vm->boot.kernel && vm->boot.cmdline)
                verr(c, cmdline, NULL, "a kernel command line needs boot.kernel");

        for (size_t j = 0; j < vm->n_smbios; j++)
                for (size_t k = 0; k < vm->smbios[j].n_entries; k++) {
                        const struct vx_smbios_entry *e = &vm->smbios[j].entries[k];
                        _cleanup_free_ char *path = vpath(c, "vms[%zu].smbios[%zu].%s", i, j, e->key);
                        bool ok = e->key[0] != 0;

                        for (const char *q = e->key; ok && *q; q++)
                                ok = isascii(*q) && (isalnum(*q) || *q == '_' || *q == '-');
                        if (!ok)
                                verr(c, path, smbios_hint, "%s is not a usable SMBIOS field name", DIAG_QUOTE(e->key));
                        check_qemu_string(c, path, e->value);
                }
}

/*
 * The unix sockets vmxrun and QEMU create under the runtime directory:
 * <runtime-dir>/<name>/control.sock for the deployment, and per VM
 * <runtime-dir>/<name>/<vm>/qmp.sock (and console.sock for a unix serial
 * console without a path). A path that does not fit in sun_path would pass
 * here and fail at start.
 */
static size_t runtime_dir_length(const struct vx_profile *p)
{
        return strlen(p->host.runtime_dir ?: VX_DEFAULT_RUNTIME_DIR) + 1 + (p->name ? strlen(p->name) : 0);
}

static void check_control_socket(struct vctx *c)
{
        size_t len = runtime_dir_length(c->p) + strlen("/control.sock");

        if (c->p->name && strlen(c->p->name) <= 32 && len >= VX_SUN_PATH_MAX)
                verr(c, "name", "shorten name or host.runtime-dir",
                     "the control socket <host.runtime-dir>/<name>/control.sock would be %zu bytes long; a "
                     "unix "
                     "socket path holds at most %d",
                     len, VX_SUN_PATH_MAX - 1);
}

static void check_vm_sockets(struct vctx *c, size_t i, const struct vx_vm *vm, const char *path)
{
        bool console = vm->serial.type == VX_SERIAL_UNIX && !vm->serial.path;
        const char *sock = console ? "console.sock" : "qmp.sock";
        size_t len;

        /* Names over their own limits are reported as such, not once more here. */
        if (!vm->name || !c->p->name || strlen(vm->name) > 64 || strlen(c->p->name) > 32)
                return;
        len = runtime_dir_length(c->p) + 1 + strlen(vm->name) + 1 + strlen(sock);
        if (len >= VX_SUN_PATH_MAX)
                verr(c, path, "shorten vms[].name, name or host.runtime-dir",
                     "the socket <host.runtime-dir>/<name>/<vm>/%s would be %zu bytes long; a unix socket "
                     "path "
                     "holds at most %d",
                     sock, len, VX_SUN_PATH_MAX - 1);
        if (vm->serial.type == VX_SERIAL_UNIX && vm->serial.path && strlen(vm->serial.path) >= VX_SUN_PATH_MAX) {
                _cleanup_free_ char *spath = vpath(c, "vms[%zu].serial.path", i);

                verr(c, spath, NULL, "is %zu bytes long; a unix socket path holds at most %d", strlen(vm->serial.path),
                     VX_SUN_PATH_MAX - 1);
        }
}

static void check_vm(struct vctx *c, size_t i)
{
        struct vx_vm *vm = &c->p->vms[i];
        _cleanup_free_ char *name = vpath(c, "vms[%zu].name", i);
        size_t k;

        check_name(c, name, vm->name, 64);
        if (vm->name && seen_first(c, vx_strmap_first(&c->seen.names, vm->name, i, 0, &k, NULL))) {
                _cleanup_free_ char *other = vpath(c, "vms[%zu].name", k);
                unsigned line;

                line_of(c, other, &line);
                verr(c, name, NULL, "VM name %s is used twice (first at line %u)", DIAG_QUOTE(vm->name), line);
        }

        check_vm_sockets(c, i, vm, name);
        check_vm_strings(c, i, vm);
        check_cpu(c, i, vm);
        check_topology(c, i, vm);
        check_memory(c, i, vm);
        check_pinning(c, i, vm);
        check_placement(c, i, vm);
        check_guest_numa(c, i, vm);
        check_disks(c, i, vm);
        check_nics(c, i, vm);
        check_ports(c, i, vm);
}

/*
 * The paired lifecycle (docs/router.md): after names a VM listed before this
 * one (so profile order is start order and no cycle can be written), and
 * ready.link a bridge one of the VM's taps is on.
 */
static void check_router(struct vctx *c, size_t i)
{
        const struct vx_vm *vm = &c->p->vms[i];
        bool found = false;

        if (vm->after) {
                _cleanup_free_ char *path = vpath(c, "vms[%zu].after", i);

                for (size_t k = 0; k < i && !found; k++)
                        found = c->p->vms[k].name && strcmp(c->p->vms[k].name, vm->after) == 0;
                if (vm->name && strcmp(vm->after, vm->name) == 0)
                        verr(c, path, NULL, "a VM cannot start after itself");
                else if (!found)
                        verr(c, path, "list the VM it starts after before it in vms",
                             "%s is not a VM listed before this one", DIAG_QUOTE(vm->after));
        }
        if (vm->ready.link) {
                _cleanup_free_ char *path = vpath(c, "vms[%zu].ready.link", i);

                found = false;
                for (size_t k = 0; k < vm->n_nics && !found; k++)
                        found = vm->nics[k].type == VX_NIC_TAP && vm->nics[k].bridge &&
                                strcmp(vm->nics[k].bridge, vm->ready.link) == 0;
                if (!found)
                        verr(c, path, "name the bridge of one of its tap NICs", "no tap NIC of this VM is on bridge %s",
                             DIAG_QUOTE(vm->ready.link));
        }
}

int profile_validate(struct vx_profile *p, struct vx_diags *diags)
{
        struct vctx c = {
                .p = p,
                .diags = diags,
        };
        size_t n_errors = diag_count(diags, VX_DIAG_ERROR);

        assert(p);
        assert(diags);

        check_name(&c, "name", p->name, 32);
        check_qemu_string(&c, "host.runtime-dir", p->host.runtime_dir);
        check_absolute(&c, "host.runtime-dir", p->host.runtime_dir);
        check_control_socket(&c);
        check_bridges(&c);
        /* A console may clash with the VNC port of any VM, a later one too. */
        for (size_t k = 0; k < p->n_vms && c.r == 0; k++)
                if (p->vms[k].vnc.enabled)
                        (void)seen_first(&c, vx_strmap_firstf(&c.seen.vnc_ports, k, 0, NULL, NULL, "%u",
                                                              5900u + (unsigned)p->vms[k].vnc.display));
        for (size_t i = 0; i < p->n_vms && c.r == 0; i++)
                check_vm(&c, i);
        for (size_t i = 0; i < p->n_vms && c.r == 0; i++)
                check_router(&c, i);
        if (c.r == 0)
                check_vcpu_overlap(&c);
        seen_done(&c.seen);

        if (c.r < 0)
                return c.r;
        return diag_count(diags, VX_DIAG_ERROR) > n_errors ? -EINVAL : 0;
}
