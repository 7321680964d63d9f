/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Private to profiles/lib: a hash table from strings to the first pair of
 * indexes given with them, so that "is this used twice, and where first?"
 * costs O(1) per question instead of a scan of everything before. Hostile
 * input can hold tens of thousands of VMs, keys or positions.
 */

#include <stdbool.h>
#include <stddef.h>

struct vx_strmap_slot {
        char *key; /* NULL: free */
        size_t a, b;
};

struct vx_strmap {
        struct vx_strmap_slot *slots;
        size_t n, cap; /* cap is 0 or a power of two */
};

/*
 * Looks key up; when it is there, returns 1 and its first indexes in
 * *ret_a, *ret_b (either may be NULL). Otherwise adds a copy of key with a, b
 * and returns 0. -ENOMEM.
 */
int vx_strmap_first(struct vx_strmap *m, const char *key, size_t a, size_t b, size_t *ret_a, size_t *ret_b);

/* The same with the key given as printf() does; -ENOMEM. */
int vx_strmap_firstf(struct vx_strmap *m, size_t a, size_t b, size_t *ret_a, size_t *ret_b, const char *fmt, ...)
        __attribute__((format(printf, 6, 7)));

/* Looks key up only: true and its indexes, or false. */
bool vx_strmap_get(const struct vx_strmap *m, const char *key, size_t *ret_a, size_t *ret_b);

void vx_strmap_done(struct vx_strmap *m);
