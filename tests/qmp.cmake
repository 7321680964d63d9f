# SPDX-License-Identifier: LGPL-2.1-or-later
# QMP client: framing and protocol against a scripted fake server (unit), and
# the launcher's sequence against a real QEMU (qemu).
vx_unit_test(test_qmp SOURCES ${VX_TESTS_DIR}/test_qmp.c LIBS vx_qmp LABELS unit)
vx_unit_test(test_qmp_qemu SOURCES ${VX_TESTS_DIR}/test_qmp_qemu.c LIBS vx_qmp LABELS qemu)
