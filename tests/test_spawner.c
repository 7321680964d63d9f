/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The spawner and the supervisor's seccomp filter, without QEMU: a program
 * started through the spawner gets its fds at their numbers and is the
 * spawner's child (its wait status comes back through spawner_reap); the
 * spawner runs only the plan's binaries; and in a process under the filter,
 * a call outside its list ends the process with the filter's message (real
 * system calls through the real filter), while what the spawner starts has
 * no filter of ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "spawner.h"
#include "syscall-filter.h"

/* /bin/sh is the program here only because the tests need something to exec. */
static char sh[] = "/bin/sh";

static struct vx_plan *sh_plan(void)
{
        static char *items[] = {sh, NULL};
        static struct vx_vm_plan vm = {.argv = {.items = items, .n = 1}};
        static struct vx_plan plan = {.vms = &vm, .n_vms = 1};

        return &plan;
}

static char *read_all(int fd)
{
        char *buf = calloc(1, 4096);
        ssize_t n;

        assert_non_null(buf);
        assert_true(lseek(fd, 0, SEEK_SET) == 0);
        n = read(fd, buf, 4095);
        assert_true(n >= 0);
        return buf;
}

static int log_file(void)
{
        char path[] = "/tmp/vx-test-spawner-XXXXXX";
        int fd = mkostemp(path, O_CLOEXEC);

        assert_true(fd >= 0);
        unlink(path);
        return fd;
}

/* Through the spawner: fd 5 arrives, the program's parent is the spawner, its exit status comes back. */
static void test_spawn_through_spawner(void **state)
{
        char script[128];
        char *argv[] = {sh, (char *)"-c", script, NULL};
        int keep_fd = open("/dev/null", O_RDONLY | O_CLOEXEC), log_fd = log_file(), pidfd = -EBADF, status, r;
        struct vx_spawn_fd keep = {.fd = keep_fd, .target = 5};
        struct vx_spawn_options opts = {.fds = &keep, .n_fds = 1, .log_fd = log_fd};
        _cleanup_free_ char *out = NULL;
        char path[64], name[64] = "";
        int parent = 0;
        FILE *comm;
        pid_t pid = 0;

        snprintf(script, sizeof(script), "readlink /proc/self/fd/5; echo parent=$PPID; exit 7");
        assert_true(keep_fd >= 0);
        assert_int_equal(spawner_start(sh_plan()), 0);
        assert_true(spawner_running());
        r = spawner_spawn(argv, &opts, &pid, &pidfd);
        if (r == -ENOSYS) {
                /* valgrind 3.19 does not know pidfd_open: the spawner cannot start anything there. */
                print_message("SKIP: pidfd_open is not available here (valgrind?)\n");
                spawner_stop();
                close(keep_fd);
                close(log_fd);
                skip();
        }
        assert_int_equal(r, 0);
        assert_true(pid > 0 && pidfd >= 0);
        /* Not our child: a wait of ours finds nothing to wait for, running or not. */
        assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
        status = spawner_reap(pid);
        assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 7);
        out = read_all(log_fd);
        assert_int_equal(sscanf(out, "/dev/null\nparent=%d", &parent), 1);
        /* Its parent is the spawner, which says what it is. */
        snprintf(path, sizeof(path), "/proc/%d/comm", parent);
        comm = fopen(path, "re");
        assert_non_null(comm);
        assert_non_null(fgets(name, sizeof(name), comm));
        fclose(comm);
        assert_true(parent != getpid());
        assert_string_equal(name, "vmxrun-spawner\n");
        spawner_stop();
        assert_false(spawner_running());
        close(pidfd);
        close(keep_fd);
        close(log_fd);
}

/*
 * Started before the spawner (as the supervisor starts the first QEMUs), a
 * program is our own child; once the spawner runs, spawner_reap() still
 * gets its exit status (a wait here, not a question to the spawner, which
 * would find no such child), and still gets those of the spawner's children.
 */
static void test_reap_own_child_with_spawner(void **state)
{
        char *first[] = {sh, (char *)"-c", (char *)"read x <&5; exit 3", NULL};
        char *later[] = {sh, (char *)"-c", (char *)"exit 4", NULL};
        struct vx_spawn_options opts = {.log_fd = -EBADF};
        int pipe_fds[2], pidfd = -EBADF, pidfd2 = -EBADF, status, r;
        struct vx_spawn_fd in;
        pid_t pid = 0, pid2 = 0;

        assert_false(spawner_running());
        assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
        in = (struct vx_spawn_fd){.fd = pipe_fds[0], .target = 5};
        opts.fds = &in;
        opts.n_fds = 1;
        r = spawner_spawn(first, &opts, &pid, &pidfd);
        if (r == -ENOSYS) {
                print_message("SKIP: pidfd_open is not available here (valgrind?)\n");
                close(pipe_fds[0]);
                close(pipe_fds[1]);
                skip();
        }
        assert_int_equal(r, 0);
        close(pipe_fds[0]);
        assert_int_equal(spawner_start(sh_plan()), 0);
        opts = (struct vx_spawn_options){.log_fd = -EBADF};
        assert_int_equal(spawner_spawn(later, &opts, &pid2, &pidfd2), 0);
        /* Ours, running until its stdin ends: a wait of ours would find it. */
        assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
        close(pipe_fds[1]);
        status = spawner_reap(pid);
        assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 3);
        status = spawner_reap(pid2);
        assert_true(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 4);
        spawner_stop();
        close(pidfd);
        close(pidfd2);
}

/* A program the plan does not name is refused: a taken-over supervisor cannot make the spawner run a shell. */
static void test_spawner_runs_only_the_plans_binaries(void **state)
{
        static char *items[] = {(char *)"/usr/bin/qemu-system-x86_64", NULL};
        static struct vx_vm_plan vm = {.argv = {.items = items, .n = 1}};
        static struct vx_plan plan = {.vms = &vm, .n_vms = 1};
        char *argv[] = {sh, (char *)"-c", (char *)"exit 0", NULL};
        struct vx_spawn_options opts = {.log_fd = -EBADF};
        int pidfd = -EBADF;
        pid_t pid = 0;

        assert_int_equal(spawner_start(&plan), 0);
        assert_int_equal(spawner_spawn(argv, &opts, &pid, &pidfd), -EPERM);
        spawner_stop();
}

static bool line_is(const char *text, const char *line)
{
        const char *p = strstr(text, line);

        return p && (p == text || p[-1] == '\n') && p[strlen(line)] == '\n';
}

/* "<prefix> Seccomp:\t<mode>" and "<prefix> Seccomp_filters:\t<n>" of this process. */
static void print_seccomp(FILE *f, const char *prefix)
{
        FILE *st = fopen("/proc/self/status", "re");
        char line[128];

        while (st && fgets(line, sizeof(line), st))
                if (strncmp(line, "Seccomp", 7) == 0)
                        fprintf(f, "%s %s", prefix, line);
        if (st)
                fclose(st);
}

/* The number after "<prefix> <field>:\t" in the report, or -1. */
static int field(const char *report, const char *prefix, const char *name)
{
        char key[64];
        const char *p;

        snprintf(key, sizeof(key), "%s %s:\t", prefix, name);
        p = strstr(report, key);
        return p ? atoi(p + strlen(key)) : -1;
}

/*
 * The filtered process is a child of the test (a filter cannot be removed);
 * it reports on a pipe: its own Seccomp fields, those of a program the
 * spawner started after the filter, and last (its stderr on the pipe too)
 * what the filter says when it makes a call outside the list, which ends it.
 */
static void filtered_child(int report_fd)
{
        char *argv[] = {sh, (char *)"-c", (char *)"grep ^Seccomp /proc/self/status", NULL};
        int log_fd = log_file(), pidfd = -EBADF, status;
        struct vx_spawn_options opts = {.log_fd = log_fd};
        _cleanup_free_ char *mine = NULL, *spawned = NULL;
        FILE *f = fdopen(report_fd, "w");
        pid_t pid = 0;

        if (!f)
                _exit(2);
        print_seccomp(f, "base");
        if (spawner_start(sh_plan()) < 0 || syscall_filter_install(sh_plan()) < 0)
                _exit(2);
        fprintf(f, "getpid=%s\n", getpid() > 0 ? "ok" : "failed");
        print_seccomp(f, "self");
        if (spawner_spawn(argv, &opts, &pid, &pidfd) < 0 || (status = spawner_reap(pid)) < 0 || status != 0)
                _exit(3);
        spawned = read_all(log_fd);
        for (char *l = strtok(spawned, "\n"); l; l = strtok(NULL, "\n"))
                fprintf(f, "spawned %s\n", l);
        spawner_stop();
        fflush(f);
        if (dup2(report_fd, STDERR_FILENO) < 0)
                _exit(4);
        (void)mount("none", "/nonexistent/vx-test", "tmpfs", 0, NULL);
        fprintf(f, "mount returned\n");
        fclose(f);
        _exit(0);
}

static void test_filter_traps_and_spawned_is_unfiltered(void **state)
{
        int pipe_fds[2], status;
        _cleanup_free_ char *report = NULL;
        pid_t pid;

        if (geteuid() != 0) {
                print_message("SKIP: a filter with no_new_privs works as anyone, but the mount probe needs root to be "
                              "meaningful\n");
                skip();
        }
        if (getenv("VX_UNDER_VALGRIND")) {
                print_message(
                        "SKIP: under valgrind (scripts/analyze.sh), the filter would refuse valgrind's own calls\n");
                skip();
        }
        assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
        fflush(NULL);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(pipe_fds[0]);
                filtered_child(pipe_fds[1]);
        }
        close(pipe_fds[1]);
        report = calloc(1, 4096);
        assert_non_null(report);
        for (size_t len = 0, n; (n = (size_t)read(pipe_fds[0], report + len, 4095 - len)) > 0 && n <= 4095;)
                len += n;
        close(pipe_fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        print_message("%s", report);
        /* A call outside the list (mount: 165 on x86_64) ends the process, saying which and what it means. */
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == VX_SYSCALL_FILTER_EXIT);
        assert_null(strstr(report, "mount returned"));
        {
                char want[64];

                snprintf(want, sizeof(want), "system call %d is outside its seccomp allow-list", SCMP_SYS(mount));
                assert_non_null(strstr(report, want));
                assert_non_null(strstr(report, "the next vmxrun command (status, stop, start) adopts them"));
        }
        assert_true(line_is(report, "getpid=ok"));
        /* Counted from what the test itself runs under (a container may add a filter of its own). */
        assert_int_equal(field(report, "self", "Seccomp"), 2);
        assert_true(field(report, "base", "Seccomp_filters") >= 0);
        assert_int_equal(field(report, "self", "Seccomp_filters"), field(report, "base", "Seccomp_filters") + 1);
        /* Started after the filter, through the spawner: not under it. */
        assert_int_equal(field(report, "spawned", "Seccomp"), field(report, "base", "Seccomp"));
        assert_int_equal(field(report, "spawned", "Seccomp_filters"), field(report, "base", "Seccomp_filters"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_spawn_through_spawner),
                cmocka_unit_test(test_spawner_runs_only_the_plans_binaries),
                cmocka_unit_test(test_reap_own_child_with_spawner),
                cmocka_unit_test(test_filter_traps_and_spawned_is_unfiltered),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
