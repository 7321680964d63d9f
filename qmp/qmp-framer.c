/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qmp-internal.h"

void qmp_framer_init(struct vx_qmp_framer *f, size_t max_size)
{
        assert(f);
        *f = (struct vx_qmp_framer){.max_size = max_size};
}

void qmp_framer_done(struct vx_qmp_framer *f)
{
        free(f->buf);
        qmp_framer_init(f, f->max_size);
}

char *qmp_framer_reserve(struct vx_qmp_framer *f, size_t n)
{
        size_t used, want;
        char *p;

        /* Drop consumed bytes first, so the buffer only ever holds one value plus one read. */
        if (f->head > 0) {
                used = f->len - f->head;
                memmove(f->buf, f->buf + f->head, used);
                f->pos -= f->head;
                f->len = used;
                f->head = 0;
        }
        if (f->cap - f->len >= n)
                return f->buf + f->len;

        want = f->cap ? f->cap : 4096;
        while (want - f->len < n) {
                if (want > SIZE_MAX / 2)
                        return NULL;
                want *= 2;
        }
        p = realloc(f->buf, want);
        if (!p)
                return NULL;
        f->buf = p;
        f->cap = want;
        return f->buf + f->len;
}

void qmp_framer_commit(struct vx_qmp_framer *f, size_t n)
{
        assert(n <= f->cap - f->len);
        f->len += n;
}

int qmp_framer_feed(struct vx_qmp_framer *f, const void *data, size_t n)
{
        char *p = qmp_framer_reserve(f, n);

        if (!p)
                return -ENOMEM;
        memcpy(p, data, n);
        qmp_framer_commit(f, n);
        return 0;
}

/* Advances over one byte inside a value; returns true when it closed the top-level object. */
static bool framer_step(struct vx_qmp_framer *f, char c)
{
        if (f->in_string) {
                if (f->escape)
                        f->escape = false;
                else if (c == '\\')
                        f->escape = true;
                else if (c == '"')
                        f->in_string = false;
                return false;
        }
        switch (c) {
        case '"':
                f->in_string = true;
                break;
        case '{':
        case '[':
                f->depth++;
                break;
        case '}':
        case ']':
                /* Mismatched kinds ("{]") are left to jansson; only the count matters for framing. */
                if (--f->depth == 0)
                        return true;
                break;
        }
        return false;
}

/* Skips whitespace between values; returns 0, 1 when a value starts at pos, or -EPROTO. */
static int framer_find_start(struct vx_qmp_framer *f)
{
        for (; f->pos < f->len; f->pos++) {
                char c = f->buf[f->pos];

                if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                        f->head = f->pos + 1;
                        continue;
                }
                /* QMP only ever sends objects: anything else means the stream is not QMP. */
                if (c != '{')
                        return -EPROTO;
                f->head = f->pos;
                f->in_value = true;
                f->in_string = f->escape = false;
                f->depth = 0;
                return 1;
        }
        return 0;
}

int qmp_framer_next(struct vx_qmp_framer *f, json_t **ret)
{
        json_error_t error;
        json_t *v;
        size_t size;
        int r;

        if (!f->in_value) {
                r = framer_find_start(f);
                if (r <= 0)
                        return r;
        }
        for (; f->pos < f->len; f->pos++)
                if (framer_step(f, f->buf[f->pos]))
                        break;

        if (f->pos == f->len) {
                /* Incomplete: refuse early rather than buffer an endless value. */
                if (f->len - f->head > f->max_size)
                        return -EMSGSIZE;
                return 0;
        }

        size = ++f->pos - f->head;
        if (size > f->max_size)
                return -EMSGSIZE;
        v = json_loadb(f->buf + f->head, size, 0, &error);
        f->head = f->pos;
        f->in_value = false;
        if (!v)
                return -EPROTO;
        if (!json_is_object(v)) {
                json_decref(v);
                return -EPROTO;
        }
        if (ret)
                *ret = v;
        else
                json_decref(v);
        return 1;
}
