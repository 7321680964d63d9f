/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whether KVM can run guests here. The question has three answers on real
 * machines, and the difference matters: no /dev/kvm at all; /dev/kvm that
 * QEMU can use but whose vCPUs reject a host-like CPU model (nested KVM that
 * runs only guests built for it: "failed to set MSR 0x10a"), where a stock
 * guest kernel hangs; and KVM that runs guests. Only a real QEMU tells the
 * second from the third, so the probe starts one, paused, and asks.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "facts.h"
#include "qmp.h"
#include "spawn.h"

#define PROBE_TIMEOUT_MS 20000

const char *host_kvm_verdict_to_string(enum vx_kvm_verdict v)
{
        static const char *const names[] = {
                [VX_KVM_ABSENT] = "absent", [VX_KVM_UNUSABLE] = "unusable",       [VX_KVM_NOT_PROBED] = "present",
                [VX_KVM_USABLE] = "usable", [VX_KVM_NO_HOST_CPU] = "no-host-cpu", [VX_KVM_UNKNOWN] = "unknown",
        };
        return (size_t)v < ELEMENTSOF(names) ? names[v] : NULL;
}

static void set(struct vx_kvm_report *r, enum vx_kvm_verdict v, const char *reason)
{
        r->verdict = v;
        snprintf(r->reason, sizeof(r->reason), "%s", reason);
}

/* The kernel's answer to KVM_GET_API_VERSION, or -errno. */
static int kvm_api_version(const char *root)
{
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        int v;

        if (asprintf(&p, "%s/dev/kvm", root) < 0)
                return -ENOMEM;
        fd = open(p, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        v = ioctl(fd, KVM_GET_API_VERSION, 0);
        return v < 0 ? -ENOTTY : v; /* a fixture file opens but is no KVM */
}

/* The first line QEMU wrote before it died, for the verdict's reason. */
static void read_reason(int fd, struct vx_kvm_report *r)
{
        char buf[sizeof(r->reason)];
        ssize_t n = read(fd, buf, sizeof(buf) - 1);

        if (n <= 0)
                return;
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        snprintf(r->reason, sizeof(r->reason), "%s", buf);
}

/*
 * Starts QEMU paused with KVM and a host CPU model, QMP over a socketpair.
 * A greeting means the vCPUs were created; a reset means QEMU died first.
 */
static void probe(const char *qemu, struct vx_kvm_report *ret)
{
        char *argv[] = {(char *)qemu,
                        "-accel",
                        "kvm",
                        "-cpu",
                        "host",
                        "-machine",
                        "pc",
                        "-nodefaults",
                        "-display",
                        "none",
                        "-S",
                        "-m",
                        "64",
                        "-chardev",
                        "socket,id=qmp,fd=3,server=off",
                        "-mon",
                        "chardev=qmp,mode=control",
                        NULL};
        struct vx_spawn_fd keep = {.target = 3};
        struct vx_spawn_options opts = {.fds = &keep, .n_fds = 1, .drop_capabilities = true};
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        _cleanup_close_ int errfd = -EBADF, pidfd = -EBADF;
        int sp[2], errpipe[2], r;
        pid_t pid;

        if (access(qemu, X_OK) < 0)
                return set(ret, VX_KVM_UNKNOWN, "QEMU is not installed");
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                return set(ret, VX_KVM_UNKNOWN, strerror(errno));
        if (pipe2(errpipe, O_CLOEXEC) < 0) {
                r = errno;
                close(sp[0]);
                close(sp[1]);
                return set(ret, VX_KVM_UNKNOWN, strerror(r));
        }
        keep.fd = sp[1];
        opts.log_fd = errpipe[1];
        r = spawn_qemu(argv, &opts, &pid, &pidfd);
        close(sp[1]);
        close(errpipe[1]);
        errfd = errpipe[0];
        if (r < 0) {
                close(sp[0]);
                return set(ret, VX_KVM_UNKNOWN, strerror(-r));
        }
        r = qmp_connect_fd(sp[0], PROBE_TIMEOUT_MS, &q);
        if (r >= 0) {
                json_t *result = NULL;

                (void)qmp_execute(q, "quit", NULL, 5000, &result, NULL);
                json_decref(result);
                set(ret, VX_KVM_USABLE, "QEMU created KVM vCPUs with -cpu host");
        } else {
                (void)kill(pid, SIGKILL);
                set(ret, VX_KVM_NO_HOST_CPU, "QEMU exited while creating KVM vCPUs");
                read_reason(errfd, ret);
        }
        (void)waitpid(pid, NULL, 0);
}

int host_kvm_report(const char *root, const char *qemu, bool run_probe, struct vx_kvm_report *ret)
{
        _cleanup_free_ char *dev = NULL;
        struct vx_kvm_report r = {.api_version = -1};
        int api;

        if (!root || strcmp(root, "/") == 0)
                root = "";
        if (asprintf(&dev, "%s/dev/kvm", root) < 0)
                return -ENOMEM;
        if (access(dev, F_OK) < 0) {
                set(&r, VX_KVM_ABSENT, "no /dev/kvm: use accel: tcg (software emulation)");
                *ret = r;
                return 0;
        }
        api = kvm_api_version(root);
        if (api < 0)
                set(&r, VX_KVM_UNUSABLE, strerror(-api));
        else {
                r.api_version = api;
                if (run_probe)
                        probe(qemu, &r);
                else
                        set(&r, VX_KVM_NOT_PROBED, "not probed (--no-probe)");
        }
        *ret = r;
        return 0;
}
