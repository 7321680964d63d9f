/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * netsetup/ against the kernel, in a network namespace of its own: bridges
 * (create, reuse, refuse), taps (fe: MAC, MTU, bridge, up, CLOEXEC, gone
 * with their fds, multiqueue), vhost-net, addresses and routes. Every
 * assertion reads the result back with `ip -j`, not with netsetup.
 */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/ioctl.h>

#include <cmocka.h>

#include "netns.h"
#include "netsetup.h"

static struct vx_netsetup *ns;

/* Whether `ip -j` lists flag among a link's flags. */
static bool has_flag(json_t *l, const char *flag)
{
        size_t i;
        json_t *f;

        json_array_foreach(json_object_get(l, "flags"), i, f) if (strcmp(json_string_value(f) ?: "", flag) == 0) return true;
        return false;
}

static int setup(void **state)
{
        return netsetup_open(&ns) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
        ns = netsetup_free(ns);
        return 0;
}

static void test_bridge_create_and_reuse(void **state)
{
        struct vx_netsetup_bridge cfg = {.name = "br-t1", .stp = true, .forward_delay = 4, .mtu = 1400};
        bool created = false;
        int ifindex = 0, again = 0;
        json_t *l, *info;

        assert_int_equal(netsetup_bridge_ensure(ns, &cfg, &created, &ifindex), 0);
        assert_true(created);
        l = ip_link("br-t1");
        assert_non_null(l);
        info = json_object_get(json_object_get(l, "linkinfo"), "info_data");
        assert_string_equal(jstr(json_object_get(l, "linkinfo"), "info_kind"), "bridge");
        assert_int_equal(json_integer_value(json_object_get(info, "stp_state")), 1);
        assert_int_equal(json_integer_value(json_object_get(info, "forward_delay")), 400);
        assert_int_equal(json_integer_value(json_object_get(l, "mtu")), 1400);
        assert_int_equal(json_integer_value(json_object_get(l, "ifindex")), ifindex);
        assert_true(has_flag(l, "UP"));
        json_decref(l);

        /* An existing bridge is used as it is: settings not touched. */
        cfg.stp = false;
        cfg.mtu = 9000;
        assert_int_equal(netsetup_bridge_ensure(ns, &cfg, &created, &again), 0);
        assert_false(created);
        assert_int_equal(again, ifindex);
        l = ip_link("br-t1");
        assert_int_equal(json_integer_value(json_object_get(l, "mtu")), 1400);
        json_decref(l);

        assert_int_equal(netsetup_link_delete(ns, "br-t1", ifindex + 1000), -ENODEV); /* not that link: left */
        assert_true(link_exists("br-t1"));
        assert_int_equal(netsetup_link_delete(ns, "br-t1", ifindex), 0);
        assert_false(link_exists("br-t1"));
}

static void test_bridge_refusals(void **state)
{
        struct vx_netsetup_bridge cfg = {.name = "br-name-much-too-long", .forward_delay = -1};
        bool created;
        int ifindex;

        assert_int_equal(netsetup_bridge_ensure(ns, &cfg, &created, &ifindex), -ENAMETOOLONG);
        cfg.name = "bad/name";
        assert_int_equal(netsetup_bridge_ensure(ns, &cfg, &created, &ifindex), -EINVAL);

        /* A name taken by something that is not a bridge is refused, and the link left alone. */
        assert_int_equal(sh("ip link add vt0 type veth peer name vt1"), 0);
        cfg.name = "vt0";
        assert_int_equal(netsetup_bridge_ensure(ns, &cfg, &created, &ifindex), -EEXIST);
        assert_true(link_exists("vt0"));
        assert_int_equal(sh("ip link del vt0"), 0);
}

static void close_all(int *fds, unsigned n)
{
        for (unsigned i = 0; i < n; i++)
                close(fds[i]);
}

static void test_tap(void **state)
{
        struct vx_netsetup_bridge br = {.name = "br-t2", .forward_delay = -1, .mtu = 1450};
        struct vx_netsetup_tap cfg = {.name = "tap-t2", .bridge = "br-t2", .guest_mac = "02:04:17:01:01:02",
                                      .queues = 1};
        struct ifreq ifr = {0};
        bool created;
        int fd, ifindex, brindex;
        json_t *l;

        assert_int_equal(netsetup_bridge_ensure(ns, &br, &created, &brindex), 0);
        assert_int_equal(netsetup_tap_create(ns, &cfg, &fd, &ifindex), 0);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        assert_int_equal(ioctl(fd, TUNGETIFF, &ifr), 0);
        assert_true(ifr.ifr_flags & IFF_TAP);
        assert_true(ifr.ifr_flags & IFF_NO_PI);
        assert_true(ifr.ifr_flags & IFF_VNET_HDR);
        assert_false(ifr.ifr_flags & IFF_MULTI_QUEUE);

        l = ip_link("tap-t2");
        assert_non_null(l);
        assert_string_equal(jstr(l, "address"), "fe:04:17:01:01:02"); /* libvirt's rule: guest MAC, first byte fe */
        assert_string_equal(jstr(l, "master"), "br-t2");
        assert_int_equal(json_integer_value(json_object_get(l, "mtu")), 1450); /* the bridge's */
        assert_string_equal(jstr(json_object_get(l, "linkinfo"), "info_kind"), "tun");
        assert_true(has_flag(l, "UP"));
        json_decref(l);

        /* Taken name: refused, the existing tap keeps working. */
        {
                int fd2 = -1, idx2;
                assert_int_equal(netsetup_tap_create(ns, &cfg, &fd2, &idx2), -EEXIST);
                assert_int_equal(fd2, -1);
                assert_true(link_exists("tap-t2"));
        }

        /* Not persistent: closing the fd removes it. */
        close(fd);
        assert_false(link_exists("tap-t2"));
        assert_int_equal(netsetup_link_delete(ns, "br-t2", brindex), 0);
}

static void test_tap_explicit_mtu_no_bridge_random_mac(void **state)
{
        struct vx_netsetup_tap cfg = {.name = "tap-t3", .mtu = 9000, .queues = 1};
        int fd, ifindex;
        json_t *l;

        assert_int_equal(netsetup_tap_create(ns, &cfg, &fd, &ifindex), 0);
        l = ip_link("tap-t3");
        assert_int_equal(json_integer_value(json_object_get(l, "mtu")), 9000);
        assert_int_equal(strncmp(jstr(l, "address"), "fe:", 3), 0);
        assert_null(json_object_get(l, "master"));
        json_decref(l);
        close(fd);
        assert_false(link_exists("tap-t3"));
}

static void test_tap_multiqueue(void **state)
{
        struct vx_netsetup_tap cfg = {.name = "tap-mq", .guest_mac = "02:00:00:00:00:09", .queues = 4};
        int fds[4], ifindex;

        assert_int_equal(netsetup_tap_create(ns, &cfg, fds, &ifindex), 0);
        for (unsigned q = 0; q < 4; q++) {
                struct ifreq ifr = {0};
                assert_int_equal(ioctl(fds[q], TUNGETIFF, &ifr), 0);
                assert_true(ifr.ifr_flags & IFF_MULTI_QUEUE);
                assert_string_equal(ifr.ifr_name, "tap-mq");
                assert_true(fcntl(fds[q], F_GETFD) & FD_CLOEXEC);
        }
        close_all(fds, 3);
        assert_true(link_exists("tap-mq")); /* one queue still open */
        close(fds[3]);
        assert_false(link_exists("tap-mq"));
}

static void test_tap_bad_bridge_leaves_nothing(void **state)
{
        struct vx_netsetup_tap cfg = {.name = "tap-t4", .bridge = "br-missing", .queues = 2};
        int fds[2] = {-1, -1}, ifindex;

        assert_int_equal(netsetup_tap_create(ns, &cfg, fds, &ifindex), -ENODEV);
        assert_false(link_exists("tap-t4"));
        cfg.name = "tap-name-too-long-x";
        assert_int_equal(netsetup_tap_create(ns, &cfg, fds, &ifindex), -ENAMETOOLONG);
}

static void test_vhost(void **state)
{
        int fd = -1, r = netsetup_vhost_open(&fd);

        if (access("/dev/vhost-net", F_OK) < 0) {
                /* This host has none: the fallback (plan without vhostfd) is what runs; here only the error. */
                printf("note: /dev/vhost-net absent; checked only that opening it fails with ENOENT\n");
                assert_int_equal(r, -ENOENT);
                return;
        }
        assert_int_equal(r, 0);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        close(fd);
}

static void test_link_get_and_addresses(void **state)
{
        struct vx_netsetup_link l;
        char **addrs = NULL, **routes = NULL;

        assert_int_equal(netsetup_link_get(ns, "nope0", &l), -ENODEV);
        assert_int_equal(sh("ip link add va0 type veth peer name va1 && ip link set va0 up && ip link set va1 up && "
                            "ip addr add 10.9.0.2/24 dev va0 && ip -6 addr add 2001:db8::2/64 dev va0 nodad && "
                            "ip route add default via 10.9.0.1 dev va0 metric 5 && "
                            "ip -6 route add default via fe80::1 dev va0 metric 7 && "
                            "ip -6 route add default via fe80::2 dev va0 proto ra metric 1024"),
                         0);
        assert_int_equal(netsetup_link_get(ns, "va0", &l), 0);
        assert_string_equal(l.kind, "veth");
        assert_true(l.up);
        assert_int_equal(netsetup_addresses(ns, "va0", &addrs), 0);
        assert_non_null(addrs[0]);
        assert_non_null(addrs[1]);
        assert_null(addrs[2]); /* the fe80:: link-local address is not moved */
        assert_true(strcmp(addrs[0], "10.9.0.2/24") == 0 || strcmp(addrs[1], "10.9.0.2/24") == 0);
        assert_int_equal(netsetup_default_routes(ns, "va0", &routes), 0);
        /* The static IPv6 one is the admin's (moved); the one a router advertisement made is not. */
        assert_string_equal(routes[0], "10.9.0.1 5");
        assert_non_null(routes[1]);
        assert_string_equal(routes[1], "fe80::1 7");
        assert_null(routes[2]);

        assert_int_equal(netsetup_address_add(ns, "va1", "10.9.0.2/24"), 0);
        assert_int_equal(netsetup_address_del(ns, "va0", "10.9.0.2/24"), 0);
        assert_int_equal(netsetup_default_route_add(ns, "va1", "10.9.0.1 5"), 0);
        assert_int_equal(sh("ip -j route show default | grep -q '\"dev\":\"va1\"'"), 0);
        assert_int_equal(sh("ip -j addr show dev va1 | grep -q '10.9.0.2'"), 0);
        assert_int_equal(netsetup_default_route_del(ns, "va1", "10.9.0.1 5"), 0);
        assert_int_equal(sh("ip -j route show default | grep -q va1"), 256);
        netsetup_strv_free(addrs);
        netsetup_strv_free(routes);
        assert_int_equal(sh("ip link del va0"), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bridge_create_and_reuse),
                cmocka_unit_test(test_bridge_refusals),
                cmocka_unit_test(test_tap),
                cmocka_unit_test(test_tap_explicit_mtu_no_bridge_random_mac),
                cmocka_unit_test(test_tap_multiqueue),
                cmocka_unit_test(test_tap_bad_bridge_leaves_nothing),
                cmocka_unit_test(test_vhost),
                cmocka_unit_test(test_link_get_and_addresses),
        };

        netns_enter_or_skip();
        return cmocka_run_group_tests(tests, setup, teardown);
}
