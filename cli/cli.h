/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The vmxrun command line: one file per command (cmd-<name>.c), each with a
 * run function that takes the arguments after the command name (argv[0] is
 * the command name) and returns the process exit status.
 */

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "cleanup.h"
#include "launcher.h"

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
extern const struct vx_command vx_cmd_start;
extern const struct vx_command vx_cmd_stop;
extern const struct vx_command vx_cmd_restart;
extern const struct vx_command vx_cmd_status;
extern const struct vx_command vx_cmd_list;
extern const struct vx_command vx_cmd_vcpuinfo;
extern const struct vx_command vx_cmd_qmp;
extern const struct vx_command vx_cmd_hmp;
extern const struct vx_command vx_cmd_console;
extern const struct vx_command vx_cmd_import;
extern const struct vx_command vx_cmd_showcmd;
extern const struct vx_command vx_cmd_bind;
extern const struct vx_command vx_cmd_unbind;
extern const struct vx_command vx_cmd_doctor;
extern const struct vx_command vx_cmd_pin;
extern const struct vx_command vx_cmd_metrics;
extern const struct vx_command vx_cmd_enable;
extern const struct vx_command vx_cmd_disable;

/*
 * A command's --help, in the sections every command has: "Usage:", its
 * description, "Options:" (the command's own, then -v and -h, which
 * cli_getopt() handles) and "Exit status:".
 */
struct cli_help {
        const char *usage;       /* after "Usage: "; further lines start with "       vmxrun" */
        const char *description; /* lines ending in '\n' */
        const char *options;     /* the command's option lines ("      --json  print JSON\n"), or NULL */
        const char *exit_status; /* after "Exit status: ", lines ending in '\n' */
};

void cli_help_print(FILE *out, const struct cli_help *help);

/*
 * getopt_long over a command's options plus -h/--help and -v/--verbose,
 * which it handles itself: --help prints help on stdout, -v turns on debug
 * logging (accepted after the command as before it). Returns the next option
 * of the command's own as getopt_long does, -1 at the end, or CLI_OPT_EXIT
 * with *ret_exit set: VX_EXIT_OK after --help, VX_EXIT_USAGE after a bad
 * option, which it said in one line with cli_usage_error().
 */
#define CLI_OPT_EXIT (-2)
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, const struct cli_help *help,
               int *ret_exit);

/*
 * A usage error of command cmd (NULL: vmxrun itself): one line saying what is
 * wrong, then "Try 'vmxrun CMD --help'.", on stderr. Returns VX_EXIT_USAGE.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The value of a duration option of command cmd (option: "--timeout"): whole
 * seconds, decimal digits only, from 0 to max. Returns VX_EXIT_OK with *ret,
 * or VX_EXIT_USAGE after a cli_usage_error() naming the option and the value
 * (an empty value is malformed).
 */
int cli_parse_seconds(const char *cmd, const char *option, const char *value, int max, int *ret);

/*
 * Loads a profile and prints its diagnostics to stderr. Returns VX_EXIT_OK and
 * *ret, or the exit status to return (VX_EXIT_INVALID, VX_EXIT_FAILURE).
 * A vmx.conf (found by its content: HOST, CONTROL_PLANE or FORWARDING_PLANE at
 * the top level) is imported in memory first (profiles/import/vmxconf.h).
 */
int cli_load_profile(const char *path, struct vx_profile **ret);

/*
 * --set PATH=VALUE (docs/profile.md, "Values from the command line"): kept in
 * the order given, for cli_load_profile() and cli_plan_profile() (whose
 * opts->sets they become when it has none). Returns 0 or -ENOMEM (logged).
 */
int cli_add_set(const char *set);
struct vx_profile_sets cli_sets(void);

/*
 * Loads a profile (or a vmx.conf) and plans it for this host: host facts read
 * under root (NULL or "": "/"), accel ("kvm"/"tcg") forced on every VM unless
 * NULL or "", into opts (its other fields are used as given). Returns
 * VX_EXIT_OK with *ret_profile and *ret_plan (the plan points into the
 * profile), or an exit status after printing why.
 */
int cli_plan_profile(const char *path, const char *accel, const char *root, struct vx_plan_options *opts,
                     struct vx_profile **ret_profile, struct vx_plan **ret_plan);
/* cli_plan_profile(), also handing back the host facts it planned with (launcher_plan_profile_facts()). */
int cli_plan_profile_facts(const char *path, const char *accel, const char *root, struct vx_plan_options *opts,
                           struct vx_profile **ret_profile, struct vx_plan **ret_plan,
                           struct vx_host_facts **ret_facts);

#define VX_DEFAULT_CONFIG_DIR "/etc/vmxrun"

/* Where the profiles systemd starts live: $VMXRUN_CONFIG_DIR, else /etc/vmxrun. */
const char *cli_config_dir(void);

/*
 * A bare NAME (no '/', no '.', not a file in the current directory) names the
 * profile cli_config_dir()/NAME.yaml, or else NAME.conf (a vmx.conf), as
 * vmxrun@NAME.service starts it. Returns 1 with *ret_path (free()) when one
 * exists, 0 when arg is not a bare name or neither file exists, -ENOMEM.
 */
int cli_find_profile(const char *arg, char **ret_path);

/* The runtime directory: --runtime-dir, else $VMXRUN_RUNTIME_DIR, else NULL (the profile's or /run/vmxrun). */
const char *cli_runtime_dir(const char *option);

/*
 * Finds a deployment's runtime dir from its name or from a profile path
 * (a file that exists, or a name ending in .yaml/.yml). Returns VX_EXIT_OK
 * with *ret_dir (free()), or an exit status after printing why.
 */
int cli_resolve_deployment(const char *name_or_profile, const char *runtime_dir, char **ret_dir);

/*
 * Runs the supervisor of a planned deployment, in the foreground or as a
 * daemon (then it returns once the start is over). Takes ownership of
 * profile and plan. Returns the exit status.
 */
int cli_supervise(struct vx_profile *profile, struct vx_plan *plan, const char *profile_path,
                  const char *profile_text, const struct vx_plan_options *plan_options, bool foreground,
                  bool wait_ready);

/*
 * Makes sure a supervisor serves the deployment: when the last one died and
 * left VMs running, a new one adopts them (from the state file and the
 * profile copy in the runtime dir). Returns VX_EXIT_OK, VX_EXIT_NOT_RUNNING
 * or VX_EXIT_FAILURE (printed).
 */
int cli_ensure_supervisor(const char *deployment_dir);

/*
 * The status object of the deployment at dir (docs/status-json.md, without
 * "ok"), adopting VMs first when their supervisor died. Returns VX_EXIT_OK
 * with *ret (json_decref()), or an exit status after printing why (nothing
 * for a deployment that is not running when quiet_if_down).
 */
int cli_status(const char *dir, bool quiet_if_down, json_t **ret);

/* The status objects of every running deployment under root, as a JSON array (never NULL on VX_EXIT_OK). */
int cli_statuses(const char *root, json_t **ret);

/* Sends a control request; prints the error and returns an exit status, or VX_EXIT_OK with *ret. */
int cli_call(const char *deployment_dir, json_t *request, int timeout_ms, json_t **ret);

/*
 * For the per-VM commands: resolves the deployment, makes sure a supervisor
 * serves it, and returns the status object of VM vm (NULL: the only one).
 * Returns VX_EXIT_OK with *ret_dir (free()) and *ret_vm (json_decref()), or
 * an exit status after printing why.
 */
int cli_vm_status(const char *name_or_profile, const char *runtime_opt, const char *vm, char **ret_dir,
                  json_t **ret_vm);

/*
 * Prints a command line shell-quoted, one option per line (an item starting
 * with '-' opens a line; its values follow on it), to stdout. Returns 0 or
 * -ENOMEM (logged).
 */
int cli_print_argv(char *const *items, size_t n);

/*
 * Prints v as indented JSON (members in insertion order; any JSON value) and
 * a newline on stdout: the one format every --json uses. Returns 0, or -EIO
 * (logged) when stdout could not take it.
 */
int cli_print_json(json_t *v);

/*
 * The one mapping from a negative errno (launcher.h's contract) to an exit
 * status: -EINVAL/-EFBIG invalid input, -ESRCH not running, -EBUSY already
 * running, any other error 1. 0 is 0; a positive value is returned as is.
 */
int cli_exit_status(int r);

/*
 * A pre-flight's results (launcher_preflight()) as the JSON array doctor
 * prints (docs/doctor-json.md), positions from the profile; NULL on -ENOMEM.
 */
struct vx_checks;
json_t *cli_checks_json(const struct vx_profile *profile, const struct vx_checks *checks);

/* Logs each result of at least that status (enum vx_check_status) with its position and fix. */
void cli_log_checks(const struct vx_profile *profile, const struct vx_checks *checks, int at_least);

/* Parses an accelerator name for --accel / VMXRUN_ACCEL. Returns 0 or -EINVAL. */
int cli_parse_accel(const char *s, enum vx_accel *ret);
