/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmxrun doctor: what this host can do for vmxrun, and why not. The KVM
 * question has three answers on real machines, and the difference matters:
 * no /dev/kvm at all; /dev/kvm that QEMU can use but whose vCPUs reject a
 * host-like CPU model (nested KVM that runs only guests built for it:
 * "failed to set MSR 0x10a"), where a stock guest kernel hangs; and KVM
 * that runs guests. Only a real QEMU tells the second from the third, so
 * doctor starts one, paused, and asks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "facts.h"
#include "log.h"
#include "qmp.h"
#include "spawn.h"

#define DEFAULT_QEMU "/usr/bin/qemu-system-x86_64"
#define PROBE_TIMEOUT_MS 20000

static void help(FILE *out)
{
        fprintf(out,
                "Usage: vmxrun doctor [--json] [--qemu PATH] [--no-probe] [--root DIR]\n"
                "\n"
                "Reports what this host offers vmxrun: KVM (absent, present but unable to run\n"
                "a host-like vCPU, or usable), QEMU, hugepages, tun/vhost-net, IOMMU and SR-IOV.\n"
                "The KVM verdict comes from starting QEMU paused with -accel kvm -cpu host\n"
                "(--no-probe skips it).\n");
}

static char *path_under(const char *root, const char *path)
{
        char *s;

        if (asprintf(&s, "%s%s", root, path) < 0)
                return NULL;
        return s;
}

static bool exists_under(const char *root, const char *path)
{
        _cleanup_free_ char *p = path_under(root, path);

        return p && access(p, F_OK) == 0;
}

static long read_long(const char *path)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        long v = -1;

        if (!f || fscanf(f, "%ld", &v) != 1)
                return -1;
        return v;
}

/* The kernel's answer to KVM_GET_API_VERSION, or -errno. */
static int kvm_api_version(const char *root)
{
        _cleanup_free_ char *p = path_under(root, "/dev/kvm");
        _cleanup_close_ int fd = -EBADF;
        int v;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        v = ioctl(fd, KVM_GET_API_VERSION, 0);
        return v < 0 ? -ENOTTY : v; /* a fixture file opens but is no KVM */
}

/* Reads QEMU's stderr after a failed probe, for the verdict's reason. */
static char *read_all(int fd)
{
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf) - 1);

        if (n <= 0)
                return NULL;
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return strdup(buf);
}

/*
 * Starts QEMU paused with KVM and a host CPU model, QMP over a socketpair.
 * A greeting means the vCPUs were created; a reset means QEMU died first.
 */
static json_t *probe_kvm(const char *qemu)
{
        char *argv[] = {(char *)qemu, "-accel", "kvm", "-cpu", "host", "-machine", "pc", "-nodefaults",
                        "-display", "none", "-S", "-m", "64", "-chardev", "socket,id=qmp,fd=3,server=off",
                        "-mon", "chardev=qmp,mode=control", NULL};
        int sp[2], errpipe[2];
        struct vx_spawn_fd keep = {.target = 3};
        struct vx_spawn_options opts = {.fds = &keep, .n_fds = 1, .drop_capabilities = true};
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        _cleanup_free_ char *why = NULL;
        json_t *result;
        pid_t pid;
        int pidfd, r;

        if (access(qemu, X_OK) < 0)
                return json_pack("{s:s, s:s}", "verdict", "unknown", "reason", "QEMU is not installed");
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 || pipe2(errpipe, O_CLOEXEC) < 0)
                return json_pack("{s:s, s:s}", "verdict", "unknown", "reason", strerror(errno));
        keep.fd = sp[1];
        opts.log_fd = errpipe[1];
        r = spawn_qemu(argv, &opts, &pid, &pidfd);
        close(sp[1]);
        close(errpipe[1]);
        if (r < 0) {
                close(sp[0]);
                close(errpipe[0]);
                return json_pack("{s:s, s:s}", "verdict", "unknown", "reason", strerror(-r));
        }
        r = qmp_connect_fd(sp[0], PROBE_TIMEOUT_MS, &q);
        if (r >= 0) {
                json_t *ret = NULL;
                (void)qmp_execute(q, "quit", NULL, 5000, &ret, NULL);
                json_decref(ret);
                result = json_pack("{s:s, s:s}", "verdict", "usable", "reason",
                                   "QEMU created KVM vCPUs with -cpu host");
        } else {
                (void)kill(pid, SIGKILL);
                why = read_all(errpipe[0]);
                result = json_pack("{s:s, s:s}", "verdict", "no-host-cpu", "reason",
                                   why ?: "QEMU exited while creating KVM vCPUs");
        }
        (void)waitpid(pid, NULL, 0);
        close(pidfd);
        close(errpipe[0]);
        return result;
}

static json_t *hugepage_pools(const char *root)
{
        _cleanup_free_ char *dir = path_under(root, "/sys/kernel/mm/hugepages");
        json_t *arr = json_array();
        struct dirent *de;
        DIR *d;

        if (!dir || !(d = opendir(dir)))
                return arr;
        while ((de = readdir(d))) {
                _cleanup_free_ char *total = NULL, *free_path = NULL;
                long kib;

                if (sscanf(de->d_name, "hugepages-%ldkB", &kib) != 1)
                        continue;
                if (asprintf(&total, "%s/%s/nr_hugepages", dir, de->d_name) < 0 ||
                    asprintf(&free_path, "%s/%s/free_hugepages", dir, de->d_name) < 0)
                        break;
                json_array_append_new(arr, json_pack("{s:I, s:I, s:I}", "page_size_kib", (json_int_t)kib, "total",
                                                     (json_int_t)read_long(total), "free",
                                                     (json_int_t)read_long(free_path)));
        }
        closedir(d);
        return arr;
}

/* PCI devices that can have VFs (sriov_totalvfs > 0). */
static json_t *sriov_devices(const char *root)
{
        _cleanup_free_ char *dir = path_under(root, "/sys/bus/pci/devices");
        json_t *arr = json_array();
        struct dirent *de;
        DIR *d;

        if (!dir || !(d = opendir(dir)))
                return arr;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                long total;

                if (de->d_name[0] == '.' || asprintf(&p, "%s/%s/sriov_totalvfs", dir, de->d_name) < 0)
                        continue;
                total = read_long(p);
                if (total > 0)
                        json_array_append_new(arr, json_pack("{s:s, s:I}", "pci", de->d_name, "total_vfs",
                                                             (json_int_t)total));
        }
        closedir(d);
        return arr;
}

static size_t count_entries(const char *root, const char *path)
{
        _cleanup_free_ char *dir = path_under(root, path);
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        if (!dir || !(d = opendir(dir)))
                return 0;
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

static json_t *kvm_report(const char *root, const char *qemu, bool probe)
{
        int api = kvm_api_version(root);
        json_t *o;

        if (!exists_under(root, "/dev/kvm"))
                return json_pack("{s:s, s:s}", "verdict", "absent", "reason",
                                 "no /dev/kvm: use accel: tcg (software emulation)");
        if (api < 0)
                return json_pack("{s:s, s:s}", "verdict", "unusable", "reason", strerror(-api));
        if (!probe)
                return json_pack("{s:s, s:i, s:s}", "verdict", "present", "api_version", api, "reason",
                                 "not probed (--no-probe)");
        o = probe_kvm(qemu);
        json_object_set_new(o, "api_version", json_integer(api));
        return o;
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
}

static int run(int argc, char **argv)
{
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},     {"json", no_argument, NULL, 'j'},
                {"qemu", required_argument, NULL, 'q'}, {"no-probe", no_argument, NULL, 'n'},
                {"root", required_argument, NULL, 'r'}, {0},
        };
        const char *qemu = DEFAULT_QEMU, *root = getenv("VMXRUN_ROOT");
        struct vx_host_facts *facts = NULL;
        bool json = false, probe = true;
        json_t *r, *mounts;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help(stdout);
                        return VX_EXIT_OK;
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
                        help(stderr);
                        return VX_EXIT_USAGE;
                }
        }
        if (optind != argc) {
                help(stderr);
                return VX_EXIT_USAGE;
        }
        if (!root || strcmp(root, "/") == 0)
                root = "";
        if (host_facts_gather(root, &facts) < 0)
                return log_error("Out of memory."), VX_EXIT_FAILURE;
        mounts = json_array();
        for (size_t i = 0; i < facts->n_hugetlbfs; i++)
                json_array_append_new(mounts, json_pack("{s:s, s:I}", "path", facts->hugetlbfs[i].path, "page_size_kib",
                                                        (json_int_t)(facts->hugetlbfs[i].page_size >> 10)));
        r = json_pack("{s:o, s:s, s:b, s:i, s:b, s:b, s:I, s:o, s:o, s:o}", "kvm", kvm_report(root, qemu, probe),
                      "qemu", qemu, "qemu_installed", access(qemu, X_OK) == 0, "cpus", (int)facts->n_cpus, "tun",
                      exists_under(root, "/dev/net/tun"), "vhost_net", facts->vhost_net, "iommu_groups",
                      (json_int_t)count_entries(root, "/sys/kernel/iommu_groups"), "hugepages", hugepage_pools(root),
                      "hugetlbfs", mounts, "sriov", sriov_devices(root));
        host_facts_free(facts);
        if (json) {
                (void)cli_print_json(r);
        } else
                print_text(r);
        json_decref(r);
        return VX_EXIT_OK;
}

const struct vx_command vx_cmd_doctor = {
        .name = "doctor",
        .summary = "tell what this host can do (KVM, hugepages, tun, IOMMU, SR-IOV)",
        .run = run,
};
