/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A deployment for the tests of launcher/apply.c (tests/test_apply.c,
 * tests/test_apply_vfio.c, tests/test_hugepages.c): a profile from YAML,
 * planned against host facts the test gives, its runtime dir made and its
 * apply layer open, as the supervisor has them before it applies anything.
 * Include after <cmocka.h> (and what it needs).
 */

#include <string.h>

#include "apply.h"
#include "plan.h"
#include "profile.h"
#include "runtime.h"

struct deployment {
        struct vx_profile *profile;
        struct vx_plan *plan;
        struct vx_apply *apply;
};

/*
 * Loads yaml (its diagnostics printed when it fails to load) and plans it
 * with facts and opts; the apply layer reads the host under host_root (NULL:
 * "/"). Fails the test on any error.
 */
static inline void deployment_load_facts(struct deployment *d, const char *yaml, const struct vx_host_facts *facts,
                                         const struct vx_plan_options *opts, const char *host_root)
{
        struct vx_diags diags = {0};
        int r;

        r = profile_load_string("test.yaml", yaml, strlen(yaml), &diags, &d->profile);
        if (r < 0)
                diag_print(&diags, stderr);
        diag_done(&diags);
        assert_int_equal(r, 0);
        assert_int_equal(plan_build(d->profile, facts, opts, &d->plan), 0);
        assert_int_equal(runtime_mkdir(d->plan->deployment_dir), 0);
        assert_int_equal(apply_open(d->plan, &d->apply), 0);
        apply_set_host_root(d->apply, host_root);
}

static inline void deployment_done(struct deployment *d)
{
        d->apply = apply_free(d->apply);
        d->plan = plan_free(d->plan);
        d->profile = profile_free(d->profile);
}
