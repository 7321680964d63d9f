/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "drift.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

/* One option of a command line: its name and its value (NULL for a flag). */
struct opt {
        const char *name, *value;
        bool matched;
};

static size_t split(char *const *argv, size_t n, struct opt *out)
{
        size_t k = 0;

        /* argv[0] is the binary: a different QEMU binary is a difference of its own. */
        if (n > 0)
                out[k++] = (struct opt){.name = "(binary)", .value = argv[0]};
        for (size_t i = 1; i < n; i++) {
                bool has_value = i + 1 < n && argv[i + 1][0] != '-';

                out[k++] = (struct opt){.name = argv[i], .value = has_value ? argv[i + 1] : NULL};
                if (has_value)
                        i++;
        }
        return k;
}

static bool same(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

static int add(char ***lines, size_t *n, char *line)
{
        char **l;

        if (!line)
                return -ENOMEM;
        l = realloc(*lines, (*n + 2) * sizeof(*l));
        if (!l) {
                free(line);
                return -ENOMEM;
        }
        l[(*n)++] = line;
        l[*n] = NULL;
        *lines = l;
        return 0;
}

/* "NAME OLD -> NEW", or "SIGN NAME VALUE" (sign '+' or '-'; no value for a flag). */
static char *changed(const char *name, const char *from, const char *to)
{
        char *s;
        bool binary = strcmp(name, "(binary)") == 0;

        if (asprintf(&s, "%s%s%s -> %s", binary ? "" : name, binary ? "" : " ", from ?: "", to ?: "") < 0)
                return NULL;
        return s;
}

static char *one_side(char sign, const struct opt *o)
{
        char *s;

        if (asprintf(&s, "%c %s%s%s", sign, o->name, o->value ? " " : "", o->value ?: "") < 0)
                return NULL;
        return s;
}

int drift_argv(char *const *running, size_t n_running, char *const *planned, size_t n_planned, char ***ret)
{
        _cleanup_free_ struct opt *run = calloc(n_running + 1, sizeof(*run)),
                                  *plan = calloc(n_planned + 1, sizeof(*plan));
        char **lines = calloc(1, sizeof(*lines));
        size_t nr, np, n = 0;
        int r = 0;

        if (!run || !plan || !lines) {
                free(lines);
                return -ENOMEM;
        }
        nr = split(running, n_running, run);
        np = split(planned, n_planned, plan);
        /* Equal options (name and value) pair off first, in order. */
        for (size_t i = 0; i < np; i++)
                for (size_t j = 0; j < nr; j++)
                        if (!run[j].matched && strcmp(plan[i].name, run[j].name) == 0 &&
                            same(plan[i].value, run[j].value)) {
                                plan[i].matched = run[j].matched = true;
                                break;
                        }
        /* An option given once on each side with another value reads best as "old -> new". */
        for (size_t i = 0; r >= 0 && i < np; i++) {
                size_t left = 0, j_left = 0;

                if (plan[i].matched)
                        continue;
                for (size_t j = 0; j < nr; j++)
                        if (!run[j].matched && strcmp(plan[i].name, run[j].name) == 0) {
                                left++;
                                j_left = j;
                        }
                if (left == 1) {
                        r = add(&lines, &n, changed(plan[i].name, run[j_left].value, plan[i].value));
                        plan[i].matched = run[j_left].matched = true;
                }
        }
        for (size_t j = 0; r >= 0 && j < nr; j++)
                if (!run[j].matched)
                        r = add(&lines, &n, one_side('-', &run[j]));
        for (size_t i = 0; r >= 0 && i < np; i++)
                if (!plan[i].matched)
                        r = add(&lines, &n, one_side('+', &plan[i]));
        if (r < 0) {
                drift_free(lines);
                return r;
        }
        *ret = lines;
        return 0;
}

int drift_tap(const char *tap, int ifindex, int now_ifindex, char ***lines)
{
        size_t count = 0;
        char *line = NULL;

        if (!tap || ifindex <= 0 || now_ifindex == ifindex)
                return 0;
        while (*lines && (*lines)[count])
                count++;
        if (now_ifindex == 0 ? asprintf(&line, "tap %s: gone from the host (QEMU's NIC has no host side)", tap) < 0
                             : asprintf(&line,
                                        "tap %s: ifindex %d -> %d (made again behind vmxrun's back; QEMU holds the "
                                        "old one)",
                                        tap, ifindex, now_ifindex) < 0)
                line = NULL;
        return add(lines, &count, line);
}

char **drift_free(char **lines)
{
        for (size_t i = 0; lines && lines[i]; i++)
                free(lines[i]);
        free(lines);
        return NULL;
}
