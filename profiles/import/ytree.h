/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Private to the vmx.conf importer: a YAML stream of several documents (vmx.conf
 * separates its sections with ---) as trees of nodes that keep their 1-based
 * line and column. ytree.c is the only file of the importer that includes
 * <yaml.h>. It is more lenient than the profile parser on purpose: vmx.conf
 * was read by python-yaml, so duplicate keys are kept (the caller reports
 * them) and several documents are the norm. Aliases, anchors and tags are
 * refused: vmx.sh's files never use them.
 */

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define IMP_YAML_MAX_SIZE (1024 * 1024)
#define IMP_YAML_MAX_DEPTH 64

enum imp_ynode_type {
        IMP_SCALAR,
        IMP_MAPPING,
        IMP_SEQUENCE,
};

struct imp_ynode;

struct imp_ypair {
        char *key;
        unsigned line, column; /* of the key */
        struct imp_ynode *value;
};

struct imp_ynode {
        enum imp_ynode_type type;
        unsigned line, column;
        char *value;  /* scalar */
        bool plain;   /* scalar not quoted */
        struct imp_ypair *pairs; /* mapping, file order */
        size_t n_pairs;
        struct imp_ynode **items; /* sequence */
        size_t n_items;
};

struct imp_ystream {
        struct imp_ynode **docs; /* one root per non-empty document */
        size_t n_docs;
};

/*
 * Parses text (len bytes) as a YAML stream. Returns 0 and *ret (free with
 * imp_ystream_free), -EINVAL after adding at least one error to diags when
 * diags is not NULL, or -ENOMEM.
 */
int imp_yaml_parse(const char *file, const char *text, size_t len, struct vx_diags *diags,
                   struct imp_ystream **ret);

struct imp_ystream *imp_ystream_free(struct imp_ystream *s);

/* A plain "", "~" or "null" scalar. */
bool imp_ynode_is_null(const struct imp_ynode *n);

const char *imp_ynode_type_to_string(const struct imp_ynode *n);
