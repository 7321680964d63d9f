/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "qemuargs-internal.h"
#include "qemuargs.h"

struct word {
        char *buf;
        size_t len, cap;
        bool started; /* '' is a word too */
        size_t start; /* byte offset in the text where the word began */
        size_t *offsets, n_offsets; /* one per word flushed, when wanted */
        bool want_offsets;
};

static int word_putc(struct word *w, char c)
{
        if (w->len + 2 > w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 64;
                char *b = realloc(w->buf, cap);
                if (!b)
                        return -ENOMEM;
                w->buf = b;
                w->cap = cap;
        }
        w->buf[w->len++] = c;
        w->buf[w->len] = '\0';
        w->started = true;
        return 0;
}

static int word_flush(struct word *w, struct vx_argv *ret)
{
        int r;

        if (!w->started)
                return 0;
        if (w->want_offsets) {
                size_t *o = qa_grow(w->offsets, w->n_offsets, sizeof(size_t));
                if (!o)
                        return -ENOMEM;
                w->offsets = o;
                o[w->n_offsets++] = w->start;
        }
        r = vx_argv_append(ret, w->buf ? w->buf : "");
        w->len = 0;
        if (w->buf)
                w->buf[0] = '\0';
        w->started = false;
        return r;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Copies a {...} object from text[*i] into w, braces balanced outside JSON strings; *i ends on its last byte. */
static int take_json(const char *text, size_t *i, struct word *w)
{
        unsigned depth = 0;
        bool in_str = false;
        size_t j = *i;
        int r = 0;

        for (; text[j] && r >= 0; j++) {
                char c = text[j];

                if (!in_str && depth == 0 && j > *i && is_blank(c))
                        break;
                r = word_putc(w, c);
                if (in_str) {
                        if (c == '\\' && text[j + 1])
                                r = word_putc(w, text[++j]);
                        else if (c == '"')
                                in_str = false;
                } else if (c == '"') {
                        in_str = true;
                } else if (c == '{') {
                        depth++;
                } else if (c == '}' && depth > 0 && --depth == 0) {
                        j++;
                        break;
                }
        }
        *i = j - 1;
        return r;
}

int qa_split_shell_at(const char *text, struct vx_argv *ret, size_t **ret_offsets, size_t *ret_error_offset)
{
        struct word w = {.want_offsets = ret_offsets != NULL};
        _cleanup_free_ char *owned = NULL;
        _cleanup_free_ size_t *offsets = NULL;
        int r = 0;

        assert(text);
        for (size_t i = 0; r >= 0 && text[i]; i++) {
                char c = text[i];

                if (!w.started && !is_blank(c))
                        w.start = i;

                if (!w.started && c == '#') {
                        /* A comment, also one inside a \\ continuation: to the end of the line. */
                        while (text[i + 1] && text[i + 1] != '\n')
                                i++;
                } else if (c == '|' || c == ';' ||
                           (c == '&' && (text[i + 1] == '&' || !text[i + 1] || is_blank(text[i + 1])))) {
                        /* `| tee log`, `; echo`, `&& ...`, a trailing `&`: the command ends here. */
                        break;
                } else if (c == '>' || c == '<') {
                        /* A redirection (`2>&1`, `> log`): its fd number and its target are not arguments. */
                        if (w.started && strspn(w.buf ? w.buf : "", "0123456789") == w.len) {
                                w.len = 0;
                                w.started = false;
                        } else if ((r = word_flush(&w, ret)) < 0) {
                                break;
                        }
                        while (text[i + 1] == '>' || text[i + 1] == '&')
                                i++;
                        while (text[i + 1] && is_blank(text[i + 1]) && text[i + 1] != '\n')
                                i++;
                        while (text[i + 1] && !is_blank(text[i + 1]))
                                i++;
                } else if (!w.started && c == '{') {
                        /* JSON as `ps` shows it, unquoted: taken as it is, up to its closing brace. */
                        r = take_json(text, &i, &w);
                } else if (c == '\\') {
                        if (text[i + 1] == '\n') {
                                i++; /* continuation */
                                continue;
                        }
                        if (text[i + 1] == '\r' && text[i + 2] == '\n') {
                                i += 2;
                                continue;
                        }
                        if (!text[i + 1]) {
                                if (ret_error_offset)
                                        *ret_error_offset = i;
                                r = -EINVAL;
                                break;
                        }
                        r = word_putc(&w, text[++i]);
                } else if (c == '\'') {
                        size_t start = i;
                        w.started = true;
                        for (i++; text[i] && text[i] != '\''; i++)
                                if ((r = word_putc(&w, text[i])) < 0)
                                        break;
                        if (r >= 0 && !text[i]) {
                                if (ret_error_offset)
                                        *ret_error_offset = start;
                                r = -EINVAL;
                        }
                } else if (c == '"') {
                        size_t start = i;
                        w.started = true;
                        for (i++; text[i] && text[i] != '"' && r >= 0; i++) {
                                if (text[i] == '\\' && text[i + 1] == '\n') {
                                        i++;
                                        continue;
                                }
                                if (text[i] == '\\' && text[i + 1] && strchr("\"\\$`", text[i + 1]))
                                        i++;
                                r = word_putc(&w, text[i]);
                        }
                        if (r >= 0 && !text[i]) {
                                if (ret_error_offset)
                                        *ret_error_offset = start;
                                r = -EINVAL;
                        }
                } else if (is_blank(c)) {
                        r = word_flush(&w, ret);
                } else {
                        r = word_putc(&w, c);
                }
        }
        if (r >= 0)
                r = word_flush(&w, ret);
        owned = w.buf;
        offsets = w.offsets;
        if (r >= 0 && ret_offsets)
                *ret_offsets = TAKE_PTR(offsets);
        return r;
}

char *qa_unwrap_terminal(const char *text)
{
        size_t width = 0, n_lines = 0, len = strlen(text);
        const char *p = text;
        char *out, *o;

        /* Every line but the last exactly as wide as the terminal, none ending in a continuation. */
        while (*p) {
                const char *nl = strchr(p, '\n');
                size_t l = nl ? (size_t)(nl - p) : strlen(p);

                if (l > 0 && p[l - 1] == '\r')
                        l--;
                if (!nl)
                        break;
                if (l > 0 && p[l - 1] == '\\')
                        return NULL;
                if (n_lines == 0)
                        width = l;
                else if (l != width)
                        return NULL;
                n_lines++;
                p = nl + 1;
        }
        /* Two full-width lines, or one and a shorter rest; no terminal is wider than 1000 columns. */
        if (n_lines == 0 || (n_lines == 1 && !*p) || width < 40 || width > 1000 || strlen(p) > width)
                return NULL;
        out = malloc(len + 1);
        if (!out)
                return NULL;
        o = out;
        for (const char *q = text; *q; q++)
                if (*q != '\n' && *q != '\r')
                        *o++ = *q;
        *o = '\0';
        return out;
}

int qa_split_shell(const char *text, struct vx_argv *ret, size_t *ret_error_offset)
{
        return qa_split_shell_at(text, ret, NULL, ret_error_offset);
}

int qa_split_nul(const char *buf, size_t len, struct vx_argv *ret)
{
        size_t i = 0;

        while (i < len) {
                size_t l = strnlen(buf + i, len - i);
                _cleanup_free_ char *s = strndup(buf + i, l);
                int r;

                if (!s)
                        return -ENOMEM;
                r = vx_argv_append(ret, s);
                if (r < 0)
                        return r;
                i += l + 1;
        }
        return 0;
}

size_t qa_utf8_invalid(const char *s)
{
        const unsigned char *p = (const unsigned char *)s;

        for (size_t i = 0; p[i];) {
                unsigned char c = p[i];
                size_t len = c < 0x80             ? 1
                             : (c & 0xe0) == 0xc0 ? 2
                             : (c & 0xf0) == 0xe0 ? 3
                             : (c & 0xf8) == 0xf0 ? 4
                                                  : 0;
                unsigned cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;

                if (len == 0)
                        return i;
                for (size_t k = 1; k < len; k++) {
                        if ((p[i + k] & 0xc0) != 0x80)
                                return i;
                        cp = cp << 6 | (p[i + k] & 0x3f);
                }
                /* Overlong forms, UTF-16 surrogates and beyond U+10FFFF are not UTF-8 either. */
                if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                        return i;
                i += len;
        }
        return SIZE_MAX;
}
