/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sysfs.h"
#include "vfio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

static char *vpath(const char *root, const char *fmt, va_list ap)
{
        _cleanup_free_ char *rel = NULL;
        char *p;

        if (vasprintf(&rel, fmt, ap) < 0)
                return NULL;
        if (!root || strcmp(root, "/") == 0)
                root = "";
        if (asprintf(&p, "%s%s", root, rel) < 0)
                return NULL;
        return p;
}

char *sysfs_path(const char *root, const char *fmt, ...)
{
        va_list ap;
        char *p;

        va_start(ap, fmt);
        p = vpath(root, fmt, ap);
        va_end(ap);
        return p;
}

#define VPATH(var, root, fmt)                                                                                          \
        do {                                                                                                           \
                va_list _ap;                                                                                           \
                va_start(_ap, fmt);                                                                                    \
                var = vpath(root, fmt, _ap);                                                                           \
                va_end(_ap);                                                                                           \
                if (!var)                                                                                              \
                        return -ENOMEM;                                                                                \
        } while (0)

static int read_path(const char *p, char *buf, size_t size)
{
        _cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = read(fd, buf, size);
        if (n < 0)
                return -errno;
        if ((size_t)n >= size)
                return -EOVERFLOW;
        buf[n] = 0;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = 0;
        return 0;
}

int vfio_sysfs_read(const char *root, char *buf, size_t size, const char *fmt, ...)
{
        _cleanup_free_ char *p = NULL;

        VPATH(p, root, fmt);
        return read_path(p, buf, size);
}

int sysfs_read_long(const char *root, long *ret, const char *fmt, ...)
{
        _cleanup_free_ char *p = NULL;
        char buf[64], *end;
        long v;
        int r;

        VPATH(p, root, fmt);
        r = read_path(p, buf, sizeof(buf));
        if (r < 0)
                return r;
        errno = 0;
        v = strtol(buf, &end, 0);
        if (errno || end == buf || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int sysfs_link_name(const char *root, char *buf, size_t size, const char *fmt, ...)
{
        _cleanup_free_ char *p = NULL;
        char target[PATH_MAX];
        const char *base;
        ssize_t n;

        VPATH(p, root, fmt);
        n = readlink(p, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = 0;
        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (strlen(base) >= size)
                return -EOVERFLOW;
        strcpy(buf, base);
        return 0;
}

bool sysfs_exists(const char *root, const char *fmt, ...)
{
        _cleanup_free_ char *p = NULL;
        struct stat st;
        va_list ap;

        va_start(ap, fmt);
        p = vpath(root, fmt, ap);
        va_end(ap);
        return p && lstat(p, &st) == 0;
}

int sysfs_write(const char *root, const char *value, const char *fmt, ...)
{
        _cleanup_free_ char *p = NULL;

        VPATH(p, root, fmt);
        return vfio_sysfs_write(p, value);
}

char **sysfs_strv_free(char **l)
{
        for (char **i = l; i && *i; i++)
                free(*i);
        free(l);
        return NULL;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int sysfs_list(const char *root, char ***ret, const char *fmt, ...)
{
        _cleanup_free_ char *p = NULL;
        char **l = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d;

        VPATH(p, root, fmt);
        d = opendir(p);
        if (!d)
                return -errno;
        l = calloc(1, sizeof(char *));
        while (l && (de = readdir(d))) {
                char **nl;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                nl = realloc(l, (n + 2) * sizeof(char *));
                if (!nl) {
                        l = sysfs_strv_free(l);
                        break;
                }
                l = nl;
                l[n] = strdup(de->d_name);
                if (!l[n]) {
                        l = sysfs_strv_free(l);
                        break;
                }
                l[++n] = NULL;
        }
        closedir(d);
        if (!l)
                return -ENOMEM;
        qsort(l, n, sizeof(char *), cmp_str);
        *ret = l;
        return 0;
}

int vfio_say(int r, char **why, const char *fmt, ...)
{
        va_list ap;

        if (!why)
                return r;
        free(*why);
        *why = NULL;
        va_start(ap, fmt);
        if (vasprintf(why, fmt, ap) < 0)
                *why = NULL;
        va_end(ap);
        return r;
}
