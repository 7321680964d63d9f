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

/* A key path longer than this, or holding a control character, is kept as diag_quote() shows it. */
#define VX_DIAG_PATH_MAX 256

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

/* Input bytes of a value that diag_quote() shows before cutting it short. */
#define VX_DIAG_QUOTE_CHARS 48
/* Room for any diag_quote() result: the excerpt escaped, quotes, "..." and the length. */
#define VX_DIAG_QUOTE_MAX (VX_DIAG_QUOTE_CHARS * 4 + 64)

/*
 * A value as a message quotes it: in single quotes, with control characters,
 * backslashes and single quotes escaped (\n, \t, \x01), and cut after VX_DIAG_QUOTE_CHARS
 * bytes (at a character boundary) with "..." and the full length in bytes, so
 * that a hostile 1 MiB value or a raw newline cannot flood or forge the output.
 * Writes into buf (size bytes, at least VX_DIAG_QUOTE_MAX) and returns it.
 */
const char *diag_quote(const char *s, char *buf, size_t size);
/* diag_quote() into a compound literal, which lives until the end of the enclosing block. */
#define DIAG_QUOTE(s) diag_quote((s), (char[VX_DIAG_QUOTE_MAX]){0}, VX_DIAG_QUOTE_MAX)

/*
 * For values a message shows without quotes (names, addresses): s itself
 * when it is short and printable, or else as diag_quote() shows it.
 */
const char *diag_excerpt(const char *s, char *buf, size_t size);
#define DIAG_EXCERPT(s) diag_excerpt((s), (char[VX_DIAG_QUOTE_MAX]){0}, VX_DIAG_QUOTE_MAX)

/* Levenshtein distance, for "did you mean" suggestions. */
size_t diag_edit_distance(const char *a, const char *b);
