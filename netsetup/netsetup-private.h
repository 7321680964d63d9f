/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between netsetup's own sources (netsetup.c, sriov.c); not for other modules. */

#include <netlink/netlink.h>

struct vx_netsetup {
        struct nl_sock *sk;
};

/* libnl's NLE_* as a negative errno. */
int nl_errno(int nlerr);
