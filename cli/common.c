/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "facts.h"
#include "log.h"
#include "vmxconf.h"

/*
 * A vmx.conf where a profile is expected: import it in memory, print the
 * import's warnings, and load the profile it gives. Returns an exit status.
 */
static int load_vmxconf(const char *path, const char *text, size_t len, struct vx_profile **ret)
{
        _cleanup_free_ char *profile_text = NULL, *name = NULL;
        struct vx_import_source src = {.name = path, .text = text, .len = len};
        struct vx_import_options opts = {.first_cpu = 1};
        struct vx_diags diags = {};
        struct vx_profile *p = NULL;
        int r;

        log_debug("%s is a vmx.conf: importing it (vmxrun import shows the profile).", path);
        r = vmxconf_import(&src, 1, NULL, &opts, &diags, &profile_text);
        diag_print(&diags, stderr);
        diag_done(&diags);
        if (r == -ENOMEM) {
                log_error_errno(r, "Failed to import %s: %m", path);
                return VX_EXIT_FAILURE;
        }
        if (r < 0)
                return VX_EXIT_INVALID;
        /* Later messages point into the imported text, which `vmxrun import` prints. */
        if (asprintf(&name, "%s (imported)", path) < 0)
                return VX_EXIT_FAILURE;
        r = profile_load_string(name, profile_text, strlen(profile_text), &diags, &p);
        diag_print(&diags, stderr);
        diag_done(&diags);
        if (r == -ENOMEM) {
                log_error_errno(r, "Failed to load %s: %m", name);
                return VX_EXIT_FAILURE;
        }
        if (r < 0)
                return VX_EXIT_INVALID;
        *ret = p;
        return VX_EXIT_OK;
}

int cli_load_profile(const char *path, struct vx_profile **ret)
{
        _cleanup_free_ char *text = NULL;
        struct vx_diags diags = {};
        struct vx_profile *p = NULL;
        size_t len = 0;
        int r;

        /* An unreadable file falls through to profile_load, which says why. */
        if (vmxconf_read_file(path, &text, &len) >= 0 && vmxconf_detect(text, len))
                return load_vmxconf(path, text, len, ret);

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

int cli_plan_profile(const char *path, const char *accel, const char *root, struct vx_plan_options *opts,
                     struct vx_profile **ret_profile, struct vx_plan **ret_plan)
{
        _cleanup_(profile_freep) struct vx_profile *profile = NULL;
        struct vx_host_facts *facts = NULL;
        struct vx_plan *plan = NULL;
        int r;

        if (accel && *accel) {
                if (cli_parse_accel(accel, &opts->accel) < 0) {
                        log_error("unknown accelerator '%s': use kvm or tcg.", accel);
                        return VX_EXIT_USAGE;
                }
                opts->force_accel = true;
        }
        r = cli_load_profile(path, &profile);
        if (r != VX_EXIT_OK)
                return r;
        if (!root || !*root)
                root = "/";
        r = host_facts_gather(root, &facts);
        if (r < 0) {
                log_error_errno(r, "Failed to read host facts under %s: %m", root);
                return VX_EXIT_FAILURE;
        }
        r = plan_build(profile, facts, opts, &plan);
        host_facts_free(facts); /* the plan copies what it needs from the facts */
        if (r < 0) {
                log_error_errno(r, "Failed to build the plan of %s: %m", path);
                return VX_EXIT_FAILURE;
        }
        *ret_profile = TAKE_PTR(profile);
        *ret_plan = plan;
        return VX_EXIT_OK;
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

char *cli_read_text(const char *path)
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
