/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The undo journal and launcher/apply.c against the kernel, in a network
 * namespace of its own: rollback order, persistence (a new supervisor undoes
 * what a dead one did), the shared-bridge registry, links that existed
 * before are never touched, and failures (taken tap name, long bridge name,
 * missing uplink, netlink errors injected halfway with -Wl,--wrap) that must
 * leave the namespace as it was. Assertions read the kernel with `ip -j`.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "deployment.h"
#include "journal.h"
#include "netns.h"

/* ---- failure injection ---- */

int __real_netsetup_tap_create(struct vx_netsetup *ns, const struct vx_netsetup_tap *cfg, int *ret_fds,
                               int *ret_ifindex);
int __wrap_netsetup_tap_create(struct vx_netsetup *ns, const struct vx_netsetup_tap *cfg, int *ret_fds,
                               int *ret_ifindex);
int __real_netsetup_link_set_master(struct vx_netsetup *ns, const char *name, const char *master);
int __wrap_netsetup_link_set_master(struct vx_netsetup *ns, const char *name, const char *master);

static unsigned tap_calls, fail_tap_call; /* fail the Nth tap (1-based); 0: never */
static const char *fail_master_of;        /* fail enslaving this link */

int __wrap_netsetup_tap_create(struct vx_netsetup *ns, const struct vx_netsetup_tap *cfg, int *ret_fds,
                               int *ret_ifindex)
{
        if (++tap_calls == fail_tap_call)
                return -EIO;
        return __real_netsetup_tap_create(ns, cfg, ret_fds, ret_ifindex);
}

int __wrap_netsetup_link_set_master(struct vx_netsetup *ns, const char *name, const char *master)
{
        if (fail_master_of && master && strcmp(name, fail_master_of) == 0)
                return -EIO;
        return __real_netsetup_link_set_master(ns, name, master);
}

/* ---- fixtures ---- */

static char runtime[] = "/tmp/vx-apply-XXXXXX";

static void deployment_load_as(struct deployment *d, const char *yaml, const char *qemu_user)
{
        static const struct vx_host_facts facts = {.kvm_usable = false};
        struct vx_plan_options opts = {.runtime_dir = runtime, .qemu_user = qemu_user};

        deployment_load_facts(d, yaml, &facts, &opts, NULL);
}

/* QEMU as root: what most tests here look at is the network. */
static void deployment_load(struct deployment *d, const char *yaml)
{
        deployment_load_as(d, yaml, "root");
}

static int reset(void **state)
{
        tap_calls = fail_tap_call = 0;
        fail_master_of = NULL;
        return 0;
}

#define VM(name, nics)                                                                                       \
        "  - name: " name "\n    accel: tcg\n    memory:\n      size: 64MiB\n    nics:\n" nics

#define TAP(tap, bridge, mac) \
        "      - {type: tap, tap: " tap ", bridge: " bridge ", mac: \"" mac "\", model: virtio, vhost: off}\n"

static bool shared_dir_exists(const char *bridge)
{
        char path[256];
        struct stat st;

        snprintf(path, sizeof(path), "%s/.shared/bridges/%s", runtime, bridge);
        return stat(path, &st) == 0;
}

/* ---- the journal alone ---- */

static char order[64];

static int record(const struct vx_undo *u, void *userdata)
{
        strncat(order, u->object, sizeof(order) - strlen(order) - 1);
        return strcmp(u->object, "E") == 0 ? -EIO : 0;
}

static void test_journal_order_and_persistence(void **state)
{
        char path[256];
        struct vx_journal *j = NULL;
        const char *objs[] = {"A", "B", "C", "D", "E"};

        snprintf(path, sizeof(path), "%s/journal-test.json", runtime);
        assert_int_equal(journal_open(path, &j), 0);
        assert_int_equal(journal_size(j), 0);
        assert_int_equal(access(path, F_OK), -1); /* written at the first push */
        for (size_t i = 0; i < 5; i++)
                assert_int_equal(journal_push(j, &(struct vx_undo){.kind = VX_UNDO_DELETE_LINK,
                                                                   .owner = i % 2 ? "vm:x" : NULL,
                                                                   .object = (char *)objs[i], .ifindex = (int)i}),
                                 0);
        journal_free(j);

        /* What a dead supervisor pushed, a new one reads back. */
        assert_int_equal(journal_open(path, &j), 0);
        assert_int_equal(journal_size(j), 5);
        assert_string_equal(journal_step(j, 3)->owner, "vm:x");
        assert_int_equal(journal_step(j, 4)->ifindex, 4);

        /* One owner's steps alone, newest first. */
        order[0] = '\0';
        assert_int_equal(journal_undo(j, 0, true, "vm:x", record, NULL), 0);
        assert_string_equal(order, "DB");
        assert_int_equal(journal_size(j), 3);

        /* Everything, newest first; a failing step is dropped all the same, its error returned. */
        order[0] = '\0';
        assert_int_equal(journal_undo(j, 0, false, NULL, record, NULL), -EIO);
        assert_string_equal(order, "ECA");
        assert_int_equal(journal_size(j), 0);
        assert_int_equal(access(path, F_OK), -1); /* an empty journal leaves no file */
        journal_free(j);

        /* A corrupt journal is an error, not an empty one. */
        assert_int_equal(sh("echo '{\"version\":1,\"steps\":[{\"undo\":\"explode\",\"object\":\"x\"}]}' > %s", path),
                         0);
        assert_int_equal(journal_open(path, &j), -EBADMSG);
        unlink(path);
}

/* ---- apply ---- */

/* The VM's fd table slots, all -EBADF, as the supervisor hands them to apply_vm(). */
static int *fd_table(struct deployment *d, int *fds, size_t *ret_n)
{
        size_t n = d->plan->vms[0].n_fds;

        assert_true(n <= 16);
        for (size_t i = 0; i < n; i++)
                fds[i] = -EBADF;
        *ret_n = n;
        return fds;
}

static void test_lifecycle_and_adoption(void **state)
{
        struct deployment d = {0};
        int fds[16];
        size_t n = 0;
        json_t *l;

        deployment_load(&d, "name: life\nbridges:\n  - {name: br-life, stp: true, mtu: 1400}\nvms:\n"
                            VM("v1", TAP("life-a", "br-life", "02:00:00:00:00:01")
                                     "      - {type: tap, tap: life-b, bridge: br-life, queues: 2, vhost: off}\n"));
        assert_int_equal(apply_deployment(d.apply), 0);
        assert_int_equal(apply_vm(d.apply, &d.plan->vms[0], fd_table(&d, fds, &n)), 0);
        /* One slot per fd table entry: QMP (the launcher's), life-a, then life-b's two queues. */
        assert_int_equal(n, 4);
        assert_int_equal(fds[0], -EBADF);
        for (size_t i = 1; i < n; i++)
                assert_true(fds[i] >= 0);
        l = ip_link("life-a");
        assert_string_equal(jstr(l, "master"), "br-life");
        assert_string_equal(jstr(l, "address"), "fe:00:00:00:00:01");
        assert_int_equal(json_integer_value(json_object_get(l, "mtu")), 1400);
        json_decref(l);
        assert_true(link_exists("life-b"));

        /* The supervisor dies with QEMU holding the fds; the next one undoes from the file. */
        d.apply = apply_free(d.apply);
        assert_int_equal(apply_open(d.plan, &d.apply), 0);
        assert_int_equal(journal_size(apply_journal(d.apply)), 3); /* claim, two taps */
        assert_int_equal(apply_deployment(d.apply), 0);              /* adoption: claimed already, no-op */
        assert_int_equal(journal_size(apply_journal(d.apply)), 3);
        assert_int_equal(apply_teardown(d.apply), 0);
        assert_false(link_exists("life-a"));
        assert_false(link_exists("life-b"));
        assert_false(link_exists("br-life"));
        assert_false(shared_dir_exists("br-life"));
        assert_int_equal(journal_size(apply_journal(d.apply)), 0);
        apply_close_fds(fds, n);
        deployment_done(&d);
}

static void test_restart_recreates_taps(void **state)
{
        struct deployment d = {0};
        int fds[16], first;
        size_t n = 0;
        json_t *l;

        deployment_load(&d, "name: rs\nbridges:\n  - {name: br-rs}\nvms:\n" VM("v1", TAP("rs-a", "br-rs", "02:00:00:00:00:02")));
        assert_int_equal(apply_deployment(d.apply), 0);
        assert_int_equal(apply_vm(d.apply, &d.plan->vms[0], fd_table(&d, fds, &n)), 0);
        l = ip_link("rs-a");
        first = (int)json_integer_value(json_object_get(l, "ifindex"));
        json_decref(l);
        apply_close_fds(fds, n); /* QEMU died: its tap with it */
        assert_false(link_exists("rs-a"));
        assert_int_equal(apply_vm(d.apply, &d.plan->vms[0], fd_table(&d, fds, &n)), 0);
        l = ip_link("rs-a");
        assert_int_not_equal(json_integer_value(json_object_get(l, "ifindex")), first);
        assert_string_equal(jstr(l, "master"), "br-rs");
        json_decref(l);
        assert_int_equal(journal_count(apply_journal(d.apply), VX_UNDO_DELETE_LINK, "rs-a"), 1);
        apply_close_fds(fds, n);
        assert_int_equal(apply_teardown(d.apply), 0);
        assert_false(link_exists("br-rs"));
        deployment_done(&d);
}

static void test_shared_bridge_refcount(void **state)
{
        struct deployment a = {0}, b = {0};

        deployment_load(&a, "name: da\nbridges:\n  - {name: br-shared}\nvms:\n" VM("v", TAP("da-t", "br-shared", "02:00:00:00:00:03")));
        deployment_load(&b, "name: db\nbridges:\n  - {name: br-shared}\nvms:\n" VM("v", TAP("db-t", "br-shared", "02:00:00:00:00:04")));
        assert_int_equal(apply_deployment(a.apply), 0);
        assert_int_equal(apply_deployment(b.apply), 0);
        assert_true(link_exists("br-shared"));

        /* The first one out leaves it to the other... */
        assert_int_equal(apply_teardown(a.apply), 0);
        assert_true(link_exists("br-shared"));
        /* ...the last one out deletes it, since vmxrun created it. */
        assert_int_equal(apply_teardown(b.apply), 0);
        assert_false(link_exists("br-shared"));
        assert_false(shared_dir_exists("br-shared"));
        deployment_done(&a);
        deployment_done(&b);
}

static void test_preexisting_links_untouched(void **state)
{
        struct deployment d = {0};
        int fds[16];
        size_t n = 0;

        assert_int_equal(sh("ip link add br-pre type bridge && ip link add br-old type bridge && "
                            "ip link set br-pre mtu 1300"),
                         0);
        deployment_load(&d, "name: pre\nbridges:\n  - {name: br-pre, stp: true, mtu: 9000}\nvms:\n"
                            VM("v", TAP("pre-a", "br-pre", "02:00:00:00:00:05") TAP("pre-b", "br-old", "02:00:00:00:00:06")));
        assert_int_equal(apply_deployment(d.apply), 0);
        assert_int_equal(apply_vm(d.apply, &d.plan->vms[0], fd_table(&d, fds, &n)), 0);
        apply_close_fds(fds, n);
        assert_int_equal(apply_teardown(d.apply), 0);
        /* Found, used, left as they were. */
        {
                json_t *l = ip_link("br-pre");
                assert_non_null(l);
                assert_int_equal(json_integer_value(json_object_get(l, "mtu")), 1300);
                assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(l, "linkinfo"),
                                                                                    "info_data"),
                                                                    "stp_state")),
                                 0);
                json_decref(l);
        }
        assert_true(link_exists("br-old"));
        assert_int_equal(sh("ip link del br-pre && ip link del br-old"), 0);
        deployment_done(&d);
}

static void test_missing_bridge_of_tap(void **state)
{
        struct deployment d = {0};

        deployment_load(&d, "name: mb\nbridges:\n  - {name: br-mb}\nvms:\n" VM("v", TAP("mb-a", "br-nowhere", "02:00:00:00:00:07")));
        assert_int_equal(apply_deployment(d.apply), -ENODEV);
        assert_false(link_exists("br-mb")); /* rolled back */
        assert_int_equal(journal_size(apply_journal(d.apply)), 0);
        deployment_done(&d);
}

static void test_missing_uplink(void **state)
{
        struct deployment d = {0};

        deployment_load(&d, "name: mu\nbridges:\n  - {name: br-mu, uplink: nope0}\nvms:\n" VM("v", TAP("mu-a", "br-mu", "02:00:00:00:00:08")));
        assert_int_equal(apply_deployment(d.apply), -ENODEV);
        assert_false(link_exists("br-mu"));
        assert_false(shared_dir_exists("br-mu"));
        assert_int_equal(journal_size(apply_journal(d.apply)), 0);
        deployment_done(&d);
}

static void setup_uplink(void)
{
        assert_int_equal(sh("ip link add up0 type veth peer name up1 && ip link set up0 up && ip link set up1 up && "
                            "ip addr add 10.9.0.2/24 dev up0 && ip route add default via 10.9.0.1 dev up0"),
                         0);
}

static void test_uplink_move_host_address(void **state)
{
        struct deployment d = {0};

        setup_uplink();
        deployment_load(&d, "name: mv\nbridges:\n  - {name: br-mv, uplink: up0, move-host-address: true}\nvms:\n"
                            VM("v", TAP("mv-a", "br-mv", "02:00:00:00:00:09")));
        assert_int_equal(apply_deployment(d.apply), 0);
        assert_int_equal(sh("ip -j link show dev up0 | grep -q '\"master\":\"br-mv\"'"), 0);
        assert_int_equal(sh("ip -j addr show dev br-mv | grep -q '\"local\":\"10.9.0.2\"'"), 0);
        assert_int_equal(sh("ip -j addr show dev up0 | grep -q '10.9.0.2'"), 256);
        assert_int_equal(sh("ip -j route show default | grep -q '\"dev\":\"br-mv\"'"), 0);

        assert_int_equal(apply_teardown(d.apply), 0);
        assert_false(link_exists("br-mv"));
        assert_int_equal(sh("ip -j link show dev up0 | grep -q master"), 256);
        assert_int_equal(sh("ip -j addr show dev up0 | grep -q '\"local\":\"10.9.0.2\"'"), 0);
        assert_int_equal(sh("ip -j route show default | grep -q '\"dev\":\"up0\"'"), 0);
        assert_int_equal(sh("ip link del up0"), 0);
        deployment_done(&d);
}

static void test_uplink_without_move_keeps_address(void **state)
{
        struct deployment d = {0};

        setup_uplink();
        deployment_load(&d, "name: nm\nbridges:\n  - {name: br-nm, uplink: up0}\nvms:\n" VM("v", TAP("nm-a", "br-nm", "02:00:00:00:00:0a")));
        assert_int_equal(apply_deployment(d.apply), 0);
        assert_int_equal(sh("ip -j addr show dev up0 | grep -q '10.9.0.2'"), 0); /* opt-in only */
        assert_int_equal(sh("ip -j addr show dev br-nm | grep -q '10.9.0.2'"), 256);
        assert_int_equal(apply_teardown(d.apply), 0);
        assert_int_equal(sh("ip -j link show dev up0 | grep -q master"), 256);
        assert_int_equal(sh("ip link del up0"), 0);
        deployment_done(&d);
}

static void test_inject_netlink_error_enslaving_uplink(void **state)
{
        struct deployment d = {0};

        setup_uplink();
        fail_master_of = "up0";
        deployment_load(&d, "name: ie\nbridges:\n  - {name: br-ok}\n  - {name: br-ie, uplink: up0, move-host-address: true}\nvms:\n"
                            VM("v", TAP("ie-a", "br-ie", "02:00:00:00:00:0b")));
        assert_int_equal(apply_deployment(d.apply), -EIO);
        /* Everything this start did is undone: both bridges (the first one fully set up) gone. */
        assert_false(link_exists("br-ok"));
        assert_false(link_exists("br-ie"));
        assert_int_equal(sh("ip -j addr show dev up0 | grep -q '10.9.0.2'"), 0);
        assert_int_equal(journal_size(apply_journal(d.apply)), 0);
        assert_int_equal(sh("ip link del up0"), 0);
        deployment_done(&d);
}

static void test_inject_tap_failure_halfway(void **state)
{
        struct deployment d = {0};
        int fds[16];
        size_t n = 0;

        deployment_load(&d, "name: it\nbridges:\n  - {name: br-it}\nvms:\n"
                            VM("v", TAP("it-a", "br-it", "02:00:00:00:00:0c") TAP("it-b", "br-it", "02:00:00:00:00:0d")
                                    TAP("it-c", "br-it", "02:00:00:00:00:0e")));
        assert_int_equal(apply_deployment(d.apply), 0);
        fail_tap_call = 2;
        assert_int_equal(apply_vm(d.apply, &d.plan->vms[0], fd_table(&d, fds, &n)), -EIO);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(fds[i], -EBADF); /* nothing left open */
        assert_false(link_exists("it-a")); /* the first tap went again */
        assert_false(link_exists("it-c"));
        assert_null(journal_find(apply_journal(d.apply), VX_UNDO_DELETE_LINK, "it-a", false, NULL));
        assert_true(link_exists("br-it")); /* the deployment's part stays until teardown */
        assert_int_equal(apply_teardown(d.apply), 0);
        assert_false(link_exists("br-it"));
        deployment_done(&d);
}

static void test_tap_name_taken(void **state)
{
        struct deployment d = {0};
        int fds[16];
        size_t n = 0;

        assert_int_equal(sh("ip link add tk-a type veth peer name tk-peer"), 0);
        deployment_load(&d, "name: tk\nbridges:\n  - {name: br-tk}\nvms:\n"
                            VM("v", TAP("tk-0", "br-tk", "02:00:00:00:00:0f") TAP("tk-a", "br-tk", "02:00:00:00:00:10")));
        assert_int_equal(apply_deployment(d.apply), 0);
        assert_int_equal(apply_vm(d.apply, &d.plan->vms[0], fd_table(&d, fds, &n)), -EEXIST);
        assert_false(link_exists("tk-0"));
        assert_true(link_exists("tk-a")); /* not ours: left alone, not enslaved */
        assert_int_equal(sh("ip -j link show dev tk-a | grep -q master"), 256);
        assert_int_equal(apply_teardown(d.apply), 0);
        assert_true(link_exists("tk-a"));
        assert_int_equal(sh("ip link del tk-a"), 0);
        deployment_done(&d);
}

/*
 * A VF whose PF is not there (nor, on most hosts, an IOMMU): apply refuses
 * it before changing anything, the bridges included (tests/test_apply_vfio.c
 * has the rest of PCI passthrough).
 */
static void test_passthrough_refused_first(void **state)
{
        struct deployment d = {0};

        deployment_load(&d, "name: ub\nbridges:\n  - {name: br-ub}\nvms:\n" VM(
                                    "v", TAP("ub-a", "br-ub", "02:00:00:00:00:20") "      - {type: vf, pf: ub-pf0, vf: "
                                                                                   "3, mac: \"02:00:00:00:00:21\"}\n"));
        assert_int_equal(apply_deployment(d.apply), -ENODEV);
        assert_false(link_exists("br-ub"));
        assert_int_equal(journal_size(apply_journal(d.apply)), 0);
        assert_false(shared_dir_exists("br-ub"));
        deployment_done(&d);
}

/*
 * QEMU as its own user (vmxrun-qemu, which scripts/install-deps.sh makes): a
 * kernel it cannot read is given to it and given back at teardown; one behind
 * a directory that does not let it through is refused, naming the directory.
 */
static void test_qemu_user_access(void **state)
{
        char files[] = "/tmp/vx-access-XXXXXX";
        _cleanup_free_ char *kernel = NULL, *hidden = NULL, *yaml = NULL, *yaml2 = NULL;
        struct deployment d = {0};
        struct stat st;

        if (system("getent passwd vmxrun-qemu >/dev/null") != 0) {
                print_message("SKIP: no user vmxrun-qemu (scripts/install-deps.sh makes it)\n");
                skip();
        }
        assert_non_null(mkdtemp(files));
        assert_int_equal(chmod(files, 0755), 0);
        assert_true(asprintf(&kernel, "%s/vmlinuz", files) > 0);
        assert_true(asprintf(&hidden, "%s/private/vmlinuz", files) > 0);
        assert_int_equal(
                sh("touch %s && chmod 600 %s && mkdir -m 700 %s/private && touch %s", kernel, kernel, files, hidden),
                0);
        assert_true(asprintf(&yaml,
                             "name: acc\nvms:\n  - name: v\n    accel: tcg\n    memory: {size: 64MiB}\n"
                             "    boot: {kernel: %s}\n",
                             kernel) > 0);
        deployment_load_as(&d, yaml, NULL);
        assert_string_equal(d.plan->qemu_user, "vmxrun-qemu");
        assert_int_equal(apply_deployment(d.apply), 0);
        assert_int_equal(stat(kernel, &st), 0);
        assert_int_equal(st.st_uid, apply_qemu_user(d.apply)->uid);
        assert_int_equal(stat(d.plan->deployment_dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0710);
        assert_int_equal(st.st_gid, apply_qemu_user(d.apply)->gid);
        assert_int_equal(apply_teardown(d.apply), 0);
        assert_int_equal(stat(kernel, &st), 0);
        assert_int_equal(st.st_uid, 0); /* given back, mode too */
        assert_int_equal(st.st_mode & 07777, 0600);
        deployment_done(&d);

        assert_true(asprintf(&yaml2,
                             "name: acc2\nvms:\n  - name: v\n    accel: tcg\n    memory: {size: 64MiB}\n"
                             "    boot: {kernel: %s}\n",
                             hidden) > 0);
        deployment_load_as(&d, yaml2, NULL);
        assert_int_equal(apply_deployment(d.apply), -EACCES);
        assert_int_equal(stat(hidden, &st), 0);
        assert_int_equal(st.st_uid, 0); /* nothing was given away */
        assert_int_equal(journal_size(apply_journal(d.apply)), 0);
        deployment_done(&d);
        assert_int_equal(sh("rm -rf %s", files), 0);
}

static void test_bind_unbind(void **state)
{
        struct deployment d = {0};
        _cleanup_free_ char *err = NULL;
        int fds[16];
        size_t n = 0;

        assert_int_equal(sh("ip link add hb0 type veth peer name hb1 && ip link add br-foreign type bridge && "
                            "ip link add hb2 type veth peer name hb3 && ip link set hb2 master br-foreign"),
                         0);
        deployment_load(&d, "name: bd\nbridges:\n  - {name: br-bd}\nvms:\n" VM("v", TAP("bd-a", "br-bd", "02:00:00:00:00:11")));
        assert_int_equal(apply_deployment(d.apply), 0);
        assert_int_equal(apply_vm(d.apply, &d.plan->vms[0], fd_table(&d, fds, &n)), 0);

        assert_int_equal(apply_bind(d.apply, "bd-a", "bridge1", &err), 0);
        assert_int_equal(apply_bind(d.apply, "hb0", "bridge1", &err), 0);
        assert_int_equal(sh("ip -j link show master bridge1 | grep -q bd-a"), 0);
        assert_int_equal(sh("ip -j link show master bridge1 | grep -q hb0"), 0);

        /* Refusals, each with a message and nothing changed. */
        assert_int_equal(apply_bind(d.apply, "hb0", "bridge1", &err), -EEXIST);
        assert_int_equal(apply_bind(d.apply, "hb2", "bridge1", &err), -EBUSY); /* another bridge's port */
        assert_non_null(strstr(err, "br-foreign"));
        assert_int_equal(apply_bind(d.apply, "hb1", "bridge-name-too-long", &err), -ENAMETOOLONG);
        assert_non_null(strstr(err, "longer than 15 bytes"));
        assert_false(link_exists("bridge-name-too-long"));
        assert_int_equal(apply_bind(d.apply, "nope0", "bridge1", &err), -ENODEV);
        assert_int_equal(apply_unbind(d.apply, "hb1", &err), -ENOENT);

        /* Unbinding the tap puts it back into its profile's bridge; bridge1 stays for hb0. */
        assert_int_equal(apply_unbind(d.apply, "bd-a", &err), 0);
        assert_int_equal(sh("ip -j link show dev bd-a | grep -q '\"master\":\"br-bd\"'"), 0);
        assert_true(link_exists("bridge1"));
        assert_int_equal(apply_unbind(d.apply, "hb0", &err), 0);
        assert_false(link_exists("bridge1"));
        assert_int_equal(sh("ip -j link show dev hb0 | grep -q master"), 256);

        /* Stop with a binding still there: teardown undoes it too. */
        assert_int_equal(apply_bind(d.apply, "hb0", "bridge2", &err), 0);
        apply_close_fds(fds, n);
        assert_int_equal(apply_teardown(d.apply), 0);
        assert_false(link_exists("bridge2"));
        assert_false(link_exists("br-bd"));
        assert_true(link_exists("hb0"));
        assert_true(link_exists("br-foreign"));
        assert_int_equal(sh("ip link del hb0 && ip link del hb2 && ip link del br-foreign"), 0);
        deployment_done(&d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_journal_order_and_persistence, reset),
                cmocka_unit_test_setup(test_lifecycle_and_adoption, reset),
                cmocka_unit_test_setup(test_restart_recreates_taps, reset),
                cmocka_unit_test_setup(test_shared_bridge_refcount, reset),
                cmocka_unit_test_setup(test_preexisting_links_untouched, reset),
                cmocka_unit_test_setup(test_missing_bridge_of_tap, reset),
                cmocka_unit_test_setup(test_missing_uplink, reset),
                cmocka_unit_test_setup(test_uplink_move_host_address, reset),
                cmocka_unit_test_setup(test_uplink_without_move_keeps_address, reset),
                cmocka_unit_test_setup(test_inject_netlink_error_enslaving_uplink, reset),
                cmocka_unit_test_setup(test_inject_tap_failure_halfway, reset),
                cmocka_unit_test_setup(test_tap_name_taken, reset),
                cmocka_unit_test_setup(test_passthrough_refused_first, reset),
                cmocka_unit_test_setup(test_qemu_user_access, reset),
                cmocka_unit_test_setup(test_bind_unbind, reset),
        };
        int r;

        netns_enter_or_skip();
        if (!mkdtemp(runtime) || chmod(runtime, 0755) < 0)
                return 1;
        r = cmocka_run_group_tests(tests, NULL, NULL);
        (void)sh("rm -rf %s", runtime);
        return r;
}
