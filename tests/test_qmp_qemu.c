/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The launcher's QMP sequence against a real QEMU: we create the listening
 * socket and hand it to QEMU started paused (-S), connect, read the vCPU
 * thread ids, cont, check the run state, quit, and see QEMU exit.
 *
 * Needs qemu-system-x86_64 (TCG only, no KVM); exits 77 without it.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "qmp.h"

#define QEMU_NAME "qemu-system-x86_64"
#define TIMEOUT_MS 20000 /* generous: ASan and a busy shared machine slow QEMU's start */

static char qemu_path[4096];

/* Finds QEMU in $PATH, since execv() wants an absolute path. */
static bool find_qemu(void)
{
        const char *env = getenv("PATH");
        _cleanup_free_ char *path = strdup(env ?: "/usr/bin:/bin");
        char *save = NULL;

        if (!path)
                return false;
        for (char *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                snprintf(qemu_path, sizeof(qemu_path), "%s/%s", dir, QEMU_NAME);
                if (dir[0] == '/' && access(qemu_path, X_OK) == 0)
                        return true;
        }
        return false;
}

/* A listening unix socket at path, CLOEXEC like every fd here; QEMU gets it explicitly. */
static int listen_unix(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        assert_true(strlen(path) < sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 1), 0);
        return fd;
}

static pid_t spawn_qemu(int listen_fd)
{
        char chardev[64];
        char *const argv[] = {
            qemu_path,
            "-S",
            "-nodefaults",
            "-display",
            "none",
            "-accel",
            "tcg,thread=multi",
            "-smp",
            "2",
            "-m",
            "128",
            "-machine",
            "pc",
            "-chardev",
            chardev,
            "-mon",
            "chardev=mon,mode=control",
            NULL,
        };
        pid_t pid;

        /* Built before fork(): the child makes only async-signal-safe calls. */
        snprintf(chardev, sizeof(chardev), "socket,id=mon,fd=%d,server=on,wait=off", listen_fd);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* The one fd QEMU is meant to inherit: clear CLOEXEC here, in the child only. */
                if (fcntl(listen_fd, F_SETFD, 0) < 0)
                        _exit(126);
                execv(qemu_path, argv);
                _exit(127);
        }
        return pid;
}

/* Waits for QEMU to exit; kills it after timeout_ms so a failing test never leaves it behind. */
static int wait_exit(pid_t pid, int timeout_ms)
{
        int status;

        for (int waited = 0; waited < timeout_ms; waited += 10) {
                pid_t r = waitpid(pid, &status, WNOHANG);

                assert_true(r >= 0);
                if (r == pid)
                        return status;
                usleep(10 * 1000);
        }
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        fail_msg("QEMU did not exit within %d ms after quit", timeout_ms);
        return -1;
}

static void assert_vcpu_threads(pid_t pid, const struct vx_qmp_vcpu *v, size_t n)
{
        char task[64];
        struct stat st;

        for (size_t i = 0; i < n; i++) {
                assert_int_equal(v[i].cpu_index, (int)i);
                assert_true(v[i].thread_id > 0);
                assert_int_not_equal(v[i].thread_id, pid); /* thread=multi: one thread per vCPU */
                snprintf(task, sizeof(task), "/proc/%d/task/%d", (int)pid, (int)v[i].thread_id);
                if (stat(task, &st) < 0)
                        fail_msg("%s: %s", task, strerror(errno));
                /* -smp 2 on pc: one socket, two cores, or two sockets; either way topology is reported. */
                assert_true(v[i].props.socket_id >= 0);
                assert_true(v[i].props.core_id >= 0);
                assert_true(v[i].props.thread_id >= 0);
        }
        assert_int_not_equal(v[0].thread_id, v[1].thread_id);
}

/* After quit: QEMU reports SHUTDOWN, then closes the socket. Returns whether SHUTDOWN came. */
static bool wait_shutdown_event(struct vx_qmp *q)
{
        bool shutdown = false;
        struct vx_qmp_event *e;
        int r = 0;

        for (int i = 0; i < 1000 && r >= 0; i++) {
                struct pollfd p = {.fd = qmp_get_fd(q), .events = POLLIN};

                assert_true(poll(&p, 1, TIMEOUT_MS) >= 0);
                r = qmp_process(q);
        }
        assert_int_equal(r, -ECONNRESET);
        while (qmp_pop_event(q, &e) > 0) {
                shutdown = shutdown || strcmp(e->name, "SHUTDOWN") == 0;
                qmp_event_free(e);
        }
        return shutdown;
}

static void test_qemu_launch_sequence(void **state)
{
        char dir[] = "/tmp/vx-qmp-test-XXXXXX", path[128];
        _cleanup_(qmp_freep) struct vx_qmp *q = NULL;
        _cleanup_free_ struct vx_qmp_vcpu *vcpus = NULL;
        _cleanup_free_ char *status = NULL, *hmp = NULL;
        struct vx_qmp_event *e;
        bool running = true, resumed = false;
        size_t n = 0;
        int listen_fd, r;
        pid_t pid;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/qmp.sock", dir);
        listen_fd = listen_unix(path);
        pid = spawn_qemu(listen_fd);
        /* QEMU holds the socket now; listen() was done, so connecting cannot race its start. */
        safe_close(listen_fd);

        r = qmp_connect_path(path, TIMEOUT_MS, &q);
        unlink(path);
        rmdir(dir);
        if (r < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                fail_msg("qmp_connect_path: %s", strerror(-r));
        }
        assert_true(qmp_get_version(q)->major >= 6);

        assert_int_equal(qmp_query_status(q, TIMEOUT_MS, &status, &running, NULL), 0);
        assert_string_equal(status, "prelaunch");
        assert_false(running);

        assert_int_equal(qmp_query_vcpus(q, TIMEOUT_MS, &vcpus, &n, NULL), 0);
        assert_int_equal(n, 2);
        assert_vcpu_threads(pid, vcpus, n);

        assert_int_equal(qmp_hmp(q, "info version", TIMEOUT_MS, &hmp, NULL), 0);
        assert_true(hmp[0] >= '0' && hmp[0] <= '9');

        assert_int_equal(qmp_execute(q, "cont", NULL, TIMEOUT_MS, NULL, NULL), 0);
        free(status);
        status = NULL;
        assert_int_equal(qmp_query_status(q, TIMEOUT_MS, &status, &running, NULL), 0);
        assert_string_equal(status, "running");
        assert_true(running);
        while (qmp_pop_event(q, &e) > 0) {
                resumed = resumed || strcmp(e->name, "RESUME") == 0;
                qmp_event_free(e);
        }
        assert_true(resumed);

        /* QEMU may close the socket before its reply to quit is read. */
        r = qmp_execute(q, "quit", NULL, TIMEOUT_MS, NULL, NULL);
        assert_true(r == 0 || r == -ECONNRESET);
        if (r == 0)
                assert_true(wait_shutdown_event(q));
        r = wait_exit(pid, TIMEOUT_MS);
        assert_true(WIFEXITED(r));
        assert_int_equal(WEXITSTATUS(r), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_qemu_launch_sequence),
        };

        if (!find_qemu()) {
                printf("SKIP: %s not found in PATH; this test needs QEMU.\n", QEMU_NAME);
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
