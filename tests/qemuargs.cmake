# SPDX-License-Identifier: LGPL-2.1-or-later
vx_unit_test(test_qemuargs SOURCES ${VX_TESTS_DIR}/test_qemuargs.c LIBS vx_qemuargs LABELS unit)
# The knowledge table against the installed QEMU's own help (skips without QEMU).
vx_script_test(test_knowledge_qemu ${VX_TESTS_DIR}/test_knowledge_qemu.sh LABELS qemu)
# `vmxrun explain` end to end: input modes, exit codes, the seed command lines.
vx_script_test(test_explain_cli ${VX_TESTS_DIR}/test_explain_cli.sh LABELS unit)
