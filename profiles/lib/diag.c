/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "diag.h"

/* Key paths are made of keys from the file: cut and escape them like values, but only when needed. */
static char *path_copy(const char *path)
{
        size_t len = strlen(path);
        char buf[VX_DIAG_QUOTE_MAX];

        if (len <= VX_DIAG_PATH_MAX) {
                bool plain = true;

                for (const char *q = path; plain && *q; q++)
                        plain = (unsigned char)*q >= 0x20 && *q != 0x7f;
                if (plain)
                        return strdup(path);
        }
        diag_quote(path, buf, sizeof(buf));
        return strdup(buf);
}

int diag_add(struct vx_diags *d, enum vx_diag_severity severity, const char *file, unsigned line,
             unsigned column, const char *path, const char *hint, const char *fmt, ...)
{
        _cleanup_free_ char *message = NULL, *f = NULL, *p = NULL, *h = NULL;
        va_list ap;
        int r;

        assert(d);
        assert(fmt);

        va_start(ap, fmt);
        r = vasprintf(&message, fmt, ap);
        va_end(ap);
        if (r < 0) {
                message = NULL;
                return -ENOMEM;
        }

        f = strdup(file ?: "");
        p = path_copy(path ?: "");
        if (!f || !p)
                return -ENOMEM;
        if (hint) {
                h = strdup(hint);
                if (!h)
                        return -ENOMEM;
        }

        if (d->n >= d->cap) {
                size_t cap = d->cap ? d->cap * 2 : 16;
                struct vx_diag *items = reallocarray(d->items, cap, sizeof(*items));

                if (!items)
                        return -ENOMEM;
                d->items = items;
                d->cap = cap;
        }

        d->items[d->n++] = (struct vx_diag){
                .severity = severity,
                .file = TAKE_PTR(f),
                .line = line,
                .column = column,
                .path = TAKE_PTR(p),
                .message = TAKE_PTR(message),
                .hint = TAKE_PTR(h),
        };
        return 0;
}

size_t diag_count(const struct vx_diags *d, enum vx_diag_severity severity)
{
        size_t n = 0;

        for (size_t i = 0; d && i < d->n; i++)
                if (d->items[i].severity == severity)
                        n++;
        return n;
}

bool diag_has_errors(const struct vx_diags *d)
{
        return diag_count(d, VX_DIAG_ERROR) > 0;
}

struct indexed_diag {
        struct vx_diag diag;
        size_t index;
};

static int indexed_diag_compare(const void *a, const void *b)
{
        const struct indexed_diag *x = a, *y = b;
        int c = strcmp(x->diag.file, y->diag.file);

        if (c != 0)
                return c;
        if (x->diag.line != y->diag.line)
                return x->diag.line < y->diag.line ? -1 : 1;
        if (x->diag.column != y->diag.column)
                return x->diag.column < y->diag.column ? -1 : 1;
        /* qsort is not stable: equal positions keep the order they were found in. */
        return x->index < y->index ? -1 : x->index > y->index;
}

void diag_sort(struct vx_diags *d)
{
        _cleanup_free_ struct indexed_diag *tmp = NULL;

        if (!d || d->n < 2)
                return;

        tmp = calloc(d->n, sizeof(*tmp));
        if (!tmp) {
                /* Out of memory: a stable insertion sort in place needs none. */
                for (size_t i = 1; i < d->n; i++)
                        for (size_t j = i; j > 0; j--) {
                                struct indexed_diag a = {d->items[j - 1], 0}, b = {d->items[j], 1};
                                struct vx_diag t;

                                if (indexed_diag_compare(&a, &b) <= 0)
                                        break;
                                t = d->items[j - 1];
                                d->items[j - 1] = d->items[j];
                                d->items[j] = t;
                        }
                return;
        }

        for (size_t i = 0; i < d->n; i++)
                tmp[i] = (struct indexed_diag){d->items[i], i};
        qsort(tmp, d->n, sizeof(*tmp), indexed_diag_compare);
        for (size_t i = 0; i < d->n; i++)
                d->items[i] = tmp[i].diag;
}

static const char *severity_to_string(enum vx_diag_severity s)
{
        switch (s) {
        case VX_DIAG_ERROR:
                return "error";
        case VX_DIAG_WARNING:
                return "warning";
        case VX_DIAG_NOTE:
                return "note";
        }
        return "error";
}

void diag_print(const struct vx_diags *d, FILE *out)
{
        for (size_t i = 0; d && i < d->n; i++) {
                const struct vx_diag *g = &d->items[i];

                fputs(g->file, out);
                if (g->line > 0) {
                        fprintf(out, ":%u", g->line);
                        if (g->column > 0)
                                fprintf(out, ":%u", g->column);
                }
                fprintf(out, ": %s: ", severity_to_string(g->severity));
                if (g->path && g->path[0])
                        fprintf(out, "%s: ", g->path);
                fputs(g->message, out);
                if (g->hint)
                        fprintf(out, " (%s)", g->hint);
                fputc('\n', out);
        }
}

void diag_done(struct vx_diags *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].file);
                free(d->items[i].path);
                free(d->items[i].message);
                free(d->items[i].hint);
        }
        free(d->items);
        *d = (struct vx_diags){0};
}

const char *diag_quote(const char *s, char *buf, size_t size)
{
        size_t len = s ? strlen(s) : 0, i = 0, o = 0;

        assert(buf);
        assert(size >= VX_DIAG_QUOTE_MAX);

        if (!s)
                s = "";
        buf[o++] = '\'';
        for (; i < len; i++) {
                unsigned char ch = (unsigned char)s[i];

                /*
                 * Cut only before a character's first byte, never inside a UTF-8
                 * sequence, which is at most 4 bytes: a run of stray continuation
                 * bytes (bad UTF-8 from the command line) is cut all the same.
                 */
                if (i >= VX_DIAG_QUOTE_CHARS && ((ch & 0xC0) != 0x80 || i >= VX_DIAG_QUOTE_CHARS + 3))
                        break;
                if (ch == '\n' || ch == '\t' || ch == '\r' || ch == '\\' || ch == '\'') {
                        buf[o++] = '\\';
                        buf[o++] = ch == '\n' ? 'n' : ch == '\t' ? 't' : ch == '\r' ? 'r' : (char)ch;
                } else if (ch < 0x20 || ch == 0x7f)
                        o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
                else
                        buf[o++] = (char)ch;
        }
        if (i < len)
                snprintf(buf + o, size - o, "...' (%zu bytes)", len);
        else
                snprintf(buf + o, size - o, "'");
        return buf;
}

const char *diag_excerpt(const char *s, char *buf, size_t size)
{
        size_t len = 0;

        for (; s && s[len]; len++)
                if ((unsigned char)s[len] < 0x20 || s[len] == 0x7f || s[len] == '\'' || len >= VX_DIAG_QUOTE_CHARS)
                        return diag_quote(s, buf, size);
        return s ?: "";
}

size_t diag_edit_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        _cleanup_free_ size_t *row = NULL;

        /* Long strings are never "near" a key name; do not spend memory on them. */
        if (la > 256 || lb > 256)
                return la > lb ? la : lb;

        row = calloc(lb + 1, sizeof(size_t));
        if (!row)
                return la > lb ? la : lb;

        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t diag = row[0];

                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t up = row[j];
                        size_t best = diag + (a[i - 1] != b[j - 1]);

                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}
