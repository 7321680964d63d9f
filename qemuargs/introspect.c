/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Turns what a QEMU binary says about itself (its -help, `-device help`,
 * `-machine help`, `-cpu help` texts and QMP introspection replies) into the
 * knowledge data format (docs/explain.md "Generated knowledge"). Pure: QMP
 * goes through the caller's function, so tests feed canned replies and
 * qemuargs/live.c a real QEMU.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "qemuargs-internal.h"
#include "qemuargs.h"

struct lines {
        char **v;
        size_t n, cap;
};

static void lines_done(struct lines *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
}

/* Tabs and newlines are the format's separators; QEMU's texts lose them. */
static char *clean(const char *s)
{
        char *c = strdup(s ? s : "");

        for (char *p = c; p && *p; p++)
                if (*p == '\t' || *p == '\n' || *p == '\r')
                        *p = ' ';
        return c;
}

/* Appends "F1\tF2\t...": fields are cleaned; NULL ends the list. */
static int emit(struct lines *l, const char *first, ...)
{
        va_list ap;
        size_t len = 0;
        char *line = NULL;
        FILE *f = open_memstream(&line, &len);

        if (!f)
                return -ENOMEM;
        va_start(ap, first);
        for (const char *s = first; s; s = va_arg(ap, const char *)) {
                _cleanup_free_ char *c = clean(s);
                if (!c) {
                        va_end(ap);
                        fclose(f);
                        free(line);
                        return -ENOMEM;
                }
                fprintf(f, "%s%s", s == first ? "" : "\t", c);
        }
        va_end(ap);
        if (fclose(f) != 0 || !line) {
                free(line);
                return -ENOMEM;
        }
        /* Trailing empty fields say nothing. */
        while (len > 0 && line[len - 1] == '\t')
                line[--len] = '\0';
        if (l->n == l->cap) {
                size_t c = l->cap ? l->cap * 2 : 1024;
                char **v = realloc(l->v, c * sizeof(*v));
                if (!v) {
                        free(line);
                        return -ENOMEM;
                }
                l->v = v;
                l->cap = c;
        }
        l->v[l->n++] = line;
        return 0;
}

/* Length of "KIND\tSCOPE\tNAME", what makes a line unique. */
static size_t key_len(const char *line)
{
        size_t i = 0;

        for (unsigned tabs = 0; line[i]; i++)
                if (line[i] == '\t' && ++tabs == 3)
                        break;
        return i;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- the -help text ------------------------------------------------------- */

/* Help lines are "%-16s%s": the option and its argument, then the description. */
#define HELP_COLUMN 16

static int help_line(struct lines *l, const char *line, const char *next)
{
        size_t len = strcspn(line, "\n"), name_end = strcspn(line, " \n");
        bool has_arg = false;
        _cleanup_free_ char *names = strndup(line + 1, name_end - 1), *desc = NULL;
        char *save = NULL;
        int r = 0;

        if (!names)
                return -ENOMEM;
        if (strncmp(line, "-h or -help", 11) == 0)
                return emit(l, "O", "help", "none", "display this help and exit", NULL);
        for (size_t i = name_end; i < len; i++)
                if (line[i] != ' ') {
                        has_arg = i < HELP_COLUMN || len <= HELP_COLUMN || line[HELP_COLUMN - 1] != ' ';
                        if (!has_arg)
                                desc = strndup(line + i, len - i);
                        else if (len > HELP_COLUMN && line[HELP_COLUMN - 1] == ' ') {
                                size_t d = HELP_COLUMN;
                                while (d < len && line[d] == ' ')
                                        d++;
                                desc = strndup(line + d, len - d);
                        }
                        break;
                }
        /* Else the first continuation line that reads as a sentence, not as more syntax. */
        for (const char *n = next; !desc && n && n[0] == ' ';) {
                const char *d = n + strspn(n, " ");
                size_t word = strcspn(d, " =\n");

                if (d[0] >= 'a' && d[0] <= 'z' && d[word] == ' ')
                        desc = strndup(d, strcspn(d, "\n"));
                n = strchr(n, '\n');
                n = n ? n + 1 : NULL;
        }
        /* "-hda/-hdb file": two options, one line. */
        for (char *n = strtok_r(names, "/", &save); n && r >= 0; n = strtok_r(NULL, "/", &save))
                r = emit(l, "O", n[0] == '-' ? n + 1 : n, has_arg ? "arg" : "none", desc ? desc : "", NULL);
        return r;
}

static int parse_help(struct lines *l, const char *help)
{
        for (const char *p = help; p && *p;) {
                const char *nl = strchr(p, '\n');
                const char *next = nl ? nl + 1 : NULL;

                if (p[0] == '-' && p[1] && p[1] != ' ' && p[1] != '-') {
                        int r = help_line(l, p, next);
                        if (r < 0)
                                return r;
                }
                p = next;
        }
        return 0;
}

/* ---- `-device help`, `-machine help`, `-cpu help` -------------------------- */

/* Copies the quoted value after `key "` in line (up to the end of the line), or NULL. */
static char *quoted_after(const char *line, const char *key)
{
        size_t len = strcspn(line, "\n");
        const char *k = strstr(line, key);

        if (!k || k >= line + len)
                return NULL;
        k += strlen(key);
        return strndup(k, strcspn(k, "\"\n"));
}

struct devinfo {
        char *name, *desc, *bus, *alias;
};

static int parse_device_help(const char *text, struct devinfo **ret, size_t *ret_n)
{
        _cleanup_free_ struct devinfo *v = NULL;
        size_t n = 0;
        bool cpus = false;

        for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n');

                /* "CPU devices:" are -cpu models, introspected with the CPUs (and slow to instantiate). */
                if (p[0] != ' ' && strncmp(p, "name ", 5) != 0)
                        cpus = strncmp(p, "CPU devices:", 12) == 0;
                if (!cpus && strncmp(p, "name \"", 6) == 0) {
                        struct devinfo *nv = qa_grow(v, n, sizeof(*nv));
                        const char *bus = strstr(p, ", bus ");
                        if (!nv)
                                return -ENOMEM;
                        v = nv;
                        v[n] = (struct devinfo){
                                .name = quoted_after(p, "name \""),
                                .desc = quoted_after(p, "desc \""),
                                .alias = quoted_after(p, "alias \""),
                                .bus = bus && (!nl || bus < nl) ? strndup(bus + 6, strcspn(bus + 6, ",\n")) : NULL,
                        };
                        if (!v[n++].name)
                                return -ENOMEM;
                }
                p = nl ? nl + 1 : NULL;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

static void devinfo_free(struct devinfo *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                free(v[i].desc);
                free(v[i].bus);
                free(v[i].alias);
        }
        free(v);
}

/* "NAME   description" lines (`-machine help`); prefix "x86 " for `-cpu help`. */
static char *help_desc(const char *text, const char *prefix, const char *name)
{
        size_t pl = strlen(prefix), nl = strlen(name);

        for (const char *p = text; p && *p;) {
                const char *e = strchr(p, '\n');
                if (strncmp(p, prefix, pl) == 0 && strncmp(p + pl, name, nl) == 0 && p[pl + nl] == ' ') {
                        const char *d = p + pl + nl;
                        d += strspn(d, " ");
                        return strndup(d, e ? (size_t)(e - d) : strlen(d));
                }
                p = e ? e + 1 : NULL;
        }
        return NULL;
}

/* ---- QMP ------------------------------------------------------------------ */

static const char *jstr(json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key));
}

/* One property from device-list-properties or qom-list-properties. */
static int emit_prop(struct lines *l, const char *scope, json_t *p)
{
        json_t *dv = json_object_get(p, "default-value");
        _cleanup_free_ char *def = dv ? qa_json_scalar_text(dv) : NULL;
        const char *name = jstr(p, "name");

        if (!name)
                return 0;
        /* QOM's own bookkeeping, not something a user sets. */
        if (strcmp(name, "type") == 0 && strncmp(scope, "device", 6) != 0)
                return 0;
        return emit(l, "P", scope, name, jstr(p, "type") ?: "", def ? def : "", jstr(p, "description") ?: "", NULL);
}

static int qom_props(struct lines *l, qa_qmp_fn qmp, void *ud, const char *command, const char *typename,
                     const char *scope)
{
        json_t *res = NULL;
        size_t i;
        json_t *p;
        int r;

        r = qmp(ud, command, json_pack("{s:s}", "typename", typename), &res);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0; /* QEMU refuses some types (abstract ones, or ones it cannot instantiate here) */
        r = 0;
        json_array_foreach(res, i, p)
        {
                r = emit_prop(l, scope, p);
                if (r < 0)
                        break;
        }
        json_decref(res);
        return r;
}

static int qom_types(qa_qmp_fn qmp, void *ud, const char *implements, json_t **ret)
{
        return qmp(ud, "qom-list-types", json_pack("{s:s,s:b}", "implements", implements, "abstract", 0), ret);
}

static int do_devices(struct lines *l, qa_qmp_fn qmp, void *ud, const char *device_help)
{
        struct devinfo *d = NULL;
        size_t n = 0;
        int r;

        r = parse_device_help(device_help, &d, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *scope = NULL, *extra = NULL;

                if (d[i].bus && asprintf(&extra, "bus %s", d[i].bus) < 0)
                        r = -ENOMEM;
                if (r >= 0)
                        r = emit(l, "T", "device", d[i].name, d[i].desc ? d[i].desc : "", extra ? extra : "", NULL);
                if (r >= 0 && d[i].alias)
                        r = emit(l, "A", "device", d[i].alias, d[i].name, NULL);
                if (r >= 0 && asprintf(&scope, "device/%s", d[i].name) < 0)
                        r = -ENOMEM;
                if (r >= 0)
                        r = qom_props(l, qmp, ud, "device-list-properties", d[i].name, scope);
        }
        devinfo_free(d, n);
        return r;
}

/* Every non-abstract type implementing `implements`, with its properties under OPTION/NAME. */
static int do_qom_family(struct lines *l, qa_qmp_fn qmp, void *ud, const char *implements, const char *option,
                         const char *suffix)
{
        json_t *types = NULL, *t;
        size_t i;
        int r;

        r = qom_types(qmp, ud, implements, &types);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        json_array_foreach(types, i, t)
        {
                _cleanup_free_ char *name = NULL, *scope = NULL;
                const char *tn = jstr(t, "name");
                size_t len, sl = suffix ? strlen(suffix) : 0;

                if (!tn)
                        continue;
                len = strlen(tn);
                if (suffix && (len <= sl || strcmp(tn + len - sl, suffix) != 0))
                        continue;
                name = strndup(tn, len - sl);
                if (!name || asprintf(&scope, "%s/%s", option, name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = emit(l, "T", option, name, "", NULL);
                if (r >= 0)
                        r = qom_props(l, qmp, ud, "qom-list-properties", tn, scope);
                if (r < 0)
                        break;
        }
        json_decref(types);
        return r;
}

static int do_machines(struct lines *l, qa_qmp_fn qmp, void *ud, const char *machine_help)
{
        json_t *ms = NULL, *m;
        size_t i;
        int r;

        r = qmp(ud, "query-machines", NULL, &ms);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        json_array_foreach(ms, i, m)
        {
                _cleanup_free_ char *desc = NULL, *tn = NULL;
                const char *name = jstr(m, "name"), *alias = jstr(m, "alias");

                if (!name)
                        continue;
                desc = help_desc(machine_help, "", name);
                r = emit(l, "T", "machine", name, desc ? desc : "",
                         json_is_true(json_object_get(m, "deprecated")) ? "deprecated" : "", NULL);
                if (r >= 0 && alias)
                        r = emit(l, "A", "machine", alias, name, NULL);
                /* Machine properties differ little between boards: one "machine" scope, their union. */
                if (r >= 0 && asprintf(&tn, "%s-machine", name) < 0)
                        r = -ENOMEM;
                if (r >= 0)
                        r = qom_props(l, qmp, ud, "qom-list-properties", tn, "machine");
                if (r < 0)
                        break;
        }
        json_decref(ms);
        return r;
}

static int do_cpus(struct lines *l, qa_qmp_fn qmp, void *ud, const char *cpu_help)
{
        json_t *defs = NULL, *d, *props = NULL, *p;
        size_t i;
        int r;

        r = qmp(ud, "query-cpu-definitions", NULL, &defs);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        json_array_foreach(defs, i, d)
        {
                _cleanup_free_ char *desc = NULL;
                const char *name = jstr(d, "name");

                if (!name)
                        continue;
                desc = help_desc(cpu_help, "x86 ", name);
                r = emit(l, "T", "cpu", name, desc ? desc : "",
                         json_is_true(json_object_get(d, "deprecated")) ? "deprecated" : "", NULL);
                if (r < 0)
                        break;
        }
        json_decref(defs);
        if (r < 0)
                return r;
        /* Features and tunables are the properties of the "max" CPU; boolean ones are the +flag kind. */
        r = qmp(ud, "qom-list-properties", json_pack("{s:s}", "typename", "max-x86_64-cpu"), &props);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        r = 0;
        json_array_foreach(props, i, p)
        {
                const char *name = jstr(p, "name"), *type = jstr(p, "type");
                if (!name || !type || strncmp(type, "link<", 5) == 0 || strncmp(type, "child<", 6) == 0 ||
                    strcmp(name, "type") == 0)
                        continue;
                r = emit(l, "P", "cpu", name, type, "", jstr(p, "description") ?: "", NULL);
                if (r < 0)
                        break;
        }
        json_decref(props);
        return r;
}

static int do_cmdline_options(struct lines *l, qa_qmp_fn qmp, void *ud)
{
        /* QemuOpts group names that are not the option's name. */
        static const char *const renames[][2] = {
                {"smp-opts", "smp"},
                {"boot-opts", "boot"},
                {"memory", "m"},
                {"acpi", "acpitable"},
        };
        json_t *groups = NULL, *g, *p;
        size_t i, j;
        int r;

        r = qmp(ud, "query-command-line-options", NULL, &groups);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        json_array_foreach(groups, i, g)
        {
                const char *opt = jstr(g, "option");

                if (!opt || !*opt)
                        continue;
                for (size_t k = 0; k < ELEMENTSOF(renames); k++)
                        if (strcmp(opt, renames[k][0]) == 0)
                                opt = renames[k][1];
                r = emit(l, "G", opt, NULL);
                json_array_foreach(json_object_get(g, "parameters"), j, p)
                {
                        if (r < 0)
                                break;
                        r = emit(l, "P", opt, jstr(p, "name") ?: "", jstr(p, "type") ?: "", jstr(p, "default") ?: "",
                                 jstr(p, "help") ?: "", NULL);
                }
                if (r < 0)
                        break;
        }
        json_decref(groups);
        return r;
}

/* ---- query-qmp-schema ----------------------------------------------------- */

struct schema {
        json_t *byname; /* name -> entity */
};

static json_t *entity(const struct schema *s, const char *name)
{
        return name ? json_object_get(s->byname, name) : NULL;
}

/* A short human name for a schema type: builtins by name, enums by their values. */
static char *type_text(const struct schema *s, const char *name)
{
        json_t *e = entity(s, name);
        const char *meta = jstr(e, "meta-type");
        char *out = NULL;

        if (!e || !meta)
                return strdup(name ? name : "");
        if (strcmp(meta, "builtin") == 0)
                return strdup(name);
        if (strcmp(meta, "enum") == 0) {
                json_t *vals = json_object_get(e, "values"), *v;
                size_t i, len = 0;
                FILE *f;

                if (json_array_size(vals) > 12)
                        return strdup("enum");
                f = open_memstream(&out, &len);
                if (!f)
                        return NULL;
                json_array_foreach(vals, i, v) fprintf(f, "%s%s", i ? "|" : "", json_string_value(v) ?: "");
                fclose(f);
                return out;
        }
        return strdup(meta);
}

#define SCHEMA_DEPTH 2

/* Members of an object type, and of all its variants, as dotted keys under prefix. */
static int schema_members(struct lines *l, const struct schema *s, const char *scope, const char *type,
                          const char *prefix, unsigned depth, bool skip_tag)
{
        json_t *e = entity(s, type), *m, *v;
        const char *tag = jstr(e, "tag");
        size_t i;
        int r = 0;

        if (!e || strcmp(jstr(e, "meta-type") ?: "", "object") != 0)
                return 0;
        json_array_foreach(json_object_get(e, "members"), i, m)
        {
                _cleanup_free_ char *key = NULL, *tt = NULL;
                const char *name = jstr(m, "name"), *mt = jstr(m, "type");
                json_t *me = entity(s, mt);

                if (!name || (skip_tag && tag && strcmp(name, tag) == 0))
                        continue;
                if (asprintf(&key, "%s%s", prefix, name) < 0 || !(tt = type_text(s, mt)))
                        return -ENOMEM;
                r = emit(l, "P", scope, key, tt, NULL);
                if (r >= 0 && depth < SCHEMA_DEPTH && me && strcmp(jstr(me, "meta-type") ?: "", "object") == 0) {
                        _cleanup_free_ char *sub = NULL;
                        if (asprintf(&sub, "%s.", key) < 0)
                                return -ENOMEM;
                        r = schema_members(l, s, scope, mt, sub, depth + 1, false);
                }
                if (r < 0)
                        return r;
        }
        /* Nested unions: their variants' members are allowed beside the tag. */
        if (prefix[0])
                json_array_foreach(json_object_get(e, "variants"), i, v)
                {
                        r = schema_members(l, s, scope, jstr(v, "type"), prefix, depth, false);
                        if (r < 0)
                                return r;
                }
        return 0;
}

/*
 * A union the command line takes under option: each variant becomes a type
 * (OPTION CASE) with its members under OPTION/CASE; the base members go under
 * OPTION. A simple union (chardev's) wraps each variant in {"data": ...}.
 */
static int schema_union(struct lines *l, const struct schema *s, const char *option, const char *type, bool wrapped)
{
        json_t *e = entity(s, type), *v;
        size_t i;
        int r;

        if (!e)
                return 0;
        r = emit(l, "G", option, NULL);
        if (r >= 0 && !wrapped)
                r = schema_members(l, s, option, type, "", 0, false);
        json_array_foreach(json_object_get(e, "variants"), i, v)
        {
                _cleanup_free_ char *scope = NULL;
                const char *c = jstr(v, "case"), *vt = jstr(v, "type");

                if (r < 0 || !c)
                        break;
                r = emit(l, "T", option, c, "", NULL);
                if (r >= 0 && wrapped) {
                        json_t *w = json_array_get(json_object_get(entity(s, vt), "members"), 0);
                        vt = jstr(w, "type");
                }
                if (r >= 0 && asprintf(&scope, "%s/%s", option, c) < 0)
                        r = -ENOMEM;
                if (r >= 0 && !wrapped)
                        r = schema_members(l, s, scope, vt, "", 0, true);
        }
        return r;
}

/* The type of a command's argument (or of one of its members, or of its return's element). */
static const char *command_type(const struct schema *s, const char *command, const char *what, const char *member)
{
        json_t *c = entity(s, command), *t, *m;
        size_t i;

        t = entity(s, jstr(c, what));
        if (t && strcmp(jstr(t, "meta-type") ?: "", "array") == 0)
                t = entity(s, jstr(t, "element-type"));
        if (!member)
                return jstr(t, "name");
        json_array_foreach(json_object_get(t, "members"), i,
                           m) if (strcmp(jstr(m, "name") ?: "", member) == 0) return jstr(m, "type");
        return NULL;
}

static int do_schema(struct lines *l, qa_qmp_fn qmp, void *ud)
{
        struct schema s = {.byname = json_object()};
        json_t *all = NULL, *e;
        size_t i;
        int r;

        if (!s.byname)
                return -ENOMEM;
        r = qmp(ud, "query-qmp-schema", NULL, &all);
        if (r < 0) {
                json_decref(s.byname);
                return r == -ENOMEM ? r : 0;
        }
        json_array_foreach(all, i, e) if (jstr(e, "name")) json_object_set(s.byname, jstr(e, "name"), e);
        r = schema_union(l, &s, "netdev", command_type(&s, "netdev_add", "arg-type", NULL), false);
        if (r >= 0)
                r = schema_union(l, &s, "blockdev", command_type(&s, "blockdev-add", "arg-type", NULL), false);
        if (r >= 0)
                r = schema_union(l, &s, "numa", command_type(&s, "set-numa-node", "arg-type", NULL), false);
        if (r >= 0)
                r = schema_union(l, &s, "display", command_type(&s, "query-display-options", "ret-type", NULL), false);
        if (r >= 0)
                r = schema_union(l, &s, "audiodev", command_type(&s, "query-audiodevs", "ret-type", NULL), false);
        if (r >= 0)
                r = schema_union(l, &s, "chardev", command_type(&s, "chardev-add", "arg-type", "backend"), true);
        json_decref(all);
        json_decref(s.byname);
        return r;
}

int qa_introspect(const struct qa_introspect_input *in, char **ret_text)
{
        _cleanup_(lines_done) struct lines l = {0};
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        assert(in && in->qmp);
        r = parse_help(&l, in->help);
        if (r >= 0)
                r = do_cmdline_options(&l, in->qmp, in->userdata);
        if (r >= 0)
                r = do_devices(&l, in->qmp, in->userdata, in->device_help);
        if (r >= 0)
                r = do_qom_family(&l, in->qmp, in->userdata, "user-creatable", "object", NULL);
        if (r >= 0)
                r = do_qom_family(&l, in->qmp, in->userdata, "accel", "accel", "-accel");
        if (r >= 0)
                r = do_machines(&l, in->qmp, in->userdata, in->machine_help);
        if (r >= 0)
                r = do_cpus(&l, in->qmp, in->userdata, in->cpu_help);
        if (r >= 0)
                r = do_schema(&l, in->qmp, in->userdata);
        if (r < 0)
                return r;

        qsort(l.v, l.n, sizeof(*l.v), cmp_str);
        f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f,
                "# Generated from QEMU's own introspection by qemuargs/qemu-knowledge.sh; do not edit.\n"
                "# %s\nV\t%s\n",
                in->banner ? in->banner : "", in->version);
        for (size_t i = 0; i < l.n; i++)
                /* Machines repeat properties, with their own wording at times: the first says it. */
                if (i == 0 || key_len(l.v[i]) != key_len(l.v[i - 1]) ||
                    strncmp(l.v[i], l.v[i - 1], key_len(l.v[i])) != 0)
                        fprintf(f, "%s\n", l.v[i]);
        if (fclose(f) != 0 || !text)
                return -ENOMEM;
        *ret_text = TAKE_PTR(text);
        return 0;
}
