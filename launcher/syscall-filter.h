/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The supervisor's seccomp filter (libseccomp): once its VMs run, the
 * supervisor may make only the system calls its event loop, restarts, QMP,
 * status, pinning, stop and teardown need (the list in syscall-filter.c,
 * derived with strace -f of the whole lifecycle). Any other call traps
 * (SIGSYS): the supervisor writes which call it was and what it means to its
 * log (or the journal) and exits with VX_SYSCALL_FILTER_EXIT; the kernel logs
 * it too (SECCOMP_FILTER_FLAG_LOG: the audit log or dmesg, "type=1326 ...
 * syscall=N"). A system call of another architecture (i386, x32) kills it.
 * Not inherited by QEMU: the first QEMUs are started before the filter, and
 * every later one by the spawner (spawner.h), forked before the filter.
 *
 * Why the supervisor ends and not the call alone (EPERM): a supervisor that
 * made a call it never makes is either compromised or on a path nobody
 * checked, and going on from there could undo the host wrongly. Ending it
 * costs the VMs nothing: they run on (reparented), and the next
 * command (status, stop, start) adopts them from the state file and the undo
 * journal, which every step writes before it acts, as after any crash.
 */

/* The supervisor's exit status after a trapped call: 128 + SIGSYS, as if the signal had killed it. */
#define VX_SYSCALL_FILTER_EXIT 159

#include "plan.h"

/*
 * Installs the filter in this process (and its future children: the
 * supervisor makes none once it runs). umount2 is allowed only when the plan
 * mounts a hugetlbfs that the stop unmounts. Sets no_new_privs. Returns 0 or
 * -errno.
 */
int syscall_filter_install(const struct vx_plan *plan);

/*
 * For the tests, with VMXRUN_TEST_SECCOMP_PROBE set: makes two system calls
 * the filter refuses (mount(2) of a path that does not exist, ptrace(2)
 * PEEKDATA of pid 1: harmless either way), in a daemon once start has been
 * answered, logging to the supervisor's log. Under the filter the first ends
 * the supervisor (on_sigsys); without it, it logs what each returned: "No
 * such file or directory" and "No such process". Does nothing otherwise.
 */
void syscall_filter_test_probe(void);
