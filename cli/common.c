/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include <sys/stat.h>

#include "launcher.h"
#include "log.h"

/*
 * A runtime directory from the command line or the environment goes into
 * QEMU's options (-chardev ...,path=DIR/...): it passes the checks a profile
 * value passes, so '/tmp/x,logfile=/tmp/i' cannot add an option.
 */
static bool valid_runtime_dir(const char *s)
{
        if (s[0] != '/')
                return false;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p == ',' || *p == '=' || *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

/* What useradd takes: [a-z_][a-z0-9_-]*, up to 32 bytes. */
static bool valid_user_name(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 32 || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z')))
                return false;
        return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* Bad input (errors, a file too large) is 3; a file that could not be read is 1 (the diagnostics said why). */
static int load_status(int r)
{
        return r == -EINVAL || r == -EFBIG ? VX_EXIT_INVALID : r < 0 ? VX_EXIT_FAILURE : VX_EXIT_OK;
}

static int print_diags(struct vx_diags *diags, int r)
{
        diag_print(diags, stderr);
        diag_done(diags);
        return r;
}

/* Static, so they live as long as the process (a daemon's plan options point at them). */
static const char **sets;
static size_t n_sets;

int cli_add_set(const char *set)
{
        const char **s = realloc(sets, (n_sets + 1) * sizeof(*s));

        if (!s)
                return log_error_errno(-ENOMEM, "Out of memory.");
        sets = s;
        sets[n_sets++] = set;
        return 0;
}

struct vx_profile_sets cli_sets(void)
{
        return (struct vx_profile_sets){.items = sets, .n = n_sets};
}

int cli_load_profile(const char *path, struct vx_profile **ret)
{
        struct vx_diags diags = {};
        struct vx_profile_sets s = cli_sets();
        int r = print_diags(&diags, launcher_load_profile(path, &s, &diags, ret));

        if (r == -ENOMEM)
                log_error_errno(r, "Failed to load %s: %m", path);
        return load_status(r);
}

int cli_plan_profile(const char *path, const char *accel, const char *root, struct vx_plan_options *opts,
                     struct vx_profile **ret_profile, struct vx_plan **ret_plan)
{
        return cli_plan_profile_facts(path, accel, root, opts, ret_profile, ret_plan, NULL);
}

int cli_plan_profile_facts(const char *path, const char *accel, const char *root, struct vx_plan_options *opts,
                           struct vx_profile **ret_profile, struct vx_plan **ret_plan, struct vx_host_facts **ret_facts)
{
        struct vx_diags diags = {};
        int r;

        if (accel && *accel) {
                if (cli_parse_accel(accel, &opts->accel) < 0) {
                        log_error("unknown accelerator '%s': use kvm or tcg.", accel);
                        return VX_EXIT_USAGE;
                }
                opts->force_accel = true;
        }
        if (opts->runtime_dir && !valid_runtime_dir(opts->runtime_dir)) {
                log_error("runtime directory '%s' (--runtime-dir or VMXRUN_RUNTIME_DIR): it must be an absolute "
                          "path without ',', '=' or control characters, which QEMU's options cannot carry.",
                          opts->runtime_dir);
                return VX_EXIT_USAGE;
        }
        if (!opts->qemu_user)
                opts->qemu_user = getenv("VMXRUN_QEMU_USER");
        if (opts->qemu_user && !valid_user_name(opts->qemu_user)) {
                log_error("VMXRUN_QEMU_USER: '%s' is not a user name.", opts->qemu_user);
                return VX_EXIT_USAGE;
        }
        if (opts->sets.n == 0)
                opts->sets = cli_sets();
        r = print_diags(&diags,
                        launcher_plan_profile_facts(path, root, opts, &diags, ret_profile, ret_plan, ret_facts));
        if (r == -ENOMEM)
                log_error_errno(r, "Failed to load %s: %m", path);
        return load_status(r);
}

int cli_supervise(struct vx_profile *profile, struct vx_plan *plan, const char *profile_path, const char *profile_text,
                  const struct vx_plan_options *plan_options, bool foreground, bool wait_ready)
{
        struct vx_launch_options lo = {
                .profile_path = profile_path,
                .profile_text = profile_text,
                .plan_options = *plan_options,
                .foreground = foreground,
                .wait_ready = wait_ready,
        };
        int r = launcher_start(profile, plan, &lo);

        /* Not ready in time is a failed --wait (1); the VMs keep running. */
        return r == -ETIME ? VX_EXIT_FAILURE : cli_exit_status(r);
}

int cli_ensure_supervisor(const char *deployment_dir)
{
        return cli_exit_status(launcher_ensure_supervisor(deployment_dir));
}

int cli_call(const char *deployment_dir, json_t *request, int timeout_ms, json_t **ret)
{
        return cli_exit_status(launcher_call(deployment_dir, request, timeout_ms, ret));
}

const char *cli_runtime_dir(const char *option)
{
        if (option)
                return option;
        return getenv("VMXRUN_RUNTIME_DIR");
}

static bool looks_like_profile(const char *arg)
{
        size_t len = strlen(arg);
        struct stat st;

        if ((len > 5 && strcmp(arg + len - 5, ".yaml") == 0) || (len > 4 && strcmp(arg + len - 4, ".yml") == 0))
                return true;
        return strchr(arg, '/') && stat(arg, &st) == 0 && S_ISREG(st.st_mode);
}

static bool deployment_exists(const char *root, const char *name)
{
        _cleanup_free_ char *dir = NULL;

        if (asprintf(&dir, "%s/%s", root ?: VX_DEFAULT_RUNTIME_DIR, name) < 0)
                return false;
        return access(dir, F_OK) == 0;
}

int cli_resolve_deployment(const char *arg, const char *runtime_dir, char **ret_dir)
{
        _cleanup_(profile_freep) struct vx_profile *profile = NULL;
        _cleanup_free_ char *found = NULL;
        const char *root = runtime_dir, *name = arg;
        char *dir;
        int r;

        /* A NAME that is not running but has a profile in /etc/vmxrun: its profile says its deployment name. */
        if (!looks_like_profile(arg) && cli_find_profile(arg, &found) > 0 && !deployment_exists(root, arg))
                arg = found;
        if (looks_like_profile(arg)) {
                r = cli_load_profile(arg, &profile);
                if (r != VX_EXIT_OK)
                        return r;
                name = profile->name;
                if (!root)
                        root = profile->host.runtime_dir;
        }
        if (!root)
                root = VX_DEFAULT_RUNTIME_DIR;
        if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
                log_error("'%s' is not a deployment name.", name);
                return VX_EXIT_USAGE;
        }
        if (asprintf(&dir, "%s/%s", root, name) < 0)
                return log_error("Out of memory."), VX_EXIT_FAILURE;
        *ret_dir = dir;
        return VX_EXIT_OK;
}

int cli_parse_accel(const char *s, enum vx_accel *ret)
{
        if (!s)
                return -EINVAL;
        if (strcmp(s, "kvm") == 0)
                *ret = VX_ACCEL_KVM;
        else if (strcmp(s, "tcg") == 0)
                *ret = VX_ACCEL_TCG;
        else
                return -EINVAL;
        return 0;
}

const char *cli_config_dir(void)
{
        const char *dir = getenv("VMXRUN_CONFIG_DIR");

        return dir && *dir ? dir : VX_DEFAULT_CONFIG_DIR;
}

static bool is_bare_name(const char *arg)
{
        return *arg && arg[0] != '.' && !strchr(arg, '/') && !strchr(arg, '.');
}

int cli_find_profile(const char *arg, char **ret_path)
{
        static const char *const exts[] = {".yaml", ".conf"};

        if (!is_bare_name(arg) || access(arg, F_OK) == 0)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(exts); i++) {
                char *path;

                if (asprintf(&path, "%s/%s%s", cli_config_dir(), arg, exts[i]) < 0)
                        return -ENOMEM;
                if (access(path, F_OK) == 0) {
                        *ret_path = path;
                        return 1;
                }
                free(path);
        }
        return 0;
}

int cli_status(const char *dir, bool quiet_if_down, json_t **ret)
{
        json_t *req, *answer = NULL;
        int r;

        r = cli_ensure_supervisor(dir);
        if (r == VX_EXIT_NOT_RUNNING && !quiet_if_down)
                log_error("%s is not running.", dir);
        if (r != VX_EXIT_OK)
                return r;
        req = json_pack("{s:s}", "cmd", "status");
        if (!req)
                return log_error("Out of memory."), VX_EXIT_FAILURE;
        r = cli_call(dir, req, 30000, &answer);
        json_decref(req);
        if (r != VX_EXIT_OK)
                return r;
        json_object_del(answer, "ok");
        *ret = answer;
        return VX_EXIT_OK;
}

int cli_statuses(const char *root, json_t **ret)
{
        json_t *all = json_array();
        struct dirent *de;
        DIR *d;

        if (!all)
                return log_error("Out of memory."), VX_EXIT_FAILURE;
        d = opendir(root);
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *dir = NULL;
                json_t *answer;

                if (de->d_name[0] == '.' || asprintf(&dir, "%s/%s", root, de->d_name) < 0)
                        continue;
                if (cli_status(dir, true, &answer) == VX_EXIT_OK)
                        json_array_append_new(all, answer);
        }
        if (d)
                closedir(d);
        *ret = all;
        return VX_EXIT_OK;
}

/* The column where the first option line's text starts, so that -v and -h line up with it. */
static int option_column(const char *options)
{
        const char *p = options, *gap;

        if (!p)
                return 20;
        p += strspn(p, " ");
        gap = strstr(p, "  ");
        if (!gap || gap > p + strcspn(p, "\n"))
                return 20;
        return (int)(gap - options + strspn(gap, " "));
}

void cli_help_print(FILE *out, const struct cli_help *h)
{
        int col = option_column(h->options);

        if (col < (int)strlen("  -v, --verbose  "))
                col = (int)strlen("  -v, --verbose  ");

        fprintf(out, "Usage: %s\n\n%s\nOptions:\n%s", h->usage, h->description, h->options ?: "");
        fprintf(out, "%-*s%s\n", col, "  -v, --verbose", "log debug messages");
        fprintf(out, "%-*s%s\n", col, "  -h, --help", "show this help");
        fprintf(out, "\nExit status: %s", h->exit_status);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
        va_list ap;

        fputs("vmxrun: error: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'vmxrun %s%s--help'.\n", cmd ?: "", cmd ? " " : "");
        return VX_EXIT_USAGE;
}

int cli_parse_seconds(const char *cmd, const char *option, const char *value, int max, int *ret)
{
        size_t n = strlen(value);
        long v;

        /* Digits only: strtol() alone takes "", " 5", "+5" and "-0". */
        if (n == 0 || n > 10 || strspn(value, "0123456789") != n || (v = strtol(value, NULL, 10)) > max)
                return cli_usage_error(cmd, "%s takes a number of seconds (0 to %d), not '%s'.", option, max, value);
        *ret = (int)v;
        return VX_EXIT_OK;
}

/* Says what getopt_long refused: an unknown option, a missing value, a value given to a flag. */
static int option_error(char **argv, const char *shortopts)
{
        const char *arg = argv[optind - 1] ?: "";

        if (strncmp(arg, "--", 2) == 0) {
                size_t len = strcspn(arg, "=");

                if (optopt == 0)
                        return cli_usage_error(argv[0], "unknown option '%.*s'.", (int)len, arg);
                if (arg[len] == '=')
                        return cli_usage_error(argv[0], "option '%.*s' takes no value.", (int)len, arg);
                return cli_usage_error(argv[0], "option '%s' needs a value.", arg);
        }
        if (optopt && strchr(shortopts, optopt) && strchr(shortopts, optopt)[1] == ':')
                return cli_usage_error(argv[0], "option '-%c' needs a value.", optopt);
        return cli_usage_error(argv[0], "unknown option '-%c'.", optopt ? optopt : '?');
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts, const struct cli_help *help,
               int *ret_exit)
{
        /* Above any value a command gives its own long options (they start at 0x100). */
        enum { OPT_HELP = 0x10000, OPT_VERBOSE };
        static struct option all[32];
        char shorts[64];
        size_t n = 0;
        int c, index = -1;

        while (longopts[n].name && n < ELEMENTSOF(all) - 3) {
                all[n] = longopts[n];
                n++;
        }
        all[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
        all[n++] = (struct option){"verbose", no_argument, NULL, OPT_VERBOSE};
        all[n] = (struct option){0};
        snprintf(shorts, sizeof(shorts), "%shv", shortopts);
        opterr = 0; /* option_error says it in vmxrun's words */

        for (;;) {
                c = getopt_long(argc, argv, shorts, all, &index);
                /* A command's long option may have 'v' or 'h' as its value: only the short forms are ours. */
                if ((c == 'v' && index < 0) || c == OPT_VERBOSE) {
                        log_set_max_level(VX_LOG_DEBUG);
                        index = -1;
                        continue;
                }
                if ((c == 'h' && index < 0) || c == OPT_HELP) {
                        cli_help_print(stdout, help);
                        *ret_exit = VX_EXIT_OK;
                        return CLI_OPT_EXIT;
                }
                if (c == '?') {
                        *ret_exit = option_error(argv, shortopts);
                        return CLI_OPT_EXIT;
                }
                return c;
        }
}
