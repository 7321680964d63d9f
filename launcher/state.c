/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "state.h"

#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "affinity.h"
#include "cleanup.h"
#include "hugepages.h"
#include "netsetup.h"
#include "runtime.h"
#include "vfio.h"

#define STATE_VERSION 1

static char *state_path(const char *deployment_dir)
{
        char *p;

        if (asprintf(&p, "%s/state.json", deployment_dir) < 0)
                return NULL;
        return p;
}

/* Adds "cpus" (Cpus_allowed_list of the thread as the kernel has it) to obj. */
static void add_cpus(json_t *obj, pid_t pid, pid_t tid)
{
        struct vx_cpuset set;
        _cleanup_free_ char *list = NULL;

        if (affinity_read_status(NULL, pid, tid, &set) < 0)
                return;
        list = vx_cpuset_format(&set);
        if (list)
                json_object_set_new(obj, "cpus", json_string(list));
}

/*
 * Pin health of one thread, as the kernel has it now against the plan:
 * "pinned" (its CPU list is the planned one), "drifted" (someone changed
 * it), "unpinned" (the plan pins nothing for it); and how it has been
 * scheduled: the CPU it last ran on, its migrations, its run-queue wait.
 */
static void add_pin_health(json_t *obj, pid_t pid, pid_t tid, const struct vx_cpuset *planned)
{
        unsigned long long cpu_ns, wait_ns, migrations;
        struct vx_cpuset cur;
        _cleanup_free_ char *want = planned ? vx_cpuset_format(planned) : NULL;
        int last_cpu;

        if (affinity_read_status(NULL, pid, tid, &cur) >= 0)
                json_object_set_new(obj, "pin",
                                    json_string(!planned                         ? "unpinned"
                                                : vx_cpuset_equal(&cur, planned) ? "pinned"
                                                                                 : "drifted"));
        if (want)
                json_object_set_new(obj, "planned_cpus", json_string(want));
        if (affinity_thread_stat(NULL, pid, tid, &last_cpu, &cpu_ns) >= 0)
                json_object_set_new(obj, "last_cpu", json_integer(last_cpu));
        if (affinity_thread_sched(NULL, pid, tid, &wait_ns, &migrations) >= 0) {
                json_object_set_new(obj, "migrations", json_integer((json_int_t)migrations));
                json_object_set_new(obj, "run_queue_wait_ns", json_integer((json_int_t)wait_ns));
        }
}

/* "2026-12-01T10:47:45.123Z" */
static json_t *timestamp_json(int64_t usec)
{
        time_t t = (time_t)(usec / 1000000);
        struct tm tm;
        char buf[64];

        if (!gmtime_r(&t, &tm))
                return json_null();
        snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(usec % 1000000 / 1000));
        return json_string(buf);
}

/* When the current QEMU reached each stage of its start (an adopted one: none before adoption). */
static json_t *stages_json(const struct vx_vm_instance *inst)
{
        json_t *o = json_object();

        for (int s = 0; o && s < _VX_STAGE_MAX; s++)
                if (inst->stage_usec[s])
                        json_object_set_new(o, vx_vm_stage_to_string(s), timestamp_json(inst->stage_usec[s]));
        return o;
}

/* The last stage reached; "booting" between running and ready. */
static const char *current_stage(const struct vx_vm_instance *inst)
{
        if (inst->stage_usec[VX_STAGE_READY] || inst->ready)
                return "ready";
        if (inst->stage_usec[VX_STAGE_RUNNING])
                return "booting";
        for (int s = VX_STAGE_RUNNING; s >= 0; s--)
                if (inst->stage_usec[s])
                        return vx_vm_stage_to_string(s);
        return "running"; /* adopted: it ran before this supervisor saw it */
}

static size_t strv_length(char *const *v)
{
        size_t n = 0;

        while (v[n])
                n++;
        return n;
}

static json_t *vcpus_json(const struct vx_vm_instance *inst, bool live)
{
        const struct vx_plan_pinning *pin = vm_pinning(inst);
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < inst->n_vcpus; i++) {
                size_t idx = (size_t)inst->vcpus[i].cpu_index;
                json_t *v = json_pack("{s:i, s:i}", "index", inst->vcpus[i].cpu_index, "thread_id",
                                      (int)inst->vcpus[i].thread_id);
                if (!v)
                        continue;
                if (live) {
                        add_cpus(v, inst->pid, inst->vcpus[i].thread_id);
                        add_pin_health(v, inst->pid, inst->vcpus[i].thread_id,
                                       idx < pin->n_vcpus ? &pin->vcpus[idx] : NULL);
                }
                json_array_append_new(arr, v);
        }
        return arr;
}

/* The emulator threads (every thread that is not a vCPU's), each with its pin health. */
static json_t *emulator_threads_json(const struct vx_vm_instance *inst)
{
        const struct vx_plan_pinning *pin = vm_pinning(inst);
        _cleanup_free_ pid_t *tids = NULL;
        json_t *arr = json_array();
        size_t n = 0;

        if (!arr || affinity_list_threads(NULL, inst->pid, &tids, &n) < 0)
                return arr;
        for (size_t i = 0; i < n; i++) {
                bool vcpu = false;
                json_t *t;

                for (size_t k = 0; k < inst->n_vcpus && !vcpu; k++)
                        vcpu = inst->vcpus[k].thread_id == tids[i];
                if (vcpu || !(t = json_pack("{s:i}", "thread_id", (int)tids[i])))
                        continue;
                add_cpus(t, inst->pid, tids[i]);
                add_pin_health(t, inst->pid, tids[i], pin->has_emulator ? &pin->emulator : NULL);
                json_array_append_new(arr, t);
        }
        return arr;
}

/* Where `vmxrun console` connects: the serial chardev the plan gave QEMU. */
static json_t *console_json(const struct vx_vm_plan *vp)
{
        const struct vx_serial *s = &vp->vm->serial;
        _cleanup_free_ char *path = NULL;

        switch (s->type) {
        case VX_SERIAL_UNIX:
                if (!s->path && asprintf(&path, "%s/console.sock", vp->runtime_dir) < 0)
                        return NULL;
                return json_pack("{s:s, s:s}", "type", "unix", "path", s->path ?: path);
        case VX_SERIAL_TELNET:
        case VX_SERIAL_TCP:
                return json_pack("{s:s, s:s, s:i}", "type", s->type == VX_SERIAL_TELNET ? "telnet" : "tcp", "host",
                                 s->host ?: "127.0.0.1", "port", (int)s->port);
        default:
                return json_null();
        }
}

/* A tristate the PF's driver reports (1, 0) or does not (-1: null). */
static json_t *json_tristate(int v)
{
        return v < 0 ? json_null() : json_boolean(v);
}

/*
 * A VF NIC as the host has it now: its address, IOMMU group and driver
 * (sysfs), its settings as the PF's driver reports them (netlink). A VF that
 * cannot be read (PF or VF gone) says so in "error".
 */
static void vf_status_json(json_t *o, const struct vx_vm_plan *vp, size_t i, struct vx_netsetup *ns)
{
        static const char *const link_states[] = {"auto", "enable", "disable"};
        const struct vx_nic *nic = &vp->vm->nics[i];
        char pf[VX_NETSETUP_IFNAMSIZ];
        struct vx_vfio_vf_status st;
        const struct vx_netsetup_vf *v = &st.settings;
        int vf = nic->vf, r = 0;

        snprintf(pf, sizeof(pf), "%s", nic->pf ?: "");
        if (nic->vf_auto) {
                /* Which VF start picked, and of which PF: the address the plan was resolved to. */
                char bdf[VX_VFIO_BDF_SIZE];
                size_t len;
                const char *at = plan_nic_pci_address(vp, i, &len);
                unsigned picked;

                r = at && len < sizeof(bdf) ? 0 : -ENXIO;
                if (r >= 0) {
                        snprintf(bdf, sizeof(bdf), "%.*s", (int)len, at);
                        r = vfio_vf_of(NULL, bdf, pf, &picked);
                }
                vf = r >= 0 ? (int)picked : -1;
        }
        json_object_set_new(o, "pf", json_string(pf));
        json_object_set_new(o, "vf", json_integer(vf));
        if (r >= 0)
                r = ns && vf >= 0 ? vfio_vf_status(NULL, ns, pf, (unsigned)vf, &st) : -ENOTCONN;
        if (r < 0) {
                json_object_set_new(o, "error", json_string(strerror(-r)));
                return;
        }
        json_object_set_new(o, "pci_address", json_string(st.bdf));
        json_object_set_new(o, "iommu_group", st.iommu_group >= 0 ? json_integer(st.iommu_group) : json_null());
        json_object_set_new(o, "driver", st.driver[0] ? json_string(st.driver) : json_null());
        json_object_set_new(o, "mac", json_string(v->mac));
        json_object_set_new(o, "vlan", json_integer(v->vlan));
        json_object_set_new(o, "qos", json_integer(v->qos));
        json_object_set_new(o, "max_rate_mbps", json_integer(v->max_rate));
        json_object_set_new(o, "min_rate_mbps", json_integer(v->min_rate));
        json_object_set_new(o, "spoofchk", json_tristate(v->spoofchk));
        json_object_set_new(o, "trust", json_tristate(v->trust));
        json_object_set_new(o, "link_state",
                            v->link_state >= 0 && v->link_state <= 2 ? json_string(link_states[v->link_state])
                                                                     : json_null());
}

/* A PCI device passed whole: its address, IOMMU group and driver now. */
static void hostdev_status_json(json_t *o, const struct vx_nic *nic)
{
        struct vx_vfio_device d;
        char bdf[VX_VFIO_BDF_SIZE + 8];
        int r;

        snprintf(bdf, sizeof(bdf), "%s%s", strlen(nic->host) == 7 ? "0000:" : "", nic->host);
        json_object_set_new(o, "pci_address", json_string(bdf));
        r = vfio_device_get(NULL, bdf, &d);
        if (r < 0) {
                json_object_set_new(o, "error", json_string(strerror(-r)));
                return;
        }
        json_object_set_new(o, "iommu_group", d.iommu_group >= 0 ? json_integer(d.iommu_group) : json_null());
        json_object_set_new(o, "driver", d.driver[0] ? json_string(d.driver) : json_null());
}

/*
 * Each NIC as the kernel has it now (read over netlink, not from our records):
 * the tap, the bridge it is a port of, its host-side MAC, MTU, link state and
 * counters; a VF's or a PCI device's address, group, driver and settings. ns is NULL when netlink could not be opened: the profile's view only.
 */
static json_t *nic_json(const struct vx_vm_plan *vp, size_t i, struct vx_netsetup *ns)
{
        const struct vx_nic *nic = &vp->vm->nics[i];
        struct vx_netsetup_link l;
        json_t *o;

        o = json_pack("{s:s, s:o}", "type", vx_nic_type_to_string(nic->type), "guest_mac",
                      nic->mac ? json_string(nic->mac) : json_null());
        if (o && nic->type == VX_NIC_VF)
                vf_status_json(o, vp, i, ns);
        else if (o && nic->type == VX_NIC_HOSTDEV && nic->host)
                hostdev_status_json(o, nic);
        if (!o || nic->type != VX_NIC_TAP)
                return o;
        json_object_set_new(o, "tap", json_string(nic->tap));
        json_object_set_new(o, "profile_bridge", nic->bridge ? json_string(nic->bridge) : json_null());
        if (!ns || netsetup_link_get(ns, nic->tap, &l) < 0) {
                json_object_set_new(o, "exists", json_false());
                return o;
        }
        json_object_set_new(o, "exists", json_true());
        json_object_set_new(o, "ifindex", json_integer(l.ifindex));
        json_object_set_new(o, "bridge", l.master[0] ? json_string(l.master) : json_null());
        json_object_set_new(o, "mac", json_string(l.mac));
        json_object_set_new(o, "mtu", json_integer(l.mtu));
        json_object_set_new(o, "up", json_boolean(l.up));
        json_object_set_new(o, "carrier", json_boolean(l.lower_up));
        json_object_set_new(o, "operstate", json_string(l.operstate));
        json_object_set_new(o, "rx_bytes", json_integer((json_int_t)l.rx_bytes));
        json_object_set_new(o, "tx_bytes", json_integer((json_int_t)l.tx_bytes));
        json_object_set_new(o, "rx_packets", json_integer((json_int_t)l.rx_packets));
        json_object_set_new(o, "tx_packets", json_integer((json_int_t)l.tx_packets));
        json_object_set_new(o, "rx_dropped", json_integer((json_int_t)l.rx_dropped));
        json_object_set_new(o, "tx_dropped", json_integer((json_int_t)l.tx_dropped));
        return o;
}

static json_t *nics_json(const struct vx_vm_plan *vp, struct vx_netsetup *ns)
{
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < vp->vm->n_nics; i++) {
                json_t *n = nic_json(vp, i, ns);
                if (n)
                        json_array_append_new(arr, n);
        }
        return arr;
}

/* The mem-path QEMU was given (the plan's -object memory-backend-file), or NULL. */
static const char *mem_path(const struct vx_vm_plan *vp, size_t *ret_len)
{
        for (size_t i = 0; i < vp->argv.n; i++) {
                const char *s = vp->argv.items[i], *p;

                if (strncmp(s, "memory-backend-file,", strlen("memory-backend-file,")) != 0 ||
                    !(p = strstr(s, ",mem-path=")))
                        continue;
                p += strlen(",mem-path=");
                *ret_len = strcspn(p, ",");
                return p;
        }
        return NULL;
}

/*
 * The guest memory's backing: plain RAM, or hugepages (page size, the
 * hugetlbfs QEMU maps them from, node); live, what QEMU maps from hugetlbfs
 * now, as the kernel counts it.
 */
static json_t *memory_json(const struct vx_vm_plan *vp, pid_t pid, bool live)
{
        const struct vx_memory *m = &vp->vm->memory;
        uint64_t ps = m->page_size ? m->page_size : UINT64_C(2) << 20, kib;
        const char *path;
        size_t len = 0;
        json_t *o;

        o = json_pack("{s:I, s:s}", "size_mib", (json_int_t)(m->size >> 20), "backend",
                      m->hugepages ? "hugepages" : "ram");
        if (!o || !m->hugepages)
                return o;
        path = mem_path(vp, &len);
        json_object_set_new(o, "page_size_kib", json_integer((json_int_t)(ps >> 10)));
        json_object_set_new(o, "path", path ? json_stringn(path, len) : json_null());
        json_object_set_new(o, "node", m->node >= 0 ? json_integer(m->node) : json_null());
        json_object_set_new(o, "prealloc", json_boolean(m->prealloc));
        if (live && pid > 0 && hugepages_process_kib(NULL, pid, &kib) >= 0)
                json_object_set_new(o, "hugetlb_kib", json_integer((json_int_t)kib));
        return o;
}

/* The pinning `vmxrun pin` set, as the state file keeps it: {"vcpus": ["2", ...], "emulator": "0-1"}. */
static json_t *pin_live_json(const struct vx_plan_pinning *pin)
{
        json_t *o = json_object(), *vcpus = json_array();

        if (!o || !vcpus) {
                json_decref(o);
                json_decref(vcpus);
                return NULL;
        }
        for (size_t i = 0; i < pin->n_vcpus; i++) {
                _cleanup_free_ char *list = vx_cpuset_format(&pin->vcpus[i]);
                json_array_append_new(vcpus, list ? json_string(list) : json_null());
        }
        json_object_set_new(o, "vcpus", vcpus);
        if (pin->has_emulator) {
                _cleanup_free_ char *list = vx_cpuset_format(&pin->emulator);
                json_object_set_new(o, "emulator", list ? json_string(list) : json_null());
        }
        return o;
}

/* The inverse; NULL when absent or not readable (the adopting supervisor then pins as the plan says). */
static struct vx_plan_pinning *pin_live_parse(json_t *o)
{
        json_t *vcpus = json_object_get(o, "vcpus"), *emu = json_object_get(o, "emulator"), *v;
        struct vx_plan_pinning *pin;
        size_t i;

        if (!json_is_object(o) || !json_is_array(vcpus))
                return NULL;
        pin = calloc(1, sizeof(*pin));
        if (!pin || !(pin->vcpus = calloc(json_array_size(vcpus) + 1, sizeof(*pin->vcpus))))
                return vm_pinning_free(pin);
        json_array_foreach(vcpus, i, v)
        {
                if (!json_is_string(v) || vx_cpuset_parse(json_string_value(v), &pin->vcpus[i]) < 0)
                        return vm_pinning_free(pin);
                pin->n_vcpus++;
        }
        if (json_is_string(emu)) {
                if (vx_cpuset_parse(json_string_value(emu), &pin->emulator) < 0)
                        return vm_pinning_free(pin);
                pin->has_emulator = true;
        }
        return pin;
}

/*
 * The state file's record of each NIC on the host, so that an adopting
 * supervisor can tell a tap that was deleted or made again behind vmxrun's
 * back (QEMU's fd still holds the old one) from the one it created.
 */
static json_t *saved_nics_json(const struct vx_vm_plan *vp, bool running)
{
        json_t *arr = json_array();

        for (size_t i = 0; arr && i < vp->vm->n_nics; i++) {
                const struct vx_nic *nic = &vp->vm->nics[i];
                size_t len = 0;
                const char *pci = plan_nic_pci_address(vp, i, &len);
                json_t *n;

                if (nic->type == VX_NIC_TAP)
                        n = json_pack("{s:s, s:i}", "tap", nic->tap, "ifindex",
                                      running ? (int)if_nametoindex(nic->tap) : 0);
                else
                        n = json_pack("{s:s%}", "pci_address", pci ? pci : "", pci ? len : 0);
                if (n)
                        json_array_append_new(arr, n);
        }
        return arr;
}

/* A query-status in flight on a VM's QMP connection: status asks every QEMU before it reads the first answer. */
struct status_ask {
        uint64_t id;
        int r; /* qmp_send()'s: < 0, nothing to wait for */
};

static json_t *vm_json(const struct vx_vm_instance *inst, bool live, struct vx_netsetup *ns,
                       const struct status_ask *ask)
{
        const struct vx_vm_plan *vp = inst->plan;
        bool has_pid = inst->pid > 0;
        json_t *o;

        o = json_pack("{s:s, s:s, s:i, s:i, s:s, s:b}", "name", vp->vm->name, "state",
                      vx_vm_state_to_string(inst->state), "pid", has_pid ? (int)inst->pid : 0, "restarts",
                      (int)inst->restarts, "accel", vx_accel_to_string(vp->accel), "ready", inst->ready);
        if (!o)
                return NULL;
        json_object_set_new(o, "vcpus", has_pid ? vcpus_json(inst, live) : json_array());
        json_object_set_new(o, "last_error", inst->last_error ? json_string(inst->last_error) : json_null());
        json_object_set_new(o, "console", console_json(vp));
        json_object_set_new(o, "memory", memory_json(vp, has_pid ? inst->pid : 0, live));
        /* Kept in the state file too: an adopting supervisor re-applies it (docs/router.md). */
        if (inst->pin_live)
                json_object_set_new(o, "pin_live", pin_live_json(inst->pin_live));
        if (inst->waiting_for)
                json_object_set_new(o, "waiting_for", json_string(inst->waiting_for));
        if (!live) {
                json_object_set_new(o, "start_ticks", json_integer((json_int_t)inst->start_ticks));
                json_object_set_new(o, "started_usec", json_integer(inst->started_usec));
                json_object_set_new(o, "nics", saved_nics_json(vp, has_pid));
                return o;
        }
        json_object_set_new(o, "nics", nics_json(vp, ns));
        /* pinning: auto: what placement chose and why (docs/placement.md). */
        if (vp->pinning.automatic)
                json_object_set_new(o, "placement",
                                    json_pack("{s:i, s:o*}", "node", vp->pinning.node, "why",
                                              plan_json_strv(vp->pinning.why, vp->pinning.n_why)));
        if (has_pid) {
                struct timespec ts;
                json_t *emu = json_object();

                clock_gettime(CLOCK_REALTIME, &ts);
                json_object_set_new(o, "uptime_s",
                                    json_integer(ts.tv_sec - (json_int_t)(inst->started_usec / 1000000)));
                /* The main thread stands for the emulator threads: they share its CPU set. */
                add_cpus(emu, inst->pid, inst->pid);
                json_object_set_new(emu, "threads", emulator_threads_json(inst));
                json_object_set_new(o, "emulator", emu);
                json_object_set_new(o, "pin_repairs", json_integer(inst->pin_repairs));
                json_object_set_new(o, "pin_drift", json_string(vx_pin_drift_to_string(vp->vm->pinning.drift)));
                json_object_set_new(o, "stage", json_string(current_stage(inst)));
                json_object_set_new(o, "stages", stages_json(inst));
                if (inst->argv_drift)
                        json_object_set_new(o, "differs_from_profile",
                                            plan_json_strv(inst->argv_drift, strv_length(inst->argv_drift)));
                if (inst->qmp && ask) {
                        _cleanup_free_ char *status = NULL;
                        bool running;
                        int r = ask->r < 0 ? ask->r
                                           : qmp_query_status_receive(inst->qmp, ask->id, VX_QMP_UNRESPONSIVE_MS,
                                                                      &status, &running, NULL);
                        if (r >= 0)
                                json_object_set_new(o, "run_state", json_string(status));
                        else if (r == -ETIMEDOUT)
                                /* A late answer is dropped by the QMP client: it has no waiter any more. */
                                json_object_set_new(o, "run_state", json_string("unresponsive"));
                }
        }
        return o;
}

static json_t *deployment_json(const struct vx_plan *plan, const char *profile_path, struct vx_vm_instance *const *insts,
                               size_t n, bool live)
{
        _cleanup_(netsetup_freep) struct vx_netsetup *ns = NULL;
        _cleanup_free_ struct status_ask *asks = NULL;
        json_t *vms = json_array(), *o;

        o = json_pack("{s:i, s:s, s:s, s:i}", "version", STATE_VERSION, "deployment", plan->profile->name, "profile",
                      profile_path, "supervisor_pid", (int)getpid());
        if (!o || !vms) {
                json_decref(o);
                json_decref(vms);
                return NULL;
        }
        if (live && netsetup_open(&ns) < 0)
                ns = NULL;
        asks = live ? calloc(n ? n : 1, sizeof(*asks)) : NULL;
        /* Every QEMU answers while the others' /proc entries are read: one round trip, not n. */
        for (size_t i = 0; asks && i < n; i++)
                asks[i].r = insts[i]->qmp && insts[i]->pid > 0
                                    ? qmp_send(insts[i]->qmp, "query-status", NULL, VX_QMP_UNRESPONSIVE_MS, &asks[i].id)
                                    : -ENOTCONN;
        for (size_t i = 0; i < n; i++) {
                json_t *v = vm_json(insts[i], live, ns, asks ? &asks[i] : NULL);
                if (v)
                        json_array_append_new(vms, v);
        }
        json_object_set_new(o, "vms", vms);
        return o;
}

int state_save(const struct vx_plan *plan, const char *profile_path, const struct vx_plan_options *opts,
               struct vx_vm_instance *const *insts, size_t n)
{
        _cleanup_free_ char *path = state_path(plan->deployment_dir), *text = NULL;
        json_t *o = deployment_json(plan, profile_path, insts, n, false);

        if (!o || !path) {
                json_decref(o);
                return -ENOMEM;
        }
        json_object_set_new(o, "accel", opts->force_accel ? json_string(vx_accel_to_string(opts->accel)) : json_null());
        json_object_set_new(o, "runtime_dir", opts->runtime_dir ? json_string(opts->runtime_dir) : json_null());
        /* The user QEMU runs as: an adopting supervisor plans with the same one. */
        json_object_set_new(o, "qemu_user", json_string(plan->qemu_user ? plan->qemu_user : "root"));
        if (opts->sets.n > 0) {
                json_t *sets = json_array();

                for (size_t i = 0; sets && i < opts->sets.n; i++)
                        if (json_array_append_new(sets, json_string(opts->sets.items[i])) < 0)
                                json_decref(TAKE_PTR(sets));
                if (!sets || json_object_set_new(o, "set", sets) < 0) {
                        json_decref(o);
                        return -ENOMEM;
                }
        }
        text = json_dumps(o, JSON_INDENT(2));
        json_decref(o);
        if (!text)
                return -ENOMEM;
        return runtime_write_atomic(path, text, strlen(text));
}

json_t *state_status_json(const struct vx_plan *plan, const char *profile_path, struct vx_vm_instance *const *insts,
                          size_t n)
{
        return deployment_json(plan, profile_path, insts, n, true);
}

static int parse_saved_nics(json_t *arr, struct vx_saved_vm *vm)
{
        if (!json_is_array(arr) || json_array_size(arr) == 0)
                return 0;
        vm->nics = calloc(json_array_size(arr), sizeof(*vm->nics));
        if (!vm->nics)
                return -ENOMEM;
        for (size_t i = 0; i < json_array_size(arr); i++) {
                json_t *n = json_array_get(arr, i);
                struct vx_saved_nic *s = &vm->nics[vm->n_nics++];
                const char *tap = json_string_value(json_object_get(n, "tap"));
                const char *pci = json_string_value(json_object_get(n, "pci_address"));

                s->ifindex = (int)json_integer_value(json_object_get(n, "ifindex"));
                s->tap = tap ? strdup(tap) : NULL;
                s->pci_address = pci && *pci ? strdup(pci) : NULL;
                if ((tap && !s->tap) || (pci && *pci && !s->pci_address))
                        return -ENOMEM;
        }
        return 0;
}

static int parse_vm(json_t *v, struct vx_saved_vm *ret)
{
        json_t *name = json_object_get(v, "name");
        int r;

        if (!json_is_string(name))
                return -EBADMSG;
        *ret = (struct vx_saved_vm){
                .name = strdup(json_string_value(name)),
                .pid = (pid_t)json_integer_value(json_object_get(v, "pid")),
                .start_ticks = (unsigned long long)json_integer_value(json_object_get(v, "start_ticks")),
                .started_usec = json_integer_value(json_object_get(v, "started_usec")),
                .restarts = (unsigned)json_integer_value(json_object_get(v, "restarts")),
                .ready = json_is_true(json_object_get(v, "ready")),
                .pin_live = pin_live_parse(json_object_get(v, "pin_live")),
        };
        if (!ret->name)
                return -ENOMEM;
        r = parse_saved_nics(json_object_get(v, "nics"), ret);
        return r;
}

/* "set": the --set values a start loaded its profile with; none in a state file of an older vmxrun. */
static int parse_sets(json_t *sets, struct vx_saved_state *s)
{
        size_t i;
        json_t *v;

        if (!json_is_array(sets))
                return 0;
        s->sets = calloc(json_array_size(sets) + 1, sizeof(*s->sets));
        if (!s->sets)
                return -ENOMEM;
        json_array_foreach(sets, i, v)
        {
                if (!json_is_string(v))
                        return -EBADMSG;
                s->sets[s->n_sets] = strdup(json_string_value(v));
                if (!s->sets[s->n_sets])
                        return -ENOMEM;
                s->n_sets++;
        }
        return 0;
}

int state_load(const char *deployment_dir, struct vx_saved_state **ret)
{
        _cleanup_free_ char *path = state_path(deployment_dir);
        _cleanup_(state_freep) struct vx_saved_state *s = NULL;
        json_error_t jerr;
        json_t *o, *vms, *accel, *rt;
        size_t i;
        json_t *v;
        int r = 0;

        if (!path)
                return -ENOMEM;
        if (access(path, F_OK) < 0)
                return -errno;
        o = json_load_file(path, 0, &jerr);
        if (!o)
                return -EBADMSG;
        s = calloc(1, sizeof(*s));
        vms = json_object_get(o, "vms");
        if (!s || !json_is_array(vms) || json_integer_value(json_object_get(o, "version")) != STATE_VERSION) {
                json_decref(o);
                return s ? -EBADMSG : -ENOMEM;
        }
        s->deployment = strdup(json_string_value(json_object_get(o, "deployment")) ?: "");
        s->profile_path = strdup(json_string_value(json_object_get(o, "profile")) ?: "");
        s->supervisor_pid = (pid_t)json_integer_value(json_object_get(o, "supervisor_pid"));
        accel = json_object_get(o, "accel");
        s->force_accel = json_is_string(accel);
        s->accel = s->force_accel && strcmp(json_string_value(accel), "tcg") == 0 ? VX_ACCEL_TCG : VX_ACCEL_KVM;
        rt = json_object_get(o, "runtime_dir");
        s->runtime_dir = json_is_string(rt) ? strdup(json_string_value(rt)) : NULL;
        rt = json_object_get(o, "qemu_user");
        s->qemu_user = json_is_string(rt) ? strdup(json_string_value(rt)) : NULL;
        s->vms = calloc(json_array_size(vms) + 1, sizeof(*s->vms));
        if (!s->vms || !s->deployment || !s->profile_path)
                r = -ENOMEM;
        r = r < 0 ? r : parse_sets(json_object_get(o, "set"), s);
        json_array_foreach(vms, i, v) {
                if (r < 0)
                        break;
                r = parse_vm(v, &s->vms[s->n_vms]);
                if (r >= 0 || s->vms[s->n_vms].name) /* counted once it holds anything, so state_free frees it */
                        s->n_vms++;
        }
        json_decref(o);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

void state_remove(const char *deployment_dir)
{
        _cleanup_free_ char *path = state_path(deployment_dir);

        if (path)
                (void)unlink(path);
}

const struct vx_saved_vm *state_find_vm(const struct vx_saved_state *s, const char *name)
{
        for (size_t i = 0; i < s->n_vms; i++)
                if (strcmp(s->vms[i].name, name) == 0)
                        return &s->vms[i];
        return NULL;
}

struct vx_saved_state *state_free(struct vx_saved_state *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_vms; i++) {
                free(s->vms[i].name);
                vm_pinning_free(s->vms[i].pin_live);
                for (size_t k = 0; k < s->vms[i].n_nics; k++) {
                        free(s->vms[i].nics[k].tap);
                        free(s->vms[i].nics[k].pci_address);
                }
                free(s->vms[i].nics);
        }
        free(s->vms);
        free(s->deployment);
        free(s->profile_path);
        free(s->runtime_dir);
        free(s->qemu_user);
        for (size_t i = 0; i < s->n_sets; i++)
                free(s->sets[i]);
        free(s->sets);
        free(s);
        return NULL;
}

bool state_vms_alive(const struct vx_saved_state *s)
{
        for (size_t i = 0; i < s->n_vms; i++)
                if (s->vms[i].pid > 0 && kill(s->vms[i].pid, 0) == 0)
                        return true;
        return false;
}

struct vx_plan_options state_plan_options(const struct vx_saved_state *s)
{
        return (struct vx_plan_options){
                .runtime_dir = s->runtime_dir,
                .force_accel = s->force_accel,
                .accel = s->accel,
                .qemu_user = s->qemu_user ? s->qemu_user : "root", /* an older vmxrun kept QEMU root */
                .sets = {.items = (const char *const *)s->sets, .n = s->n_sets},
        };
}
