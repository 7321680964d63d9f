/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmx.conf import (profiles/import/): each case in tests/import/ is one or
 * more vmx.conf files (and perhaps a vmx-junosdev.conf) beside the profile
 * the import must write (CASE.yaml) and the diagnostics it must give
 * (CASE.err), compared with a diff on failure; VX_UPDATE_GOLDEN=1 rewrites
 * them. The profiles written must load and validate, and the seed's three
 * deployments must plan to the command lines of the golden profiles
 * (tests/golden/NAME.args), option by option, apart from the differences
 * listed in legit_difference() with their reasons.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "argv.h"
#include "cleanup.h"
#include "facts.h"
#include "import-internal.h"
#include "plan.h"
#include "profile.h"
#include "qemuargs.h"
#include "vmxconf.h"

#define MAX_CONFS 3

struct import_case {
        const char *name;                 /* tests/import/NAME.yaml and NAME.err */
        const char *confs[MAX_CONFS + 1]; /* NULL-terminated, relative to tests/import/ */
        const char *junosdev;
        const char *deployment;           /* --name */
        bool fails;                       /* errors expected: no .yaml */
};

static const struct import_case cases[] = {
        /* The seed's own files. */
        {.name = "seed-virtio", .confs = {"seed-virtio.vmx.conf"}},
        {.name = "seed-sriov", .confs = {"seed-sriov.vmx.conf"}},
        {.name = "seed-template", .confs = {"seed-template.vmx.conf"}},
        {.name = "seed-two",
         .confs = {"seed-two.vmx.conf.1", "seed-two.vmx.conf.2"},
         .junosdev = "seed-two.vmx-junosdev.conf",
         .deployment = "vmx12"},
        {.name = "seed-link4", .confs = {"seed-virtio.vmx.conf"}, .junosdev = "seed-link4.vmx-junosdev.conf"},
        /* Written from the format's documentation. */
        {.name = "pass-minimal", .confs = {"pass-minimal.vmx.conf"}},
        {.name = "pass-lite-many", .confs = {"pass-lite-many.vmx.conf"}},
        {.name = "pass-warnings", .confs = {"pass-warnings.vmx.conf"}},
        {.name = "pass-sriov-2m", .confs = {"pass-sriov-2m.vmx.conf"}},
        {.name = "fail-types", .confs = {"fail-types.vmx.conf"}, .fails = true},
        {.name = "fail-missing", .confs = {"fail-missing.vmx.conf"}, .fails = true},
        {.name = "fail-syntax", .confs = {"fail-syntax.vmx.conf"}, .fails = true},
        {.name = "fail-cross", .confs = {"seed-virtio.vmx.conf", "fail-cross.vmx.conf"}, .fails = true},
        /* Only the first sets host-management-interface (this crashed: strcmp on NULL in cross_check). */
        {.name = "fail-mgmt-one", .confs = {"seed-virtio.vmx.conf", "fail-mgmt-one.vmx.conf"}, .fails = true},
        {.name = "fail-junosdev", .confs = {"seed-virtio.vmx.conf"}, .junosdev = "fail-junosdev.conf", .fails = true},
};

static bool update_golden(void)
{
        const char *e = getenv("VX_UPDATE_GOLDEN");
        return e && strcmp(e, "1") == 0;
}

static char *read_text(const char *path)
{
        char *text = NULL;
        size_t len = 0;

        if (vmxconf_read_file(path, &text, &len) < 0)
                return NULL;
        return text;
}

static void write_text(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

/* Compares text with the golden file; on a difference prints `diff -u` and fails. */
static void check_golden(const char *golden, const char *text)
{
        _cleanup_free_ char *expected = NULL, *actual_path = NULL;
        pid_t pid;
        int status;

        if (update_golden()) {
                write_text(golden, text);
                print_message("updated %s\n", golden);
                return;
        }
        expected = read_text(golden);
        if (expected && strcmp(expected, text) == 0)
                return;
        assert_true(asprintf(&actual_path, "%s/import-actual-%d", VX_BINARY_DIR, getpid()) > 0);
        write_text(actual_path, text);
        pid = fork();
        if (pid == 0) {
                execlp("diff", "diff", "-u", golden, actual_path, (char *)NULL);
                _exit(127);
        }
        if (pid > 0)
                waitpid(pid, &status, 0);
        unlink(actual_path);
        fail_msg("%s differs from the import's output (VX_UPDATE_GOLDEN=1 rewrites it)", golden);
}

static char *diags_text(const struct vx_diags *d)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        diag_print(d, f);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static int run_case(const struct import_case *c, char **ret_text, struct vx_diags *diags)
{
        const char *paths[MAX_CONFS];
        char buf[MAX_CONFS][256], jbuf[256];
        struct vx_import_options opts = {.name = c->deployment}; /* pinning: auto, as `vmxrun import` */
        size_t n = 0;

        for (; c->confs[n]; n++) {
                snprintf(buf[n], sizeof(buf[n]), "tests/import/%s", c->confs[n]);
                paths[n] = buf[n];
        }
        if (c->junosdev)
                snprintf(jbuf, sizeof(jbuf), "tests/import/%s", c->junosdev);
        return vmxconf_import_files(paths, n, c->junosdev ? jbuf : NULL, &opts, diags, ret_text);
}

static void test_case(void **state)
{
        const struct import_case *c = *state;
        _cleanup_free_ char *text = NULL, *err = NULL, *golden = NULL;
        struct vx_diags diags = {0};
        int r;

        r = run_case(c, &text, &diags);
        err = diags_text(&diags);
        assert_true(asprintf(&golden, "tests/import/%s.err", c->name) > 0);
        check_golden(golden, err);
        free(golden);
        golden = NULL;
        if (c->fails) {
                assert_int_equal(r, -EINVAL);
                assert_true(diag_has_errors(&diags));
                assert_null(text);
        } else {
                struct vx_profile *p = NULL;
                struct vx_diags pd = {0};

                assert_int_equal(r, 0);
                assert_false(diag_has_errors(&diags));
                assert_true(asprintf(&golden, "tests/import/%s.yaml", c->name) > 0);
                check_golden(golden, text);
                /* What `vmxrun validate` checks. */
                assert_int_equal(profile_load_string(golden, text, strlen(text), &pd, &p), 0);
                assert_int_equal(diag_count(&pd, VX_DIAG_WARNING) + diag_count(&pd, VX_DIAG_ERROR), 0);
                profile_free(p);
                diag_done(&pd);
        }
        diag_done(&diags);
}

/* --- option by option against the golden command lines --- */

/* The argv of one VM in a golden .args file: the lines after "# VM: accel" up to a blank line. */
static void golden_argv(const char *file, const char *vm, struct vx_argv *ret)
{
        _cleanup_free_ char *text = read_text(file), *cmd = calloc(1, text ? strlen(text) + 1 : 1);
        char header[128];
        const char *s;
        size_t off = 0;

        assert_non_null(text);
        snprintf(header, sizeof(header), "\n# %s: accel", vm);
        s = strstr(text, header);
        assert_non_null(s);
        for (s++; *s && *s != '\n';) {
                const char *eol = strchr(s, '\n');
                size_t n = eol ? (size_t)(eol - s) : strlen(s);
                if (n == 0)
                        break;
                if (s[0] != '#')
                        strncat(strncat(cmd, s, n), "\n", 2);
                s += n + (eol ? 1 : 0);
                if (*s == '\n')
                        break;
        }
        assert_int_equal(qa_split_shell(cmd, ret, &off), 0);
}

/* argv grouped into options: "-opt value value", argv[0] alone. */
static size_t group(const struct vx_argv *a, char ***ret)
{
        char **g = calloc(a->n + 1, sizeof(char *));
        size_t n = 0;

        assert_non_null(g);
        for (size_t i = 0; i < a->n; i++) {
                if (i == 0 || a->items[i][0] == '-')
                        g[n++] = strdup(a->items[i]);
                else {
                        char *j;
                        assert_true(asprintf(&j, "%s %s", g[n - 1], a->items[i]) > 0);
                        free(g[n - 1]);
                        g[n - 1] = j;
                }
        }
        *ret = g;
        return n;
}

/* Removes the first ",KEY=VALUE" (or "KEY=VALUE,") whose value starts with prefix; in place. */
static void drop_prop(char *s, const char *key, const char *prefix)
{
        char pat[64], *p;

        snprintf(pat, sizeof(pat), "%s=%s", key, prefix);
        p = strstr(s, pat);
        if (!p)
                return;
        {
                char *end = strchr(p, ',');
                if (p > s && p[-1] == ',')
                        p--;
                else if (end)
                        end++;
                memmove(p, end ? end : p + strlen(p), strlen(end ? end : p + strlen(p)) + 1);
        }
}

/*
 * Why an option may legitimately differ between the golden profile (written
 * by hand from the seed's running QEMU) and the import (from vmx.conf alone).
 * NULL: it may not.
 */
/* Whether mine MiB is golden "MB" as libvirt read it (10^6 bytes, rounded up; then to 2 MiB pages when even is needed). */
static bool is_libvirt_mb(unsigned long golden, unsigned long mine)
{
        unsigned long mib = (unsigned long)((golden * 1000000ULL + (1ULL << 20) - 1) >> 20);
        return mine == mib || mine == (mib + 1) / 2 * 2;
}

static const char *legit_difference(const char *golden, const char *mine)
{
        _cleanup_free_ char *g = strdup(golden), *m = strdup(mine);
        unsigned long gm, mm;
        const char *gs, *ms;

        if (sscanf(golden, "-m %luM", &gm) == 1 && sscanf(mine, "-m %luM", &mm) == 1 && is_libvirt_mb(gm, mm))
                return "libvirt read vmx.conf's memory-mb as 10^6 bytes (unit=\"Mb\"): the import keeps what the "
                       "seed's guests ran with (-m 1954, -m 15625 in the ps lines)";
        gs = strstr(golden, ",size=");
        ms = strstr(mine, ",size=");
        if (strncmp(g, "-object memory-backend", 22) == 0 && gs && ms && sscanf(gs, ",size=%luM", &gm) == 1 &&
            sscanf(ms, ",size=%luM", &mm) == 1 && is_libvirt_mb(gm, mm)) {
                drop_prop(g, "size", "");
                drop_prop(m, "size", "");
                drop_prop(g, "host-nodes", "");
                drop_prop(g, "policy", "");
                if (strcmp(g, m) == 0)
                        return "the memory backend: memory-mb as libvirt read it (10^6 bytes), in 2 MiB pages";
                drop_prop(g, "mem-path", "/dev/hugepages1G");
                drop_prop(m, "mem-path", "/dev/hugepages");
                if (strcmp(g, m) == 0)
                        return "the memory backend: memory-mb as libvirt read it (10^6 bytes), in 2 MiB pages as on "
                               "the seed's host (the example profile has 1 GiB ones; import --hugepages 1G)";
        }

        if (strncmp(g, "-cpu SandyBridge", 16) == 0 && strcmp(m, "-cpu host") == 0)
                return "vmx.sh asked for <cpu mode=\"host-model\">; the golden profile has the model libvirt "
                       "expanded that to on the seed's Sandy Bridge host";
        if (strncmp(g, "-drive ", 7) == 0 && strncmp(m, "-drive ", 7) == 0) {
                const char *gb = strrchr(strtok(g + 13, ","), '/'), *mb = strrchr(strtok(m + 13, ","), '/');
                if (gb && mb && strcmp(gb, mb) == 0 && strcmp(golden + strcspn(golden, ","),
                                                              mine + strcspn(mine, ",")) == 0)
                        return "vmx.sh copied the images into build/<identifier>/images and the golden profile "
                               "names the copies; the import names the files vmx.conf names";
                return NULL;
        }
        if (strncmp(g, "-device virtio-net-pci", 22) == 0) {
                drop_prop(g, "mac", "52:54:00:");
                drop_prop(m, "mac", "52:54:00:");
                if (strcmp(g, m) == 0)
                        return "an internal NIC: libvirt gave it a random MAC, the import derives one from the "
                               "identifier";
                drop_prop(m, "host_mtu", "");
                if (strcmp(g, m) == 0)
                        return "the tap has the mtu of its vmx-junosdev.conf link, which the golden profile "
                               "leaves out";
                return NULL;
        }
        if (strncmp(g, "-object memory-backend-file", 27) == 0) {
                drop_prop(g, "host-nodes", "");
                drop_prop(g, "policy", "");
                if (strcmp(g, m) == 0)
                        return "the VFP's NUMA node is a fact of the seed's host, not in vmx.conf (a warning "
                               "says so)";
        }
        return NULL;
}

static void compare_vm(const struct vx_plan *plan, const char *golden_file, const char *vm, unsigned *ret_legit)
{
        const struct vx_vm_plan *vp = plan_find_vm(plan, vm);
        struct vx_argv gold = {0};
        char **g = NULL, **m = NULL;
        size_t ng, nm, i = 0, j = 0;

        assert_non_null(vp);
        golden_argv(golden_file, vm, &gold);
        ng = group(&gold, &g);
        nm = group(&vp->argv, &m);
        while (i < ng || j < nm) {
                const char *why;

                if (i < ng && j < nm && strcmp(g[i], m[j]) == 0) {
                        i++, j++;
                        continue;
                }
                if (i < ng && strncmp(g[i], "-uuid ", 6) == 0) {
                        print_message("  %s: %s: only in the golden profile: libvirt generated a UUID, vmx.conf "
                                      "has none\n", vm, g[i]);
                        (*ret_legit)++;
                        i++;
                        continue;
                }
                if (i < ng && j < nm && (why = legit_difference(g[i], m[j]))) {
                        print_message("  %s: %.40s...: %s\n", vm, g[i], why);
                        (*ret_legit)++;
                        i++, j++;
                        continue;
                }
                fail_msg("%s: option %zu differs from %s:\n  golden: %s\n  import: %s", vm, j, golden_file,
                         i < ng ? g[i] : "(none)", j < nm ? m[j] : "(none)");
        }
        for (i = 0; i < ng; i++)
                free(g[i]);
        for (j = 0; j < nm; j++)
                free(m[j]);
        free(g);
        free(m);
        vx_argv_done(&gold);
}

struct golden_case {
        const char *import_case;
        const char *golden;       /* tests/golden/NAME.args */
        const char *vms[5];
};

static const struct golden_case goldens[] = {
        {.import_case = "seed-virtio", .golden = "tests/golden/vmx-virtio.args", .vms = {"vcp-vmx1", "vfp-vmx1"}},
        {.import_case = "seed-sriov", .golden = "tests/golden/vmx-sriov.args", .vms = {"vcp-vmx1", "vfp-vmx1"}},
        {.import_case = "seed-two", .golden = "tests/golden/vmx-two-instances.args",
         .vms = {"vcp-vmx1", "vfp-vmx1", "vcp-vmx2", "vfp-vmx2"}},
};

static void test_golden_argv(void **state)
{
        const struct golden_case *gc = *state;
        const struct import_case *c = NULL;
        _cleanup_free_ char *text = NULL;
        struct vx_diags diags = {0};
        struct vx_profile *p = NULL;
        struct vx_host_facts *facts = NULL;
        struct vx_plan *plan = NULL;
        struct vx_plan_options opts = {0};
        unsigned legit = 0;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (strcmp(cases[i].name, gc->import_case) == 0)
                        c = &cases[i];
        assert_non_null(c);
        assert_int_equal(run_case(c, &text, &diags), 0);
        assert_int_equal(profile_load_string("imported", text, strlen(text), &diags, &p), 0);
        assert_int_equal(host_facts_gather("tests/fixtures/host-sriov", &facts), 0);
        assert_int_equal(plan_build(p, facts, &opts, &plan), 0);
        for (size_t i = 0; gc->vms[i]; i++)
                compare_vm(plan, gc->golden, gc->vms[i], &legit);
        print_message("%s: %u legitimate differences, every other option identical\n", gc->golden, legit);
        plan_free(plan);
        host_facts_free(facts);
        profile_free(p);
        diag_done(&diags);
}

/* --- small pieces --- */

static void test_detect(void **state)
{
        static const char profile[] = "name: demo\nvms:\n  - name: a\n    memory: {size: 1G}\n";
        static const char conf[] = "---\nHOST:\n    identifier: vmx1\n---\nBRIDGES: []\n";
        static const char only_vfp[] = "# comment\n---\nFORWARDING_PLANE:\n  vcpus: 3\n";
        static const char garbage[] = "HOST: [\n";

        assert_false(vmxconf_detect(profile, strlen(profile)));
        assert_true(vmxconf_detect(conf, strlen(conf)));
        assert_true(vmxconf_detect(only_vfp, strlen(only_vfp)));
        assert_false(vmxconf_detect(garbage, strlen(garbage)));
        assert_false(vmxconf_detect("", 0));
}

static void test_mac(void **state)
{
        bool repaired = true;
        char *m;

        m = imp_mac_parse("0A:00:DD:C0:DE:0E", &repaired);
        assert_string_equal(m, "0a:00:dd:c0:de:0e");
        assert_false(repaired);
        free(m);
        m = imp_mac_parse("02:04.17:01:02:01", &repaired);
        assert_string_equal(m, "02:04:17:01:02:01");
        assert_true(repaired);
        free(m);
        assert_null(imp_mac_parse("02:04:17:01:02", &repaired));
        assert_null(imp_mac_parse("02:04:17:01:02:0g", &repaired));
        assert_null(imp_mac_parse("02:04:17:01:02:011", &repaired));
}

int main(void)
{
        struct CMUnitTest tests[ELEMENTSOF(cases) + ELEMENTSOF(goldens) + 2];
        size_t n = 0;

        if (chdir(VX_SOURCE_ROOT) < 0) {
                perror(VX_SOURCE_ROOT);
                return 1;
        }
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                tests[n++] = (struct CMUnitTest){.name = cases[i].name, .test_func = test_case,
                                                 .initial_state = (void *)&cases[i]};
        for (size_t i = 0; i < ELEMENTSOF(goldens); i++)
                tests[n++] = (struct CMUnitTest){.name = goldens[i].golden, .test_func = test_golden_argv,
                                                 .initial_state = (void *)&goldens[i]};
        tests[n++] = (struct CMUnitTest){.name = "detect", .test_func = test_detect};
        tests[n++] = (struct CMUnitTest){.name = "mac", .test_func = test_mac};
        return _cmocka_run_group_tests("import", tests, n, NULL, NULL);
}
