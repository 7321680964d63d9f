/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * floor: the least a launcher can do to run QEMU with pinned vCPUs. It is the
 * reference ("floor") the vmxrun benchmarks compare against, so it uses no
 * vmxrun code, no JSON library and no event loop: a blocking QMP exchange of
 * a few lines.
 *
 *   floor start [--sequential] --qmp PATH [--vcpu CPULIST]... [--emulator CPULIST]
 *               [--log FILE] [--pidfile FILE] [--user UID:GID] -- QEMU-ARGV...
 *               [--- --qmp PATH ... -- QEMU-ARGV...]...
 *       Creates a listening unix socket at PATH, starts QEMU with it as fd 3
 *       (QEMU-ARGV must be the argv `vmxrun cmdline --json` prints, with -S and
 *       "-chardev socket,...,fd=3"), with the emulator CPU set as its affinity
 *       from the start; connects, qmp_capabilities, query-cpus-fast, pins
 *       vCPU i to the i-th --vcpu list with sched_setaffinity and every other
 *       thread to --emulator, cont, query-status (must be "running"), writes
 *       QEMU's pid to --pidfile, exits 0. QEMU keeps running. --user runs
 *       QEMU as that user (no supplementary groups), as vmxrun runs it as
 *       its own user; the QMP socket is given to it. Several VMs, separated
 *       by "---": every QEMU is started first, then each is attached in
 *       turn (what vmxrun does with a deployment's VMs); with --sequential
 *       each VM is started and attached before the next is spawned.
 *
 *   floor quit --qmp PATH --pid PID
 *       Connects, qmp_capabilities, quit, waits until PID is gone (pidfd).
 *
 *   floor kill --pid PID [--pid PID]...
 *       SIGKILL through a pidfd to each, waits until all are gone.
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
#include <grp.h>
#include <unistd.h>

#define MAX_VCPUS 256
#define TIMEOUT_MS 30000

static void kill_children(void);

static void die(const char *fmt, ...)
{
        va_list ap;

        kill_children();
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

/* One VM of a start: what its options say, and what the spawn found out. */
struct vm {
        const char *qmp_path, *emulator, *log, *pidfile, *user;
        char *vcpu_lists[MAX_VCPUS];
        int n_vcpu_lists;
        char **qemu_argv;
        cpu_set_t emu;
        pid_t pid;
};

#define MAX_VMS 256
static struct vm vms[MAX_VMS];
static int n_vms;

/* A QEMU we started and have not handed over yet is killed on failure: all of them. */
static void kill_children(void)
{
        for (int i = 0; i < n_vms; i++)
                if (vms[i].pid > 0)
                        kill(vms[i].pid, SIGKILL);
}

/* Forks QEMU paused, its QMP socket listening as fd 3; does not wait for it. */
static void spawn(struct vm *vm)
{
        int listen_fd, log_fd;
        uid_t uid = 0;
        gid_t gid = 0;
        pid_t pid;

        if (vm->emulator)
                parse_cpulist(vm->emulator, &vm->emu);
        if (vm->user && sscanf(vm->user, "%u:%u", &uid, &gid) != 2)
                die("--user wants UID:GID, not '%s'", vm->user);
        listen_fd = listen_at(vm->qmp_path);
        if (vm->user && chown(vm->qmp_path, uid, gid) < 0)
                die("chown %s: %s", vm->qmp_path, strerror(errno));
        log_fd = open(vm->log ? vm->log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log_fd < 0)
                die("open log: %s", strerror(errno));

        pid = fork();
        if (pid < 0)
                die("fork: %s", strerror(errno));
        if (pid == 0) {
                int null_fd = open("/dev/null", O_RDONLY);
                (void)setsid();
                if (vm->emulator)
                        (void)sched_setaffinity(0, sizeof(vm->emu), &vm->emu);
                /* dup2(3, 3) would keep O_CLOEXEC: move the sources above 3 first. */
                listen_fd = fcntl(listen_fd, F_DUPFD_CLOEXEC, 10);
                log_fd = fcntl(log_fd, F_DUPFD_CLOEXEC, 10);
                if (listen_fd < 0 || log_fd < 0 || dup2(listen_fd, 3) < 0 || dup2(null_fd, 0) < 0 ||
                    dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
                        _exit(127);
                (void)syscall(SYS_close_range, 4U, ~0U, 0);
                /* QEMU's own user, as vmxrun runs it: no groups, then the ids (which drop root's capabilities). */
                if (vm->user &&
                    (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0))
                        _exit(126);
                execv(vm->qemu_argv[0], vm->qemu_argv);
                _exit(127);
        }
        vm->pid = pid;
        close(listen_fd);
        close(log_fd);
}

/* Connects, pins, runs: the steps after QEMU's initialisation. */
static void attach(struct vm *vm)
{
        pid_t vcpu_tid[MAX_VCPUS];
        int n_vcpus = 0;
        cpu_set_t set;
        struct qmp q;
        char *line, *p;

        qmp_open(&q, vm->qmp_path);

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
        if (vm->n_vcpu_lists && vm->n_vcpu_lists != n_vcpus)
                die("QEMU has %d vCPUs, %d --vcpu lists given", n_vcpus, vm->n_vcpu_lists);
        for (int i = 0; i < vm->n_vcpu_lists; i++) {
                parse_cpulist(vm->vcpu_lists[i], &set);
                if (sched_setaffinity(vcpu_tid[i], sizeof(set), &set) < 0)
                        die("pin vCPU %d: %s", i, strerror(errno));
        }
        if (vm->emulator) {
                /* The threads that exist already; new ones inherit the main thread's set. */
                char dir[64];
                snprintf(dir, sizeof(dir), "/proc/%d/task", (int)vm->pid);
                DIR *d = opendir(dir);
                struct dirent *de;
                if (!d)
                        die("opendir %s: %s", dir, strerror(errno));
                while ((de = readdir(d))) {
                        pid_t tid = (pid_t)atoi(de->d_name);
                        bool is_vcpu = false;
                        if (tid <= 0)
                                continue;
                        for (int i = 0; i < n_vcpus && vm->n_vcpu_lists; i++)
                                is_vcpu = is_vcpu || vcpu_tid[i] == tid;
                        if (!is_vcpu)
                                (void)sched_setaffinity(tid, sizeof(vm->emu), &vm->emu);
                }
                closedir(d);
        }

        qmp_cmd(&q, "cont");
        line = qmp_cmd(&q, "query-status");
        if (!strstr(line, "\"running\": true") && !strstr(line, "\"running\":true"))
                die("not running after cont: %s", line);
        close(q.fd);
}

/*
 * Every QEMU is spawned before the first is attached, so that they initialise
 * in parallel (as vmxrun does); --sequential starts each only once the one
 * before runs.
 */
static int cmd_start(bool sequential)
{
        for (int i = 0; i < n_vms; i++) {
                spawn(&vms[i]);
                if (sequential)
                        attach(&vms[i]);
        }
        for (int i = 0; !sequential && i < n_vms; i++)
                attach(&vms[i]);
        for (int i = 0; i < n_vms; i++) {
                pid_t pid = vms[i].pid;
                if (vms[i].pidfile) {
                        FILE *f = fopen(vms[i].pidfile, "we");
                        if (!f || fprintf(f, "%d\n", (int)pid) < 0 || fclose(f) != 0)
                                die("write %s: %s", vms[i].pidfile, strerror(errno));
                } else
                        printf("%d\n", (int)pid);
        }
        n_vms = 0; /* handed over: they keep running */
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

/* SIGKILL to every PID, then waits until all are gone (what `vmxrun stop --force` does to a deployment). */
static int cmd_kill(const pid_t *pids, int n)
{
        int fds[MAX_VMS];

        for (int i = 0; i < n; i++) {
                fds[i] = pidfd_of(pids[i]);
                if (syscall(SYS_pidfd_send_signal, fds[i], SIGKILL, NULL, 0) < 0)
                        die("kill: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++)
                wait_gone(fds[i]);
        return 0;
}

/* Options up to "--" (then the QEMU argv up to "---" or the end) into *vm; returns the index after. */
static int parse_vm(int argc, char **argv, int i, struct vm *vm, pid_t *pid)
{
        for (; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--") == 0) {
                        int k = ++i;
                        while (k < argc && strcmp(argv[k], "---") != 0)
                                k++;
                        vm->qemu_argv = argv + i;
                        if (k < argc) {
                                argv[k] = NULL; /* ends this VM's argv */
                                k++;
                        }
                        return k;
                }
                if (i + 1 >= argc)
                        die("%s needs a value", a);
                if (strcmp(a, "--qmp") == 0)
                        vm->qmp_path = argv[++i];
                else if (strcmp(a, "--vcpu") == 0 && vm->n_vcpu_lists < MAX_VCPUS)
                        vm->vcpu_lists[vm->n_vcpu_lists++] = argv[++i];
                else if (strcmp(a, "--emulator") == 0)
                        vm->emulator = argv[++i];
                else if (strcmp(a, "--log") == 0)
                        vm->log = argv[++i];
                else if (strcmp(a, "--pidfile") == 0)
                        vm->pidfile = argv[++i];
                else if (strcmp(a, "--user") == 0)
                        vm->user = argv[++i];
                else if (strcmp(a, "--pid") == 0)
                        *pid = (pid_t)atoi(argv[++i]);
                else
                        die("unknown option %s", a);
        }
        return i;
}

int main(int argc, char **argv)
{
        struct vm opts = {0};
        pid_t pid = 0;

        if (argc < 2)
                die("usage: floor start|quit|kill OPTIONS (see the comment at the top of floor.c)");
        if (strcmp(argv[1], "start") == 0) {
                bool sequential = argc > 2 && strcmp(argv[2], "--sequential") == 0;
                for (int i = sequential ? 3 : 2; i < argc;) {
                        if (n_vms == MAX_VMS)
                                die("too many VMs");
                        struct vm *vm = &vms[n_vms];
                        i = parse_vm(argc, argv, i, vm, &pid);
                        if (!vm->qmp_path || !vm->qemu_argv || !vm->qemu_argv[0])
                                die("start needs --qmp and -- QEMU-ARGV for each VM");
                        n_vms++;
                }
                if (n_vms == 0)
                        die("start needs --qmp and -- QEMU-ARGV");
                return cmd_start(sequential);
        }
        parse_vm(argc, argv, 2, &opts, &pid);
        if (strcmp(argv[1], "quit") == 0) {
                if (!opts.qmp_path || pid <= 0)
                        die("quit needs --qmp and --pid");
                return cmd_quit(opts.qmp_path, pid);
        }
        if (strcmp(argv[1], "kill") == 0) {
                pid_t pids[MAX_VMS];
                int n = 0;
                for (int i = 2; i + 1 < argc; i += 2)
                        if (strcmp(argv[i], "--pid") == 0 && n < MAX_VMS && (pids[n] = (pid_t)atoi(argv[i + 1])) > 0)
                                n++;
                if (n == 0)
                        die("kill needs --pid");
                return cmd_kill(pids, n);
        }
        die("unknown command %s", argv[1]);
}
