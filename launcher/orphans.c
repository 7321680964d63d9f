/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Orphans: QEMUs of a deployment that no state file names, because their
 * supervisor died between spawning them and its first state write. Each
 * QEMU vmxrun starts writes <deployment>/<vm>/qemu.pid (-pidfile), so its
 * command line names its runtime directory: a scan of /proc finds it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "launcher.h"
#include "log.h"
#include "runtime.h"
#include "vm.h"

/* The VM name when argv has "-pidfile <deployment_dir>/<vm>/qemu.pid", else NULL. */
static char *orphan_vm(char **argv, size_t n, const char *deployment_dir)
{
        size_t len = strlen(deployment_dir);

        for (size_t i = 0; i + 1 < n; i++) {
                const char *p = argv[i + 1], *end;

                if (strcmp(argv[i], "-pidfile") != 0 || strncmp(p, deployment_dir, len) != 0 || p[len] != '/')
                        continue;
                p += len + 1;
                end = strchr(p, '/');
                if (!end || strcmp(end, "/qemu.pid") != 0 || end == p)
                        continue;
                return strndup(p, (size_t)(end - p));
        }
        return NULL;
}

int launcher_find_orphans(const char *deployment_dir, struct vx_orphan **ret, size_t *ret_n)
{
        _cleanup_free_ struct vx_orphan *list = NULL;
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        d = opendir("/proc");
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *buf = NULL, *vm = NULL;
                _cleanup_free_ char **argv = NULL;
                struct vx_orphan *l;
                size_t argc = 0;
                pid_t pid;

                if (!isdigit((unsigned char)de->d_name[0]))
                        continue;
                pid = (pid_t)atoi(de->d_name);
                if (vm_read_cmdline(pid, &buf, &argv, &argc) < 0)
                        continue;
                vm = orphan_vm(argv, argc, deployment_dir);
                if (!vm)
                        continue;
                l = realloc(list, (n + 1) * sizeof(*l));
                if (!l) {
                        closedir(d);
                        return -ENOMEM;
                }
                list = l;
                list[n] = (struct vx_orphan){.pid = pid};
                snprintf(list[n].vm, sizeof(list[n].vm), "%s", vm);
                (void)vm_read_start_ticks(pid, &list[n].start_ticks);
                n++;
        }
        closedir(d);
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

int launcher_stop_orphans(const char *deployment_dir)
{
        _cleanup_free_ struct vx_orphan *o = NULL;
        size_t n = 0;
        int r;

        r = launcher_find_orphans(deployment_dir, &o, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to look for QEMUs of %s: %m", deployment_dir);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *vm_dir = NULL;

                /* Nobody supervises it: no guest is asked to power off that no one could watch. */
                log_info("%s: killing orphan QEMU (pid %d), whose supervisor died before recording it.", o[i].vm,
                         (int)o[i].pid);
                (void)kill(o[i].pid, SIGKILL);
                if (asprintf(&vm_dir, "%s/%s", deployment_dir, o[i].vm) >= 0)
                        runtime_remove_vm_dir(vm_dir);
        }
        if (n > 0)
                runtime_remove_deployment_dir(deployment_dir);
        return (int)n;
}
