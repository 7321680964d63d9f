/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmxconf_import(): reads each vmx.conf, applies vmx-junosdev.conf, derives
 * what vmx.sh derived (names, MACs of the internal link, pinning, VNC
 * displays), checks what only shows across files, writes the profile and
 * loads it back with profile_load_string() as a last check.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "import-internal.h"
#include "profile.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct vx_profile *, profile_free)

int vmxconf_read_file(const char *path, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        buf = malloc(VX_YAML_MAX_SIZE + 2);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + len, VX_YAML_MAX_SIZE + 1 - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                len += (size_t)k;
                if (len > VX_YAML_MAX_SIZE)
                        return -EFBIG;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static uint32_t fnv1a(const char *s)
{
        uint32_t h = 2166136261u;

        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 16777619u;
        }
        return h;
}

static bool mac_taken(struct imp_instance *const *ins, size_t n, const char *mac)
{
        for (size_t i = 0; i < n; i++) {
                const struct imp_instance *in = ins[i];
                if ((in->vcp.mac && strcmp(in->vcp.mac, mac) == 0) || (in->vfp.mac && strcmp(in->vfp.mac, mac) == 0) ||
                    (in->vcp.int_mac && strcmp(in->vcp.int_mac, mac) == 0) ||
                    (in->vfp.int_mac && strcmp(in->vfp.int_mac, mac) == 0))
                        return true;
                for (size_t d = 0; d < in->n_devs; d++)
                        if (in->devs[d].mac && strcmp(in->devs[d].mac, mac) == 0)
                                return true;
        }
        return false;
}

/* Names and numbers vmx.sh derived from the identifier, and those the rules of docs/import.md give. */
static int derive(struct imp_instance **ins, size_t n, unsigned first_cpu)
{
        unsigned cpu = first_cpu;

        for (size_t i = 0; i < n; i++) {
                struct imp_instance *in = ins[i];
                uint32_t h = fnv1a(in->id);

                /* first_cpu 0: pinning: auto (docs/placement.md), no rule to count. */
                if (asprintf(&in->br_int, "br-int-%s", in->id) < 0 || asprintf(&in->br_ge, "br-ge-%s", in->id) < 0)
                        return -ENOMEM;
                in->first_cpu = cpu;
                if (first_cpu > 0)
                        cpu += in->vcp.vcpus + in->vfp.vcpus;
                in->first_vnc = 2 * (unsigned)i;
                /* 52:54:00 as libvirt, then two bytes of the identifier's hash; bumped while taken. */
                for (;; h++) {
                        _cleanup_free_ char *a = NULL, *b = NULL;
                        if (asprintf(&a, "52:54:00:%02x:%02x:01", (h >> 8) & 0xff, h & 0xff) < 0 ||
                            asprintf(&b, "52:54:00:%02x:%02x:02", (h >> 8) & 0xff, h & 0xff) < 0)
                                return -ENOMEM;
                        if (mac_taken(ins, n, a) || mac_taken(ins, n, b))
                                continue;
                        in->vcp.int_mac = TAKE_PTR(a);
                        in->vfp.int_mac = TAKE_PTR(b);
                        break;
                }
                for (size_t d = 0; d < in->n_devs; d++) {
                        struct imp_dev *dev = &in->devs[d];
                        if (asprintf(&dev->tap, "ge-0.0.%u-%s", dev->index, in->id) < 0)
                                return -ENOMEM;
                }
        }
        return 0;
}

/* What one instance gets wrong by itself: tap names, console ports on VNC ports, the NUMA binding. */
static void check_instance(struct imp_ctx *c, const struct imp_instance *in, unsigned vnc_last)
{
        const struct imp_vm *vms[2] = {&in->vcp, &in->vfp};

        for (size_t d = 0; d < in->n_devs; d++)
                if (strlen(in->devs[d].tap) > 15)
                        imp_error(c, in->devs[d].line, in->devs[d].col, "JUNOS_DEVICES", "use a shorter identifier",
                                  "the tap of %s, %s, would exceed 15 bytes", in->devs[d].interface, in->devs[d].tap);
        for (size_t k = 0; k < 2; k++) {
                const char *sec = k ? "FORWARDING_PLANE" : "CONTROL_PLANE";
                if (vms[k]->console_port >= 5900 && vms[k]->console_port <= vnc_last)
                        imp_error(c, vms[k]->line_port, vms[k]->col_port, sec, "choose another console_port",
                                  "console_port %u is a VNC port of this import (5900 to %u)", vms[k]->console_port,
                                  vnc_last);
        }
        if (in->device_type == IMP_SRIOV)
                imp_warn(c, in->line_device_type, in->col_device_type, "FORWARDING_PLANE.device-type",
                         "set memory.hugepages.node of the VFP",
                         "vmx.sh bound the VFP's memory to the NUMA node of its VFs' ports (numatune "
                         "strict); that node is a fact of the host, not in vmx.conf: not imported");
        if (in->vcp.console_port == in->vfp.console_port)
                imp_error(c, in->vfp.line_port, in->vfp.col_port, "FORWARDING_PLANE.console_port", NULL,
                          "console_port %u is the VCP's too", in->vfp.console_port);
}

/* Two instances of one import: shared disks, identifiers, console ports, the bridge's uplink. */
static void check_pair(struct imp_ctx *c, const struct imp_instance *in, const struct imp_instance *o)
{
        const struct imp_vm *vms[2] = {&in->vcp, &in->vfp};

        const char *mine[3] = {in->re_image, in->re_hdd, in->fe_image};
        const char *theirs[3] = {o->re_image, o->re_hdd, o->fe_image};
        const unsigned lines[3] = {in->line_re_image, in->line_re_hdd, in->line_fe_image};
        const unsigned cols[3] = {in->col_re_image, in->col_re_hdd, in->col_fe_image};
        static const char *const keys[3] = {"HOST.routing-engine-image", "HOST.routing-engine-hdd",
                                            "HOST.forwarding-engine-image"};

        /* vmx.sh copied the images into build/<identifier>/images; vmxrun uses them in place. */
        for (size_t k = 0; k < 3; k++)
                for (size_t q = 0; q < 3; q++)
                        if (strcmp(mine[k], theirs[q]) == 0)
                                imp_warn(c, lines[k], cols[k], keys[k], "give each instance its own copy",
                                         "%s is also %s's disk: vmx.sh copied the images per "
                                         "instance, and QEMU's image locking lets only one VM "
                                         "open it for writing",
                                         mine[k], o->file);
        if (strcmp(o->id, in->id) == 0)
                imp_error(c, in->line_id, in->col_id, "HOST.identifier", NULL, "identifier %s is also %s's", in->id,
                          o->file);
        for (size_t k = 0; k < 2; k++)
                if (vms[k]->console_port == o->vcp.console_port || vms[k]->console_port == o->vfp.console_port)
                        imp_error(c, vms[k]->line_port, vms[k]->col_port, k ? "FORWARDING_PLANE" : "CONTROL_PLANE",
                                  NULL, "console_port %u is also used in %s", vms[k]->console_port, o->file);
        /* One of the two may set none (no strcmp on NULL: that was a crash). */
        if (strcmp(o->br_ext, in->br_ext) == 0 &&
            (!!o->mgmt != !!in->mgmt || (o->mgmt && in->mgmt && strcmp(o->mgmt, in->mgmt) != 0)))
                imp_error(c, in->line_mgmt ? in->line_mgmt : 1, in->line_mgmt ? in->col_mgmt : 1,
                          "HOST.host-management-interface", NULL,
                          "%s has another host-management-interface in %s (%s there, %s here)", in->br_ext, o->file,
                          o->mgmt ? o->mgmt : "none", in->mgmt ? in->mgmt : "none");
        else if (o->mgmt && in->mgmt && strcmp(o->mgmt, in->mgmt) == 0 && strcmp(o->br_ext, in->br_ext) != 0)
                imp_error(c, in->line_mgmt, in->col_mgmt, "HOST.host-management-interface", NULL,
                          "%s is also the uplink of %s (%s); an interface can be in one bridge", in->mgmt, o->br_ext,
                          o->file);
}

/* MACs: each one once in the whole profile, VF ports once per PF. */
static void check_macs(struct imp_ctx *c, struct imp_instance *const *ins, size_t i)
{
        const struct imp_instance *in = ins[i];

        /* MACs: each one once in the whole profile. */
        for (size_t d = 0; d < in->n_devs; d++) {
                const struct imp_dev *dev = &in->devs[d];
                for (size_t j = 0; j <= i; j++)
                        for (size_t e = 0; e < (j == i ? d : ins[j]->n_devs); e++) {
                                const struct imp_dev *x = &ins[j]->devs[e];
                                if (dev->mac && x->mac && strcmp(dev->mac, x->mac) == 0)
                                        imp_error(c, dev->line_mac, dev->col_mac, "JUNOS_DEVICES", NULL,
                                                  "MAC %s is also %s's", dev->mac, x->interface);
                                if (in->device_type == IMP_SRIOV && ins[j]->device_type == IMP_SRIOV && dev->nic &&
                                    x->nic && strcmp(dev->nic, x->nic) == 0 && dev->vf == x->vf)
                                        imp_error(c, dev->line_vf, dev->col_vf, "JUNOS_DEVICES", NULL,
                                                  "%s VF %d is also %s's (%s)", dev->nic, dev->vf, x->interface,
                                                  ins[j]->file);
                        }
                if (dev->mac && ((in->vcp.mac && strcmp(dev->mac, in->vcp.mac) == 0) ||
                                 (in->vfp.mac && strcmp(dev->mac, in->vfp.mac) == 0)))
                        imp_error(c, dev->line_mac, dev->col_mac, "JUNOS_DEVICES", NULL,
                                  "MAC %s is also a management port's", dev->mac);
        }
        for (size_t j = 0; j <= i; j++) {
                const char *m[2] = {ins[j]->vcp.mac, ins[j]->vfp.mac};
                for (size_t k = 0; k < 2; k++)
                        for (size_t q = 0; q < (j == i ? k : 2); q++) {
                                const char *x = j == i ? m[q] : (q ? ins[j]->vfp.mac : ins[j]->vcp.mac);
                                const char *y = k ? in->vfp.mac : in->vcp.mac;
                                if (x && y && strcmp(x, y) == 0)
                                        imp_error(c, k ? in->vfp.line_mac : in->vcp.line_mac,
                                                  k ? in->vfp.col_mac : in->vcp.col_mac,
                                                  k ? "FORWARDING_PLANE.interfaces[0].macaddr"
                                                    : "CONTROL_PLANE.interfaces[0].macaddr",
                                                  NULL, "MAC %s is given twice", y);
                        }
        }
}

/*
 * Problems that show only across VMs and files: ports, MACs, VFs, bridges,
 * names. Collects diagnostics only; the caller prints them. Returns 0 or
 * -ENOMEM (a diagnostic could not be recorded).
 */
static int cross_check(struct imp_instance **ins, size_t n, struct vx_diags *diags)
{
        unsigned vnc_last = 5900 + 2 * (unsigned)n - 1;

        for (size_t i = 0; i < n; i++) {
                struct imp_ctx c = {.file = ins[i]->file, .diags = diags};

                check_instance(&c, ins[i], vnc_last);
                for (size_t j = 0; j < i; j++)
                        check_pair(&c, ins[i], ins[j]);
                check_macs(&c, ins, i);
                if (c.r < 0)
                        return c.r;
        }
        return 0;
}

static int default_name(struct imp_instance *const *ins, size_t n, char **ret)
{
        size_t len = 0;
        char *s;

        for (size_t i = 0; i < n; i++)
                len += strlen(ins[i]->id) + 1;
        s = calloc(1, len + 1);
        if (!s)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (i)
                        strcat(s, "-");
                strcat(s, ins[i]->id);
        }
        *ret = s;
        return 0;
}

static int check_generated(const char *text, struct vx_diags *diags)
{
        _cleanup_(profile_freep) struct vx_profile *p = NULL;
        struct vx_diags own = {0};
        int r;

        r = profile_load_string("(imported profile)", text, strlen(text), &own, &p);
        if (r == -EINVAL)
                for (size_t i = 0; i < own.n; i++) {
                        const struct vx_diag *d = &own.items[i];
                        /* A bug of the importer, or a name/number no check above caught. */
                        if (diag_add(diags, d->severity, d->file, d->line, d->column, d->path, d->hint,
                                     "%s (in the generated profile)", d->message) < 0)
                                r = -ENOMEM;
                }
        diag_done(&own);
        return r;
}

int vmxconf_import(const struct vx_import_source *confs, size_t n_confs, const struct vx_import_source *junosdev,
                   const struct vx_import_options *opts, struct vx_diags *diags, char **ret_text)
{
        struct imp_instance **ins = NULL;
        struct imp_links links = {0};
        _cleanup_free_ char *name = NULL, *text = NULL;
        size_t n = 0, errors = diag_count(diags, VX_DIAG_ERROR);
        bool have_links = false;
        int r = 0;

        assert(n_confs >= 1);
        ins = calloc(n_confs, sizeof(*ins));
        if (!ins)
                return -ENOMEM;
        for (size_t i = 0; i < n_confs; i++) {
                int k = imp_read_vmxconf(&confs[i], diags, &ins[n]);
                if (k == -ENOMEM) {
                        r = k;
                        goto finish;
                }
                if (k == 0)
                        n++;
        }
        if (n < n_confs)
                goto finish; /* errors are in diags */
        r = derive(ins, n, opts ? opts->first_cpu : 0);
        if (r < 0)
                goto finish;
        if (junosdev) {
                r = imp_apply_junosdev(junosdev, ins, n, diags, &links);
                if (r == -ENOMEM)
                        goto finish;
                have_links = r == 0;
                r = 0;
        }
        r = cross_check(ins, n, diags);
        if (r < 0)
                goto finish;
        if (diag_count(diags, VX_DIAG_ERROR) > errors)
                goto finish;
        if (opts && opts->name)
                name = strdup(opts->name);
        else if (default_name(ins, n, &name) < 0)
                name = NULL;
        if (!name) {
                r = -ENOMEM;
                goto finish;
        }
        if (strlen(name) > 32)
                (void)diag_add(diags, VX_DIAG_ERROR, confs[0].name, 0, 0, "", "give one with --name",
                               "the deployment name '%s' would be longer than 32 bytes", name);
        else {
                r = imp_emit(ins, n, have_links ? &links : NULL, name, junosdev ? links.base : NULL, opts, &text);
                if (r >= 0)
                        r = check_generated(text, diags);
        }
finish:
        diag_sort(diags);
        for (size_t i = 0; i < n_confs; i++)
                imp_instance_free(ins[i]);
        free(ins);
        imp_links_done(&links);
        if (r == -ENOMEM)
                return r;
        if (diag_count(diags, VX_DIAG_ERROR) > errors || r < 0)
                return -EINVAL;
        *ret_text = TAKE_PTR(text);
        return 0;
}

int vmxconf_import_files(const char *const *paths, size_t n_paths, const char *junosdev_path,
                         const struct vx_import_options *opts, struct vx_diags *diags, char **ret_text)
{
        _cleanup_free_ struct vx_import_source *src = calloc(n_paths + 1, sizeof(*src));
        _cleanup_free_ char **bufs = calloc(n_paths + 1, sizeof(char *));
        int r = 0;

        if (!src || !bufs)
                return -ENOMEM;
        for (size_t i = 0; i <= n_paths && r >= 0; i++) {
                const char *path = i < n_paths ? paths[i] : junosdev_path;
                if (!path)
                        continue;
                r = vmxconf_read_file(path, &bufs[i], &src[i].len);
                if (r < 0) {
                        (void)diag_add(diags, VX_DIAG_ERROR, path, 0, 0, "", NULL, "cannot read the file: %s",
                                       strerror(-r));
                        break;
                }
                src[i].name = path;
                src[i].text = bufs[i];
        }
        if (r >= 0)
                r = vmxconf_import(src, n_paths, junosdev_path ? &src[n_paths] : NULL, opts, diags, ret_text);
        for (size_t i = 0; i <= n_paths; i++)
                free(bufs[i]);
        return r;
}
