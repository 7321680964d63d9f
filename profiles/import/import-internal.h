/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Private to the importer: vmx.conf read into plain structs (reader.c), the
 * vmx-junosdev.conf links applied to them (junosdev.c), and the profile text
 * written from them (emit.c). Every field keeps the line of the vmx.conf key
 * it came from, for the comments of the generated profile.
 */

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "vmxconf.h"
#include "ytree.h"

/*
 * Parses a vmx.conf or vmx-junosdev.conf as vmx.sh's python-yaml read it:
 * several documents, repeated keys kept in file order (the last one wins;
 * the reader warns), and the first error ends the parse. Documents of
 * comments only are dropped. diags may be NULL. Returns 0 and *ret (free with
 * vx_ystream_free), or what vx_yaml_parse returns.
 */
int imp_yaml_parse(const char *file, const char *text, size_t len, struct vx_diags *diags,
                   struct vx_ystream **ret);

/* A plain "", "~" or "null" scalar, "null" in any case. */
bool imp_ynode_is_null(const struct vx_ynode *n);

/* "null", "a scalar", "a mapping" or "a list". */
const char *imp_ynode_type_to_string(const struct vx_ynode *n);

/* Reporting context of one input file. */
struct imp_ctx {
        const char *file;
        struct vx_diags *diags;
        int r; /* sticky -ENOMEM */
};

void imp_diag(struct imp_ctx *c, enum vx_diag_severity sev, unsigned line, unsigned column, const char *path,
              const char *hint, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
#define imp_error(c, l, col, path, hint, ...) imp_diag((c), VX_DIAG_ERROR, (l), (col), (path), (hint), __VA_ARGS__)
#define imp_warn(c, l, col, path, hint, ...) imp_diag((c), VX_DIAG_WARNING, (l), (col), (path), (hint), __VA_ARGS__)

/* Warns about an unknown key, with a "did you mean" among known (NULL-terminated). */
void imp_unknown_key(struct imp_ctx *c, const struct vx_ypair *p, const char *path, const char *const *known,
                     const char *what);

/* The closest of known (NULL-terminated) to s when it is a likely typo, else NULL. */
const char *imp_closest(const char *s, const char *const *known);

/* An interface name the kernel and vmxrun take: 1..15 bytes, no '/', ':', '%', whitespace. */
bool imp_ifname_ok(const char *s);

/* Normalises a MAC ("02:04.17:01:02:01" -> "02:04:17:01:02:01"). Returns a new string or NULL (not a MAC). */
char *imp_mac_parse(const char *s, bool *ret_repaired);

enum imp_device_type {
        IMP_VIRTIO,
        IMP_SRIOV,
};

struct imp_dev {
        char *interface;   /* ge-0/0/N */
        unsigned index;    /* N */
        char *tap;         /* ge-0.0.N-<id> */
        char *mac;         /* normalised, or NULL */
        char *description;
        unsigned line, line_mac, line_desc;
        unsigned col, col_mac, col_vf; /* columns of the item and of its keys, for warnings */
        /* sriov */
        char *nic;
        int vf;            /* -1 unset */
        int speed;         /* port-speed-mbps, -1 unset */
        unsigned line_nic, line_vf, line_speed;
        /* virtio, from vmx-junosdev.conf */
        char *bridge;      /* NULL: the instance's br-ge-<id> */
        unsigned mtu;      /* 0: unset */
        char *link;        /* link_name */
        const char *link_file; /* vmx-junosdev.conf's last path component */
        unsigned link_line;
};

struct imp_vm {
        unsigned vcpus, memory_mb, console_port;
        unsigned line, line_vcpus, line_memory, line_port; /* line: of the section's key */
        unsigned col_port;
        char *mac;         /* interfaces[0].macaddr, normalised */
        unsigned line_mac, col_mac;
        char *int_mac;     /* the internal NIC's MAC, derived (see emit.c) */
};

struct imp_instance {
        const char *file;  /* as given */
        const char *base;  /* its last path component, for comments */
        char *id;
        unsigned line_id, col_id;
        char *mgmt;        /* host-management-interface, or NULL */
        unsigned line_mgmt, col_mgmt;
        char *re_image, *re_hdd, *fe_image;
        unsigned line_re_image, line_re_hdd, line_fe_image;
        unsigned col_re_image, col_re_hdd, col_fe_image;
        char *br_ext;      /* BRIDGES external name; default br-ext */
        unsigned line_br_ext; /* 0: default */
        struct imp_vm vcp, vfp;
        enum imp_device_type device_type;
        unsigned line_device_type, col_device_type;
        struct imp_dev *devs;
        size_t n_devs;
        unsigned line_devs;
        char *br_int;      /* br-int-<id> */
        char *br_ge;       /* br-ge-<id>, for virtio taps on no link */
        unsigned first_vnc; /* VNC display of the VCP; the VFP has the next */
        unsigned first_cpu; /* host CPU of the VCP's vCPU 0; 0: pinning: auto */
};

/* A bridge declared by vmx-junosdev.conf. */
struct imp_link_bridge {
        char *name;
        char *uplink;      /* host_dev, or NULL */
        unsigned mtu;
        bool used;         /* an imported tap is on it */
        const char *file;
        unsigned line;
};

struct imp_links {
        struct imp_link_bridge *bridges;
        size_t n_bridges;
        const char *file;  /* vmx-junosdev.conf as given */
        const char *base;
};

struct imp_instance *imp_instance_free(struct imp_instance *in);
void imp_links_done(struct imp_links *l);

/* Reads one vmx.conf. Returns 0 and *ret, -EINVAL (errors in diags) or -ENOMEM. */
int imp_read_vmxconf(const struct vx_import_source *src, struct vx_diags *diags, struct imp_instance **ret);

/* Applies vmx-junosdev.conf to the instances. Returns 0, -EINVAL (errors in diags) or -ENOMEM. */
int imp_apply_junosdev(const struct vx_import_source *src, struct imp_instance **ins, size_t n, struct vx_diags *diags,
                       struct imp_links *ret);

/* Writes the profile (opts may be NULL: the defaults). Returns 0 and *ret (free()), or -ENOMEM. */
int imp_emit(struct imp_instance *const *ins, size_t n, const struct imp_links *links, const char *name,
             const char *junosdev_base, const struct vx_import_options *opts, char **ret);
