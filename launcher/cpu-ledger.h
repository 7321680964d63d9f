/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The host-wide CPU ledger: which host CPUs the VMs of running deployments
 * hold, so that `pinning: auto` places around them and explicit pins that
 * collide are refused (docs/placement.md). Under the runtime root:
 *
 *   <runtime>/.shared/cpus/lock               flock()ed by every reader and writer
 *   <runtime>/.shared/cpus/<deployment>.json  {"pid": N, "vms": [{"name", "key", "node", "shared",
 *                                              "vcpus": ["6", ...], "reserved": "14", "emulator": "4"}]}
 *
 * A deployment's entry is alive while its journal (<runtime>/<deployment>/
 * journal.json) exists or the process that wrote it (pid: the start that
 * placed it, until its supervisor has a journal) runs; a dead entry is
 * removed by the next reader. Start writes it under the same lock hold as
 * the read it placed from (cpu_ledger_place), so two starts never choose the
 * same CPUs; apply journals its release, so stop and rollback remove it.
 */

#include <stdbool.h>
#include <sys/types.h>

#include "placement.h"
#include "plan.h"

/* Takes the ledger's lock (creating the directory). Returns 0 and the fd (close to unlock), or -errno. */
int cpu_ledger_lock(const char *runtime_root, int *ret_fd);

/*
 * Reads every live entry (lock held), removing dead ones. Returns 0 and
 * *ret (cpu_claims_done), or -errno; an entry that cannot be parsed is
 * skipped (and left: its deployment's stop removes it).
 */
int cpu_ledger_read(const char *runtime_root, struct vx_cpu_claims *ret);

/* The claims a plan makes: every VM with pinned vCPUs. Returns 0 and *ret, or -ENOMEM. */
int cpu_ledger_claims_of_plan(const struct vx_plan *plan, struct vx_cpu_claims *ret);

/* The same with live[i] (when live and live[i] are not NULL) in place of VM i's planned pinning (`vmxrun pin`). */
int cpu_ledger_claims_live(const struct vx_plan *plan, const struct vx_plan_pinning *const *live,
                           struct vx_cpu_claims *ret);

/*
 * Writes (lock held) the plan's claims as the deployment's entry, with pid
 * as its writer; a plan without pinned vCPUs removes the entry. Returns 0 or -errno.
 */
int cpu_ledger_write(const struct vx_plan *plan, pid_t pid);

/* cpu_ledger_write() with live pinnings, as cpu_ledger_claims_live() takes them. */
int cpu_ledger_write_live(const struct vx_plan *plan, const struct vx_plan_pinning *const *live, pid_t pid);

/*
 * Before `vmxrun pin` moves a vCPU of VM vm to cpus (lock held): 0 when no
 * other deployment holds any of them (or both share, with shared), -EBUSY
 * with a sentence in *ret_holder naming the CPU, the VM and deployment that
 * hold it and the key, or -errno.
 */
int cpu_ledger_check_pin(const struct vx_plan *plan, const char *vm, const struct vx_cpuset *cpus, bool shared,
                         char **ret_holder);

/* Removes the deployment's entry (takes the lock). Returns 0 (also when there was none) or -errno. */
int cpu_ledger_release(const char *runtime_root, const char *deployment);

/*
 * Under one hold of the lock: reads the ledger, builds the plan with it
 * (plan_build with opts->cpu_claims set to what it read) and, when claim is
 * set and the plan is complete, writes its entry. Returns what plan_build
 * does, or -errno from the ledger.
 */
int cpu_ledger_plan(const struct vx_profile *p, const struct vx_host_facts *facts, const struct vx_plan_options *opts,
                    bool claim, struct vx_plan **ret);
