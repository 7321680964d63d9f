/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

static int mkdir_parents(const char *path)
{
        char buf[PATH_MAX];
        size_t len = strlen(path);

        if (len >= sizeof(buf))
                return -ENAMETOOLONG;
        memcpy(buf, path, len + 1);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        return 0;
}

int runtime_mkdir(const char *path)
{
        struct stat st;
        int r;

        r = mkdir_parents(path);
        if (r < 0)
                return r;
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return -errno;
        if (lstat(path, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        /* A directory someone else made must not stay readable or writable by others. */
        if (st.st_uid != geteuid())
                return -EPERM;
        /*
         * Group bits stay: they are how vmxrun lets QEMU's group in (apply_runtime_dir_for_qemu()),
         * and a second `start` racing the first must not take that away from a running QEMU.
         */
        if ((st.st_mode & 07007) != 0 && chmod(path, (st.st_mode & 0770) | 0700) < 0)
                return -errno;
        return 0;
}

int runtime_write_atomic(const char *path, const char *data, size_t len)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t done = 0;

        if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        while (done < len) {
                ssize_t n = write(fd, data + done, len - done);
                if (n < 0) {
                        int r = errno == EINTR ? 0 : -errno;
                        if (r < 0) {
                                unlink(tmp);
                                return r;
                        }
                        continue;
                }
                done += (size_t)n;
        }
        /*
         * No fsync: everything written here describes host state that a reboot
         * erases anyway (processes, taps, bridges, hugepage pools), so only
         * atomicity against a crashed writer matters, and rename gives that. An
         * fsync would put milliseconds of disk latency on every start where the
         * runtime dir is not on tmpfs.
         */
        if (rename(tmp, path) < 0) {
                int r = -errno;
                unlink(tmp);
                return r;
        }
        return 0;
}

int runtime_lock(const char *deployment_dir, int *ret_fd)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (asprintf(&path, "%s/supervisor.lock", deployment_dir) < 0)
                return -ENOMEM;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

bool runtime_is_locked(const char *deployment_dir)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;

        if (asprintf(&path, "%s/supervisor.lock", deployment_dir) < 0)
                return false;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return false;
        /* A shared lock fails only while the supervisor holds its exclusive one. */
        if (flock(fd, LOCK_SH | LOCK_NB) < 0)
                return errno == EWOULDBLOCK;
        (void)flock(fd, LOCK_UN);
        return false;
}

static void remove_files(const char *dir, const char *const *names)
{
        /* Gone already (a VM's directory goes when it stops, and again in the teardown), or empty: done in
         * one call, not one per name (a 64-VM stop made 320 unlinks of files that were not there). */
        if (rmdir(dir) == 0 || errno == ENOENT)
                return;
        for (; *names; names++) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", dir, *names) >= 0)
                        (void)unlink(p);
        }
        (void)rmdir(dir);
}

void runtime_remove_vm_dir(const char *vm_dir)
{
        static const char *const names[] = {"qmp.sock", "qemu.log", "qemu.pid", "console.log", "console.sock", NULL};
        remove_files(vm_dir, names);
}

void runtime_remove_deployment_dir(const char *deployment_dir)
{
        static const char *const names[] = {"control.sock", "state.json", "profile.yaml", "supervisor.log", "supervisor.lock", NULL};
        remove_files(deployment_dir, names);
}
