/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Automatic CPU placement: placement.h says what it chooses and why. */
#include "placement.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

void cpu_claim_done(struct vx_cpu_claim *c)
{
        free(c->deployment);
        free(c->vm);
        free(c->key);
        free(c->vcpus);
        *c = (struct vx_cpu_claim){.node = -1};
}

void cpu_claims_done(struct vx_cpu_claims *claims)
{
        for (size_t i = 0; i < claims->n; i++)
                cpu_claim_done(&claims->items[i]);
        free(claims->items);
        *claims = (struct vx_cpu_claims){0};
}

static void set_or(struct vx_cpuset *to, const struct vx_cpuset *from)
{
        for (size_t w = 0; w < ELEMENTSOF(to->bits); w++)
                to->bits[w] |= from->bits[w];
}

static int first_common(const struct vx_cpuset *a, const struct vx_cpuset *b)
{
        for (size_t w = 0; w < ELEMENTSOF(a->bits); w++)
                if (a->bits[w] & b->bits[w])
                        return (int)(w * 64) + __builtin_ctzll(a->bits[w] & b->bits[w]);
        return -1;
}

void cpu_claim_vcpu_cpus(const struct vx_cpu_claim *c, struct vx_cpuset *ret)
{
        *ret = (struct vx_cpuset){0};
        for (size_t i = 0; i < c->n_vcpus; i++)
                set_or(ret, &c->vcpus[i]);
}

void cpu_claim_held(const struct vx_cpu_claim *c, struct vx_cpuset *ret)
{
        cpu_claim_vcpu_cpus(c, ret);
        set_or(ret, &c->reserved);
}

void placement_done(struct vx_placement *pl)
{
        free(pl->vcpus);
        for (size_t i = 0; i < pl->n_why; i++)
                free(pl->why[i]);
        free(pl->why);
        for (size_t i = 0; i < pl->n_conflicts; i++)
                free(pl->conflicts[i]);
        free(pl->conflicts);
        *pl = (struct vx_placement){.node = -1};
}

static int add_line(char ***v, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int add_line(char ***v, size_t *n, const char *fmt, ...)
{
        char **grown, *s;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        grown = realloc(*v, (*n + 1) * sizeof(*grown));
        if (!grown) {
                free(s);
                return -ENOMEM;
        }
        grown[(*n)++] = s;
        *v = grown;
        return 0;
}

/* What the CPUs of the host are taken by so far: others' claims, then this profile's VMs as they are placed. */
struct taken {
        struct vx_cpuset vcpu;     /* vCPUs and reserved siblings: no one else may run there */
        struct vx_cpuset emulator; /* emulator sets: other emulators may share them, vCPUs may not */
};

/* Hugepages earlier VMs of the profile take from a node's pool. */
struct pages_used {
        int node;
        uint64_t page_size;
        uint64_t pages;
};

struct ctx {
        const struct vx_profile *p;
        const struct vx_host_facts *facts;
        const struct vx_host_topology *t;
        const struct vx_cpu_claims *claims;
        struct taken taken;
        struct vx_placement *out;
        struct pages_used *used;
        size_t n_used;
};

static uint64_t vm_pages(const struct vx_vm *vm)
{
        uint64_t ps = vm->memory.page_size ? vm->memory.page_size : UINT64_C(2) << 20;

        return (vm->memory.size + ps - 1) / ps;
}

static struct pages_used *find_used(const struct ctx *c, int node, uint64_t page_size)
{
        for (size_t i = 0; i < c->n_used; i++)
                if (c->used[i].node == node && c->used[i].page_size == page_size)
                        return &c->used[i];
        return NULL;
}

/* Whether the node's pool of the VM's page size has its pages free now (after earlier VMs of the profile). */
static bool vm_fits_pool(const struct ctx *c, const struct vx_vm *vm, int node)
{
        const struct vx_topo_pool *pool;
        const struct pages_used *u;

        if (!vm->memory.hugepages)
                return false;
        pool = host_topology_pool(c->t, node, vm->memory.page_size);
        u = find_used(c, node, vm->memory.page_size);
        return pool && pool->free >= vm_pages(vm) + (u ? u->pages : 0);
}

static int use_pages(struct ctx *c, const struct vx_vm *vm, int node)
{
        struct pages_used *u = find_used(c, node, vm->memory.page_size);

        if (!vm->memory.hugepages)
                return 0;
        if (!u) {
                u = realloc(c->used, (c->n_used + 1) * sizeof(*u));
                if (!u)
                        return -ENOMEM;
                c->used = u;
                u = &c->used[c->n_used++];
                *u = (struct pages_used){.node = node, .page_size = vm->memory.page_size};
        }
        u->pages += vm_pages(vm);
        return 0;
}

static const char *vf_address(const struct vx_host_facts *facts, const char *pf, int vf)
{
        for (size_t i = 0; i < facts->n_vfs; i++)
                if (facts->vfs[i].vf == vf && facts->vfs[i].pf && pf && strcmp(facts->vfs[i].pf, pf) == 0)
                        return facts->vfs[i].pci_address;
        return NULL;
}

/* The PCI address of a passthrough NIC on this host, or NULL (a tap, a VF not here). */
static const char *nic_address(const struct vx_host_facts *facts, const struct vx_nic *nic)
{
        if (nic->type == VX_NIC_VF)
                return vf_address(facts, nic->pf, nic->vf);
        if (nic->type == VX_NIC_HOSTDEV)
                return nic->host;
        return NULL;
}

/* The node of the first passthrough NIC whose node is known: >= 0 with its index and address, or -1. */
static int nics_node(const struct ctx *c, const struct vx_vm *vm, size_t *ret_nic, const char **ret_bdf)
{
        for (size_t j = 0; j < vm->n_nics; j++) {
                const char *bdf = nic_address(c->facts, &vm->nics[j]);
                int node = bdf ? host_topology_pci_node(c->t, bdf) : -ENOENT;

                if (node >= 0) {
                        *ret_nic = j;
                        *ret_bdf = bdf;
                        return node;
                }
        }
        return -1;
}

static bool cpu_free_for_vcpu(const struct ctx *c, unsigned cpu)
{
        return vx_cpuset_isset(&c->t->online, cpu) && !vx_cpuset_isset(&c->taken.vcpu, cpu) &&
               !vx_cpuset_isset(&c->taken.emulator, cpu);
}

static unsigned node_free_cpus(const struct ctx *c, int node)
{
        struct vx_cpuset on;
        unsigned n = 0;

        host_topology_node_online(c->t, node, &on);
        for (int cpu = 0; cpu <= vx_cpuset_last(&on); cpu++)
                n += vx_cpuset_isset(&on, (unsigned)cpu) && cpu_free_for_vcpu(c, (unsigned)cpu);
        return n;
}

/*
 * The node to place on, and a line saying why; *ret_forced when the profile
 * or the VM's devices decide it. Nodes in tried are left out: -ENOENT when
 * none is left.
 */
static int choose_node(struct ctx *c, size_t i, struct vx_placement *pl, const struct vx_cpuset *tried,
                       bool *ret_forced)
{
        const struct vx_vm *vm = &c->p->vms[i];
        const char *bdf = NULL;
        size_t nic = 0;
        int node, best = -1;
        unsigned best_free = 0;
        bool best_fits = false;

        *ret_forced = true;
        if (vm->pinning.node >= 0)
                return pl->node = vm->pinning.node,
                       add_line(&pl->why, &pl->n_why, "node %d: pinning.node", vm->pinning.node);
        if (vm->memory.hugepages && vm->memory.node >= 0)
                return pl->node = vm->memory.node,
                       add_line(&pl->why, &pl->n_why, "node %d: where its memory is (memory.hugepages.node)",
                                vm->memory.node);
        node = nics_node(c, vm, &nic, &bdf);
        if (node >= 0)
                return pl->node = node, add_line(&pl->why, &pl->n_why, "node %d: the node of its %s nics[%zu] (%s)",
                                                 node, vm->nics[nic].type == VX_NIC_VF ? "VF" : "PCI device", nic, bdf);
        /* A hugepage pool that holds the VM without growing, then the most free CPUs, then free memory. */
        *ret_forced = false;
        for (size_t k = 0; k < c->t->n_nodes; k++) {
                const struct vx_topo_node *n = &c->t->nodes[k];
                unsigned free_cpus = node_free_cpus(c, n->id);
                bool fits = vm_fits_pool(c, vm, n->id);
                const struct vx_topo_node *b = best >= 0 ? host_topology_node(c->t, best) : NULL;

                if (n->id >= 0 && vx_cpuset_isset(tried, (unsigned)n->id))
                        continue;
                if (!b || fits > best_fits || (fits == best_fits && free_cpus > best_free) ||
                    (fits == best_fits && free_cpus == best_free && n->mem_free > b->mem_free)) {
                        best = n->id;
                        best_free = free_cpus;
                        best_fits = fits;
                }
        }
        if (best < 0)
                return -ENOENT;
        pl->node = best;
        if (vm->memory.hugepages && best_fits)
                return add_line(&pl->why, &pl->n_why,
                                "node %d: its hugepage pool holds the VM's memory, and it has the most free CPUs "
                                "(%u) of such nodes",
                                best, best_free);
        return add_line(&pl->why, &pl->n_why, "node %d: the node with the most free CPUs (%u)", best, best_free);
}

/* Emulator CPUs: housekeeping (not isolated) first, CPUs other emulators use, then CPU 0, then the lowest. */
static int choose_emulator(struct ctx *c, const struct vx_vm *vm, struct vx_placement *pl)
{
        struct vx_cpuset on;
        unsigned want = vm->pinning.emulator_cpus ? vm->pinning.emulator_cpus : 1, got = 0;

        host_topology_node_online(c->t, pl->node, &on);
        for (int pass = 0; pass < 4 && got < want; pass++)
                for (int cpu = 0; cpu <= vx_cpuset_last(&on) && got < want; cpu++) {
                        const struct vx_topo_cpu *tc = host_topology_cpu(c->t, (unsigned)cpu);
                        bool shared = vx_cpuset_isset(&c->taken.emulator, (unsigned)cpu);
                        /* pass 0: shared housekeeping; 1: CPU 0; 2: any housekeeping; 3: isolated, last resort */
                        bool fits = pass == 0   ? shared && !tc->isolated
                                    : pass == 1 ? cpu == 0 && !tc->isolated
                                    : pass == 2 ? !tc->isolated
                                                : true;

                        if (!vx_cpuset_isset(&on, (unsigned)cpu) || vx_cpuset_isset(&c->taken.vcpu, (unsigned)cpu) ||
                            vx_cpuset_isset(&pl->emulator, (unsigned)cpu) || !fits)
                                continue;
                        vx_cpuset_set(&pl->emulator, (unsigned)cpu);
                        got++;
                        if (add_line(&pl->why, &pl->n_why, "emulator: CPU %d (%s)", cpu,
                                     tc->isolated ? "isolated: the node has no free housekeeping CPU"
                                     : shared     ? "housekeeping, shared with other VMs' emulator threads"
                                                  : "housekeeping: not isolated") < 0)
                                return -ENOMEM;
                }
        return got > 0 ? 0 : -ENOSPC;
}

/* A core of the node: its online threads, and how many of them a vCPU may take. */
struct core {
        struct vx_cpuset threads;
        unsigned n_threads, n_free;
        bool isolated;
        bool own_emulator; /* the threads that are not free run only this VM's emulator set */
};

static size_t list_cores(const struct ctx *c, int node, const struct vx_cpuset *emulator, struct core *cores,
                         size_t max)
{
        struct vx_cpuset on, seen = {0};
        size_t n = 0;

        host_topology_node_online(c->t, node, &on);
        for (int cpu = 0; cpu <= vx_cpuset_last(&on) && n < max; cpu++) {
                const struct vx_topo_cpu *tc = host_topology_cpu(c->t, (unsigned)cpu);
                struct core *k = &cores[n];

                if (!vx_cpuset_isset(&on, (unsigned)cpu) || vx_cpuset_isset(&seen, (unsigned)cpu) || !tc)
                        continue;
                *k = (struct core){.isolated = true, .own_emulator = true};
                for (int s = 0; s <= vx_cpuset_last(&tc->siblings); s++) {
                        const struct vx_topo_cpu *sc = host_topology_cpu(c->t, (unsigned)s);

                        if (!vx_cpuset_isset(&tc->siblings, (unsigned)s) || !vx_cpuset_isset(&on, (unsigned)s) || !sc)
                                continue;
                        vx_cpuset_set(&seen, (unsigned)s);
                        vx_cpuset_set(&k->threads, (unsigned)s);
                        k->n_threads++;
                        k->isolated = k->isolated && sc->isolated;
                        if (cpu_free_for_vcpu(c, (unsigned)s) && !vx_cpuset_isset(emulator, (unsigned)s))
                                k->n_free++;
                        else if (!vx_cpuset_isset(emulator, (unsigned)s) ||
                                 vx_cpuset_isset(&c->taken.emulator, (unsigned)s))
                                k->own_emulator = false;
                }
                n++;
        }
        return n;
}

/*
 * Whole free cores first, isolated ones before the others; then the core of
 * the VM's own emulator threads (its free siblings share it with no other
 * VM); partly free cores last (smt: share only).
 */
static int core_rank(const struct core *k)
{
        if (k->n_free == k->n_threads)
                return k->isolated ? 0 : 1;
        if (k->n_free > 0 && k->own_emulator)
                return 2;
        return k->n_free > 0 ? 3 : 4;
}

static int compare_cores(const void *a, const void *b)
{
        const struct core *x = a, *y = b;
        int rx = core_rank(x), ry = core_rank(y);

        if (rx != ry)
                return rx - ry;
        return vx_cpuset_last(&x->threads) - vx_cpuset_last(&y->threads) < 0 ? -1 : 1;
}

static const char *cpu_traits(const struct ctx *c, unsigned cpu, char *buf, size_t len)
{
        const struct vx_topo_cpu *tc = host_topology_cpu(c->t, cpu);

        snprintf(buf, len, "%s%s", tc && tc->isolated ? "isolated" : "not isolated",
                 tc && tc->nohz_full ? ", nohz_full" : "");
        return buf;
}

/* The guest threads per core: topology.threads, or with topology: auto 2 for smt: share on an SMT host. */
static unsigned guest_threads(const struct vx_vm *vm, const struct core *cores, size_t n_cores)
{
        if (!vm->topology.automatic)
                return vm->topology.threads ? vm->topology.threads : 1;
        if (vm->pinning.smt == VX_SMT_SHARE && vm->vcpus % 2 == 0 && n_cores > 0 && cores[0].n_threads >= 2)
                return 2;
        return 1;
}

/* Takes the CPUs of one core for vCPUs first..first+n-1, the rest of it reserved when keep_idle. */
static int take_core(struct ctx *c, struct vx_placement *pl, const struct core *k, unsigned first, unsigned n,
                     bool keep_idle)
{
        _cleanup_free_ char *core_list = vx_cpuset_format(&k->threads);
        unsigned used = 0;

        if (!core_list)
                return -ENOMEM;
        for (int cpu = 0; cpu <= vx_cpuset_last(&k->threads); cpu++) {
                char traits[64];

                if (!vx_cpuset_isset(&k->threads, (unsigned)cpu) || !cpu_free_for_vcpu(c, (unsigned)cpu) ||
                    vx_cpuset_isset(&pl->emulator, (unsigned)cpu))
                        continue;
                if (used == n) {
                        if (keep_idle)
                                vx_cpuset_set(&pl->reserved, (unsigned)cpu);
                        continue;
                }
                vx_cpuset_set(&pl->vcpus[first + used], (unsigned)cpu);
                if (add_line(&pl->why, &pl->n_why, "vCPU %u: CPU %d (%s; core %s%s)", first + used, cpu,
                             cpu_traits(c, (unsigned)cpu, traits, sizeof(traits)), core_list,
                             k->n_free < k->n_threads && k->own_emulator
                                     ? ", beside its own emulator threads: no other whole core is free"
                             : n > 1     ? ", one guest core's threads"
                             : keep_idle ? ", its siblings left idle (smt: isolate)"
                                         : "") < 0)
                        return -ENOMEM;
                used++;
        }
        return 0;
}

static int fail_no_room(struct vx_placement *pl, const struct vx_vm *vm, const struct core *cores, size_t n_cores,
                        unsigned per_core, bool whole)
{
        unsigned whole_free = 0, threads_free = 0;

        for (size_t k = 0; k < n_cores; k++) {
                whole_free += cores[k].n_free == cores[k].n_threads;
                threads_free += cores[k].n_free;
        }
        pl->failed = true;
        if (whole)
                return add_line(&pl->why, &pl->n_why,
                                "no room on node %d: %u vCPUs need %u whole free cores (%u per core), the node has %u "
                                "(%u free CPUs; the others are held by other VMs or their emulator threads)",
                                pl->node, vm->vcpus, (vm->vcpus + per_core - 1) / per_core, per_core, whole_free,
                                threads_free);
        return add_line(&pl->why, &pl->n_why, "no room on node %d: %u vCPUs, %u free CPUs", pl->node, vm->vcpus,
                        threads_free);
}

static int choose_vcpus(struct ctx *c, const struct vx_vm *vm, struct vx_placement *pl)
{
        _cleanup_free_ struct core *cores = calloc(c->t->n_cpus ? c->t->n_cpus : 1, sizeof(*cores));
        size_t n_cores, needed;
        unsigned threads, placed = 0;
        bool share = vm->pinning.smt == VX_SMT_SHARE;

        if (!cores)
                return -ENOMEM;
        n_cores = list_cores(c, pl->node, &pl->emulator, cores, c->t->n_cpus);
        qsort(cores, n_cores, sizeof(*cores), compare_cores);
        threads = guest_threads(vm, cores, n_cores);
        pl->threads = threads;
        if (threads > 1 || !share) {
                /* Whole cores: a guest core's threads on one host core, or one vCPU per core. */
                needed = (vm->vcpus + threads - 1) / threads;
                for (size_t k = 0; k < n_cores && k < needed; k++) {
                        bool whole = cores[k].n_free == cores[k].n_threads && cores[k].n_threads >= threads;
                        bool beside_emulator = threads == 1 && core_rank(&cores[k]) == 2;

                        if (!whole && !beside_emulator)
                                return fail_no_room(pl, vm, cores, n_cores, threads, true);
                }
                if (n_cores < needed)
                        return fail_no_room(pl, vm, cores, n_cores, threads, true);
                for (size_t k = 0; k < needed; k++) {
                        unsigned n = vm->vcpus - placed < threads ? vm->vcpus - placed : threads;
                        int r = take_core(c, pl, &cores[k], placed, n, true);

                        if (r < 0)
                                return r;
                        placed += n;
                }
                return 0;
        }
        /* smt: share with one thread per guest core: every free thread, whole cores first. */
        for (size_t k = 0; k < n_cores && placed < vm->vcpus; k++) {
                unsigned n = cores[k].n_free < vm->vcpus - placed ? cores[k].n_free : vm->vcpus - placed;
                int r;

                if (n == 0)
                        continue;
                r = take_core(c, pl, &cores[k], placed, n, false);
                if (r < 0)
                        return r;
                placed += n;
        }
        return placed == vm->vcpus ? 0 : fail_no_room(pl, vm, cores, n_cores, 1, false);
}

/* topology: auto: one socket per host package the vCPUs are on (when they divide evenly), threads as placed. */
static void derive_topology(const struct ctx *c, const struct vx_vm *vm, struct vx_placement *pl)
{
        struct vx_cpuset packages = {0};
        unsigned sockets, threads = pl->threads ? pl->threads : 1;

        for (size_t i = 0; i < pl->n_vcpus; i++) {
                int cpu = vx_cpuset_last(&pl->vcpus[i]);
                const struct vx_topo_cpu *tc = cpu >= 0 ? host_topology_cpu(c->t, (unsigned)cpu) : NULL;

                if (tc && tc->package_id >= 0)
                        vx_cpuset_set(&packages, (unsigned)tc->package_id);
        }
        sockets = vx_cpuset_count(&packages) ? vx_cpuset_count(&packages) : 1;
        if (vm->vcpus % threads != 0)
                threads = 1;
        if (vm->vcpus % (sockets * threads) != 0)
                sockets = 1;
        pl->sockets = sockets;
        pl->threads = threads;
        pl->cores = vm->vcpus / (sockets * threads);
}

static bool claim_is_ours(const struct ctx *c, const struct vx_cpu_claim *cl)
{
        return cl->deployment && c->p->name && strcmp(cl->deployment, c->p->name) == 0;
}

/* A VM of this deployment that the ledger has placed already keeps its CPUs. */
static const struct vx_cpu_claim *own_claim(const struct ctx *c, const struct vx_vm *vm)
{
        for (size_t k = 0; c->claims && k < c->claims->n; k++) {
                const struct vx_cpu_claim *cl = &c->claims->items[k];

                if (claim_is_ours(c, cl) && cl->vm && strcmp(cl->vm, vm->name) == 0 && cl->node >= 0 &&
                    cl->n_vcpus == vm->vcpus)
                        return cl;
        }
        return NULL;
}

static int reuse_claim(struct ctx *c, const struct vx_cpu_claim *cl, struct vx_placement *pl)
{
        pl->node = cl->node;
        memcpy(pl->vcpus, cl->vcpus, cl->n_vcpus * sizeof(*pl->vcpus));
        pl->reserved = cl->reserved;
        pl->emulator = cl->emulator;
        pl->threads = 1;
        if (cl->n_vcpus >= 2 && !vx_cpuset_equal(&cl->vcpus[0], &cl->vcpus[1])) {
                const struct vx_topo_cpu *tc = host_topology_cpu(c->t, (unsigned)vx_cpuset_last(&cl->vcpus[0]));

                if (tc && vx_cpuset_isset(&tc->siblings, (unsigned)vx_cpuset_last(&cl->vcpus[1])))
                        pl->threads = 2;
        }
        for (size_t i = 0; i < cl->n_vcpus; i++) {
                _cleanup_free_ char *s = vx_cpuset_format(&cl->vcpus[i]);

                if (!s || add_line(&pl->why, &pl->n_why, "vCPU %zu: CPU %s (kept: the CPU ledger holds it)", i, s) < 0)
                        return -ENOMEM;
        }
        return add_line(&pl->why, &pl->n_why, "node %d: as placed when it started (the CPU ledger)", cl->node);
}

/* One try on the node choose_node gives: -ENOSPC (with the reason in why) when it has no room. */
static int try_node(struct ctx *c, size_t i, struct vx_placement *pl, const struct vx_cpuset *tried, bool *ret_forced)
{
        const struct vx_vm *vm = &c->p->vms[i];
        int r;

        r = choose_node(c, i, pl, tried, ret_forced);
        if (r < 0)
                return r;
        if (!host_topology_node(c->t, pl->node)) {
                pl->failed = true;
                r = add_line(&pl->why, &pl->n_why, "there is no NUMA node %d on this host", pl->node);
                return r < 0 ? r : -ENOSPC;
        }
        r = choose_emulator(c, vm, pl);
        if (r == -ENOSPC) {
                pl->failed = true;
                r = add_line(&pl->why, &pl->n_why, "no room on node %d: no CPU left for the emulator threads",
                             pl->node);
                return r < 0 ? r : -ENOSPC;
        }
        if (r >= 0)
                r = choose_vcpus(c, vm, pl);
        return r < 0 ? r : pl->failed ? -ENOSPC : 0;
}

static int new_attempt(const struct vx_vm *vm, struct vx_placement *pl)
{
        *pl = (struct vx_placement){.automatic = true, .node = -1, .n_vcpus = vm->vcpus};
        pl->vcpus = calloc(vm->vcpus ? vm->vcpus : 1, sizeof(*pl->vcpus));
        return pl->vcpus ? 0 : -ENOMEM;
}

/*
 * Places VM i: on the node it belongs to (pinning.node, its memory's, its
 * NICs'), or on the best node with room, trying the others in turn. A VM
 * that fits nowhere keeps the reason its first node gave.
 */
static int place_auto(struct ctx *c, size_t i)
{
        const struct vx_vm *vm = &c->p->vms[i];
        struct vx_placement *pl = &c->out[i];
        const struct vx_cpu_claim *mine = own_claim(c, vm);
        struct vx_cpuset tried = {0};
        bool forced = false;
        int r;

        r = new_attempt(vm, pl);
        if (r < 0)
                return r;
        if (!c->t) {
                pl->failed = true;
                return add_line(&pl->why, &pl->n_why, "the host's CPU topology could not be read");
        }
        if (mine)
                r = reuse_claim(c, mine, pl);
        else {
                int last;

                r = try_node(c, i, pl, &tried, &forced);
                last = pl->node;
                while (r == -ENOSPC && !forced && last >= 0) {
                        struct vx_placement next;

                        vx_cpuset_set(&tried, (unsigned)last);
                        r = new_attempt(vm, &next);
                        if (r < 0)
                                return r;
                        r = try_node(c, i, &next, &tried, &forced);
                        last = r == -ENOENT ? -1 : next.node;
                        if (r == 0) {
                                /* Say why not the first choice: its reason is the last line it has. */
                                r = add_line(&next.why, &next.n_why, "not node %d: %s", pl->node,
                                             pl->n_why ? pl->why[pl->n_why - 1] : "no room");
                                placement_done(pl);
                                *pl = next;
                                if (r < 0)
                                        return r;
                        } else
                                placement_done(&next);
                }
                if (r == -ENOENT && !pl->failed) {
                        pl->failed = true;
                        return add_line(&pl->why, &pl->n_why, "the host has no NUMA node with online CPUs");
                }
                if (r == -ENOENT || r == -ENOSPC)
                        return 0; /* pl->failed, and why says why */
        }
        if (r < 0)
                return r;
        if (vm->topology.automatic)
                derive_topology(c, vm, pl);
        for (size_t k = 0; k < pl->n_vcpus; k++)
                set_or(&c->taken.vcpu, &pl->vcpus[k]);
        set_or(&c->taken.vcpu, &pl->reserved);
        set_or(&c->taken.emulator, &pl->emulator);
        return use_pages(c, vm, pl->node);
}

/* Explicit pins against running deployments: a vCPU on a CPU another deployment holds is a conflict. */
static int check_explicit(struct ctx *c, size_t i)
{
        const struct vx_vm *vm = &c->p->vms[i];
        struct vx_placement *pl = &c->out[i];

        for (size_t k = 0; c->claims && k < c->claims->n; k++) {
                const struct vx_cpu_claim *cl = &c->claims->items[k];
                struct vx_cpuset held;

                if (claim_is_ours(c, cl) || (cl->shared && vm->pinning.shared))
                        continue;
                cpu_claim_held(cl, &held);
                for (size_t j = 0; j < vm->pinning.n_vcpus; j++) {
                        int cpu = first_common(&vm->pinning.vcpus[j], &held);

                        if (cpu < 0)
                                continue;
                        if (add_line(&pl->conflicts, &pl->n_conflicts,
                                     "vms[%zu].pinning.vcpus[%zu]: host CPU %d of vCPU %zu of %s is held by VM %s of "
                                     "the "
                                     "running deployment %s (its %s); start refuses (set pinning.shared: true on "
                                     "both if sharing is intended)",
                                     i, j, cpu, j, vm->name, cl->vm, cl->deployment, cl->key ? cl->key : "pinning") < 0)
                                return -ENOMEM;
                        break;
                }
        }
        for (size_t j = 0; j < vm->pinning.n_vcpus; j++)
                set_or(&c->taken.vcpu, &vm->pinning.vcpus[j]);
        if (vm->pinning.has_emulator)
                set_or(&c->taken.emulator, &vm->pinning.emulator);
        if (vm->topology.automatic && vm->pinning.n_vcpus > 0 && c->t) {
                pl->vcpus = calloc(vm->pinning.n_vcpus, sizeof(*pl->vcpus));
                if (!pl->vcpus)
                        return -ENOMEM;
                memcpy(pl->vcpus, vm->pinning.vcpus, vm->pinning.n_vcpus * sizeof(*pl->vcpus));
                pl->n_vcpus = vm->pinning.n_vcpus;
                pl->threads = 1;
                derive_topology(c, vm, pl);
        }
        return 0;
}

/*
 * Data-plane VMs first: those with passthrough NICs or hugepages, then by
 * vCPUs, then in profile order. They get the isolated cores and the node of
 * their memory; a control-plane VM fits around them.
 */
static int vm_priority(const struct vx_vm *vm)
{
        for (size_t j = 0; j < vm->n_nics; j++)
                if (vm->nics[j].type != VX_NIC_TAP)
                        return 2;
        return vm->memory.hugepages ? 1 : 0;
}

static bool goes_first(const struct vx_profile *p, size_t a, size_t b)
{
        const struct vx_vm *x = &p->vms[a], *y = &p->vms[b];
        int px = vm_priority(x), py = vm_priority(y);

        if (px != py)
                return px > py;
        if (x->vcpus != y->vcpus)
                return x->vcpus > y->vcpus;
        return a < b;
}

int placement_plan(const struct vx_profile *p, const struct vx_host_facts *facts, const struct vx_cpu_claims *claims,
                   struct vx_placement **ret_placements)
{
        struct ctx c = {.p = p, .facts = facts, .t = facts ? facts->topology : NULL, .claims = claims};
        _cleanup_free_ size_t *order = NULL;
        int r = 0;

        c.out = calloc(p->n_vms ? p->n_vms : 1, sizeof(*c.out));
        if (!c.out)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_vms; i++)
                c.out[i].node = -1;
        /* Others first: what running deployments hold, except what this one may keep. */
        for (size_t k = 0; claims && k < claims->n; k++) {
                const struct vx_cpu_claim *cl = &claims->items[k];
                struct vx_cpuset held;

                if (claim_is_ours(&c, cl))
                        continue;
                cpu_claim_held(cl, &held);
                set_or(&c.taken.vcpu, &held);
                if (cl->has_emulator)
                        set_or(&c.taken.emulator, &cl->emulator);
        }
        /* Then the profile's own explicit pins, so that automatic VMs go around them. */
        for (size_t i = 0; r >= 0 && i < p->n_vms; i++)
                if (!p->vms[i].pinning.automatic)
                        r = check_explicit(&c, i);
        order = calloc(p->n_vms ? p->n_vms : 1, sizeof(*order));
        if (!order)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < p->n_vms; i++) {
                size_t at = i;

                /* Insertion sort: a profile has a handful of VMs. */
                for (; at > 0 && goes_first(p, i, order[at - 1]); at--)
                        order[at] = order[at - 1];
                order[at] = i;
        }
        for (size_t k = 0; r >= 0 && k < p->n_vms; k++)
                if (p->vms[order[k]].pinning.automatic)
                        r = place_auto(&c, order[k]);
        free(c.used);
        if (r < 0) {
                for (size_t i = 0; i < p->n_vms; i++)
                        placement_done(&c.out[i]);
                free(c.out);
                return r;
        }
        *ret_placements = c.out;
        return 0;
}

int placement_check_locality(const struct vx_vm *vm, size_t vm_index, const struct vx_host_facts *facts,
                             const struct vx_cpuset *vcpus, size_t n_vcpus, int memory_node, char **ret_message)
{
        const struct vx_host_topology *t = facts ? facts->topology : NULL;
        _cleanup_free_ char *parts = NULL;
        struct vx_cpuset nodes = {0};
        size_t len = 0;
        FILE *f;

        if (!t || t->n_nodes < 2)
                return 0;
        f = open_memstream(&parts, &len);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n_vcpus; i++)
                for (int cpu = 0; cpu <= vx_cpuset_last(&vcpus[i]); cpu++) {
                        int node = vx_cpuset_isset(&vcpus[i], (unsigned)cpu) ? host_topology_cpu_node(t, (unsigned)cpu)
                                                                             : -1;

                        if (node >= 0 && !vx_cpuset_isset(&nodes, (unsigned)node)) {
                                vx_cpuset_set(&nodes, (unsigned)node);
                                fprintf(f, "%svCPU %zu on node %d", ftell(f) ? ", " : "", i, node);
                        }
                }
        if (memory_node >= 0) {
                fprintf(f, "%smemory on node %d", ftell(f) ? ", " : "", memory_node);
                vx_cpuset_set(&nodes, (unsigned)memory_node);
        }
        for (size_t j = 0; j < vm->n_nics; j++) {
                const char *bdf = nic_address(facts, &vm->nics[j]);
                int node = bdf ? host_topology_pci_node(t, bdf) : -1;

                if (node < 0)
                        continue;
                fprintf(f, "%snics[%zu] (%s) on node %d", ftell(f) ? ", " : "", j, bdf, node);
                vx_cpuset_set(&nodes, (unsigned)node);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        if (vx_cpuset_count(&nodes) < 2)
                return 0;
        if (asprintf(ret_message, "vms[%zu]: %s: its vCPUs, memory and passthrough NICs are not on one NUMA node (%s)",
                     vm_index, vm->name, parts ? parts : "") < 0)
                return -ENOMEM;
        return 1;
}
