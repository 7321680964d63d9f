/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * host/hugepages.c against a fixture sysfs tree under /tmp (grow, a short
 * allocation, shrink, a pool changed behind vmxrun's back, per-node paths),
 * and launcher/apply.c's hugepage steps on the same tree: VMs of one
 * deployment add up, two deployments each take back what they added,
 * adoption adds nothing, a failure halfway puts the pool back.
 *
 * The kernel giving fewer pages than asked is simulated by wrapping write()
 * (-Wl,--wrap=write): only the project's own calls go through the wrapper.
 *
 * Built a second time with VX_HUGEPAGES_REAL as test_hugepages_real: grows
 * the host's real 2 MiB pool by a few pages and shrinks it back, restoring
 * the original nr_hugepages whatever happens (atexit, SIGTERM/SIGINT/SIGABRT).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "deployment.h"
#include "hugepages.h"
#include "journal.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

#ifndef VX_HUGEPAGES_REAL
/* ---- the kernel's side of a write to nr_hugepages ---- */

ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);

static long long kernel_cap = -1; /* >= 0: a write of nr_hugepages stores at most this many */

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
        char tmp[32];
        unsigned long long v;
        int len;

        if (kernel_cap < 0 || n >= sizeof(tmp))
                return __real_write(fd, buf, n);
        memcpy(tmp, buf, n);
        tmp[n] = '\0';
        if (sscanf(tmp, "%llu", &v) != 1 || v <= (unsigned long long)kernel_cap)
                return __real_write(fd, buf, n);
        len = snprintf(tmp, sizeof(tmp), "%lld\n", kernel_cap);
        if (__real_write(fd, tmp, (size_t)len) != len)
                return -1;
        return (ssize_t)n; /* the kernel says yes, and gives fewer */
}

/* ---- fixture tree ---- */

static char root[64];
static char runtime[128];

static void mkdirs(const char *path)
{
        char buf[512];

        snprintf(buf, sizeof(buf), "%s", path);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        (void)mkdir(buf, 0755);
                        *p = '/';
                }
        (void)mkdir(buf, 0755);
}

static void pool_path(char *buf, size_t len, uint64_t ps, int node, const char *file)
{
        if (node < 0)
                snprintf(buf, len, "%s/sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/%s", root, ps >> 10,
                         file);
        else
                snprintf(buf, len, "%s/sys/devices/system/node/node%d/hugepages/hugepages-%" PRIu64 "kB/%s",
                         root, node, ps >> 10, file);
}

static void set_value(uint64_t ps, int node, const char *file, uint64_t v)
{
        char path[512];
        FILE *f;

        pool_path(path, sizeof(path), ps, node, file);
        f = fopen(path, "we");
        assert_non_null(f);
        fprintf(f, "%" PRIu64 "\n", v);
        fclose(f);
}

static uint64_t get_value(uint64_t ps, int node, const char *file)
{
        char path[512];
        unsigned long long v = 0;
        FILE *f;

        pool_path(path, sizeof(path), ps, node, file);
        f = fopen(path, "re");
        assert_non_null(f);
        assert_int_equal(fscanf(f, "%llu", &v), 1);
        fclose(f);
        return v;
}

static void make_pool(uint64_t ps, int node, uint64_t total, uint64_t free_pages, uint64_t resv)
{
        char path[512];

        pool_path(path, sizeof(path), ps, node, "");
        mkdirs(path);
        set_value(ps, node, "nr_hugepages", total);
        set_value(ps, node, "free_hugepages", free_pages);
        set_value(ps, node, "surplus_hugepages", 0);
        if (node < 0)
                set_value(ps, node, "resv_hugepages", resv);
}

static int setup(void **state)
{
        snprintf(root, sizeof(root), "/tmp/vx-huge-XXXXXX");
        assert_non_null(mkdtemp(root));
        snprintf(runtime, sizeof(runtime), "%s/run", root);
        make_pool(2 * MIB, -1, 0, 0, 0);
        make_pool(2 * MIB, 0, 0, 0, 0);
        make_pool(2 * MIB, 1, 0, 0, 0);
        kernel_cap = -1;
        return 0;
}

static int teardown(void **state)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
        kernel_cap = -1;
        return 0;
}

/* ---- host/hugepages.c ---- */

static void test_sizes(void **state)
{
        char buf[32];
        uint64_t v;

        hugepages_size_short(2 * MIB, buf, sizeof(buf));
        assert_string_equal(buf, "2M");
        hugepages_size_short(GIB, buf, sizeof(buf));
        assert_string_equal(buf, "1G");
        hugepages_size_short(64 << 10, buf, sizeof(buf));
        assert_string_equal(buf, "64K");
        hugepages_size_pretty(2 * MIB, buf, sizeof(buf));
        assert_string_equal(buf, "2 MiB");
        hugepages_size_pretty(GIB, buf, sizeof(buf));
        assert_string_equal(buf, "1 GiB");
        assert_int_equal(hugepages_size_parse("2M", &v), 0);
        assert_int_equal(v, 2 * MIB);
        assert_int_equal(hugepages_size_parse("1G", &v), 0);
        assert_int_equal(v, GIB);
        assert_int_equal(hugepages_size_parse("2048K", &v), 0);
        assert_int_equal(v, 2 * MIB);
        assert_int_equal(hugepages_size_parse("2", &v), -EINVAL);
        assert_int_equal(hugepages_size_parse("M", &v), -EINVAL);
        assert_int_equal(hugepages_size_parse("2MB", &v), -EINVAL);
        assert_int_equal(hugepages_size_parse(NULL, &v), -EINVAL);
}

static void test_pool_read(void **state)
{
        struct vx_hugepage_pool p;

        make_pool(2 * MIB, -1, 10, 6, 2);
        assert_int_equal(hugepages_pool_read(root, 2 * MIB, -1, &p), 0);
        assert_int_equal(p.total, 10);
        assert_int_equal(p.free, 6);
        assert_int_equal(p.surplus, 0);
        assert_int_equal(p.reserved, 2);
        assert_int_equal(hugepages_available(&p), 4);

        make_pool(2 * MIB, 1, 3, 3, 0);
        assert_int_equal(hugepages_pool_read(root, 2 * MIB, 1, &p), 0);
        assert_int_equal(p.total, 3);
        assert_int_equal(p.reserved, 0);

        assert_int_equal(hugepages_pool_read(root, GIB, -1, &p), -EOPNOTSUPP);
        assert_int_equal(hugepages_pool_read(root, GIB, 0, &p), -EOPNOTSUPP);
        assert_int_equal(hugepages_pool_read(root, 2 * MIB, 7, &p), -ENODEV);
}

static void test_grow_shrink(void **state)
{
        uint64_t total;

        make_pool(2 * MIB, -1, 4, 4, 0);
        assert_int_equal(hugepages_grow(root, 2 * MIB, -1, 32, &total), 0);
        assert_int_equal(total, 36);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 36);

        assert_int_equal(hugepages_shrink(root, 2 * MIB, -1, 32, 36, &total), 0);
        assert_int_equal(total, 4);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 4);

        /* Nothing missing, nothing added: nothing written. */
        assert_int_equal(hugepages_grow(root, 2 * MIB, -1, 0, &total), 0);
        assert_int_equal(total, 4);
        assert_int_equal(hugepages_shrink(root, 2 * MIB, -1, 0, 99, &total), 0);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 4);
}

static void test_short_allocation(void **state)
{
        uint64_t total = 12345;

        make_pool(2 * MIB, 0, 4, 0, 0);
        kernel_cap = 10; /* asked for 4 + 32, the kernel gives 6 */
        assert_int_equal(hugepages_grow(root, 2 * MIB, 0, 32, &total), -ENOSPC);
        kernel_cap = -1;
        assert_int_equal(total, 12345); /* untouched on failure */
        assert_int_equal(get_value(2 * MIB, 0, "nr_hugepages"), 4);

        /* The kernel gives none at all. */
        kernel_cap = 4;
        assert_int_equal(hugepages_grow(root, 2 * MIB, 0, 1, &total), -ENOSPC);
        kernel_cap = -1;
        assert_int_equal(get_value(2 * MIB, 0, "nr_hugepages"), 4);
}

static void test_concurrent_change(void **state)
{
        uint64_t total;

        make_pool(2 * MIB, -1, 0, 0, 0);
        assert_int_equal(hugepages_grow(root, 2 * MIB, -1, 8, &total), 0);
        assert_int_equal(total, 8);
        /* An admin grows the pool behind vmxrun's back: vmxrun leaves it alone. */
        set_value(2 * MIB, -1, "nr_hugepages", 20);
        assert_int_equal(hugepages_shrink(root, 2 * MIB, -1, 8, 8, &total), 1);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 20);
        /* Or shrinks it below what vmxrun added. */
        set_value(2 * MIB, -1, "nr_hugepages", 5);
        assert_int_equal(hugepages_shrink(root, 2 * MIB, -1, 8, 5, &total), 1);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 5);
}

static void test_per_node(void **state)
{
        uint64_t total;

        make_pool(2 * MIB, -1, 7, 7, 0);
        make_pool(2 * MIB, 0, 3, 3, 0);
        make_pool(2 * MIB, 1, 4, 4, 0);
        assert_int_equal(hugepages_grow(root, 2 * MIB, 1, 5, &total), 0);
        assert_int_equal(total, 9);
        assert_int_equal(get_value(2 * MIB, 1, "nr_hugepages"), 9);
        assert_int_equal(get_value(2 * MIB, 0, "nr_hugepages"), 3);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"),
                         7); /* the fixture has no kernel to add up */
        assert_int_equal(hugepages_shrink(root, 2 * MIB, 1, 5, 9, &total), 0);
        assert_int_equal(get_value(2 * MIB, 1, "nr_hugepages"), 4);
        assert_int_equal(hugepages_grow(root, 2 * MIB, 3, 1, &total), -ENODEV);
}

static void test_process_kib(void **state)
{
        char dir[256], path[300];
        uint64_t kib;
        FILE *f;

        snprintf(dir, sizeof(dir), "%s/proc/4242", root);
        mkdirs(dir);
        snprintf(path, sizeof(path), "%s/smaps_rollup", dir);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs("00400000-7ffd [rollup]\nRss:  1000 kB\nShared_Hugetlb:        0 kB\nPrivate_Hugetlb:   65536 "
              "kB\n"
              "Swap: 0 kB\n",
              f);
        fclose(f);
        assert_int_equal(hugepages_process_kib(root, 4242, &kib), 0);
        assert_int_equal(kib, 65536);
        assert_int_equal(hugepages_process_kib(root, 4243, &kib), -ENOENT);
}

/* ---- launcher/apply.c on the fixture tree ---- */

static void deployment_load(struct deployment *d, const char *yaml)
{
        /* A hugetlbfs of each size is "mounted": the plan asks for no mount, only for pages. */
        static const struct vx_hugetlbfs_fact fs[] = {{2 * MIB, "/dev/hugepages"},
                                                      {GIB, "/dev/hugepages1G"}};
        static const struct vx_host_facts facts = {.hugetlbfs = fs, .n_hugetlbfs = 2};
        /* QEMU as root: the pools are what this tests (test_apply.c tests QEMU's own user). */
        struct vx_plan_options opts = {.runtime_dir = runtime, .qemu_user = "root"};

        deployment_load_facts(d, yaml, &facts, &opts, root);
}

#define VM(name, size, huge) "  - name: " name "\n    accel: tcg\n    memory:\n      size: " size "\n" huge

static const struct vx_undo *pool_step(struct vx_apply *a, size_t i)
{
        const struct vx_undo *u = journal_step(apply_journal(a), i);

        assert_non_null(u);
        assert_int_equal(u->kind, VX_UNDO_HUGEPAGES);
        return u;
}

static void test_apply_vms_add_up(void **state)
{
        struct deployment d = {0};

        make_pool(2 * MIB, -1, 2, 10, 0); /* 10 free (2 persistent + surplus, say) */
        deployment_load(&d, "name: huge\nvms:\n" VM("a", "64MiB", "      hugepages: {}\n")
                                VM("b", "32MiB", "      hugepages: {page-size: 2M}\n") VM("c", "32MiB", ""));
        assert_int_equal(apply_deployment(d.apply), 0);
        /* 32 + 16 pages needed, 10 free: 38 added. */
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 40);
        assert_int_equal(journal_size(apply_journal(d.apply)), 1);
        assert_string_equal(pool_step(d.apply, 0)->object, "2M");
        assert_int_equal(pool_step(d.apply, 0)->node, -1);
        assert_int_equal(pool_step(d.apply, 0)->pages, 38);
        assert_int_equal(pool_step(d.apply, 0)->total, 40);
        assert_null(pool_step(d.apply, 0)->owner);

        /* A new supervisor (adoption) reads the journal and adds nothing: QEMU holds the pages. */
        set_value(2 * MIB, -1, "free_hugepages", 0);
        d.apply = apply_free(d.apply);
        assert_int_equal(apply_open(d.plan, &d.apply), 0);
        apply_set_host_root(d.apply, root);
        assert_int_equal(journal_size(apply_journal(d.apply)), 1);
        assert_int_equal(pool_step(d.apply, 0)->node, -1);
        assert_int_equal(apply_deployment(d.apply), 0);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 40);
        assert_int_equal(journal_size(apply_journal(d.apply)), 1);

        assert_int_equal(apply_teardown(d.apply), 0);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 2);
        assert_int_equal(journal_size(apply_journal(d.apply)), 0);
        deployment_done(&d);
}

static void test_apply_enough_free(void **state)
{
        struct deployment d = {0};

        make_pool(2 * MIB, -1, 64, 40, 8); /* 32 available */
        deployment_load(&d, "name: huge\nvms:\n" VM("a", "64MiB", "      hugepages: {}\n"));
        assert_int_equal(apply_deployment(d.apply), 0);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 64);
        assert_int_equal(pool_step(d.apply, 0)->pages, 0); /* the marker that it is done */
        assert_int_equal(apply_teardown(d.apply), 0);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 64);
        deployment_done(&d);

        /* Reserved pages are promised to someone: 1 more available is not enough for 32. */
        make_pool(2 * MIB, -1, 64, 40, 9);
        deployment_load(&d, "name: huge\nvms:\n" VM("a", "64MiB", "      hugepages: {}\n"));
        assert_int_equal(apply_deployment(d.apply), 0);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 65);
        assert_int_equal(apply_teardown(d.apply), 0);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 64);
        deployment_done(&d);
}

static void test_apply_two_deployments(void **state)
{
        struct deployment a = {0}, b = {0};

        make_pool(2 * MIB, 0, 0, 0, 0);
        deployment_load(&a, "name: dep-a\nvms:\n" VM("a", "64MiB", "      hugepages: {node: 0}\n"));
        deployment_load(&b, "name: dep-b\nvms:\n" VM("b", "16MiB", "      hugepages: {node: 0}\n"));
        assert_int_equal(apply_deployment(a.apply), 0);
        assert_int_equal(get_value(2 * MIB, 0, "nr_hugepages"), 32);
        /* A's QEMU took its 32 pages; B needs 8 more. */
        assert_int_equal(apply_deployment(b.apply), 0);
        assert_int_equal(get_value(2 * MIB, 0, "nr_hugepages"), 40);
        assert_int_equal(pool_step(b.apply, 0)->pages, 8);
        assert_int_equal(pool_step(b.apply, 0)->node, 0);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 0); /* the node's pool, not the host's */

        /* A stops first: the pool is as vmxrun left it (B grew it), so A's 32 go. */
        assert_int_equal(apply_teardown(a.apply), 0);
        assert_int_equal(get_value(2 * MIB, 0, "nr_hugepages"), 8);
        assert_int_equal(apply_teardown(b.apply), 0);
        assert_int_equal(get_value(2 * MIB, 0, "nr_hugepages"), 0);
        deployment_done(&a);
        deployment_done(&b);
}

static void test_apply_changed_behind_our_back(void **state)
{
        struct deployment d = {0};

        make_pool(2 * MIB, -1, 0, 0, 0);
        deployment_load(&d, "name: huge\nvms:\n" VM("a", "64MiB", "      hugepages: {}\n"));
        assert_int_equal(apply_deployment(d.apply), 0);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 32);
        set_value(2 * MIB, -1, "nr_hugepages", 100); /* not vmxrun */
        assert_int_equal(apply_teardown(d.apply), 0);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 100);
        assert_int_equal(journal_size(apply_journal(d.apply)), 0);
        deployment_done(&d);
}

static void test_apply_failure_rolls_back(void **state)
{
        struct deployment d = {0};

        /* The 2M pool grows, then the host has no 1G pool: the 2M pages go back. */
        make_pool(2 * MIB, -1, 3, 0, 0);
        deployment_load(&d, "name: huge\nvms:\n" VM("a", "64MiB", "      hugepages: {}\n")
                                VM("b", "1GiB", "      hugepages: {page-size: 1G}\n"));
        assert_int_equal(apply_deployment(d.apply), -EOPNOTSUPP);
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 3);
        assert_int_equal(journal_size(apply_journal(d.apply)), 0);
        deployment_done(&d);

        /* The kernel gives fewer pages than asked: nothing stays. */
        make_pool(2 * MIB, -1, 3, 0, 0);
        deployment_load(&d, "name: huge\nvms:\n" VM("a", "64MiB", "      hugepages: {}\n"));
        kernel_cap = 20;
        assert_int_equal(apply_deployment(d.apply), -ENOSPC);
        kernel_cap = -1;
        assert_int_equal(get_value(2 * MIB, -1, "nr_hugepages"), 3);
        assert_int_equal(journal_size(apply_journal(d.apply)), 0);
        deployment_done(&d);
}

static void test_journal_roundtrip(void **state)
{
        struct vx_journal *j = NULL;
        char path[256];

        snprintf(path, sizeof(path), "%s/journal.json", root);
        assert_int_equal(journal_open(path, &j), 0);
        assert_int_equal(
            journal_push(j, &(struct vx_undo){.kind = VX_UNDO_RMDIR, .object = "/dev/hugepages1G"}), 0);
        assert_int_equal(
            journal_push(j, &(struct vx_undo){.kind = VX_UNDO_UMOUNT, .object = "/dev/hugepages1G"}), 0);
        assert_int_equal(
            journal_push(j,
                         &(struct vx_undo){
                             .kind = VX_UNDO_HUGEPAGES, .object = "1G", .node = 1, .pages = 4, .total = 6}),
            0);
        assert_int_equal(journal_push(j, &(struct vx_undo){.kind = VX_UNDO_HUGEPAGES,
                                                           .object = "2M",
                                                           .node = -1,
                                                           .pages = UINT64_C(1) << 40,
                                                           .total = 7}),
                         0);
        j = journal_free(j);
        assert_int_equal(journal_open(path, &j), 0);
        assert_int_equal(journal_size(j), 4);
        assert_int_equal(journal_step(j, 0)->kind, VX_UNDO_RMDIR);
        assert_string_equal(journal_kind_to_string(journal_step(j, 0)->kind), "rmdir");
        assert_int_equal(journal_step(j, 1)->kind, VX_UNDO_UMOUNT);
        assert_string_equal(journal_kind_to_string(journal_step(j, 1)->kind), "umount");
        assert_int_equal(journal_step(j, 2)->node, 1);
        assert_int_equal(journal_step(j, 2)->pages, 4);
        assert_int_equal(journal_step(j, 2)->total, 6);
        assert_int_equal(journal_step(j, 3)->node, -1);
        assert_true(journal_step(j, 3)->pages == UINT64_C(1) << 40);
        assert_string_equal(journal_kind_to_string(VX_UNDO_HUGEPAGES), "hugepages");
        journal_free(j);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
            cmocka_unit_test_setup_teardown(test_pool_read, setup, teardown),
            cmocka_unit_test_setup_teardown(test_grow_shrink, setup, teardown),
            cmocka_unit_test_setup_teardown(test_short_allocation, setup, teardown),
            cmocka_unit_test_setup_teardown(test_concurrent_change, setup, teardown),
            cmocka_unit_test_setup_teardown(test_per_node, setup, teardown),
            cmocka_unit_test_setup_teardown(test_process_kib, setup, teardown),
            cmocka_unit_test_setup_teardown(test_apply_vms_add_up, setup, teardown),
            cmocka_unit_test_setup_teardown(test_apply_enough_free, setup, teardown),
            cmocka_unit_test_setup_teardown(test_apply_two_deployments, setup, teardown),
            cmocka_unit_test_setup_teardown(test_apply_changed_behind_our_back, setup, teardown),
            cmocka_unit_test_setup_teardown(test_apply_failure_rolls_back, setup, teardown),
            cmocka_unit_test_setup_teardown(test_journal_roundtrip, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
#else /* VX_HUGEPAGES_REAL */

/* ---- the host's real 2 MiB pool ---- */

#define REAL_POOL "/sys/kernel/mm/hugepages/hugepages-2048kB"

static char saved_nr[32];      /* nr_hugepages as it was, written back on any exit */
static char saved_node_nr[32]; /* node 0's, when the host has that file */

static void put_back(const char *path, const char *value)
{
        int fd;

        if (!value[0])
                return;
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        if (write(fd, value, strlen(value)) < 0) {
                /* nothing more to do in a handler */
        }
        close(fd);
}

static void restore(void)
{
        put_back("/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages", saved_node_nr);
        put_back(REAL_POOL "/nr_hugepages", saved_nr);
}

static void on_signal(int sig)
{
        restore();
        signal(sig, SIG_DFL);
        raise(sig);
}

static int save(const char *path, char *buf, size_t len)
{
        FILE *f = fopen(path, "re");

        if (!f)
                return -errno;
        if (!fgets(buf, (int)len, f)) {
                fclose(f);
                return -EIO;
        }
        fclose(f);
        return 0;
}

static uint64_t real_value(const char *path)
{
        unsigned long long v = 0;
        FILE *f = fopen(path, "re");

        assert_non_null(f);
        assert_int_equal(fscanf(f, "%llu", &v), 1);
        fclose(f);
        return v;
}

static void test_real_grow_shrink(void **state)
{
        struct vx_hugepage_pool before, grown, after;
        uint64_t total;

        assert_int_equal(hugepages_pool_read(NULL, 2 * MIB, -1, &before), 0);
        assert_int_equal(hugepages_grow(NULL, 2 * MIB, -1, 4, &total), 0);
        assert_int_equal(total, before.total + 4);
        assert_int_equal(hugepages_pool_read("/", 2 * MIB, -1, &grown), 0);
        assert_int_equal(grown.total, before.total + 4);
        assert_int_equal(grown.free, before.free + 4);
        assert_int_equal(hugepages_shrink(NULL, 2 * MIB, -1, 4, total, &total), 0);
        assert_int_equal(total, before.total);
        assert_int_equal(hugepages_pool_read(NULL, 2 * MIB, -1, &after), 0);
        assert_int_equal(after.total, before.total);
        assert_int_equal(after.free, before.free);
        assert_int_equal(real_value(REAL_POOL "/nr_hugepages"), before.total);
}

static void test_real_node0(void **state)
{
        struct vx_hugepage_pool before, host_before, host_grown;
        uint64_t total;

        if (!saved_node_nr[0])
                skip();
        assert_int_equal(hugepages_pool_read(NULL, 2 * MIB, 0, &before), 0);
        assert_int_equal(hugepages_pool_read(NULL, 2 * MIB, -1, &host_before), 0);
        assert_int_equal(hugepages_grow(NULL, 2 * MIB, 0, 3, &total), 0);
        assert_int_equal(total, before.total + 3);
        /* The host's pool is the sum of the nodes'. */
        assert_int_equal(hugepages_pool_read(NULL, 2 * MIB, -1, &host_grown), 0);
        assert_int_equal(host_grown.total, host_before.total + 3);
        assert_int_equal(hugepages_shrink(NULL, 2 * MIB, 0, 3, total, &total), 0);
        assert_int_equal(total, before.total);
        assert_int_equal(real_value(REAL_POOL "/nr_hugepages"), host_before.total);
}

static void test_real_changed_is_left(void **state)
{
        uint64_t total, grown;

        assert_int_equal(hugepages_grow(NULL, 2 * MIB, -1, 2, &grown), 0);
        /* Someone else adds one page: vmxrun's shrink leaves the pool alone. */
        {
                char v[32];
                snprintf(v, sizeof(v), "%" PRIu64 "\n", grown + 1);
                put_back(REAL_POOL "/nr_hugepages", v);
        }
        assert_int_equal(hugepages_shrink(NULL, 2 * MIB, -1, 2, grown, &total), 1);
        assert_int_equal(real_value(REAL_POOL "/nr_hugepages"), grown + 1);
        restore();
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_real_grow_shrink),
            cmocka_unit_test(test_real_node0),
            cmocka_unit_test(test_real_changed_is_left),
        };
        int r, lock_fd;

        if (geteuid() != 0) {
                printf("SKIP: needs root to write %s/nr_hugepages\n", REAL_POOL);
                return 77;
        }
        /* One hugepage test at a time on this host (test_hugepages_e2e.sh takes the same lock). */
        lock_fd = open("/run/vmxrun-hugepages-test.lock", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0) {
                printf("SKIP: cannot lock /run/vmxrun-hugepages-test.lock: %s\n", strerror(errno));
                return 77;
        }
        if (save(REAL_POOL "/nr_hugepages", saved_nr, sizeof(saved_nr)) < 0) {
                printf("SKIP: this host has no 2 MiB hugepage pool (%s)\n", REAL_POOL);
                return 77;
        }
        if (access(REAL_POOL "/nr_hugepages", W_OK) < 0) {
                printf("SKIP: %s/nr_hugepages is read-only here (a container?)\n", REAL_POOL);
                return 77;
        }
        (void)save("/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages", saved_node_nr,
                   sizeof(saved_node_nr));
        atexit(restore);
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        signal(SIGABRT, on_signal);
        r = cmocka_run_group_tests(tests, NULL, NULL);
        restore();
        return r;
}
#endif /* VX_HUGEPAGES_REAL */
