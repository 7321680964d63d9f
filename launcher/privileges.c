/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "privileges.h"

#include <cap-ng.h>
#include <errno.h>
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

        if (geteuid() != 0)
                return 0; /* nothing to drop: an unprivileged supervisor has no capabilities */
        capng_clear(CAPNG_SELECT_BOTH);
        for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
                if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET, keep[i]) < 0)
                        return -EINVAL;
        if (plan_mounts_hugetlbfs(plan) &&
            capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET, CAP_SYS_ADMIN) < 0)
                return -EINVAL;
        if (capng_apply(CAPNG_SELECT_BOTH) < 0)
                return -EPERM;
        return 0;
}
