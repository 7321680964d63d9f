# SPDX-License-Identifier: LGPL-2.1-or-later
vx_script_test(test_launch ${VX_TESTS_DIR}/test_launch.sh LABELS "qemu;root")
set_tests_properties(test_launch PROPERTIES TIMEOUT 600)
vx_script_test(test_launch_kvm ${VX_TESTS_DIR}/test_launch_kvm.sh LABELS "kvm;root")
set_tests_properties(test_launch_kvm PROPERTIES TIMEOUT 120)
vx_script_test(test_doctor ${VX_TESTS_DIR}/test_doctor.sh LABELS "qemu")
vx_unit_test(test_launcher SOURCES ${VX_TESTS_DIR}/test_launcher.c LIBS vx_launcher pthread LABELS unit)
