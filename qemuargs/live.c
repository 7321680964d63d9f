/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The live half of qa_introspect(): runs a QEMU binary for its help texts and
 * for one QMP session (-machine none -S -nodefaults -display none, QMP on a
 * socketpair as its stdio) and hands the replies to qemuargs/introspect.c.
 * This is the only part of qemuargs that runs processes; it is a library of
 * its own (vx_qemuargs_live) so the parser stays pure.
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
 * A line-based QMP exchange of its own rather than qmp/'s client: QEMU's
 * device defaults include unsigned 64-bit values (18446744073709551615) that
 * jansson cannot hold as integers, and a reply that does not parse breaks a
 * qmp/ connection. Here such numbers are read as strings; QEMU writes one
 * JSON value per line.
 */
struct session {
        char **argv;
        int fd;
        pid_t pid;
        unsigned restarts;
        json_t *greeting;
        int timeout_ms;
        char *buf;
        size_t len, cap;
        unsigned id;
};

/* Quotes integer literals too big for a json_int_t, outside strings. */
static char *quote_big_numbers(const char *s)
{
        size_t len = strlen(s), o = 0;
        char *out = malloc(len * 2 + 1);
        bool in_str = false;

        if (!out)
                return NULL;
        for (size_t i = 0; i < len;) {
                if (in_str) {
                        if (s[i] == '\\' && i + 1 < len)
                                out[o++] = s[i++];
                        else if (s[i] == '"')
                                in_str = false;
                        out[o++] = s[i++];
                } else if (s[i] == '"') {
                        in_str = true;
                        out[o++] = s[i++];
                } else if ((s[i] >= '0' && s[i] <= '9') || (s[i] == '-' && s[i + 1] >= '0' && s[i + 1] <= '9')) {
                        size_t n = strspn(s + i + 1, "0123456789") + 1;
                        bool big = n > 18 && !strchr(".eE", s[i + n]);
                        if (big)
                                out[o++] = '"';
                        memcpy(out + o, s + i, n);
                        o += n;
                        i += n;
                        if (big)
                                out[o++] = '"';
                } else {
                        out[o++] = s[i++];
                }
        }
        out[o] = '\0';
        return out;
}

/* Reads the next line (without its end) within the deadline. */
static int session_line(struct session *s, long long deadline, char **ret)
{
        for (;;) {
                char *nl = s->buf ? memchr(s->buf, '\n', s->len) : NULL;
                ssize_t k;

                if (nl) {
                        size_t l = (size_t)(nl - s->buf);
                        char *line = strndup(s->buf, l);
                        if (!line)
                                return -ENOMEM;
                        memmove(s->buf, nl + 1, s->len - l - 1);
                        s->len -= l + 1;
                        *ret = line;
                        return 0;
                }
                k = read_some(s->fd, deadline, &s->buf, &s->len, &s->cap);
                if (k < 0)
                        return (int)k;
                if (k == 0)
                        return -ECONNRESET;
        }
}

/* Reads values until one that is not an event: the greeting or a reply. */
static int session_read(struct session *s, long long deadline, json_t **ret)
{
        for (;;) {
                _cleanup_free_ char *line = NULL, *q = NULL;
                json_t *v;
                int r = session_line(s, deadline, &line);

                if (r < 0)
                        return r;
                q = quote_big_numbers(line);
                if (!q)
                        return -ENOMEM;
                v = json_loads(q, 0, NULL);
                if (!v || !json_is_object(v)) {
                        json_decref(v);
                        return -EPROTO;
                }
                if (!json_object_get(v, "event")) {
                        *ret = v;
                        return 0;
                }
                json_decref(v);
        }
}

static int session_exec(struct session *s, const char *command, json_t *args, json_t **ret)
{
        long long deadline = now_ms() + s->timeout_ms;
        _cleanup_free_ char *text = NULL;
        json_t *req, *reply = NULL, *res;
        size_t off = 0, len;
        int r;

        req = json_pack("{s:s,s:I}", "execute", command, "id", (json_int_t)++s->id);
        if (req && args)
                json_object_set(req, "arguments", args);
        json_decref(args);
        text = req ? json_dumps(req, JSON_COMPACT) : NULL;
        json_decref(req);
        if (!text)
                return -ENOMEM;
        len = strlen(text);
        text[len++] = '\n'; /* json_dumps left room for its NUL */
        while (off < len) {
                ssize_t k = send(s->fd, text + off, len - off, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                off += (size_t)k;
        }
        r = session_read(s, deadline, &reply);
        if (r < 0)
                return r;
        res = json_object_get(reply, "return");
        if (!res || json_integer_value(json_object_get(reply, "id")) != (json_int_t)s->id) {
                json_decref(reply);
                return json_object_get(reply, "error") ? -EREMOTEIO : -EPROTO;
        }
        *ret = json_incref(res);
        json_decref(reply);
        return 0;
}

static void session_stop(struct session *s, bool kill_it)
{
        if (s->fd >= 0)
                close(s->fd);
        s->fd = -EBADF;
        if (s->pid > 0)
                reap(s->pid, kill_it);
        s->pid = 0;
        s->len = 0;
        json_decref(s->greeting);
        s->greeting = NULL;
}

/* Starts QEMU with QMP on a socketpair as its stdio, reads the greeting, leaves command mode on. */
static int session_start(struct session *s)
{
        json_t *caps = NULL;
        int sv[2], r;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        r = spawn(s->argv, sv[1], sv[1], &s->pid);
        close(sv[1]);
        if (r < 0) {
                close(sv[0]);
                return r;
        }
        s->fd = sv[0];
        r = session_read(s, now_ms() + s->timeout_ms, &s->greeting);
        if (r >= 0)
                r = session_exec(s, "qmp_capabilities", NULL, &caps);
        json_decref(caps);
        if (r < 0)
                session_stop(s, true);
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
        struct session s = {.fd = -EBADF, .timeout_ms = timeout_ms};
        json_t *caps = NULL, *v;
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
        v = json_object_get(json_object_get(json_object_get(s.greeting, "QMP"), "version"), "qemu");
        if (r >= 0 && !v)
                r = -EPROTO;
        if (r >= 0) {
                banner = first_line(t_version);
                if (!banner || asprintf(&ver, "%" JSON_INTEGER_FORMAT ".%" JSON_INTEGER_FORMAT,
                                        json_integer_value(json_object_get(v, "major")),
                                        json_integer_value(json_object_get(v, "minor"))) < 0)
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
                        (void)session_qmp(&s, "quit", NULL, &caps);
        }
        json_decref(caps);
        session_stop(&s, r < 0);
        free(s.buf);
        if (r < 0)
                return r;
        *ret_text = TAKE_PTR(text);
        if (ret_version)
                *ret_version = TAKE_PTR(ver);
        return 0;
}
