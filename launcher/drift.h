/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * How a running QEMU's command line differs from the one the profile gives
 * now (after the profile was edited while its supervisor was gone): one
 * line per difference, option by option, e.g. "-smp 4,... -> 6,...",
 * "+ -device virtio-net-pci,..." (the profile adds it), "- -device ..." (the
 * running VM has it, the profile no longer). Pure.
 */

#include <stddef.h>

/*
 * Compares running (argv[0] is the binary) with planned. Returns 0 and a
 * NULL-terminated array of lines in *ret (none: an empty array; free each
 * and the array), or -ENOMEM.
 */
int drift_argv(char *const *running, size_t n_running, char *const *planned, size_t n_planned, char ***ret);

/*
 * The host side of an adopted VM: a tap the state file recorded (tap, with
 * ifindex; NULL or 0: nothing recorded) that is gone (now_ifindex 0, as the
 * kernel says now) or is another device of the same name (deleted and made
 * again behind vmxrun's back, while QEMU's fd holds the old one) adds a line
 * to *lines (a drift_argv() array, or NULL). Returns 0 or -ENOMEM. Pure.
 */
int drift_tap(const char *tap, int ifindex, int now_ifindex, char ***lines);

/* Frees a NULL-terminated string array; returns NULL. */
char **drift_free(char **lines);
