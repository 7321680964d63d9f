/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Running the supervisor: in the foreground (for systemd or a terminal) or as
 * a daemon that reports back once the start is over, and finding the
 * supervisor of a deployment again (adopting VMs when the last one died).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "control.h"
#include "log.h"
#include "runtime.h"
#include "state.h"
#include "supervisor.h"


const char *cli_runtime_dir(const char *option)
{
        if (option)
                return option;
        return getenv("VMXRUN_RUNTIME_DIR");
}

static bool looks_like_profile(const char *arg)
{
        size_t len = strlen(arg);
        struct stat st;

        if ((len > 5 && strcmp(arg + len - 5, ".yaml") == 0) || (len > 4 && strcmp(arg + len - 4, ".yml") == 0))
                return true;
        return strchr(arg, '/') && stat(arg, &st) == 0 && S_ISREG(st.st_mode);
}

int cli_resolve_deployment(const char *arg, const char *runtime_dir, char **ret_dir)
{
        _cleanup_(profile_freep) struct vx_profile *profile = NULL;
        const char *root = runtime_dir, *name = arg;
        char *dir;
        int r;

        if (looks_like_profile(arg)) {
                r = cli_load_profile(arg, &profile);
                if (r != VX_EXIT_OK)
                        return r;
                name = profile->name;
                if (!root)
                        root = profile->host.runtime_dir;
        }
        if (!root)
                root = VX_DEFAULT_RUNTIME_DIR;
        if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
                log_error("'%s' is not a deployment name.", name);
                return VX_EXIT_USAGE;
        }
        if (asprintf(&dir, "%s/%s", root, name) < 0)
                return log_error("Out of memory."), VX_EXIT_FAILURE;
        *ret_dir = dir;
        return VX_EXIT_OK;
}

/* Once the start is reported, the daemon's messages go to the deployment's log, not the terminal. */
static void detach_output(const char *deployment_dir)
{
        _cleanup_free_ char *path = NULL;
        int fd, null_fd;

        if (asprintf(&path, "%s/supervisor.log", deployment_dir) < 0)
                return;
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd >= 0) {
                (void)dup2(null_fd, STDIN_FILENO);
                (void)dup2(null_fd, STDOUT_FILENO);
                close(null_fd);
        }
        if (fd >= 0) {
                (void)dup2(fd, STDERR_FILENO);
                close(fd);
        }
}

static int run_daemon_child(struct vx_profile *profile, struct vx_plan *plan, struct vx_supervisor_options *opts)
{
        struct vx_supervisor *sv = NULL;
        int r;

        (void)setsid(); /* no controlling terminal: a hangup of the user's shell must not reach us */
        r = supervisor_start(profile, plan, opts, &sv);
        if (r < 0) {
                if (r == -EBUSY)
                        log_error("%s is already running; nothing was changed.", profile->name);
                profile_free(profile);
                plan_free(plan);
                return VX_EXIT_FAILURE;
        }
        /* The supervisor writes the notify fd itself (with --wait, once every VM is ready), then detaches. */
        r = supervisor_run(sv);
        supervisor_free(sv);
        return r < 0 ? VX_EXIT_FAILURE : VX_EXIT_OK;
}

static int wait_for_daemon(int read_fd, const char *name, bool wait_ready, bool quiet)
{
        unsigned char b;
        ssize_t n;

        do
                n = read(read_fd, &b, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1) {
                log_error("%s: the supervisor died before it reported the start.", name);
                return VX_EXIT_FAILURE;
        }
        switch (b) {
        case VX_NOTIFY_STARTED:
                if (!quiet)
                        printf("%s: started%s.\n", name, wait_ready ? " and ready" : "");
                return VX_EXIT_OK;
        case VX_NOTIFY_NOT_READY:
                log_error("%s: started, but not every VM became ready in time (it keeps running).", name);
                return VX_EXIT_FAILURE;
        default:
                return VX_EXIT_FAILURE; /* the daemon already said why, on our stderr */
        }
}

/* adopting: the VMs run already; a new daemon takes them over, quietly. */
static int supervise(struct vx_profile *profile, struct vx_plan *plan, const char *profile_path, const char *profile_text,
                     const struct vx_plan_options *plan_options, bool foreground, bool wait_ready, bool adopting)
{
        char abs_path[PATH_MAX];
        struct vx_supervisor_options opts = {
                .profile_path = realpath(profile_path, abs_path) ? abs_path : profile_path,
                .profile_copy = profile_text,
                .plan_options = *plan_options,
                .notify_fd = -EBADF,
                .wait_ready = wait_ready,
        };
        _cleanup_free_ char *name = strdup(profile->name);
        int pipe_fds[2];
        pid_t pid;

        if (!name)
                return VX_EXIT_FAILURE;
        if (foreground) {
                struct vx_supervisor *sv = NULL;
                int r = supervisor_start(profile, plan, &opts, &sv);
                if (r < 0) {
                        if (r == -EBUSY)
                                log_error("%s is already running; nothing was changed.", name);
                        profile_free(profile);
                        plan_free(plan);
                        return r == -EBUSY ? VX_EXIT_RUNNING : VX_EXIT_FAILURE;
                }
                printf("%s: started; supervising in the foreground.\n", name);
                fflush(stdout);
                r = supervisor_run(sv);
                supervisor_free(sv);
                return r < 0 ? VX_EXIT_FAILURE : VX_EXIT_OK;
        }

        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
                return log_error_errno(-errno, "Failed to create a pipe: %m"), VX_EXIT_FAILURE;
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                close(pipe_fds[0]);
                close(pipe_fds[1]);
                return log_error_errno(-errno, "Failed to fork the supervisor: %m"), VX_EXIT_FAILURE;
        }
        if (pid == 0) {
                close(pipe_fds[0]);
                opts.notify_fd = pipe_fds[1];
                opts.notified = detach_output;
                _exit(run_daemon_child(profile, plan, &opts));
        }
        close(pipe_fds[1]);
        profile_free(profile);
        plan_free(plan);
        {
                int r = wait_for_daemon(pipe_fds[0], name, wait_ready, adopting);
                close(pipe_fds[0]);
                return r;
        }
}

int cli_supervise(struct vx_profile *profile, struct vx_plan *plan, const char *profile_path, const char *profile_text,
                  const struct vx_plan_options *plan_options, bool foreground, bool wait_ready)
{
        return supervise(profile, plan, profile_path, profile_text, plan_options, foreground, wait_ready, false);
}

/* Rebuilds the plan a dead supervisor ran, from the copy of its profile and its saved options. */
static int adopt(const char *deployment_dir, const struct vx_saved_state *saved)
{
        _cleanup_free_ char *copy = NULL, *text = NULL;
        struct vx_profile *profile = NULL;
        struct vx_plan *plan = NULL;
        struct vx_plan_options popts = {
                .runtime_dir = saved->runtime_dir,
                .force_accel = saved->force_accel,
                .accel = saved->accel,
        };
        int r;

        if (asprintf(&copy, "%s/profile.yaml", deployment_dir) < 0)
                return VX_EXIT_FAILURE;
        text = cli_read_text(copy);
        if (!text) {
                log_error("%s: VMs may be running, but the profile they ran from (%s) is gone: %m", deployment_dir,
                          copy);
                return VX_EXIT_FAILURE;
        }
        r = cli_plan_profile(copy, NULL, getenv("VMXRUN_ROOT"), &popts, &profile, &plan);
        if (r != VX_EXIT_OK)
                return r;
        log_info("%s: no supervisor is running; starting one to adopt the VMs left running.", profile->name);
        return supervise(profile, plan, saved->profile_path, text, &popts, false, false, true);
}

int cli_ensure_supervisor(const char *deployment_dir)
{
        _cleanup_(state_freep) struct vx_saved_state *saved = NULL;
        bool any_pid = false;
        int r;

        if (runtime_is_locked(deployment_dir))
                return VX_EXIT_OK;
        r = state_load(deployment_dir, &saved);
        if (r == -ENOENT || r == -ENOTDIR)
                return VX_EXIT_NOT_RUNNING;
        if (r < 0) {
                log_error_errno(r, "Failed to read the state of %s: %m", deployment_dir);
                return VX_EXIT_FAILURE;
        }
        for (size_t i = 0; i < saved->n_vms; i++)
                any_pid = any_pid || (saved->vms[i].pid > 0 && kill(saved->vms[i].pid, 0) == 0);
        if (!any_pid) {
                /* A supervisor died and its VMs with it: nothing to adopt, only leftovers to clear. */
                runtime_remove_deployment_dir(deployment_dir);
                return VX_EXIT_NOT_RUNNING;
        }
        return adopt(deployment_dir, saved);
}

int cli_call(const char *deployment_dir, json_t *request, int timeout_ms, json_t **ret)
{
        json_t *answer = NULL;
        int r;

        r = control_call(deployment_dir, request, timeout_ms, &answer);
        if (r == -ENOENT || r == -ECONNREFUSED) {
                log_error("%s is not running.", deployment_dir);
                return VX_EXIT_NOT_RUNNING;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to talk to the supervisor of %s: %m", deployment_dir);
                return VX_EXIT_FAILURE;
        }
        if (!json_is_true(json_object_get(answer, "ok"))) {
                log_error("%s", json_string_value(json_object_get(answer, "error")) ?: "request failed");
                json_decref(answer);
                return VX_EXIT_FAILURE;
        }
        *ret = answer;
        return VX_EXIT_OK;
}
