/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "spawner.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

/* With the log fd, below the kernel's SCM_MAX_FD (253) per message. */
#define SPAWNER_MAX_FDS 200
/* QEMU's command line, NUL-separated; a message must fit the socket's buffer (raised below). */
#define SPAWNER_MAX_ARGV (192 * 1024)
#define SPAWNER_SOCKET_BUFFER (1024 * 1024)

enum request_kind {
        REQ_SPAWN = 1,
        REQ_REAP = 2,
};

/* Both ends are the same binary: the layout needs no encoding. */
struct request {
        uint32_t kind;
        uint32_t n_fds; /* fds kept at targets[], sent after the log fd (when has_log_fd) */
        int32_t targets[SPAWNER_MAX_FDS];
        bool has_log_fd, has_user, has_affinity;
        struct vx_user user;
        uint64_t memlock_bytes;
        struct vx_cpuset affinity;
        int32_t pid;         /* REQ_REAP */
        uint32_t argv_bytes; /* the NUL-terminated arguments that follow this header */
};

struct answer {
        int32_t r; /* 0 or -errno */
        int32_t pid;
        int32_t status;
};

static int spawner_fd = -EBADF;
static pid_t spawner_pid;

bool spawner_running(void)
{
        return spawner_fd >= 0;
}

static void close_all(int *fds, size_t n)
{
        for (size_t i = 0; i < n; i++)
                safe_close(fds[i]);
}

/* One message with its fds. Returns 0 or -errno. */
static int send_message(int fd, const void *head, size_t head_len, const void *tail, size_t tail_len, const int *fds,
                        size_t n_fds)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * (SPAWNER_MAX_FDS + 1))];
        } control = {0};
        struct iovec iov[2] = {{(void *)head, head_len}, {(void *)tail, tail_len}};
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = tail_len ? 2 : 1};
        ssize_t n;

        if (n_fds > SPAWNER_MAX_FDS + 1)
                return -E2BIG;
        if (n_fds) {
                struct cmsghdr *c;

                msg.msg_control = control.buf;
                msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                c = CMSG_FIRSTHDR(&msg);
                if (!c)
                        return -EINVAL;
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        do
                n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return (size_t)n == head_len + tail_len ? 0 : -EPROTO;
}

/*
 * One message into buf (at most size bytes) and the fds that came with it
 * (CLOEXEC). Returns its length (0: the other end is gone) or -errno; on
 * error no fd is left open.
 */
static ssize_t recv_message(int fd, void *buf, size_t size, int *fds, size_t max_fds, size_t *ret_n_fds)
{
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * (SPAWNER_MAX_FDS + 1))];
        } control;
        struct iovec iov = {buf, size};
        struct msghdr msg = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
        size_t n_fds = 0;
        ssize_t n;

        do
                n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                size_t k;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int got;

                        memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (n_fds < max_fds)
                                fds[n_fds++] = got;
                        else
                                close(got);
                }
        }
        if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
                close_all(fds, n_fds);
                return -EMSGSIZE;
        }
        *ret_n_fds = n_fds;
        return n;
}

/* ---- the spawner's side ---- */

static bool allowed_binary(const struct vx_plan *plan, const char *path)
{
        for (size_t i = 0; i < plan->n_vms; i++)
                if (plan->vms[i].argv.n && strcmp(plan->vms[i].argv.items[0], path) == 0)
                        return true;
        return false;
}

/* The NUL-separated arguments as an argv (pointing into blob). Returns NULL when malformed. */
static char **split_argv(char *blob, size_t len)
{
        size_t n = 0, k = 0;
        char **argv;

        if (len == 0 || blob[len - 1] != '\0')
                return NULL;
        for (size_t i = 0; i < len; i++)
                n += blob[i] == '\0';
        argv = calloc(n + 1, sizeof(*argv));
        if (!argv)
                return NULL;
        for (size_t off = 0; off < len; off += strlen(blob + off) + 1)
                argv[k++] = blob + off;
        return argv;
}

static struct answer handle_spawn(const struct vx_plan *plan, struct request *req, char *blob, size_t blob_len,
                                  const int *fds, size_t n_fds, int *ret_pidfd)
{
        _cleanup_free_ struct vx_spawn_fd *keep = NULL;
        _cleanup_free_ char **argv = NULL;
        struct vx_spawn_options opts = {
                .log_fd = -EBADF,
                .drop_capabilities = true, /* whatever was asked: nothing the spawner starts keeps a capability */
                .user = req->has_user ? &req->user : NULL,
                .memlock_bytes = req->memlock_bytes,
                .affinity = req->has_affinity ? &req->affinity : NULL,
        };
        struct answer a = {0};
        size_t first = req->has_log_fd ? 1 : 0;
        pid_t pid;

        if (req->n_fds > SPAWNER_MAX_FDS || n_fds != first + req->n_fds || blob_len != req->argv_bytes ||
            req->user.n_groups > sizeof(req->user.groups) / sizeof(req->user.groups[0]))
                return (struct answer){.r = -EPROTO};
        argv = split_argv(blob, blob_len);
        if (!argv)
                return (struct answer){.r = -EPROTO};
        /* A supervisor that was taken over must not make us run anything but the plan's QEMU. */
        if (!allowed_binary(plan, argv[0]))
                return (struct answer){.r = -EPERM};
        keep = calloc(req->n_fds ? req->n_fds : 1, sizeof(*keep));
        if (!keep)
                return (struct answer){.r = -ENOMEM};
        for (size_t i = 0; i < req->n_fds; i++)
                keep[i] = (struct vx_spawn_fd){.fd = fds[first + i], .target = req->targets[i]};
        opts.fds = keep;
        opts.n_fds = req->n_fds;
        if (req->has_log_fd)
                opts.log_fd = fds[0];
        a.r = spawn_qemu(argv, &opts, &pid, ret_pidfd);
        if (a.r >= 0)
                a.pid = pid;
        return a;
}

static struct answer handle_reap(const struct request *req)
{
        int status;

        if (req->pid <= 0)
                return (struct answer){.r = -EINVAL};
        while (waitpid(req->pid, &status, 0) < 0)
                if (errno != EINTR)
                        return (struct answer){.r = -errno};
        return (struct answer){.pid = req->pid, .status = status};
}

/* Nothing of the supervisor's but the socket: no lock, no notify pipe, no terminal. */
static int spawner_setup(int fd)
{
        int null_fd;

        for (int sig = 1; sig < _NSIG; sig++)
                if (sig == SIGINT || sig == SIGHUP || sig == SIGTERM || sig == SIGQUIT || sig == SIGPIPE ||
                    sig == SIGTSTP)
                        signal(sig, SIG_IGN); /* the supervisor decides; we go with it */
        if (fd != 3) {
                if (dup3(fd, 3, O_CLOEXEC) < 0)
                        return -errno;
                fd = 3;
        }
        if (syscall(SYS_close_range, 4U, ~0U, 0) < 0)
                return -errno;
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0)
                return -errno;
        for (int std = 0; std <= 2; std++)
                if (dup2(null_fd, std) < 0)
                        return -errno;
        close(null_fd);
        (void)prctl(PR_SET_NAME, "vmxrun-spawner");
        return fd;
}

static void __attribute__((noreturn)) spawner_main(int fd, const struct vx_plan *plan)
{
        size_t size = sizeof(struct request) + SPAWNER_MAX_ARGV;
        char *buf;

        fd = spawner_setup(fd);
        buf = malloc(size + 1);
        if (fd < 0 || !buf)
                _exit(1);
        /* The supervisor's free heap, which the fork left us too: we need none of it. */
        (void)malloc_trim(0);
        /* Set up, named: spawner_start() returns once we say so (one empty answer). */
        if (send_message(fd, &(struct answer){0}, sizeof(struct answer), NULL, 0, NULL, 0) < 0)
                _exit(1);
        for (;;) {
                int fds[SPAWNER_MAX_FDS + 1], pidfd = -EBADF;
                struct request req;
                struct answer a;
                size_t n_fds = 0;
                ssize_t n;

                n = recv_message(fd, buf, size, fds, SPAWNER_MAX_FDS + 1, &n_fds);
                if (n == 0)
                        _exit(0); /* the supervisor is gone */
                if (n < 0 && n != -EMSGSIZE)
                        _exit(1);
                if (n < 0 || (size_t)n < sizeof(req)) {
                        if (n >= 0)
                                close_all(fds, n_fds);
                        a = (struct answer){.r = n < 0 ? (int)n : -EPROTO};
                } else {
                        memcpy(&req, buf, sizeof(req));
                        if (req.kind == REQ_SPAWN)
                                a = handle_spawn(plan, &req, buf + sizeof(req), (size_t)n - sizeof(req), fds, n_fds,
                                                 &pidfd);
                        else if (req.kind == REQ_REAP)
                                a = handle_reap(&req);
                        else
                                a = (struct answer){.r = -EPROTO};
                        close_all(fds, n_fds); /* QEMU has its copies */
                }
                if (send_message(fd, &a, sizeof(a), NULL, 0, &pidfd, pidfd >= 0 ? 1 : 0) < 0)
                        _exit(1);
                safe_close(pidfd);
        }
}

/* ---- the supervisor's side ---- */

/* The spawner's first message: it has closed what it must not keep and carries its name (comm). */
static int await_ready(void)
{
        int fds[1];
        struct answer a;
        size_t n_fds = 0;
        ssize_t n;

        n = recv_message(spawner_fd, &a, sizeof(a), fds, 1, &n_fds);
        if (n > 0)
                close_all(fds, n_fds);
        return n == (ssize_t)sizeof(a) ? 0 : n < 0 ? (int)n : -ECHILD;
}

int spawner_start(const struct vx_plan *plan)
{
        int pair[2], size = SPAWNER_SOCKET_BUFFER, r;
        pid_t pid;

        if (spawner_fd >= 0)
                return -EALREADY;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        /* Room for QEMU's longest command line in one message; the FORCE variant goes past wmem_max, as root. */
        for (int i = 0; i < 2; i++)
                if (setsockopt(pair[i], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
                        (void)setsockopt(pair[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(pair[0]);
                close(pair[1]);
                return r;
        }
        if (pid == 0) {
                close(pair[0]);
                spawner_main(pair[1], plan);
        }
        close(pair[1]);
        spawner_fd = pair[0];
        spawner_pid = pid;
        r = await_ready();
        if (r < 0) {
                spawner_stop();
                return r;
        }
        return 0;
}

/* One request, one answer (with the pidfd of a spawn). Returns 0 or -errno. */
static int call(const struct request *req, const char *blob, size_t blob_len, const int *fds, size_t n_fds,
                struct answer *ret, int *ret_fd)
{
        int got[SPAWNER_MAX_FDS + 1];
        size_t n_got = 0;
        struct answer a = {0};
        ssize_t n;
        int r;

        r = send_message(spawner_fd, req, sizeof(*req), blob, blob_len, fds, n_fds);
        if (r >= 0) {
                n = recv_message(spawner_fd, &a, sizeof(a), got, SPAWNER_MAX_FDS + 1, &n_got);
                r = n == (ssize_t)sizeof(a) ? 0 : n < 0 ? (int)n : -ENOTCONN;
                if (r < 0 && n > 0)
                        close_all(got, n_got);
        }
        if (r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN)
                return log_error_errno(-ENOTCONN,
                                       "The spawner (pid %d), which starts QEMU for the supervisor, is gone.",
                                       (int)spawner_pid);
        if (r < 0)
                return r;
        if (ret_fd && n_got == 1)
                *ret_fd = got[0];
        else
                close_all(got, n_got);
        *ret = a;
        return 0;
}

int spawner_spawn(char *const argv[], const struct vx_spawn_options *opts, pid_t *ret_pid, int *ret_pidfd)
{
        _cleanup_free_ int *fds = NULL;
        _cleanup_free_ char *blob = NULL;
        _cleanup_free_ struct request *req = NULL;
        size_t len = 0, n_fds = 0;
        struct answer a = {0};
        int pidfd = -EBADF, r;

        if (spawner_fd < 0)
                return spawn_qemu(argv, opts, ret_pid, ret_pidfd);
        if (opts->n_fds > SPAWNER_MAX_FDS)
                return -E2BIG;
        for (size_t i = 0; argv[i]; i++)
                len += strlen(argv[i]) + 1;
        if (len > SPAWNER_MAX_ARGV)
                return -E2BIG;
        req = calloc(1, sizeof(*req));
        blob = malloc(len ? len : 1);
        fds = calloc(opts->n_fds + 1, sizeof(int));
        if (!req || !blob || !fds)
                return -ENOMEM;
        len = 0;
        for (size_t i = 0; argv[i]; i++) {
                size_t k = strlen(argv[i]) + 1;
                memcpy(blob + len, argv[i], k);
                len += k;
        }
        *req = (struct request){
                .kind = REQ_SPAWN,
                .n_fds = (uint32_t)opts->n_fds,
                .has_log_fd = opts->log_fd >= 0,
                .has_user = opts->user != NULL,
                .has_affinity = opts->affinity != NULL,
                .memlock_bytes = opts->memlock_bytes,
                .argv_bytes = (uint32_t)len,
        };
        if (opts->user)
                req->user = *opts->user;
        if (opts->affinity)
                req->affinity = *opts->affinity;
        if (opts->log_fd >= 0)
                fds[n_fds++] = opts->log_fd;
        for (size_t i = 0; i < opts->n_fds; i++) {
                req->targets[i] = opts->fds[i].target;
                fds[n_fds++] = opts->fds[i].fd;
        }
        r = call(req, blob, len, fds, n_fds, &a, &pidfd);
        if (r < 0)
                return r;
        if (a.r < 0) {
                safe_close(pidfd);
                return a.r;
        }
        if (pidfd < 0 || a.pid <= 0)
                return -EPROTO;
        *ret_pid = a.pid;
        *ret_pidfd = pidfd;
        return 0;
}

int spawner_reap(pid_t pid)
{
        struct request req = {.kind = REQ_REAP, .pid = pid};
        struct answer a = {0};
        int status, r;

        /* The QEMUs started before the spawner was (the first ones) are our own children: reaped here. */
        do
                r = waitpid(pid, &status, 0);
        while (r < 0 && errno == EINTR);
        if (r >= 0)
                return status;
        if (errno != ECHILD || spawner_fd < 0)
                return -errno;
        r = call(&req, NULL, 0, NULL, 0, &a, NULL);
        if (r < 0)
                return r;
        return a.r < 0 ? a.r : a.status;
}

void spawner_stop(void)
{
        if (spawner_fd < 0)
                return;
        spawner_fd = safe_close(spawner_fd);
        /* It exits on the end of file; reaped, so that no zombie outlives us under a subreaper. */
        while (waitpid(spawner_pid, NULL, 0) < 0 && errno == EINTR)
                ;
        spawner_pid = 0;
}
