/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"

static const struct cli_help hmp_help = {
        .usage = "vmxrun hmp NAME|PROFILE.yaml [--vm VM] 'COMMAND LINE'",
        .description = "Runs a human monitor command (e.g. 'info cpus') through QMP, like\n"
                       "`virsh qemu-monitor-command --hmp`, and prints its output.\n",
        .options = "      --vm VM            the VM (needed when the deployment has several)\n"
                   "      --runtime-dir DIR  runtime directory (also $VMXRUN_RUNTIME_DIR)\n",
        .exit_status = "0 done, 1 failed (QEMU's error is printed), 2 bad usage, 4 not running.\n",
};

static const struct cli_help qmp_help = {
        .usage = "vmxrun qmp NAME|PROFILE.yaml [--vm VM] '{\"execute\":CMD[,\"arguments\":{...}]}'|CMD",
        .description = "Runs a QMP command on the VM through its supervisor, like\n"
                       "`virsh qemu-monitor-command`, and pretty-prints the return value.\n",
        .options = "      --vm VM            the VM (needed when the deployment has several)\n"
                   "      --runtime-dir DIR  runtime directory (also $VMXRUN_RUNTIME_DIR)\n",
        .exit_status = "0 done, 1 failed (QEMU's error is printed), 2 bad usage, 3 not a QMP command,\n"
                       "4 not running.\n",
};

static json_t *parse_qmp_command(const char *text)
{
        json_error_t jerr;
        json_t *cmd;

        if (text[0] != '{')
                return json_pack("{s:s}", "execute", text); /* a bare command name */
        cmd = json_loads(text, 0, &jerr);
        if (!cmd) {
                log_error("Not JSON: %s (column %d).", jerr.text, jerr.column);
                return NULL;
        }
        if (!json_is_string(json_object_get(cmd, "execute"))) {
                log_error("A QMP command is an object with \"execute\".");
                json_decref(cmd);
                return NULL;
        }
        return cmd;
}

static int run(int argc, char **argv)
{
        static const struct option options[] = {
                {"vm", required_argument, NULL, 'v'},
                {"runtime-dir", required_argument, NULL, 'r'},
                {0},
        };
        bool hmp = strcmp(argv[0], "hmp") == 0;
        const char *vm = NULL, *runtime_opt = NULL;
        _cleanup_free_ char *dir = NULL;
        json_t *status = NULL, *req, *answer = NULL, *cmd = NULL;
        int c, r;

        while ((c = cli_getopt(argc, argv, "", options, hmp ? &hmp_help : &qmp_help, &r)) >= 0) {
                switch (c) {
                case 'v':
                        vm = optarg;
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
        if (optind != argc - 2)
                return cli_usage_error(argv[0], "%s takes a deployment and a command.", argv[0]);
        if (!hmp) {
                cmd = parse_qmp_command(argv[optind + 1]);
                if (!cmd)
                        return VX_EXIT_INVALID;
        }
        r = cli_vm_status(argv[optind], runtime_opt, vm, &dir, &status);
        if (r != VX_EXIT_OK) {
                json_decref(cmd);
                return r;
        }
        if (hmp)
                req = json_pack("{s:s, s:O, s:s}", "cmd", "hmp", "vm", json_object_get(status, "name"), "command",
                                argv[optind + 1]);
        else
                req = json_pack("{s:s, s:O, s:O, s:O*}", "cmd", "qmp", "vm", json_object_get(status, "name"),
                                "execute", json_object_get(cmd, "execute"), "arguments",
                                json_object_get(cmd, "arguments"));
        r = cli_call(dir, req, 30000, &answer);
        if (r == VX_EXIT_OK) {
                if (hmp)
                        fputs(json_string_value(json_object_get(answer, "output")) ?: "", stdout);
                else {
                        r = cli_print_json(json_object_get(answer, "return")) < 0 ? VX_EXIT_FAILURE : r;
                }
        }
        json_decref(answer);
        json_decref(req);
        json_decref(cmd);
        json_decref(status);
        return r;
}

const struct vx_command vx_cmd_qmp = {
        .name = "qmp",
        .summary = "run a QMP command on a VM",
        .run = run,
};

const struct vx_command vx_cmd_hmp = {
        .name = "hmp",
        .summary = "run a human monitor command on a VM",
        .run = run,
};
