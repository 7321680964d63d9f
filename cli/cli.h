/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The vmxrun command line: one file per command (cmd-<name>.c), each with a
 * run function that takes the arguments after the command name (argv[0] is
 * the command name) and returns the process exit status.
 */

#include <stdbool.h>

#include "plan.h"
#include "profile.h"

/* Exit statuses, documented in README.md. */
enum {
        VX_EXIT_OK = 0,
        VX_EXIT_FAILURE = 1,     /* the operation failed (QEMU, host, I/O) */
        VX_EXIT_USAGE = 2,       /* bad command line */
        VX_EXIT_INVALID = 3,     /* the input (profile, vmx.conf, argv) has errors */
        VX_EXIT_NOT_RUNNING = 4, /* the deployment or VM is not running */
        VX_EXIT_RUNNING = 5,     /* the deployment is already running; nothing was changed */
};

struct vx_command {
        const char *name;
        const char *summary; /* one line, for `vmxrun --help` */
        int (*run)(int argc, char **argv);
};

extern const struct vx_command vx_cmd_validate;
extern const struct vx_command vx_cmd_cmdline;
extern const struct vx_command vx_cmd_explain;

/*
 * Loads a profile and prints its diagnostics to stderr. Returns VX_EXIT_OK and
 * *ret, or the exit status to return (VX_EXIT_INVALID, VX_EXIT_FAILURE).
 */
int cli_load_profile(const char *path, struct vx_profile **ret);

/* Reads the host facts the plan needs from /sys, /proc and /dev. Returns 0 or -errno. */
int cli_host_facts(struct vx_host_facts **ret);
void cli_host_facts_free(struct vx_host_facts *facts);

/* Parses an accelerator name for --accel / VMXRUN_ACCEL. Returns 0 or -EINVAL. */
int cli_parse_accel(const char *s, enum vx_accel *ret);
