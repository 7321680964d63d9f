/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * floor: the least a launcher can do to run QEMU with pinned vCPUs. It is the
 * reference ("floor") the vmxrun benchmarks compare against, so it uses no
 * vmxrun code, no JSON library and no event loop: a blocking QMP exchange of
 * a few lines.
 *
 *   floor start --qmp PATH [--vcpu CPULIST]... [--emulator CPULIST]
 *               [--log FILE] [--pidfile FILE] -- QEMU-ARGV...
 *       Creates a listening unix socket at PATH, starts QEMU with it as fd 3
 *       (QEMU-ARGV must be the argv `vmxrun cmdline --json` prints, with -S and
 *       "-chardev socket,...,fd=3"), with the emulator CPU set as its affinity
 *       from the start; connects, qmp_capabilities, query-cpus-fast, pins
 *       vCPU i to the i-th --vcpu list with sched_setaffinity and every other
 *       thread to --emulator, cont, query-status (must be "running"), writes
 *       QEMU's pid to --pidfile, exits 0. QEMU keeps running.
 *
 *   floor quit --qmp PATH --pid PID
 *       Connects, qmp_capabilities, quit, waits until PID is gone (pidfd).
 *
 *   floor kill --pid PID
 *       SIGKILL through a pidfd, waits until PID is gone.
 *
 * These are the same steps vmxrun takes (launcher/vm.c, launcher/spawn.c);
 * everything vmxrun does on top (profile, plan, runtime dir, state file,
 * supervisor, control socket) is its overhead over this floor.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_VCPUS 256
#define TIMEOUT_MS 30000

static pid_t child = 0; /* a QEMU we started and have not handed over yet: killed on failure */

static void die(const char *fmt, ...)
{
        va_list ap;

        if (child > 0)
                kill(child, SIGKILL);
        va_start(ap, fmt);
        fputs("floor: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        exit(1);
}

static void parse_cpulist(const char *s, cpu_set_t *set)
{
        char *end;

        CPU_ZERO(set);
        while (*s) {
                long a = strtol(s, &end, 10), b;
                if (end == s || a < 0 || a >= CPU_SETSIZE)
                        die("bad CPU list '%s'", s);
                b = a;
                s = end;
                if (*s == '-') {
                        b = strtol(s + 1, &end, 10);
                        if (end == s + 1 || b < a || b >= CPU_SETSIZE)
                                die("bad CPU list '%s'", s);
                        s = end;
                }
                for (long c = a; c <= b; c++)
                        CPU_SET((int)c, set);
                if (*s == ',')
                        s++;
                else if (*s)
                        die("bad CPU list '%s'", s);
        }
}

/* ---- a blocking, line-based QMP client: QEMU sends one JSON object per line ---- */

struct qmp {
        int fd;
        char buf[65536];
        size_t len;
};

static char *qmp_read_line(struct qmp *q)
{
        static char line[65536];

        for (;;) {
                char *nl = memchr(q->buf, '\n', q->len);
                if (nl) {
                        size_t n = (size_t)(nl - q->buf) + 1;
                        memcpy(line, q->buf, n);
                        line[n] = '\0';
                        memmove(q->buf, q->buf + n, q->len - n);
                        q->len -= n;
                        return line;
                }
                if (q->len == sizeof(q->buf) - 1)
                        die("QMP line too long");
                struct pollfd p = {.fd = q->fd, .events = POLLIN};
                int r = poll(&p, 1, TIMEOUT_MS);
                if (r <= 0)
                        die("QMP: %s", r == 0 ? "timeout" : strerror(errno));
                ssize_t k = read(q->fd, q->buf + q->len, sizeof(q->buf) - 1 - q->len);
                if (k <= 0)
                        die("QMP: %s", k == 0 ? "connection closed" : strerror(errno));
                q->len += (size_t)k;
        }
}

/* Sends a command and returns its answer line (events before it are skipped). */
static char *qmp_cmd(struct qmp *q, const char *cmd)
{
        char req[256];
        int n = snprintf(req, sizeof(req), "{\"execute\":\"%s\"}\n", cmd);

        if (write(q->fd, req, (size_t)n) != n)
                die("QMP write: %s", strerror(errno));
        for (;;) {
                char *line = qmp_read_line(q);
                if (strstr(line, "\"return\""))
                        return line;
                if (strstr(line, "\"error\""))
                        die("QMP %s failed: %s", cmd, line);
                /* an event ("RESUME" after cont): skip */
        }
}

static void qmp_open(struct qmp *q, const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        q->len = 0;
        if (strlen(path) >= sizeof(sa.sun_path))
                die("socket path too long");
        strcpy(sa.sun_path, path);
        q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (q->fd < 0 || connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                die("connect %s: %s", path, strerror(errno));
        if (!strstr(qmp_read_line(q), "\"QMP\""))
                die("no QMP greeting");
        qmp_cmd(q, "qmp_capabilities");
}

/* ---- start ---- */

static int listen_at(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                die("socket path too long");
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                die("socket: %s", strerror(errno));
        (void)unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
                die("bind/listen %s: %s", path, strerror(errno));
        return fd;
}

static int cmd_start(const char *qmp_path, char **vcpu_lists, int n_vcpu_lists, const char *emulator,
                     const char *log, const char *pidfile, char **qemu_argv)
{
        cpu_set_t emu, set;
        pid_t vcpu_tid[MAX_VCPUS];
        int n_vcpus = 0, listen_fd, log_fd;
        struct qmp q;
        pid_t pid;
        char *line, *p;

        if (emulator)
                parse_cpulist(emulator, &emu);
        listen_fd = listen_at(qmp_path);
        log_fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log_fd < 0)
                die("open log: %s", strerror(errno));

        pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                int null_fd = open("/dev/null", O_RDONLY);
                (void)setsid();
                if (emulator)
                        (void)sched_setaffinity(0, sizeof(emu), &emu);
                /* dup2(3, 3) would keep O_CLOEXEC: move the sources above 3 first. */
                listen_fd = fcntl(listen_fd, F_DUPFD_CLOEXEC, 10);
                log_fd = fcntl(log_fd, F_DUPFD_CLOEXEC, 10);
                if (listen_fd < 0 || log_fd < 0 || dup2(listen_fd, 3) < 0 || dup2(null_fd, 0) < 0 ||
                    dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
                        _exit(127);
                (void)syscall(SYS_close_range, 4U, ~0U, 0);
                execv(qemu_argv[0], qemu_argv);
                _exit(127);
        }
        child = pid;
        close(listen_fd);
        close(log_fd);

        qmp_open(&q, qmp_path);

        /* {"return": [{"thread-id": 123, "props": {...}, "qom-path": "...", "cpu-index": 0, ...}, ...]} */
        line = qmp_cmd(&q, "query-cpus-fast");
        /* "props" has a "thread-id" too (the SMT index): take only the keys of the array's objects. */
        for (int depth = 0, in_str = 0; *line; line++) {
                if (in_str) {
                        if (*line == '\\' && line[1])
                                line++;
                        else if (*line == '"')
                                in_str = 0;
                        continue;
                }
                if (*line == '{' || *line == '[')
                        depth++;
                else if (*line == '}' || *line == ']')
                        depth--;
                else if (*line == '"') {
                        if (depth == 3 && strncmp(line, "\"thread-id\":", 12) == 0) {
                                if (n_vcpus == MAX_VCPUS)
                                        die("too many vCPUs");
                                vcpu_tid[n_vcpus++] = (pid_t)strtol(line + 12, &p, 10);
                                line = p - 1;
                        } else
                                in_str = 1;
                }
        }
        if (n_vcpu_lists && n_vcpu_lists != n_vcpus)
                die("QEMU has %d vCPUs, %d --vcpu lists given", n_vcpus, n_vcpu_lists);
        for (int i = 0; i < n_vcpu_lists; i++) {
                parse_cpulist(vcpu_lists[i], &set);
                if (sched_setaffinity(vcpu_tid[i], sizeof(set), &set) < 0)
                        die("pin vCPU %d: %s", i, strerror(errno));
        }
        if (emulator) {
                /* The threads that exist already; new ones inherit the main thread's set. */
                char dir[64];
                snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
                DIR *d = opendir(dir);
                struct dirent *de;
                if (!d)
                        die("opendir %s: %s", dir, strerror(errno));
                while ((de = readdir(d))) {
                        pid_t tid = (pid_t)atoi(de->d_name);
                        bool is_vcpu = false;
                        if (tid <= 0)
                                continue;
                        for (int i = 0; i < n_vcpus && n_vcpu_lists; i++)
                                is_vcpu = is_vcpu || vcpu_tid[i] == tid;
                        if (!is_vcpu)
                                (void)sched_setaffinity(tid, sizeof(emu), &emu);
                }
                closedir(d);
        }

        qmp_cmd(&q, "cont");
        line = qmp_cmd(&q, "query-status");
        if (!strstr(line, "\"running\": true") && !strstr(line, "\"running\":true"))
                die("not running after cont: %s", line);
        close(q.fd);
        child = 0;

        if (pidfile) {
                FILE *f = fopen(pidfile, "we");
                if (!f || fprintf(f, "%d\n", (int)pid) < 0 || fclose(f) != 0)
                        die("write %s: %s", pidfile, strerror(errno));
        } else
                printf("%d\n", (int)pid);
        return 0;
}

/* ---- stop ---- */

static int pidfd_of(pid_t pid)
{
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);

        if (fd < 0)
                die("pidfd_open %d: %s", (int)pid, strerror(errno));
        return fd;
}

static void wait_gone(int pidfd)
{
        struct pollfd p = {.fd = pidfd, .events = POLLIN};

        while (poll(&p, 1, TIMEOUT_MS) < 0 && errno == EINTR)
                ;
        if (!(p.revents & POLLIN))
                die("process did not exit");
}

static int cmd_quit(const char *qmp_path, pid_t pid)
{
        int pidfd = pidfd_of(pid);
        struct qmp q;

        qmp_open(&q, qmp_path);
        qmp_cmd(&q, "quit");
        wait_gone(pidfd);
        return 0;
}

static int cmd_kill(pid_t pid)
{
        int pidfd = pidfd_of(pid);

        if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
                die("kill: %s", strerror(errno));
        wait_gone(pidfd);
        return 0;
}

int main(int argc, char **argv)
{
        const char *qmp = NULL, *emulator = NULL, *log = NULL, *pidfile = NULL;
        char *vcpus[MAX_VCPUS];
        int n_vcpus = 0, i;
        pid_t pid = 0;

        if (argc < 2)
                die("usage: floor start|quit|kill OPTIONS (see the comment at the top of floor.c)");
        for (i = 2; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--") == 0) {
                        i++;
                        break;
                }
                if (i + 1 >= argc)
                        die("%s needs a value", a);
                if (strcmp(a, "--qmp") == 0)
                        qmp = argv[++i];
                else if (strcmp(a, "--vcpu") == 0 && n_vcpus < MAX_VCPUS)
                        vcpus[n_vcpus++] = argv[++i];
                else if (strcmp(a, "--emulator") == 0)
                        emulator = argv[++i];
                else if (strcmp(a, "--log") == 0)
                        log = argv[++i];
                else if (strcmp(a, "--pidfile") == 0)
                        pidfile = argv[++i];
                else if (strcmp(a, "--pid") == 0)
                        pid = (pid_t)atoi(argv[++i]);
                else
                        die("unknown option %s", a);
        }
        if (strcmp(argv[1], "start") == 0) {
                if (!qmp || i >= argc)
                        die("start needs --qmp and -- QEMU-ARGV");
                return cmd_start(qmp, vcpus, n_vcpus, emulator, log, pidfile, argv + i);
        }
        if (strcmp(argv[1], "quit") == 0) {
                if (!qmp || pid <= 0)
                        die("quit needs --qmp and --pid");
                return cmd_quit(qmp, pid);
        }
        if (strcmp(argv[1], "kill") == 0) {
                if (pid <= 0)
                        die("kill needs --pid");
                return cmd_kill(pid);
        }
        die("unknown command %s", argv[1]);
}
