/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "state.h"

/*
 * launcher_undo_leftovers() for a caller that has read the state file
 * already and found no VM of it alive (launcher_ensure_supervisor()): the
 * same returns, without reading the file again.
 */
int leftovers_undo_saved(const char *deployment_dir, const struct vx_saved_state *saved);
