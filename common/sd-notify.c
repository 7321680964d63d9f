/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sd-notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

int sd_notify_send(const char *socket_path, const char *state)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        const char *path = socket_path ?: getenv("NOTIFY_SOCKET");
        size_t len;
        socklen_t salen;

        if (!path || !*path)
                return 0;
        len = strlen(path);
        if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
                return -EINVAL;
        memcpy(sa.sun_path, path, len);
        if (path[0] == '@') {
                /* Abstract: the name is the bytes after the NUL, and its length is the address length. */
                sa.sun_path[0] = '\0';
                salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
        } else
                salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
                return -errno;
        return 1;
}

int sd_notify_sendf(const char *socket_path, const char *fmt, ...)
{
        _cleanup_free_ char *state = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&state, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return sd_notify_send(socket_path, state);
}

static int parse_u64(const char *s, uint64_t *ret)
{
        unsigned long long v;
        char *end;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int sd_watchdog_usec(int pid, uint64_t *ret_usec)
{
        const char *usec = getenv("WATCHDOG_USEC"), *wpid = getenv("WATCHDOG_PID");
        uint64_t v, p;

        if (!usec)
                return 0;
        if (parse_u64(usec, &v) < 0 || v == 0)
                return -EINVAL;
        if (wpid) {
                if (parse_u64(wpid, &p) < 0 || p == 0)
                        return -EINVAL;
                if (p != (uint64_t)(pid > 0 ? pid : getpid()))
                        return 0;
        }
        *ret_usec = v;
        return 1;
}
