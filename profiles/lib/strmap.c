/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "strmap.h"

/* FNV-1a: short keys, no adversary who can see the process's memory. */
static size_t hash(const char *s)
{
        uint64_t h = UINT64_C(14695981039346656037);

        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
        return (size_t)(h ^ (h >> 32));
}

static struct vx_strmap_slot *find(const struct vx_strmap *m, const char *key)
{
        for (size_t i = hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1))
                if (!m->slots[i].key || strcmp(m->slots[i].key, key) == 0)
                        return &m->slots[i];
}

static int grow(struct vx_strmap *m)
{
        struct vx_strmap old = *m;
        size_t cap = m->cap ? m->cap * 2 : 64;

        if (cap > SIZE_MAX / sizeof(*m->slots))
                return -ENOMEM;
        m->slots = calloc(cap, sizeof(*m->slots));
        if (!m->slots) {
                *m = old;
                return -ENOMEM;
        }
        m->cap = cap;
        for (size_t i = 0; i < old.cap; i++)
                if (old.slots[i].key)
                        *find(m, old.slots[i].key) = old.slots[i];
        free(old.slots);
        return 0;
}

bool vx_strmap_get(const struct vx_strmap *m, const char *key, size_t *ret_a, size_t *ret_b)
{
        const struct vx_strmap_slot *s;

        if (m->cap == 0)
                return false;
        s = find(m, key);
        if (!s->key)
                return false;
        if (ret_a)
                *ret_a = s->a;
        if (ret_b)
                *ret_b = s->b;
        return true;
}

int vx_strmap_first(struct vx_strmap *m, const char *key, size_t a, size_t b, size_t *ret_a, size_t *ret_b)
{
        struct vx_strmap_slot *s;
        int r;

        if (vx_strmap_get(m, key, ret_a, ret_b))
                return 1;
        /* At most half full: probes stay short. */
        if ((m->n + 1) * 2 > m->cap) {
                r = grow(m);
                if (r < 0)
                        return r;
        }
        s = find(m, key);
        s->key = strdup(key);
        if (!s->key)
                return -ENOMEM;
        s->a = a;
        s->b = b;
        m->n++;
        return 0;
}

int vx_strmap_firstf(struct vx_strmap *m, size_t a, size_t b, size_t *ret_a, size_t *ret_b, const char *fmt, ...)
{
        _cleanup_free_ char *key = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&key, fmt, ap);
        va_end(ap);
        if (r < 0) {
                key = NULL;
                return -ENOMEM;
        }
        return vx_strmap_first(m, key, a, b, ret_a, ret_b);
}

void vx_strmap_done(struct vx_strmap *m)
{
        for (size_t i = 0; i < m->cap; i++)
                free(m->slots[i].key);
        free(m->slots);
        *m = (struct vx_strmap){0};
}
