# SPDX-License-Identifier: LGPL-2.1-or-later
# The paired lifecycle (docs/router.md): two tiny guests as VCP and VFP, in their own network namespace.
vx_script_test(test_router ${VX_TESTS_DIR}/test_router.sh LABELS "qemu;root;netns")
set_tests_properties(test_router PROPERTIES TIMEOUT 900)
vx_unit_test(test_router_unit SOURCES ${VX_TESTS_DIR}/test_router_unit.c LIBS vx_launcher pthread LABELS unit)
