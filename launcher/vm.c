/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "affinity.h"
#include "cleanup.h"
#include "drift.h"
#include "log.h"
#include "prealloc-progress.h"
#include "runtime.h"
#include "spawn.h"
#include "spawner.h"

const char *vx_vm_state_to_string(enum vx_vm_state s)
{
        static const char *const names[] = {
                [VX_VM_STOPPED] = "stopped",    [VX_VM_RUNNING] = "running", [VX_VM_STOPPING] = "stopping",
                [VX_VM_BACKOFF] = "restarting", [VX_VM_FAILED] = "failed",   [VX_VM_STARTING] = "starting",
                [VX_VM_WAITING] = "waiting",
        };
        return s < ELEMENTSOF(names) ? names[s] : "unknown";
}

const char *vx_vm_stage_to_string(enum vx_vm_stage s)
{
        static const char *const names[] = {
                [VX_STAGE_CREATED] = "created",
                [VX_STAGE_PINNED] = "pinned",
                [VX_STAGE_RUNNING] = "running",
                [VX_STAGE_READY] = "ready",
        };
        return (size_t)s < ELEMENTSOF(names) ? names[s] : NULL;
}

static int64_t now_usec(void);

void vm_reached(struct vx_vm_instance *inst, enum vx_vm_stage stage)
{
        if (stage == VX_STAGE_CREATED)
                memset(inst->stage_usec, 0, sizeof(inst->stage_usec)); /* a new QEMU starts over */
        inst->stage_usec[stage] = now_usec();
        if (stage == VX_STAGE_READY)
                inst->ready = true;
}

static int64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * The QMP socket is created here, not by QEMU, so there is no window where
 * we wait for a file to appear: connect() succeeds as soon as it listens,
 * and QEMU answers once it runs its main loop.
 */
static int make_listening_socket(const char *path, int *ret_fd)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void)unlink(path); /* a stale socket of a dead QEMU */
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int open_log(const char *vm_dir, int *ret_fd)
{
        _cleanup_free_ char *path = NULL;
        int fd;

        if (asprintf(&path, "%s/qemu.log", vm_dir) < 0)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

/* The last lines QEMU wrote, so a failed start says what QEMU said. */
static char *log_tail(const char *vm_dir)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        char buf[2048];
        ssize_t n;
        off_t size;
        char *start;

        if (asprintf(&path, "%s/qemu.log", vm_dir) < 0)
                return NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        size = lseek(fd, 0, SEEK_END);
        if (size < 0 || lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0, SEEK_SET) < 0)
                return NULL;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return NULL;
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = '\0';
        start = buf;
        if ((size_t)size >= sizeof(buf)) {
                char *nl = strchr(buf, '\n'); /* drop the partial first line */
                if (nl)
                        start = nl + 1;
        }
        return strdup(start);
}

/* "2026-12-01T11:51:38.019522Z qemu-system-x86_64: ..." (-msg timestamp=on): the message without its time. */
static const char *skip_timestamp(const char *line)
{
        const char *z = strchr(line, 'Z');

        if (strlen(line) > 20 && line[4] == '-' && line[10] == 'T' && z && z[1] == ' ' && z - line < 40)
                return z + 2;
        return line;
}

/*
 * Why a start failed, QEMU's own words first: a QEMU that exits before QMP
 * answers says why on stderr (its log), and "Connection reset" is only the
 * consequence.
 */
static void set_last_error(struct vx_vm_instance *inst, int r, const char *what)
{
        _cleanup_free_ char *tail = log_tail(inst->plan->runtime_dir);
        const char *said = tail ? skip_timestamp(tail) : NULL;

        free(inst->last_error);
        if ((said ? asprintf(&inst->last_error, "%s (%s: %s)", said, what, strerror(-r))
                  : asprintf(&inst->last_error, "%s: %s", what, strerror(-r))) < 0)
                inst->last_error = NULL;
        /* The step that failed is logged after this; what QEMU wrote is the cause. */
        if (said)
                log_error("%s: %s", inst->plan->name, said);
}

int vm_read_start_ticks(pid_t pid, unsigned long long *ret)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char buf[4096];
        const char *p;
        size_t n;

        if (asprintf(&path, "/proc/%d/stat", (int)pid) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? -ESRCH : -errno;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        p = strrchr(buf, ')');
        /* Field 22 is starttime; after ')' come fields 3.. */
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                         ret) != 1)
                return -EBADMSG;
        return 0;
}

/*
 * QEMU's cpu-index of a vCPU as reported. Where QEMU gives the topology ids
 * (socket, die, core, thread), the index is computed from them and the
 * plan's topology, as x86 numbers CPUs; it must agree with cpu-index.
 */
static int vcpu_index(const struct vx_vm_instance *inst, const struct vx_qmp_vcpu *c, size_t *ret)
{
        const struct vx_plan_topology *t = &inst->plan->topology;
        const struct vx_qmp_cpu_props *p = &c->props;

        if (p->socket_id >= 0 && p->core_id >= 0 && p->thread_id >= 0) {
                unsigned die = p->die_id >= 0 ? (unsigned)p->die_id : 0;
                size_t idx = (((size_t)p->socket_id * t->dies + die) * t->cores + (size_t)p->core_id) * t->threads +
                             (size_t)p->thread_id;

                if (idx != (size_t)c->cpu_index)
                        return -EPROTO;
        }
        *ret = (size_t)c->cpu_index;
        return 0;
}

/*
 * The thread of each planned vCPU, by cpu-index (not by the reply's order).
 * Returns 0 and a malloc'd array of n_vcpus thread ids, or -EPROTO when
 * QEMU's answer does not match the plan (logged).
 */
static int vcpu_threads(const struct vx_vm_instance *inst, pid_t **ret)
{
        const struct vx_vm_plan *vp = inst->plan;
        size_t n = vp->topology.vcpus;
        _cleanup_free_ pid_t *tids = calloc(n ? n : 1, sizeof(pid_t));

        if (!tids)
                return log_error_errno(-ENOMEM, "Out of memory.");
        if (inst->n_vcpus != n)
                return log_error_errno(-EPROTO, "%s: QEMU reports %zu vCPUs, the plan has %zu.", vp->name,
                                       inst->n_vcpus, n);
        for (size_t i = 0; i < inst->n_vcpus; i++) {
                size_t idx;

                if (vcpu_index(inst, &inst->vcpus[i], &idx) < 0)
                        return log_error_errno(-EPROTO,
                                               "%s: vCPU thread %d: cpu-index %d does not match its "
                                               "socket/core/thread ids for the plan's topology.",
                                               vp->name, (int)inst->vcpus[i].thread_id, inst->vcpus[i].cpu_index);
                if (idx >= n || tids[idx] != 0)
                        return log_error_errno(-EPROTO, "%s: QEMU reports cpu-index %zu %s.", vp->name, idx,
                                               idx >= n ? "beyond the plan's vCPUs" : "twice");
                tids[idx] = inst->vcpus[i].thread_id;
        }
        *ret = TAKE_PTR(tids);
        return 0;
}

static bool is_vcpu_thread(const struct vx_vm_instance *inst, pid_t tid)
{
        for (size_t i = 0; i < inst->n_vcpus; i++)
                if (inst->vcpus[i].thread_id == tid)
                        return true;
        return false;
}

int vm_pin(struct vx_vm_instance *inst)
{
        const struct vx_plan_pinning *pin = vm_pinning(inst);
        const char *name = inst->plan->name;
        _cleanup_free_ pid_t *tids = NULL, *vcpu_tids = NULL;
        size_t n_tids = 0;
        int r;

        if (pin->core_scheduling) {
                /* pinning.core-scheduling: no other VM's thread on a core of ours at the same time. */
                r = affinity_core_cookie(inst->pid);
                if (r == -EOPNOTSUPP)
                        log_info("%s: pinning.core-scheduling: this kernel has no core scheduling (PR_SCHED_CORE, "
                                 "CONFIG_SCHED_CORE and SMT); skipped.",
                                 name);
                else if (r < 0)
                        return log_error_errno(r, "%s: failed to give QEMU a core-scheduling cookie: %m", name);
        }
        if (pin->n_vcpus > 0) {
                r = vcpu_threads(inst, &vcpu_tids);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < pin->n_vcpus; i++) {
                r = affinity_set(vcpu_tids[i], &pin->vcpus[i]);
                if (r < 0) {
                        _cleanup_free_ char *list = vx_cpuset_format(&pin->vcpus[i]);
                        return log_error_errno(r, "%s: failed to pin vCPU %zu (thread %d) to CPUs %s: %m", name, i,
                                               (int)vcpu_tids[i], list ?: "?");
                }
        }
        if (!pin->has_emulator)
                return 0;

        /* New threads inherit the emulator set from the main thread; re-pin the ones that exist. */
        r = affinity_list_threads(NULL, inst->pid, &tids, &n_tids);
        if (r < 0)
                return log_error_errno(r, "%s: failed to list QEMU's threads: %m", name);
        for (size_t i = 0; i < n_tids; i++) {
                if (pin->n_vcpus > 0 && is_vcpu_thread(inst, tids[i]))
                        continue;
                r = affinity_set(tids[i], &pin->emulator);
                if (r < 0 && r != -ESRCH) /* a thread that just ended needs no pinning */
                        return log_error_errno(r, "%s: failed to pin emulator thread %d: %m", name, (int)tids[i]);
        }
        free(inst->known_tids);
        inst->known_tids = TAKE_PTR(tids);
        inst->n_known_tids = n_tids;
        return 0;
}

static bool is_known_thread(const struct vx_vm_instance *inst, pid_t tid)
{
        for (size_t i = 0; i < inst->n_known_tids; i++)
                if (inst->known_tids[i] == tid)
                        return true;
        return false;
}

/* The thread's name (/proc/<pid>/task/<tid>/comm), for the log; "?" when it cannot be read. */
static void thread_comm(pid_t pid, pid_t tid, char *buf, size_t size)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;

        snprintf(buf, size, "?");
        if (asprintf(&path, "/proc/%d/task/%d/comm", (int)pid, (int)tid) < 0 || !(f = fopen(path, "re")) ||
            !fgets(buf, (int)size, f))
                return;
        buf[strcspn(buf, "\n")] = '\0';
}

int vm_pin_new_threads(struct vx_vm_instance *inst)
{
        const struct vx_plan_pinning *pin = vm_pinning(inst);
        _cleanup_free_ pid_t *tids = NULL;
        size_t n_tids = 0;
        int moved = 0, r;

        if (inst->pid <= 0 || inst->state != VX_VM_RUNNING || !pin->has_emulator)
                return 0;
        r = affinity_list_threads(NULL, inst->pid, &tids, &n_tids);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_tids; i++) {
                struct vx_cpuset cur;
                char comm[32];

                if (is_known_thread(inst, tids[i]) || is_vcpu_thread(inst, tids[i]))
                        continue;
                /* A thread inherits its creator's CPUs: one a vCPU thread made runs where that vCPU does. */
                if (affinity_get(tids[i], &cur) >= 0 && vx_cpuset_equal(&cur, &pin->emulator))
                        continue;
                r = affinity_set(tids[i], &pin->emulator);
                if (r == -ESRCH)
                        continue;
                thread_comm(inst->pid, tids[i], comm, sizeof(comm));
                if (r < 0) {
                        log_warning_errno(r, "%s: failed to pin new QEMU thread %d (%s) to the emulator CPUs: %m",
                                          inst->plan->name, (int)tids[i], comm);
                        continue;
                }
                _cleanup_free_ char *list = vx_cpuset_format(&pin->emulator);
                log_info("%s: new QEMU thread %d (%s) pinned to the emulator CPUs %s.", inst->plan->name, (int)tids[i],
                         comm, list ?: "?");
                moved++;
        }
        free(inst->known_tids);
        inst->known_tids = TAKE_PTR(tids);
        inst->n_known_tids = n_tids;
        return moved;
}

const struct vx_plan_pinning *vm_pinning(const struct vx_vm_instance *inst)
{
        return inst->pin_live ? inst->pin_live : &inst->plan->pinning;
}

bool vm_has_ready_condition(const struct vx_vm_plan *vp)
{
        return vp->vm->ready.console_pattern || vp->vm->ready.qmp_status || vp->vm->ready.link;
}

struct vx_plan_pinning *vm_pinning_free(struct vx_plan_pinning *p)
{
        if (p)
                free(p->vcpus);
        free(p);
        return NULL;
}

int vm_repin(struct vx_vm_instance *inst, int vcpu, const struct vx_cpuset *cpus)
{
        const struct vx_plan_pinning *cur = vm_pinning(inst);
        size_t n = inst->plan->topology.vcpus;
        struct vx_plan_pinning *next, *old;
        int r;

        if (vcpu >= (int)n || vcpu < -1)
                return -ERANGE;
        next = calloc(1, sizeof(*next));
        if (!next || !(next->vcpus = calloc(n ? n : 1, sizeof(*next->vcpus))))
                return vm_pinning_free(next), log_error_errno(-ENOMEM, "Out of memory.");
        next->n_vcpus = vcpu >= 0 || cur->n_vcpus > 0 ? n : 0;
        /* vCPUs the plan leaves unpinned keep the CPUs they may run on now. */
        for (size_t i = 0; i < next->n_vcpus; i++)
                if (i < cur->n_vcpus)
                        next->vcpus[i] = cur->vcpus[i];
                else if (affinity_get(0, &next->vcpus[i]) < 0)
                        return vm_pinning_free(next), log_error_errno(-errno, "Failed to read our CPU set: %m");
        next->has_emulator = cur->has_emulator || vcpu < 0;
        next->emulator = cur->emulator;
        if (vcpu >= 0)
                next->vcpus[vcpu] = *cpus;
        else
                next->emulator = *cpus;
        old = inst->pin_live;
        inst->pin_live = next;
        r = vm_pin(inst);
        if (r < 0) {
                inst->pin_live = old;
                vm_pinning_free(next);
                (void)vm_pin(inst); /* as it was */
                return r;
        }
        vm_pinning_free(old);
        return 0;
}

int vm_pin_repair(struct vx_vm_instance *inst)
{
        const struct vx_plan_pinning *pin = vm_pinning(inst);
        _cleanup_free_ pid_t *tids = NULL;
        size_t n_tids = 0, drifted = 0;
        bool report = inst->plan->vm->pinning.drift == VX_PIN_DRIFT_REPORT;
        struct vx_cpuset cur;
        int r;

        if (inst->pid <= 0 || (pin->n_vcpus == 0 && !pin->has_emulator))
                return 0;
        r = affinity_list_threads(NULL, inst->pid, &tids, &n_tids);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_tids; i++) {
                const struct vx_cpuset *want = pin->has_emulator ? &pin->emulator : NULL;

                for (size_t k = 0; k < inst->n_vcpus; k++)
                        if (inst->vcpus[k].thread_id == tids[i])
                                want = (size_t)inst->vcpus[k].cpu_index < pin->n_vcpus
                                               ? &pin->vcpus[inst->vcpus[k].cpu_index]
                                               : NULL;
                if (want && affinity_get(tids[i], &cur) >= 0 && !vx_cpuset_equal(&cur, want)) {
                        _cleanup_free_ char *c = vx_cpuset_format(&cur), *w = vx_cpuset_format(want);

                        if (!report)
                                log_warning("%s: thread %d runs on CPUs %s, the plan says %s: pinning it again.",
                                            inst->plan->name, (int)tids[i], c ?: "?", w ?: "?");
                        drifted++;
                }
        }
        if (report) {
                /* Said once per change, not on every status that still sees it. */
                if (drifted != inst->pin_drift_reported && drifted > 0)
                        log_warning("%s: %zu thread(s) off their planned CPUs; pinning.drift: report leaves them.",
                                    inst->plan->name, drifted);
                inst->pin_drift_reported = drifted;
                return 0;
        }
        if (drifted == 0)
                return 0;
        r = vm_pin(inst);
        if (r < 0)
                return r;
        inst->pin_repairs++;
        return (int)drifted;
}

/* Reads the vCPU threads; QEMU must be paused (-S) or running. */
static int read_vcpus(struct vx_vm_instance *inst)
{
        _cleanup_(qmp_error_done) struct vx_qmp_error err = {0};
        struct vx_qmp_vcpu *vcpus = NULL;
        size_t n = 0;
        int r;

        r = qmp_query_vcpus(inst->qmp, VX_QMP_COMMAND_TIMEOUT_MS, &vcpus, &n, &err);
        if (r == -EREMOTEIO)
                return log_error_errno(r, "%s: query-cpus-fast failed: %s", inst->plan->name, err.desc);
        if (r < 0)
                return log_error_errno(r, "%s: failed to read vCPU threads over QMP: %m", inst->plan->name);
        free(inst->vcpus);
        inst->vcpus = vcpus;
        inst->n_vcpus = n;
        return 0;
}

static int run_and_check(struct vx_vm_instance *inst)
{
        _cleanup_(qmp_error_done) struct vx_qmp_error err = {0};
        _cleanup_free_ char *status = NULL;
        json_t *result = NULL;
        bool running = false;
        int r;

        r = qmp_execute(inst->qmp, "cont", NULL, VX_QMP_COMMAND_TIMEOUT_MS, &result, &err);
        json_decref(result);
        if (r < 0)
                return log_error_errno(r, "%s: cont failed: %s", inst->plan->name,
                                       r == -EREMOTEIO ? err.desc : strerror(-r));
        r = qmp_query_status(inst->qmp, VX_QMP_COMMAND_TIMEOUT_MS, &status, &running, NULL);
        if (r < 0)
                return log_error_errno(r, "%s: query-status failed: %m", inst->plan->name);
        if (!running)
                return log_error_errno(-EPROTO, "%s: QEMU is '%s' after cont, not running.", inst->plan->name, status);
        return 0;
}

static int spawn_paused(struct vx_vm_instance *inst, int qmp_listen_fd, int log_fd, const int *fds)
{
        const struct vx_vm_plan *vp = inst->plan;
        _cleanup_free_ struct vx_spawn_fd *keep = calloc(vp->n_fds ? vp->n_fds : 1, sizeof(*keep));
        struct vx_spawn_options opts = {
                .log_fd = log_fd,
                .drop_capabilities = true,
                .user = inst->qemu_user && inst->qemu_user->uid != 0 ? inst->qemu_user : NULL,
                .memlock_bytes = vp->memlock_bytes,
                .affinity = vm_pinning(inst)->has_emulator ? &vm_pinning(inst)->emulator : NULL,
        };
        int pidfd, r;
        pid_t pid;

        if (!keep)
                return -ENOMEM;
        /* Exactly the plan's fd table: each entry's fd at its number. */
        for (size_t i = 0; i < vp->n_fds; i++) {
                keep[i].target = vp->fds[i].number;
                keep[i].fd = vp->fds[i].kind == VX_PLAN_FD_QMP ? qmp_listen_fd : (fds ? fds[i] : -EBADF);
                if (keep[i].fd < 0)
                        return log_error_errno(-EINVAL, "%s: no fd for %s (fd %d).", vp->name, vp->fds[i].object,
                                               vp->fds[i].number);
        }
        opts.fds = keep;
        opts.n_fds = vp->n_fds;

        log_debug("%s: starting %s", vp->name, vp->argv.items[0]);
        r = spawner_spawn(vp->argv.items, &opts, &pid, &pidfd);
        if (r < 0)
                return log_error_errno(r, "%s: failed to start QEMU: %m", vp->name);
        inst->pid = pid;
        inst->pidfd = pidfd;
        inst->is_child = true;
        inst->started_usec = now_usec();
        (void)vm_read_start_ticks(pid, &inst->start_ticks);
        return 0;
}

/* Unwinds a half-started QEMU: kill it, remove its runtime dir, remember why. */
static int fail_start(struct vx_vm_instance *inst, int r)
{
        set_last_error(inst, r, "start failed");
        vm_kill(inst);
        runtime_remove_vm_dir(inst->plan->runtime_dir);
        inst->state = VX_VM_FAILED;
        return r;
}

static int spawn_steps(struct vx_vm_instance *inst, const int *fds)
{
        const struct vx_vm_plan *vp = inst->plan;
        _cleanup_close_ int listen_fd = -EBADF, log_fd = -EBADF;
        int r;

        r = runtime_mkdir(vp->runtime_dir);
        if (r < 0)
                return log_error_errno(r, "%s: failed to create %s: %m", vp->name, vp->runtime_dir);
        /* QEMU as its own user creates its console socket and log here: root's dir, QEMU's group. */
        if (inst->qemu_user && inst->qemu_user->uid != 0 &&
            (chown(vp->runtime_dir, 0, inst->qemu_user->gid) < 0 || chmod(vp->runtime_dir, 0770) < 0))
                return log_error_errno(-errno, "%s: failed to let QEMU's user into %s: %m", vp->name, vp->runtime_dir);
        r = open_log(vp->runtime_dir, &log_fd);
        if (r < 0)
                return log_error_errno(r, "%s: failed to open the QEMU log: %m", vp->name);
        r = make_listening_socket(vp->qmp_path, &listen_fd);
        if (r < 0)
                return log_error_errno(r, "%s: failed to create QMP socket %s: %m", vp->name, vp->qmp_path);
        /* Once QEMU holds the listening socket, ours closes: if QEMU dies, a connection is reset at once. */
        return spawn_paused(inst, listen_fd, log_fd, fds);
}

int vm_spawn(struct vx_vm_instance *inst, const int *fds)
{
        int r;

        inst->ready = !vm_has_ready_condition(inst->plan);
        inst->guest_shutdown = false;
        r = spawn_steps(inst, fds);
        if (r < 0)
                return fail_start(inst, r);
        inst->state = VX_VM_STARTING;
        vm_reached(inst, VX_STAGE_CREATED);
        return 0;
}

static int attach_steps(struct vx_vm_instance *inst, bool *ret_qmp_failed)
{
        const struct vx_vm_plan *vp = inst->plan;
        struct vx_prealloc_progress *progress = NULL;
        int r;

        /* QEMU greets once its memory is preallocated: the wait scales with it, and a terminal sees it go. */
        if (vp->prealloc_hugetlb && prealloc_progress_start(vp->name, inst->pid, vp->prealloc_bytes, &progress) < 0)
                progress = NULL;
        r = qmp_connect_path(vp->qmp_path, plan_greeting_timeout_ms(vp), &inst->qmp);
        prealloc_progress_stop(progress);
        if (r < 0) {
                /* Logged by vm_attach, after what QEMU said. */
                *ret_qmp_failed = true;
                return r;
        }
        r = read_vcpus(inst);
        if (r < 0)
                return r;
        r = vm_pin(inst);
        if (r < 0)
                return r;
        vm_reached(inst, VX_STAGE_PINNED);
        r = run_and_check(inst);
        if (r < 0)
                return r;
        vm_reached(inst, VX_STAGE_RUNNING);
        if (inst->ready) /* no readiness condition: running is ready */
                vm_reached(inst, VX_STAGE_READY);
        return 0;
}

int vm_attach(struct vx_vm_instance *inst)
{
        bool qmp_failed = false;
        int r;

        r = attach_steps(inst, &qmp_failed);
        if (r < 0) {
                r = fail_start(inst, r);
                if (qmp_failed)
                        log_error_errno(r, "%s: QEMU did not answer on QMP (%m).", inst->plan->name);
                return r;
        }
        inst->state = VX_VM_RUNNING;
        free(inst->last_error);
        inst->last_error = NULL;
        return 0;
}

int vm_start(struct vx_vm_instance *inst, const int *fds)
{
        int r;

        r = vm_spawn(inst, fds);
        if (r < 0)
                return r;
        return vm_attach(inst);
}

static int check_is_our_qemu(const struct vx_vm_instance *inst, pid_t pid)
{
        _cleanup_free_ char *want = NULL, *buf = NULL;
        _cleanup_free_ char **argv = NULL;
        size_t n = 0;

        if (asprintf(&want, "guest=%s,", inst->plan->name) < 0)
                return -ENOMEM;
        if (vm_read_cmdline(pid, &buf, &argv, &n) < 0)
                return -ESRCH;
        for (size_t i = 0; i < n; i++)
                if (strncmp(argv[i], want, strlen(want)) == 0)
                        return 0;
        return -ESRCH;
}

int vm_adopt(struct vx_vm_instance *inst, pid_t pid, unsigned long long start_ticks)
{
        const struct vx_vm_plan *vp = inst->plan;
        unsigned long long ticks = 0;
        int pidfd, r;

        r = vm_read_start_ticks(pid, &ticks);
        if (r < 0)
                return r;
        if (ticks != start_ticks || check_is_our_qemu(inst, pid) < 0)
                return -ESRCH; /* the pid now names another process */
        pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return errno == ESRCH ? -ESRCH : -errno;
        inst->pid = pid;
        inst->pidfd = pidfd;
        inst->is_child = false;
        inst->start_ticks = ticks;

        r = qmp_connect_path(vp->qmp_path, VX_QMP_GREETING_TIMEOUT_MS, &inst->qmp);
        if (r < 0)
                return log_error_errno(r, "%s: failed to reconnect QMP of pid %d: %m", vp->name, (int)pid);
        r = read_vcpus(inst);
        if (r >= 0)
                r = vm_pin(inst);
        if (r < 0)
                return r;
        inst->state = VX_VM_RUNNING;
        return 0;
}

void vm_kill(struct vx_vm_instance *inst)
{
        if (inst->pidfd >= 0)
                (void)syscall(SYS_pidfd_send_signal, inst->pidfd, SIGKILL, NULL, 0);
        else if (inst->pid > 0)
                (void)kill(inst->pid, SIGKILL);
        (void)vm_reap(inst);
}

int vm_reap(struct vx_vm_instance *inst)
{
        int status = -1;

        if (inst->pid > 0 && inst->is_child)
                status = spawner_reap(inst->pid); /* ours or the spawner's child: whoever started it waits */
        if (status < 0 && inst->pidfd >= 0) {
                /* Not our child (or its spawner is gone): its pidfd turns readable once it is gone. */
                struct pollfd p = {.fd = inst->pidfd, .events = POLLIN};
                (void)poll(&p, 1, 5000);
        }
        inst->pid = 0;
        inst->pidfd = safe_close(inst->pidfd);
        inst->qmp = qmp_free(inst->qmp);
        return status;
}

int vm_read_cmdline(pid_t pid, char **ret_buf, char ***ret_argv, size_t *ret_n)
{
        _cleanup_free_ char *path = NULL, *buf = NULL;
        _cleanup_free_ char **argv = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t len = 0, cap = 0, n = 0, got;

        if (asprintf(&path, "/proc/%d/cmdline", (int)pid) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? -ESRCH : -errno;
        do {
                char *b;

                if (len + 4096 + 1 > cap) {
                        cap = (len + 4096 + 1) * 2;
                        b = realloc(buf, cap);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                got = fread(buf + len, 1, 4096, f);
                len += got;
        } while (got > 0);
        if (ferror(f))
                return -EIO;
        buf[len] = '\0';
        argv = calloc(len + 1, sizeof(*argv));
        if (!argv)
                return -ENOMEM;
        for (size_t off = 0; off < len; off += strlen(buf + off) + 1)
                argv[n++] = buf + off;
        *ret_buf = TAKE_PTR(buf);
        *ret_argv = TAKE_PTR(argv);
        *ret_n = n;
        return 0;
}

void vm_instance_done(struct vx_vm_instance *inst)
{
        inst->pin_live = vm_pinning_free(inst->pin_live);
        inst->argv_drift = drift_free(inst->argv_drift);
        inst->qmp = qmp_free(inst->qmp);
        inst->pidfd = safe_close(inst->pidfd);
        free(inst->vcpus);
        free(inst->last_error);
        free(inst->waiting_for);
        free(inst->known_tids);
        inst->vcpus = NULL;
        inst->last_error = NULL;
        inst->waiting_for = NULL;
        inst->known_tids = NULL;
        inst->n_known_tids = 0;
}
