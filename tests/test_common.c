/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "argv.h"
#include "cleanup.h"
#include "cpuset.h"

static void test_cpuset_parse_format(void **state)
{
        struct vx_cpuset set;
        _cleanup_free_ char *list = NULL, *mask = NULL;

        assert_int_equal(vx_cpuset_parse("3,0-1, 8-10,9", &set), 0);
        assert_int_equal(vx_cpuset_count(&set), 6);
        assert_true(vx_cpuset_isset(&set, 0));
        assert_false(vx_cpuset_isset(&set, 2));
        assert_int_equal(vx_cpuset_last(&set), 10);
        list = vx_cpuset_format(&set);
        assert_string_equal(list, "0-1,3,8-10");
        mask = vx_cpuset_format_mask(&set, 12);
        assert_string_equal(mask, "yy-y----yyy-");
}

static void test_cpuset_parse_errors(void **state)
{
        struct vx_cpuset set;

        assert_int_equal(vx_cpuset_parse("", &set), -EINVAL);
        assert_int_equal(vx_cpuset_parse("3-1", &set), -EINVAL);
        assert_int_equal(vx_cpuset_parse("1,,2", &set), -EINVAL);
        assert_int_equal(vx_cpuset_parse("1-", &set), -EINVAL);
        assert_int_equal(vx_cpuset_parse("a", &set), -EINVAL);
        assert_int_equal(vx_cpuset_parse("4096", &set), -ERANGE);
        assert_int_equal(vx_cpuset_parse("99999999999999999999", &set), -ERANGE);
        assert_int_equal(vx_cpuset_parse("4095", &set), 0);
        assert_int_equal(vx_cpuset_last(&set), 4095);
}

static void test_cpuset_empty(void **state)
{
        struct vx_cpuset set = {0};
        _cleanup_free_ char *list = vx_cpuset_format(&set);

        assert_string_equal(list, "");
        assert_int_equal(vx_cpuset_last(&set), -1);
        assert_int_equal(vx_cpuset_count(&set), 0);
}

static void test_argv(void **state)
{
        struct vx_argv a = {0};

        for (int i = 0; i < 100; i++)
                assert_int_equal(vx_argv_appendf(&a, "-opt%d", i), 0);
        assert_int_equal(vx_argv_append(&a, "last"), 0);
        assert_int_equal(a.n, 101);
        assert_string_equal(a.items[42], "-opt42");
        assert_null(a.items[101]);
        vx_argv_done(&a);
        assert_int_equal(a.n, 0);
        assert_null(a.items);
}

static void test_shell_quote(void **state)
{
        static const struct {
                const char *in, *out;
        } cases[] = {
                {"plain", "plain"},
                {"file=/a/b.img,if=none", "file=/a/b.img,if=none"},
                {"", "''"},
                {"a b", "'a b'"},
                {"{\"driver\":\"x\"}", "'{\"driver\":\"x\"}'"},
                {"it's", "'it'\\''s'"},
                {"$HOME", "'$HOME'"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *q = vx_shell_quote(cases[i].in);
                assert_string_equal(q, cases[i].out);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cpuset_parse_format),
                cmocka_unit_test(test_cpuset_parse_errors),
                cmocka_unit_test(test_cpuset_empty),
                cmocka_unit_test(test_argv),
                cmocka_unit_test(test_shell_quote),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
