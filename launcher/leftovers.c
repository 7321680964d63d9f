/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Leftovers: a supervisor that died with every one of its VMs (a host-wide
 * kill, an OOM kill of the lot) leaves nothing to adopt, but what it set up
 * on the host stays: VFs on vfio-pci with their settings and PF flags,
 * sriov_numvfs raised, taps, bridges and the uplink's moved address,
 * hugepages, files given to QEMU's user. Only its undo journal knows all of
 * it. The next command that finds the deployment so undoes the journal, as
 * the supervisor's own stop would have, and clears the runtime directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "apply.h"
#include "cleanup.h"
#include "cpu-ledger.h"
#include "launcher.h"
#include "leftovers.h"
#include "log.h"
#include "runtime.h"
#include "state.h"

/* Plans the profile copy as the dead supervisor did, and undoes its journal. Returns 0 or -errno (logged). */
static int undo_journal(const char *deployment_dir, const struct vx_saved_state *saved)
{
        _cleanup_free_ char *copy = NULL;
        _cleanup_(profile_freep) struct vx_profile *profile = NULL;
        _cleanup_(plan_freep) struct vx_plan *plan = NULL;
        _cleanup_(apply_freep) struct vx_apply *a = NULL;
        struct vx_plan_options popts = state_plan_options(saved);
        struct vx_diags diags = {};
        int r;

        if (asprintf(&copy, "%s/profile.yaml", deployment_dir) < 0)
                return log_error_errno(-ENOMEM, "Out of memory.");
        r = launcher_plan_profile(copy, getenv("VMXRUN_ROOT"), &popts, &diags, &profile, &plan);
        diag_done(&diags);
        if (r < 0)
                return log_error_errno(r,
                                       "%s: its supervisor and VMs are gone, but the profile they ran from (%s) "
                                       "cannot be planned, so the host changes in its journal stay: %m",
                                       deployment_dir, copy);
        log_info("%s: its supervisor and every VM are gone; undoing the host changes its journal records.",
                 plan->deployment);
        r = apply_open(plan, &a);
        if (r < 0)
                return r;
        r = apply_teardown(a);
        (void)cpu_ledger_release(plan->runtime_root, plan->deployment);
        for (size_t i = 0; i < plan->n_vms; i++)
                runtime_remove_vm_dir(plan->vms[i].runtime_dir);
        return r;
}

int leftovers_undo_saved(const char *deployment_dir, const struct vx_saved_state *saved)
{
        _cleanup_free_ char *journal = NULL;
        _cleanup_close_ int lock = -EBADF;
        int r;

        if (asprintf(&journal, "%s/journal.json", deployment_dir) < 0)
                return log_error_errno(-ENOMEM, "Out of memory.");
        if (access(journal, F_OK) < 0)
                return 0;
        /* Held: a start or an adopting supervisor is at it, and that one owns the journal now. */
        if (runtime_lock(deployment_dir, &lock) < 0)
                return 0;
        r = undo_journal(deployment_dir, saved);
        if (r < 0)
                return r;
        state_remove(deployment_dir);
        runtime_remove_deployment_dir(deployment_dir);
        return 1;
}

int launcher_undo_leftovers(const char *deployment_dir)
{
        _cleanup_(state_freep) struct vx_saved_state *saved = NULL;

        /* The common case first, and cheaply: a supervisor holds the lock (no state file read then). */
        if (runtime_is_locked(deployment_dir) || state_load(deployment_dir, &saved) < 0 || state_vms_alive(saved))
                return 0;
        return leftovers_undo_saved(deployment_dir, saved);
}
