/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmxrun doctor: what this host can do for vmxrun, and why not. The facts
 * and the KVM probe are host/'s (facts.c, probe.c), the IOMMU and SR-IOV
 * PFs vfio/'s (vfio_iommu_info, vfio_pfs); this file prints them.
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
#include "profile.h"
#include "vfio.h"

#define DEFAULT_QEMU "/usr/bin/qemu-system-x86_64"

static const struct cli_help help = {
        .usage = "vmxrun doctor [--json] [--qemu PATH] [--no-probe] [--root DIR]",
        .description = "Reports what this host offers vmxrun: KVM (absent, present but unable to run\n"
                       "a host-like vCPU, or usable), QEMU, hugepages, tun/vhost-net, IOMMU and SR-IOV.\n"
                       "The KVM verdict comes from starting QEMU paused with -accel kvm -cpu host.\n",
        .options = "      --json       print the report as JSON\n"
                   "      --qemu PATH  the QEMU binary to probe (default " DEFAULT_QEMU ")\n"
                   "      --no-probe   do not start QEMU for the KVM verdict\n"
                   "      --root DIR   read /dev, /proc and /sys under DIR (env VMXRUN_ROOT)\n",
        .exit_status = "0 reported (whatever the host lacks), 1 failed, 2 bad usage.\n",
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
        return json_pack("{s:o*, s:s, s:b, s:i, s:b, s:b, s:I, s:o*, s:o*, s:o*, s:o*, s:o*}", "kvm", k, "qemu", qemu,
                         "qemu_installed", access(qemu, X_OK) == 0, "cpus", (int)f->n_cpus, "tun", f->tun, "vhost_net",
                         f->vhost_net, "iommu_groups", (json_int_t)f->n_iommu_groups, "hugepages", pools, "hugetlbfs",
                         mounts, "sriov", sriov, "iommu", iommu_json(root), "sriov_pfs", pfs_json(root));
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

static int run(int argc, char **argv)
{
        static const struct option options[] = {
                {"json", no_argument, NULL, 'j'},
                {"qemu", required_argument, NULL, 'q'},
                {"no-probe", no_argument, NULL, 'n'},
                {"root", required_argument, NULL, 'r'},
                {0},
        };
        const char *qemu = DEFAULT_QEMU, *root = getenv("VMXRUN_ROOT");
        struct vx_host_facts *facts = NULL;
        struct vx_kvm_report kvm;
        bool json = false, probe = true;
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
                default:
                        return VX_EXIT_USAGE;
                }
        }
        if (c == CLI_OPT_EXIT)
                return exit_status;
        if (optind != argc)
                return cli_usage_error(argv[0], "doctor takes no argument.");
        if (host_facts_gather(root, &facts) < 0 || host_kvm_report(root, qemu, probe, &kvm) < 0)
                return log_error("Out of memory."), VX_EXIT_FAILURE;
        r = report_json(facts, &kvm, qemu, root);
        host_facts_free(facts);
        if (!r)
                return log_error("Out of memory."), VX_EXIT_FAILURE;
        if (json)
                (void)cli_print_json(r);
        else
                print_text(r);
        json_decref(r);
        return VX_EXIT_OK;
}

const struct vx_command vx_cmd_doctor = {
        .name = "doctor",
        .summary = "tell what this host can do (KVM, hugepages, tun, IOMMU, SR-IOV)",
        .run = run,
};
