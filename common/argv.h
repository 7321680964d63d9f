/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A growable, NULL-terminated argv array: what execve() takes. QEMU command
 * lines are built only as arrays, never as shell strings.
 */

#include <stddef.h>

struct vx_argv {
        char **items; /* NULL-terminated; items[n] == NULL */
        size_t n;
        size_t cap;
};

/* Both return 0 or -ENOMEM. The string is copied. */
int vx_argv_append(struct vx_argv *a, const char *s);
int vx_argv_appendf(struct vx_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Frees the strings and the array; leaves *a empty and reusable. */
void vx_argv_done(struct vx_argv *a);

/*
 * Quotes s for a POSIX shell only when it needs it (single quotes, with ' as
 * '\''). Returns a new string, or NULL on -ENOMEM.
 */
char *vx_shell_quote(const char *s);
