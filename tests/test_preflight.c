/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pre-flight (host/preflight.c, launcher/preflight.c) on copies of
 * tests/fixtures/host-sriov changed per case: CPU flags, CPUs offline,
 * hugepage pools per node, files QEMU cannot open, a running deployment
 * that holds a tap, a port and a CPU.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "control.h"
#include "launcher.h"
#include "preflight.h"
#include "runtime.h"

#define FIXTURE VX_SOURCE_ROOT "/tests/fixtures/host-sriov"

static char T[256];    /* a copy of the fixture */
static char RT[300];   /* the runtime root */
static char DIR_[300]; /* files for disks */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
        char cmd[2048];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        assert_int_equal(system(cmd), 0);
}

static void put(const char *rel, const char *text)
{
        char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s%s", T, rel);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static int setup(void **state)
{
        (void)state;
        snprintf(T, sizeof(T), "/tmp/vx-preflight-XXXXXX");
        if (!mkdtemp(T))
                return -1;
        snprintf(RT, sizeof(RT), "%s/run", T);
        snprintf(DIR_, sizeof(DIR_), "%s/images", T);
        sh("cp -a '%s/.' '%s/' && mkdir -p '%s' '%s'", FIXTURE, T, RT, DIR_);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        sh("rm -rf '%s'", T);
        return 0;
}

/* Whether rel exists in the fixture copy. */
static bool there(const char *rel)
{
        char path[512];

        snprintf(path, sizeof(path), "%s%s", T, rel);
        return access(path, F_OK) == 0;
}

struct run {
        struct vx_profile *profile;
        struct vx_plan *plan;
        struct vx_checks checks;
};

static void run_done(struct run *r)
{
        checks_done(&r->checks);
        plan_free(r->plan);
        profile_free(r->profile);
}

/* Loads text (a profile), plans it on the fixture copy and runs the pre-flight (as doctor, or as start). */
static void preflight_flags(const char *text, const char *qemu_user, unsigned flags, struct run *ret)
{
        struct vx_plan_options opts = {.runtime_dir = RT, .qemu_user = qemu_user};
        struct vx_host_facts *facts = NULL;
        struct vx_diags diags = {};

        *ret = (struct run){0};
        assert_int_equal(profile_load_string("test.yaml", text, strlen(text), &diags, &ret->profile), 0);
        diag_done(&diags);
        assert_int_equal(host_facts_gather(T, &facts), 0);
        assert_int_equal(plan_build(ret->profile, facts, &opts, &ret->plan), 0);
        host_facts_free(facts);
        assert_int_equal(launcher_preflight(ret->profile, ret->plan, T, flags, &ret->checks), 0);
}

static void preflight(const char *text, const char *qemu_user, struct run *ret)
{
        preflight_flags(text, qemu_user, VX_PREFLIGHT_QEMU_VERSION, ret);
}

/* The n-th result with that id and subject (subject NULL: any), or NULL. */
static const struct vx_check *find(const struct run *r, const char *id, const char *subject)
{
        for (size_t i = 0; i < r->checks.n; i++)
                if (strcmp(r->checks.items[i].id, id) == 0 &&
                    (!subject || strcmp(r->checks.items[i].subject, subject) == 0))
                        return &r->checks.items[i];
        return NULL;
}

static const char *const TCG_VM = "name: t\n"
                                  "vms:\n"
                                  "  - name: a\n"
                                  "    accel: tcg\n"
                                  "    memory:\n"
                                  "      size: 64MiB\n";

static void test_host_facts(void **state)
{
        _cleanup_free_ char *flags = NULL, *cmdline = NULL;
        struct vx_cpuset online;
        char version[256];
        unsigned v = 0;
        int r;

        (void)state;
        assert_int_equal(host_cpu_flags(FIXTURE, &flags), 0);
        assert_true(host_flags_have(flags, "vmx"));
        assert_true(host_flags_have(flags, "rdrand"));
        assert_true(host_flags_have(flags, "fpu")); /* the first word */
        assert_false(host_flags_have(flags, "vm"));
        assert_false(host_flags_have(flags, "svm"));
        assert_int_equal(host_cpus_read(FIXTURE, "online", &online), 0);
        assert_int_equal(vx_cpuset_count(&online), 16);
        assert_int_equal(host_cpus_read(FIXTURE, "present", &online), -ENOENT);
        assert_int_equal(host_kernel_cmdline(FIXTURE, &cmdline), 0);
        assert_true(host_cmdline_has(cmdline, "intel_iommu=on"));
        assert_false(host_cmdline_has(cmdline, "iommu=on"));
        assert_int_equal(host_cpu_flags("/nonexistent", &flags), -ENOENT);
        assert_int_equal(host_qemu_version("/nonexistent/qemu", version, sizeof(version), &v), -ENOENT);
        r = host_qemu_version("/usr/bin/qemu-system-x86_64", version, sizeof(version), &v);
        if (r == 0) {
                assert_non_null(strstr(version, "QEMU emulator version"));
                assert_true(v >= 10000);
        }
}

/* The fixture host and the seed's vMX: every check of issue 12 is reported. */
static void test_vmx_sriov_reports_every_check(void **state)
{
        static const char *const ids[] = {"plan",        "qemu",   "cpu-virtualization", "kvm",
                                          "cpu-feature", "cpus",   "hugepages",          "hugetlbfs",
                                          "memlock",     "iommu",  "iommu-cmdline",      "interrupt-remapping",
                                          "vfio-pci",    "tun",    "vhost-net",          "file",
                                          "deployment",  "running"};
        _cleanup_free_ char *text = NULL;
        struct vx_diags diags = {};
        struct vx_profile *p = NULL;
        struct run r;
        FILE *f;
        long n;

        (void)state;
        assert_int_equal(profile_load(VX_SOURCE_ROOT "/profiles/vmx-sriov.yaml", &diags, &p), 0);
        profile_free(p);
        diag_done(&diags);
        f = fopen(VX_SOURCE_ROOT "/profiles/vmx-sriov.yaml", "re");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        text = calloc(1, (size_t)n + 1);
        assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        preflight(text, NULL, &r);
        for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                assert_non_null(find(&r, ids[i], NULL));
        /* Ivy Bridge fixture: rdrand and pdpe1gb are there, the virtualization flag too. */
        assert_int_equal(find(&r, "cpu-feature", "rdrand")->status, VX_CHECK_OK);
        assert_int_equal(find(&r, "cpu-virtualization", "vmx")->status, VX_CHECK_OK);
        assert_int_equal(find(&r, "iommu-cmdline", NULL)->status, VX_CHECK_OK);
        /* Without iommu_groups in the fixture, passthrough cannot work. */
        if (!there("/sys/kernel/iommu_groups"))
                assert_int_equal(find(&r, "iommu", NULL)->status, VX_CHECK_FAIL);
        /* Without node1 in the fixture, the VFP's memory (node: 1) has no pool. */
        if (!there("/sys/devices/system/node/node1"))
                assert_int_equal(find(&r, "hugepages", NULL)->status, VX_CHECK_FAIL);
        assert_string_equal(find(&r, "hugepages", NULL)->key, "vms[1].memory.hugepages");
        /* The seed's images are not on this machine. */
        assert_int_equal(find(&r, "file", NULL)->status, VX_CHECK_FAIL);
        assert_string_equal(find(&r, "file", NULL)->key, "vms[0].disks[0].file");
        run_done(&r);
}

static void test_cpu_features(void **state)
{
        static const char *const kvm_vm = "name: t\n"
                                          "vms:\n"
                                          "  - name: a\n"
                                          "    cpu:\n"
                                          "      model: SandyBridge\n"
                                          "      features: [+rdrand, +invtsc, +tm2, +avx512f]\n"
                                          "    memory:\n"
                                          "      size: 64MiB\n";
        const struct vx_check *c;
        struct run r;

        (void)state;
        preflight(kvm_vm, NULL, &r);
        assert_int_equal(find(&r, "cpu-feature", "rdrand")->status, VX_CHECK_OK);
        c = find(&r, "cpu-features", "a");
        assert_non_null(c);
        assert_int_equal(c->status, VX_CHECK_WARN);
        assert_non_null(strstr(c->message, "avx512f"));
        assert_null(strstr(c->message, "invtsc")); /* nonstop_tsc in cpuinfo */
        assert_null(strstr(c->message, "tm2"));
        run_done(&r);

        /* A Sandy Bridge host: no rdrand, which vMX needs. */
        sh("sed -i 's/ rdrand//' '%s/proc/cpuinfo'", T);
        preflight(kvm_vm, NULL, &r);
        c = find(&r, "cpu-feature", "rdrand");
        assert_int_equal(c->status, VX_CHECK_FAIL);
        assert_string_equal(c->key, "vms[0].cpu.features");
        run_done(&r);

        /* No vmx/svm, but a /dev/kvm that works: a paravirtual KVM (PVM), a warning. */
        sh("sed -i 's/ vmx//' '%s/proc/cpuinfo'", T);
        preflight(kvm_vm, NULL, &r);
        assert_int_equal(find(&r, "cpu-virtualization", NULL)->status, VX_CHECK_WARN);
        assert_int_equal(find(&r, "kvm", NULL)->status, VX_CHECK_OK);
        run_done(&r);
        /* Neither, nor /dev/kvm: KVM is impossible; TCG does not care. */
        sh("rm '%s/dev/kvm'", T);
        preflight(kvm_vm, NULL, &r);
        assert_int_equal(find(&r, "cpu-virtualization", NULL)->status, VX_CHECK_FAIL);
        assert_non_null(find(&r, "cpu-virtualization", NULL)->fix);
        run_done(&r);
        preflight(TCG_VM, NULL, &r);
        assert_int_equal(find(&r, "cpu-virtualization", NULL)->status, VX_CHECK_OK);
        assert_null(find(&r, "kvm", NULL));
        run_done(&r);
}

static void test_cpus_online(void **state)
{
        static const char *const pinned = "name: t\n"
                                          "vms:\n"
                                          "  - name: a\n"
                                          "    accel: tcg\n"
                                          "    vcpus: 2\n"
                                          "    memory:\n"
                                          "      size: 64MiB\n"
                                          "    pinning:\n"
                                          "      vcpus: [\"3\", \"12\"]\n"
                                          "      emulator: \"0\"\n"
                                          "  - name: b\n"
                                          "    accel: tcg\n"
                                          "    memory:\n"
                                          "      size: 64MiB\n"
                                          "    pinning:\n"
                                          "      vcpus: [\"20\"]\n";
        const struct vx_check *c;
        struct run r;

        (void)state;
        put("/sys/devices/system/cpu/present", "0-15\n");
        put("/sys/devices/system/cpu/online", "0-11,13-15\n");
        preflight(pinned, NULL, &r);
        c = find(&r, "cpus", "CPU 12");
        assert_non_null(c);
        assert_int_equal(c->status, VX_CHECK_FAIL);
        assert_string_equal(c->fix, "echo 1 > /sys/devices/system/cpu/cpu12/online");
        assert_string_equal(c->key, "vms[0].pinning.vcpus");
        c = find(&r, "cpus", "CPU 20");
        assert_int_equal(c->status, VX_CHECK_FAIL);
        assert_non_null(strstr(c->message, "does not exist"));
        assert_int_equal(find(&r, "cpus", "0")->status, VX_CHECK_OK); /* a's emulator */
        run_done(&r);
}

static void set_pool(int node, unsigned kib, unsigned total, unsigned free_pages)
{
        char dir[256], path[300], n[32];

        if (node >= 0)
                snprintf(dir, sizeof(dir), "/sys/devices/system/node/node%d/hugepages/hugepages-%ukB", node, kib);
        else
                snprintf(dir, sizeof(dir), "/sys/kernel/mm/hugepages/hugepages-%ukB", kib);
        sh("mkdir -p '%s%s'", T, dir);
        snprintf(path, sizeof(path), "%s/nr_hugepages", dir);
        snprintf(n, sizeof(n), "%u\n", total);
        put(path, n);
        snprintf(path, sizeof(path), "%s/free_hugepages", dir);
        snprintf(n, sizeof(n), "%u\n", free_pages);
        put(path, n);
        snprintf(path, sizeof(path), "%s/surplus_hugepages", dir);
        put(path, "0\n");
        if (node < 0) {
                snprintf(path, sizeof(path), "%s/resv_hugepages", dir);
                put(path, "0\n");
        }
}

/* Two VMs' pages come from one pool: each alone would fit, both do not. */
static void test_hugepages_joint_and_per_node(void **state)
{
        static const char *const two = "name: t\n"
                                       "vms:\n"
                                       "  - name: a\n"
                                       "    accel: tcg\n"
                                       "    memory:\n"
                                       "      size: 64MiB\n"
                                       "      hugepages:\n"
                                       "        page-size: 2M\n"
                                       "        node: 1\n"
                                       "  - name: b\n"
                                       "    accel: tcg\n"
                                       "    memory:\n"
                                       "      size: 64MiB\n"
                                       "      hugepages:\n"
                                       "        page-size: 2M\n"
                                       "        node: 1\n";
        const struct vx_check *c;
        struct run r;

        (void)state;
        set_pool(0, 2048, 100, 100);
        set_pool(1, 2048, 50, 40);
        preflight(two, NULL, &r);
        c = find(&r, "hugepages", "2 MiB pages on node 1");
        assert_non_null(c);
        assert_int_equal(c->status, VX_CHECK_WARN);
        assert_non_null(strstr(c->message, "64 needed"));
        assert_string_equal(c->fix, "echo 74 > /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages");
        run_done(&r);

        set_pool(1, 2048, 64, 64);
        preflight(two, NULL, &r);
        assert_int_equal(find(&r, "hugepages", "2 MiB pages on node 1")->status, VX_CHECK_OK);
        assert_null(find(&r, "hugepages", "2 MiB pages on node 0"));
        run_done(&r);

        /* No 1 GiB pool on node 1: the kernel has none to grow. */
        preflight("name: t\n"
                  "vms:\n"
                  "  - name: a\n"
                  "    accel: tcg\n"
                  "    memory:\n"
                  "      size: 1GiB\n"
                  "      hugepages:\n"
                  "        page-size: 1G\n"
                  "        node: 1\n",
                  NULL, &r);
        c = find(&r, "hugepages", "1 GiB pages on node 1");
        assert_non_null(c);
        assert_int_equal(c->status, VX_CHECK_FAIL);
        assert_non_null(strstr(c->fix, "hugepagesz=1G"));
        run_done(&r);
}

static void write_file(const char *path, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 1 << 20), 0);
        close(fd);
        assert_int_equal(chmod(path, mode), 0);
}

static void test_files(void **state)
{
        char text[2048], hidden[400], ok[400], missing[400];
        const struct vx_check *c;
        struct run r;

        (void)state;
        snprintf(hidden, sizeof(hidden), "%s/private", DIR_);
        sh("mkdir -p '%s' && chmod 0700 '%s' && chmod 0755 '%s' '%s'", hidden, hidden, T, DIR_);
        snprintf(hidden, sizeof(hidden), "%s/private/disk.img", DIR_);
        write_file(hidden, 0644);
        snprintf(ok, sizeof(ok), "%s/disk.img", DIR_);
        write_file(ok, 0644);
        snprintf(missing, sizeof(missing), "%s/missing.img", DIR_);
        snprintf(text, sizeof(text),
                 "name: t\n"
                 "vms:\n"
                 "  - name: a\n"
                 "    accel: tcg\n"
                 "    memory:\n"
                 "      size: 64MiB\n"
                 "    disks:\n"
                 "      - file: %s\n"
                 "        cache: writeback\n"
                 "      - file: %s\n"
                 "        cache: writeback\n"
                 "      - file: %s\n"
                 "        readonly: true\n"
                 "        cache: writeback\n",
                 ok, hidden, missing);
        preflight(text, "vmxrun-qemu", &r);
        c = find(&r, "file", ok);
        assert_non_null(c);
        /* Root's file, mode 0644: readable by QEMU's user, not writable: start hands it over (a warning). */
        assert_int_equal(c->status, VX_CHECK_WARN);
        assert_string_equal(c->key, "vms[0].disks[0].file");
        c = find(&r, "file", hidden);
        assert_int_equal(c->status, VX_CHECK_FAIL);
        assert_non_null(strstr(c->message, "does not let it through"));
        assert_string_equal(c->key, "vms[0].disks[1].file");
        c = find(&r, "file", missing);
        assert_int_equal(c->status, VX_CHECK_FAIL);
        assert_non_null(strstr(c->message, "No such file"));
        assert_non_null(strstr(c->fix, "qemu-img create"));
        assert_string_equal(c->key, "vms[0].disks[2].file");
        run_done(&r);

        /* As root, the same two files open. */
        preflight(text, "root", &r);
        assert_int_equal(find(&r, "file", ok)->status, VX_CHECK_OK);
        assert_int_equal(find(&r, "file", hidden)->status, VX_CHECK_OK);
        run_done(&r);
}

/*
 * cache: none opens with O_DIRECT: a file on a filesystem without it (procfs
 * here; tmpfs before Linux 6.6, ramfs) fails, as QEMU's open would.
 */
static void test_o_direct(void **state)
{
#define PROC_DISK(cache)                                                                                               \
        "name: t\nvms:\n  - name: a\n    accel: tcg\n    memory:\n      size: 64MiB\n"                                 \
        "    disks:\n      - file: /proc/version\n        format: raw\n        readonly: true\n        cache: " cache  \
        "\n"
        const struct vx_check *c;
        struct run r;

        (void)state;
        preflight(PROC_DISK("none"), "root", &r);
        c = find(&r, "file", "/proc/version");
        assert_int_equal(c->status, VX_CHECK_FAIL);
        assert_non_null(strstr(c->message, "O_DIRECT"));
        assert_string_equal(c->key, "vms[0].disks[0].file");
        run_done(&r);
        preflight(PROC_DISK("writeback"), "root", &r);
        assert_int_equal(find(&r, "file", "/proc/version")->status, VX_CHECK_OK);
        run_done(&r);
}

/* A running deployment (its lock held here) holds a tap, a serial port and CPU 3. */
static void test_running_deployments(void **state)
{
        static const char *const mine = "name: mine\n"
                                        "bridges:\n"
                                        "  - name: vxbr0\n"
                                        "vms:\n"
                                        "  - name: a\n"
                                        "    accel: tcg\n"
                                        "    memory:\n"
                                        "      size: 64MiB\n"
                                        "    pinning:\n"
                                        "      vcpus: [\"3\"]\n"
                                        "    serial:\n"
                                        "      type: telnet\n"
                                        "      port: 8816\n"
                                        "    nics:\n"
                                        "      - type: tap\n"
                                        "        tap: vx-shared0\n"
                                        "        bridge: vxbr0\n";
        static const char *const theirs = "name: other\n"
                                          "bridges:\n"
                                          "  - name: vxbr0\n"
                                          "vms:\n"
                                          "  - name: x\n"
                                          "    accel: tcg\n"
                                          "    memory:\n"
                                          "      size: 64MiB\n"
                                          "    pinning:\n"
                                          "      vcpus: [\"2-3\"]\n"
                                          "    serial:\n"
                                          "      type: tcp\n"
                                          "      port: 8816\n"
                                          "    nics:\n"
                                          "      - type: tap\n"
                                          "        tap: vx-shared0\n"
                                          "        bridge: vxbr0\n";
        char dir[400], path[450];
        const struct vx_check *c;
        struct run r;
        FILE *f;
        int lock = -1;

        (void)state;
        snprintf(dir, sizeof(dir), "%s/other", RT);
        assert_int_equal(mkdir(dir, 0700), 0);
        snprintf(path, sizeof(path), "%s/profile.yaml", dir);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(theirs, f);
        fclose(f);

        /* Not running (no supervisor holds its lock): nothing to compare. */
        preflight(mine, NULL, &r);
        assert_null(find(&r, "conflict", NULL));
        assert_int_equal(find(&r, "deployment", NULL)->status, VX_CHECK_OK);
        run_done(&r);

        assert_int_equal(runtime_lock(dir, &lock), 0);
        preflight(mine, NULL, &r);
        c = find(&r, "conflict", "vx-shared0");
        assert_non_null(c);
        assert_int_equal(c->status, VX_CHECK_FAIL);
        assert_string_equal(c->key, "vms[0].nics[0].tap");
        assert_int_equal(find(&r, "conflict", "port 8816")->status, VX_CHECK_FAIL);
        assert_int_equal(find(&r, "conflict", "CPU 3")->status, VX_CHECK_WARN);
        assert_int_equal(find(&r, "conflict", "vxbr0")->status, VX_CHECK_OK); /* bridges are shared */
        run_done(&r);

        /* The same name running: start would say "already running". */
        preflight(theirs, NULL, &r);
        assert_int_equal(find(&r, "deployment", "other")->status, VX_CHECK_FAIL);
        assert_null(find(&r, "conflict", NULL)); /* not compared with itself */
        run_done(&r);
        close(lock);
}

static void preflight_qemu(const char *qemu, unsigned flags, struct run *ret)
{
        char text[1024];

        snprintf(text, sizeof(text),
                 "name: t\nvms:\n  - name: a\n    accel: tcg\n    qemu: %s\n    memory:\n      size: 64MiB\n", qemu);
        preflight_flags(text, NULL, flags, ret);
}

/* A VF this host does not have: the plan is incomplete, and the pre-flight says why. */
static void test_plan_incomplete(void **state)
{
        const struct vx_check *c;
        struct run r;

        (void)state;
        preflight("name: t\n"
                  "vms:\n"
                  "  - name: a\n"
                  "    accel: tcg\n"
                  "    memory:\n"
                  "      size: 64MiB\n"
                  "    nics:\n"
                  "      - type: vf\n"
                  "        pf: p9p9\n"
                  "        vf: 3\n",
                  NULL, &r);
        c = find(&r, "plan", "a");
        assert_int_equal(c->status, VX_CHECK_FAIL);
        assert_non_null(strstr(c->message, "p9p9"));
        assert_string_equal(c->key, "vms[0]");
        run_done(&r);
}

/* start only looks at the binary; doctor runs it for its version. */
static void test_qemu_binary(void **state)
{
        char plain[400], mute[400], msg[512];
        const struct vx_check *c;
        struct run r;

        (void)state;
        snprintf(plain, sizeof(plain), "%s/plain", DIR_);
        snprintf(mute, sizeof(mute), "%s/mute", DIR_);
        put("/images/plain", "not a program\n");
        assert_int_equal(chmod(plain, 0644), 0);
        put("/images/mute", "#!/bin/sh\nexit 1\n");
        assert_int_equal(chmod(mute, 0755), 0);

        preflight_qemu(plain, 0, &r);
        c = find(&r, "qemu", plain);
        assert_int_equal(c->status, VX_CHECK_FAIL);
        snprintf(msg, sizeof(msg), "%s: not executable", plain);
        assert_string_equal(c->message, msg);
        assert_string_equal(c->key, "vms[0].qemu");
        run_done(&r);
        preflight_qemu(DIR_, 0, &r);
        assert_int_equal(find(&r, "qemu", DIR_)->status, VX_CHECK_FAIL);
        run_done(&r);
        preflight_qemu("/nonexistent/qemu", VX_PREFLIGHT_QEMU_VERSION, &r);
        assert_string_equal(find(&r, "qemu", NULL)->message, "/nonexistent/qemu: no such file");
        run_done(&r);
        /* Executable, but it says no version: only asking it tells. */
        preflight_qemu(mute, 0, &r);
        assert_int_equal(find(&r, "qemu", NULL)->status, VX_CHECK_OK);
        run_done(&r);
        preflight_qemu(mute, VX_PREFLIGHT_QEMU_VERSION, &r);
        assert_int_equal(find(&r, "qemu", NULL)->status, VX_CHECK_FAIL);
        assert_non_null(strstr(find(&r, "qemu", NULL)->message, "does not say its version"));
        run_done(&r);
}

/* A supervisor stand-in: two progress lines and the answer, in one write (the client splits them) or in three. */
static void serve_progress(int listen_fd, bool one_write)
{
        static const char *const lines[] = {"{\"progress\":\"a: powering off (timeout 1 s)\"}\n",
                                            "{\"progress\":\"a: did not power off: sending quit\"}\n",
                                            "{\"ok\":true}\n"};
        char all[256] = "";
        json_t *req = NULL;
        int fd = -1;

        for (int i = 0; i < 5000 && fd < 0; i++) {
                fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        usleep(1000);
        }
        if (fd < 0 || control_read_request(fd, 5000, &req) < 0 || !json_is_true(json_object_get(req, "progress")))
                _exit(1);
        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                if (one_write)
                        strcat(all, lines[i]);
                else if (write(fd, lines[i], strlen(lines[i])) != (ssize_t)strlen(lines[i]))
                        _exit(2);
        }
        if (one_write && write(fd, all, strlen(all)) != (ssize_t)strlen(all))
                _exit(2);
        json_decref(req); /* under valgrind the child's leaks count too, and make it exit 99 */
        _exit(0);
}

static void collect_line(const char *line, void *userdata)
{
        char *seen = userdata;

        strcat(seen, line);
        strcat(seen, "|");
}

static void test_control_progress(void **state)
{
        json_t *req = json_pack("{s:s, s:b}", "cmd", "stop", "progress", 1);

        (void)state;
        for (int one = 0; one <= 1; one++) {
                char seen[512] = "";
                json_t *answer = NULL;
                int listen_fd = -1, status;
                pid_t pid;

                assert_int_equal(control_listen(T, &listen_fd), 0);
                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        json_decref(req); /* the parent's, in this copy of its memory (valgrind checks it too) */
                        serve_progress(listen_fd, one);
                }
                assert_int_equal(control_call_progress(T, req, 10000, collect_line, seen, &answer), 0);
                assert_true(json_is_true(json_object_get(answer, "ok")));
                assert_string_equal(seen, "a: powering off (timeout 1 s)|a: did not power off: sending quit|");
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_int_equal(status, 0);
                json_decref(answer);
                close(listen_fd);
        }
        json_decref(req);
}

static void test_status_names(void **state)
{
        struct vx_checks c = {0};

        (void)state;
        assert_string_equal(check_status_to_string(VX_CHECK_OK), "ok");
        assert_string_equal(check_status_to_string(VX_CHECK_WARN), "warn");
        assert_string_equal(check_status_to_string(VX_CHECK_FAIL), "fail");
        assert_null(check_status_to_string(_VX_CHECK_STATUS_MAX));
        assert_int_equal(checks_add(&c, "x", VX_CHECK_FAIL, "s", NULL, "fix it", "n=%d", 3), 0);
        assert_int_equal(checks_add(&c, "y", VX_CHECK_OK, "s", "k", NULL, "fine"), 0);
        assert_int_equal(c.n, 2);
        assert_string_equal(c.items[0].message, "n=3");
        assert_int_equal(checks_count(&c, VX_CHECK_FAIL), 1);
        assert_int_equal(checks_count(&c, VX_CHECK_WARN), 0);
        checks_done(&c);
        assert_int_equal(c.n, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_names),
                cmocka_unit_test(test_host_facts),
                cmocka_unit_test_setup_teardown(test_qemu_binary, setup, teardown),
                cmocka_unit_test_setup_teardown(test_plan_incomplete, setup, teardown),
                cmocka_unit_test_setup_teardown(test_vmx_sriov_reports_every_check, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cpu_features, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cpus_online, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hugepages_joint_and_per_node, setup, teardown),
                cmocka_unit_test_setup_teardown(test_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_o_direct, setup, teardown),
                cmocka_unit_test_setup_teardown(test_running_deployments, setup, teardown),
                cmocka_unit_test_setup_teardown(test_control_progress, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
