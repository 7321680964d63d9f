/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>

#include "cleanup.h"

int vx_lock_file(const char *path, int *ret_fd)
{
        _cleanup_close_ int fd = -EBADF;

        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
