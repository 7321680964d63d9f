# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Host networking. Every test that creates links runs in a network namespace
# of its own (the C tests unshare(CLONE_NEWNET) first; the scripts use
# `ip netns`), so they never touch the host's links; they need root.
vx_unit_test(test_netsetup SOURCES ${VX_TESTS_DIR}/test_netsetup.c LIBS vx_netsetup vx_common PkgConfig::JANSSON
             LABELS "netns;root")

# The journal, the apply layer and the shared-bridge registry, with failures
# injected into netsetup through -Wl,--wrap.
vx_unit_test(test_apply SOURCES ${VX_TESTS_DIR}/test_apply.c LIBS vx_launcher vx_profile vx_netsetup vx_common
             PkgConfig::JANSSON LABELS "netns;root" WRAP netsetup_tap_create netsetup_link_set_master)
target_include_directories(test_apply PRIVATE ${VX_SOURCE_ROOT}/launcher ${VX_SOURCE_ROOT}/host
                                              ${VX_SOURCE_ROOT}/profiles/lib)

# End to end: two guests on one bridge ping each other, in a fresh namespace.
vx_script_test(test_net_lab ${VX_TESTS_DIR}/test_net_lab.sh LABELS "netns;root;qemu")
set_tests_properties(test_net_lab PROPERTIES TIMEOUT 600)
