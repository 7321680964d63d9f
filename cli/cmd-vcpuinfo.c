/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "affinity.h"
#include "cleanup.h"
#include "cli.h"
#include "log.h"

/* docs/vcpuinfo-json.md */
#define VX_VCPUINFO_JSON_VERSION 1

static const struct cli_help help = {
        .usage = "vmxrun vcpuinfo NAME|PROFILE.yaml [--vm VM] [--json] [--runtime-dir DIR]",
        .description = "Like `virsh vcpuinfo`: for each vCPU its host thread, the CPU it last ran on,\n"
                       "its CPU time and its affinity mask (y = allowed); then QEMU's other threads.\n"
                       "Read live from /proc, not from vmxrun's records.\n",
        .options = "      --vm VM            the VM (needed when the deployment has several)\n"
                   "      --json             print JSON (docs/vcpuinfo-json.md)\n"
                   "      --runtime-dir DIR  runtime directory (also $VMXRUN_RUNTIME_DIR)\n",
        .exit_status = "0 printed, 1 failed, 2 bad usage, 4 not running.\n",
};

/* QEMU names its threads with debug-threads=on ("CPU 0/KVM", "call_rcu", "worker"). */
static const char *thread_name(pid_t pid, pid_t tid)
{
        static char name[64];
        char path[64];
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, (int)tid);
        name[0] = '\0';
        f = fopen(path, "re");
        if (f) {
                if (fgets(name, sizeof(name), f))
                        name[strcspn(name, "\n")] = '\0';
                fclose(f);
        }
        return name;
}

static json_t *thread_info(pid_t pid, pid_t tid, unsigned ncpus)
{
        struct vx_cpuset set;
        unsigned long long ns = 0;
        int last_cpu = -1;
        _cleanup_free_ char *mask = NULL, *list = NULL;

        if (affinity_thread_stat(NULL, pid, tid, &last_cpu, &ns) < 0 || affinity_read_status(NULL, pid, tid, &set) < 0)
                return NULL;
        mask = vx_cpuset_format_mask(&set, ncpus);
        list = vx_cpuset_format(&set);
        /* Milliseconds are what a CPU time means to a reader: rounded, so the JSON says 1.234, not 1.23400000001. */
        return json_pack("{s:i, s:s, s:i, s:f, s:s, s:s}", "thread_id", (int)tid, "name", thread_name(pid, tid), "cpu",
                         last_cpu, "cpu_time_s", (double)((ns + 500000) / 1000000) / 1e3, "affinity", mask ?: "",
                         "cpus", list ?: "");
}

/* Every thread of QEMU pid, read live: the vCPUs the status names, then the rest. */
static json_t *collect(json_t *status, pid_t pid)
{
        unsigned ncpus = (unsigned)sysconf(_SC_NPROCESSORS_CONF);
        _cleanup_free_ pid_t *tids = NULL;
        json_t *out, *vcpus, *emulator, *v;
        size_t n_tids = 0, i;

        out = json_pack("{s:i, s:s, s:i, s:[], s:[]}", "version", VX_VCPUINFO_JSON_VERSION, "name",
                        json_string_value(json_object_get(status, "name")), "pid", (int)pid, "vcpus", "emulator");
        if (!out)
                return NULL;
        vcpus = json_object_get(out, "vcpus");
        emulator = json_object_get(out, "emulator");
        json_array_foreach(json_object_get(status, "vcpus"), i, v)
        {
                json_t *t = thread_info(pid, (pid_t)json_integer_value(json_object_get(v, "thread_id")), ncpus);
                if (t) {
                        json_object_set_new(t, "vcpu", json_integer(json_integer_value(json_object_get(v, "index"))));
                        json_array_append_new(vcpus, t);
                }
        }
        if (affinity_list_threads(NULL, pid, &tids, &n_tids) >= 0)
                for (size_t k = 0; k < n_tids; k++) {
                        bool is_vcpu = false;
                        json_array_foreach(json_object_get(status, "vcpus"), i, v) is_vcpu =
                                is_vcpu || json_integer_value(json_object_get(v, "thread_id")) == tids[k];
                        if (!is_vcpu) {
                                json_t *t = thread_info(pid, tids[k], ncpus);
                                if (t)
                                        json_array_append_new(emulator, t);
                        }
                }
        return out;
}

/* As virsh vcpuinfo prints it, then one line per emulator thread. */
static void print_text(json_t *out)
{
        json_t *v;
        size_t i;

        json_array_foreach(json_object_get(out, "vcpus"), i, v) printf(
                "VCPU:           %lld\nThread:         %lld\nCPU:            %lld\n"
                "CPU time:       %.1fs\nCPU Affinity:   %s\n\n",
                json_integer_value(json_object_get(v, "vcpu")), json_integer_value(json_object_get(v, "thread_id")),
                json_integer_value(json_object_get(v, "cpu")), json_real_value(json_object_get(v, "cpu_time_s")),
                json_string_value(json_object_get(v, "affinity")));
        json_array_foreach(json_object_get(out, "emulator"), i, v) printf(
                "Emulator thread %-8lld %-16s CPU %-3lld time %7.1fs  affinity %s\n",
                json_integer_value(json_object_get(v, "thread_id")), json_string_value(json_object_get(v, "name")),
                json_integer_value(json_object_get(v, "cpu")), json_real_value(json_object_get(v, "cpu_time_s")),
                json_string_value(json_object_get(v, "affinity")));
}

static int run(int argc, char **argv)
{
        static const struct option options[] = {
                {"vm", required_argument, NULL, 'v'},
                {"json", no_argument, NULL, 'j'},
                {"runtime-dir", required_argument, NULL, 'r'},
                {0},
        };
        const char *vm = NULL, *runtime_opt = NULL;
        _cleanup_free_ char *dir = NULL;
        json_t *status = NULL, *out;
        bool json = false;
        pid_t pid;
        int c, r;

        while ((c = cli_getopt(argc, argv, "", options, &help, &r)) >= 0) {
                switch (c) {
                case 'v':
                        vm = optarg;
                        break;
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
        if (optind != argc - 1)
                return cli_usage_error(argv[0], "vcpuinfo takes one deployment.");
        r = cli_vm_status(argv[optind], runtime_opt, vm, &dir, &status);
        if (r != VX_EXIT_OK)
                return r;
        pid = (pid_t)json_integer_value(json_object_get(status, "pid"));
        if (pid <= 0) {
                log_error("%s is %s.", json_string_value(json_object_get(status, "name")),
                          json_string_value(json_object_get(status, "state")));
                json_decref(status);
                return VX_EXIT_NOT_RUNNING;
        }
        out = collect(status, pid);
        if (!out) {
                json_decref(status);
                return log_error("Out of memory."), VX_EXIT_FAILURE;
        }
        if (json)
                (void)cli_print_json(out);
        else
                print_text(out);
        json_decref(out);
        json_decref(status);
        return VX_EXIT_OK;
}

const struct vx_command vx_cmd_vcpuinfo = {
        .name = "vcpuinfo",
        .summary = "show each vCPU's thread, CPU, CPU time and affinity",
        .run = run,
};
