# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The pre-flight (host/preflight.c, launcher/preflight.c): unit tests on
# copies of tests/fixtures/host-sriov, and `start`/`doctor PROFILE`/`stop`
# end to end with a real QEMU (tests/test_preflight.sh).
vx_unit_test(test_preflight SOURCES ${VX_TESTS_DIR}/test_preflight.c LIBS vx_launcher LABELS unit)
vx_script_test(test_preflight_cli ${VX_TESTS_DIR}/test_preflight.sh LABELS "qemu;root")
set_tests_properties(test_preflight_cli PROPERTIES TIMEOUT 300)
