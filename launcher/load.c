/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * From a file to a plan: a profile, or a vmx.conf imported in memory, then
 * the host facts and the plan. Used by every command that plans and by
 * adoption, which plans again from the profile copy a start kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cpu-ledger.h"
#include "facts.h"
#include "launcher.h"
#include "log.h"
#include "vmxconf.h"

/* A vmx.conf where a profile is expected: import it in memory and load the profile it gives. */
static int load_vmxconf(const char *path, const char *text, size_t len, const struct vx_profile_sets *sets,
                        struct vx_diags *diags, struct vx_profile **ret)
{
        _cleanup_free_ char *profile_text = NULL, *name = NULL;
        struct vx_import_source src = {.name = path, .text = text, .len = len};
        struct vx_import_options opts = {.first_cpu = 0}; /* pinning: auto, as `vmxrun import` */
        int r;

        log_debug("%s is a vmx.conf: importing it (vmxrun import shows the profile).", path);
        r = vmxconf_import(&src, 1, NULL, &opts, diags, &profile_text);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return -EINVAL;
        /* Later messages point into the imported text, which `vmxrun import` prints. */
        if (asprintf(&name, "%s (imported)", path) < 0)
                return -ENOMEM;
        r = profile_load_string_with(name, profile_text, strlen(profile_text), sets, diags, ret);
        return r == -ENOMEM ? r : r < 0 ? -EINVAL : 0;
}

int launcher_load_profile(const char *path, const struct vx_profile_sets *sets, struct vx_diags *diags,
                          struct vx_profile **ret)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        /* An unreadable file falls through to profile_load, which says why. */
        if (vmxconf_read_file(path, &text, &len) >= 0 && vmxconf_detect(text, len))
                return load_vmxconf(path, text, len, sets, diags, ret);
        return profile_load_with(path, sets, diags, ret);
}

int launcher_plan_profile(const char *path, const char *root, const struct vx_plan_options *opts,
                          struct vx_diags *diags, struct vx_profile **ret_profile, struct vx_plan **ret_plan)
{
        return launcher_plan_profile_facts(path, root, opts, diags, ret_profile, ret_plan, NULL);
}

int launcher_plan_profile_facts(const char *path, const char *root, const struct vx_plan_options *opts,
                                struct vx_diags *diags, struct vx_profile **ret_profile, struct vx_plan **ret_plan,
                                struct vx_host_facts **ret_facts)
{
        _cleanup_(profile_freep) struct vx_profile *profile = NULL;
        struct vx_host_facts *facts = NULL;
        struct vx_plan *plan = NULL;
        int r;

        r = launcher_load_profile(path, opts ? &opts->sets : NULL, diags, &profile);
        if (r < 0)
                return r;
        if (!root || !*root)
                root = "/";
        r = host_facts_gather(root, &facts);
        if (r < 0)
                return log_error_errno(r, "Failed to read host facts under %s: %m", root);
        /* With the CPU ledger: pinning: auto places around running deployments, and a start claims its CPUs. */
        r = cpu_ledger_plan(profile, facts, opts, opts && opts->claim_cpus, &plan);
        if (r < 0 || !ret_facts)
                facts = host_facts_free(facts); /* the plan copies what it needs from the facts */
        if (r < 0)
                return log_error_errno(r, "Failed to build the plan of %s (with the CPU ledger): %m", path);
        *ret_profile = TAKE_PTR(profile);
        *ret_plan = plan;
        if (ret_facts)
                *ret_facts = facts;
        return 0;
}

char *launcher_read_text(const char *path)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                return NULL;
        if (getdelim(&text, &len, '\0', f) < 0) {
                int saved = errno;
                free(text);
                text = NULL;
                errno = saved;
        }
        fclose(f);
        return text;
}
