/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SR-IOV over rtnetlink, entirely with libnl-route-3's SR-IOV API
 * (netlink/route/link/sriov.h): libnl 3.7 reads IFLA_VFINFO_LIST into
 * rtnl_link_vf objects (its RTM_GETLINK asks for it with RTEXT_FILTER_VF;
 * the kernel leaves VFs out without that mask), and fills IFLA_VFINFO_LIST
 * from a change link that carries rtnl_link_vf objects, so every VF setting
 * (MAC, VLAN/QoS, rate, spoofchk, trust, link state) has a setter there and
 * no message is built by hand.
 */
#include "netsetup.h"
#include "netsetup-private.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>

DEFINE_TRIVIAL_VOID_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put)
DEFINE_TRIVIAL_VOID_CLEANUP_FUNC(struct rtnl_link_vf *, rtnl_link_vf_put)
DEFINE_TRIVIAL_VOID_CLEANUP_FUNC(struct nl_addr *, nl_addr_put)
DEFINE_TRIVIAL_VOID_CLEANUP_FUNC(nl_vf_vlans_t *, rtnl_link_vf_vlan_put)

int netsetup_parse_mac(const char *s, unsigned char ret[6])
{
        unsigned b[6];
        char end;

        if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
                return -EINVAL;
        for (size_t i = 0; i < 6; i++)
                ret[i] = (unsigned char)b[i];
        return 0;
}

/* The link with its VF list: libnl 3.7's RTM_GETLINK carries IFLA_EXT_MASK = RTEXT_FILTER_VF. */
static int get_link_vfs(struct vx_netsetup *ns, const char *name, struct rtnl_link **ret)
{
        int r;

        r = netsetup_check_ifname(name);
        if (r < 0)
                return r;
        r = rtnl_link_get_kernel(ns->sk, 0, name, ret);
        return r < 0 ? nl_errno(r) : 0;
}

static void vf_from_libnl(struct rtnl_link_vf *v, struct vx_netsetup_vf *ret)
{
        struct vx_netsetup_vf f = {.spoofchk = -1, .trust = -1, .link_state = -1};
        _cleanup_(rtnl_link_vf_vlan_putp) nl_vf_vlans_t *vlans = NULL;
        struct nl_addr *addr = NULL;
        struct nl_vf_rate rate = {0};
        uint32_t u;

        if (rtnl_link_vf_get_index(v, &u) >= 0)
                f.index = u;
        snprintf(f.mac, sizeof(f.mac), "00:00:00:00:00:00");
        if (rtnl_link_vf_get_addr(v, &addr) >= 0 && addr && nl_addr_get_len(addr) >= 6) {
                const unsigned char *b = nl_addr_get_binary_addr(addr);
                snprintf(f.mac, sizeof(f.mac), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
        }
        if (rtnl_link_vf_get_vlans(v, &vlans) >= 0 && vlans && vlans->size > 0) {
                f.vlan = vlans->vlans[0].vf_vlan;
                f.qos = vlans->vlans[0].vf_vlan_qos;
        }
        if (rtnl_link_vf_get_rate(v, &rate) >= 0) {
                if (rate.api == RTNL_LINK_VF_RATE_API_NEW) {
                        f.max_rate = rate.max_tx_rate;
                        f.min_rate = rate.min_tx_rate;
                } else {
                        f.max_rate = rate.rate;
                }
        }
        if (rtnl_link_vf_get_spoofchk(v, &u) >= 0)
                f.spoofchk = u != 0;
        if (rtnl_link_vf_get_trust(v, &u) >= 0)
                f.trust = u != 0;
        if (rtnl_link_vf_get_linkstate(v, &u) >= 0)
                f.link_state = (int)u;
        *ret = f;
}

int netsetup_vfs_get(struct vx_netsetup *ns, const char *pf, struct vx_netsetup_vf **ret)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        _cleanup_free_ struct vx_netsetup_vf *vfs = NULL;
        uint32_t n = 0;
        int r;

        r = get_link_vfs(ns, pf, &link);
        if (r < 0)
                return r;
        if (rtnl_link_get_num_vf(link, &n) < 0 || n == 0 || !rtnl_link_has_vf_list(link)) {
                *ret = NULL;
                return 0;
        }
        vfs = calloc(n, sizeof(*vfs));
        if (!vfs)
                return -ENOMEM;
        for (uint32_t i = 0; i < n; i++) {
                _cleanup_(rtnl_link_vf_putp) struct rtnl_link_vf *v = rtnl_link_vf_get(link, i);

                if (!v)
                        return -EIO; /* the kernel reports VFs 0..n-1 */
                vf_from_libnl(v, &vfs[i]);
                vfs[i].index = i;
        }
        *ret = TAKE_PTR(vfs);
        return (int)n;
}

int netsetup_vf_get(struct vx_netsetup *ns, const char *pf, unsigned index, struct vx_netsetup_vf *ret)
{
        _cleanup_free_ struct vx_netsetup_vf *vfs = NULL;
        int n;

        n = netsetup_vfs_get(ns, pf, &vfs);
        if (n < 0)
                return n;
        if (index >= (unsigned)n)
                return -ENOENT;
        *ret = vfs[index];
        return 0;
}

/* One RTM_SETLINK on pf that carries one VF field. */
static int vf_set_one(struct vx_netsetup *ns, struct rtnl_link *orig, const struct vx_netsetup_vf *vf, unsigned field)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *change = rtnl_link_alloc();
        _cleanup_(rtnl_link_vf_putp) struct rtnl_link_vf *v = rtnl_link_vf_alloc();
        int r;

        if (!change || !v)
                return -ENOMEM;
        rtnl_link_vf_set_index(v, vf->index);
        switch (field) {
        case VX_NETSETUP_VF_MAC: {
                _cleanup_(nl_addr_putp) struct nl_addr *a = NULL;
                unsigned char mac[6];

                if (netsetup_parse_mac(vf->mac, mac) < 0)
                        return -EINVAL;
                a = nl_addr_build(AF_LLC, mac, sizeof(mac));
                if (!a)
                        return -ENOMEM;
                rtnl_link_vf_set_addr(v, a); /* takes its own reference */
                break;
        }
        case VX_NETSETUP_VF_VLAN: {
                _cleanup_(rtnl_link_vf_vlan_putp) nl_vf_vlans_t *vlans = NULL;

                if (vf->vlan > 4095 || vf->qos > 7)
                        return -EINVAL;
                r = rtnl_link_vf_vlan_alloc(&vlans, 1);
                if (r < 0)
                        return nl_errno(r);
                vlans->vlans[0].vf_vlan = vf->vlan;
                vlans->vlans[0].vf_vlan_qos = vf->qos;
                vlans->vlans[0].vf_vlan_proto = 0x8100; /* IFLA_VF_VLAN, not the list */
                rtnl_link_vf_set_vlans(v, vlans);
                break;
        }
        case VX_NETSETUP_VF_RATE: {
                struct nl_vf_rate rate = {
                        .api = RTNL_LINK_VF_RATE_API_NEW, .max_tx_rate = vf->max_rate, .min_tx_rate = vf->min_rate};

                rtnl_link_vf_set_rate(v, &rate);
                break;
        }
        case VX_NETSETUP_VF_SPOOFCHK:
                if (vf->spoofchk < 0)
                        return -EINVAL;
                rtnl_link_vf_set_spoofchk(v, vf->spoofchk != 0);
                break;
        case VX_NETSETUP_VF_TRUST:
                if (vf->trust < 0)
                        return -EINVAL;
                rtnl_link_vf_set_trust(v, vf->trust != 0);
                break;
        case VX_NETSETUP_VF_LINK_STATE:
                if (vf->link_state < VX_NETSETUP_VF_LINK_AUTO || vf->link_state > VX_NETSETUP_VF_LINK_DISABLE)
                        return -EINVAL;
                rtnl_link_vf_set_linkstate(v, (uint32_t)vf->link_state);
                break;
        default:
                return -EINVAL;
        }
        r = rtnl_link_vf_add(change, v);
        if (r < 0)
                return nl_errno(r);
        r = rtnl_link_change(ns->sk, orig, change, 0);
        return r < 0 ? nl_errno(r) : 0;
}

int netsetup_vf_set(struct vx_netsetup *ns, const char *pf, const struct vx_netsetup_vf *vf, unsigned mask,
                    unsigned *ret_failed)
{
        static const unsigned order[] = {VX_NETSETUP_VF_MAC,      VX_NETSETUP_VF_VLAN,  VX_NETSETUP_VF_RATE,
                                         VX_NETSETUP_VF_SPOOFCHK, VX_NETSETUP_VF_TRUST, VX_NETSETUP_VF_LINK_STATE};
        _cleanup_(rtnl_link_putp) struct rtnl_link *orig = NULL;
        int r;

        if (mask & ~(unsigned)VX_NETSETUP_VF_ALL)
                return -EINVAL;
        r = netsetup_check_ifname(pf);
        if (r < 0)
                return r;
        r = rtnl_link_get_kernel(ns->sk, 0, pf, &orig);
        if (r < 0)
                return nl_errno(r);
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                if (!(mask & order[i]))
                        continue;
                r = vf_set_one(ns, orig, vf, order[i]);
                if (r < 0) {
                        if (ret_failed)
                                *ret_failed = order[i];
                        return r;
                }
        }
        return 0;
}

int netsetup_pf_get(struct vx_netsetup *ns, const char *name, struct vx_netsetup_pf *ret)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        unsigned flags;
        int r;

        r = netsetup_check_ifname(name);
        if (r < 0)
                return r;
        r = rtnl_link_get_kernel(ns->sk, 0, name, &link);
        if (r < 0)
                return nl_errno(r);
        flags = rtnl_link_get_flags(link);
        *ret = (struct vx_netsetup_pf){
                .up = flags & IFF_UP,
                .mtu = rtnl_link_get_mtu(link),
                .promisc = flags & IFF_PROMISC,
                .allmulti = flags & IFF_ALLMULTI,
        };
        return 0;
}

static int pf_change(struct vx_netsetup *ns, struct rtnl_link *orig, unsigned mtu, unsigned flag, bool on)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *change = rtnl_link_alloc();
        int r;

        if (!change)
                return -ENOMEM;
        if (mtu)
                rtnl_link_set_mtu(change, mtu);
        else if (on)
                rtnl_link_set_flags(change, flag);
        else
                rtnl_link_unset_flags(change, flag);
        r = rtnl_link_change(ns->sk, orig, change, 0);
        return r < 0 ? nl_errno(r) : 0;
}

int netsetup_pf_set(struct vx_netsetup *ns, const char *name, const struct vx_netsetup_pf *pf, unsigned mask)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *orig = NULL;
        int r;

        if (mask & ~(unsigned)VX_NETSETUP_PF_ALL || ((mask & VX_NETSETUP_PF_MTU) && pf->mtu == 0))
                return -EINVAL;
        r = netsetup_check_ifname(name);
        if (r < 0)
                return r;
        r = rtnl_link_get_kernel(ns->sk, 0, name, &orig);
        if (r < 0)
                return nl_errno(r);
        if (mask & VX_NETSETUP_PF_MTU) {
                r = pf_change(ns, orig, pf->mtu, 0, false);
                if (r < 0)
                        return r;
        }
        if (mask & VX_NETSETUP_PF_PROMISC) {
                r = pf_change(ns, orig, 0, IFF_PROMISC, pf->promisc);
                if (r < 0)
                        return r;
        }
        if (mask & VX_NETSETUP_PF_ALLMULTI) {
                r = pf_change(ns, orig, 0, IFF_ALLMULTI, pf->allmulti);
                if (r < 0)
                        return r;
        }
        if (mask & VX_NETSETUP_PF_UP)
                return pf_change(ns, orig, 0, IFF_UP, pf->up);
        return 0;
}
