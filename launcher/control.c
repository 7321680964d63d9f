/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

static int control_address(const char *deployment_dir, struct sockaddr_un *ret)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/control.sock", deployment_dir) >=
            sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        *ret = sa;
        return 0;
}

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events before deadline (CLOCK_MONOTONIC ms). */
static int wait_fd(int fd, short events, int64_t deadline)
{
        for (;;) {
                struct pollfd p = {.fd = fd, .events = events};
                int64_t left = deadline - now_ms();
                int n;

                if (left <= 0)
                        return -ETIMEDOUT;
                n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n > 0)
                        return 0;
        }
}

static int write_all(int fd, const char *buf, size_t len, int64_t deadline)
{
        while (len > 0) {
                ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        int r;
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return -errno;
                        r = wait_fd(fd, POLLOUT, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

/* One JSON object from a line of len bytes (its newline excluded). */
static int parse_message(const char *line, size_t len, json_t **ret)
{
        json_error_t jerr;
        json_t *v;

        v = json_loadb(line, len, JSON_DISABLE_EOF_CHECK, &jerr);
        if (!v)
                return -EPROTO;
        if (!json_is_object(v)) {
                json_decref(v);
                return -EPROTO;
        }
        *ret = v;
        return 0;
}

/*
 * Reads messages, one per line, until the answer: with progress, the lines
 * {"progress": "..."} before it go to progress(); without, the first line
 * is the answer.
 */
static int read_messages(int fd, int64_t deadline, vx_control_progress progress, void *userdata, json_t **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        for (;;) {
                char *nl;
                ssize_t n;
                int r;

                while ((nl = len ? memchr(buf, '\n', len) : NULL)) {
                        size_t line = (size_t)(nl - buf);
                        json_t *v = NULL;

                        r = parse_message(buf, line, &v);
                        if (r < 0)
                                return r;
                        if (!progress || json_object_get(v, "ok") || !json_is_string(json_object_get(v, "progress"))) {
                                *ret = v;
                                return 0;
                        }
                        progress(json_string_value(json_object_get(v, "progress")), userdata);
                        json_decref(v);
                        memmove(buf, nl + 1, len - line - 1);
                        len -= line + 1;
                }
                if (len + 4096 + 1 > cap) {
                        char *b;
                        cap = cap ? cap * 2 : 8192;
                        if (cap > VX_CONTROL_MAX_MESSAGE + 4096)
                                return -EMSGSIZE;
                        b = realloc(buf, cap);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                n = recv(fd, buf + len, cap - len - 1, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return -errno;
                        r = wait_fd(fd, POLLIN, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (len == 0)
                return -ECONNRESET;
        return parse_message(buf, len, ret);
}

static int read_line(int fd, int64_t deadline, json_t **ret)
{
        return read_messages(fd, deadline, NULL, NULL, ret);
}

int control_call_progress(const char *deployment_dir, json_t *request, int timeout_ms, vx_control_progress progress,
                          void *userdata, json_t **ret_answer)
{
        struct sockaddr_un sa;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        int64_t deadline = now_ms() + timeout_ms;
        int r;

        r = control_address(deployment_dir, &sa);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        text = json_dumps(request, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        r = write_all(fd, text, strlen(text), deadline);
        if (r >= 0)
                r = write_all(fd, "\n", 1, deadline);
        if (r < 0)
                return r;
        return read_messages(fd, deadline, progress, userdata, ret_answer);
}

int control_call(const char *deployment_dir, json_t *request, int timeout_ms, json_t **ret_answer)
{
        return control_call_progress(deployment_dir, request, timeout_ms, NULL, NULL, ret_answer);
}

int control_listen(const char *deployment_dir, int *ret_fd)
{
        struct sockaddr_un sa;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = control_address(deployment_dir, &sa);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        (void)unlink(sa.sun_path); /* left by a supervisor that was killed: we hold the lock now */
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        if (chmod(sa.sun_path, 0600) < 0 || listen(fd, 16) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int control_read_request(int fd, int timeout_ms, json_t **ret_request)
{
        return read_line(fd, now_ms() + timeout_ms, ret_request);
}

int control_write_progress(int fd, const char *line)
{
        json_t *m = json_pack("{s:s}", "progress", line);
        int r;

        if (!m)
                return -ENOMEM;
        r = control_write_answer(fd, m);
        json_decref(m);
        return r;
}

int control_write_answer(int fd, json_t *answer)
{
        _cleanup_free_ char *text = json_dumps(answer, JSON_COMPACT);
        int64_t deadline = now_ms() + 5000;
        int r;

        if (!text)
                return -ENOMEM;
        r = write_all(fd, text, strlen(text), deadline);
        if (r < 0)
                return r;
        return write_all(fd, "\n", 1, deadline);
}

json_t *control_error(int r, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        return json_pack("{s:b, s:s, s:i}", "ok", 0, "error", msg ?: "out of memory", "errno", r < 0 ? -r : r);
}
