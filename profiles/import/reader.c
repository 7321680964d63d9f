/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmx.conf -> struct imp_instance. The keys are those of vmx.sh 15.1's
 * vmx.conf as the seed documents it (sections HOST, BRIDGES, CONTROL_PLANE,
 * FORWARDING_PLANE, JUNOS_DEVICES); anything else is reported, not guessed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "import-internal.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct imp_instance *, imp_instance_free)

static const struct vx_yaml_options vmxconf_yaml = {
        .multi_document = true,
        .keep_duplicate_keys = true,
        .first_error_only = true,
        .utf8_only = false,
        .raw_syntax_errors = true,
        .max_depth = VX_YAML_MAX_DEPTH + 1, /* the importer's own reader counted from 0 */
        .wording = VX_YAML_WORDING_VMXCONF,
};

int imp_yaml_parse(const char *file, const char *text, size_t len, struct vx_diags *diags,
                   struct vx_ystream **ret)
{
        _cleanup_(vx_ystream_freep) struct vx_ystream *s = NULL;
        size_t n = 0;
        int r;

        r = vx_yaml_parse(file, text, len, &vmxconf_yaml, diags, &s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_docs; i++)
                if (imp_ynode_is_null(s->docs[i])) /* "---" followed only by comments */
                        vx_ynode_free(s->docs[i]);
                else
                        s->docs[n++] = s->docs[i];
        s->n_docs = n;
        *ret = TAKE_PTR(s);
        return 0;
}

bool imp_ynode_is_null(const struct vx_ynode *n)
{
        return !n || vx_ynode_is_null(n) ||
               (n->type == VX_YNODE_SCALAR && n->plain && strcasecmp(n->value, "null") == 0);
}

const char *imp_ynode_type_to_string(const struct vx_ynode *n)
{
        if (!n)
                return "nothing";
        return imp_ynode_is_null(n) ? "null" : vx_ynode_type_to_string(n);
}

void imp_diag(struct imp_ctx *c, enum vx_diag_severity sev, unsigned line, unsigned column, const char *path,
              const char *hint, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0) {
                msg = NULL;
                c->r = -ENOMEM;
                return;
        }
        if (diag_add(c->diags, sev, c->file, line, column, path, hint, "%s", msg) < 0)
                c->r = -ENOMEM;
}

const char *imp_closest(const char *s, const char *const *known)
{
        const char *best = NULL;
        size_t best_d = 3;

        for (size_t i = 0; known[i]; i++) {
                size_t d = diag_edit_distance(s, known[i]);
                if (d < best_d) {
                        best_d = d;
                        best = known[i];
                }
        }
        return best;
}

void imp_unknown_key(struct imp_ctx *c, const struct vx_ypair *p, const char *path, const char *const *known,
                     const char *what)
{
        const char *near = imp_closest(p->key, known);
        _cleanup_free_ char *hint = NULL;

        if (near && asprintf(&hint, "did you mean '%s'?", near) < 0) {
                c->r = -ENOMEM;
                return;
        }
        imp_warn(c, p->line, p->column, path, hint, "unknown key '%s' in %s: not imported", p->key, what);
}

char *imp_mac_parse(const char *s, bool *ret_repaired)
{
        unsigned b[6];
        bool repaired = false;
        char *out;

        if (strlen(s) != 17)
                return NULL;
        for (size_t i = 0; i < 6; i++) {
                const char *g = s + i * 3;
                if (!isxdigit((unsigned char)g[0]) || !isxdigit((unsigned char)g[1]))
                        return NULL;
                if (i < 5) {
                        if (g[2] != ':' && g[2] != '.' && g[2] != '-')
                                return NULL;
                        repaired |= g[2] != ':';
                }
                if (sscanf(g, "%2x", &b[i]) != 1)
                        return NULL;
        }
        if (asprintf(&out, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]) < 0)
                return NULL;
        *ret_repaired = repaired;
        return out;
}

struct imp_instance *imp_instance_free(struct imp_instance *in)
{
        if (!in)
                return NULL;
        free(in->id);
        free(in->mgmt);
        free(in->re_image);
        free(in->re_hdd);
        free(in->fe_image);
        free(in->br_ext);
        free(in->br_int);
        free(in->br_ge);
        free(in->vcp.mac);
        free(in->vcp.int_mac);
        free(in->vfp.mac);
        free(in->vfp.int_mac);
        for (size_t i = 0; i < in->n_devs; i++) {
                struct imp_dev *d = &in->devs[i];
                free(d->interface);
                free(d->tap);
                free(d->mac);
                free(d->description);
                free(d->nic);
                free(d->bridge);
                free(d->link);
        }
        free(in->devs);
        free(in);
        return NULL;
}

/* --- typed getters: wrong type = error, out of what any VM can have = error --- */

static bool want_scalar(struct imp_ctx *c, const struct vx_ypair *p, const char *path, const char *what)
{
        if (p->value->type == VX_YNODE_SCALAR && !imp_ynode_is_null(p->value))
                return true;
        imp_error(c, p->value->line, p->value->column, path, NULL, "expected %s, found %s", what,
                  imp_ynode_type_to_string(p->value));
        return false;
}

/* A string without control characters; commas only when allow_comma (QEMU options cannot take them). */
static int get_string(struct imp_ctx *c, const struct vx_ypair *p, const char *path, bool allow_comma, char **ret)
{
        const char *v;

        if (!want_scalar(c, p, path, "a string"))
                return -EINVAL;
        v = p->value->value;
        for (const char *s = v; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f || (!allow_comma && *s == ',')) {
                        imp_error(c, p->value->line, p->value->column, path,
                                  *s == ',' ? "rename the file or directory" : NULL,
                                  "'%s' holds a %s, which a QEMU option cannot take", v,
                                  *s == ',' ? "comma" : "control character");
                        return -EINVAL;
                }
        free(*ret);
        *ret = strdup(v);
        if (!*ret)
                c->r = -ENOMEM;
        return *ret ? 0 : -ENOMEM;
}

static int get_uint(struct imp_ctx *c, const struct vx_ypair *p, const char *path, unsigned min, unsigned max,
                    unsigned *ret)
{
        const char *v;
        char *end = NULL;
        unsigned long n;

        if (!want_scalar(c, p, path, "a number"))
                return -EINVAL;
        v = p->value->value;
        errno = 0;
        n = strtoul(v, &end, 10);
        if (!isdigit((unsigned char)v[0]) || errno || *end || !p->value->plain) {
                imp_error(c, p->value->line, p->value->column, path, NULL, "expected a whole number, found '%s'", v);
                return -EINVAL;
        }
        if (n < min || n > max) {
                imp_error(c, p->value->line, p->value->column, path, NULL, "%lu is out of range %u..%u", n, min, max);
                return -EINVAL;
        }
        *ret = (unsigned)n;
        return 0;
}

/* An interface name the kernel and vmxrun take: 1..15 bytes, no '/', ':', '%', whitespace. */
bool imp_ifname_ok(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (; *s; s++)
                if (*s == '/' || *s == ':' || *s == '%' || isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
                        return false;
        return true;
}

static int get_ifname(struct imp_ctx *c, const struct vx_ypair *p, const char *path, char **ret)
{
        int r = get_string(c, p, path, false, ret);

        if (r < 0)
                return r;
        if (!imp_ifname_ok(*ret)) {
                imp_error(c, p->value->line, p->value->column, path, NULL,
                          "'%s' is not an interface name (1 to 15 bytes, no '/', ':', '%%' or spaces)", *ret);
                return -EINVAL;
        }
        return 0;
}

static void get_mac(struct imp_ctx *c, const struct vx_ypair *p, const char *path, char **ret, unsigned *ret_line,
                    unsigned *ret_col)
{
        _cleanup_free_ char *mac = NULL;
        bool repaired = false;
        unsigned b0;

        if (!want_scalar(c, p, path, "a MAC address"))
                return;
        mac = imp_mac_parse(p->value->value, &repaired);
        if (!mac) {
                imp_warn(c, p->value->line, p->value->column, path, "write six hex pairs separated by ':'",
                         "'%s' is not a MAC address: not imported, QEMU picks one", p->value->value);
                return;
        }
        sscanf(mac, "%2x", &b0);
        if ((b0 & 1) || strcmp(mac, "00:00:00:00:00:00") == 0) {
                imp_warn(c, p->value->line, p->value->column, path, "use a locally administered unicast MAC, e.g. 02:...",
                         "'%s' is not a unicast MAC address: not imported, QEMU picks one", p->value->value);
                return;
        }
        if (repaired)
                imp_warn(c, p->value->line, p->value->column, path, NULL,
                         "'%s' mixes separators; imported as %s", p->value->value, mac);
        free(*ret);
        *ret = TAKE_PTR(mac);
        *ret_line = p->line;
        *ret_col = p->column;
}

/* Warns about a key given twice in one mapping (python-yaml, which vmx.sh used, kept the last one). */
static void check_duplicates(struct imp_ctx *c, const struct vx_ynode *map, const char *path)
{
        for (size_t i = 1; i < map->n_pairs; i++)
                for (size_t j = 0; j < i; j++)
                        if (strcmp(map->pairs[i].key, map->pairs[j].key) == 0) {
                                imp_warn(c, map->pairs[i].line, map->pairs[i].column, path, NULL,
                                         "key '%s' is given again (first at line %u); the last one is used, as "
                                         "vmx.sh's python-yaml did", map->pairs[i].key, map->pairs[j].line);
                                break;
                        }
}

static bool want_mapping(struct imp_ctx *c, const struct vx_ynode *n, const char *path)
{
        if (n->type == VX_YNODE_MAPPING) {
                check_duplicates(c, n, path);
                return true;
        }
        imp_error(c, n->line, n->column, path, NULL, "expected a mapping, found %s", imp_ynode_type_to_string(n));
        return false;
}

static bool want_sequence(struct imp_ctx *c, const struct vx_ynode *n, const char *path)
{
        if (n->type == VX_YNODE_SEQUENCE)
                return true;
        imp_error(c, n->line, n->column, path, NULL, "expected a list, found %s", imp_ynode_type_to_string(n));
        return false;
}

/* Reports a required key that is absent; one that is present but invalid was reported already. */
static void missing(struct imp_ctx *c, const struct vx_ynode *map, const char *path, const char *key)
{
        for (size_t i = 0; i < map->n_pairs; i++)
                if (strcmp(map->pairs[i].key, key) == 0)
                        return;
        imp_error(c, map->line, map->column, path, NULL, "required key '%s' is missing", key);
}

/* --- sections --- */

static void read_host(struct imp_ctx *c, const struct vx_ynode *map, struct imp_instance *in)
{
        static const char *const keys[] = {"identifier", "host-management-interface", "routing-engine-image",
                                           "routing-engine-hdd", "forwarding-engine-image", NULL};
        char path[128];

        if (!want_mapping(c, map, "HOST"))
                return;
        for (size_t i = 0; i < map->n_pairs; i++) {
                const struct vx_ypair *p = &map->pairs[i];

                snprintf(path, sizeof(path), "HOST.%s", p->key);
                if (strcmp(p->key, "identifier") == 0) {
                        if (get_string(c, p, path, false, &in->id) < 0)
                                continue;
                        in->line_id = p->line;
                        in->col_id = p->column;
                        bool bad = false;
                        for (const char *s = in->id; *s && !bad; s++)
                                if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-') {
                                        imp_error(c, p->value->line, p->value->column, path, NULL,
                                                  "'%s': an identifier takes letters, digits, '_', '.' and '-'",
                                                  in->id);
                                        bad = true;
                                }
                        if (bad)
                                continue;
                        if (strlen(in->id) > 7)
                                imp_error(c, p->value->line, p->value->column, path, "vmx.sh allows 4 characters",
                                          "'%s' is too long: the tap vcp_ext-%s would exceed 15 bytes", in->id,
                                          in->id);
                        else if (strlen(in->id) > 4)
                                imp_warn(c, p->value->line, p->value->column, path, NULL,
                                         "'%s' is longer than the 4 characters vmx.sh allows; imported as is",
                                         in->id);
                } else if (strcmp(p->key, "host-management-interface") == 0) {
                        if (get_ifname(c, p, path, &in->mgmt) == 0) {
                                in->line_mgmt = p->line;
                                in->col_mgmt = p->column;
                                imp_warn(c, p->line, p->column, path,
                                         "check bridges[].uplink and move-host-address in the profile",
                                         "vmx.sh moved %s's address, MAC and default route to the external bridge "
                                         "and served its VMs' ipaddr from a libvirt 'route' network; the profile "
                                         "enslaves %s (uplink) and moves its addresses and routes "
                                         "(move-host-address), but not its MAC, and has no DHCP",
                                         in->mgmt, in->mgmt);
                        }
                } else if (strcmp(p->key, "routing-engine-image") == 0) {
                        if (get_string(c, p, path, false, &in->re_image) == 0) {
                                in->line_re_image = p->line;
                                in->col_re_image = p->column;
                        }
                } else if (strcmp(p->key, "routing-engine-hdd") == 0) {
                        if (get_string(c, p, path, false, &in->re_hdd) == 0) {
                                in->line_re_hdd = p->line;
                                in->col_re_hdd = p->column;
                        }
                } else if (strcmp(p->key, "forwarding-engine-image") == 0) {
                        if (get_string(c, p, path, false, &in->fe_image) == 0) {
                                in->line_fe_image = p->line;
                                in->col_fe_image = p->column;
                        }
                } else
                        imp_unknown_key(c, p, path, keys, "HOST");
        }
        if (!in->id)
                missing(c, map, "HOST", "identifier");
        if (!in->re_image)
                missing(c, map, "HOST", "routing-engine-image");
        if (!in->re_hdd)
                missing(c, map, "HOST", "routing-engine-hdd");
        if (!in->fe_image)
                missing(c, map, "HOST", "forwarding-engine-image");
}

static void read_bridges(struct imp_ctx *c, const struct vx_ynode *seq, struct imp_instance *in)
{
        static const char *const keys[] = {"type", "name", NULL};
        char path[128];

        if (!want_sequence(c, seq, "BRIDGES"))
                return;
        for (size_t i = 0; i < seq->n_items; i++) {
                const struct vx_ynode *b = seq->items[i];
                _cleanup_free_ char *type = NULL, *name = NULL;
                unsigned line_name = 0;

                snprintf(path, sizeof(path), "BRIDGES[%zu]", i);
                if (!want_mapping(c, b, path))
                        continue;
                for (size_t k = 0; k < b->n_pairs; k++) {
                        const struct vx_ypair *p = &b->pairs[k];

                        snprintf(path, sizeof(path), "BRIDGES[%zu].%s", i, p->key);
                        if (strcmp(p->key, "type") == 0)
                                (void)get_string(c, p, path, true, &type);
                        else if (strcmp(p->key, "name") == 0) {
                                if (get_ifname(c, p, path, &name) == 0) {
                                        line_name = p->line;
                                        if (strlen(name) > 10)
                                                imp_warn(c, p->value->line, p->value->column, path, NULL,
                                                         "'%s' is longer than the 10 characters vmx.sh allows; "
                                                         "imported as is", name);
                                }
                        } else
                                imp_unknown_key(c, p, path, keys, "a bridge");
                }
                snprintf(path, sizeof(path), "BRIDGES[%zu]", i);
                if (!type || !name) {
                        if (!type && !name)
                                continue; /* errors already given, or an empty item */
                        missing(c, b, path, !type ? "type" : "name");
                        continue;
                }
                if (strcmp(type, "external") != 0) {
                        imp_warn(c, b->line, b->column, path, NULL,
                                 "bridge type '%s' is not one vmx.sh knows (only 'external'): not imported", type);
                        continue;
                }
                if (in->br_ext) {
                        imp_warn(c, b->line, b->column, path, NULL,
                                 "a second external bridge: vmx.sh used the first (%s); not imported", in->br_ext);
                        continue;
                }
                in->br_ext = TAKE_PTR(name);
                in->line_br_ext = line_name;
        }
}

static void read_interfaces(struct imp_ctx *c, const struct vx_ynode *seq, const char *section, const char *port,
                            struct imp_vm *vm)
{
        static const char *const keys[] = {"type", "ipaddr", "macaddr", NULL};
        char path[128];

        snprintf(path, sizeof(path), "%s.interfaces", section);
        if (!want_sequence(c, seq, path))
                return;
        for (size_t i = 0; i < seq->n_items; i++) {
                const struct vx_ynode *it = seq->items[i];

                snprintf(path, sizeof(path), "%s.interfaces[%zu]", section, i);
                if (!want_mapping(c, it, path))
                        continue;
                if (i > 0) {
                        imp_warn(c, it->line, it->column, path, NULL,
                                 "vmx.sh used only the first interface (%s); this one is not imported", port);
                        continue;
                }
                for (size_t k = 0; k < it->n_pairs; k++) {
                        const struct vx_ypair *p = &it->pairs[k];

                        snprintf(path, sizeof(path), "%s.interfaces[%zu].%s", section, i, p->key);
                        if (strcmp(p->key, "macaddr") == 0)
                                get_mac(c, p, path, &vm->mac, &vm->line_mac, &vm->col_mac);
                        else if (strcmp(p->key, "ipaddr") == 0) {
                                if (want_scalar(c, p, path, "an address"))
                                        imp_warn(c, p->line, p->column, path,
                                                 "configure it in the guest",
                                                 "%s is configured inside the guest (%s); vmx.sh only listed it in "
                                                 "the DHCP table of its libvirt network, which vmxrun does not run: "
                                                 "not imported", p->value->value, port);
                        } else if (strcmp(p->key, "type") == 0) {
                                if (want_scalar(c, p, path, "a string") && strcmp(p->value->value, "static") != 0)
                                        imp_warn(c, p->value->line, p->value->column, path, NULL,
                                                 "type '%s': vmx.sh knew only 'static'; not imported",
                                                 p->value->value);
                        } else
                                imp_unknown_key(c, p, path, keys, "an interface");
                }
        }
}

/* CONTROL_PLANE (vfp false) or FORWARDING_PLANE (vfp true). */
static void read_plane(struct imp_ctx *c, const struct vx_ypair *section_pair, bool vfp, struct imp_instance *in)
{
        static const char *const vcp_keys[] = {"vcpus", "memory-mb", "console_port", "interfaces", NULL};
        static const char *const vfp_keys[] = {"vcpus", "memory-mb", "console_port", "device-type", "interfaces",
                                               NULL};
        const char *section = vfp ? "FORWARDING_PLANE" : "CONTROL_PLANE";
        const struct vx_ynode *map = section_pair->value;
        struct imp_vm *vm = vfp ? &in->vfp : &in->vcp;
        bool have_type = false;
        char path[128];

        if (!want_mapping(c, map, section))
                return;
        /* The section's own line ("CONTROL_PLANE:"), not its first key's. */
        vm->line = section_pair->line;
        for (size_t i = 0; i < map->n_pairs; i++) {
                const struct vx_ypair *p = &map->pairs[i];

                snprintf(path, sizeof(path), "%s.%s", section, p->key);
                if (strcmp(p->key, "vcpus") == 0) {
                        if (get_uint(c, p, path, 1, 1024, &vm->vcpus) == 0) {
                                vm->line_vcpus = p->line;
                                if (vfp && vm->vcpus < 3)
                                        imp_warn(c, p->value->line, p->value->column, path, NULL,
                                                 "the VFP needs at least 3 vCPUs (lite mode); imported as is");
                        }
                } else if (strcmp(p->key, "memory-mb") == 0) {
                        if (get_uint(c, p, path, 1, 16u * 1024 * 1024, &vm->memory_mb) == 0)
                                vm->line_memory = p->line;
                } else if (strcmp(p->key, "console_port") == 0) {
                        if (get_uint(c, p, path, 1, 65535, &vm->console_port) == 0) {
                                vm->line_port = p->line;
                                vm->col_port = p->column;
                        }
                } else if (strcmp(p->key, "interfaces") == 0) {
                        read_interfaces(c, p->value, section, vfp ? "the VFP's ext port" : "the VCP's fxp0", vm);
                } else if (vfp && strcmp(p->key, "device-type") == 0) {
                        if (!want_scalar(c, p, path, "virtio or sriov"))
                                continue;
                        have_type = true;
                        in->line_device_type = p->line;
                        in->col_device_type = p->column;
                        if (strcmp(p->value->value, "virtio") == 0)
                                in->device_type = IMP_VIRTIO;
                        else if (strcmp(p->value->value, "sriov") == 0)
                                in->device_type = IMP_SRIOV;
                        else
                                imp_error(c, p->value->line, p->value->column, path, NULL,
                                          "device-type is virtio or sriov, not '%s'", p->value->value);
                } else
                        imp_unknown_key(c, p, path, vfp ? vfp_keys : vcp_keys, section);
        }
        if (!vm->vcpus)
                missing(c, map, section, "vcpus");
        if (!vm->memory_mb)
                missing(c, map, section, "memory-mb");
        if (!vm->console_port)
                missing(c, map, section, "console_port");
        if (vfp && !have_type)
                missing(c, map, section, "device-type");
}

/* Returns whether the item has an 'interface' key (valid or not). */
static bool read_device(struct imp_ctx *c, const struct vx_ynode *d, size_t i, struct imp_dev *dev)
{
        bool have_interface = false;
        static const char *const keys[] = {"interface", "mac-address", "description", "nic", "virtual-function",
                                           "mtu", "port-speed-mbps", NULL};
        char path[128];

        dev->vf = -1;
        dev->speed = -1;
        dev->line = d->line;
        dev->col = d->column;
        for (size_t k = 0; k < d->n_pairs; k++) {
                const struct vx_ypair *p = &d->pairs[k];
                unsigned u;

                snprintf(path, sizeof(path), "JUNOS_DEVICES[%zu].%s", i, p->key);
                if (strcmp(p->key, "interface") == 0) {
                        const char *v;
                        char *end = NULL;
                        unsigned long n = 0;

                        have_interface = true;
                        if (get_string(c, p, path, false, &dev->interface) < 0)
                                continue;
                        v = dev->interface;
                        if (strncmp(v, "ge-0/0/", 7) == 0 && isdigit((unsigned char)v[7]))
                                n = strtoul(v + 7, &end, 10);
                        if (!end || *end || n > 95) {
                                imp_error(c, p->value->line, p->value->column, path, "ge-0/0/0 to ge-0/0/95",
                                          "'%s' is not a vMX port name", v);
                                free(dev->interface);
                                dev->interface = NULL;
                                continue;
                        }
                        dev->index = (unsigned)n;
                } else if (strcmp(p->key, "mac-address") == 0)
                        get_mac(c, p, path, &dev->mac, &dev->line_mac, &dev->col_mac);
                else if (strcmp(p->key, "description") == 0) {
                        if (p->value->type == VX_YNODE_SCALAR && get_string(c, p, path, true, &dev->description) == 0)
                                dev->line_desc = p->line;
                        else if (p->value->type != VX_YNODE_SCALAR)
                                imp_error(c, p->value->line, p->value->column, path, NULL,
                                          "expected a string, found %s", imp_ynode_type_to_string(p->value));
                } else if (strcmp(p->key, "nic") == 0) {
                        if (get_ifname(c, p, path, &dev->nic) == 0)
                                dev->line_nic = p->line;
                } else if (strcmp(p->key, "virtual-function") == 0) {
                        if (get_uint(c, p, path, 0, 255, &u) == 0) {
                                dev->vf = (int)u;
                                dev->line_vf = p->line;
                                dev->col_vf = p->column;
                        }
                } else if (strcmp(p->key, "port-speed-mbps") == 0) {
                        if (get_uint(c, p, path, 1, 1000000, &u) == 0) {
                                dev->speed = (int)u;
                                dev->line_speed = p->line;
                        }
                } else if (strcmp(p->key, "mtu") == 0) {
                        (void)get_uint(c, p, path, 68, 65535, &u); /* reported in check_device() */
                } else
                        imp_unknown_key(c, p, path, keys, "a Junos device");
        }
        return have_interface;
}

static void check_device(struct imp_ctx *c, const struct vx_ynode *d, size_t i, struct imp_instance *in,
                         struct imp_dev *dev)
{
        char path[128];

        snprintf(path, sizeof(path), "JUNOS_DEVICES[%zu]", i);
        for (size_t k = 0; k < d->n_pairs; k++) {
                const struct vx_ypair *p = &d->pairs[k];
                char kpath[160];

                snprintf(kpath, sizeof(kpath), "%s.mtu", path);
                if (strcmp(p->key, "mtu") != 0 || p->value->type != VX_YNODE_SCALAR)
                        continue;
                if (in->device_type == IMP_SRIOV)
                        imp_warn(c, p->line, p->column, kpath, "set the MTU of the physical port on the host",
                                 "mtu %s is the physical port's (vmx.sh ran `ifconfig %s mtu %s`); the profile has "
                                 "no MTU for a VF or its port: not imported", p->value->value,
                                 dev->nic ? dev->nic : "NIC", p->value->value);
                else
                        imp_warn(c, p->line, p->column, kpath, "give it in vmx-junosdev.conf (--junosdev)",
                                 "with device-type virtio the MTU comes from vmx-junosdev.conf, not vmx.conf: not "
                                 "imported");
        }
        if (in->device_type == IMP_SRIOV) {
                if (!dev->nic)
                        missing(c, d, path, "nic");
                if (dev->vf < 0)
                        missing(c, d, path, "virtual-function");
                return;
        }
        /* virtio: the SR-IOV keys do not apply. */
        for (size_t k = 0; k < d->n_pairs; k++) {
                const struct vx_ypair *p = &d->pairs[k];
                if (strcmp(p->key, "nic") == 0 || strcmp(p->key, "virtual-function") == 0 ||
                    strcmp(p->key, "port-speed-mbps") == 0)
                        imp_warn(c, p->line, p->column, path, NULL,
                                 "'%s' applies to device-type sriov only; not imported (device-type is virtio)",
                                 p->key);
        }
}

static void read_devices(struct imp_ctx *c, const struct vx_ynode *seq, struct imp_instance *in)
{
        char path[128];

        in->line_devs = seq->line;
        if (!want_sequence(c, seq, "JUNOS_DEVICES"))
                return;
        in->devs = calloc(seq->n_items ? seq->n_items : 1, sizeof(*in->devs));
        if (!in->devs) {
                c->r = -ENOMEM;
                return;
        }
        for (size_t i = 0; i < seq->n_items; i++) {
                const struct vx_ynode *d = seq->items[i];
                struct imp_dev *dev = &in->devs[in->n_devs];

                snprintf(path, sizeof(path), "JUNOS_DEVICES[%zu]", i);
                if (!want_mapping(c, d, path))
                        continue;
                in->n_devs++;
                if (!read_device(c, d, i, dev))
                        missing(c, d, path, "interface");
                if (!dev->interface)
                        continue;
                for (size_t k = 0; k + 1 < in->n_devs; k++)
                        if (in->devs[k].interface && strcmp(in->devs[k].interface, dev->interface) == 0)
                                imp_error(c, d->line, d->column, path, NULL, "%s is listed twice (first at line %u)",
                                          dev->interface, in->devs[k].line);
                if (dev->index != in->n_devs - 1)
                        imp_warn(c, d->line, d->column, path, "list the ports in order, from ge-0/0/0",
                                 "%s is the %zu. port of the list: vmx.sh created the NICs in list order and the "
                                 "VFP numbers its ports by PCI order, so it may come up as ge-0/0/%zu",
                                 dev->interface, in->n_devs, in->n_devs - 1);
        }
}

static const char *const sections[] = {"HOST", "BRIDGES", "CONTROL_PLANE", "FORWARDING_PLANE", "JUNOS_DEVICES", NULL};

static int section_index(const char *key)
{
        for (int i = 0; sections[i]; i++)
                if (strcmp(sections[i], key) == 0)
                        return i;
        return -1;
}

bool vmxconf_detect(const char *text, size_t len)
{
        _cleanup_(vx_ystream_freep) struct vx_ystream *s = NULL;

        if (imp_yaml_parse("", text, len, NULL, &s) < 0)
                return false;
        for (size_t d = 0; d < s->n_docs; d++) {
                const struct vx_ynode *root = s->docs[d];
                for (size_t i = 0; root->type == VX_YNODE_MAPPING && i < root->n_pairs; i++) {
                        int k = section_index(root->pairs[i].key);
                        if (k == 0 || k == 2 || k == 3)
                                return true;
                }
        }
        return false;
}

int imp_read_vmxconf(const struct vx_import_source *src, struct vx_diags *diags, struct imp_instance **ret)
{
        _cleanup_(vx_ystream_freep) struct vx_ystream *s = NULL;
        _cleanup_(imp_instance_freep) struct imp_instance *in = NULL;
        struct imp_ctx c = {.file = src->name, .diags = diags};
        const struct vx_ypair *seen[ELEMENTSOF(sections)] = {0};
        const char *slash;
        size_t errors = diag_count(diags, VX_DIAG_ERROR);
        int r;

        r = imp_yaml_parse(src->name, src->text, src->len, diags, &s);
        if (r < 0)
                return r;
        in = calloc(1, sizeof(*in));
        if (!in)
                return -ENOMEM;
        in->file = src->name;
        slash = strrchr(src->name, '/');
        in->base = slash ? slash + 1 : src->name;

        for (size_t d = 0; d < s->n_docs; d++) {
                const struct vx_ynode *root = s->docs[d];

                if (root->type != VX_YNODE_MAPPING) {
                        imp_error(&c, root->line, root->column, "", NULL,
                                  "a vmx.conf document is a mapping of sections (HOST:, ...), not %s",
                                  imp_ynode_type_to_string(root));
                        continue;
                }
                for (size_t i = 0; i < root->n_pairs; i++) {
                        const struct vx_ypair *p = &root->pairs[i];
                        int k = section_index(p->key);

                        if (k < 0) {
                                imp_unknown_key(&c, p, p->key, sections, "vmx.conf");
                                continue;
                        }
                        if (seen[k]) {
                                imp_error(&c, p->line, p->column, p->key, NULL,
                                          "section %s is given again (first at line %u)", p->key, seen[k]->line);
                                continue;
                        }
                        seen[k] = p;
                }
        }
        for (size_t k = 0; sections[k]; k++) {
                const struct vx_ypair *p = seen[k];

                if (!p) {
                        if (k == 0 || k == 2 || k == 3)
                                imp_error(&c, 1, 1, sections[k], NULL, "section %s is missing", sections[k]);
                        continue;
                }
                switch (k) {
                case 0:
                        read_host(&c, p->value, in);
                        break;
                case 1:
                        read_bridges(&c, p->value, in);
                        break;
                case 2:
                        read_plane(&c, p, false, in);
                        break;
                case 3:
                        read_plane(&c, p, true, in);
                        break;
                case 4:
                        read_devices(&c, p->value, in);
                        break;
                }
        }
        /* Checks that need the device type, whichever order the sections came in. */
        if (seen[4] && seen[4]->value->type == VX_YNODE_SEQUENCE)
                for (size_t i = 0, j = 0; i < seen[4]->value->n_items && j < in->n_devs; i++) {
                        const struct vx_ynode *d = seen[4]->value->items[i];
                        if (d->type != VX_YNODE_MAPPING)
                                continue;
                        check_device(&c, d, i, in, &in->devs[j++]);
                }
        if (c.r < 0)
                return c.r;
        if (diag_count(diags, VX_DIAG_ERROR) > errors)
                return -EINVAL;
        if (!in->br_ext) {
                in->br_ext = strdup("br-ext");
                if (!in->br_ext)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(in);
        return 0;
}
