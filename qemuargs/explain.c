/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "qemuargs.h"

#define EXPLAIN_COLUMN 40
#define MAX_DEPTH 8

/* Which properties of a frontend name a backend defined by option `backend`. */
static bool refers_to(const char *backend, const char *key)
{
        static const struct {
                const char *backend, *key;
        } refs[] = {
                {"netdev", "netdev"},     {"drive", "drive"},   {"blockdev", "drive"},
                {"blockdev", "file"},     {"blockdev", "backing"}, {"chardev", "chardev"},
                {"object", "memdev"},     {"object", "memory-backend"}, {"object", "iothread"},
                {"audiodev", "audiodev"},
        };
        for (size_t i = 0; i < ELEMENTSOF(refs); i++)
                if (strcmp(refs[i].backend, backend) == 0 && strcmp(refs[i].key, key) == 0)
                        return true;
        return false;
}

/* A backend by the option that defines it and its id, for the one pass that finds who uses whom. */
struct backend {
        const char *option, *id;
        size_t index;
};

static int cmp_backend(const void *a, const void *b)
{
        const struct backend *x = a, *y = b;
        int c = strcmp(x->option, y->option);

        if (c == 0)
                c = strcmp(x->id, y->id);
        if (c == 0)
                c = (x->index > y->index) - (x->index < y->index);
        return c;
}

static const struct backend *find_backend(const struct backend *v, size_t n, const char *option, const char *id)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(v[mid].option, option);
                if (c == 0)
                        c = strcmp(v[mid].id, id);
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < n && strcmp(v[lo].option, option) == 0 && strcmp(v[lo].id, id) == 0 ? &v[lo] : NULL;
}

/*
 * The grouping: each backend under the first option that names it by id
 * (parent[j] == j when none does), children in command-line order. One sort
 * and one pass over the properties, so 20,000 devices cost little more than
 * 20 (a search per option was quadratic).
 */
struct groups {
        size_t *parent, *first_child, *next_sibling;
};

static void groups_done(struct groups *g)
{
        free(g->parent);
        free(g->first_child);
        free(g->next_sibling);
}

static int groups_build(const struct qa_cmdline *cl, struct groups *ret)
{
        static const char *const backends[] = {"netdev", "drive", "blockdev", "chardev", "object", "audiodev"};
        size_t n = cl->n_opts, nb = 0;
        _cleanup_free_ struct backend *v = calloc(n + 1, sizeof(*v));
        _cleanup_free_ size_t *last_child = calloc(n + 1, sizeof(size_t));
        struct groups g = {
                .parent = calloc(n + 1, sizeof(size_t)),
                .first_child = calloc(n + 1, sizeof(size_t)),
                .next_sibling = calloc(n + 1, sizeof(size_t)),
        };

        if (!v || !last_child || !g.parent || !g.first_child || !g.next_sibling) {
                groups_done(&g);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                g.parent[i] = g.first_child[i] = g.next_sibling[i] = SIZE_MAX;
                for (size_t b = 0; cl->opts[i].id && b < ELEMENTSOF(backends); b++)
                        if (strcmp(cl->opts[i].name, backends[b]) == 0)
                                v[nb++] =
                                        (struct backend){.option = cl->opts[i].name, .id = cl->opts[i].id, .index = i};
        }
        if (nb > 1)
                qsort(v, nb, sizeof(*v), cmp_backend);
        for (size_t i = 0; i < n; i++)
                for (size_t p = 0; p < cl->opts[i].n_props; p++)
                        for (size_t b = 0; b < ELEMENTSOF(backends); b++) {
                                const struct backend *be;

                                if (!refers_to(backends[b], cl->opts[i].props[p].key))
                                        continue;
                                be = find_backend(v, nb, backends[b], cl->opts[i].props[p].value);
                                /* The first of equal ids, as QEMU would refuse the second anyway. */
                                if (be && be->index != i && g.parent[be->index] == SIZE_MAX)
                                        g.parent[be->index] = i;
                        }
        for (size_t j = 0; j < n; j++) {
                size_t p = g.parent[j];

                if (p == SIZE_MAX) {
                        g.parent[j] = j;
                        continue;
                }
                if (g.first_child[p] == SIZE_MAX)
                        g.first_child[p] = j;
                else
                        g.next_sibling[last_child[p]] = j;
                last_child[p] = j;
        }
        *ret = g;
        return 0;
}

size_t qa_group_of(const struct qa_cmdline *cl, size_t i)
{
        struct groups g;

        assert(i < cl->n_opts);
        if (groups_build(cl, &g) < 0)
                return i;
        for (unsigned depth = 0; depth < MAX_DEPTH && g.parent[i] != i; depth++)
                i = g.parent[i];
        groups_done(&g);
        return i;
}

static const char *origin_of(const struct qa_option *o, const struct qa_explain_options *opts)
{
        if (!opts || !opts->origin)
                return NULL;
        /* The argument word carries the most specific key; the option word the general one. */
        if (o->arg && !o->missing_arg && o->word && o->index + 1 < opts->n_origin && opts->origin[o->index + 1])
                return opts->origin[o->index + 1];
        if (o->index < opts->n_origin)
                return opts->origin[o->index];
        return NULL;
}

/* "REMOVED in 6.0; use X" and friends, or NULL when there is nothing to say. */
static char *status_note(const struct qa_entry *e)
{
        char *s = NULL;
        int r = 0;

        if (!e)
                return NULL;
        if (e->removed)
                r = asprintf(&s, "REMOVED (%s%s)%s%s", strcmp(e->removed, "unknown") == 0 ? "version " : "QEMU ",
                             e->removed, e->replacement ? "; use " : "",
                             e->replacement ? e->replacement : "");
        else if (e->deprecated)
                r = asprintf(&s, "DEPRECATED since QEMU %s%s%s", e->deprecated, e->replacement ? "; use " : "",
                             e->replacement ? e->replacement : "");
        else if (e->downstream)
                r = asprintf(&s, "DOWNSTREAM: not in upstream QEMU%s%s", e->replacement ? "; upstream: " : "",
                             e->replacement ? e->replacement : "");
        else if (e->replacement)
                r = asprintf(&s, "modern form: %s", e->replacement);
        return r < 0 ? NULL : s;
}

static char *shorthand_note(const struct qa_prop *p, const struct qa_cmdline *cl)
{
        const struct qa_entry *rule = qa_lookup_rule(cl->knowledge, "shortbool");
        char *s = NULL;

        if (!p->shorthand)
                return NULL;
        if (asprintf(&s, "DEPRECATED short-form boolean%s%s; write %s=%s", rule && rule->deprecated ? " since QEMU " : "",
                     rule && rule->deprecated ? rule->deprecated : "", p->key, p->value) < 0)
                return NULL;
        return s;
}

/* What to say about e: vmxrun's explanation, or QEMU's own description marked as such. */
static char *explanation_of(const struct qa_entry *e)
{
        char *s = NULL;
        int r;

        if (!e->generated)
                return strdup(e->explanation);
        if (e->qemu_text)
                r = asprintf(&s, "QEMU: %s%s%s%s", e->qemu_text, e->qemu_type ? " (" : "",
                             e->qemu_type ? e->qemu_type : "", e->qemu_type ? ")" : "");
        else if (e->qemu_type)
                r = asprintf(&s, "QEMU: a %s property (QEMU gives no description)", e->qemu_type);
        else if (e->alias_of)
                r = asprintf(&s, "QEMU: alias of %s", e->alias_of);
        else
                r = asprintf(&s, "QEMU: (no description)");
        return r < 0 ? NULL : s;
}

/* ---- text ----------------------------------------------------------------- */

static void row(FILE *out, unsigned indent, const char *left, const char *right)
{
        size_t l = indent + strlen(left);

        if (!right || !*right) {
                fprintf(out, "%*s%s\n", (int)indent, "", left);
                return;
        }
        if (l + 1 < EXPLAIN_COLUMN)
                fprintf(out, "%*s%s%*s%s\n", (int)indent, "", left, (int)(EXPLAIN_COLUMN - l), "", right);
        else
                fprintf(out, "%*s%s\n%*s%s\n", (int)indent, "", left, EXPLAIN_COLUMN, "", right);
}

static void note(FILE *out, const char *label, const char *text)
{
        if (text)
                fprintf(out, "%*s%s%s\n", EXPLAIN_COLUMN, "", label, text);
}

static int text_prop(FILE *out, const struct qa_cmdline *cl, const struct qa_option *o, const struct qa_prop *p, unsigned indent)
{
        _cleanup_free_ char *left = NULL, *st = NULL, *sh = NULL, *ex = NULL, *vn = NULL;
        const struct qa_entry *e = p->info;
        bool is_type = o->type && o->info && o->info->typekey && strcmp(p->key, o->info->typekey) == 0 &&
                       p->value == o->type;
        const char *expl;
        int r;

        if (p->cpu_flag)
                r = asprintf(&left, "%s%s", strcmp(p->value, "on") == 0 ? "+" : "-", p->key);
        else
                r = asprintf(&left, "%s=%s", p->key, p->value);
        if (r < 0)
                return -ENOMEM;
        if (is_type)
                return 0; /* shown on the option's line */
        if (e && !(ex = explanation_of(e)))
                return -ENOMEM;
        expl = e ? ex : "UNKNOWN property: no QEMU version vmxrun knows has it";
        row(out, indent, left, expl);
        if (e) {
                note(out, "default: ", e->default_value);
                note(out, "cost: ", e->cost);
                st = status_note(e);
                note(out, "", st);
                vn = qa_versions_note(cl->knowledge, e);
                note(out, "", vn);
        }
        sh = shorthand_note(p, cl);
        note(out, "", sh);
        return 0;
}

static int text_option(FILE *out, const struct qa_cmdline *cl, size_t i, unsigned depth, const struct groups *g,
                       const struct qa_explain_options *opts)
{
        const struct qa_option *o = &cl->opts[i];
        unsigned indent = 2 * depth;
        _cleanup_free_ char *head = NULL, *st = NULL, *type_st = NULL, *ex = NULL, *vn = NULL, *tvn = NULL;
        const char *origin = origin_of(o, opts);
        const char *expl;
        int r;

        if (!o->word)
                r = asprintf(&head, "%s", o->arg);
        else if (o->n_props > 0 && o->type)
                r = asprintf(&head, "%s %s", o->word, o->type);
        else if (o->arg && o->n_props == 0)
                r = asprintf(&head, "%s %s", o->word, o->arg);
        else
                r = asprintf(&head, "%s", o->word);
        if (r < 0)
                return -ENOMEM;

        if (!o->word)
                expl = "bare argument: QEMU takes it as the first IDE disk image (-hda)";
        else if (!o->info)
                expl = "UNKNOWN option: no QEMU version vmxrun knows has it";
        else if (o->type && !o->type_info)
                expl = "UNKNOWN type: no QEMU version vmxrun knows has it";
        else if (!(ex = explanation_of(o->type ? o->type_info : o->info)))
                return -ENOMEM;
        else
                /* The type says more than the option: "-device e1000" is an e1000 NIC. */
                expl = ex;
        row(out, indent, head, expl);
        st = status_note(o->info);
        note(out, "", st);
        vn = o->info ? qa_versions_note(cl->knowledge, o->info) : NULL;
        note(out, "", vn);
        if (o->type_info) {
                type_st = status_note(o->type_info);
                note(out, "", type_st);
                note(out, "cost: ", o->type_info->cost);
                tvn = qa_versions_note(cl->knowledge, o->type_info);
                note(out, "", tvn);
        }
        if (opts && opts->origin)
                note(out, "from: ", origin ? origin : "(vmxrun always adds this)");
        if (o->missing_arg)
                note(out, "", "ERROR: the command line ends where its argument should be");
        if (o->arg_guessed)
                note(out, "", "the next word was taken as its argument (unknown to vmxrun whether it takes one)");
        if (o->json_error)
                note(out, "JSON argument does not parse: ", o->json_error);
        else if (o->json)
                note(out, "", "(argument given as JSON)");

        for (size_t p = 0; p < o->n_props; p++) {
                r = text_prop(out, cl, o, &o->props[p], indent + 4);
                if (r < 0)
                        return r;
        }
        if (depth + 1 < MAX_DEPTH)
                for (size_t j = g->first_child[i]; j != SIZE_MAX; j = g->next_sibling[j]) {
                        r = text_option(out, cl, j, depth + 1, g, opts);
                        if (r < 0)
                                return r;
                }
        return 0;
}

int qa_explain_text(const struct qa_cmdline *cl, const struct qa_explain_options *opts, FILE *out)
{
        _cleanup_(groups_done) struct groups g = {0};
        struct qa_counts c;

        if (groups_build(cl, &g) < 0)
                return -ENOMEM;

        for (size_t i = 0; i < cl->n_prefix; i++)
                row(out, 0, cl->prefix[i], "(ignored: text before the QEMU binary)");
        for (size_t i = 0; i < cl->n_env; i++)
                row(out, 0, cl->env[i], "environment variable for QEMU");
        if (cl->binary)
                row(out, 0, cl->binary, "the QEMU binary");
        fputc('\n', out);

        for (size_t i = 0; i < cl->n_opts; i++) {
                int r;

                /* A backend is printed under the device that uses it. */
                if (g.parent[i] != i)
                        continue;
                r = text_option(out, cl, i, 0, &g, opts);
                if (r < 0)
                        return r;
        }

        qa_count(cl, &c);
        fprintf(out,
                "\n%zu options: %zu unknown, %zu of unknown type, %zu deprecated, %zu removed; "
                "%zu properties: %zu unknown, %zu deprecated, %zu removed\n",
                c.options, c.options_unknown, c.types_unknown, c.options_deprecated, c.options_removed, c.props,
                c.props_unknown,
                c.props_deprecated, c.props_removed);
        return 0;
}

/* ---- counts --------------------------------------------------------------- */

static enum qa_status option_status(const struct qa_option *o)
{
        enum qa_status s = qa_entry_status(o->info), t = qa_entry_status(o->type_info);

        if (s == QA_STATUS_UNKNOWN)
                return s;
        return t > s ? t : s; /* a removed device type makes the whole -device removed */
}

static enum qa_status prop_status(const struct qa_option *o, const struct qa_prop *p)
{
        enum qa_status s;

        if (o->type && o->info && o->info->typekey && strcmp(p->key, o->info->typekey) == 0 && p->value == o->type)
                return o->type_info ? qa_entry_status(o->type_info) : QA_STATUS_UNKNOWN;
        s = qa_entry_status(p->info);
        if (s == QA_STATUS_KNOWN && p->shorthand)
                s = QA_STATUS_DEPRECATED;
        return s;
}

void qa_count(const struct qa_cmdline *cl, struct qa_counts *ret)
{
        *ret = (struct qa_counts){0};
        for (size_t i = 0; i < cl->n_opts; i++) {
                const struct qa_option *o = &cl->opts[i];

                ret->options++;
                if (o->info && o->type && !o->type_info)
                        ret->types_unknown++;
                switch (option_status(o)) {
                case QA_STATUS_UNKNOWN:
                        ret->options_unknown++;
                        break;
                case QA_STATUS_DEPRECATED:
                        ret->options_deprecated++;
                        break;
                case QA_STATUS_REMOVED:
                        ret->options_removed++;
                        break;
                case QA_STATUS_KNOWN:
                        break;
                }
                for (size_t p = 0; p < o->n_props; p++) {
                        ret->props++;
                        switch (prop_status(o, &o->props[p])) {
                        case QA_STATUS_UNKNOWN:
                                ret->props_unknown++;
                                break;
                        case QA_STATUS_DEPRECATED:
                                ret->props_deprecated++;
                                break;
                        case QA_STATUS_REMOVED:
                                ret->props_removed++;
                                break;
                        case QA_STATUS_KNOWN:
                                break;
                        }
                }
        }
}

/* ---- JSON ----------------------------------------------------------------- */

static int set_str(json_t *obj, const char *key, const char *v)
{
        return json_object_set_new(obj, key, v ? json_string(v) : json_null());
}

/* "accepted_by": ["10.0"], "rejected_by": ["7.2"] over the data sets that speak about e. */
static int json_versions(json_t *obj, const struct qa_knowledge *k, const struct qa_entry *e)
{
        json_t *acc = json_array(), *rej = json_array();
        int r = 0;

        if (!acc || !rej) {
                json_decref(acc);
                json_decref(rej);
                return -1;
        }
        for (size_t v = 0; e && e->versions && v < k->n_versions; v++) {
                if (e->versions & (1u << v))
                        r |= json_array_append_new(acc, json_string(k->versions[v].name));
                else if (qa_version_rejects(k, v, e))
                        r |= json_array_append_new(rej, json_string(k->versions[v].name));
        }
        r |= json_object_set_new(obj, "accepted_by", acc);
        r |= json_object_set_new(obj, "rejected_by", rej);
        return r;
}

static int json_entry_fields(json_t *obj, const struct qa_knowledge *k, const struct qa_entry *e, enum qa_status status)
{
        int r = 0;

        r |= json_object_set_new(obj, "known", json_boolean(e != NULL));
        r |= set_str(obj, "status", qa_status_to_string(status));
        r |= set_str(obj, "explanation", e ? e->explanation : NULL);
        r |= set_str(obj, "default", e ? e->default_value : NULL);
        r |= set_str(obj, "cost", e ? e->cost : NULL);
        r |= set_str(obj, "since", e ? e->since : NULL);
        r |= set_str(obj, "deprecated", e ? e->deprecated : NULL);
        r |= set_str(obj, "removed", e ? e->removed : NULL);
        r |= set_str(obj, "replacement", e ? e->replacement : NULL);
        r |= json_object_set_new(obj, "downstream", json_boolean(e && e->downstream));
        r |= json_object_set_new(obj, "from_qemu", json_boolean(e && e->generated));
        r |= set_str(obj, "qemu_description", e ? e->qemu_text : NULL);
        r |= set_str(obj, "qemu_type", e ? e->qemu_type : NULL);
        r |= json_versions(obj, k, e);
        return r;
}

/* Leaves out members that say nothing: null, false, []. */
static void json_prune(json_t *obj)
{
        const char *key;
        json_t *v;
        void *tmp;

        json_object_foreach_safe(obj, tmp, key, v)
        {
                if (json_is_null(v) || json_is_false(v) || (json_is_array(v) && json_array_size(v) == 0))
                        json_object_del(obj, key);
        }
}

/* "device", "device=virtio-net-pci", "device/virtio-net-pci.netdev": the name of e in the compact form's docs. */
static char *doc_key(const struct qa_entry *e)
{
        char *key = NULL;
        int n;

        if (e->kind == QA_KIND_OPT || !e->scope[0])
                n = asprintf(&key, "%s", e->name);
        else
                n = asprintf(&key, "%s%s%s", e->scope, e->kind == QA_KIND_TYPE ? "=" : ".", e->name);
        return n < 0 ? NULL : key;
}

/*
 * The knowledge's fields of e: in obj itself, or (docs given: the compact form)
 * once in docs under e's key, obj naming it in "doc".
 */
static int json_knowledge(json_t *obj, json_t *docs, const struct qa_cmdline *cl, const struct qa_entry *e,
                          enum qa_status status)
{
        _cleanup_free_ char *key = NULL;
        json_t *doc;
        int r = 0;

        if (!docs)
                return json_entry_fields(obj, cl->knowledge, e, status);
        r |= json_object_set_new(obj, "known", json_boolean(e != NULL));
        r |= set_str(obj, "status", qa_status_to_string(status));
        if (!e)
                return r;
        key = doc_key(e);
        if (!key)
                return -1;
        r |= set_str(obj, "doc", key);
        if (json_object_get(docs, key))
                return r;
        doc = json_object();
        if (!doc || json_entry_fields(doc, cl->knowledge, e, status) < 0) {
                json_decref(doc);
                return -1;
        }
        /* Per use, not per entry: they stay with the option or property. */
        json_object_del(doc, "known");
        json_object_del(doc, "status");
        json_prune(doc);
        r |= json_object_set_new(docs, key, doc);
        return r;
}

static json_t *json_prop(const struct qa_cmdline *cl, const struct qa_option *o, const struct qa_prop *p, json_t *docs)
{
        json_t *j = json_object();
        bool is_type = o->type && o->info && o->info->typekey && strcmp(p->key, o->info->typekey) == 0 &&
                       p->value == o->type;
        const struct qa_entry *e = is_type ? o->type_info : p->info;
        const struct qa_entry *rule = qa_lookup_rule(cl->knowledge, "shortbool");
        int r = 0;

        if (!j)
                return NULL;
        r |= set_str(j, "key", p->key);
        r |= set_str(j, "value", p->value);
        r |= json_object_set_new(j, "implied", json_boolean(p->implied));
        r |= json_object_set_new(j, "shorthand", json_boolean(p->shorthand));
        r |= json_object_set_new(j, "cpu_flag", json_boolean(p->cpu_flag));
        r |= json_object_set_new(j, "is_type", json_boolean(is_type));
        r |= json_knowledge(j, docs, cl, e, prop_status(o, p));
        if (p->shorthand && rule) {
                /* The property is known, its spelling is deprecated. */
                r |= set_str(j, "deprecated", rule->deprecated);
                _cleanup_free_ char *rep = NULL;
                if (asprintf(&rep, "%s=%s", p->key, p->value) < 0)
                        r = -1;
                else
                        r |= set_str(j, "replacement", rep);
        }
        if (docs)
                json_prune(j);
        if (r < 0) {
                json_decref(j);
                return NULL;
        }
        return j;
}

static json_t *json_option(const struct qa_cmdline *cl, size_t i, const struct groups *g,
                           const struct qa_explain_options *opts, json_t *docs)
{
        const struct qa_option *o = &cl->opts[i];
        json_t *j = json_object(), *props = json_array();
        int r = 0;

        if (!j || !props) {
                json_decref(j);
                json_decref(props);
                return NULL;
        }
        r |= json_object_set_new(j, "index", json_integer((json_int_t)o->index));
        r |= set_str(j, "word", o->word);
        r |= set_str(j, "option", o->name);
        r |= set_str(j, "argument", o->arg);
        r |= json_object_set_new(j, "missing_argument", json_boolean(o->missing_arg));
        r |= json_object_set_new(j, "argument_guessed", json_boolean(o->arg_guessed));
        r |= json_object_set_new(j, "json", json_boolean(o->json));
        r |= set_str(j, "json_error", o->json_error);
        r |= set_str(j, "type", o->type);
        r |= json_object_set_new(j, "type_known", json_boolean(o->type_info != NULL));
        r |= set_str(j, "id", o->id);
        size_t top = i;
        for (unsigned depth = 0; depth < MAX_DEPTH && g->parent[top] != top; depth++)
                top = g->parent[top];
        r |= json_object_set_new(j, "group", json_integer((json_int_t)top));
        r |= json_object_set_new(j, "used_by", json_integer((json_int_t)g->parent[i]));
        if (opts && opts->origin) {
                const char *origin = origin_of(o, opts);
                r |= set_str(j, "origin", origin);
        }
        r |= json_knowledge(j, docs, cl, o->info, option_status(o));
        if (!o->word)
                r |= set_str(j, "explanation", "bare argument: QEMU takes it as the first IDE disk image (-hda)");
        for (size_t p = 0; p < o->n_props; p++) {
                json_t *jp = json_prop(cl, o, &o->props[p], docs);
                if (!jp) {
                        r = -1;
                        break;
                }
                r |= json_array_append_new(props, jp);
        }
        r |= json_object_set_new(j, "properties", props);
        if (docs)
                json_prune(j);
        if (r < 0) {
                json_decref(j);
                return NULL;
        }
        return j;
}

static json_t *json_strv(char **v, size_t n)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, json_string(v[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

json_t *qa_explain_json(const struct qa_cmdline *cl, const struct qa_explain_options *opts)
{
        json_t *root = json_object(), *arr = json_array(), *docs = opts && opts->compact ? json_object() : NULL;
        _cleanup_(groups_done) struct groups g = {0};
        struct qa_counts c;
        int r = 0;

        if (!root || !arr || (opts && opts->compact && !docs) || groups_build(cl, &g) < 0) {
                json_decref(root);
                json_decref(arr);
                json_decref(docs);
                return NULL;
        }
        r |= json_object_set_new(root, "binary", cl->binary ? json_string(cl->binary) : json_null());
        r |= json_object_set_new(root, "env", json_strv(cl->env, cl->n_env));
        r |= json_object_set_new(root, "ignored_prefix", json_strv(cl->prefix, cl->n_prefix));
        for (size_t i = 0; i < cl->n_opts; i++) {
                json_t *o = json_option(cl, i, &g, opts, docs);
                if (!o) {
                        r = -1;
                        break;
                }
                r |= json_array_append_new(arr, o);
        }
        r |= json_object_set_new(root, "options", arr);
        if (docs)
                r |= json_object_set_new(root, "docs", docs);
        qa_count(cl, &c);
        r |= json_object_set_new(root, "summary",
                                 json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "options", (json_int_t)c.options,
                                           "options_unknown", (json_int_t)c.options_unknown, "types_unknown",
                                           (json_int_t)c.types_unknown, "options_deprecated",
                                           (json_int_t)c.options_deprecated, "options_removed",
                                           (json_int_t)c.options_removed, "properties", (json_int_t)c.props,
                                           "properties_unknown", (json_int_t)c.props_unknown,
                                           "properties_deprecated", (json_int_t)c.props_deprecated,
                                           "properties_removed", (json_int_t)c.props_removed));
        if (r < 0) {
                json_decref(root);
                return NULL;
        }
        return root;
}
