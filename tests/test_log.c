/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The log's line format: plain, timestamped, and for the journal ($JOURNAL_STREAM names stderr). */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "log.h"

static char path[] = "/tmp/vx-test-log-XXXXXX";
static int saved_stderr = -EBADF;

/* stderr goes to a fresh file for each test. */
static int setup(void **state)
{
        int fd;

        strcpy(path, "/tmp/vx-test-log-XXXXXX");
        fd = mkstemp(path);
        if (fd < 0)
                return -1;
        fflush(stderr);
        saved_stderr = dup(STDERR_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
        unsetenv("JOURNAL_STREAM");
        log_set_timestamps(false);
        log_set_max_level(VX_LOG_DEBUG);
        return 0;
}

static int teardown(void **state)
{
        fflush(stderr);
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        unlink(path);
        log_set_max_level(VX_LOG_INFO);
        return 0;
}

static char *logged(void)
{
        static char buf[4096];
        ssize_t n;
        int fd;

        fflush(stderr);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        assert_true(n >= 0);
        buf[n] = '\0';
        return buf;
}

static void point_journal_stream_at(int fd)
{
        struct stat st;
        char v[64];

        assert_int_equal(fstat(fd, &st), 0);
        snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
        assert_int_equal(setenv("JOURNAL_STREAM", v, 1), 0);
}

static void test_plain(void **state)
{
        assert_false(log_stderr_is_journal());
        assert_int_equal(log_error_errno(ENOENT, "vm1: failed to open %s: %m", "disk.img"), -ENOENT);
        log_warning("vm1: slow");
        log_info("vm1: running");
        log_debug("vm1: detail");
        assert_string_equal(logged(), "vmxrun: error: vm1: failed to open disk.img: No such file or directory\n"
                                      "vmxrun: warning: vm1: slow\n"
                                      "vmxrun: vm1: running\n"
                                      "vmxrun: debug: vm1: detail\n");
}

static void test_journal(void **state)
{
        point_journal_stream_at(STDERR_FILENO);
        assert_true(log_stderr_is_journal());
        log_set_timestamps(true); /* the journal keeps its own time */
        log_error_errno(-EACCES, "vm1: %m");
        log_warning("vm1: slow");
        log_info("vm1: running");
        log_debug("vm1: detail");
        assert_string_equal(logged(), "<3>vm1: Permission denied\n<4>vm1: slow\n<6>vm1: running\n<7>vm1: detail\n");
}

static void test_stale_journal_stream(void **state)
{
        _cleanup_close_ int other = open("/dev/null", O_RDONLY | O_CLOEXEC);

        /* Inherited from a parent whose stderr was the journal; ours is a file now. */
        point_journal_stream_at(other);
        assert_false(log_stderr_is_journal());
        assert_int_equal(setenv("JOURNAL_STREAM", "garbage", 1), 0);
        assert_false(log_stderr_is_journal());
        log_info("vm1: running");
        assert_string_equal(logged(), "vmxrun: vm1: running\n");
}

static void test_timestamps(void **state)
{
        regex_t re;

        log_set_timestamps(true);
        log_warning("vm1: slow");
        assert_int_equal(regcomp(&re,
                                 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                                 "vmxrun: warning: vm1: slow\n$",
                                 REG_EXTENDED),
                         0);
        assert_int_equal(regexec(&re, logged(), 0, NULL, 0), 0);
        regfree(&re);
}

static void test_below_max_level(void **state)
{
        log_set_max_level(VX_LOG_WARNING);
        log_info("vm1: running");
        assert_int_equal(log_debug_errno(EIO, "vm1: %m"), -EIO);
        assert_string_equal(logged(), "");
}

/* A seqpacket socket keeps each write(2) as one message: a line must be one write,
 * whatever its length, so that processes sharing a log file never split each other's lines. */
static void test_one_write_per_line(void **state)
{
        static char long_arg[3000], msg[4096];
        int sv[2];
        ssize_t n;

        memset(long_arg, 'x', sizeof(long_arg) - 1);
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(dup2(sv[1], STDERR_FILENO), STDERR_FILENO);
        log_set_timestamps(true);
        log_error_errno(ENOENT, "vm1: %s: %m", "disk.img");
        log_info("vm1: %s", long_arg);
        assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
        close(sv[1]);
        dup2(saved_stderr, STDERR_FILENO); /* the socket's last writer gone: reads end */

        n = recv(sv[0], msg, sizeof(msg) - 1, 0);
        assert_true(n > 0);
        msg[n] = 0;
        assert_non_null(strstr(msg, "Z vmxrun: error: vm1: disk.img: No such file or directory\n"));
        assert_int_equal(strchr(msg, '\n') - msg, n - 1);
        n = recv(sv[0], msg, sizeof(msg) - 1, 0);
        assert_true(n > (ssize_t)strlen(long_arg));
        msg[n] = 0;
        assert_non_null(strstr(msg, "Z vmxrun: vm1: xxx"));
        assert_int_equal(strlen(strstr(msg, "vm1: ")), strlen("vm1: ") + strlen(long_arg) + 1);
        assert_int_equal(msg[n - 1], '\n');
        assert_int_equal(recv(sv[0], msg, sizeof(msg), 0), 0);
        close(sv[0]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journal, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stale_journal_stream, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timestamps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_below_max_level, setup, teardown),
                cmocka_unit_test_setup_teardown(test_one_write_per_line, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
