/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmx-junosdev.conf: vmx.sh --bind-dev put the taps of virtio Junos ports on
 * Linux bridges. Each link has two endpoints: a Junos port (junos_dev, vm_name
 * = the vmx.conf identifier, dev_name = ge-0/0/N), a host interface
 * (host_dev) or a bridge (bridge_dev). A link with a bridge_dev endpoint uses
 * that bridge; otherwise vmx.sh created a bridge named after link_name. Here
 * the taps get that bridge in the profile, a host_dev becomes its uplink, and
 * the link's mtu the taps' (and the bridge's).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "import-internal.h"

struct endpoint {
        const char *type, *vm_name, *dev_name;
        unsigned line, column;
};

void imp_links_done(struct imp_links *l)
{
        for (size_t i = 0; i < l->n_bridges; i++) {
                free(l->bridges[i].name);
                free(l->bridges[i].uplink);
        }
        free(l->bridges);
        *l = (struct imp_links){0};
}

static const char *scalar(struct imp_ctx *c, const struct vx_ypair *p, const char *path)
{
        if (p->value->type == VX_YNODE_SCALAR && !imp_ynode_is_null(p->value))
                return p->value->value;
        imp_error(c, p->value->line, p->value->column, path, NULL, "expected a string, found %s",
                  imp_ynode_type_to_string(p->value));
        return NULL;
}

/* The seed writes an endpoint as a list of one mapping; a bare mapping is taken too. */
static bool read_endpoint(struct imp_ctx *c, const struct vx_ynode *n, const char *path, struct endpoint *e)
{
        static const char *const keys[] = {"type", "vm_name", "dev_name", NULL};
        static const char *const types[] = {"junos_dev", "host_dev", "bridge_dev", NULL};
        if (n->type == VX_YNODE_SEQUENCE && n->n_items == 1)
                n = n->items[0];
        if (n->type != VX_YNODE_MAPPING) {
                imp_error(c, n->line, n->column, path, NULL, "expected an endpoint (type, dev_name), found %s",
                          imp_ynode_type_to_string(n));
                return false;
        }
        *e = (struct endpoint){.line = n->line, .column = n->column};
        for (size_t i = 0; i < n->n_pairs; i++) {
                const struct vx_ypair *p = &n->pairs[i];
                _cleanup_free_ char *kpath = NULL;

                /* A key path of any length: a truncated one would name the wrong key. */
                if (asprintf(&kpath, "%s.%s", path, p->key) < 0)
                        return false;
                if (strcmp(p->key, "type") == 0)
                        e->type = scalar(c, p, kpath);
                else if (strcmp(p->key, "vm_name") == 0)
                        e->vm_name = scalar(c, p, kpath);
                else if (strcmp(p->key, "dev_name") == 0)
                        e->dev_name = scalar(c, p, kpath);
                else
                        imp_unknown_key(c, p, kpath, keys, "an endpoint");
        }
        if (!e->type || !e->dev_name) {
                imp_error(c, n->line, n->column, path, NULL, "an endpoint needs type and dev_name");
                return false;
        }
        if (strcmp(e->type, "junos_dev") != 0 && strcmp(e->type, "host_dev") != 0 &&
            strcmp(e->type, "bridge_dev") != 0) {
                const char *near = imp_closest(e->type, types);
                imp_error(c, n->line, n->column, path, near ? near : "junos_dev, host_dev or bridge_dev",
                          "unknown endpoint type '%s'", e->type);
                return false;
        }
        if (strcmp(e->type, "junos_dev") != 0 && !imp_ifname_ok(e->dev_name)) {
                imp_error(c, n->line, n->column, path, NULL, "'%s' is not an interface name", e->dev_name);
                return false;
        }
        if (strcmp(e->type, "junos_dev") == 0 && !e->vm_name) {
                imp_error(c, n->line, n->column, path, NULL, "a junos_dev endpoint needs vm_name");
                return false;
        }
        if (strcmp(e->type, "junos_dev") != 0 && e->vm_name)
                imp_warn(c, n->line, n->column, path, NULL, "vm_name applies to junos_dev only; ignored");
        return true;
}

static struct imp_link_bridge *find_bridge(struct imp_links *l, const char *name)
{
        for (size_t i = 0; i < l->n_bridges; i++)
                if (strcmp(l->bridges[i].name, name) == 0)
                        return &l->bridges[i];
        return NULL;
}

static struct imp_link_bridge *add_bridge(struct imp_ctx *c, struct imp_links *l, const char *name, unsigned line)
{
        struct imp_link_bridge *b = find_bridge(l, name), *a;

        if (b)
                return b;
        a = reallocarray(l->bridges, l->n_bridges + 1, sizeof(*a));
        if (!a) {
                c->r = -ENOMEM;
                return NULL;
        }
        l->bridges = a;
        b = &a[l->n_bridges];
        *b = (struct imp_link_bridge){.name = strdup(name), .file = l->base, .line = line};
        if (!b->name) {
                c->r = -ENOMEM;
                return NULL;
        }
        l->n_bridges++;
        return b;
}

static void apply_junos(struct imp_ctx *c, const struct endpoint *e, const char *path, struct imp_instance **ins,
                        size_t n, struct imp_link_bridge *b, const char *link, unsigned link_line, unsigned mtu)
{
        struct imp_instance *in = NULL;
        struct imp_dev *dev = NULL;

        for (size_t i = 0; i < n && !in; i++)
                if (strcmp(ins[i]->id, e->vm_name) == 0)
                        in = ins[i];
        if (!in) {
                imp_warn(c, e->line, e->column, path, "import that instance's vmx.conf too",
                         "vm_name '%s' is not an imported instance: this endpoint is not imported", e->vm_name);
                return;
        }
        if (in->device_type == IMP_SRIOV) {
                imp_warn(c, e->line, e->column, path, NULL,
                         "%s of %s is an SR-IOV VF, not a tap: a bridge cannot take it; not imported", e->dev_name,
                         in->id);
                return;
        }
        for (size_t i = 0; i < in->n_devs && !dev; i++)
                if (in->devs[i].interface && strcmp(in->devs[i].interface, e->dev_name) == 0)
                        dev = &in->devs[i];
        if (!dev) {
                imp_warn(c, e->line, e->column, path, NULL,
                         "%s has no %s in its JUNOS_DEVICES: this endpoint is not imported", in->id, e->dev_name);
                return;
        }
        if (dev->bridge)
                imp_warn(c, e->line, e->column, path, NULL,
                         "%s of %s is already bound by link %s (line %u); this link replaces it, as "
                         "vmx.sh --bind-dev did", e->dev_name, in->id, dev->link, dev->link_line);
        free(dev->bridge);
        free(dev->link);
        dev->bridge = strdup(b->name);
        dev->link = strdup(link);
        if (!dev->bridge || !dev->link)
                c->r = -ENOMEM;
        dev->link_line = link_line;
        dev->link_file = b->file;
        dev->mtu = mtu;
        b->used = true;
}

/* One link of vmx-junosdev.conf as written: its name, MTU and two endpoints. */
struct link_text {
        const char *name;
        unsigned mtu;
        struct endpoint ep[2];
        char path[128], epath[2][160];
};

/* Reads a link's keys; reports what is wrong. Returns true when both endpoints are usable. */
static bool parse_link(struct imp_ctx *c, const struct vx_ynode *l, size_t idx, struct link_text *t)
{
        static const char *const keys[] = {"link_name", "mtu", "endpoint_1", "endpoint_2", NULL};
        bool have[2] = {false, false}, present[2] = {false, false};

        snprintf(t->path, sizeof(t->path), "interfaces[%zu]", idx);
        if (l->type != VX_YNODE_MAPPING) {
                imp_error(c, l->line, l->column, t->path, NULL, "expected a link (link_name, endpoint_1, endpoint_2)");
                return false;
        }
        for (size_t i = 0; i < l->n_pairs; i++) {
                const struct vx_ypair *p = &l->pairs[i];
                char kpath[160];

                snprintf(kpath, sizeof(kpath), "%s.%s", t->path, p->key);
                if (strcmp(p->key, "link_name") == 0)
                        t->name = scalar(c, p, kpath);
                else if (strcmp(p->key, "mtu") == 0) {
                        const char *v = scalar(c, p, kpath);
                        char *end = NULL;
                        unsigned long m = v ? strtoul(v, &end, 10) : 0;

                        if (!v)
                                continue;
                        if (!end || *end || m < 68 || m > 65535)
                                imp_error(c, p->value->line, p->value->column, kpath, NULL,
                                          "mtu is a number 68..65535, not '%s'", v);
                        else
                                t->mtu = (unsigned)m;
                } else if (strcmp(p->key, "endpoint_1") == 0 || strcmp(p->key, "endpoint_2") == 0) {
                        int k = p->key[9] - '1';
                        present[k] = true;
                        snprintf(t->epath[k], sizeof(t->epath[k]), "%s", kpath);
                        have[k] = read_endpoint(c, p->value, kpath, &t->ep[k]);
                } else
                        imp_unknown_key(c, p, kpath, keys, "a link");
        }
        if (!t->name) {
                imp_error(c, l->line, l->column, t->path, NULL, "a link needs link_name");
                return false;
        }
        if (!imp_ifname_ok(t->name)) {
                imp_error(c, l->line, l->column, t->path, NULL,
                          "link_name '%s' is not an interface name (vmx.sh "
                          "named the bridge after it)",
                          t->name);
                return false;
        }
        if (!present[0] || !present[1]) {
                imp_error(c, l->line, l->column, t->path, NULL, "link %s needs endpoint_1 and endpoint_2", t->name);
                return false;
        }
        return have[0] && have[1]; /* else the endpoint's error was reported */
}

/* What a link means for the profile: a bridge (named after a bridge_dev end, else the link), its taps and uplink. */
static void apply_link(struct imp_ctx *c, const struct vx_ynode *l, struct link_text *t, struct imp_instance **ins,
                       size_t n, struct imp_links *links)
{
        const char *bridge = NULL;
        struct imp_link_bridge *b;

        for (int k = 0; k < 2; k++)
                if (strcmp(t->ep[k].type, "bridge_dev") == 0) {
                        if (bridge)
                                imp_warn(c, t->ep[k].line, t->ep[k].column, t->epath[k], NULL,
                                         "two bridges in one link; %s is used", bridge);
                        else
                                bridge = t->ep[k].dev_name;
                }
        b = add_bridge(c, links, bridge ? bridge : t->name, l->line);
        if (!b)
                return;
        if (t->mtu) {
                if (b->mtu && b->mtu != t->mtu)
                        imp_warn(c, l->line, l->column, t->path, NULL,
                                 "bridge %s already has mtu %u from an earlier link; the taps of this link get %u",
                                 b->name, b->mtu, t->mtu);
                else
                        b->mtu = t->mtu;
        }
        for (int k = 0; k < 2; k++) {
                if (strcmp(t->ep[k].type, "junos_dev") == 0)
                        apply_junos(c, &t->ep[k], t->epath[k], ins, n, b, t->name, l->line, t->mtu);
                else if (strcmp(t->ep[k].type, "host_dev") == 0) {
                        if (b->uplink && strcmp(b->uplink, t->ep[k].dev_name) != 0)
                                imp_warn(c, t->ep[k].line, t->ep[k].column, t->epath[k], NULL,
                                         "bridge %s already has uplink %s; a profile bridge has one uplink: %s "
                                         "is not imported",
                                         b->name, b->uplink, t->ep[k].dev_name);
                        else if (!b->uplink && !(b->uplink = strdup(t->ep[k].dev_name)))
                                c->r = -ENOMEM;
                }
        }
}

static void read_link(struct imp_ctx *c, const struct vx_ynode *l, size_t idx, struct imp_instance **ins, size_t n,
                      struct imp_links *links)
{
        struct link_text t = {0};

        if (parse_link(c, l, idx, &t))
                apply_link(c, l, &t, ins, n, links);
}

int imp_apply_junosdev(const struct vx_import_source *src, struct imp_instance **ins, size_t n, struct vx_diags *diags,
                       struct imp_links *ret)
{
        _cleanup_(vx_ystream_freep) struct vx_ystream *s = NULL;
        struct imp_ctx c = {.file = src->name, .diags = diags};
        struct imp_links links = {.file = src->name};
        const struct vx_ynode *root, *list = NULL;
        const char *slash = strrchr(src->name, '/');
        size_t errors = diag_count(diags, VX_DIAG_ERROR);
        int r;

        links.base = slash ? slash + 1 : src->name;
        r = imp_yaml_parse(src->name, src->text, src->len, diags, &s);
        if (r < 0)
                return r;
        if (s->n_docs != 1 || s->docs[0]->type != VX_YNODE_MAPPING) {
                imp_error(&c, s->n_docs ? s->docs[0]->line : 1, 1, "", NULL,
                          "vmx-junosdev.conf is one mapping with an 'interfaces' list");
                return -EINVAL;
        }
        root = s->docs[0];
        for (size_t i = 0; i < root->n_pairs; i++) {
                static const char *const keys[] = {"interfaces", NULL};
                if (strcmp(root->pairs[i].key, "interfaces") == 0)
                        list = root->pairs[i].value;
                else
                        imp_unknown_key(&c, &root->pairs[i], root->pairs[i].key, keys, "vmx-junosdev.conf");
        }
        if (!list || list->type != VX_YNODE_SEQUENCE) {
                imp_error(&c, list ? list->line : root->line, list ? list->column : root->column, "interfaces", NULL,
                          "vmx-junosdev.conf needs an 'interfaces' list of links");
                return c.r < 0 ? c.r : -EINVAL;
        }
        for (size_t i = 0; i < list->n_items; i++)
                read_link(&c, list->items[i], i, ins, n, &links);
        for (size_t i = 0; i < links.n_bridges; i++)
                if (!links.bridges[i].used)
                        imp_warn(&c, links.bridges[i].line, 1, "interfaces", NULL,
                                 "no imported Junos port is on bridge %s: it is not imported%s%s",
                                 links.bridges[i].name, links.bridges[i].uplink ? ", nor its uplink " : "",
                                 links.bridges[i].uplink ? links.bridges[i].uplink : "");
        if (c.r < 0 || diag_count(diags, VX_DIAG_ERROR) > errors) {
                imp_links_done(&links);
                return c.r < 0 ? c.r : -EINVAL;
        }
        *ret = links;
        return 0;
}
