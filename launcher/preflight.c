/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pre-flight of a planned deployment: everything its VMs need from this
 * host, checked jointly (two VMs' hugepages add up) and against the
 * deployments already running, before anything is changed. `vmxrun doctor
 * PROFILE` prints the results; `start` refuses on a FAIL. Each result names
 * the profile key that asks for it and the command that fixes it. Nothing
 * here changes the host or logs: the results are data (host/preflight.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cap-ng.h>

#include "cleanup.h"
#include "facts.h"
#include "hugepages.h"
#include "launcher.h"
#include "numa-checks.h"
#include "preflight.h"
#include "state.h"
#include "users.h"
#include "vfio.h"

struct pf {
        const struct vx_profile *profile;
        const struct vx_plan *plan;
        const char *root; /* "" for the real host */
        const struct vx_host_facts *facts;
        char *cpu_flags; /* NULL: no /proc/cpuinfo */
        struct vx_checks *out;
        unsigned flags; /* VX_PREFLIGHT_* */
        int r;          /* the first -ENOMEM */
};

#define add(pf, id, status, subject, key, fix, ...)                                                                    \
        do {                                                                                                           \
                if ((pf)->r >= 0)                                                                                      \
                        (pf)->r = checks_add((pf)->out, id, status, subject, key, fix, __VA_ARGS__);                   \
        } while (0)

static bool needs_kvm(const struct pf *pf)
{
        for (size_t i = 0; i < pf->plan->n_vms; i++)
                if (pf->plan->vms[i].accel == VX_ACCEL_KVM)
                        return true;
        return false;
}

static bool any_nic(const struct pf *pf, enum vx_nic_type type)
{
        for (size_t i = 0; i < pf->profile->n_vms; i++)
                for (size_t j = 0; j < pf->profile->vms[i].n_nics; j++)
                        if (pf->profile->vms[i].nics[j].type == type)
                                return true;
        return false;
}

static void check_plan_complete(struct pf *pf)
{
        for (size_t i = 0; i < pf->plan->n_vms; i++) {
                const struct vx_vm_plan *vp = &pf->plan->vms[i];
                _cleanup_free_ char *key = NULL, *notes = NULL;

                if (asprintf(&key, "vms[%zu]", vp->vm_index) < 0) {
                        pf->r = -ENOMEM;
                        return;
                }
                if (vp->complete) {
                        add(pf, "plan", VX_CHECK_OK, vp->name, key, NULL, "%s can be planned completely on this host",
                            vp->name);
                        continue;
                }
                /* Which note made it incomplete the plan does not say: all of them. */
                for (size_t k = 0; k < vp->n_notes; k++) {
                        char *m;

                        if (asprintf(&m, "%s%s%s", notes ?: "", notes ? "; " : "", vp->notes[k]) < 0) {
                                pf->r = -ENOMEM;
                                return;
                        }
                        free(notes);
                        notes = m;
                }
                add(pf, "plan", VX_CHECK_FAIL, vp->name, key, "vmxrun cmdline PROFILE --plan",
                    "%s cannot start on this host: %s", vp->name, notes ?: "its plan is incomplete");
        }
}

/* ---- the CPU ---- */

static void check_virtualization(struct pf *pf)
{
        bool kvm = needs_kvm(pf);
        bool vmx = host_flags_have(pf->cpu_flags, "vmx"), svm = host_flags_have(pf->cpu_flags, "svm");

        if (!pf->cpu_flags)
                add(pf, "cpu-virtualization", kvm ? VX_CHECK_WARN : VX_CHECK_OK, "vmx/svm", NULL, NULL,
                    "%s/proc/cpuinfo has no flags line, so the CPU's virtualization flags are unknown", pf->root);
        else if (vmx || svm)
                add(pf, "cpu-virtualization", VX_CHECK_OK, vmx ? "vmx" : "svm", NULL, NULL, "the CPU has %s (%s)",
                    vmx ? "VT-x" : "AMD-V", vmx ? "vmx" : "svm");
        else if (kvm && pf->facts->kvm_usable)
                /* A KVM that needs no VT-x (PVM: KVM on page tables, in a cloud VM); the kvm check says the rest. */
                add(pf, "cpu-virtualization", VX_CHECK_WARN, "vmx/svm", NULL, NULL,
                    "the CPU has neither vmx nor svm, but /dev/kvm works (a paravirtual KVM such as PVM)");
        else
                add(pf, "cpu-virtualization", kvm ? VX_CHECK_FAIL : VX_CHECK_OK, "vmx/svm", NULL,
                    kvm ? "enable VT-x/AMD-V in the firmware (nested: expose vmx to this VM), or accel: tcg" : NULL,
                    "the CPU has neither vmx nor svm%s",
                    kvm ? ", and a VM asks for KVM" : " (every VM runs under TCG)");
        if (!kvm)
                return;
        add(pf, "kvm", pf->facts->kvm_usable ? VX_CHECK_OK : VX_CHECK_FAIL, "/dev/kvm", NULL,
            pf->facts->kvm_usable ? NULL : "modprobe kvm_intel (or kvm_amd); or accel: tcg",
            pf->facts->kvm_usable ? "%s/dev/kvm opens read-write" : "%s/dev/kvm does not open read-write", pf->root);
}

/* QEMU's feature names where /proc/cpuinfo spells them differently. */
static const char *cpuinfo_name(const char *qemu_name)
{
        static const char *const map[][2] = {
                {"invtsc", "nonstop_tsc"},
                {"ds", "dts"},
                {"sse4.1", "sse4_1"},
                {"sse4.2", "sse4_2"},
                {"lahf-lm", "lahf_lm"},
                {"ds-cpl", "ds_cpl"},
                {"tsc-deadline", "tsc_deadline_timer"},
                {"fxsr-opt", "fxsr_opt"},
                {"pclmuldq", "pclmulqdq"},
        };

        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (strcmp(qemu_name, map[i][0]) == 0)
                        return map[i][1];
        return qemu_name;
}

/*
 * Under KVM a guest gets only what the host CPU has: QEMU drops a missing
 * feature with a warning. rdrand (vMX needs it) and pdpe1gb (1 GiB pages)
 * are failures, the others warnings. TCG emulates them.
 */
static void check_cpu_features(struct pf *pf)
{
        for (size_t i = 0; i < pf->plan->n_vms; i++) {
                const struct vx_vm_plan *vp = &pf->plan->vms[i];
                const struct vx_vm *vm = vp->vm;
                _cleanup_free_ char *key = NULL, *missing = NULL;
                size_t n_missing = 0;

                if (asprintf(&key, "vms[%zu].cpu.features", vp->vm_index) < 0) {
                        pf->r = -ENOMEM;
                        return;
                }
                for (size_t f = 0; f < vm->cpu.n_features; f++) {
                        const char *name = vm->cpu.features[f] + 1;
                        bool critical = strcmp(name, "rdrand") == 0 || strcmp(name, "pdpe1gb") == 0;
                        char *m;

                        if (vm->cpu.features[f][0] != '+')
                                continue;
                        if (vp->accel != VX_ACCEL_KVM || !pf->cpu_flags) {
                                if (critical)
                                        add(pf, "cpu-feature", vp->accel != VX_ACCEL_KVM ? VX_CHECK_OK : VX_CHECK_WARN,
                                            name, key, NULL, "%s: %s %s", vp->name, name,
                                            vp->accel != VX_ACCEL_KVM ? "is emulated by TCG"
                                                                      : "is not checked (no /proc/cpuinfo flags)");
                                continue;
                        }
                        if (critical) {
                                bool has = host_flags_have(pf->cpu_flags, name);
                                add(pf, "cpu-feature", has ? VX_CHECK_OK : VX_CHECK_FAIL, name, key,
                                    has ? NULL
                                        : "run the VM on a host whose CPU has it, or drop +feature (accel: tcg "
                                          "emulates it)",
                                    has ? "%s: the host CPU has %s"
                                        : "%s: the host CPU lacks %s, which the VM asks for",
                                    vp->name, name);
                                continue;
                        }
                        if (host_flags_have(pf->cpu_flags, cpuinfo_name(name)))
                                continue;
                        if (asprintf(&m, "%s%s%s", missing ?: "", missing ? " " : "", name) < 0) {
                                pf->r = -ENOMEM;
                                return;
                        }
                        free(missing);
                        missing = m;
                        n_missing++;
                }
                if (n_missing)
                        add(pf, "cpu-features", VX_CHECK_WARN, vp->name, key, "drop them from cpu.features",
                            "%s: the host CPU lacks %zu of the features asked for, which QEMU drops under KVM: %s",
                            vp->name, n_missing, missing);
        }
}

static void check_cpu_list(struct pf *pf, const struct vx_vm_plan *vp, const struct vx_cpuset *set, const char *what,
                           const char *key, const struct vx_cpuset *present, bool have_present,
                           const struct vx_cpuset *online, bool have_online)
{
        _cleanup_free_ char *list = vx_cpuset_format(set);

        if (!list) {
                pf->r = -ENOMEM;
                return;
        }
        for (unsigned c = 0; c < VX_CPUSET_MAX; c++) {
                char subject[32], fix[96];

                if (!vx_cpuset_isset(set, c))
                        continue;
                snprintf(subject, sizeof(subject), "CPU %u", c);
                if (have_present && !vx_cpuset_isset(present, c)) {
                        add(pf, "cpus", VX_CHECK_FAIL, subject, key, "pin to CPUs this host has",
                            "%s: the %s CPU %u does not exist on this host", vp->name, what, c);
                        return;
                }
                if (have_online && !vx_cpuset_isset(online, c)) {
                        snprintf(fix, sizeof(fix), "echo 1 > /sys/devices/system/cpu/cpu%u/online", c);
                        add(pf, "cpus", VX_CHECK_FAIL, subject, key, fix, "%s: the %s CPU %u is offline", vp->name,
                            what, c);
                        return;
                }
        }
        add(pf, "cpus", have_online ? VX_CHECK_OK : VX_CHECK_WARN, list, key, NULL,
            have_online ? "%s: %s CPUs %s exist and are online" : "%s: %s CPUs %s are not checked (no cpu/online)",
            vp->name, what, list);
}

static void check_cpus(struct pf *pf)
{
        struct vx_cpuset present = {0}, online = {0};
        bool have_online = host_cpus_read(pf->root, "online", &online) >= 0;
        bool have_present = host_cpus_read(pf->root, "present", &present) >= 0;

        if (!have_present && have_online) {
                present = online;
                have_present = true;
        }
        for (size_t i = 0; i < pf->plan->n_vms; i++) {
                const struct vx_vm_plan *vp = &pf->plan->vms[i];
                struct vx_cpuset vcpus = {0};
                char key[64];

                for (size_t v = 0; v < vp->pinning.n_vcpus; v++)
                        for (size_t w = 0; w < ELEMENTSOF(vcpus.bits); w++)
                                vcpus.bits[w] |= vp->pinning.vcpus[v].bits[w];
                if (vp->pinning.n_vcpus) {
                        snprintf(key, sizeof(key), "vms[%zu].pinning.vcpus", vp->vm_index);
                        check_cpu_list(pf, vp, &vcpus, "vCPU", key, &present, have_present, &online, have_online);
                }
                if (vp->pinning.has_emulator) {
                        snprintf(key, sizeof(key), "vms[%zu].pinning.emulator", vp->vm_index);
                        check_cpu_list(pf, vp, &vp->pinning.emulator, "emulator", key, &present, have_present, &online,
                                       have_online);
                }
        }
}

/* Two vCPUs of the profile on one host CPU: allowed, but rarely what a router wants. */
static void check_vcpu_overlap(struct pf *pf)
{
        for (size_t a = 0; a < pf->plan->n_vms; a++)
                for (size_t i = 0; i < pf->plan->vms[a].pinning.n_vcpus; i++)
                        for (size_t b = a; b < pf->plan->n_vms; b++)
                                for (size_t j = b == a ? i + 1 : 0; j < pf->plan->vms[b].pinning.n_vcpus; j++) {
                                        const struct vx_cpuset *x = &pf->plan->vms[a].pinning.vcpus[i];
                                        const struct vx_cpuset *y = &pf->plan->vms[b].pinning.vcpus[j];
                                        char key[64], subject[32];

                                        for (unsigned c = 0; c < VX_CPUSET_MAX; c++) {
                                                if (!vx_cpuset_isset(x, c) || !vx_cpuset_isset(y, c))
                                                        continue;
                                                snprintf(key, sizeof(key), "vms[%zu].pinning.vcpus[%zu]",
                                                         pf->plan->vms[b].vm_index, j);
                                                snprintf(subject, sizeof(subject), "CPU %u", c);
                                                add(pf, "cpu-overlap", VX_CHECK_WARN, subject, key,
                                                    "pin each vCPU to a CPU of its own",
                                                    "vCPU %zu of %s and vCPU %zu of %s are both pinned to CPU %u", i,
                                                    pf->plan->vms[a].name, j, pf->plan->vms[b].name, c);
                                                break;
                                        }
                                }
}

/* ---- memory ---- */

struct huge_need {
        uint64_t page_size;
        int node;
        uint64_t pages;
        const char *key;
};

static void check_one_pool(struct pf *pf, const struct huge_need *n)
{
        struct vx_hugepage_pool pool;
        char ps[32], subject[96], fix[256], where[32] = "";
        uint64_t avail;
        int r;

        hugepages_size_pretty(n->page_size, ps, sizeof(ps));
        if (n->node >= 0)
                snprintf(where, sizeof(where), " on node %d", n->node);
        snprintf(subject, sizeof(subject), "%s pages%s", ps, where);
        r = hugepages_pool_read(pf->root, n->page_size, n->node, &pool);
        if (r == -ENODEV) {
                add(pf, "hugepages", VX_CHECK_FAIL, subject, n->key, "memory.hugepages.node: a node this host has",
                    "this host has no NUMA node %d", n->node);
                return;
        }
        if (r < 0 && r != -EOPNOTSUPP) {
                add(pf, "hugepages", VX_CHECK_FAIL, subject, n->key, NULL, "the pool of %s pages%s cannot be read: %s",
                    ps, where, strerror(-r));
                return;
        }
        if (r < 0) {
                snprintf(fix, sizeof(fix), "boot with hugepagesz=%s hugepages=%" PRIu64 " on the kernel command line",
                         n->page_size == UINT64_C(1) << 30 ? "1G" : "2M", n->pages);
                add(pf, "hugepages", VX_CHECK_FAIL, subject, n->key, fix, "the kernel has no pool of %s pages%s", ps,
                    where);
                return;
        }
        avail = hugepages_available(&pool);
        if (avail >= n->pages) {
                add(pf, "hugepages", VX_CHECK_OK, subject, n->key, NULL,
                    "%" PRIu64 " free %s pages%s, %" PRIu64 " needed", avail, ps, where, n->pages);
                return;
        }
        if (n->node >= 0)
                snprintf(fix, sizeof(fix),
                         "echo %" PRIu64 " > /sys/devices/system/node/node%d/hugepages/hugepages-%" PRIu64
                         "kB/nr_hugepages",
                         pool.total + n->pages - avail, n->node, n->page_size >> 10);
        else
                snprintf(fix, sizeof(fix),
                         "echo %" PRIu64 " > /sys/kernel/mm/hugepages/hugepages-%" PRIu64 "kB/nr_hugepages",
                         pool.total + n->pages - avail, n->page_size >> 10);
        add(pf, "hugepages", VX_CHECK_WARN, subject, n->key, fix,
            "%" PRIu64 " free %s pages%s, %" PRIu64 " needed: start grows the pool by %" PRIu64
            " (which fails when memory is fragmented%s)",
            avail, ps, where, n->pages, n->pages - avail,
            n->page_size == UINT64_C(1) << 30 ? "; 1 GiB pages are best reserved at boot" : "");
}

/* The plan's hugepage actions summed per page size and node: every VM's pages come from the same pool. */
static void check_hugepages(struct pf *pf)
{
        _cleanup_free_ struct huge_need *needs = calloc(pf->plan->n_actions + 1, sizeof(*needs));
        size_t n = 0;
        bool gig = false;

        if (!needs) {
                pf->r = -ENOMEM;
                return;
        }
        for (size_t i = 0; i < pf->plan->n_actions; i++) {
                const struct vx_host_action *a = &pf->plan->actions[i];
                size_t k;

                if (a->kind != VX_ACTION_HUGEPAGES)
                        continue;
                gig |= a->huge.page_size == UINT64_C(1) << 30;
                for (k = 0; k < n; k++)
                        if (needs[k].page_size == a->huge.page_size && needs[k].node == a->huge.node)
                                break;
                if (k == n)
                        needs[n++] = (struct huge_need){a->huge.page_size, a->huge.node, 0, a->key};
                needs[k].pages += a->huge.pages;
        }
        for (size_t k = 0; k < n; k++)
                check_one_pool(pf, &needs[k]);
        if (gig && pf->cpu_flags)
                add(pf, "cpu-feature", host_flags_have(pf->cpu_flags, "pdpe1gb") ? VX_CHECK_OK : VX_CHECK_FAIL,
                    "pdpe1gb", needs[0].key, host_flags_have(pf->cpu_flags, "pdpe1gb") ? NULL : "page-size: 2M",
                    host_flags_have(pf->cpu_flags, "pdpe1gb") ? "the host CPU has pdpe1gb (1 GiB pages)"
                                                              : "1 GiB pages need pdpe1gb, which the host CPU lacks");
}

static void check_hugetlbfs(struct pf *pf)
{
        for (size_t i = 0; i < pf->plan->n_vms; i++) {
                const struct vx_vm_plan *vp = &pf->plan->vms[i];
                const struct vx_memory *m = &vp->vm->memory;
                uint64_t ps = m->page_size ? m->page_size : UINT64_C(2) << 20;
                const char *found = NULL;
                char key[64], pretty[32];

                if (!m->hugepages)
                        continue;
                snprintf(key, sizeof(key), "vms[%zu].memory.hugepages%s", vp->vm_index, m->path ? ".path" : "");
                hugepages_size_pretty(ps, pretty, sizeof(pretty));
                for (size_t k = 0; k < pf->facts->n_hugetlbfs && !found; k++)
                        if (pf->facts->hugetlbfs[k].page_size == ps &&
                            (!m->path || strcmp(m->path, pf->facts->hugetlbfs[k].path) == 0))
                                found = pf->facts->hugetlbfs[k].path;
                if (found)
                        add(pf, "hugetlbfs", VX_CHECK_OK, found, key, NULL, "%s: a hugetlbfs with %s pages is at %s",
                            vp->name, pretty, found);
                else if (m->path)
                        add(pf, "hugetlbfs", VX_CHECK_WARN, m->path, key, NULL,
                            "%s: no hugetlbfs with %s pages is mounted at %s (start mounts one)", vp->name, pretty,
                            m->path);
                else
                        add(pf, "hugetlbfs", VX_CHECK_OK, pretty, key, NULL,
                            "%s: no hugetlbfs with %s pages is mounted; start mounts one", vp->name, pretty);
        }
}

static void check_memlock(struct pf *pf)
{
        struct rlimit lim;
        bool can_raise;

        if (getrlimit(RLIMIT_MEMLOCK, &lim) < 0)
                lim.rlim_max = 0;
        can_raise = capng_get_caps_process() >= 0 && capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_RESOURCE);
        for (size_t i = 0; i < pf->plan->n_vms; i++) {
                const struct vx_vm_plan *vp = &pf->plan->vms[i];
                uint64_t need = vp->memlock_bytes;
                bool fits = lim.rlim_max == RLIM_INFINITY || (need != UINT64_MAX && lim.rlim_max >= need);
                char key[64], subject[32];

                if (!need)
                        continue;
                snprintf(key, sizeof(key), "vms[%zu].%s", vp->vm_index, vp->vm->memory.lock ? "memory.lock" : "nics");
                if (need == UINT64_MAX)
                        snprintf(subject, sizeof(subject), "unlimited");
                else
                        snprintf(subject, sizeof(subject), "%" PRIu64 " MiB", need >> 20);
                add(pf, "memlock", fits || can_raise ? VX_CHECK_OK : VX_CHECK_FAIL, subject, key,
                    fits || can_raise ? NULL
                                      : "run vmxrun as root, or raise the hard limit (LimitMEMLOCK= in the unit)",
                    fits        ? "%s: RLIMIT_MEMLOCK %s fits in the hard limit"
                    : can_raise ? "%s: RLIMIT_MEMLOCK %s (vfio pins guest memory): raised for QEMU at start"
                                : "%s: RLIMIT_MEMLOCK %s (vfio pins guest memory) is over the hard limit, which "
                                  "vmxrun may not raise",
                    vp->name, subject);
        }
}

/* ---- devices ---- */

static void check_passthrough(struct pf *pf)
{
        struct vx_vfio_iommu_info io;
        _cleanup_free_ char *cmdline = NULL;
        bool on_cmdline;

        if (!any_nic(pf, VX_NIC_VF) && !any_nic(pf, VX_NIC_HOSTDEV))
                return;
        if (vfio_iommu_info(pf->root, &io) < 0) {
                pf->r = -ENOMEM;
                return;
        }
        (void)host_kernel_cmdline(pf->root, &cmdline);
        on_cmdline = host_cmdline_has(cmdline, "intel_iommu=on") || host_cmdline_has(cmdline, "amd_iommu=on");
        add(pf, "iommu-cmdline",
            on_cmdline    ? VX_CHECK_OK
            : io.n_groups ? VX_CHECK_WARN
                          : VX_CHECK_FAIL,
            "/proc/cmdline", NULL,
            on_cmdline ? NULL
                       : "add intel_iommu=on iommu=pt (AMD: amd_iommu=on) to GRUB_CMDLINE_LINUX in /etc/default/grub, "
                         "update-grub, reboot",
            on_cmdline ? "the kernel command line turns the IOMMU on"
            : io.n_groups
                    ? "the kernel command line has no intel_iommu=on/amd_iommu=on (the IOMMU is on by default here)"
                    : "the kernel command line has no intel_iommu=on/amd_iommu=on");
        add(pf, "iommu", io.n_groups ? VX_CHECK_OK : VX_CHECK_FAIL, "/sys/kernel/iommu_groups", NULL,
            io.n_groups ? NULL : "enable VT-d/AMD-Vi in the firmware and on the kernel command line",
            io.n_groups ? "the IOMMU is on (%zu groups)" : "the IOMMU is off (%zu groups): no PCI passthrough",
            io.n_groups);
        add(pf, "interrupt-remapping",
            io.intremap_enabled    ? VX_CHECK_OK
            : io.unsafe_interrupts ? VX_CHECK_WARN
                                   : VX_CHECK_FAIL,
            "interrupt remapping", NULL,
            io.intremap_enabled ? NULL
                                : "enable interrupt remapping in the firmware (or, unsafe: options vfio_iommu_type1 "
                                  "allow_unsafe_interrupts=1)",
            io.intremap_enabled          ? "interrupt remapping is on"
            : io.unsafe_interrupts       ? "interrupt remapping is off; vfio allows unsafe interrupts"
            : io.intremap_supported == 0 ? "the IOMMU cannot remap interrupts, so vfio refuses devices"
                                         : "interrupt remapping is off, so vfio refuses devices");
        add(pf, "vfio-pci", io.vfio_pci >= 0 ? VX_CHECK_OK : VX_CHECK_FAIL, "vfio-pci", NULL,
            io.vfio_pci >= 0 ? NULL : "apt-get install linux-image-amd64 (a kernel with vfio-pci); modprobe vfio-pci",
            io.vfio_pci == 0   ? "vfio-pci is registered"
            : io.vfio_pci == 1 ? "vfio-pci is a module of the running kernel (start loads it)"
                               : "the kernel has no vfio-pci");
}

static void check_tap_devices(struct pf *pf)
{
        bool vhost_on = false, vhost_auto = false;

        if (!any_nic(pf, VX_NIC_TAP))
                return;
        add(pf, "tun", pf->facts->tun ? VX_CHECK_OK : VX_CHECK_FAIL, "/dev/net/tun", NULL,
            pf->facts->tun ? NULL : "modprobe tun",
            pf->facts->tun ? "tap devices: /dev/net/tun is there" : "tap NICs need /dev/net/tun, which is absent");
        for (size_t i = 0; i < pf->profile->n_vms; i++)
                for (size_t j = 0; j < pf->profile->vms[i].n_nics; j++) {
                        const struct vx_nic *n = &pf->profile->vms[i].nics[j];
                        if (n->type == VX_NIC_TAP && n->model == VX_NIC_MODEL_VIRTIO) {
                                vhost_on |= n->vhost == VX_ON;
                                vhost_auto |= n->vhost == VX_AUTO;
                        }
                }
        if (!vhost_on && !vhost_auto)
                return;
        add(pf, "vhost-net",
            pf->facts->vhost_net ? VX_CHECK_OK
            : vhost_on           ? VX_CHECK_FAIL
                                 : VX_CHECK_WARN,
            "/dev/vhost-net", NULL, pf->facts->vhost_net ? NULL : "modprobe vhost_net",
            pf->facts->vhost_net ? "/dev/vhost-net opens (virtio-net in the kernel)"
            : vhost_on           ? "vhost: on needs /dev/vhost-net, which is absent"
                                 : "no /dev/vhost-net: virtio-net runs in QEMU (slower)");
}

static void check_qemu(struct pf *pf)
{
        for (size_t i = 0; i < pf->plan->n_vms; i++) {
                const struct vx_vm_plan *vp = &pf->plan->vms[i];
                const char *qemu = vp->argv.items[0];
                char version[256], key[64];
                bool seen = false;
                int r;

                for (size_t k = 0; k < i && !seen; k++)
                        seen = strcmp(pf->plan->vms[k].argv.items[0], qemu) == 0;
                if (seen)
                        continue;
                snprintf(key, sizeof(key), "vms[%zu].qemu", vp->vm_index);
                /* Starting QEMU for its version costs a start tens of ms: start only looks at the file. */
                if (!(pf->flags & VX_PREFLIGHT_QEMU_VERSION)) {
                        struct stat st;

                        r = stat(qemu, &st) < 0 ? -errno : !S_ISREG(st.st_mode) ? -EACCES : 0;
                        if (r >= 0 && access(qemu, X_OK) < 0)
                                r = -errno;
                        if (r >= 0) {
                                add(pf, "qemu", VX_CHECK_OK, qemu, key, NULL, "%s is executable", qemu);
                                continue;
                        }
                } else
                        r = host_qemu_version(qemu, version, sizeof(version), NULL);
                if (r == -ENOENT || r == -EACCES || r == -ENOTDIR)
                        add(pf, "qemu", VX_CHECK_FAIL, qemu, key, "apt-get install qemu-system-x86 (or qemu: PATH)",
                            "%s: %s", qemu, r == -EACCES ? "not executable" : "no such file");
                else if (r < 0 && !(pf->flags & VX_PREFLIGHT_QEMU_VERSION))
                        add(pf, "qemu", VX_CHECK_FAIL, qemu, key, NULL, "%s: %s", qemu, strerror(-r));
                else if (r < 0)
                        add(pf, "qemu", VX_CHECK_FAIL, qemu, key, "apt-get install --reinstall qemu-system-x86",
                            "%s does not say its version (%s): it does not run", qemu, strerror(-r));
                else
                        add(pf, "qemu", VX_CHECK_OK, qemu, key, NULL, "%s: %s", qemu, version);
        }
}

/* ---- files QEMU opens ---- */

struct qemu_user {
        const char *name; /* NULL: QEMU runs as root */
        struct vx_user user;
        bool exists;
};

static void check_file(struct pf *pf, const struct qemu_user *qu, const char *vm, const char *path, bool writable,
                       bool direct, const char *key)
{
        int flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
        _cleanup_free_ char *blocker = NULL, *fix = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = open(path, flags | (direct ? O_DIRECT : 0));
        if (fd < 0 && errno == EINVAL && direct && (fd = open(path, flags)) >= 0) {
                add(pf, "file", VX_CHECK_FAIL, path, key, "cache: writeback, or move it to a filesystem with O_DIRECT",
                    "%s: %s is on a filesystem without O_DIRECT, which its cache mode (none/directsync) needs", vm,
                    path);
                return;
        }
        if (fd < 0) {
                r = -errno;
                add(pf, "file", VX_CHECK_FAIL, path, key,
                    r == -EROFS    ? "readonly: true, or a writable filesystem"
                    : r == -ENOENT ? "fix the path, or create the image (qemu-img create -f qcow2 PATH SIZE)"
                                   : NULL,
                    "%s: %s cannot be opened %s: %s", vm, path, writable ? "read-write" : "read-only", strerror(-r));
                return;
        }
        if (!qu->name) {
                add(pf, "file", VX_CHECK_OK, path, key, NULL, "%s: %s opens %s%s", vm, path,
                    writable ? "read-write" : "read-only", direct ? " with O_DIRECT" : "");
                return;
        }
        r = host_access_as(path, &qu->user, R_OK | (writable ? W_OK : 0), &blocker);
        if (r == 0)
                add(pf, "file", VX_CHECK_OK, path, key, NULL, "%s: %s opens %s%s as %s", vm, path,
                    writable ? "read-write" : "read-only", direct ? " with O_DIRECT" : "", qu->name);
        else if (r == -EPERM) {
                if (asprintf(&fix, "chmod o+x %s (or run QEMU as root: VMXRUN_QEMU_USER=root)", blocker) < 0)
                        fix = NULL;
                add(pf, "file", VX_CHECK_FAIL, path, key, fix,
                    "%s: QEMU runs as %s, and %s does not let it through to %s", vm, qu->name, blocker, path);
        } else if (r == -EACCES) {
                if (asprintf(&fix, "chgrp %s %s; chmod g+%s %s", qu->name, path, writable ? "rw" : "r", path) < 0)
                        fix = NULL;
                add(pf, "file", VX_CHECK_WARN, path, key, fix,
                    "%s: %s may not open %s; start gives it to %s until stop", vm, qu->name, path, qu->name);
        } else
                add(pf, "file", VX_CHECK_FAIL, path, key, NULL, "%s: %s: %s", vm, path, strerror(-r));
}

/* QEMU opens /dev/kvm itself, as its user: through group kvm, which it keeps (apply-access.c). */
static void check_kvm_access(struct pf *pf, const struct qemu_user *qu)
{
        _cleanup_free_ char *path = NULL, *blocker = NULL;
        struct vx_user u = qu->user;
        gid_t kvm;
        int r;

        if (!needs_kvm(pf) || !pf->facts->kvm_usable)
                return;
        if (asprintf(&path, "%s/dev/kvm", pf->root) < 0) {
                pf->r = -ENOMEM;
                return;
        }
        if (host_group_lookup(NULL, "kvm", &kvm) >= 0) {
                u.groups[0] = kvm;
                u.n_groups = 1;
        }
        r = host_access_as(path, &u, R_OK | W_OK, &blocker);
        add(pf, "kvm-access", r == 0 ? VX_CHECK_OK : VX_CHECK_FAIL, path, NULL,
            r == 0 ? NULL
                   : "give /dev/kvm to group kvm (udev: KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\"), or "
                     "VMXRUN_QEMU_USER=root",
            r == 0 ? "%s may open %s" : "%s may not open %s", qu->name, path);
}

static void check_files(struct pf *pf)
{
        struct qemu_user qu = {.name = pf->plan->qemu_user};
        int r;

        if (qu.name) {
                r = host_user_lookup(NULL, qu.name, &qu.user);
                qu.exists = r >= 0;
                if (!qu.exists) /* start creates it: a user of its own, with no file of its own */
                        qu.user = (struct vx_user){.uid = (uid_t)-2, .gid = (gid_t)-2};
                add(pf, "qemu-user", qu.exists ? VX_CHECK_OK : VX_CHECK_WARN, qu.name, NULL,
                    qu.exists ? NULL
                              : "useradd --system --user-group --no-create-home --shell /usr/sbin/nologin vmxrun-qemu",
                    qu.exists ? "QEMU runs as %s" : "QEMU runs as %s, which does not exist yet (start creates it)",
                    qu.name);
                check_kvm_access(pf, &qu);
        }
        for (size_t i = 0; i < pf->plan->n_vms; i++) {
                const struct vx_vm_plan *vp = &pf->plan->vms[i];
                const struct vx_vm *vm = vp->vm;
                char key[96];

                for (size_t d = 0; d < vm->n_disks; d++) {
                        const struct vx_disk *disk = &vm->disks[d];
                        snprintf(key, sizeof(key), "vms[%zu].disks[%zu].file", vp->vm_index, d);
                        check_file(pf, &qu, vp->name, disk->file, !disk->readonly,
                                   disk->cache == VX_DISK_CACHE_NONE || disk->cache == VX_DISK_CACHE_DIRECTSYNC, key);
                }
                if (vm->boot.kernel) {
                        snprintf(key, sizeof(key), "vms[%zu].boot.kernel", vp->vm_index);
                        check_file(pf, &qu, vp->name, vm->boot.kernel, false, false, key);
                }
                if (vm->boot.initrd) {
                        snprintf(key, sizeof(key), "vms[%zu].boot.initrd", vp->vm_index);
                        check_file(pf, &qu, vp->name, vm->boot.initrd, false, false, key);
                }
        }
}

/* ---- NUMA ---- */

/* numa-checks.h's verdicts are the pre-flight's, in the same order. */
static int numa_report(void *userdata, const char *id, enum vx_numa_verdict verdict, const char *subject,
                       const char *key, const char *fix, const char *message)
{
        struct pf *pf = userdata;

        add(pf, id, (enum vx_check_status)verdict, subject, key, fix, "%s", message);
        return pf->r;
}

/*
 * A VM's vCPUs, memory and passthrough NICs on one node (numa-locality), its
 * automatic placement or a collision of its pins with a running deployment
 * (cpu-placement), and each node's free memory for what is bound to it
 * (numa-memory): launcher/numa-checks.c, on the host's topology.
 */
static void check_numa_locality(struct pf *pf)
{
        if (pf->r >= 0)
                pf->r = numa_check_locality(pf->plan, pf->facts, numa_report, pf);
        if (pf->r >= 0)
                pf->r = numa_check_placement(pf->plan, numa_report, pf);
        if (pf->r >= 0)
                pf->r = numa_check_memory(pf->plan, pf->facts, numa_report, pf);
}

/* ---- running deployments ---- */

static bool vcpus_overlap(const struct vx_vm *a, const struct vx_vm *b, unsigned *ret_cpu)
{
        for (size_t i = 0; i < a->pinning.n_vcpus; i++)
                for (size_t j = 0; j < b->pinning.n_vcpus; j++)
                        for (unsigned c = 0; c < VX_CPUSET_MAX; c++)
                                if (vx_cpuset_isset(&a->pinning.vcpus[i], c) &&
                                    vx_cpuset_isset(&b->pinning.vcpus[j], c)) {
                                        *ret_cpu = c;
                                        return true;
                                }
        return false;
}

static bool listens_same(const struct vx_vm *a, const struct vx_vm *b)
{
        return (a->serial.type == VX_SERIAL_TELNET || a->serial.type == VX_SERIAL_TCP) &&
               (b->serial.type == VX_SERIAL_TELNET || b->serial.type == VX_SERIAL_TCP) &&
               a->serial.port == b->serial.port;
}

/* What this profile would take that other's running deployment holds: taps, ports, displays, CPUs, bridges. */
static void compare_running(struct pf *pf, const struct vx_profile *other)
{
        const struct vx_profile *p = pf->profile;
        unsigned cpu;

        for (size_t i = 0; i < p->n_bridges; i++)
                for (size_t k = 0; k < other->n_bridges; k++)
                        if (strcmp(p->bridges[i].name, other->bridges[k].name) == 0) {
                                char key[64];
                                snprintf(key, sizeof(key), "bridges[%zu].name", i);
                                add(pf, "conflict", VX_CHECK_OK, p->bridges[i].name, key, NULL,
                                    "bridge %s is shared with the running deployment %s", p->bridges[i].name,
                                    other->name);
                        }
        for (size_t v = 0; v < p->n_vms; v++) {
                const struct vx_vm *vm = &p->vms[v];

                for (size_t w = 0; w < other->n_vms; w++) {
                        const struct vx_vm *ov = &other->vms[w];
                        char key[96], subject[32];

                        for (size_t n = 0; n < vm->n_nics; n++)
                                for (size_t m = 0; m < ov->n_nics; m++)
                                        if (vm->nics[n].tap && ov->nics[m].tap &&
                                            strcmp(vm->nics[n].tap, ov->nics[m].tap) == 0) {
                                                snprintf(key, sizeof(key), "vms[%zu].nics[%zu].tap", v, n);
                                                add(pf, "conflict", VX_CHECK_FAIL, vm->nics[n].tap, key,
                                                    "tap: a name of its own",
                                                    "%s: tap %s is %s's in the running deployment %s", vm->name,
                                                    vm->nics[n].tap, ov->name, other->name);
                                        }
                        if (listens_same(vm, ov)) {
                                snprintf(key, sizeof(key), "vms[%zu].serial.port", v);
                                snprintf(subject, sizeof(subject), "port %u", vm->serial.port);
                                add(pf, "conflict", VX_CHECK_FAIL, subject, key, "serial.port: a free port",
                                    "%s: serial port %u is %s's in the running deployment %s", vm->name,
                                    vm->serial.port, ov->name, other->name);
                        }
                        if (vm->vnc.enabled && ov->vnc.enabled && vm->vnc.display == ov->vnc.display) {
                                snprintf(key, sizeof(key), "vms[%zu].vnc.display", v);
                                snprintf(subject, sizeof(subject), "display %d", vm->vnc.display);
                                add(pf, "conflict", VX_CHECK_FAIL, subject, key, "vnc.display: a free display",
                                    "%s: VNC display %d is %s's in the running deployment %s", vm->name,
                                    vm->vnc.display, ov->name, other->name);
                        }
                        if (vcpus_overlap(vm, ov, &cpu)) {
                                snprintf(key, sizeof(key), "vms[%zu].pinning.vcpus", v);
                                snprintf(subject, sizeof(subject), "CPU %u", cpu);
                                add(pf, "conflict", VX_CHECK_WARN, subject, key, "pin to CPUs no running VM holds",
                                    "%s: CPU %u also runs a vCPU of %s in the running deployment %s", vm->name, cpu,
                                    ov->name, other->name);
                        }
                }
        }
}

static void check_running(struct pf *pf)
{
        const char *rt = pf->plan->runtime_root;
        size_t others = 0;
        struct dirent *de;
        DIR *d;

        if (launcher_is_running(pf->plan->deployment_dir))
                add(pf, "deployment", VX_CHECK_FAIL, pf->plan->deployment, "name", "vmxrun stop NAME",
                    "the deployment %s is already running", pf->plan->deployment);
        else
                add(pf, "deployment", VX_CHECK_OK, pf->plan->deployment, "name", NULL,
                    "no deployment called %s is running", pf->plan->deployment);
        d = opendir(rt);
        while (d && pf->r >= 0 && (de = readdir(d))) {
                _cleanup_free_ char *dir = NULL, *copy = NULL;
                _cleanup_(profile_freep) struct vx_profile *other = NULL;
                _cleanup_(state_freep) struct vx_saved_state *saved = NULL;
                struct vx_profile_sets sets = {0};
                struct vx_diags diags = {};

                if (de->d_name[0] == '.' || strcmp(de->d_name, pf->plan->deployment) == 0)
                        continue;
                if (asprintf(&dir, "%s/%s", rt, de->d_name) < 0 || asprintf(&copy, "%s/profile.yaml", dir) < 0) {
                        pf->r = -ENOMEM;
                        break;
                }
                if (!launcher_is_running(dir))
                        continue;
                others++;
                /* The profile as it was started (with its --set values): what it holds now. */
                if (state_load(dir, &saved) >= 0)
                        sets = (struct vx_profile_sets){.items = (const char *const *)saved->sets, .n = saved->n_sets};
                if (launcher_load_profile(copy, &sets, &diags, &other) >= 0)
                        compare_running(pf, other);
                else
                        add(pf, "conflict", VX_CHECK_WARN, de->d_name, NULL, NULL,
                            "the running deployment %s has no readable profile copy; not compared", de->d_name);
                diag_done(&diags);
        }
        if (d)
                closedir(d);
        add(pf, "running", VX_CHECK_OK, rt, NULL, NULL, "%zu other deployment%s running under %s", others,
            others == 1 ? "" : "s", rt);
}

int launcher_preflight(const struct vx_profile *profile, const struct vx_plan *plan, const char *root, unsigned flags,
                       struct vx_checks *ret)
{
        struct vx_host_facts *facts = NULL;
        int r;

        r = host_facts_gather(!root || strcmp(root, "/") == 0 ? "" : root, &facts);
        if (r < 0)
                return r;
        r = launcher_preflight_facts(profile, plan, root, flags, facts, ret);
        host_facts_free(facts);
        return r;
}

int launcher_preflight_facts(const struct vx_profile *profile, const struct vx_plan *plan, const char *root,
                             unsigned flags, const struct vx_host_facts *facts, struct vx_checks *ret)
{
        struct vx_checks out = {0};
        struct pf pf = {.profile = profile, .plan = plan, .out = &out, .flags = flags, .facts = facts};
        int r;

        pf.root = !root || strcmp(root, "/") == 0 ? "" : root;
        /* No readable cpuinfo leaves the flags unknown, which the checks say. */
        r = host_cpu_flags(pf.root, &pf.cpu_flags);
        if (r == -ENOMEM)
                return r;
        check_plan_complete(&pf);
        check_qemu(&pf);
        check_virtualization(&pf);
        check_cpu_features(&pf);
        check_cpus(&pf);
        check_vcpu_overlap(&pf);
        check_hugepages(&pf);
        check_hugetlbfs(&pf);
        check_numa_locality(&pf);
        check_memlock(&pf);
        check_passthrough(&pf);
        check_tap_devices(&pf);
        check_files(&pf);
        check_running(&pf);
        free(pf.cpu_flags);
        if (pf.r < 0) {
                checks_done(&out);
                return pf.r;
        }
        *ret = out;
        return 0;
}
