/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Cross-checks of a parsed command line, as QEMU applies them when it starts:
 * references that must resolve, ids that must be unique, the -smp topology,
 * memory backends against -m, PCI slots, options where only the last counts,
 * and spellings QEMU has removed or deprecated. Collects findings; printing
 * is the caller's.
 */
#include <assert.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "qemuargs-internal.h"
#include "qemuargs.h"

void qa_findings_done(struct qa_findings *f)
{
        for (size_t i = 0; i < f->n; i++)
                free(f->v[i].message);
        free(f->v);
        *f = (struct qa_findings){0};
}

static int add(struct qa_findings *f, enum qa_severity sev, size_t opt, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int add(struct qa_findings *f, enum qa_severity sev, size_t opt, const char *fmt, ...)
{
        struct qa_finding *v = qa_grow(f->v, f->n, sizeof(*v));
        va_list ap;
        char *m = NULL;
        int r;

        if (!v)
                return -ENOMEM;
        f->v = v;
        va_start(ap, fmt);
        r = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        v[f->n++] = (struct qa_finding){.severity = sev, .opt = opt, .message = m};
        if (sev == QA_ERROR)
                f->errors++;
        return 0;
}

static const char *value_of(const struct qa_option *o, const char *key)
{
        const char *v = NULL;

        for (size_t i = 0; i < o->n_props; i++)
                if (strcmp(o->props[i].key, key) == 0)
                        v = o->props[i].value;
        return v;
}

/* ---- references and ids ----------------------------------------------------- */

/* The namespaces ids live in, and which options define them. */
enum ns { NS_NETDEV, NS_CHARDEV, NS_BLOCK, NS_OBJECT, NS_DEVICE, NS_AUDIO, NS_MAX };

static const char *const ns_names[NS_MAX] = {"-netdev", "-chardev", "-drive/-blockdev",
                                             "-object", "-device",  "-audiodev"};

static int ns_of_option(const char *name)
{
        static const struct {
                const char *opt;
                enum ns ns;
        } m[] = {{"netdev", NS_NETDEV}, {"chardev", NS_CHARDEV}, {"drive", NS_BLOCK},   {"blockdev", NS_BLOCK},
                 {"object", NS_OBJECT}, {"device", NS_DEVICE},   {"audiodev", NS_AUDIO}};
        for (size_t i = 0; i < ELEMENTSOF(m); i++)
                if (strcmp(m[i].opt, name) == 0)
                        return (int)m[i].ns;
        return -1;
}

/* A key that names something defined elsewhere on the command line. */
static int ns_of_reference(const struct qa_option *o, const char *key)
{
        static const struct {
                const char *key;
                enum ns ns;
        } m[] = {{"netdev", NS_NETDEV},         {"chardev", NS_CHARDEV}, {"drive", NS_BLOCK},    {"memdev", NS_OBJECT},
                 {"memory-backend", NS_OBJECT}, {"iothread", NS_OBJECT}, {"audiodev", NS_AUDIO}, {"bus", NS_DEVICE}};
        size_t kl = strlen(key);

        for (size_t i = 0; i < ELEMENTSOF(m); i++)
                if (strcmp(m[i].key, key) == 0)
                        return (int)m[i].ns;
        /* password-secret=, key-secret=, secret=: -object secret ids. */
        if (kl >= 6 && strcmp(key + kl - 6, "secret") == 0)
                return NS_OBJECT;
        /* -blockdev file=/backing= name nodes when they are not nested objects (JSON flattens those). */
        if (strcmp(o->name, "blockdev") == 0 && (strcmp(key, "file") == 0 || strcmp(key, "backing") == 0))
                return NS_BLOCK;
        return -1;
}

struct id {
        const char *id;
        size_t opt;
};

static int cmp_id(const void *a, const void *b)
{
        const struct id *x = a, *y = b;
        int c = strcmp(x->id, y->id);
        return c ? c : (x->opt > y->opt) - (x->opt < y->opt);
}

struct ids {
        struct id *v[NS_MAX];
        size_t n[NS_MAX];
};

static void ids_done(struct ids *ids)
{
        for (size_t i = 0; i < NS_MAX; i++)
                free(ids->v[i]);
}

static int ids_collect(const struct qa_cmdline *cl, struct ids *ids, struct qa_findings *f)
{
        for (size_t i = 0; i < cl->n_opts; i++) {
                const struct qa_option *o = &cl->opts[i];
                int ns = ns_of_option(o->name);
                const char *id = o->id;
                struct id *v;

                /* -drive without id= gets an automatic one; nothing refers to it. */
                if (ns < 0 || !id)
                        continue;
                v = qa_grow(ids->v[ns], ids->n[ns], sizeof(*v));
                if (!v)
                        return -ENOMEM;
                ids->v[ns] = v;
                v[ids->n[ns]++] = (struct id){.id = id, .opt = i};
        }
        for (size_t ns = 0; ns < NS_MAX; ns++) {
                if (ids->n[ns] > 1)
                        qsort(ids->v[ns], ids->n[ns], sizeof(struct id), cmp_id);
                for (size_t i = 1; i < ids->n[ns]; i++)
                        if (strcmp(ids->v[ns][i].id, ids->v[ns][i - 1].id) == 0) {
                                int r = add(f, QA_ERROR, ids->v[ns][i].opt,
                                            "id '%s' is already used by option %zu (%s ids must be unique)",
                                            ids->v[ns][i].id, ids->v[ns][i - 1].opt + 1, ns_names[ns]);
                                if (r < 0)
                                        return r;
                        }
        }
        return 0;
}

static bool ids_has(const struct ids *ids, int ns, const char *id)
{
        struct id key = {.id = id, .opt = 0};
        size_t lo = 0, hi = ids->n[ns];

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(ids->v[ns][mid].id, key.id) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < ids->n[ns] && strcmp(ids->v[ns][lo].id, id) == 0;
}

/* Buses the machine itself provides: pcie.0 on q35, pci.0 on pc, ide.0, isa.0, usb.0 (with -usb)... */
static bool machine_bus(const char *bus)
{
        static const char *const patterns[] = {"pci.[0-9]*",  "pcie.[0-9]*",     "ide.[0-9]*",      "isa.[0-9]*",
                                               "usb.[0-9]*",  "usb-bus.[0-9]*",  "main-system-bus", "sysbus",
                                               "ahci.[0-9]*", "ich9-ahci.[0-9]*"};
        for (size_t i = 0; i < ELEMENTSOF(patterns); i++)
                if (fnmatch(patterns[i], bus, 0) == 0)
                        return true;
        return false;
}

/* bus=ID or bus=ID.N where ID is a -device (a root port, a SCSI or USB controller). */
static bool bus_resolves(const struct ids *ids, const char *bus)
{
        char dev[256];
        const char *dot = strrchr(bus, '.');

        if (machine_bus(bus) || ids_has(ids, NS_DEVICE, bus))
                return true;
        if (!dot || (size_t)(dot - bus) >= sizeof(dev))
                return false;
        memcpy(dev, bus, (size_t)(dot - bus));
        dev[dot - bus] = '\0';
        return ids_has(ids, NS_DEVICE, dev);
}

static int check_references(const struct qa_cmdline *cl, const struct ids *ids, struct qa_findings *f)
{
        const char *readconfig = NULL;

        /* A -readconfig file defines devices too (Proxmox's ehci, ich9-pcie-port-N): their ids may be there. */
        for (size_t i = 0; i < cl->n_opts; i++)
                if (strcmp(cl->opts[i].name, "readconfig") == 0)
                        readconfig = cl->opts[i].arg;
        for (size_t i = 0; i < cl->n_opts; i++) {
                const struct qa_option *o = &cl->opts[i];

                for (size_t p = 0; p < o->n_props; p++) {
                        const struct qa_prop *pr = &o->props[p];
                        int ns = ns_of_reference(o, pr->key), r = 0;

                        if (ns < 0 || !*pr->value || (ns == NS_DEVICE && strcmp(pr->key, "bus") != 0))
                                continue;
                        /* -drive's file= and friends are paths; only -blockdev names nodes there. */
                        if (ns == NS_BLOCK && strcmp(o->name, "drive") == 0)
                                continue;
                        if (ns == NS_DEVICE ? bus_resolves(ids, pr->value) : ids_has(ids, ns, pr->value))
                                continue;
                        /* -blockdev file= may be a plain filename in the legacy form: only flag ids that look like one. */
                        if (ns == NS_BLOCK && strcmp(o->name, "blockdev") == 0 && strchr(pr->value, '/'))
                                continue;
                        r = add(f, readconfig ? QA_WARNING : QA_ERROR, i, "%s=%s names no %s on the command line%s%s",
                                pr->key, pr->value,
                                ns == NS_DEVICE ? "bus (no -device with that id, no machine bus)" : ns_names[ns],
                                readconfig ? "; it may be in -readconfig " : "", readconfig ? readconfig : "");
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* ---- sizes, -smp, memory ------------------------------------------------------ */

/* QEMU's size syntax: a number with an optional K, M, G, T suffix (1024-based); bare unit given. */
static int parse_size(const char *s, unsigned long long bare_unit, unsigned long long *ret)
{
        char *end = NULL;
        double v;
        unsigned long long mult = bare_unit;

        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || v < 0)
                return -EINVAL;
        switch (*end) {
        case '\0':
                break;
        case 'b':
        case 'B':
                mult = 1;
                end++;
                break;
        case 'k':
        case 'K':
                mult = 1ULL << 10;
                end++;
                break;
        case 'm':
        case 'M':
                mult = 1ULL << 20;
                end++;
                break;
        case 'g':
        case 'G':
                mult = 1ULL << 30;
                end++;
                break;
        case 't':
        case 'T':
                mult = 1ULL << 40;
                end++;
                break;
        default:
                return -EINVAL;
        }
        if (*end)
                return -EINVAL;
        *ret = (unsigned long long)(v * (double)mult);
        return 0;
}

static unsigned long num(const struct qa_option *o, const char *key)
{
        const char *v = value_of(o, key);
        return v ? strtoul(v, NULL, 0) : 0;
}

/* QEMU's smp_parse() for machines that prefer cores (every current one). */
static int check_smp(const struct qa_cmdline *cl, size_t i, struct qa_findings *f)
{
        const struct qa_option *o = &cl->opts[i];
        unsigned long cpus = num(o, "cpus"), maxcpus = num(o, "maxcpus"), sockets = num(o, "sockets"),
                      dies = num(o, "dies"), clusters = num(o, "clusters"), cores = num(o, "cores"),
                      threads = num(o, "threads"), total;

        dies = dies ? dies : 1;
        clusters = clusters ? clusters : 1;
        if (cpus == 0 && maxcpus == 0) {
                sockets = sockets ? sockets : 1;
                cores = cores ? cores : 1;
                threads = threads ? threads : 1;
        } else {
                maxcpus = maxcpus ? maxcpus : cpus;
                if (cores == 0) {
                        sockets = sockets ? sockets : 1;
                        threads = threads ? threads : 1;
                        cores = maxcpus / (sockets * dies * clusters * threads);
                } else if (sockets == 0) {
                        threads = threads ? threads : 1;
                        sockets = maxcpus / (dies * clusters * cores * threads);
                }
        }
        if (threads == 0)
                threads = maxcpus / (sockets * dies * clusters * cores);
        total = sockets * dies * clusters * cores * threads;
        maxcpus = maxcpus ? maxcpus : total;
        cpus = cpus ? cpus : maxcpus;
        if (total != maxcpus)
                return add(f, QA_ERROR, i,
                           "the topology gives %lu vCPUs (sockets %lu * dies %lu * clusters %lu * cores %lu * "
                           "threads %lu) but maxcpus is %lu; QEMU refuses it",
                           total, sockets, dies, clusters, cores, threads, maxcpus);
        if (maxcpus < cpus)
                return add(f, QA_ERROR, i, "%lu vCPUs but maxcpus=%lu; QEMU refuses it", cpus, maxcpus);
        return 0;
}

static const struct qa_option *object_by_id(const struct qa_cmdline *cl, const struct ids *ids, const char *id)
{
        for (size_t i = 0; id && i < ids->n[NS_OBJECT]; i++)
                if (strcmp(ids->v[NS_OBJECT][i].id, id) == 0)
                        return &cl->opts[ids->v[NS_OBJECT][i].opt];
        return NULL;
}

static int check_memory(const struct qa_cmdline *cl, const struct ids *ids, struct qa_findings *f)
{
        unsigned long long ram = 128ULL << 20, numa_total = 0, size;
        size_t m_opt = SIZE_MAX, n_numa = 0, last_numa = 0;
        const char *mb = NULL;
        size_t mb_opt = 0;

        for (size_t i = 0; i < cl->n_opts; i++) {
                const struct qa_option *o = &cl->opts[i];

                if (strcmp(o->name, "m") == 0 && value_of(o, "size") &&
                    parse_size(value_of(o, "size"), 1ULL << 20, &size) >= 0) {
                        ram = size;
                        m_opt = i;
                } else if (strcmp(o->name, "machine") == 0 && value_of(o, "memory-backend")) {
                        mb = value_of(o, "memory-backend");
                        mb_opt = i;
                } else if (strcmp(o->name, "numa") == 0 && o->type && strcmp(o->type, "node") == 0) {
                        const struct qa_option *b = object_by_id(cl, ids, value_of(o, "memdev"));
                        const char *mem = value_of(o, "mem");

                        n_numa++;
                        last_numa = i;
                        if (b && parse_size(value_of(b, "size"), 1, &size) >= 0)
                                numa_total += size;
                        else if (mem && parse_size(mem, 1ULL << 20, &size) >= 0)
                                numa_total += size;
                }
        }
        if (n_numa > 0 && numa_total > 0 && numa_total != ram)
                return add(f, QA_ERROR, last_numa,
                           "the NUMA nodes hold %llu MiB but -m gives %llu MiB%s; QEMU refuses it (they must be equal)",
                           numa_total >> 20, ram >> 20, m_opt == SIZE_MAX ? " (the default)" : "");
        if (mb) {
                const struct qa_option *b = object_by_id(cl, ids, mb);
                if (b && parse_size(value_of(b, "size"), 1, &size) >= 0 && size != ram)
                        return add(f, QA_ERROR, mb_opt,
                                   "memory-backend=%s has %llu MiB but -m gives %llu MiB; QEMU refuses it", mb,
                                   size >> 20, ram >> 20);
        }
        return 0;
}

/* ---- PCI slots, repeated options, spellings ------------------------------------- */

struct slot {
        const char *bus; /* "" for the root bus */
        unsigned long slot, fn;
        size_t opt;
};

static int cmp_slot(const void *a, const void *b)
{
        const struct slot *x = a, *y = b;
        int c = strcmp(x->bus, y->bus);

        if (c == 0)
                c = (x->slot > y->slot) - (x->slot < y->slot);
        if (c == 0)
                c = (x->fn > y->fn) - (x->fn < y->fn);
        if (c == 0)
                c = (x->opt > y->opt) - (x->opt < y->opt);
        return c;
}

/* Two devices with the same addr= on the same bus; sorted, so 20,000 devices cost no more than a sort. */
static int check_pci_slots(const struct qa_cmdline *cl, struct qa_findings *f)
{
        _cleanup_free_ struct slot *v = calloc(cl->n_opts + 1, sizeof(*v));
        size_t n = 0;

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < cl->n_opts; i++) {
                const struct qa_option *o = &cl->opts[i];
                const char *addr = strcmp(o->name, "device") == 0 ? value_of(o, "addr") : NULL;
                const char *bus = addr ? value_of(o, "bus") : NULL;

                v[n] = (struct slot){.bus = bus ? bus : "", .opt = i};
                if (addr && sscanf(addr, "%lx.%lx", &v[n].slot, &v[n].fn) >= 1)
                        n++;
        }
        if (n > 1)
                qsort(v, n, sizeof(*v), cmp_slot);
        for (size_t i = 1; i < n; i++) {
                int r;

                if (strcmp(v[i].bus, v[i - 1].bus) != 0 || v[i].slot != v[i - 1].slot || v[i].fn != v[i - 1].fn)
                        continue;
                r = add(f, QA_ERROR, v[i].opt, "PCI address %lx.%lx on %s is already taken by option %zu", v[i].slot,
                        v[i].fn, *v[i].bus ? v[i].bus : "the root bus", v[i - 1].opt + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Options QEMU merges (the last value of a key wins) or replaces (only the last counts). */
static int check_repeated(const struct qa_cmdline *cl, struct qa_findings *f)
{
        static const char *const once[] = {"machine", "M",   "m",    "append", "kernel", "initrd",
                                           "smp",     "cpu", "bios", "name",   "uuid"};

        for (size_t k = 0; k < ELEMENTSOF(once); k++) {
                size_t first = SIZE_MAX, count = 0, last = 0;

                for (size_t i = 0; i < cl->n_opts; i++)
                        if (strcmp(cl->opts[i].name, once[k]) == 0) {
                                if (first == SIZE_MAX)
                                        first = i;
                                last = i;
                                count++;
                        }
                if (count > 1) {
                        int r = add(f, QA_WARNING, last, "-%s is given %zu times (first as option %zu); QEMU %s",
                                    once[k], count, first + 1,
                                    strcmp(once[k], "machine") == 0 || strcmp(once[k], "M") == 0 ||
                                                    strcmp(once[k], "m") == 0 || strcmp(once[k], "smp") == 0
                                            ? "merges them: where a key repeats, the last value wins"
                                            : "uses only the last one");
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int spelling(struct qa_findings *f, size_t i, const char *what, const struct qa_entry *e)
{
        if (!e || !(e->removed || e->deprecated))
                return 0;
        if (e->removed)
                return add(f, QA_ERROR, i, "%s was removed from QEMU%s%s%s%s", what,
                           strcmp(e->removed, "unknown") == 0 ? "" : " in ",
                           strcmp(e->removed, "unknown") == 0 ? "" : e->removed, e->replacement ? "; use " : "",
                           e->replacement ? e->replacement : "");
        return add(f, QA_WARNING, i, "%s is deprecated since QEMU %s%s%s", what, e->deprecated,
                   e->replacement ? "; use " : "", e->replacement ? e->replacement : "");
}

static int check_live(struct qa_findings *f, const struct qa_knowledge *k, size_t v, size_t i,
                      const struct qa_option *o, const char *what)
{
        const struct qa_entry *e = o->type_info && qa_version_rejects(k, v, o->type_info) ? o->type_info
                                   : qa_version_rejects(k, v, o->info)                    ? o->info
                                                                                          : NULL;
        int r = 0;

        if (e)
                return add(f, QA_ERROR, i, "%s: the QEMU given with --qemu (%s) does not have it", what,
                           k->versions[v].name);
        for (size_t p = 0; r >= 0 && p < o->n_props; p++)
                if (qa_version_rejects(k, v, o->props[p].info))
                        r = add(f, QA_ERROR, i, "%s: the QEMU given with --qemu (%s) has no property %s=", what,
                                k->versions[v].name, o->props[p].key);
        return r;
}

static int check_known(const struct qa_cmdline *cl, const struct qa_check_options *co, struct qa_findings *f)
{
        const struct qa_knowledge *k = cl->knowledge;

        for (size_t i = 0; i < cl->n_opts; i++) {
                const struct qa_option *o = &cl->opts[i];
                _cleanup_free_ char *what = NULL;
                int r = 0;

                if (!o->word)
                        continue;
                if (asprintf(&what, "%s%s%s", o->word, o->type ? " " : "", o->type ? o->type : "") < 0)
                        return -ENOMEM;
                if (!o->info)
                        r = add(f, QA_ERROR, i, "%s: no QEMU version vmxrun knows has this option", o->word);
                else if (o->missing_arg)
                        r = add(f, QA_ERROR, i, "%s needs an argument and the command line ends", o->word);
                else if (o->json_error)
                        r = add(f, QA_ERROR, i, "%s: the JSON argument does not parse: %s", o->word, o->json_error);
                else if (o->type && !o->type_info)
                        r = add(f, QA_ERROR, i, "%s: no QEMU version vmxrun knows has the type '%s'", o->word, o->type);
                if (r >= 0)
                        r = spelling(f, i, what, o->info);
                if (r >= 0 && o->type_info)
                        r = spelling(f, i, what, o->type_info);
                for (size_t p = 0; r >= 0 && p < o->n_props; p++) {
                        const struct qa_prop *pr = &o->props[p];
                        bool is_type = o->type && pr->value == o->type;

                        if (is_type || !o->info || (o->type && !o->type_info))
                                continue;
                        if (!pr->info)
                                r = add(f, QA_ERROR, i,
                                        "%s: property %s= is unknown to every QEMU version vmxrun knows", what,
                                        pr->key);
                        else
                                r = spelling(f, i, pr->key, pr->info);
                        if (r >= 0 && pr->shorthand)
                                r = add(f, QA_WARNING, i,
                                        "%s: the short-form boolean '%s%s' is deprecated; write %s=%s", what,
                                        strcmp(pr->value, "off") == 0 ? "no" : "", pr->key, pr->key, pr->value);
                }
                /* The binary given with --qemu: what it would refuse. */
                if (r >= 0 && co && co->live_version < k->n_versions)
                        r = check_live(f, k, co->live_version, i, o, what);
                if (r < 0)
                        return r;
        }
        return 0;
}

int qa_check(const struct qa_cmdline *cl, const struct qa_check_options *co, struct qa_findings *ret)
{
        _cleanup_(ids_done) struct ids ids = {0};
        struct qa_findings f = {0};
        int r;

        r = check_known(cl, co, &f);
        if (r >= 0)
                r = ids_collect(cl, &ids, &f);
        if (r >= 0)
                r = check_references(cl, &ids, &f);
        for (size_t i = 0; r >= 0 && i < cl->n_opts; i++)
                if (strcmp(cl->opts[i].name, "smp") == 0 && cl->opts[i].n_props > 0)
                        r = check_smp(cl, i, &f);
        if (r >= 0)
                r = check_memory(cl, &ids, &f);
        if (r >= 0)
                r = check_pci_slots(cl, &f);
        if (r >= 0)
                r = check_repeated(cl, &f);
        if (r < 0) {
                qa_findings_done(&f);
                return r;
        }
        *ret = f;
        return 0;
}
