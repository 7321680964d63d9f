/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "profile-internal.h"
#include "strmap.h"

const struct vx_enum_name vx_accel_names[] = {
        {"kvm", VX_ACCEL_KVM},
        {"tcg", VX_ACCEL_TCG},
        {},
};

const struct vx_enum_name vx_tristate_names[] = {
        {"auto", VX_AUTO},
        {"on", VX_ON},
        {"off", VX_OFF},
        {},
};

const struct vx_enum_name vx_mem_policy_names[] = {
        {"bind", VX_MEM_POLICY_BIND},
        {"preferred", VX_MEM_POLICY_PREFERRED},
        {"interleave", VX_MEM_POLICY_INTERLEAVE},
        {},
};

const struct vx_enum_name vx_disk_bus_names[] = {
        {"virtio", VX_DISK_BUS_VIRTIO},
        {"ide", VX_DISK_BUS_IDE},
        {"usb", VX_DISK_BUS_USB},
        {"scsi", VX_DISK_BUS_SCSI},
        {},
};

const struct vx_enum_name vx_disk_format_names[] = {
        {"raw", VX_DISK_FORMAT_RAW},
        {"qcow2", VX_DISK_FORMAT_QCOW2},
        {},
};

const struct vx_enum_name vx_disk_cache_names[] = {
        {"none", VX_DISK_CACHE_NONE},
        {"directsync", VX_DISK_CACHE_DIRECTSYNC},
        {"writeback", VX_DISK_CACHE_WRITEBACK},
        {"writethrough", VX_DISK_CACHE_WRITETHROUGH},
        {"unsafe", VX_DISK_CACHE_UNSAFE},
        {},
};

const struct vx_enum_name vx_nic_type_names[] = {
        {"tap", VX_NIC_TAP},
        {"vf", VX_NIC_VF},
        {"pci", VX_NIC_HOSTDEV},
        {"hostdev", VX_NIC_HOSTDEV}, /* the name before "pci" */
        {},
};

const struct vx_enum_name vx_nic_model_names[] = {
        {"virtio-net-pci", VX_NIC_MODEL_VIRTIO},
        {"virtio", VX_NIC_MODEL_VIRTIO},
        {"e1000", VX_NIC_MODEL_E1000},
        {"e1000e", VX_NIC_MODEL_E1000E},
        {},
};

const struct vx_enum_name vx_serial_type_names[] = {
        {"none", VX_SERIAL_NONE},
        {"telnet", VX_SERIAL_TELNET},
        {"tcp", VX_SERIAL_TCP},
        {"unix", VX_SERIAL_UNIX},
        {},
};

const struct vx_enum_name vx_restart_policy_names[] = {
        {"on-crash", VX_RESTART_ON_CRASH},
        {"always", VX_RESTART_ALWAYS},
        {"never", VX_RESTART_NEVER},
        {},
};

const struct vx_enum_name vx_restart_scope_names[] = {
        {"self", VX_RESTART_SCOPE_SELF},
        {"deployment", VX_RESTART_SCOPE_DEPLOYMENT},
        {},
};

const struct vx_enum_name vx_pin_drift_names[] = {
        {"repair", VX_PIN_DRIFT_REPAIR},
        {"report", VX_PIN_DRIFT_REPORT},
        {},
};

const struct vx_enum_name vx_smt_policy_names[] = {
        {"isolate", VX_SMT_ISOLATE},
        {"share", VX_SMT_SHARE},
        {},
};

const char *vx_enum_to_string(const struct vx_enum_name *names, int value)
{
        for (const struct vx_enum_name *n = names; n->name; n++)
                if (n->value == value)
                        return n->name;
        return NULL;
}

const char *vx_accel_to_string(enum vx_accel a)
{
        return vx_enum_to_string(vx_accel_names, a);
}

const char *vx_disk_bus_to_string(enum vx_disk_bus b)
{
        return vx_enum_to_string(vx_disk_bus_names, b);
}

const char *vx_disk_format_to_string(enum vx_disk_format f)
{
        return vx_enum_to_string(vx_disk_format_names, f);
}

const char *vx_disk_cache_to_string(enum vx_disk_cache c)
{
        return vx_enum_to_string(vx_disk_cache_names, c);
}

const char *vx_nic_type_to_string(enum vx_nic_type t)
{
        return vx_enum_to_string(vx_nic_type_names, t);
}

const char *vx_nic_model_to_string(enum vx_nic_model m)
{
        return vx_enum_to_string(vx_nic_model_names, m);
}

const char *vx_mem_policy_to_string(enum vx_mem_policy p)
{
        return vx_enum_to_string(vx_mem_policy_names, p);
}

const char *vx_restart_policy_to_string(enum vx_restart_policy p)
{
        return vx_enum_to_string(vx_restart_policy_names, p);
}

const char *vx_restart_scope_to_string(enum vx_restart_scope s)
{
        return vx_enum_to_string(vx_restart_scope_names, s);
}

const char *vx_tristate_to_string(enum vx_tristate t)
{
        return vx_enum_to_string(vx_tristate_names, t);
}

const char *vx_serial_type_to_string(enum vx_serial_type t)
{
        return vx_enum_to_string(vx_serial_type_names, t);
}

const char *vx_smt_policy_to_string(enum vx_smt_policy p)
{
        return vx_enum_to_string(vx_smt_policy_names, p);
}

const char *vx_pin_drift_to_string(enum vx_pin_drift d)
{
        return vx_enum_to_string(vx_pin_drift_names, d);
}

int vx_suggest(const char *word, const char *const *candidates, size_t n, char **ret)
{
        const char *best = NULL;
        size_t best_distance = SIZE_MAX, len = strlen(word);
        char *hint;
        /* Near enough to be a typo: a third of the word, but always allow two edits. */
        size_t limit = len / 3 > 2 ? len / 3 : 2;

        for (size_t i = 0; i < n; i++) {
                size_t lc = strlen(candidates[i]), d;

                /* The distance is at least the difference in length: skip the far ones (long hostile keys).
                 */
                if ((len > lc ? len - lc : lc - len) > limit)
                        continue;
                d = diag_edit_distance(word, candidates[i]);

                if (d < best_distance) {
                        best_distance = d;
                        best = candidates[i];
                }
        }
        if (!best || best_distance > limit || best_distance >= strlen(best)) {
                *ret = NULL;
                return 0;
        }
        /* asprintf() leaves its pointer undefined on failure: *ret is written on success only. */
        if (asprintf(&hint, "did you mean '%s'?", best) < 0)
                return -ENOMEM;
        *ret = hint;
        return 0;
}

int vx_profile_add_position(struct vx_profile *p, const char *path, unsigned line, unsigned column)
{
        _cleanup_free_ char *copy = NULL;
        int r;

        if (!p->position_index) {
                p->position_index = calloc(1, sizeof(*p->position_index));
                if (!p->position_index)
                        return -ENOMEM;
        }
        /* A path given twice keeps its first position, as a lookup always found. */
        r = vx_strmap_first(p->position_index, path, p->n_positions, 0, NULL, NULL);
        if (r != 0)
                return r < 0 ? r : 0;
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        /* Doubling at each power of two: hostile input can hold hundreds of thousands of keys. */
        if ((p->n_positions & (p->n_positions - 1)) == 0) {
                struct vx_key_position *positions =
                        reallocarray(p->positions, p->n_positions ? p->n_positions * 2 : 16, sizeof(*positions));

                if (!positions)
                        return -ENOMEM;
                p->positions = positions;
        }
        p->positions[p->n_positions++] = (struct vx_key_position){TAKE_PTR(copy), line, column};
        return 0;
}

static const struct vx_key_position *find_position(const struct vx_profile *p, const char *path)
{
        size_t i;

        if (p->position_index)
                return vx_strmap_get(p->position_index, path, &i, NULL) ? &p->positions[i] : NULL;
        /* A model built by hand has no index. */
        for (i = 0; i < p->n_positions; i++)
                if (strcmp(p->positions[i].path, path) == 0)
                        return &p->positions[i];
        return NULL;
}

void profile_position(const struct vx_profile *p, const char *path, unsigned *ret_line, unsigned *ret_column)
{
        _cleanup_free_ char *copy = NULL;
        size_t len;

        assert(ret_line);
        assert(ret_column);

        *ret_line = 1;
        *ret_column = 1;
        if (!p || !path)
                return;
        copy = strdup(path);
        if (!copy)
                return;

        for (len = strlen(copy);;) {
                const struct vx_key_position *pos = find_position(p, copy);

                if (pos) {
                        *ret_line = pos->line;
                        *ret_column = pos->column;
                        return;
                }
                /* Drop the last component: ".key" or "[N]". */
                while (len > 0 && copy[len - 1] != '.' && copy[len - 1] != '[')
                        len--;
                if (len == 0)
                        return;
                copy[--len] = 0;
        }
}

const struct vx_vm *profile_find_vm(const struct vx_profile *p, const char *name)
{
        for (size_t i = 0; p && i < p->n_vms; i++)
                if (p->vms[i].name && strcmp(p->vms[i].name, name) == 0)
                        return &p->vms[i];
        return NULL;
}

static void strv_free_n(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static void vm_done(struct vx_vm *vm)
{
        free(vm->name);
        free(vm->qemu);
        free(vm->machine);
        free(vm->uuid);
        free(vm->cpu.model);
        strv_free_n(vm->cpu.features, vm->cpu.n_features);
        free(vm->memory.path);
        free(vm->pinning.vcpus);
        free(vm->numa.nodes);
        for (size_t i = 0; i < vm->n_disks; i++)
                free(vm->disks[i].file);
        free(vm->disks);
        for (size_t i = 0; i < vm->n_nics; i++) {
                free(vm->nics[i].mac);
                free(vm->nics[i].bridge);
                free(vm->nics[i].tap);
                free(vm->nics[i].pf);
                for (size_t k = 0; k < vm->nics[i].n_pfs; k++)
                        free(vm->nics[i].pfs[k]);
                free(vm->nics[i].pfs);
                free(vm->nics[i].host);
        }
        free(vm->nics);
        free(vm->serial.host);
        free(vm->serial.path);
        free(vm->vnc.listen);
        free(vm->video);
        for (size_t i = 0; i < vm->n_smbios; i++) {
                for (size_t j = 0; j < vm->smbios[i].n_entries; j++) {
                        free(vm->smbios[i].entries[j].key);
                        free(vm->smbios[i].entries[j].value);
                }
                free(vm->smbios[i].entries);
        }
        free(vm->smbios);
        free(vm->boot.kernel);
        free(vm->boot.initrd);
        free(vm->boot.cmdline);
        free(vm->ready.console_pattern);
        free(vm->ready.qmp_status);
        free(vm->ready.link);
        free(vm->after);
        strv_free_n(vm->extra_args, vm->n_extra_args);
}

struct vx_profile *profile_free(struct vx_profile *p)
{
        if (!p)
                return NULL;
        free(p->file);
        free(p->name);
        free(p->host.runtime_dir);
        for (size_t i = 0; i < p->n_bridges; i++) {
                free(p->bridges[i].name);
                free(p->bridges[i].uplink);
        }
        free(p->bridges);
        for (size_t i = 0; i < p->n_vms; i++)
                vm_done(&p->vms[i]);
        free(p->vms);
        for (size_t i = 0; i < p->n_positions; i++)
                free(p->positions[i].path);
        free(p->positions);
        if (p->position_index)
                vx_strmap_done(p->position_index);
        free(p->position_index);
        free(p);
        return NULL;
}
