/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `vmxrun metrics`: the supervisors' status (docs/status-json.md) and the
 * vCPU threads' CPU time from /proc as OpenMetrics text. Every family is a
 * gauge, the one type that reads the same in OpenMetrics and in the
 * Prometheus text format node_exporter's textfile collector parses; the
 * output ends with "# EOF", a comment to the latter.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "affinity.h"
#include "cleanup.h"
#include "cli.h"
#include "cpuset.h"
#include "log.h"

static const struct cli_help help = {
        .usage = "vmxrun metrics [NAME|PROFILE.yaml] [--runtime-dir DIR] [--status-json FILE]",
        .description = "Prints the VMs of every running deployment (or of NAME) as OpenMetrics text:\n"
                       "state, readiness, uptime, restarts, CPU time and pinning of each vCPU, NIC\n"
                       "counters, memory and hugepages held. Written to a file in node_exporter's\n"
                       "--collector.textfile.directory, it is scraped as is.\n",
        .options = "      --runtime-dir DIR    runtime directory (also $VMXRUN_RUNTIME_DIR)\n"
                   "      --status-json FILE   read the status from FILE (`status --json` or\n"
                   "                           `list --json` output) instead of the supervisors\n",
        .exit_status = "0 printed, 1 failed, 2 bad usage, 4 NAME is not running.\n",
};

/* Every state status can show (launcher/vm.c vx_vm_state_to_string), so exactly one gauge is 1. */
static const char *const vm_states[] = {"starting",   "waiting", "running", "stopping",
                                        "restarting", "failed",  "stopped"};

/* A label value: backslash, double quote and newline escaped. */
static void print_label(FILE *out, const char *key, const char *value)
{
        fprintf(out, "%s=\"", key);
        for (const char *p = value ?: ""; *p; p++) {
                if (*p == '\\' || *p == '"')
                        fputc('\\', out);
                if (*p == '\n')
                        fputs("\\n", out);
                else
                        fputc(*p, out);
        }
        fputc('"', out);
}

struct labels {
        const char *deployment, *vm;
        const char *key1, *value1; /* a third label: vcpu, nic, state; NULL: none */
        const char *key2, *value2;
};

static void sample(FILE *out, const char *name, struct labels l, double value)
{
        fprintf(out, "%s{", name);
        print_label(out, "deployment", l.deployment);
        fputc(',', out);
        print_label(out, "vm", l.vm);
        if (l.key1) {
                fputc(',', out);
                print_label(out, l.key1, l.value1);
        }
        if (l.key2) {
                fputc(',', out);
                print_label(out, l.key2, l.value2);
        }
        fprintf(out, "} %.17g\n", value);
}

static void family(FILE *out, const char *name, const char *helptext)
{
        fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, helptext, name);
}

static double num(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);

        return json_is_number(v) ? json_number_value(v) : 0;
}

/* Every VM of every deployment, flattened once so that each family loops over them in the same order. */
struct vm_ref {
        const char *deployment;
        json_t *vm;
};

struct vms {
        struct vm_ref *refs;
        size_t n;
};

static int flatten(json_t *deployments, struct vms *ret)
{
        size_t n = 0, i, j;
        json_t *d, *vm;
        struct vm_ref *refs;

        json_array_foreach(deployments, i, d) n += json_array_size(json_object_get(d, "vms"));
        refs = calloc(n ? n : 1, sizeof(*refs));
        if (!refs)
                return -ENOMEM;
        n = 0;
        json_array_foreach(deployments, i, d) json_array_foreach(json_object_get(d, "vms"), j, vm) refs[n++] =
                (struct vm_ref){json_string_value(json_object_get(d, "deployment")), vm};
        *ret = (struct vms){refs, n};
        return 0;
}

static struct labels vm_labels(const struct vm_ref *r)
{
        return (struct labels){.deployment = r->deployment, .vm = json_string_value(json_object_get(r->vm, "name"))};
}

#define FOREACH_VM(vms, r) for (const struct vm_ref *r = (vms)->refs; r < (vms)->refs + (vms)->n; r++)

static void print_vm_families(FILE *out, const struct vms *vms)
{
        family(out, "vmxrun_vm_state",
               "1 for the VM's state in vmxrun (running, stopping, restarting, failed, stopped)");
        FOREACH_VM(vms, r)
        {
                const char *state = json_string_value(json_object_get(r->vm, "state")) ?: "";
                struct labels l = vm_labels(r);

                l.key1 = "state";
                for (size_t k = 0; k < ELEMENTSOF(vm_states); k++) {
                        l.value1 = vm_states[k];
                        sample(out, "vmxrun_vm_state", l, strcmp(state, vm_states[k]) == 0);
                }
        }
        family(out, "vmxrun_vm_info", "the VM's accelerator and QEMU's run state, as labels");
        FOREACH_VM(vms, r)
        {
                struct labels l = vm_labels(r);

                l.key1 = "accel";
                l.value1 = json_string_value(json_object_get(r->vm, "accel"));
                l.key2 = "run_state";
                l.value2 = json_string_value(json_object_get(r->vm, "run_state")) ?: "unknown";
                sample(out, "vmxrun_vm_info", l, 1);
        }
        family(out, "vmxrun_vm_ready", "1 once the VM's readiness condition (ready: in the profile) held");
        FOREACH_VM(vms, r)
        sample(out, "vmxrun_vm_ready", vm_labels(r), json_is_true(json_object_get(r->vm, "ready")));
        family(out, "vmxrun_vm_uptime_seconds", "seconds since this QEMU was started");
        FOREACH_VM(vms, r)
        sample(out, "vmxrun_vm_uptime_seconds", vm_labels(r), num(r->vm, "uptime_s"));
        family(out, "vmxrun_vm_restarts", "restarts after a crash since the deployment was started");
        FOREACH_VM(vms, r)
        sample(out, "vmxrun_vm_restarts", vm_labels(r), num(r->vm, "restarts"));
        family(out, "vmxrun_vm_memory_bytes", "guest memory size");
        FOREACH_VM(vms, r)
        sample(out, "vmxrun_vm_memory_bytes", vm_labels(r),
               num(json_object_get(r->vm, "memory"), "size_mib") * 1048576);
        family(out, "vmxrun_vm_hugepages_bytes", "hugetlbfs memory QEMU maps now (0 without hugepages)");
        FOREACH_VM(vms, r)
        sample(out, "vmxrun_vm_hugepages_bytes", vm_labels(r),
               num(json_object_get(r->vm, "memory"), "hugetlb_kib") * 1024);
}

/* Each vCPU thread's affinity as the supervisor read it: how many CPUs (with their list), or whether it is pinned. */
static void print_affinity(FILE *out, const struct vms *vms, bool pinned)
{
        const char *name = pinned ? "vmxrun_vcpu_pinned" : "vmxrun_vcpu_allowed_cpus";
        long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
        char index[16];
        json_t *v;
        size_t k;

        family(out, name,
               pinned ? "1 when the vCPU thread may run on fewer than all online host CPUs"
                      : "number of host CPUs the vCPU thread may run on (its affinity), with their list");
        FOREACH_VM(vms, r) json_array_foreach(json_object_get(r->vm, "vcpus"), k, v)
        {
                struct labels l = vm_labels(r);
                struct vx_cpuset set;
                const char *cpus = json_string_value(json_object_get(v, "cpus"));

                if (!cpus || vx_cpuset_parse(cpus, &set) < 0)
                        continue;
                snprintf(index, sizeof(index), "%lld", json_integer_value(json_object_get(v, "index")));
                l.key1 = "vcpu";
                l.value1 = index;
                if (!pinned) {
                        l.key2 = "cpus";
                        l.value2 = cpus;
                }
                sample(out, name, l, pinned ? (long)vx_cpuset_count(&set) < ncpus : (long)vx_cpuset_count(&set));
        }
}

/* The CPU time of each vCPU thread, read now from <root>/proc, and its affinity. */
static void print_vcpu_families(FILE *out, const struct vms *vms, const char *proc_root)
{
        char index[16];
        json_t *v;
        size_t k;

        family(out, "vmxrun_vcpu_cpu_seconds", "CPU time of the vCPU's host thread (utime + stime)");
        FOREACH_VM(vms, r) json_array_foreach(json_object_get(r->vm, "vcpus"), k, v)
        {
                struct labels l = vm_labels(r);
                unsigned long long ns;
                int last;

                if (affinity_thread_stat(proc_root, (pid_t)num(r->vm, "pid"), (pid_t)num(v, "thread_id"), &last, &ns) <
                    0)
                        continue; /* the thread is gone (a restart): no sample rather than a wrong one */
                snprintf(index, sizeof(index), "%lld", json_integer_value(json_object_get(v, "index")));
                l.key1 = "vcpu";
                l.value1 = index;
                sample(out, "vmxrun_vcpu_cpu_seconds", l, (double)(ns / 1000000) / 1000);
        }
        print_affinity(out, vms, false);
        print_affinity(out, vms, true);
}

static const struct {
        const char *name, *key, *help;
} nic_counters[] = {
        {"vmxrun_nic_receive_bytes", "rx_bytes", "bytes the host side of the tap received (the guest sent)"},
        {"vmxrun_nic_transmit_bytes", "tx_bytes", "bytes the host side of the tap sent (the guest received)"},
        {"vmxrun_nic_receive_packets", "rx_packets", "packets the host side of the tap received"},
        {"vmxrun_nic_transmit_packets", "tx_packets", "packets the host side of the tap sent"},
        {"vmxrun_nic_receive_dropped", "rx_dropped", "packets dropped on receive"},
        {"vmxrun_nic_transmit_dropped", "tx_dropped", "packets dropped on transmit"},
};

static void print_nic_families(FILE *out, const struct vms *vms)
{
        json_t *n;
        size_t k;

        family(out, "vmxrun_nic_up", "1 when the tap exists and is up with a carrier");
        FOREACH_VM(vms, r) json_array_foreach(json_object_get(r->vm, "nics"), k, n)
        {
                struct labels l = vm_labels(r);
                if (!json_string_value(json_object_get(n, "tap")))
                        continue;
                l.key1 = "nic";
                l.value1 = json_string_value(json_object_get(n, "tap"));
                sample(out, "vmxrun_nic_up", l,
                       !json_is_false(json_object_get(n, "exists")) && json_is_true(json_object_get(n, "up")) &&
                               json_is_true(json_object_get(n, "carrier")));
        }
        for (size_t c = 0; c < ELEMENTSOF(nic_counters); c++) {
                family(out, nic_counters[c].name, nic_counters[c].help);
                FOREACH_VM(vms, r) json_array_foreach(json_object_get(r->vm, "nics"), k, n)
                {
                        struct labels l = vm_labels(r);
                        if (!json_string_value(json_object_get(n, "tap")) ||
                            !json_is_integer(json_object_get(n, nic_counters[c].key)))
                                continue;
                        l.key1 = "nic";
                        l.value1 = json_string_value(json_object_get(n, "tap"));
                        sample(out, nic_counters[c].name, l, num(n, nic_counters[c].key));
                }
        }
}

/* A saved `status --json` (one deployment) or `list --json` ({"deployments": [...]}). */
static int load_status_file(const char *path, json_t **ret)
{
        json_error_t err;
        json_t *o = json_load_file(path, 0, &err), *all;

        if (!o) {
                log_error("%s:%d: %s", path, err.line, err.text);
                return VX_EXIT_INVALID;
        }
        all = json_object_get(o, "deployments");
        if (json_is_array(all))
                json_incref(all);
        else
                all = json_pack("[O]", o);
        json_decref(o);
        *ret = all;
        return VX_EXIT_OK;
}

static int gather(const char *name, const char *runtime_opt, const char *status_file, json_t **ret)
{
        _cleanup_free_ char *dir = NULL;
        json_t *one = NULL;
        int r;

        if (status_file)
                return load_status_file(status_file, ret);
        if (!name)
                return cli_statuses(cli_runtime_dir(runtime_opt) ?: VX_DEFAULT_RUNTIME_DIR, ret);
        r = cli_resolve_deployment(name, cli_runtime_dir(runtime_opt), &dir);
        if (r == VX_EXIT_OK)
                r = cli_status(dir, false, &one);
        if (r != VX_EXIT_OK)
                return r;
        *ret = json_pack("[o]", one);
        return VX_EXIT_OK;
}

static int run(int argc, char **argv)
{
        static const struct option options[] = {
                {"runtime-dir", required_argument, NULL, 'r'},
                {"status-json", required_argument, NULL, 's'},
                {0},
        };
        const char *runtime_opt = NULL, *status_file = NULL;
        json_t *deployments = NULL;
        struct vms vms;
        int c, r;

        while ((c = cli_getopt(argc, argv, "", options, &help, &r)) >= 0) {
                switch (c) {
                case 'r':
                        runtime_opt = optarg;
                        break;
                case 's':
                        status_file = optarg;
                        break;
                default:
                        return VX_EXIT_USAGE;
                }
        }
        if (c == CLI_OPT_EXIT)
                return r;
        if (argc - optind > 1)
                return cli_usage_error(argv[0], "metrics takes at most one deployment.");
        r = gather(optind < argc ? argv[optind] : NULL, runtime_opt, status_file, &deployments);
        if (r != VX_EXIT_OK)
                return r;
        r = flatten(deployments, &vms);
        if (r < 0) {
                json_decref(deployments);
                return log_error_errno(r, "Failed to gather the VMs: %m"), VX_EXIT_FAILURE;
        }
        print_vm_families(stdout, &vms);
        print_vcpu_families(stdout, &vms, getenv("VMXRUN_ROOT"));
        print_nic_families(stdout, &vms);
        fputs("# EOF\n", stdout);
        free(vms.refs);
        json_decref(deployments);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error("Failed to write the metrics to stdout.");
                return VX_EXIT_FAILURE;
        }
        return VX_EXIT_OK;
}

const struct vx_command vx_cmd_metrics = {
        .name = "metrics",
        .summary = "print the VMs' state and counters as OpenMetrics text",
        .run = run,
};
