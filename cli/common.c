/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "facts.h"
#include "log.h"

int cli_load_profile(const char *path, struct vx_profile **ret)
{
        struct vx_diags diags = {};
        struct vx_profile *p = NULL;
        int r;

        r = profile_load(path, &diags, &p);
        diag_print(&diags, stderr);
        diag_done(&diags);
        if (r == -ENOMEM) {
                log_error_errno(r, "Failed to load %s: %m", path);
                return VX_EXIT_FAILURE;
        }
        if (r == -EINVAL)
                return VX_EXIT_INVALID;
        if (r < 0)
                return VX_EXIT_FAILURE; /* could not read it; the diagnostics said why */
        *ret = p;
        return VX_EXIT_OK;
}

int cli_host_facts(struct vx_host_facts **ret)
{
        const char *root = getenv("VMXRUN_ROOT");

        return host_facts_gather(root && root[0] ? root : "/", ret);
}

void cli_host_facts_free(struct vx_host_facts *facts)
{
        host_facts_free(facts);
}

int cli_parse_accel(const char *s, enum vx_accel *ret)
{
        if (!s)
                return -EINVAL;
        if (strcmp(s, "kvm") == 0)
                *ret = VX_ACCEL_KVM;
        else if (strcmp(s, "tcg") == 0)
                *ret = VX_ACCEL_TCG;
        else
                return -EINVAL;
        return 0;
}
