/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"

/*
 * `vmxrun bind` / `unbind`: what vmx.sh --bind-dev did from vmx-junosdev.conf
 * with brctl (a VM's tap or a host NIC into a named bridge), done by the
 * running supervisor, so that it is journaled and undone at stop.
 */

static const struct cli_help bind_help = {
        .usage = "vmxrun bind NAME|PROFILE.yaml INTERFACE BRIDGE [OPTIONS]",
        .description = "Makes INTERFACE a port of BRIDGE for as long as the deployment runs. INTERFACE is\n"
                       "one of the deployment's taps (e.g. ge-0.0.0-vmx1) or a host interface that is no\n"
                       "bridge's port (e.g. p2p1). BRIDGE is created when it does not exist, and deleted\n"
                       "when the last deployment using it stops or unbinds. A tap stays bound across\n"
                       "restarts of its VM.\n",
        .options = "      --runtime-dir DIR  runtime directory (also $VMXRUN_RUNTIME_DIR)\n",
        .exit_status = "0 done, 1 refused or failed, 2 bad usage, 4 not running.\n",
};

static const struct cli_help unbind_help = {
        .usage = "vmxrun unbind NAME|PROFILE.yaml INTERFACE [OPTIONS]",
        .description = "Undoes `vmxrun bind`: INTERFACE goes back to where it was (a tap to its\n"
                       "profile's bridge, a host interface to no bridge).\n",
        .options = "      --runtime-dir DIR  runtime directory (also $VMXRUN_RUNTIME_DIR)\n",
        .exit_status = "0 done, 1 refused or failed, 2 bad usage, 4 not running.\n",
};

static int run_common(int argc, char **argv, bool bind)
{
        static const struct option options[] = {
                {"runtime-dir", required_argument, NULL, 'r'},
                {0},
        };
        const char *runtime_opt = NULL;
        _cleanup_free_ char *dir = NULL;
        json_t *req, *answer = NULL;
        int c, r, want = bind ? 3 : 2;

        while ((c = cli_getopt(argc, argv, "", options, bind ? &bind_help : &unbind_help, &r)) >= 0) {
                switch (c) {
                case 'r':
                        runtime_opt = optarg;
                        break;
                default:
                        return VX_EXIT_USAGE;
                }
        }
        if (c == CLI_OPT_EXIT)
                return r;
        if (argc - optind != want)
                return cli_usage_error(argv[0], bind ? "bind takes a deployment, an INTERFACE and a BRIDGE."
                                                     : "unbind takes a deployment and an INTERFACE.");
        r = cli_resolve_deployment(argv[optind], cli_runtime_dir(runtime_opt), &dir);
        if (r != VX_EXIT_OK)
                return r;
        r = cli_ensure_supervisor(dir);
        if (r != VX_EXIT_OK) {
                if (r == VX_EXIT_NOT_RUNNING)
                        log_error("%s is not running.", argv[optind]);
                return r;
        }
        req = json_pack("{s:s, s:s, s:s?}", "cmd", bind ? "bind" : "unbind", "interface", argv[optind + 1],
                        "bridge", bind ? argv[optind + 2] : NULL);
        r = cli_call(dir, req, 30000, &answer);
        json_decref(req);
        json_decref(answer);
        if (r == VX_EXIT_OK) {
                if (bind)
                        printf("%s: %s is a port of %s.\n", argv[optind], argv[optind + 1], argv[optind + 2]);
                else
                        printf("%s: %s unbound.\n", argv[optind], argv[optind + 1]);
        }
        return r;
}

static int run_bind(int argc, char **argv)
{
        return run_common(argc, argv, true);
}

static int run_unbind(int argc, char **argv)
{
        return run_common(argc, argv, false);
}

const struct vx_command vx_cmd_bind = {
        .name = "bind",
        .summary = "put a tap or host interface into a bridge while running",
        .run = run_bind,
};

const struct vx_command vx_cmd_unbind = {
        .name = "unbind",
        .summary = "undo bind",
        .run = run_unbind,
};
