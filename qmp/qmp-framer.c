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
        if (!f->in_string) {
                /* json_int_t holds 18 digits always, 19 mostly: longer runs are checked when the value is complete. */
                f->digits = c >= '0' && c <= '9' ? f->digits + 1 : 0;
                if (f->digits >= 19)
                        f->big_number = true;
        }
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
                f->in_string = f->escape = f->big_number = false;
                f->depth = f->digits = 0;
                return 1;
        }
        return 0;
}

/* Whether the integer literal s[0..n) (digits, maybe a leading '-') is beyond a json_int_t. */
static bool integer_too_big(const char *s, size_t n)
{
        static const char max[] = "9223372036854775807", min[] = "9223372036854775808";
        bool neg = s[0] == '-';
        const char *limit = neg ? min : max;

        if (neg) {
                s++;
                n--;
        }
        while (n > 1 && s[0] == '0') {
                s++;
                n--;
        }
        if (n != sizeof(max) - 1)
                return n > sizeof(max) - 1;
        return memcmp(s, limit, n) > 0;
}

char *qmp_quote_big_integers(const char *s, size_t len, size_t *ret_len)
{
        /* Each quoted literal has at least 19 digits, so two quotes per 19 bytes bound the growth. */
        char *out = malloc(len + 2 * (len / 19 + 1) + 1);
        bool in_str = false;
        size_t o = 0;

        if (!out)
                return NULL;
        for (size_t i = 0; i < len;) {
                char c = s[i];
                if (in_str) {
                        if (c == '\\' && i + 1 < len)
                                out[o++] = s[i++];
                        else if (c == '"')
                                in_str = false;
                        out[o++] = s[i++];
                        continue;
                }
                if (c == '"')
                        in_str = true;
                if ((c >= '0' && c <= '9') || c == '-') {
                        /* The whole number token: only one of digits alone (an integer) can be too big. */
                        size_t n = 1, k = c == '-';
                        while (i + n < len && s[i + n] && strchr("0123456789+-.eE", s[i + n]))
                                n++;
                        while (k < n && s[i + k] >= '0' && s[i + k] <= '9')
                                k++;
                        bool big = k == n && n > (size_t)(c == '-') && integer_too_big(s + i, n);
                        if (big)
                                out[o++] = '"';
                        memcpy(out + o, s + i, n);
                        o += n;
                        i += n;
                        if (big)
                                out[o++] = '"';
                        continue;
                }
                out[o++] = s[i++];
        }
        out[o] = '\0';
        *ret_len = o;
        return out;
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
        if (f->big_number) {
                size_t qlen;
                char *quoted = qmp_quote_big_integers(f->buf + f->head, size, &qlen);
                if (!quoted)
                        return -ENOMEM;
                v = json_loadb(quoted, qlen, 0, &error);
                free(quoted);
        } else
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
