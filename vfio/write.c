/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The single write to sysfs, alone in its object file so that a test's
 * -Wl,--wrap=vfio_sysfs_write catches every call from the rest of vfio/.
 */
#include "vfio.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

int vfio_sysfs_write(const char *path, const char *value)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        size_t len = strlen(value);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = write(fd, value, len);
        if (n < 0)
                return -errno;
        return (size_t)n == len ? 0 : -EIO;
}
