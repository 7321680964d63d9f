/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vmxrun enable|disable NAME`: systemctl enable --now / disable --now
 * vmxrun@NAME.service, for a profile in /etc/vmxrun. enable validates the
 * profile first, so a broken one fails here and not in the journal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"

static const struct cli_help enable_help = {
        .usage = "vmxrun enable NAME",
        .description = "Validates /etc/vmxrun/NAME.yaml (or NAME.conf; the directory is $VMXRUN_CONFIG_DIR\n"
                       "when set), then runs `systemctl enable --now vmxrun@NAME.service`: the VMs start\n"
                       "now and at every boot.\n",
        .exit_status = "0 done, 1 systemctl failed, 2 bad usage or no such profile, 3 invalid profile.\n",
};

static const struct cli_help disable_help = {
        .usage = "vmxrun disable NAME",
        .description = "Runs `systemctl disable --now vmxrun@NAME.service`: the VMs stop now and no\n"
                       "longer start at boot. The profile stays in /etc/vmxrun.\n",
        .exit_status = "0 done, 1 systemctl failed, 2 bad usage.\n",
};

/* Runs systemctl (found on $PATH) with args, its output to ours. Returns its exit status, or -errno. */
static int systemctl(char *const args[])
{
        int status;
        pid_t pid = fork();

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                execvp("systemctl", args);
                fprintf(stderr, "vmxrun: error: cannot run systemctl: %s\n", strerror(errno));
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run(int argc, char **argv)
{
        static const struct option no_options[] = {{0}};
        _cleanup_(profile_freep) struct vx_profile *profile = NULL;
        _cleanup_free_ char *path = NULL, *unit = NULL;
        bool enable = strcmp(argv[0], "enable") == 0;
        const char *name;
        int r;

        /* No options of its own: cli_getopt() handles -h and -v, or ends the options. */
        if (cli_getopt(argc, argv, "", no_options, enable ? &enable_help : &disable_help, &r) == CLI_OPT_EXIT)
                return r;
        if (optind != argc - 1)
                return cli_usage_error(argv[0], "%s takes one profile NAME.", argv[0]);
        name = argv[optind];
        r = cli_find_profile(name, &path);
        if (r < 0)
                return log_error_errno(r, "Failed to look up %s: %m", name), VX_EXIT_FAILURE;
        if (r == 0 && (enable || strchr(name, '/') || strchr(name, '.'))) {
                log_error("No profile %s/%s.yaml or %s.conf; copy the profile there first.", cli_config_dir(), name,
                          name);
                return VX_EXIT_USAGE;
        }
        if (enable) {
                r = cli_load_profile(path, &profile);
                if (r != VX_EXIT_OK)
                        return r;
        }
        if (asprintf(&unit, "vmxrun@%s.service", name) < 0)
                return log_error("Out of memory."), VX_EXIT_FAILURE;
        {
                char *args[] = {"systemctl", enable ? "enable" : "disable", "--now", unit, NULL};

                r = systemctl(args);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to run systemctl: %m"), VX_EXIT_FAILURE;
        if (r != 0) {
                log_error("systemctl %s --now %s failed (exit status %d); `journalctl -u %s` says why.",
                          enable ? "enable" : "disable", unit, r, unit);
                return VX_EXIT_FAILURE;
        }
        return VX_EXIT_OK;
}

const struct vx_command vx_cmd_enable = {
        .name = "enable",
        .summary = "start a profile of /etc/vmxrun now and at boot (systemd)",
        .run = run,
};

const struct vx_command vx_cmd_disable = {
        .name = "disable",
        .summary = "stop it and no longer start it at boot",
        .run = run,
};
