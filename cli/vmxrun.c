/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"

static const struct vx_command *const commands[] = {
        &vx_cmd_validate,
        &vx_cmd_cmdline,
        &vx_cmd_explain,
        &vx_cmd_start,
        &vx_cmd_stop,
        &vx_cmd_status,
        &vx_cmd_list,
        &vx_cmd_vcpuinfo,
        &vx_cmd_pin,
        &vx_cmd_qmp,
        &vx_cmd_hmp,
        &vx_cmd_console,
        &vx_cmd_import,
        &vx_cmd_showcmd,
        &vx_cmd_bind,
        &vx_cmd_unbind,
        &vx_cmd_doctor,
};

/* The one place a result becomes an exit status (cli.h lists them, README.md documents them). */
int cli_exit_status(int r)
{
        switch (r) {
        case 0:
                return VX_EXIT_OK;
        case -EINVAL:
        case -EFBIG:
                return VX_EXIT_INVALID;
        case -ESRCH:
                return VX_EXIT_NOT_RUNNING;
        case -EBUSY:
                return VX_EXIT_RUNNING;
        default:
                return r > 0 ? r : VX_EXIT_FAILURE;
        }
}

static void help(FILE *out)
{
        fprintf(out,
                "Usage: vmxrun [-v|--verbose] COMMAND [ARGS...]\n"
                "\n"
                "Runs QEMU virtual machines from a YAML profile, without libvirt.\n"
                "\n"
                "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
        fprintf(out,
                "\n"
                "Options:\n"
                "  -v, --verbose  log debug messages\n"
                "  -h, --help     show this help\n"
                "      --version  show the version\n"
                "\n"
                "`vmxrun COMMAND --help` describes a command.\n");
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"verbose", no_argument, NULL, 'v'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        int c;

        /* '+': stop at the command name, whose own options follow it. */
        while ((c = getopt_long(argc, argv, "+hv", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help(stdout);
                        return VX_EXIT_OK;
                case 'v':
                        log_set_max_level(VX_LOG_DEBUG);
                        break;
                case 'V':
                        printf("vmxrun %s\n", VMXRUN_VERSION);
                        return VX_EXIT_OK;
                default:
                        help(stderr);
                        return VX_EXIT_USAGE;
                }
        }

        if (optind >= argc) {
                help(stderr);
                return VX_EXIT_USAGE;
        }

        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(argv[optind], commands[i]->name) == 0) {
                        int cmd_argc = argc - optind;
                        char **cmd_argv = argv + optind;

                        int r;

                        optind = 0; /* getopt_long restarts for the command's own options */
                        r = commands[i]->run(cmd_argc, cmd_argv);
                        /* A command may hand back a -errno (launcher.h's meanings) instead of a status. */
                        return r < 0 ? cli_exit_status(r) : r;
                }

        log_error("unknown command '%s'; `vmxrun --help` lists them.", argv[optind]);
        return VX_EXIT_USAGE;
}
