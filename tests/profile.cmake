# SPDX-License-Identifier: LGPL-2.1-or-later
vx_unit_test(test_profile SOURCES ${VX_TESTS_DIR}/test_profile.c LIBS vx_profile vx_common LABELS unit)
# The same fixtures through the binary: exit status, stderr and --json.
vx_script_test(test_profile_validate ${VX_TESTS_DIR}/profiles/run-validate.sh LABELS unit)
vx_unit_test(test_profile_sets SOURCES ${VX_TESTS_DIR}/test_profile_sets.c LIBS vx_profile vx_common LABELS unit)
# --set through start, the state file, adoption and restart, under real QEMU.
vx_script_test(test_sets_e2e ${VX_TESTS_DIR}/test_sets_e2e.sh LABELS "qemu;root")
set_tests_properties(test_sets_e2e PROPERTIES TIMEOUT 300)
