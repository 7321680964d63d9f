/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Diagnostics about an input file: a list, so that all problems are reported,
 * not just the first. Each names file:line:column, the key path
 * ("vms[1].nics[0].mac"), what is wrong, and optionally a suggestion.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum vx_diag_severity {
        VX_DIAG_ERROR,
        VX_DIAG_WARNING,
        VX_DIAG_NOTE,
};

struct vx_diag {
        enum vx_diag_severity severity;
        char *file;
        unsigned line;   /* 1-based, 0 = unknown */
        unsigned column; /* 1-based, 0 = unknown */
        char *path;      /* key path, "" for the whole document */
        char *message;
        char *hint;      /* e.g. "did you mean 'memory'?", or NULL */
};

struct vx_diags {
        struct vx_diag *items;
        size_t n;
        size_t cap;
};

/* Appends a diagnostic; hint may be NULL. Returns 0 or -ENOMEM. */
int diag_add(struct vx_diags *d, enum vx_diag_severity severity, const char *file, unsigned line,
             unsigned column, const char *path, const char *hint, const char *fmt, ...)
        __attribute__((format(printf, 8, 9)));

size_t diag_count(const struct vx_diags *d, enum vx_diag_severity severity);
bool diag_has_errors(const struct vx_diags *d);

/* Sorts by file, line, column (stable for equal positions). */
void diag_sort(struct vx_diags *d);

/*
 * Prints one line per diagnostic, compiler style:
 *   profile.yaml:12:7: error: vms[0].nics[1].mac: not a unicast MAC address (did you mean ...)
 */
void diag_print(const struct vx_diags *d, FILE *out);

void diag_done(struct vx_diags *d);

/* Levenshtein distance, for "did you mean" suggestions. */
size_t diag_edit_distance(const char *a, const char *b);
