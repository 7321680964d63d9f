/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmp-internal.h"

/* Bytes asked of one recv(); a 16 MiB reply takes 256 reads, each byte scanned once. */
#define QMP_READ_CHUNK (64u * 1024u)

struct vx_qmp {
        int fd;
        struct vx_qmp_framer framer;
        struct vx_qmp_version version;
        json_t *capabilities; /* array of strings from the greeting */

        /* FIFO of events: events[ev_head .. ev_tail) are queued. */
        struct vx_qmp_event **events;
        size_t ev_head, ev_tail, ev_cap;
        uint64_t n_queued; /* events ever queued, so qmp_process() can count its own */
        struct vx_qmp_stats stats;

        uint64_t next_id;
        bool eof;   /* recv() returned 0; values already buffered may still be parsed */
        int broken; /* sticky negative errno once the stream cannot be trusted */
};

usec_t qmp_now_usec(void)
{
        struct timespec ts;

        /* CLOCK_MONOTONIC cannot fail on Linux; a zero time would only shorten deadlines. */
        if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
                return 0;
        return (usec_t)ts.tv_sec * 1000000u + (usec_t)ts.tv_nsec / 1000u;
}

usec_t qmp_deadline(int timeout_ms)
{
        assert(timeout_ms >= 0);
        return qmp_now_usec() + (usec_t)timeout_ms * 1000u;
}

/* Marks the connection unusable: after these errors the byte stream is out of step or gone. */
static int qmp_fail(struct vx_qmp *q, int r)
{
        assert(r < 0);
        if (!q->broken)
                q->broken = r;
        return r;
}

/* Waits for events on fd until deadline. Returns 0 when ready, -ETIMEDOUT, or -errno. */
static int qmp_wait_fd(int fd, short events, usec_t deadline)
{
        struct pollfd pfd = {.fd = fd, .events = events};

        for (;;) {
                usec_t now = qmp_now_usec();
                usec_t left = deadline > now ? deadline - now : 0;
                /* Round up, so that poll() returning 0 means the deadline really passed. */
                int ms = left / 1000u >= INT_MAX ? INT_MAX : (int)((left + 999u) / 1000u);
                int r = poll(&pfd, 1, ms);

                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r == 0)
                        return -ETIMEDOUT;
                if (pfd.revents & POLLNVAL)
                        return -EBADF;
                /* POLLHUP/POLLERR: let recv()/send() report what happened. */
                return 0;
        }
}

/* One non-blocking read into the framer. Returns bytes read, 0 at EOF, -EAGAIN, or -errno. */
static int qmp_recv(struct vx_qmp *q)
{
        char *p = qmp_framer_reserve(&q->framer, QMP_READ_CHUNK);
        ssize_t n;

        if (!p)
                return -ENOMEM;
        n = recv(q->fd, p, QMP_READ_CHUNK, MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                        return -EAGAIN;
                return qmp_fail(q, -errno);
        }
        if (n == 0) {
                q->eof = true;
                return 0;
        }
        qmp_framer_commit(&q->framer, (size_t)n);
        return (int)n;
}

static int qmp_send_all(struct vx_qmp *q, const char *data, size_t len, usec_t deadline)
{
        size_t done = 0;

        while (done < len) {
                /* MSG_NOSIGNAL: QEMU going away must be -EPIPE here, not SIGPIPE for the whole launcher. */
                ssize_t n = send(q->fd, data + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL);
                int r;

                if (n >= 0) {
                        done += (size_t)n;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                        return qmp_fail(q, -errno);
                r = qmp_wait_fd(q->fd, POLLOUT, deadline);
                if (r < 0)
                        /* Half a command on the wire leaves QEMU's parser out of step with us. */
                        return done > 0 ? qmp_fail(q, r) : r;
        }
        return 0;
}

struct vx_qmp_event *qmp_event_free(struct vx_qmp_event *e)
{
        if (!e)
                return NULL;
        free(e->name);
        if (e->data)
                json_decref(e->data);
        free(e);
        return NULL;
}

void qmp_error_done(struct vx_qmp_error *e)
{
        if (!e)
                return;
        free(e->class);
        free(e->desc);
        *e = (struct vx_qmp_error){0};
}

static int64_t qmp_event_timestamp(json_t *msg)
{
        json_t *ts = json_object_get(msg, "timestamp");
        json_t *s = json_object_get(ts, "seconds"), *us = json_object_get(ts, "microseconds");

        if (!json_is_integer(s) || !json_is_integer(us) || json_integer_value(s) < 0 ||
            json_integer_value(s) > INT64_MAX / 1000000 - 1 || json_integer_value(us) < 0 ||
            json_integer_value(us) >= 1000000)
                return -1;
        return json_integer_value(s) * 1000000 + json_integer_value(us);
}

/* Appends to the FIFO, making room by compacting, then by growing. */
static int qmp_event_push(struct vx_qmp *q, struct vx_qmp_event *e)
{
        if (q->ev_tail == q->ev_cap && q->ev_head > 0) {
                memmove(q->events, q->events + q->ev_head, (q->ev_tail - q->ev_head) * sizeof(*q->events));
                q->ev_tail -= q->ev_head;
                q->ev_head = 0;
        }
        if (q->ev_tail == q->ev_cap) {
                size_t cap = q->ev_cap ? q->ev_cap * 2 : 16;
                struct vx_qmp_event **p = reallocarray(q->events, cap, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                q->events = p;
                q->ev_cap = cap;
        }
        q->events[q->ev_tail++] = e;
        q->n_queued++;
        return 0;
}

static int qmp_queue_event(struct vx_qmp *q, json_t *msg)
{
        _cleanup_(qmp_event_freep) struct vx_qmp_event *e = NULL;
        const char *name = json_string_value(json_object_get(msg, "event"));
        json_t *data = json_object_get(msg, "data");
        int r;

        if (!name)
                return qmp_fail(q, -EPROTO);
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->name = strdup(name);
        if (!e->name)
                return -ENOMEM;
        e->data = data ? json_incref(data) : NULL;
        e->timestamp_usec = qmp_event_timestamp(msg);

        /* A caller that never pops must not make us grow without bound. */
        if (qmp_events_pending(q) >= VX_QMP_MAX_EVENTS) {
                qmp_event_free(q->events[q->ev_head++]);
                q->stats.events_dropped++;
        }
        r = qmp_event_push(q, e);
        if (r < 0)
                return r;
        TAKE_PTR(e);
        return 0;
}

/*
 * Routes one message (consumed). Returns 1 with the reply in *ret_reply when
 * it answers want_id, 0 when it was queued or dropped, or a negative errno.
 */
static int qmp_dispatch(struct vx_qmp *q, json_t *v, const char *want_id, json_t **ret_reply)
{
        _cleanup_json_ json_t *msg = v;
        const char *id;

        if (json_object_get(msg, "event"))
                return qmp_queue_event(q, msg);

        if (json_object_get(msg, "return") || json_object_get(msg, "error")) {
                id = json_string_value(json_object_get(msg, "id"));
                /*
                 * Every command we send has an id, so QEMU only leaves it out when it
                 * could not parse the request at all: that is the answer to the
                 * command in flight, better reported than waited on until the deadline.
                 */
                if (want_id && (!json_object_get(msg, "id") || (id && strcmp(id, want_id) == 0))) {
                        *ret_reply = TAKE_PTR(msg);
                        return 1;
                }
                /* A reply that arrives after its command timed out. */
                q->stats.replies_dropped++;
                return 0;
        }
        if (json_object_get(msg, "QMP"))
                return qmp_fail(q, -EPROTO); /* a second greeting: not the stream we think */

        q->stats.messages_ignored++;
        return 0;
}

/* Returns the next complete value, reading until deadline. */
static int qmp_next_value(struct vx_qmp *q, usec_t deadline, json_t **ret)
{
        for (;;) {
                json_t *v;
                int r = qmp_framer_next(&q->framer, &v);

                if (r < 0)
                        return qmp_fail(q, r);
                if (r > 0) {
                        *ret = v;
                        return 0;
                }
                if (q->eof)
                        return qmp_fail(q, -ECONNRESET);
                r = qmp_wait_fd(q->fd, POLLIN, deadline);
                if (r < 0)
                        return r;
                r = qmp_recv(q);
                if (r < 0 && r != -EAGAIN)
                        return r;
        }
}

/* Dispatches every complete value already buffered, without reading. */
static int qmp_drain_buffered(struct vx_qmp *q)
{
        for (;;) {
                json_t *v;
                int r = qmp_framer_next(&q->framer, &v);

                if (r < 0)
                        return qmp_fail(q, r);
                if (r == 0)
                        return 0;
                r = qmp_dispatch(q, v, NULL, NULL);
                if (r < 0)
                        return r;
        }
}

int qmp_process(struct vx_qmp *q)
{
        uint64_t before;
        int r;

        assert(q);
        if (q->broken)
                return q->broken;
        before = q->n_queued;

        /* Read until the socket is empty, so edge-triggered epoll works too. */
        for (;;) {
                r = qmp_drain_buffered(q);
                if (r < 0)
                        return r;
                if (q->eof)
                        return qmp_fail(q, -ECONNRESET);
                r = qmp_recv(q);
                if (r == -EAGAIN)
                        break;
                if (r < 0)
                        return r;
        }
        return q->n_queued - before > INT_MAX ? INT_MAX : (int)(q->n_queued - before);
}

int qmp_pop_event(struct vx_qmp *q, struct vx_qmp_event **ret_event)
{
        struct vx_qmp_event *e;

        assert(q);
        if (q->ev_head == q->ev_tail)
                return 0;
        e = q->events[q->ev_head++];
        if (q->ev_head == q->ev_tail)
                q->ev_head = q->ev_tail = 0;
        if (ret_event)
                *ret_event = e;
        else
                qmp_event_free(e);
        return 1;
}

void qmp_get_stats(const struct vx_qmp *q, struct vx_qmp_stats *ret)
{
        assert(q);
        assert(ret);
        *ret = q->stats;
}

size_t qmp_events_pending(const struct vx_qmp *q)
{
        assert(q);
        return q->ev_tail - q->ev_head;
}

/* Splits a reply into its result or its error. */
static int qmp_parse_reply(json_t *reply, json_t **ret_result, struct vx_qmp_error *ret_error)
{
        json_t *result = json_object_get(reply, "return");
        json_t *error = json_object_get(reply, "error");
        const char *class, *desc;
        struct vx_qmp_error e = {};

        if (result) {
                if (ret_result)
                        *ret_result = json_incref(result);
                return 0;
        }
        class = json_string_value(json_object_get(error, "class"));
        desc = json_string_value(json_object_get(error, "desc"));
        if (!class)
                return -EPROTO;
        if (ret_error) {
                e.class = strdup(class);
                e.desc = strdup(desc ?: "");
                if (!e.class || !e.desc) {
                        qmp_error_done(&e);
                        return -ENOMEM;
                }
                *ret_error = e;
        }
        return -EREMOTEIO;
}

/* Serialises one command, newline-terminated as QEMU writes its own messages. */
static char *qmp_format_command(const char *command, json_t *args, const char *id)
{
        _cleanup_json_ json_t *req = json_pack("{s:s, s:s}", "execute", command, "id", id);
        char *text, *p;
        size_t len;

        if (!req || (args && json_object_set(req, "arguments", args) < 0))
                return NULL;
        text = json_dumps(req, JSON_COMPACT);
        if (!text)
                return NULL;
        len = strlen(text);
        p = realloc(text, len + 2);
        if (!p) {
                free(text);
                return NULL;
        }
        p[len] = '\n';
        p[len + 1] = '\0';
        return p;
}

static int qmp_send_until(struct vx_qmp *q, const char *command, json_t *args, usec_t deadline, uint64_t *ret_id)
{
        _cleanup_free_ char *text = NULL;
        char id[32];
        int r;

        assert(q);
        assert(command);
        assert(!args || json_is_object(args));
        if (q->broken)
                return q->broken;

        snprintf(id, sizeof(id), "vx-%" PRIu64, ++q->next_id);
        text = qmp_format_command(command, args, id);
        if (!text)
                return -ENOMEM;
        r = qmp_send_all(q, text, strlen(text), deadline);
        if (r < 0)
                return r;
        *ret_id = q->next_id;
        return 0;
}

static int qmp_receive_until(struct vx_qmp *q, uint64_t want, usec_t deadline, json_t **ret_result,
                             struct vx_qmp_error *ret_error)
{
        _cleanup_json_ json_t *reply = NULL;
        char id[32];
        int r;

        if (q->broken)
                return q->broken;
        snprintf(id, sizeof(id), "vx-%" PRIu64, want);
        while (!reply) {
                json_t *v;

                r = qmp_next_value(q, deadline, &v);
                if (r < 0)
                        return r;
                r = qmp_dispatch(q, v, id, &reply);
                if (r < 0)
                        return r;
        }
        /*
         * Events that came in the same read as the reply are queued now: the fd
         * will not become readable for them again. An error here is sticky and
         * reported by the next call; this reply is good.
         */
        (void)qmp_drain_buffered(q);
        return qmp_parse_reply(reply, ret_result, ret_error);
}

int qmp_execute_until(struct vx_qmp *q, const char *command, json_t *args, usec_t deadline, json_t **ret_result,
                      struct vx_qmp_error *ret_error)
{
        uint64_t id;
        int r;

        r = qmp_send_until(q, command, args, deadline, &id);
        if (r < 0)
                return r;
        return qmp_receive_until(q, id, deadline, ret_result, ret_error);
}

int qmp_execute(struct vx_qmp *q, const char *command, json_t *args, int timeout_ms, json_t **ret_result,
                struct vx_qmp_error *ret_error)
{
        return qmp_execute_until(q, command, args, qmp_deadline(timeout_ms), ret_result, ret_error);
}

int qmp_send(struct vx_qmp *q, const char *command, json_t *args, int timeout_ms, uint64_t *ret_id)
{
        assert(ret_id);
        return qmp_send_until(q, command, args, qmp_deadline(timeout_ms), ret_id);
}

int qmp_receive(struct vx_qmp *q, uint64_t id, int timeout_ms, json_t **ret_result, struct vx_qmp_error *ret_error)
{
        assert(q);
        return qmp_receive_until(q, id, qmp_deadline(timeout_ms), ret_result, ret_error);
}

static int qmp_json_uint(json_t *v, unsigned *ret)
{
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT_MAX)
                return -EPROTO;
        *ret = (unsigned)json_integer_value(v);
        return 0;
}

/* {"QMP": {"version": {"qemu": {"major": 7, ...}, "package": "..."}, "capabilities": ["oob"]}} */
static int qmp_read_greeting(struct vx_qmp *q, usec_t deadline)
{
        _cleanup_json_ json_t *v = NULL;
        json_t *greeting, *version, *qemu, *caps;
        const char *package;
        int r;

        r = qmp_next_value(q, deadline, &v);
        if (r < 0)
                return r;
        greeting = json_object_get(v, "QMP");
        version = json_object_get(greeting, "version");
        qemu = json_object_get(version, "qemu");
        caps = json_object_get(greeting, "capabilities");
        if (!json_is_object(qemu) || qmp_json_uint(json_object_get(qemu, "major"), &q->version.major) < 0 ||
            qmp_json_uint(json_object_get(qemu, "minor"), &q->version.minor) < 0 ||
            qmp_json_uint(json_object_get(qemu, "micro"), &q->version.micro) < 0 ||
            (caps && !json_is_array(caps)))
                return qmp_fail(q, -EPROTO);

        package = json_string_value(json_object_get(version, "package"));
        q->version.package = strdup(package ?: "");
        q->capabilities = caps ? json_incref(caps) : json_array();
        if (!q->version.package || !q->capabilities)
                return -ENOMEM;
        return 0;
}

static int qmp_connect_fd_until(int fd, usec_t deadline, struct vx_qmp **ret)
{
        _cleanup_close_ int owned = fd;
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        struct stat st;
        int r;

        assert(fd >= 0);
        assert(ret);
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return -errno;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->fd = TAKE_FD(owned);
        qmp_framer_init(&q->framer, VX_QMP_MAX_MESSAGE);

        r = qmp_read_greeting(q, deadline);
        if (r < 0)
                return r;
        /*
         * No capability is enabled: "oob" lets replies overtake one another,
         * which buys nothing with one command in flight at a time.
         */
        r = qmp_execute_until(q, "qmp_capabilities", NULL, deadline, NULL, NULL);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

int qmp_connect_fd(int fd, int timeout_ms, struct vx_qmp **ret)
{
        return qmp_connect_fd_until(fd, qmp_deadline(timeout_ms), ret);
}

int qmp_connect_path(const char *path, int timeout_ms, struct vx_qmp **ret)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        usec_t deadline = qmp_deadline(timeout_ms);
        /* timeval {0, 0} would mean "no timeout", the opposite of a zero timeout. */
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000 ?: 1};

        assert(path);
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path));

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /*
         * connect() on a unix socket whose listen backlog is full sleeps; the
         * kernel bounds that sleep by SO_SNDTIMEO. Later writes use
         * MSG_DONTWAIT, so the option has no effect after this.
         */
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return -errno;
        while (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN || errno == EINPROGRESS)
                        return -ETIMEDOUT;
                return -errno;
        }
        return qmp_connect_fd_until(TAKE_FD(fd), deadline, ret);
}

struct vx_qmp *qmp_free(struct vx_qmp *q)
{
        if (!q)
                return NULL;
        while (qmp_pop_event(q, NULL) > 0)
                ;
        free(q->events);
        qmp_framer_done(&q->framer);
        free(q->version.package);
        if (q->capabilities)
                json_decref(q->capabilities);
        safe_close(q->fd);
        free(q);
        return NULL;
}

int qmp_get_fd(const struct vx_qmp *q)
{
        assert(q);
        return q->fd;
}

const struct vx_qmp_version *qmp_get_version(const struct vx_qmp *q)
{
        assert(q);
        return &q->version;
}

bool qmp_has_capability(const struct vx_qmp *q, const char *cap)
{
        size_t i;
        json_t *c;

        assert(q);
        assert(cap);
        for (i = 0; i < json_array_size(q->capabilities); i++) {
                c = json_array_get(q->capabilities, i);
                if (json_is_string(c) && strcmp(json_string_value(c), cap) == 0)
                        return true;
        }
        return false;
}

void qmp_set_max_message_size(struct vx_qmp *q, size_t size)
{
        assert(q);
        assert(size > 0);
        q->framer.max_size = size;
}
