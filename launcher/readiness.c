/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "readiness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cleanup.h"

struct vx_readiness {
        int inotify_fd;
        int log_fd;
        const char *pattern;
        size_t pattern_len;
        char *carry; /* the last pattern_len - 1 bytes read: a match may straddle two reads */
        size_t carry_len;
};

int readiness_watch(const struct vx_vm_plan *vp, struct vx_readiness **ret)
{
        _cleanup_free_ char *path = NULL;
        struct vx_readiness *r;

        if (asprintf(&path, "%s/console.log", vp->runtime_dir) < 0)
                return -ENOMEM;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->inotify_fd = r->log_fd = -EBADF;
        r->pattern = vp->vm->ready.console_pattern;
        r->pattern_len = strlen(r->pattern);
        r->carry = malloc(r->pattern_len + 1);
        /* QEMU creates the log when it sets up the chardev, before QMP answers. */
        r->log_fd = open(path, O_RDONLY | O_CLOEXEC | O_CREAT, 0600);
        r->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (!r->carry || r->log_fd < 0 || r->inotify_fd < 0 ||
            inotify_add_watch(r->inotify_fd, path, IN_MODIFY) < 0) {
                int err = r->carry ? -errno : -ENOMEM;
                readiness_free(r);
                return err;
        }
        *ret = r;
        return 0;
}

int readiness_fd(const struct vx_readiness *r)
{
        return r->inotify_fd;
}

int readiness_process(struct vx_readiness *r)
{
        char events[4096];
        char buf[65536];

        /* Drain the notification; what matters is the file, read from where we left. */
        while (read(r->inotify_fd, events, sizeof(events)) > 0)
                ;
        for (;;) {
                ssize_t n = read(r->log_fd, buf + r->carry_len, sizeof(buf) - r->carry_len - 1);
                size_t len, keep;

                if (n < 0)
                        return errno == EINTR ? 0 : -errno;
                if (n == 0)
                        return 0;
                memcpy(buf, r->carry, r->carry_len);
                len = r->carry_len + (size_t)n;
                buf[len] = '\0';
                if (memmem(buf, len, r->pattern, r->pattern_len))
                        return 1;
                keep = r->pattern_len > 1 ? r->pattern_len - 1 : 0;
                if (keep > len)
                        keep = len;
                memcpy(r->carry, buf + len - keep, keep);
                r->carry_len = keep;
        }
}

struct vx_readiness *readiness_free(struct vx_readiness *r)
{
        if (!r)
                return NULL;
        safe_close(r->inotify_fd);
        safe_close(r->log_fd);
        free(r->carry);
        free(r);
        return NULL;
}
