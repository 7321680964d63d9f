/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plan as JSON (docs/plan-json.md): what `cmdline --json` prints and the
 * golden files keep. Every field a host action carries is here, so a diff of
 * two plans shows any change in what start would do to the host.
 */
#include <errno.h>
#include <stdlib.h>

#include "plan.h"

json_t *plan_json_strv(char *const *v, size_t n)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, v[i] ? json_string(v[i]) : json_null()) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static json_t *cpuset_json(const struct vx_cpuset *set)
{
        char *s = vx_cpuset_format(set);
        json_t *j = s ? json_string(s) : NULL;

        free(s);
        return j;
}

static const char *tristate(enum vx_tristate t)
{
        return vx_tristate_to_string(t);
}

/* A VF's settings, the PF's own, and what start decides (vf: auto, the placeholder). */
static json_t *vf_config_json(const struct vx_action_vf_config *v)
{
        json_t *o = json_pack("{s:s, s:i, s:s?, s:s?, s:i, s:i, s:s, s:s, s:i}", "pf", v->pf, "vf", v->vf,
                              "pci_address", v->pci_address, "mac", v->mac, "vlan", v->vlan, "rate_mbps", v->rate_mbps,
                              "spoofchk", tristate(v->spoofchk), "trust", tristate(v->trust), "pf_mtu", (int)v->pf_mtu);

        if (!o || json_object_set_new(o, "pfs", plan_json_strv(v->pfs, v->n_pfs)) < 0 ||
            json_object_set_new(o, "vf_auto", json_boolean(v->vf_auto)) < 0 ||
            json_object_set_new(o, "numa_node", json_integer(v->numa_node)) < 0 ||
            json_object_set_new(o, "pf_up", json_string(tristate(v->pf_up))) < 0 ||
            json_object_set_new(o, "pf_promisc", json_string(tristate(v->pf_promisc))) < 0 ||
            json_object_set_new(o, "pf_allmulti", json_string(tristate(v->pf_allmulti))) < 0 ||
            json_object_set_new(o, "placeholder", v->placeholder ? json_string(v->placeholder) : json_null()) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

/* The parameters of one action, by kind. */
static json_t *action_params(const struct vx_host_action *a)
{
        switch (a->kind) {
        case VX_ACTION_BRIDGE:
                return json_pack("{s:s, s:b, s:i, s:i}", "name", a->bridge.name, "stp", a->bridge.stp, "forward_delay",
                                 a->bridge.forward_delay, "mtu", (int)a->bridge.mtu);
        case VX_ACTION_UPLINK:
                return json_pack("{s:s, s:s, s:b}", "bridge", a->uplink.bridge, "uplink", a->uplink.uplink,
                                 "move_host_address", a->uplink.move_host_address);
        case VX_ACTION_TAP:
                return json_pack("{s:s, s:s?, s:b, s:s?, s:i, s:i, s:b, s:i}", "name", a->tap.name, "bridge",
                                 a->tap.bridge, "declared_bridge", a->tap.declared_bridge, "guest_mac",
                                 a->tap.guest_mac, "mtu", (int)a->tap.mtu, "queues", (int)a->tap.queues, "vhost",
                                 a->tap.vhost, "first_fd", (int)a->tap.first_fd);
        case VX_ACTION_VF_CONFIG:
                return vf_config_json(&a->vf);
        case VX_ACTION_VFIO_BIND:
                return json_pack("{s:s?, s:s?, s:i, s:s?}", "pci_address", a->bind.pci_address, "pf", a->bind.pf, "vf",
                                 a->bind.vf, "placeholder", a->bind.placeholder);
        case VX_ACTION_HUGEPAGES:
                return json_pack("{s:I, s:i, s:I}", "page_size", (json_int_t)a->huge.page_size, "node", a->huge.node,
                                 "pages", (json_int_t)a->huge.pages);
        case VX_ACTION_HUGETLBFS_MOUNT:
        case VX_ACTION_MEM_DIR:
                return json_pack("{s:s, s:I}", "path", a->mount.path, "page_size", (json_int_t)a->mount.page_size);
        case VX_ACTION_FILE_ACCESS:
                return json_pack("{s:s, s:b}", "path", a->file.path, "writable", a->file.writable);
        default:
                return json_object();
        }
}

static json_t *action_json(const struct vx_plan *plan, const struct vx_host_action *a)
{
        return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:o*}", "kind", plan_action_kind_to_string(a->kind), "object",
                         a->object, "description", a->description, "key", a->key, "vm",
                         a->vm >= 0 ? plan->vms[a->vm].name : NULL, "params", action_params(a));
}

static json_t *fds_json(const struct vx_vm_plan *vp)
{
        json_t *fds = json_array();

        for (size_t i = 0; fds && i < vp->n_fds; i++) {
                const struct vx_plan_fd *fd = &vp->fds[i];
                json_t *o = fd->kind == VX_PLAN_FD_QMP
                                    ? json_pack("{s:i, s:s, s:s}", "fd", fd->number, "kind",
                                                plan_fd_kind_to_string(fd->kind), "object", fd->object)
                                    : json_pack("{s:i, s:s, s:s, s:i}", "fd", fd->number, "kind",
                                                plan_fd_kind_to_string(fd->kind), "object", fd->object, "queue",
                                                (int)fd->queue);

                if (!o || json_array_append_new(fds, o) < 0) {
                        json_decref(fds);
                        return NULL;
                }
        }
        return fds;
}

static json_t *pinning_json(const struct vx_plan_pinning *pin)
{
        json_t *vcpus = json_array(), *o;

        for (size_t i = 0; vcpus && i < pin->n_vcpus; i++)
                if (json_array_append_new(vcpus, cpuset_json(&pin->vcpus[i])) < 0) {
                        json_decref(vcpus);
                        return NULL;
                }
        o = json_pack("{s:o*, s:o*}", "vcpus", vcpus, "emulator",
                      pin->has_emulator ? cpuset_json(&pin->emulator) : json_null());
        /* pinning: auto only (docs/placement.md): the plans of explicit pins stay as they were. */
        if (o && pin->automatic &&
            json_object_set_new(o, "placement",
                                json_pack("{s:i, s:o*, s:b, s:b, s:o*}", "node", pin->node, "reserved",
                                          cpuset_json(&pin->reserved), "shared", pin->shared, "core_scheduling",
                                          pin->core_scheduling, "why", plan_json_strv(pin->why, pin->n_why))) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

/* "unlimited", a number of bytes, or null (QEMU's RLIMIT_MEMLOCK left as it is). */
static json_t *memlock_json(uint64_t bytes)
{
        if (bytes == UINT64_MAX)
                return json_string("unlimited");
        return bytes ? json_integer((json_int_t)bytes) : json_null();
}

static json_t *vm_json(const struct vx_vm_plan *vp)
{
        const struct vx_plan_topology *t = &vp->topology;

        return json_pack("{s:s, s:s, s:b, s:s, s:s, s:{s:i, s:i, s:i, s:i, s:i}, s:o*, s:o*, s:o*, s:o*, s:o*, "
                         "s:o*}",
                         "name", vp->name, "accel", vx_accel_to_string(vp->accel), "complete", vp->complete,
                         "runtime_dir", vp->runtime_dir, "qmp_path", vp->qmp_path, "topology", "vcpus", (int)t->vcpus,
                         "sockets", (int)t->sockets, "dies", (int)t->dies, "cores", (int)t->cores, "threads",
                         (int)t->threads, "pinning", pinning_json(&vp->pinning), "memlock",
                         memlock_json(vp->memlock_bytes), "argv", plan_json_strv(vp->argv.items, vp->argv.n), "origin",
                         plan_json_strv(vp->origin, vp->argv.n), "fds", fds_json(vp), "notes",
                         plan_json_strv(vp->notes, vp->n_notes));
}

json_t *plan_to_json(const struct vx_plan *plan, const struct vx_vm_plan *only)
{
        json_t *vms = json_array(), *actions = json_array();
        json_t *root = json_pack("{s:i, s:s, s:s, s:s, s:o*, s:o*}", "version", 1, "deployment", plan->deployment,
                                 "deployment_dir", plan->deployment_dir, "qemu_user",
                                 plan->qemu_user ? plan->qemu_user : "root", "vms", vms, "host_actions", actions);

        if (!root || !vms || !actions) {
                json_decref(root);
                return NULL;
        }
        for (size_t i = 0; i < plan->n_vms; i++) {
                if (only && &plan->vms[i] != only)
                        continue;
                if (json_array_append_new(vms, vm_json(&plan->vms[i])) < 0) {
                        json_decref(root);
                        return NULL;
                }
        }
        for (size_t i = 0; i < plan->n_actions; i++) {
                const struct vx_host_action *a = &plan->actions[i];

                /* Deployment-wide actions, and those of the VMs shown. */
                if (only && a->vm >= 0 && &plan->vms[a->vm] != only)
                        continue;
                if (json_array_append_new(actions, action_json(plan, a)) < 0) {
                        json_decref(root);
                        return NULL;
                }
        }
        return root;
}
