/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmxrun doctor: what this host can do for vmxrun, and why not. The facts
 * and the KVM probe are host/'s (facts.c, probe.c), the IOMMU and SR-IOV
 * PFs vfio/'s (vfio_iommu_info, vfio_pfs); this file prints them. With a
 * profile, also the pre-flight of that profile (launcher_preflight(), the
 * checks `start` runs first): docs/doctor-json.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "facts.h"
#include "log.h"
#include "preflight.h"
#include "profile.h"
#include "vfio.h"

#define DEFAULT_QEMU "/usr/bin/qemu-system-x86_64"
/* docs/doctor-json.md */
#define VX_DOCTOR_JSON_VERSION 1

static const struct cli_help help = {
        .usage = "vmxrun doctor [PROFILE.yaml|NAME [--accel kvm|tcg] [--set PATH=VALUE]...] [--json] [--qemu PATH]\n"
                 "              [--no-probe] [--root DIR]",
        .description = "Reports what this host offers vmxrun: KVM (absent, present but unable to run\n"
                       "a host-like vCPU, or usable), QEMU, hugepages, tun/vhost-net, IOMMU and SR-IOV.\n"
                       "The KVM verdict comes from starting QEMU paused with -accel kvm -cpu host.\n"
                       "With a profile, also checks what its VMs need, jointly and against the running\n"
                       "deployments, as `start` does before it changes anything: each check OK, WARN\n"
                       "or FAIL, with the profile key that asks for it and the command that fixes it.\n",
        .options = "      --json       print the report as JSON\n"
                   "      --qemu PATH  the QEMU binary to probe (default " DEFAULT_QEMU ")\n"
                   "      --no-probe   do not start QEMU for the KVM verdict\n"
                   "      --root DIR   read /dev, /proc and /sys under DIR (env VMXRUN_ROOT)\n"
                   "      --runtime-dir DIR  where running deployments are (also $VMXRUN_RUNTIME_DIR)\n"
                   "      --accel kvm|tcg    with a profile: every VM on this accelerator, as start --accel\n"
                   "                         (also $VMXRUN_ACCEL)\n"
                   "      --set PATH=VALUE   with a profile: a value over the file's, as start --set\n"
                   "                         (repeatable)\n",
        .exit_status = "0 reported (whatever the host lacks; with a profile: no check failed),\n"
                       "1 failed (with a profile: a check failed), 2 bad usage, 3 invalid profile.\n",
};

static json_t *iommu_json(const char *root)
{
        struct vx_vfio_iommu_info info;

        if (vfio_iommu_info(root, &info) < 0)
                return NULL;
        return json_pack("{s:I, s:b, s:b, s:{s:o, s:b}, s:b, s:s}", "groups", (json_int_t)info.n_groups,
                         "cmdline_intel_iommu", info.cmdline_intel, "cmdline_amd_iommu", info.cmdline_amd,
                         "interrupt_remapping", "supported",
                         info.intremap_supported < 0 ? json_null() : json_boolean(info.intremap_supported), "enabled",
                         info.intremap_enabled, "allow_unsafe_interrupts", info.unsafe_interrupts, "vfio_pci",
                         info.vfio_pci == 0   ? "registered"
                         : info.vfio_pci == 1 ? "loadable"
                                              : "absent");
}

/* Each SR-IOV PF, its VFs and which deployment holds each (the ledger under the runtime dir). */
static json_t *pfs_json(const char *root)
{
        _cleanup_free_ struct vx_vfio_pf *pfs = NULL;
        _cleanup_free_ char *ledger = NULL;
        const char *rt = cli_runtime_dir(NULL) ?: VX_DEFAULT_RUNTIME_DIR;
        json_t *arr = json_array();
        int n;

        n = vfio_pfs(root, &pfs);
        if (!arr || n < 0 || asprintf(&ledger, "%s/.shared/vfio", rt) < 0)
                return arr;
        for (int i = 0; i < n; i++) {
                const struct vx_vfio_pf *p = &pfs[i];
                json_t *vfs = json_array();

                for (unsigned v = 0; vfs && v < p->num_vfs; v++) {
                        _cleanup_free_ char *owner = NULL;

                        if (vfio_ledger_owner(ledger, p->vfs[v], NULL, NULL, &owner) < 0)
                                owner = NULL;
                        json_array_append_new(
                                vfs, json_pack("{s:i, s:s, s:s?}", "vf", (int)v, "pci", p->vfs[v], "held_by", owner));
                }
                json_array_append_new(arr, json_pack("{s:s, s:s, s:s?, s:i, s:i, s:i, s:o*}", "pf", p->ifname, "pci",
                                                     p->bdf, "driver", p->driver[0] ? p->driver : NULL, "numa_node",
                                                     p->numa_node, "total_vfs", (int)p->total_vfs, "num_vfs",
                                                     (int)p->num_vfs, "vfs", vfs));
        }
        return arr;
}

static json_t *report_json(const struct vx_host_facts *f, const struct vx_kvm_report *kvm, const char *qemu,
                           const char *root)
{
        json_t *pools = json_array(), *mounts = json_array(), *sriov = json_array();
        json_t *k = json_pack("{s:s, s:s}", "verdict", host_kvm_verdict_to_string(kvm->verdict), "reason", kvm->reason);

        if (k && kvm->api_version >= 0)
                json_object_set_new(k, "api_version", json_integer(kvm->api_version));
        for (size_t i = 0; pools && i < f->n_pools; i++)
                json_array_append_new(
                        pools, json_pack("{s:I, s:I, s:I}", "page_size_kib", (json_int_t)(f->pools[i].page_size >> 10),
                                         "total", (json_int_t)f->pools[i].total, "free", (json_int_t)f->pools[i].free));
        for (size_t i = 0; mounts && i < f->n_hugetlbfs; i++)
                json_array_append_new(mounts, json_pack("{s:s, s:I}", "path", f->hugetlbfs[i].path, "page_size_kib",
                                                        (json_int_t)(f->hugetlbfs[i].page_size >> 10)));
        for (size_t i = 0; sriov && i < f->n_sriov; i++)
                json_array_append_new(sriov, json_pack("{s:s, s:i}", "pci", f->sriov[i].pci_address, "total_vfs",
                                                       (int)f->sriov[i].total_vfs));
        return json_pack("{s:i, s:o*, s:s, s:b, s:i, s:b, s:b, s:I, s:o*, s:o*, s:o*, s:o*, s:o*}", "version",
                         VX_DOCTOR_JSON_VERSION, "kvm", k, "qemu", qemu, "qemu_installed", access(qemu, X_OK) == 0,
                         "cpus", (int)f->n_cpus, "tun", f->tun, "vhost_net", f->vhost_net, "iommu_groups",
                         (json_int_t)f->n_iommu_groups, "hugepages", pools, "hugetlbfs", mounts, "sriov", sriov,
                         "iommu", iommu_json(root), "sriov_pfs", pfs_json(root));
}

static void print_passthrough(json_t *r)
{
        json_t *io = json_object_get(r, "iommu"), *ir = json_object_get(io, "interrupt_remapping"), *p, *v;
        size_t i, j;

        if (io) {
                printf("vfio-pci:      %s\n", json_string_value(json_object_get(io, "vfio_pci")));
                printf("IOMMU:         kernel command line %s; interrupt remapping %s%s\n",
                       json_is_true(json_object_get(io, "cmdline_intel_iommu")) ? "has intel_iommu=on"
                       : json_is_true(json_object_get(io, "cmdline_amd_iommu")) ? "has amd_iommu=on"
                                                                                : "has no intel_iommu=on/amd_iommu=on",
                       json_is_true(json_object_get(ir, "enabled"))      ? "on"
                       : json_is_false(json_object_get(ir, "supported")) ? "not supported"
                                                                         : "off",
                       json_is_true(json_object_get(io, "allow_unsafe_interrupts")) ? " (unsafe interrupts allowed)"
                                                                                    : "");
        }
        json_array_foreach(json_object_get(r, "sriov_pfs"), i, p)
        {
                printf("SR-IOV PF:     %s %s (%s), NUMA node %lld, %lld of %lld VFs enabled\n",
                       json_string_value(json_object_get(p, "pf")), json_string_value(json_object_get(p, "pci")),
                       json_string_value(json_object_get(p, "driver")) ?: "unbound",
                       json_integer_value(json_object_get(p, "numa_node")),
                       json_integer_value(json_object_get(p, "num_vfs")),
                       json_integer_value(json_object_get(p, "total_vfs")));
                json_array_foreach(json_object_get(p, "vfs"), j,
                                   v) if (json_string_value(json_object_get(v, "held_by")))
                        printf("               vf %lld (%s) held by %s\n", json_integer_value(json_object_get(v, "vf")),
                               json_string_value(json_object_get(v, "pci")),
                               json_string_value(json_object_get(v, "held_by")));
        }
        if (json_array_size(json_object_get(r, "sriov_pfs")))
                printf("               multicast (OSPF, IS-IS) on a VF needs trust: on (docs/sriov.md)\n");
}

static void print_text(json_t *r)
{
        json_t *kvm = json_object_get(r, "kvm"), *v;
        const char *verdict = json_string_value(json_object_get(kvm, "verdict"));
        size_t i;

        printf("KVM:           %s", verdict);
        if (strcmp(verdict, "no-host-cpu") == 0)
                printf(" (QEMU can open KVM, but a host-like vCPU fails: nested KVM that cannot boot a stock\n"
                       "               guest kernel; boot guests with accel: tcg, pin and supervise under KVM with a\n"
                       "               plain CPU model such as qemu64)");
        printf("\n               %s\n", json_string_value(json_object_get(kvm, "reason")));
        printf("QEMU:          %s%s\n", json_string_value(json_object_get(r, "qemu")),
               json_is_true(json_object_get(r, "qemu_installed")) ? "" : " (not installed)");
        printf("Host CPUs:     %lld\n", json_integer_value(json_object_get(r, "cpus")));
        printf("tun:           %s\n", json_is_true(json_object_get(r, "tun")) ? "/dev/net/tun" : "absent");
        printf("vhost-net:     %s\n",
               json_is_true(json_object_get(r, "vhost_net")) ? "/dev/vhost-net" : "absent (userspace virtio-net)");
        printf("IOMMU groups:  %lld%s\n", json_integer_value(json_object_get(r, "iommu_groups")),
               json_integer_value(json_object_get(r, "iommu_groups")) ? "" : " (no VT-d/AMD-Vi: no PCI passthrough)");
        json_array_foreach(json_object_get(r, "hugepages"), i, v)
                printf("Hugepages:     %lld kB pages: %lld total, %lld free\n",
                       json_integer_value(json_object_get(v, "page_size_kib")),
                       json_integer_value(json_object_get(v, "total")), json_integer_value(json_object_get(v, "free")));
        json_array_foreach(json_object_get(r, "hugetlbfs"), i, v)
                printf("hugetlbfs:     %s (%lld kB pages)\n", json_string_value(json_object_get(v, "path")),
                       json_integer_value(json_object_get(v, "page_size_kib")));
        if (json_array_size(json_object_get(r, "sriov")) == 0)
                printf("SR-IOV:        no device with VFs\n");
        json_array_foreach(json_object_get(r, "sriov"), i, v)
                printf("SR-IOV:        %s (up to %lld VFs)\n", json_string_value(json_object_get(v, "pci")),
                       json_integer_value(json_object_get(v, "total_vfs")));
        print_passthrough(r);
}

json_t *cli_checks_json(const struct vx_profile *profile, const struct vx_checks *checks)
{
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < checks->n; i++) {
                const struct vx_check *c = &checks->items[i];
                _cleanup_free_ char *pos = NULL;
                unsigned line, column;

                if (c->key) {
                        profile_position(profile, c->key, &line, &column);
                        if (asprintf(&pos, "%s:%u:%u", profile->file, line, column) < 0)
                                pos = NULL;
                }
                json_array_append_new(arr,
                                      json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?}", "id", c->id, "status",
                                                check_status_to_string(c->status), "subject", c->subject, "message",
                                                c->message, "fix", c->fix, "key", c->key, "position", pos));
        }
        return arr;
}

void cli_log_checks(const struct vx_profile *profile, const struct vx_checks *checks, int at_least)
{
        for (size_t i = 0; i < checks->n; i++) {
                const struct vx_check *c = &checks->items[i];
                char where[512] = "";
                unsigned line, column;

                if ((int)c->status < at_least)
                        continue;
                /* As profile errors are said: FILE:LINE:COLUMN: KEY.PATH: message. */
                if (c->key) {
                        profile_position(profile, c->key, &line, &column);
                        snprintf(where, sizeof(where), "%s:%u:%u: %s: ", profile->file, line, column, c->key);
                }
                if (c->status == VX_CHECK_FAIL)
                        log_error("%s%s%s%s", where, c->message, c->fix ? "; fix: " : "", c->fix ?: "");
                else if (c->status == VX_CHECK_WARN)
                        log_warning("%s%s%s%s", where, c->message, c->fix ? "; fix: " : "", c->fix ?: "");
                else
                        log_info("%s%s", where, c->message);
        }
}

static void print_checks(json_t *checks)
{
        json_t *c;
        size_t i;

        json_array_foreach(checks, i, c)
        {
                const char *st = json_string_value(json_object_get(c, "status"));
                const char *fix = json_string_value(json_object_get(c, "fix"));
                const char *pos = json_string_value(json_object_get(c, "position"));

                printf("  %-4s  %-19s %s\n",
                       strcmp(st, "ok") == 0     ? "OK"
                       : strcmp(st, "warn") == 0 ? "WARN"
                                                 : "FAIL",
                       json_string_value(json_object_get(c, "id")), json_string_value(json_object_get(c, "message")));
                if (pos && strcmp(st, "ok") != 0)
                        printf("        %-19s at %s\n", "", pos);
                if (fix)
                        printf("        %-19s fix: %s\n", "", fix);
        }
}

/* The profile's pre-flight, into r ("profile", "deployment", "checks", "summary"). Returns an exit status. */
static int profile_checks(json_t *r, const char *arg, const char *accel, const char *root, const char *runtime_opt,
                          bool *ret_failed)
{
        _cleanup_(profile_freep) struct vx_profile *profile = NULL;
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        _cleanup_free_ char *found = NULL;
        struct vx_plan_options popts = {.runtime_dir = cli_runtime_dir(runtime_opt)};
        struct vx_checks checks = {0};
        int k;

        k = cli_find_profile(arg, &found);
        if (k < 0)
                return log_error_errno(k, "Failed to look up %s: %m", arg), VX_EXIT_FAILURE;
        k = cli_plan_profile(found ?: arg, accel, root, &popts, &profile, &plan);
        if (k != VX_EXIT_OK)
                return k;
        k = launcher_preflight(profile, plan, root, VX_PREFLIGHT_QEMU_VERSION, &checks);
        if (k < 0)
                return log_error_errno(k, "Failed to check %s: %m", profile->file), VX_EXIT_FAILURE;
        json_object_set_new(r, "profile", json_string(profile->file));
        json_object_set_new(r, "deployment", json_string(profile->name));
        json_object_set_new(r, "checks", cli_checks_json(profile, &checks));
        json_object_set_new(r, "summary",
                            json_pack("{s:I, s:I, s:I}", "ok", (json_int_t)checks_count(&checks, VX_CHECK_OK), "warn",
                                      (json_int_t)checks_count(&checks, VX_CHECK_WARN), "fail",
                                      (json_int_t)checks_count(&checks, VX_CHECK_FAIL)));
        *ret_failed = checks_count(&checks, VX_CHECK_FAIL) > 0;
        checks_done(&checks);
        return VX_EXIT_OK;
}

static int run(int argc, char **argv)
{
        static const struct option options[] = {
                {"json", no_argument, NULL, 'j'},
                {"qemu", required_argument, NULL, 'q'},
                {"no-probe", no_argument, NULL, 'n'},
                {"root", required_argument, NULL, 'r'},
                {"runtime-dir", required_argument, NULL, 'R'},
                {"set", required_argument, NULL, 's'}, /* PATH=VALUE: with a PROFILE */
                {"accel", required_argument, NULL, 'a'},
                {0},
        };
        const char *qemu = DEFAULT_QEMU, *root = getenv("VMXRUN_ROOT"), *runtime_opt = NULL;
        const char *accel = getenv("VMXRUN_ACCEL"); /* as start takes it: the checks of that start */
        struct vx_host_facts *facts = NULL;
        struct vx_kvm_report kvm;
        bool json = false, probe = true, failed = false;
        json_t *r;
        int c, exit_status;

        while ((c = cli_getopt(argc, argv, "", options, &help, &exit_status)) >= 0) {
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'q':
                        qemu = optarg;
                        break;
                case 'n':
                        probe = false;
                        break;
                case 'r':
                        root = optarg;
                        break;
                case 'R':
                        runtime_opt = optarg;
                        break;
                case 'a':
                        accel = optarg;
                        break;
                case 's':
                        if (cli_add_set(optarg) < 0)
                                return VX_EXIT_FAILURE;
                        break;
                default:
                        return VX_EXIT_USAGE;
                }
        }
        if (c == CLI_OPT_EXIT)
                return exit_status;
        if (optind < argc - 1)
                return cli_usage_error(argv[0], "doctor takes at most one profile.");
        if (host_facts_gather(root, &facts) < 0 || host_kvm_report(root, qemu, probe, &kvm) < 0)
                return log_error("Out of memory."), VX_EXIT_FAILURE;
        r = report_json(facts, &kvm, qemu, root);
        host_facts_free(facts);
        if (!r)
                return log_error("Out of memory."), VX_EXIT_FAILURE;
        if (optind == argc - 1) {
                exit_status = profile_checks(r, argv[optind], accel, root, runtime_opt, &failed);
                if (exit_status != VX_EXIT_OK) {
                        json_decref(r);
                        return exit_status;
                }
        }
        if (json)
                (void)cli_print_json(r);
        else {
                print_text(r);
                if (json_object_get(r, "checks")) {
                        json_t *sum = json_object_get(r, "summary");
                        printf("\nPre-flight of %s (deployment %s): %lld ok, %lld warn, %lld fail\n",
                               json_string_value(json_object_get(r, "profile")),
                               json_string_value(json_object_get(r, "deployment")),
                               json_integer_value(json_object_get(sum, "ok")),
                               json_integer_value(json_object_get(sum, "warn")),
                               json_integer_value(json_object_get(sum, "fail")));
                        print_checks(json_object_get(r, "checks"));
                }
        }
        json_decref(r);
        return failed ? VX_EXIT_FAILURE : VX_EXIT_OK;
}

const struct vx_command vx_cmd_doctor = {
        .name = "doctor",
        .summary = "tell what this host can do (KVM, hugepages, tun, IOMMU, SR-IOV), or a profile needs",
        .run = run,
};
