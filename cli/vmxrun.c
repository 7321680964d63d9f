/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"
#include "preflight.h"

static const struct vx_command *const commands[] = {
        &vx_cmd_validate, &vx_cmd_cmdline, &vx_cmd_explain,  &vx_cmd_start, &vx_cmd_stop,   &vx_cmd_restart,
        &vx_cmd_status,   &vx_cmd_list,    &vx_cmd_vcpuinfo, &vx_cmd_pin,   &vx_cmd_qmp,    &vx_cmd_hmp,
        &vx_cmd_console,  &vx_cmd_import,  &vx_cmd_showcmd,  &vx_cmd_bind,  &vx_cmd_unbind, &vx_cmd_doctor,
        &vx_cmd_metrics,  &vx_cmd_enable,  &vx_cmd_disable,
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

/* The profile's default qemu: what a profile without `qemu:` runs. */
#define VX_DEFAULT_QEMU "/usr/bin/qemu-system-x86_64"

static void version(void)
{
        char v[256];
        int r;

        printf("vmxrun %s\n", VMXRUN_VERSION);
        if (access(VX_DEFAULT_QEMU, X_OK) < 0) {
                printf("QEMU: %s: %s\n", VX_DEFAULT_QEMU, strerror(errno));
                return;
        }
        r = host_qemu_version(VX_DEFAULT_QEMU, v, sizeof(v), NULL);
        if (r < 0)
                printf("QEMU: %s (its version is unknown: %s)\n", VX_DEFAULT_QEMU, strerror(-r));
        else
                printf("QEMU: %s (%s)\n", VX_DEFAULT_QEMU, v);
}

static void help(FILE *out)
{
        fprintf(out, "Usage: vmxrun [-v|--verbose] COMMAND [OPTIONS] [ARGS...]\n"
                     "       vmxrun help COMMAND\n"
                     "\n"
                     "Runs QEMU virtual machines from a YAML profile, without libvirt.\n"
                     "\n"
                     "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
        fprintf(out,
                "  %-10s %s\n"
                "\n"
                "Options:\n"
                "  -v, --verbose  log debug messages (before or after the command)\n"
                "  -h, --help     show this help\n"
                "      --version  show the version, and the QEMU found and its version\n"
                "\n"
                "Exit status: 0 success, 1 the operation failed, 2 bad command line, 3 invalid\n"
                "input (profile, vmx.conf, QEMU command line), 4 not running, 5 already running\n"
                "(nothing was changed).\n",
                "help", "describe a command, as `vmxrun COMMAND --help` does");
}

static const struct vx_command *find_command(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(name, commands[i]->name) == 0)
                        return commands[i];
        return NULL;
}

/* `vmxrun help [COMMAND]`: argv[0] is "help". */
static int help_command(int argc, char **argv)
{
        const struct vx_command *cmd;
        char *args[] = {NULL, "--help", NULL};

        if (argc == 1) {
                help(stdout);
                return VX_EXIT_OK;
        }
        if (argc > 2)
                return cli_usage_error(NULL, "help takes one command.");
        cmd = find_command(argv[1]);
        if (!cmd)
                return cli_usage_error(NULL, "unknown command '%s'.", argv[1]);
        args[0] = argv[1];
        optind = 0;
        return cmd->run(2, args);
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"verbose", no_argument, NULL, 'v'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        const struct vx_command *cmd;
        int c, r;

        opterr = 0; /* a bad option is said below, in one line */
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
                        version();
                        return VX_EXIT_OK;
                default:
                        return cli_usage_error(NULL, "unknown option '%s'.", argv[optind - 1]);
                }
        }

        if (optind >= argc)
                return cli_usage_error(NULL, "no command given.");
        if (strcmp(argv[optind], "help") == 0)
                return help_command(argc - optind, argv + optind);
        cmd = find_command(argv[optind]);
        if (!cmd)
                return cli_usage_error(NULL, "unknown command '%s'.", argv[optind]);
        argc -= optind;
        argv += optind;
        optind = 0; /* getopt_long restarts for the command's own options */
        r = cmd->run(argc, argv);
        /* A command may hand back a -errno (launcher.h's meanings) instead of a status. */
        return r < 0 ? cli_exit_status(r) : r;
}
