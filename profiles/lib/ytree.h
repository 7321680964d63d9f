/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Private to profiles/ (the profile parser in lib/ and the vmx.conf importer in
 * import/; launcher/ and cli/ go through profile.h and vmxconf.h): YAML
 * documents as trees of nodes that keep their 1-based line and column.
 * yaml.c is the only file that includes <yaml.h>; it builds the trees from
 * libyaml's event stream and refuses aliases, anchors, tags and files over
 * VX_YAML_MAX_SIZE. The options say what else each caller takes.
 */

#include <stdbool.h>
#include <stddef.h>

#include "cleanup.h"
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

/* The root of each document, in file order. */
struct vx_ystream {
        struct vx_ynode **docs;
        size_t n_docs;
};

/* Whose words the errors are in: each reader keeps the messages its users and tests know. */
enum vx_yaml_wording {
        VX_YAML_WORDING_PROFILE, /* names the refused anchor, tag or alias, "... in profiles" */
        VX_YAML_WORDING_VMXCONF, /* the importer's, "... in vmx.conf" */
};

struct vx_yaml_options {
        /*
         * Several documents separated by "---", each root kept (a document of
         * comments only has a null root), or none at all. Otherwise exactly one
         * document, and it is not empty.
         */
        bool multi_document;
        /*
         * Every pair of a mapping is kept in file order, a repeated key too, for
         * the caller to report. Otherwise a repeated key is an error.
         */
        bool keep_duplicate_keys;
        /* Stop at the first error. Otherwise go on and report as many as can be found. */
        bool first_error_only;
        /*
         * Refuse NUL bytes and invalid UTF-8 up front, with their position, and
         * read UTF-8 only. Otherwise libyaml picks the encoding (a UTF-16 BOM)
         * and reports bad bytes as a syntax error.
         */
        bool utf8_only;
        /* Syntax errors in libyaml's words. Otherwise what to fix (tabs, indentation, an unquoted ':'). */
        bool raw_syntax_errors;
        /* Nesting levels allowed, the document's root being the first. */
        unsigned max_depth;
        enum vx_yaml_wording wording;
};

/*
 * Parses text (len bytes, need not be NUL-terminated) as a YAML stream. diags
 * may be NULL, to only ask whether the text parses. Returns 0 and *ret (free
 * with vx_ystream_free; one document unless opts->multi_document), -EINVAL
 * after at least one error (added to diags), -EFBIG for text over
 * VX_YAML_MAX_SIZE (also reported), or -ENOMEM. Nothing is in *ret on failure.
 */
int vx_yaml_parse(const char *file, const char *text, size_t len, const struct vx_yaml_options *opts,
                  struct vx_diags *diags, struct vx_ystream **ret);

struct vx_ystream *vx_ystream_free(struct vx_ystream *s);
struct vx_ynode *vx_ynode_free(struct vx_ynode *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vx_ystream *, vx_ystream_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vx_ynode *, vx_ynode_free);

/* The first pair for key in a mapping node, or NULL. */
const struct vx_ypair *vx_ynode_pair(const struct vx_ynode *map, const char *key);

/* A plain "", "~", "null", "Null" or "NULL" scalar. */
bool vx_ynode_is_null(const struct vx_ynode *n);

/* "an empty value", "a scalar", "a mapping" or "a list". */
const char *vx_ynode_type_to_string(const struct vx_ynode *n);
