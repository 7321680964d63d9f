/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cleanup.h"
#include "ynode.h"

struct yaml_ctx {
        const char *file;
        const char *text;
        size_t len;
        struct vx_diags *diags;
        yaml_parser_t parser;
        bool syntax_error; /* libyaml gave up: no more events */
        int r;             /* sticky -ENOMEM */
};

static void ctx_oom(struct yaml_ctx *c, int r)
{
        if (r < 0 && c->r == 0)
                c->r = r;
}

#define yerror(c, line, column, hint, ...)                                                                   \
        ctx_oom((c), diag_add((c)->diags, VX_DIAG_ERROR, (c)->file, (line), (column), "", (hint), __VA_ARGS__))

struct vx_ynode *vx_ynode_free(struct vx_ynode *n)
{
        if (!n)
                return NULL;
        free(n->value);
        for (size_t i = 0; i < n->n_pairs; i++) {
                free(n->pairs[i].key);
                vx_ynode_free(n->pairs[i].value);
        }
        free(n->pairs);
        for (size_t i = 0; i < n->n_items; i++)
                vx_ynode_free(n->items[i]);
        free(n->items);
        free(n);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vx_ynode *, vx_ynode_free);

const struct vx_ypair *vx_ynode_pair(const struct vx_ynode *map, const char *key)
{
        if (!map || map->type != VX_YNODE_MAPPING)
                return NULL;
        for (size_t i = 0; i < map->n_pairs; i++)
                if (strcmp(map->pairs[i].key, key) == 0)
                        return &map->pairs[i];
        return NULL;
}

bool vx_ynode_is_null(const struct vx_ynode *n)
{
        static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

        if (!n || n->type != VX_YNODE_SCALAR || !n->plain)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(nulls); i++)
                if (strcmp(n->value, nulls[i]) == 0)
                        return true;
        return false;
}

const char *vx_ynode_type_to_string(const struct vx_ynode *n)
{
        if (vx_ynode_is_null(n))
                return "an empty value";
        switch (n->type) {
        case VX_YNODE_SCALAR:
                return "a scalar";
        case VX_YNODE_MAPPING:
                return "a mapping";
        case VX_YNODE_SEQUENCE:
                return "a list";
        }
        return "?";
}

/* 1-based line and column (in characters, as libyaml counts) of a byte offset. */
static void offset_to_position(const char *text, size_t offset, unsigned *ret_line, unsigned *ret_column)
{
        unsigned line = 1, column = 1;

        for (size_t i = 0; i < offset; i++) {
                if (text[i] == '\n') {
                        line++;
                        column = 1;
                } else if (((unsigned char)text[i] & 0xC0) != 0x80)
                        column++;
        }
        *ret_line = line;
        *ret_column = column;
}

/* Length of the UTF-8 sequence at s (at most n bytes), or 0 if it is not valid UTF-8. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n)
{
        size_t len;
        uint32_t cp;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xE0) == 0xC0)
                len = 2, cp = s[0] & 0x1F;
        else if ((s[0] & 0xF0) == 0xE0)
                len = 3, cp = s[0] & 0x0F;
        else if ((s[0] & 0xF8) == 0xF0)
                len = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3F);
        }
        /* Overlong forms, surrogates and values past Unicode are not UTF-8. */
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
                return 0;
        return len;
}

/* libyaml would also take UTF-16; a profile is UTF-8 text, and NUL bytes mean binary data. */
static bool check_encoding(struct yaml_ctx *c)
{
        const unsigned char *s = (const unsigned char *)c->text;

        for (size_t i = 0; i < c->len;) {
                size_t l;
                unsigned line, column;

                if (s[i] == 0) {
                        offset_to_position(c->text, i, &line, &column);
                        yerror(c, line, column, NULL, "NUL byte: this is not a text file");
                        return false;
                }
                l = utf8_sequence_length(s + i, c->len - i);
                if (l == 0) {
                        offset_to_position(c->text, i, &line, &column);
                        yerror(c, line, column, NULL, "invalid UTF-8 (byte 0x%02x); profiles must be UTF-8 text",
                               s[i]);
                        return false;
                }
                i += l;
        }
        return true;
}

/* The start of the line holding byte offset. */
static size_t line_start(const char *text, size_t offset)
{
        while (offset > 0 && text[offset - 1] != '\n')
                offset--;
        return offset;
}

/*
 * Turns libyaml's messages into ones a profile author can act on. A tab in the
 * indentation is by far the most common mistake, and libyaml reports it as
 * "found character that cannot start any token" or worse, sometimes a line
 * later; look for it first.
 */
static void report_syntax_error(struct yaml_ctx *c)
{
        const yaml_parser_t *p = &c->parser;
        const char *problem = p->problem ?: "unknown error";
        size_t offset = p->problem_mark.index;
        unsigned line = p->problem_mark.line + 1, column = p->problem_mark.column + 1;

        c->syntax_error = true;

        if (p->error == YAML_MEMORY_ERROR) {
                ctx_oom(c, -ENOMEM);
                return;
        }

        if (offset > c->len)
                offset = c->len;

        /* A tab in the leading whitespace of the problem line or of the line before it. */
        for (int back = 0; back < 2; back++) {
                size_t start = line_start(c->text, offset);

                for (size_t i = start; i < c->len && (c->text[i] == ' ' || c->text[i] == '\t'); i++)
                        if (c->text[i] == '\t') {
                                offset_to_position(c->text, i, &line, &column);
                                yerror(c, line, column, NULL, "tabs are not allowed for indentation; use spaces");
                                return;
                        }
                if (start == 0)
                        break;
                offset = start - 1;
        }
        if (p->problem_mark.index < c->len && c->text[p->problem_mark.index] == '\t') {
                yerror(c, line, column, NULL, "tabs are not allowed here; use spaces");
                return;
        }

        if (strstr(problem, "mapping values are not allowed"))
                yerror(c, line, column, "quote a value that contains ': ', or check the indentation",
                       "unexpected ':'");
        else if (strstr(problem, "did not find expected key"))
                yerror(c, line, column, "keys of one mapping, and items of one list, must line up in the same column",
                       "bad indentation");
        else if (strstr(problem, "did not find expected '-' indicator"))
                yerror(c, line, column, "keys of one mapping, and items of one list, must line up in the same column",
                       "bad indentation");
        else if (strstr(problem, "found unexpected end of stream"))
                yerror(c, line, column, NULL, "unexpected end of file (an unclosed quote or bracket?)");
        else if (strstr(problem, "found character that cannot start any token"))
                yerror(c, line, column, "quote the value", "a value cannot start with '%c'",
                       p->problem_mark.index < c->len ? c->text[p->problem_mark.index] : '?');
        else if (strstr(problem, "found unknown escape character"))
                yerror(c, line, column, "use single quotes, or write '\\\\' for a backslash",
                       "unknown escape sequence in a double-quoted string");
        else if (strstr(problem, "did not find expected node content"))
                yerror(c, line, column, NULL, "expected a value");
        else
                yerror(c, line, column, NULL, "YAML syntax error: %s%s%s", problem, p->context ? " " : "",
                       p->context ?: "");
}

/* Gets the next event; false on a libyaml error (reported) or when a previous one stopped parsing. */
static bool next_event(struct yaml_ctx *c, yaml_event_t *ev)
{
        if (c->syntax_error || c->r < 0)
                return false;
        if (!yaml_parser_parse(&c->parser, ev)) {
                report_syntax_error(c);
                return false;
        }
        return true;
}

static void check_anchor_and_tag(struct yaml_ctx *c, const yaml_event_t *ev, const yaml_char_t *anchor,
                                 const yaml_char_t *tag, bool implicit)
{
        unsigned line = ev->start_mark.line + 1, column = ev->start_mark.column + 1;

        if (anchor)
                yerror(c, line, column, "write the value out where it is needed",
                       "anchors ('&%s') are not supported in profiles", (const char *)anchor);
        if (tag && !implicit)
                yerror(c, line, column, NULL, "tags ('%s') are not supported in profiles", (const char *)tag);
}

static struct vx_ynode *node_new(struct yaml_ctx *c, enum vx_ynode_type type, const yaml_event_t *ev)
{
        struct vx_ynode *n = calloc(1, sizeof(*n));

        if (!n) {
                ctx_oom(c, -ENOMEM);
                return NULL;
        }
        n->type = type;
        n->line = ev->start_mark.line + 1;
        n->column = ev->start_mark.column + 1;
        return n;
}

static struct vx_ynode *parse_node(struct yaml_ctx *c, yaml_event_t *ev, unsigned depth);

static struct vx_ynode *parse_scalar(struct yaml_ctx *c, const yaml_event_t *ev)
{
        _cleanup_(vx_ynode_freep) struct vx_ynode *n = NULL;
        const __typeof__(ev->data.scalar) *s = &ev->data.scalar;

        check_anchor_and_tag(c, ev, s->anchor, s->tag, s->plain_implicit || s->quoted_implicit);
        if (memchr(s->value, 0, s->length)) {
                yerror(c, ev->start_mark.line + 1, ev->start_mark.column + 1, NULL,
                       "NUL characters are not allowed in values");
                return NULL;
        }
        n = node_new(c, VX_YNODE_SCALAR, ev);
        if (!n)
                return NULL;
        n->value = strndup((const char *)s->value, s->length);
        if (!n->value) {
                ctx_oom(c, -ENOMEM);
                return NULL;
        }
        n->plain = s->style == YAML_PLAIN_SCALAR_STYLE;
        return TAKE_PTR(n);
}

static bool sequence_append(struct yaml_ctx *c, struct vx_ynode *seq, struct vx_ynode *item)
{
        struct vx_ynode **items = reallocarray(seq->items, seq->n_items + 1, sizeof(*items));

        if (!items) {
                vx_ynode_free(item);
                ctx_oom(c, -ENOMEM);
                return false;
        }
        seq->items = items;
        seq->items[seq->n_items++] = item;
        return true;
}

static struct vx_ynode *parse_sequence(struct yaml_ctx *c, const yaml_event_t *start, unsigned depth)
{
        _cleanup_(vx_ynode_freep) struct vx_ynode *n = NULL;

        check_anchor_and_tag(c, start, start->data.sequence_start.anchor, start->data.sequence_start.tag,
                             start->data.sequence_start.implicit);
        n = node_new(c, VX_YNODE_SEQUENCE, start);
        if (!n)
                return NULL;

        for (;;) {
                yaml_event_t ev;
                struct vx_ynode *item;

                if (!next_event(c, &ev))
                        return NULL;
                if (ev.type == YAML_SEQUENCE_END_EVENT) {
                        yaml_event_delete(&ev);
                        return TAKE_PTR(n);
                }
                item = parse_node(c, &ev, depth + 1);
                yaml_event_delete(&ev);
                if (c->syntax_error || c->r < 0) {
                        vx_ynode_free(item);
                        return NULL;
                }
                if (item && !sequence_append(c, n, item))
                        return NULL;
        }
}

static struct vx_ynode *parse_mapping(struct yaml_ctx *c, const yaml_event_t *start, unsigned depth)
{
        _cleanup_(vx_ynode_freep) struct vx_ynode *n = NULL;

        check_anchor_and_tag(c, start, start->data.mapping_start.anchor, start->data.mapping_start.tag,
                             start->data.mapping_start.implicit);
        n = node_new(c, VX_YNODE_MAPPING, start);
        if (!n)
                return NULL;

        for (;;) {
                _cleanup_(vx_ynode_freep) struct vx_ynode *key = NULL, *value = NULL;
                const struct vx_ypair *dup;
                struct vx_ypair *pairs;
                yaml_event_t ev;

                if (!next_event(c, &ev))
                        return NULL;
                if (ev.type == YAML_MAPPING_END_EVENT) {
                        yaml_event_delete(&ev);
                        return TAKE_PTR(n);
                }
                key = parse_node(c, &ev, depth + 1);
                yaml_event_delete(&ev);
                if (c->syntax_error || c->r < 0 || !next_event(c, &ev))
                        return NULL;
                value = parse_node(c, &ev, depth + 1);
                yaml_event_delete(&ev);
                if (c->syntax_error || c->r < 0)
                        return NULL;
                if (!key || !value)
                        continue; /* already reported */

                if (key->type != VX_YNODE_SCALAR) {
                        yerror(c, key->line, key->column, NULL, "keys must be plain strings, not %s",
                               vx_ynode_type_to_string(key));
                        continue;
                }
                dup = vx_ynode_pair(n, key->value);
                if (dup) {
                        yerror(c, key->line, key->column, NULL, "duplicate key '%s' (first at line %u)",
                               key->value, dup->line);
                        continue;
                }

                pairs = reallocarray(n->pairs, n->n_pairs + 1, sizeof(*pairs));
                if (!pairs) {
                        ctx_oom(c, -ENOMEM);
                        return NULL;
                }
                n->pairs = pairs;
                n->pairs[n->n_pairs++] = (struct vx_ypair){
                        .key = TAKE_PTR(key->value),
                        .line = key->line,
                        .column = key->column,
                        .value = TAKE_PTR(value),
                };
        }
}

/* Builds the node that starts with ev. NULL when it was rejected (reported) or on a syntax error. */
static struct vx_ynode *parse_node(struct yaml_ctx *c, yaml_event_t *ev, unsigned depth)
{
        unsigned line = ev->start_mark.line + 1, column = ev->start_mark.column + 1;

        if (depth > VX_YAML_MAX_DEPTH) {
                /* Stop here: deeper input can only be an attack on the parser's stack. */
                yerror(c, line, column, NULL, "nesting deeper than %d levels", VX_YAML_MAX_DEPTH);
                c->syntax_error = true;
                return NULL;
        }

        switch (ev->type) {
        case YAML_SCALAR_EVENT:
                return parse_scalar(c, ev);
        case YAML_SEQUENCE_START_EVENT:
                return parse_sequence(c, ev, depth);
        case YAML_MAPPING_START_EVENT:
                return parse_mapping(c, ev, depth);
        case YAML_ALIAS_EVENT:
                /* Rejected outright: profiles need none, and this rules out alias bombs. */
                yerror(c, line, column, "write the value out where it is needed",
                       "aliases ('*%s') are not supported in profiles", (const char *)ev->data.alias.anchor);
                return NULL;
        default:
                yerror(c, line, column, NULL, "unexpected YAML event");
                c->syntax_error = true;
                return NULL;
        }
}

static int yaml_parse_stream(struct yaml_ctx *c, struct vx_ynode **ret)
{
        _cleanup_(vx_ynode_freep) struct vx_ynode *root = NULL;
        unsigned n_documents = 0;
        yaml_event_t ev;

        if (!next_event(c, &ev))
                return c->r;
        assert(ev.type == YAML_STREAM_START_EVENT);
        yaml_event_delete(&ev);

        for (;;) {
                struct vx_ynode *n;

                if (!next_event(c, &ev))
                        break;
                if (ev.type == YAML_STREAM_END_EVENT) {
                        yaml_event_delete(&ev);
                        break;
                }
                assert(ev.type == YAML_DOCUMENT_START_EVENT);
                if (++n_documents == 2)
                        yerror(c, ev.start_mark.line + 1, ev.start_mark.column + 1,
                               "put each deployment in a file of its own",
                               "a profile holds one YAML document; found a second one");
                yaml_event_delete(&ev);

                if (!next_event(c, &ev))
                        break;
                n = parse_node(c, &ev, 1);
                yaml_event_delete(&ev);
                if (n_documents == 1)
                        root = n;
                else
                        vx_ynode_free(n);

                if (!next_event(c, &ev))
                        break;
                assert(ev.type == YAML_DOCUMENT_END_EVENT);
                yaml_event_delete(&ev);
        }

        if (c->r < 0)
                return c->r;
        if (n_documents == 0 && !c->syntax_error)
                yerror(c, 0, 0, NULL, "the file is empty");
        else if (root && vx_ynode_is_null(root))
                yerror(c, root->line, root->column, NULL, "the document is empty");
        if (c->r < 0)
                return c->r;
        *ret = TAKE_PTR(root);
        return 0;
}

int vx_yaml_parse(const char *file, const char *text, size_t len, struct vx_diags *diags, struct vx_ynode **ret)
{
        struct yaml_ctx c = {
                .file = file,
                .text = text,
                .len = len,
                .diags = diags,
        };
        size_t n_errors = diag_count(diags, VX_DIAG_ERROR);
        struct vx_ynode *root = NULL;
        int r;

        assert(text || len == 0);
        assert(ret);

        if (len > VX_YAML_MAX_SIZE) {
                r = diag_add(diags, VX_DIAG_ERROR, file, 0, 0, "", NULL,
                             "file too large (%zu bytes; profiles are limited to %d bytes)", len,
                             VX_YAML_MAX_SIZE);
                return r < 0 ? r : -EFBIG;
        }
        if (!check_encoding(&c))
                return c.r < 0 ? c.r : -EINVAL;

        if (!yaml_parser_initialize(&c.parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&c.parser, (const unsigned char *)(text ?: ""), len);
        yaml_parser_set_encoding(&c.parser, YAML_UTF8_ENCODING);
        r = yaml_parse_stream(&c, &root);
        yaml_parser_delete(&c.parser);
        if (r < 0)
                return r;
        /* Errors found before this call belong to someone else. */
        if (diag_count(diags, VX_DIAG_ERROR) > n_errors || !root) {
                vx_ynode_free(root);
                return -EINVAL;
        }
        *ret = root;
        return 0;
}
