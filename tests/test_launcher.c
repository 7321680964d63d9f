/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The launcher's pieces that need no QEMU: runtime dir and lock, atomic
 * state file, control socket framing, readiness on a growing console log,
 * spawn's fd keep-list.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "control.h"
#include "readiness.h"
#include "runtime.h"
#include "spawn.h"

static char *make_tmpdir(void)
{
        char tmpl[] = "/tmp/vx-test-launcher-XXXXXX";

        assert_non_null(mkdtemp(tmpl));
        return strdup(tmpl);
}

static void remove_tree(char *dir)
{
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        free(dir);
}

static void test_runtime_dir_and_lock(void **state)
{
        char *tmp = make_tmpdir();
        _cleanup_free_ char *dir = NULL, *file = NULL;
        struct stat st;
        int fd = -EBADF, fd2 = -EBADF;

        assert_true(asprintf(&dir, "%s/a/b/deployment", tmp) > 0);
        assert_int_equal(runtime_mkdir(dir), 0);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        /* A directory that exists with looser bits is tightened. */
        assert_int_equal(chmod(dir, 0755), 0);
        assert_int_equal(runtime_mkdir(dir), 0);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);

        assert_false(runtime_is_locked(dir));
        assert_int_equal(runtime_lock(dir, &fd), 0);
        assert_true(runtime_is_locked(dir));
        assert_int_equal(runtime_lock(dir, &fd2), -EBUSY);
        close(fd);
        assert_false(runtime_is_locked(dir));

        assert_true(asprintf(&file, "%s/state.json", dir) > 0);
        assert_int_equal(runtime_write_atomic(file, "{\"a\":1}", 7), 0);
        assert_int_equal(runtime_write_atomic(file, "{}", 2), 0);
        assert_int_equal(stat(file, &st), 0);
        assert_int_equal(st.st_size, 2);
        assert_int_equal(st.st_mode & 0777, 0600);
        remove_tree(tmp);
}

/* A supervisor stand-in: answers one request on the control socket. */
static void serve_one(const char *dir, int listen_fd)
{
        json_t *req = NULL, *answer;
        int fd;

        fd = -1;
        for (int i = 0; i < 1000 && fd < 0; i++) {
                fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        usleep(1000);
        }
        if (fd < 0 || control_read_request(fd, 2000, &req) < 0)
                _exit(1);
        answer = json_pack("{s:b, s:O}", "ok", 1, "echo", json_object_get(req, "cmd"));
        control_write_answer(fd, answer);
        _exit(0);
}

static void test_control_roundtrip(void **state)
{
        char *tmp = make_tmpdir();
        json_t *req = json_pack("{s:s}", "cmd", "status"), *answer = NULL;
        int listen_fd = -EBADF, status;
        pid_t pid;

        assert_int_equal(control_call(tmp, req, 1000, &answer), -ENOENT); /* nobody listens */
        assert_int_equal(control_listen(tmp, &listen_fd), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                serve_one(tmp, listen_fd);
        assert_int_equal(control_call(tmp, req, 5000, &answer), 0);
        assert_true(json_is_true(json_object_get(answer, "ok")));
        assert_string_equal(json_string_value(json_object_get(answer, "echo")), "status");
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(status, 0);
        json_decref(answer);
        json_decref(req);
        close(listen_fd);
        remove_tree(tmp);
}

static void test_control_error_shape(void **state)
{
        json_t *e = control_error(-ENOENT, "no VM named '%s'", "x");

        assert_false(json_is_true(json_object_get(e, "ok")));
        assert_string_equal(json_string_value(json_object_get(e, "error")), "no VM named 'x'");
        assert_int_equal(json_integer_value(json_object_get(e, "errno")), ENOENT);
        json_decref(e);
}

static void append(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
}

static void test_readiness_straddling_pattern(void **state)
{
        char *tmp = make_tmpdir();
        struct vx_vm vm = {.name = (char *)"g", .ready = {.console_pattern = (char *)"login:", .timeout_s = 5}};
        struct vx_vm_plan vp = {.vm = &vm, .runtime_dir = tmp};
        struct vx_readiness *r = NULL;
        _cleanup_free_ char *log = NULL;

        assert_true(asprintf(&log, "%s/console.log", tmp) > 0);
        assert_int_equal(readiness_watch(&vp, &r), 0); /* creates the log if QEMU has not yet */
        assert_int_equal(readiness_process(r), 0);
        append(log, "booting...\r\nvmx lo");
        assert_int_equal(readiness_process(r), 0);
        append(log, "g");
        assert_int_equal(readiness_process(r), 0);
        append(log, "in");
        assert_int_equal(readiness_process(r), 0);
        append(log, ": "); /* the pattern ends here, split over four writes */
        assert_int_equal(readiness_process(r), 1);
        readiness_free(r);
        remove_tree(tmp);
}

/* spawn_qemu on a shell-free program: the kept fd arrives at its number, others do not. */
static void test_spawn_keeps_only_listed_fds(void **state)
{
        char *tmp = make_tmpdir();
        _cleanup_free_ char *out = NULL;
        int keep_fd, stray_fd, log_fd, pidfd, status;
        struct vx_spawn_fd keep;
        struct vx_spawn_options opts = {0};
        char buf[256] = {0};
        pid_t pid;
        FILE *f;

        assert_true(asprintf(&out, "%s/out", tmp) > 0);
        /* /bin/sh is the program here only because the test needs something to exec. */
        char *argv[] = {(char *)"/bin/sh", (char *)"-c",
                        (char *)"ls /proc/self/fd | sort -n | tr '\\n' ' '; readlink /proc/self/fd/5", NULL};
        keep_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        stray_fd = open("/dev/zero", O_RDONLY); /* not CLOEXEC: close_range must still close it */
        log_fd = open(out, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(keep_fd >= 0 && stray_fd >= 0 && log_fd >= 0);
        keep = (struct vx_spawn_fd){.fd = keep_fd, .target = 5};
        opts = (struct vx_spawn_options){.fds = &keep, .n_fds = 1, .log_fd = log_fd};
        assert_int_equal(spawn_qemu(argv, &opts, &pid, &pidfd), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        f = fopen(out, "re");
        assert_non_null(f);
        assert_non_null(fgets(buf, sizeof(buf), f));
        fclose(f);
        /* 0-2, the kept 5, and the fd ls itself opens for /proc/self/fd (3). */
        assert_string_equal(buf, "0 1 2 3 5 /dev/null\n");
        close(keep_fd);
        close(stray_fd);
        close(log_fd);
        close(pidfd);
        remove_tree(tmp);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_runtime_dir_and_lock),
                cmocka_unit_test(test_control_roundtrip),
                cmocka_unit_test(test_control_error_shape),
                cmocka_unit_test(test_readiness_straddling_pattern),
                cmocka_unit_test(test_spawn_keeps_only_listed_fds),
        };
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
