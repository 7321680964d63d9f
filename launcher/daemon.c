/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Running the supervisor: in the foreground (for systemd or a terminal) or as
 * a daemon that reports back once the start is over, and finding the
 * supervisor of a deployment again (adopting VMs when the last one died).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "control.h"
#include "launcher.h"
#include "leftovers.h"
#include "log.h"
#include "privileges.h"
#include "runtime.h"
#include "spawner.h"
#include "state.h"
#include "supervisor.h"
#include "syscall-filter.h"

/* Past this size the log becomes <deployment>.log.1 (the one before goes) when a supervisor starts. */
#define VX_LOG_ROTATE_BYTES (UINT64_C(1) << 20)

/*
 * The deployment's log, which outlives the runtime dir a stop removes:
 * $VMXRUN_LOG_DIR (default /var/log/vmxrun)/<deployment>.log, timestamped
 * lines, rotated by size. Where that directory cannot be made, the runtime
 * dir's supervisor.log, as before. Returns an fd or -errno.
 */
static int open_log(const char *deployment_dir)
{
        const char *dir = getenv("VMXRUN_LOG_DIR") ?: "/var/log/vmxrun", *name = strrchr(deployment_dir, '/');
        _cleanup_free_ char *path = NULL, *old = NULL;
        struct stat st;
        int fd;

        name = name ? name + 1 : deployment_dir;
        if ((mkdir(dir, 0750) >= 0 || errno == EEXIST) && asprintf(&path, "%s/%s.log", dir, name) >= 0 &&
            asprintf(&old, "%s.1", path) >= 0) {
                if (stat(path, &st) >= 0 && (uint64_t)st.st_size > VX_LOG_ROTATE_BYTES)
                        (void)rename(path, old);
                fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
                if (fd >= 0)
                        return fd;
        }
        free(path);
        path = NULL;
        if (asprintf(&path, "%s/supervisor.log", deployment_dir) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        return fd < 0 ? -errno : fd;
}

/*
 * The test probe (syscall_filter_test_probe) runs once both hold: the start
 * is answered, and the filter is on (or known to stay off).
 */
static bool start_answered, confined;

/* Once the start is reported, the daemon's messages go to the deployment's log, not the terminal. */
static void detach_output(const char *deployment_dir)
{
        int fd, null_fd;

        fd = open_log(deployment_dir);
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd >= 0) {
                (void)dup2(null_fd, STDIN_FILENO);
                (void)dup2(null_fd, STDOUT_FILENO);
                close(null_fd);
        }
        if (fd >= 0) {
                (void)dup2(fd, STDERR_FILENO);
                close(fd);
                log_set_timestamps(true); /* a file, read later: when each line was said */
        }
        /* start has its answer by now: what the probe ends is the supervisor, not the start (once filtered). */
        start_answered = true;
        if (confined)
                syscall_filter_test_probe();
}

/*
 * The daemon keeps stdin, stdout, stderr (until the start is reported) and
 * the notify pipe, nothing else it inherited: an fd of the user's shell
 * (`vmxrun start p.yaml 7>&1 | cat`) would otherwise keep that pipe open,
 * and the shell waiting, as long as the VMs run. Returns the notify fd's new
 * number (3), or -errno.
 */
static int keep_only(int notify_fd)
{
        if (notify_fd != 3) {
                if (dup3(notify_fd, 3, O_CLOEXEC) < 0)
                        return -errno;
                close(notify_fd);
        }
        if (syscall(SYS_close_range, 4U, ~0U, 0) < 0)
                return -errno;
        return 3;
}

static bool seccomp_wanted(void)
{
        const char *env = getenv("VMXRUN_SECCOMP");

        return !env || strcmp(env, "0") != 0;
}

/*
 * Everything up to a running deployment. The supervisor has no filter yet:
 * it starts the first QEMUs itself (they inherit nothing of ours but what
 * spawn_qemu() leaves them, as from the spawner). On failure the caller
 * still owns profile and plan.
 */
static int start_supervisor(struct vx_profile *profile, struct vx_plan *plan, const struct vx_supervisor_options *opts,
                            struct vx_supervisor **ret)
{
        int r;

        if (!seccomp_wanted()) /* said now, while the user's terminal still hears us */
                log_warning("VMXRUN_SECCOMP=0: the supervisor runs without its seccomp filter.");
        r = supervisor_start(profile, plan, opts, ret);
        if (r == -EBUSY)
                log_error("%s is already running; nothing was changed.", profile->name);
        return r;
}

/*
 * The supervisor's life once its VMs run: the start is answered first; then
 * the spawner is forked (while the supervisor has no filter: every later
 * QEMU comes from it, so that none inherits ours) and the seccomp filter
 * installed (unless VMXRUN_SECCOMP=0, for debugging), before the event loop
 * reads its first request; until every VM has stopped. Without a spawner
 * there is no filter either: a QEMU the supervisor restarted itself would
 * run under it.
 */
static int supervise(struct vx_supervisor *sv, const struct vx_plan *plan)
{
        int r;

        r = supervisor_report_start(sv);
        if (r < 0) {
                supervisor_free(sv);
                return r;
        }
        r = spawner_start(plan);
        if (r < 0)
                /* A QEMU started from here under the filter would inherit it: no filter then, and no id change. */
                log_error_errno(r, "Failed to start the process that starts QEMU: the supervisor runs without its "
                                   "seccomp filter, and a restart of a QEMU that runs as its own user will fail: %m");
        else {
                r = privileges_drop_after_spawner();
                if (r < 0)
                        log_warning_errno(r, "Failed to drop CAP_SETUID and CAP_SETGID, ignoring: %m");
        }
        if (spawner_running() && seccomp_wanted()) {
                r = syscall_filter_install(plan);
                if (r < 0)
                        log_warning_errno(r, "Failed to install the supervisor's seccomp filter, running without: %m");
        }
        confined = true;
        if (start_answered)
                syscall_filter_test_probe();
        /*
         * What the CLI parsed and planned before the fork, and what building the
         * filter allocated, is free now: its pages go back to the kernel, not
         * kept for the supervisor's life.
         */
        (void)malloc_trim(0);
        r = supervisor_run(sv);
        supervisor_free(sv);
        spawner_stop();
        return r;
}

/* The daemon's life; its exit status matters to no one (the notify byte says how the start went). */
static int run_daemon_child(struct vx_profile *profile, struct vx_plan *plan, struct vx_supervisor_options *opts)
{
        struct vx_supervisor *sv = NULL;
        int r;

        (void)setsid(); /* no controlling terminal: a hangup of the user's shell must not reach us */
        r = start_supervisor(profile, plan, opts, &sv);
        if (r < 0) {
                profile_free(profile);
                plan_free(plan);
                return 1;
        }
        /* The supervisor writes the notify fd itself (with --wait, once every VM is ready), then detaches. */
        return supervise(sv, plan) < 0 ? 1 : 0;
}

static int wait_for_daemon(int read_fd, const char *name, bool wait_ready, bool quiet)
{
        unsigned char b;
        ssize_t n;

        do
                n = read(read_fd, &b, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1)
                return log_error_errno(-ECHILD, "%s: the supervisor died before it reported the start.", name);
        switch (b) {
        case VX_NOTIFY_STARTED:
                if (!quiet)
                        printf("%s: started%s.\n", name, wait_ready ? " and ready" : "");
                return 0;
        case VX_NOTIFY_NOT_READY:
                return log_error_errno(-ETIME, "%s: started, but not every VM became ready in time (it keeps running).",
                                       name);
        case VX_NOTIFY_RUNNING:
                return -EBUSY; /* the daemon already said so, on our stderr */
        default:
                return -EIO; /* the daemon already said why, on our stderr */
        }
}

int launcher_start(struct vx_profile *profile, struct vx_plan *plan, const struct vx_launch_options *lo)
{
        char abs_path[PATH_MAX];
        struct vx_supervisor_options opts = {
                .profile_path = realpath(lo->profile_path, abs_path) ? abs_path : lo->profile_path,
                .profile_copy = lo->profile_text,
                .plan_options = lo->plan_options,
                .notify_fd = -EBADF,
                .wait_ready = lo->wait_ready,
        };
        _cleanup_free_ char *name = strdup(profile->name);
        int pipe_fds[2];
        pid_t pid;

        if (!name) {
                profile_free(profile);
                plan_free(plan);
                return log_error_errno(-ENOMEM, "Out of memory.");
        }
        if (lo->foreground) {
                struct vx_supervisor *sv = NULL;
                int r = start_supervisor(profile, plan, &opts, &sv);
                if (r < 0) {
                        profile_free(profile);
                        plan_free(plan);
                        return r;
                }
                printf("%s: started; supervising in the foreground.\n", name);
                fflush(stdout);
                return supervise(sv, plan);
        }

        if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
                profile_free(profile);
                plan_free(plan);
                return log_error_errno(-errno, "Failed to create a pipe: %m");
        }
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                close(pipe_fds[0]);
                close(pipe_fds[1]);
                profile_free(profile);
                plan_free(plan);
                return log_error_errno(-errno, "Failed to fork the supervisor: %m");
        }
        if (pid == 0) {
                close(pipe_fds[0]);
                opts.notify_fd = keep_only(pipe_fds[1]);
                if (opts.notify_fd < 0)
                        _exit(1);
                opts.notified = detach_output;
                _exit(run_daemon_child(profile, plan, &opts));
        }
        close(pipe_fds[1]);
        profile_free(profile);
        plan_free(plan);
        {
                int r = wait_for_daemon(pipe_fds[0], name, lo->wait_ready, lo->quiet);
                close(pipe_fds[0]);
                return r;
        }
}

/* Rebuilds the plan a dead supervisor ran, from the copy of its profile and its saved options. */
static int adopt(const char *deployment_dir, const struct vx_saved_state *saved)
{
        _cleanup_free_ char *copy = NULL, *text = NULL;
        struct vx_profile *profile = NULL;
        struct vx_plan *plan = NULL;
        struct vx_plan_options popts = state_plan_options(saved);
        int r;

        struct vx_diags diags = {};
        struct vx_launch_options lo = {.plan_options = popts, .quiet = true};

        if (asprintf(&copy, "%s/profile.yaml", deployment_dir) < 0)
                return log_error_errno(-ENOMEM, "Out of memory.");
        text = launcher_read_text(copy);
        if (!text)
                return log_error_errno(-errno, "%s: VMs may be running, but the profile they ran from (%s) is gone: %m",
                                       deployment_dir, copy);
        r = launcher_plan_profile(copy, getenv("VMXRUN_ROOT"), &popts, &diags, &profile, &plan);
        diag_print(&diags, stderr);
        diag_done(&diags);
        if (r < 0)
                return log_error_errno(r, "%s: cannot plan the profile the VMs run from: %m", deployment_dir);
        log_info("%s: no supervisor is running; starting one to adopt the VMs left running.", profile->name);
        lo.profile_path = saved->profile_path;
        lo.profile_text = text;
        return launcher_start(profile, plan, &lo);
}

bool launcher_is_running(const char *deployment_dir)
{
        return runtime_is_locked(deployment_dir);
}

int launcher_ensure_supervisor(const char *deployment_dir)
{
        _cleanup_(state_freep) struct vx_saved_state *saved = NULL;
        int r;

        if (runtime_is_locked(deployment_dir))
                return 0;
        r = state_load(deployment_dir, &saved);
        if (r == -ENOENT || r == -ENOTDIR) {
                _cleanup_free_ struct vx_orphan *o = NULL;
                size_t n = 0;

                if (launcher_find_orphans(deployment_dir, &o, &n) >= 0)
                        for (size_t i = 0; i < n; i++)
                                log_warning("%s: QEMU pid %d runs without a supervisor or a state file (its supervisor "
                                            "died before recording it): `vmxrun start PROFILE` adopts it, "
                                            "`vmxrun stop` ends it.",
                                            o[i].vm, (int)o[i].pid);
                return -ESRCH;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to read the state of %s: %m", deployment_dir);
        if (!state_vms_alive(saved)) {
                /* A supervisor died and its VMs with it: nothing to adopt; what they left is undone. */
                if (leftovers_undo_saved(deployment_dir, saved) == 0)
                        runtime_remove_deployment_dir(deployment_dir);
                return -ESRCH;
        }
        return adopt(deployment_dir, saved);
}

int launcher_call(const char *deployment_dir, json_t *request, int timeout_ms, json_t **ret)
{
        return launcher_call_progress(deployment_dir, request, timeout_ms, NULL, NULL, ret);
}

int launcher_call_progress(const char *deployment_dir, json_t *request, int timeout_ms,
                           void (*progress)(const char *line, void *userdata), void *userdata, json_t **ret)
{
        json_t *answer = NULL;
        int r;

        r = control_call_progress(deployment_dir, request, timeout_ms, progress, userdata, &answer);
        if (r == -ENOENT || r == -ECONNREFUSED)
                return log_error_errno(-ESRCH, "%s is not running.", deployment_dir);
        if (r < 0)
                return log_error_errno(r, "Failed to talk to the supervisor of %s: %m", deployment_dir);
        if (!json_is_true(json_object_get(answer, "ok"))) {
                log_error("%s", json_string_value(json_object_get(answer, "error")) ?: "request failed");
                json_decref(answer);
                return -EREMOTEIO;
        }
        *ret = answer;
        return 0;
}
