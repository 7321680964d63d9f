/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vmxrun pin: a running VM's vCPU or emulator threads to other host CPUs, like `virsh vcpupin --live`. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"

static const struct cli_help help = {
        .usage = "vmxrun pin NAME|PROFILE.yaml [--vm VM] (--vcpu N --cpus LIST | --emulator LIST)",
        .description = "Pins a running VM's vCPU N (QEMU's cpu-index) or its emulator threads to the host\n"
                       "CPUs in LIST (\"2\", \"4-5,8\"), now, like `virsh vcpupin --live`. The VM keeps\n"
                       "that pinning when its QEMU is restarted; `status` compares the threads with it.\n",
        .options = "      --vm VM            the VM (needed when the deployment has several)\n"
                   "      --vcpu N           the vCPU to move\n"
                   "      --cpus LIST        its host CPUs\n"
                   "      --emulator LIST    the emulator threads' host CPUs instead\n"
                   "      --runtime-dir DIR  runtime directory (also $VMXRUN_RUNTIME_DIR)\n",
        .exit_status = "0 pinned, 1 failed (the pinning is as it was), 2 bad command line,\n"
                       "4 not running.\n",
};

static int run(int argc, char **argv)
{
        enum { ARG_VM = 0x100, ARG_VCPU, ARG_CPUS, ARG_EMULATOR, ARG_RUNTIME };
        static const struct option options[] = {
                {"vm", required_argument, NULL, ARG_VM},
                {"vcpu", required_argument, NULL, ARG_VCPU},
                {"cpus", required_argument, NULL, ARG_CPUS},
                {"emulator", required_argument, NULL, ARG_EMULATOR},
                {"runtime-dir", required_argument, NULL, ARG_RUNTIME},
                {0},
        };
        const char *vm = NULL, *cpus = NULL, *emulator = NULL, *runtime_opt = NULL;
        _cleanup_free_ char *dir = NULL;
        json_t *status = NULL, *req, *answer = NULL;
        long vcpu = -1;
        int c, r;

        while ((c = cli_getopt(argc, argv, "", options, &help, &r)) >= 0) {
                char *end;
                switch (c) {
                case ARG_VM:
                        vm = optarg;
                        break;
                case ARG_VCPU:
                        vcpu = strtol(optarg, &end, 10);
                        if (*end || end == optarg || vcpu < 0 || vcpu > INT_MAX)
                                return cli_usage_error(argv[0], "--vcpu takes a vCPU number, not '%s'.", optarg);
                        break;
                case ARG_CPUS:
                        cpus = optarg;
                        break;
                case ARG_EMULATOR:
                        emulator = optarg;
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
        if (optind != argc - 1 || !!emulator == !!cpus || (cpus && vcpu < 0) || (emulator && vcpu >= 0))
                return cli_usage_error(argv[0],
                                       "pin takes a deployment and either --vcpu N --cpus LIST or --emulator LIST.");
        r = cli_vm_status(argv[optind], runtime_opt, vm, &dir, &status);
        if (r != VX_EXIT_OK)
                return r;
        req = emulator ? json_pack("{s:s, s:O, s:s}", "cmd", "pin", "vm", json_object_get(status, "name"), "cpus",
                                   emulator)
                       : json_pack("{s:s, s:O, s:i, s:s}", "cmd", "pin", "vm", json_object_get(status, "name"), "vcpu",
                                   (int)vcpu, "cpus", cpus);
        json_decref(status);
        r = cli_call(dir, req, 30000, &answer);
        json_decref(req);
        json_decref(answer);
        return r;
}

const struct vx_command vx_cmd_pin = {
        .name = "pin",
        .summary = "pin a running VM's vCPU or emulator threads to other CPUs",
        .run = run,
};
