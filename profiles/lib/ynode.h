/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Private to the profile parser: a YAML document as a tree of nodes that keep
 * their 1-based line and column. yaml.c is the only file that includes
 * <yaml.h>; it builds the tree from libyaml's event stream and rejects what
 * profiles never need (aliases, anchors, tags, several documents, duplicate
 * keys, non-UTF-8, files over VX_YAML_MAX_SIZE).
 */

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define VX_YAML_MAX_SIZE (1024 * 1024)
#define VX_YAML_MAX_DEPTH 64

enum vx_ynode_type {
        VX_YNODE_SCALAR,
        VX_YNODE_MAPPING,
        VX_YNODE_SEQUENCE,
};

struct vx_ynode;

struct vx_ypair {
        char *key;
        unsigned line, column; /* of the key */
        struct vx_ynode *value;
};

struct vx_ynode {
        enum vx_ynode_type type;
        unsigned line, column;

        /* scalar */
        char *value;
        bool plain; /* not quoted: "~", "null" and "" are null, "yes" is a boolean */

        /* mapping, in file order */
        struct vx_ypair *pairs;
        size_t n_pairs;

        /* sequence */
        struct vx_ynode **items;
        size_t n_items;
};

/*
 * Parses text (len bytes, need not be NUL-terminated) as one YAML document.
 * Returns 0 and *ret (free with vx_ynode_free), -EINVAL after adding at least
 * one error to diags (nothing in *ret), or -ENOMEM.
 */
int vx_yaml_parse(const char *file, const char *text, size_t len, struct vx_diags *diags, struct vx_ynode **ret);

struct vx_ynode *vx_ynode_free(struct vx_ynode *n);

/* The pair for key in a mapping node, or NULL. */
const struct vx_ypair *vx_ynode_pair(const struct vx_ynode *map, const char *key);

/* A plain "", "~", "null", "Null" or "NULL" scalar. */
bool vx_ynode_is_null(const struct vx_ynode *n);

const char *vx_ynode_type_to_string(const struct vx_ynode *n);
