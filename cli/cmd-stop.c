/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"

static const struct cli_help help = {
        .usage = "vmxrun stop NAME|PROFILE.yaml [OPTIONS]",
        .description = "Stops a deployment (or one VM of it): ACPI power-down through QMP, then after\n"
                       "the timeout `quit`, then SIGKILL. When its last VM is gone the supervisor tears\n"
                       "down what it set up and exits. On a terminal (or with $VMXRUN_PROGRESS set) each\n"
                       "step is printed as it happens, as the supervisor's log has it: \"powering off\n"
                       "(timeout 60 s)\", \"did not power off: sending quit\", \"killed\".\n",
        .options = "      --vm VM            stop only this VM (the others keep running)\n"
                   "  -t, --timeout S        seconds the guest gets to power off (default 60)\n"
                   "      --force            kill QEMU at once (SIGKILL), no power-down\n"
                   "      --runtime-dir DIR  runtime directory (also $VMXRUN_RUNTIME_DIR)\n",
        .exit_status = "0 stopped, 1 failed, 2 bad usage, 4 not running.\n",
};

/* What the supervisor is doing, as it does it: "vcp: powering off (timeout 60 s)". */
static void say_progress(const char *line, void *userdata)
{
        (void)userdata;
        printf("%s\n", line);
        fflush(stdout);
}

static int run(int argc, char **argv)
{
        static const struct option options[] = {
                {"vm", required_argument, NULL, 'v'},
                {"timeout", required_argument, NULL, 't'},
                {"force", no_argument, NULL, 'f'},
                {"runtime-dir", required_argument, NULL, 'r'},
                {0},
        };
        const char *vm = NULL, *runtime_opt = NULL;
        _cleanup_free_ char *dir = NULL;
        int timeout = 60;
        bool force = false, progress;
        json_t *req, *answer = NULL;
        int c, r;

        while ((c = cli_getopt(argc, argv, "t:", options, &help, &r)) >= 0) {
                switch (c) {
                case 'v':
                        vm = optarg;
                        break;
                case 't':
                        r = cli_parse_seconds(argv[0], "--timeout", optarg, INT_MAX / 1000 - 60, &timeout);
                        if (r != VX_EXIT_OK)
                                return r;
                        break;
                case 'f':
                        force = true;
                        break;
                case 'r':
                        runtime_opt = optarg;
                        break;
                default:
                        return VX_EXIT_USAGE;
                }
        }
        if (c == CLI_OPT_EXIT)
                return r;
        if (optind != argc - 1)
                return cli_usage_error(argv[0], "stop takes one deployment NAME or profile.");
        r = cli_resolve_deployment(argv[optind], cli_runtime_dir(runtime_opt), &dir);
        if (r != VX_EXIT_OK)
                return r;
        /* Its supervisor died with every VM: what they set up on the host is undone; that is a stop too. */
        r = launcher_undo_leftovers(dir);
        if (r < 0)
                return VX_EXIT_FAILURE;
        if (r > 0) {
                printf("%s: stopped (its supervisor and VMs were gone; the host changes they left are undone).\n",
                       argv[optind]);
                return VX_EXIT_OK;
        }
        r = cli_ensure_supervisor(dir);
        if (r == VX_EXIT_NOT_RUNNING && launcher_stop_orphans(dir) > 0) {
                printf("%s: stopped (orphan QEMUs killed).\n", argv[optind]);
                return VX_EXIT_OK;
        }
        if (r != VX_EXIT_OK) {
                if (r == VX_EXIT_NOT_RUNNING)
                        log_error("%s is not running.", argv[optind]);
                return r;
        }
        /* A terminal is told each step; a script reads the one line at the end. */
        progress = isatty(STDOUT_FILENO) || getenv("VMXRUN_PROGRESS");
        req = json_pack("{s:s, s:s?, s:i, s:b, s:b}", "cmd", "stop", "vm", vm, "timeout", timeout, "force", force,
                        "progress", progress);
        /* The answer comes when the VMs are gone: powerdown timeout, quit grace, kill. */
        r = cli_exit_status(
                launcher_call_progress(dir, req, (timeout + 30) * 1000, progress ? say_progress : NULL, NULL, &answer));
        json_decref(req);
        json_decref(answer);
        if (r == VX_EXIT_OK)
                printf("%s%s%s: stopped.\n", argv[optind], vm ? " " : "", vm ?: "");
        return r;
}

const struct vx_command vx_cmd_stop = {
        .name = "stop",
        .summary = "stop a deployment or one of its VMs",
        .run = run,
};
