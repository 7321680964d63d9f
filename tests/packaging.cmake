# SPDX-License-Identifier: LGPL-2.1-or-later
# Fitting a Debian host: the sd_notify protocol, install rules, man pages,
# completion, the .deb, metrics, enable/disable and the fleet playbook.
vx_unit_test(test_sd_notify SOURCES ${VX_TESTS_DIR}/test_sd_notify.c LIBS vx_common LABELS unit)
vx_script_test(test_packaging ${VX_TESTS_DIR}/test_packaging.sh LABELS "unit;packaging")
vx_unit_test(test_log SOURCES ${VX_TESTS_DIR}/test_log.c LIBS vx_common LABELS unit)
# Builds the .deb and installs it in a cached clean chroot: about 12 s warm,
# 42 s cold (debootstrap from deb.debian.org) on an idle 2-CPU machine.
vx_script_test(test_deb ${VX_TESTS_DIR}/test_deb.sh LABELS "root;packaging")
set_tests_properties(test_deb PROPERTIES TIMEOUT 1200)
vx_script_test(test_metrics ${VX_TESTS_DIR}/test_metrics.sh ARGS pure LABELS unit)
vx_script_test(test_metrics_live ${VX_TESTS_DIR}/test_metrics.sh ARGS live LABELS "qemu;root")
vx_script_test(test_fleet ${VX_TESTS_DIR}/test_fleet.sh LABELS "unit;packaging")
vx_script_test(test_cli_help ${VX_TESTS_DIR}/test_cli_help.sh LABELS unit)
vx_unit_test(test_service SOURCES ${VX_TESTS_DIR}/test_service.c LIBS vx_launcher LABELS unit)
vx_script_test(test_notify ${VX_TESTS_DIR}/test_notify.sh LABELS "qemu;root")
# systemd as PID 1 in the lab VM runs vmxrun@demo.service (the lab of tests/test_vhost_lab.sh):
# about 4.5 min on a loaded 2-CPU machine (a nested TCG guest), most of it the guest.
vx_script_test(test_systemd_lab ${VX_TESTS_DIR}/test_systemd_lab.sh LABELS "qemu;root;lab")
set_tests_properties(test_systemd_lab PROPERTIES TIMEOUT 1500)
