/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "qemuargs.h"

/* Generated at build time from knowledge.txt and the qemu-*.txt data sets (embed.cmake). */
extern const char qa_knowledge_text[];
extern const char qa_knowledge_qemu_7_2[];
extern const char qa_knowledge_qemu_10_0[];

/* Where a table is malformed; the caller says it (this module does not log). */
static int bad(struct qa_knowledge_error *err, unsigned line, const char *reason)
{
        if (err) {
                err->line = line;
                err->reason = reason;
        }
        return -EINVAL;
}

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
        free(e->qemu_text);
        free(e->qemu_type);
        free(e->alias_of);
}

struct qa_knowledge *qa_knowledge_free(struct qa_knowledge *k)
{
        if (!k)
                return NULL;
        for (size_t i = 0; i < k->n_entries; i++)
                entry_done(&k->entries[i]);
        free(k->entries);
        free(k->patterns);
        for (size_t v = 0; v < k->n_versions; v++) {
                free(k->versions[v].name);
                free(k->versions[v].banner);
                for (size_t i = 0; i < k->versions[v].n_covers; i++)
                        free(k->versions[v].covers[i]);
                free(k->versions[v].covers);
        }
        free(k);
        return NULL;
}

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

static int parse_attr(struct qa_entry *e, const char *a, unsigned line, struct qa_knowledge_error *err)
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
                        return bad(err, line, "unknown flag");
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
                        return bad(err, line, "arg= is none, plain or opts");
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(strs); i++)
                if (strlen(strs[i].key) == klen && strncmp(a, strs[i].key, klen) == 0)
                        return set_str((char **)((char *)e + strs[i].off), eq + 1);
        return bad(err, line, "unknown attribute");
}

static int parse_attrs(struct qa_entry *e, const char *attrs, unsigned line, struct qa_knowledge_error *err)
{
        _cleanup_free_ char *copy = NULL;
        char *save = NULL;

        if (!attrs)
                return 0;
        copy = strdup(attrs);
        if (!copy)
                return -ENOMEM;
        for (char *a = strtok_r(copy, " \t", &save); a; a = strtok_r(NULL, " \t", &save)) {
                int r = parse_attr(e, a, line, err);
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
static int parse_line(const char *line, size_t len, unsigned lineno, struct qa_entry *e, struct qa_knowledge_error *err)
{
        char *f[7] = {0};
        size_t nf = 0, start = 0;
        int r = 0;

        for (size_t i = 0; i <= len && r >= 0; i++)
                if (i == len || line[i] == '|') {
                        if (nf == ELEMENTSOF(f)) {
                                r = bad(err, lineno, "too many fields");
                                break;
                        }
                        r = field_dup(line + start, i - start, &f[nf++]);
                        start = i + 1;
                }
        if (r >= 0 && nf < 5)
                r = bad(err, lineno, "expected at least 5 fields");
        if (r >= 0 && parse_kind(f[0], &e->kind) < 0)
                r = bad(err, lineno, "kind is opt, type, prop or rule");
        if (r >= 0 && (!f[2] || !f[4]))
                r = bad(err, lineno, "name and explanation are required");
        if (r >= 0) {
                e->line = lineno;
                e->scope = f[1] ? TAKE_PTR(f[1]) : strdup("");
                e->name = TAKE_PTR(f[2]);
                e->explanation = TAKE_PTR(f[4]);
                e->cost = TAKE_PTR(f[5]);
                e->replacement = TAKE_PTR(f[6]);
                e->arg = QA_ARG_NONE;
                r = e->scope ? parse_attrs(e, f[3], lineno, err) : -ENOMEM;
        }
        for (size_t i = 0; i < ELEMENTSOF(f); i++)
                free(f[i]);
        return r;
}

static struct qa_entry *entry_new(struct qa_knowledge *k)
{
        if (k->n_entries == k->cap) {
                size_t c = k->cap ? k->cap * 2 : 1024;
                struct qa_entry *n = realloc(k->entries, c * sizeof(*n));
                if (!n)
                        return NULL;
                k->entries = n;
                k->cap = c;
        }
        k->entries[k->n_entries] = (struct qa_entry){.order = (unsigned)k->n_entries};
        return &k->entries[k->n_entries];
}

/* Calls fn for each line that is not blank or a comment. */
static int each_line(const char *text, int (*fn)(void *ud, const char *line, size_t len, unsigned lineno), void *ud)
{
        unsigned lineno = 0;

        for (const char *p = text; *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                const char *q = p;

                lineno++;
                while (q < p + len && (*q == ' ' || *q == '\t'))
                        q++;
                if (q < p + len && *q != '#') {
                        int r = fn(ud, p, len, lineno);
                        if (r < 0)
                                return r;
                }
                p += len + (nl ? 1 : 0);
        }
        return 0;
}

struct hand_ctx {
        struct qa_knowledge *k;
        struct qa_knowledge_error *err;
};

static int hand_line(void *ud, const char *line, size_t len, unsigned lineno)
{
        struct hand_ctx *c = ud;
        struct qa_entry *e = entry_new(c->k);
        int r;

        if (!e)
                return -ENOMEM;
        r = parse_line(line, len, lineno, e, c->err);
        if (r < 0) {
                entry_done(e);
                return r;
        }
        c->k->n_entries++;
        return 0;
}

static int cmp_entry(const void *a, const void *b)
{
        const struct qa_entry *x = a, *y = b;
        int c = (int)x->kind - (int)y->kind;

        if (c == 0)
                c = strcmp(x->scope, y->scope);
        if (c == 0)
                c = strcmp(x->name, y->name);
        if (c == 0)
                c = x->order < y->order ? -1 : x->order > y->order;
        return c;
}

static void take(char **dst, char **src)
{
        if (!*dst) {
                *dst = *src;
                *src = NULL;
        }
}

/* src describes the same thing as dst, which was loaded first (the hand-written table before QEMU's data). */
static void merge(struct qa_entry *dst, struct qa_entry *src)
{
        dst->versions |= src->versions;
        take(&dst->qemu_text, &src->qemu_text);
        take(&dst->qemu_type, &src->qemu_type);
        take(&dst->alias_of, &src->alias_of);
        if (dst->generated) {
                take(&dst->default_value, &src->default_value);
                take(&dst->deprecated, &src->deprecated);
                if (src->arg > dst->arg)
                        dst->arg = src->arg;
        } else if (!dst->default_value && src->default_value && *src->default_value) {
                take(&dst->default_value, &src->default_value);
        }
}

/* Sorts, merges entries that describe the same thing, and lists the patterns. */
static int knowledge_index(struct qa_knowledge *k)
{
        size_t o = 0, np = 0;

        if (k->n_entries > 1) /* qsort's base must not be NULL, even for nothing to sort */
                qsort(k->entries, k->n_entries, sizeof(*k->entries), cmp_entry);
        for (size_t i = 0; i < k->n_entries; i++) {
                struct qa_entry *e = &k->entries[i];

                if (o > 0 && k->entries[o - 1].kind == e->kind && strcmp(k->entries[o - 1].scope, e->scope) == 0 &&
                    strcmp(k->entries[o - 1].name, e->name) == 0) {
                        merge(&k->entries[o - 1], e);
                        entry_done(e);
                        continue;
                }
                if (o != i)
                        k->entries[o] = *e;
                k->entries[o].order = (unsigned)o;
                o++;
        }
        k->n_entries = o;
        free(k->patterns);
        k->patterns = NULL;
        k->n_patterns = 0;
        for (size_t i = 0; i < k->n_entries; i++)
                if (strpbrk(k->entries[i].name, "*?["))
                        np++;
        if (np > 0) {
                k->patterns = calloc(np, sizeof(size_t));
                if (!k->patterns)
                        return -ENOMEM;
                for (size_t i = 0; i < k->n_entries; i++)
                        if (strpbrk(k->entries[i].name, "*?["))
                                k->patterns[k->n_patterns++] = i;
        }
        return 0;
}

int qa_knowledge_parse(const char *text, struct qa_knowledge **ret, struct qa_knowledge_error *ret_error)
{
        _cleanup_(qa_knowledge_freep) struct qa_knowledge *k = calloc(1, sizeof(*k));
        struct hand_ctx c = {.k = k, .err = ret_error};
        int r;

        if (!k)
                return -ENOMEM;
        r = each_line(text, hand_line, &c);
        if (r < 0)
                return r;
        r = knowledge_index(k);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

/* ---- QEMU's own data -------------------------------------------------------- */

#define MAX_GROUPS 128

struct gen_ctx {
        struct qa_knowledge *k;
        struct qa_knowledge_error *err;
        struct qa_version *v;
        unsigned bit;
        char *groups[MAX_GROUPS]; /* options that take key=value lists (G lines) */
        size_t n_groups;
        size_t covers_cap;
};

static int strv_add(char ***v, size_t *n, size_t *cap, const char *s, size_t len)
{
        if (*n == *cap) {
                size_t c = *cap ? *cap * 2 : 64;
                char **nv = realloc(*v, c * sizeof(char *));
                if (!nv)
                        return -ENOMEM;
                *v = nv;
                *cap = c;
        }
        (*v)[*n] = strndup(s, len);
        if (!(*v)[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

/* Splits a tab-separated line into at most n fields (NULL past the end). */
static size_t split_tabs(const char *line, size_t len, const char **f, size_t *flen, size_t n)
{
        size_t nf = 0, start = 0;

        for (size_t i = 0; i <= len && nf < n; i++)
                if (i == len || line[i] == '\t') {
                        f[nf] = line + start;
                        flen[nf++] = i - start;
                        start = i + 1;
                }
        for (size_t i = nf; i < n; i++) {
                f[i] = NULL;
                flen[i] = 0;
        }
        return nf;
}

static int dup_field(const char *f, size_t len, char **ret)
{
        if (!f || len == 0) {
                *ret = NULL;
                return 0;
        }
        *ret = strndup(f, len);
        return *ret ? 0 : -ENOMEM;
}

static bool is_group(const struct gen_ctx *c, const char *f, size_t len)
{
        for (size_t i = 0; i < c->n_groups; i++)
                if (strlen(c->groups[i]) == len && strncmp(c->groups[i], f, len) == 0)
                        return true;
        return false;
}

/*
 * V VERSION | G OPTION | O NAME none|arg DESC | T SCOPE NAME DESC [deprecated|bus X]
 * | A SCOPE ALIAS TARGET | P SCOPE NAME TYPE DEFAULT DESC
 */
static int gen_line(void *ud, const char *line, size_t len, unsigned lineno)
{
        struct gen_ctx *c = ud;
        const char *f[6];
        size_t fl[6], nf = split_tabs(line, len, f, fl, 6);
        struct qa_entry *e;
        char kind = fl[0] == 1 ? f[0][0] : '?';
        int r = 0;

        if (kind == 'V')
                return nf >= 2 ? dup_field(f[1], fl[1], &c->v->name) : bad(c->err, lineno, "V without a version");
        if (!c->v->name)
                return bad(c->err, lineno, "data before its V line");
        if (kind == 'G') {
                if (nf < 2 || c->n_groups == MAX_GROUPS)
                        return bad(c->err, lineno, "bad G line");
                return dup_field(f[1], fl[1], &c->groups[c->n_groups++]);
        }
        if (!strchr("OTAP", kind) || nf < 3)
                return bad(c->err, lineno, "expected O, T, A or P with a scope and a name");
        e = entry_new(c->k);
        if (!e)
                return -ENOMEM;
        e->generated = true;
        e->versions = c->bit;
        e->line = lineno;
        if (kind == 'O') {
                e->kind = QA_KIND_OPT;
                e->scope = strdup("");
                r = dup_field(f[1], fl[1], &e->name);
                e->arg = is_group(c, f[1], fl[1])                     ? QA_ARG_OPTS
                         : fl[2] == 3 && strncmp(f[2], "arg", 3) == 0 ? QA_ARG_PLAIN
                                                                      : QA_ARG_NONE;
                if (r >= 0)
                        r = dup_field(f[3], fl[3], &e->qemu_text);
        } else {
                e->kind = kind == 'P' ? QA_KIND_PROP : QA_KIND_TYPE;
                r = dup_field(f[1], fl[1], &e->scope);
                if (r >= 0)
                        r = dup_field(f[2], fl[2], &e->name);
                if (r >= 0 && kind == 'A')
                        r = dup_field(f[3], fl[3], &e->alias_of);
                if (r >= 0 && kind == 'T') {
                        r = dup_field(f[3], fl[3], &e->qemu_text);
                        if (r >= 0 && fl[4] == 10 && strncmp(f[4], "deprecated", 10) == 0)
                                e->deprecated = strdup(c->v->name);
                }
                if (r >= 0 && kind == 'P') {
                        r = dup_field(f[3], fl[3], &e->qemu_type);
                        if (r >= 0)
                                r = dup_field(f[4], fl[4], &e->default_value);
                        if (r >= 0)
                                r = dup_field(f[5], fl[5], &e->qemu_text);
                }
                if (r >= 0 && f[1]) {
                        /* What this data set speaks about: "P device/e1000", "T netdev". */
                        char key[256];
                        int n = snprintf(key, sizeof(key), "%c\t%.*s", kind == 'A' ? 'T' : kind, (int)fl[1], f[1]);
                        if (n > 0 && (size_t)n < sizeof(key))
                                r = strv_add(&c->v->covers, &c->v->n_covers, &c->covers_cap, key, (size_t)n);
                }
        }
        if (r >= 0 && (!e->scope || !e->name))
                r = e->scope ? bad(c->err, lineno, "a name is required") : -ENOMEM;
        if (r >= 0)
                r = set_str(&e->explanation, e->qemu_text ? e->qemu_text : "(QEMU gives no description)");
        if (r < 0) {
                entry_done(e);
                return r;
        }
        c->k->n_entries++;
        return 0;
}

static int cmp_strp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int qa_knowledge_add_qemu(struct qa_knowledge *k, const char *text, bool live, struct qa_knowledge_error *ret_error)
{
        struct gen_ctx c = {.k = k, .err = ret_error};
        struct qa_version *v;
        size_t o = 0, before = k->n_entries;
        int r;

        assert(k && text);
        if (k->n_versions == QA_MAX_VERSIONS)
                return -E2BIG;
        v = &k->versions[k->n_versions];
        *v = (struct qa_version){.live = live};
        c.v = v;
        c.bit = 1u << k->n_versions;
        r = each_line(text, gen_line, &c);
        for (size_t i = 0; i < c.n_groups; i++)
                free(c.groups[i]);
        if (r >= 0 && !v->name)
                r = bad(ret_error, 1, "no V line");
        if (r >= 0) {
                if (v->n_covers > 1) /* a version that covers nothing has no array to sort */
                        qsort(v->covers, v->n_covers, sizeof(char *), cmp_strp);
                for (size_t i = 0; i < v->n_covers; i++) {
                        if (o > 0 && strcmp(v->covers[o - 1], v->covers[i]) == 0) {
                                free(v->covers[i]);
                                continue;
                        }
                        v->covers[o++] = v->covers[i];
                }
                v->n_covers = o;
                /* The banner is the comment line after the first. */
                const char *b = strstr(text, "\n# ");
                if (b && !(v->banner = strndup(b + 3, strcspn(b + 3, "\n"))))
                        r = -ENOMEM;
        }
        k->n_versions++; /* even on failure, so that qa_knowledge_free() frees it */
        if (r < 0) {
                /* Drop what this data set added: it is all past the indexed part. */
                for (size_t i = before; i < k->n_entries; i++)
                        entry_done(&k->entries[i]);
                k->n_entries = before;
                return r;
        }
        r = knowledge_index(k);
        return r < 0 ? r : (int)(k->n_versions - 1);
}

int qa_knowledge_new_builtin(struct qa_knowledge **ret, struct qa_knowledge_error *ret_error)
{
        _cleanup_(qa_knowledge_freep) struct qa_knowledge *k = NULL;
        int r;

        r = qa_knowledge_parse(qa_knowledge_text, &k, ret_error);
        if (r >= 0)
                r = qa_knowledge_add_qemu(k, qa_knowledge_qemu_7_2, false, ret_error);
        if (r >= 0)
                r = qa_knowledge_add_qemu(k, qa_knowledge_qemu_10_0, false, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

const struct qa_knowledge *qa_knowledge_builtin(void)
{
        static struct qa_knowledge *builtin;
        static bool failed;

        if (!builtin && !failed)
                failed = qa_knowledge_new_builtin(&builtin, NULL) < 0;
        return builtin;
}

static const struct qa_entry *lookup(const struct qa_knowledge *k, enum qa_kind kind, const char *scope,
                                     const char *name, bool patterns)
{
        struct qa_entry key = {.kind = kind, .scope = (char *)scope, .name = (char *)name, .order = 0};
        size_t lo = 0, hi;

        if (!k || !name)
                return NULL;
        /* The first entry not below the key (order 0 sorts before every real one with that name). */
        hi = k->n_entries;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (cmp_entry(&k->entries[mid], &key) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo < k->n_entries && k->entries[lo].kind == kind && strcmp(k->entries[lo].scope, scope) == 0 &&
            strcmp(k->entries[lo].name, name) == 0)
                return &k->entries[lo];
        if (!patterns)
                return NULL;
        /* Exact names win over patterns, so a pattern never hides a specific entry. */
        for (size_t i = 0; i < k->n_patterns; i++) {
                const struct qa_entry *e = &k->entries[k->patterns[i]];
                if (e->kind == kind && strcmp(e->scope, scope) == 0 && fnmatch(e->name, name, 0) == 0)
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
                char scope[512];
                const struct qa_entry *t = qa_lookup_type(k, option, type);
                const char *name = t ? (t->alias_of ? t->alias_of : t->name) : type;

                /* A pattern type ("pc-i440fx-*") scopes its properties under the pattern; an alias under its target. */
                if (snprintf(scope, sizeof(scope), "%s/%s", option, name) >= (int)sizeof(scope))
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

/* Whether version v lists anything of e's kind in e's scope, so that its silence means "rejects". */
static bool version_covers(const struct qa_version *v, const struct qa_entry *e)
{
        char key[256];
        char *p = key;

        if (e->kind == QA_KIND_OPT)
                return true;
        if (e->kind != QA_KIND_TYPE && e->kind != QA_KIND_PROP)
                return false;
        if (snprintf(key, sizeof(key), "%c\t%s", e->kind == QA_KIND_PROP ? 'P' : 'T', e->scope) >= (int)sizeof(key))
                return false;
        return bsearch(&p, v->covers, v->n_covers, sizeof(char *), cmp_strp) != NULL;
}

bool qa_version_rejects(const struct qa_knowledge *k, size_t v, const struct qa_entry *e)
{
        assert(v < k->n_versions);
        /* Entries no data set lists (vmxrun's own notes on removed or unlisted things) are not judged. */
        if (!e || e->versions == 0 || e->unlisted || e->downstream)
                return false;
        return !(e->versions & (1u << v)) && version_covers(&k->versions[v], e);
}

char *qa_versions_note(const struct qa_knowledge *k, const struct qa_entry *e)
{
        char *out = NULL;
        size_t len = 0;
        FILE *f;
        bool any_rejects = false, first = true;

        for (size_t v = 0; v < k->n_versions; v++)
                if (!k->versions[v].live && qa_version_rejects(k, v, e))
                        any_rejects = true;
        if (!any_rejects)
                return NULL;
        f = open_memstream(&out, &len);
        if (!f)
                return NULL;
        if (e->since)
                fprintf(f, "since %s; ", e->since);
        for (size_t v = 0; v < k->n_versions; v++)
                if (!k->versions[v].live && (e->versions & (1u << v))) {
                        fprintf(f, "%sQEMU %s", first ? "" : ", ", k->versions[v].name);
                        first = false;
                }
        if (!first)
                fputs(" accepts it; ", f);
        first = true;
        for (size_t v = 0; v < k->n_versions; v++)
                if (!k->versions[v].live && qa_version_rejects(k, v, e)) {
                        fprintf(f, "%sQEMU %s", first ? "" : ", ", k->versions[v].name);
                        first = false;
                }
        fputs(" rejects it", f);
        if (fclose(f) != 0) {
                free(out);
                return NULL;
        }
        return out;
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
