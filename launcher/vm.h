/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One running VM: start QEMU paused, read its vCPU threads over QMP, pin
 * them, let the guest run; or adopt a QEMU that a previous supervisor left
 * running. The supervisor owns a struct vx_vm_instance per VM of the plan.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "plan.h"
#include "qmp.h"
#include "users.h"

enum vx_vm_state {
        VX_VM_STOPPED,  /* not running (never started, stopped, or gave up restarting) */
        VX_VM_RUNNING,  /* QEMU runs and the guest was let go (cont) */
        VX_VM_STOPPING, /* a stop was asked: powerdown sent, waiting for QEMU to exit */
        VX_VM_BACKOFF,  /* QEMU died; waiting before the restart */
        VX_VM_FAILED,   /* QEMU died and the restart policy gave up */
        VX_VM_STARTING, /* QEMU was spawned paused; vm_attach() has not run yet */
        VX_VM_WAITING, /* to be started once the VM it starts after runs or is ready (after:), or a restart's turn comes */
};

/* The stages of one QEMU's start, in order (status shows when each was reached). */
enum vx_vm_stage {
        VX_STAGE_CREATED, /* "created": QEMU spawned, paused (-S) */
        VX_STAGE_PINNED,  /* "pinned": its vCPU and emulator threads pinned */
        VX_STAGE_RUNNING, /* "running": cont sent, QEMU says running; "booting" until ready */
        VX_STAGE_READY,   /* "ready": its readiness condition held (console pattern, run state) */
        _VX_STAGE_MAX,
};

struct vx_vm_instance {
        const struct vx_vm_plan *plan;
        enum vx_vm_state state;
        pid_t pid;               /* 0 when not running */
        int pidfd;               /* -EBADF when not running */
        bool is_child;           /* false for an adopted QEMU: waitpid() does not apply */
        unsigned long long start_ticks; /* /proc/<pid>/stat starttime: tells a pid reused by another process */
        struct vx_qmp *qmp;      /* the supervisor's QMP connection */
        struct vx_qmp_vcpu *vcpus;
        size_t n_vcpus;
        int64_t started_usec;    /* CLOCK_REALTIME at start */
        unsigned restarts;       /* restarts since the supervisor started the VM */
        bool ready;              /* the readiness pattern was seen (or none is asked for) */
        bool guest_shutdown;     /* QEMU reported a SHUTDOWN the guest asked for */
        char *last_error;        /* why the last start or run failed, for status */
        const struct vx_user *qemu_user; /* who QEMU runs as; NULL or uid 0: root, with no capabilities */
        unsigned pin_repairs;            /* times a drifted pinning was put back (vm_pin_repair) */
        size_t pin_drift_reported;       /* pinning.drift: report: the drifted threads last logged */
        char **argv_drift; /* adopted: how its command line differs from the profile's now (drift.h); NULL: none */
        struct vx_plan_pinning
                *pin_live; /* the pinning `vmxrun pin` set (kept across QEMU restarts); NULL: the plan's */
        int64_t stage_usec[_VX_STAGE_MAX]; /* CLOCK_REALTIME when the current QEMU reached each stage; 0: not yet */
        char *waiting_for; /* what it waits for (a VM it starts after, a readiness condition), for status; NULL: nothing */
        pid_t *known_tids; /* QEMU's threads when last pinned: a thread not among them is new (vm_pin_new_threads) */
        size_t n_known_tids;
};

/* Timeouts for the steps of a start, in milliseconds. */
#define VX_QMP_GREETING_TIMEOUT_MS 30000
#define VX_QMP_COMMAND_TIMEOUT_MS 10000
/*
 * What status and stop wait for QEMU's answer before they call it
 * unresponsive (SIGSTOPped, hung): status never blocks the supervisor, or
 * the user, longer than this per VM, and stop moves on to quit and SIGKILL.
 */
#define VX_QMP_UNRESPONSIVE_MS 2000

/*
 * Starts QEMU for inst->plan: vm_spawn() then vm_attach(). fds has one slot
 * per entry of the plan's fd table (what apply_vm() opened; the QMP slot is
 * ignored: the socket is created here), or is NULL when the table has only
 * QMP. QEMU inherits exactly that table. On failure QEMU is killed, its
 * runtime dir removed, the reason logged (with the end of QEMU's log) and
 * stored in inst->last_error. Returns 0 or -errno.
 */
int vm_start(struct vx_vm_instance *inst, const int *fds);

/*
 * The first half of a start, which returns at once: runtime dir, QMP
 * listening socket (created here and passed as fd 3), log file, exec of QEMU
 * with -S. QEMU then initialises on its own (tens of milliseconds), so
 * several VMs can be spawned before any is attached. Same failure contract as
 * vm_start(). Returns 0 or -errno.
 */
int vm_spawn(struct vx_vm_instance *inst, const int *fds);

/*
 * The second half: QMP handshake, vCPU threads, pinning, cont, check that it
 * runs. Same failure contract as vm_start(). Returns 0 or -errno.
 */
int vm_attach(struct vx_vm_instance *inst);

/*
 * Pins each vCPU thread to its CPU list and every other thread to the
 * emulator set, as the plan says. vCPU i is the thread QEMU reports with
 * cpu-index i (checked against its socket/core/thread ids where QEMU gives
 * them), whatever the order of its reply. Returns 0 or -errno (a pinning
 * failure is an error: a VM that runs unpinned is not what was asked for;
 * -EPROTO when QEMU's vCPUs do not match the plan).
 */
int vm_pin(struct vx_vm_instance *inst);

/*
 * Pins the threads QEMU created since the last look (an iothread from
 * object-add, a vhost worker, a thread pool's worker) to the emulator set,
 * and logs each. Called on the supervisor's existing wake-ups for the VM
 * (a QMP event, a command passed through), so it costs no wake-up of its
 * own. Returns the number of new threads it had to move, or -errno.
 */
int vm_pin_new_threads(struct vx_vm_instance *inst);

/* Frees a pinning allocated as vm_repin() does (vcpus and the struct). Accepts NULL. */
struct vx_plan_pinning *vm_pinning_free(struct vx_plan_pinning *p);

/* Whether the VM has a readiness condition (ready.console, ready.qmp-status, ready.link); without one, running is ready. */
bool vm_has_ready_condition(const struct vx_vm_plan *vp);

/* The pinning in force: what `vmxrun pin` set, else the plan's. */
const struct vx_plan_pinning *vm_pinning(const struct vx_vm_instance *inst);

/*
 * `vmxrun pin`, like `virsh vcpupin --live`: pins vCPU vcpu (QEMU's
 * cpu-index), or with vcpu -1 the emulator threads, to cpus now, and keeps
 * that for the VM's later restarts. Returns 0, -ERANGE for no such vCPU,
 * -EINVAL when cpus holds no CPU the kernel lets it run on, or -errno
 * (logged; the pinning is as it was).
 */
int vm_repin(struct vx_vm_instance *inst, int vcpu, const struct vx_cpuset *cpus);

/*
 * Reads every thread's affinity back and compares it with the plan: a vCPU
 * or emulator thread that drifted (someone ran taskset on it, a new thread
 * was not pinned) is pinned again, logged, and counted in inst->pin_repairs;
 * with pinning.drift: report it is only logged (once per change) and left.
 * Returns the number of threads that had drifted, or -errno.
 */
int vm_pin_repair(struct vx_vm_instance *inst);

/*
 * Takes over a QEMU that a previous supervisor started: checks that pid is
 * still that QEMU (start time, -name), opens a pidfd, reconnects QMP and
 * re-reads and re-applies the pinning. Returns 0, -ESRCH when it is gone,
 * or -errno.
 */
int vm_adopt(struct vx_vm_instance *inst, pid_t pid, unsigned long long start_ticks);

/*
 * The command line of process pid: one buffer (free) and an array of
 * pointers into it (free) of *ret_n words. Returns 0, -ESRCH or -errno.
 */
int vm_read_cmdline(pid_t pid, char **ret_buf, char ***ret_argv, size_t *ret_n);

/* Kills QEMU with SIGKILL and reaps it if it is ours. Safe on a stopped VM. */
void vm_kill(struct vx_vm_instance *inst);

/*
 * Forgets the process after it exited (closes pidfd and QMP; reaps a child).
 * Returns the wait status for a child, or -1 when unknown (adopted).
 */
int vm_reap(struct vx_vm_instance *inst);

/* Reads /proc/<pid>/stat field 22 (start time in clock ticks). Returns 0 or -errno. */
int vm_read_start_ticks(pid_t pid, unsigned long long *ret);

void vm_instance_done(struct vx_vm_instance *inst);

const char *vx_vm_state_to_string(enum vx_vm_state s);

/* Records that the current QEMU reached stage now (and, for ready, sets inst->ready). */
void vm_reached(struct vx_vm_instance *inst, enum vx_vm_stage stage);

/* "created", "pinned", "running", "ready"; NULL out of range. */
const char *vx_vm_stage_to_string(enum vx_vm_stage s);
