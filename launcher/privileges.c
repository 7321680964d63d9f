/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "privileges.h"

#include <cap-ng.h>
#include <errno.h>
#include <stdbool.h>
#include <linux/capability.h>
#include <unistd.h>

static bool plan_mounts_hugetlbfs(const struct vx_plan *plan)
{
        for (size_t i = 0; i < plan->n_actions; i++)
                if (plan->actions[i].kind == VX_ACTION_HUGETLBFS_MOUNT)
                        return true;
        return false;
}

int privileges_drop_for_supervisor(const struct vx_plan *plan)
{
        static const unsigned keep[] = {CAP_NET_ADMIN, CAP_SYS_NICE, CAP_SYS_RESOURCE, CAP_KILL};
        /* What a restart needs for QEMU as its own user: see privileges.h. */
        static const unsigned keep_for_user[] = {CAP_CHOWN};

        bool have[CAP_LAST_CAP + 1] = {false};
        const unsigned all = CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET;

        if (geteuid() != 0)
                return 0; /* nothing to drop: an unprivileged supervisor has no capabilities */
        /* Keep only what we hold: asking for a capability we lack (a container's root) makes capset fail. */
        if (capng_get_caps_process() < 0)
                return -EPERM;
        for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
                have[keep[i]] = capng_have_capability(CAPNG_PERMITTED, keep[i]);
        for (size_t i = 0; plan->qemu_user && i < sizeof(keep_for_user) / sizeof(keep_for_user[0]); i++)
                have[keep_for_user[i]] = capng_have_capability(CAPNG_PERMITTED, keep_for_user[i]);
        have[CAP_SYS_ADMIN] = plan_mounts_hugetlbfs(plan) && capng_have_capability(CAPNG_PERMITTED, CAP_SYS_ADMIN);

        capng_clear(CAPNG_SELECT_BOTH);
        for (unsigned cap = 0; cap <= CAP_LAST_CAP; cap++)
                if (have[cap] && capng_update(CAPNG_ADD, all, cap) < 0)
                        return -EINVAL;
        if (capng_apply(CAPNG_SELECT_BOTH) < 0)
                return -EPERM;
        return 0;
}

int privileges_drop_after_spawner(void)
{
        if (geteuid() != 0)
                return 0;
        if (capng_get_caps_process() < 0)
                return -EPERM;
        if (capng_updatev(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_SETUID, CAP_SETGID, -1) < 0)
                return -EINVAL;
        /* Only the effective and permitted sets: the bounding set stays for privileges_drop_for_supervisor(). */
        if (capng_apply(CAPNG_SELECT_CAPS) < 0)
                return -EPERM;
        return 0;
}
