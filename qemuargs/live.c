/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The live half of qa_introspect(): runs a QEMU binary for its help texts and
 * for one QMP session (-machine none -S -nodefaults -display none, QMP on a
 * socketpair as its stdio) and hands the replies to qemuargs/introspect.c.
 * This is the only part of qemuargs that runs processes; its QMP session
 * goes through qmp/'s client.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "qemuargs.h"
#include "qmp.h"

extern char **environ;

#define LIVE_OUTPUT_MAX (64u * 1024 * 1024)

static long long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts argv with stdin and stdout on in_fd/out_fd and stderr on /dev/null. */
static int spawn(char *const *argv, int in_fd, int out_fd, pid_t *ret_pid)
{
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int r;

        if (posix_spawn_file_actions_init(&fa) != 0)
                return -ENOMEM;
        r = posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        if (r == 0)
                r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        *ret_pid = pid;
        return 0;
}

static void reap(pid_t pid, bool kill_it)
{
        if (kill_it)
                kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

/*
 * Waits until fd is readable or the deadline passes, then appends what can be
 * read to *buf (grown up to LIVE_OUTPUT_MAX). Returns the bytes read, 0 at
 * the end of the stream, -ETIMEDOUT, -EMSGSIZE, or another negative errno.
 */
static ssize_t read_some(int fd, long long deadline, char **buf, size_t *len, size_t *cap)
{
        for (;;) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                long long left = deadline - now_ms();
                ssize_t k;

                if (left <= 0)
                        return -ETIMEDOUT;
                k = poll(&pfd, 1, (int)left);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        continue; /* the deadline, checked above */
                if (*len + 65536 + 1 > *cap) {
                        size_t c = *cap ? *cap * 2 : 262144;
                        char *b;
                        if (c > LIVE_OUTPUT_MAX)
                                return -EMSGSIZE;
                        b = realloc(*buf, c);
                        if (!b)
                                return -ENOMEM;
                        *buf = b;
                        *cap = c;
                }
                k = read(fd, *buf + *len, *cap - *len - 1);
                if (k < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (k < 0)
                        return -errno;
                *len += (size_t)k;
                return k;
        }
}

/* Runs QEMU with extra arguments and returns what it printed on stdout. */
static int capture(const char *qemu, const char *const *args, int timeout_ms, char **ret)
{
        char *argv[12] = {(char *)qemu};
        _cleanup_close_ int null_fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 1, len = 0, cap = 0;
        long long deadline = now_ms() + timeout_ms;
        int p[2], r = 0;
        pid_t pid;

        for (; args[n - 1] && n + 1 < ELEMENTSOF(argv); n++)
                argv[n] = (char *)args[n - 1];
        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0)
                return -errno;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        r = spawn(argv, null_fd, p[1], &pid);
        close(p[1]);
        if (r < 0) {
                close(p[0]);
                return r;
        }
        for (;;) {
                ssize_t k = read_some(p[0], deadline, &buf, &len, &cap);
                if (k <= 0) {
                        r = (int)k;
                        break;
                }
        }
        close(p[0]);
        reap(pid, r < 0);
        if (r < 0)
                return r;
        if (!buf && !(buf = calloc(1, 1)))
                return -ENOMEM;
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/*
 * One QMP session with qmp/'s client, which hands QEMU's unsigned 64-bit
 * defaults (18446744073709551615, more than a json_int_t holds) back as
 * strings of their digits instead of failing the reply.
 */
struct session {
        char **argv;
        struct vx_qmp *qmp;
        pid_t pid;
        unsigned restarts;
        int timeout_ms;
};

static void session_stop(struct session *s, bool kill_it)
{
        s->qmp = qmp_free(s->qmp);
        if (s->pid > 0)
                reap(s->pid, kill_it);
        s->pid = 0;
}

/* Starts QEMU with QMP on a socketpair as its stdio; qmp_connect_fd() reads the greeting and negotiates. */
static int session_start(struct session *s)
{
        int sv[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        r = spawn(s->argv, sv[1], sv[1], &s->pid);
        close(sv[1]);
        if (r < 0) {
                close(sv[0]);
                return r;
        }
        r = qmp_connect_fd(sv[0], s->timeout_ms, &s->qmp);
        if (r < 0)
                session_stop(s, true);
        else
                qmp_set_max_message_size(s->qmp, LIVE_OUTPUT_MAX); /* query-qmp-schema is large */
        return r;
}

static int session_exec(struct session *s, const char *command, json_t *args, json_t **ret)
{
        int r = s->qmp ? qmp_execute(s->qmp, command, args, s->timeout_ms, ret, NULL) : -ECONNRESET;

        json_decref(args);
        /* Nobody reads QEMU's events here: let them go rather than queue them. */
        for (struct vx_qmp_event *e = NULL; s->qmp && qmp_pop_event(s->qmp, &e) > 0;)
                qmp_event_free(e);
        return r;
}

#define LIVE_MAX_RESTARTS 64

static bool session_broken(int r)
{
        return r == -ECONNRESET || r == -EPIPE || r == -ETIMEDOUT || r == -EPROTO;
}

/*
 * Some types break the QEMU that describes them: Debian lists virtio-gpu-gl
 * devices whose module is not installed (asking exits QEMU), QEMU 7.2 exits
 * on colo-compare and stops answering after filter-dump. QEMU is started
 * again and the command retried once (the one that failed may be the next
 * one, after the culprit); when it fails again, that part is skipped.
 */
static int session_qmp(void *userdata, const char *command, json_t *args, json_t **ret)
{
        struct session *s = userdata;
        int r;

        for (unsigned attempt = 0;; attempt++) {
                r = session_exec(s, command, json_incref(args), ret);
                if (!session_broken(r) || s->restarts >= LIVE_MAX_RESTARTS)
                        break;
                s->restarts++;
                session_stop(s, true);
                if (session_start(s) < 0 || attempt > 0)
                        break;
        }
        json_decref(args);
        return r;
}

static char *first_line(const char *s)
{
        return strndup(s, strcspn(s, "\n"));
}

int qa_introspect_live(const char *qemu, int timeout_ms, char **ret_text, char **ret_version)
{
        static const char *const help[] = {"-help", NULL};
        static const char *const version[] = {"--version", NULL};
        static const char *const devices[] = {"-machine", "none",    "-nodefaults", "-display",
                                              "none",     "-device", "help",        NULL};
        static const char *const machines[] = {"-machine", "help", NULL};
        static const char *const cpus[] = {"-cpu", "help", NULL};
        _cleanup_free_ char *t_help = NULL, *t_version = NULL, *t_devices = NULL, *t_machines = NULL, *t_cpus = NULL,
                            *banner = NULL, *ver = NULL, *text = NULL;
        char *argv[] = {(char *)qemu, "-machine", "none", "-S",    "-nodefaults",
                        "-display",   "none",     "-qmp", "stdio", NULL};
        struct session s = {.timeout_ms = timeout_ms};
        const struct vx_qmp_version *v = NULL;
        json_t *quit = NULL;
        int r;

        r = capture(qemu, version, timeout_ms, &t_version);
        if (r >= 0)
                r = capture(qemu, help, timeout_ms, &t_help);
        if (r >= 0)
                r = capture(qemu, devices, timeout_ms, &t_devices);
        if (r >= 0)
                r = capture(qemu, machines, timeout_ms, &t_machines);
        if (r >= 0)
                r = capture(qemu, cpus, timeout_ms, &t_cpus);
        if (r < 0)
                return r;

        s.argv = argv;
        r = session_start(&s);
        if (r >= 0) {
                v = qmp_get_version(s.qmp);
                banner = first_line(t_version);
                if (!banner || asprintf(&ver, "%u.%u", v->major, v->minor) < 0)
                        r = -ENOMEM;
        }
        if (r >= 0) {
                struct qa_introspect_input in = {
                        .version = ver,
                        .banner = banner,
                        .help = t_help,
                        .device_help = t_devices,
                        .machine_help = t_machines,
                        .cpu_help = t_cpus,
                        .qmp = session_qmp,
                        .userdata = &s,
                };
                r = qa_introspect(&in, &text);
                if (r >= 0)
                        (void)session_qmp(&s, "quit", NULL, &quit);
        }
        json_decref(quit);
        session_stop(&s, r < 0);
        if (r < 0)
                return r;
        *ret_text = TAKE_PTR(text);
        if (ret_version)
                *ret_version = TAKE_PTR(ver);
        return 0;
}
