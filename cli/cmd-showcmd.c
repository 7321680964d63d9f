/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmxrun showcmd: the command line of a running VM as the kernel has it
 * (/proc/PID/cmdline), printed like `vmxrun cmdline`, or explained like
 * `vmxrun explain --pid`.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argv.h"
#include "cleanup.h"
#include "cli.h"
#include "log.h"
#include "qemuargs.h"
#include "vmxconf.h"

static const struct cli_help help = {
        .usage = "vmxrun showcmd NAME|PROFILE [--vm VM] [--explain] [--json] [--runtime-dir DIR]",
        .description = "Prints the QEMU command line a running VM was started with, read from\n"
                       "/proc/PID/cmdline, shell-quoted, one option per line. --explain explains it\n"
                       "option by option, as `vmxrun explain --pid PID`.\n",
        .options = "      --vm VM            the VM (needed when the deployment has several)\n"
                   "      --explain          explain each option instead\n"
                   "      --json             print JSON: {name, vm, pid, argv} (with --explain, explain's JSON)\n"
                   "      --runtime-dir DIR  where the deployment runs (env VMXRUN_RUNTIME_DIR)\n",
        .exit_status = "0 printed, 4 not running, 2 bad usage, 1 other failures.\n",
};

static void argv_donep(struct vx_argv *a)
{
        vx_argv_done(a);
}

static int read_cmdline(long pid, struct vx_argv *ret)
{
        _cleanup_free_ char *path = NULL, *buf = NULL;
        size_t len = 0;
        int r;

        if (asprintf(&path, "/proc/%ld/cmdline", pid) < 0)
                return log_error_errno(-ENOMEM, "Out of memory: %m");
        /* At most 1 MiB, like any vmxrun input; QEMU command lines are a few KiB. */
        r = vmxconf_read_file(path, &buf, &len);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", path);
        if (len == 0)
                return log_error_errno(-ESRCH, "%s is empty: process %ld has exited.", path, pid);
        r = qa_split_nul(buf, len, ret);
        if (r < 0)
                return log_error_errno(r, "Failed to split %s: %m", path);
        return 0;
}

static int print_json(const char *name, const char *vm, long pid, const struct vx_argv *a)
{
        _cleanup_(json_decrefp) json_t *root = NULL;
        json_t *arr = plan_json_strv(a->items, a->n);

        root = json_pack("{s:i, s:s, s:s, s:I, s:o*}", "version", 1, "name", name, "vm", vm, "pid", (json_int_t)pid,
                         "argv", arr);
        if (!root || !arr)
                return log_error_errno(-ENOMEM, "Failed to build JSON: %m");
        return cli_print_json(root);
}

static int run(int argc, char **argv)
{
        enum { ARG_VM = 0x100, ARG_EXPLAIN, ARG_JSON, ARG_RUNTIME_DIR };
        static const struct option options[] = {
                {"vm", required_argument, NULL, ARG_VM},
                {"explain", no_argument, NULL, ARG_EXPLAIN},
                {"json", no_argument, NULL, ARG_JSON},
                {"runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR},
                {0},
        };
        _cleanup_(argv_donep) struct vx_argv words = {0};
        _cleanup_(json_decrefp) json_t *status = NULL;
        _cleanup_free_ char *dir = NULL;
        const char *vm = NULL, *runtime_opt = NULL, *vm_name;
        bool explain = false, json = false;
        json_int_t pid;
        int c, r;

        while ((c = cli_getopt(argc, argv, "", options, &help, &r)) >= 0) {
                switch (c) {
                case ARG_VM:
                        vm = optarg;
                        break;
                case ARG_EXPLAIN:
                        explain = true;
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_RUNTIME_DIR:
                        runtime_opt = optarg;
                        break;
                default:
                        return VX_EXIT_USAGE;
                }
        }
        if (c == CLI_OPT_EXIT)
                return r;
        if (optind + 1 != argc)
                return cli_usage_error(argv[0], "showcmd takes one deployment.");

        r = cli_vm_status(argv[optind], runtime_opt, vm, &dir, &status);
        if (r != VX_EXIT_OK)
                return r;
        vm_name = json_string_value(json_object_get(status, "name"));
        pid = json_integer_value(json_object_get(status, "pid"));
        if (pid <= 0) {
                log_error("%s of %s is not running (state %s).", vm_name ? vm_name : "The VM", argv[optind],
                          json_string_value(json_object_get(status, "state")) ?: "unknown");
                return VX_EXIT_NOT_RUNNING;
        }

        if (explain) {
                /* Exactly what `vmxrun explain --pid PID` prints. */
                char pid_text[32];
                char *args[] = {"explain", "--pid", pid_text, json ? "--json" : NULL, NULL};

                snprintf(pid_text, sizeof(pid_text), "%lld", (long long)pid);
                optind = 0;
                return vx_cmd_explain.run(json ? 4 : 3, args);
        }

        if (read_cmdline((long)pid, &words) < 0)
                return VX_EXIT_FAILURE;
        r = json ? print_json(argv[optind], vm_name, (long)pid, &words) : cli_print_argv(words.items, words.n);
        if (r < 0)
                return VX_EXIT_FAILURE;
        if (fflush(stdout) != 0) {
                log_error_errno(-errno, "Failed to write the command line: %m");
                return VX_EXIT_FAILURE;
        }
        return VX_EXIT_OK;
}

const struct vx_command vx_cmd_showcmd = {
        .name = "showcmd",
        .summary = "print a running VM's QEMU command line (from /proc)",
        .run = run,
};
