/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Import of Juniper vMX's vmx.conf (the YAML file the vendor's vmx.sh turned
 * into libvirt XML and shell scripts) and, optionally, vmx-junosdev.conf (its
 * virtio link bindings) into a vmxrun profile, written as commented YAML text.
 * docs/import.md describes the mapping.
 *
 * What cannot be mapped (unknown keys, values vmx.sh would refuse, settings
 * made inside the guest, ...) is reported as a warning with file:line:column
 * and key; nothing is dropped silently. Wrong types and missing required keys
 * are errors. Nothing here touches the host.
 */

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

/* One input: the name diagnostics and comments use for it, and its text. */
struct vx_import_source {
        const char *name;
        const char *text;
        size_t len;
};

/* What a running QEMU said of one VM (import --running): its -name and -uuid, and where it was read. */
struct vx_import_running {
        const char *name;   /* -name: the VM's name (vcp-vmx1) */
        const char *uuid;   /* -uuid */
        const char *origin; /* "FILE:LINE", for the comment */
};

struct vx_import_options {
        const char *name;   /* deployment name; NULL: the identifier (several: joined with '-') */
        const struct vx_import_running *running; /* what libvirt's QEMUs ran with: their UUIDs are kept */
        size_t n_running;
        unsigned first_cpu;  /* first host CPU of the fixed pinning rule (docs/import.md); 0: pinning: auto */
        bool gigantic_pages; /* the host offers 1 GiB hugepages: the VFP uses them (else 2 MiB, as the seed) */
};

/*
 * Whether text looks like a vmx.conf: a YAML stream where a document's top
 * level holds HOST, CONTROL_PLANE or FORWARDING_PLANE. Never fails: text that
 * is not YAML is not a vmx.conf.
 */
bool vmxconf_detect(const char *text, size_t len);

/*
 * Imports n_confs vmx.conf files (one vMX instance each, n_confs >= 1) and an
 * optional vmx-junosdev.conf (junosdev, or NULL) into one profile. opts may be
 * NULL (name from the identifiers, pinning: auto). Every problem is appended to
 * diags. Returns 0 and *ret_text (NUL-terminated YAML, free()) when there is
 * no error (warnings may be present), -EINVAL when diags holds an error, or
 * -ENOMEM. The text is checked with profile_load_string() before it is
 * returned.
 */
int vmxconf_import(const struct vx_import_source *confs, size_t n_confs, const struct vx_import_source *junosdev,
                   const struct vx_import_options *opts, struct vx_diags *diags, char **ret_text);

/*
 * The same from files. A file that cannot be read is an error in diags, and
 * the call returns its negative errno (-ENOENT, -EFBIG, ...).
 */
int vmxconf_import_files(const char *const *paths, size_t n_paths, const char *junosdev_path,
                         const struct vx_import_options *opts, struct vx_diags *diags, char **ret_text);

/*
 * Reads a whole file (at most 1 MiB) into a NUL-terminated buffer. Returns 0
 * with *ret (free()) and *ret_len, or a negative errno.
 */
int vmxconf_read_file(const char *path, char **ret, size_t *ret_len);
