/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "qemuargs-internal.h"
#include "qemuargs.h"

static void prop_done(struct qa_prop *p)
{
        free(p->key);
        free(p->value);
}

static void option_done(struct qa_option *o)
{
        free(o->word);
        free(o->name);
        free(o->arg);
        free(o->json_error);
        for (size_t i = 0; i < o->n_props; i++)
                prop_done(&o->props[i]);
        free(o->props);
}

static void strv_free_n(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

struct qa_cmdline *qa_cmdline_free(struct qa_cmdline *cl)
{
        if (!cl)
                return NULL;
        strv_free_n(cl->prefix, cl->n_prefix);
        strv_free_n(cl->env, cl->n_env);
        free(cl->binary);
        for (size_t i = 0; i < cl->n_opts; i++)
                option_done(&cl->opts[i]);
        free(cl->opts);
        free(cl);
        return NULL;
}

static int prop_push(struct qa_prop **props, size_t *n, char *key, char *value)
{
        struct qa_prop *p;

        if (!key || !value) {
                free(key);
                free(value);
                return -ENOMEM;
        }
        p = qa_grow(*props, *n, sizeof(*p));
        if (!p) {
                free(key);
                free(value);
                return -ENOMEM;
        }
        *props = p;
        p[*n] = (struct qa_prop){.key = key, .value = value};
        (*n)++;
        return 0;
}

/* Reads one ",,"-unescaped element up to the next single comma or end (QEMU get_opt_value). */
static char *read_element(const char *s, size_t *pos)
{
        size_t i = *pos, len = 0;
        char *out = malloc(strlen(s + i) + 1);

        if (!out)
                return NULL;
        while (s[i]) {
                if (s[i] == ',') {
                        if (s[i + 1] != ',')
                                break;
                        i++; /* ",," is a literal comma */
                }
                out[len++] = s[i++];
        }
        out[len] = '\0';
        if (s[i] == ',')
                i++;
        *pos = i;
        return out;
}

static bool is_cpu_flag(const char *e)
{
        return (e[0] == '+' || e[0] == '-') && e[1] && !strchr(e, '=');
}

int qa_parse_opts(const char *arg, const char *implied_key, bool cpu_flags, struct qa_prop **props, size_t *n)
{
        size_t pos = 0;
        bool first = true;

        assert(arg);
        while (arg[pos] || first) {
                _cleanup_free_ char *el = read_element(arg, &pos);
                char *eq;
                int r;

                if (!el)
                        return -ENOMEM;
                eq = strchr(el, '=');
                if (first && implied_key && !eq) {
                        r = prop_push(props, n, strdup(implied_key), TAKE_PTR(el));
                        if (r >= 0)
                                (*props)[*n - 1].implied = true;
                } else if (eq) {
                        r = prop_push(props, n, strndup(el, eq - el), strdup(eq + 1));
                } else if (cpu_flags && is_cpu_flag(el)) {
                        r = prop_push(props, n, strdup(el + 1), strdup(el[0] == '+' ? "on" : "off"));
                        if (r >= 0)
                                (*props)[*n - 1].cpu_flag = true;
                } else if (*el == '\0') {
                        r = 0; /* "-m ''" or a trailing comma: nothing */
                } else if (cpu_flags) {
                        /* -cpu has its own parser: a bare feature is feature=on, not QemuOpts' short form. */
                        r = prop_push(props, n, strdup(el), strdup("on"));
                } else if (strncmp(el, "no", 2) == 0 && el[2]) {
                        /* QEMU's short-form boolean: "nowait" is wait=off */
                        r = prop_push(props, n, strdup(el + 2), strdup("off"));
                        if (r >= 0)
                                (*props)[*n - 1].shorthand = true;
                } else {
                        r = prop_push(props, n, strdup(el), strdup("on"));
                        if (r >= 0)
                                (*props)[*n - 1].shorthand = true;
                }
                if (r < 0)
                        return r;
                first = false;
        }
        return 0;
}

char *qa_json_scalar_text(json_t *v)
{
        if (json_is_string(v))
                return strdup(json_string_value(v));
        if (json_is_true(v))
                return strdup("on");
        if (json_is_false(v))
                return strdup("off");
        return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* Flattens a JSON object into dotted keys, as QEMU's keyval does: file.driver=file. */
static int json_flatten(json_t *obj, const char *prefix, struct qa_prop **props, size_t *n)
{
        const char *key;
        json_t *v;

        json_object_foreach(obj, key, v) {
                _cleanup_free_ char *full = NULL;
                int r;

                if (asprintf(&full, "%s%s%s", prefix ? prefix : "", prefix ? "." : "", key) < 0)
                        return -ENOMEM;
                if (json_is_object(v))
                        r = json_flatten(v, full, props, n);
                else
                        r = prop_push(props, n, TAKE_PTR(full), qa_json_scalar_text(v));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int option_parse_json(struct qa_option *o)
{
        json_error_t err;
        json_t *root = json_loads(o->arg, JSON_REJECT_DUPLICATES, &err);
        int r;

        o->json = true;
        if (!root || !json_is_object(root)) {
                /* Where, so a long libvirt line can be fixed: jansson counts lines and columns from 1. */
                if ((root ? asprintf(&o->json_error, "not a JSON object")
                          : asprintf(&o->json_error, "%s (at byte %d of the argument)", err.text, err.position)) < 0)
                        o->json_error = NULL;
                json_decref(root);
                return o->json_error ? 0 : -ENOMEM;
        }
        r = json_flatten(root, NULL, &o->props, &o->n_props);
        json_decref(root);
        return r;
}

static const char *prop_value(const struct qa_option *o, const char *key)
{
        const char *v = NULL;

        /* QEMU takes the last of repeated keys. */
        for (size_t i = 0; key && i < o->n_props; i++)
                if (strcmp(o->props[i].key, key) == 0)
                        v = o->props[i].value;
        return v;
}

/*
 * A key of a nested block node (JSON -blockdev or -drive's file.*): for
 * "file.file.filename", the innermost prefix with its own driver
 * ("file.file.driver": file) says where "filename" is looked up.
 */
static int nested_node(const struct qa_knowledge *k, const struct qa_option *o, struct qa_prop *p)
{
        for (size_t dot = strlen(p->key); dot-- > 0;) {
                _cleanup_free_ char *drv_key = NULL;
                const char *drv, *rest = p->key + dot + 1;

                if (p->key[dot] != '.')
                        continue;
                if (asprintf(&drv_key, "%.*s.driver", (int)dot, p->key) < 0)
                        return -ENOMEM;
                drv = prop_value(o, drv_key);
                if (!drv)
                        continue;
                if (strcmp(rest, "driver") == 0)
                        p->info = qa_lookup_type(k, "blockdev", drv);
                else
                        p->info = qa_lookup_prop(k, "blockdev", drv, rest);
                if (!p->info && strchr(rest, '.'))
                        p->info = qa_lookup_prop(k, "blockdev", NULL, rest);
                return 0;
        }
        return 0;
}

static int option_parse_arg(const struct qa_knowledge *k, struct qa_option *o)
{
        const struct qa_entry *info = o->info;
        int r;

        if (!info || info->arg != QA_ARG_OPTS || !o->arg)
                return 0;
        if (info->json && o->arg[0] == '{')
                r = option_parse_json(o);
        else
                r = qa_parse_opts(o->arg, info->implied, strcmp(info->name, "cpu") == 0, &o->props, &o->n_props);
        if (r < 0)
                return r;

        o->type = prop_value(o, info->typekey);
        o->id = prop_value(o, "id");
        if (!o->id && strcmp(info->name, "blockdev") == 0)
                o->id = prop_value(o, "node-name");
        if (o->type)
                o->type_info = qa_lookup_type(k, info->name, o->type);
        for (size_t i = 0; i < o->n_props; i++) {
                struct qa_prop *p = &o->props[i];

                p->info = qa_lookup_prop(k, info->name, info->scoped ? o->type : NULL, p->key);
                if (!p->info && strchr(p->key, '.') && (r = nested_node(k, o, p)) < 0)
                        return r;
                if (!p->info && strcmp(info->name, "cpu") == 0 && strchr(p->key, '_')) {
                        /* QEMU accepts CPU feature names with '_' for '-' (ds_cpl is ds-cpl). */
                        _cleanup_free_ char *dashed = strdup(p->key);
                        if (!dashed)
                                return -ENOMEM;
                        for (char *c = dashed; *c; c++)
                                if (*c == '_')
                                        *c = '-';
                        p->info = qa_lookup_prop(k, info->name, NULL, dashed);
                }
        }
        return 0;
}

static bool is_env_assignment(const char *w)
{
        size_t i = 0;

        if (!(w[0] == '_' || (w[0] >= 'A' && w[0] <= 'Z') || (w[0] >= 'a' && w[0] <= 'z')))
                return false;
        while (w[i] == '_' || (w[i] >= 'A' && w[i] <= 'Z') || (w[i] >= 'a' && w[i] <= 'z') ||
               (w[i] >= '0' && w[i] <= '9'))
                i++;
        return w[i] == '=';
}

static bool looks_like_qemu(const char *w)
{
        const char *base = strrchr(w, '/');

        base = base ? base + 1 : w;
        return strncmp(base, "qemu", 4) == 0 || strcmp(base, "kvm") == 0 || strncmp(base, "qemu-kvm", 8) == 0;
}

static int strv_push(char ***v, size_t *n, const char *s)
{
        char **nv = qa_grow(*v, *n, sizeof(char *));

        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv[*n] = strdup(s);
        if (!nv[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

/* Finds where the options start; fills env, prefix and binary. Returns the index of the first option. */
static int split_head(struct qa_cmdline *cl, char *const *words, size_t n, size_t *ret_start)
{
        size_t bin = n;
        int r;

        /*
         * The QEMU binary may follow `sudo -u qemu`, `env -i A=b`, a prompt or
         * `ps -ef` columns; past the first option word only a name that cannot
         * be an argument counts (qemu-system-*, qemu-kvm, kvm), not -L's /usr/share/qemu.
         */
        bool dash = false;

        for (size_t i = 0; i < n; i++) {
                const char *base = strrchr(words[i], '/');

                base = base ? base + 1 : words[i];
                dash = dash || words[i][0] == '-';
                if (words[i][0] != '-' && looks_like_qemu(words[i]) &&
                    (!dash || strncmp(base, "qemu-system-", 12) == 0 || strcmp(base, "qemu-kvm") == 0 ||
                     strcmp(base, "kvm") == 0)) {
                        bin = i;
                        break;
                }
        }
        if (bin == n) {
                /* No QEMU-looking binary: the first word is it unless it is an option or VAR=value. */
                size_t i = 0;
                while (i < n && is_env_assignment(words[i]))
                        i++;
                bin = (i < n && words[i][0] != '-') ? i : n;
                if (bin == n) {
                        for (size_t j = 0; j < i; j++)
                                if ((r = strv_push(&cl->env, &cl->n_env, words[j])) < 0)
                                        return r;
                        *ret_start = i;
                        return 0;
                }
        }
        for (size_t i = 0; i < bin; i++) {
                if (is_env_assignment(words[i]))
                        r = strv_push(&cl->env, &cl->n_env, words[i]);
                else
                        r = strv_push(&cl->prefix, &cl->n_prefix, words[i]);
                if (r < 0)
                        return r;
        }
        cl->binary = strdup(words[bin]);
        if (!cl->binary)
                return -ENOMEM;
        cl->binary_index = bin;
        *ret_start = bin + 1;
        return 0;
}

static struct qa_option *option_new(struct qa_cmdline *cl)
{
        struct qa_option *o = qa_grow(cl->opts, cl->n_opts, sizeof(*o));

        if (!o)
                return NULL;
        cl->opts = o;
        o = &cl->opts[cl->n_opts++];
        *o = (struct qa_option){0};
        return o;
}

int qa_parse_argv(const struct qa_knowledge *k, char *const *words, size_t n, struct qa_cmdline **ret)
{
        _cleanup_(qa_cmdline_freep) struct qa_cmdline *cl = NULL;
        size_t i;
        int r;

        if (n == 0)
                return -ENODATA;
        cl = calloc(1, sizeof(*cl));
        if (!cl)
                return -ENOMEM;
        cl->knowledge = k;
        r = split_head(cl, words, n, &i);
        if (r < 0)
                return r;

        while (i < n) {
                const char *w = words[i];
                struct qa_option *o = option_new(cl);

                if (!o)
                        return -ENOMEM;
                o->index = i;
                if (w[0] != '-' || w[1] == '\0') {
                        /* QEMU takes a bare argument as the first hard disk image. */
                        o->name = strdup("");
                        o->arg = strdup(w);
                        o->info = qa_lookup_option(k, "hda");
                        if (!o->name || !o->arg)
                                return -ENOMEM;
                        i++;
                        continue;
                }
                o->word = strdup(w);
                o->name = strdup(w + (w[1] == '-' ? 2 : 1));
                if (!o->word || !o->name)
                        return -ENOMEM;
                o->info = qa_lookup_option(k, o->name);
                i++;
                if (o->info && o->info->arg != QA_ARG_NONE) {
                        if (i >= n) {
                                o->missing_arg = true;
                                continue;
                        }
                        o->arg = strdup(words[i++]);
                        if (!o->arg)
                                return -ENOMEM;
                        r = option_parse_arg(k, o);
                        if (r < 0)
                                return r;
                } else if (!o->info && i < n && words[i][0] != '-') {
                        /* Unknown: QEMU would refuse it; take a following non-option word as its argument. */
                        o->arg = strdup(words[i++]);
                        if (!o->arg)
                                return -ENOMEM;
                        o->arg_guessed = true;
                }
        }
        *ret = TAKE_PTR(cl);
        return 0;
}
