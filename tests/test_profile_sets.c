/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --set PATH=VALUE (profiles/lib/sets.c): values over a profile's own, checked as the file's are. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diag.h"
#include "profile.h"

#define TWO_VMS                                                                                                        \
        "name: t\n"                                                                                                    \
        "vms:\n"                                                                                                       \
        "  - name: a\n"                                                                                                \
        "    memory: {size: 1G, hugepages: {page-size: 1G}}\n"                                                         \
        "    nics:\n"                                                                                                  \
        "      - {type: tap, tap: t0, bridge: br0}\n"                                                                  \
        "  - name: b\n"                                                                                                \
        "    vcpus: 2\n"                                                                                               \
        "    memory:\n"                                                                                                \
        "      size: 512M\n"

static int load(const char *const *sets, size_t n, struct vx_diags *d, struct vx_profile **ret)
{
        struct vx_profile_sets s = {.items = sets, .n = n};

        *ret = NULL;
        return profile_load_string_with("t.yaml", TWO_VMS, strlen(TWO_VMS), &s, d, ret);
}

static struct vx_profile *expect_valid(const char *const *sets, size_t n)
{
        struct vx_diags d = {};
        struct vx_profile *p;
        int r = load(sets, n, &d, &p);

        diag_print(&d, stderr);
        assert_int_equal(r, 0);
        assert_int_equal(d.n, 0);
        diag_done(&d);
        return p;
}

/* One error, from file, at path, its message holding msg. */
static void expect_error(const char *const *sets, size_t n, const char *file, const char *path, const char *msg)
{
        struct vx_diags d = {};
        struct vx_profile *p;
        int r = load(sets, n, &d, &p);

        if (d.n != 1 || strcmp(d.items[0].file, file) != 0 || strcmp(d.items[0].path, path) != 0 ||
            !strstr(d.items[0].message, msg)) {
                fprintf(stderr, "expected %s: error: %s: ...%s..., got:\n", file, path, msg);
                diag_print(&d, stderr);
        }
        assert_int_equal(r, -EINVAL);
        assert_null(p);
        assert_int_equal(d.n, 1);
        assert_string_equal(d.items[0].file, file);
        assert_string_equal(d.items[0].path, path);
        assert_non_null(strstr(d.items[0].message, msg));
        assert_int_equal(d.items[0].line, 0);
        diag_done(&d);
}

static void test_by_name_and_index(void **state)
{
        static const char *const sets[] = {"vms.b.memory.size=2GiB", "vms.0.vcpus=3"};
        struct vx_profile *p = expect_valid(sets, 2);

        (void)state;
        assert_int_equal(p->vms[1].memory.size, 2ULL << 30);
        assert_int_equal(p->vms[0].vcpus, 3);
        assert_int_equal(p->vms[1].vcpus, 2); /* the file's, untouched */
        assert_int_equal(p->vms[0].memory.size, 1ULL << 30);
        profile_free(p);
}

static void test_every_item_and_later_wins(void **state)
{
        static const char *const sets[] = {"vms.*.accel=tcg", "vms.*.vcpus=4", "vms.a.vcpus=1"};
        struct vx_profile *p = expect_valid(sets, 3);

        (void)state;
        for (size_t i = 0; i < 2; i++)
                assert_int_equal(p->vms[i].accel, VX_ACCEL_TCG);
        assert_int_equal(p->vms[0].vcpus, 1);
        assert_int_equal(p->vms[1].vcpus, 4);
        profile_free(p);
}

static void test_missing_parents_are_added(void **state)
{
        static const char *const sets[] = {"vms.b.memory.hugepages.page-size=2M", "vms.b.memory.hugepages.node=0"};
        struct vx_profile *p = expect_valid(sets, 2);

        (void)state;
        assert_true(p->vms[1].memory.hugepages);
        assert_int_equal(p->vms[1].memory.page_size, 2ULL << 20);
        assert_int_equal(p->vms[1].memory.node, 0);
        profile_free(p);
}

static void test_yaml_values(void **state)
{
        /* A flow list for a list key, a flow mapping for a mapping, and ~ removes a key (no hugepages). */
        static const char *const sets[] = {
                "vms.b.pinning={vcpus: [\"1\", \"0\"], emulator: \"0-1\"}", "vms.a.memory.hugepages=~",
                "vms.a.nics=[{type: tap, tap: t1, bridge: br0}, {type: tap, tap: t2, bridge: br0}]"};
        struct vx_profile *p = expect_valid(sets, 3);

        (void)state;
        assert_false(p->vms[0].memory.hugepages);
        assert_int_equal(p->vms[0].n_nics, 2);
        assert_int_equal(p->vms[1].pinning.n_vcpus, 2);
        assert_true(p->vms[1].pinning.has_emulator);
        profile_free(p);
}

/* null removes a list item as well; removing what is not there changes nothing. */
static void test_remove(void **state)
{
        static const char *const sets[] = {"vms.a=null", "vms.0.balloon=~"};
        struct vx_profile *p = expect_valid(sets, 2);

        (void)state;
        assert_int_equal(p->n_vms, 1);
        assert_string_equal(p->vms[0].name, "b");
        profile_free(p);
}

static void test_bad_paths(void **state)
{
        (void)state;
        expect_error((const char *const[]){"vms.c.vcpus=2"}, 1, "--set", "vms.c", "no item of this list has name: c");
        expect_error((const char *const[]){"vms.2.vcpus=2"}, 1, "--set", "vms.2", "the list has 2");
        expect_error((const char *const[]){"name.x=1"}, 1, "--set", "name", "is a scalar, not a mapping or list");
        expect_error((const char *const[]){"vms..vcpus=1"}, 1, "--set", "vms.", "an empty step");
        expect_error((const char *const[]){"vcpus"}, 1, "--set", "", "not KEY.PATH=VALUE");
        expect_error((const char *const[]){"=1"}, 1, "--set", "", "not KEY.PATH=VALUE");
        expect_error((const char *const[]){"vms.a.vcpus="}, 1, "--set", "vms.a.vcpus", "no value after '='");
        expect_error((const char *const[]){"vms.a.\xbe\xbe=1"}, 1, "--set", "", "holds a byte (0xbe)");
        expect_error((const char *const[]){"vms.a b=1"}, 1, "--set", "", "holds a byte (0x20)");
        expect_error((const char *const[]){"vms.a.nics.0.x.y=1"}, 1, "--set", "vms[0].nics[0].x", "unknown key");
}

/* A value that parses but is wrong for its key is the model's error, said to come from --set, not the file. */
static void test_bad_values(void **state)
{
        (void)state;
        expect_error((const char *const[]){"vms.a.memory.size=lots"}, 1, "--set", "vms[0].memory.size",
                     "expected a size");
        expect_error((const char *const[]){"vms.b.memroy=1"}, 1, "--set", "vms[1].memroy", "unknown key 'memroy'");
}

/* The file's own errors keep their file:line:column. */
static void test_file_errors_keep_their_place(void **state)
{
        static const char *const sets[] = {"vms.a.vcpus=2"};
        static const char text[] = "name: t\nvms:\n  - name: a\n    memory: {size: 1G}\n    vcpu: 2\n";
        struct vx_profile_sets s = {.items = sets, .n = 1};
        struct vx_diags d = {};
        struct vx_profile *p = NULL;

        (void)state;
        assert_int_equal(profile_load_string_with("t.yaml", text, strlen(text), &s, &d, &p), -EINVAL);
        assert_int_equal(d.n, 1);
        assert_string_equal(d.items[0].file, "t.yaml");
        assert_int_equal(d.items[0].line, 5);
        assert_int_equal(d.items[0].column, 5);
        diag_done(&d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_by_name_and_index),
                cmocka_unit_test(test_every_item_and_later_wins),
                cmocka_unit_test(test_missing_parents_are_added),
                cmocka_unit_test(test_yaml_values),
                cmocka_unit_test(test_remove),
                cmocka_unit_test(test_bad_paths),
                cmocka_unit_test(test_bad_values),
                cmocka_unit_test(test_file_errors_keep_their_place),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
