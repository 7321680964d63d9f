/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The field engine (fields.h): typed setters that check a value's type, range
 * and units, report what is wrong at the value's position, and keep every
 * key's position in p->positions.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "fields.h"

void pf_oom(struct pctx *c, int r)
{
        if (r < 0 && c->r == 0)
                c->r = r;
}

void *pf_check(struct pctx *c, void *ptr)
{
        if (!ptr)
                pf_oom(c, -ENOMEM);
        return ptr;
}

void pf_error(struct pctx *c, unsigned line, unsigned column, const char *path, const char *hint, const char *fmt, ...)
{
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&message, fmt, ap);
        va_end(ap);
        if (r < 0) {
                message = NULL;
                pf_oom(c, -ENOMEM);
                return;
        }
        pf_oom(c, diag_add(c->diags, VX_DIAG_ERROR, c->p->file, line, column, path, hint, "%s", message));
}

char *pf_path_key(struct pctx *c, const char *parent, const char *key)
{
        char *s;

        if (asprintf(&s, "%s%s%s", parent, parent[0] ? "." : "", key) < 0) {
                pf_oom(c, -ENOMEM);
                return NULL;
        }
        return s;
}

char *pf_path_index(struct pctx *c, const char *parent, size_t i)
{
        char *s;

        if (asprintf(&s, "%s[%zu]", parent, i) < 0) {
                pf_oom(c, -ENOMEM);
                return NULL;
        }
        return s;
}

void pf_add_position(struct pctx *c, const char *path, unsigned line, unsigned column)
{
        pf_oom(c, vx_profile_add_position(c->p, path, line, column));
}

/* The text of a scalar, or NULL after reporting that v is something else. */
const char *pf_scalar(struct pctx *c, const struct vx_ynode *v, const char *path, const char *what)
{
        if (v->type != VX_YNODE_SCALAR || vx_ynode_is_null(v)) {
                pf_error_at(c, v, path, NULL, "expected %s, got %s", what, vx_ynode_type_to_string(v));
                return NULL;
        }
        return v->value;
}

int pf_bool_text(const char *s, bool *ret)
{
        static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* Strict decimal: optional '-', digits, nothing else. */
static int parse_integer_text(const char *s, long long *ret)
{
        const char *d = s[0] == '-' ? s + 1 : s;
        long long v;
        char *end;

        if (d[0] < '0' || d[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (*end)
                return -EINVAL;
        if (errno == ERANGE)
                return -ERANGE;
        *ret = v;
        return 0;
}

/* "<digits>[ ]<unit>": the number and the unit (which may be empty). */
static int split_number_unit(const char *s, unsigned long long *ret_number, const char **ret_unit)
{
        unsigned long long v;
        char *end;

        if (s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end == '.' || *end == ',')
                return -EINVAL; /* fractions are not supported: "1536MiB", not "1.5GiB" */
        while (*end == ' ')
                end++;
        *ret_number = v;
        *ret_unit = end;
        return 0;
}

/*
 * Sizes are binary, as QEMU's -m: "K" and "KiB" are both 1024. Returns 0,
 * -EINVAL (not a size), -EBADMSG (unknown unit), -ENODATA (no unit: bytes)
 * with *ret set, or -ERANGE.
 */
int pf_size_text(const char *s, uint64_t *ret)
{
        static const struct {
                const char *unit;
                unsigned shift;
        } units[] = {
                {"B", 0},    {"K", 10}, {"k", 10},   {"KiB", 10}, {"M", 20},
                {"MiB", 20}, {"G", 30}, {"GiB", 30}, {"T", 40},   {"TiB", 40},
        };
        unsigned long long n;
        const char *unit;
        int r;

        r = split_number_unit(s, &n, &unit);
        if (r < 0)
                return r;
        if (!unit[0]) {
                *ret = n;
                return -ENODATA;
        }
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcmp(unit, units[i].unit) == 0) {
                        if (n > (UINT64_MAX >> units[i].shift))
                                return -ERANGE;
                        *ret = (uint64_t)n << units[i].shift;
                        return 0;
                }
        return -EBADMSG;
}

/* "500ms", "30s", "5m", "1h"; a plain number is seconds. In milliseconds. */
static int parse_duration_text(const char *s, uint64_t *ret_ms)
{
        static const struct {
                const char *unit;
                uint64_t ms;
        } units[] = {
                {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"min", 60 * 1000}, {"h", 3600 * 1000},
        };
        unsigned long long n;
        const char *unit;
        int r;

        r = split_number_unit(s, &n, &unit);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcmp(unit, units[i].unit) == 0) {
                        if (n > UINT64_MAX / units[i].ms)
                                return -ERANGE;
                        *ret_ms = n * units[i].ms;
                        return 0;
                }
        return -EBADMSG;
}

void pf_report_enum_error(struct pctx *c, const struct vx_ynode *v, const char *path, const struct vx_enum_name *names,
                          const char *extra)
{
        _cleanup_free_ char *list = NULL, *hint = NULL;
        const char *candidates[32];
        size_t n = 0, len = 0;
        FILE *f;

        f = open_memstream(&list, &len);
        if (!f) {
                pf_oom(c, -ENOMEM);
                return;
        }
        for (const struct vx_enum_name *e = names; e->name && n < ELEMENTSOF(candidates); e++) {
                fprintf(f, "%s%s", n ? ", " : "", e->name);
                candidates[n++] = e->name;
        }
        if (extra)
                fprintf(f, "%s", extra);
        if (fclose(f) != 0) {
                pf_oom(c, -ENOMEM);
                return;
        }
        pf_oom(c, vx_suggest(v->value, candidates, n, &hint));
        pf_error_at(c, v, path, hint, "%s is not one of: %s", DIAG_QUOTE(v->value), list);
}

int pf_lookup_enum(const struct vx_enum_name *names, const char *s)
{
        for (const struct vx_enum_name *e = names; e->name; e++)
                if (strcmp(e->name, s) == 0)
                        return e->value;
        return -1;
}

void pf_parse_value(struct pctx *c, const struct field *f, const struct vx_ynode *v, const char *path, void *ptr)
{
        const char *s;
        long long ll;
        uint64_t u64;
        bool b;
        int r;

        if (f->type == T_MAP) {
                pf_parse_fields(c, v, path, f->sub, f->n_sub, ptr);
                return;
        }
        if (f->type == T_CUSTOM) {
                f->custom(c, v, path, ptr);
                return;
        }

        switch (f->type) {
        case T_STRING:
                s = pf_scalar(c, v, path, "a string");
                if (!s)
                        return;
                if (!s[0]) {
                        pf_error_at(c, v, path, NULL, "must not be empty");
                        return;
                }
                free(*(char **)ptr);
                *(char **)ptr = pf_check(c, strdup(s));
                return;

        case T_BOOL:
                s = pf_scalar(c, v, path, "true or false");
                if (!s)
                        return;
                if (pf_bool_text(s, &b) < 0) {
                        pf_error_at(c, v, path, NULL, "expected true or false, got %s", DIAG_QUOTE(s));
                        return;
                }
                *(bool *)ptr = b;
                return;

        case T_UINT:
        case T_INT:
                s = pf_scalar(c, v, path, "an integer");
                if (!s)
                        return;
                r = parse_integer_text(s, &ll);
                if (r < 0 || ll < f->min || ll > f->max) {
                        pf_error_at(c, v, path, NULL, "expected an integer from %lld to %lld, got %s", f->min, f->max,
                                    DIAG_QUOTE(s));
                        return;
                }
                if (f->type == T_UINT)
                        *(unsigned *)ptr = (unsigned)ll;
                else
                        *(int *)ptr = (int)ll;
                return;

        case T_ENUM:
                s = pf_scalar(c, v, path, "a name");
                if (!s)
                        return;
                r = pf_lookup_enum(f->names, s);
                if (r < 0) {
                        pf_report_enum_error(c, v, path, f->names, NULL);
                        return;
                }
                *(int *)ptr = r;
                return;

        case T_TRISTATE:
                s = pf_scalar(c, v, path, "auto, on or off");
                if (!s)
                        return;
                if (pf_bool_text(s, &b) >= 0)
                        r = b ? VX_ON : VX_OFF;
                else
                        r = pf_lookup_enum(vx_tristate_names, s);
                if (r < 0) {
                        pf_error_at(c, v, path, NULL, "expected auto, on or off, got %s", DIAG_QUOTE(s));
                        return;
                }
                *(int *)ptr = r;
                return;

        case T_DURATION:
                s = pf_scalar(c, v, path, "a duration");
                if (!s)
                        return;
                r = parse_duration_text(s, &u64);
                if (r == -EBADMSG) {
                        pf_error_at(c, v, path, "units are ms, s, m and h; a plain number is seconds",
                                    "unknown unit in %s", DIAG_QUOTE(s));
                        return;
                }
                if (r < 0) {
                        pf_error_at(c, v, path, NULL, "expected a duration such as 30s, 500ms or 5m, got %s",
                                    DIAG_QUOTE(s));
                        return;
                }
                if (u64 % f->unit_ms != 0) {
                        pf_error_at(c, v, path, NULL, "must be a whole number of %s, got %s",
                                    f->unit_ms == 1000 ? "seconds" : "milliseconds", DIAG_QUOTE(s));
                        return;
                }
                u64 /= f->unit_ms;
                if (u64 < (uint64_t)f->min || u64 > (uint64_t)f->max) {
                        pf_error_at(c, v, path, NULL, "must be from %lld%s to %lld%s, got %s", f->min,
                                    f->unit_ms == 1000 ? "s" : "ms", f->max, f->unit_ms == 1000 ? "s" : "ms",
                                    DIAG_QUOTE(s));
                        return;
                }
                *(unsigned *)ptr = (unsigned)u64;
                return;

        default:
                assert(!"unreachable");
        }
}

static void report_unknown_key(struct pctx *c, const struct vx_ypair *pair, const char *path,
                               const struct field *fields, size_t n_fields)
{
        _cleanup_free_ char *hint = NULL;
        const char *candidates[64];
        size_t n = 0;

        for (size_t i = 0; i < n_fields && n < ELEMENTSOF(candidates); i++)
                candidates[n++] = fields[i].key;
        pf_oom(c, vx_suggest(pair->key, candidates, n, &hint));
        pf_error(c, pair->line, pair->column, path, hint, "unknown key %s", DIAG_QUOTE(pair->key));
}

/* A null value counts as an empty mapping: "vnc:" alone turns VNC on with defaults. */
void pf_parse_fields(struct pctx *c, const struct vx_ynode *v, const char *path, const struct field *fields,
                     size_t n_fields, void *obj)
{
        bool is_null = vx_ynode_is_null(v);

        if (!is_null && v->type != VX_YNODE_MAPPING) {
                pf_error_at(c, v, path, NULL, "expected a mapping, got %s", vx_ynode_type_to_string(v));
                return;
        }

        for (size_t i = 0; !is_null && i < v->n_pairs && c->r == 0; i++) {
                const struct vx_ypair *pair = &v->pairs[i];
                const struct field *f = NULL;
                _cleanup_free_ char *child = NULL;

                for (size_t j = 0; j < n_fields; j++)
                        if (strcmp(fields[j].key, pair->key) == 0) {
                                f = &fields[j];
                                break;
                        }
                child = pf_path_key(c, path, pair->key);
                if (!child)
                        return;
                if (!f) {
                        report_unknown_key(c, pair, child, fields, n_fields);
                        continue;
                }
                pf_add_position(c, child, pair->line, pair->column);
                pf_parse_value(c, f, pair->value, child, (char *)obj + f->offset);
        }

        for (size_t j = 0; j < n_fields && c->r == 0; j++) {
                _cleanup_free_ char *child = NULL;

                if (!fields[j].required || vx_ynode_pair(v, fields[j].key))
                        continue;
                child = pf_path_key(c, path, fields[j].key);
                if (child)
                        pf_error_at(c, v, child, NULL, "required key missing");
        }
}

/* The items of a list node; NULL (with *ret_n = 0) for a null value or after reporting another type. */
struct vx_ynode *const *pf_list_items(struct pctx *c, const struct vx_ynode *v, const char *path, size_t *ret_n)
{
        *ret_n = 0;
        if (vx_ynode_is_null(v))
                return NULL;
        if (v->type != VX_YNODE_SEQUENCE) {
                pf_error_at(c, v, path, NULL, "expected a list, got %s", vx_ynode_type_to_string(v));
                return NULL;
        }
        *ret_n = v->n_items;
        return v->items;
}

/* A list of scalars into a char ** and its count (two adjacent members, as in struct vx_cpu). */
void pf_parse_string_list(struct pctx *c, const struct vx_ynode *v, const char *path, char ***items, size_t *n_items)
{
        struct vx_ynode *const *nodes;
        size_t n;

        nodes = pf_list_items(c, v, path, &n);
        if (n == 0)
                return;
        *items = pf_check(c, calloc(n, sizeof(char *)));
        if (!*items)
                return;
        for (size_t i = 0; i < n && c->r == 0; i++) {
                _cleanup_free_ char *child = pf_path_index(c, path, i);
                const char *s;

                if (!child)
                        return;
                pf_add_position(c, child, nodes[i]->line, nodes[i]->column);
                s = pf_scalar(c, nodes[i], child, "a string");
                if (!s)
                        continue;
                (*items)[(*n_items)++] = pf_check(c, strdup(s));
        }
}

/*
 * A feature given as a mapping of its settings, or empty, or true/false: a
 * mapping or empty turns it on (and sets what it names), false leaves it off.
 */
void pf_parse_switch(struct pctx *c, const struct vx_ynode *v, const char *path, bool *enabled,
                     const struct field *fields, size_t n_fields, void *ptr)
{
        bool b;

        if (v->type == VX_YNODE_SCALAR && !vx_ynode_is_null(v)) {
                if (pf_bool_text(v->value, &b) < 0) {
                        pf_error_at(c, v, path, NULL, "expected a mapping or true/false, got %s", DIAG_QUOTE(v->value));
                        return;
                }
                *enabled = b;
                return;
        }
        *enabled = true;
        pf_parse_fields(c, v, path, fields, n_fields, ptr);
}

/*
 * A list of mappings into a new array of n elements of size elem_size. init
 * fills each element's defaults; parse_item (or fields) parses it.
 */
void *pf_parse_object_list(struct pctx *c, const struct vx_ynode *v, const char *path, size_t elem_size, size_t *ret_n,
                           void (*init)(void *elem),
                           void (*parse_item)(struct pctx *c, const struct vx_ynode *item, const char *path,
                                              void *elem))
{
        struct vx_ynode *const *nodes;
        char *array;
        size_t n;

        *ret_n = 0;
        nodes = pf_list_items(c, v, path, &n);
        if (n == 0)
                return NULL;
        array = pf_check(c, calloc(n, elem_size));
        if (!array)
                return NULL;
        for (size_t i = 0; i < n; i++)
                init(array + i * elem_size);
        *ret_n = n;
        for (size_t i = 0; i < n && c->r == 0; i++) {
                _cleanup_free_ char *child = pf_path_index(c, path, i);

                if (!child)
                        break;
                pf_add_position(c, child, nodes[i]->line, nodes[i]->column);
                parse_item(c, nodes[i], child, array + i * elem_size);
        }
        return array;
}

void pf_set_default_string(struct pctx *c, char **s, const char *value)
{
        if (!*s)
                *s = pf_check(c, strdup(value));
}