# SPDX-License-Identifier: LGPL-2.1-or-later
vx_unit_test(test_host SOURCES ${VX_TESTS_DIR}/test_host.c LIBS vx_host LABELS unit)
