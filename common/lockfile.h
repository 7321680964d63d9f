/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Opens path (created 0600 when absent, never through a symlink) and takes
 * an exclusive flock() on it, waiting for the holder. Returns 0 and the fd
 * (CLOEXEC; the lock lives as long as it is open), or -errno.
 */
int vx_lock_file(const char *path, int *ret_fd);
