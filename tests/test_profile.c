/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "diag.h"
#include "profile.h"

#define FIXTURES VX_SOURCE_ROOT "/tests/profiles"

/* A minimal valid profile; tests append keys to the VM, indented by 4, from line 5 on. */
#define HEAD "name: t\nvms:\n  - name: a\n    memory: {size: 1G}\n"
/* The same without memory, for tests that set it. */
#define HEAD_NO_MEMORY "name: t\nvms:\n  - name: a\n    vcpus: 1\n"

static int load(const char *text, struct vx_diags *d, struct vx_profile **ret)
{
        *ret = NULL;
        return profile_load_string("t.yaml", text, strlen(text), d, ret);
}

static void dump(const struct vx_diags *d)
{
        diag_print(d, stderr);
}

static struct vx_profile *expect_valid(const char *text)
{
        struct vx_diags d = {};
        struct vx_profile *p;
        int r = load(text, &d, &p);

        if (r != 0 || d.n != 0) {
                fprintf(stderr, "expected a valid profile:\n%s\n", text);
                dump(&d);
        }
        assert_int_equal(r, 0);
        assert_int_equal(d.n, 0);
        assert_non_null(p);
        diag_done(&d);
        return p;
}

static void check_valid(const char *text)
{
        profile_free(expect_valid(text));
}

/*
 * Expects an error at path whose message contains msg, at line:column (when
 * line is not 0). Returns the number of errors, for tests that count them.
 */
static size_t expect_error(const char *text, const char *path, const char *msg, unsigned line, unsigned column)
{
        struct vx_diags d = {};
        struct vx_profile *p;
        bool found = false;
        size_t n;
        int r = load(text, &d, &p);

        for (size_t i = 0; i < d.n && !found; i++)
                found = d.items[i].severity == VX_DIAG_ERROR && strcmp(d.items[i].path, path) == 0 &&
                        strstr(d.items[i].message, msg) &&
                        (line == 0 || (d.items[i].line == line && d.items[i].column == column));
        if (!found || r != -EINVAL) {
                fprintf(stderr, "expected error at %u:%u %s: ...%s...; got r=%d:\n", line, column, path, msg, r);
                dump(&d);
        }
        assert_true(found);
        assert_int_equal(r, -EINVAL);
        assert_null(p);
        n = diag_count(&d, VX_DIAG_ERROR);
        diag_done(&d);
        return n;
}

/* ---- the full example, field by field ---- */

static void test_full_profile(void **state)
{
        struct vx_diags d = {};
        struct vx_profile *p = NULL;
        const struct vx_vm *vcp, *vfp;
        _cleanup_free_ char *emu = NULL;

        assert_int_equal(profile_load(FIXTURES "/pass-vmx.yaml", &d, &p), 0);
        assert_int_equal(d.n, 0);
        assert_string_equal(p->file, FIXTURES "/pass-vmx.yaml");
        assert_string_equal(p->name, "vmx1");
        assert_string_equal(p->host.runtime_dir, "/run/vmxrun");

        assert_int_equal(p->n_bridges, 2);
        assert_string_equal(p->bridges[0].name, "br-ext");
        assert_string_equal(p->bridges[0].uplink, "eno1");
        assert_true(p->bridges[0].move_host_address);
        assert_false(p->bridges[0].stp);
        assert_int_equal(p->bridges[0].forward_delay, 0);
        assert_int_equal(p->bridges[0].mtu, 0);
        assert_string_equal(p->bridges[1].name, "br-int-vmx1");
        assert_int_equal(p->bridges[1].mtu, 9000);
        assert_int_equal(p->bridges[1].forward_delay, -1);
        assert_null(p->bridges[1].uplink);

        assert_int_equal(p->n_vms, 2);
        vcp = profile_find_vm(p, "vcp-vmx1");
        vfp = profile_find_vm(p, "vfp-vmx1");
        assert_ptr_equal(vcp, &p->vms[0]);
        assert_ptr_equal(vfp, &p->vms[1]);
        assert_null(profile_find_vm(p, "nope"));

        assert_string_equal(vcp->machine, "pc");
        assert_string_equal(vcp->qemu, "/usr/bin/qemu-system-x86_64");
        assert_int_equal(vcp->accel, VX_ACCEL_KVM);
        assert_true(vcp->tcg_fallback);
        assert_string_equal(vcp->cpu.model, "host");
        assert_int_equal(vcp->cpu.n_features, 0);
        assert_int_equal(vcp->vcpus, 1);
        assert_int_equal(vcp->topology.cores, 1);
        assert_int_equal(vcp->memory.size, 2048ULL << 20);
        assert_false(vcp->memory.hugepages);
        assert_int_equal(vcp->pinning.n_vcpus, 1);
        assert_true(vx_cpuset_isset(&vcp->pinning.vcpus[0], 2));
        assert_int_equal(vx_cpuset_count(&vcp->pinning.vcpus[0]), 1);
        assert_true(vcp->pinning.has_emulator);
        emu = vx_cpuset_format(&vcp->pinning.emulator);
        assert_string_equal(emu, "0-1");

        assert_int_equal(vcp->n_disks, 3);
        assert_string_equal(vcp->disks[0].file, "/var/lib/vmx/vmx1/junos-vmx-x86-64.qcow2");
        assert_int_equal(vcp->disks[0].bus, VX_DISK_BUS_IDE);
        assert_int_equal(vcp->disks[0].cache, VX_DISK_CACHE_DIRECTSYNC);
        assert_int_equal(vcp->disks[0].format, VX_DISK_FORMAT_QCOW2);
        assert_int_equal(vcp->disks[0].boot_order, 1);
        assert_int_equal(vcp->disks[1].boot_order, 0);
        assert_int_equal(vcp->disks[2].format, VX_DISK_FORMAT_RAW);
        assert_int_equal(vcp->disks[2].bus, VX_DISK_BUS_USB);
        assert_true(vcp->disks[2].readonly);
        assert_false(vcp->disks[1].readonly);

        assert_int_equal(vcp->n_nics, 2);
        assert_int_equal(vcp->nics[0].type, VX_NIC_TAP);
        assert_string_equal(vcp->nics[0].tap, "vcp-ext-vmx1");
        assert_string_equal(vcp->nics[0].bridge, "br-ext");
        assert_int_equal(vcp->nics[0].model, VX_NIC_MODEL_E1000);
        assert_string_equal(vcp->nics[0].mac, "02:04:17:01:01:01");
        assert_int_equal(vcp->nics[0].vhost, VX_AUTO);
        assert_int_equal(vcp->nics[1].model, VX_NIC_MODEL_VIRTIO);
        assert_int_equal(vcp->nics[1].vhost, VX_ON);

        assert_int_equal(vcp->serial.type, VX_SERIAL_TELNET);
        assert_string_equal(vcp->serial.host, "127.0.0.1");
        assert_int_equal(vcp->serial.port, 8601);
        assert_false(vcp->vnc.enabled);
        assert_string_equal(vcp->video, "none");

        assert_int_equal(vcp->n_smbios, 2);
        assert_int_equal(vcp->smbios[0].type, 0);
        assert_int_equal(vcp->smbios[0].n_entries, 1);
        assert_string_equal(vcp->smbios[0].entries[0].key, "vendor");
        assert_string_equal(vcp->smbios[0].entries[0].value, "Juniper");
        assert_int_equal(vcp->smbios[1].type, 1);
        assert_int_equal(vcp->smbios[1].n_entries, 3);
        assert_string_equal(vcp->smbios[1].entries[1].key, "product");
        assert_string_equal(vcp->smbios[1].entries[1].value, "VM-vcp_vmx1-161-re-0");
        assert_string_equal(vcp->smbios[1].entries[2].value, "0.1.0");

        assert_int_equal(vcp->restart.policy, VX_RESTART_ON_CRASH);
        assert_int_equal(vcp->restart.max_restarts, 5);
        assert_int_equal(vcp->restart.window_s, 300);
        assert_int_equal(vcp->restart.backoff_ms, 500);
        assert_string_equal(vcp->ready.console_pattern, "login:");
        assert_int_equal(vcp->ready.timeout_s, 600);

        assert_string_equal(vfp->cpu.model, "host");
        assert_int_equal(vfp->cpu.n_features, 2);
        assert_string_equal(vfp->cpu.features[0], "+pdpe1gb");
        assert_string_equal(vfp->cpu.features[1], "-hle");
        assert_int_equal(vfp->vcpus, 4);
        assert_int_equal(vfp->topology.sockets, 1);
        assert_int_equal(vfp->topology.dies, 1);
        assert_int_equal(vfp->topology.cores, 4);
        assert_int_equal(vfp->topology.threads, 1);
        assert_int_equal(vfp->memory.size, 16ULL << 30);
        assert_true(vfp->memory.hugepages);
        assert_int_equal(vfp->memory.page_size, 1ULL << 30);
        assert_int_equal(vfp->memory.node, 0);
        assert_int_equal(vfp->memory.policy, VX_MEM_POLICY_BIND);
        assert_true(vfp->memory.prealloc);
        assert_false(vfp->memory.merge);
        assert_true(vfp->memory.lock);
        assert_int_equal(vfp->pinning.n_vcpus, 4);
        assert_true(vx_cpuset_isset(&vfp->pinning.vcpus[3], 7));
        assert_int_equal(vfp->nics[1].queues, 4);
        assert_int_equal(vfp->nics[2].type, VX_NIC_VF);
        assert_string_equal(vfp->nics[2].pf, "ens1f0");
        assert_int_equal(vfp->nics[2].vf, 0);
        assert_int_equal(vfp->nics[2].vlan, 100);
        assert_int_equal(vfp->nics[2].spoofchk, VX_OFF);
        assert_int_equal(vfp->nics[2].trust, VX_ON);
        assert_int_equal(vfp->nics[2].rate_mbps, -1);
        assert_int_equal(vfp->nics[2].pci_slot, 0x10);
        assert_int_equal(vfp->nics[3].rate_mbps, 10000);
        assert_int_equal(vfp->nics[3].vlan, -1);
        assert_int_equal(vfp->nics[3].spoofchk, VX_AUTO);
        assert_int_equal(vfp->restart.policy, VX_RESTART_ALWAYS);

        profile_free(p);
        diag_done(&d);
}

static void test_defaults(void **state)
{
        struct vx_profile *p = expect_valid(HEAD "    nics:\n      - {type: tap, tap: t0, bridge: br0}\n"
                                                 "    disks:\n      - file: /d.qcow2\n");
        const struct vx_vm *vm = &p->vms[0];
        const struct vx_nic *n = &vm->nics[0];

        assert_string_equal(p->host.runtime_dir, "/run/vmxrun");
        assert_int_equal(p->n_bridges, 0);
        assert_string_equal(vm->qemu, "/usr/bin/qemu-system-x86_64");
        assert_string_equal(vm->machine, "pc");
        assert_int_equal(vm->accel, VX_ACCEL_KVM);
        assert_false(vm->tcg_fallback);
        assert_null(vm->uuid);
        assert_string_equal(vm->cpu.model, "max");
        assert_int_equal(vm->vcpus, 1);
        assert_int_equal(vm->topology.sockets, 1);
        assert_int_equal(vm->topology.dies, 1);
        assert_int_equal(vm->topology.cores, 1);
        assert_int_equal(vm->topology.threads, 1);
        assert_false(vm->memory.hugepages);
        assert_int_equal(vm->memory.page_size, 2ULL << 20);
        assert_null(vm->memory.path);
        assert_int_equal(vm->memory.node, -1);
        assert_int_equal(vm->memory.policy, VX_MEM_POLICY_BIND);
        assert_true(vm->memory.prealloc);
        assert_true(vm->memory.merge);
        assert_false(vm->memory.lock);
        assert_int_equal(vm->pinning.n_vcpus, 0);
        assert_false(vm->pinning.has_emulator);
        assert_int_equal(vm->disks[0].format, VX_DISK_FORMAT_QCOW2);
        assert_int_equal(vm->disks[0].bus, VX_DISK_BUS_VIRTIO);
        assert_int_equal(vm->disks[0].cache, VX_DISK_CACHE_NONE);
        assert_false(vm->disks[0].readonly);
        assert_int_equal(vm->disks[0].boot_order, 0);
        assert_null(n->mac);
        assert_int_equal(n->model, VX_NIC_MODEL_VIRTIO);
        assert_int_equal(n->pci_slot, -1);
        assert_int_equal(n->vhost, VX_AUTO);
        assert_int_equal(n->queues, 1);
        assert_int_equal(n->mtu, 0);
        assert_int_equal(n->vf, -1);
        assert_int_equal(n->vlan, -1);
        assert_int_equal(n->rate_mbps, -1);
        assert_int_equal(n->spoofchk, VX_AUTO);
        assert_int_equal(n->trust, VX_AUTO);
        assert_int_equal(vm->serial.type, VX_SERIAL_NONE);
        assert_null(vm->serial.host);
        assert_false(vm->vnc.enabled);
        assert_string_equal(vm->video, "none");
        assert_false(vm->balloon);
        assert_int_equal(vm->n_smbios, 0);
        assert_null(vm->boot.kernel);
        assert_int_equal(vm->restart.policy, VX_RESTART_ON_CRASH);
        assert_int_equal(vm->restart.max_restarts, 5);
        assert_int_equal(vm->restart.window_s, 300);
        assert_int_equal(vm->restart.backoff_ms, 1000);
        assert_null(vm->ready.console_pattern);
        assert_int_equal(vm->ready.timeout_s, 300);
        assert_int_equal(vm->n_extra_args, 0);
        profile_free(p);

        /* Section defaults that depend on the section being there. */
        p = expect_valid(HEAD_NO_MEMORY "    vnc:\n    serial: {type: tcp, port: 4000}\n"
                              "    memory: {size: 4G, hugepages: }\n");
        assert_true(p->vms[0].vnc.enabled);
        assert_string_equal(p->vms[0].vnc.listen, "127.0.0.1");
        assert_int_equal(p->vms[0].vnc.display, 0);
        assert_string_equal(p->vms[0].video, "std");
        assert_string_equal(p->vms[0].serial.host, "127.0.0.1");
        assert_true(p->vms[0].memory.hugepages);
        assert_int_equal(p->vms[0].memory.page_size, 2ULL << 20);
        profile_free(p);
}

static void test_pass_tcg(void **state)
{
        struct vx_diags d = {};
        struct vx_profile *p = NULL;
        const struct vx_vm *vm;

        assert_int_equal(profile_load(FIXTURES "/pass-tcg.yaml", &d, &p), 0);
        vm = &p->vms[0];
        assert_int_equal(vm->accel, VX_ACCEL_TCG);
        assert_int_equal(vm->vcpus, 4); /* from the topology */
        assert_int_equal(vm->topology.sockets, 2);
        assert_int_equal(vm->topology.cores, 2);
        assert_true(vm->vnc.enabled);
        assert_int_equal(vm->vnc.display, 1);
        assert_string_equal(vm->video, "std");
        assert_int_equal(vm->serial.type, VX_SERIAL_UNIX);
        assert_string_equal(vm->serial.path, "/run/vmxrun/lab/lab-1/console.sock");
        assert_null(vm->serial.host);
        assert_string_equal(vm->boot.cmdline, "console=ttyS0,115200 root=/dev/vda");
        assert_string_equal(vm->nics[0].host, "0000:23:10.0");
        assert_int_equal(vm->n_extra_args, 2);
        assert_string_equal(vm->extra_args[1], "virtio-rng-pci,rng=rng0");
        profile_free(p);
        diag_done(&d);
}

/* ---- values: units, booleans, durations, lists ---- */

static void test_sizes(void **state)
{
        static const struct {
                const char *text;
                uint64_t size;
        } good[] = {
                {"2048MiB", 2048ULL << 20}, {"16GiB", 16ULL << 30}, {"1024M", 1ULL << 30},
                {"2G", 2ULL << 30},         {"1T", 1ULL << 40},     {"4096 KiB", 4ULL << 20},
                {"1048576B", 1ULL << 20},
        };
        char buf[256];

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                struct vx_profile *p;

                snprintf(buf, sizeof(buf), "name: t\nvms:\n  - name: a\n    memory: {size: %s}\n", good[i].text);
                p = expect_valid(buf);
                assert_int_equal(p->vms[0].memory.size, good[i].size);
                profile_free(p);
        }

        expect_error("name: t\nvms:\n  - name: a\n    memory: {size: 2048}\n", "vms[0].memory.size",
                     "no unit and is ambiguous", 4, 20);
        expect_error("name: t\nvms:\n  - name: a\n    memory: {size: 2GB}\n", "vms[0].memory.size", "unknown unit",
                     0, 0);
        expect_error("name: t\nvms:\n  - name: a\n    memory: {size: 512KiB}\n", "vms[0].memory.size",
                     "less than 1MiB", 0, 0);
        expect_error("name: t\nvms:\n  - name: a\n    memory: {size: 1.5G}\n", "vms[0].memory.size",
                     "expected a size", 0, 0);
        expect_error("name: t\nvms:\n  - name: a\n    memory: {size: 99999999999T}\n", "vms[0].memory.size",
                     "too large", 0, 0);
        expect_error("name: t\nvms:\n  - name: a\n    memory: {size: -1G}\n", "vms[0].memory.size",
                     "expected a size", 0, 0);
        expect_error("name: t\nvms:\n  - name: a\n    memory: {}\n", "vms[0].memory.size", "required key missing",
                     0, 0);
        expect_error("name: t\nvms:\n  - name: a\n", "vms[0].memory", "required key missing", 3, 5);
}

static void test_page_size(void **state)
{
        static const char *const good[] = {"2M", "2MiB", "1G", "1GiB"};
        static const char *const bad[] = {"4K", "2048", "1M", "2G", "huge"};
        char buf[256];

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                struct vx_profile *p;

                snprintf(buf, sizeof(buf), HEAD_NO_MEMORY "    memory: {size: 4G, hugepages: {page-size: %s}}\n", good[i]);
                p = expect_valid(buf);
                assert_int_equal(p->vms[0].memory.page_size, good[i][0] == '2' ? 2ULL << 20 : 1ULL << 30);
                profile_free(p);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(buf, sizeof(buf), HEAD_NO_MEMORY "    memory: {size: 4G, hugepages: {page-size: %s}}\n", bad[i]);
                expect_error(buf, "vms[0].memory.hugepages.page-size", "expected 2M (2MiB), 1G (1GiB) or auto", 0, 0);
        }
        /* auto: the plan decides; the model keeps the 2M the size must fill (auto falls back to it). */
        {
                struct vx_profile *p =
                        expect_valid(HEAD_NO_MEMORY "    memory: {size: 1536MiB, hugepages: {page-size: auto}}\n");

                assert_true(p->vms[0].memory.page_size_auto);
                assert_int_equal(p->vms[0].memory.page_size, 2ULL << 20);
                profile_free(p);
        }
        /* Memory must fill whole pages. */
        expect_error(HEAD_NO_MEMORY "    memory: {size: 1536MiB, hugepages: {page-size: 1G}}\n", "vms[0].memory.size",
                     "not a multiple of the hugepage size", 0, 0);
        check_valid(HEAD_NO_MEMORY "    memory: {size: 1536MiB, hugepages: {page-size: 2M}}\n");
        /* hugepages: false means none. */
        {
                struct vx_profile *p = expect_valid(HEAD_NO_MEMORY "    memory: {size: 1G, hugepages: false}\n");

                assert_false(p->vms[0].memory.hugepages);
                profile_free(p);
        }
}

static void test_booleans(void **state)
{
        static const struct {
                const char *text;
                bool value;
        } cases[] = {
                {"true", true}, {"yes", true},  {"on", true},  {"True", true},  {"YES", true},
                {"false", false}, {"no", false}, {"off", false}, {"False", false}, {"OFF", false},
        };
        char buf[256];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct vx_profile *p;

                snprintf(buf, sizeof(buf), HEAD "    balloon: %s\n", cases[i].text);
                p = expect_valid(buf);
                assert_int_equal(p->vms[0].balloon, cases[i].value);
                profile_free(p);
        }
        expect_error(HEAD "    balloon: maybe\n", "vms[0].balloon", "expected true or false, got 'maybe'", 5, 14);
        expect_error(HEAD "    balloon: 1\n", "vms[0].balloon", "expected true or false", 5, 14);
        expect_error(HEAD "    balloon: [true]\n", "vms[0].balloon", "got a list", 5, 14);
        expect_error(HEAD "    balloon:\n", "vms[0].balloon", "got an empty value", 0, 0);
}

static void test_tristate(void **state)
{
        static const struct {
                const char *text;
                enum vx_tristate value;
        } cases[] = {
                {"auto", VX_AUTO}, {"on", VX_ON}, {"off", VX_OFF}, {"true", VX_ON}, {"no", VX_OFF},
        };
        char buf[256];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct vx_profile *p;

                snprintf(buf, sizeof(buf), HEAD "    nics:\n      - {type: tap, tap: t0, bridge: b, vhost: %s}\n",
                         cases[i].text);
                p = expect_valid(buf);
                assert_int_equal(p->vms[0].nics[0].vhost, cases[i].value);
                profile_free(p);
        }
        expect_error(HEAD "    nics:\n      - {type: tap, tap: t0, bridge: b, vhost: sometimes}\n",
                     "vms[0].nics[0].vhost", "expected auto, on or off", 0, 0);
}

static void test_durations(void **state)
{
        struct vx_profile *p;

        p = expect_valid(HEAD "    restart: {window: 5m, backoff: 2s, max: 0}\n    ready: {timeout: 90}\n");
        assert_int_equal(p->vms[0].restart.window_s, 300);
        assert_int_equal(p->vms[0].restart.backoff_ms, 2000);
        assert_int_equal(p->vms[0].restart.max_restarts, 0);
        assert_int_equal(p->vms[0].ready.timeout_s, 90);
        profile_free(p);

        p = expect_valid(HEAD "    restart: {window: 30s, backoff: 500ms}\n    ready: {timeout: 1h}\n");
        assert_int_equal(p->vms[0].restart.window_s, 30);
        assert_int_equal(p->vms[0].restart.backoff_ms, 500);
        assert_int_equal(p->vms[0].ready.timeout_s, 3600);
        profile_free(p);

        expect_error(HEAD "    restart: {window: 500ms}\n", "vms[0].restart.window", "whole number of seconds", 0, 0);
        expect_error(HEAD "    restart: {window: 0}\n", "vms[0].restart.window", "must be from 1s", 0, 0);
        expect_error(HEAD "    restart: {backoff: 2 weeks}\n", "vms[0].restart.backoff", "unknown unit", 0, 0);
        expect_error(HEAD "    ready: {timeout: soon}\n", "vms[0].ready.timeout", "expected a duration", 0, 0);
        expect_error(HEAD "    ready: {timeout: 99999999999999999999999h}\n", "vms[0].ready.timeout",
                     "expected a duration", 0, 0);
}

static void test_enums(void **state)
{
        struct vx_profile *p;

        p = expect_valid(HEAD_NO_MEMORY "    accel: tcg\n    accel-fallback: none\n    restart: {policy: never}\n"
                              "    disks:\n      - {file: /a, format: raw, bus: scsi, cache: unsafe}\n"
                              "    memory: {size: 1G, hugepages: {policy: interleave, node: 1}}\n");
        assert_int_equal(p->vms[0].accel, VX_ACCEL_TCG);
        assert_false(p->vms[0].tcg_fallback);
        assert_int_equal(p->vms[0].restart.policy, VX_RESTART_NEVER);
        assert_int_equal(p->vms[0].disks[0].bus, VX_DISK_BUS_SCSI);
        assert_int_equal(p->vms[0].disks[0].cache, VX_DISK_CACHE_UNSAFE);
        assert_int_equal(p->vms[0].memory.policy, VX_MEM_POLICY_INTERLEAVE);
        assert_int_equal(p->vms[0].memory.node, 1);
        profile_free(p);

        p = expect_valid(HEAD "    accel-fallback: tcg\n    restart: {policy: always}\n");
        assert_true(p->vms[0].tcg_fallback);
        profile_free(p);

        expect_error(HEAD "    accel: hvf\n", "vms[0].accel", "'hvf' is not one of: kvm, tcg", 5, 12);
        expect_error(HEAD "    accel-fallback: kvm\n", "vms[0].accel-fallback", "expected 'tcg' or 'none'", 0, 0);
        expect_error(HEAD "    restart: {policy: sometimes}\n", "vms[0].restart.policy",
                     "not one of: on-crash, always, never", 0, 0);
        expect_error(HEAD_NO_MEMORY "    memory: {size: 1G, hugepages: {node: -1}}\n", "vms[0].memory.hugepages.node",
                     "from 0 to 1023", 0, 0);
        expect_error(HEAD "    video: vga\n", "vms[0].video", "not one of: none, std, cirrus, virtio", 0, 0);
        expect_error(HEAD "    disks:\n      - {file: /a, bus: sata}\n", "vms[0].disks[0].bus", "not one of", 0, 0);
}

static void test_pinning(void **state)
{
        struct vx_profile *p;
        _cleanup_free_ char *s0 = NULL, *s2 = NULL;

        p = expect_valid(HEAD "    vcpus: 3\n    pinning:\n      vcpus: [\"0-3,8\", 5, \"6\"]\n      emulator: 9\n");
        assert_int_equal(p->vms[0].pinning.n_vcpus, 3);
        s0 = vx_cpuset_format(&p->vms[0].pinning.vcpus[0]);
        s2 = vx_cpuset_format(&p->vms[0].pinning.vcpus[2]);
        assert_string_equal(s0, "0-3,8");
        assert_string_equal(s2, "6");
        assert_true(vx_cpuset_isset(&p->vms[0].pinning.vcpus[1], 5));
        assert_true(p->vms[0].pinning.has_emulator);
        assert_true(vx_cpuset_isset(&p->vms[0].pinning.emulator, 9));
        profile_free(p);

        expect_error(HEAD "    vcpus: 3\n    pinning:\n      vcpus: [0, 1]\n", "vms[0].pinning.vcpus",
                     "2 CPU lists for 3 vCPUs", 7, 7);
        expect_error(HEAD "    vcpus: 1\n    pinning:\n      vcpus: [0, 1]\n", "vms[0].pinning.vcpus",
                     "2 CPU lists for 1 vCPU", 0, 0);
        expect_error(HEAD "    pinning:\n      vcpus: [\"3-1\"]\n", "vms[0].pinning.vcpus[0]", "expected a CPU list",
                     6, 15);
        expect_error(HEAD "    pinning:\n      vcpus: [\"9999\"]\n", "vms[0].pinning.vcpus[0]", "too large", 0, 0);
        expect_error(HEAD "    pinning:\n      vcpus: []\n", "vms[0].pinning.vcpus", "the list is empty", 0, 0);
        expect_error(HEAD "    pinning:\n      vcpus: \"0-3\"\n", "vms[0].pinning.vcpus", "expected a list", 0, 0);
        expect_error(HEAD "    pinning:\n      emulator: x\n", "vms[0].pinning.emulator", "expected a CPU list", 0, 0);
}

static void test_cpu_forms(void **state)
{
        struct vx_profile *p;

        p = expect_valid(HEAD "    cpu: Haswell-noTSX\n");
        assert_string_equal(p->vms[0].cpu.model, "Haswell-noTSX");
        profile_free(p);

        p = expect_valid(HEAD "    cpu:\n      features: [+vmx]\n");
        assert_string_equal(p->vms[0].cpu.model, "max");
        assert_int_equal(p->vms[0].cpu.n_features, 1);
        profile_free(p);

        expect_error(HEAD "    cpu: [host]\n", "vms[0].cpu", "expected a mapping, got a list", 0, 0);
        expect_error(HEAD "    cpu:\n      features: [vmx]\n", "vms[0].cpu.features[0]", "not a CPU feature", 6, 18);
        expect_error(HEAD "    cpu:\n      features: [\"+\"]\n", "vms[0].cpu.features[0]", "not a CPU feature", 0, 0);
        expect_error(HEAD "    cpu: {modle: host}\n", "vms[0].cpu.modle", "unknown key", 0, 0);
}

static void test_pci_slot(void **state)
{
        static const struct {
                const char *text;
                int slot;
        } good[] = {{"3", 3}, {"\"0x3\"", 3}, {"0x1f", 31}, {"31", 31}, {"0X0a", 10}};
        static const char *const bad[] = {"0", "32", "0x20", "0x", "-1", "three", "3.0"};
        char buf[256];

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                struct vx_profile *p;

                snprintf(buf, sizeof(buf), HEAD "    nics:\n      - {type: hostdev, host: \"01:00.0\", pci-slot: %s}\n",
                         good[i].text);
                p = expect_valid(buf);
                assert_int_equal(p->vms[0].nics[0].pci_slot, good[i].slot);
                profile_free(p);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(buf, sizeof(buf), HEAD "    nics:\n      - {type: hostdev, host: \"01:00.0\", pci-slot: %s}\n",
                         bad[i]);
                expect_error(buf, "vms[0].nics[0].pci-slot", "expected a PCI slot from 1 to 31", 0, 0);
        }
        expect_error(HEAD "    nics:\n      - {type: hostdev, host: \"01:00.0\", pci-slot: 5}\n"
                          "      - {type: hostdev, host: \"01:00.1\", pci-slot: 0x5}\n",
                     "vms[0].nics[1].pci-slot", "PCI slot 5 is also used by vms[0].nics[0]", 0, 0);
}

/* ---- validation rules ---- */

static void test_mac(void **state)
{
        struct vx_profile *p;

        p = expect_valid(HEAD "    nics:\n      - {type: tap, tap: t0, bridge: b, mac: \"02:AB:cd:EF:00:01\"}\n");
        assert_string_equal(p->vms[0].nics[0].mac, "02:ab:cd:ef:00:01");
        profile_free(p);

        expect_error(HEAD "    nics:\n      - {type: tap, tap: t0, bridge: b, mac: \"03:00:00:00:00:01\"}\n",
                     "vms[0].nics[0].mac", "multicast", 6, 41);
        expect_error(HEAD "    nics:\n      - {type: tap, tap: t0, bridge: b, mac: \"00:00:00:00:00:00\"}\n",
                     "vms[0].nics[0].mac", "all-zero", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: tap, tap: t0, bridge: b, mac: \"02-00-00-00-00-01\"}\n",
                     "vms[0].nics[0].mac", "not a MAC address", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: tap, tap: t0, bridge: b, mac: \"02:00:00:00:00\"}\n",
                     "vms[0].nics[0].mac", "not a MAC address", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: tap, tap: t0, bridge: b, mac: \"02:00:00:00:00:0g\"}\n",
                     "vms[0].nics[0].mac", "not a MAC address", 0, 0);
        /* Unique across the profile, whatever the case. */
        expect_error("name: t\nvms:\n  - name: a\n    memory: {size: 1G}\n"
                     "    nics:\n      - {type: tap, tap: t0, bridge: b, mac: \"02:00:00:00:00:0A\"}\n"
                     "  - name: b\n    memory: {size: 1G}\n"
                     "    nics:\n      - {type: vf, pf: p0, vf: 1, mac: \"02:00:00:00:00:0a\"}\n",
                     "vms[1].nics[0].mac", "also used by vms[0].nics[0]", 10, 35);
        expect_error(HEAD "    nics:\n      - {type: hostdev, host: \"01:00.0\", mac: \"02:00:00:00:00:01\"}\n",
                     "vms[0].nics[0].mac", "does not apply to a NIC of type pci", 0, 0);
}

static void test_ifnames(void **state)
{
        static const char *const bad[] = {"\"a/b\"", "\"a:b\"", "\"a b\"", "\".\"", "\"..\"", "\"tap%d\"",
                                          "abcdefghijklmnop"};
        char buf[256];

        check_valid(HEAD "    nics:\n      - {type: tap, tap: abcdefghijklmno, bridge: br.0-x_y}\n");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(buf, sizeof(buf), HEAD "    nics:\n      - {type: tap, tap: %s, bridge: b}\n", bad[i]);
                expect_error(buf, "vms[0].nics[0].tap", "", 0, 0);
                snprintf(buf, sizeof(buf), HEAD "    nics:\n      - {type: vf, pf: %s, vf: 0}\n", bad[i]);
                expect_error(buf, "vms[0].nics[0].pf", "", 0, 0);
                snprintf(buf, sizeof(buf), "name: t\nbridges:\n  - {name: %s, uplink: %s}\nvms:\n  - name: a\n"
                                           "    memory: {size: 1G}\n", bad[i], bad[i]);
                expect_error(buf, "bridges[0].name", "", 0, 0);
                expect_error(buf, "bridges[0].uplink", "", 0, 0);
        }
        expect_error(HEAD "    nics:\n      - {type: tap, tap: abcdefghijklmnop, bridge: b}\n", "vms[0].nics[0].tap",
                     "longer than 15 bytes", 0, 0);
}

static void test_duplicates(void **state)
{
        expect_error("name: t\nvms:\n  - name: a\n    memory: {size: 1G}\n  - name: a\n    memory: {size: 1G}\n",
                     "vms[1].name", "VM name 'a' is used twice (first at line 3)", 5, 5);
        expect_error("name: t\nbridges:\n  - name: br0\n  - name: br0\nvms:\n  - name: a\n    memory: {size: 1G}\n",
                     "bridges[1].name", "declared twice", 4, 5);
        expect_error("name: t\nbridges:\n  - {name: br0, uplink: eth0}\n  - {name: br1, uplink: eth0}\n"
                     "vms:\n  - name: a\n    memory: {size: 1G}\n",
                     "bridges[1].uplink", "already the uplink of bridge br0", 0, 0);
        expect_error("name: t\nvms:\n  - name: a\n    memory: {size: 1G}\n"
                     "    nics:\n      - {type: tap, tap: t0, bridge: b}\n"
                     "  - name: b\n    memory: {size: 1G}\n"
                     "    nics:\n      - {type: tap, tap: t0, bridge: b}\n",
                     "vms[1].nics[0].tap", "tap 't0' is also used by vms[0].nics[0]", 0, 0);
        expect_error("name: t\nbridges:\n  - name: t0\nvms:\n  - name: a\n    memory: {size: 1G}\n"
                     "    nics:\n      - {type: tap, tap: t0, bridge: b}\n",
                     "vms[0].nics[0].tap", "is the name of a bridge", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: vf, pf: p0, vf: 1}\n      - {type: vf, pf: p0, vf: 1}\n",
                     "vms[0].nics[1].vf", "VF 1 of p0 is also used", 0, 0);
        check_valid(HEAD "    nics:\n      - {type: vf, pf: p0, vf: 1}\n      - {type: vf, pf: p1, vf: 1}\n");
        expect_error(HEAD "    nics:\n      - {type: hostdev, host: \"01:00.0\"}\n"
                          "      - {type: hostdev, host: \"0000:01:00.0\"}\n",
                     "vms[0].nics[1].host", "PCI device 0000:01:00.0 is also used", 0, 0);
        expect_error(HEAD "    disks:\n      - {file: /a, boot-order: 2}\n      - {file: /b, boot-order: 2}\n",
                     "vms[0].disks[1].boot-order", "boot-order 2 is also used by disks[0]", 0, 0);
        check_valid(HEAD "    disks:\n      - {file: /a, boot-order: 1}\n      - {file: /b, boot-order: 2}\n"
                         "      - {file: /c}\n      - {file: /d}\n");
}

/* Issue 10's keys: pf as a list, vf: auto, pf-settings, type pci (hostdev its older name). */
static void test_sriov_keys(void **state)
{
        struct vx_profile *p;
        const struct vx_nic *n;

        p = expect_valid(HEAD "    nics:\n"
                              "      - {type: vf, pf: [p3p1, p2p1], vf: auto, mac: \"02:00:00:00:00:01\"}\n"
                              "      - type: vf\n        pf: p3p1\n        vf: 2\n"
                              "        pf-settings: {up: true, mtu: 2000, promisc: on, allmulti: on}\n"
                              "      - {type: pci, host: \"0000:05:00.0\"}\n"
                              "      - {type: hostdev, host: \"0000:05:00.1\"}\n");
        n = &p->vms[0].nics[0];
        assert_true(n->vf_auto);
        assert_int_equal(n->vf, -1);
        assert_int_equal(n->n_pfs, 2);
        assert_string_equal(n->pf, "p3p1");
        assert_string_equal(n->pfs[1], "p2p1");
        assert_int_equal(n->pf_settings.mtu, 0);
        assert_int_equal(n->pf_settings.up, VX_AUTO);
        n = &p->vms[0].nics[1];
        assert_false(n->vf_auto);
        assert_int_equal(n->vf, 2);
        assert_int_equal(n->n_pfs, 1);
        assert_string_equal(n->pfs[0], "p3p1");
        assert_int_equal(n->pf_settings.up, VX_ON);
        assert_int_equal(n->pf_settings.mtu, 2000);
        assert_int_equal(n->pf_settings.promisc, VX_ON);
        assert_int_equal(n->pf_settings.allmulti, VX_ON);
        assert_int_equal(p->vms[0].nics[2].type, VX_NIC_HOSTDEV);
        assert_int_equal(p->vms[0].nics[3].type, VX_NIC_HOSTDEV);
        assert_string_equal(vx_nic_type_to_string(VX_NIC_HOSTDEV), "pci");
        profile_free(p);

        expect_error(HEAD "    nics:\n      - {type: vf, pf: [p3p1, p2p1], vf: 1}\n", "vms[0].nics[0].vf",
                     "a list of PFs needs vf: auto", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: vf, pf: [p3p1, p3p1], vf: auto}\n", "vms[0].nics[0].pf[1]",
                     "in the list twice", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: vf, pf: [], vf: auto}\n", "vms[0].nics[0].pf", "at least one PF",
                     0, 0);
        expect_error(HEAD "    nics:\n      - {type: vf, pf: [p3p1, \"a/b\"], vf: auto}\n", "vms[0].nics[0].pf[1]", "",
                     0, 0);
        expect_error(HEAD "    nics:\n      - {type: vf, pf: p3p1, vf: sometimes}\n", "vms[0].nics[0].vf",
                     "expected an integer", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: vf, pf: p3p1, vf: 0, pf-settings: {mtu: 20}}\n",
                     "vms[0].nics[0].pf-settings.mtu", "", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: vf, pf: p3p1, vf: 0, pf-settings: {speed: 10}}\n",
                     "vms[0].nics[0].pf-settings.speed", "unknown key", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: tap, tap: t0, bridge: b, pf-settings: {up: true}}\n",
                     "vms[0].nics[0].pf-settings", "does not apply to a NIC of type tap", 0, 0);
        /* One PF, one MTU: NICs on it (in any VM) must agree. */
        expect_error(HEAD "    nics:\n      - {type: vf, pf: p3p1, vf: 0, pf-settings: {mtu: 2000}}\n"
                          "  - name: b\n    memory: {size: 1G}\n    nics:\n"
                          "      - {type: vf, pf: p3p1, vf: 1, pf-settings: {mtu: 9000, up: true}}\n",
                     "vms[1].nics[0].pf-settings.mtu", "PF 'p3p1' has one mtu", 0, 0);
        check_valid(HEAD "    nics:\n      - {type: vf, pf: p3p1, vf: 0, pf-settings: {mtu: 2000}}\n"
                         "      - {type: vf, pf: p3p1, vf: 1, pf-settings: {up: true}}\n");
}

static void test_nic_rules(void **state)
{
        struct vx_profile *p;

        expect_error(HEAD "    nics:\n      - {type: tap, bridge: b}\n", "vms[0].nics[0].tap", "needs 'tap'", 6, 9);
        expect_error(HEAD "    nics:\n      - {type: tap, tap: t}\n", "vms[0].nics[0].bridge", "needs 'bridge'", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: vf, vf: 1}\n", "vms[0].nics[0].pf", "needs 'pf'", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: vf, pf: p0}\n", "vms[0].nics[0].vf", "needs 'vf'", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: hostdev}\n", "vms[0].nics[0].host", "needs 'host'", 0, 0);
        expect_error(HEAD "    nics:\n      - {tap: t, bridge: b}\n", "vms[0].nics[0].type", "required key missing",
                     0, 0);
        expect_error(HEAD "    nics:\n      - {type: macvtap}\n", "vms[0].nics[0].type",
                     "not one of: tap, vf, pci, hostdev", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: hostdev, host: \"0000:01:20.0\"}\n", "vms[0].nics[0].host",
                     "not a PCI address", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: hostdev, host: \"0000:01:00.8\"}\n", "vms[0].nics[0].host",
                     "not a PCI address", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: hostdev, host: \"1:0.0\"}\n", "vms[0].nics[0].host",
                     "not a PCI address", 0, 0);
        p = expect_valid(HEAD "    nics:\n      - {type: hostdev, host: \"0000:AF:1F.7\"}\n");
        assert_string_equal(p->vms[0].nics[0].host, "0000:af:1f.7");
        profile_free(p);

        check_valid(HEAD "    nics:\n      - {type: vf, pf: p0, vf: 0, vlan: 1}\n      - {type: vf, pf: p0, vf: 2, vlan: 4094}\n");
        expect_error(HEAD "    nics:\n      - {type: vf, pf: p0, vf: 0, vlan: 0}\n", "vms[0].nics[0].vlan",
                     "from 1 to 4094", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: vf, pf: p0, vf: 0, vlan: 4095}\n", "vms[0].nics[0].vlan",
                     "from 1 to 4094", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: tap, tap: t, bridge: b, vlan: 5}\n", "vms[0].nics[0].vlan",
                     "does not apply to a NIC of type tap", 6, 40);

        p = expect_valid(HEAD "    nics:\n      - {type: tap, tap: t, bridge: b, queues: 256}\n");
        assert_int_equal(p->vms[0].nics[0].queues, 256);
        profile_free(p);
        expect_error(HEAD "    nics:\n      - {type: tap, tap: t, bridge: b, queues: 257}\n", "vms[0].nics[0].queues",
                     "from 1 to 256", 0, 0);
        expect_error(HEAD "    nics:\n      - {type: tap, tap: t, bridge: b, queues: 2, model: e1000e}\n",
                     "vms[0].nics[0].queues", "needs model virtio-net-pci", 0, 0);
        check_valid(HEAD "    nics:\n      - {type: tap, tap: t, bridge: b, queues: 1, model: e1000e}\n");
        expect_error(HEAD "    nics:\n      - {type: tap, tap: t, bridge: b, vhost: on, model: e1000}\n",
                     "vms[0].nics[0].vhost", "vhost works only with virtio-net-pci", 0, 0);
        check_valid(HEAD "    nics:\n      - {type: tap, tap: t, bridge: b, vhost: off, model: e1000}\n");
        check_valid(HEAD "    nics:\n      - {type: tap, tap: t, bridge: b, vhost: on, model: virtio-net-pci}\n");
}

static void test_cpu_and_topology(void **state)
{
        struct vx_profile *p;

        expect_error(HEAD "    accel: tcg\n    cpu: host\n", "vms[0].cpu.model", "needs KVM", 6, 5);
        expect_error(HEAD "    accel: tcg\n    cpu: {model: host}\n", "vms[0].cpu.model", "needs KVM", 6, 11);
        check_valid(HEAD "    accel: kvm\n    cpu: host\n");
        check_valid(HEAD "    accel: tcg\n    cpu: max\n");

        p = expect_valid(HEAD "    vcpus: 8\n    topology: {sockets: 2, threads: 2}\n");
        assert_int_equal(p->vms[0].topology.cores, 2);
        profile_free(p);
        p = expect_valid(HEAD "    topology: {sockets: 2, dies: 2, cores: 3, threads: 2}\n");
        assert_int_equal(p->vms[0].vcpus, 24);
        profile_free(p);
        check_valid(HEAD "    vcpus: 4\n    topology: {sockets: 1, cores: 2, threads: 2}\n");
        expect_error(HEAD "    vcpus: 4\n    topology: {sockets: 1, cores: 3, threads: 1}\n", "vms[0].topology",
                     "1*1*3*1 = 3, but vcpus is 4", 6, 5);
        expect_error(HEAD "    vcpus: 6\n    topology: {sockets: 4}\n", "vms[0].topology",
                     "vcpus (6) is not a multiple of sockets*dies*threads (4)", 0, 0);
        expect_error(HEAD "    vcpus: 1025\n", "vms[0].vcpus", "from 1 to 1024", 0, 0);
}

static void test_ports(void **state)
{
#define two "name: t\nvms:\n  - name: a\n    memory: {size: 1G}\n    serial: %s\n" \
            "  - name: b\n    memory: {size: 1G}\n    serial: %s\n"
        char buf[512];

        snprintf(buf, sizeof(buf), two, "{type: telnet, port: 8601}", "{type: tcp, port: 8601}");
        expect_error(buf, "vms[1].serial.port", "port 8601 is also the console port of vms[0].serial.port", 8, 25);
        snprintf(buf, sizeof(buf), two, "{type: telnet, port: 8601}", "{type: telnet, port: 8602}");
        check_valid(buf);
        snprintf(buf, sizeof(buf), two, "{type: telnet, port: 8601, host: 127.0.0.1}",
                 "{type: telnet, port: 8601, host: 127.0.0.2}");
        check_valid(buf);
        snprintf(buf, sizeof(buf), two, "{type: telnet, port: 8601, host: 127.0.0.1}",
                 "{type: telnet, port: 8601, host: 0.0.0.0}");
        expect_error(buf, "vms[1].serial.port", "also the console port", 0, 0);
        snprintf(buf, sizeof(buf), two, "{type: telnet, port: 8601}\n    vnc: {display: 2}", "{type: tcp, port: 5902}");
        expect_error(buf, "vms[1].serial.port", "also the VNC port of vms[0].vnc.display", 0, 0);
        snprintf(buf, sizeof(buf), two, "{type: telnet, port: 5900}\n    vnc:", "none");
        expect_error(buf, "vms[0].serial.port", "also the VNC port", 0, 0);
        snprintf(buf, sizeof(buf), two, "none\n    vnc: {display: 3}", "none\n    vnc: {display: 3}");
        expect_error(buf, "vms[1].vnc.display", "VNC display 3 is also used by vms[0].vnc.display", 0, 0);

#undef two
        expect_error(HEAD "    serial: {type: telnet}\n", "vms[0].serial.port", "needs 'port'", 5, 5);
        expect_error(HEAD "    serial: {type: tcp, port: 0}\n", "vms[0].serial.port", "from 1 to 65535", 0, 0);
        expect_error(HEAD "    serial: {type: unix, port: 22}\n", "vms[0].serial.port",
                     "does not apply to a serial of type unix", 0, 0);
        expect_error(HEAD "    serial: {type: tcp, port: 22, path: /x}\n", "vms[0].serial.path",
                     "does not apply to a serial of type tcp", 0, 0);
        expect_error(HEAD "    serial: telnet\n", "vms[0].serial", "expected a mapping or 'none'", 0, 0);
}

static void test_qemu_strings(void **state)
{
        struct vx_profile *p;

        expect_error(HEAD "    disks:\n      - file: /a,b\n", "vms[0].disks[0].file", "contains a ','", 6, 9);
        expect_error(HEAD "    machine: \"q35,smm=on\"\n", "vms[0].machine", "contains a ','", 0, 0);
        expect_error(HEAD "    cpu: {model: \"max,+vmx\"}\n", "vms[0].cpu.model", "contains a ','", 0, 0);
        expect_error(HEAD "    smbios:\n      - {type: 1, product: \"a,b\"}\n", "vms[0].smbios[0].product",
                     "contains a ','", 0, 0);
        expect_error(HEAD "    smbios:\n      - {type: 1, product: \"a\\nb\"}\n", "vms[0].smbios[0].product",
                     "control character", 0, 0);
        expect_error(HEAD "    smbios:\n      - {product: x}\n", "vms[0].smbios[0].type", "required key missing", 0, 0);
        expect_error(HEAD "    smbios:\n      - {type: 128}\n", "vms[0].smbios[0].type", "from 0 to 127", 0, 0);
        expect_error(HEAD "    smbios:\n      - {type: 1, \"a=b\": x}\n", "vms[0].smbios[0].a=b",
                     "not a usable SMBIOS field name", 0, 0);
        expect_error(HEAD "    vnc: {listen: \"1.2.3.4,to=9\"}\n", "vms[0].vnc.listen", "contains a ','", 0, 0);
        expect_error("name: t\nhost: {runtime-dir: \"/run/a,b\"}\nvms:\n  - name: a\n    memory: {size: 1G}\n",
                     "host.runtime-dir", "contains a ','", 2, 8);
        expect_error("name: t\nhost: {runtime-dir: run}\nvms:\n  - name: a\n    memory: {size: 1G}\n",
                     "host.runtime-dir", "not an absolute path", 0, 0);
        expect_error(HEAD "    boot: {kernel: /k, cmdline: \"a\\nb\"}\n", "vms[0].boot.cmdline", "control character", 0,
                     0);
        expect_error(HEAD "    boot: {kernel: \"/k\\tx\"}\n", "vms[0].boot.kernel", "control character", 0, 0);
        expect_error(HEAD "    qemu: \"/usr/bin/qemu\\x01\"\n", "vms[0].qemu", "control character", 0, 0);
        expect_error(HEAD "    uuid: 1234\n", "vms[0].uuid", "not a UUID", 0, 0);

        /* Commas are fine where vmxrun passes the value as an argv item of its own. */
        p = expect_valid(HEAD "    boot: {kernel: /k, cmdline: \"console=ttyS0,115200\"}\n"
                              "    extra-args: [\"-device\", \"virtio-rng-pci,rng=rng0\"]\n"
                              "    uuid: 2F1E8C3A-5B7D-4E2A-9C1B-0D3E4F5A6B7C\n");
        assert_string_equal(p->vms[0].extra_args[1], "virtio-rng-pci,rng=rng0");
        assert_string_equal(p->vms[0].uuid, "2f1e8c3a-5b7d-4e2a-9c1b-0d3e4f5a6b7c");
        profile_free(p);
}

static void test_names(void **state)
{
        char long_name[80], buf[256];

        memset(long_name, 'x', 65);
        long_name[65] = 0;
        snprintf(buf, sizeof(buf), "name: t\nvms:\n  - name: %s\n    memory: {size: 1G}\n", long_name);
        expect_error(buf, "vms[0].name", "longer than 64 bytes", 3, 5);
        long_name[64] = 0;
        snprintf(buf, sizeof(buf), "name: t\nvms:\n  - name: %s\n    memory: {size: 1G}\n", long_name);
        check_valid(buf);
        expect_error("name: \"a b\"\nvms:\n  - name: a\n    memory: {size: 1G}\n", "name", "contains ' '", 1, 1);
        expect_error("name: abcdefghijklmnopqrstuvwxyz0123456\nvms:\n  - name: a\n    memory: {size: 1G}\n", "name",
                     "longer than 32 bytes", 0, 0);
        expect_error("vms:\n  - name: a\n    memory: {size: 1G}\n", "name", "required key missing", 1, 1);
        expect_error("name: t\n", "vms", "required key missing", 1, 1);
        expect_error("name: t\nvms: []\n", "vms", "at least one VM", 2, 6);
        expect_error("name: t\nvms:\n  - memory: {size: 1G}\n", "vms[0].name", "required key missing", 3, 5);
        expect_error("name: t\nvms: {a: 1}\n", "vms", "expected a list, got a mapping", 0, 0);
        expect_error("- a\n- b\n", "", "expected a mapping with name, bridges and vms", 1, 1);
        expect_error("name: t\nbridges:\n  - name: b\n    move-host-address: true\n"
                     "vms:\n  - name: a\n    memory: {size: 1G}\n",
                     "bridges[0].move-host-address", "needs an uplink", 4, 5);
}

/* ---- malformed YAML ---- */

static void test_malformed_yaml(void **state)
{
        expect_error("name: t\nvms:\n\t- name: a\n", "", "tabs are not allowed for indentation; use spaces", 3, 1);
        expect_error("name: t\nvms:\n  - name: a\n  \tmemory: {size: 1G}\n", "",
                     "tabs are not allowed for indentation", 4, 3);
        expect_error("name: t\nname: u\nvms: []\n", "", "duplicate key 'name' (first at line 1)", 2, 1);
        expect_error(HEAD "    memory: {size: 1G}\n", "", "duplicate key 'memory' (first at line 4)", 5, 5);
        expect_error("name: &n t\nvms:\n  - name: *n\n", "", "aliases ('*n') are not supported", 3, 11);
        expect_error("name: &n t\nvms:\n  - name: *n\n", "", "anchors ('&n') are not supported", 1, 7);
        expect_error("name: !!str t\nvms: []\n", "", "tags ('tag:yaml.org,2002:str') are not supported", 1, 7);
        expect_error("", "", "the file is empty", 0, 0);
        expect_error("# nothing\n\n", "", "the file is empty", 0, 0);
        expect_error("---\n...\n", "", "the document is empty", 0, 0);
        expect_error("name: t\n---\nname: u\n", "", "found a second one", 2, 1);
        expect_error("name: \"t\n", "", "unexpected end of file", 0, 0);
        expect_error("name: a: b\n", "", "unexpected ':'", 1, 8);
        expect_error("name: t\n  vms: 1\n", "", "unexpected ':'", 2, 6);
        expect_error("name: t\nvms:\n  - name: a\n   memory: 1\n", "", "bad indentation", 4, 4);
        expect_error("name: \"\\q\"\n", "", "unknown escape sequence", 0, 0);
        expect_error("name: \"a\\0b\"\n", "", "NUL characters are not allowed", 1, 7);
        expect_error("name: \xc3\x28\n", "", "invalid UTF-8", 1, 7);
        expect_error("name: \xed\xa0\x80\n", "", "invalid UTF-8", 1, 7); /* a surrogate */
        expect_error("name: \xc0\xaf\n", "", "invalid UTF-8", 1, 7);     /* overlong */
        expect_error("\xff\xfen\x00" "a\x00", "", "invalid UTF-8", 1, 1);     /* UTF-16 */
        expect_error("name: [a, b\n", "", "", 0, 0);
        expect_error("? [a]\n: b\n", "", "keys must be plain strings", 1, 3);
        expect_error("%YAML 1.1\n%YAML 1.1\n---\na: b\n", "", "", 0, 0);

        /* Deep nesting: refused before it can hurt the stack. */
        {
                char *deep = malloc(20001);

                memset(deep, '[', 10000);
                memset(deep + 10000, ']', 10000);
                deep[20000] = 0;
                expect_error(deep, "", "nesting deeper than 64 levels", 1, 65);
                free(deep);
        }
        /* Non-UTF-8 text in a valid place is still text; fine. */
        check_valid("name: t\nvms:\n  - name: a\n    memory: {size: 1G}\n    serial: {type: unix}\n    ready: {console: \"ログイン:\"}\n");
}

static void test_binary_junk(void **state)
{
        struct vx_diags d = {};
        struct vx_profile *p = NULL;
        unsigned char junk[4096];
        unsigned seed = 12345;

        /* Deterministic junk; any result but a crash or success is fine. */
        for (int round = 0; round < 20; round++) {
                for (size_t i = 0; i < sizeof(junk); i++) {
                        seed = seed * 1103515245 + 12345;
                        junk[i] = (unsigned char)(seed >> 16);
                }
                assert_int_equal(profile_load_string("junk", (const char *)junk, sizeof(junk), &d, &p), -EINVAL);
                assert_null(p);
                assert_true(diag_has_errors(&d));
                diag_done(&d);
        }

        /* Printable junk reaches libyaml and the model. */
        for (int round = 0; round < 50; round++) {
                static const char alphabet[] = "ab:-[]{}\n  \"'&*!|>#,?%@`~0";
                for (size_t i = 0; i < 512; i++) {
                        seed = seed * 1103515245 + 12345;
                        junk[i] = (unsigned char)alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
                }
                assert_int_equal(profile_load_string("junk", (const char *)junk, 512, &d, &p), -EINVAL);
                assert_null(p);
                diag_done(&d);
        }
}

static void test_big_file(void **state)
{
        struct vx_diags d = {};
        struct vx_profile *p = NULL;
        char path[] = "/tmp/vx-test-profile-XXXXXX";
        size_t size = 2 * 1024 * 1024;
        char *big = malloc(size);
        int fd;

        assert_non_null(big);
        for (size_t i = 0; i < size; i++)
                big[i] = i % 64 == 63 ? '\n' : '#';

        /* Bad input like any other (exit status 3), not a failure to read. */
        assert_int_equal(profile_load_string("big.yaml", big, size, &d, &p), -EINVAL);
        assert_null(p);
        assert_int_equal(d.n, 1);
        assert_non_null(strstr(d.items[0].message, "file too large"));
        diag_done(&d);

        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, big, size), (ssize_t)size);
        close(fd);
        assert_int_equal(profile_load(path, &d, &p), -EINVAL);
        assert_null(p);
        assert_int_equal(d.n, 1);
        assert_string_equal(d.items[0].file, path);
        assert_non_null(strstr(d.items[0].message, "file too large"));
        diag_done(&d);
        unlink(path);
        free(big);

        /* Just under the cap is read (and found to be empty). */
        big = malloc(1024 * 1024);
        assert_non_null(big);
        memset(big, '\n', 1024 * 1024);
        big[0] = '#';
        assert_int_equal(profile_load_string("almost.yaml", big, 1024 * 1024, &d, &p), -EINVAL);
        assert_non_null(strstr(d.items[0].message, "the file is empty"));
        diag_done(&d);
        free(big);
}

static void test_load_errors(void **state)
{
        struct vx_diags d = {};
        struct vx_profile *p = NULL;

        assert_int_equal(profile_load("/nonexistent/profile.yaml", &d, &p), -ENOENT);
        assert_int_equal(d.n, 1);
        assert_non_null(strstr(d.items[0].message, "cannot open"));
        diag_done(&d);
        assert_int_equal(profile_load(FIXTURES, &d, &p), -EISDIR);
        assert_int_equal(d.n, 1);
        diag_done(&d);
        assert_int_equal(profile_load(FIXTURES "/fail-empty.yaml", &d, &p), -EINVAL);
        assert_string_equal(d.items[0].message, "the file is empty");
        diag_done(&d);
        assert_null(p);
}

/* ---- positions, hints, many errors ---- */

static void test_positions(void **state)
{
        struct vx_profile *p = expect_valid("name: t\n"                   /* 1 */
                                            "bridges:\n"                  /* 2 */
                                            "  - name: br0\n"             /* 3 */
                                            "    mtu: 1500\n"             /* 4 */
                                            "vms:\n"                      /* 5 */
                                            "  - name: a\n"               /* 6 */
                                            "    memory:\n"               /* 7 */
                                            "      size: 1G\n"            /* 8 */
                                            "    nics:\n"                 /* 9 */
                                            "      -   type: tap\n"       /* 10 */
                                            "          tap: t0\n"         /* 11 */
                                            "          bridge: br0\n"     /* 12 */
                                            "          mac: 02:00:00:00:00:01\n" /* 13 */
                                            "  - name: b\n"               /* 14 */
                                            "    memory: {size: 1G}\n"    /* 15 */
                                            "    smbios: [{type: 1, vendor: X}]\n");
        unsigned line, column;

        profile_position(p, "name", &line, &column);
        assert_int_equal(line, 1);
        assert_int_equal(column, 1);
        profile_position(p, "bridges[0].mtu", &line, &column);
        assert_int_equal(line, 4);
        assert_int_equal(column, 5);
        profile_position(p, "vms[0].memory.size", &line, &column);
        assert_int_equal(line, 8);
        assert_int_equal(column, 7);
        profile_position(p, "vms[0].nics[0]", &line, &column);
        assert_int_equal(line, 10);
        assert_int_equal(column, 11);
        profile_position(p, "vms[0].nics[0].mac", &line, &column);
        assert_int_equal(line, 13);
        assert_int_equal(column, 11);
        profile_position(p, "vms[1].memory.size", &line, &column);
        assert_int_equal(line, 15);
        assert_int_equal(column, 14);
        profile_position(p, "vms[1].smbios[0].vendor", &line, &column);
        assert_int_equal(line, 16);
        assert_int_equal(column, 24);

        /* Absent keys fall back to their nearest parent in the file. */
        profile_position(p, "vms[0].nics[0].vhost", &line, &column);
        assert_int_equal(line, 10);
        assert_int_equal(column, 11);
        profile_position(p, "vms[1].restart.policy", &line, &column);
        assert_int_equal(line, 14);
        assert_int_equal(column, 5);
        profile_position(p, "vms[7].name", &line, &column);
        assert_int_equal(line, 5);
        assert_int_equal(column, 1);
        profile_position(p, "nothing.here", &line, &column);
        assert_int_equal(line, 1);
        assert_int_equal(column, 1);
        profile_position(NULL, "name", &line, &column);
        assert_int_equal(line, 1);
        profile_free(p);
}

static void test_did_you_mean(void **state)
{
        struct vx_diags d = {};
        struct vx_profile *p;

        assert_int_equal(load(HEAD "    memroy: {size: 1G}\n    vcpuss: 2\n    xyzzy: 1\n    page_size: 2M\n", &d, &p),
                         -EINVAL);
        assert_int_equal(d.n, 4);
        assert_string_equal(d.items[0].path, "vms[0].memroy");
        assert_string_equal(d.items[0].message, "unknown key 'memroy'");
        assert_string_equal(d.items[0].hint, "did you mean 'memory'?");
        assert_int_equal(d.items[0].line, 5);
        assert_int_equal(d.items[0].column, 5);
        assert_string_equal(d.items[1].hint, "did you mean 'vcpus'?");
        assert_null(d.items[2].hint); /* nothing near "xyzzy" */
        assert_null(d.items[3].hint); /* page-size is not a VM key */
        diag_done(&d);

        expect_error(HEAD_NO_MEMORY "    memory: {size: 1G, hugepages: {page_size: 2M}}\n", "vms[0].memory.hugepages.page_size",
                     "unknown key", 0, 0);
        assert_int_equal(load(HEAD_NO_MEMORY "    memory: {size: 1G, hugepages: {page_size: 2M}}\n", &d, &p), -EINVAL);
        assert_string_equal(d.items[0].hint, "did you mean 'page-size'?");
        diag_done(&d);
        assert_int_equal(load(HEAD "    restart: {policy: alwasy}\n", &d, &p), -EINVAL);
        assert_string_equal(d.items[0].hint, "did you mean 'always'?");
        diag_done(&d);
}

static void test_many_errors(void **state)
{
        struct vx_diags d = {};
        struct vx_profile *p;
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        FILE *f;

        assert_int_equal(load("name: t\n"
                              "bogus: 1\n"
                              "vms:\n"
                              "  - name: a\n"
                              "    memory: {size: 2048}\n"
                              "    nics:\n"
                              "      - {type: tap, tap: t0, bridge: b, mac: \"01:00:00:00:00:01\"}\n"
                              "    serial: {type: telnet}\n"
                              "  - name: a\n"
                              "    memory: {size: 1G}\n"
                              "    vcpus: 0\n",
                              &d, &p),
                         -EINVAL);
        f = open_memstream(&out, &len);
        diag_print(&d, f);
        fclose(f);
        assert_string_equal(out,
                            "t.yaml:2:1: error: bogus: unknown key 'bogus'\n"
                            "t.yaml:5:20: error: vms[0].memory.size: '2048' has no unit and is ambiguous "
                            "(add a unit, e.g. 2048MiB)\n"
                            "t.yaml:7:41: error: vms[0].nics[0].mac: '01:00:00:00:00:01' is a multicast MAC "
                            "address, not a unicast one (the low bit of the first byte must be 0; 02:... is a "
                            "locally administered unicast)\n"
                            "t.yaml:8:5: error: vms[0].serial.port: a telnet serial console needs 'port'\n"
                            "t.yaml:9:5: error: vms[1].name: VM name 'a' is used twice (first at line 4)\n"
                            "t.yaml:11:12: error: vms[1].vcpus: expected an integer from 1 to 1024, got '0'\n");
        diag_done(&d);
}

static void test_error_cap(void **state)
{
        struct vx_diags d = {};
        struct vx_profile *p;
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        fputs("name: t\nvms:\n", f);
        for (int i = 0; i < 150; i++)
                fprintf(f, "  - name: v%d\n    memory: {size: %d}\n", i, i + 1);
        fclose(f);
        assert_int_equal(profile_load_string("cap.yaml", text, len, &d, &p), -EINVAL);
        assert_int_equal(diag_count(&d, VX_DIAG_ERROR), 100);
        assert_int_equal(diag_count(&d, VX_DIAG_NOTE), 1);
        assert_int_equal(d.items[99].line, 202);
        assert_non_null(strstr(d.items[100].message, "too many errors"));
        diag_done(&d);
        free(text);
}

static void test_fixtures(void **state)
{
        _cleanup_free_ char *cwd = get_current_dir_name();
        struct dirent **entries;
        size_t n_pass = 0, n_fail = 0;
        int n;

        assert_int_equal(chdir(FIXTURES), 0);
        n = scandir(".", &entries, NULL, alphasort);
        assert_true(n > 0);
        for (int i = 0; i < n; i++) {
                const char *name = entries[i]->d_name;
                size_t l = strlen(name);
                struct vx_diags d = {};
                struct vx_profile *p = NULL;
                int r;

                if (l < 6 || strcmp(name + l - 5, ".yaml") != 0) {
                        free(entries[i]);
                        continue;
                }
                r = profile_load(name, &d, &p);
                if (strncmp(name, "pass-", 5) == 0) {
                        if (r != 0 || d.n != 0)
                                dump(&d);
                        assert_int_equal(r, 0);
                        assert_int_equal(d.n, 0);
                        n_pass++;
                } else {
                        _cleanup_free_ char *expected = NULL, *got = NULL, *errfile = NULL;
                        size_t elen = 0, glen = 0;
                        FILE *f;

                        assert_int_equal(strncmp(name, "fail-", 5), 0);
                        assert_int_equal(r, -EINVAL);
                        assert_null(p);
                        assert_true(asprintf(&errfile, "%.*s.err", (int)(l - 5), name) > 0);
                        f = fopen(errfile, "re");
                        if (!f)
                                fprintf(stderr, "%s: missing\n", errfile);
                        assert_non_null(f);
                        assert_true(getdelim(&expected, &elen, 0, f) > 0);
                        fclose(f);
                        f = open_memstream(&got, &glen);
                        diag_print(&d, f);
                        fclose(f);
                        if (strcmp(expected, got) != 0)
                                fprintf(stderr, "%s: expected:\n%sgot:\n%s", name, expected, got);
                        assert_string_equal(expected, got);
                        n_fail++;
                }
                profile_free(p);
                diag_done(&d);
                free(entries[i]);
        }
        free(entries);
        assert_int_equal(chdir(cwd), 0);
        assert_true(n_pass >= 3);
        assert_true(n_fail >= 10);
}

/* ---- diag and names ---- */

static void test_diag(void **state)
{
        struct vx_diags d = {};
        _cleanup_free_ char *out = NULL;
        size_t len = 0;
        FILE *f;

        assert_int_equal(diag_add(&d, VX_DIAG_ERROR, "b.yaml", 1, 1, "x", NULL, "first b"), 0);
        assert_int_equal(diag_add(&d, VX_DIAG_WARNING, "a.yaml", 3, 2, "", "a hint", "w %d", 7), 0);
        assert_int_equal(diag_add(&d, VX_DIAG_ERROR, "a.yaml", 3, 2, "k", NULL, "same place, second"), 0);
        assert_int_equal(diag_add(&d, VX_DIAG_NOTE, "a.yaml", 0, 0, NULL, NULL, "no position"), 0);
        assert_int_equal(diag_add(&d, VX_DIAG_ERROR, "a.yaml", 1, 9, "k", NULL, "earlier"), 0);
        for (int i = 0; i < 40; i++) /* past the initial capacity */
                assert_int_equal(diag_add(&d, VX_DIAG_NOTE, "c.yaml", 1, 1, "", NULL, "n%d", i), 0);
        assert_int_equal(diag_count(&d, VX_DIAG_ERROR), 3);
        assert_int_equal(diag_count(&d, VX_DIAG_WARNING), 1);
        assert_true(diag_has_errors(&d));
        diag_sort(&d);
        for (int i = 0; i < 40; i++)
                d.items[5 + i].severity = VX_DIAG_NOTE; /* stable: n0..n39 keep their order */
        for (int i = 0; i < 40; i++) {
                char want[8];

                snprintf(want, sizeof(want), "n%d", i);
                assert_string_equal(d.items[5 + i].message, want);
        }
        d.n = 5; /* print only the interesting ones (the rest is freed below) */
        f = open_memstream(&out, &len);
        diag_print(&d, f);
        fclose(f);
        assert_string_equal(out, "a.yaml: note: no position\n"
                                 "a.yaml:1:9: error: k: earlier\n"
                                 "a.yaml:3:2: warning: w 7 (a hint)\n"
                                 "a.yaml:3:2: error: k: same place, second\n"
                                 "b.yaml:1:1: error: x: first b\n");
        d.n = 45;
        diag_done(&d);
        assert_int_equal(d.n, 0);
        assert_false(diag_has_errors(&d));
        diag_done(&d); /* twice is fine */
        diag_print(NULL, stderr);

        assert_int_equal(diag_edit_distance("memory", "memory"), 0);
        assert_int_equal(diag_edit_distance("memroy", "memory"), 2);
        assert_int_equal(diag_edit_distance("", "abc"), 3);
        assert_int_equal(diag_edit_distance("kitten", "sitting"), 3);
        assert_int_equal(diag_edit_distance("page_size", "page-size"), 1);
}

static void test_enum_names(void **state)
{
        assert_string_equal(vx_accel_to_string(VX_ACCEL_KVM), "kvm");
        assert_string_equal(vx_accel_to_string(VX_ACCEL_TCG), "tcg");
        assert_string_equal(vx_disk_bus_to_string(VX_DISK_BUS_USB), "usb");
        assert_string_equal(vx_disk_format_to_string(VX_DISK_FORMAT_QCOW2), "qcow2");
        assert_string_equal(vx_disk_cache_to_string(VX_DISK_CACHE_DIRECTSYNC), "directsync");
        assert_string_equal(vx_nic_type_to_string(VX_NIC_HOSTDEV), "pci");
        assert_string_equal(vx_nic_model_to_string(VX_NIC_MODEL_VIRTIO), "virtio-net-pci");
        assert_string_equal(vx_nic_model_to_string(VX_NIC_MODEL_E1000E), "e1000e");
        assert_string_equal(vx_mem_policy_to_string(VX_MEM_POLICY_PREFERRED), "preferred");
        assert_string_equal(vx_restart_policy_to_string(VX_RESTART_ON_CRASH), "on-crash");
        assert_string_equal(vx_tristate_to_string(VX_OFF), "off");
        assert_string_equal(vx_serial_type_to_string(VX_SERIAL_TELNET), "telnet");
        assert_null(vx_accel_to_string((enum vx_accel)42));
}

static void test_validate_model(void **state)
{
        struct vx_profile *p = expect_valid(HEAD "    nics:\n      - {type: tap, tap: t0, bridge: b}\n");
        struct vx_diags d = {};

        /* A model changed after loading is checked again, with positions from the file. */
        assert_int_equal(profile_validate(p, &d), 0);
        p->vms[0].nics[0].mac = strdup("FF:FF:FF:FF:FF:FF");
        p->vms[0].vcpus = 3;
        assert_int_equal(profile_validate(p, &d), -EINVAL);
        assert_int_equal(d.n, 2);
        assert_string_equal(d.items[0].path, "vms[0].topology");
        assert_string_equal(d.items[1].path, "vms[0].nics[0].mac");
        assert_int_equal(d.items[1].line, 6);
        assert_int_equal(d.items[1].column, 9);
        diag_done(&d);
        profile_free(p);
        assert_null(profile_free(NULL));
}

/* ---- hostile input (issue 11) ---- */

/* The first diagnostic whose path is path, or fails. */
static const struct vx_diag *find_diag(const struct vx_diags *d, const char *path)
{
        for (size_t i = 0; i < d->n; i++)
                if (strcmp(d->items[i].path, path) == 0)
                        return &d->items[i];
        dump(d);
        fail_msg("no diagnostic at %s", path);
        return NULL;
}

static void test_caller_diags(void **state)
{
        struct vx_diags d = {};
        struct vx_profile *p;

        /* Nothing to sort: d.items stays NULL (load.c computed NULL + 0, which clang's UBSan reports). */
        assert_int_equal(load(HEAD, &d, &p), 0);
        assert_null(d.items);
        assert_int_equal(d.n, 0);
        profile_free(p);

        /* What the caller had stays first and in its order; only the file's own are sorted. */
        assert_int_equal(diag_add(&d, VX_DIAG_NOTE, "z.yaml", 9, 1, "", NULL, "first"), 0);
        assert_int_equal(diag_add(&d, VX_DIAG_NOTE, "a.yaml", 1, 1, "", NULL, "second"), 0);
        assert_int_equal(load(HEAD "    vcpus: x\n    accel: y\n", &d, &p), -EINVAL);
        assert_int_equal(d.n, 4);
        assert_string_equal(d.items[0].message, "first");
        assert_string_equal(d.items[1].message, "second");
        assert_string_equal(d.items[2].path, "vms[0].vcpus");
        assert_string_equal(d.items[3].path, "vms[0].accel");
        diag_done(&d);
}

static void test_bom(void **state)
{
        struct vx_diags d = {};
        struct vx_profile *p;

        /* A UTF-8 byte order mark (Windows editors write one) is not part of the text. */
        p = expect_valid("\xEF\xBB\xBF" HEAD);
        assert_string_equal(p->name, "t");
        profile_free(p);
        /* Positions after it are an editor's: the mark is not a column. */
        expect_error("\xEF\xBB\xBF"
                     "name: t\nvms: 1\n",
                     "vms", "expected a list", 2, 6);
        expect_error("\xEF\xBB\xBF"
                     "nmae: t\n",
                     "nmae", "unknown key", 1, 1);
        /* Only one, and only at the start: another is a character like any other. */
        expect_error("\xEF\xBB\xBF\xEF\xBB\xBF" HEAD, "", "", 0, 0);

        /* UTF-16 (or UTF-32 LE) says what the file is. */
        assert_int_equal(profile_load_string("t.yaml",
                                             "\xff\xfen\x00"
                                             "a\x00",
                                             6, &d, &p),
                         -EINVAL);
        assert_int_equal(d.n, 1);
        assert_string_equal(d.items[0].message, "invalid UTF-8: the file starts with the byte order mark of UTF-16 "
                                                "or UTF-32 (ff fe); profiles must be UTF-8 text");
        assert_string_equal(d.items[0].hint, "convert it, e.g. with iconv -f UTF-16 -t UTF-8");
        diag_done(&d);
        assert_int_equal(profile_load_string("t.yaml", "\xfe\xff\x00n", 4, &d, &p), -EINVAL);
        assert_non_null(strstr(d.items[0].message, "(fe ff)"));
        diag_done(&d);
}

static void test_diag_quote(void **state)
{
        char buf[VX_DIAG_QUOTE_MAX], s[200];

        assert_string_equal(diag_quote("abc", buf, sizeof(buf)), "'abc'");
        assert_string_equal(diag_quote("", buf, sizeof(buf)), "''");
        assert_string_equal(diag_quote(NULL, buf, sizeof(buf)), "''");
        assert_string_equal(diag_quote("a\nb\tc\r\x01\x7f\\'", buf, sizeof(buf)), "'a\\nb\\tc\\r\\x01\\x7f\\\\\\''");

        /* Cut after VX_DIAG_QUOTE_CHARS bytes, with the length. */
        memset(s, 'x', 100);
        s[100] = 0;
        diag_quote(s, buf, sizeof(buf));
        assert_int_equal(strlen(buf), 1 + VX_DIAG_QUOTE_CHARS + strlen("...' (100 bytes)"));
        assert_string_equal(buf + 1 + VX_DIAG_QUOTE_CHARS, "...' (100 bytes)");
        /* Exactly VX_DIAG_QUOTE_CHARS bytes are shown whole. */
        s[VX_DIAG_QUOTE_CHARS] = 0;
        assert_int_equal(strlen(diag_quote(s, buf, sizeof(buf))), VX_DIAG_QUOTE_CHARS + 2);

        /* Never inside a UTF-8 sequence: 47 bytes and a 2-byte é are 49 bytes, shown whole before the cut.
         */
        memset(s, 'x', 47);
        strcpy(s + 47, "\xc3\xa9yyyy");
        diag_quote(s, buf, sizeof(buf));
        assert_memory_equal(buf + 1 + 47, "\xc3\xa9...' (53 bytes)", strlen("\xc3\xa9...' (53 bytes)") + 1);

        /* Bad UTF-8 (a --set path from the command line): a run of continuation bytes is cut too. */
        memset(s, 0xbe, 199);
        s[199] = 0;
        diag_quote(s, buf, sizeof(buf));
        assert_int_equal(strlen(buf), 1 + VX_DIAG_QUOTE_CHARS + 3 + strlen("...' (199 bytes)"));

        /* The worst case fits: every byte escaped. */
        memset(s, 1, 199);
        s[199] = 0;
        assert_true(strlen(diag_quote(s, buf, sizeof(buf))) < sizeof(buf));

        /* diag_excerpt: short printable values as they are. */
        assert_string_equal(DIAG_EXCERPT("02:04:17:01:01:01"), "02:04:17:01:01:01");
        assert_string_equal(DIAG_EXCERPT("a\nb"), "'a\\nb'");
}

static void test_bounded_messages(void **state)
{
        size_t n = 100000;
        _cleanup_free_ char *text = malloc(n + 200), *key = malloc(n + 200);
        struct vx_diags d = {};
        const struct vx_diag *g;
        struct vx_profile *p;

        assert_non_null(text);
        assert_non_null(key);

        /* A 100 kB value in a message: an excerpt and the length, not the value. */
        strcpy(text, HEAD "    vcpus: ");
        memset(text + strlen(text), '7', n);
        strcpy(text + strlen(HEAD "    vcpus: ") + n, "\n");
        assert_int_equal(load(text, &d, &p), -EINVAL);
        g = find_diag(&d, "vms[0].vcpus");
        assert_true(strlen(g->message) < 200);
        assert_non_null(strstr(g->message, "...' (100000 bytes)"));
        diag_done(&d);

        /* A key (libyaml takes at most 1024 characters in a plain key): the path is cut too. */
        memset(key, 'k', 1000);
        key[1000] = 0;
        snprintf(text, n + 200, HEAD "    %s: 1\n", key);
        assert_int_equal(load(text, &d, &p), -EINVAL);
        assert_int_equal(d.n, 1);
        assert_true(strlen(d.items[0].path) <= VX_DIAG_QUOTE_MAX);
        assert_true(strlen(d.items[0].message) < 200);
        assert_non_null(strstr(d.items[0].message, "unknown key 'kkk"));
        diag_done(&d);

        /* A raw newline (a double-quoted "\n") is shown escaped: one diagnostic, one line. */
        assert_int_equal(load("name: \"a\\nb\"\nvms:\n  - name: a\n    memory: {size: 1G}\n", &d, &p), -EINVAL);
        g = find_diag(&d, "name");
        assert_string_equal(g->message, "'a\\nb' contains '\\n'");
        diag_done(&d);
        expect_error(HEAD "    machine: \"pc\\n-device x\"\n", "vms[0].machine", "contains a control character", 0, 0);
        assert_int_equal(load(HEAD "    nics:\n      - {type: tap, tap: t, bridge: b, mac: \"0\\n2:00\"}\n", &d, &p),
                         -EINVAL);
        g = find_diag(&d, "vms[0].nics[0].mac");
        assert_null(strchr(g->message, '\n'));
        assert_non_null(strstr(g->message, "'0\\n2:00'"));
        diag_done(&d);
        /* A character outside the name set is shown whole, also when it is more than one byte. */
        expect_error("name: v\xc3\xa9\nvms:\n  - name: a\n    memory: {size: 1G}\n", "name",
                     "'v\xc3\xa9' contains '\xc3\xa9'", 1, 1);
        /* A key path made of a key with a newline in it is escaped as well. */
        assert_int_equal(load(HEAD "    \"a\\nb\": 1\n", &d, &p), -EINVAL);
        assert_null(strchr(d.items[0].path, '\n'));
        assert_null(strchr(d.items[0].message, '\n'));
        diag_done(&d);
}

static void test_memory_bound(void **state)
{
        struct vx_profile *p;

        /* 2^52 bytes, x86_64's physical address space, is the most. */
        p = expect_valid(HEAD_NO_MEMORY "    memory: {size: 4096TiB}\n");
        assert_true(p->vms[0].memory.size == VX_MEMORY_MAX);
        profile_free(p);
        expect_error(HEAD_NO_MEMORY "    memory: {size: 4097TiB}\n", "vms[0].memory.size",
                     "'4097TiB' is more than 4096TiB (4 PiB, 2^52 bytes), all that an x86_64 guest can address", 5, 20);
        /* 1 EiB, and the largest number the parser takes. */
        expect_error(HEAD_NO_MEMORY "    memory: {size: 1048576TiB}\n", "vms[0].memory.size", "is more than 4096TiB", 0,
                     0);
        expect_error(HEAD_NO_MEMORY "    memory: {size: 18446744073709551615B}\n", "vms[0].memory.size",
                     "is more than 4096TiB", 0, 0);
}

static void test_clash_names_first(void **state)
{
        struct vx_diags d = {};
        struct vx_profile *p;

        /* Each clash names the first earlier NIC with the value, not any other. */
        assert_int_equal(load("name: t\nvms:\n"
                              "  - name: a\n    memory: {size: 1G}\n    nics:\n"
                              "      - {type: tap, tap: t0, bridge: b, mac: \"02:00:00:00:00:01\"}\n"
                              "      - {type: tap, tap: t1, bridge: b, mac: \"02:00:00:00:00:02\", pci-slot: 5}\n"
                              "  - name: b\n    memory: {size: 1G}\n    nics:\n"
                              "      - {type: tap, tap: t2, bridge: b, mac: \"02:00:00:00:00:03\", pci-slot: 5}\n"
                              "      - {type: tap, tap: t1, bridge: b, mac: \"02:00:00:00:00:02\"}\n"
                              "      - {type: tap, tap: t3, bridge: b, mac: \"02:00:00:00:00:03\", pci-slot: 5}\n"
                              "      - {type: vf, pf: p, vf: 1}\n"
                              "  - name: a\n    memory: {size: 1G}\n    nics:\n"
                              "      - {type: vf, pf: p, vf: 1}\n"
                              "      - {type: tap, tap: t4, bridge: b, mac: \"02:00:00:00:00:02\"}\n"
                              "  - name: a\n    memory: {size: 1G}\n",
                              &d, &p),
                         -EINVAL);
        assert_string_equal(find_diag(&d, "vms[1].nics[1].mac")->message,
                            "MAC address 02:00:00:00:00:02 is also used by vms[0].nics[1]");
        assert_string_equal(find_diag(&d, "vms[1].nics[1].tap")->message, "tap 't1' is also used by vms[0].nics[1]");
        assert_string_equal(find_diag(&d, "vms[1].nics[2].mac")->message,
                            "MAC address 02:00:00:00:00:03 is also used by vms[1].nics[0]");
        /* A PCI slot clashes within its own VM only. */
        assert_string_equal(find_diag(&d, "vms[1].nics[2].pci-slot")->message,
                            "PCI slot 5 is also used by vms[1].nics[0]");
        assert_string_equal(find_diag(&d, "vms[2].nics[0].vf")->message, "VF 1 of p is also used by vms[1].nics[3]");
        assert_string_equal(find_diag(&d, "vms[2].nics[1].mac")->message,
                            "MAC address 02:00:00:00:00:02 is also used by vms[0].nics[1]");
        /* A name used three times: both repeats name the first. */
        assert_string_equal(find_diag(&d, "vms[2].name")->message, "VM name 'a' is used twice (first at line 3)");
        assert_string_equal(find_diag(&d, "vms[3].name")->message, "VM name 'a' is used twice (first at line 3)");
        assert_int_equal(diag_count(&d, VX_DIAG_ERROR), 8);
        diag_done(&d);

        /* Boot order within a VM, the first disk named. */
        expect_error(HEAD "    disks:\n      - {file: /a, boot-order: 2}\n      - {file: /b, boot-order: 1}\n"
                          "      - {file: /c, boot-order: 2}\n      - {file: /d, boot-order: 2}\n",
                     "vms[0].disks[3].boot-order", "boot-order 2 is also used by disks[0]", 0, 0);
}

static void test_listener_clash(void **state)
{
#define vm(name, serial) "  - name: " name "\n    memory: {size: 1G}\n    serial: " serial "\n"
        struct vx_diags d = {};
        struct vx_profile *p;

        /* Same port: a clash when the addresses are equal or either is a wildcard; the first such VM is
         * named. */
        assert_int_equal(
                load("name: t\nvms:\n" vm("a", "{type: tcp, port: 5000, host: 127.0.0.1}")
                             vm("b", "{type: tcp, port: 5000, host: 10.0.0.1}")
                                     vm("c", "{type: tcp, port: 5000, host: 0.0.0.0}")
                                             vm("d", "{type: tcp, port: 5000, host: 10.0.0.1}")
                                                     vm("e", "{type: tcp, port: 5000, host: 10.0.0.2}")
                                                             vm("f", "{type: tcp, port: 5001, host: \"::\"}")
                                                                     vm("g", "{type: tcp, port: 5001, host: 10.0.0.2}"),
                     &d, &p),
                -EINVAL);
        assert_string_equal(find_diag(&d, "vms[2].serial.port")->message,
                            "port 5000 is also the console port of vms[0].serial.port");
        assert_string_equal(find_diag(&d, "vms[3].serial.port")->message,
                            "port 5000 is also the console port of vms[1].serial.port");
        assert_string_equal(find_diag(&d, "vms[4].serial.port")->message,
                            "port 5000 is also the console port of vms[2].serial.port");
        assert_string_equal(find_diag(&d, "vms[6].serial.port")->message,
                            "port 5001 is also the console port of vms[5].serial.port");
        assert_int_equal(diag_count(&d, VX_DIAG_ERROR), 4);
        diag_done(&d);

        /* A console on the VNC port of a later VM; an earlier console clash is named before it. */
        assert_int_equal(load("name: t\nvms:\n" vm("a", "{type: tcp, port: 5903}")
                                      vm("b", "{type: tcp, port: 5903}\n    vnc: {display: 3}")
                                              vm("c", "{type: tcp, port: 5904}") vm("d", "none\n    vnc: {display: 4}"),
                              &d, &p),
                         -EINVAL);
        assert_string_equal(find_diag(&d, "vms[0].serial.port")->message,
                            "port 5903 is also the VNC port of vms[1].vnc.display (5900 + display 3)");
        assert_string_equal(find_diag(&d, "vms[1].serial.port")->message,
                            "port 5903 is also the console port of vms[0].serial.port");
        assert_string_equal(find_diag(&d, "vms[2].serial.port")->message,
                            "port 5904 is also the VNC port of vms[3].vnc.display (5900 + display 4)");
        assert_int_equal(diag_count(&d, VX_DIAG_ERROR), 3);
        diag_done(&d);
#undef vm
}

/* A profile with a deployment name of dlen characters, one VM of vlen, and extra VM keys. */
static char *socket_profile(const char *runtime, size_t dlen, size_t vlen, const char *extra)
{
        char d[128], v[128], *s;

        assert_true(dlen < sizeof(d) && vlen < sizeof(v));
        memset(d, 'd', dlen);
        d[dlen] = 0;
        memset(v, 'v', vlen);
        v[vlen] = 0;
        assert_true(asprintf(&s, "name: %s\n%s%s%svms:\n  - name: %s\n    memory: {size: 1G}\n%s", d,
                             runtime ? "host:\n  runtime-dir: " : "", runtime ?: "", runtime ? "\n" : "", v,
                             extra) > 0);
        return s;
}

static void test_socket_paths(void **state)
{
        _cleanup_free_ char *ok = NULL, *probe = NULL, *edge = NULL, *console = NULL, *rt = NULL, *control = NULL;
        char longdir[90];

        /* /run/vmxrun/<32>/<53>/qmp.sock is 107 bytes: the most sun_path holds. */
        ok = socket_profile(NULL, 32, 53, "");
        check_valid(ok);
        /* The probe's case: a 32-character deployment and a 64-character VM, 118 bytes. */
        probe = socket_profile(NULL, 32, 64, "");
        expect_error(probe, "vms[0].name",
                     "the socket <host.runtime-dir>/<name>/<vm>/qmp.sock would be 118 bytes long; a unix socket "
                     "path holds at most 107",
                     3, 5);
        edge = socket_profile(NULL, 32, 54, "");
        expect_error(edge, "vms[0].name", "qmp.sock would be 108 bytes long", 0, 0);
        /* A unix console without a path is console.sock beside it, 4 bytes longer. */
        console = socket_profile(NULL, 32, 53, "    serial: {type: unix}\n");
        expect_error(console, "vms[0].name", "console.sock would be 111 bytes long", 0, 0);
        /* The profile's runtime directory counts, not the default's. */
        rt = socket_profile("/r", 32, 63, "");
        expect_error(rt, "vms[0].name", "qmp.sock would be 108 bytes long", 0, 0);
        free(rt);
        rt = socket_profile("/r", 32, 62, "");
        check_valid(rt);
        /* The deployment's control socket, for a long runtime directory. */
        longdir[0] = '/';
        memset(longdir + 1, 'r', 79);
        longdir[80] = 0;
        control = socket_profile(longdir, 20, 1, "");
        expect_error(control, "name", "control.sock would be 114 bytes long", 0, 0);
        /* A serial.path of its own is checked too. */
        memset(longdir + 1, 's', 88);
        longdir[89] = 0;
        free(console);
        assert_true(asprintf(&console, HEAD "    serial: {type: unix, path: %s%s}\n", longdir, longdir + 70) > 0);
        expect_error(console, "vms[0].serial.path", "is 108 bytes long; a unix socket path holds at most 107", 0, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full_profile),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_pass_tcg),
                cmocka_unit_test(test_sizes),
                cmocka_unit_test(test_page_size),
                cmocka_unit_test(test_booleans),
                cmocka_unit_test(test_tristate),
                cmocka_unit_test(test_durations),
                cmocka_unit_test(test_enums),
                cmocka_unit_test(test_pinning),
                cmocka_unit_test(test_cpu_forms),
                cmocka_unit_test(test_pci_slot),
                cmocka_unit_test(test_mac),
                cmocka_unit_test(test_ifnames),
                cmocka_unit_test(test_duplicates),
                cmocka_unit_test(test_nic_rules),
                cmocka_unit_test(test_sriov_keys),
                cmocka_unit_test(test_cpu_and_topology),
                cmocka_unit_test(test_ports),
                cmocka_unit_test(test_qemu_strings),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_malformed_yaml),
                cmocka_unit_test(test_binary_junk),
                cmocka_unit_test(test_big_file),
                cmocka_unit_test(test_load_errors),
                cmocka_unit_test(test_positions),
                cmocka_unit_test(test_did_you_mean),
                cmocka_unit_test(test_many_errors),
                cmocka_unit_test(test_error_cap),
                cmocka_unit_test(test_fixtures),
                cmocka_unit_test(test_diag),
                cmocka_unit_test(test_enum_names),
                cmocka_unit_test(test_validate_model),
                cmocka_unit_test(test_caller_diags),
                cmocka_unit_test(test_bom),
                cmocka_unit_test(test_diag_quote),
                cmocka_unit_test(test_bounded_messages),
                cmocka_unit_test(test_memory_bound),
                cmocka_unit_test(test_clash_names_first),
                cmocka_unit_test(test_listener_clash),
                cmocka_unit_test(test_socket_paths),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
