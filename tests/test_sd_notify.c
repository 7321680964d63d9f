/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sd_notify against a real AF_UNIX datagram socket, at a path and at an abstract address. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "sd-notify.h"

/* Binds a datagram socket to name ("@..." abstract, else a path); returns its fd. */
static int listen_at(const char *name)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t len = strlen(name);
        socklen_t salen;
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_true(len < sizeof(sa.sun_path));
        memcpy(sa.sun_path, name, len);
        salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
        if (name[0] == '@')
                sa.sun_path[0] = '\0';
        else
                salen++;
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, salen), 0);
        return fd;
}

static void expect_datagram(int fd, const char *want)
{
        char buf[512];
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

        assert_true(n >= 0);
        buf[n] = '\0';
        assert_string_equal(buf, want);
}

static void test_path_socket(void **state)
{
        char dir[] = "/tmp/vx-sd-notify-XXXXXX";
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;

        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&path, "%s/notify", dir) > 0);
        fd = listen_at(path);

        assert_int_equal(sd_notify_send(path, "READY=1\nSTATUS=2 VMs running"), 1);
        expect_datagram(fd, "READY=1\nSTATUS=2 VMs running");

        /* The environment names the socket when the caller passes NULL. */
        assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
        assert_int_equal(sd_notify_sendf(NULL, "STATUS=%s: %d of %d", "demo", 1, 2), 1);
        expect_datagram(fd, "STATUS=demo: 1 of 2");
        assert_int_equal(sd_notify_send(NULL, "STOPPING=1"), 1);
        expect_datagram(fd, "STOPPING=1");
        unsetenv("NOTIFY_SOCKET");

        assert_int_equal(unlink(path), 0);
        /* Nobody listens there any more: the error is the kernel's, not a silent success. */
        assert_int_equal(sd_notify_send(path, "WATCHDOG=1"), -ENOENT);
        assert_int_equal(rmdir(dir), 0);
}

static void test_abstract_socket(void **state)
{
        char name[64];
        _cleanup_close_ int fd = -EBADF;

        snprintf(name, sizeof(name), "@vx-sd-notify-test-%d", (int)getpid());
        fd = listen_at(name);
        assert_int_equal(sd_notify_send(name, "WATCHDOG=1"), 1);
        expect_datagram(fd, "WATCHDOG=1");
        /* A path of the same name is another address: nothing listens there. */
        assert_int_equal(sd_notify_send(name + 1, "READY=1"), -EINVAL);
        name[1] = 'X';
        assert_int_equal(sd_notify_send(name, "READY=1"), -ECONNREFUSED);
}

static void test_no_socket(void **state)
{
        char longname[200];

        unsetenv("NOTIFY_SOCKET");
        assert_int_equal(sd_notify_send(NULL, "READY=1"), 0);
        assert_int_equal(setenv("NOTIFY_SOCKET", "", 1), 0);
        assert_int_equal(sd_notify_send(NULL, "READY=1"), 0);
        unsetenv("NOTIFY_SOCKET");
        assert_int_equal(sd_notify_send("relative/path", "READY=1"), -EINVAL);
        memset(longname, 'a', sizeof(longname) - 1);
        longname[0] = '/';
        longname[sizeof(longname) - 1] = '\0';
        assert_int_equal(sd_notify_send(longname, "READY=1"), -EINVAL);
}

static void test_watchdog_usec(void **state)
{
        char pid[32];
        uint64_t usec = 7;

        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
        assert_int_equal(sd_watchdog_usec(0, &usec), 0);
        assert_int_equal(usec, 7);

        assert_int_equal(setenv("WATCHDOG_USEC", "30000000", 1), 0);
        assert_int_equal(sd_watchdog_usec(0, &usec), 1);
        assert_int_equal(usec, 30000000);

        snprintf(pid, sizeof(pid), "%d", (int)getpid());
        assert_int_equal(setenv("WATCHDOG_PID", pid, 1), 0);
        usec = 0;
        assert_int_equal(sd_watchdog_usec(0, &usec), 1);
        assert_int_equal(usec, 30000000);
        /* Meant for another process (a forked child inherits the variables). */
        usec = 7;
        assert_int_equal(sd_watchdog_usec(getpid() + 1, &usec), 0);
        assert_int_equal(usec, 7);

        assert_int_equal(setenv("WATCHDOG_PID", "x", 1), 0);
        assert_int_equal(sd_watchdog_usec(0, &usec), -EINVAL);
        unsetenv("WATCHDOG_PID");
        assert_int_equal(setenv("WATCHDOG_USEC", "0", 1), 0);
        assert_int_equal(sd_watchdog_usec(0, &usec), -EINVAL);
        assert_int_equal(setenv("WATCHDOG_USEC", "12s", 1), 0);
        assert_int_equal(sd_watchdog_usec(0, &usec), -EINVAL);
        assert_int_equal(setenv("WATCHDOG_USEC", "-5", 1), 0);
        assert_int_equal(sd_watchdog_usec(0, &usec), -EINVAL);
        unsetenv("WATCHDOG_USEC");
        assert_int_equal(usec, 7);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_path_socket),
                cmocka_unit_test(test_abstract_socket),
                cmocka_unit_test(test_no_socket),
                cmocka_unit_test(test_watchdog_usec),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
