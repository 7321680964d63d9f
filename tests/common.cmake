# SPDX-License-Identifier: LGPL-2.1-or-later
vx_unit_test(test_common SOURCES ${VX_TESTS_DIR}/test_common.c LIBS vx_common LABELS unit)
