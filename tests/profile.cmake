# SPDX-License-Identifier: LGPL-2.1-or-later
vx_unit_test(test_profile SOURCES ${VX_TESTS_DIR}/test_profile.c LIBS vx_profile vx_common LABELS unit)
# The same fixtures through the binary: exit status, stderr and --json.
vx_script_test(test_profile_validate ${VX_TESTS_DIR}/profiles/run-validate.sh LABELS unit)
