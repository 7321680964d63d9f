/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Save/restore records of a device's driver, a VF's settings and a PF's flags, and their JSON. */
#include "vfio.h"
#include "sysfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

int vfio_record_save(const char *root, struct vx_netsetup *ns, unsigned parts, const char *bdf, const char *pf,
                     unsigned vf, struct vx_vfio_record *ret)
{
        struct vx_vfio_record rec = {.parts = parts, .vf = vf};
        int r;

        if (!parts || parts & ~(unsigned)(VX_VFIO_REC_DRIVER | VX_VFIO_REC_VF | VX_VFIO_REC_PF | VX_VFIO_REC_NUMVFS))
                return -EINVAL;
        if ((parts & VX_VFIO_REC_DRIVER) && !bdf)
                return -EINVAL;
        if ((parts & (VX_VFIO_REC_VF | VX_VFIO_REC_PF)) && !ns)
                return -EINVAL;
        if ((parts & (VX_VFIO_REC_VF | VX_VFIO_REC_PF | VX_VFIO_REC_NUMVFS)) && (!pf || strlen(pf) >= sizeof(rec.pf)))
                return -EINVAL;
        if (pf)
                snprintf(rec.pf, sizeof(rec.pf), "%s", pf);
        if (parts & VX_VFIO_REC_DRIVER) {
                _cleanup_free_ struct vx_vfio_device *d = NULL;

                r = vfio_device_new(root, bdf, &d);
                if (r < 0)
                        return r;
                memcpy(rec.bdf, d->bdf, sizeof(rec.bdf));
                memcpy(rec.driver, d->driver, sizeof(rec.driver));
                memcpy(rec.driver_override, d->driver_override, sizeof(rec.driver_override));
        }
        if (parts & VX_VFIO_REC_VF) {
                r = netsetup_vf_get(ns, pf, vf, &rec.vf_settings);
                if (r < 0)
                        return r;
        }
        if (parts & VX_VFIO_REC_PF) {
                r = netsetup_pf_get(ns, pf, &rec.pf_settings);
                if (r < 0)
                        return r;
        }
        if (parts & VX_VFIO_REC_NUMVFS) {
                _cleanup_free_ struct vx_vfio_pf *p = NULL;

                r = vfio_pf_new(root, pf, &p);
                if (r < 0)
                        return r;
                rec.num_vfs = p->num_vfs;
        }
        *ret = rec;
        return 0;
}

/* The VF fields the driver reported (a -1 is a setting it does not have: nothing to put back). */
static unsigned vf_mask(const struct vx_netsetup_vf *v)
{
        unsigned m = VX_NETSETUP_VF_MAC | VX_NETSETUP_VF_VLAN | VX_NETSETUP_VF_RATE;

        if (v->spoofchk >= 0)
                m |= VX_NETSETUP_VF_SPOOFCHK;
        if (v->trust >= 0)
                m |= VX_NETSETUP_VF_TRUST;
        if (v->link_state >= 0)
                m |= VX_NETSETUP_VF_LINK_STATE;
        return m;
}

/* Only the VF fields that differ from now are written (a driver may refuse a no-op rate without link). */
static int restore_vf(struct vx_netsetup *ns, const struct vx_vfio_record *rec)
{
        struct vx_netsetup_vf now, want = rec->vf_settings;
        unsigned mask = vf_mask(&want);
        int r;

        want.index = rec->vf;
        r = netsetup_vf_get(ns, rec->pf, rec->vf, &now);
        if (r < 0)
                return r;
        if (strcmp(now.mac, want.mac) == 0)
                mask &= ~(unsigned)VX_NETSETUP_VF_MAC;
        if (now.vlan == want.vlan && now.qos == want.qos)
                mask &= ~(unsigned)VX_NETSETUP_VF_VLAN;
        if (now.max_rate == want.max_rate && now.min_rate == want.min_rate)
                mask &= ~(unsigned)VX_NETSETUP_VF_RATE;
        if (now.spoofchk == want.spoofchk)
                mask &= ~(unsigned)VX_NETSETUP_VF_SPOOFCHK;
        if (now.trust == want.trust)
                mask &= ~(unsigned)VX_NETSETUP_VF_TRUST;
        if (now.link_state == want.link_state)
                mask &= ~(unsigned)VX_NETSETUP_VF_LINK_STATE;
        return mask ? netsetup_vf_set(ns, rec->pf, &want, mask, NULL) : 0;
}

static int restore_pf(struct vx_netsetup *ns, const struct vx_vfio_record *rec)
{
        struct vx_netsetup_pf now;
        unsigned mask = 0;
        int r;

        r = netsetup_pf_get(ns, rec->pf, &now);
        if (r < 0)
                return r;
        if (now.mtu != rec->pf_settings.mtu)
                mask |= VX_NETSETUP_PF_MTU;
        if (now.promisc != rec->pf_settings.promisc)
                mask |= VX_NETSETUP_PF_PROMISC;
        if (now.allmulti != rec->pf_settings.allmulti)
                mask |= VX_NETSETUP_PF_ALLMULTI;
        if (now.up != rec->pf_settings.up)
                mask |= VX_NETSETUP_PF_UP;
        return mask ? netsetup_pf_set(ns, rec->pf, &rec->pf_settings, mask) : 0;
}

/* Back to the recorded count; from one non-zero count to another only through 0, as the kernel wants. */
static int restore_num_vfs(const char *root, const struct vx_vfio_record *rec, char **why)
{
        _cleanup_free_ struct vx_vfio_pf *p = NULL;
        int r;

        r = vfio_pf_new(root, rec->pf, &p);
        if (r < 0)
                return r;
        if (p->num_vfs == rec->num_vfs)
                return 0;
        r = vfio_pf_set_num_vfs(root, rec->pf, 0, why);
        if (r < 0 || rec->num_vfs == 0)
                return r;
        return vfio_pf_set_num_vfs(root, rec->pf, rec->num_vfs, why);
}

int vfio_record_restore(const char *root, struct vx_netsetup *ns, const struct vx_vfio_record *rec, char **why)
{
        int r = 0, q;

        if ((rec->parts & (VX_VFIO_REC_VF | VX_VFIO_REC_PF)) && !ns)
                return -EINVAL;
        if (rec->parts & VX_VFIO_REC_DRIVER) {
                _cleanup_free_ struct vx_vfio_device *d = NULL;

                q = vfio_device_new(root, rec->bdf, &d);
                if (q == -ENODEV)
                        q = 0; /* the device is gone (its VFs removed): nothing left to put back */
                else if (q >= 0 &&
                         (strcmp(d->driver, rec->driver) != 0 || strcmp(d->driver_override, rec->driver_override) != 0))
                        q = vfio_unbind(root, rec->bdf, rec->driver, rec->driver_override, why);
                if (q < 0 && r == 0)
                        r = q;
        }
        if (rec->parts & VX_VFIO_REC_VF) {
                q = restore_vf(ns, rec);
                if (q == -ENOENT)
                        q = 0; /* no such VF any more */
                if (q < 0 && r == 0)
                        r = q;
        }
        if (rec->parts & VX_VFIO_REC_NUMVFS) {
                q = restore_num_vfs(root, rec, why);
                if (q < 0 && r == 0)
                        r = q;
        }
        if (rec->parts & VX_VFIO_REC_PF) {
                q = restore_pf(ns, rec);
                if (q < 0 && r == 0)
                        r = q;
        }
        return r;
}

static json_t *vf_to_json(const struct vx_netsetup_vf *v)
{
        return json_pack("{s:s, s:I, s:I, s:I, s:I, s:i, s:i, s:i}", "mac", v->mac, "vlan", (json_int_t)v->vlan, "qos",
                         (json_int_t)v->qos, "max_rate", (json_int_t)v->max_rate, "min_rate", (json_int_t)v->min_rate,
                         "spoofchk", v->spoofchk, "trust", v->trust, "link_state", v->link_state);
}

int vfio_record_to_json(const struct vx_vfio_record *rec, char **ret)
{
        json_auto_t *o = json_object(), *parts = json_array();
        char *s;

        if (!o || !parts)
                return -ENOMEM;
        if ((rec->parts & VX_VFIO_REC_DRIVER) && json_array_append_new(parts, json_string("driver")) < 0)
                return -ENOMEM;
        if ((rec->parts & VX_VFIO_REC_VF) && json_array_append_new(parts, json_string("vf")) < 0)
                return -ENOMEM;
        if ((rec->parts & VX_VFIO_REC_PF) && json_array_append_new(parts, json_string("pf")) < 0)
                return -ENOMEM;
        if ((rec->parts & VX_VFIO_REC_NUMVFS) && json_array_append_new(parts, json_string("num_vfs")) < 0)
                return -ENOMEM;
        if (json_object_set(o, "parts", parts) < 0)
                return -ENOMEM;
        if (rec->parts & VX_VFIO_REC_DRIVER) {
                if (json_object_set_new(o, "bdf", json_string(rec->bdf)) < 0 ||
                    json_object_set_new(o, "driver", json_string(rec->driver)) < 0 ||
                    json_object_set_new(o, "driver_override", json_string(rec->driver_override)) < 0)
                        return -ENOMEM;
        }
        if (rec->parts & (VX_VFIO_REC_VF | VX_VFIO_REC_PF | VX_VFIO_REC_NUMVFS) &&
            json_object_set_new(o, "pf", json_string(rec->pf)) < 0)
                return -ENOMEM;
        if (rec->parts & VX_VFIO_REC_NUMVFS && json_object_set_new(o, "num_vfs", json_integer(rec->num_vfs)) < 0)
                return -ENOMEM;
        if (rec->parts & VX_VFIO_REC_VF) {
                if (json_object_set_new(o, "vf", json_integer(rec->vf)) < 0 ||
                    json_object_set_new(o, "vf_settings", vf_to_json(&rec->vf_settings)) < 0)
                        return -ENOMEM;
        }
        if (rec->parts & VX_VFIO_REC_PF) {
                const struct vx_netsetup_pf *p = &rec->pf_settings;

                if (json_object_set_new(o, "pf_settings",
                                        json_pack("{s:b, s:I, s:b, s:b}", "up", p->up, "mtu", (json_int_t)p->mtu,
                                                  "promisc", p->promisc, "allmulti", p->allmulti)) < 0)
                        return -ENOMEM;
        }
        s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int copy_str(char *dst, size_t size, json_t *v)
{
        const char *s = json_string_value(v);

        if (!s || strlen(s) >= size)
                return -EBADMSG;
        strcpy(dst, s);
        return 0;
}

static int uint_of(json_t *v, unsigned max, unsigned *ret)
{
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
                return -EBADMSG;
        *ret = (unsigned)json_integer_value(v);
        return 0;
}

static int tristate_of(json_t *v, int max, int *ret)
{
        if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > max)
                return -EBADMSG;
        *ret = (int)json_integer_value(v);
        return 0;
}

static int vf_from_json(json_t *o, struct vx_netsetup_vf *v)
{
        unsigned char mac[6];

        if (!json_is_object(o) || copy_str(v->mac, sizeof(v->mac), json_object_get(o, "mac")) < 0 ||
            netsetup_parse_mac(v->mac, mac) < 0 || uint_of(json_object_get(o, "vlan"), 4095, &v->vlan) < 0 ||
            uint_of(json_object_get(o, "qos"), 7, &v->qos) < 0 ||
            uint_of(json_object_get(o, "max_rate"), UINT32_MAX, &v->max_rate) < 0 ||
            uint_of(json_object_get(o, "min_rate"), UINT32_MAX, &v->min_rate) < 0 ||
            tristate_of(json_object_get(o, "spoofchk"), 1, &v->spoofchk) < 0 ||
            tristate_of(json_object_get(o, "trust"), 1, &v->trust) < 0 ||
            tristate_of(json_object_get(o, "link_state"), 2, &v->link_state) < 0)
                return -EBADMSG;
        return 0;
}

static int pf_from_json(json_t *o, struct vx_netsetup_pf *p)
{
        json_t *up = json_object_get(o, "up"), *pr = json_object_get(o, "promisc"),
               *am = json_object_get(o, "allmulti");

        if (!json_is_boolean(up) || !json_is_boolean(pr) || !json_is_boolean(am) ||
            uint_of(json_object_get(o, "mtu"), UINT32_MAX, &p->mtu) < 0 || p->mtu == 0)
                return -EBADMSG;
        p->up = json_is_true(up);
        p->promisc = json_is_true(pr);
        p->allmulti = json_is_true(am);
        return 0;
}

static int parts_from_json(json_t *a, unsigned *ret)
{
        size_t i;
        json_t *v;
        unsigned parts = 0;

        if (!json_is_array(a))
                return -EBADMSG;
        json_array_foreach(a, i, v)
        {
                const char *s = json_string_value(v);

                if (!s)
                        return -EBADMSG;
                if (strcmp(s, "driver") == 0)
                        parts |= VX_VFIO_REC_DRIVER;
                else if (strcmp(s, "vf") == 0)
                        parts |= VX_VFIO_REC_VF;
                else if (strcmp(s, "pf") == 0)
                        parts |= VX_VFIO_REC_PF;
                else if (strcmp(s, "num_vfs") == 0)
                        parts |= VX_VFIO_REC_NUMVFS;
                else
                        return -EBADMSG;
        }
        if (!parts)
                return -EBADMSG;
        *ret = parts;
        return 0;
}

int vfio_record_from_json(const char *s, struct vx_vfio_record *ret)
{
        json_auto_t *o = NULL;
        struct vx_vfio_record rec = {0};

        if (!s)
                return -EINVAL;
        o = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(o) || parts_from_json(json_object_get(o, "parts"), &rec.parts) < 0)
                return -EBADMSG;
        if (rec.parts & VX_VFIO_REC_DRIVER) {
                if (copy_str(rec.bdf, sizeof(rec.bdf), json_object_get(o, "bdf")) < 0 || vfio_check_bdf(rec.bdf) < 0 ||
                    copy_str(rec.driver, sizeof(rec.driver), json_object_get(o, "driver")) < 0 ||
                    copy_str(rec.driver_override, sizeof(rec.driver_override), json_object_get(o, "driver_override")) <
                            0)
                        return -EBADMSG;
        }
        if (rec.parts & (VX_VFIO_REC_VF | VX_VFIO_REC_PF | VX_VFIO_REC_NUMVFS) &&
            (copy_str(rec.pf, sizeof(rec.pf), json_object_get(o, "pf")) < 0 || !*rec.pf))
                return -EBADMSG;
        if (rec.parts & VX_VFIO_REC_NUMVFS && uint_of(json_object_get(o, "num_vfs"), VX_VFIO_MAX_VFS, &rec.num_vfs) < 0)
                return -EBADMSG;
        if (rec.parts & VX_VFIO_REC_VF) {
                if (uint_of(json_object_get(o, "vf"), VX_VFIO_MAX_VFS - 1, &rec.vf) < 0 ||
                    vf_from_json(json_object_get(o, "vf_settings"), &rec.vf_settings) < 0)
                        return -EBADMSG;
                rec.vf_settings.index = rec.vf;
        }
        if ((rec.parts & VX_VFIO_REC_PF) && pf_from_json(json_object_get(o, "pf_settings"), &rec.pf_settings) < 0)
                return -EBADMSG;
        *ret = rec;
        return 0;
}
