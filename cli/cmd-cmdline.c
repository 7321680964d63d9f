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


static void help(FILE *out)
{
        fprintf(out, "Usage: vmxrun cmdline PROFILE [--vm NAME] [--accel kvm|tcg] [--root DIR] [--json]\n"
                     "\n"
                     "Prints the QEMU command line of each VM, one option per line, shell-quoted,\n"
                     "preceded by comments naming the fds vmxrun passes at start, the host actions\n"
                     "it takes first, and notes. Nothing on the host is changed.\n"
                     "\n"
                     "Options:\n"
                     "      --vm NAME      only this VM\n"
                     "      --accel ACCEL  use kvm or tcg for every VM (env VMXRUN_ACCEL)\n"
                     "      --root DIR     read host facts (/dev, /proc, /sys) under DIR (env VMXRUN_ROOT)\n"
                     "      --json         print the plan as JSON\n"
                     "  -h, --help         show this help\n");
}

/* Deployment-wide actions, and those of the VMs shown. */
static bool action_shown(const struct vx_host_action *a, const struct vx_vm_plan *only)
{
        return !a->vm || !only || a->vm == only->vm;
}

static void print_fd(const struct vx_vm_plan *vp, const struct vx_plan_fd *fd)
{
        char queue[32] = "";

        if (fd->kind != VX_PLAN_FD_QMP && vp->vm->nics[fd->nic].queues > 1)
                snprintf(queue, sizeof(queue), " queue %u", fd->queue);
        switch (fd->kind) {
        case VX_PLAN_FD_QMP:
                printf("# fd %d: QMP listening socket %s, created and passed by vmxrun at start\n",
                       fd->number, fd->object);
                break;
        case VX_PLAN_FD_TAP:
                printf("# fd %d: tap %s%s (vms[%zu].nics[%zu]), opened and passed by vmxrun at start\n",
                       fd->number, fd->object, queue, vp->vm_index, fd->nic);
                break;
        case VX_PLAN_FD_VHOST:
                printf("# fd %d: /dev/vhost-net for tap %s%s (vms[%zu].nics[%zu]), opened and passed by "
                       "vmxrun at "
                       "start\n",
                       fd->number, fd->object, queue, vp->vm_index, fd->nic);
                break;
        }
}

static void print_actions(const struct vx_plan *plan, const struct vx_vm *vm)
{
        bool first = true;

        for (size_t i = 0; i < plan->n_actions; i++) {
                const struct vx_host_action *a = &plan->actions[i];

                if (a->vm != vm)
                        continue;
                if (first)
                        printf("# host actions%s:\n", vm ? "" : " (deployment)");
                first = false;
                printf("#   %s: %s [%s]\n", plan_action_kind_to_string(a->kind), a->description, a->key);
        }
}

static int print_text(const struct vx_plan *plan, const struct vx_vm_plan *only)
{
        bool first = true;
        int r;

        for (size_t i = 0; i < plan->n_actions; i++)
                if (!plan->actions[i].vm)
                        first = false;
        print_actions(plan, NULL);
        for (size_t i = 0; i < plan->n_vms; i++) {
                const struct vx_vm_plan *vp = &plan->vms[i];

                if (only && vp != only)
                        continue;
                if (!first)
                        printf("\n");
                first = false;
                printf("# %s: accel %s; plan %s\n", vp->vm->name, vp->accel == VX_ACCEL_TCG ? "tcg" : "kvm",
                       vp->complete ? "complete" : "INCOMPLETE (start refuses it; see the notes)");
                print_actions(plan, vp->vm);
                for (size_t j = 0; j < vp->n_fds; j++)
                        print_fd(vp, &vp->fds[j]);
                for (size_t j = 0; j < vp->n_notes; j++)
                        printf("# note: %s\n", vp->notes[j]);
                r = cli_print_argv(vp->argv.items, vp->argv.n);
                if (r < 0)
                        return r;
        }
        return 0;
}

static json_t *json_vm(const struct vx_vm_plan *vp)
{
        json_t *fds = json_array();

        for (size_t i = 0; fds && i < vp->n_fds; i++) {
                const struct vx_plan_fd *fd = &vp->fds[i];
                json_t *o = json_pack("{s:i, s:s, s:s}", "fd", fd->number, "kind",
                                      plan_fd_kind_to_string(fd->kind), "object", fd->object);

                if (o && fd->kind != VX_PLAN_FD_QMP &&
                    (json_object_set_new(o, "nic", json_integer((json_int_t)fd->nic)) < 0 ||
                     json_object_set_new(o, "queue", json_integer(fd->queue)) < 0)) {
                        json_decref(o);
                        o = NULL;
                }
                if (!o || json_array_append_new(fds, o) < 0) {
                        json_decref(fds);
                        return NULL;
                }
        }
        if (!fds)
                return NULL;
        return json_pack("{s:s, s:s, s:b, s:s, s:s, s:o*, s:o*, s:o, s:o*}", "name", vp->vm->name, "accel",
                         vp->accel == VX_ACCEL_TCG ? "tcg" : "kvm", "complete", vp->complete, "runtime_dir",
                         vp->runtime_dir, "qmp_path", vp->qmp_path, "argv",
                         cli_json_strv(vp->argv.items, vp->argv.n), "origin", cli_json_strv(vp->origin, vp->argv.n),
                         "fds", fds, "notes", cli_json_strv(vp->notes, vp->n_notes));
}

static int print_json(const struct vx_plan *plan, const struct vx_vm_plan *only)
{
        _cleanup_(json_decrefp) json_t *root = NULL;
        json_t *vms = json_array(), *actions = json_array();

        root = json_pack("{s:o*, s:o*}", "vms", vms, "host_actions", actions);
        if (!root || !vms || !actions)
                return log_error_errno(-ENOMEM, "Failed to build JSON: %m");
        for (size_t i = 0; i < plan->n_vms; i++) {
                json_t *o;

                if (only && &plan->vms[i] != only)
                        continue;
                o = json_vm(&plan->vms[i]);
                if (!o || json_array_append_new(vms, o) < 0)
                        return log_error_errno(-ENOMEM, "Failed to build JSON: %m");
        }
        for (size_t i = 0; i < plan->n_actions; i++) {
                const struct vx_host_action *a = &plan->actions[i];
                json_t *o;

                if (!action_shown(a, only))
                        continue;
                o = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "kind", plan_action_kind_to_string(a->kind),
                              "object", a->object, "description", a->description, "key", a->key, "vm",
                              a->vm ? a->vm->name : NULL);
                if (!o || json_array_append_new(actions, o) < 0)
                        return log_error_errno(-ENOMEM, "Failed to build JSON: %m");
        }
        return cli_print_json(root);
}

static int run(int argc, char **argv)
{
        enum { ARG_VM = 0x100, ARG_ACCEL, ARG_ROOT, ARG_JSON };
        static const struct option options[] = {
            {"help", no_argument, NULL, 'h'},
            {"vm", required_argument, NULL, ARG_VM},
            {"accel", required_argument, NULL, ARG_ACCEL},
            {"root", required_argument, NULL, ARG_ROOT},
            {"json", no_argument, NULL, ARG_JSON},
            {0},
        };
        _cleanup_(profile_freep) struct vx_profile *profile = NULL;
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        struct vx_plan_options opts = {0};
        const char *vm_name = NULL, *root = getenv("VMXRUN_ROOT"), *accel = getenv("VMXRUN_ACCEL");
        const struct vx_vm_plan *only = NULL;
        bool json = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help(stdout);
                        return VX_EXIT_OK;
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
                default:
                        help(stderr);
                        return VX_EXIT_USAGE;
                }
        }
        if (optind + 1 != argc) {
                log_error("cmdline takes exactly one profile; `vmxrun cmdline --help` shows the usage.");
                return VX_EXIT_USAGE;
        }
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

        r = json ? print_json(plan, only) : print_text(plan, only);
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
