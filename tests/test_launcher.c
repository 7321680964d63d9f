/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The launcher's pieces that need no QEMU: runtime dir and lock, atomic
 * state file, control socket framing, readiness on a growing console log,
 * spawn's fd keep-list, vCPU pinning by cpu-index against a fake QMP server.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
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
#include "affinity.h"
#include "drift.h"
#include "vm.h"

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
        /* A directory that exists with looser bits is tightened: nothing for others. */
        assert_int_equal(chmod(dir, 0757), 0);
        assert_int_equal(runtime_mkdir(dir), 0);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0750);
        /* The group's bits (QEMU's group may enter) stay, as a racing second start finds them. */
        assert_int_equal(chmod(dir, 0710), 0);
        assert_int_equal(runtime_mkdir(dir), 0);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0710);

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

/* A supervisor stand-in: answers one request on the control socket. Frees dir (the child's copy). */
static void serve_one(char *dir, int listen_fd)
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
        /* Freed before _exit: under valgrind the child's leaks count too, and make it exit 99. */
        json_decref(answer);
        json_decref(req);
        free(dir);
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
        if (pid == 0) {
                json_decref(req); /* the parent's, in this copy of its memory (valgrind checks the child too) */
                serve_one(tmp, listen_fd);
        }
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
        int keep_fd, stray_fd, log_fd, pidfd, status, r;
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
        r = spawn_qemu(argv, &opts, &pid, &pidfd);
        if (r == -ENOSYS) {
                /* valgrind 3.19 does not know pidfd_open (nor close_range): there is nothing to test. */
                print_message("SKIP: pidfd_open is not available here (valgrind?)\n");
                free(out); /* skip() does not return: no cleanup runs */
                out = NULL;
                close(keep_fd);
                close(stray_fd);
                close(log_fd);
                remove_tree(tmp);
                skip();
        }
        assert_int_equal(r, 0);
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

/* ---- pinning by cpu-index, against a fake QMP server that answers out of order ---- */

static int park_pipe[2];

static void *parked_thread(void *arg)
{
        char c;

        *(pid_t *)arg = gettid();
        (void)!read(park_pipe[0], &c, 1); /* until the test is done */
        return NULL;
}

/*
 * The fake QEMU: greeting, qmp_capabilities, then query-cpus-fast with the
 * two vCPUs in reverse order (cpu-index 1 first). props_core: the core-id it
 * reports for cpu-index 1 (1 is right for 2 cores; anything else is a lie).
 */
static void fake_qmp(int fd, pid_t tid0, pid_t tid1, int props_core)
{
        FILE *in = fdopen(dup(fd), "r"), *out = fdopen(fd, "w");
        char line[4096];

        fprintf(out, "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 0}}, "
                     "\"capabilities\": []}}\r\n");
        fflush(out);
        while (fgets(line, sizeof(line), in)) {
                json_t *req = json_loads(line, 0, NULL);
                const char *cmd = json_string_value(json_object_get(req, "execute"));
                json_t *id = json_object_get(req, "id");
                json_t *ans;

                if (cmd && strcmp(cmd, "query-cpus-fast") == 0)
                        ans = json_pack("{s:[{s:i, s:i, s:{s:i, s:i, s:i}}, {s:i, s:i, s:{s:i, s:i, s:i}}], s:O}",
                                        "return", "cpu-index", 1, "thread-id", (int)tid1, "props", "socket-id", 0,
                                        "core-id", props_core, "thread-id", 0, "cpu-index", 0, "thread-id", (int)tid0,
                                        "props", "socket-id", 0, "core-id", 0, "thread-id", 0, "id", id);
                else
                        ans = json_pack("{s:{}, s:O}", "return", "id", id);
                json_dumpf(ans, out, JSON_COMPACT);
                fputs("\r\n", out);
                fflush(out);
                json_decref(ans);
                json_decref(req);
        }
        _exit(0);
}

static int pin_with_fake(int props_core, pid_t tids[2], struct vx_cpuset got[2])
{
        struct vx_cpuset sets[2] = {0};
        struct vx_vm_plan vp = {
                .name = (char *)"v",
                .topology = {.vcpus = 2, .sockets = 1, .dies = 1, .cores = 2, .threads = 1},
                .pinning = {.vcpus = sets, .n_vcpus = 2},
        };
        struct vx_vm_instance inst = {.plan = &vp, .pidfd = -EBADF, .pid = getpid()};
        struct vx_qmp_vcpu *vcpus = NULL;
        size_t n = 0;
        int sv[2], r;
        pid_t child;

        vx_cpuset_set(&sets[0], 0);
        vx_cpuset_set(&sets[1], 1);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                close(sv[0]);
                fake_qmp(sv[1], tids[0], tids[1], props_core);
        }
        close(sv[1]);
        assert_int_equal(qmp_connect_fd(sv[0], 30000, &inst.qmp), 0);
        assert_int_equal(qmp_query_vcpus(inst.qmp, 30000, &vcpus, &n, NULL), 0);
        assert_int_equal(n, 2);
        assert_int_equal(vcpus[0].cpu_index, 1); /* the reply's order really is reversed */
        inst.vcpus = vcpus;
        inst.n_vcpus = n;
        r = vm_pin(&inst);
        inst.qmp = qmp_free(inst.qmp);
        free(inst.vcpus);
        assert_int_equal(waitpid(child, NULL, 0), child);
        for (int i = 0; i < 2; i++)
                assert_int_equal(affinity_get(tids[i], &got[i]), 0);
        return r;
}

static void test_pin_by_cpu_index(void **state)
{
        pthread_t th[2];
        pid_t tids[2] = {0, 0};
        struct vx_cpuset got[2], all;

        if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
                print_message("SKIP: needs two online CPUs\n");
                skip();
        }
        assert_int_equal(affinity_get(0, &all), 0);
        if (!vx_cpuset_isset(&all, 0) || !vx_cpuset_isset(&all, 1)) {
                print_message("SKIP: CPUs 0 and 1 are not both in this process's CPU set\n");
                skip();
        }
        assert_int_equal(pipe2(park_pipe, O_CLOEXEC), 0);
        for (int i = 0; i < 2; i++)
                assert_int_equal(pthread_create(&th[i], NULL, parked_thread, &tids[i]), 0);
        while (__atomic_load_n(&tids[0], __ATOMIC_SEQ_CST) == 0 || __atomic_load_n(&tids[1], __ATOMIC_SEQ_CST) == 0)
                sched_yield();

        /* cpu-index 0 gets vCPU 0's CPU list, whatever the order of the reply. */
        assert_int_equal(pin_with_fake(1, tids, got), 0);
        assert_int_equal(vx_cpuset_count(&got[0]), 1);
        assert_true(vx_cpuset_isset(&got[0], 0));
        assert_int_equal(vx_cpuset_count(&got[1]), 1);
        assert_true(vx_cpuset_isset(&got[1], 1));

        /* A cpu-index that contradicts its socket/core/thread ids is refused, and nothing is pinned. */
        assert_int_equal(affinity_set(tids[0], &all), 0);
        assert_int_equal(affinity_set(tids[1], &all), 0);
        assert_int_equal(pin_with_fake(0, tids, got), -EPROTO);
        assert_true(vx_cpuset_equal(&got[0], &all));
        assert_true(vx_cpuset_equal(&got[1], &all));

        close(park_pipe[1]);
        for (int i = 0; i < 2; i++)
                pthread_join(th[i], NULL);
        close(park_pipe[0]);
}

/* How a running command line differs from the profile's, option by option. */
static void test_argv_drift(void **state)
{
        char *running[] = {"/usr/bin/qemu", "-S",      "-smp",   "4,cores=4", "-m",
                           "2048M",         "-device", "a,id=x", "-device",   "b,id=y"};
        char *planned[] = {"/usr/bin/qemu", "-S",     "-smp",    "6,cores=6", "-m",         "2048M",
                           "-device",       "a,id=x", "-device", "c,id=z",    "-nodefaults"};
        char **lines = NULL;

        assert_int_equal(drift_argv(running, ELEMENTSOF(running), planned, ELEMENTSOF(planned), &lines), 0);
        assert_string_equal(lines[0], "-smp 4,cores=4 -> 6,cores=6");
        assert_string_equal(lines[1], "-device b,id=y -> c,id=z");
        assert_string_equal(lines[2], "+ -nodefaults");
        assert_null(lines[3]);
        lines = drift_free(lines);

        /* The same command line: no line at all. */
        assert_int_equal(drift_argv(running, ELEMENTSOF(running), running, ELEMENTSOF(running), &lines), 0);
        assert_null(lines[0]);
        lines = drift_free(lines);

        /* Two -device more on one side: each is a line of its own. */
        assert_int_equal(drift_argv(planned, 8, running, ELEMENTSOF(running), &lines), 0);
        assert_string_equal(lines[0], "-smp 6,cores=6 -> 4,cores=4");
        assert_string_equal(lines[1], "+ -device b,id=y");
        assert_null(lines[2]);

        /* The host side, after those lines: a tap gone, a tap made again; unchanged or unrecorded ones say nothing. */
        {
                const char *taps[] = {"vx-a", "vx-b", "vx-c", NULL, "vx-d"};
                const int was[] = {10, 11, 12, 0, 0}, now[] = {0, 15, 12, 0, 9};

                for (size_t i = 0; i < 5; i++)
                        assert_int_equal(drift_tap(taps[i], was[i], now[i], &lines), 0);
                assert_string_equal(lines[2], "tap vx-a: gone from the host (QEMU's NIC has no host side)");
                assert_string_equal(
                        lines[3],
                        "tap vx-b: ifindex 11 -> 15 (made again behind vmxrun's back; QEMU holds the old one)");
                assert_null(lines[4]);
                lines = drift_free(lines);
                /* Onto no lines at all. */
                assert_int_equal(drift_tap(taps[0], was[0], now[0], &lines), 0);
                assert_non_null(lines);
                assert_string_equal(lines[0], "tap vx-a: gone from the host (QEMU's NIC has no host side)");
                assert_null(lines[1]);
        }
        drift_free(lines);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_runtime_dir_and_lock),
                cmocka_unit_test(test_control_roundtrip),
                cmocka_unit_test(test_control_error_shape),
                cmocka_unit_test(test_readiness_straddling_pattern),
                cmocka_unit_test(test_spawn_keeps_only_listed_fds),
                cmocka_unit_test(test_pin_by_cpu_index),
                cmocka_unit_test(test_argv_drift),
        };
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
