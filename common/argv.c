/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "argv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int argv_push(struct vx_argv *a, char *owned)
{
        if (a->n + 2 > a->cap) {
                size_t cap = a->cap ? a->cap * 2 : 16;
                char **items = realloc(a->items, cap * sizeof(*items));
                if (!items)
                        return -ENOMEM;
                a->items = items;
                a->cap = cap;
        }
        a->items[a->n++] = owned;
        a->items[a->n] = NULL;
        return 0;
}

int vx_argv_append(struct vx_argv *a, const char *s)
{
        char *copy = strdup(s);
        int r;

        if (!copy)
                return -ENOMEM;
        r = argv_push(a, copy);
        if (r < 0)
                free(copy);
        return r;
}

int vx_argv_appendf(struct vx_argv *a, const char *fmt, ...)
{
        char *s;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        r = argv_push(a, s);
        if (r < 0)
                free(s);
        return r;
}

void vx_argv_done(struct vx_argv *a)
{
        for (size_t i = 0; i < a->n; i++)
                free(a->items[i]);
        free(a->items);
        *a = (struct vx_argv){0};
}

static int needs_quoting(const char *s)
{
        if (!*s)
                return 1;
        for (; *s; s++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                            "-_./=:,+@%^", *s))
                        return 1;
        return 0;
}

char *vx_shell_quote(const char *s)
{
        size_t len = 3;
        char *out, *p;

        if (!needs_quoting(s))
                return strdup(s);
        for (const char *c = s; *c; c++)
                len += *c == '\'' ? 4 : 1;
        out = malloc(len);
        if (!out)
                return NULL;
        p = out;
        *p++ = '\'';
        for (const char *c = s; *c; c++) {
                if (*c == '\'') {
                        memcpy(p, "'\\''", 4);
                        p += 4;
                } else
                        *p++ = *c;
        }
        *p++ = '\'';
        *p = '\0';
        return out;
}
