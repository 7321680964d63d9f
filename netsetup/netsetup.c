/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "netsetup.h"
#include "netsetup-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* linux/if.h, which clashes with net/if.h */
#endif

/* libnl speaks NLE_*; the rest of vmxrun speaks -errno. */
int nl_errno(int nlerr)
{
        switch (nlerr < 0 ? -nlerr : nlerr) {
        case NLE_SUCCESS:
                return 0;
        case NLE_INTR:
                return -EINTR;
        case NLE_BAD_SOCK:
                return -EBADF;
        case NLE_AGAIN:
                return -EAGAIN;
        case NLE_NOMEM:
                return -ENOMEM;
        case NLE_EXIST:
                return -EEXIST;
        case NLE_INVAL:
        case NLE_MISSING_ATTR:
        case NLE_NOATTR:
                return -EINVAL;
        case NLE_RANGE:
                return -ERANGE;
        case NLE_MSGSIZE:
                return -EMSGSIZE;
        case NLE_OPNOTSUPP:
                return -EOPNOTSUPP;
        case NLE_AF_NOSUPPORT:
                return -EAFNOSUPPORT;
        case NLE_OBJ_NOTFOUND:
        case NLE_NODEV:
                return -ENODEV;
        case NLE_NOADDR:
                return -EADDRNOTAVAIL;
        case NLE_MSG_OVERFLOW:
                return -EOVERFLOW;
        case NLE_PERM:
                return -EPERM;
        case NLE_BUSY:
                return -EBUSY;
        case NLE_NOACCESS:
                return -EACCES;
        case NLE_IMMUTABLE:
                return -EROFS;
        case NLE_PROTO_MISMATCH:
                return -EPROTONOSUPPORT;
        default:
                return -EIO;
        }
}

DEFINE_TRIVIAL_VOID_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put)
DEFINE_TRIVIAL_VOID_CLEANUP_FUNC(struct nl_addr *, nl_addr_put)
DEFINE_TRIVIAL_VOID_CLEANUP_FUNC(struct nl_cache *, nl_cache_free)
DEFINE_TRIVIAL_VOID_CLEANUP_FUNC(struct rtnl_addr *, rtnl_addr_put)
DEFINE_TRIVIAL_VOID_CLEANUP_FUNC(struct rtnl_route *, rtnl_route_put)

int netsetup_open(struct vx_netsetup **ret)
{
        struct vx_netsetup *ns;
        int r;

        ns = calloc(1, sizeof(*ns));
        if (!ns)
                return -ENOMEM;
        ns->sk = nl_socket_alloc();
        if (!ns->sk) {
                free(ns);
                return -ENOMEM;
        }
        r = nl_connect(ns->sk, NETLINK_ROUTE);
        if (r < 0) {
                netsetup_free(ns);
                return nl_errno(r);
        }
        /* nl_connect() opens the socket without SOCK_CLOEXEC: QEMU must not inherit it. */
        (void)fcntl(nl_socket_get_fd(ns->sk), F_SETFD, FD_CLOEXEC);
        *ret = ns;
        return 0;
}

struct vx_netsetup *netsetup_free(struct vx_netsetup *ns)
{
        if (!ns)
                return NULL;
        if (ns->sk)
                nl_socket_free(ns->sk);
        free(ns);
        return NULL;
}

char **netsetup_strv_free(char **l)
{
        if (!l)
                return NULL;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
        return NULL;
}

static int strv_push(char ***l, size_t *n, char *s)
{
        char **nl;

        if (!s)
                return -ENOMEM;
        nl = realloc(*l, (*n + 2) * sizeof(char *));
        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[(*n)++] = s;
        nl[*n] = NULL;
        *l = nl;
        return 0;
}

int netsetup_check_ifname(const char *name)
{
        if (!name || !*name)
                return -EINVAL;
        if (strlen(name) >= VX_NETSETUP_IFNAMSIZ)
                return -ENAMETOOLONG;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return -EINVAL;
        for (const char *p = name; *p; p++)
                if (*p == '/' || *p == ':' || *p == '%' || (unsigned char)*p <= ' ' || *p == 0x7f)
                        return -EINVAL;
        return 0;
}

static int get_kernel_link(struct vx_netsetup *ns, int ifindex, const char *name, struct rtnl_link **ret)
{
        int r;

        if (name) {
                r = netsetup_check_ifname(name);
                if (r < 0)
                        return r;
        }
        r = rtnl_link_get_kernel(ns->sk, ifindex, name, ret);
        return r < 0 ? nl_errno(r) : 0;
}

static void copy_name(char *dst, size_t size, const char *src)
{
        snprintf(dst, size, "%s", src ?: "");
}

int netsetup_link_get(struct vx_netsetup *ns, const char *name, struct vx_netsetup_link *ret)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        struct vx_netsetup_link l = {0};
        struct nl_addr *addr;
        char buf[64];
        int r;

        r = get_kernel_link(ns, 0, name, &link);
        if (r < 0)
                return r;
        l.ifindex = rtnl_link_get_ifindex(link);
        copy_name(l.name, sizeof(l.name), rtnl_link_get_name(link));
        copy_name(l.kind, sizeof(l.kind), rtnl_link_get_type(link));
        l.master_ifindex = rtnl_link_get_master(link);
        if (l.master_ifindex > 0) {
                _cleanup_(rtnl_link_putp) struct rtnl_link *m = NULL;
                if (get_kernel_link(ns, l.master_ifindex, NULL, &m) >= 0)
                        copy_name(l.master, sizeof(l.master), rtnl_link_get_name(m));
        }
        addr = rtnl_link_get_addr(link);
        if (addr && nl_addr_get_len(addr) == 6) {
                const unsigned char *b = nl_addr_get_binary_addr(addr);
                snprintf(l.mac, sizeof(l.mac), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
        }
        l.mtu = rtnl_link_get_mtu(link);
        l.up = rtnl_link_get_flags(link) & IFF_UP;
        l.lower_up = rtnl_link_get_flags(link) & IFF_LOWER_UP;
        copy_name(l.operstate, sizeof(l.operstate),
                  rtnl_link_operstate2str(rtnl_link_get_operstate(link), buf, sizeof(buf)));
        l.rx_bytes = rtnl_link_get_stat(link, RTNL_LINK_RX_BYTES);
        l.tx_bytes = rtnl_link_get_stat(link, RTNL_LINK_TX_BYTES);
        l.rx_packets = rtnl_link_get_stat(link, RTNL_LINK_RX_PACKETS);
        l.tx_packets = rtnl_link_get_stat(link, RTNL_LINK_TX_PACKETS);
        l.rx_dropped = rtnl_link_get_stat(link, RTNL_LINK_RX_DROPPED);
        l.tx_dropped = rtnl_link_get_stat(link, RTNL_LINK_TX_DROPPED);
        *ret = l;
        return 0;
}

/* Applies the attributes set in change to link name (RTM_NEWLINK/SETLINK). */
static int change_link(struct vx_netsetup *ns, const char *name, struct rtnl_link *change)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        r = get_kernel_link(ns, 0, name, &link);
        if (r < 0)
                return r;
        r = rtnl_link_change(ns->sk, link, change, 0);
        return r < 0 ? nl_errno(r) : 0;
}

int netsetup_link_set_up(struct vx_netsetup *ns, const char *name, bool up)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *change = rtnl_link_alloc();

        if (!change)
                return -ENOMEM;
        if (up)
                rtnl_link_set_flags(change, IFF_UP);
        else
                rtnl_link_unset_flags(change, IFF_UP);
        return change_link(ns, name, change);
}

int netsetup_link_set_master(struct vx_netsetup *ns, const char *name, const char *master)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *change = rtnl_link_alloc();
        int master_index = 0;

        if (!change)
                return -ENOMEM;
        if (master) {
                _cleanup_(rtnl_link_putp) struct rtnl_link *m = NULL;
                int r = get_kernel_link(ns, 0, master, &m);
                if (r < 0)
                        return r;
                master_index = rtnl_link_get_ifindex(m);
        }
        rtnl_link_set_master(change, master_index);
        return change_link(ns, name, change);
}

int netsetup_link_delete(struct vx_netsetup *ns, const char *name, int ifindex)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        r = get_kernel_link(ns, 0, name, &link);
        if (r < 0)
                return r;
        if (ifindex > 0 && rtnl_link_get_ifindex(link) != ifindex)
                return -ENODEV; /* another link has the name now: not ours */
        r = rtnl_link_delete(ns->sk, link);
        return r < 0 ? nl_errno(r) : 0;
}

/*
 * libnl 3.7 has no setter for a bridge's own IFLA_INFO_DATA (STP, forward
 * delay), so the RTM_NEWLINK message is built by hand, still through libnl.
 */
static int create_bridge(struct vx_netsetup *ns, const struct vx_netsetup_bridge *cfg)
{
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
        struct nlattr *info, *data;
        struct nl_msg *msg;
        int r;

        msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 || nla_put_string(msg, IFLA_IFNAME, cfg->name) < 0 ||
            (cfg->mtu && nla_put_u32(msg, IFLA_MTU, cfg->mtu) < 0) || !(info = nla_nest_start(msg, IFLA_LINKINFO)) ||
            nla_put_string(msg, IFLA_INFO_KIND, "bridge") < 0 || !(data = nla_nest_start(msg, IFLA_INFO_DATA)) ||
            nla_put_u32(msg, IFLA_BR_STP_STATE, cfg->stp ? 1 : 0) < 0 ||
            /* in clock_t (USER_HZ, 1/100 s), as brctl setfd and `ip link ... forward_delay` */
            (cfg->forward_delay >= 0 && nla_put_u32(msg, IFLA_BR_FORWARD_DELAY, (uint32_t)cfg->forward_delay * 100) < 0)) {
                nlmsg_free(msg);
                return -EMSGSIZE;
        }
        nla_nest_end(msg, data);
        nla_nest_end(msg, info);
        r = nl_send_sync(ns->sk, msg); /* frees msg, waits for the ACK */
        return r < 0 ? nl_errno(r) : 0;
}

int netsetup_bridge_ensure(struct vx_netsetup *ns, const struct vx_netsetup_bridge *cfg, bool *ret_created,
                           int *ret_ifindex)
{
        struct vx_netsetup_link l;
        int r;

        r = netsetup_check_ifname(cfg->name);
        if (r < 0)
                return r;
        r = netsetup_link_get(ns, cfg->name, &l);
        if (r >= 0) {
                if (strcmp(l.kind, "bridge") != 0)
                        return -EEXIST;
                *ret_created = false;
                *ret_ifindex = l.ifindex;
                return 0;
        }
        if (r != -ENODEV)
                return r;
        r = create_bridge(ns, cfg);
        if (r < 0)
                return r;
        r = netsetup_link_get(ns, cfg->name, &l);
        if (r >= 0)
                r = netsetup_link_set_up(ns, cfg->name, true);
        if (r < 0) {
                (void)netsetup_link_delete(ns, cfg->name, l.ifindex);
                return r;
        }
        *ret_created = true;
        *ret_ifindex = l.ifindex;
        return 0;
}

int netsetup_tap_mac(const char *guest_mac, char ret[18])
{
        unsigned b[6];
        char end;

        if (!guest_mac) {
                unsigned char rnd[5];
                if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                        return -EIO;
                snprintf(ret, 18, "fe:%02x:%02x:%02x:%02x:%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4]);
                return 0;
        }
        if (sscanf(guest_mac, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6)
                return -EINVAL;
        /* 0xfe: locally administered, unicast, and higher than any real NIC's, so the bridge never takes it. */
        snprintf(ret, 18, "fe:%02x:%02x:%02x:%02x:%02x", b[1], b[2], b[3], b[4], b[5]);
        return 0;
}

/*
 * Opens one queue of tap name. The first one (exclusive) creates the tap
 * with IFF_TUN_EXCL: if a tap of that name appeared since we looked, the
 * kernel refuses (EBUSY, returned as -EEXIST) instead of attaching us to
 * someone else's tap. The other queues attach to the tap it created.
 */
static int open_tun_queue(const char *name, bool multi_queue, bool exclusive, int *ret_fd)
{
        struct ifreq ifr = {0};
        _cleanup_close_ int fd = -EBADF;

        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi_queue ? IFF_MULTI_QUEUE : 0) |
                        (exclusive ? IFF_TUN_EXCL : 0);
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                return errno == EBUSY && exclusive ? -EEXIST : -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int tap_configure(struct vx_netsetup *ns, const struct vx_netsetup_tap *cfg)
{
        _cleanup_(rtnl_link_putp) struct rtnl_link *change = rtnl_link_alloc();
        _cleanup_(nl_addr_putp) struct nl_addr *addr = NULL;
        unsigned mtu = cfg->mtu;
        char mac[18];
        int r;

        if (!change)
                return -ENOMEM;
        r = netsetup_tap_mac(cfg->guest_mac, mac);
        if (r < 0)
                return r;
        r = nl_addr_parse(mac, AF_LLC, &addr);
        if (r < 0)
                return nl_errno(r);
        rtnl_link_set_addr(change, addr);
        if (!mtu && cfg->bridge) {
                struct vx_netsetup_link br;
                r = netsetup_link_get(ns, cfg->bridge, &br);
                if (r < 0)
                        return r;
                mtu = br.mtu;
        }
        if (mtu)
                rtnl_link_set_mtu(change, mtu);
        r = change_link(ns, cfg->name, change);
        if (r < 0)
                return r;
        if (cfg->bridge) {
                r = netsetup_link_set_master(ns, cfg->name, cfg->bridge);
                if (r < 0)
                        return r;
        }
        return netsetup_link_set_up(ns, cfg->name, true);
}

int netsetup_tap_create(struct vx_netsetup *ns, const struct vx_netsetup_tap *cfg, int *ret_fds, int *ret_ifindex)
{
        unsigned queues = cfg->queues ? cfg->queues : 1;
        _cleanup_free_ int *fds = calloc(queues, sizeof(int));
        struct vx_netsetup_link l;
        unsigned opened = 0;
        int r;

        if (!fds)
                return -ENOMEM;
        r = netsetup_check_ifname(cfg->name);
        if (r < 0)
                return r;
        /*
         * TUNSETIFF would attach to an existing tap: check first, for a clear error on any kind of
         * link, and IFF_TUN_EXCL closes the window between this check and the open.
         */
        r = netsetup_link_get(ns, cfg->name, &l);
        if (r >= 0)
                return -EEXIST;
        if (r != -ENODEV)
                return r;
        for (; opened < queues; opened++) {
                r = open_tun_queue(cfg->name, queues > 1, opened == 0, &fds[opened]);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                r = netsetup_link_get(ns, cfg->name, &l);
        if (r >= 0)
                r = tap_configure(ns, cfg);
        if (r < 0) {
                /* Not persistent: closing the last queue removes the tap. */
                for (unsigned q = 0; q < opened; q++)
                        safe_close(fds[q]);
                return r;
        }
        memcpy(ret_fds, fds, queues * sizeof(int));
        *ret_ifindex = l.ifindex;
        return 0;
}

int netsetup_vhost_open(int *ret_fd)
{
        int fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

/* ---- addresses and default routes, for move-host-address ---- */

static int link_index(struct vx_netsetup *ns, const char *name, int *ret)
{
        struct vx_netsetup_link l;
        int r = netsetup_link_get(ns, name, &l);

        if (r < 0)
                return r;
        *ret = l.ifindex;
        return 0;
}

static char *format_addr(struct nl_addr *a, int prefixlen)
{
        char buf[INET6_ADDRSTRLEN];
        char *s;

        if (!inet_ntop(nl_addr_get_family(a), nl_addr_get_binary_addr(a), buf, sizeof(buf)))
                return NULL;
        if (prefixlen < 0)
                return strdup(buf);
        if (asprintf(&s, "%s/%d", buf, prefixlen) < 0)
                return NULL;
        return s;
}

int netsetup_addresses(struct vx_netsetup *ns, const char *name, char ***ret)
{
        _cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
        char **list = NULL;
        size_t n = 0;
        int idx, r;

        r = link_index(ns, name, &idx);
        if (r < 0)
                return r;
        r = rtnl_addr_alloc_cache(ns->sk, &cache);
        if (r < 0)
                return nl_errno(r);
        list = calloc(1, sizeof(char *));
        if (!list)
                return -ENOMEM;
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_addr *a = (struct rtnl_addr *)o;
                int family = rtnl_addr_get_family(a);

                if (rtnl_addr_get_ifindex(a) != idx || (family != AF_INET && family != AF_INET6) ||
                    rtnl_addr_get_scope(a) != RT_SCOPE_UNIVERSE || !(rtnl_addr_get_flags(a) & IFA_F_PERMANENT))
                        continue;
                r = strv_push(&list, &n, format_addr(rtnl_addr_get_local(a), rtnl_addr_get_prefixlen(a)));
                if (r < 0) {
                        netsetup_strv_free(list);
                        return r;
                }
        }
        *ret = list;
        return 0;
}

static int address_op(struct vx_netsetup *ns, const char *name, const char *address, bool add)
{
        _cleanup_(rtnl_addr_putp) struct rtnl_addr *a = rtnl_addr_alloc();
        _cleanup_(nl_addr_putp) struct nl_addr *local = NULL;
        int idx, r;

        if (!a)
                return -ENOMEM;
        r = link_index(ns, name, &idx);
        if (r < 0)
                return r;
        r = nl_addr_parse(address, AF_UNSPEC, &local);
        if (r < 0)
                return nl_errno(r);
        rtnl_addr_set_ifindex(a, idx);
        r = rtnl_addr_set_local(a, local);
        if (r < 0)
                return nl_errno(r);
        r = add ? rtnl_addr_add(ns->sk, a, NLM_F_EXCL) : rtnl_addr_delete(ns->sk, a, 0);
        return r < 0 ? nl_errno(r) : 0;
}

int netsetup_address_add(struct vx_netsetup *ns, const char *name, const char *address)
{
        return address_op(ns, name, address, true);
}

int netsetup_address_del(struct vx_netsetup *ns, const char *name, const char *address)
{
        return address_op(ns, name, address, false);
}

int netsetup_default_routes(struct vx_netsetup *ns, const char *name, char ***ret)
{
        _cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
        char **list = NULL;
        size_t n = 0;
        int idx, r;

        r = link_index(ns, name, &idx);
        if (r < 0)
                return r;
        r = rtnl_route_alloc_cache(ns->sk, AF_UNSPEC, 0, &cache);
        if (r < 0)
                return nl_errno(r);
        list = calloc(1, sizeof(char *));
        if (!list)
                return -ENOMEM;
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_route *rt = (struct rtnl_route *)o;
                struct rtnl_nexthop *nh;
                struct nl_addr *dst = rtnl_route_get_dst(rt), *gw;
                _cleanup_free_ char *g = NULL;
                char *s = NULL;

                if (rtnl_route_get_table(rt) != RT_TABLE_MAIN || rtnl_route_get_type(rt) != RTN_UNICAST ||
                    !dst || nl_addr_get_prefixlen(dst) != 0 || rtnl_route_get_nnexthops(rt) != 1)
                        continue;
                /*
                 * A route from a router advertisement or a DHCP client belongs to
                 * whoever made it, as the dynamic addresses netsetup_addresses()
                 * leaves out do: the kernel makes the RA one again on the bridge,
                 * and moving it by hand fails (the kernel refuses to delete it
                 * as a boot route).
                 */
                if (rtnl_route_get_protocol(rt) == RTPROT_RA || rtnl_route_get_protocol(rt) == RTPROT_DHCP)
                        continue;
                nh = rtnl_route_nexthop_n(rt, 0);
                gw = nh ? rtnl_route_nh_get_gateway(nh) : NULL;
                if (!nh || rtnl_route_nh_get_ifindex(nh) != idx || !gw)
                        continue;
                g = format_addr(gw, -1);
                if (!g || asprintf(&s, "%s %u", g, rtnl_route_get_priority(rt)) < 0)
                        s = NULL;
                r = strv_push(&list, &n, s);
                if (r < 0) {
                        netsetup_strv_free(list);
                        return r;
                }
        }
        *ret = list;
        return 0;
}

static int route_op(struct vx_netsetup *ns, const char *name, const char *route, bool add)
{
        _cleanup_(rtnl_route_putp) struct rtnl_route *rt = rtnl_route_alloc();
        _cleanup_(nl_addr_putp) struct nl_addr *gw = NULL, *dst = NULL;
        struct rtnl_nexthop *nh;
        char gw_text[INET6_ADDRSTRLEN + 1];
        unsigned metric;
        int idx, family, r;

        if (!rt)
                return -ENOMEM;
        if (sscanf(route, "%46s %u", gw_text, &metric) != 2)
                return -EINVAL;
        r = link_index(ns, name, &idx);
        if (r < 0)
                return r;
        r = nl_addr_parse(gw_text, AF_UNSPEC, &gw);
        if (r < 0)
                return nl_errno(r);
        family = nl_addr_get_family(gw);
        r = nl_addr_parse("default", family, &dst);
        if (r < 0)
                return nl_errno(r);
        rtnl_route_set_family(rt, (uint8_t)family);
        rtnl_route_set_table(rt, RT_TABLE_MAIN);
        rtnl_route_set_type(rt, RTN_UNICAST);
        rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
        rtnl_route_set_protocol(rt, RTPROT_BOOT);
        rtnl_route_set_priority(rt, metric);
        r = rtnl_route_set_dst(rt, dst);
        if (r < 0)
                return nl_errno(r);
        nh = rtnl_route_nh_alloc();
        if (!nh)
                return -ENOMEM;
        rtnl_route_nh_set_ifindex(nh, idx);
        rtnl_route_nh_set_gateway(nh, gw);
        rtnl_route_add_nexthop(rt, nh); /* rt owns nh now */
        r = add ? rtnl_route_add(ns->sk, rt, NLM_F_EXCL) : rtnl_route_delete(ns->sk, rt, 0);
        return r < 0 ? nl_errno(r) : 0;
}

int netsetup_default_route_add(struct vx_netsetup *ns, const char *name, const char *route)
{
        return route_op(ns, name, route, true);
}

int netsetup_default_route_del(struct vx_netsetup *ns, const char *name, const char *route)
{
        return route_op(ns, name, route, false);
}
