/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The profile parser, validator and plan on arbitrary bytes: profile_load_string(),
 * then, for a profile that loads, plan_build() with made-up host facts (as
 * tests/test_plan.c does), once on a KVM host with VFs and hugetlbfs mounts and
 * once on a bare one with a forced accelerator and runtime directory, and the
 * plan as JSON (plan_to_json(), what cmdline --plan --json prints). The
 * input's first line is also tried as a --set PATH=VALUE on a fixed profile.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "diag.h"
#include "plan.h"
#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct vx_vf_fact vfs[] = {
        {"p2p1", 0, "0000:23:10.0"},
        {"p2p1", 1, "0000:23:10.2"},
        {"p2p2", 0, "0000:23:11.0"},
};
static const struct vx_hugetlbfs_fact mounts[] = {
        {2ULL << 20, "/dev/hugepages"},
        {1ULL << 30, "/dev/hugepages1G"},
};

/* --set (profiles/lib/sets.c) on a fixed profile: the input's first line as PATH=VALUE. */
static void fuzz_set(const uint8_t *data, size_t size, FILE *devnull)
{
        static const char base[] = "name: f\nvms:\n  - name: a\n    memory: {size: 64M}\n    nics:\n"
                                   "      - {type: tap, tap: t0, bridge: b0}\n  - name: b\n    memory: {size: 64M}\n";
        char line[512];
        const char *items[] = {line};
        struct vx_profile_sets sets = {.items = items, .n = 1};
        struct vx_diags d = {};
        struct vx_profile *p = NULL;
        size_t n = 0;

        while (n < size && n < sizeof(line) - 1 && data[n] != '\n' && data[n] != '\0') {
                line[n] = (char)data[n];
                n++;
        }
        line[n] = '\0';
        (void)profile_load_string_with("base.yaml", base, sizeof(base) - 1, &sets, &d, &p);
        if (devnull)
                diag_print(&d, devnull);
        diag_done(&d);
        profile_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const struct vx_host_facts facts[] = {
                {.kvm_usable = true,
                 .vhost_net = true,
                 .n_cpus = 16,
                 .vfs = vfs,
                 .n_vfs = 3,
                 .hugetlbfs = mounts,
                 .n_hugetlbfs = 2},
                {.kvm_usable = false},
        };
        const struct vx_plan_options opts[] = {
                {0},
                {.runtime_dir = "/tmp/vx-fuzz", .force_accel = true, .accel = VX_ACCEL_TCG},
        };
        static FILE *devnull;
        struct vx_diags d = {};
        struct vx_profile *p = NULL;
        unsigned line, column;

        if (!devnull)
                devnull = fopen("/dev/null", "we");
        if (profile_load_string("fuzz.yaml", (const char *)data, size, &d, &p) == 0) {
                for (size_t i = 0; i < 2; i++) {
                        struct vx_plan *plan = NULL;

                        if (plan_build(p, &facts[i], &opts[i], &plan) == 0) {
                                /* What cmdline --plan --json prints: all of the plan, argv and origins included. */
                                json_t *j = plan_to_json(plan, NULL);

                                if (j) {
                                        free(json_dumps(j, JSON_COMPACT));
                                        json_decref(j);
                                }
                                plan_free(plan);
                        }
                }
                profile_position(p, "vms[0].nics[0].mac", &line, &column);
        }
        if (devnull)
                diag_print(&d, devnull);
        diag_done(&d);
        profile_free(p);
        fuzz_set(data, size, devnull);
        return 0;
}
