/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "affinity.h"
#include "facts.h"

/* Builds a fake root: the files host_facts_gather reads, as the kernel lays them out. */
static char *make_root(bool with_kvm)
{
        char tmpl[] = "/tmp/vx-test-host-XXXXXX";
        char *root = strdup(mkdtemp(tmpl));
        char cmd[1024];

        snprintf(cmd, sizeof(cmd),
                 "set -e; cd %s; mkdir -p dev proc sys/devices/system/cpu sys/class/net "
                 "sys/devices/pci0000:00/0000:23:00.0/net/p3p1 sys/devices/pci0000:00/0000:23:10.0 "
                 "sys/devices/pci0000:00/0000:23:10.2 sys/devices/virtual/net/lo; "
                 "echo 0-7,9 > sys/devices/system/cpu/online; "
                 "ln -s ../../devices/pci0000:00/0000:23:00.0/net/p3p1 sys/class/net/p3p1; "
                 "ln -s ../../devices/virtual/net/lo sys/class/net/lo; "
                 "ln -s ../../../0000:23:00.0 sys/devices/pci0000:00/0000:23:00.0/net/p3p1/device; "
                 "ln -s ../0000:23:10.0 sys/devices/pci0000:00/0000:23:00.0/virtfn0; "
                 "ln -s ../0000:23:10.2 sys/devices/pci0000:00/0000:23:00.0/virtfn1; "
                 "printf 'proc /proc proc rw 0 0\\nhugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\\n"
                 "none /mnt/huge1g hugetlbfs rw,pagesize=1024M 0 0\\n' > proc/mounts; %s",
                 root, with_kvm ? "touch dev/kvm" : "true");
        assert_int_equal(system(cmd), 0);
        return root;
}

static void remove_root(char *root)
{
        char cmd[1024];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
        free(root);
}

static void test_facts_from_fixture(void **state)
{
        char *root = make_root(true);
        struct vx_host_facts *f = NULL;
        bool vf0 = false, vf1 = false;

        assert_int_equal(host_facts_gather(root, &f), 0);
        assert_true(f->kvm_usable);
        assert_false(f->vhost_net);
        assert_int_equal(f->n_cpus, 10);
        assert_int_equal(f->n_hugetlbfs, 2);
        assert_string_equal(f->hugetlbfs[0].path, "/dev/hugepages");
        assert_true(f->hugetlbfs[0].page_size == UINT64_C(2) << 20);
        assert_string_equal(f->hugetlbfs[1].path, "/mnt/huge1g");
        assert_true(f->hugetlbfs[1].page_size == UINT64_C(1) << 30);
        assert_int_equal(f->n_vfs, 2);
        for (size_t i = 0; i < f->n_vfs; i++) {
                assert_string_equal(f->vfs[i].pf, "p3p1");
                if (f->vfs[i].vf == 0) {
                        assert_string_equal(f->vfs[i].pci_address, "0000:23:10.0");
                        vf0 = true;
                } else if (f->vfs[i].vf == 1) {
                        assert_string_equal(f->vfs[i].pci_address, "0000:23:10.2");
                        vf1 = true;
                }
        }
        assert_true(vf0 && vf1);
        host_facts_free(f);
        remove_root(root);
}

static void test_facts_missing_everything(void **state)
{
        char tmpl[] = "/tmp/vx-test-empty-XXXXXX";
        struct vx_host_facts *f = NULL;

        assert_non_null(mkdtemp(tmpl));
        assert_int_equal(host_facts_gather(tmpl, &f), 0);
        assert_false(f->kvm_usable);
        assert_int_equal(f->n_cpus, 0);
        assert_int_equal(f->n_vfs, 0);
        assert_int_equal(f->n_hugetlbfs, 0);
        host_facts_free(f);
        rmdir(tmpl);
}

static void test_facts_real_host(void **state)
{
        struct vx_host_facts *f = NULL;

        /* Whatever this host is, the CPU count must match what the C library says. */
        assert_int_equal(host_facts_gather("/", &f), 0);
        assert_true(f->n_cpus >= (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
        host_facts_free(f);
}

static void test_affinity_roundtrip(void **state)
{
        struct vx_cpuset before, one = {0}, got, from_status;
        pid_t self = gettid();
        _cleanup_free_ pid_t *tids = NULL;
        size_t n = 0;
        int last_cpu = -1;
        unsigned long long ns = 0;
        bool found = false;

        assert_int_equal(affinity_get(self, &before), 0);
        vx_cpuset_set(&one, (unsigned)vx_cpuset_last(&before));
        assert_int_equal(affinity_set(self, &one), 0);
        assert_int_equal(affinity_get(self, &got), 0);
        assert_true(vx_cpuset_equal(&got, &one));
        /* What status shows is what `vmxrun status` reports: it must agree with the syscall. */
        assert_int_equal(affinity_read_status("", getpid(), self, &from_status), 0);
        assert_true(vx_cpuset_equal(&from_status, &one));
        assert_int_equal(affinity_thread_stat("", getpid(), self, &last_cpu, &ns), 0);
        assert_int_equal(last_cpu, vx_cpuset_last(&one));
        assert_int_equal(affinity_set(self, &before), 0);

        assert_int_equal(affinity_list_threads("", getpid(), &tids, &n), 0);
        for (size_t i = 0; i < n; i++)
                found = found || tids[i] == self;
        assert_true(found);
}

static void test_affinity_errors(void **state)
{
        struct vx_cpuset empty = {0};
        pid_t *tids = NULL;
        size_t n;

        assert_int_equal(affinity_set(gettid(), &empty), -EINVAL);
        assert_int_equal(affinity_list_threads("/nonexistent", 1, &tids, &n), -ENOENT);
        assert_null(tids);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_facts_from_fixture),
                cmocka_unit_test(test_facts_missing_everything),
                cmocka_unit_test(test_facts_real_host),
                cmocka_unit_test(test_affinity_roundtrip),
                cmocka_unit_test(test_affinity_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
