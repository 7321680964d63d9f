/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Host CPU sets in the kernel's list syntax ("0-3,8,10-11", as in
 * /proc/<pid>/status Cpus_allowed_list and libvirt's cpuset=). Pure: no
 * syscalls, so profiles can be checked on any machine.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VX_CPUSET_MAX 4096

struct vx_cpuset {
        uint64_t bits[VX_CPUSET_MAX / 64];
};

/*
 * Parses a CPU list. Returns 0, -EINVAL on bad syntax (empty list, reversed
 * range, junk) or -ERANGE for a CPU >= VX_CPUSET_MAX.
 */
int vx_cpuset_parse(const char *s, struct vx_cpuset *ret);

void vx_cpuset_set(struct vx_cpuset *set, unsigned cpu);
bool vx_cpuset_isset(const struct vx_cpuset *set, unsigned cpu);
unsigned vx_cpuset_count(const struct vx_cpuset *set);
bool vx_cpuset_equal(const struct vx_cpuset *a, const struct vx_cpuset *b);
/* Highest CPU in the set, or -1 for an empty set. */
int vx_cpuset_last(const struct vx_cpuset *set);

/* Formats as a canonical list ("0-3,8"). Returns a new string or NULL on ENOMEM. */
char *vx_cpuset_format(const struct vx_cpuset *set);

/* Formats as virsh vcpuinfo does: one 'y' or '-' per CPU below ncpus. */
char *vx_cpuset_format_mask(const struct vx_cpuset *set, unsigned ncpus);
