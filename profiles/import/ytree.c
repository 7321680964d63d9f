/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cleanup.h"
#include "ytree.h"

struct yctx {
        const char *file;
        struct vx_diags *diags;
        yaml_parser_t parser;
        bool failed; /* an error was reported; stop */
        int r;       /* sticky -ENOMEM */
};

static void yerror(struct yctx *c, unsigned line, unsigned column, const char *msg, const char *hint)
{
        int r;

        c->failed = true;
        if (!c->diags)
                return;
        r = diag_add(c->diags, VX_DIAG_ERROR, c->file, line, column, "", hint, "%s", msg);
        if (r < 0 && c->r == 0)
                c->r = r;
}

static struct imp_ynode *ynode_free(struct imp_ynode *n)
{
        if (!n)
                return NULL;
        free(n->value);
        for (size_t i = 0; i < n->n_pairs; i++) {
                free(n->pairs[i].key);
                ynode_free(n->pairs[i].value);
        }
        free(n->pairs);
        for (size_t i = 0; i < n->n_items; i++)
                ynode_free(n->items[i]);
        free(n->items);
        free(n);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct imp_ynode *, ynode_free)

struct imp_ystream *imp_ystream_free(struct imp_ystream *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_docs; i++)
                ynode_free(s->docs[i]);
        free(s->docs);
        free(s);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct imp_ystream *, imp_ystream_free)

bool imp_ynode_is_null(const struct imp_ynode *n)
{
        return !n || (n->type == IMP_SCALAR && n->plain &&
                      (!n->value[0] || strcmp(n->value, "~") == 0 || strcasecmp(n->value, "null") == 0));
}

const char *imp_ynode_type_to_string(const struct imp_ynode *n)
{
        if (!n)
                return "nothing";
        switch (n->type) {
        case IMP_SCALAR:
                return imp_ynode_is_null(n) ? "null" : "a scalar";
        case IMP_MAPPING:
                return "a mapping";
        case IMP_SEQUENCE:
                return "a list";
        }
        return "?";
}

/* Grows *array (of elem bytes) to hold one more item; returns 0 or -ENOMEM. */
static int grow(void *array, size_t n, size_t elem)
{
        void **a = array;
        void *p = reallocarray(*a, n + 1, elem);

        if (!p)
                return -ENOMEM;
        *a = p;
        return 0;
}

static bool next_event(struct yctx *c, yaml_event_t *ev)
{
        if (!yaml_parser_parse(&c->parser, ev)) {
                const yaml_mark_t *m = &c->parser.problem_mark;
                char msg[256];

                if (c->parser.error == YAML_MEMORY_ERROR) {
                        c->r = -ENOMEM;
                        c->failed = true;
                        return false;
                }
                snprintf(msg, sizeof(msg), "YAML syntax error: %s%s%s",
                         c->parser.problem ? c->parser.problem : "unknown problem",
                         c->parser.context ? " " : "", c->parser.context ? c->parser.context : "");
                yerror(c, (unsigned)m->line + 1, (unsigned)m->column + 1, msg, NULL);
                return false;
        }
        return true;
}

static struct imp_ynode *parse_node(struct yctx *c, yaml_event_t *ev, unsigned depth);

static struct imp_ynode *new_node(struct yctx *c, enum imp_ynode_type type, const yaml_event_t *ev)
{
        struct imp_ynode *n = calloc(1, sizeof(*n));

        if (!n) {
                c->r = -ENOMEM;
                c->failed = true;
                return NULL;
        }
        n->type = type;
        n->line = (unsigned)ev->start_mark.line + 1;
        n->column = (unsigned)ev->start_mark.column + 1;
        return n;
}

static bool refuse_anchor_tag(struct yctx *c, const yaml_event_t *ev, const unsigned char *anchor,
                              const unsigned char *tag, bool implicit)
{
        if (anchor) {
                yerror(c, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
                       "anchors are not supported in vmx.conf", "write the value out");
                return true;
        }
        if (tag && !implicit) {
                yerror(c, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
                       "tags are not supported in vmx.conf", NULL);
                return true;
        }
        return false;
}

static int parse_mapping(struct yctx *c, struct imp_ynode *n, unsigned depth)
{
        for (;;) {
                _cleanup_(ynode_freep) struct imp_ynode *key = NULL;
                struct imp_ypair *p;
                yaml_event_t ev;

                if (!next_event(c, &ev))
                        return -EINVAL;
                if (ev.type == YAML_MAPPING_END_EVENT) {
                        yaml_event_delete(&ev);
                        return 0;
                }
                key = parse_node(c, &ev, depth + 1);
                yaml_event_delete(&ev);
                if (!key)
                        return -EINVAL;
                if (key->type != IMP_SCALAR) {
                        yerror(c, key->line, key->column, "a key must be a plain string", NULL);
                        return -EINVAL;
                }
                if (!next_event(c, &ev))
                        return -EINVAL;
                if (grow(&n->pairs, n->n_pairs, sizeof(*n->pairs)) < 0) {
                        yaml_event_delete(&ev);
                        c->r = -ENOMEM;
                        return -ENOMEM;
                }
                p = &n->pairs[n->n_pairs];
                p->value = parse_node(c, &ev, depth + 1);
                yaml_event_delete(&ev);
                if (!p->value)
                        return -EINVAL;
                p->key = TAKE_PTR(key->value);
                p->line = key->line;
                p->column = key->column;
                n->n_pairs++;
        }
}

static int parse_sequence(struct yctx *c, struct imp_ynode *n, unsigned depth)
{
        for (;;) {
                struct imp_ynode *item;
                yaml_event_t ev;

                if (!next_event(c, &ev))
                        return -EINVAL;
                if (ev.type == YAML_SEQUENCE_END_EVENT) {
                        yaml_event_delete(&ev);
                        return 0;
                }
                item = parse_node(c, &ev, depth + 1);
                yaml_event_delete(&ev);
                if (!item)
                        return -EINVAL;
                if (grow(&n->items, n->n_items, sizeof(*n->items)) < 0) {
                        ynode_free(item);
                        c->r = -ENOMEM;
                        return -ENOMEM;
                }
                n->items[n->n_items++] = item;
        }
}

/* Builds the node that starts with ev (which the caller deletes). NULL on error (reported). */
static struct imp_ynode *parse_node(struct yctx *c, yaml_event_t *ev, unsigned depth)
{
        _cleanup_(ynode_freep) struct imp_ynode *n = NULL;

        if (depth > IMP_YAML_MAX_DEPTH) {
                yerror(c, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
                       "nested too deeply", NULL);
                return NULL;
        }
        switch (ev->type) {
        case YAML_SCALAR_EVENT:
                if (refuse_anchor_tag(c, ev, ev->data.scalar.anchor, ev->data.scalar.tag,
                                      ev->data.scalar.plain_implicit || ev->data.scalar.quoted_implicit))
                        return NULL;
                if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length)) {
                        yerror(c, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
                               "a value holds a NUL character", NULL);
                        return NULL;
                }
                n = new_node(c, IMP_SCALAR, ev);
                if (!n)
                        return NULL;
                n->value = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
                if (!n->value) {
                        c->r = -ENOMEM;
                        return NULL;
                }
                n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                return TAKE_PTR(n);
        case YAML_MAPPING_START_EVENT:
                if (refuse_anchor_tag(c, ev, ev->data.mapping_start.anchor, ev->data.mapping_start.tag,
                                      ev->data.mapping_start.implicit))
                        return NULL;
                n = new_node(c, IMP_MAPPING, ev);
                if (!n || parse_mapping(c, n, depth) < 0)
                        return NULL;
                return TAKE_PTR(n);
        case YAML_SEQUENCE_START_EVENT:
                if (refuse_anchor_tag(c, ev, ev->data.sequence_start.anchor, ev->data.sequence_start.tag,
                                      ev->data.sequence_start.implicit))
                        return NULL;
                n = new_node(c, IMP_SEQUENCE, ev);
                if (!n || parse_sequence(c, n, depth) < 0)
                        return NULL;
                return TAKE_PTR(n);
        case YAML_ALIAS_EVENT:
                yerror(c, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
                       "aliases are not supported in vmx.conf", "write the value out");
                return NULL;
        default:
                yerror(c, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
                       "unexpected YAML structure", NULL);
                return NULL;
        }
}

static int parse_stream(struct yctx *c, struct imp_ystream *s)
{
        for (;;) {
                struct imp_ynode *root;
                yaml_event_t ev;

                if (!next_event(c, &ev))
                        return -EINVAL;
                switch (ev.type) {
                case YAML_STREAM_END_EVENT:
                        yaml_event_delete(&ev);
                        return 0;
                case YAML_STREAM_START_EVENT:
                case YAML_DOCUMENT_START_EVENT:
                        yaml_event_delete(&ev);
                        continue;
                case YAML_DOCUMENT_END_EVENT:
                        yaml_event_delete(&ev);
                        continue;
                default:
                        break;
                }
                root = parse_node(c, &ev, 0);
                yaml_event_delete(&ev);
                if (!root)
                        return -EINVAL;
                if (imp_ynode_is_null(root)) { /* "---" followed only by comments */
                        ynode_free(root);
                        continue;
                }
                if (grow(&s->docs, s->n_docs, sizeof(*s->docs)) < 0) {
                        ynode_free(root);
                        return -ENOMEM;
                }
                s->docs[s->n_docs++] = root;
        }
}

int imp_yaml_parse(const char *file, const char *text, size_t len, struct vx_diags *diags,
                   struct imp_ystream **ret)
{
        _cleanup_(imp_ystream_freep) struct imp_ystream *s = NULL;
        struct yctx c = {.file = file, .diags = diags};
        int r;

        if (len > IMP_YAML_MAX_SIZE) {
                yerror(&c, 0, 0, "the file is larger than 1 MiB", NULL);
                return c.r < 0 ? c.r : -EINVAL;
        }
        s = calloc(1, sizeof(*s));
        if (!s || !yaml_parser_initialize(&c.parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, len);
        r = parse_stream(&c, s);
        yaml_parser_delete(&c.parser);
        if (c.r < 0)
                return c.r;
        if (r < 0)
                return r == -ENOMEM ? r : -EINVAL;
        *ret = TAKE_PTR(s);
        return 0;
}
