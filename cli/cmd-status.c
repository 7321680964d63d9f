/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "log.h"

static const struct cli_help list_help = {
        .usage = "vmxrun list [--json] [--runtime-dir DIR]",
        .description = "One line per VM, like `virsh list --all`: the VMs of the running deployments,\n"
                       "then those of the profiles in /etc/vmxrun ($VMXRUN_CONFIG_DIR) that are not\n"
                       "running, as \"shut off\".\n",
        .options = "      --json             print the running deployments' status (docs/status-json.md)\n"
                   "      --runtime-dir DIR  runtime directory (also $VMXRUN_RUNTIME_DIR)\n",
        .exit_status = "0 listed, 1 failed, 2 bad usage.\n",
};

static const struct cli_help status_help = {
        .usage = "vmxrun status [NAME|PROFILE.yaml] [--json] [--runtime-dir DIR]",
        .description = "Shows each VM's state (from QMP), pid, uptime, restarts and the host CPUs of\n"
                       "each vCPU thread as the kernel has them (Cpus_allowed_list). Without NAME,\n"
                       "every running deployment.\n",
        .options = "      --json             print the format docs/status-json.md describes, for scripts\n"
                   "      --runtime-dir DIR  runtime directory (also $VMXRUN_RUNTIME_DIR)\n",
        .exit_status = "0 running, 1 failed, 2 bad usage, 4 not running.\n",
};

/* One line per NIC, read live over netlink by the supervisor. */
static void print_nic(json_t *nic)
{
        const char *type = json_string_value(json_object_get(nic, "type"));
        const char *tap = json_string_value(json_object_get(nic, "tap"));

        if (!tap) {
                printf("    nic %-6s guest MAC %s\n", type ?: "?",
                       json_string_value(json_object_get(nic, "guest_mac")) ?: "(QEMU's)");
                return;
        }
        if (json_is_false(json_object_get(nic, "exists"))) {
                printf("    nic %-15s (not present)\n", tap);
                return;
        }
        printf("    nic %-15s bridge %-12s mac %s mtu %lld %s rx %lld B tx %lld B\n", tap,
               json_string_value(json_object_get(nic, "bridge")) ?: "-",
               json_string_value(json_object_get(nic, "guest_mac")) ?: "?",
               json_integer_value(json_object_get(nic, "mtu")),
               json_string_value(json_object_get(nic, "operstate")) ?: "?",
               json_integer_value(json_object_get(nic, "rx_bytes")),
               json_integer_value(json_object_get(nic, "tx_bytes")));
}

static void print_vm(json_t *vm)
{
        json_t *vcpus = json_object_get(vm, "vcpus"), *v;
        const char *run_state = json_string_value(json_object_get(vm, "run_state"));
        const char *emu = json_string_value(json_object_get(json_object_get(vm, "emulator"), "cpus"));
        const char *err = json_string_value(json_object_get(vm, "last_error"));
        char uptime[32];
        size_t i;

        snprintf(uptime, sizeof(uptime), "%llds", json_integer_value(json_object_get(vm, "uptime_s")));
        printf("  %-16s %-10s pid %-8lld up %-8s restarts %-3lld %s%s%s\n",
               json_string_value(json_object_get(vm, "name")), json_string_value(json_object_get(vm, "state")),
               json_integer_value(json_object_get(vm, "pid")), uptime,
               json_integer_value(json_object_get(vm, "restarts")), json_string_value(json_object_get(vm, "accel")),
               run_state ? " qemu:" : "", run_state ?: "");
        if (json_object_get(vm, "waiting_for"))
                printf("    waiting for %s\n", json_string_value(json_object_get(vm, "waiting_for")));
        else if (json_object_get(vm, "ready") && !json_is_true(json_object_get(vm, "ready")))
                printf("    not ready yet\n");
        json_array_foreach(vcpus, i, v)
                printf("    vCPU %-3lld thread %-8lld CPUs %s\n", json_integer_value(json_object_get(v, "index")),
                       json_integer_value(json_object_get(v, "thread_id")),
                       json_string_value(json_object_get(v, "cpus")) ?: "?");
        if (emu)
                printf("    emulator threads  CPUs %s\n", emu);
        json_array_foreach(json_object_get(vm, "nics"), i, v)
                print_nic(v);
        if (err)
                printf("    last error: %s\n", err);
}

static void print_deployment(json_t *answer)
{
        json_t *vm;
        size_t i;

        printf("%s (profile %s, supervisor pid %lld)\n", json_string_value(json_object_get(answer, "deployment")),
               json_string_value(json_object_get(answer, "profile")),
               json_integer_value(json_object_get(answer, "supervisor_pid")));
        json_array_foreach(json_object_get(answer, "vms"), i, vm) print_vm(vm);
}

static int status_all(const char *root, bool json)
{
        json_t *all = NULL, *o, *d;
        size_t i;
        int r;

        r = cli_statuses(root, &all);
        if (r != VX_EXIT_OK)
                return r;
        if (json) {
                o = json_pack("{s:i, s:o}", "version", 1, "deployments", all);
                r = cli_print_json(o) < 0 ? VX_EXIT_FAILURE : VX_EXIT_OK;
                json_decref(o);
                return r;
        }
        json_array_foreach(all, i, d) print_deployment(d);
        if (json_array_size(all) == 0)
                printf("No deployment is running (runtime directory %s).\n", root);
        json_decref(all);
        return VX_EXIT_OK;
}

static bool is_running(json_t *all, const char *name)
{
        json_t *d;
        size_t i;

        json_array_foreach(all, i, d) if (strcmp(json_string_value(json_object_get(d, "deployment")) ?: "", name) ==
                                          0) return true;
        return false;
}

static int profile_file(const struct dirent *de)
{
        size_t len = strlen(de->d_name);

        return de->d_name[0] != '.' && ((len > 5 && strcmp(de->d_name + len - 5, ".yaml") == 0) ||
                                        (len > 5 && strcmp(de->d_name + len - 5, ".conf") == 0));
}

/* The VMs of the profiles in the config dir whose deployment is not running, as "shut off". */
static void list_profiles(json_t *running)
{
        const char *dir = cli_config_dir();
        struct dirent **des = NULL;
        int n = scandir(dir, &des, profile_file, alphasort);

        for (int i = 0; i < n; i++) {
                _cleanup_(profile_freep) struct vx_profile *p = NULL;
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%s/%s", dir, des[i]->d_name) >= 0) {
                        if (cli_load_profile(path, &p) != VX_EXIT_OK)
                                printf(" %-8s %-16s %-16s invalid (vmxrun validate %s)\n", "-", des[i]->d_name, "-",
                                       path);
                        else if (!is_running(running, p->name))
                                for (size_t v = 0; v < p->n_vms; v++)
                                        printf(" %-8s %-16s %-16s shut off\n", "-", p->name, p->vms[v].name);
                }
                free(des[i]);
        }
        free(des);
}

/* One line per VM, like `virsh list --all`: the running ones, then the profiles of the config dir. */
static int list_all(const char *root)
{
        json_t *all = NULL, *d, *vm;
        size_t i, j;
        int r;

        r = cli_statuses(root, &all);
        if (r != VX_EXIT_OK)
                return r;
        printf(" %-8s %-16s %-16s %s\n", "PID", "Deployment", "VM", "State");
        printf("%s\n", "-----------------------------------------------------------");
        json_array_foreach(all, i, d) json_array_foreach(json_object_get(d, "vms"), j, vm)
        {
                char pid[24] = "-";

                if (json_integer_value(json_object_get(vm, "pid")) > 0)
                        snprintf(pid, sizeof(pid), "%lld", json_integer_value(json_object_get(vm, "pid")));
                printf(" %-8s %-16s %-16s %s\n", pid, json_string_value(json_object_get(d, "deployment")),
                       json_string_value(json_object_get(vm, "name")), json_string_value(json_object_get(vm, "state")));
        }
        list_profiles(all);
        json_decref(all);
        return fflush(stdout) == 0 ? VX_EXIT_OK : VX_EXIT_FAILURE;
}

static int run(int argc, char **argv)
{
        static const struct option options[] = {
                {"json", no_argument, NULL, 'j'},
                {"runtime-dir", required_argument, NULL, 'r'},
                {0},
        };
        const char *runtime_opt = NULL, *root;
        bool json = false, list = strcmp(argv[0], "list") == 0;
        int c, r;

        while ((c = cli_getopt(argc, argv, "", options, list ? &list_help : &status_help, &r)) >= 0) {
                switch (c) {
                case 'j':
                        json = true;
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
        root = cli_runtime_dir(runtime_opt) ?: VX_DEFAULT_RUNTIME_DIR;
        if (list || optind == argc) {
                if (optind != argc)
                        return cli_usage_error(argv[0], "list takes no argument.");
                return list && !json ? list_all(root) : status_all(root, json);
        }
        if (optind != argc - 1)
                return cli_usage_error(argv[0], "status takes at most one deployment.");
        {
                _cleanup_free_ char *dir = NULL;
                json_t *answer = NULL;

                r = cli_resolve_deployment(argv[optind], cli_runtime_dir(runtime_opt), &dir);
                if (r == VX_EXIT_OK)
                        r = cli_status(dir, false, &answer);
                if (r != VX_EXIT_OK)
                        return r;
                if (json)
                        r = cli_print_json(answer) < 0 ? VX_EXIT_FAILURE : VX_EXIT_OK;
                else
                        print_deployment(answer);
                json_decref(answer);
                return r;
        }
}

const struct vx_command vx_cmd_status = {
        .name = "status",
        .summary = "show the state of a deployment's VMs",
        .run = run,
};

const struct vx_command vx_cmd_list = {
        .name = "list",
        .summary = "list the VMs, running or not (profiles in /etc/vmxrun)",
        .run = run,
};
