/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "log.h"
#include "qemuargs.h"

/* Generated at build time from knowledge.txt (embed.cmake). */
extern const char qa_knowledge_text[];

static void entry_done(struct qa_entry *e)
{
        free(e->scope);
        free(e->name);
        free(e->implied);
        free(e->typekey);
        free(e->default_value);
        free(e->since);
        free(e->deprecated);
        free(e->removed);
        free(e->explanation);
        free(e->cost);
        free(e->replacement);
}

struct qa_knowledge *qa_knowledge_free(struct qa_knowledge *k)
{
        if (!k)
                return NULL;
        for (size_t i = 0; i < k->n_entries; i++)
                entry_done(&k->entries[i]);
        free(k->entries);
        free(k);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct qa_knowledge *, qa_knowledge_free);

/* Copies s[0..len) without surrounding blanks; NULL for an empty field. */
static int field_dup(const char *s, size_t len, char **ret)
{
        while (len > 0 && (*s == ' ' || *s == '\t')) {
                s++;
                len--;
        }
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
                len--;
        if (len == 0) {
                *ret = NULL;
                return 0;
        }
        *ret = strndup(s, len);
        return *ret ? 0 : -ENOMEM;
}

static int set_str(char **dst, const char *v)
{
        free(*dst);
        *dst = strdup(v);
        return *dst ? 0 : -ENOMEM;
}

static int parse_attr(struct qa_entry *e, const char *a, unsigned line)
{
        static const struct {
                const char *key;
                size_t off;
        } strs[] = {
                {"implied", offsetof(struct qa_entry, implied)},
                {"typekey", offsetof(struct qa_entry, typekey)},
                {"default", offsetof(struct qa_entry, default_value)},
                {"since", offsetof(struct qa_entry, since)},
                {"deprecated", offsetof(struct qa_entry, deprecated)},
                {"removed", offsetof(struct qa_entry, removed)},
        };
        const char *eq = strchr(a, '=');
        size_t klen = eq ? (size_t)(eq - a) : strlen(a);

        if (!eq) {
                if (strcmp(a, "json") == 0)
                        e->json = true;
                else if (strcmp(a, "scoped") == 0)
                        e->scoped = true;
                else if (strcmp(a, "feature") == 0)
                        e->feature = true;
                else if (strcmp(a, "downstream") == 0)
                        e->downstream = true;
                else if (strcmp(a, "unlisted") == 0)
                        e->unlisted = true;
                else
                        return log_error_errno(EINVAL, "knowledge line %u: unknown flag '%s'", line, a);
                return 0;
        }
        if (klen == 3 && strncmp(a, "arg", 3) == 0) {
                if (strcmp(eq + 1, "none") == 0)
                        e->arg = QA_ARG_NONE;
                else if (strcmp(eq + 1, "plain") == 0)
                        e->arg = QA_ARG_PLAIN;
                else if (strcmp(eq + 1, "opts") == 0)
                        e->arg = QA_ARG_OPTS;
                else
                        return log_error_errno(EINVAL, "knowledge line %u: bad arg= '%s'", line, eq + 1);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(strs); i++)
                if (strlen(strs[i].key) == klen && strncmp(a, strs[i].key, klen) == 0)
                        return set_str((char **)((char *)e + strs[i].off), eq + 1);
        return log_error_errno(EINVAL, "knowledge line %u: unknown attribute '%.*s'", line, (int)klen, a);
}

static int parse_attrs(struct qa_entry *e, const char *attrs, unsigned line)
{
        _cleanup_free_ char *copy = NULL;
        char *save = NULL;

        if (!attrs)
                return 0;
        copy = strdup(attrs);
        if (!copy)
                return -ENOMEM;
        for (char *a = strtok_r(copy, " \t", &save); a; a = strtok_r(NULL, " \t", &save)) {
                int r = parse_attr(e, a, line);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_kind(const char *s, enum qa_kind *ret)
{
        static const char *const names[] = {
                [QA_KIND_OPT] = "opt",
                [QA_KIND_TYPE] = "type",
                [QA_KIND_PROP] = "prop",
                [QA_KIND_RULE] = "rule",
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (s && strcmp(s, names[i]) == 0) {
                        *ret = (enum qa_kind)i;
                        return 0;
                }
        return -EINVAL;
}

/* One line: KIND | SCOPE | NAME | ATTRS | EXPLANATION | COST | REPLACEMENT */
static int parse_line(const char *line, size_t len, unsigned lineno, struct qa_entry *e)
{
        char *f[7] = {0};
        size_t nf = 0, start = 0;
        int r = 0;

        for (size_t i = 0; i <= len && r >= 0; i++)
                if (i == len || line[i] == '|') {
                        if (nf == ELEMENTSOF(f)) {
                                r = log_error_errno(EINVAL, "knowledge line %u: too many fields", lineno);
                                break;
                        }
                        r = field_dup(line + start, i - start, &f[nf++]);
                        start = i + 1;
                }
        if (r >= 0 && nf < 5)
                r = log_error_errno(EINVAL, "knowledge line %u: expected at least 5 fields", lineno);
        if (r >= 0 && parse_kind(f[0], &e->kind) < 0)
                r = log_error_errno(EINVAL, "knowledge line %u: bad kind '%s'", lineno, f[0] ? f[0] : "");
        if (r >= 0 && (!f[2] || !f[4]))
                r = log_error_errno(EINVAL, "knowledge line %u: name and explanation are required", lineno);
        if (r >= 0) {
                e->line = lineno;
                e->scope = f[1] ? TAKE_PTR(f[1]) : strdup("");
                e->name = TAKE_PTR(f[2]);
                e->explanation = TAKE_PTR(f[4]);
                e->cost = TAKE_PTR(f[5]);
                e->replacement = TAKE_PTR(f[6]);
                e->arg = QA_ARG_NONE;
                r = e->scope ? parse_attrs(e, f[3], lineno) : -ENOMEM;
        }
        for (size_t i = 0; i < ELEMENTSOF(f); i++)
                free(f[i]);
        return r;
}

int qa_knowledge_parse(const char *text, struct qa_knowledge **ret)
{
        _cleanup_(qa_knowledge_freep) struct qa_knowledge *k = calloc(1, sizeof(*k));
        size_t cap = 0;
        unsigned lineno = 0;

        if (!k)
                return -ENOMEM;
        for (const char *p = text; *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                const char *q = p;
                int r;

                lineno++;
                while (q < p + len && (*q == ' ' || *q == '\t'))
                        q++;
                if (q < p + len && *q != '#') {
                        if (k->n_entries == cap) {
                                size_t c = cap ? cap * 2 : 256;
                                struct qa_entry *n = realloc(k->entries, c * sizeof(*n));
                                if (!n)
                                        return -ENOMEM;
                                k->entries = n;
                                cap = c;
                        }
                        k->entries[k->n_entries] = (struct qa_entry){0};
                        r = parse_line(p, len, lineno, &k->entries[k->n_entries]);
                        if (r < 0) {
                                entry_done(&k->entries[k->n_entries]);
                                return r;
                        }
                        k->n_entries++;
                }
                p += len + (nl ? 1 : 0);
        }
        *ret = TAKE_PTR(k);
        return 0;
}

const struct qa_knowledge *qa_knowledge_builtin(void)
{
        static struct qa_knowledge *builtin;

        if (!builtin && qa_knowledge_parse(qa_knowledge_text, &builtin) < 0)
                return NULL;
        return builtin;
}

static const struct qa_entry *lookup(const struct qa_knowledge *k, enum qa_kind kind, const char *scope,
                                     const char *name, bool patterns)
{
        if (!k || !name)
                return NULL;
        for (size_t i = 0; i < k->n_entries; i++) {
                const struct qa_entry *e = &k->entries[i];
                if (e->kind == kind && strcmp(e->scope, scope) == 0 && strcmp(e->name, name) == 0)
                        return e;
        }
        if (!patterns)
                return NULL;
        /* Exact names win over patterns, so a pattern never hides a specific entry. */
        for (size_t i = 0; i < k->n_entries; i++) {
                const struct qa_entry *e = &k->entries[i];
                if (e->kind == kind && strcmp(e->scope, scope) == 0 && strpbrk(e->name, "*?[") &&
                    fnmatch(e->name, name, 0) == 0)
                        return e;
        }
        return NULL;
}

const struct qa_entry *qa_lookup_option(const struct qa_knowledge *k, const char *name)
{
        return lookup(k, QA_KIND_OPT, "", name, false);
}

const struct qa_entry *qa_lookup_type(const struct qa_knowledge *k, const char *option, const char *type)
{
        return lookup(k, QA_KIND_TYPE, option, type, true);
}

const struct qa_entry *qa_lookup_prop(const struct qa_knowledge *k, const char *option, const char *type,
                                      const char *key)
{
        const struct qa_entry *e = NULL;

        if (type) {
                _cleanup_free_ char *scope = NULL;
                const struct qa_entry *t = qa_lookup_type(k, option, type);

                /* A pattern type ("pc-i440fx-*") scopes its properties under the pattern. */
                if (asprintf(&scope, "%s/%s", option, t ? t->name : type) < 0)
                        return NULL;
                e = lookup(k, QA_KIND_PROP, scope, key, false);
        }
        if (!e)
                e = lookup(k, QA_KIND_PROP, option, key, false);
        return e;
}

const struct qa_entry *qa_lookup_rule(const struct qa_knowledge *k, const char *name)
{
        return lookup(k, QA_KIND_RULE, "", name, false);
}

enum qa_status qa_entry_status(const struct qa_entry *e)
{
        if (!e)
                return QA_STATUS_UNKNOWN;
        if (e->removed)
                return QA_STATUS_REMOVED;
        if (e->deprecated)
                return QA_STATUS_DEPRECATED;
        return QA_STATUS_KNOWN;
}

const char *qa_status_to_string(enum qa_status s)
{
        static const char *const names[] = {
                [QA_STATUS_UNKNOWN] = "unknown",
                [QA_STATUS_KNOWN] = "known",
                [QA_STATUS_DEPRECATED] = "deprecated",
                [QA_STATUS_REMOVED] = "removed",
        };
        assert((size_t)s < ELEMENTSOF(names));
        return names[s];
}
