/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The router pieces that need no QEMU (docs/router.md): the pinning
 * `vmxrun pin` set survives a state file round trip (what adoption reads),
 * a state file of an older vmxrun (no pin_live) still loads, and a thread
 * created after the pinning gets the emulator set while the threads already
 * known are left alone. This process stands in for QEMU.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "affinity.h"
#include "cleanup.h"
#include "profile.h"
#include "state.h"
#include "vm.h"

static char *make_tmpdir(void)
{
        char tmpl[] = "/tmp/vx-test-router-XXXXXX";

        assert_non_null(mkdtemp(tmpl));
        return strdup(tmpl);
}

static void remove_tree(char *dir)
{
        char cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        free(dir);
}

static struct vx_cpuset cpus(const char *list)
{
        struct vx_cpuset s;

        assert_int_equal(vx_cpuset_parse(list, &s), 0);
        return s;
}

static void test_pin_live_in_state(void **state)
{
        _cleanup_free_ char *statefile = NULL;
        char *dir = make_tmpdir();
        struct vx_profile profile = {.name = "router"};
        /* A tap named lo: ifindex 1 in every network namespace, so the record is known here. */
        struct vx_nic nics[] = {{.type = VX_NIC_TAP, .tap = "lo"}, {.type = VX_NIC_VF, .pf = "p3p1", .vf = 0}};
        struct vx_vm vm = {.name = "vcp", .memory = {.size = 128 << 20}, .nics = nics, .n_nics = 2};
        char *argv[] = {"/usr/bin/qemu-system-x86_64", "-device", "vfio-pci,host=0000:03:10.0,id=hostdev0", NULL};
        struct vx_vm_plan vp = {
                .vm = &vm,
                .name = "vcp",
                .runtime_dir = dir,
                .argv = {.items = argv, .n = 3},
                .topology = {.vcpus = 2},
        };
        struct vx_plan plan = {
                .profile = &profile, .deployment = "router", .deployment_dir = dir, .vms = &vp, .n_vms = 1};
        struct vx_plan_options opts = {0};
        struct vx_plan_pinning *live = calloc(1, sizeof(*live));
        struct vx_vm_instance inst = {.plan = &vp, .pid = 4242, .start_ticks = 7, .pidfd = -EBADF, .pin_live = live};
        struct vx_vm_instance *insts[] = {&inst};
        _cleanup_(state_freep) struct vx_saved_state *saved = NULL;
        const struct vx_saved_vm *sv;
        FILE *f;

        assert_non_null(live);
        live->vcpus = calloc(2, sizeof(*live->vcpus));
        assert_non_null(live->vcpus);
        live->n_vcpus = 2;
        live->vcpus[0] = cpus("1");
        live->vcpus[1] = cpus("2-3,5");
        live->has_emulator = true;
        live->emulator = cpus("0");

        assert_int_equal(state_save(&plan, "/etc/vmxrun/router.yaml", &opts, insts, 1), 0);
        assert_int_equal(state_load(dir, &saved), 0);
        sv = state_find_vm(saved, "vcp");
        assert_non_null(sv);
        assert_int_equal(sv->pid, 4242);
        assert_non_null(sv->pin_live);
        assert_int_equal(sv->pin_live->n_vcpus, 2);
        assert_true(vx_cpuset_equal(&sv->pin_live->vcpus[0], &live->vcpus[0]));
        assert_true(vx_cpuset_equal(&sv->pin_live->vcpus[1], &live->vcpus[1]));
        assert_true(sv->pin_live->has_emulator);
        assert_true(vx_cpuset_equal(&sv->pin_live->emulator, &live->emulator));
        /* What adoption compares the host with: the tap's ifindex, the VF's address. */
        assert_int_equal(sv->n_nics, 2);
        assert_string_equal(sv->nics[0].tap, "lo");
        assert_int_equal(sv->nics[0].ifindex, 1);
        assert_null(sv->nics[1].tap);
        assert_string_equal(sv->nics[1].pci_address, "0000:03:10.0");
        saved = state_free(saved);

        /* A state file of an older vmxrun has no pin_live: it loads, and the plan's pinning applies. */
        assert_true(asprintf(&statefile, "%s/state.json", dir) > 0);
        f = fopen(statefile, "we");
        assert_non_null(f);
        fputs("{\"version\": 1, \"deployment\": \"router\", \"profile\": \"/p.yaml\", \"supervisor_pid\": 1,"
              " \"vms\": [{\"name\": \"vcp\", \"pid\": 99, \"start_ticks\": 3, \"restarts\": 2, \"ready\": true}]}",
              f);
        fclose(f);
        assert_int_equal(state_load(dir, &saved), 0);
        sv = state_find_vm(saved, "vcp");
        assert_non_null(sv);
        assert_int_equal(sv->restarts, 2);
        assert_null(sv->pin_live);
        assert_int_equal(sv->n_nics, 0);

        inst.pid = 0;
        vm_instance_done(&inst);
        remove_tree(dir);
}

static int park_pipe[2];

static void *parked_thread(void *arg)
{
        char c;

        __atomic_store_n((pid_t *)arg, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
        (void)!read(park_pipe[0], &c, 1);
        return NULL;
}

static pid_t start_parked(pthread_t *th)
{
        pid_t tid = 0;

        assert_int_equal(pthread_create(th, NULL, parked_thread, &tid), 0);
        while (__atomic_load_n(&tid, __ATOMIC_SEQ_CST) == 0)
                sched_yield();
        return tid;
}

static void test_new_thread_gets_emulator_set(void **state)
{
        struct vx_vm vm = {.name = "vcp"};
        struct vx_vm_plan vp = {.vm = &vm, .name = "vcp", .pinning = {.has_emulator = true}};
        struct vx_vm_instance inst = {.plan = &vp, .state = VX_VM_RUNNING, .pidfd = -EBADF};
        struct vx_cpuset all, one = cpus("0"), got, old;
        pthread_t th_old, th_new;
        pid_t tid_old, tid_new;

        assert_int_equal(affinity_get(0, &all), 0);
        if (!vx_cpuset_isset(&all, 0) || !vx_cpuset_isset(&all, 1)) {
                print_message("SKIP: CPUs 0 and 1 are not both in this process's CPU set\n");
                skip();
        }
        vp.pinning.emulator = cpus("0-1");
        inst.pid = getpid();
        assert_int_equal(pipe2(park_pipe, O_CLOEXEC), 0);

        /* A thread that exists at the pinning is known: a drift of it is status's business, not this. */
        tid_old = start_parked(&th_old);
        assert_int_equal(affinity_list_threads(NULL, inst.pid, &inst.known_tids, &inst.n_known_tids), 0);
        assert_int_equal(affinity_set(tid_old, &one), 0);

        /* A thread created later from a thread that runs on CPU 0 only inherits CPU 0. */
        assert_int_equal(affinity_get(0, &old), 0);
        assert_int_equal(affinity_set(0, &one), 0);
        tid_new = start_parked(&th_new);
        assert_int_equal(affinity_set(0, &old), 0);
        assert_int_equal(affinity_get(tid_new, &got), 0);
        assert_true(vx_cpuset_equal(&got, &one));

        /* Only the new thread moves; the known one keeps its (drifted) CPUs. */
        assert_int_equal(vm_pin_new_threads(&inst), 1);
        assert_int_equal(affinity_get(tid_new, &got), 0);
        assert_true(vx_cpuset_equal(&got, &vp.pinning.emulator));
        assert_int_equal(affinity_get(tid_old, &got), 0);
        assert_true(vx_cpuset_equal(&got, &one));
        /* Seen once, it is known: nothing more to do. */
        assert_int_equal(vm_pin_new_threads(&inst), 0);

        close(park_pipe[1]);
        pthread_join(th_old, NULL);
        pthread_join(th_new, NULL);
        close(park_pipe[0]);
        assert_int_equal(affinity_set(0, &old), 0);
        inst.pid = 0;
        vm_instance_done(&inst);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pin_live_in_state),
                cmocka_unit_test(test_new_thread_gets_emulator_set),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
