/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmxrun restart: stop a deployment (or one VM) in reverse order and start it again in order, in one supervisor. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"

/* What a restart may take beyond the power-off: VMs that start after another wait for it to be ready. */
#define RESTART_START_BOUND_S 900

static const struct cli_help help = {
        .usage = "vmxrun restart NAME|PROFILE.yaml [OPTIONS]",
        .description = "Restarts a running deployment (or one VM of it) in its supervisor: the VMs stop\n"
                       "in reverse order (each VM that starts after another first), each gracefully\n"
                       "(ACPI power-down, after the timeout `quit`, then SIGKILL), then start again in\n"
                       "profile order, each once the VM it starts after runs or is ready. The host\n"
                       "objects stay (bridges, VFs bound to vfio-pci, hugepages); taps are made anew\n"
                       "with each QEMU. Live pinnings set with `vmxrun pin` are kept. A VM that has\n"
                       "failed is started again, its restart limit reset. The profile as it is now is\n"
                       "applied when only the VMs' own options changed (memory, vCPUs, disks...);\n"
                       "a change of VMs or host objects needs stop and start.\n",
        .options = "      --vm VM            restart only this VM (the others keep running)\n"
                   "  -t, --timeout S        seconds each guest gets to power off (default 60)\n"
                   "      --force            kill QEMU at once (SIGKILL), no power-down\n"
                   "      --json             print the deployment's status afterwards, as status --json\n"
                   "      --runtime-dir DIR  runtime directory (also $VMXRUN_RUNTIME_DIR)\n",
        .exit_status = "0 restarted (every VM runs again), 1 failed (a VM did not start\n"
                       "again; status says why), 2 bad usage, 4 not running.\n",
};

static int run(int argc, char **argv)
{
        enum { ARG_VM = 0x100, ARG_FORCE, ARG_JSON, ARG_RUNTIME };
        static const struct option options[] = {
                {"vm", required_argument, NULL, ARG_VM},
                {"timeout", required_argument, NULL, 't'},
                {"force", no_argument, NULL, ARG_FORCE},
                {"json", no_argument, NULL, ARG_JSON},
                {"runtime-dir", required_argument, NULL, ARG_RUNTIME},
                {0},
        };
        const char *vm = NULL, *runtime_opt = NULL;
        _cleanup_free_ char *dir = NULL;
        int timeout = 60;
        bool force = false, json = false;
        json_t *req, *answer = NULL;
        int c, r;

        while ((c = cli_getopt(argc, argv, "t:", options, &help, &r)) >= 0) {
                switch (c) {
                case ARG_VM:
                        vm = optarg;
                        break;
                case 't':
                        r = cli_parse_seconds(argv[0], "--timeout", optarg, INT_MAX / 1000 - 30 - RESTART_START_BOUND_S,
                                              &timeout);
                        if (r != VX_EXIT_OK)
                                return r;
                        break;
                case ARG_FORCE:
                        force = true;
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_RUNTIME:
                        runtime_opt = optarg;
                        break;
                default:
                        return VX_EXIT_USAGE;
                }
        }
        if (c == CLI_OPT_EXIT)
                return r;
        if (optind != argc - 1)
                return cli_usage_error(argv[0], "restart takes one deployment NAME or profile.");
        r = cli_resolve_deployment(argv[optind], cli_runtime_dir(runtime_opt), &dir);
        if (r != VX_EXIT_OK)
                return r;
        r = cli_ensure_supervisor(dir);
        if (r != VX_EXIT_OK) {
                if (r == VX_EXIT_NOT_RUNNING)
                        log_error("%s is not running.", argv[optind]);
                return r;
        }
        req = json_pack("{s:s, s:s?, s:i, s:b}", "cmd", "restart", "vm", vm, "timeout", timeout, "force", force);
        if (!req) {
                log_error("Out of memory.");
                return VX_EXIT_FAILURE;
        }
        /* Answered once every VM restarted runs again: the stops in turn, then the starts in turn. */
        r = cli_call(dir, req, (timeout + 30 + RESTART_START_BOUND_S) * 1000, &answer);
        json_decref(req);
        json_decref(answer);
        if (r != VX_EXIT_OK)
                return r;
        if (json) {
                json_t *status = NULL;

                r = cli_status(dir, false, &status);
                if (r != VX_EXIT_OK)
                        return r;
                r = json_dumpf(status, stdout, JSON_INDENT(2)) < 0 ? VX_EXIT_FAILURE : VX_EXIT_OK;
                putchar('\n');
                json_decref(status);
                return r;
        }
        printf("%s%s%s: restarted.\n", argv[optind], vm ? " " : "", vm ?: "");
        return VX_EXIT_OK;
}

const struct vx_command vx_cmd_restart = {
        .name = "restart",
        .summary = "stop and start a deployment or one of its VMs again, in order",
        .run = run,
};
