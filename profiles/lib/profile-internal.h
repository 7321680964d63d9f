/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Private to profiles/lib: what schema.c, fields.c, validate.c and names.c share. */

#include "profile.h"
#include "ytree.h"

/* Stop collecting after this many errors: one broken indentation can otherwise yield thousands. */
#define VX_PROFILE_MAX_ERRORS 100

struct vx_enum_name {
        const char *name;
        int value;
};

/* NULL-terminated; the first name of a value is the canonical one, later ones are accepted aliases. */
extern const struct vx_enum_name vx_accel_names[];
extern const struct vx_enum_name vx_tristate_names[];
extern const struct vx_enum_name vx_mem_policy_names[];
extern const struct vx_enum_name vx_disk_bus_names[];
extern const struct vx_enum_name vx_disk_format_names[];
extern const struct vx_enum_name vx_disk_cache_names[];
extern const struct vx_enum_name vx_nic_type_names[];
extern const struct vx_enum_name vx_nic_model_names[];
extern const struct vx_enum_name vx_serial_type_names[];
extern const struct vx_enum_name vx_restart_policy_names[];
extern const struct vx_enum_name vx_restart_scope_names[];
extern const struct vx_enum_name vx_smt_policy_names[];
extern const struct vx_enum_name vx_pin_drift_names[];

const char *vx_enum_to_string(const struct vx_enum_name *names, int value);

/* "did you mean 'x'?" for the candidate nearest to word, or NULL when none is near. Returns -ENOMEM or 0. */
int vx_suggest(const char *word, const char *const *candidates, size_t n, char **ret);

/* Fills defaults and parses the tree into *p (already allocated, file set). Returns 0 or -ENOMEM. */
int vx_profile_from_tree(struct vx_profile *p, const struct vx_ynode *root, struct vx_diags *diags);

/*
 * Applies one "PATH=VALUE" (--set; sets.c says what PATH and VALUE may be) to
 * a document's tree. Returns 0, -EINVAL after adding the error to diags, or
 * -ENOMEM.
 */
int vx_profile_tree_set(struct vx_ynode **root, const char *set, struct vx_diags *diags);

/* Appends a position; returns 0 or -ENOMEM. */
int vx_profile_add_position(struct vx_profile *p, const char *path, unsigned line, unsigned column);
