/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Host networking without libvirt and without `ip`/`brctl`: Linux bridges,
 * tap devices (opened on /dev/net/tun here, their fds handed to QEMU),
 * /dev/vhost-net fds, moving a host address onto a bridge, and reading links
 * back. Everything goes through one rtnetlink socket (libnl-route-3); this is
 * the only module that links libnl.
 *
 * netsetup does what it is asked and reports what it did (created or not,
 * ifindex); deciding what to undo is the caller's job (launcher/journal.h).
 * Functions that take a link that may have been replaced meanwhile take its
 * ifindex too and leave any other link of that name alone.
 *
 * Every function returns 0 or a negative errno and logs nothing: the caller
 * names the object in its message. All fds are O_CLOEXEC.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"

#define VX_NETSETUP_IFNAMSIZ 16

struct vx_netsetup;

/* Opens a NETLINK_ROUTE socket in the caller's network namespace. Free with netsetup_free. */
int netsetup_open(struct vx_netsetup **ret);
struct vx_netsetup *netsetup_free(struct vx_netsetup *ns);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vx_netsetup *, netsetup_free)

/* A link as the kernel reports it. Strings are empty when absent. */
struct vx_netsetup_link {
        int ifindex;
        char name[VX_NETSETUP_IFNAMSIZ];
        char kind[16];                   /* "bridge", "tun", "veth", "" for a physical NIC */
        char master[VX_NETSETUP_IFNAMSIZ]; /* the bridge it is a port of */
        int master_ifindex;              /* 0: none */
        char mac[18];                    /* "fe:04:17:01:01:01" */
        unsigned mtu;
        bool up;                         /* IFF_UP */
        bool lower_up;                   /* IFF_LOWER_UP: carrier */
        char operstate[16];              /* "up", "down", "unknown", ... */
        uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets, rx_dropped, tx_dropped;
};

/* Reads one link by name. Returns 0 and *ret, -ENODEV when there is none, or -errno. */
int netsetup_link_get(struct vx_netsetup *ns, const char *name, struct vx_netsetup_link *ret);

/*
 * Checks a name the kernel would take for an interface: 1..15 bytes, no '/',
 * ':', whitespace. Returns 0, -ENAMETOOLONG or -EINVAL.
 */
int netsetup_check_ifname(const char *name);

struct vx_netsetup_bridge {
        const char *name;
        bool stp;
        int forward_delay; /* seconds; -1: kernel default */
        unsigned mtu;      /* 0: kernel default */
};

/*
 * Makes sure a bridge called cfg->name exists and is up. When there is no
 * link of that name, creates it with cfg's STP, forward delay and MTU and
 * brings it up: *ret_created is true. When a bridge of that name exists it is
 * used as it is (settings untouched): *ret_created is false. Returns 0 with
 * *ret_ifindex, -EEXIST when the name is taken by a link that is not a
 * bridge, -ENAMETOOLONG/-EINVAL for a bad name, or -errno. If creating
 * succeeded but a later step failed, the new bridge is deleted again.
 */
int netsetup_bridge_ensure(struct vx_netsetup *ns, const struct vx_netsetup_bridge *cfg, bool *ret_created,
                           int *ret_ifindex);

/*
 * Deletes link name, but only if it still has ifindex (0: any). Returns 0,
 * -ENODEV when it is gone already (or is another link now), or -errno.
 */
int netsetup_link_delete(struct vx_netsetup *ns, const char *name, int ifindex);

/* Makes name a port of bridge master (NULL: of none). Returns 0, -ENODEV or -errno. */
int netsetup_link_set_master(struct vx_netsetup *ns, const char *name, const char *master);

/* Sets IFF_UP on or off. Returns 0, -ENODEV or -errno. */
int netsetup_link_set_up(struct vx_netsetup *ns, const char *name, bool up);

struct vx_netsetup_tap {
        const char *name;      /* the tap's name */
        const char *bridge;    /* bridge to enslave it to; NULL: none */
        const char *guest_mac; /* the guest's MAC; the tap gets it with the first byte 0xfe. NULL: random fe:.. */
        unsigned mtu;          /* 0: the bridge's MTU (or the kernel's default without bridge) */
        unsigned queues;       /* 1 or more; more than 1 opens it IFF_MULTI_QUEUE */
};

/*
 * Creates a tap: opens /dev/net/tun once per queue (IFF_TAP|IFF_NO_PI|
 * IFF_VNET_HDR, IFF_MULTI_QUEUE for several queues), not persistent, so it
 * disappears when the last fd closes (when QEMU exits). Then sets its MAC,
 * its MTU, its bridge and brings it up, in that order. Refuses a name that
 * any link already has (-EEXIST): nothing that exists is taken over.
 * Returns 0 with cfg->queues fds (CLOEXEC) in ret_fds (an array of that
 * size, owned by the caller) and *ret_ifindex, or -errno with no fd open and
 * no tap left behind.
 */
int netsetup_tap_create(struct vx_netsetup *ns, const struct vx_netsetup_tap *cfg, int *ret_fds, int *ret_ifindex);

/* Opens /dev/vhost-net (CLOEXEC). Returns 0 and *ret_fd, -ENOENT where it does not exist, or -errno. */
int netsetup_vhost_open(int *ret_fd);

/* The host-side MAC of a tap for a guest MAC: first byte 0xfe, as libvirt does. Returns 0 or -EINVAL. */
int netsetup_tap_mac(const char *guest_mac, char ret[18]);

/*
 * The global, permanent IPv4/IPv6 addresses of a link ("192.0.2.10/24"), as
 * a NULL-terminated array (free each and the array). Returns 0 or -errno.
 */
int netsetup_addresses(struct vx_netsetup *ns, const char *name, char ***ret);

/* Adds an address ("a/prefix") to a link, or removes it. Returns 0 or -errno (-EEXIST, -EADDRNOTAVAIL). */
int netsetup_address_add(struct vx_netsetup *ns, const char *name, const char *address);
int netsetup_address_del(struct vx_netsetup *ns, const char *name, const char *address);

/*
 * The gateways of the main table's default routes out of a link ("192.0.2.1",
 * "fe80::1"), each with its metric: a NULL-terminated array of strings
 * "GATEWAY METRIC". Routes learned from router advertisements or set by a
 * DHCP client are not among them. Returns 0 or -errno.
 */
int netsetup_default_routes(struct vx_netsetup *ns, const char *name, char ***ret);

/* Adds or deletes a default route "GATEWAY METRIC" (as above) out of a link. Returns 0 or -errno. */
int netsetup_default_route_add(struct vx_netsetup *ns, const char *name, const char *route);
int netsetup_default_route_del(struct vx_netsetup *ns, const char *name, const char *route);

/* Frees a NULL-terminated string array; returns NULL. */
char **netsetup_strv_free(char **l);

/* ---- SR-IOV: a PF's VFs and the PF's own flags (sriov.c) ---- */

/* IFLA_VF_LINK_STATE_* */
enum {
        VX_NETSETUP_VF_LINK_AUTO = 0,
        VX_NETSETUP_VF_LINK_ENABLE = 1,
        VX_NETSETUP_VF_LINK_DISABLE = 2,
};

/* One VF of a PF, as the PF's driver reports it (IFLA_VFINFO_LIST). */
struct vx_netsetup_vf {
        unsigned index;
        char mac[18];      /* "02:04:17:01:02:01"; "00:00:00:00:00:00" when none */
        unsigned vlan;     /* 0: none */
        unsigned qos;      /* 802.1p priority with the VLAN */
        unsigned max_rate; /* Mbps, 0: unlimited */
        unsigned min_rate; /* Mbps, 0: none */
        int spoofchk;      /* 1 on, 0 off, -1 not reported by the driver */
        int trust;         /* 1 on, 0 off, -1 not reported */
        int link_state;    /* VX_NETSETUP_VF_LINK_*, -1 not reported */
};

/* Which fields of a struct vx_netsetup_vf netsetup_vf_set() applies. */
enum {
        VX_NETSETUP_VF_MAC = 1 << 0,
        VX_NETSETUP_VF_VLAN = 1 << 1, /* vlan and qos */
        VX_NETSETUP_VF_RATE = 1 << 2, /* max_rate and min_rate */
        VX_NETSETUP_VF_SPOOFCHK = 1 << 3,
        VX_NETSETUP_VF_TRUST = 1 << 4,
        VX_NETSETUP_VF_LINK_STATE = 1 << 5,
        VX_NETSETUP_VF_ALL = (1 << 6) - 1,
};

/*
 * Reads every VF of PF pf (RTM_GETLINK with RTEXT_FILTER_VF). Returns the
 * number of VFs (0 when it has none or is no PF) with *ret (an array of that
 * many, index order; free it, NULL when 0), -ENODEV when there is no pf, or
 * -errno.
 */
int netsetup_vfs_get(struct vx_netsetup *ns, const char *pf, struct vx_netsetup_vf **ret);

/* Reads VF index of pf. Returns 0 and *ret, -ENODEV (no pf), -ENOENT (no such VF), or -errno. */
int netsetup_vf_get(struct vx_netsetup *ns, const char *pf, unsigned index, struct vx_netsetup_vf *ret);

/*
 * Sets the fields of vf that mask names on VF vf->index of pf, one
 * RTM_SETLINK per field in this order: MAC, VLAN/QoS, rate, spoofchk, trust,
 * link state (the MAC before spoof checking, as Intel NICs need). Stops at
 * the first failure: returns 0, or -errno with *ret_failed (when not NULL)
 * the VX_NETSETUP_VF_* field the driver refused (-EOPNOTSUPP when it has no
 * such setting, e.g. igb and link state; -EINVAL for a rate while the PF has
 * no link on igb). The fields set before the failure stay set.
 */
int netsetup_vf_set(struct vx_netsetup *ns, const char *pf, const struct vx_netsetup_vf *vf, unsigned mask,
                    unsigned *ret_failed);

/* A PF's own settings that the seed set with `ifconfig p3p1 up promisc allmulti mtu 2000`. */
struct vx_netsetup_pf {
        bool up; /* IFF_UP */
        unsigned mtu;
        bool promisc;  /* IFF_PROMISC */
        bool allmulti; /* IFF_ALLMULTI */
};

enum {
        VX_NETSETUP_PF_UP = 1 << 0,
        VX_NETSETUP_PF_MTU = 1 << 1,
        VX_NETSETUP_PF_PROMISC = 1 << 2,
        VX_NETSETUP_PF_ALLMULTI = 1 << 3,
        VX_NETSETUP_PF_ALL = (1 << 4) - 1,
};

/* Reads link name's flags and MTU. Returns 0 and *ret, -ENODEV, or -errno. */
int netsetup_pf_get(struct vx_netsetup *ns, const char *name, struct vx_netsetup_pf *ret);

/*
 * Sets what mask names: the MTU first, then promisc and allmulti, then up
 * (so a PF comes up with its MTU, and goes down last when restored).
 * Returns 0, -ENODEV, or -errno (the fields set before it stay set).
 */
int netsetup_pf_set(struct vx_netsetup *ns, const char *name, const struct vx_netsetup_pf *pf, unsigned mask);

/* "02:04:17:01:02:01" to 6 bytes. Returns 0 or -EINVAL. */
int netsetup_parse_mac(const char *s, unsigned char ret[6]);
