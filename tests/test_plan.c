/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "plan.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)

/*
 * Models are built in C, as profile_load would leave them after validation
 * (defaults filled in), so these tests do not depend on the parser.
 */
static struct vx_vm base_vm(const char *name)
{
        return (struct vx_vm){
            .name = (char *)name,
            .qemu = (char *)"/usr/bin/qemu-system-x86_64",
            .machine = (char *)"pc",
            .accel = VX_ACCEL_KVM,
            .cpu = {.model = (char *)"max"},
            .vcpus = 1,
            .topology = {.sockets = 1, .dies = 1, .cores = 1, .threads = 1},
            .memory = {.size = 2048 * MIB, .node = -1, .prealloc = true, .merge = true},
        };
}

static struct vx_nic tap_nic(const char *tap, const char *bridge, enum vx_nic_model model,
                             enum vx_tristate vhost)
{
        return (struct vx_nic){
            .type = VX_NIC_TAP,
            .model = model,
            .pci_slot = -1,
            .bridge = (char *)bridge,
            .tap = (char *)tap,
            .vhost = vhost,
            .queues = 1,
            .vf = -1,
            .vlan = -1,
            .rate_mbps = -1,
        };
}

static struct vx_nic vf_nic(const char *pf, int vf, const char *mac)
{
        return (struct vx_nic){
            .type = VX_NIC_VF,
            .mac = (char *)mac,
            .pci_slot = -1,
            .pf = (char *)pf,
            .vf = vf,
            .vlan = -1,
            .rate_mbps = 10000,
            .spoofchk = VX_OFF,
            .trust = VX_AUTO,
        };
}

static struct vx_profile one_vm_profile(struct vx_vm *vm)
{
        return (struct vx_profile){.name = (char *)"lab", .vms = vm, .n_vms = 1};
}

static const struct vx_host_facts kvm_host = {.kvm_usable = true, .vhost_net = true};

static struct vx_plan *build(const struct vx_profile *p, const struct vx_host_facts *facts,
                             const struct vx_plan_options *opts)
{
        struct vx_plan *plan = NULL;

        assert_int_equal(plan_build(p, facts, opts, &plan), 0);
        assert_non_null(plan);
        assert_int_equal(plan->n_vms, p->n_vms);
        return plan;
}

/* The value after the nth (0-based) occurrence of option, or NULL. */
static const char *value_of(const struct vx_vm_plan *vp, const char *option, unsigned nth)
{
        for (size_t i = 0; i + 1 < vp->argv.n; i++)
                if (strcmp(vp->argv.items[i], option) == 0 && nth-- == 0)
                        return vp->argv.items[i + 1];
        return NULL;
}

static ssize_t index_of(const struct vx_vm_plan *vp, const char *item)
{
        for (size_t i = 0; i < vp->argv.n; i++)
                if (strcmp(vp->argv.items[i], item) == 0)
                        return (ssize_t)i;
        return -1;
}

static bool has_note(const struct vx_vm_plan *vp, const char *needle)
{
        for (size_t i = 0; i < vp->n_notes; i++)
                if (strstr(vp->notes[i], needle))
                        return true;
        return false;
}

static const struct vx_host_action *find_action(const struct vx_plan *plan, enum vx_host_action_kind kind)
{
        for (size_t i = 0; i < plan->n_actions; i++)
                if (plan->actions[i].kind == kind)
                        return &plan->actions[i];
        return NULL;
}

static void test_minimal_layout(void **state)
{
        struct vx_vm vm = base_vm("demo");
        struct vx_profile p = one_vm_profile(&vm);
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        static const char *const expected[] = {
                "/usr/bin/qemu-system-x86_64",
                "-name",
                "guest=demo,debug-threads=on",
                "-S",
                "-no-user-config",
                "-nodefaults",
                "-machine",
                "pc,usb=off,dump-guest-core=off",
                "-accel",
                "kvm",
                "-cpu",
                "max",
                "-smp",
                "1,sockets=1,dies=1,cores=1,threads=1",
                "-m",
                "2048M",
                "-overcommit",
                "mem-lock=off",
                "-chardev",
                "socket,id=charmonitor,fd=3,server=on,wait=off",
                "-mon",
                "chardev=charmonitor,id=monitor,mode=control",
                "-pidfile",
                "/run/vmxrun/lab/demo/qemu.pid",
                "-rtc",
                "base=utc",
                "-boot",
                "strict=on",
                "-display",
                "none",
                "-sandbox",
                "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
                "-msg",
                "timestamp=on",
        };
        const struct vx_vm_plan *vp;

        plan = build(&p, &kvm_host, NULL);
        vp = &plan->vms[0];
        assert_int_equal(vp->argv.n, ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                assert_string_equal(vp->argv.items[i], expected[i]);
        assert_null(vp->argv.items[vp->argv.n]);
        assert_true(vp->complete);
        assert_int_equal(vp->accel, VX_ACCEL_KVM);
        assert_int_equal(vp->n_notes, 0);
        assert_string_equal(plan->deployment_dir, "/run/vmxrun/lab");
        assert_string_equal(vp->runtime_dir, "/run/vmxrun/lab/demo");
        assert_string_equal(vp->qmp_path, "/run/vmxrun/lab/demo/qmp.sock");
        assert_ptr_equal(plan_find_vm(plan, "demo"), vp);
        assert_null(plan_find_vm(plan, "nope"));
        assert_int_equal(plan->n_actions, 0);
}

static void test_runtime_dir_override(void **state)
{
        struct vx_vm vm = base_vm("demo");
        struct vx_profile p = one_vm_profile(&vm);
        struct vx_plan_options opts = {.runtime_dir = "/tmp/rt"};
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;

        p.host.runtime_dir = (char *)"/srv/run";
        plan = build(&p, &kvm_host, NULL);
        assert_string_equal(plan->vms[0].qmp_path, "/srv/run/lab/demo/qmp.sock");
        plan = plan_free(plan);
        plan = build(&p, &kvm_host, &opts);
        assert_string_equal(plan->vms[0].qmp_path, "/tmp/rt/lab/demo/qmp.sock");
        assert_true(plan->vms[0].complete);
        plan = plan_free(plan);

        /* A runtime dir that makes console.sock longer than sun_path: a note, and start refuses it. */
        opts.runtime_dir = "/tmp/a-runtime-directory-that-is-long-enough-that-the-deployment-and-vm-names-push-it-over";
        plan = build(&p, &kvm_host, &opts);
        assert_false(plan->vms[0].complete);
        assert_true(has_note(&plan->vms[0], "longer than a unix socket path"));
}

static void test_accel_fallback(void **state)
{
        struct vx_vm vm = base_vm("vfp");
        struct vx_profile p = one_vm_profile(&vm);
        struct vx_host_facts no_kvm = {.kvm_usable = false};
        struct vx_plan_options force_tcg = {.force_accel = true, .accel = VX_ACCEL_TCG};
        struct vx_plan_options force_kvm = {.force_accel = true, .accel = VX_ACCEL_KVM};
        struct vx_plan *plan;

        /* KVM unusable, fallback allowed: TCG, with a note, still complete. */
        vm.tcg_fallback = true;
        vm.cpu.model = (char *)"host";
        plan = build(&p, &no_kvm, NULL);
        assert_int_equal(plan->vms[0].accel, VX_ACCEL_TCG);
        assert_string_equal(value_of(&plan->vms[0], "-accel", 0), "tcg,thread=multi");
        assert_true(plan->vms[0].complete);
        assert_true(has_note(&plan->vms[0], "falling back to TCG"));
        /* 'host' does not exist under TCG. */
        assert_string_equal(value_of(&plan->vms[0], "-cpu", 0), "max");
        assert_true(has_note(&plan->vms[0], "cpu model 'host' needs KVM"));
        plan_free(plan);

        /* No fallback: kvm is kept, the plan is incomplete. */
        vm.tcg_fallback = false;
        plan = build(&p, &no_kvm, NULL);
        assert_int_equal(plan->vms[0].accel, VX_ACCEL_KVM);
        assert_string_equal(value_of(&plan->vms[0], "-accel", 0), "kvm");
        assert_string_equal(value_of(&plan->vms[0], "-cpu", 0), "host");
        assert_false(plan->vms[0].complete);
        assert_true(has_note(&plan->vms[0], "/dev/kvm is not usable"));
        plan_free(plan);

        /* --accel wins over the profile and the host. */
        plan = build(&p, &kvm_host, &force_tcg);
        assert_int_equal(plan->vms[0].accel, VX_ACCEL_TCG);
        assert_true(plan->vms[0].complete);
        plan_free(plan);
        plan = build(&p, &no_kvm, &force_kvm);
        assert_int_equal(plan->vms[0].accel, VX_ACCEL_KVM);
        assert_false(plan->vms[0].complete);
        plan_free(plan);

        /* A profile that asks for TCG gets it without a note. */
        vm.accel = VX_ACCEL_TCG;
        vm.cpu.model = (char *)"max";
        plan = build(&p, &no_kvm, NULL);
        assert_int_equal(plan->vms[0].accel, VX_ACCEL_TCG);
        assert_int_equal(plan->vms[0].n_notes, 0);
        assert_true(plan->vms[0].complete);
        plan_free(plan);
}

static void test_hugepage_backend(void **state)
{
        struct vx_vm vm = base_vm("vfp");
        struct vx_profile p = one_vm_profile(&vm);
        static const struct vx_hugetlbfs_fact mounts[] = {
            {.page_size = 2 * MIB, .path = "/dev/hugepages"},
            {.page_size = GIB, .path = "/mnt/huge1G"},
        };
        struct vx_host_facts facts = {.kvm_usable = true, .hugetlbfs = mounts, .n_hugetlbfs = 2};
        const struct vx_host_action *a;
        /* The mount logic first, with QEMU as root: mem-path is the mount itself. */
        static const struct vx_plan_options as_root = {.qemu_user = "root"};
        struct vx_plan *plan;

        vm.memory = (struct vx_memory){.size = 16 * GIB,
                                       .hugepages = true,
                                       .page_size = GIB,
                                       .node = 1,
                                       .policy = VX_MEM_POLICY_BIND,
                                       .prealloc = true,
                                       .merge = false};
        plan = build(&p, &facts, &as_root);
        assert_string_equal(value_of(&plan->vms[0], "-machine", 0),
                            "pc,usb=off,dump-guest-core=off,mem-merge=off,memory-backend=mem0");
        assert_string_equal(
            value_of(&plan->vms[0], "-object", 0),
            "memory-backend-file,id=mem0,size=16384M,mem-path=/mnt/huge1G,prealloc=on,share=off,"
            "host-nodes=1,policy=bind");
        assert_string_equal(value_of(&plan->vms[0], "-m", 0), "16384M");
        a = find_action(plan, VX_ACTION_HUGEPAGES);
        assert_non_null(a);
        assert_string_equal(a->object, "1G");
        assert_non_null(strstr(a->description, "16 free 1G hugepages on node 1"));
        assert_null(find_action(plan, VX_ACTION_HUGETLBFS_MOUNT));
        assert_true(plan->vms[0].complete);
        plan_free(plan);

        /* No 1G hugetlbfs mounted: the default mount point, a note and an action to mount it. */
        facts.n_hugetlbfs = 1;
        vm.memory.node = -1;
        vm.memory.prealloc = false;
        plan = build(&p, &facts, &as_root);
        assert_string_equal(value_of(&plan->vms[0], "-object", 0),
                            "memory-backend-file,id=mem0,size=16384M,mem-path=/dev/hugepages1G,prealloc=off,"
                            "share=off");
        assert_true(has_note(&plan->vms[0], "no hugetlbfs with 1G pages"));
        a = find_action(plan, VX_ACTION_HUGETLBFS_MOUNT);
        assert_non_null(a);
        assert_string_equal(a->object, "/dev/hugepages1G");
        assert_true(plan->vms[0].complete);
        plan_free(plan);

        /* An explicit path wins over the facts; 2M pages by default. */
        vm.memory.page_size = 2 * MIB;
        vm.memory.path = (char *)"/HugePage_vPFE";
        vm.memory.policy = VX_MEM_POLICY_PREFERRED;
        vm.memory.node = 0;
        plan = build(&p, &facts, &as_root);
        assert_string_equal(
            value_of(&plan->vms[0], "-object", 0),
            "memory-backend-file,id=mem0,size=16384M,mem-path=/HugePage_vPFE,prealloc=off,share=off,"
            "host-nodes=0,policy=preferred");
        assert_non_null(
            strstr(find_action(plan, VX_ACTION_HUGEPAGES)->description, "8192 free 2M hugepages"));
        plan_free(plan);

        /* QEMU as its own user gets a directory of its own in the mount, and mem-dir makes it. */
        vm.memory.path = NULL;
        vm.memory.node = -1;
        plan = build(&p, &facts, NULL);
        assert_string_equal(plan->qemu_user, "vmxrun-qemu");
        assert_string_equal(value_of(&plan->vms[0], "-object", 0),
                            "memory-backend-file,id=mem0,size=16384M,mem-path=/dev/hugepages/vmxrun-lab-vfp,"
                            "prealloc=off,share=off");
        a = find_action(plan, VX_ACTION_MEM_DIR);
        assert_non_null(a);
        assert_string_equal(a->mount.path, "/dev/hugepages/vmxrun-lab-vfp");
        assert_int_equal(a->vm, 0);
        plan_free(plan);

        /* page-size: auto: 1G where the host has a 1G pool and the memory is whole 1 GiB pages, else 2M. */
        {
                static const struct vx_hugepage_pool_fact pools[] = {{.page_size = 2 * MIB}, {.page_size = GIB}};

                vm.memory.page_size_auto = true;
                facts.n_hugetlbfs = 2;
                facts.pools = pools;
                facts.n_pools = 2;
                plan = build(&p, &facts, &as_root);
                assert_string_equal(value_of(&plan->vms[0], "-object", 0),
                                    "memory-backend-file,id=mem0,size=16384M,mem-path=/mnt/huge1G,prealloc=off,"
                                    "share=off");
                assert_string_equal(find_action(plan, VX_ACTION_HUGEPAGES)->object, "1G");
                assert_true(has_note(&plan->vms[0], "page-size: auto: 1G, the host has 1 GiB pages"));
                /* Every reader of the VM model sees the size decided, not the profile's 2M. */
                assert_int_equal(plan->vms[0].vm->memory.page_size, GIB);
                assert_int_equal(plan->profile->vms[0].memory.page_size, GIB);
                assert_int_equal(vm.memory.page_size, 2 * MIB);
                plan_free(plan);

                facts.n_pools = 1; /* a host without pdpe1gb lists no 1G pool */
                plan = build(&p, &facts, &as_root);
                assert_string_equal(find_action(plan, VX_ACTION_HUGEPAGES)->object, "2M");
                assert_true(has_note(&plan->vms[0], "page-size: auto: 2M, the host has no 1 GiB pages"));
                plan_free(plan);

                facts.n_pools = 2;
                vm.memory.size = 1954 * MIB;
                plan = build(&p, &facts, &as_root);
                assert_string_equal(find_action(plan, VX_ACTION_HUGEPAGES)->object, "2M");
                assert_true(has_note(&plan->vms[0], "page-size: auto: 2M, the memory is not whole 1 GiB pages"));
                plan_free(plan);
                facts.pools = NULL;
                facts.n_pools = 0;
        }

        /* Anonymous memory: no backend object. */
        vm.memory = (struct vx_memory){.size = 1954 * MIB, .node = -1, .merge = true, .lock = true};
        plan = build(&p, &facts, NULL);
        assert_null(value_of(&plan->vms[0], "-object", 0));
        assert_string_equal(value_of(&plan->vms[0], "-m", 0), "1954M");
        assert_string_equal(value_of(&plan->vms[0], "-overcommit", 0), "mem-lock=on");
        assert_null(find_action(plan, VX_ACTION_HUGEPAGES));
        plan_free(plan);
}

static void test_vhost_auto(void **state)
{
        struct vx_vm vm = base_vm("vcp");
        struct vx_profile p = one_vm_profile(&vm);
        struct vx_nic nics[1];
        struct vx_host_facts no_vhost = {.kvm_usable = true, .vhost_net = false};
        struct vx_plan *plan;

        nics[0] = tap_nic("vcp_int-vmx1", "br-int-vmx1", VX_NIC_MODEL_VIRTIO, VX_AUTO);
        vm.nics = nics;
        vm.n_nics = 1;

        plan = build(&p, &kvm_host, NULL);
        assert_string_equal(value_of(&plan->vms[0], "-netdev", 0),
                            "tap,id=hostnet0,fd=4,vhost=on,vhostfd=5");
        assert_int_equal(plan->vms[0].n_fds, 3);
        assert_int_equal(plan->vms[0].n_notes, 0);
        plan_free(plan);

        plan = build(&p, &no_vhost, NULL);
        assert_string_equal(value_of(&plan->vms[0], "-netdev", 0), "tap,id=hostnet0,fd=4");
        assert_int_equal(plan->vms[0].n_fds, 2);
        assert_true(has_note(&plan->vms[0], "userspace virtio-net"));
        assert_true(plan->vms[0].complete);
        plan_free(plan);

        nics[0].vhost = VX_OFF;
        plan = build(&p, &kvm_host, NULL);
        assert_string_equal(value_of(&plan->vms[0], "-netdev", 0), "tap,id=hostnet0,fd=4");
        assert_int_equal(plan->vms[0].n_notes, 0);
        plan_free(plan);

        /* vhost is a virtio-net thing: e1000 never gets vhost fds. */
        nics[0] = tap_nic("vcp_ext-vmx1", "br-ext", VX_NIC_MODEL_E1000, VX_AUTO);
        nics[0].mac = (char *)"02:04:17:01:01:01";
        nics[0].pci_slot = 3;
        plan = build(&p, &kvm_host, NULL);
        assert_string_equal(value_of(&plan->vms[0], "-netdev", 0), "tap,id=hostnet0,fd=4");
        assert_string_equal(value_of(&plan->vms[0], "-device", 0),
                            "e1000,netdev=hostnet0,id=net0,mac=02:04:17:01:01:01,bus=pci.0,addr=0x3");
        plan_free(plan);
}

static void test_multiqueue(void **state)
{
        struct vx_vm vm = base_vm("vfp");
        struct vx_profile p = one_vm_profile(&vm);
        struct vx_nic nics[1];
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        const struct vx_vm_plan *vp;

        nics[0] = tap_nic("ge-0.0.0-vmx1", "br-ge", VX_NIC_MODEL_VIRTIO, VX_ON);
        nics[0].queues = 4;
        nics[0].mtu = 9000;
        vm.nics = nics;
        vm.n_nics = 1;
        plan = build(&p, &kvm_host, NULL);
        vp = &plan->vms[0];
        assert_string_equal(value_of(vp, "-netdev", 0),
                            "tap,id=hostnet0,fds=4:5:6:7,vhost=on,vhostfds=8:9:10:11");
        assert_string_equal(
            value_of(vp, "-device", 0),
            "virtio-net-pci,netdev=hostnet0,id=net0,bus=pci.0,addr=0x2,mq=on,vectors=10,host_mtu=9000");
        assert_int_equal(vp->n_fds, 9);
        for (unsigned q = 0; q < 4; q++) {
                assert_int_equal(vp->fds[1 + q].kind, VX_PLAN_FD_TAP);
                assert_int_equal(vp->fds[1 + q].queue, q);
                assert_int_equal(vp->fds[5 + q].kind, VX_PLAN_FD_VHOST);
                assert_int_equal(vp->fds[5 + q].queue, q);
        }
        assert_non_null(strstr(find_action(plan, VX_ACTION_TAP)->description, "multiqueue"));
}

static void test_vf_placeholder(void **state)
{
        struct vx_vm vm = base_vm("vfp-vmx1");
        struct vx_profile p = one_vm_profile(&vm);
        struct vx_nic nics[2];
        static const struct vx_vf_fact vfs[] = {
            {.pf = "p3p1", .vf = 0, .pci_address = "0000:23:10.0"},
            {.pf = "p2p1", .vf = 0, .pci_address = "0000:06:10.0"},
        };
        struct vx_host_facts facts = {.kvm_usable = true, .vfs = vfs, .n_vfs = 2};
        const struct vx_host_action *a;
        struct vx_plan *plan;

        nics[0] = vf_nic("p3p1", 0, "02:04:17:01:02:01");
        nics[0].pf_settings.mtu = 2000;
        nics[0].pf_settings.promisc = VX_ON;
        nics[1] = (struct vx_nic){.type = VX_NIC_HOSTDEV, .host = (char *)"0000:81:00.1", .pci_slot = 7};
        vm.nics = nics;
        vm.n_nics = 2;

        plan = build(&p, &facts, NULL);
        assert_true(plan->vms[0].complete);
        assert_string_equal(value_of(&plan->vms[0], "-device", 0),
                            "vfio-pci,host=0000:23:10.0,id=hostdev0,bus=pci.0,addr=0x2");
        assert_string_equal(value_of(&plan->vms[0], "-device", 1),
                            "vfio-pci,host=0000:81:00.1,id=hostdev1,bus=pci.0,addr=0x7");
        a = find_action(plan, VX_ACTION_VF_CONFIG);
        assert_non_null(a);
        assert_string_equal(a->object, "p3p1/vf0");
        assert_string_equal(a->key, "vms[0].nics[0]");
        assert_string_equal(
                a->description,
                "set p3p1 vf 0: mac 02:04:17:01:02:01 max_tx_rate 10000 spoofchk off; PF mtu 2000 promisc on");
        assert_int_equal(a->vf.pf_mtu, 2000);
        assert_int_equal(a->vf.pf_promisc, VX_ON);
        assert_int_equal(a->vf.pf_allmulti, VX_AUTO);
        assert_null(a->vf.placeholder);
        a = find_action(plan, VX_ACTION_VFIO_BIND);
        assert_string_equal(a->object, "0000:23:10.0");
        /* VFs take no fds. */
        assert_int_equal(plan->vms[0].n_fds, 1);
        plan_free(plan);

        /* No such PF here: a placeholder start could not fill either. */
        facts.n_vfs = 0;
        plan = build(&p, &facts, NULL);
        assert_false(plan->vms[0].complete);
        assert_string_equal(value_of(&plan->vms[0], "-device", 0),
                            "vfio-pci,host=@p3p1/vf0@,id=hostdev0,bus=pci.0,addr=0x2");
        assert_true(has_note(&plan->vms[0], "p3p1 vf 0 is not on this host (no SR-IOV PF p3p1)"));
        assert_string_equal(find_action(plan, VX_ACTION_VFIO_BIND)->object, "@p3p1/vf0@");
        plan_free(plan);

        /* The PF is here without VFs: start creates them; the plan is complete, with the placeholder. */
        {
                static const struct vx_pf_fact none[] = {{.ifname = "p3p1", .total_vfs = 7, .num_vfs = 0}};
                static const struct vx_pf_fact some[] = {{.ifname = "p3p1", .total_vfs = 7, .num_vfs = 2}};
                const struct vx_host_action *bind;

                facts.pfs = none;
                facts.n_pfs = 1;
                nics[0].vf = 3;
                plan = build(&p, &facts, NULL);
                assert_true(plan->vms[0].complete);
                assert_true(has_note(&plan->vms[0], "PF p3p1 has no VFs yet: start creates them"));
                assert_true(has_note(&plan->vms[0], "in place of @p3p1/vf3@"));
                a = find_action(plan, VX_ACTION_VF_CONFIG);
                bind = find_action(plan, VX_ACTION_VFIO_BIND);
                assert_string_equal(a->vf.placeholder, "@p3p1/vf3@");
                assert_null(a->vf.pci_address);
                assert_string_equal(bind->bind.placeholder, "@p3p1/vf3@");
                assert_null(bind->bind.pci_address);

                /* Start's half: the VF exists now, its address goes where the placeholder was. */
                assert_int_equal(plan_resolve(plan, 0, "@p3p1/vf3@", "0000:03:10.6"), 1);
                assert_string_equal(value_of(&plan->vms[0], "-device", 0),
                                    "vfio-pci,host=0000:03:10.6,id=hostdev0,bus=pci.0,addr=0x2");
                assert_string_equal(a->vf.pci_address, "0000:03:10.6");
                assert_string_equal(bind->bind.pci_address, "0000:03:10.6");
                assert_string_equal(bind->object, "0000:03:10.6");
                assert_int_equal(plan_resolve(plan, 0, "@p3p1/vf3@", "0000:03:10.6"), 0);
                assert_int_equal(plan_resolve(plan, 1, "@p3p1/vf3@", "0000:03:10.6"), -EINVAL);
                plan_free(plan);

                /* VFs, but too few: start raises sriov_numvfs only from 0. Out of range: never. */
                facts.pfs = some;
                plan = build(&p, &facts, NULL);
                assert_false(plan->vms[0].complete);
                assert_true(has_note(&plan->vms[0], "PF p3p1 has 2 VFs, not vf 3; start raises sriov_numvfs only"));
                plan_free(plan);
                nics[0].vf = 7;
                plan = build(&p, &facts, NULL);
                assert_false(plan->vms[0].complete);
                assert_true(has_note(&plan->vms[0], "offers 7 VFs (sriov_totalvfs); vf 7 is out of range"));
                plan_free(plan);

                /* vf: auto from a list: picked at start, complete when one of the PFs is here. */
                {
                        char *list[] = {(char *)"p9p9", (char *)"p3p1"};

                        nics[0].vf = -1;
                        nics[0].vf_auto = true;
                        nics[0].pf = list[0];
                        nics[0].pfs = list;
                        nics[0].n_pfs = 2;
                        plan = build(&p, &facts, NULL);
                        assert_true(plan->vms[0].complete);
                        assert_string_equal(value_of(&plan->vms[0], "-device", 0),
                                            "vfio-pci,host=@p9p9,p3p1/auto:nics[0]@,id=hostdev0,bus=pci.0,addr=0x2");
                        assert_true(has_note(&plan->vms[0], "vf: auto: start picks a free VF of p9p9, p3p1"));
                        {
                                /* What status reads back for each NIC: the placeholder, then what start put there. */
                                size_t len = 0;
                                const char *at = plan_nic_pci_address(&plan->vms[0], 0, &len);

                                assert_non_null(at);
                                assert_int_equal(strncmp(at, "@p9p9,p3p1/auto:nics[0]@", len), 0);
                                assert_int_equal(len, strlen("@p9p9,p3p1/auto:nics[0]@"));
                                at = plan_nic_pci_address(&plan->vms[0], 1, &len);
                                assert_true(at && len == 12 && strncmp(at, "0000:81:00.1", 12) == 0);
                                assert_null(plan_nic_pci_address(&plan->vms[0], 2, &len));
                                assert_int_equal(plan_resolve(plan, 0, "@p9p9,p3p1/auto:nics[0]@", "0000:03:10.1"), 1);
                                at = plan_nic_pci_address(&plan->vms[0], 0, &len);
                                assert_true(at && len == 12 && strncmp(at, "0000:03:10.1", 12) == 0);
                        }
                        a = find_action(plan, VX_ACTION_VF_CONFIG);
                        assert_true(a->vf.vf_auto);
                        assert_int_equal(a->vf.vf, -1);
                        assert_int_equal(a->vf.n_pfs, 2);
                        assert_string_equal(a->vf.pfs[1], "p3p1");
                        assert_string_equal(a->description,
                                            "set a free VF of p9p9, p3p1: mac 02:04:17:01:02:01 max_tx_rate 10000 "
                                            "spoofchk off; PF mtu 2000 promisc on");
                        plan_free(plan);
                        facts.n_pfs = 0;
                        plan = build(&p, &facts, NULL);
                        assert_false(plan->vms[0].complete);
                        assert_true(has_note(&plan->vms[0], "none of p9p9, p3p1 is an SR-IOV PF on this host"));
                        plan_free(plan);
                }
        }
}

static void test_origins_parallel(void **state)
{
        struct vx_vm vm = base_vm("vcp");
        struct vx_profile p = one_vm_profile(&vm);
        struct vx_nic nics[1];
        char *extra[] = {(char *)"-global", (char *)"kvm-pit.lost_tick_policy=delay"};
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        const struct vx_vm_plan *vp;
        ssize_t i;

        nics[0] = tap_nic("t0", "br0", VX_NIC_MODEL_VIRTIO, VX_AUTO);
        vm.nics = nics;
        vm.n_nics = 1;
        vm.extra_args = extra;
        vm.n_extra_args = 2;
        vm.serial = (struct vx_serial){.type = VX_SERIAL_TELNET, .port = 8816};
        plan = build(&p, &kvm_host, NULL);
        vp = &plan->vms[0];

        assert_non_null(vp->origin);
        assert_string_equal(vp->origin[0], "vms[0].qemu");
        i = index_of(vp, "-m");
        assert_true(i > 0);
        assert_string_equal(vp->origin[i], "vms[0].memory.size");
        assert_string_equal(vp->origin[i + 1], "vms[0].memory.size");
        assert_null(vp->origin[index_of(vp, "-S")]);
        assert_null(vp->origin[index_of(vp, "-sandbox")]);
        i = index_of(vp, "-netdev");
        assert_string_equal(vp->origin[i + 1], "vms[0].nics[0]");
        i = index_of(vp, "-global");
        assert_int_equal((size_t)i, vp->argv.n - 2);
        assert_string_equal(vp->origin[i], "vms[0].extra-args[0]");
        assert_string_equal(vp->origin[i + 1], "vms[0].extra-args[1]");
        assert_string_equal(value_of(vp, "-chardev", 1),
                            "socket,id=charserial0,host=127.0.0.1,port=8816,telnet=on,server=on,wait=off,"
                            "logfile=/run/vmxrun/lab/vcp/console.log,logappend=off");
        assert_string_equal(vp->origin[index_of(vp, "isa-serial,chardev=charserial0,id=serial0")],
                            "vms[0].serial");
        /* Every non-NULL origin is a key path of this VM. */
        for (size_t j = 0; j < vp->argv.n; j++)
                if (vp->origin[j])
                        assert_true(strncmp(vp->origin[j], "vms[0]", 6) == 0);
}

static void test_fd_numbering(void **state)
{
        struct vx_vm vms[2] = {base_vm("vcp"), base_vm("vfp")};
        struct vx_profile p = {.name = (char *)"vmx1", .vms = vms, .n_vms = 2};
        struct vx_nic nics0[2], nics1[2];
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        const struct vx_vm_plan *vp;

        nics0[0] = tap_nic("vcp_ext-vmx1", "br-ext", VX_NIC_MODEL_E1000, VX_AUTO);
        nics0[1] = tap_nic("vcp_int-vmx1", "br-int-vmx1", VX_NIC_MODEL_VIRTIO, VX_ON);
        vms[0].nics = nics0;
        vms[0].n_nics = 2;
        nics1[0] = vf_nic("p3p1", 0, NULL);
        nics1[1] = tap_nic("vfp_ext-vmx1", "br-ext", VX_NIC_MODEL_VIRTIO, VX_ON);
        vms[1].nics = nics1;
        vms[1].n_nics = 2;
        plan = build(&p, &kvm_host, NULL);

        vp = &plan->vms[0];
        assert_int_equal(vp->n_fds, 4);
        assert_int_equal(vp->fds[0].kind, VX_PLAN_FD_QMP);
        assert_int_equal(vp->fds[0].number, VX_PLAN_FIRST_FD);
        assert_string_equal(vp->fds[0].object, "/run/vmxrun/vmx1/vcp/qmp.sock");
        assert_int_equal(vp->fds[1].kind, VX_PLAN_FD_TAP);
        assert_int_equal(vp->fds[1].number, 4);
        assert_string_equal(plan->actions[vp->fds[1].action].tap.name, "vcp_ext-vmx1");
        assert_int_equal(plan->actions[vp->fds[1].action].tap.first_fd, 1);
        assert_string_equal(vp->fds[1].object, "vcp_ext-vmx1");
        assert_int_equal(vp->fds[2].kind, VX_PLAN_FD_TAP);
        assert_int_equal(vp->fds[2].number, 5);
        assert_string_equal(plan->actions[vp->fds[2].action].tap.name, "vcp_int-vmx1");
        assert_int_equal(vp->fds[3].kind, VX_PLAN_FD_VHOST);
        assert_int_equal(vp->fds[3].number, 6);
        assert_int_equal(vp->fds[3].action, vp->fds[2].action);
        assert_true(plan->actions[vp->fds[3].action].tap.vhost);
        assert_string_equal(value_of(vp, "-netdev", 0), "tap,id=hostnet0,fd=4");
        assert_string_equal(value_of(vp, "-netdev", 1), "tap,id=hostnet1,fd=5,vhost=on,vhostfd=6");

        /* Numbering restarts per VM: each is its own QEMU process. VFs take none. */
        vp = &plan->vms[1];
        assert_int_equal(vp->n_fds, 3);
        assert_string_equal(plan->actions[vp->fds[1].action].tap.name, "vfp_ext-vmx1");
        assert_int_equal(plan->actions[vp->fds[1].action].vm, 1);
        assert_string_equal(value_of(vp, "-netdev", 0), "tap,id=hostnet0,fd=4,vhost=on,vhostfd=5");
        assert_string_equal(value_of(vp, "-chardev", 0), "socket,id=charmonitor,fd=3,server=on,wait=off");
        /* One TAP action per tap NIC, in order. */
        assert_int_equal(plan->n_actions, 3 /* taps */ + 2 /* vf-config, vfio-bind */);
}

static void test_pci_slots_and_disks(void **state)
{
        struct vx_vm vm = base_vm("vcp-vmx1");
        struct vx_profile p = one_vm_profile(&vm);
        struct vx_nic nics[2];
        struct vx_disk disks[6] = {
            {.file = (char *)"/img/junos.img",
             .bus = VX_DISK_BUS_IDE,
             .format = VX_DISK_FORMAT_QCOW2,
             .cache = VX_DISK_CACHE_DIRECTSYNC,
             .boot_order = 1},
            {.file = (char *)"/img/vmxhdd.img", .bus = VX_DISK_BUS_IDE, .cache = VX_DISK_CACHE_DIRECTSYNC},
            {.file = (char *)"/img/metadata_usb.img",
             .bus = VX_DISK_BUS_USB,
             .format = VX_DISK_FORMAT_RAW,
             .cache = VX_DISK_CACHE_DIRECTSYNC,
             .readonly = true},
            {.file = (char *)"/img/data.img", .bus = VX_DISK_BUS_VIRTIO},
            {.file = (char *)"/img/s.img", .bus = VX_DISK_BUS_SCSI},
            {.file = (char *)"/img/ide3.img", .bus = VX_DISK_BUS_IDE},
        };
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        const struct vx_vm_plan *vp;

        nics[0] = tap_nic("a", "br-ext", VX_NIC_MODEL_VIRTIO, VX_OFF);
        nics[1] = tap_nic("b", "br-ext", VX_NIC_MODEL_VIRTIO, VX_OFF);
        nics[1].pci_slot = 3;
        vm.nics = nics;
        vm.n_nics = 2;
        vm.disks = disks;
        vm.n_disks = ELEMENTSOF(disks);
        vm.vnc = (struct vx_vnc){.enabled = true, .display = 1};
        vm.video = (char *)"cirrus";
        vm.balloon = true;
        plan = build(&p, &kvm_host, NULL);
        vp = &plan->vms[0];

        /* usb controller once, before the scsi controller; slot 2 kept for video, 3 for nics[1]. */
        assert_string_equal(value_of(vp, "-device", 0), "piix3-usb-uhci,id=usb,bus=pci.0,addr=0x1.0x2");
        assert_string_equal(value_of(vp, "-device", 1), "virtio-scsi-pci,id=scsi0,bus=pci.0,addr=0x4");
        assert_string_equal(value_of(vp, "-drive", 0),
                            "file=/img/junos.img,if=none,id=drive-ide0-0-0,format=qcow2,cache=directsync");
        assert_string_equal(value_of(vp, "-device", 2),
                            "ide-hd,bus=ide.0,unit=0,drive=drive-ide0-0-0,id=ide0-0-0,bootindex=1");
        assert_string_equal(value_of(vp, "-device", 3),
                            "ide-hd,bus=ide.0,unit=1,drive=drive-ide0-0-1,id=ide0-0-1");
        assert_string_equal(
            value_of(vp, "-drive", 2),
            "file=/img/metadata_usb.img,if=none,id=drive-usb-disk0,format=raw,cache=directsync,"
            "readonly=on");
        assert_string_equal(value_of(vp, "-device", 4),
                            "usb-storage,bus=usb.0,drive=drive-usb-disk0,id=usb-disk0,removable=off");
        assert_string_equal(value_of(vp, "-device", 5),
                            "virtio-blk-pci,drive=drive-virtio-disk0,id=virtio-disk0,bus=pci.0,addr=0x5");
        assert_string_equal(
            value_of(vp, "-device", 6),
            "scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=0,drive=drive-scsi0-0-0-0,id=scsi0-0-0-0");
        assert_string_equal(value_of(vp, "-device", 7),
                            "ide-hd,bus=ide.1,unit=0,drive=drive-ide0-1-0,id=ide0-1-0");
        assert_string_equal(value_of(vp, "-device", 8),
                            "virtio-net-pci,netdev=hostnet0,id=net0,bus=pci.0,addr=0x6");
        assert_string_equal(value_of(vp, "-device", 9),
                            "virtio-net-pci,netdev=hostnet1,id=net1,bus=pci.0,addr=0x3");
        assert_string_equal(value_of(vp, "-vnc", 0), "127.0.0.1:1");
        assert_string_equal(value_of(vp, "-device", 10), "usb-tablet,id=input0,bus=usb.0");
        assert_string_equal(value_of(vp, "-device", 11), "cirrus-vga,id=video0,bus=pci.0,addr=0x2");
        assert_string_equal(value_of(vp, "-device", 12),
                            "virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x7");
        assert_int_equal(index_of(vp, "-display"), -1);
}

static void test_smbios_uuid_boot(void **state)
{
        struct vx_vm vm = base_vm("vcp-vmx1");
        struct vx_profile p = one_vm_profile(&vm);
        struct vx_smbios_entry e0[] = {{(char *)"vendor", (char *)"Juniper"}};
        struct vx_smbios_entry e1[] = {{(char *)"manufacturer", (char *)"VMX"},
                                       {(char *)"product", (char *)"VM-vcp_vmx1-161-re-0"},
                                       {(char *)"version", (char *)"0.1.0"}};
        struct vx_smbios smbios[] = {{.type = 0, .entries = e0, .n_entries = 1},
                                     {.type = 1, .entries = e1, .n_entries = 3}};
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        const struct vx_vm_plan *vp;

        vm.smbios = smbios;
        vm.n_smbios = 2;
        vm.uuid = (char *)"79ab0bbf-b63a-4a08-87ce-ad7670186754";
        vm.boot = (struct vx_boot){.kernel = (char *)"/boot/vmlinuz",
                                   .initrd = (char *)"/boot/initrd",
                                   .cmdline = (char *)"console=ttyS0 quiet"};
        vm.vcpus = 4;
        /* The parser derives cores from vcpus (test_profile); the plan takes the topology as given. */
        vm.topology = (struct vx_topology){.sockets = 1, .dies = 1, .cores = 2, .threads = 2};
        vm.cpu.features = (char *[]){(char *)"+invtsc", (char *)"-hle"};
        vm.cpu.n_features = 2;
        plan = build(&p, &kvm_host, NULL);
        vp = &plan->vms[0];
        assert_string_equal(value_of(vp, "-uuid", 0), "79ab0bbf-b63a-4a08-87ce-ad7670186754");
        assert_string_equal(value_of(vp, "-smbios", 0), "type=0,vendor=Juniper");
        assert_string_equal(value_of(vp, "-smbios", 1),
                            "type=1,manufacturer=VMX,product=VM-vcp_vmx1-161-re-0,version=0.1.0");
        assert_string_equal(vp->origin[index_of(vp, "type=0,vendor=Juniper")], "vms[0].smbios[0]");
        assert_string_equal(value_of(vp, "-append", 0), "console=ttyS0 quiet");
        assert_string_equal(value_of(vp, "-kernel", 0), "/boot/vmlinuz");
        assert_string_equal(value_of(vp, "-smp", 0), "4,sockets=1,dies=1,cores=2,threads=2");
        assert_string_equal(value_of(vp, "-cpu", 0), "max,+invtsc,-hle");
}

/* Files QEMU opens are file-access actions when it runs as its own user, none as root. */
static void test_qemu_user_file_access(void **state)
{
        struct vx_vm vm = base_vm("vcp");
        struct vx_profile p = one_vm_profile(&vm);
        struct vx_disk disks[2] = {
                {.file = (char *)"/img/junos.qcow2", .bus = VX_DISK_BUS_VIRTIO, .format = VX_DISK_FORMAT_QCOW2},
                {.file = (char *)"/img/meta.img",
                 .bus = VX_DISK_BUS_VIRTIO,
                 .format = VX_DISK_FORMAT_RAW,
                 .readonly = true},
        };
        static const struct vx_plan_options as_root = {.qemu_user = "root"}, as_other = {.qemu_user = "kvmuser"};
        size_t n = 0;
        struct vx_plan *plan;

        vm.disks = disks;
        vm.n_disks = 2;
        vm.boot = (struct vx_boot){.kernel = (char *)"/boot/vmlinuz", .initrd = (char *)"/boot/initrd"};
        plan = build(&p, &kvm_host, &as_other);
        assert_string_equal(plan->qemu_user, "kvmuser");
        for (size_t i = 0; i < plan->n_actions; i++) {
                const struct vx_host_action *a = &plan->actions[i];
                if (a->kind != VX_ACTION_FILE_ACCESS)
                        continue;
                n++;
                if (strcmp(a->file.path, "/img/junos.qcow2") == 0)
                        assert_true(a->file.writable);
                else
                        assert_false(a->file.writable); /* the read-only disk, the kernel, the initrd */
        }
        assert_int_equal(n, 4);
        plan_free(plan);

        plan = build(&p, &kvm_host, &as_root);
        assert_null(plan->qemu_user);
        assert_null(find_action(plan, VX_ACTION_FILE_ACCESS));
        plan_free(plan);
}

static void test_bridges(void **state)
{
        struct vx_bridge bridges[] = {
            {.name = (char *)"br-ext",
             .stp = true,
             .forward_delay = 0,
             .uplink = (char *)"em1",
             .move_host_address = true},
            {.name = (char *)"br-int-vmx1", .forward_delay = -1},
        };
        struct vx_profile p = {.name = (char *)"vmx1", .bridges = bridges, .n_bridges = 2};
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;

        plan = build(&p, &kvm_host, NULL);
        assert_int_equal(plan->n_actions, 3);
        assert_int_equal(plan->actions[0].kind, VX_ACTION_BRIDGE);
        assert_string_equal(plan->actions[0].object, "br-ext");
        assert_int_equal(plan->actions[0].vm, -1);
        assert_string_equal(plan->actions[0].bridge.name, "br-ext");
        assert_string_equal(plan->actions[1].uplink.bridge, "br-ext");
        assert_true(plan->actions[1].uplink.move_host_address);
        assert_ptr_equal(plan_find_action(plan, VX_ACTION_UPLINK, "br-ext"), &plan->actions[1]);
        assert_null(plan_find_action(plan, VX_ACTION_UPLINK, "br-int-vmx1"));
        assert_int_equal(plan->actions[1].kind, VX_ACTION_UPLINK);
        assert_string_equal(plan->actions[1].object, "em1");
        assert_string_equal(plan->actions[1].key, "bridges[0].uplink");
        assert_string_equal(plan->actions[2].object, "br-int-vmx1");
        assert_string_equal(plan_action_kind_to_string(VX_ACTION_HUGETLBFS_MOUNT), "hugetlbfs-mount");
        assert_string_equal(plan_fd_kind_to_string(VX_PLAN_FD_VHOST), "vhost");
}

/*
 * Tests against the real QEMU (label "qemu", `test_plan --qemu`): what the
 * plan emits must be what QEMU 7.2 accepts, not what an older QEMU took.
 */
#define QEMU "/usr/bin/qemu-system-x86_64"

static char *const vmx_features[] = {
    "+invtsc", "+erms", "+smep", "+fsgsbase", "+pdpe1gb", "+rdrand", "+f16c",   "+dca",     "+pcid",
    "+pdcm",   "+xtpr", "+tm2",  "+est",      "+smx",     "+vmx",    "+ds_cpl", "+monitor", "+dtes64",
    "+pbe",    "+tm",   "+ht",   "+ss",       "+acpi",    "+ds",     "+vme",
};

/* Runs argv with stdout captured into a malloc'd string. */
static char *run_capture(char *const argv[])
{
        int pipefd[2];
        char *out = NULL;
        size_t len = 0;
        pid_t pid;
        ssize_t n;
        char buf[4096];

        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(pipefd[1], STDOUT_FILENO);
                execv(argv[0], argv);
                _exit(127);
        }
        close(pipefd[1]);
        while ((n = read(pipefd[0], buf, sizeof(buf))) > 0) {
                out = realloc(out, len + (size_t)n + 1);
                assert_non_null(out);
                memcpy(out + len, buf, (size_t)n);
                len += (size_t)n;
                out[len] = '\0';
        }
        close(pipefd[0]);
        waitpid(pid, NULL, 0);
        return out;
}

/* Every -device driver of every kind of device the plan can emit exists in this QEMU. */
static void test_qemu_device_drivers(void **state)
{
        struct vx_vm vm = base_vm("all-devices");
        struct vx_profile p = one_vm_profile(&vm);
        struct vx_nic nics[5];
        struct vx_disk disks[] = {
            {.file = (char *)"/a", .bus = VX_DISK_BUS_IDE},
            {.file = (char *)"/b", .bus = VX_DISK_BUS_USB},
            {.file = (char *)"/c", .bus = VX_DISK_BUS_VIRTIO},
            {.file = (char *)"/d", .bus = VX_DISK_BUS_SCSI},
        };
        static const char *const videos[] = {"std", "cirrus", "virtio"};
        char *help_argv[] = {(char *)QEMU, (char *)"-device", (char *)"help", NULL};
        _cleanup_free_ char *help = NULL;
        unsigned checked = 0;

        if (access(QEMU, X_OK) < 0)
                skip();
        help = run_capture(help_argv);
        assert_non_null(help);

        nics[0] = tap_nic("a", "br", VX_NIC_MODEL_VIRTIO, VX_ON);
        nics[1] = tap_nic("b", "br", VX_NIC_MODEL_E1000, VX_AUTO);
        nics[2] = tap_nic("c", "br", VX_NIC_MODEL_E1000E, VX_AUTO);
        nics[3] = vf_nic("p3p1", 0, NULL);
        nics[4] = (struct vx_nic){.type = VX_NIC_HOSTDEV, .host = (char *)"0000:81:00.0", .pci_slot = -1};
        vm.nics = nics;
        vm.n_nics = ELEMENTSOF(nics);
        vm.disks = disks;
        vm.n_disks = ELEMENTSOF(disks);
        vm.vnc.enabled = true;
        vm.balloon = true;
        vm.serial = (struct vx_serial){.type = VX_SERIAL_TELNET, .port = 8816};

        for (size_t v = 0; v < ELEMENTSOF(videos); v++) {
                _cleanup_(plan_freep) struct vx_plan *plan = NULL;

                vm.video = (char *)videos[v];
                plan = build(&p, &kvm_host, NULL);
                for (size_t i = 0; i + 1 < plan->vms[0].argv.n; i++) {
                        const char *value = plan->vms[0].argv.items[i + 1];
                        char driver[64], needle[80];

                        if (strcmp(plan->vms[0].argv.items[i], "-device") != 0)
                                continue;
                        snprintf(driver, sizeof(driver), "%.*s", (int)strcspn(value, ","), value);
                        /* `-device help` lists: name "virtio-net-pci", bus PCI, ... */
                        snprintf(needle, sizeof(needle), "name \"%s\"", driver);
                        if (!strstr(help, needle))
                                fail_msg("QEMU has no device driver '%s' (from '%s')", driver, value);
                        checked++;
                }
        }
        assert_true(checked >= 3 * 14);
}

static int qmp_read_line(int fd, char *buf, size_t size)
{
        size_t n = 0;

        while (n + 1 < size) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                ssize_t r;

                if (poll(&pfd, 1, 30000) <= 0)
                        return -ETIMEDOUT;
                r = read(fd, buf + n, 1);
                if (r <= 0)
                        return -EIO;
                if (buf[n++] == '\n')
                        break;
        }
        buf[n] = '\0';
        return 0;
}

/* Skips replies that are events; returns the first reply with "return" or "error". */
static void qmp_command(int fd, const char *cmd, char *reply, size_t size)
{
        assert_int_equal(write(fd, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
        do
                assert_int_equal(qmp_read_line(fd, reply, size), 0);
        while (!strstr(reply, "\"return\"") && !strstr(reply, "\"error\""));
}

/*
 * A demo-like VM (no taps or VFs, which need root and a host to match) with
 * everything else the vMX profiles use: the plan's argv, unchanged, with the
 * QMP listening socket passed as fd 3 as the launcher will. QEMU must start
 * (paused) and answer on QMP.
 */
static void test_qemu_starts(void **state)
{
        char dir[] = "/tmp/vx-plan-qemu.XXXXXX";
        _cleanup_free_ char *qmp = NULL, *hp = NULL, *img0 = NULL, *img1 = NULL, *img2 = NULL, *img3 = NULL,
                            *console = NULL, *log = NULL;
        struct vx_vm vm = base_vm("vfp-demo");
        struct vx_profile p = one_vm_profile(&vm);
        struct vx_disk disks[4];
        struct vx_smbios_entry e0[] = {{(char *)"vendor", (char *)"Juniper"}};
        struct vx_smbios smbios[] = {{.type = 0, .entries = e0, .n_entries = 1}};
        struct vx_host_facts facts = {.kvm_usable = false};
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int lfd = -EBADF, cfd = -EBADF;
        char reply[8192];
        int status;
        pid_t pid;

        if (access(QEMU, X_OK) < 0)
                skip();
        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&qmp, "%s/qmp.sock", dir) > 0);
        assert_true(asprintf(&hp, "%s/hugepages", dir) > 0);
        assert_true(asprintf(&console, "%s/console.sock", dir) > 0);
        assert_true(asprintf(&log, "%s/qemu.log", dir) > 0);
        assert_int_equal(mkdir(hp, 0700), 0);
        char **imgs[] = {&img0, &img1, &img2, &img3};
        for (size_t i = 0; i < ELEMENTSOF(imgs); i++) {
                _cleanup_close_ int fd = -EBADF;

                assert_true(asprintf(imgs[i], "%s/disk%zu.img", dir, i) > 0);
                fd = open(*imgs[i], O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
                assert_true(fd >= 0);
                assert_int_equal(ftruncate(fd, 1 << 20), 0);
                disks[i] = (struct vx_disk){
                    .file = *imgs[i], .format = VX_DISK_FORMAT_RAW, .cache = VX_DISK_CACHE_WRITEBACK};
        }
        disks[0].bus = VX_DISK_BUS_IDE;
        disks[0].boot_order = 1;
        disks[1].bus = VX_DISK_BUS_USB;
        disks[1].readonly = true;
        disks[2].bus = VX_DISK_BUS_VIRTIO;
        disks[3].bus = VX_DISK_BUS_SCSI;

        vm.cpu = (struct vx_cpu){.model = (char *)"SandyBridge",
                                 .features = (char **)vmx_features,
                                 .n_features = ELEMENTSOF(vmx_features)};
        vm.tcg_fallback = true;
        vm.vcpus = 3;
        vm.topology = (struct vx_topology){.sockets = 1, .dies = 1, .cores = 3, .threads = 1};
        vm.memory = (struct vx_memory){.size = 256 * MIB,
                                       .hugepages = true,
                                       .page_size = 2 * MIB,
                                       .path = hp,
                                       .node = -1,
                                       .prealloc = false,
                                       .merge = false};
        vm.uuid = (char *)"5d7f31e7-b678-4605-973f-0cb6a3e3b8c1";
        vm.smbios = smbios;
        vm.n_smbios = 1;
        vm.disks = disks;
        vm.n_disks = ELEMENTSOF(disks);
        vm.serial = (struct vx_serial){.type = VX_SERIAL_UNIX, .path = console};
        vm.video = (char *)"cirrus";
        vm.balloon = true;
        struct vx_plan_options opts = {.runtime_dir = dir};
        plan = build(&p, &facts, &opts);
        assert_int_equal(plan->vms[0].accel, VX_ACCEL_TCG);
        assert_int_equal(plan->vms[0].n_fds, 1);
        /* QEMU writes the console log into the VM's runtime dir, which the launcher creates. */
        assert_int_equal(mkdir(plan->deployment_dir, 0700), 0);
        assert_int_equal(mkdir(plan->vms[0].runtime_dir, 0700), 0);

        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(lfd >= 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", qmp);
        assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(lfd, 1), 0);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /*
                 * As the launcher must: the fd QEMU expects at its planned number, without
                 * CLOEXEC. dup2() onto the same number is a no-op that keeps CLOEXEC.
                 */
                int devnull = open("/dev/null", O_RDWR), logfd = open(log, O_CREAT | O_WRONLY, 0600),
                    target = plan->vms[0].fds[0].number;

                if (lfd == target ? fcntl(lfd, F_SETFD, 0) < 0 : dup2(lfd, target) < 0)
                        _exit(126);
                if (devnull < 0 || logfd < 0)
                        _exit(126);
                dup2(devnull, STDOUT_FILENO);
                dup2(logfd, STDERR_FILENO); /* TCG warns about each host-only CPU feature */
                execv(plan->vms[0].argv.items[0], plan->vms[0].argv.items);
                _exit(127);
        }

        cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(cfd >= 0);
        assert_int_equal(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        if (qmp_read_line(cfd, reply, sizeof(reply)) < 0 || !strstr(reply, "\"QMP\"")) {
                char *cat[] = {(char *)"/bin/cat", log, NULL};
                _cleanup_free_ char *text = NULL;

                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                text = run_capture(cat);
                print_error("QEMU said:\n%s\n", text ? text : "(nothing)");
                fail_msg("QEMU did not greet on QMP (exit status 0x%x); it rejected the plan's argv",
                         status);
        }
        qmp_command(cfd, "{\"execute\":\"qmp_capabilities\"}\n", reply, sizeof(reply));
        assert_non_null(strstr(reply, "\"return\""));
        qmp_command(cfd, "{\"execute\":\"query-status\"}\n", reply, sizeof(reply));
        assert_non_null(strstr(reply, "\"prelaunch\""));
        qmp_command(cfd, "{\"execute\":\"query-cpus-fast\"}\n", reply, sizeof(reply));
        assert_non_null(strstr(reply, "\"cpu-index\": 2"));
        qmp_command(cfd, "{\"execute\":\"query-pci\"}\n", reply, sizeof(reply));
        assert_non_null(strstr(reply, "\"qdev_id\": \"video0\""));

        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        for (size_t i = 0; i < ELEMENTSOF(imgs); i++)
                unlink(*imgs[i]);
        unlink(qmp);
        unlink(console);
        unlink(log);
        {
                _cleanup_free_ char *console_log = NULL;
                assert_true(asprintf(&console_log, "%s/console.log", plan->vms[0].runtime_dir) > 0);
                unlink(console_log);
        }
        rmdir(plan->vms[0].runtime_dir);
        rmdir(plan->deployment_dir);
        rmdir(hp);
        rmdir(dir);
}

int main(int argc, char *argv[])
{
        const struct CMUnitTest qemu_tests[] = {
            cmocka_unit_test(test_qemu_device_drivers),
            cmocka_unit_test(test_qemu_starts),
        };
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_minimal_layout),
                cmocka_unit_test(test_runtime_dir_override),
                cmocka_unit_test(test_accel_fallback),
                cmocka_unit_test(test_hugepage_backend),
                cmocka_unit_test(test_vhost_auto),
                cmocka_unit_test(test_multiqueue),
                cmocka_unit_test(test_vf_placeholder),
                cmocka_unit_test(test_origins_parallel),
                cmocka_unit_test(test_fd_numbering),
                cmocka_unit_test(test_pci_slots_and_disks),
                cmocka_unit_test(test_smbios_uuid_boot),
                cmocka_unit_test(test_bridges),
                cmocka_unit_test(test_qemu_user_file_access),
        };

        if (argc > 1 && strcmp(argv[1], "--qemu") == 0) {
                if (access(QEMU, X_OK) < 0) {
                        printf("SKIP: %s not found\n", QEMU);
                        return 77;
                }
                return cmocka_run_group_tests_name("plan-qemu", qemu_tests, NULL, NULL);
        }
        return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
