/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "plan.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "cleanup.h"
#include "users.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define DEFAULT_QEMU "/usr/bin/qemu-system-x86_64"
#define PCI_SLOTS 32

/*
 * A growable string with a sticky out-of-memory flag: QEMU options are built
 * from many optional parts, and checking each append would bury the layout.
 */
struct strbuf {
        char *s;
        size_t n, cap;
        bool oom;
};

static void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
        va_list aq;
        int len;

        if (sb->oom)
                return;
        va_copy(aq, ap);
        len = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (len < 0) {
                sb->oom = true;
                return;
        }
        if (sb->n + (size_t)len + 1 > sb->cap) {
                size_t cap = (sb->n + (size_t)len + 1) * 2;
                char *s = realloc(sb->s, cap);
                if (!s) {
                        sb->oom = true;
                        return;
                }
                sb->s = s;
                sb->cap = cap;
        }
        vsnprintf(sb->s + sb->n, (size_t)len + 1, fmt, ap);
        sb->n += (size_t)len;
}

static void sb_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_addf(struct strbuf *sb, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        sb_vaddf(sb, fmt, ap);
        va_end(ap);
}

static void sb_done(struct strbuf *sb)
{
        free(sb->s);
        *sb = (struct strbuf){0};
}

static const struct vx_bridge *find_bridge(const struct vx_profile *p, const char *name)
{
        for (size_t i = 0; i < p->n_bridges; i++)
                if (strcmp(p->bridges[i].name, name) == 0)
                        return &p->bridges[i];
        return NULL;
}

/* Frees what an action owns (its strings, by kind). */
static void plan_action_done(struct vx_host_action *a)
{
        free(a->object);
        free(a->description);
        free(a->key);
        switch (a->kind) {
        case VX_ACTION_BRIDGE:
                free(a->bridge.name);
                break;
        case VX_ACTION_UPLINK:
                free(a->uplink.bridge);
                free(a->uplink.uplink);
                break;
        case VX_ACTION_TAP:
                free(a->tap.name);
                free(a->tap.bridge);
                free(a->tap.guest_mac);
                break;
        case VX_ACTION_VF_CONFIG:
                free(a->vf.pf);
                free(a->vf.pci_address);
                free(a->vf.mac);
                for (size_t k = 0; k < a->vf.n_pfs; k++)
                        free(a->vf.pfs[k]);
                free(a->vf.pfs);
                free(a->vf.placeholder);
                break;
        case VX_ACTION_VFIO_BIND:
                free(a->bind.pci_address);
                free(a->bind.pf);
                free(a->bind.placeholder);
                break;
        case VX_ACTION_HUGETLBFS_MOUNT:
        case VX_ACTION_MEM_DIR:
                free(a->mount.path);
                break;
        case VX_ACTION_FILE_ACCESS:
                free(a->file.path);
                break;
        case VX_ACTION_HUGEPAGES:
        default:
                break;
        }
}

/*
 * Builds one VM's plan. Errors are sticky (b->r) for the same reason as in
 * struct strbuf; plan_build checks b->r once at the end.
 */
struct builder {
        struct vx_plan *plan;
        struct vx_vm_plan *vp;
        const struct vx_vm *vm;
        const struct vx_host_facts *facts;
        const struct vx_placement *placement; /* this VM's (placement.c) */
        int r;
        size_t origin_cap;
        char key[160];       /* scratch for key paths, see K() */
        const char *pci_bus; /* "pci.0" or "pcie.0" */
        bool q35;
        bool slot_used[PCI_SLOTS];
        bool pci_full;  /* said once that no slot is left */
        int video_slot; /* reserved for the video device, -1 = none */
        int *nic_slot;  /* the slot of each NIC, -1 = none (QEMU could not take one) */
};

static void fail(struct builder *b, int r)
{
        if (b->r == 0)
                b->r = r;
}

/* Formats a key path below the VM ("vms[0].nics[1]") into b->key. */
static const char *K(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *K(struct builder *b, const char *fmt, ...)
{
        int n = snprintf(b->key, sizeof(b->key), "vms[%zu]", b->vp->vm_index);
        va_list ap;

        if (fmt && n >= 0 && (size_t)n < sizeof(b->key)) {
                b->key[n++] = '.';
                va_start(ap, fmt);
                vsnprintf(b->key + n, sizeof(b->key) - (size_t)n, fmt, ap);
                va_end(ap);
        }
        return b->key;
}

static void push(struct builder *b, const char *origin, char *owned)
{
        struct vx_vm_plan *vp = b->vp;
        char *o = NULL;

        if (b->r < 0 || !owned) {
                free(owned);
                fail(b, -ENOMEM);
                return;
        }
        if (vp->argv.n + 1 > b->origin_cap) {
                size_t cap = b->origin_cap ? b->origin_cap * 2 : 32;
                char **n = realloc(vp->origin, cap * sizeof(*n));
                if (!n) {
                        free(owned);
                        fail(b, -ENOMEM);
                        return;
                }
                vp->origin = n;
                b->origin_cap = cap;
        }
        if (origin) {
                o = strdup(origin);
                if (!o) {
                        free(owned);
                        fail(b, -ENOMEM);
                        return;
                }
        }
        if (vx_argv_append(&vp->argv, owned) < 0) {
                free(o);
                free(owned);
                fail(b, -ENOMEM);
                return;
        }
        free(owned);
        vp->origin[vp->argv.n - 1] = o;
}

/* Appends option (a flag when fmt is NULL) and its value, both produced by origin. */
static void opt(struct builder *b, const char *origin, const char *option, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void opt(struct builder *b, const char *origin, const char *option, const char *fmt, ...)
{
        char *value = NULL;
        va_list ap;

        push(b, origin, strdup(option));
        if (!fmt)
                return;
        va_start(ap, fmt);
        if (vasprintf(&value, fmt, ap) < 0)
                value = NULL;
        va_end(ap);
        push(b, origin, value);
}

static void opt_sb(struct builder *b, const char *origin, const char *option, struct strbuf *sb)
{
        if (sb->oom || !sb->s)
                fail(b, -ENOMEM);
        else
                opt(b, origin, option, "%s", sb->s);
        sb_done(sb);
}

static void note(struct builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct builder *b, const char *fmt, ...)
{
        struct vx_vm_plan *vp = b->vp;
        char **n, *s;
        va_list ap;
        int r;

        if (b->r < 0)
                return;
        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return fail(b, -ENOMEM);
        n = realloc(vp->notes, (vp->n_notes + 1) * sizeof(*n));
        if (!n) {
                free(s);
                return fail(b, -ENOMEM);
        }
        vp->notes = n;
        vp->notes[vp->n_notes++] = s;
}

/*
 * Appends a host action (a copy of *a, whose strings the plan then owns) with
 * a description. vm is the VM's index, -1 for deployment-wide actions.
 * Returns its index in plan->actions (meaningless once b->r is set).
 */
static size_t action(struct builder *b, int vm, struct vx_host_action *a, const char *object, const char *key,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static size_t action(struct builder *b, int vm, struct vx_host_action *a, const char *object, const char *key,
                     const char *fmt, ...)
{
        struct vx_plan *plan = b->plan;
        struct vx_host_action *n;
        va_list ap;
        int r;

        a->vm = vm;
        if (b->r >= 0) {
                va_start(ap, fmt);
                r = vasprintf(&a->description, fmt, ap);
                va_end(ap);
                if (r < 0)
                        a->description = NULL;
                a->object = strdup(object);
                a->key = strdup(key);
        }
        n = b->r >= 0 ? realloc(plan->actions, (plan->n_actions + 1) * sizeof(*n)) : NULL;
        if (!a->description || !a->object || !a->key || !n) {
                if (n)
                        plan->actions = n;
                plan_action_done(a);
                fail(b, -ENOMEM);
                return 0;
        }
        plan->actions = n;
        plan->actions[plan->n_actions] = *a;
        return plan->n_actions++;
}

/* strdup() that keeps NULL, with the sticky error. */
static char *dup_or_null(struct builder *b, const char *s)
{
        char *d;

        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                fail(b, -ENOMEM);
        return d;
}

/* Appends an fd table entry; *ret_number is the fd number QEMU will see it under. */
static void add_fd(struct builder *b, enum vx_plan_fd_kind kind, const char *object, size_t action_index,
                   unsigned queue, int *ret_number)
{
        struct vx_vm_plan *vp = b->vp;
        struct vx_plan_fd *n;
        char *o;

        *ret_number = VX_PLAN_FIRST_FD + (int)vp->n_fds;
        if (b->r < 0)
                return;
        o = strdup(object);
        n = realloc(vp->fds, (vp->n_fds + 1) * sizeof(*n));
        if (!o || !n) {
                free(o);
                if (n)
                        vp->fds = n;
                return fail(b, -ENOMEM);
        }
        vp->fds = n;
        vp->fds[vp->n_fds++] = (struct vx_plan_fd){
                .kind = kind, .number = *ret_number, .object = o, .action = action_index, .queue = queue};
}

/* Sizes as QEMU takes them: whole MiB ("2048M"). */
static uint64_t size_mib(struct builder *b, uint64_t bytes)
{
        uint64_t mib = (bytes + MIB - 1) / MIB;

        if (bytes % MIB)
                note(b,
                     "memory.size %" PRIu64 " bytes is not a whole number of MiB; rounded up to %" PRIu64
                     "M",
                     bytes, mib);
        return mib;
}

static void format_page_size(uint64_t bytes, char *buf, size_t len)
{
        if (bytes % GIB == 0)
                snprintf(buf, len, "%" PRIu64 "G", bytes / GIB);
        else if (bytes % MIB == 0)
                snprintf(buf, len, "%" PRIu64 "M", bytes / MIB);
        else
                snprintf(buf, len, "%" PRIu64 "K", bytes >> 10);
}

/* QEMU's HostMemPolicy names. */
static const char *mem_policy_name(enum vx_mem_policy p)
{
        switch (p) {
        case VX_MEM_POLICY_PREFERRED:
                return "preferred";
        case VX_MEM_POLICY_INTERLEAVE:
                return "interleave";
        case VX_MEM_POLICY_BIND:
        default:
                return "bind";
        }
}

static const char *find_vf(const struct vx_host_facts *facts, const char *pf, int vf)
{
        for (size_t i = 0; i < facts->n_vfs; i++)
                if (facts->vfs[i].vf == vf && strcmp(facts->vfs[i].pf, pf) == 0)
                        return facts->vfs[i].pci_address;
        return NULL;
}

static const char *find_hugetlbfs(const struct vx_host_facts *facts, uint64_t page_size)
{
        for (size_t i = 0; i < facts->n_hugetlbfs; i++)
                if (facts->hugetlbfs[i].page_size == page_size)
                        return facts->hugetlbfs[i].path;
        return NULL;
}

static bool is_virtio_model(const struct vx_nic *nic)
{
        return nic->model == VX_NIC_MODEL_VIRTIO;
}

static const char *nic_model_driver(enum vx_nic_model m)
{
        switch (m) {
        case VX_NIC_MODEL_E1000:
                return "e1000";
        case VX_NIC_MODEL_E1000E:
                return "e1000e";
        case VX_NIC_MODEL_VIRTIO:
        default:
                return "virtio-net-pci";
        }
}

static const char *cache_mode(enum vx_disk_cache c)
{
        static const char *const names[] = {
            [VX_DISK_CACHE_NONE] = "none",           [VX_DISK_CACHE_DIRECTSYNC] = "directsync",
            [VX_DISK_CACHE_WRITEBACK] = "writeback", [VX_DISK_CACHE_WRITETHROUGH] = "writethrough",
            [VX_DISK_CACHE_UNSAFE] = "unsafe",
        };
        return (size_t)c < ELEMENTSOF(names) && names[c] ? names[c] : "none";
}

/* "std" (default with vnc), "cirrus", "virtio", "none" (default without). NULL = no video device. */
static const char *video_driver(const struct vx_vm *vm)
{
        const char *v = vm->video;

        if (!v)
                v = vm->vnc.enabled ? "std" : "none";
        if (strcmp(v, "std") == 0 || strcmp(v, "vga") == 0)
                return "VGA";
        if (strcmp(v, "cirrus") == 0)
                return "cirrus-vga";
        if (strcmp(v, "virtio") == 0)
                return "virtio-vga";
        return NULL;
}

static bool needs_usb(const struct vx_vm *vm)
{
        if (vm->vnc.enabled)
                return true; /* usb-tablet: absolute pointer, so the VNC cursor follows */
        for (size_t i = 0; i < vm->n_disks; i++)
                if (vm->disks[i].bus == VX_DISK_BUS_USB)
                        return true;
        return false;
}

/*
 * Guest PCI slots are fixed by the plan, as libvirt does: explicit pci-slot
 * values first, then the video device at slot 2 (where QEMU's pc machine puts
 * the VGA), then every other device in argv order at the lowest free slot. A
 * device QEMU placed itself could otherwise take a slot the profile asks for
 * further down the command line, and the guest's interface order (Junos'
 * ge-0/0/x follow PCI order) would move when an unrelated device is added.
 */
static void pci_init(struct builder *b)
{
        const struct vx_vm *vm = b->vm;

        b->q35 = vm->machine && strstr(vm->machine, "q35");
        b->pci_bus = b->q35 ? "pcie.0" : "pci.0";
        b->slot_used[0] = true; /* host bridge */
        if (b->q35)
                b->slot_used[0x1f] = true; /* ICH9 LPC, SATA, SMBus */
        else
                b->slot_used[1] = true; /* PIIX3: ISA, IDE, USB (function 2), ACPI */

        for (size_t i = 0; i < vm->n_nics; i++) {
                int s = vm->nics[i].pci_slot;

                b->nic_slot[i] = -1;
                if (s < 0)
                        continue;
                if (s >= PCI_SLOTS || b->slot_used[s]) {
                        /* Guest interface order follows PCI order: a moved NIC is not what was asked for. */
                        b->vp->complete = false;
                        note(b, "%s: PCI slot 0x%x is %s; start refuses this plan", K(b, "nics[%zu].pci-slot", i),
                             (unsigned)s, s >= PCI_SLOTS ? "out of range (0x1 to 0x1f)" : "taken by another device");
                        continue;
                }
                b->slot_used[s] = true;
                b->nic_slot[i] = s;
        }
        b->video_slot = -1;
        if (video_driver(vm) && !b->slot_used[2]) {
                b->slot_used[2] = true;
                b->video_slot = 2;
        }
}

/*
 * The lowest free slot of bus 0. When none is left the device has no
 * address: QEMU would refuse the command line, so the plan says so and
 * start refuses it (cmdline still prints it).
 */
static int pci_alloc(struct builder *b)
{
        for (int s = 1; s < PCI_SLOTS; s++)
                if (!b->slot_used[s]) {
                        b->slot_used[s] = true;
                        return s;
                }
        if (!b->pci_full) {
                b->pci_full = true;
                b->vp->complete = false;
                note(b, "%s: more PCI devices than the %d slots of %s; start refuses this plan", K(b, NULL),
                     PCI_SLOTS - 1, b->pci_bus);
        }
        return -1;
}

/* Appends ",bus=pci.0,addr=0xN" for slot, or nothing when QEMU has to pick (no slot left). */
static void sb_pci_addr(struct builder *b, struct strbuf *sb, int slot)
{
        if (slot >= 0)
                sb_addf(sb, ",bus=%s,addr=0x%x", b->pci_bus, (unsigned)slot);
}

/*
 * The host node the VM's memory is bound to: memory.hugepages.node, else with
 * pinning: auto the node placement chose (on a host with several); -1: not bound.
 */
static int memory_node(const struct builder *b)
{
        const struct vx_memory *m = &b->vm->memory;

        if (m->hugepages && m->node >= 0)
                return m->node;
        /* On a one-node host there is nothing to bind to: the command line stays as without placement. */
        if (!b->facts->topology || b->facts->topology->n_nodes < 2)
                return -1;
        return b->vp->pinning.automatic ? b->vp->pinning.node : -1;
}

/* -machine memory-backend=mem0: one backend for all memory (guest NUMA nodes have one each, by -numa). */
static bool has_memory_backend(const struct builder *b)
{
        return b->vm->numa.n_nodes == 0 && (b->vm->memory.hugepages || memory_node(b) >= 0);
}

static void build_name_machine(struct builder *b)
{
        const struct vx_vm *vm = b->vm;
        struct strbuf sb = {0};

        opt(b, K(b, "name"), "-name", "guest=%s,debug-threads=on", vm->name);
        /* Started paused: the launcher pins the vCPU threads, then sends cont. */
        opt(b, NULL, "-S", NULL);
        opt(b, NULL, "-no-user-config", NULL);
        opt(b, NULL, "-nodefaults", NULL);

        sb_addf(&sb, "%s,usb=off,dump-guest-core=off", vm->machine ? vm->machine : "pc");
        if (!vm->memory.merge)
                sb_addf(&sb, ",mem-merge=off");
        if (has_memory_backend(b))
                sb_addf(&sb, ",memory-backend=mem0");
        opt_sb(b, K(b, "machine"), "-machine", &sb);

        if (b->vp->accel == VX_ACCEL_TCG)
                opt(b, K(b, "accel"), "-accel", "tcg,thread=multi");
        else
                opt(b, K(b, "accel"), "-accel", "kvm");
}

static void build_cpu(struct builder *b)
{
        const struct vx_vm *vm = b->vm;
        const char *model = vm->cpu.model ? vm->cpu.model : "max";
        struct strbuf sb = {0};
        const struct vx_plan_topology *t;

        if (b->vp->accel == VX_ACCEL_TCG && strcmp(model, "host") == 0) {
                note(b, "%s: cpu model 'host' needs KVM; using 'max' under TCG", K(b, "cpu.model"));
                model = "max";
        }
        sb_addf(&sb, "%s", model);
        for (size_t i = 0; i < vm->cpu.n_features; i++)
                sb_addf(&sb, ",%s", vm->cpu.features[i]);
        opt_sb(b, K(b, "cpu"), "-cpu", &sb);

        /* The parser decided the defaults (vcpus 1, cores from vcpus) and validation the products. */
        b->vp->topology = (struct vx_plan_topology){.vcpus = vm->vcpus,
                                                    .sockets = vm->topology.sockets,
                                                    .dies = vm->topology.dies,
                                                    .cores = vm->topology.cores,
                                                    .threads = vm->topology.threads};
        if (vm->topology.automatic && b->placement && b->placement->cores > 0) {
                b->vp->topology.sockets = b->placement->sockets;
                b->vp->topology.dies = 1;
                b->vp->topology.cores = b->placement->cores;
                b->vp->topology.threads = b->placement->threads;
        }
        t = &b->vp->topology;
        opt(b, K(b, "vcpus"), "-smp", "%u,sockets=%u,dies=%u,cores=%u,threads=%u", t->vcpus, t->sockets, t->dies,
            t->cores, t->threads);
}

/*
 * The directory of QEMU's hugepage backing files: the hugetlbfs of that page
 * size (mounted at start when there is none), with a directory of QEMU's own
 * in it when QEMU runs as its own user. NULL after fail().
 */
static const char *hugepage_dir(struct builder *b, char **owned)
{
        const struct vx_vm *vm = b->vm;
        const struct vx_memory *m = &vm->memory;
        uint64_t page_size = m->page_size ? m->page_size : 2 * MIB;
        const char *path = m->path;
        _cleanup_free_ char *fallback = NULL;
        char ps[32];

        format_page_size(page_size, ps, sizeof(ps));
        if (!path)
                path = find_hugetlbfs(b->facts, page_size);
        if (!path) {
                /* Where Debian's systemd mounts them (dev-hugepages.mount) and its 1G sibling. */
                if (asprintf(&fallback, "/dev/hugepages%s", page_size == 2 * MIB ? "" : ps) < 0)
                        return fail(b, -ENOMEM), NULL;
                path = fallback;
                note(b,
                     "%s: no hugetlbfs with %s pages is mounted on this host; mem-path=%s is where "
                     "vmxrun mounts one at start",
                     K(b, "memory.hugepages"), ps, path);
                action(b, (int)b->vp->vm_index,
                       &(struct vx_host_action){.kind = VX_ACTION_HUGETLBFS_MOUNT,
                                                .mount = {.path = dup_or_null(b, path), .page_size = page_size}},
                       path, K(b, "memory.hugepages"), "mount hugetlbfs with pagesize=%s at %s", ps, path);
        }
        if (b->plan->qemu_user) {
                /*
                 * QEMU creates its backing file in mem-path; as its own user it gets
                 * a directory of its own there, as libvirt does (/dev/hugepages/libvirt/qemu/...).
                 */
                if (asprintf(owned, "%s/vmxrun-%s-%s", path, b->plan->deployment, vm->name) < 0)
                        return fail(b, -ENOMEM), NULL;
                action(b, (int)b->vp->vm_index,
                       &(struct vx_host_action){.kind = VX_ACTION_MEM_DIR,
                                                .mount = {.path = dup_or_null(b, *owned), .page_size = page_size}},
                       *owned, K(b, "memory.hugepages"), "create %s for %s's backing file, owned by %s", *owned,
                       vm->name, b->plan->qemu_user);
                return *owned;
        }
        *owned = TAKE_PTR(fallback);
        return *owned ? *owned : path;
}

/* One memory backend memN of size bytes: hugepages in dir (with the pool they need), else RAM; on host_node. */
static void memory_backend(struct builder *b, unsigned id, uint64_t size, int host_node, const char *dir,
                           const char *key)
{
        const struct vx_memory *m = &b->vm->memory;
        uint64_t mib = size_mib(b, size);
        struct strbuf sb = {0};

        if (dir) {
                uint64_t page_size = m->page_size ? m->page_size : 2 * MIB;
                uint64_t pages = (size + page_size - 1) / page_size;
                char ps[32], node[32] = "";

                format_page_size(page_size, ps, sizeof(ps));
                if (host_node >= 0)
                        snprintf(node, sizeof(node), " on node %d", host_node);
                action(b, (int)b->vp->vm_index,
                       &(struct vx_host_action){.kind = VX_ACTION_HUGEPAGES,
                                                .huge = {.page_size = page_size, .node = host_node, .pages = pages}},
                       ps, K(b, "memory.hugepages"),
                       "make sure %" PRIu64 " free %s hugepages%s are reserved for %s (%" PRIu64 "M)", pages, ps, node,
                       b->vm->name, mib);
                sb_addf(&sb, "memory-backend-file,id=mem%u,size=%" PRIu64 "M,mem-path=%s,prealloc=%s,share=off", id,
                        mib, dir, m->prealloc ? "on" : "off");
                if (m->prealloc) {
                        const struct vx_plan_pinning *pp = &b->vp->pinning;
                        unsigned threads = pp->has_emulator ? vx_cpuset_count(&pp->emulator) : 0;

                        /*
                         * QEMU preallocates before QMP answers, so before any pinning: its threads
                         * inherit the emulator set spawn gives QEMU. One per CPU of that set.
                         */
                        if (threads > 1)
                                sb_addf(&sb, ",prealloc-threads=%u", threads);
                        b->vp->prealloc_bytes += size;
                        b->vp->prealloc_hugetlb = true;
                }
        } else
                sb_addf(&sb, "memory-backend-ram,id=mem%u,size=%" PRIu64 "M", id, mib);
        if (host_node >= 0)
                sb_addf(&sb, ",host-nodes=%d,policy=%s", host_node, mem_policy_name(m->policy));
        opt_sb(b, key, "-object", &sb);
}

/*
 * Guest NUMA (numa.nodes): a backend per guest node on its host node, the
 * node, and its vCPUs by their place in the -smp topology (QEMU's x86 order:
 * threads within cores within dies within sockets).
 */
static void build_guest_numa(struct builder *b, const char *dir)
{
        const struct vx_vm *vm = b->vm;
        const struct vx_plan_topology *t = &b->vp->topology;

        for (size_t k = 0; k < vm->numa.n_nodes; k++) {
                const struct vx_guest_node *g = &vm->numa.nodes[k];
                int host_node = g->host_node >= 0 ? g->host_node : memory_node(b);
                char key[64];

                snprintf(key, sizeof(key), "numa.nodes[%zu]", k);
                memory_backend(b, (unsigned)k, g->size, host_node, dir, K(b, "%s", key));
                opt(b, K(b, "%s", key), "-numa", "node,nodeid=%zu,memdev=mem%zu", k, k);
        }
        for (size_t k = 0; k < vm->numa.n_nodes; k++)
                for (unsigned v = 0; v < vm->vcpus; v++) {
                        unsigned threads = t->threads ? t->threads : 1, cores = t->cores ? t->cores : 1;
                        unsigned dies = t->dies ? t->dies : 1;

                        if (!vx_cpuset_isset(&vm->numa.nodes[k].vcpus, v))
                                continue;
                        opt(b, K(b, "numa.nodes[%zu].vcpus", k), "-numa",
                            "cpu,node-id=%zu,socket-id=%u,core-id=%u,thread-id=%u", k, v / (threads * cores * dies),
                            (v / threads) % cores, v % threads);
                }
}

/* Whether the host has 1 GiB hugepages: the kernel lists a 1G pool only where the CPU has pdpe1gb. */
static bool host_has_1g_pages(const struct vx_host_facts *facts)
{
        for (size_t i = 0; i < facts->n_pools; i++)
                if (facts->pools[i].page_size == GIB)
                        return true;
        return false;
}

static void build_memory(struct builder *b)
{
        const struct vx_vm *vm = b->vm;
        const struct vx_memory *m = &vm->memory;
        uint64_t mib = size_mib(b, m->size);
        int host_node = memory_node(b);
        _cleanup_free_ char *owned = NULL;
        const char *dir = NULL;

        if (m->hugepages) {
                if (m->page_size_auto)
                        note(b, "%s: auto: %s", K(b, "memory.hugepages.page-size"),
                             m->page_size == GIB           ? "1G, the host has 1 GiB pages and the memory is whole ones"
                             : host_has_1g_pages(b->facts) ? "2M, the memory is not whole 1 GiB pages"
                                                           : "2M, the host has no 1 GiB pages");
                dir = hugepage_dir(b, &owned);
                if (!dir)
                        return;
        }
        if (vm->numa.n_nodes > 0)
                build_guest_numa(b, dir);
        else if (m->hugepages)
                memory_backend(b, 0, m->size, host_node, dir, K(b, "memory.hugepages"));
        else if (host_node >= 0)
                /* pinning: auto without hugepages: the memory still goes where the vCPUs are. */
                memory_backend(b, 0, m->size, host_node, NULL, K(b, "pinning"));
        opt(b, K(b, "memory.size"), "-m", "%" PRIu64 "M", mib);
        opt(b, K(b, "memory.lock"), "-overcommit", "mem-lock=%s", m->lock ? "on" : "off");
}

static void build_ids(struct builder *b)
{
        const struct vx_vm *vm = b->vm;

        if (vm->uuid)
                opt(b, K(b, "uuid"), "-uuid", "%s", vm->uuid);
        for (size_t i = 0; i < vm->n_smbios; i++) {
                const struct vx_smbios *s = &vm->smbios[i];
                struct strbuf sb = {0};

                sb_addf(&sb, "type=%u", s->type);
                for (size_t j = 0; j < s->n_entries; j++)
                        sb_addf(&sb, ",%s=%s", s->entries[j].key, s->entries[j].value);
                opt_sb(b, K(b, "smbios[%zu]", i), "-smbios", &sb);
        }
}

static void build_qmp(struct builder *b)
{
        int fd;

        /* The socket is created by vmxrun, so it exists before QEMU and no one else can take its path. */
        add_fd(b, VX_PLAN_FD_QMP, b->vp->qmp_path, 0, 0, &fd);
        opt(b, NULL, "-chardev", "socket,id=charmonitor,fd=%d,server=on,wait=off", fd);
        opt(b, NULL, "-mon", "chardev=charmonitor,id=monitor,mode=control");
        /* Names the runtime dir in QEMU's command line: a QEMU no state file names is found by it (orphans.c). */
        opt(b, NULL, "-pidfile", "%s/qemu.pid", b->vp->runtime_dir);
        opt(b, NULL, "-rtc", "base=utc");
        opt(b, NULL, "-boot", "strict=on");
}

/* A file QEMU opens itself: when it runs as its own user, that user must be able to. */
static void file_access(struct builder *b, const char *path, bool writable, const char *key)
{
        if (!b->plan->qemu_user)
                return;
        action(b, (int)b->vp->vm_index,
               &(struct vx_host_action){.kind = VX_ACTION_FILE_ACCESS,
                                        .file = {.path = dup_or_null(b, path), .writable = writable}},
               path, key, "let %s %s %s (ownership restored at stop)", b->plan->qemu_user,
               writable ? "read and write" : "read", path);
}

static void build_boot(struct builder *b)
{
        const struct vx_boot *boot = &b->vm->boot;

        if (!boot->kernel)
                return;
        opt(b, K(b, "boot.kernel"), "-kernel", "%s", boot->kernel);
        file_access(b, boot->kernel, false, K(b, "boot.kernel"));
        if (boot->initrd) {
                opt(b, K(b, "boot.initrd"), "-initrd", "%s", boot->initrd);
                file_access(b, boot->initrd, false, K(b, "boot.initrd"));
        }
        if (boot->cmdline)
                opt(b, K(b, "boot.cmdline"), "-append", "%s", boot->cmdline);
}

static void build_controllers(struct builder *b)
{
        const struct vx_vm *vm = b->vm;

        if (needs_usb(vm)) {
                struct strbuf sb = {0};

                sb_addf(&sb, "piix3-usb-uhci,id=usb");
                if (b->q35)
                        sb_pci_addr(b, &sb, pci_alloc(b));
                else
                        sb_addf(
                            &sb,
                            ",bus=pci.0,addr=0x1.0x2"); /* function 2 of the PIIX3, as on real hardware */
                opt_sb(b, NULL, "-device", &sb);
        }
        for (size_t i = 0; i < vm->n_disks; i++)
                if (vm->disks[i].bus == VX_DISK_BUS_SCSI) {
                        struct strbuf sb = {0};

                        sb_addf(&sb, "virtio-scsi-pci,id=scsi0");
                        sb_pci_addr(b, &sb, pci_alloc(b));
                        opt_sb(b, K(b, "disks[%zu].bus", i), "-device", &sb);
                        break;
                }
}

static void build_disks(struct builder *b)
{
        const struct vx_vm *vm = b->vm;
        unsigned n_ide = 0, n_virtio = 0, n_usb = 0, n_scsi = 0;

        for (size_t i = 0; i < vm->n_disks; i++) {
                const struct vx_disk *d = &vm->disks[i];
                struct strbuf drive = {0}, dev = {0};
                char id[64];

                switch (d->bus) {
                case VX_DISK_BUS_IDE: {
                        /* pc: two units on each of ide.0 and ide.1; q35's AHCI: one unit per port. */
                        unsigned per_bus = b->q35 ? 1 : 2, bus = n_ide / per_bus, unit = n_ide % per_bus;

                        n_ide++;
                        snprintf(id, sizeof(id), "ide0-%u-%u", bus, unit);
                        sb_addf(&dev, "ide-hd,bus=ide.%u,unit=%u,drive=drive-%s,id=%s", bus, unit, id, id);
                        break;
                }
                case VX_DISK_BUS_USB:
                        snprintf(id, sizeof(id), "usb-disk%u", n_usb++);
                        sb_addf(&dev, "usb-storage,bus=usb.0,drive=drive-%s,id=%s,removable=off", id, id);
                        break;
                case VX_DISK_BUS_SCSI:
                        snprintf(id, sizeof(id), "scsi0-0-%u-0", n_scsi);
                        sb_addf(&dev, "scsi-hd,bus=scsi0.0,channel=0,scsi-id=%u,lun=0,drive=drive-%s,id=%s",
                                n_scsi, id, id);
                        n_scsi++;
                        break;
                case VX_DISK_BUS_VIRTIO:
                default:
                        snprintf(id, sizeof(id), "virtio-disk%u", n_virtio++);
                        sb_addf(&dev, "virtio-blk-pci,drive=drive-%s,id=%s", id, id);
                        sb_pci_addr(b, &dev, pci_alloc(b));
                        break;
                }
                if (d->boot_order > 0)
                        sb_addf(&dev, ",bootindex=%u", d->boot_order);

                file_access(b, d->file, !d->readonly, K(b, "disks[%zu].file", i));
                sb_addf(&drive, "file=%s,if=none,id=drive-%s,format=%s,cache=%s", d->file, id,
                        d->format == VX_DISK_FORMAT_RAW ? "raw" : "qcow2", cache_mode(d->cache));
                if (d->readonly)
                        sb_addf(&drive, ",readonly=on");
                opt_sb(b, K(b, "disks[%zu]", i), "-drive", &drive);
                opt_sb(b, K(b, "disks[%zu]", i), "-device", &dev);
        }
}

/* Whether this tap NIC gets /dev/vhost-net fds. */
static bool tap_uses_vhost(struct builder *b, size_t i)
{
        const struct vx_nic *nic = &b->vm->nics[i];

        if (nic->vhost == VX_OFF)
                return false;
        if (!is_virtio_model(nic)) {
                if (nic->vhost == VX_ON)
                        note(b, "%s: vhost only accelerates virtio-net; ignored for %s",
                             K(b, "nics[%zu].vhost", i), nic_model_driver(nic->model));
                return false;
        }
        if (nic->vhost == VX_AUTO && !b->facts->vhost_net) {
                note(b,
                     "%s: /dev/vhost-net is not available on this host; %s uses QEMU's userspace virtio-net "
                     "(slower)",
                     K(b, "nics[%zu].vhost", i), nic->tap);
                return false;
        }
        if (nic->vhost == VX_ON && !b->facts->vhost_net)
                note(b,
                     "%s: vhost: on, but /dev/vhost-net is not available on this host; start will fail to "
                     "open it",
                     K(b, "nics[%zu].vhost", i));
        return true;
}

static void sb_fd_list(struct strbuf *sb, const char *one, const char *many, const int *fds, unsigned n)
{
        sb_addf(sb, ",%s=", n > 1 ? many : one);
        for (unsigned q = 0; q < n; q++)
                sb_addf(sb, "%s%d", q ? ":" : "", fds[q]);
}

static void build_tap(struct builder *b, size_t i, unsigned net_index)
{
        const struct vx_nic *nic = &b->vm->nics[i];
        unsigned queues = nic->queues ? nic->queues : 1;
        bool vhost = tap_uses_vhost(b, i);
        _cleanup_free_ int *tapfds = NULL, *vhostfds = NULL;
        struct strbuf netdev = {0}, dev = {0};
        char mtu[32] = "";
        size_t a;

        if (queues > 1 && !is_virtio_model(nic)) {
                note(b, "%s: multiqueue needs virtio-net; %s gets one queue", K(b, "nics[%zu].queues", i),
                     nic_model_driver(nic->model));
                queues = 1;
        }
        tapfds = calloc(queues, sizeof(int));
        vhostfds = calloc(queues, sizeof(int));
        if (!tapfds || !vhostfds)
                return fail(b, -ENOMEM);

        if (nic->mtu)
                snprintf(mtu, sizeof(mtu), ", mtu %u", nic->mtu);
        /* The action first: its fd table entries name it. */
        a = action(b, (int)b->vp->vm_index,
                   &(struct vx_host_action){
                           .kind = VX_ACTION_TAP,
                           .tap = {.name = dup_or_null(b, nic->tap),
                                   .bridge = dup_or_null(b, nic->bridge),
                                   .guest_mac = dup_or_null(b, nic->mac),
                                   .mtu = nic->mtu,
                                   .queues = queues,
                                   .vhost = vhost,
                                   .first_fd = b->vp->n_fds,
                                   .declared_bridge = nic->bridge && find_bridge(b->plan->profile, nic->bridge)}},
                   nic->tap, K(b, "nics[%zu]", i), "create tap %s on bridge %s%s%s%s", nic->tap,
                   nic->bridge ? nic->bridge : "(none)", mtu, queues > 1 ? ", multiqueue" : "",
                   vhost ? ", vhost-net" : "");
        for (unsigned q = 0; q < queues; q++)
                add_fd(b, VX_PLAN_FD_TAP, nic->tap, a, q, &tapfds[q]);
        if (vhost)
                for (unsigned q = 0; q < queues; q++)
                        add_fd(b, VX_PLAN_FD_VHOST, nic->tap, a, q, &vhostfds[q]);

        sb_addf(&netdev, "tap,id=hostnet%u", net_index);
        sb_fd_list(&netdev, "fd", "fds", tapfds, queues);
        if (vhost) {
                sb_addf(&netdev, ",vhost=on");
                sb_fd_list(&netdev, "vhostfd", "vhostfds", vhostfds, queues);
        }
        opt_sb(b, K(b, "nics[%zu]", i), "-netdev", &netdev);

        sb_addf(&dev, "%s,netdev=hostnet%u,id=net%u", nic_model_driver(nic->model), net_index, net_index);
        if (nic->mac)
                sb_addf(&dev, ",mac=%s", nic->mac);
        sb_pci_addr(b, &dev, b->nic_slot[i] >= 0 ? b->nic_slot[i] : pci_alloc(b));
        if (queues > 1)
                sb_addf(&dev, ",mq=on,vectors=%u", 2 * queues + 2);
        if (nic->mtu && is_virtio_model(nic))
                sb_addf(&dev, ",host_mtu=%u", nic->mtu);
        opt_sb(b, K(b, "nics[%zu]", i), "-device", &dev);
}

/* ---- VF NICs: the address now, or a placeholder start fills (docs/sriov.md) ---- */

static const struct vx_pf_fact *find_pf(const struct vx_host_facts *facts, const char *ifname)
{
        for (size_t i = 0; i < facts->n_pfs; i++)
                if (strcmp(facts->pfs[i].ifname, ifname) == 0)
                        return &facts->pfs[i];
        return NULL;
}

/* The NIC's PFs: its list, or pf alone (a model made without the parser has no list). */
static char *const *nic_pfs(const struct vx_nic *nic, size_t *ret_n)
{
        *ret_n = nic->n_pfs ? nic->n_pfs : nic->pf != NULL;
        return nic->n_pfs ? nic->pfs : &nic->pf;
}

/* "p3p1,p2p1" (sep ","), or "p3p1, p2p1" (sep ", "). */
static char *pf_list(struct builder *b, const struct vx_nic *nic, const char *sep)
{
        struct strbuf sb = {0};
        size_t n;
        char *const *pfs = nic_pfs(nic, &n);
        char *s;

        for (size_t k = 0; k < n; k++)
                sb_addf(&sb, "%s%s", k ? sep : "", pfs[k]);
        if (sb.oom || !sb.s) {
                sb_done(&sb);
                fail(b, -ENOMEM);
                return NULL;
        }
        s = TAKE_PTR(sb.s);
        sb_done(&sb);
        return s;
}

/*
 * A VF whose address the host does not have yet: start picks it (vf: auto)
 * or creates the PF's VFs (sriov_numvfs 0). Returns the placeholder argv
 * holds until then (a note says why), or NULL after -ENOMEM. A VF start
 * could not have either makes the plan incomplete.
 */
static char *vf_placeholder(struct builder *b, size_t i)
{
        const struct vx_nic *nic = &b->vm->nics[i];
        const struct vx_pf_fact *pf;
        _cleanup_free_ char *list = pf_list(b, nic, ","), *shown = pf_list(b, nic, ", ");
        char *ph = NULL;
        bool any = false;

        if (!list || !shown)
                return NULL;
        if (nic->vf_auto) {
                if (asprintf(&ph, "@%s/auto:nics[%zu]@", list, i) < 0) {
                        fail(b, -ENOMEM);
                        return NULL;
                }
                for (size_t k = 0; k < nic->n_pfs; k++)
                        any = any || (nic->pfs[k] && find_pf(b->facts, nic->pfs[k]));
                if (!any) {
                        b->vp->complete = false;
                        note(b, "%s: vf: auto, but none of %s is an SR-IOV PF on this host", K(b, "nics[%zu]", i),
                             shown);
                } else
                        note(b,
                             "%s: vf: auto: start picks a free VF of %s (on the VM's NUMA node first, then on the PF "
                             "with most free VFs; VFs created on a PF that has none) and puts its address in place "
                             "of %s",
                             K(b, "nics[%zu]", i), shown, ph);
                return ph;
        }
        if (asprintf(&ph, "@%s/vf%d@", nic->pf, nic->vf) < 0) {
                fail(b, -ENOMEM);
                return NULL;
        }
        pf = find_pf(b->facts, nic->pf);
        if (pf && (unsigned)nic->vf < pf->total_vfs && pf->num_vfs == 0) {
                note(b,
                     "%s: PF %s has no VFs yet: start creates them (sriov_numvfs, up to %u) and puts the address of "
                     "vf %d (/sys/class/net/%s/device/virtfn%d) in place of %s",
                     K(b, "nics[%zu]", i), nic->pf, pf->total_vfs, nic->vf, nic->pf, nic->vf, ph);
                return ph;
        }
        b->vp->complete = false;
        if (!pf)
                note(b, "%s: %s vf %d is not on this host (no SR-IOV PF %s); %s stands for its address",
                     K(b, "nics[%zu]", i), nic->pf, nic->vf, nic->pf, ph);
        else if ((unsigned)nic->vf >= pf->total_vfs)
                note(b, "%s: PF %s offers %u VFs (sriov_totalvfs); vf %d is out of range", K(b, "nics[%zu]", i),
                     nic->pf, pf->total_vfs, nic->vf);
        else
                note(b,
                     "%s: PF %s has %u VFs, not vf %d; start raises sriov_numvfs only from 0 (changing it destroys "
                     "VFs others may use)",
                     K(b, "nics[%zu]", i), nic->pf, pf->num_vfs, nic->vf);
        return ph;
}

static void vf_action_text(struct strbuf *sb, const struct vx_nic *nic, const char *pfs)
{
        const struct vx_pf_settings *ps = &nic->pf_settings;

        if (nic->vf_auto)
                sb_addf(sb, "set a free VF of %s:", pfs);
        else
                sb_addf(sb, "set %s vf %d:", nic->pf, nic->vf);
        if (nic->mac)
                sb_addf(sb, " mac %s", nic->mac);
        if (nic->vlan >= 0)
                sb_addf(sb, " vlan %d", nic->vlan);
        if (nic->rate_mbps >= 0)
                sb_addf(sb, " max_tx_rate %d", nic->rate_mbps);
        if (nic->spoofchk != VX_AUTO)
                sb_addf(sb, " spoofchk %s", nic->spoofchk == VX_ON ? "on" : "off");
        if (nic->trust != VX_AUTO)
                sb_addf(sb, " trust %s", nic->trust == VX_ON ? "on" : "off");
        if (ps->up == VX_AUTO && !ps->mtu && ps->promisc == VX_AUTO && ps->allmulti == VX_AUTO)
                return;
        sb_addf(sb, "; PF");
        if (ps->mtu)
                sb_addf(sb, " mtu %u", ps->mtu);
        if (ps->promisc != VX_AUTO)
                sb_addf(sb, " promisc %s", ps->promisc == VX_ON ? "on" : "off");
        if (ps->allmulti != VX_AUTO)
                sb_addf(sb, " allmulti %s", ps->allmulti == VX_ON ? "on" : "off");
        if (ps->up != VX_AUTO)
                sb_addf(sb, " %s", ps->up == VX_ON ? "up" : "down");
}

static void vf_action(struct builder *b, size_t i, const char *object, const char *pci_address, const char *placeholder)
{
        const struct vx_nic *nic = &b->vm->nics[i];
        _cleanup_free_ char *shown = pf_list(b, nic, ", ");
        struct vx_host_action act = {.kind = VX_ACTION_VF_CONFIG};
        struct strbuf sb = {0};
        char *const *pfs;
        size_t n;

        if (!shown)
                return;
        vf_action_text(&sb, nic, shown);
        if (sb.oom || !sb.s) {
                sb_done(&sb);
                return fail(b, -ENOMEM);
        }
        act.vf = (struct vx_action_vf_config){.pf = dup_or_null(b, nic->pf),
                                              .vf = nic->vf_auto ? -1 : nic->vf,
                                              .pci_address = dup_or_null(b, pci_address),
                                              .mac = dup_or_null(b, nic->mac),
                                              .vlan = nic->vlan,
                                              .rate_mbps = nic->rate_mbps,
                                              .spoofchk = nic->spoofchk,
                                              .trust = nic->trust,
                                              .pf_mtu = nic->pf_settings.mtu,
                                              .vf_auto = nic->vf_auto,
                                              .numa_node = b->vm->memory.hugepages ? b->vm->memory.node : -1,
                                              .pf_up = nic->pf_settings.up,
                                              .pf_promisc = nic->pf_settings.promisc,
                                              .pf_allmulti = nic->pf_settings.allmulti,
                                              .placeholder = dup_or_null(b, placeholder)};
        pfs = nic_pfs(nic, &n);
        act.vf.pfs = calloc(n ? n : 1, sizeof(char *));
        if (!act.vf.pfs)
                fail(b, -ENOMEM);
        for (size_t k = 0; act.vf.pfs && k < n; k++)
                act.vf.pfs[act.vf.n_pfs++] = dup_or_null(b, pfs[k]);
        action(b, (int)b->vp->vm_index, &act, object, K(b, "nics[%zu]", i), "%s", sb.s);
        sb_done(&sb);
        /* The seed's OSPF over a VF never came up: the PF keeps a VF's multicast list short unless trusted. */
        if (nic->trust != VX_ON)
                note(b,
                     "%s: not on: the PF filters the VF's multicast to the few groups it lets an untrusted VF "
                     "join, so a guest that routes with OSPF or IS-IS (vMX) may get no hellos; trust: on lets it "
                     "ask for all-multicast (docs/sriov.md)",
                     K(b, "nics[%zu].trust", i));
}

static void build_vfio(struct builder *b, size_t i, unsigned hostdev_index)
{
        const struct vx_nic *nic = &b->vm->nics[i];
        _cleanup_free_ char *placeholder = NULL, *pfvf = NULL;
        struct vx_host_action bind;
        const char *host;
        struct strbuf dev = {0};

        if (nic->type == VX_NIC_VF) {
                if (asprintf(&pfvf, "%s/vf%d", nic->pf, nic->vf) < 0)
                        return fail(b, -ENOMEM);
                host = nic->vf_auto ? NULL : find_vf(b->facts, nic->pf, nic->vf);
                if (!host) {
                        placeholder = vf_placeholder(b, i);
                        if (!placeholder)
                                return;
                        host = placeholder;
                }
                vf_action(b, i, placeholder ?: pfvf, placeholder ? NULL : host, placeholder);
        } else
                host = nic->host;

        bind = (struct vx_host_action){.kind = VX_ACTION_VFIO_BIND,
                                       .bind = {.pci_address = placeholder ? NULL : dup_or_null(b, host),
                                                .pf = dup_or_null(b, nic->type == VX_NIC_VF ? nic->pf : NULL),
                                                .vf = nic->type == VX_NIC_VF && !nic->vf_auto ? nic->vf : -1,
                                                .placeholder = dup_or_null(b, placeholder)}};
        if (placeholder)
                action(b, (int)b->vp->vm_index, &bind, host, K(b, "nics[%zu]", i),
                       "bind %s (its address known at start) to vfio-pci", nic->vf_auto ? placeholder : pfvf);
        else
                action(b, (int)b->vp->vm_index, &bind, host, K(b, "nics[%zu]", i), "bind %s%s%s%s to vfio-pci", host,
                       pfvf ? " (" : "", pfvf ? pfvf : "", pfvf ? ")" : "");

        sb_addf(&dev, "vfio-pci,host=%s,id=hostdev%u", host, hostdev_index);
        sb_pci_addr(b, &dev, b->nic_slot[i] >= 0 ? b->nic_slot[i] : pci_alloc(b));
        opt_sb(b, K(b, "nics[%zu]", i), "-device", &dev);
}

/* Replaces placeholder by bdf in *s; 1 when it did, 0 when *s does not hold it, -ENOMEM. */
static int replace_in(char **s, const char *placeholder, const char *bdf)
{
        char *at, *n;

        if (!*s || !(at = strstr(*s, placeholder)))
                return 0;
        if (asprintf(&n, "%.*s%s%s", (int)(at - *s), *s, bdf, at + strlen(placeholder)) < 0)
                return -ENOMEM;
        free(*s);
        *s = n;
        return 1;
}

int plan_resolve(struct vx_plan *plan, size_t vm, const char *placeholder, const char *bdf)
{
        struct vx_vm_plan *vp;
        int r, n = 0;

        if (vm >= plan->n_vms || !placeholder || !*placeholder)
                return -EINVAL;
        vp = &plan->vms[vm];
        for (size_t k = 0; k < vp->argv.n; k++) {
                r = replace_in(&vp->argv.items[k], placeholder, bdf);
                if (r < 0)
                        return r;
                n += r;
        }
        for (size_t k = 0; k < plan->n_actions; k++) {
                struct vx_host_action *a = &plan->actions[k];
                char **ph = a->kind == VX_ACTION_VF_CONFIG   ? &a->vf.placeholder
                            : a->kind == VX_ACTION_VFIO_BIND ? &a->bind.placeholder
                                                             : NULL;
                char **addr = a->kind == VX_ACTION_VF_CONFIG ? &a->vf.pci_address : &a->bind.pci_address;

                if (a->vm != (int)vm || !ph || !*ph || strcmp(*ph, placeholder) != 0)
                        continue;
                free(*addr);
                *addr = strdup(bdf);
                if (!*addr)
                        return -ENOMEM;
                r = replace_in(&a->object, placeholder, bdf);
                if (r < 0)
                        return r;
        }
        return n;
}

const char *plan_nic_pci_address(const struct vx_vm_plan *vp, size_t nic, size_t *ret_len)
{
        const struct vx_vm *vm = vp->vm;
        char id[32];
        unsigned k = 0;

        if (nic >= vm->n_nics || vm->nics[nic].type == VX_NIC_TAP)
                return NULL;
        /* build_nics(): the n-th VF or pci NIC is -device vfio-pci,host=...,id=hostdev<n>. */
        for (size_t i = 0; i < nic; i++)
                k += vm->nics[i].type != VX_NIC_TAP;
        snprintf(id, sizeof(id), ",id=hostdev%u", k);
        for (size_t i = 0; i < vp->argv.n; i++) {
                const char *item = vp->argv.items[i], *host = "vfio-pci,host=", *end;

                if (strncmp(item, host, strlen(host)) != 0 || !(end = strstr(item, id)) ||
                    (end[strlen(id)] && end[strlen(id)] != ','))
                        continue;
                item += strlen(host);
                *ret_len = (size_t)(end - item);
                return item;
        }
        return NULL;
}

static void build_nics(struct builder *b)
{
        const struct vx_vm *vm = b->vm;
        unsigned n_net = 0, n_hostdev = 0;

        for (size_t i = 0; i < vm->n_nics; i++)
                if (vm->nics[i].type == VX_NIC_TAP)
                        build_tap(b, i, n_net++);
                else
                        build_vfio(b, i, n_hostdev++);
}

/*
 * vfio maps (and so pins) all guest memory for the device's DMA: QEMU's
 * RLIMIT_MEMLOCK must cover it, with room for QEMU's own pinned pages. Guest
 * RAM + 1 GiB is libvirt's rule (qemuDomainGetMemLockLimitBytes).
 */
static void build_memlock(struct builder *b)
{
        const struct vx_vm *vm = b->vm;
        bool vfio = false;

        for (size_t i = 0; i < vm->n_nics; i++)
                vfio = vfio || vm->nics[i].type != VX_NIC_TAP;
        if (!vfio || b->vp->memlock_bytes == UINT64_MAX)
                return;
        b->vp->memlock_bytes = vm->memory.size + GIB;
        if (!vm->memory.hugepages)
                note(b,
                     "%s: PCI passthrough pins all %" PRIu64 " MiB of guest memory; without memory.hugepages they "
                     "are 4 KiB pages the host can no longer reclaim or merge",
                     K(b, "memory"), vm->memory.size / MIB);
}

static void build_serial(struct builder *b)
{
        const struct vx_serial *s = &b->vm->serial;
        const char *host = s->host ? s->host : "127.0.0.1";
        struct strbuf sb = {0};

        if (s->type == VX_SERIAL_NONE)
                return;
        sb_addf(&sb, "socket,id=charserial0");
        if (s->type == VX_SERIAL_UNIX) {
                if (s->path)
                        sb_addf(&sb, ",path=%s", s->path);
                else
                        sb_addf(&sb, ",path=%s/console.sock", b->vp->runtime_dir);
        } else {
                sb_addf(&sb, ",host=%s,port=%u", host, s->port);
                if (s->type == VX_SERIAL_TELNET)
                        sb_addf(&sb, ",telnet=on");
        }
        /*
         * QEMU copies the console to a log (truncated at each start, before the guest
         * runs): readiness is read from it, and `vmxrun console` keeps the socket.
         */
        sb_addf(&sb, ",server=on,wait=off,logfile=%s/console.log,logappend=off", b->vp->runtime_dir);
        opt_sb(b, K(b, "serial"), "-chardev", &sb);
        opt(b, K(b, "serial"), "-device", "isa-serial,chardev=charserial0,id=serial0");
}

static void build_display(struct builder *b)
{
        const struct vx_vm *vm = b->vm;
        const char *video = video_driver(vm);

        if (vm->vnc.enabled) {
                opt(b, K(b, "vnc"), "-vnc", "%s:%d", vm->vnc.listen ? vm->vnc.listen : "127.0.0.1",
                    vm->vnc.display >= 0 ? vm->vnc.display : 0);
                opt(b, K(b, "vnc"), "-device", "usb-tablet,id=input0,bus=usb.0");
        } else
                opt(b, K(b, "vnc"), "-display", "none");
        if (video) {
                struct strbuf sb = {0};

                sb_addf(&sb, "%s,id=video0", video);
                sb_pci_addr(b, &sb, b->video_slot >= 0 ? b->video_slot : pci_alloc(b));
                opt_sb(b, K(b, "video"), "-device", &sb);
        }
        if (vm->balloon) {
                struct strbuf sb = {0};

                sb_addf(&sb, "virtio-balloon-pci,id=balloon0");
                sb_pci_addr(b, &sb, pci_alloc(b));
                opt_sb(b, K(b, "balloon"), "-device", &sb);
        }
}

/*
 * QEMU's own seccomp filter, everything denied unless the profile's sandbox
 * relaxes it; vmxrun also drops privileges before exec, see launch.
 */
static void build_sandbox(struct builder *b)
{
        static const char *const rule[] = {
                [VX_SANDBOX_DENY] = "deny",
                [VX_SANDBOX_ALLOW] = "allow",
                [VX_SANDBOX_CHILDREN] = "children",
        };
        const struct vx_sandbox *sb = &b->vm->sandbox;
        const char *origin = sb->given ? K(b, "sandbox") : NULL;

        if (sb->off) {
                opt(b, origin, "-sandbox", "off");
                return;
        }
        opt(b, origin, "-sandbox", "on,obsolete=%s,elevateprivileges=%s,spawn=%s,resourcecontrol=%s",
            rule[sb->obsolete], rule[sb->elevate_privileges], rule[sb->spawn], rule[sb->resource_control]);
}

static void build_tail(struct builder *b)
{
        const struct vx_vm *vm = b->vm;

        build_sandbox(b);
        opt(b, NULL, "-msg", "timestamp=on");
        for (size_t i = 0; i < vm->n_extra_args; i++)
                push(b, K(b, "extra-args[%zu]", i), strdup(vm->extra_args[i]));
}

/* pinning: auto: what placement.c chose, with its reasons; no room is a note, and start refuses. */
static void build_placement(struct builder *b)
{
        const struct vx_placement *pl = b->placement;
        struct vx_plan_pinning *pp = &b->vp->pinning;

        pp->automatic = true;
        if (!pl || pl->failed) {
                b->vp->complete = false;
                note(b, "%s: %s; start refuses this plan", K(b, "pinning"),
                     pl && pl->n_why ? pl->why[pl->n_why - 1] : "nothing was placed");
                return;
        }
        pp->vcpus = calloc(pl->n_vcpus ? pl->n_vcpus : 1, sizeof(*pp->vcpus));
        pp->why = calloc(pl->n_why ? pl->n_why : 1, sizeof(*pp->why));
        if (!pp->vcpus || !pp->why)
                return fail(b, -ENOMEM);
        memcpy(pp->vcpus, pl->vcpus, pl->n_vcpus * sizeof(*pp->vcpus));
        pp->n_vcpus = pl->n_vcpus;
        for (size_t i = 0; i < pl->n_why; i++) {
                pp->why[i] = strdup(pl->why[i]);
                if (!pp->why[i])
                        return fail(b, -ENOMEM);
                pp->n_why++;
        }
        pp->has_emulator = true;
        pp->emulator = pl->emulator;
        pp->reserved = pl->reserved;
        pp->node = pl->node;
}

/*
 * Where each vCPU and the emulator run, as the profile pins them (validated:
 * one CPU list per vCPU) or as placement chose. The launcher pins from this,
 * never from the model.
 */
static void build_pinning(struct builder *b)
{
        const struct vx_pinning *pin = &b->vm->pinning;
        struct vx_plan_pinning *pp = &b->vp->pinning;

        pp->node = -1;
        pp->shared = pin->shared;
        pp->core_scheduling = pin->core_scheduling;
        if (pin->automatic)
                build_placement(b);
        else if (pin->n_vcpus > 0) {
                pp->vcpus = calloc(pin->n_vcpus, sizeof(*pp->vcpus));
                if (!pp->vcpus)
                        return fail(b, -ENOMEM);
                memcpy(pp->vcpus, pin->vcpus, pin->n_vcpus * sizeof(*pp->vcpus));
                pp->n_vcpus = pin->n_vcpus;
        }
        if (!pin->automatic) {
                pp->has_emulator = pin->has_emulator;
                if (pin->has_emulator)
                        pp->emulator = pin->emulator;
        }
        for (size_t i = 0; b->placement && i < b->placement->n_conflicts; i++) {
                b->vp->complete = false;
                note(b, "%s", b->placement->conflicts[i]);
        }
        /* mem-lock=on needs the limit lifted: QEMU locks all guest memory at start. */
        b->vp->memlock_bytes = b->vm->memory.lock ? UINT64_MAX : 0;
}

static enum vx_accel choose_accel(struct builder *b, const struct vx_plan_options *opts)
{
        const struct vx_vm *vm = b->vm;

        if (opts && opts->force_accel) {
                if (opts->accel == VX_ACCEL_KVM && !b->facts->kvm_usable) {
                        b->vp->complete = false;
                        note(
                            b,
                            "KVM was asked for, but /dev/kvm is not usable on this host; start refuses this "
                            "plan");
                }
                return opts->accel;
        }
        if (vm->accel == VX_ACCEL_TCG || b->facts->kvm_usable)
                return vm->accel;
        if (vm->tcg_fallback) {
                note(
                    b,
                    "%s: /dev/kvm is not usable on this host; falling back to TCG (software emulation, much "
                    "slower)",
                    K(b, "accel-fallback"));
                return VX_ACCEL_TCG;
        }
        b->vp->complete = false;
        note(b,
             "%s: /dev/kvm is not usable on this host and accel-fallback is not 'tcg'; start refuses this "
             "plan",
             K(b, "accel"));
        return VX_ACCEL_KVM;
}

/* vCPUs, memory and passthrough NICs on different nodes: a note, and with numa.strict a refusal. */
static void check_locality(struct builder *b)
{
        const struct vx_plan_pinning *pp = &b->vp->pinning;
        _cleanup_free_ char *message = NULL;
        int r;

        r = placement_check_locality(b->vm, b->vp->vm_index, b->facts, pp->vcpus, pp->n_vcpus, memory_node(b),
                                     &message);
        if (r < 0)
                return fail(b, r);
        if (r == 0)
                return;
        if (b->vm->numa.strict) {
                b->vp->complete = false;
                note(b, "%s; numa.strict is set: start refuses this plan", message);
        } else
                note(b, "warning: %s", message);
}

static int build_vm(struct vx_plan *plan, size_t index, const struct vx_host_facts *facts,
                    const struct vx_plan_options *opts, const struct vx_placement *placement)
{
        const struct vx_vm *vm = &plan->profile->vms[index];
        struct vx_vm_plan *vp = &plan->vms[index];
        _cleanup_free_ int *nic_slot = calloc(vm->n_nics ? vm->n_nics : 1, sizeof(int));
        struct builder b = {
                .plan = plan, .vp = vp, .vm = vm, .facts = facts, .placement = placement, .nic_slot = nic_slot};

        if (!nic_slot)
                return -ENOMEM;
        vp->vm = vm;
        vp->vm_index = index;
        vp->complete = true;
        vp->name = strdup(vm->name);
        if (!vp->name)
                return -ENOMEM;
        if (asprintf(&vp->runtime_dir, "%s/%s", plan->deployment_dir, vm->name) < 0) {
                vp->runtime_dir = NULL;
                return -ENOMEM;
        }
        if (asprintf(&vp->qmp_path, "%s/qmp.sock", vp->runtime_dir) < 0) {
                vp->qmp_path = NULL;
                return -ENOMEM;
        }
        /* sun_path holds 107 bytes: the longest socket here is console.sock. */
        if (strlen(vp->runtime_dir) + strlen("/console.sock") >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
                vp->complete = false;
                note(&b,
                     "%s/console.sock is longer than a unix socket path may be (107 bytes): shorten the "
                     "runtime directory, the deployment name or the VM name; start refuses this plan",
                     vp->runtime_dir);
        }

        vp->accel = choose_accel(&b, opts);
        pci_init(&b);
        build_pinning(&b);

        push(&b, K(&b, "qemu"), strdup(vm->qemu ? vm->qemu : DEFAULT_QEMU));
        build_name_machine(&b);
        build_cpu(&b);
        build_memory(&b);
        build_ids(&b);
        build_qmp(&b);
        build_boot(&b);
        build_controllers(&b);
        build_disks(&b);
        build_nics(&b);
        check_locality(&b);
        build_memlock(&b);
        build_serial(&b);
        build_display(&b);
        build_tail(&b);
        return b.r;
}

static int build_bridges(struct vx_plan *plan)
{
        const struct vx_profile *p = plan->profile;
        struct builder b = {.plan = plan};

        for (size_t i = 0; i < p->n_bridges; i++) {
                const struct vx_bridge *br = &p->bridges[i];
                char key[64], mtu[32] = "";

                snprintf(key, sizeof(key), "bridges[%zu]", i);
                if (br->mtu)
                        snprintf(mtu, sizeof(mtu), ", mtu %u", br->mtu);
                action(&b, -1,
                       &(struct vx_host_action){.kind = VX_ACTION_BRIDGE,
                                                .bridge = {.name = dup_or_null(&b, br->name),
                                                           .stp = br->stp,
                                                           .forward_delay = br->forward_delay,
                                                           .mtu = br->mtu}},
                       br->name, key, "create bridge %s (stp %s%s), or use the existing one", br->name,
                       br->stp ? "on" : "off", mtu);
                if (br->uplink) {
                        snprintf(key, sizeof(key), "bridges[%zu].uplink", i);
                        action(&b, -1,
                               &(struct vx_host_action){.kind = VX_ACTION_UPLINK,
                                                        .uplink = {.bridge = dup_or_null(&b, br->name),
                                                                   .uplink = dup_or_null(&b, br->uplink),
                                                                   .move_host_address = br->move_host_address}},
                               br->uplink, key, "enslave %s to bridge %s%s", br->uplink, br->name,
                               br->move_host_address ? ", moving its addresses and routes to the bridge" : "");
                }
        }
        return b.r;
}

/* Whether every piece of guest memory (the whole, each guest NUMA node) is whole 1 GiB pages. */
static bool whole_gib(const struct vx_vm *vm)
{
        if (vm->memory.size % GIB != 0)
                return false;
        for (size_t k = 0; k < vm->numa.n_nodes; k++)
                if (vm->numa.nodes[k].size % GIB != 0)
                        return false;
        return true;
}

/*
 * page-size: auto, decided once per plan so that every reader of the VM
 * model (placement, the builder, status, the pre-flight) sees the same
 * size: 1G where the host has 1 GiB pages and the memory is whole ones
 * (fewer TLB misses and page-table pages, as the seed's vMX used), else 2M.
 * It depends on the host's capability, not on free pages, so a supervisor
 * that adopts the VMs plans the same size while they hold the pages.
 */
static int resolve_page_sizes(struct vx_plan *plan, const struct vx_host_facts *facts)
{
        const struct vx_profile *p = plan->profile;
        bool any = false;

        for (size_t i = 0; i < p->n_vms; i++)
                any = any || (p->vms[i].memory.hugepages && p->vms[i].memory.page_size_auto);
        if (!any)
                return 0;
        plan->resolved_vms = calloc(p->n_vms, sizeof(*plan->resolved_vms));
        if (!plan->resolved_vms)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_vms; i++) {
                struct vx_vm *vm = &plan->resolved_vms[i];

                *vm = p->vms[i]; /* shallow: the copy points into p, which outlives the plan */
                if (vm->memory.hugepages && vm->memory.page_size_auto)
                        vm->memory.page_size = host_has_1g_pages(facts) && whole_gib(vm) ? GIB : 2 * MIB;
        }
        plan->resolved = *p;
        plan->resolved.vms = plan->resolved_vms;
        plan->profile = &plan->resolved;
        return 0;
}

int plan_build(const struct vx_profile *p, const struct vx_host_facts *facts,
               const struct vx_plan_options *opts, struct vx_plan **ret)
{
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        struct vx_placement *placements = NULL;
        const char *runtime;
        int r;

        assert(p);
        assert(facts);
        assert(ret);

        plan = calloc(1, sizeof(*plan));
        if (!plan)
                return -ENOMEM;
        plan->profile = p;
        runtime = opts && opts->runtime_dir ? opts->runtime_dir
                  : p->host.runtime_dir     ? p->host.runtime_dir
                                            : VX_DEFAULT_RUNTIME_DIR;
        if (!opts || !opts->qemu_user || strcmp(opts->qemu_user, "root") != 0) {
                plan->qemu_user = strdup(opts && opts->qemu_user ? opts->qemu_user : VX_QEMU_USER);
                if (!plan->qemu_user)
                        return -ENOMEM;
        }
        plan->deployment = strdup(p->name);
        plan->runtime_root = strdup(runtime);
        if (!plan->deployment || !plan->runtime_root ||
            asprintf(&plan->deployment_dir, "%s/%s", runtime, p->name) < 0) {
                plan->deployment_dir = NULL;
                return -ENOMEM;
        }
        r = build_bridges(plan);
        if (r < 0)
                return r;

        plan->vms = calloc(p->n_vms ? p->n_vms : 1, sizeof(*plan->vms));
        if (!plan->vms)
                return -ENOMEM;
        plan->n_vms = p->n_vms;
        r = resolve_page_sizes(plan, facts);
        if (r < 0)
                return r;
        p = plan->profile;
        r = placement_plan(p, facts, opts ? opts->cpu_claims : NULL, &placements);
        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < p->n_vms; i++)
                r = build_vm(plan, i, facts, opts, &placements[i]);
        for (size_t i = 0; i < p->n_vms; i++)
                placement_done(&placements[i]);
        free(placements);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(plan);
        return 0;
}

static void strv_free(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

struct vx_plan *plan_free(struct vx_plan *plan)
{
        if (!plan)
                return NULL;
        for (size_t i = 0; i < plan->n_vms; i++) {
                struct vx_vm_plan *vp = &plan->vms[i];

                free(vp->name);
                free(vp->runtime_dir);
                free(vp->qmp_path);
                free(vp->pinning.vcpus);
                strv_free(vp->pinning.why, vp->pinning.n_why);
                strv_free(vp->origin, vp->argv.n);
                vx_argv_done(&vp->argv);
                for (size_t j = 0; j < vp->n_fds; j++)
                        free(vp->fds[j].object);
                free(vp->fds);
                strv_free(vp->notes, vp->n_notes);
        }
        free(plan->vms);
        free(plan->resolved_vms);
        for (size_t i = 0; i < plan->n_actions; i++)
                plan_action_done(&plan->actions[i]);
        free(plan->actions);
        free(plan->qemu_user);
        free(plan->deployment);
        free(plan->runtime_root);
        free(plan->deployment_dir);
        free(plan);
        return NULL;
}

int plan_greeting_timeout_ms(const struct vx_vm_plan *vp)
{
        uint64_t gib = (vp->prealloc_bytes + (UINT64_C(1) << 30) - 1) >> 30;

        return 30000 + (int)(gib < 100000 ? gib : 100000) * 5000;
}

const struct vx_vm_plan *plan_find_vm(const struct vx_plan *plan, const char *name)
{
        for (size_t i = 0; i < plan->n_vms; i++)
                if (strcmp(plan->vms[i].vm->name, name) == 0)
                        return &plan->vms[i];
        return NULL;
}

const struct vx_host_action *plan_find_action(const struct vx_plan *plan, enum vx_host_action_kind kind,
                                              const char *object)
{
        for (size_t i = 0; i < plan->n_actions; i++) {
                const struct vx_host_action *a = &plan->actions[i];

                if (a->kind != kind || a->vm >= 0)
                        continue;
                if (kind == VX_ACTION_UPLINK ? strcmp(a->uplink.bridge, object) == 0 : strcmp(a->object, object) == 0)
                        return a;
        }
        return NULL;
}

const char *plan_fd_kind_to_string(enum vx_plan_fd_kind k)
{
        static const char *const names[] = {
            [VX_PLAN_FD_QMP] = "qmp",
            [VX_PLAN_FD_TAP] = "tap",
            [VX_PLAN_FD_VHOST] = "vhost",
        };
        return (size_t)k < ELEMENTSOF(names) ? names[k] : NULL;
}

const char *plan_action_kind_to_string(enum vx_host_action_kind k)
{
        static const char *const names[] = {
                [VX_ACTION_BRIDGE] = "bridge",
                [VX_ACTION_UPLINK] = "uplink",
                [VX_ACTION_TAP] = "tap",
                [VX_ACTION_VF_CONFIG] = "vf-config",
                [VX_ACTION_VFIO_BIND] = "vfio-bind",
                [VX_ACTION_HUGEPAGES] = "hugepages",
                [VX_ACTION_HUGETLBFS_MOUNT] = "hugetlbfs-mount",
                [VX_ACTION_FILE_ACCESS] = "file-access",
                [VX_ACTION_MEM_DIR] = "mem-dir",
        };
        return (size_t)k < ELEMENTSOF(names) ? names[k] : NULL;
}
