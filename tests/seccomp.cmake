# SPDX-License-Identifier: LGPL-2.1-or-later
# The supervisor's seccomp filter and the spawner that starts QEMU outside it (issue 11).
vx_unit_test(test_spawner SOURCES ${VX_TESTS_DIR}/test_spawner.c LIBS vx_launcher LABELS unit)
vx_script_test(test_seccomp ${VX_TESTS_DIR}/test_seccomp.sh LABELS "qemu;root")
set_tests_properties(test_seccomp PROPERTIES TIMEOUT 300)
