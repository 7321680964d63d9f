/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "facts.h"
#include "log.h"
#include "preflight.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct vx_host_facts *, host_facts_free)

static const struct cli_help help = {
        .usage = "vmxrun start PROFILE.yaml|NAME [OPTIONS]",
        .description = "Starts every VM of the profile: QEMU paused, vCPU threads pinned, then running,\n"
                       "and a supervisor that restarts crashed VMs and tears everything down at stop.\n"
                       "A bare NAME starts /etc/vmxrun/NAME.yaml, or NAME.conf (a vmx.conf); the\n"
                       "directory is $VMXRUN_CONFIG_DIR when set. vmxrun@NAME.service runs this.\n"
                       "First it checks what the profile needs from the host, as `vmxrun doctor PROFILE`\n"
                       "does, and refuses on a failed check, having changed nothing.\n",
        .options = "      --foreground       supervise in this process (for systemd or a terminal)\n"
                   "      --wait             return once every VM is ready (ready: in the profile)\n"
                   "      --accel kvm|tcg    use this accelerator for every VM (also $VMXRUN_ACCEL)\n"
                   "      --runtime-dir DIR  runtime directory (default: host.runtime-dir or /run/vmxrun;\n"
                   "                         also $VMXRUN_RUNTIME_DIR)\n"
                   "      --set PATH=VALUE   a profile value for this start, over the file's (repeatable;\n"
                   "                         kept for restarts and adoption; docs/profile.md)\n"
                   "      --no-seccomp       supervise without the supervisor's seccomp filter, for\n"
                   "                         debugging (also VMXRUN_SECCOMP=0)\n",
        .exit_status = "0 started, 1 failed (nothing left behind; also when a pre-flight check\n"
                       "failed, see `vmxrun doctor PROFILE`), 2 bad usage, 3 invalid profile,\n"
                       "5 already running (nothing changed).\n",
};

static int refuse_incomplete(const struct vx_plan *plan)
{
        int refused = 0;

        for (size_t i = 0; i < plan->n_vms; i++) {
                const struct vx_vm_plan *vp = &plan->vms[i];
                if (vp->complete)
                        continue;
                log_error("%s cannot start on this host; refusing:", vp->vm->name);
                for (size_t k = 0; k < vp->n_notes; k++)
                        log_error("  %s", vp->notes[k]);
                refused++;
        }
        return refused;
}

/*
 * What the profile needs from the host, checked before anything changes (the
 * checks of `vmxrun doctor PROFILE`): warnings are said, a failure refuses.
 */
static int preflight(const struct vx_profile *profile, const struct vx_plan *plan, const struct vx_host_facts *facts)
{
        struct vx_checks checks = {0};
        size_t failed;
        int r;

        /* The facts the plan was made with: the host is read once per start. */
        r = launcher_preflight_facts(profile, plan, getenv("VMXRUN_ROOT"), 0, facts, &checks);
        if (r < 0)
                return log_error_errno(r, "Failed to check what %s needs from this host: %m", profile->file),
                       VX_EXIT_FAILURE;
        cli_log_checks(profile, &checks, VX_CHECK_WARN);
        failed = checks_count(&checks, VX_CHECK_FAIL);
        checks_done(&checks);
        if (!failed)
                return VX_EXIT_OK;
        log_error("%s: %zu pre-flight check%s failed; refusing to start, nothing was changed "
                  "(`vmxrun doctor %s` shows every check).",
                  profile->name, failed, failed == 1 ? "" : "s", profile->file);
        return cli_exit_status(-EPERM);
}

static int run(int argc, char **argv)
{
        static const struct option options[] = {
                {"foreground", no_argument, NULL, 'f'},
                {"wait", no_argument, NULL, 'w'},
                {"accel", required_argument, NULL, 'a'},
                {"runtime-dir", required_argument, NULL, 'r'},
                {"no-seccomp", no_argument, NULL, 'S'}, /* also VMXRUN_SECCOMP=0 */
                {"set", required_argument, NULL, 's'},  /* PATH=VALUE */
                {0},
        };
        struct vx_plan_options popts = {.claim_cpus = true};
        _cleanup_(profile_freep) struct vx_profile *profile = NULL;
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        _cleanup_free_ char *text = NULL, *found = NULL;
        _cleanup_(host_facts_freep) struct vx_host_facts *facts = NULL;
        const char *path;
        bool foreground = false, wait_ready = false;
        const char *accel = getenv("VMXRUN_ACCEL"), *runtime_opt = NULL;
        int c, r;

        while ((c = cli_getopt(argc, argv, "", options, &help, &r)) >= 0) {
                switch (c) {
                case 'f':
                        foreground = true;
                        break;
                case 'w':
                        wait_ready = true;
                        break;
                case 'a':
                        accel = optarg;
                        break;
                case 'r':
                        runtime_opt = optarg;
                        break;
                case 's':
                        if (cli_add_set(optarg) < 0)
                                return VX_EXIT_FAILURE;
                        break;
                case 'S':
                        /* The supervisor this start forks or becomes reads it (launcher/daemon.c). */
                        if (setenv("VMXRUN_SECCOMP", "0", 1) < 0)
                                return log_error_errno(-errno, "Failed to set VMXRUN_SECCOMP: %m"), VX_EXIT_FAILURE;
                        break;
                default:
                        return VX_EXIT_USAGE;
                }
        }
        if (c == CLI_OPT_EXIT)
                return r;
        if (optind != argc - 1)
                return cli_usage_error(argv[0], "start takes one profile or NAME.");
        r = cli_find_profile(argv[optind], &found);
        if (r < 0)
                return log_error_errno(r, "Failed to look up %s: %m", argv[optind]), VX_EXIT_FAILURE;
        path = found ?: argv[optind];
        popts.runtime_dir = cli_runtime_dir(runtime_opt);
        r = cli_plan_profile_facts(path, accel, getenv("VMXRUN_ROOT"), &popts, &profile, &plan, &facts);
        if (r != VX_EXIT_OK)
                return r;
        /*
         * Another start of the same deployment may win the race at any point up
         * to the supervisor's lock: a refusal that its running deployment caused
         * (its CPUs, its name in the pre-flight) is then "already running" (5).
         */
        if (launcher_is_running(plan->deployment_dir) || refuse_incomplete(plan) > 0) {
                if (!launcher_is_running(plan->deployment_dir))
                        return VX_EXIT_FAILURE;
                log_error("%s is already running; nothing was changed.", profile->name);
                return VX_EXIT_RUNNING;
        }
        r = preflight(profile, plan, facts);
        facts = host_facts_free(facts);
        if (r != VX_EXIT_OK && launcher_is_running(plan->deployment_dir)) {
                log_error("%s is already running (started while this start checked the host); nothing was changed.",
                          profile->name);
                return VX_EXIT_RUNNING;
        }
        if (r != VX_EXIT_OK)
                return r;
        text = launcher_read_text(path);
        return cli_supervise(TAKE_PTR(profile), TAKE_PTR(plan), path, text, &popts, foreground, wait_ready);
}

const struct vx_command vx_cmd_start = {
        .name = "start",
        .summary = "start a profile's VMs and supervise them",
        .run = run,
};
