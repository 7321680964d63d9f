/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The YAML node tree (yaml.c) to the model. Driven by tables of fields, one
 * per mapping: each names its key, its type and where the value goes. Values
 * are checked for type, range and units here; rules that relate several
 * values are in validate.c. Every key's position is kept in p->positions.
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
#include "profile-internal.h"

struct pctx {
        struct vx_profile *p;
        struct vx_diags *diags;
        int r; /* sticky -ENOMEM */
};

static void pctx_oom(struct pctx *c, int r)
{
        if (r < 0 && c->r == 0)
                c->r = r;
}

static void *pctx_check(struct pctx *c, void *ptr)
{
        if (!ptr)
                pctx_oom(c, -ENOMEM);
        return ptr;
}

static void perr(struct pctx *c, unsigned line, unsigned column, const char *path, const char *hint,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void perr(struct pctx *c, unsigned line, unsigned column, const char *path, const char *hint,
                 const char *fmt, ...)
{
        _cleanup_free_ char *message = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&message, fmt, ap);
        va_end(ap);
        if (r < 0) {
                message = NULL;
                pctx_oom(c, -ENOMEM);
                return;
        }
        pctx_oom(c, diag_add(c->diags, VX_DIAG_ERROR, c->p->file, line, column, path, hint, "%s", message));
}

#define perr_at(c, node, path, hint, ...) perr((c), (node)->line, (node)->column, (path), (hint), __VA_ARGS__)

static char *path_key(struct pctx *c, const char *parent, const char *key)
{
        char *s;

        if (asprintf(&s, "%s%s%s", parent, parent[0] ? "." : "", key) < 0) {
                pctx_oom(c, -ENOMEM);
                return NULL;
        }
        return s;
}

static char *path_index(struct pctx *c, const char *parent, size_t i)
{
        char *s;

        if (asprintf(&s, "%s[%zu]", parent, i) < 0) {
                pctx_oom(c, -ENOMEM);
                return NULL;
        }
        return s;
}

static void add_position(struct pctx *c, const char *path, unsigned line, unsigned column)
{
        pctx_oom(c, vx_profile_add_position(c->p, path, line, column));
}

/* The text of a scalar, or NULL after reporting that v is something else. */
static const char *scalar(struct pctx *c, const struct vx_ynode *v, const char *path, const char *what)
{
        if (v->type != VX_YNODE_SCALAR || vx_ynode_is_null(v)) {
                perr_at(c, v, path, NULL, "expected %s, got %s", what, vx_ynode_type_to_string(v));
                return NULL;
        }
        return v->value;
}

static int parse_bool_text(const char *s, bool *ret)
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
static int parse_size_text(const char *s, uint64_t *ret)
{
        static const struct {
                const char *unit;
                unsigned shift;
        } units[] = {
                {"B", 0},   {"K", 10},   {"k", 10},  {"KiB", 10}, {"M", 20},  {"MiB", 20},
                {"G", 30},  {"GiB", 30}, {"T", 40},  {"TiB", 40},
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

static void report_enum_error(struct pctx *c, const struct vx_ynode *v, const char *path,
                              const struct vx_enum_name *names, const char *extra)
{
        _cleanup_free_ char *list = NULL, *hint = NULL;
        const char *candidates[32];
        size_t n = 0, len = 0;
        FILE *f;

        f = open_memstream(&list, &len);
        if (!f) {
                pctx_oom(c, -ENOMEM);
                return;
        }
        for (const struct vx_enum_name *e = names; e->name && n < ELEMENTSOF(candidates); e++) {
                fprintf(f, "%s%s", n ? ", " : "", e->name);
                candidates[n++] = e->name;
        }
        if (extra)
                fprintf(f, "%s", extra);
        if (fclose(f) != 0) {
                pctx_oom(c, -ENOMEM);
                return;
        }
        pctx_oom(c, vx_suggest(v->value, candidates, n, &hint));
        perr_at(c, v, path, hint, "%s is not one of: %s", DIAG_QUOTE(v->value), list);
}

static int lookup_enum(const struct vx_enum_name *names, const char *s)
{
        for (const struct vx_enum_name *e = names; e->name; e++)
                if (strcmp(e->name, s) == 0)
                        return e->value;
        return -1;
}

enum ftype {
        T_STRING,   /* char * */
        T_BOOL,     /* bool */
        T_UINT,     /* unsigned, min..max */
        T_INT,      /* int, min..max */
        T_ENUM,     /* an enum, names */
        T_TRISTATE, /* enum vx_tristate: auto/on/off or a boolean */
        T_DURATION, /* unsigned, in units of unit_ms milliseconds, min..max */
        T_MAP,      /* a nested mapping described by sub */
        T_CUSTOM,   /* custom() */
};

struct field;
typedef void (*custom_fn)(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr);

struct field {
        const char *key;
        enum ftype type;
        size_t offset;
        bool required;
        long long min, max;
        unsigned unit_ms;
        const struct vx_enum_name *names;
        custom_fn custom;
        const struct field *sub;
        size_t n_sub;
};

static void parse_fields(struct pctx *c, const struct vx_ynode *v, const char *path, const struct field *fields,
                         size_t n_fields, void *obj);

static void parse_value(struct pctx *c, const struct field *f, const struct vx_ynode *v, const char *path,
                        void *ptr)
{
        const char *s;
        long long ll;
        uint64_t u64;
        bool b;
        int r;

        if (f->type == T_MAP) {
                parse_fields(c, v, path, f->sub, f->n_sub, ptr);
                return;
        }
        if (f->type == T_CUSTOM) {
                f->custom(c, v, path, ptr);
                return;
        }

        switch (f->type) {
        case T_STRING:
                s = scalar(c, v, path, "a string");
                if (!s)
                        return;
                if (!s[0]) {
                        perr_at(c, v, path, NULL, "must not be empty");
                        return;
                }
                free(*(char **)ptr);
                *(char **)ptr = pctx_check(c, strdup(s));
                return;

        case T_BOOL:
                s = scalar(c, v, path, "true or false");
                if (!s)
                        return;
                if (parse_bool_text(s, &b) < 0) {
                        perr_at(c, v, path, NULL, "expected true or false, got %s", DIAG_QUOTE(s));
                        return;
                }
                *(bool *)ptr = b;
                return;

        case T_UINT:
        case T_INT:
                s = scalar(c, v, path, "an integer");
                if (!s)
                        return;
                r = parse_integer_text(s, &ll);
                if (r < 0 || ll < f->min || ll > f->max) {
                        perr_at(c, v, path, NULL, "expected an integer from %lld to %lld, got %s", f->min,
                                f->max, DIAG_QUOTE(s));
                        return;
                }
                if (f->type == T_UINT)
                        *(unsigned *)ptr = (unsigned)ll;
                else
                        *(int *)ptr = (int)ll;
                return;

        case T_ENUM:
                s = scalar(c, v, path, "a name");
                if (!s)
                        return;
                r = lookup_enum(f->names, s);
                if (r < 0) {
                        report_enum_error(c, v, path, f->names, NULL);
                        return;
                }
                *(int *)ptr = r;
                return;

        case T_TRISTATE:
                s = scalar(c, v, path, "auto, on or off");
                if (!s)
                        return;
                if (parse_bool_text(s, &b) >= 0)
                        r = b ? VX_ON : VX_OFF;
                else
                        r = lookup_enum(vx_tristate_names, s);
                if (r < 0) {
                        perr_at(c, v, path, NULL, "expected auto, on or off, got %s", DIAG_QUOTE(s));
                        return;
                }
                *(int *)ptr = r;
                return;

        case T_DURATION:
                s = scalar(c, v, path, "a duration");
                if (!s)
                        return;
                r = parse_duration_text(s, &u64);
                if (r == -EBADMSG) {
                        perr_at(c, v, path, "units are ms, s, m and h; a plain number is seconds",
                                "unknown unit in %s", DIAG_QUOTE(s));
                        return;
                }
                if (r < 0) {
                        perr_at(c, v, path, NULL, "expected a duration such as 30s, 500ms or 5m, got %s",
                                DIAG_QUOTE(s));
                        return;
                }
                if (u64 % f->unit_ms != 0) {
                        perr_at(c, v, path, NULL, "must be a whole number of %s, got %s",
                                f->unit_ms == 1000 ? "seconds" : "milliseconds", DIAG_QUOTE(s));
                        return;
                }
                u64 /= f->unit_ms;
                if (u64 < (uint64_t)f->min || u64 > (uint64_t)f->max) {
                        perr_at(c, v, path, NULL, "must be from %lld%s to %lld%s, got %s", f->min,
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
        pctx_oom(c, vx_suggest(pair->key, candidates, n, &hint));
        perr(c, pair->line, pair->column, path, hint, "unknown key %s", DIAG_QUOTE(pair->key));
}

/* A null value counts as an empty mapping: "vnc:" alone turns VNC on with defaults. */
static void parse_fields(struct pctx *c, const struct vx_ynode *v, const char *path, const struct field *fields,
                         size_t n_fields, void *obj)
{
        bool is_null = vx_ynode_is_null(v);

        if (!is_null && v->type != VX_YNODE_MAPPING) {
                perr_at(c, v, path, NULL, "expected a mapping, got %s", vx_ynode_type_to_string(v));
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
                child = path_key(c, path, pair->key);
                if (!child)
                        return;
                if (!f) {
                        report_unknown_key(c, pair, child, fields, n_fields);
                        continue;
                }
                add_position(c, child, pair->line, pair->column);
                parse_value(c, f, pair->value, child, (char *)obj + f->offset);
        }

        for (size_t j = 0; j < n_fields && c->r == 0; j++) {
                _cleanup_free_ char *child = NULL;

                if (!fields[j].required || vx_ynode_pair(v, fields[j].key))
                        continue;
                child = path_key(c, path, fields[j].key);
                if (child)
                        perr_at(c, v, child, NULL, "required key missing");
        }
}

/* The items of a list node; NULL (with *ret_n = 0) for a null value or after reporting another type. */
static struct vx_ynode *const *list_items(struct pctx *c, const struct vx_ynode *v, const char *path,
                                         size_t *ret_n)
{
        *ret_n = 0;
        if (vx_ynode_is_null(v))
                return NULL;
        if (v->type != VX_YNODE_SEQUENCE) {
                perr_at(c, v, path, NULL, "expected a list, got %s", vx_ynode_type_to_string(v));
                return NULL;
        }
        *ret_n = v->n_items;
        return v->items;
}

/* A list of scalars into a char ** and its count (two adjacent members, as in struct vx_cpu). */
static void parse_string_list(struct pctx *c, const struct vx_ynode *v, const char *path, char ***items,
                              size_t *n_items)
{
        struct vx_ynode *const *nodes;
        size_t n;

        nodes = list_items(c, v, path, &n);
        if (n == 0)
                return;
        *items = pctx_check(c, calloc(n, sizeof(char *)));
        if (!*items)
                return;
        for (size_t i = 0; i < n && c->r == 0; i++) {
                _cleanup_free_ char *child = path_index(c, path, i);
                const char *s;

                if (!child)
                        return;
                add_position(c, child, nodes[i]->line, nodes[i]->column);
                s = scalar(c, nodes[i], child, "a string");
                if (!s)
                        continue;
                (*items)[(*n_items)++] = pctx_check(c, strdup(s));
        }
}

/* --- custom values --- */

static void parse_features(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_cpu *cpu = ptr;

        parse_string_list(c, v, path, &cpu->features, &cpu->n_features);
}

static void parse_extra_args(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_vm *vm = ptr;

        parse_string_list(c, v, path, &vm->extra_args, &vm->n_extra_args);
}

static const struct field cpu_fields[] = {
        {.key = "model", .type = T_STRING, .offset = offsetof(struct vx_cpu, model)},
        {.key = "features", .type = T_CUSTOM, .offset = 0, .custom = parse_features},
};

/* cpu: a model name, or {model, features}. */
static void parse_cpu(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_cpu *cpu = ptr;

        if (v->type == VX_YNODE_SCALAR && !vx_ynode_is_null(v)) {
                parse_value(c, &cpu_fields[0], v, path, &cpu->model);
                return;
        }
        parse_fields(c, v, path, cpu_fields, ELEMENTSOF(cpu_fields), cpu);
}

static void parse_accel_fallback(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        const char *s = scalar(c, v, path, "'tcg' or 'none'");

        if (!s)
                return;
        if (strcmp(s, "tcg") == 0)
                *(bool *)ptr = true;
        else if (strcmp(s, "none") == 0)
                *(bool *)ptr = false;
        else
                perr_at(c, v, path, NULL, "expected 'tcg' or 'none', got %s", DIAG_QUOTE(s));
}

static void parse_memory_size(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        const char *s = scalar(c, v, path, "a size such as 2048MiB or 16GiB");
        uint64_t size;
        int r;

        if (!s)
                return;
        r = parse_size_text(s, &size);
        if (r == -ENODATA)
                perr_at(c, v, path, "add a unit, e.g. 2048MiB", "%s has no unit and is ambiguous",
                        DIAG_QUOTE(s));
        else if (r == -EBADMSG)
                perr_at(c, v, path, "units are B, K/KiB, M/MiB, G/GiB and T/TiB, all powers of 1024",
                        "unknown unit in %s", DIAG_QUOTE(s));
        else if (r == -ERANGE)
                perr_at(c, v, path, NULL, "%s is too large", DIAG_QUOTE(s));
        else if (r < 0)
                perr_at(c, v, path, NULL, "expected a size such as 2048MiB or 16GiB, got %s", DIAG_QUOTE(s));
        else if (size < 1024 * 1024)
                perr_at(c, v, path, NULL, "%s is less than 1MiB", DIAG_QUOTE(s));
        else if (size > VX_MEMORY_MAX)
                perr_at(c, v, path, NULL,
                        "%s is more than 4096TiB (4 PiB, 2^52 bytes), all that an x86_64 guest can address",
                        DIAG_QUOTE(s));
        else
                *(uint64_t *)ptr = size;
}

static void parse_page_size(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        const char *s = scalar(c, v, path, "2M or 1G");
        uint64_t size = 0;

        if (!s)
                return;
        if (parse_size_text(s, &size) != 0 || (size != 2ULL << 20 && size != 1ULL << 30)) {
                perr_at(c, v, path, NULL, "expected 2M (2MiB) or 1G (1GiB), got %s", DIAG_QUOTE(s));
                return;
        }
        *(uint64_t *)ptr = size;
}

static const struct field hugepages_fields[] = {
        {.key = "page-size", .type = T_CUSTOM, .offset = offsetof(struct vx_memory, page_size),
         .custom = parse_page_size},
        {.key = "path", .type = T_STRING, .offset = offsetof(struct vx_memory, path)},
        {.key = "node", .type = T_INT, .offset = offsetof(struct vx_memory, node), .min = 0, .max = 1023},
        {.key = "policy", .type = T_ENUM, .offset = offsetof(struct vx_memory, policy),
         .names = vx_mem_policy_names},
        {.key = "prealloc", .type = T_BOOL, .offset = offsetof(struct vx_memory, prealloc)},
};

/*
 * A feature given as a mapping of its settings, or empty, or true/false: a
 * mapping or empty turns it on (and sets what it names), false leaves it off.
 */
static void parse_switch(struct pctx *c, const struct vx_ynode *v, const char *path, bool *enabled,
                         const struct field *fields, size_t n_fields, void *ptr)
{
        bool b;

        if (v->type == VX_YNODE_SCALAR && !vx_ynode_is_null(v)) {
                if (parse_bool_text(v->value, &b) < 0) {
                        perr_at(c, v, path, NULL, "expected a mapping or true/false, got %s",
                                DIAG_QUOTE(v->value));
                        return;
                }
                *enabled = b;
                return;
        }
        *enabled = true;
        parse_fields(c, v, path, fields, n_fields, ptr);
}

static void parse_hugepages(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_memory *m = ptr;

        parse_switch(c, v, path, &m->hugepages, hugepages_fields, ELEMENTSOF(hugepages_fields), m);
}

static const struct field memory_fields[] = {
        {.key = "size", .type = T_CUSTOM, .offset = offsetof(struct vx_memory, size), .required = true,
         .custom = parse_memory_size},
        {.key = "hugepages", .type = T_CUSTOM, .offset = 0, .custom = parse_hugepages},
        {.key = "merge", .type = T_BOOL, .offset = offsetof(struct vx_memory, merge)},
        {.key = "lock", .type = T_BOOL, .offset = offsetof(struct vx_memory, lock)},
};

/* A CPU list: "0-3,8" or a plain number. */
static bool parse_cpuset_node(struct pctx *c, const struct vx_ynode *v, const char *path, struct vx_cpuset *ret)
{
        const char *s = scalar(c, v, path, "a CPU list such as \"0-3,8\"");
        int r;

        if (!s)
                return false;
        r = vx_cpuset_parse(s, ret);
        if (r == -ERANGE)
                perr_at(c, v, path, NULL, "CPU number in %s too large (the limit is %d)", DIAG_QUOTE(s),
                        VX_CPUSET_MAX - 1);
        else if (r < 0)
                perr_at(c, v, path, NULL, "expected a CPU list such as \"0-3,8\", got %s", DIAG_QUOTE(s));
        return r >= 0;
}

static void parse_pin_vcpus(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_pinning *pin = ptr;
        struct vx_ynode *const *nodes;
        size_t n;

        nodes = list_items(c, v, path, &n);
        if (v->type != VX_YNODE_SEQUENCE)
                return;
        if (n == 0) {
                perr_at(c, v, path, "leave pinning.vcpus out to not pin vCPUs", "the list is empty");
                return;
        }
        pin->vcpus = pctx_check(c, calloc(n, sizeof(struct vx_cpuset)));
        if (!pin->vcpus)
                return;
        pin->n_vcpus = n;
        for (size_t i = 0; i < n && c->r == 0; i++) {
                _cleanup_free_ char *child = path_index(c, path, i);

                if (!child)
                        return;
                add_position(c, child, nodes[i]->line, nodes[i]->column);
                parse_cpuset_node(c, nodes[i], child, &pin->vcpus[i]);
        }
}

static void parse_pin_emulator(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_pinning *pin = ptr;

        if (parse_cpuset_node(c, v, path, &pin->emulator))
                pin->has_emulator = true;
}

static const struct field pinning_fields[] = {
        {.key = "vcpus", .type = T_CUSTOM, .offset = 0, .custom = parse_pin_vcpus},
        {.key = "emulator", .type = T_CUSTOM, .offset = 0, .custom = parse_pin_emulator},
};

static const struct field topology_fields[] = {
        {.key = "sockets", .type = T_UINT, .offset = offsetof(struct vx_topology, sockets), .min = 1, .max = 1024},
        {.key = "dies", .type = T_UINT, .offset = offsetof(struct vx_topology, dies), .min = 1, .max = 1024},
        {.key = "cores", .type = T_UINT, .offset = offsetof(struct vx_topology, cores), .min = 1, .max = 1024},
        {.key = "threads", .type = T_UINT, .offset = offsetof(struct vx_topology, threads), .min = 1, .max = 1024},
};

static const struct field disk_fields[] = {
        {.key = "file", .type = T_STRING, .offset = offsetof(struct vx_disk, file), .required = true},
        {.key = "format", .type = T_ENUM, .offset = offsetof(struct vx_disk, format), .names = vx_disk_format_names},
        {.key = "bus", .type = T_ENUM, .offset = offsetof(struct vx_disk, bus), .names = vx_disk_bus_names},
        {.key = "cache", .type = T_ENUM, .offset = offsetof(struct vx_disk, cache), .names = vx_disk_cache_names},
        {.key = "readonly", .type = T_BOOL, .offset = offsetof(struct vx_disk, readonly)},
        {.key = "boot-order", .type = T_UINT, .offset = offsetof(struct vx_disk, boot_order), .min = 1, .max = 1000},
};

/* pci-slot: 3 or "0x3"; slot 0 is always the host bridge. */
static void parse_pci_slot(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        const char *s = scalar(c, v, path, "a PCI slot number");
        unsigned long slot;
        char *end;

        if (!s)
                return;
        errno = 0;
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s[2])
                slot = strtoul(s + 2, &end, 16);
        else if (s[0] >= '0' && s[0] <= '9')
                slot = strtoul(s, &end, 10);
        else
                end = (char *)s;
        if (*end || end == s || errno != 0 || slot < 1 || slot > 31) {
                perr_at(c, v, path, NULL, "expected a PCI slot from 1 to 31 (or 0x1 to 0x1f), got %s",
                        DIAG_QUOTE(s));
                return;
        }
        *(int *)ptr = (int)slot;
}

static const struct field nic_fields[] = {
        {.key = "type", .type = T_ENUM, .offset = offsetof(struct vx_nic, type), .required = true,
         .names = vx_nic_type_names},
        {.key = "mac", .type = T_STRING, .offset = offsetof(struct vx_nic, mac)},
        {.key = "model", .type = T_ENUM, .offset = offsetof(struct vx_nic, model), .names = vx_nic_model_names},
        {.key = "pci-slot", .type = T_CUSTOM, .offset = offsetof(struct vx_nic, pci_slot), .custom = parse_pci_slot},
        {.key = "bridge", .type = T_STRING, .offset = offsetof(struct vx_nic, bridge)},
        {.key = "tap", .type = T_STRING, .offset = offsetof(struct vx_nic, tap)},
        {.key = "vhost", .type = T_TRISTATE, .offset = offsetof(struct vx_nic, vhost)},
        {.key = "queues", .type = T_UINT, .offset = offsetof(struct vx_nic, queues), .min = 1, .max = 256},
        {.key = "mtu", .type = T_UINT, .offset = offsetof(struct vx_nic, mtu), .min = 68, .max = 65535},
        {.key = "pf", .type = T_STRING, .offset = offsetof(struct vx_nic, pf)},
        {.key = "vf", .type = T_INT, .offset = offsetof(struct vx_nic, vf), .min = 0, .max = 4095},
        {.key = "vlan", .type = T_INT, .offset = offsetof(struct vx_nic, vlan), .min = 1, .max = 4094},
        {.key = "rate", .type = T_INT, .offset = offsetof(struct vx_nic, rate_mbps), .min = 0, .max = 10000000},
        {.key = "spoofchk", .type = T_TRISTATE, .offset = offsetof(struct vx_nic, spoofchk)},
        {.key = "trust", .type = T_TRISTATE, .offset = offsetof(struct vx_nic, trust)},
        {.key = "host", .type = T_STRING, .offset = offsetof(struct vx_nic, host)},
};

/* Which NIC types each type-specific key applies to. */
static const struct {
        const char *key;
        unsigned types; /* 1 << enum vx_nic_type */
} nic_key_types[] = {
        {"mac", 1u << VX_NIC_TAP | 1u << VX_NIC_VF},
        {"model", 1u << VX_NIC_TAP},
        {"bridge", 1u << VX_NIC_TAP},
        {"tap", 1u << VX_NIC_TAP},
        {"vhost", 1u << VX_NIC_TAP},
        {"queues", 1u << VX_NIC_TAP},
        {"mtu", 1u << VX_NIC_TAP},
        {"pf", 1u << VX_NIC_VF},
        {"vf", 1u << VX_NIC_VF},
        {"vlan", 1u << VX_NIC_VF},
        {"rate", 1u << VX_NIC_VF},
        {"spoofchk", 1u << VX_NIC_VF},
        {"trust", 1u << VX_NIC_VF},
        {"host", 1u << VX_NIC_HOSTDEV},
};

static void check_nic_keys(struct pctx *c, const struct vx_ynode *v, const char *path, const struct vx_nic *nic)
{
        const struct vx_ypair *type = vx_ynode_pair(v, "type");

        /* Without a valid type there is nothing to compare with; that was reported already. */
        if (!type || lookup_enum(vx_nic_type_names, type->value->value ?: "") < 0)
                return;

        for (size_t i = 0; i < v->n_pairs; i++)
                for (size_t j = 0; j < ELEMENTSOF(nic_key_types); j++) {
                        _cleanup_free_ char *child = NULL;

                        if (strcmp(v->pairs[i].key, nic_key_types[j].key) != 0 ||
                            (nic_key_types[j].types & (1u << nic->type)))
                                continue;
                        child = path_key(c, path, v->pairs[i].key);
                        if (!child)
                                return;
                        perr(c, v->pairs[i].line, v->pairs[i].column, child, NULL,
                             "does not apply to a NIC of type %s", vx_nic_type_to_string(nic->type));
                }
}

static const struct field serial_fields[] = {
        {.key = "type", .type = T_ENUM, .offset = offsetof(struct vx_serial, type), .required = true,
         .names = vx_serial_type_names},
        {.key = "host", .type = T_STRING, .offset = offsetof(struct vx_serial, host)},
        {.key = "port", .type = T_UINT, .offset = offsetof(struct vx_serial, port), .min = 1, .max = 65535},
        {.key = "path", .type = T_STRING, .offset = offsetof(struct vx_serial, path)},
};

/* serial: "none" or a mapping. */
static void parse_serial(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_serial *serial = ptr;
        const struct vx_ypair *type;

        if (v->type == VX_YNODE_SCALAR && v->plain && strcmp(v->value, "none") == 0) {
                serial->type = VX_SERIAL_NONE;
                return;
        }
        if (v->type != VX_YNODE_MAPPING) {
                perr_at(c, v, path, NULL, "expected a mapping or 'none', got %s", vx_ynode_type_to_string(v));
                return;
        }
        parse_fields(c, v, path, serial_fields, ELEMENTSOF(serial_fields), serial);

        /* Keys that make no sense for the type are mistakes, not something to ignore. */
        type = vx_ynode_pair(v, "type");
        if (!type || lookup_enum(vx_serial_type_names, type->value->value ?: "") < 0)
                return;
        for (size_t i = 0; i < v->n_pairs; i++) {
                const struct vx_ypair *pp = &v->pairs[i];
                bool tcp = serial->type == VX_SERIAL_TELNET || serial->type == VX_SERIAL_TCP;
                bool misplaced = ((strcmp(pp->key, "host") == 0 || strcmp(pp->key, "port") == 0) && !tcp) ||
                                 (strcmp(pp->key, "path") == 0 && serial->type != VX_SERIAL_UNIX);
                _cleanup_free_ char *child = NULL;

                if (!misplaced)
                        continue;
                child = path_key(c, path, pp->key);
                if (child)
                        perr(c, pp->line, pp->column, child, NULL, "does not apply to a serial of type %s",
                             vx_serial_type_to_string(serial->type));
        }
}

static const struct field vnc_fields[] = {
        {.key = "listen", .type = T_STRING, .offset = offsetof(struct vx_vnc, listen)},
        {.key = "display", .type = T_INT, .offset = offsetof(struct vx_vnc, display), .min = 0, .max = 65535 - 5900},
};

static void parse_vnc(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_vnc *vnc = ptr;

        parse_switch(c, v, path, &vnc->enabled, vnc_fields, ELEMENTSOF(vnc_fields), vnc);
}

static void parse_video(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        static const struct vx_enum_name names[] = {
                {"none", 0}, {"std", 1}, {"cirrus", 2}, {"virtio", 3}, {},
        };
        const char *s = scalar(c, v, path, "a video adapter");

        if (!s)
                return;
        if (lookup_enum(names, s) < 0) {
                report_enum_error(c, v, path, names, NULL);
                return;
        }
        *(char **)ptr = pctx_check(c, strdup(s));
}

/* An smbios item: "type" and any number of string fields, kept in file order. */
static void parse_smbios_item(struct pctx *c, const struct vx_ynode *v, const char *path, struct vx_smbios *sm)
{
        static const struct field type_field = {
                .key = "type", .type = T_UINT, .min = 0, .max = 127,
        };

        if (v->type != VX_YNODE_MAPPING) {
                perr_at(c, v, path, NULL, "expected a mapping with 'type' and fields, got %s",
                        vx_ynode_type_to_string(v));
                return;
        }
        sm->entries = pctx_check(c, calloc(v->n_pairs ?: 1, sizeof(struct vx_smbios_entry)));
        if (!sm->entries)
                return;
        for (size_t i = 0; i < v->n_pairs && c->r == 0; i++) {
                const struct vx_ypair *pair = &v->pairs[i];
                _cleanup_free_ char *child = path_key(c, path, pair->key);
                const char *s;

                if (!child)
                        return;
                add_position(c, child, pair->line, pair->column);
                if (strcmp(pair->key, "type") == 0) {
                        parse_value(c, &type_field, pair->value, child, &sm->type);
                        continue;
                }
                s = scalar(c, pair->value, child, "a string");
                if (!s)
                        continue;
                sm->entries[sm->n_entries].key = pctx_check(c, strdup(pair->key));
                sm->entries[sm->n_entries].value = pctx_check(c, strdup(s));
                sm->n_entries++;
        }
        if (!vx_ynode_pair(v, "type")) {
                _cleanup_free_ char *child = path_key(c, path, "type");

                if (child)
                        perr_at(c, v, child, NULL, "required key missing");
        }
}

static void parse_smbios(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_vm *vm = ptr;
        struct vx_ynode *const *nodes;
        size_t n;

        nodes = list_items(c, v, path, &n);
        if (n == 0)
                return;
        vm->smbios = pctx_check(c, calloc(n, sizeof(struct vx_smbios)));
        if (!vm->smbios)
                return;
        vm->n_smbios = n;
        for (size_t i = 0; i < n && c->r == 0; i++) {
                _cleanup_free_ char *child = path_index(c, path, i);

                if (!child)
                        return;
                add_position(c, child, nodes[i]->line, nodes[i]->column);
                parse_smbios_item(c, nodes[i], child, &vm->smbios[i]);
        }
}

static const struct field boot_fields[] = {
        {.key = "kernel", .type = T_STRING, .offset = offsetof(struct vx_boot, kernel)},
        {.key = "initrd", .type = T_STRING, .offset = offsetof(struct vx_boot, initrd)},
        {.key = "cmdline", .type = T_STRING, .offset = offsetof(struct vx_boot, cmdline)},
};

static const struct field restart_fields[] = {
        {.key = "policy", .type = T_ENUM, .offset = offsetof(struct vx_restart, policy),
         .names = vx_restart_policy_names},
        {.key = "max", .type = T_UINT, .offset = offsetof(struct vx_restart, max_restarts), .min = 0, .max = 10000},
        {.key = "window", .type = T_DURATION, .offset = offsetof(struct vx_restart, window_s), .unit_ms = 1000,
         .min = 1, .max = 7 * 24 * 3600},
        {.key = "backoff", .type = T_DURATION, .offset = offsetof(struct vx_restart, backoff_ms), .unit_ms = 1,
         .min = 0, .max = 3600 * 1000},
};

static const struct field ready_fields[] = {
        {.key = "console", .type = T_STRING, .offset = offsetof(struct vx_ready, console_pattern)},
        {.key = "qmp-status", .type = T_STRING, .offset = offsetof(struct vx_ready, qmp_status)},
        {.key = "timeout", .type = T_DURATION, .offset = offsetof(struct vx_ready, timeout_s), .unit_ms = 1000,
         .min = 1, .max = 24 * 3600},
};

#define MAP(k, stype, member, table)                                                                          \
        {.key = k, .type = T_MAP, .offset = offsetof(stype, member), .sub = table, .n_sub = ELEMENTSOF(table)}

static void parse_disks(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr);
static void parse_nics(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr);

static const struct field vm_fields[] = {
        {.key = "name", .type = T_STRING, .offset = offsetof(struct vx_vm, name), .required = true},
        {.key = "qemu", .type = T_STRING, .offset = offsetof(struct vx_vm, qemu)},
        {.key = "machine", .type = T_STRING, .offset = offsetof(struct vx_vm, machine)},
        {.key = "accel", .type = T_ENUM, .offset = offsetof(struct vx_vm, accel), .names = vx_accel_names},
        {.key = "accel-fallback", .type = T_CUSTOM, .offset = offsetof(struct vx_vm, tcg_fallback),
         .custom = parse_accel_fallback},
        {.key = "uuid", .type = T_STRING, .offset = offsetof(struct vx_vm, uuid)},
        {.key = "cpu", .type = T_CUSTOM, .offset = offsetof(struct vx_vm, cpu), .custom = parse_cpu},
        {.key = "vcpus", .type = T_UINT, .offset = offsetof(struct vx_vm, vcpus), .min = 1, .max = 1024},
        MAP("topology", struct vx_vm, topology, topology_fields),
        {.key = "memory", .type = T_MAP, .offset = offsetof(struct vx_vm, memory), .required = true,
         .sub = memory_fields, .n_sub = ELEMENTSOF(memory_fields)},
        MAP("pinning", struct vx_vm, pinning, pinning_fields),
        {.key = "disks", .type = T_CUSTOM, .offset = 0, .custom = parse_disks},
        {.key = "nics", .type = T_CUSTOM, .offset = 0, .custom = parse_nics},
        {.key = "serial", .type = T_CUSTOM, .offset = offsetof(struct vx_vm, serial), .custom = parse_serial},
        {.key = "vnc", .type = T_CUSTOM, .offset = offsetof(struct vx_vm, vnc), .custom = parse_vnc},
        {.key = "video", .type = T_CUSTOM, .offset = offsetof(struct vx_vm, video), .custom = parse_video},
        {.key = "balloon", .type = T_BOOL, .offset = offsetof(struct vx_vm, balloon)},
        {.key = "smbios", .type = T_CUSTOM, .offset = 0, .custom = parse_smbios},
        MAP("boot", struct vx_vm, boot, boot_fields),
        MAP("restart", struct vx_vm, restart, restart_fields),
        MAP("ready", struct vx_vm, ready, ready_fields),
        {.key = "extra-args", .type = T_CUSTOM, .offset = 0, .custom = parse_extra_args},
};

static const struct field bridge_fields[] = {
        {.key = "name", .type = T_STRING, .offset = offsetof(struct vx_bridge, name), .required = true},
        {.key = "stp", .type = T_BOOL, .offset = offsetof(struct vx_bridge, stp)},
        {.key = "forward-delay", .type = T_INT, .offset = offsetof(struct vx_bridge, forward_delay), .min = 0,
         .max = 30},
        {.key = "mtu", .type = T_UINT, .offset = offsetof(struct vx_bridge, mtu), .min = 68, .max = 65535},
        {.key = "uplink", .type = T_STRING, .offset = offsetof(struct vx_bridge, uplink)},
        {.key = "move-host-address", .type = T_BOOL, .offset = offsetof(struct vx_bridge, move_host_address)},
};

static const struct field host_fields[] = {
        {.key = "runtime-dir", .type = T_STRING, .offset = offsetof(struct vx_host, runtime_dir)},
};

static void parse_bridges(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr);
static void parse_vms(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr);

static const struct field profile_fields[] = {
        {.key = "name", .type = T_STRING, .offset = offsetof(struct vx_profile, name), .required = true},
        MAP("host", struct vx_profile, host, host_fields),
        {.key = "bridges", .type = T_CUSTOM, .offset = 0, .custom = parse_bridges},
        {.key = "vms", .type = T_CUSTOM, .offset = 0, .custom = parse_vms, .required = true},
};

/*
 * A list of mappings into a new array of n elements of size elem_size. init
 * fills each element's defaults; parse_item (or fields) parses it.
 */
static void *parse_object_list(struct pctx *c, const struct vx_ynode *v, const char *path, size_t elem_size,
                               size_t *ret_n, void (*init)(void *elem),
                               void (*parse_item)(struct pctx *c, const struct vx_ynode *item, const char *path,
                                                  void *elem))
{
        struct vx_ynode *const *nodes;
        char *array;
        size_t n;

        *ret_n = 0;
        nodes = list_items(c, v, path, &n);
        if (n == 0)
                return NULL;
        array = pctx_check(c, calloc(n, elem_size));
        if (!array)
                return NULL;
        for (size_t i = 0; i < n; i++)
                init(array + i * elem_size);
        *ret_n = n;
        for (size_t i = 0; i < n && c->r == 0; i++) {
                _cleanup_free_ char *child = path_index(c, path, i);

                if (!child)
                        break;
                add_position(c, child, nodes[i]->line, nodes[i]->column);
                parse_item(c, nodes[i], child, array + i * elem_size);
        }
        return array;
}

static void disk_init(void *elem)
{
        struct vx_disk *d = elem;

        d->format = VX_DISK_FORMAT_QCOW2;
        d->bus = VX_DISK_BUS_VIRTIO;
        d->cache = VX_DISK_CACHE_NONE;
}

static void disk_parse(struct pctx *c, const struct vx_ynode *item, const char *path, void *elem)
{
        parse_fields(c, item, path, disk_fields, ELEMENTSOF(disk_fields), elem);
}

static void parse_disks(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_vm *vm = ptr;

        vm->disks = parse_object_list(c, v, path, sizeof(struct vx_disk), &vm->n_disks, disk_init, disk_parse);
}

static void nic_init(void *elem)
{
        struct vx_nic *n = elem;

        n->model = VX_NIC_MODEL_VIRTIO;
        n->pci_slot = -1;
        n->vhost = VX_AUTO;
        n->queues = 1;
        n->vf = -1;
        n->vlan = -1;
        n->rate_mbps = -1;
        n->spoofchk = VX_AUTO;
        n->trust = VX_AUTO;
}

static void nic_parse(struct pctx *c, const struct vx_ynode *item, const char *path, void *elem)
{
        parse_fields(c, item, path, nic_fields, ELEMENTSOF(nic_fields), elem);
        if (item->type == VX_YNODE_MAPPING)
                check_nic_keys(c, item, path, elem);
}

static void parse_nics(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_vm *vm = ptr;

        vm->nics = parse_object_list(c, v, path, sizeof(struct vx_nic), &vm->n_nics, nic_init, nic_parse);
}

static void bridge_init(void *elem)
{
        struct vx_bridge *b = elem;

        b->forward_delay = -1;
}

static void bridge_parse(struct pctx *c, const struct vx_ynode *item, const char *path, void *elem)
{
        parse_fields(c, item, path, bridge_fields, ELEMENTSOF(bridge_fields), elem);
}

static void parse_bridges(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_profile *p = ptr;

        p->bridges = parse_object_list(c, v, path, sizeof(struct vx_bridge), &p->n_bridges, bridge_init,
                                       bridge_parse);
}

static void vm_init(void *elem)
{
        struct vx_vm *vm = elem;

        vm->accel = VX_ACCEL_KVM;
        vm->vcpus = 1;
        vm->topology = (struct vx_topology){.sockets = 1, .dies = 1, .cores = 0, .threads = 1};
        vm->memory.page_size = 2ULL << 20;
        vm->memory.node = -1;
        vm->memory.policy = VX_MEM_POLICY_BIND;
        vm->memory.prealloc = true;
        vm->memory.merge = true;
        vm->vnc.display = 0;
        vm->restart = (struct vx_restart){
                .policy = VX_RESTART_ON_CRASH,
                .max_restarts = 5,
                .window_s = 300,
                .backoff_ms = 1000,
        };
        vm->ready.timeout_s = 300;
}

static void set_default_string(struct pctx *c, char **s, const char *value)
{
        if (!*s)
                *s = pctx_check(c, strdup(value));
}

/* Defaults that depend on other values, or on whether a key was given at all. */
static void vm_fill_defaults(struct pctx *c, const struct vx_ynode *item, struct vx_vm *vm)
{
        const struct vx_ypair *topology = vx_ynode_pair(item, "topology");
        struct vx_topology *t = &vm->topology;

        set_default_string(c, &vm->qemu, "/usr/bin/qemu-system-x86_64");
        set_default_string(c, &vm->machine, "pc");
        set_default_string(c, &vm->cpu.model, "max");
        set_default_string(c, &vm->video, vm->vnc.enabled ? "std" : "none");
        if (vm->vnc.enabled)
                set_default_string(c, &vm->vnc.listen, "127.0.0.1");
        if (vm->serial.type == VX_SERIAL_TELNET || vm->serial.type == VX_SERIAL_TCP)
                set_default_string(c, &vm->serial.host, "127.0.0.1");

        /* vcpus left out: the topology says how many; cores left out: vcpus does. */
        if (!vx_ynode_pair(item, "vcpus") && topology) {
                if (t->cores == 0)
                        t->cores = 1;
                vm->vcpus = t->sockets * t->dies * t->cores * t->threads;
        } else if (t->cores == 0) {
                unsigned rest = t->sockets * t->dies * t->threads;

                /* Not a multiple: cores stays 0, and validation says why. */
                if (rest > 0 && vm->vcpus % rest == 0)
                        t->cores = vm->vcpus / rest;
        }
}

static void vm_parse(struct pctx *c, const struct vx_ynode *item, const char *path, void *elem)
{
        parse_fields(c, item, path, vm_fields, ELEMENTSOF(vm_fields), elem);
        vm_fill_defaults(c, item, elem);
}

static void parse_vms(struct pctx *c, const struct vx_ynode *v, const char *path, void *ptr)
{
        struct vx_profile *p = ptr;

        p->vms = parse_object_list(c, v, path, sizeof(struct vx_vm), &p->n_vms, vm_init, vm_parse);
        if (p->n_vms == 0 && c->r == 0 && (vx_ynode_is_null(v) || v->type == VX_YNODE_SEQUENCE))
                perr_at(c, v, path, NULL, "a deployment needs at least one VM");
}

int vx_profile_from_tree(struct vx_profile *p, const struct vx_ynode *root, struct vx_diags *diags)
{
        struct pctx c = {
                .p = p,
                .diags = diags,
        };

        assert(p);
        assert(root);

        if (root->type != VX_YNODE_MAPPING) {
                perr_at(&c, root, "", NULL, "expected a mapping with name, bridges and vms at the top, got %s",
                        vx_ynode_type_to_string(root));
                return c.r;
        }
        parse_fields(&c, root, "", profile_fields, ELEMENTSOF(profile_fields), p);
        set_default_string(&c, &p->host.runtime_dir, VX_DEFAULT_RUNTIME_DIR);
        return c.r;
}
