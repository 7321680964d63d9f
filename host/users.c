/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "users.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"

/* The fields of the line of <root>/etc/<file> whose first field is name: 0 and the third and fourth fields. */
static int find_entry(const char *root, const char *file, const char *name, unsigned long *ret3, unsigned long *ret4)
{
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t cap = 0, len = strlen(name);

        if (!root || strcmp(root, "/") == 0)
                root = "";
        if (asprintf(&path, "%s/etc/%s", root, file) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (getline(&line, &cap, f) >= 0) {
                unsigned long a = 0, b = 0;
                char *p;

                if (strncmp(line, name, len) != 0 || line[len] != ':')
                        continue;
                /* name:password:third:fourth:... */
                p = strchr(line + len + 1, ':');
                if (!p || sscanf(p + 1, "%lu:%lu", &a, &b) < 1)
                        return -EBADMSG;
                *ret3 = a;
                if (ret4)
                        *ret4 = b;
                return 0;
        }
        return -ESRCH;
}

int host_user_lookup(const char *root, const char *name, struct vx_user *ret)
{
        unsigned long uid, gid;
        int r;

        r = find_entry(root, "passwd", name, &uid, &gid);
        if (r < 0)
                return r;
        *ret = (struct vx_user){.uid = (uid_t)uid, .gid = (gid_t)gid};
        return 0;
}

int host_group_lookup(const char *root, const char *name, gid_t *ret)
{
        unsigned long gid;
        int r;

        r = find_entry(root, "group", name, &gid, NULL);
        if (r < 0)
                return r;
        *ret = (gid_t)gid;
        return 0;
}

int host_user_create(const char *name)
{
        char *argv[] = {"/usr/sbin/useradd", "--system",     "--user-group", "--no-create-home",
                        "--home-dir",        "/nonexistent", "--shell",      "/usr/sbin/nologin",
                        "--comment",         "vmxrun QEMU",  (char *)name,   NULL};
        int status;
        pid_t pid;

        if (access(argv[0], X_OK) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null_fd >= 0)
                        (void)dup2(null_fd, STDOUT_FILENO);
                execv(argv[0], argv);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static bool in_groups(const struct vx_user *u, gid_t g)
{
        if (g == u->gid)
                return true;
        for (size_t i = 0; i < u->n_groups; i++)
                if (u->groups[i] == g)
                        return true;
        return false;
}

/* The kernel's DAC check without capabilities: owner bits, else group bits, else other bits. */
static bool allowed(const struct stat *st, const struct vx_user *u, int mode)
{
        unsigned bits = st->st_uid == u->uid       ? (st->st_mode >> 6)
                        : in_groups(u, st->st_gid) ? (st->st_mode >> 3)
                                                   : st->st_mode;

        bits &= 7;
        return ((mode & R_OK) == 0 || (bits & 4)) && ((mode & W_OK) == 0 || (bits & 2)) &&
               ((mode & X_OK) == 0 || (bits & 1));
}

int host_access_as(const char *path, const struct vx_user *u, int mode, char **ret_blocker)
{
        _cleanup_free_ char *copy = strdup(path);
        struct stat st;
        char *slash;

        if (!copy)
                return -ENOMEM;
        if (u->uid == 0)
                return 0;
        /* Every directory above must let u search it. */
        for (slash = strchr(copy + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                if (stat(copy, &st) < 0)
                        return -errno;
                if (!allowed(&st, u, X_OK)) {
                        *ret_blocker = strdup(copy);
                        return *ret_blocker ? -EPERM : -ENOMEM;
                }
                *slash = '/';
        }
        if (stat(path, &st) < 0)
                return -errno;
        if (!allowed(&st, u, mode)) {
                *ret_blocker = strdup(path);
                return *ret_blocker ? -EACCES : -ENOMEM;
        }
        return 0;
}
