/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* host/topology.c on the 2-node SMT fixture, on a one-node tree made here, and on the real host. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cleanup.h"
#include "topology.h"

#define FIXTURE VX_SOURCE_ROOT "/tests/fixtures/host-2node-smt"
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

static void assert_cpuset(const struct vx_cpuset *set, const char *want)
{
        _cleanup_free_ char *s = vx_cpuset_format(set);

        assert_non_null(s);
        assert_string_equal(s, want);
}

static void test_fixture_cpus(void **state)
{
        struct vx_host_topology *t = NULL;
        const struct vx_topo_cpu *c;

        (void)state;
        assert_int_equal(host_topology_read(FIXTURE, &t), 0);
        assert_int_equal(t->n_cpus, 16);
        assert_cpuset(&t->online, "0-15");
        assert_cpuset(&t->isolated, "2-3,6-7,10-11,14-15");
        assert_cpuset(&t->nohz_full, "2-3,6-7,10-11,14-15");

        c = host_topology_cpu(t, 13);
        assert_non_null(c);
        assert_int_equal(c->node, 1);
        assert_int_equal(c->package_id, 1);
        assert_int_equal(c->core_id, 1);
        assert_cpuset(&c->siblings, "5,13");
        assert_false(c->isolated);
        assert_true(c->online);
        c = host_topology_cpu(t, 10);
        assert_int_equal(c->node, 0);
        assert_true(c->isolated);
        assert_true(c->nohz_full);
        assert_cpuset(&c->siblings, "2,10");

        assert_int_equal(host_topology_cpu_node(t, 0), 0);
        assert_int_equal(host_topology_cpu_node(t, 7), 1);
        assert_int_equal(host_topology_cpu_node(t, 12), 1);
        assert_int_equal(host_topology_cpu_node(t, 16), -ENOENT);
        assert_null(host_topology_cpu(t, 99));
        host_topology_free(t);
}

static void test_fixture_nodes(void **state)
{
        struct vx_host_topology *t = NULL;
        const struct vx_topo_node *n;
        const struct vx_topo_pool *p;
        struct vx_cpuset on;

        (void)state;
        assert_int_equal(host_topology_read(FIXTURE, &t), 0);
        assert_int_equal(t->n_nodes, 2);
        n = host_topology_node(t, 1);
        assert_non_null(n);
        assert_cpuset(&n->cpus, "4-7,12-15");
        assert_int_equal(n->mem_total, 64 * GIB);
        assert_int_equal(n->mem_free, 48 * GIB);
        assert_int_equal(host_topology_node(t, 0)->mem_free, 20 * GIB);
        assert_null(host_topology_node(t, 2));
        host_topology_node_online(t, 0, &on);
        assert_cpuset(&on, "0-3,8-11");

        assert_int_equal(host_topology_distance(t, 0, 0), 10);
        assert_int_equal(host_topology_distance(t, 0, 1), 21);
        assert_int_equal(host_topology_distance(t, 1, 0), 21);
        assert_int_equal(host_topology_distance(t, 1, 5), 0);

        p = host_topology_pool(t, 0, 2 * MIB);
        assert_non_null(p);
        assert_int_equal(p->total, 1024);
        assert_int_equal(p->free, 512);
        p = host_topology_pool(t, 1, GIB);
        assert_non_null(p);
        assert_int_equal(p->total, 8);
        assert_int_equal(p->free, 8);
        assert_int_equal(host_topology_pool(t, 0, GIB)->total, 0);
        assert_null(host_topology_pool(t, 0, 16 * GIB));
        assert_null(host_topology_pool(t, 3, 2 * MIB));
        host_topology_free(t);
}

static void test_fixture_pci(void **state)
{
        struct vx_host_topology *t = NULL;

        (void)state;
        assert_int_equal(host_topology_read(FIXTURE, &t), 0);
        assert_int_equal(t->n_pci, 7);
        assert_int_equal(host_topology_pci_node(t, "0000:81:10.2"), 1);
        assert_int_equal(host_topology_pci_node(t, "81:10.0"), 1);
        assert_int_equal(host_topology_pci_node(t, "0000:82:10.0"), 1);
        assert_int_equal(host_topology_pci_node(t, "0000:00:1f.6"), 0);
        assert_int_equal(host_topology_pci_node(t, "0000:99:00.0"), -ENOENT);
        host_topology_free(t);
}

/* No node directory, no topology files, a device with numa_node -1: one node 0 with every online CPU. */
static void test_one_node_host(void **state)
{
        char tmpl[] = "/tmp/vx-test-topo-XXXXXX";
        struct vx_host_topology *t = NULL;
        char cmd[1024];
        char *root;

        (void)state;
        root = mkdtemp(tmpl);
        assert_non_null(root);
        snprintf(cmd, sizeof(cmd),
                 "set -e; cd %s; mkdir -p sys/devices/system/cpu sys/bus/pci/devices/0000:00:02.0; "
                 "echo 0-3 > sys/devices/system/cpu/online; echo > sys/devices/system/cpu/isolated; "
                 "echo -1 > sys/bus/pci/devices/0000:00:02.0/numa_node",
                 root);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(host_topology_read(root, &t), 0);
        assert_int_equal(t->n_nodes, 1);
        assert_int_equal(t->nodes[0].id, 0);
        assert_cpuset(&t->nodes[0].cpus, "0-3");
        assert_int_equal(vx_cpuset_count(&t->isolated), 0);
        assert_int_equal(host_topology_cpu_node(t, 3), 0);
        assert_cpuset(&host_topology_cpu(t, 2)->siblings, "2");
        assert_int_equal(host_topology_pci_node(t, "0000:00:02.0"), -1);
        host_topology_free(t);

        /* Not even cpu/online: there is no topology to read. */
        snprintf(cmd, sizeof(cmd), "rm -f %s/sys/devices/system/cpu/online", root);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(host_topology_read(root, &t), -ENOENT);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
}

/* The real host (libnuma for memory and distances): every online CPU on some node, a node 0 with memory. */
static void test_real_host(void **state)
{
        struct vx_host_topology *t = NULL;
        const struct vx_topo_node *n0;

        (void)state;
        assert_int_equal(host_topology_read(NULL, &t), 0);
        assert_true(t->n_nodes >= 1);
        n0 = &t->nodes[0];
        assert_true(n0->mem_total > 0);
        assert_true(n0->mem_free <= n0->mem_total);
        assert_int_equal(host_topology_distance(t, n0->id, n0->id), 10);
        for (size_t i = 0; i < t->n_cpus; i++)
                if (t->cpus[i].online)
                        assert_true(t->cpus[i].node >= 0);
        host_topology_free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fixture_cpus), cmocka_unit_test(test_fixture_nodes),
                cmocka_unit_test(test_fixture_pci),  cmocka_unit_test(test_one_node_host),
                cmocka_unit_test(test_real_host),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
