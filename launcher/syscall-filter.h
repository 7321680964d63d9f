/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The supervisor's seccomp filter (libseccomp): once its VMs run, the
 * supervisor may make only the system calls its event loop, restarts, QMP,
 * status, pinning, stop and teardown need (the list in syscall-filter.c,
 * derived with strace -f of the whole lifecycle). Any other call fails with
 * EPERM and the kernel logs it (SECCOMP_FILTER_FLAG_LOG: the audit log or
 * dmesg, "type=1326 ... syscall=N"); a system call of another architecture
 * (i386, x32) ends the supervisor. Not inherited by QEMU: every QEMU is
 * started by the spawner (spawner.h), forked before the filter.
 *
 * Why EPERM and not killing the supervisor: the supervisor is what restarts
 * and stops the VMs and undoes the host changes. Killed for a call the list
 * missed (a rare teardown path, another glibc that uses a different call),
 * it would leave VMs unsupervised and bridges, taps or hugepages behind; with
 * EPERM that one step fails, is logged as any failure is, and the rest goes
 * on. The call is refused either way, which is what the filter is for.
 */

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
 * PEEKDATA of pid 1: harmless either way) and logs what each returned:
 * "Operation not permitted" under the filter, "No such file or directory"
 * and "No such process" without it. Does nothing otherwise.
 */
void syscall_filter_test_probe(void);
