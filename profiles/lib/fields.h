/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Private to profiles/lib: the field engine that schema.c's tables drive.
 * A table of struct field describes one YAML mapping: each entry names its
 * key, its type and where in the model the value goes (an offset into the
 * struct the mapping fills). pf_parse_fields() walks a mapping node with a
 * table: unknown keys are reported (with a "did you mean"), required ones
 * that are missing too, every key's position is kept, and each value goes
 * through the typed setter of its type. Values are checked for type, range
 * and units here; errors are reported at the value and parsing goes on.
 * Every function keeps -ENOMEM in c->r and does nothing more once it is set.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile-internal.h"

/* One parse: the model being filled, where errors go, and the first -ENOMEM. */
struct pctx {
        struct vx_profile *p;
        struct vx_diags *diags;
        int r; /* sticky -ENOMEM */
};

/* Keeps the first r < 0 in c->r. */
void pf_oom(struct pctx *c, int r);
/* ptr, after noting -ENOMEM when it is NULL. */
void *pf_check(struct pctx *c, void *ptr);

/* Reports an error at line:column for the key path. */
void pf_error(struct pctx *c, unsigned line, unsigned column, const char *path, const char *hint, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));
/* The same at a node's position. */
#define pf_error_at(c, node, path, hint, ...) pf_error((c), (node)->line, (node)->column, (path), (hint), __VA_ARGS__)

/* "parent.key" and "parent[i]" (new strings), or NULL after noting -ENOMEM. */
char *pf_path_key(struct pctx *c, const char *parent, const char *key);
char *pf_path_index(struct pctx *c, const char *parent, size_t i);
/* Keeps the position of a key path. */
void pf_add_position(struct pctx *c, const char *path, unsigned line, unsigned column);

/* The text of a scalar, or NULL after reporting that v is something else (what: "a string", ...). */
const char *pf_scalar(struct pctx *c, const struct vx_ynode *v, const char *path, const char *what);

/* true/yes/on, false/no/off, any case: 0 or -EINVAL. */
int pf_bool_text(const char *s, bool *ret);
/*
 * Sizes are binary, as QEMU's -m: "K" and "KiB" are both 1024. Returns 0,
 * -EINVAL (not a size), -EBADMSG (unknown unit), -ENODATA (no unit: bytes)
 * with *ret set, or -ERANGE.
 */
int pf_size_text(const char *s, uint64_t *ret);

/* The value of name s in names, or -1. */
int pf_lookup_enum(const struct vx_enum_name *names, const char *s);
/* Reports that v is none of names (listed, with a "did you mean"); extra is appended to the list. */
void pf_report_enum_error(struct pctx *c, const struct vx_ynode *v, const char *path, const struct vx_enum_name *names,
                          const char *extra);

enum ftype {
        T_STRING,   /* char * */
        T_BOOL,     /* bool */
        T_UINT,     /* unsigned, min..max */
        T_INT,      /* int, min..max */
        T_ENUM,     /* an enum, names */
        T_TRISTATE, /* enum vx_tristate: auto/on/off or a boolean */
        T_DURATION, /* unsigned, in units of unit_ms milliseconds, min..max */
        T_MAP,      /* a nested mapping described by sub */
        T_CUSTOM,   /* custom() */
};

struct field;
typedef void (*custom_fn)(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr);

struct field {
        const char *key;
        enum ftype type;
        size_t offset;
        bool required;
        long long min, max;
        unsigned unit_ms;
        const struct vx_enum_name *names;
        custom_fn custom;
        const struct field *sub;
        size_t n_sub;
};

/* Parses v by the type of f into ptr (the field's place in the model). */
void pf_parse_value(struct pctx *c, const struct field *f, const struct vx_ynode *v, const char *path, void *ptr);
/* Parses the mapping v (a null value counts as an empty one) with fields into obj. */
void pf_parse_fields(struct pctx *c, const struct vx_ynode *v, const char *path, const struct field *fields,
                     size_t n_fields, void *obj);
/* A nested mapping, parsed with table into member of stype. */
#define MAP(k, stype, member, table)                                                                                   \
        {                                                                                                              \
                .key = k, .type = T_MAP, .offset = offsetof(stype, member), .sub = table, .n_sub = ELEMENTSOF(table)   \
        }

/* The items of a list node; NULL (with *ret_n = 0) for a null value or after reporting another type. */
struct vx_ynode *const *pf_list_items(struct pctx *c, const struct vx_ynode *v, const char *path, size_t *ret_n);
/* A list of scalars into a char ** and its count (two adjacent members, as in struct vx_cpu). */
void pf_parse_string_list(struct pctx *c, const struct vx_ynode *v, const char *path, char ***items, size_t *n_items);
/*
 * A feature given as a mapping of its settings, or empty, or true/false: a
 * mapping or empty turns it on (and sets what it names), false leaves it off.
 */
void pf_parse_switch(struct pctx *c, const struct vx_ynode *v, const char *path, bool *enabled,
                     const struct field *fields, size_t n_fields, void *ptr);
/*
 * A list of mappings into a new array of n elements of size elem_size. init
 * fills each element's defaults; parse_item parses it. Returns the array
 * (NULL for none) with *ret_n.
 */
void *pf_parse_object_list(struct pctx *c, const struct vx_ynode *v, const char *path, size_t elem_size, size_t *ret_n,
                           void (*init)(void *elem),
                           void (*parse_item)(struct pctx *c, const struct vx_ynode *item, const char *path,
                                              void *elem));
/* Sets *s to a copy of value when it is NULL. */
void pf_set_default_string(struct pctx *c, char **s, const char *value);
