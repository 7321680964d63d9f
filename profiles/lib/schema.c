/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The YAML node tree (yaml.c) to the model: the schema. One table of fields
 * per mapping (which keys it has, their types, where each value goes), the
 * custom values no table type covers, the defaults, and the lists of VMs,
 * disks, NICs and bridges. The field engine that walks the tables and checks
 * each value is fields.c; rules that relate several values are in validate.c.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "fields.h"

/* --- custom values --- */

static void parse_features(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_cpu *cpu = ptr;

        pf_parse_string_list(c, v, path, &cpu->features, &cpu->n_features);
}

static void parse_extra_args(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_vm *vm = ptr;

        pf_parse_string_list(c, v, path, &vm->extra_args, &vm->n_extra_args);
}

static const struct field cpu_fields[] = {
        {.key = "model", .type = T_STRING, .offset = offsetof(struct vx_cpu, model)},
        {.key = "features", .type = T_CUSTOM, .offset = 0, .custom = parse_features},
};

/* cpu: a model name, or {model, features}. */
static void parse_cpu(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_cpu *cpu = ptr;

        if (v->type == VX_YNODE_SCALAR && !vx_ynode_is_null(v)) {
                pf_parse_value(c, &cpu_fields[0], v, path, &cpu->model);
                return;
        }
        pf_parse_fields(c, v, path, cpu_fields, ELEMENTSOF(cpu_fields), cpu);
}

static void parse_accel_fallback(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        const char *s = pf_scalar(c, v, path, "'tcg' or 'none'");

        if (!s)
                return;
        if (strcmp(s, "tcg") == 0)
                *(bool *)ptr = true;
        else if (strcmp(s, "none") == 0)
                *(bool *)ptr = false;
        else
                pf_error_at(c, v, path, NULL, "expected 'tcg' or 'none', got %s", DIAG_QUOTE(s));
}

static void parse_memory_size(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        const char *s = pf_scalar(c, v, path, "a size such as 2048MiB or 16GiB");
        uint64_t size;
        int r;

        if (!s)
                return;
        r = pf_size_text(s, &size);
        if (r == -ENODATA)
                pf_error_at(c, v, path, "add a unit, e.g. 2048MiB", "%s has no unit and is ambiguous", DIAG_QUOTE(s));
        else if (r == -EBADMSG)
                pf_error_at(c, v, path, "units are B, K/KiB, M/MiB, G/GiB and T/TiB, all powers of 1024",
                            "unknown unit in %s", DIAG_QUOTE(s));
        else if (r == -ERANGE)
                pf_error_at(c, v, path, NULL, "%s is too large", DIAG_QUOTE(s));
        else if (r < 0)
                pf_error_at(c, v, path, NULL, "expected a size such as 2048MiB or 16GiB, got %s", DIAG_QUOTE(s));
        else if (size < 1024 * 1024)
                pf_error_at(c, v, path, NULL, "%s is less than 1MiB", DIAG_QUOTE(s));
        else if (size > VX_MEMORY_MAX)
                pf_error_at(c, v, path, NULL,
                            "%s is more than 4096TiB (4 PiB, 2^52 bytes), all that an x86_64 guest can address",
                            DIAG_QUOTE(s));
        else
                *(uint64_t *)ptr = size;
}

static void parse_page_size(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        const char *s = pf_scalar(c, v, path, "2M, 1G or auto");
        struct vx_memory *m = (struct vx_memory *)((char *)ptr - offsetof(struct vx_memory, page_size));
        uint64_t size = 0;

        if (!s)
                return;
        if (strcmp(s, "auto") == 0) {
                m->page_size_auto = true;
                return;
        }
        if (pf_size_text(s, &size) != 0 || (size != 2ULL << 20 && size != 1ULL << 30)) {
                pf_error_at(c, v, path, NULL, "expected 2M (2MiB), 1G (1GiB) or auto, got %s", DIAG_QUOTE(s));
                return;
        }
        m->page_size = size;
}

static const struct field hugepages_fields[] = {
        {.key = "page-size",
         .type = T_CUSTOM,
         .offset = offsetof(struct vx_memory, page_size),
         .custom = parse_page_size},
        {.key = "path", .type = T_STRING, .offset = offsetof(struct vx_memory, path)},
        {.key = "node", .type = T_INT, .offset = offsetof(struct vx_memory, node), .min = 0, .max = 1023},
        {.key = "policy", .type = T_ENUM, .offset = offsetof(struct vx_memory, policy), .names = vx_mem_policy_names},
        {.key = "prealloc", .type = T_BOOL, .offset = offsetof(struct vx_memory, prealloc)},
};

static void parse_hugepages(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_memory *m = ptr;

        pf_parse_switch(c, v, path, &m->hugepages, hugepages_fields, ELEMENTSOF(hugepages_fields), m);
}

static const struct field memory_fields[] = {
        {.key = "size",
         .type = T_CUSTOM,
         .offset = offsetof(struct vx_memory, size),
         .required = true,
         .custom = parse_memory_size},
        {.key = "hugepages", .type = T_CUSTOM, .offset = 0, .custom = parse_hugepages},
        {.key = "merge", .type = T_BOOL, .offset = offsetof(struct vx_memory, merge)},
        {.key = "lock", .type = T_BOOL, .offset = offsetof(struct vx_memory, lock)},
};

/* A CPU list: "0-3,8" or a plain number. */
static bool parse_cpuset_node(struct pctx *c, const struct vx_ynode *v, const char *path, struct vx_cpuset *ret)
{
        const char *s = pf_scalar(c, v, path, "a CPU list such as \"0-3,8\"");
        int r;

        if (!s)
                return false;
        r = vx_cpuset_parse(s, ret);
        if (r == -ERANGE)
                pf_error_at(c, v, path, NULL, "CPU number in %s too large (the limit is %d)", DIAG_QUOTE(s),
                            VX_CPUSET_MAX - 1);
        else if (r < 0)
                pf_error_at(c, v, path, NULL, "expected a CPU list such as \"0-3,8\", got %s", DIAG_QUOTE(s));
        return r >= 0;
}

static void parse_pin_vcpus(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_pinning *pin = ptr;
        struct vx_ynode *const *nodes;
        size_t n;

        nodes = pf_list_items(c, v, path, &n);
        if (v->type != VX_YNODE_SEQUENCE)
                return;
        if (n == 0) {
                pf_error_at(c, v, path, "leave pinning.vcpus out to not pin vCPUs", "the list is empty");
                return;
        }
        pin->vcpus = pf_check(c, calloc(n, sizeof(struct vx_cpuset)));
        if (!pin->vcpus)
                return;
        pin->n_vcpus = n;
        for (size_t i = 0; i < n && c->r == 0; i++) {
                _cleanup_free_ char *child = pf_path_index(c, path, i);

                if (!child)
                        return;
                pf_add_position(c, child, nodes[i]->line, nodes[i]->column);
                parse_cpuset_node(c, nodes[i], child, &pin->vcpus[i]);
        }
}

static void parse_pin_emulator(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_pinning *pin = ptr;

        if (parse_cpuset_node(c, v, path, &pin->emulator))
                pin->has_emulator = true;
}

/* pinning.placement: "auto" (vmxrun chooses, docs/placement.md) or "explicit" (the lists). */
static void parse_pin_placement(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        const char *s = pf_scalar(c, v, path, "'auto' or 'explicit'");

        if (!s)
                return;
        if (strcmp(s, "auto") == 0)
                *(bool *)ptr = true;
        else if (strcmp(s, "explicit") == 0)
                *(bool *)ptr = false;
        else
                pf_error_at(c, v, path, NULL, "expected 'auto' or 'explicit', got %s", DIAG_QUOTE(s));
}

static const struct field pinning_fields[] = {
        {.key = "vcpus", .type = T_CUSTOM, .offset = 0, .custom = parse_pin_vcpus},
        {.key = "emulator", .type = T_CUSTOM, .offset = 0, .custom = parse_pin_emulator},
        {.key = "placement",
         .type = T_CUSTOM,
         .offset = offsetof(struct vx_pinning, automatic),
         .custom = parse_pin_placement},
        {.key = "node", .type = T_INT, .offset = offsetof(struct vx_pinning, node), .min = 0, .max = 1023},
        {.key = "emulator-cpus",
         .type = T_UINT,
         .offset = offsetof(struct vx_pinning, emulator_cpus),
         .min = 1,
         .max = 64},
        {.key = "smt", .type = T_ENUM, .offset = offsetof(struct vx_pinning, smt), .names = vx_smt_policy_names},
        {.key = "shared", .type = T_BOOL, .offset = offsetof(struct vx_pinning, shared)},
        {.key = "core-scheduling", .type = T_BOOL, .offset = offsetof(struct vx_pinning, core_scheduling)},
        {.key = "drift", .type = T_ENUM, .offset = offsetof(struct vx_pinning, drift), .names = vx_pin_drift_names},
};

/* pinning: `auto` (placement: auto, every other key at its default), or a mapping. */
static void parse_pinning(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_pinning *pin = ptr;

        if (v->type == VX_YNODE_SCALAR && !vx_ynode_is_null(v)) {
                if (strcmp(v->value, "auto") == 0)
                        pin->automatic = true;
                else
                        pf_error_at(c, v, path, "or a mapping with vcpus and emulator", "expected 'auto', got %s",
                                    DIAG_QUOTE(v->value));
                return;
        }
        pf_parse_fields(c, v, path, pinning_fields, ELEMENTSOF(pinning_fields), pin);
}

static const struct field topology_fields[] = {
        {.key = "sockets", .type = T_UINT, .offset = offsetof(struct vx_topology, sockets), .min = 1, .max = 1024},
        {.key = "dies", .type = T_UINT, .offset = offsetof(struct vx_topology, dies), .min = 1, .max = 1024},
        {.key = "cores", .type = T_UINT, .offset = offsetof(struct vx_topology, cores), .min = 1, .max = 1024},
        {.key = "threads", .type = T_UINT, .offset = offsetof(struct vx_topology, threads), .min = 1, .max = 1024},
};

/* topology: `auto` (from the host CPUs placement chose), or a mapping. */
static void parse_topology(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_topology *t = ptr;

        if (v->type == VX_YNODE_SCALAR && !vx_ynode_is_null(v)) {
                if (strcmp(v->value, "auto") == 0)
                        t->automatic = true;
                else
                        pf_error_at(c, v, path, "or a mapping with sockets, dies, cores and threads",
                                    "expected 'auto', got %s", DIAG_QUOTE(v->value));
                return;
        }
        pf_parse_fields(c, v, path, topology_fields, ELEMENTSOF(topology_fields), t);
}

/* numa.nodes[].vcpus: guest vCPU indexes as a CPU list. */
static void parse_guest_node_vcpus(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        (void)parse_cpuset_node(c, v, path, ptr);
}

static const struct field guest_node_fields[] = {
        {.key = "vcpus",
         .type = T_CUSTOM,
         .offset = offsetof(struct vx_guest_node, vcpus),
         .required = true,
         .custom = parse_guest_node_vcpus},
        {.key = "size",
         .type = T_CUSTOM,
         .offset = offsetof(struct vx_guest_node, size),
         .required = true,
         .custom = parse_memory_size},
        {.key = "host-node", .type = T_INT, .offset = offsetof(struct vx_guest_node, host_node), .min = 0, .max = 1023},
};

static void guest_node_init(void *elem)
{
        ((struct vx_guest_node *)elem)->host_node = -1;
}

static void guest_node_parse(struct pctx *c, const struct vx_ynode *item, const char *path, void *elem)
{
        pf_parse_fields(c, item, path, guest_node_fields, ELEMENTSOF(guest_node_fields), elem);
}

static void parse_guest_nodes(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_numa *numa = ptr;

        numa->nodes = pf_parse_object_list(c, v, path, sizeof(struct vx_guest_node), &numa->n_nodes, guest_node_init,
                                           guest_node_parse);
}

static const struct field numa_fields[] = {
        {.key = "strict", .type = T_BOOL, .offset = offsetof(struct vx_numa, strict)},
        {.key = "nodes", .type = T_CUSTOM, .offset = 0, .custom = parse_guest_nodes},
};

static const struct field disk_fields[] = {
        {.key = "file", .type = T_STRING, .offset = offsetof(struct vx_disk, file), .required = true},
        {.key = "format", .type = T_ENUM, .offset = offsetof(struct vx_disk, format), .names = vx_disk_format_names},
        {.key = "bus", .type = T_ENUM, .offset = offsetof(struct vx_disk, bus), .names = vx_disk_bus_names},
        {.key = "cache", .type = T_ENUM, .offset = offsetof(struct vx_disk, cache), .names = vx_disk_cache_names},
        {.key = "readonly", .type = T_BOOL, .offset = offsetof(struct vx_disk, readonly)},
        {.key = "boot-order", .type = T_UINT, .offset = offsetof(struct vx_disk, boot_order), .min = 1, .max = 1000},
};

/* pci-slot: 3 or "0x3"; slot 0 is always the host bridge. */
static void parse_pci_slot(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        const char *s = pf_scalar(c, v, path, "a PCI slot number");
        unsigned long slot;
        char *end;

        if (!s)
                return;
        errno = 0;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2])
                slot = strtoul(s + 2, &end, 16);
        else if (s[0] >= '0' && s[0] <= '9')
                slot = strtoul(s, &end, 10);
        else
                end = (char *)s;
        if (*end || end == s || errno != 0 || slot < 1 || slot > 31) {
                pf_error_at(c, v, path, NULL, "expected a PCI slot from 1 to 31 (or 0x1 to 0x1f), got %s",
                            DIAG_QUOTE(s));
                return;
        }
        *(int *)ptr = (int)slot;
}

/* --- vf NICs: pf (one or a list), vf (an index or auto), pf-settings --- */

static const struct field vf_index_field = {.key = "vf", .type = T_INT, .min = 0, .max = 4095};

/* pf: p3p1, or [p3p1, p2p1]: the PFs a `vf: auto` chooses from; pf keeps the first. */
static void parse_pf(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_nic *n = ptr;

        if (v->type == VX_YNODE_SEQUENCE) {
                pf_parse_string_list(c, v, path, &n->pfs, &n->n_pfs);
                if (n->n_pfs == 0)
                        pf_error_at(c, v, path, NULL, "expected at least one PF interface");
                else if (n->pfs[0])
                        n->pf = pf_check(c, strdup(n->pfs[0]));
                return;
        }
        if (!pf_scalar(c, v, path, "a PF interface or a list of them"))
                return;
        n->pf = pf_check(c, strdup(v->value));
        n->pfs = pf_check(c, calloc(1, sizeof(char *)));
        if (n->pf && n->pfs && (n->pfs[0] = pf_check(c, strdup(n->pf))))
                n->n_pfs = 1;
}

/* vf: an index, or auto: a free VF picked at start. */
static void parse_vf(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_nic *n = ptr;

        if (v->type == VX_YNODE_SCALAR && v->plain && strcmp(v->value, "auto") == 0) {
                n->vf_auto = true;
                return;
        }
        pf_parse_value(c, &vf_index_field, v, path, &n->vf);
}

static const struct field pf_settings_fields[] = {
        {.key = "up", .type = T_TRISTATE, .offset = offsetof(struct vx_pf_settings, up)},
        {.key = "mtu", .type = T_UINT, .offset = offsetof(struct vx_pf_settings, mtu), .min = 68, .max = 65535},
        {.key = "promisc", .type = T_TRISTATE, .offset = offsetof(struct vx_pf_settings, promisc)},
        {.key = "allmulti", .type = T_TRISTATE, .offset = offsetof(struct vx_pf_settings, allmulti)},
};

static const struct field nic_fields[] = {
        {.key = "type",
         .type = T_ENUM,
         .offset = offsetof(struct vx_nic, type),
         .required = true,
         .names = vx_nic_type_names},
        {.key = "mac", .type = T_STRING, .offset = offsetof(struct vx_nic, mac)},
        {.key = "model", .type = T_ENUM, .offset = offsetof(struct vx_nic, model), .names = vx_nic_model_names},
        {.key = "pci-slot", .type = T_CUSTOM, .offset = offsetof(struct vx_nic, pci_slot), .custom = parse_pci_slot},
        {.key = "bridge", .type = T_STRING, .offset = offsetof(struct vx_nic, bridge)},
        {.key = "tap", .type = T_STRING, .offset = offsetof(struct vx_nic, tap)},
        {.key = "vhost", .type = T_TRISTATE, .offset = offsetof(struct vx_nic, vhost)},
        {.key = "queues", .type = T_UINT, .offset = offsetof(struct vx_nic, queues), .min = 1, .max = 256},
        {.key = "mtu", .type = T_UINT, .offset = offsetof(struct vx_nic, mtu), .min = 68, .max = 65535},
        {.key = "pf", .type = T_CUSTOM, .offset = 0, .custom = parse_pf},
        {.key = "vf", .type = T_CUSTOM, .offset = 0, .custom = parse_vf},
        {.key = "vlan", .type = T_INT, .offset = offsetof(struct vx_nic, vlan), .min = 1, .max = 4094},
        {.key = "rate", .type = T_INT, .offset = offsetof(struct vx_nic, rate_mbps), .min = 0, .max = 10000000},
        {.key = "spoofchk", .type = T_TRISTATE, .offset = offsetof(struct vx_nic, spoofchk)},
        {.key = "trust", .type = T_TRISTATE, .offset = offsetof(struct vx_nic, trust)},
        {.key = "host", .type = T_STRING, .offset = offsetof(struct vx_nic, host)},
        MAP("pf-settings", struct vx_nic, pf_settings, pf_settings_fields),
};

/* Which NIC types each type-specific key applies to. */
static const struct {
        const char *key;
        unsigned types; /* 1 << enum vx_nic_type */
} nic_key_types[] = {
        {"mac", 1u << VX_NIC_TAP | 1u << VX_NIC_VF},
        {"model", 1u << VX_NIC_TAP},
        {"bridge", 1u << VX_NIC_TAP},
        {"tap", 1u << VX_NIC_TAP},
        {"vhost", 1u << VX_NIC_TAP},
        {"queues", 1u << VX_NIC_TAP},
        {"mtu", 1u << VX_NIC_TAP},
        {"pf", 1u << VX_NIC_VF},
        {"vf", 1u << VX_NIC_VF},
        {"vlan", 1u << VX_NIC_VF},
        {"rate", 1u << VX_NIC_VF},
        {"spoofchk", 1u << VX_NIC_VF},
        {"trust", 1u << VX_NIC_VF},
        {"host", 1u << VX_NIC_HOSTDEV},
        {"pf-settings", 1u << VX_NIC_VF},
};

static void check_nic_keys(struct pctx *c, const struct vx_ynode *v, const char *path, const struct vx_nic *nic)
{
        const struct vx_ypair *type = vx_ynode_pair(v, "type");

        /* Without a valid type there is nothing to compare with; that was reported already. */
        if (!type || pf_lookup_enum(vx_nic_type_names, type->value->value ?: "") < 0)
                return;

        for (size_t i = 0; i < v->n_pairs; i++)
                for (size_t j = 0; j < ELEMENTSOF(nic_key_types); j++) {
                        _cleanup_free_ char *child = NULL;

                        if (strcmp(v->pairs[i].key, nic_key_types[j].key) != 0 ||
                            (nic_key_types[j].types & (1u << nic->type)))
                                continue;
                        child = pf_path_key(c, path, v->pairs[i].key);
                        if (!child)
                                return;
                        pf_error(c, v->pairs[i].line, v->pairs[i].column, child, NULL,
                                 "does not apply to a NIC of type %s", vx_nic_type_to_string(nic->type));
                }
}

static const struct field serial_fields[] = {
        {.key = "type",
         .type = T_ENUM,
         .offset = offsetof(struct vx_serial, type),
         .required = true,
         .names = vx_serial_type_names},
        {.key = "host", .type = T_STRING, .offset = offsetof(struct vx_serial, host)},
        {.key = "port", .type = T_UINT, .offset = offsetof(struct vx_serial, port), .min = 1, .max = 65535},
        {.key = "path", .type = T_STRING, .offset = offsetof(struct vx_serial, path)},
};

/* serial: "none" or a mapping. */
static void parse_serial(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_serial *serial = ptr;
        const struct vx_ypair *type;

        if (v->type == VX_YNODE_SCALAR && v->plain && strcmp(v->value, "none") == 0) {
                serial->type = VX_SERIAL_NONE;
                return;
        }
        if (v->type != VX_YNODE_MAPPING) {
                pf_error_at(c, v, path, NULL, "expected a mapping or 'none', got %s", vx_ynode_type_to_string(v));
                return;
        }
        pf_parse_fields(c, v, path, serial_fields, ELEMENTSOF(serial_fields), serial);

        /* Keys that make no sense for the type are mistakes, not something to ignore. */
        type = vx_ynode_pair(v, "type");
        if (!type || pf_lookup_enum(vx_serial_type_names, type->value->value ?: "") < 0)
                return;
        for (size_t i = 0; i < v->n_pairs; i++) {
                const struct vx_ypair *pp = &v->pairs[i];
                bool tcp = serial->type == VX_SERIAL_TELNET || serial->type == VX_SERIAL_TCP;
                bool misplaced = ((strcmp(pp->key, "host") == 0 || strcmp(pp->key, "port") == 0) && !tcp) ||
                                 (strcmp(pp->key, "path") == 0 && serial->type != VX_SERIAL_UNIX);
                _cleanup_free_ char *child = NULL;

                if (!misplaced)
                        continue;
                child = pf_path_key(c, path, pp->key);
                if (child)
                        pf_error(c, pp->line, pp->column, child, NULL, "does not apply to a serial of type %s",
                                 vx_serial_type_to_string(serial->type));
        }
}

static const struct field vnc_fields[] = {
        {.key = "listen", .type = T_STRING, .offset = offsetof(struct vx_vnc, listen)},
        {.key = "display", .type = T_INT, .offset = offsetof(struct vx_vnc, display), .min = 0, .max = 65535 - 5900},
};

static void parse_vnc(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_vnc *vnc = ptr;

        pf_parse_switch(c, v, path, &vnc->enabled, vnc_fields, ELEMENTSOF(vnc_fields), vnc);
}

static void parse_video(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        static const struct vx_enum_name names[] = {
                {"none", 0}, {"std", 1}, {"cirrus", 2}, {"virtio", 3}, {},
        };
        const char *s = pf_scalar(c, v, path, "a video adapter");

        if (!s)
                return;
        if (pf_lookup_enum(names, s) < 0) {
                pf_report_enum_error(c, v, path, names, NULL);
                return;
        }
        *(char **)ptr = pf_check(c, strdup(s));
}

/* An smbios item: "type" and any number of string fields, kept in file order. */
static void parse_smbios_item(struct pctx *c, const struct vx_ynode *v, const char *path, struct vx_smbios *sm)
{
        static const struct field type_field = {
                .key = "type",
                .type = T_UINT,
                .min = 0,
                .max = 127,
        };

        if (v->type != VX_YNODE_MAPPING) {
                pf_error_at(c, v, path, NULL, "expected a mapping with 'type' and fields, got %s",
                            vx_ynode_type_to_string(v));
                return;
        }
        sm->entries = pf_check(c, calloc(v->n_pairs ?: 1, sizeof(struct vx_smbios_entry)));
        if (!sm->entries)
                return;
        for (size_t i = 0; i < v->n_pairs && c->r == 0; i++) {
                const struct vx_ypair *pair = &v->pairs[i];
                _cleanup_free_ char *child = pf_path_key(c, path, pair->key);
                const char *s;

                if (!child)
                        return;
                pf_add_position(c, child, pair->line, pair->column);
                if (strcmp(pair->key, "type") == 0) {
                        pf_parse_value(c, &type_field, pair->value, child, &sm->type);
                        continue;
                }
                s = pf_scalar(c, pair->value, child, "a string");
                if (!s)
                        continue;
                sm->entries[sm->n_entries].key = pf_check(c, strdup(pair->key));
                sm->entries[sm->n_entries].value = pf_check(c, strdup(s));
                sm->n_entries++;
        }
        if (!vx_ynode_pair(v, "type")) {
                _cleanup_free_ char *child = pf_path_key(c, path, "type");

                if (child)
                        pf_error_at(c, v, child, NULL, "required key missing");
        }
}

static void parse_smbios(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_vm *vm = ptr;
        struct vx_ynode *const *nodes;
        size_t n;

        nodes = pf_list_items(c, v, path, &n);
        if (n == 0)
                return;
        vm->smbios = pf_check(c, calloc(n, sizeof(struct vx_smbios)));
        if (!vm->smbios)
                return;
        vm->n_smbios = n;
        for (size_t i = 0; i < n && c->r == 0; i++) {
                _cleanup_free_ char *child = pf_path_index(c, path, i);

                if (!child)
                        return;
                pf_add_position(c, child, nodes[i]->line, nodes[i]->column);
                parse_smbios_item(c, nodes[i], child, &vm->smbios[i]);
        }
}

static const struct field boot_fields[] = {
        {.key = "kernel", .type = T_STRING, .offset = offsetof(struct vx_boot, kernel)},
        {.key = "initrd", .type = T_STRING, .offset = offsetof(struct vx_boot, initrd)},
        {.key = "cmdline", .type = T_STRING, .offset = offsetof(struct vx_boot, cmdline)},
};

static const struct field restart_fields[] = {
        {.key = "policy",
         .type = T_ENUM,
         .offset = offsetof(struct vx_restart, policy),
         .names = vx_restart_policy_names},
        {.key = "max", .type = T_UINT, .offset = offsetof(struct vx_restart, max_restarts), .min = 0, .max = 10000},
        {.key = "window",
         .type = T_DURATION,
         .offset = offsetof(struct vx_restart, window_s),
         .unit_ms = 1000,
         .min = 1,
         .max = 7 * 24 * 3600},
        {.key = "backoff",
         .type = T_DURATION,
         .offset = offsetof(struct vx_restart, backoff_ms),
         .unit_ms = 1,
         .min = 0,
         .max = 3600 * 1000},
        {.key = "scope", .type = T_ENUM, .offset = offsetof(struct vx_restart, scope), .names = vx_restart_scope_names},
};

static const struct field ready_fields[] = {
        {.key = "console", .type = T_STRING, .offset = offsetof(struct vx_ready, console_pattern)},
        {.key = "qmp-status", .type = T_STRING, .offset = offsetof(struct vx_ready, qmp_status)},
        {.key = "timeout",
         .type = T_DURATION,
         .offset = offsetof(struct vx_ready, timeout_s),
         .unit_ms = 1000,
         .min = 1,
         .max = 24 * 3600},
        {.key = "link", .type = T_STRING, .offset = offsetof(struct vx_ready, link)},
};

/* after: a VM name, or {vm: NAME, until: ready|running} (docs/router.md). */
struct after_spec {
        char *vm;
        int until; /* 0 ready, 1 running */
};

static const struct vx_enum_name after_until_names[] = {{"ready", 0}, {"running", 1}, {}};

static const struct field after_fields[] = {
        {.key = "vm", .type = T_STRING, .offset = offsetof(struct after_spec, vm), .required = true},
        {.key = "until", .type = T_ENUM, .offset = offsetof(struct after_spec, until), .names = after_until_names},
};

static void parse_after(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_vm *vm = ptr;
        struct after_spec spec = {};

        if (v->type == VX_YNODE_SCALAR && !vx_ynode_is_null(v))
                pf_parse_value(c, &after_fields[0], v, path, &spec.vm);
        else
                pf_parse_fields(c, v, path, after_fields, ELEMENTSOF(after_fields), &spec);
        free(vm->after);
        vm->after = spec.vm;
        vm->after_running = spec.until == 1;
}

static const struct vx_enum_name sandbox_rule_names[] = {
        {"deny", VX_SANDBOX_DENY},
        {"allow", VX_SANDBOX_ALLOW},
        {},
};

static const struct vx_enum_name sandbox_elevate_names[] = {
        {"deny", VX_SANDBOX_DENY},
        {"allow", VX_SANDBOX_ALLOW},
        {"children", VX_SANDBOX_CHILDREN},
        {},
};

/* QEMU's -sandbox sub-options, in the profile's spelling (elevateprivileges= is elevate-privileges). */
static const struct field sandbox_fields[] = {
        {.key = "obsolete",
         .type = T_ENUM,
         .offset = offsetof(struct vx_sandbox, obsolete),
         .names = sandbox_rule_names},
        {.key = "elevate-privileges",
         .type = T_ENUM,
         .offset = offsetof(struct vx_sandbox, elevate_privileges),
         .names = sandbox_elevate_names},
        {.key = "spawn", .type = T_ENUM, .offset = offsetof(struct vx_sandbox, spawn), .names = sandbox_rule_names},
        {.key = "resource-control",
         .type = T_ENUM,
         .offset = offsetof(struct vx_sandbox, resource_control),
         .names = sandbox_rule_names},
};

/* on/off, or a mapping of the sub-options to relax (which means on). */
static void parse_sandbox(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_sandbox *sb = ptr;
        bool on = true;

        sb->given = true;
        pf_parse_switch(c, v, path, &on, sandbox_fields, ELEMENTSOF(sandbox_fields), sb);
        sb->off = !on;
}

static void parse_disks(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr);
static void parse_nics(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr);

static const struct field vm_fields[] = {
        {.key = "name", .type = T_STRING, .offset = offsetof(struct vx_vm, name), .required = true},
        {.key = "qemu", .type = T_STRING, .offset = offsetof(struct vx_vm, qemu)},
        {.key = "machine", .type = T_STRING, .offset = offsetof(struct vx_vm, machine)},
        {.key = "accel", .type = T_ENUM, .offset = offsetof(struct vx_vm, accel), .names = vx_accel_names},
        {.key = "accel-fallback",
         .type = T_CUSTOM,
         .offset = offsetof(struct vx_vm, tcg_fallback),
         .custom = parse_accel_fallback},
        {.key = "uuid", .type = T_STRING, .offset = offsetof(struct vx_vm, uuid)},
        {.key = "cpu", .type = T_CUSTOM, .offset = offsetof(struct vx_vm, cpu), .custom = parse_cpu},
        {.key = "vcpus", .type = T_UINT, .offset = offsetof(struct vx_vm, vcpus), .min = 1, .max = 1024},
        {.key = "topology", .type = T_CUSTOM, .offset = offsetof(struct vx_vm, topology), .custom = parse_topology},
        {.key = "memory",
         .type = T_MAP,
         .offset = offsetof(struct vx_vm, memory),
         .required = true,
         .sub = memory_fields,
         .n_sub = ELEMENTSOF(memory_fields)},
        {.key = "pinning", .type = T_CUSTOM, .offset = offsetof(struct vx_vm, pinning), .custom = parse_pinning},
        MAP("numa", struct vx_vm, numa, numa_fields),
        {.key = "disks", .type = T_CUSTOM, .offset = 0, .custom = parse_disks},
        {.key = "nics", .type = T_CUSTOM, .offset = 0, .custom = parse_nics},
        {.key = "serial", .type = T_CUSTOM, .offset = offsetof(struct vx_vm, serial), .custom = parse_serial},
        {.key = "vnc", .type = T_CUSTOM, .offset = offsetof(struct vx_vm, vnc), .custom = parse_vnc},
        {.key = "video", .type = T_CUSTOM, .offset = offsetof(struct vx_vm, video), .custom = parse_video},
        {.key = "balloon", .type = T_BOOL, .offset = offsetof(struct vx_vm, balloon)},
        {.key = "smbios", .type = T_CUSTOM, .offset = 0, .custom = parse_smbios},
        MAP("boot", struct vx_vm, boot, boot_fields),
        MAP("restart", struct vx_vm, restart, restart_fields),
        MAP("ready", struct vx_vm, ready, ready_fields),
        {.key = "after", .type = T_CUSTOM, .offset = 0, .custom = parse_after},
        {.key = "extra-args", .type = T_CUSTOM, .offset = 0, .custom = parse_extra_args},
        {.key = "sandbox", .type = T_CUSTOM, .offset = offsetof(struct vx_vm, sandbox), .custom = parse_sandbox},
};

static const struct field bridge_fields[] = {
        {.key = "name", .type = T_STRING, .offset = offsetof(struct vx_bridge, name), .required = true},
        {.key = "stp", .type = T_BOOL, .offset = offsetof(struct vx_bridge, stp)},
        {.key = "forward-delay",
         .type = T_INT,
         .offset = offsetof(struct vx_bridge, forward_delay),
         .min = 0,
         .max = 30},
        {.key = "mtu", .type = T_UINT, .offset = offsetof(struct vx_bridge, mtu), .min = 68, .max = 65535},
        {.key = "uplink", .type = T_STRING, .offset = offsetof(struct vx_bridge, uplink)},
        {.key = "move-host-address", .type = T_BOOL, .offset = offsetof(struct vx_bridge, move_host_address)},
};

static const struct field host_fields[] = {
        {.key = "runtime-dir", .type = T_STRING, .offset = offsetof(struct vx_host, runtime_dir)},
};

static void parse_bridges(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr);
static void parse_vms(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr);

static const struct field profile_fields[] = {
        {.key = "name", .type = T_STRING, .offset = offsetof(struct vx_profile, name), .required = true},
        MAP("host", struct vx_profile, host, host_fields),
        {.key = "bridges", .type = T_CUSTOM, .offset = 0, .custom = parse_bridges},
        {.key = "vms", .type = T_CUSTOM, .offset = 0, .custom = parse_vms, .required = true},
};

static void disk_init(void *elem)
{
        struct vx_disk *d = elem;

        d->format = VX_DISK_FORMAT_QCOW2;
        d->bus = VX_DISK_BUS_VIRTIO;
        d->cache = VX_DISK_CACHE_NONE;
}

static void disk_parse(struct pctx *c, const struct vx_ynode *item, const char *path, void *elem)
{
        pf_parse_fields(c, item, path, disk_fields, ELEMENTSOF(disk_fields), elem);
}

static void parse_disks(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_vm *vm = ptr;

        vm->disks = pf_parse_object_list(c, v, path, sizeof(struct vx_disk), &vm->n_disks, disk_init, disk_parse);
}

static void nic_init(void *elem)
{
        struct vx_nic *n = elem;

        n->model = VX_NIC_MODEL_VIRTIO;
        n->pci_slot = -1;
        n->vhost = VX_AUTO;
        n->queues = 1;
        n->vf = -1;
        n->vlan = -1;
        n->rate_mbps = -1;
        n->spoofchk = VX_AUTO;
        n->trust = VX_AUTO;
}

static void nic_parse(struct pctx *c, const struct vx_ynode *item, const char *path, void *elem)
{
        pf_parse_fields(c, item, path, nic_fields, ELEMENTSOF(nic_fields), elem);
        if (item->type == VX_YNODE_MAPPING)
                check_nic_keys(c, item, path, elem);
}

static void parse_nics(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_vm *vm = ptr;

        vm->nics = pf_parse_object_list(c, v, path, sizeof(struct vx_nic), &vm->n_nics, nic_init, nic_parse);
}

static void bridge_init(void *elem)
{
        struct vx_bridge *b = elem;

        b->forward_delay = -1;
}

static void bridge_parse(struct pctx *c, const struct vx_ynode *item, const char *path, void *elem)
{
        pf_parse_fields(c, item, path, bridge_fields, ELEMENTSOF(bridge_fields), elem);
}

static void parse_bridges(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_profile *p = ptr;

        p->bridges =
                pf_parse_object_list(c, v, path, sizeof(struct vx_bridge), &p->n_bridges, bridge_init, bridge_parse);
}

static void vm_init(void *elem)
{
        struct vx_vm *vm = elem;

        vm->accel = VX_ACCEL_KVM;
        vm->vcpus = 1;
        vm->topology = (struct vx_topology){.sockets = 1, .dies = 1, .cores = 0, .threads = 1};
        vm->memory.page_size = 2ULL << 20;
        vm->memory.node = -1;
        vm->memory.policy = VX_MEM_POLICY_BIND;
        vm->memory.prealloc = true;
        vm->pinning.node = -1;
        vm->pinning.emulator_cpus = 1;
        vm->memory.merge = true;
        vm->vnc.display = 0;
        vm->restart = (struct vx_restart){
                .policy = VX_RESTART_ON_CRASH,
                .max_restarts = 5,
                .window_s = 300,
                .backoff_ms = 1000,
        };
        vm->ready.timeout_s = 300;
}

/* Defaults that depend on other values, or on whether a key was given at all. */
static void vm_fill_defaults(struct pctx *c, const struct vx_ynode *item, struct vx_vm *vm)
{
        const struct vx_ypair *topology = vx_ynode_pair(item, "topology");
        struct vx_topology *t = &vm->topology;

        pf_set_default_string(c, &vm->qemu, "/usr/bin/qemu-system-x86_64");
        pf_set_default_string(c, &vm->machine, "pc");
        pf_set_default_string(c, &vm->cpu.model, "max");
        pf_set_default_string(c, &vm->video, vm->vnc.enabled ? "std" : "none");
        if (vm->vnc.enabled)
                pf_set_default_string(c, &vm->vnc.listen, "127.0.0.1");
        if (vm->serial.type == VX_SERIAL_TELNET || vm->serial.type == VX_SERIAL_TCP)
                pf_set_default_string(c, &vm->serial.host, "127.0.0.1");

        /* vcpus left out: the topology says how many; cores left out: vcpus does. */
        if (!vx_ynode_pair(item, "vcpus") && topology) {
                if (t->cores == 0)
                        t->cores = 1;
                vm->vcpus = t->sockets * t->dies * t->cores * t->threads;
        } else if (t->cores == 0) {
                unsigned rest = t->sockets * t->dies * t->threads;

                /* Not a multiple: cores stays 0, and validation says why. */
                if (rest > 0 && vm->vcpus % rest == 0)
                        t->cores = vm->vcpus / rest;
        }
}

static void vm_parse(struct pctx *c, const struct vx_ynode *item, const char *path, void *elem)
{
        pf_parse_fields(c, item, path, vm_fields, ELEMENTSOF(vm_fields), elem);
        vm_fill_defaults(c, item, elem);
}

static void parse_vms(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_profile *p = ptr;

        p->vms = pf_parse_object_list(c, v, path, sizeof(struct vx_vm), &p->n_vms, vm_init, vm_parse);
        if (p->n_vms == 0 && c->r == 0 && (vx_ynode_is_null(v) || v->type == VX_YNODE_SEQUENCE))
                pf_error_at(c, v, path, NULL, "a deployment needs at least one VM");
}

int vx_profile_from_tree(struct vx_profile *p, const struct vx_ynode *root, struct vx_diags *diags)
{
        struct pctx c = {
                .p = p,
                .diags = diags,
        };

        assert(p);
        assert(root);

        if (root->type != VX_YNODE_MAPPING) {
                pf_error_at(&c, root, "", NULL, "expected a mapping with name, bridges and vms at the top, got %s",
                            vx_ynode_type_to_string(root));
                return c.r;
        }
        pf_parse_fields(&c, root, "", profile_fields, ELEMENTSOF(profile_fields), p);
        pf_set_default_string(&c, &p->host.runtime_dir, VX_DEFAULT_RUNTIME_DIR);
        return c.r;
}
