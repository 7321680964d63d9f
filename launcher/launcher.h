/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The launcher's public interface: everything cli/ calls. The other headers
 * of launcher/ are the library's own (plan.h is public too: cmdline and
 * explain print plans).
 *
 * Error contract: every function returns 0 (or a documented positive value)
 * or a negative errno, and logs what went wrong once, here; profile problems
 * come back as diagnostics for the caller to print. The meaning of the
 * errnos that commands turn into exit statuses:
 *   -EINVAL  the input (profile, vmx.conf) has errors (diagnostics say which)
 *   -ESRCH   the deployment is not running
 *   -EBUSY   the deployment is already running; nothing was changed
 *   -ETIME   the VMs run, but not every one became ready in time
 */

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "diag.h"
#include "plan.h"
#include "profile.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct vx_profile *, profile_free)

/*
 * Loads a profile, or a vmx.conf (found by its content: HOST, CONTROL_PLANE
 * or FORWARDING_PLANE at the top level), which is imported in memory first.
 * Every problem goes to diags (the import's warnings too). Returns 0 and
 * *ret, -EINVAL when diags holds errors, -ENOMEM, or -errno when the file
 * could not be read (diags says why). sets (may be NULL): --set values,
 * applied to the profile (or to the profile the import gives).
 */
int launcher_load_profile(const char *path, const struct vx_profile_sets *sets, struct vx_diags *diags,
                          struct vx_profile **ret);

/*
 * Loads path and plans it for this host: host facts read under root (NULL,
 * "" or "/": the real host) and opts (may be NULL). Returns 0 with *ret_profile
 * and *ret_plan (the plan points into the profile), or the errors of
 * launcher_load_profile(), or -errno (logged) when the facts or the plan
 * could not be had. opts->sets are applied to the profile.
 */
int launcher_plan_profile(const char *path, const char *root, const struct vx_plan_options *opts,
                          struct vx_diags *diags, struct vx_profile **ret_profile, struct vx_plan **ret_plan);

struct vx_host_facts;
/*
 * launcher_plan_profile(), also handing back the host facts it planned with
 * (*ret_facts, host_facts_free()) when ret_facts is not NULL: a start's
 * pre-flight (launcher_preflight_facts()) checks those instead of reading
 * every sysfs and /proc file again.
 */
int launcher_plan_profile_facts(const char *path, const char *root, const struct vx_plan_options *opts,
                                struct vx_diags *diags, struct vx_profile **ret_profile, struct vx_plan **ret_plan,
                                struct vx_host_facts **ret_facts);

/* A whole file as a string (NUL-terminated), or NULL with errno set. */
char *launcher_read_text(const char *path);

struct vx_launch_options {
        const char *profile_path; /* as given; recorded (absolute) in the state file */
        const char *profile_text; /* the profile as started, kept for adoption; may be NULL */
        struct vx_plan_options plan_options;
        bool foreground; /* supervise in this process; else a daemon reports back once the start is over */
        bool wait_ready; /* the start is over once every VM is ready */
        bool quiet;      /* print nothing on success (adoption) */
};

/*
 * Starts the deployment's supervisor and, through it, every VM. Takes
 * ownership of profile and plan. In the foreground it returns when the
 * supervisor ends (every VM stopped); otherwise once the daemon reports the
 * start. Returns 0, -EBUSY, -ETIME (started, not ready in time), or -errno
 * (logged; nothing is left behind).
 */
int launcher_start(struct vx_profile *profile, struct vx_plan *plan, const struct vx_launch_options *opts);

/* True when a live supervisor runs the deployment (it holds the deployment's lock). */
bool launcher_is_running(const char *deployment_dir);

/*
 * Makes sure a supervisor serves the deployment: when the last one died and
 * left VMs running, a new one adopts them (from the state file and the
 * profile copy in the runtime dir); when none are left, the leftovers are
 * cleared. Returns 0 (served), -ESRCH (not running), or -errno (logged).
 */
int launcher_ensure_supervisor(const char *deployment_dir);

/* A QEMU of the deployment that no state file names (its supervisor died before its first state write). */
struct vx_orphan {
        pid_t pid;
        unsigned long long start_ticks;
        char vm[65];
};

/*
 * Finds the deployment's orphans in /proc: QEMUs whose -pidfile lies in the
 * deployment's runtime dir. Returns 0 and an array (free()), or -errno.
 */
int launcher_find_orphans(const char *deployment_dir, struct vx_orphan **ret, size_t *ret_n);

/* Kills them (nobody watches them) and clears the runtime dir. Returns how many, or -errno (logged). */
int launcher_stop_orphans(const char *deployment_dir);

/*
 * A deployment whose supervisor died with every VM: undoes what its journal
 * records (VFs, PFs, taps, bridges, hugepages, file owners, CPU claims), as
 * its stop would have, planning the profile copy with the start's options,
 * and clears the runtime dir. Returns 1 when it did, 0 when there is no such
 * leftover (a VM runs, no journal, or the deployment's lock is held), or
 * -errno (logged; the journal stays for the next try).
 */
int launcher_undo_leftovers(const char *deployment_dir);

/*
 * Sends a control request to the deployment's supervisor and waits up to
 * timeout_ms for its answer. Returns 0 with *ret (json_decref()) when the
 * answer says ok; -ESRCH when nothing runs; -EREMOTEIO when the supervisor
 * refused the request (its message is logged); or -errno (logged).
 */
int launcher_call(const char *deployment_dir, json_t *request, int timeout_ms, json_t **ret);

/*
 * launcher_call() for a request that reports as it goes (a stop with
 * "progress": true): each line the supervisor sends before its answer is
 * handed to progress.
 */
int launcher_call_progress(const char *deployment_dir, json_t *request, int timeout_ms,
                           void (*progress)(const char *line, void *userdata), void *userdata, json_t **ret);

struct vx_checks;

/*
 * The pre-flight of a planned deployment (launcher/preflight.c): what its
 * VMs need from the host under root (NULL or "/": the real one), jointly and
 * against the deployments running under plan->runtime_root: CPU flags and
 * features, CPUs online, hugepages per size and node, hugetlbfs, memlock,
 * IOMMU and vfio-pci, tun and vhost-net, QEMU, the files QEMU opens (as its
 * user, with O_DIRECT where the cache mode needs it), names, taps, ports and
 * CPUs of running deployments. Changes nothing and logs nothing. Returns 0
 * and *ret (checks_done()), or -ENOMEM.
 */
enum {
        VX_PREFLIGHT_QEMU_VERSION =
                1 << 0, /* run each QEMU for its version (doctor), not only check it is executable */
};
int launcher_preflight(const struct vx_profile *profile, const struct vx_plan *plan, const char *root, unsigned flags,
                       struct vx_checks *ret);
/* launcher_preflight() on host facts already gathered under root (launcher_plan_profile_facts()), not read again. */
int launcher_preflight_facts(const struct vx_profile *profile, const struct vx_plan *plan, const char *root,
                             unsigned flags, const struct vx_host_facts *facts, struct vx_checks *ret);
