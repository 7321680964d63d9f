# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The plan (launcher/plan.c): unit tests on models built in C, the same binary
# with --qemu against the real QEMU, and golden command lines of the example
# profiles (tests/golden.sh; VX_UPDATE_GOLDEN=1 rewrites them).
#
# plan.c is compiled into the test rather than linked from vx_launcher: the
# plan is pure and needs only vx_common, not the launcher's QMP and process code.
vx_unit_test(test_plan SOURCES ${VX_TESTS_DIR}/test_plan.c ${VX_SOURCE_ROOT}/launcher/plan.c
             ${VX_SOURCE_ROOT}/launcher/placement.c LIBS vx_host vx_common
             LABELS unit)
target_include_directories(test_plan PRIVATE ${VX_SOURCE_ROOT}/launcher ${VX_SOURCE_ROOT}/host
                                             ${VX_SOURCE_ROOT}/profiles/lib)

add_test(NAME test_plan_qemu COMMAND test_plan --qemu)
set_tests_properties(test_plan_qemu PROPERTIES LABELS qemu SKIP_RETURN_CODE 77)

vx_script_test(golden_cmdline ${VX_TESTS_DIR}/golden.sh LABELS unit)
vx_script_test(golden_qemu_names ${VX_TESTS_DIR}/golden.sh ARGS --qemu LABELS qemu)
