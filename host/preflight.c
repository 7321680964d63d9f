/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "preflight.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

static const char *strip_root(const char *root)
{
        return !root || strcmp(root, "/") == 0 ? "" : root;
}

int checks_add(struct vx_checks *c, const char *id, enum vx_check_status status, const char *subject, const char *key,
               const char *fix, const char *fmt, ...)
{
        struct vx_check item = {.status = status};
        struct vx_check *n;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&item.message, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        item.id = strdup(id);
        item.subject = strdup(subject ?: "");
        item.key = key ? strdup(key) : NULL;
        item.fix = fix ? strdup(fix) : NULL;
        n = item.id && item.subject && (!key || item.key) && (!fix || item.fix)
                    ? realloc(c->items, (c->n + 1) * sizeof(*n))
                    : NULL;
        if (!n) {
                free(item.message);
                free(item.id);
                free(item.subject);
                free(item.key);
                free(item.fix);
                return -ENOMEM;
        }
        c->items = n;
        c->items[c->n++] = item;
        return 0;
}

size_t checks_count(const struct vx_checks *c, enum vx_check_status status)
{
        size_t n = 0;

        for (size_t i = 0; i < c->n; i++)
                n += c->items[i].status == status;
        return n;
}

void checks_done(struct vx_checks *c)
{
        for (size_t i = 0; i < c->n; i++) {
                free(c->items[i].id);
                free(c->items[i].subject);
                free(c->items[i].message);
                free(c->items[i].fix);
                free(c->items[i].key);
        }
        free(c->items);
        *c = (struct vx_checks){0};
}

const char *check_status_to_string(enum vx_check_status s)
{
        static const char *const names[] = {[VX_CHECK_OK] = "ok", [VX_CHECK_WARN] = "warn", [VX_CHECK_FAIL] = "fail"};

        return (size_t)s < ELEMENTSOF(names) ? names[s] : NULL;
}

/* A whole small file (sysfs, /proc), NUL-terminated, without a trailing newline. */
static int read_line_file(const char *root, const char *path, char **ret)
{
        _cleanup_free_ char *p = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        if (asprintf(&p, "%s%s", strip_root(root), path) < 0)
                return -ENOMEM;
        f = fopen(p, "re");
        if (!f)
                return -errno;
        n = getline(&line, &cap, f);
        if (n < 0) {
                free(line);
                return feof(f) ? -ENODATA : -EIO;
        }
        line[strcspn(line, "\n")] = '\0';
        *ret = line;
        return 0;
}

int host_cpu_flags(const char *root, char **ret)
{
        _cleanup_free_ char *p = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t cap = 0;

        if (asprintf(&p, "%s/proc/cpuinfo", strip_root(root)) < 0)
                return -ENOMEM;
        f = fopen(p, "re");
        if (!f)
                return -errno;
        while (getline(&line, &cap, f) >= 0) {
                const char *colon = strchr(line, ':');
                char *flags;

                /* "flags\t\t: fpu vme ..." on x86 ("Features" on arm64, where vmxrun does not run). */
                if (strncmp(line, "flags", 5) != 0 || !colon || strspn(line + 5, " \t") != (size_t)(colon - line - 5))
                        continue;
                colon += 1 + strspn(colon + 1, " \t");
                flags = strdup(colon);
                if (!flags)
                        return -ENOMEM;
                flags[strcspn(flags, "\n")] = '\0';
                *ret = flags;
                return 0;
        }
        return -ENOENT;
}

static bool words_have(const char *words, const char *name, const char *seps)
{
        size_t len = strlen(name);

        for (const char *p = words; p && *p;) {
                size_t n;

                p += strspn(p, seps);
                n = strcspn(p, seps);
                if (n == len && strncmp(p, name, len) == 0)
                        return true;
                p += n;
        }
        return false;
}

bool host_flags_have(const char *flags, const char *name)
{
        return words_have(flags, name, " \t");
}

int host_cpus_read(const char *root, const char *which, struct vx_cpuset *ret)
{
        _cleanup_free_ char *path = NULL, *line = NULL;
        struct vx_cpuset set;
        int r;

        if (asprintf(&path, "/sys/devices/system/cpu/%s", which) < 0)
                return -ENOMEM;
        r = read_line_file(root, path, &line);
        if (r < 0)
                return r;
        r = vx_cpuset_parse(line, &set);
        if (r < 0)
                return -EINVAL;
        *ret = set;
        return 0;
}

int host_kernel_cmdline(const char *root, char **ret)
{
        return read_line_file(root, "/proc/cmdline", ret);
}

bool host_cmdline_has(const char *cmdline, const char *word)
{
        return words_have(cmdline, word, " \t");
}

/* "QEMU emulator version 7.2.22 (Debian ...)" -> 70222. */
static unsigned parse_qemu_version(const char *line)
{
        const char *p = strstr(line, "version ");
        unsigned major = 0, minor = 0, micro = 0;

        if (!p || sscanf(p + strlen("version "), "%u.%u.%u", &major, &minor, &micro) < 2)
                return 0;
        return major * 10000 + minor * 100 + micro;
}

int host_qemu_version(const char *qemu, char *buf, size_t size, unsigned *ret_version)
{
        char *argv[] = {(char *)qemu, "--version", NULL};
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF, null_fd = -EBADF;
        int fds[2], status;
        ssize_t n = 0, k;
        pid_t pid;

        if (size < 2)
                return -EINVAL;
        if (access(qemu, X_OK) < 0)
                return -errno;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        rfd = fds[0];
        wfd = fds[1];
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0)
                return -errno;
        /* fork, not posix_spawn: host/spawn.h shadows <spawn.h> on this module's include path. */
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(wfd, STDOUT_FILENO) < 0 || dup2(null_fd, STDERR_FILENO) < 0)
                        _exit(127);
                execv(qemu, argv);
                _exit(127);
        }
        wfd = safe_close(wfd);
        while (n < (ssize_t)size - 1 && (k = read(rfd, buf + n, size - 1 - n)) > 0)
                n += k;
        rfd = safe_close(rfd); /* QEMU gets EPIPE if it had more to say */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        if (!*buf)
                return -ENODATA;
        if (ret_version)
                *ret_version = parse_qemu_version(buf);
        return 0;
}
