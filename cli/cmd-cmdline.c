/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmxrun cmdline: prints the QEMU command line of each VM of a profile, as
 * `start` would run it, so it can be read, diffed or pasted into a shell.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "facts.h"
#include "log.h"
#include "plan.h"

static const struct cli_help help = {
        .usage = "vmxrun cmdline PROFILE [--vm NAME] [--accel kvm|tcg] [--set PATH=VALUE]... [--root DIR] [--plan] "
                 "[--json]",
        .description = "Prints the QEMU command line of each VM, one option per line, shell-quoted,\n"
                       "preceded by comments naming the fds vmxrun passes at start, the host actions\n"
                       "it takes first, and notes. Nothing on the host is changed.\n",
        .options = "      --vm NAME      only this VM\n"
                   "      --accel ACCEL  use kvm or tcg for every VM (env VMXRUN_ACCEL)\n"
                   "      --set PATH=VALUE  a profile value, over the file's (repeatable; docs/profile.md)\n"
                   "      --root DIR     read host facts (/dev, /proc, /sys) under DIR (env VMXRUN_ROOT)\n"
                   "      --plan         also show the guest topology, the vCPU and emulator pinning\n"
                   "                     and the limits start sets for QEMU\n"
                   "      --json         print the whole plan as JSON (docs/plan-json.md): argv, fd\n"
                   "                     table, pinning, host actions with their parameters\n",
        .exit_status = "0 printed, 1 failed, 2 bad usage, 3 invalid profile.\n",
};

static void print_fd(const struct vx_plan *plan, const struct vx_vm_plan *vp, const struct vx_plan_fd *fd)
{
        const struct vx_host_action *a = fd->kind == VX_PLAN_FD_QMP ? NULL : &plan->actions[fd->action];
        char queue[32] = "";

        if (a && a->tap.queues > 1)
                snprintf(queue, sizeof(queue), " queue %u", fd->queue);
        switch (fd->kind) {
        case VX_PLAN_FD_QMP:
                printf("# fd %d: QMP listening socket %s, created and passed by vmxrun at start\n", fd->number,
                       fd->object);
                break;
        case VX_PLAN_FD_TAP:
                printf("# fd %d: tap %s%s (%s), opened and passed by vmxrun at start\n", fd->number, fd->object, queue,
                       a->key);
                break;
        case VX_PLAN_FD_VHOST:
                printf("# fd %d: /dev/vhost-net for tap %s%s (%s), opened and passed by vmxrun at start\n", fd->number,
                       fd->object, queue, a->key);
                break;
        default:
                break;
        }
}

/* The actions of one VM (vm >= 0) or the deployment-wide ones (vm -1). */
static void print_actions(const struct vx_plan *plan, int vm)
{
        bool first = true;

        for (size_t i = 0; i < plan->n_actions; i++) {
                const struct vx_host_action *a = &plan->actions[i];

                if (a->vm != vm)
                        continue;
                if (first)
                        printf("# host actions%s:\n", vm >= 0 ? "" : " (deployment)");
                first = false;
                printf("#   %s: %s [%s]\n", plan_action_kind_to_string(a->kind), a->description, a->key);
        }
}

/* --plan: where each vCPU runs, and the rest of what start does besides exec. */
static int print_pinning(const struct vx_vm_plan *vp)
{
        const struct vx_plan_pinning *pin = &vp->pinning;
        const struct vx_plan_topology *t = &vp->topology;

        printf("# topology: %u vCPUs = %u sockets x %u dies x %u cores x %u threads\n", t->vcpus, t->sockets, t->dies,
               t->cores, t->threads);
        if (pin->n_vcpus == 0)
                printf("# pinning: vCPUs not pinned\n");
        for (size_t i = 0; i < pin->n_vcpus; i++) {
                _cleanup_free_ char *cpus = vx_cpuset_format(&pin->vcpus[i]);
                if (!cpus)
                        return log_error_errno(-ENOMEM, "Out of memory.");
                printf("# pinning: vCPU %zu (cpu-index %zu) -> host CPUs %s\n", i, i, cpus);
        }
        if (pin->has_emulator) {
                _cleanup_free_ char *cpus = vx_cpuset_format(&pin->emulator);
                if (!cpus)
                        return log_error_errno(-ENOMEM, "Out of memory.");
                printf("# pinning: emulator threads -> host CPUs %s\n", cpus);
        } else
                printf("# pinning: emulator threads not pinned\n");
        /* pinning: auto: what was chosen and why (docs/placement.md). */
        for (size_t i = 0; pin->automatic && i < pin->n_why; i++)
                printf("# placement: %s\n", pin->why[i]);
        if (vp->memlock_bytes == UINT64_MAX)
                printf("# limits: RLIMIT_MEMLOCK unlimited for QEMU (memory.lock)\n");
        else if (vp->memlock_bytes)
                printf("# limits: RLIMIT_MEMLOCK %llu MiB for QEMU (vfio pins guest RAM: its size + 1 GiB)\n",
                       (unsigned long long)(vp->memlock_bytes >> 20));
        return 0;
}

static int print_text(const struct vx_plan *plan, const struct vx_vm_plan *only, bool with_plan)
{
        bool first = true;
        int r;

        if (with_plan) {
                printf("# QEMU runs as %s%s, with no capability, no_new_privs and an empty bounding set\n",
                       plan->qemu_user ? "user " : "", plan->qemu_user ? plan->qemu_user : "root");
                first = false;
        }
        for (size_t i = 0; i < plan->n_actions; i++)
                if (plan->actions[i].vm < 0)
                        first = false;
        print_actions(plan, -1);
        for (size_t i = 0; i < plan->n_vms; i++) {
                const struct vx_vm_plan *vp = &plan->vms[i];

                if (only && vp != only)
                        continue;
                if (!first)
                        printf("\n");
                first = false;
                printf("# %s: accel %s; plan %s\n", vp->name, vx_accel_to_string(vp->accel),
                       vp->complete ? "complete" : "INCOMPLETE (start refuses it; see the notes)");
                print_actions(plan, (int)i);
                for (size_t j = 0; j < vp->n_fds; j++)
                        print_fd(plan, vp, &vp->fds[j]);
                if (with_plan) {
                        r = print_pinning(vp);
                        if (r < 0)
                                return r;
                }
                for (size_t j = 0; j < vp->n_notes; j++)
                        printf("# note: %s\n", vp->notes[j]);
                r = cli_print_argv(vp->argv.items, vp->argv.n);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int print_json(const struct vx_plan *plan, const struct vx_vm_plan *only)
{
        _cleanup_(json_decrefp) json_t *root = plan_to_json(plan, only);

        if (!root)
                return log_error_errno(-ENOMEM, "Failed to build JSON: %m");
        return cli_print_json(root);
}

static int run(int argc, char **argv)
{
        enum { ARG_VM = 0x100, ARG_ACCEL, ARG_ROOT, ARG_JSON, ARG_PLAN, ARG_SET };
        static const struct option options[] = {
                {"vm", required_argument, NULL, ARG_VM},
                {"accel", required_argument, NULL, ARG_ACCEL},
                {"root", required_argument, NULL, ARG_ROOT},
                {"json", no_argument, NULL, ARG_JSON},
                {"plan", no_argument, NULL, ARG_PLAN},
                {"set", required_argument, NULL, ARG_SET},
                {0},
        };
        _cleanup_(profile_freep) struct vx_profile *profile = NULL;
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        struct vx_plan_options opts = {0};
        const char *vm_name = NULL, *root = getenv("VMXRUN_ROOT"), *accel = getenv("VMXRUN_ACCEL");
        const struct vx_vm_plan *only = NULL;
        bool json = false, with_plan = false;
        int c, r;

        while ((c = cli_getopt(argc, argv, "", options, &help, &r)) >= 0) {
                switch (c) {
                case ARG_VM:
                        vm_name = optarg;
                        break;
                case ARG_ACCEL:
                        accel = optarg;
                        break;
                case ARG_ROOT:
                        root = optarg;
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_PLAN:
                        with_plan = true;
                        break;
                case ARG_SET:
                        if (cli_add_set(optarg) < 0)
                                return VX_EXIT_FAILURE;
                        break;
                default:
                        return VX_EXIT_USAGE;
                }
        }
        if (c == CLI_OPT_EXIT)
                return r;
        if (optind + 1 != argc)
                return cli_usage_error(argv[0], "cmdline takes exactly one profile.");
        r = cli_plan_profile(argv[optind], accel, root, &opts, &profile, &plan);
        if (r != VX_EXIT_OK)
                return r;

        if (vm_name) {
                only = plan_find_vm(plan, vm_name);
                if (!only) {
                        log_error("%s has no VM called '%s'.", argv[optind], vm_name);
                        return VX_EXIT_USAGE;
                }
        }

        r = json ? print_json(plan, only) : print_text(plan, only, with_plan);
        if (r < 0)
                return VX_EXIT_FAILURE;
        if (fflush(stdout) != 0) {
                log_error_errno(-errno, "Failed to write the command line: %m");
                return VX_EXIT_FAILURE;
        }
        return VX_EXIT_OK;
}

const struct vx_command vx_cmd_cmdline = {
    .name = "cmdline",
    .summary = "print each VM's QEMU command line",
    .run = run,
};
