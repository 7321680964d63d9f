/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QMP client against a scripted fake server: a forked child on the other end
 * of a socketpair plays QEMU's side of a script (send bytes, expect a command
 * and echo its id, sleep, close). Tests of qmp_process() write to the server
 * end themselves, so they control exactly which bytes are readable when.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "qmp-internal.h"
#include "qmp.h"

enum step_kind {
        STEP_END,
        STEP_SEND,       /* text, with %ID% replaced by the last expected command's id */
        STEP_SEND_BYTES, /* the same, one byte per write with a pause in between */
        STEP_EXPECT,     /* read one command: text is its name, arg (if set) its arguments as JSON */
        STEP_SLEEP,      /* ms milliseconds */
        STEP_AWAIT,      /* wait until the client has sent more or closed (without reading) */
        STEP_CLOSE,      /* close and exit at once */
};

struct step {
        enum step_kind kind;
        const char *text;
        const char *arg;
        int ms;
};

#define GREETING                                                                                            \
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 1, \"minor\": 2, \"major\": 7}, \"package\": "      \
        "\"test\"}, \"capabilities\": [\"oob\"]}}\r\n"
/* clang-format off */
#define SEND(t) { .kind = STEP_SEND, .text = (t) }
#define SEND_BYTES(t) { .kind = STEP_SEND_BYTES, .text = (t) }
#define EXPECT(cmd) { .kind = STEP_EXPECT, .text = (cmd) }
#define EXPECT_ARGS(cmd, a) { .kind = STEP_EXPECT, .text = (cmd), .arg = (a) }
#define SLEEP(n) { .kind = STEP_SLEEP, .ms = (n) }
#define AWAIT { .kind = STEP_AWAIT }
#define CLOSE { .kind = STEP_CLOSE }
#define END { .kind = STEP_END }
/* clang-format on */
#define HANDSHAKE SEND(GREETING), EXPECT("qmp_capabilities"), SEND("{\"return\": {}, \"id\": %ID%}\r\n")
#define EV(name)                                                                                            \
        "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 5}, \"event\": \"" name "\"}\r\n"

struct fake {
        pid_t pid;
        int server_fd; /* kept by the test only when it writes to the client itself */
};

/* ---- the child: QEMU's side of the script ---- */

static int child_read_request(int fd, json_t **ret)
{
        char line[65536];
        size_t n = 0;

        /* The client ends every command with '\n': reading to it also checks that. */
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};

                if (poll(&p, 1, 5000) <= 0 || read(fd, line + n, 1) != 1)
                        return -1;
                if (line[n] == '\n')
                        break;
                if (++n == sizeof(line))
                        return -1;
        }
        line[n] = '\0';
        *ret = json_loads(line, 0, NULL);
        return *ret ? 0 : -1;
}

static char *child_subst_id(const char *text, const char *id)
{
        size_t idlen = strlen(id), len = 0, count = 0;
        char *out;

        for (const char *p = strstr(text, "%ID%"); p; p = strstr(p + 4, "%ID%"))
                count++;
        out = malloc(strlen(text) + count * idlen + 1);
        if (!out)
                _exit(99);

        for (const char *p = text; *p;) {
                if (strncmp(p, "%ID%", 4) == 0) {
                        memcpy(out + len, id, idlen);
                        len += idlen;
                        p += 4;
                } else
                        out[len++] = *p++;
        }
        out[len] = '\0';
        return out;
}

static int child_expect(int fd, const struct step *s, char **id)
{
        json_t *req = NULL, *want;
        int ok;

        if (child_read_request(fd, &req) < 0)
                return -1;
        ok = json_is_string(json_object_get(req, "execute")) &&
             strcmp(json_string_value(json_object_get(req, "execute")), s->text) == 0 &&
             json_is_string(json_object_get(req, "id"));
        if (ok && s->arg) {
                want = json_loads(s->arg, 0, NULL);
                ok = json_equal(want, json_object_get(req, "arguments"));
                json_decref(want);
        } else if (ok)
                ok = !json_object_get(req, "arguments");
        if (ok) {
                free(*id);
                *id = json_dumps(json_object_get(req, "id"), JSON_ENCODE_ANY);
        }
        json_decref(req);
        return ok ? 0 : -1;
}

static int child_send(int fd, const char *text, bool bytewise)
{
        size_t len = strlen(text), chunk = bytewise ? 1 : len;

        for (size_t done = 0; done < len;) {
                ssize_t n = send(fd, text + done, chunk, MSG_NOSIGNAL);

                if (n < 0)
                        return -1;
                done += (size_t)n;
                chunk = bytewise ? 1 : len - done;
                if (bytewise)
                        usleep(200);
        }
        return 0;
}

static _Noreturn void child_run(int fd, const struct step *steps)
{
        char *id = strdup("null");

        if (!id)
                _exit(99);

        for (int i = 0; steps[i].kind != STEP_END; i++) {
                const struct step *s = &steps[i];
                char *text;
                int r = 0;

                switch (s->kind) {
                case STEP_SEND:
                case STEP_SEND_BYTES:
                        text = child_subst_id(s->text, id);
                        r = child_send(fd, text, s->kind == STEP_SEND_BYTES);
                        free(text);
                        break;
                case STEP_EXPECT:
                        r = child_expect(fd, s, &id);
                        break;
                case STEP_SLEEP:
                        usleep(s->ms * 1000);
                        break;
                case STEP_AWAIT: {
                        struct pollfd p = {.fd = fd, .events = POLLIN};

                        /* No deadline: the test's own timeout ends a client that never sends. */
                        r = poll(&p, 1, -1) == 1 ? 0 : -1;
                        break;
                }
                case STEP_CLOSE:
                        close(fd);
                        _exit(0);
                default:
                        break;
                }
                if (r < 0)
                        _exit(100 + i); /* the exit status names the step that failed */
        }
        free(id);
        _exit(0);
}

/* ---- the test's side ---- */

static int fake_start(const struct step *steps, bool keep_server, struct fake *ret_fake)
{
        int sv[2];
        pid_t pid;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(sv[0]);
                child_run(sv[1], steps);
        }
        *ret_fake = (struct fake){.pid = pid, .server_fd = keep_server ? sv[1] : safe_close(sv[1])};
        return sv[0];
}

/* Reaps the child; check=false when the test expects it to have failed (e.g. on EPIPE). */
static void fake_reap(struct fake *f, bool check)
{
        int status;

        if (f->pid <= 0)
                return;
        assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
        f->pid = 0;
        if (check && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
                fail_msg("fake server failed: status 0x%x (step %d)", status, WEXITSTATUS(status) - 100);
}

static void fake_finish(struct fake *f, bool check)
{
        f->server_fd = safe_close(f->server_fd);
        fake_reap(f, check);
}

static struct vx_qmp *fake_connect(const struct step *steps, bool keep_server, struct fake *ret_fake)
{
        struct vx_qmp *q = NULL;
        int fd = fake_start(steps, keep_server, ret_fake);

        assert_int_equal(qmp_connect_fd(fd, 5000, &q), 0);
        assert_non_null(q);
        return q;
}

static void server_write(struct fake *f, const char *s)
{
        assert_int_equal(write(f->server_fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void assert_pop(struct vx_qmp *q, const char *name)
{
        _cleanup_(qmp_event_freep) struct vx_qmp_event *e = NULL;

        assert_int_equal(qmp_pop_event(q, &e), 1);
        assert_string_equal(e->name, name);
}

static long elapsed_ms(const struct timespec *start)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* ---- framer: pure, no sockets ---- */

static void test_framer_values(void **state)
{
        struct vx_qmp_framer f;
        json_t *v;
        const char *in = "\r\n{\"a\": \"}{\\\"\", \"b\": [1, {\"c\": []}]}\r\n{\"d\":1}{\"e\"";

        qmp_framer_init(&f, 1024);
        assert_int_equal(qmp_framer_feed(&f, in, strlen(in)), 0);
        assert_int_equal(qmp_framer_next(&f, &v), 1);
        assert_string_equal(json_string_value(json_object_get(v, "a")), "}{\"");
        json_decref(v);
        assert_int_equal(qmp_framer_next(&f, &v), 1);
        assert_int_equal(json_integer_value(json_object_get(v, "d")), 1);
        json_decref(v);
        assert_int_equal(qmp_framer_next(&f, &v), 0);
        assert_int_equal(qmp_framer_feed(&f, ": 2}", 4), 0);
        assert_int_equal(qmp_framer_next(&f, &v), 1);
        assert_int_equal(json_integer_value(json_object_get(v, "e")), 2);
        json_decref(v);
        assert_int_equal(qmp_framer_next(&f, &v), 0);
        qmp_framer_done(&f);
}

/* QEMU's unsigned 64-bit defaults: too big for a json_int_t, handed back as strings; other numbers keep their type. */
static void test_framer_big_integers(void **state)
{
        static const char text[] =
                "{\"return\": [{\"name\": \"x-max\", \"default-value\": 18446744073709551615},"
                " {\"name\": \"s\", \"default-value\": \"18446744073709551615 in a string\"},"
                " {\"max\": 9223372036854775807, \"min\": -9223372036854775808, \"over\": 9223372036854775808,"
                " \"under\": -9223372036854775809, \"exp\": 18446744073709551615e0, \"real\": 1.8446744073709551615e19,"
                " \"frac\": 0.12345678901234567890123, \"small\": 42}], \"id\": 7}\r\n";
        struct vx_qmp_framer f;
        json_t *v = NULL, *a, *o;

        qmp_framer_init(&f, 4096);
        /* Byte by byte: the scan of digit runs must hold across reads. */
        for (size_t i = 0; i < sizeof(text) - 1; i++) {
                assert_int_equal(qmp_framer_feed(&f, text + i, 1), 0);
                int r = qmp_framer_next(&f, &v);
                /* Complete with its closing brace, before the "\r\n". */
                assert_int_equal(r, i == sizeof(text) - 4 ? 1 : 0);
                if (r == 1)
                        break;
        }
        assert_non_null(v);
        assert_int_equal(json_integer_value(json_object_get(v, "id")), 7);
        a = json_object_get(v, "return");
        assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "default-value")),
                            "18446744073709551615");
        assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "default-value")),
                            "18446744073709551615 in a string");
        o = json_array_get(a, 2);
        assert_true(json_is_integer(json_object_get(o, "max")));
        assert_true(json_integer_value(json_object_get(o, "max")) == INT64_MAX);
        assert_true(json_integer_value(json_object_get(o, "min")) == INT64_MIN);
        assert_string_equal(json_string_value(json_object_get(o, "over")), "9223372036854775808");
        assert_string_equal(json_string_value(json_object_get(o, "under")), "-9223372036854775809");
        assert_true(json_is_real(json_object_get(o, "exp")));
        assert_true(json_is_real(json_object_get(o, "real")));
        assert_true(json_is_real(json_object_get(o, "frac")));
        assert_int_equal(json_integer_value(json_object_get(o, "small")), 42);
        json_decref(v);
        qmp_framer_done(&f);
}

static void test_framer_errors(void **state)
{
        static const char *const bad[] = {"hello\n",   "[1]\n", "{\"a\": }\n",
                                          "{\"a\" 1}", "{]\n",  "{\"a\":\"\x01\"}"};
        struct vx_qmp_framer f;
        char big[300];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                qmp_framer_init(&f, 1024);
                assert_int_equal(qmp_framer_feed(&f, bad[i], strlen(bad[i])), 0);
                assert_int_equal(qmp_framer_next(&f, NULL), -EPROTO);
                qmp_framer_done(&f);
        }

        /* An incomplete value is refused as soon as it outgrows the cap, not when it ends. */
        qmp_framer_init(&f, 256);
        memset(big, ' ', sizeof(big));
        big[0] = '{';
        big[1] = '"';
        assert_int_equal(qmp_framer_feed(&f, big, sizeof(big)), 0);
        assert_int_equal(qmp_framer_next(&f, NULL), -EMSGSIZE);
        qmp_framer_done(&f);
}

/* ---- protocol over a socket ---- */

static void test_handshake(void **state)
{
        static const struct step steps[] = {HANDSHAKE, END};
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        struct fake f;

        q = fake_connect(steps, false, &f);
        assert_int_equal(qmp_get_version(q)->major, 7);
        assert_int_equal(qmp_get_version(q)->minor, 2);
        assert_int_equal(qmp_get_version(q)->micro, 1);
        assert_string_equal(qmp_get_version(q)->package, "test");
        assert_true(qmp_has_capability(q, "oob"));
        assert_false(qmp_has_capability(q, "foo"));
        assert_true(qmp_get_fd(q) >= 0);
        assert_int_equal(qmp_events_pending(q), 0);
        fake_finish(&f, true);
}

static void test_bad_greeting(void **state)
{
        static const struct step steps[] = {SEND(EV("RESET")), SLEEP(100), END};
        struct vx_qmp *q = NULL;
        struct fake f;

        assert_int_equal(qmp_connect_fd(fake_start(steps, false, &f), 5000, &q), -EPROTO);
        assert_null(q);
        fake_finish(&f, true);
}

static void test_event_before_reply(void **state)
{
        static const struct step steps[] = {
            HANDSHAKE,
            EXPECT("query-status"),
            SEND(EV("STOP")),
            SLEEP(20),
            /* A late reply to some earlier command, then ours. */
            SEND("{\"return\": 42, \"id\": \"vx-999\"}\r\n"),
            SEND("{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": %ID%}\r\n"),
            END,
        };
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        _cleanup_(qmp_event_freep) struct vx_qmp_event *e = NULL;
        _cleanup_json_ json_t *result = NULL;
        struct fake f;

        q = fake_connect(steps, false, &f);
        assert_int_equal(qmp_execute(q, "query-status", NULL, 5000, &result, NULL), 0);
        assert_string_equal(json_string_value(json_object_get(result, "status")), "paused");
        assert_int_equal(qmp_events_pending(q), 1);
        assert_int_equal(qmp_pop_event(q, &e), 1);
        assert_string_equal(e->name, "STOP");
        assert_null(e->data);
        assert_int_equal(e->timestamp_usec, 1700000000LL * 1000000 + 5);
        assert_int_equal(qmp_pop_event(q, NULL), 0);
        fake_finish(&f, true);
}

/*
 * qmp_send() then qmp_receive(), on two connections at once: both commands
 * are sent before either answer is read (each server answers only after a
 * pause), and a late reply to an older id on the way is dropped, not taken
 * for ours.
 */
static void test_send_receive_two_in_flight(void **state)
{
        static const struct step steps[] = {
                HANDSHAKE,
                EXPECT("query-status"),
                SLEEP(100),
                SEND("{\"return\": 42, \"id\": \"vx-999\"}\r\n"),
                SEND("{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": %ID%}\r\n"),
                END,
        };
        _cleanup_(qmp_freep) struct vx_qmp *a = NULL, *b = NULL;
        _cleanup_free_ char *sa = NULL, *sb = NULL;
        struct vx_qmp_stats stats;
        uint64_t ia = 0, ib = 0;
        bool running = false;
        struct fake fa, fb;

        a = fake_connect(steps, false, &fa);
        b = fake_connect(steps, false, &fb);
        assert_int_equal(qmp_send(a, "query-status", NULL, 5000, &ia), 0);
        assert_int_equal(qmp_send(b, "query-status", NULL, 5000, &ib), 0);
        assert_int_equal(qmp_query_status_receive(a, ia, 5000, &sa, &running, NULL), 0);
        assert_string_equal(sa, "running");
        assert_true(running);
        assert_int_equal(qmp_query_status_receive(b, ib, 5000, &sb, NULL, NULL), 0);
        assert_string_equal(sb, "running");
        /* The late reply each server sent first was dropped, not returned as ours. */
        qmp_get_stats(a, &stats);
        assert_int_equal(stats.replies_dropped, 1);
        qmp_get_stats(b, &stats);
        assert_int_equal(stats.replies_dropped, 1);
        fake_finish(&fa, true);
        fake_finish(&fb, true);
}

static void test_several_values_one_write(void **state)
{
        static const struct step steps[] = {
            HANDSHAKE,
            EXPECT("stop"),
            SEND(EV("RESET") "{\"return\": {}, \"id\": %ID%}\r\n" EV("STOP") EV("RESUME")),
            END,
        };
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        struct fake f;

        q = fake_connect(steps, false, &f);
        assert_int_equal(qmp_execute(q, "stop", NULL, 5000, NULL, NULL), 0);
        /* The events after the reply came in the same read: queued, not left in the buffer. */
        assert_int_equal(qmp_events_pending(q), 3);
        assert_pop(q, "RESET");
        assert_pop(q, "STOP");
        assert_pop(q, "RESUME");
        fake_finish(&f, true);
}

static void test_split_byte_by_byte(void **state)
{
        static const struct step steps[] = {
            SEND_BYTES(GREETING),
            EXPECT("qmp_capabilities"),
            SEND_BYTES("{\"return\": {}, \"id\": %ID%}"),
            EXPECT("query-status"),
            SEND_BYTES(EV("RESUME") "{\"return\": {\"status\": \"running\", \"running\": true}, "
                                    "\"id\": %ID%}"),
            END,
        };
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        _cleanup_free_ char *status = NULL;
        bool running = false;
        struct fake f;

        q = fake_connect(steps, false, &f);
        assert_int_equal(qmp_query_status(q, 5000, &status, &running, NULL), 0);
        assert_string_equal(status, "running");
        assert_true(running);
        assert_pop(q, "RESUME");
        fake_finish(&f, true);
}

static void test_error_reply(void **state)
{
        static const struct step steps[] = {
            HANDSHAKE,
            EXPECT_ARGS("human-monitor-command", "{\"command-line\": \"info nothing\"}"),
            SEND("{\"error\": {\"class\": \"GenericError\", \"desc\": \"boom\"}, \"id\": %ID%}\n"),
            EXPECT_ARGS("human-monitor-command", "{\"command-line\": \"info version\"}"),
            SEND("{\"return\": \"7.2.1\\r\\n\", \"id\": %ID%}\n"),
            END,
        };
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        _cleanup_(qmp_error_done) struct vx_qmp_error error = {};
        _cleanup_free_ char *out = NULL;
        char *sentinel = (char *)"untouched";
        struct fake f;

        q = fake_connect(steps, false, &f);
        assert_int_equal(qmp_hmp(q, "info nothing", 5000, &sentinel, &error), -EREMOTEIO);
        assert_string_equal(error.class, "GenericError");
        assert_string_equal(error.desc, "boom");
        assert_string_equal(sentinel, "untouched"); /* ret_* untouched on failure */
        /* An error reply does not break the connection. */
        assert_int_equal(qmp_hmp(q, "info version", 5000, &out, NULL), 0);
        assert_string_equal(out, "7.2.1\r\n");
        fake_finish(&f, true);
}

/* A reply with 18446744073709551615 does not break the connection (qemuargs/live.c relies on it). */
static void test_big_integer_reply(void **state)
{
        static const struct step steps[] = {
                HANDSHAKE,
                EXPECT_ARGS("device-list-properties", "{\"typename\": \"virtio-net-pci\"}"),
                SEND("{\"return\": [{\"name\": \"host_features\", \"type\": \"uint64\","
                     " \"default-value\": 18446744073709551615}], \"id\": %ID%}\r\n"),
                EXPECT("query-status"),
                SEND("{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": %ID%}\r\n"),
                END,
        };
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        json_t *args = json_pack("{s:s}", "typename", "virtio-net-pci"), *res = NULL;
        struct fake f;

        q = fake_connect(steps, false, &f);
        assert_int_equal(qmp_execute(q, "device-list-properties", args, 5000, &res, NULL), 0);
        assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "default-value")),
                            "18446744073709551615");
        json_decref(res);
        json_decref(args);
        assert_int_equal(qmp_execute(q, "query-status", NULL, 5000, &res, NULL), 0);
        assert_true(json_is_true(json_object_get(res, "running")));
        json_decref(res);
        fake_finish(&f, true);
}

static void test_garbage(void **state)
{
        static const struct step steps[] = {
            HANDSHAKE,
            EXPECT("query-status"),
            SEND("this is not json\r\n"),
            END,
        };
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        struct fake f;

        q = fake_connect(steps, false, &f);
        assert_int_equal(qmp_execute(q, "query-status", NULL, 5000, NULL, NULL), -EPROTO);
        /* The stream is out of step now: every later call says so at once. */
        assert_int_equal(qmp_execute(q, "query-status", NULL, 5000, NULL, NULL), -EPROTO);
        assert_int_equal(qmp_process(q), -EPROTO);
        fake_finish(&f, true);
}

static void test_oversized(void **state)
{
        static char reply[8192];
        const struct step steps[] = {
            HANDSHAKE,
            EXPECT("query-status"),
            SEND(reply),
            END,
        };
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        struct fake f;
        int n;

        n = snprintf(reply, sizeof(reply), "{\"id\": %%ID%%, \"return\": \"");
        memset(reply + n, 'x', sizeof(reply) - n - 4);
        strcpy(reply + sizeof(reply) - 4, "\"}\n");

        q = fake_connect(steps, false, &f);
        qmp_set_max_message_size(q, 4096);
        assert_int_equal(qmp_execute(q, "query-status", NULL, 5000, NULL, NULL), -EMSGSIZE);
        assert_int_equal(qmp_process(q), -EMSGSIZE);
        fake_finish(&f, true);
}

static void test_oversized_default_cap(void **state)
{
        size_t size = VX_QMP_MAX_MESSAGE + 1024 * 1024;
        _cleanup_free_ char *reply = malloc(size + 1);
        const struct step steps[] = {
            HANDSHAKE,
            EXPECT("query-status"),
            SEND(reply),
            END,
        };
        struct vx_qmp *q;
        struct fake f;

        assert_non_null(reply);
        strcpy(reply, "{\"return\": \"");
        memset(reply + strlen(reply), 'y', size - strlen(reply));
        reply[size] = '\0';

        q = fake_connect(steps, false, &f);
        assert_int_equal(qmp_execute(q, "query-status", NULL, 20000, NULL, NULL), -EMSGSIZE);
        /* Close first: the child is still writing the rest and gets EPIPE. */
        qmp_free(q);
        fake_finish(&f, false);
}

static void test_timeout(void **state)
{
        static const struct step steps[] = {
                HANDSHAKE,
                EXPECT("query-status"),
                /*
             * The reply comes only once the client has given up and sent the
             * next command: an order, not a time, shows the timeout worked.
             */
                AWAIT,
                SEND("{\"return\": {\"status\": \"late\", \"running\": false}, \"id\": %ID%}\n"),
                EXPECT("query-status"),
                SEND("{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": %ID%}\n"),
                END,
        };
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        _cleanup_free_ char *status = NULL;
        struct vx_qmp_stats stats;
        struct timespec start;
        struct fake f;
        long ms;

        q = fake_connect(steps, false, &f);
        clock_gettime(CLOCK_MONOTONIC, &start);
        assert_int_equal(qmp_query_status(q, 100, &status, NULL, NULL), -ETIMEDOUT);
        ms = elapsed_ms(&start);
        /* Not before the deadline (a lower bound cannot fail on a slow machine; an upper one could). */
        assert_true(ms >= 100);
        assert_null(status);
        /* Still usable: the late reply is recognised by its id and dropped. */
        assert_int_equal(qmp_query_status(q, 5000, &status, NULL, NULL), 0);
        assert_string_equal(status, "running");
        qmp_get_stats(q, &stats);
        assert_int_equal(stats.replies_dropped, 1);
        assert_int_equal(stats.events_dropped + stats.messages_ignored, 0);
        fake_finish(&f, true);
}

static void test_timeout_zero(void **state)
{
        static const struct step steps[] = {
                HANDSHAKE,
                EXPECT("query-status"),
                /* Open until the client closes: an early close would be ECONNRESET, not the timeout. */
                AWAIT,
                END,
        };
        struct vx_qmp *q = NULL;
        struct fake f;

        q = fake_connect(steps, false, &f);
        assert_int_equal(qmp_execute(q, "query-status", NULL, 0, NULL, NULL), -ETIMEDOUT);
        qmp_free(q);
        fake_finish(&f, true);
}

static void test_peer_close(void **state)
{
        static const struct step steps[] = {
            HANDSHAKE,
            EXPECT("quit"),
            SEND(EV("SHUTDOWN")),
            CLOSE,
        };
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        struct fake f;

        q = fake_connect(steps, false, &f);
        assert_int_equal(qmp_execute(q, "quit", NULL, 5000, NULL, NULL), -ECONNRESET);
        assert_pop(q, "SHUTDOWN");
        assert_int_equal(qmp_execute(q, "quit", NULL, 5000, NULL, NULL), -ECONNRESET);
        fake_finish(&f, true);
}

static void test_peer_gone_before_send(void **state)
{
        static const struct step steps[] = {HANDSHAKE, CLOSE};
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        struct fake f;
        int r;

        q = fake_connect(steps, false, &f);
        fake_finish(&f, true); /* the child has closed its end */
        r = qmp_execute(q, "cont", NULL, 5000, NULL, NULL);
        assert_true(r == -EPIPE || r == -ECONNRESET);
        assert_int_equal(qmp_execute(q, "cont", NULL, 5000, NULL, NULL), r);
}

static void test_connect_errors(void **state)
{
        struct vx_qmp *q = NULL;
        int p[2];
        char path[200];

        memset(path, 'a', sizeof(path));
        path[sizeof(path) - 1] = '\0';
        assert_int_equal(qmp_connect_path(path, 100, &q), -ENAMETOOLONG);
        assert_int_equal(qmp_connect_path("/nonexistent/qmp.sock", 100, &q), -ENOENT);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(qmp_connect_fd(p[0], 100, &q), -ENOTSOCK); /* consumes p[0] */
        assert_int_equal(fcntl(p[0], F_GETFD), -1);
        close(p[1]);
        assert_null(q);
}

static void test_greeting_timeout(void **state)
{
        /* No greeting, and open until the client gives up and closes (a sleep could end first on a loaded machine). */
        static const struct step steps[] = {AWAIT, END};
        struct vx_qmp *q = NULL;
        struct fake f;

        assert_int_equal(qmp_connect_fd(fake_start(steps, false, &f), 50, &q), -ETIMEDOUT);
        assert_null(q);
        fake_finish(&f, true);
}

/* ---- event loop use: qmp_process() and the queue ---- */

static void test_process_events(void **state)
{
        static const struct step steps[] = {HANDSHAKE, END};
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        _cleanup_(qmp_event_freep) struct vx_qmp_event *e = NULL;
        const char *ev = EV("RESET");
        struct fake f;

        q = fake_connect(steps, true, &f);
        assert_int_equal(qmp_process(q), 0); /* nothing readable: returns, does not block */

        /* One value split over many reads: nothing until its last byte. */
        for (size_t i = 0; ev[i]; i++) {
                assert_int_equal(write(f.server_fd, ev + i, 1), 1);
                assert_int_equal(qmp_process(q), ev[i] == '}' && ev[i + 1] == '\r' ? 1 : 0);
        }
        /* Several values in one read, a reply nobody waits for among them; order is kept. */
        server_write(&f, EV("STOP") "{\"return\": {}, \"id\": \"vx-77\"}"
                                    "{\"event\": \"GUEST_PANICKED\", \"data\": {\"action\": \"pause\"}}" EV(
                                        "RESUME"));
        assert_int_equal(qmp_process(q), 3);
        assert_int_equal(qmp_events_pending(q), 4);
        assert_pop(q, "RESET");
        assert_pop(q, "STOP");
        assert_int_equal(qmp_pop_event(q, &e), 1);
        assert_string_equal(e->name, "GUEST_PANICKED");
        assert_string_equal(json_string_value(json_object_get(e->data, "action")), "pause");
        assert_int_equal(e->timestamp_usec, -1);
        assert_pop(q, "RESUME");
        assert_int_equal(qmp_pop_event(q, NULL), 0);

        /* QEMU exits: the events before the close are queued, then the close is reported. */
        fake_reap(&f, true); /* the child's copy of the server end must be gone too */
        server_write(&f, EV("SHUTDOWN"));
        f.server_fd = safe_close(f.server_fd);
        assert_int_equal(qmp_process(q), -ECONNRESET);
        assert_pop(q, "SHUTDOWN");
        assert_int_equal(qmp_process(q), -ECONNRESET);
        fake_finish(&f, true);
}

static void test_event_queue_cap(void **state)
{
        static const struct step steps[] = {HANDSHAKE, END};
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        _cleanup_(qmp_event_freep) struct vx_qmp_event *e = NULL;
        unsigned total = VX_QMP_MAX_EVENTS + 3;
        struct vx_qmp_stats stats;
        char buf[128];
        struct fake f;

        q = fake_connect(steps, true, &f);
        for (unsigned i = 0; i < total; i++) {
                snprintf(buf, sizeof(buf), "{\"event\": \"RTC_CHANGE\", \"data\": {\"i\": %u}}\n", i);
                server_write(&f, buf);
                if (i % 256 == 255) /* keep the socket buffer from filling */
                        assert_true(qmp_process(q) >= 0);
        }
        assert_true(qmp_process(q) >= 0);
        assert_int_equal(qmp_events_pending(q), VX_QMP_MAX_EVENTS);
        assert_int_equal(qmp_pop_event(q, &e), 1);
        /* The oldest were dropped, counted and not logged (qmp/ does not log). */
        assert_int_equal(json_integer_value(json_object_get(e->data, "i")), 3);
        qmp_get_stats(q, &stats);
        assert_int_equal(stats.events_dropped, 3);
        fake_finish(&f, true);
}

/* ---- typed queries ---- */

static void test_query_cpus_fast(void **state)
{
        static const struct step steps[] = {
            HANDSHAKE,
            EXPECT("query-cpus-fast"),
            SEND("{\"return\": ["
                 "{\"thread-id\": 4242, \"props\": {\"core-id\": 0, \"thread-id\": 0, \"socket-id\": 0},"
                 " \"qom-path\": \"/machine/unattached/device[0]\", \"cpu-index\": 0, \"target\": "
                 "\"x86_64\"},"
                 "{\"thread-id\": 4243, \"props\": {\"core-id\": 1, \"thread-id\": 1, \"socket-id\": 2,"
                 " \"node-id\": 1, \"die-id\": 0}, \"cpu-index\": 1, \"target\": \"x86_64\"},"
                 "{\"thread-id\": 4244, \"cpu-index\": 2, \"target\": \"s390x\"}"
                 "], \"id\": %ID%}\r\n"),
            END,
        };
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        _cleanup_free_ struct vx_qmp_vcpu *v = NULL;
        size_t n = 0;
        struct fake f;

        q = fake_connect(steps, false, &f);
        assert_int_equal(qmp_query_vcpus(q, 5000, &v, &n, NULL), 0);
        assert_int_equal(n, 3);
        assert_int_equal(v[0].cpu_index, 0);
        assert_int_equal(v[0].thread_id, 4242);
        assert_int_equal(v[0].props.socket_id, 0);
        assert_int_equal(v[0].props.core_id, 0);
        assert_int_equal(v[0].props.thread_id, 0);
        assert_int_equal(v[0].props.node_id, -1);
        assert_int_equal(v[0].props.die_id, -1);
        assert_int_equal(v[1].cpu_index, 1);
        assert_int_equal(v[1].thread_id, 4243);
        assert_int_equal(v[1].props.socket_id, 2);
        assert_int_equal(v[1].props.core_id, 1);
        assert_int_equal(v[1].props.thread_id, 1);
        assert_int_equal(v[1].props.node_id, 1);
        assert_int_equal(v[1].props.die_id, 0);
        assert_int_equal(v[1].props.cluster_id, -1);
        assert_int_equal(v[2].thread_id, 4244);
        assert_int_equal(v[2].props.socket_id, -1);
        fake_finish(&f, true);
}

static void test_query_cpus_fallback(void **state)
{
        static const struct step steps[] = {
            HANDSHAKE,
            EXPECT("query-cpus-fast"),
            SEND("{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command query-cpus-fast "
                 "has not been found\"}, \"id\": %ID%}\r\n"),
            EXPECT("query-cpus"),
            SEND("{\"return\": ["
                 "{\"arch\": \"x86\", \"current\": true, \"props\": {\"core-id\": 0, \"thread-id\": 0,"
                 " \"socket-id\": 0}, \"CPU\": 0, \"qom_path\": \"/machine/unattached/device[0]\","
                 " \"pc\": -2130706432, \"halted\": false, \"thread_id\": 3001},"
                 "{\"arch\": \"x86\", \"current\": false, \"props\": {\"core-id\": 0, \"thread-id\": 0,"
                 " \"socket-id\": 1}, \"CPU\": 1, \"qom_path\": \"/machine/unattached/device[2]\","
                 " \"pc\": 1, \"halted\": true, \"thread_id\": 3002}"
                 "], \"id\": %ID%}\r\n"),
            END,
        };
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        _cleanup_free_ struct vx_qmp_vcpu *v = NULL;
        _cleanup_(qmp_error_done) struct vx_qmp_error error = {};
        size_t n = 0;
        struct fake f;

        q = fake_connect(steps, false, &f);
        assert_int_equal(qmp_query_vcpus(q, 5000, &v, &n, &error), 0);
        assert_null(error.class);
        assert_int_equal(n, 2);
        assert_int_equal(v[0].cpu_index, 0);
        assert_int_equal(v[0].thread_id, 3001);
        assert_int_equal(v[1].cpu_index, 1);
        assert_int_equal(v[1].thread_id, 3002);
        assert_int_equal(v[1].props.socket_id, 1);
        fake_finish(&f, true);
}

static void test_query_cpus_errors(void **state)
{
        static const struct step steps[] = {
            HANDSHAKE,
            /* Another error class: reported, no fallback. */
            EXPECT("query-cpus-fast"),
            SEND("{\"error\": {\"class\": \"GenericError\", \"desc\": \"nope\"}, \"id\": %ID%}\r\n"),
            /* An entry without its thread id. */
            EXPECT("query-cpus-fast"),
            SEND("{\"return\": [{\"cpu-index\": 0, \"target\": \"x86_64\"}], \"id\": %ID%}\r\n"),
            /* Not an array. */
            EXPECT("query-cpus-fast"),
            SEND("{\"return\": {}, \"id\": %ID%}\r\n"),
            /* Malformed error reply. */
            EXPECT("query-cpus-fast"),
            SEND("{\"error\": \"what\", \"id\": %ID%}\r\n"),
            END,
        };
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        _cleanup_(qmp_error_done) struct vx_qmp_error error = {};
        struct vx_qmp_vcpu *v = NULL;
        size_t n = 99;
        struct fake f;

        q = fake_connect(steps, false, &f);
        assert_int_equal(qmp_query_vcpus(q, 5000, &v, &n, &error), -EREMOTEIO);
        assert_string_equal(error.class, "GenericError");
        assert_string_equal(error.desc, "nope");
        assert_int_equal(qmp_query_vcpus(q, 5000, &v, &n, NULL), -EPROTO);
        assert_int_equal(qmp_query_vcpus(q, 5000, &v, &n, NULL), -EPROTO);
        assert_int_equal(qmp_query_vcpus(q, 5000, &v, &n, NULL), -EPROTO);
        assert_null(v);
        assert_int_equal(n, 99);
        fake_finish(&f, true);
}

static void test_execute_arguments(void **state)
{
        static const struct step steps[] = {
            HANDSHAKE,
            EXPECT_ARGS("set_link", "{\"name\": \"net0\", \"up\": false}"),
            SEND("{\"id\": %ID%, \"return\": {}}"),
            END,
        };
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        _cleanup_json_ json_t *args = json_pack("{s:s, s:b}", "name", "net0", "up", 0);
        _cleanup_json_ json_t *result = NULL;
        struct fake f;

        q = fake_connect(steps, false, &f);
        assert_int_equal(qmp_execute(q, "set_link", args, 5000, &result, NULL), 0);
        assert_true(json_is_object(result));
        assert_int_equal(json_object_size(result), 0);
        assert_int_equal(args->refcount, 1); /* borrowed, not stolen */
        fake_finish(&f, true);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_framer_values),
                cmocka_unit_test(test_framer_big_integers),
                cmocka_unit_test(test_framer_errors),
                cmocka_unit_test(test_handshake),
                cmocka_unit_test(test_bad_greeting),
                cmocka_unit_test(test_event_before_reply),
                cmocka_unit_test(test_send_receive_two_in_flight),
                cmocka_unit_test(test_several_values_one_write),
                cmocka_unit_test(test_split_byte_by_byte),
                cmocka_unit_test(test_error_reply),
                cmocka_unit_test(test_big_integer_reply),
                cmocka_unit_test(test_garbage),
                cmocka_unit_test(test_oversized),
                cmocka_unit_test(test_oversized_default_cap),
                cmocka_unit_test(test_timeout),
                cmocka_unit_test(test_timeout_zero),
                cmocka_unit_test(test_peer_close),
                cmocka_unit_test(test_peer_gone_before_send),
                cmocka_unit_test(test_connect_errors),
                cmocka_unit_test(test_greeting_timeout),
                cmocka_unit_test(test_process_events),
                cmocka_unit_test(test_event_queue_cap),
                cmocka_unit_test(test_query_cpus_fast),
                cmocka_unit_test(test_query_cpus_fallback),
                cmocka_unit_test(test_query_cpus_errors),
                cmocka_unit_test(test_execute_arguments),
        };

        /* A child that dies on a closed socket must not take the test binary with it. */
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
