/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `--set PATH=VALUE`: one value of a profile replaced (or added) from the
 * command line, in the YAML tree, before the tree becomes a model. So a
 * value set this way passes every check a value in the file passes, and
 * the profile file itself stays as its author wrote it (the lab runs the
 * shipped vmx-sriov.yaml with its memory and rates fitted to the lab's
 * hardware; a user tries a variant without copying the file).
 *
 * PATH is keys separated by '.'. In a list, a step is an index (0-based),
 * the `name:` of an item (vms, bridges), or '*' for every item. Missing
 * mapping keys are added, so a nested key can be set where the file has
 * none of its parents. VALUE is YAML: a scalar, or a flow list or mapping;
 * null (`null` or `~`) removes the key or the list item, as Helm's --set
 * does ({} is an empty mapping).
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile-internal.h"

#define SET_FILE "--set"

/* Multi-document only so that "~" (a document whose root is null) is a value: one document is required below. */
static const struct vx_yaml_options value_yaml = {
        .multi_document = true,
        .first_error_only = true,
        .utf8_only = true,
        .max_depth = VX_YAML_MAX_DEPTH / 2,
        .wording = VX_YAML_WORDING_PROFILE,
};

/* What a value from the command line says about its position: none in the file (diagnostics show no line). */
static void forget_positions(struct vx_ynode *n)
{
        n->line = n->column = 0;
        for (size_t i = 0; i < n->n_pairs; i++) {
                n->pairs[i].line = n->pairs[i].column = 0;
                forget_positions(n->pairs[i].value);
        }
        for (size_t i = 0; i < n->n_items; i++)
                forget_positions(n->items[i]);
}

static struct vx_ynode *node_clone(const struct vx_ynode *n)
{
        struct vx_ynode *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        *c = (struct vx_ynode){.type = n->type, .plain = n->plain};
        if (n->value && !(c->value = strdup(n->value)))
                return vx_ynode_free(c);
        if (n->n_pairs) {
                c->pairs = calloc(n->n_pairs, sizeof(*c->pairs));
                if (!c->pairs)
                        return vx_ynode_free(c);
                for (; c->n_pairs < n->n_pairs; c->n_pairs++) {
                        struct vx_ypair *p = &c->pairs[c->n_pairs];

                        p->key = strdup(n->pairs[c->n_pairs].key);
                        p->value = node_clone(n->pairs[c->n_pairs].value);
                        if (!p->key || !p->value) {
                                c->n_pairs++; /* freed with the rest */
                                return vx_ynode_free(c);
                        }
                }
        }
        if (n->n_items) {
                c->items = calloc(n->n_items, sizeof(*c->items));
                if (!c->items)
                        return vx_ynode_free(c);
                for (; c->n_items < n->n_items; c->n_items++)
                        if (!(c->items[c->n_items] = node_clone(n->items[c->n_items])))
                                return vx_ynode_free(c);
        }
        return c;
}

struct set_ctx {
        const char *set; /* the whole PATH=VALUE, for messages */
        size_t n_changed;
        struct vx_diags *diags;
};

static int set_error(struct set_ctx *c, const char *path, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int set_error(struct set_ctx *c, const char *path, size_t len, const char *fmt, ...)
{
        _cleanup_free_ char *p = strndup(path, len), *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (!p || r < 0)
                return -ENOMEM;
        return diag_add(c->diags, VX_DIAG_ERROR, SET_FILE, 0, 0, p, NULL, "%s", msg) < 0 ? -ENOMEM : -EINVAL;
}

static struct vx_ynode *new_mapping(void)
{
        struct vx_ynode *n = calloc(1, sizeof(*n));

        if (n)
                n->type = VX_YNODE_MAPPING;
        return n;
}

/* The pair for key in map, added (with an empty mapping as its value) when missing. */
static struct vx_ypair *mapping_slot(struct vx_ynode *map, const char *key, size_t len)
{
        struct vx_ypair *pairs;

        for (size_t i = 0; i < map->n_pairs; i++)
                if (strlen(map->pairs[i].key) == len && memcmp(map->pairs[i].key, key, len) == 0)
                        return &map->pairs[i];
        pairs = realloc(map->pairs, (map->n_pairs + 1) * sizeof(*pairs));
        if (!pairs)
                return NULL;
        map->pairs = pairs;
        pairs[map->n_pairs] = (struct vx_ypair){.key = strndup(key, len), .value = new_mapping()};
        if (!pairs[map->n_pairs].key || !pairs[map->n_pairs].value) {
                free(pairs[map->n_pairs].key);
                vx_ynode_free(pairs[map->n_pairs].value);
                return NULL;
        }
        return &pairs[map->n_pairs++];
}

static bool item_has_name(const struct vx_ynode *item, const char *name, size_t len)
{
        const struct vx_ypair *p = vx_ynode_pair(item, "name");

        return p && p->value->type == VX_YNODE_SCALAR && strlen(p->value->value) == len &&
               memcmp(p->value->value, name, len) == 0;
}

static bool all_digits(const char *s, size_t len)
{
        return len > 0 && len < 10 && strspn(s, "0123456789") >= len;
}

/* Sets *slot (path[0..done) leads to it) to the value, or walks on from it with the rest of the path. */
static int set_at(struct set_ctx *c, struct vx_ynode **slot, const char *path, size_t done,
                  const struct vx_ynode *value);

static int set_in_list(struct set_ctx *c, struct vx_ynode *list, const char *path, size_t done, size_t len,
                       const struct vx_ynode *value)
{
        const char *step = path + done;
        size_t next = done + len + (step[len] == '.');
        size_t matched = 0;

        for (size_t i = 0; i < list->n_items; i++) {
                bool hit = (len == 1 && step[0] == '*') || item_has_name(list->items[i], step, len) ||
                           (all_digits(step, len) && strtoul(step, NULL, 10) == i);
                int r;

                if (!hit)
                        continue;
                matched++;
                r = set_at(c, &list->items[i], path, next, value);
                if (r < 0)
                        return r;
        }
        if (matched > 0) {
                size_t kept = 0;

                for (size_t i = 0; i < list->n_items; i++) /* drop the removed ones */
                        if (list->items[i])
                                list->items[kept++] = list->items[i];
                list->n_items = kept;
                return 0;
        }
        if (list->n_items == 0)
                return set_error(c, path, done + len, "the list is empty");
        if (all_digits(step, len))
                return set_error(c, path, done + len, "no such item: the list has %zu (indexes from 0)", list->n_items);
        return set_error(c, path, done + len,
                         "no item of this list has name: %.*s (give a name, an index from 0, or '*')", (int)len, step);
}

static int set_at(struct set_ctx *c, struct vx_ynode **slot, const char *path, size_t done,
                  const struct vx_ynode *value)
{
        const char *step = path + done;
        size_t len = strcspn(step, ".");
        struct vx_ynode *n = *slot;

        if (done > 0 && path[done - 1] == '.' && len == 0)
                return set_error(c, path, done, "an empty step in the key path of '%s'", c->set);
        if (len == 0) { /* the end of the path: this node becomes the value, or goes (null) */
                struct vx_ynode *v = NULL;

                if (!vx_ynode_is_null(value) && !(v = node_clone(value)))
                        return -ENOMEM;
                vx_ynode_free(*slot);
                *slot = v; /* NULL: the parent drops it */
                c->n_changed++;
                return 0;
        }
        if (vx_ynode_is_null(n)) { /* "memory:" with nothing under it yet */
                struct vx_ynode *m = new_mapping();

                if (!m)
                        return -ENOMEM;
                vx_ynode_free(*slot);
                *slot = n = m;
        }
        if (n->type == VX_YNODE_SEQUENCE)
                return set_in_list(c, n, path, done, len, value);
        if (n->type == VX_YNODE_MAPPING) {
                struct vx_ypair *p = mapping_slot(n, step, len);
                int r;

                if (!p)
                        return -ENOMEM;
                r = set_at(c, &p->value, path, done + len + (step[len] == '.'), value);
                if (r >= 0 && !p->value) { /* removed */
                        size_t i = (size_t)(p - n->pairs);

                        free(p->key);
                        memmove(p, p + 1, (n->n_pairs - i - 1) * sizeof(*p));
                        n->n_pairs--;
                }
                return r;
        }
        return set_error(c, path, done > 0 ? done - 1 : 0, "is %s, not a mapping or list to go into",
                         vx_ynode_type_to_string(n));
}

int vx_profile_tree_set(struct vx_ynode **root, const char *set, struct vx_diags *diags)
{
        _cleanup_(vx_ystream_freep) struct vx_ystream *s = NULL;
        _cleanup_free_ char *path = NULL;
        const char *eq, *value;
        struct set_ctx c = {.set = set, .diags = diags};
        int r;

        assert(root && *root);
        assert(set);
        assert(diags);

        eq = strchr(set, '=');
        if (!eq || eq == set || set[0] == '.') {
                r = diag_add(diags, VX_DIAG_ERROR, SET_FILE, 0, 0, "", "write KEY.PATH=VALUE, e.g. vms.0.vcpus=2",
                             "'%s': not KEY.PATH=VALUE", set);
                return r < 0 ? r : -EINVAL;
        }
        path = strndup(set, (size_t)(eq - set));
        if (!path)
                return -ENOMEM;
        /* Keys and names are ASCII (the schema's and names.c's rules); so is a path to them. */
        for (const unsigned char *k = (const unsigned char *)path; *k; k++)
                if (*k < 0x21 || *k > 0x7e) {
                        r = diag_add(diags, VX_DIAG_ERROR, SET_FILE, 0, 0, "", NULL,
                                     "the key path %s holds a byte (0x%02x) no key or name has", DIAG_QUOTE(path), *k);
                        return r < 0 ? r : -EINVAL;
                }
        value = eq + 1;
        if (!*value) {
                r = diag_add(diags, VX_DIAG_ERROR, SET_FILE, 0, 0, path, "write PATH=~ for an empty value",
                             "no value after '='");
                return r < 0 ? r : -EINVAL;
        }
        r = vx_yaml_parse(SET_FILE, value, strlen(value), &value_yaml, diags, &s);
        if (r < 0)
                return r == -EFBIG ? -EINVAL : r;
        if (s->n_docs != 1) {
                r = diag_add(diags, VX_DIAG_ERROR, SET_FILE, 0, 0, path, NULL,
                             "the value is %s YAML documents, not one", s->n_docs ? "several" : "no");
                return r < 0 ? r : -EINVAL;
        }
        if (!s->docs[0]) {
                s->docs[0] = calloc(1, sizeof(*s->docs[0]));
                if (!s->docs[0] || !(s->docs[0]->value = strdup("")))
                        return -ENOMEM;
                s->docs[0]->plain = true; /* null, as an empty value in the file */
        }
        forget_positions(s->docs[0]);
        r = set_at(&c, root, path, 0, s->docs[0]);
        if (r < 0)
                return r;
        assert(c.n_changed > 0);
        return 0;
}
