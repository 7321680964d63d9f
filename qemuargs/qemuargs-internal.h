/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared inside qemuargs/ only; the module's interface is qemuargs.h. */

#include <stdlib.h>

#include <jansson.h>

/*
 * Room for element n of an array that holds n elements of size bytes and
 * grows by doubling (capacity 8, 16, 32, ...: a realloc only when n is 0 or
 * a power of two from 8). Returns the array (maybe moved), or NULL on
 * -ENOMEM with p still valid. Linear in total: a command line of 200,000
 * options does not copy its array 200,000 times.
 */
static inline void *qa_grow(void *p, size_t n, size_t size)
{
        if (n != 0 && (n < 8 || (n & (n - 1)) != 0))
                return p;
        return realloc(p, (n ? 2 * n : 8) * size);
}

/* A JSON scalar as QEMU's key=value form writes it: strings as they are, booleans on/off, numbers in JSON. */
char *qa_json_scalar_text(json_t *v);
