/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "strmap.h"
#include "ytree.h"

struct yaml_ctx {
        const char *file;
        const char *text;
        size_t len;
        const struct vx_yaml_options *o;
        struct vx_diags *diags; /* NULL: errors are counted, not kept */
        yaml_parser_t parser;
        size_t n_errors;
        bool stop; /* libyaml gave up, a limit was hit, or first_error_only: no more events */
        int r;     /* sticky -ENOMEM */
};

static void ctx_oom(struct yaml_ctx *c, int r)
{
        if (r < 0 && c->r == 0)
                c->r = r;
}

static void count_error(struct yaml_ctx *c, int r)
{
        c->n_errors++;
        if (c->o->first_error_only)
                c->stop = true;
        ctx_oom(c, r);
}

#define yerror(c, line, column, hint, ...)                                                                   \
        count_error((c), (c)->diags ? diag_add((c)->diags, VX_DIAG_ERROR, (c)->file, (line), (column), "", \
                                               (hint), __VA_ARGS__)                                       \
                                    : 0)

static bool stopped(const struct yaml_ctx *c)
{
        return c->stop || c->r < 0;
}

static bool vmxconf_words(const struct yaml_ctx *c)
{
        return c->o->wording == VX_YAML_WORDING_VMXCONF;
}

static unsigned ev_line(const yaml_event_t *ev)
{
        return (unsigned)ev->start_mark.line + 1;
}

static unsigned ev_column(const yaml_event_t *ev)
{
        return (unsigned)ev->start_mark.column + 1;
}

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

struct vx_ystream *vx_ystream_free(struct vx_ystream *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_docs; i++)
                vx_ynode_free(s->docs[i]);
        free(s->docs);
        free(s);
        return NULL;
}

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

        /* A UTF-16 or UTF-32 byte order mark: say what the file is, not which byte is wrong. */
        if (c->len >= 2 && ((s[0] == 0xFF && s[1] == 0xFE) || (s[0] == 0xFE && s[1] == 0xFF))) {
                yerror(c, 1, 1, "convert it, e.g. with iconv -f UTF-16 -t UTF-8",
                       "invalid UTF-8: the file starts with the byte order mark of UTF-16 or UTF-32 (%02x "
                       "%02x); "
                       "profiles must be UTF-8 text",
                       s[0], s[1]);
                return false;
        }
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
 * A tab in the indentation is by far the most common mistake, and libyaml
 * reports it as "found character that cannot start any token" or worse,
 * sometimes a line later: look for one in the leading whitespace of the
 * problem line or of the line before it, or at the problem itself. Returns
 * true when one was found (and reported).
 */
static bool report_tab(struct yaml_ctx *c, unsigned line, unsigned column)
{
        size_t offset = c->parser.problem_mark.index;

        if (offset > c->len)
                offset = c->len;
        for (int back = 0; back < 2; back++) {
                size_t start = line_start(c->text, offset);

                for (size_t i = start; i < c->len && (c->text[i] == ' ' || c->text[i] == '\t'); i++)
                        if (c->text[i] == '\t') {
                                offset_to_position(c->text, i, &line, &column);
                                yerror(c, line, column, NULL, "tabs are not allowed for indentation; use spaces");
                                return true;
                        }
                if (start == 0)
                        break;
                offset = start - 1;
        }
        if (c->parser.problem_mark.index < c->len && c->text[c->parser.problem_mark.index] == '\t') {
                yerror(c, line, column, NULL, "tabs are not allowed here; use spaces");
                return true;
        }
        return false;
}

/* Turns libyaml's messages into ones a profile author can act on. */
static void explain_syntax_error(struct yaml_ctx *c, unsigned line, unsigned column)
{
        const yaml_parser_t *p = &c->parser;
        const char *problem = p->problem ?: "unknown error";
        static const char *const indentation =
                "keys of one mapping, and items of one list, must line up in the same column";

        if (report_tab(c, line, column))
                return;
        if (strstr(problem, "mapping values are not allowed"))
                yerror(c, line, column, "quote a value that contains ': ', or check the indentation",
                       "unexpected ':'");
        else if (strstr(problem, "did not find expected key"))
                yerror(c, line, column, indentation, "bad indentation");
        else if (strstr(problem, "did not find expected '-' indicator"))
                yerror(c, line, column, indentation, "bad indentation");
        else if (strstr(problem, "found unexpected end of stream"))
                yerror(c, line, column, NULL, "unexpected end of file (an unclosed quote or bracket?)");
        else if (strstr(problem, "found character that cannot start any token"))
                yerror(c, line, column, "quote the value", "a value cannot start with %s",
                       DIAG_QUOTE(((char[2]){p->problem_mark.index < c->len ? c->text[p->problem_mark.index] : '?'})));
        else if (strstr(problem, "found unknown escape character"))
                yerror(c, line, column, "use single quotes, or write '\\\\' for a backslash",
                       "unknown escape sequence in a double-quoted string");
        else if (strstr(problem, "did not find expected node content"))
                yerror(c, line, column, NULL, "expected a value");
        else
                yerror(c, line, column, NULL, "YAML syntax error: %s%s%s", problem, p->context ? " " : "",
                       p->context ?: "");
}

static void report_syntax_error(struct yaml_ctx *c)
{
        const yaml_parser_t *p = &c->parser;
        unsigned line = (unsigned)p->problem_mark.line + 1, column = (unsigned)p->problem_mark.column + 1;

        c->stop = true;
        if (p->error == YAML_MEMORY_ERROR)
                ctx_oom(c, -ENOMEM);
        else if (c->o->raw_syntax_errors)
                yerror(c, line, column, NULL, "YAML syntax error: %s%s%s", p->problem ?: "unknown problem",
                       p->context ? " " : "", p->context ?: "");
        else
                explain_syntax_error(c, line, column);
}

/* Gets the next event; false on a libyaml error (reported) or when parsing has stopped. */
static bool next_event(struct yaml_ctx *c, yaml_event_t *ev)
{
        if (stopped(c))
                return false;
        if (!yaml_parser_parse(&c->parser, ev)) {
                report_syntax_error(c);
                return false;
        }
        return true;
}

/* Anchor names are printable and without spaces (YAML's ns-anchor-char): they need cutting, not escaping. */
static const char *cut_mark(const char *name)
{
        return strlen(name) > VX_DIAG_QUOTE_CHARS ? "..." : "";
}

static void check_anchor_and_tag(struct yaml_ctx *c, const yaml_event_t *ev, const yaml_char_t *anchor,
                                 const yaml_char_t *tag, bool implicit)
{
        unsigned line = ev_line(ev), column = ev_column(ev);

        if (anchor) {
                if (vmxconf_words(c))
                        yerror(c, line, column, "write the value out", "anchors are not supported in vmx.conf");
                else
                        yerror(c, line, column, "write the value out where it is needed",
                               "anchors ('&%.*s%s') are not supported in profiles", VX_DIAG_QUOTE_CHARS,
                               (const char *)anchor, cut_mark((const char *)anchor));
        }
        if (tag && !implicit && !stopped(c)) {
                if (vmxconf_words(c))
                        yerror(c, line, column, NULL, "tags are not supported in vmx.conf");
                else
                        yerror(c, line, column, NULL, "tags (%s) are not supported in profiles",
                               DIAG_QUOTE((const char *)tag));
        }
}

static struct vx_ynode *node_new(struct yaml_ctx *c, enum vx_ynode_type type, const yaml_event_t *ev)
{
        struct vx_ynode *n = calloc(1, sizeof(*n));

        if (!n) {
                ctx_oom(c, -ENOMEM);
                return NULL;
        }
        n->type = type;
        n->line = ev_line(ev);
        n->column = ev_column(ev);
        return n;
}

static struct vx_ynode *parse_node(struct yaml_ctx *c, yaml_event_t *ev, unsigned depth);

static struct vx_ynode *parse_scalar(struct yaml_ctx *c, const yaml_event_t *ev)
{
        _cleanup_(vx_ynode_freep) struct vx_ynode *n = NULL;
        const __typeof__(ev->data.scalar) *s = &ev->data.scalar;

        check_anchor_and_tag(c, ev, s->anchor, s->tag, s->plain_implicit || s->quoted_implicit);
        if (stopped(c))
                return NULL;
        if (memchr(s->value, 0, s->length)) {
                if (vmxconf_words(c))
                        yerror(c, ev_line(ev), ev_column(ev), NULL, "a value holds a NUL character");
                else
                        yerror(c, ev_line(ev), ev_column(ev), NULL, "NUL characters are not allowed in values");
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

/*
 * Makes room for one more element in an array that holds n: the size doubles
 * at each power of two, so that a list of a hundred thousand items is not
 * copied a hundred thousand times. False on ENOMEM.
 */
static bool array_grow(void **array, size_t n, size_t size)
{
        void *p;

        if (n > 0 && (n & (n - 1)) != 0)
                return true;
        p = reallocarray(*array, n ? n * 2 : 4, size);
        if (!p)
                return false;
        *array = p;
        return true;
}

static bool sequence_append(struct yaml_ctx *c, struct vx_ynode *seq, struct vx_ynode *item)
{
        if (!array_grow((void **)&seq->items, seq->n_items, sizeof(*seq->items))) {
                vx_ynode_free(item);
                ctx_oom(c, -ENOMEM);
                return false;
        }
        seq->items[seq->n_items++] = item;
        return true;
}

static struct vx_ynode *parse_sequence(struct yaml_ctx *c, const yaml_event_t *start, unsigned depth)
{
        _cleanup_(vx_ynode_freep) struct vx_ynode *n = NULL;

        check_anchor_and_tag(c, start, start->data.sequence_start.anchor, start->data.sequence_start.tag,
                             start->data.sequence_start.implicit);
        if (stopped(c))
                return NULL;
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
                if (stopped(c)) {
                        vx_ynode_free(item);
                        return NULL;
                }
                if (item && !sequence_append(c, n, item))
                        return NULL;
        }
}

/* False (reported) when key is not a scalar. */
static bool check_key(struct yaml_ctx *c, const struct vx_ynode *key)
{
        if (key->type == VX_YNODE_SCALAR)
                return true;
        if (vmxconf_words(c))
                yerror(c, key->line, key->column, NULL, "a key must be a plain string");
        else
                yerror(c, key->line, key->column, NULL, "keys must be plain strings, not %s",
                       vx_ynode_type_to_string(key));
        return false;
}

/*
 * Adds key: value to map, taking both; false (reported, or -ENOMEM) when the
 * pair is left out. keys indexes the map's keys, to find a repeated one in
 * O(1) (unless the options keep them).
 */
static bool mapping_append(struct yaml_ctx *c, struct vx_ynode *map, struct vx_strmap *keys, struct vx_ynode *key,
                           struct vx_ynode *value)
{
        size_t first;
        int r;

        if (!c->o->keep_duplicate_keys) {
                r = vx_strmap_first(keys, key->value, map->n_pairs, 0, &first, NULL);
                if (r < 0) {
                        ctx_oom(c, r);
                        return false;
                }
                if (r > 0) {
                        yerror(c, key->line, key->column, NULL, "duplicate key %s (first at line %u)",
                               DIAG_QUOTE(key->value), map->pairs[first].line);
                        return false;
                }
        }
        if (!array_grow((void **)&map->pairs, map->n_pairs, sizeof(*map->pairs))) {
                ctx_oom(c, -ENOMEM);
                return false;
        }
        map->pairs[map->n_pairs++] = (struct vx_ypair){
                .key = TAKE_PTR(key->value),
                .line = key->line,
                .column = key->column,
                .value = value,
        };
        return true;
}

static struct vx_ynode *parse_mapping(struct yaml_ctx *c, const yaml_event_t *start, unsigned depth)
{
        _cleanup_(vx_ynode_freep) struct vx_ynode *n = NULL;
        _cleanup_(vx_strmap_done) struct vx_strmap keys = {};

        check_anchor_and_tag(c, start, start->data.mapping_start.anchor, start->data.mapping_start.tag,
                             start->data.mapping_start.implicit);
        if (stopped(c))
                return NULL;
        n = node_new(c, VX_YNODE_MAPPING, start);
        if (!n)
                return NULL;

        for (;;) {
                _cleanup_(vx_ynode_freep) struct vx_ynode *key = NULL, *value = NULL;
                yaml_event_t ev;

                if (!next_event(c, &ev))
                        return NULL;
                if (ev.type == YAML_MAPPING_END_EVENT) {
                        yaml_event_delete(&ev);
                        return TAKE_PTR(n);
                }
                key = parse_node(c, &ev, depth + 1);
                yaml_event_delete(&ev);
                /* Stopping at the first error, that of the key comes before any in its value. */
                if (c->o->first_error_only && key && !check_key(c, key))
                        return NULL;
                if (stopped(c) || !next_event(c, &ev))
                        return NULL;
                value = parse_node(c, &ev, depth + 1);
                yaml_event_delete(&ev);
                if (stopped(c))
                        return NULL;
                if (!key || !value || !check_key(c, key))
                        continue; /* already reported */
                if (mapping_append(c, n, &keys, key, value))
                        TAKE_PTR(value);
                else if (c->r < 0)
                        return NULL;
        }
}

/* Builds the node that starts with ev. NULL when it was rejected (reported) or on a syntax error. */
static struct vx_ynode *parse_node(struct yaml_ctx *c, yaml_event_t *ev, unsigned depth)
{
        unsigned line = ev_line(ev), column = ev_column(ev);

        if (depth > c->o->max_depth) {
                /* Stop here: deeper input can only be an attack on the parser's stack. */
                if (vmxconf_words(c))
                        yerror(c, line, column, NULL, "nested too deeply");
                else
                        yerror(c, line, column, NULL, "nesting deeper than %u levels", c->o->max_depth);
                c->stop = true;
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
                /* Rejected outright: neither file needs them, and this rules out alias bombs. */
                if (vmxconf_words(c))
                        yerror(c, line, column, "write the value out", "aliases are not supported in vmx.conf");
                else
                        yerror(c, line, column, "write the value out where it is needed",
                               "aliases ('*%.*s%s') are not supported in profiles", VX_DIAG_QUOTE_CHARS,
                               (const char *)ev->data.alias.anchor, cut_mark((const char *)ev->data.alias.anchor));
                return NULL;
        default:
                if (vmxconf_words(c))
                        yerror(c, line, column, NULL, "unexpected YAML structure");
                else
                        yerror(c, line, column, NULL, "unexpected YAML event");
                c->stop = true;
                return NULL;
        }
}

/* Appends root (taken; NULL for a document that was rejected) to the documents. */
static void stream_add(struct yaml_ctx *c, struct vx_ystream *s, struct vx_ynode *root)
{
        if (!root)
                return;
        if (!array_grow((void **)&s->docs, s->n_docs, sizeof(*s->docs))) {
                vx_ynode_free(root);
                ctx_oom(c, -ENOMEM);
                return;
        }
        s->docs[s->n_docs++] = root;
}

static int parse_stream(struct yaml_ctx *c, struct vx_ystream *s)
{
        unsigned n_documents = 0;
        yaml_event_t ev;

        if (!next_event(c, &ev))
                return c->r;
        assert(ev.type == YAML_STREAM_START_EVENT);
        yaml_event_delete(&ev);

        for (;;) {
                struct vx_ynode *root;

                if (!next_event(c, &ev))
                        break;
                if (ev.type == YAML_STREAM_END_EVENT) {
                        yaml_event_delete(&ev);
                        break;
                }
                assert(ev.type == YAML_DOCUMENT_START_EVENT);
                if (++n_documents == 2 && !c->o->multi_document)
                        yerror(c, ev_line(&ev), ev_column(&ev), "put each deployment in a file of its own",
                               "a profile holds one YAML document; found a second one");
                yaml_event_delete(&ev);

                if (!next_event(c, &ev))
                        break;
                root = parse_node(c, &ev, 1);
                yaml_event_delete(&ev);
                if (n_documents > 1 && !c->o->multi_document)
                        root = vx_ynode_free(root); /* reported above; parsed for its errors */
                stream_add(c, s, root);

                if (!next_event(c, &ev))
                        break;
                assert(ev.type == YAML_DOCUMENT_END_EVENT);
                yaml_event_delete(&ev);
        }

        if (c->r < 0 || c->o->multi_document)
                return c->r;
        if (n_documents == 0 && !c->stop)
                yerror(c, 0, 0, NULL, "the file is empty");
        else if (s->n_docs == 1 && vx_ynode_is_null(s->docs[0]))
                yerror(c, s->docs[0]->line, s->docs[0]->column, NULL, "the document is empty");
        return c->r;
}

int vx_yaml_parse(const char *file, const char *text, size_t len, const struct vx_yaml_options *opts,
                  struct vx_diags *diags, struct vx_ystream **ret)
{
        _cleanup_(vx_ystream_freep) struct vx_ystream *s = NULL;
        struct yaml_ctx c = {
                .file = file,
                .text = text,
                .len = len,
                .o = opts,
                .diags = diags,
        };
        int r;

        assert(text || len == 0);
        assert(opts);
        assert(ret);

        if (len > VX_YAML_MAX_SIZE) {
                if (vmxconf_words(&c))
                        yerror(&c, 0, 0, NULL, "the file is larger than 1 MiB");
                else
                        yerror(&c, 0, 0, NULL, "file too large (%zu bytes; profiles are limited to %d bytes)", len,
                               VX_YAML_MAX_SIZE);
                return c.r < 0 ? c.r : -EFBIG;
        }
        /*
         * libyaml skips a UTF-8 byte order mark only when it detects the encoding
         * itself; utf8_only sets the encoding, so the mark is dropped here (it is
         * not a column: positions stay those of an editor).
         */
        if (opts->utf8_only && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
                c.text = text += 3;
                c.len = len -= 3;
        }
        if (opts->utf8_only && !check_encoding(&c))
                return c.r < 0 ? c.r : -EINVAL;

        s = calloc(1, sizeof(*s));
        if (!s || !yaml_parser_initialize(&c.parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&c.parser, (const unsigned char *)(text ?: ""), len);
        if (opts->utf8_only)
                yaml_parser_set_encoding(&c.parser, YAML_UTF8_ENCODING);
        r = parse_stream(&c, s);
        yaml_parser_delete(&c.parser);
        if (r < 0)
                return r;
        if (c.n_errors > 0 || (!opts->multi_document && s->n_docs != 1))
                return -EINVAL;
        *ret = TAKE_PTR(s);
        return 0;
}
