/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pinning: auto (launcher/placement.c) and the CPU ledger (launcher/cpu-ledger.c)
 * on the 2-node SMT fixture host (tests/fixtures/host-2node-smt: CPU n and n+8
 * are siblings; node 0 = 0-3,8-11, node 1 = 4-7,12-15; isolated 2-3,6-7,10-11,14-15).
 */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "cpu-ledger.h"
#include "launcher.h"
#include "numa-checks.h"
#include "prealloc-progress.h"
#include "preflight.h"
#include "plan.h"
#include "profile.h"

#define FIXTURE VX_SOURCE_ROOT "/tests/fixtures/host-2node-smt"

static struct vx_host_facts *facts;

static int setup(void **state)
{
        (void)state;
        return host_facts_gather(FIXTURE, &facts);
}

static int teardown(void **state)
{
        (void)state;
        host_facts_free(facts);
        return 0;
}

static struct vx_profile *load(const char *text)
{
        struct vx_diags diags = {};
        struct vx_profile *p = NULL;
        int r = profile_load_string("test.yaml", text, strlen(text), &diags, &p);

        if (r < 0)
                diag_print(&diags, stderr);
        diag_done(&diags);
        assert_int_equal(r, 0);
        return p;
}

/* A shipped profile with every `pinning:` block replaced by `pinning: auto` (or by what is given). */
static struct vx_profile *load_auto(const char *file, const char *pinning)
{
        _cleanup_free_ char *path = NULL, *text = NULL, *out = NULL;
        size_t len = 0;
        FILE *o;
        int skip_indent = -1;

        assert_true(asprintf(&path, "%s/%s", VX_SOURCE_ROOT, file) > 0);
        text = launcher_read_text(path);
        assert_non_null(text);
        o = open_memstream(&out, &len);
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                int indent = (int)strspn(line, " ");

                if (skip_indent >= 0 && indent > skip_indent)
                        continue;
                skip_indent = -1;
                if (strncmp(line + indent, "pinning:", 8) == 0) {
                        fprintf(o, "%*spinning: %s\n", indent, "", pinning);
                        skip_indent = indent;
                        continue;
                }
                fprintf(o, "%s\n", line);
        }
        fclose(o);
        return load(out);
}

static char *cpus(const struct vx_cpuset *set)
{
        char *s = vx_cpuset_format(set);

        assert_non_null(s);
        return s;
}

/* The vCPU CPUs of one VM as "6,7,5" (vCPU order). */
static char *vcpu_list(const struct vx_vm_plan *vp)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        for (size_t i = 0; i < vp->pinning.n_vcpus; i++) {
                _cleanup_free_ char *s = cpus(&vp->pinning.vcpus[i]);

                fprintf(f, "%s%s", i ? "," : "", s);
        }
        fclose(f);
        return out;
}

static void assert_vm(const struct vx_plan *plan, const char *name, int node, const char *vcpus, const char *emulator,
                      const char *reserved)
{
        const struct vx_vm_plan *vp = plan_find_vm(plan, name);
        _cleanup_free_ char *v = NULL, *e = NULL, *r = NULL;

        assert_non_null(vp);
        if (!vp->complete)
                fprintf(stderr, "%s: %s\n", name, vp->n_notes ? vp->notes[0] : "incomplete");
        assert_true(vp->complete);
        assert_true(vp->pinning.automatic);
        if (vp->pinning.node != node)
                for (size_t i = 0; i < vp->pinning.n_why; i++)
                        fprintf(stderr, "%s: %s\n", name, vp->pinning.why[i]);
        assert_int_equal(vp->pinning.node, node);
        v = vcpu_list(vp);
        e = cpus(&vp->pinning.emulator);
        r = cpus(&vp->pinning.reserved);
        assert_string_equal(v, vcpus);
        assert_string_equal(e, emulator);
        assert_string_equal(r, reserved);
}

static bool has_note(const struct vx_vm_plan *vp, const char *needle)
{
        for (size_t i = 0; i < vp->n_notes; i++)
                if (strstr(vp->notes[i], needle))
                        return true;
        return false;
}

static bool has_why(const struct vx_vm_plan *vp, const char *needle)
{
        for (size_t i = 0; i < vp->pinning.n_why; i++)
                if (strstr(vp->pinning.why[i], needle))
                        return true;
        return false;
}

static bool argv_has(const struct vx_vm_plan *vp, const char *needle)
{
        for (size_t i = 0; i < vp->argv.n; i++)
                if (strstr(vp->argv.items[i], needle))
                        return true;
        return false;
}

/* No two VMs of the plans share a CPU their vCPUs run on or keep idle; no vCPU on an emulator CPU. */
static void assert_disjoint(struct vx_plan *const *plans, size_t n_plans)
{
        struct vx_cpuset held = {0}, emulators = {0};

        for (size_t k = 0; k < n_plans; k++)
                for (size_t i = 0; i < plans[k]->n_vms; i++) {
                        const struct vx_plan_pinning *pp = &plans[k]->vms[i].pinning;
                        struct vx_cpuset mine = pp->reserved;

                        for (size_t j = 0; j < pp->n_vcpus; j++)
                                for (unsigned cpu = 0; cpu < 64; cpu++)
                                        if (vx_cpuset_isset(&pp->vcpus[j], cpu)) {
                                                assert_false(vx_cpuset_isset(&mine, cpu));
                                                vx_cpuset_set(&mine, cpu);
                                        }
                        for (unsigned cpu = 0; cpu < 64; cpu++) {
                                if (vx_cpuset_isset(&mine, cpu)) {
                                        assert_false(vx_cpuset_isset(&held, cpu));
                                        assert_false(vx_cpuset_isset(&emulators, cpu));
                                        vx_cpuset_set(&held, cpu);
                                }
                                if (vx_cpuset_isset(&pp->emulator, cpu)) {
                                        assert_false(vx_cpuset_isset(&held, cpu));
                                        vx_cpuset_set(&emulators, cpu);
                                }
                        }
                }
}

/*
 * vmx-virtio.yaml, pinning: auto. The VFP (hugepages: the data plane) goes
 * first: node 1, whose 2M pool holds its 4 GiB; emulator on housekeeping
 * CPU 4; its 3 vCPUs on the two isolated cores 6 and 7, then core 5, each
 * with its sibling left idle. The VCP then takes node 0 (the most free
 * CPUs): emulator on CPU 0, its vCPU on isolated core 2.
 */
static void test_vmx_pair(void **state)
{
        _cleanup_(profile_freep) struct vx_profile *p = load_auto("profiles/vmx-virtio.yaml", "auto");
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        const struct vx_vm_plan *vfp;

        (void)state;
        assert_int_equal(plan_build(p, facts, NULL, &plan), 0);
        assert_vm(plan, "vfp-vmx1", 1, "6,7,5", "4", "13-15");
        assert_vm(plan, "vcp-vmx1", 0, "2", "0", "10");
        assert_disjoint(&plan, 1);
        vfp = plan_find_vm(plan, "vfp-vmx1");
        /* Its memory on its node: the backend and the pool of that node. */
        assert_true(argv_has(vfp, "host-nodes=1,policy=bind"));
        for (size_t i = 0; i < plan->n_actions; i++)
                if (plan->actions[i].kind == VX_ACTION_HUGEPAGES)
                        assert_int_equal(plan->actions[i].huge.node, 1);
        assert_true(argv_has(plan_find_vm(plan, "vcp-vmx1"), "memory-backend-ram,id=mem0,size=2048M,host-nodes=0"));
        /* And why, for cmdline --plan and status. */
        assert_true(vfp->pinning.n_why >= 5);
        assert_non_null(strstr(vfp->pinning.why[0], "node 1: its hugepage pool"));
        assert_non_null(strstr(vfp->pinning.why[2], "vCPU 0: CPU 6 (isolated, nohz_full; core 6,14, its siblings"));
}

/*
 * Two vMX pairs (vmx-two-instances.yaml): 8 cores cannot give 8 vCPUs a core
 * each and keep housekeeping ones, so the VCPs share (smt: share) and the
 * VFPs keep their cores to themselves.
 */
static void test_two_vmx_pairs(void **state)
{
        _cleanup_(profile_freep) struct vx_profile *p = NULL;
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        _cleanup_free_ char *text = NULL;

        (void)state;
        p = load_auto("profiles/vmx-two-instances.yaml", "auto");
        /*
         * With every VM isolate, the VFPs go first and take three cores of each node; a node's
         * fourth core has its emulator threads, so the VCPs find no whole core.
         */
        assert_int_equal(plan_build(p, facts, NULL, &plan), 0);
        assert_vm(plan, "vfp-vmx1", 1, "6,7,5", "4", "13-15");
        assert_vm(plan, "vfp-vmx2", 0, "2,3,1", "0", "9-11");
        assert_false(plan_find_vm(plan, "vcp-vmx1")->complete);
        assert_true(has_note(plan_find_vm(plan, "vcp-vmx1"), "vms[0].pinning: no room on node 1: 1 vCPUs need 1 whole "
                                                             "free cores (1 per core), the node has 0"));
        plan = plan_free(plan);
        p = profile_free(p);

        p = load_auto("profiles/vmx-two-instances.yaml", "{placement: auto, smt: share}");
        for (size_t i = 0; i < p->n_vms; i++)
                if (p->vms[i].memory.hugepages)
                        p->vms[i].pinning.smt = VX_SMT_ISOLATE;
        assert_int_equal(plan_build(p, facts, NULL, &plan), 0);
        assert_vm(plan, "vfp-vmx1", 1, "6,7,5", "4", "13-15");
        assert_vm(plan, "vfp-vmx2", 0, "2,3,1", "0", "9-11");
        assert_vm(plan, "vcp-vmx1", 1, "12", "4", "");
        assert_vm(plan, "vcp-vmx2", 0, "8", "0", "");
        assert_disjoint(&plan, 1);
}

/* A host that is full: a third pair finds no CPU, and the plan says so (start refuses it). */
static void test_host_full(void **state)
{
        _cleanup_(profile_freep) struct vx_profile *p = load("name: big\n"
                                                             "vms:\n"
                                                             "  - name: a\n"
                                                             "    vcpus: 4\n"
                                                             "    memory: {size: 1GiB}\n"
                                                             "    pinning: auto\n"
                                                             "  - name: b\n"
                                                             "    vcpus: 3\n"
                                                             "    memory: {size: 1GiB}\n"
                                                             "    pinning: auto\n"
                                                             "  - name: c\n"
                                                             "    vcpus: 3\n"
                                                             "    memory: {size: 1GiB}\n"
                                                             "    pinning: auto\n");
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        const struct vx_vm_plan *b;

        (void)state;
        assert_int_equal(plan_build(p, facts, NULL, &plan), 0);
        /*
         * The biggest first: a's 4 vCPUs take node 1's three whole cores and, as no other
         * whole core is free there, the sibling of its own emulator CPU. b fits node 0; c
         * finds no whole core anywhere.
         */
        assert_vm(plan, "a", 1, "6,7,5,12", "4", "13-15");
        assert_true(has_why(&plan->vms[0], "vCPU 3: CPU 12 (not isolated; core 4,12, beside its own emulator threads"));
        assert_vm(plan, "b", 0, "2,3,1", "0", "9-11");
        b = plan_find_vm(plan, "b");
        assert_string_equal(b->pinning.why[0], "node 0: the node with the most free CPUs (8)");
        assert_false(plan->vms[2].complete);
        assert_true(has_note(&plan->vms[2], "vms[2].pinning: no room on node 0: 3 vCPUs need 3 whole free cores (1 "
                                            "per core), the node has 0"));
}

/* topology.threads: 2 puts each guest core on one host core's two siblings; topology: auto says so. */
static void test_smt_pairs(void **state)
{
        _cleanup_(profile_freep) struct vx_profile *p = load("name: smt\n"
                                                             "vms:\n"
                                                             "  - name: pairs\n"
                                                             "    vcpus: 4\n"
                                                             "    topology: {threads: 2}\n"
                                                             "    memory: {size: 1GiB}\n"
                                                             "    pinning: {placement: auto, node: 1}\n"
                                                             "  - name: shared\n"
                                                             "    vcpus: 2\n"
                                                             "    topology: auto\n"
                                                             "    memory: {size: 1GiB}\n"
                                                             "    pinning: {placement: auto, smt: share, node: 0}\n");
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        const struct vx_vm_plan *s;

        (void)state;
        assert_int_equal(plan_build(p, facts, NULL, &plan), 0);
        assert_vm(plan, "pairs", 1, "6,14,7,15", "4", "");
        assert_int_equal(plan->vms[0].topology.threads, 2);
        assert_vm(plan, "shared", 0, "2,10", "0", "");
        s = plan_find_vm(plan, "shared");
        assert_int_equal(s->topology.threads, 2);
        assert_int_equal(s->topology.cores, 1);
        assert_int_equal(s->topology.sockets, 1);
        assert_true(argv_has(s, "2,sockets=1,dies=1,cores=1,threads=2"));
}

/* The node of the VFs (p3p1's are on node 1), and a warning when explicit pins are elsewhere. */
#define LOCALITY_PROFILE(extra)                                                                                        \
        "name: sriov\n"                                                                                                \
        "vms:\n"                                                                                                       \
        "  - name: vfp\n"                                                                                              \
        "    vcpus: 2\n"                                                                                               \
        "    memory: {size: 1GiB}\n"                                                                                   \
        "    pinning: auto\n"                                                                                          \
        "    nics:\n"                                                                                                  \
        "      - {type: vf, pf: p3p1, vf: 1}\n"                                                                        \
        "  - name: elsewhere\n"                                                                                        \
        "    vcpus: 1\n"                                                                                               \
        "    memory: {size: 1GiB}\n"                                                                                   \
        "    pinning: {vcpus: [\"1\"]}\n"                                                                              \
        "    " extra "\n"                                                                                              \
        "    nics:\n"                                                                                                  \
        "      - {type: hostdev, host: \"0000:81:10.0\"}\n"

static void test_vf_node_and_locality(void **state)
{
        struct vx_profile *p;
        struct vx_plan *plan = NULL;

        (void)state;
        p = load(LOCALITY_PROFILE(""));
        assert_int_equal(plan_build(p, facts, NULL, &plan), 0);
        assert_vm(plan, "vfp", 1, "6,7", "4", "14-15");
        assert_non_null(strstr(plan->vms[0].pinning.why[0], "node 1: the node of its VF nics[0] (0000:81:10.2)"));
        assert_true(plan->vms[1].complete);
        assert_true(has_note(&plan->vms[1], "warning: vms[1]: elsewhere: its vCPUs, memory and passthrough NICs are "
                                            "not on one NUMA node (vCPU 0 on node 0, nics[0] (0000:81:10.0) on node "
                                            "1)"));
        /* The VF's VM is all on node 1: no warning. */
        assert_false(has_note(&plan->vms[0], "not on one NUMA node"));
        plan_free(plan);
        profile_free(p);

        p = load(LOCALITY_PROFILE("numa: {strict: true}"));
        assert_int_equal(plan_build(p, facts, NULL, &plan), 0);
        assert_false(plan->vms[1].complete);
        assert_true(has_note(&plan->vms[1], "numa.strict is set: start refuses this plan"));
        plan_free(plan);
        profile_free(p);
}

/* Guest NUMA: a backend per guest node on its host node (the pools of both), -numa node and cpu by topology. */
static void test_guest_numa(void **state)
{
        _cleanup_(profile_freep) struct vx_profile *p = load("name: gnuma\n"
                                                             "vms:\n"
                                                             "  - name: vfp\n"
                                                             "    vcpus: 4\n"
                                                             "    topology: {sockets: 2, cores: 2}\n"
                                                             "    memory: {size: 4GiB, hugepages: {page-size: 2M}}\n"
                                                             "    numa:\n"
                                                             "      nodes:\n"
                                                             "        - {vcpus: \"0-1\", size: 1GiB, host-node: 0}\n"
                                                             "        - {vcpus: \"2-3\", size: 3GiB, host-node: 1}\n");
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        const struct vx_vm_plan *vp;
        unsigned pools = 0;

        (void)state;
        assert_int_equal(plan_build(p, facts, NULL, &plan), 0);
        vp = &plan->vms[0];
        assert_true(argv_has(vp, "memory-backend-file,id=mem0,size=1024M,mem-path=/dev/hugepages/vmxrun-gnuma-vfp,"
                                 "prealloc=on,share=off,host-nodes=0,policy=bind"));
        assert_true(argv_has(vp, "memory-backend-file,id=mem1,size=3072M,mem-path=/dev/hugepages/vmxrun-gnuma-vfp,"
                                 "prealloc=on,share=off,host-nodes=1,policy=bind"));
        assert_true(argv_has(vp, "node,nodeid=1,memdev=mem1"));
        assert_true(argv_has(vp, "cpu,node-id=1,socket-id=1,core-id=1,thread-id=0"));
        assert_false(argv_has(vp, "memory-backend=mem0"));
        for (size_t i = 0; i < plan->n_actions; i++)
                if (plan->actions[i].kind == VX_ACTION_HUGEPAGES) {
                        const struct vx_action_hugepages *h = &plan->actions[i].huge;

                        assert_int_equal(h->pages, h->node == 0 ? 512 : 1536);
                        pools++;
                }
        assert_int_equal(pools, 2);
}

/* The new keys' mistakes are reported at file:line:column with the key, as every other. */
static void test_profile_errors(void **state)
{
        static const char *text = "name: bad\n"
                                  "vms:\n"
                                  "  - name: a\n"
                                  "    vcpus: 2\n"
                                  "    memory: {size: 1GiB}\n"
                                  "    pinning: {vcpus: [\"2\", \"3\"]}\n"
                                  "  - name: b\n"
                                  "    vcpus: 1\n"
                                  "    memory: {size: 1GiB}\n"
                                  "    pinning:\n"
                                  "      vcpus: [\"3\"]\n"
                                  "  - name: c\n"
                                  "    memory: {size: 1GiB}\n"
                                  "    pinning: fixed\n"
                                  "  - name: d\n"
                                  "    memory: {size: 1GiB}\n"
                                  "    pinning: {placement: auto, emulator: \"0\", smt: half}\n";
        struct vx_diags diags = {};
        struct vx_profile *p = NULL;
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        FILE *f;

        (void)state;
        assert_int_equal(profile_load_string("bad.yaml", text, strlen(text), &diags, &p), -EINVAL);
        f = open_memstream(&out, &len);
        diag_print(&diags, f);
        fclose(f);
        diag_done(&diags);
        assert_non_null(strstr(out, "bad.yaml:11:15: error: vms[1].pinning.vcpus[0]: host CPU 3 is pinned to vCPU 0 of "
                                    "b and to vCPU 1 of a (vms[0].pinning.vcpus[1], line 6)"));
        assert_non_null(strstr(out, "bad.yaml:14:14: error: vms[2].pinning: expected 'auto', got 'fixed'"));
        assert_non_null(strstr(out, "vms[3].pinning.smt"));
        assert_non_null(strstr(out, "vms[3].pinning: placement: auto chooses the CPUs itself, but CPU lists are "
                                    "given too"));

        /* Sharing intended on both: no error. */
        p = load("name: ok\nvms:\n  - name: a\n    memory: {size: 1GiB}\n    pinning: {vcpus: [\"3\"], shared: true}\n"
                 "  - name: b\n    memory: {size: 1GiB}\n    pinning: {vcpus: [\"3\"], shared: true}\n");
        profile_free(p);
}

/* What `vmxrun import` writes for the seed's SR-IOV vMX: pinning: auto, and the VFP lands on its VFs' node. */
static void test_imported_sriov(void **state)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_(profile_freep) struct vx_profile *p = NULL;
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        const struct vx_vm_plan *vfp;

        (void)state;
        assert_true(asprintf(&path, "%s/tests/import/seed-sriov.yaml", VX_SOURCE_ROOT) > 0);
        text = launcher_read_text(path);
        assert_non_null(text);
        assert_non_null(strstr(text, "    pinning: auto"));
        p = load(text);
        assert_int_equal(plan_build(p, facts, NULL, &plan), 0);
        vfp = plan_find_vm(plan, "vfp-vmx1");
        assert_non_null(vfp);
        assert_int_equal(vfp->pinning.node, 1);
        assert_true(has_why(vfp, "node 1: the node of its VF nics[2] (0000:81:10.0)"));
        assert_true(argv_has(vfp, "host-nodes=1,policy=bind"));
        assert_false(has_note(vfp, "not on one NUMA node"));
}

/* The checks the pre-flight lists: results collected as "id verdict subject: message". */
static int collect(void *userdata, const char *id, enum vx_numa_verdict verdict, const char *subject, const char *key,
                   const char *fix, const char *message)
{
        FILE *f = userdata;
        static const char *const names[] = {"ok", "warn", "fail"};

        (void)key;
        fprintf(f, "%s %s %s: %s%s%s\n", id, names[verdict], subject, message, fix ? " | fix: " : "", fix ? fix : "");
        return 0;
}

static char *run_checks(const struct vx_plan *plan)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        assert_int_equal(numa_check_locality(plan, facts, collect, f), 0);
        assert_int_equal(numa_check_placement(plan, collect, f), 0);
        assert_int_equal(numa_check_cpus(plan, facts, collect, f), 0);
        assert_int_equal(numa_check_memory(plan, facts, collect, f), 0);
        fclose(f);
        return out;
}

static void test_numa_checks(void **state)
{
        _cleanup_(profile_freep) struct vx_profile *p = load_auto("profiles/vmx-virtio.yaml", "auto");
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        _cleanup_free_ char *out = NULL;
        struct vx_profile *bad;
        struct vx_plan *bad_plan = NULL;

        (void)state;
        assert_int_equal(plan_build(p, facts, NULL, &plan), 0);
        out = run_checks(plan);
        assert_non_null(strstr(
                out, "cpu-placement ok vfp-vmx1: node 1: its hugepage pool holds the VM's memory, and it has the most "
                     "free CPUs (8) of such nodes; vCPUs on CPUs 5-7, emulator threads on 4"));
        assert_non_null(strstr(out, "numa-locality ok vcp-vmx1:"));
        assert_non_null(strstr(out, "numa-cpus ok vfp-vmx1: 3 pinned vCPU CPUs online, 2 of them isolated"));
        /* Node 1's 2M pool has the VFP's 2048 pages free; node 0 gives the VCP's 2 GiB of RAM. */
        assert_non_null(strstr(out, "numa-memory ok memory of node 0: node 0 has 20 GiB free for the 2 GiB"));
        assert_null(strstr(out, "memory of node 1"));
        assert_null(strstr(out, " fail "));

        /* Explicit pins on a CPU the host lacks and off the NIC's node, a data plane on no isolated CPU. */
        bad = load(LOCALITY_PROFILE("numa: {strict: true}"));
        bad->vms[1].pinning.vcpus[0] = (struct vx_cpuset){0};
        vx_cpuset_set(&bad->vms[1].pinning.vcpus[0], 20);
        vx_cpuset_set(&bad->vms[1].pinning.vcpus[0], 1);
        assert_int_equal(plan_build(bad, facts, NULL, &bad_plan), 0);
        free(out);
        out = run_checks(bad_plan);
        assert_non_null(strstr(out,
                               "numa-locality fail elsewhere: vms[1]: elsewhere: its vCPUs, memory and passthrough "
                               "NICs are not on one NUMA node"));
        assert_non_null(strstr(out, "numa-cpus fail CPU 20: elsewhere: a vCPU pins CPU 20, which this host does not "
                                    "have"));
        assert_non_null(strstr(out, "numa-cpus warn elsewhere: none of the vCPUs of elsewhere is on an isolated CPU"));
        plan_free(bad_plan);
        profile_free(bad);
}

/* Memory start-up: prealloc-threads from the emulator set, and a greeting wait that grows with the memory. */
static void test_prealloc(void **state)
{
        _cleanup_(profile_freep) struct vx_profile *p = load("name: pre\n"
                                                             "vms:\n"
                                                             "  - name: big\n"
                                                             "    vcpus: 2\n"
                                                             "    memory: {size: 4GiB, hugepages: {page-size: 2M}}\n"
                                                             "    pinning: {placement: auto, emulator-cpus: 2}\n"
                                                             "  - name: small\n"
                                                             "    memory: {size: 512MiB}\n");
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;

        (void)state;
        assert_int_equal(plan_build(p, facts, NULL, &plan), 0);
        assert_vm(plan, "big", 1, "6,7", "4-5", "14-15");
        assert_true(argv_has(&plan->vms[0], "prealloc=on,share=off,prealloc-threads=2,host-nodes=1"));
        assert_int_equal(plan->vms[0].prealloc_bytes, UINT64_C(4) << 30);
        assert_int_equal(plan_greeting_timeout_ms(&plan->vms[0]), 30000 + 4 * 5000);
        assert_int_equal(plan->vms[1].prealloc_bytes, 0);
        assert_int_equal(plan_greeting_timeout_ms(&plan->vms[1]), 30000);
}

/* The progress line: on a terminal while QEMU preallocates, erased after; nothing where stderr is no terminal. */
static void test_prealloc_progress(void **state)
{
        struct vx_prealloc_progress *pr = NULL;
        int master, slave, saved = dup(STDERR_FILENO);
        char buf[512] = "";
        size_t len = 0;
        struct pollfd pfd;

        (void)state;
        assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
        /* Not a terminal (a pipe): nothing is started. */
        {
                int pipefd[2];

                assert_int_equal(pipe(pipefd), 0);
                assert_int_equal(dup2(pipefd[1], STDERR_FILENO), STDERR_FILENO);
                assert_int_equal(prealloc_progress_start("vm", getpid(), UINT64_C(2) << 30, &pr), 0);
                assert_null(pr);
                close(pipefd[0]);
                close(pipefd[1]);
        }
        assert_int_equal(dup2(slave, STDERR_FILENO), STDERR_FILENO);
        /* Under 1 GiB: silent too. */
        assert_int_equal(prealloc_progress_start("vm", getpid(), UINT64_C(512) << 20, &pr), 0);
        assert_null(pr);
        /* This process's own smaps_rollup stands for QEMU's: 0 of its 2 GiB are hugepages. */
        assert_int_equal(prealloc_progress_start("vfp", getpid(), UINT64_C(2) << 30, &pr), 0);
        assert_non_null(pr);
        pfd = (struct pollfd){.fd = master, .events = POLLIN};
        /* A hang guard, not a speed check: the line comes every half second. */
        while (!strstr(buf, "of 2.0 GiB") && len < sizeof(buf) - 1 && poll(&pfd, 1, 60000) == 1) {
                ssize_t n = read(master, buf + len, sizeof(buf) - 1 - len);

                if (n <= 0)
                        break;
                len += (size_t)n;
                buf[len] = 0;
        }
        prealloc_progress_stop(pr);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        assert_non_null(strstr(buf, "\r\033[Kvfp: preallocating memory: 0.0 of 2.0 GiB"));
        close(slave);
        close(master);
}

/* The pre-flight lists the checks: `vmxrun doctor PROFILE` on the fixture host has them, with their verdicts. */
static void test_preflight_lists_numa(void **state)
{
        _cleanup_(profile_freep) struct vx_profile *p = load_auto("profiles/vmx-virtio.yaml", "auto");
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        struct vx_checks checks = {0};
        unsigned locality = 0, placement = 0, memory = 0;

        (void)state;
        assert_int_equal(plan_build(p, facts, NULL, &plan), 0);
        assert_int_equal(launcher_preflight(p, plan, FIXTURE, 0, &checks), 0);
        for (size_t i = 0; i < checks.n; i++) {
                const struct vx_check *c = &checks.items[i];

                locality += strcmp(c->id, "numa-locality") == 0 && c->status == VX_CHECK_OK;
                placement += strcmp(c->id, "cpu-placement") == 0 && c->status == VX_CHECK_OK;
                memory += strcmp(c->id, "numa-memory") == 0 && c->status == VX_CHECK_OK;
        }
        checks_done(&checks);
        assert_int_equal(locality, 2);
        assert_int_equal(placement, 2);
        assert_int_equal(memory, 1);
}

static char *make_runtime(void)
{
        char tmpl[] = "/tmp/vx-test-ledger-XXXXXX";

        assert_non_null(mkdtemp(tmpl));
        return strdup(tmpl);
}

static void remove_tree(const char *dir)
{
        _cleanup_free_ char *cmd = NULL;

        assert_true(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
        assert_int_equal(system(cmd), 0);
}

/* A deployment "running": its journal exists, so its ledger entry is alive after its start process ends. */
static void fake_running(const char *runtime, const char *deployment)
{
        _cleanup_free_ char *cmd = NULL;

        assert_true(asprintf(&cmd, "mkdir -p '%s/%s' && echo '{}' > '%s/%s/journal.json'", runtime, deployment, runtime,
                             deployment) > 0);
        assert_int_equal(system(cmd), 0);
}

static struct vx_profile *pair_profile(const char *deployment, const char *runtime)
{
        _cleanup_free_ char *text = NULL;

        assert_true(asprintf(&text,
                             "name: %s\n"
                             "host: {runtime-dir: %s}\n"
                             "vms:\n"
                             "  - name: vcp\n"
                             "    vcpus: 1\n"
                             "    memory: {size: 2GiB}\n"
                             "    pinning: {placement: auto, smt: share}\n"
                             "  - name: vfp\n"
                             "    vcpus: 2\n"
                             "    memory: {size: 4GiB, hugepages: {page-size: 2M}}\n"
                             "    pinning: auto\n",
                             deployment, runtime) > 0);
        return load(text);
}

/* The ledger: a second deployment places around the first, and a replan of the first keeps its CPUs. */
static void test_ledger_two_deployments(void **state)
{
        _cleanup_free_ char *rt = make_runtime();
        struct vx_profile *p1 = pair_profile("one", rt), *p2 = pair_profile("two", rt);
        struct vx_plan *plans[2] = {0}, *again = NULL;
        struct vx_cpu_claims claims = {0};
        struct vx_plan_options opts = {0};

        (void)state;
        fake_running(rt, "one");
        fake_running(rt, "two");
        assert_int_equal(cpu_ledger_plan(p1, facts, &opts, true, &plans[0]), 0);
        assert_int_equal(cpu_ledger_plan(p2, facts, &opts, true, &plans[1]), 0);
        assert_vm(plans[0], "vfp", 1, "6,7", "4", "14-15");
        assert_vm(plans[0], "vcp", 0, "2", "0", "");
        /* Node 1 has one whole core left: two's VFP goes to node 0, its VCP to node 1 (more free CPUs now). */
        assert_vm(plans[1], "vfp", 0, "3,1", "0", "9,11");
        assert_true(has_why(plan_find_vm(plans[1], "vfp"), "not node 1: no room on node 1: 2 vCPUs need 2 whole free "
                                                           "cores (1 per core), the node has 1"));
        assert_vm(plans[1], "vcp", 1, "5", "4", "");
        assert_disjoint(plans, 2);
        assert_int_equal(cpu_ledger_read(rt, &claims), 0);
        assert_int_equal(claims.n, 4);
        cpu_claims_done(&claims);

        /* One's replan (adoption) keeps exactly what it holds. */
        assert_int_equal(cpu_ledger_plan(p1, facts, &opts, false, &again), 0);
        assert_vm(again, "vfp", 1, "6,7", "4", "14-15");
        assert_true(has_why(&again->vms[1], "node 1: as placed when it started (the CPU ledger)"));
        plan_free(again);

        /* Explicit pins on a CPU "one" holds are refused, naming the CPU, both VMs and the keys. */
        {
                _cleanup_free_ char *text = NULL;
                struct vx_profile *p3;
                struct vx_plan *plan3 = NULL;

                assert_true(asprintf(&text,
                                     "name: three\nhost: {runtime-dir: %s}\nvms:\n  - name: fixed\n    vcpus: 1\n"
                                     "    memory: {size: 1GiB}\n    pinning: {vcpus: [\"7\"]}\n",
                                     rt) > 0);
                p3 = load(text);
                assert_int_equal(cpu_ledger_plan(p3, facts, &opts, true, &plan3), 0);
                assert_false(plan3->vms[0].complete);
                assert_string_equal(plan3->vms[0].notes[0],
                                    "vms[0].pinning.vcpus[0]: host CPU 7 of vCPU 0 of fixed is held by VM vfp of the "
                                    "running deployment one (its vms[1].pinning (placement: auto)); start refuses "
                                    "(set pinning.shared: true on both if sharing is intended)");
                plan_free(plan3);
                profile_free(p3);
        }

        /* "one" stops: its entry goes, and its CPUs are free for the next start. */
        assert_int_equal(cpu_ledger_release(rt, "one"), 0);
        assert_int_equal(cpu_ledger_read(rt, &claims), 0);
        assert_int_equal(claims.n, 2);
        cpu_claims_done(&claims);
        remove_tree(rt);
        plan_free(plans[0]);
        plan_free(plans[1]);
        profile_free(p1);
        profile_free(p2);
}

/* Two processes place at once: the lock makes one wait for the other, and they never overlap. */
static void test_ledger_concurrent(void **state)
{
        _cleanup_free_ char *rt = make_runtime();
        struct vx_cpu_claims claims = {0};
        struct vx_cpuset seen = {0};
        pid_t pids[2];

        (void)state;
        for (int k = 0; k < 2; k++) {
                char name[16];

                snprintf(name, sizeof(name), "d%d", k);
                fake_running(rt, name);
        }
        for (int k = 0; k < 2; k++) {
                pids[k] = fork();
                assert_true(pids[k] >= 0);
                if (pids[k] == 0) {
                        char name[16];
                        struct vx_profile *p;
                        struct vx_plan *plan = NULL;
                        int r;

                        snprintf(name, sizeof(name), "d%d", k);
                        p = pair_profile(name, rt);
                        r = cpu_ledger_plan(p, facts, NULL, true, &plan);
                        _exit(r < 0 || !plan->vms[0].complete || !plan->vms[1].complete ? 1 : 0);
                }
        }
        for (int k = 0; k < 2; k++) {
                int status;

                assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
        }
        assert_int_equal(cpu_ledger_read(rt, &claims), 0);
        assert_int_equal(claims.n, 4);
        for (size_t i = 0; i < claims.n; i++) {
                struct vx_cpuset held;

                cpu_claim_held(&claims.items[i], &held);
                for (unsigned cpu = 0; cpu < 16; cpu++)
                        if (vx_cpuset_isset(&held, cpu)) {
                                assert_false(vx_cpuset_isset(&seen, cpu));
                                vx_cpuset_set(&seen, cpu);
                        }
        }
        cpu_claims_done(&claims);

        /* Their start processes are gone: once the journals go too, the entries are stale and dropped. */
        for (int k = 0; k < 2; k++) {
                _cleanup_free_ char *dir = NULL;

                assert_true(asprintf(&dir, "%s/d%d", rt, k) > 0);
                remove_tree(dir);
        }
        assert_int_equal(cpu_ledger_read(rt, &claims), 0);
        assert_int_equal(claims.n, 0);
        cpu_claims_done(&claims);
        {
                _cleanup_free_ char *entry = NULL;

                assert_true(asprintf(&entry, "%s/.shared/cpus/d0.json", rt) > 0);
                assert_int_equal(access(entry, F_OK), -1);
        }
        remove_tree(rt);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_vmx_pair),
                cmocka_unit_test(test_two_vmx_pairs),
                cmocka_unit_test(test_host_full),
                cmocka_unit_test(test_smt_pairs),
                cmocka_unit_test(test_vf_node_and_locality),
                cmocka_unit_test(test_guest_numa),
                cmocka_unit_test(test_imported_sriov),
                cmocka_unit_test(test_numa_checks),
                cmocka_unit_test(test_preflight_lists_numa),
                cmocka_unit_test(test_prealloc),
                cmocka_unit_test(test_prealloc_progress),
                cmocka_unit_test(test_profile_errors),
                cmocka_unit_test(test_ledger_two_deployments),
                cmocka_unit_test(test_ledger_concurrent),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
