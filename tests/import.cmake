# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vmx.conf import (profiles/import/): golden profiles and diagnostics of the
# files in tests/import/, and the command lines the seed's deployments plan
# to against tests/golden/*.args (VX_UPDATE_GOLDEN=1 rewrites the goldens).
vx_unit_test(test_import SOURCES ${VX_TESTS_DIR}/test_import.c
             LIBS vx_import vx_launcher vx_host vx_qemuargs vx_profile vx_common LABELS unit)
target_include_directories(test_import PRIVATE ${VX_SOURCE_ROOT}/profiles/import ${VX_SOURCE_ROOT}/launcher
                                               ${VX_SOURCE_ROOT}/host ${VX_SOURCE_ROOT}/qemuargs)
# The binary: import, validate of its output, cmdline and start of a vmx.conf.
vx_script_test(test_import_cli ${VX_TESTS_DIR}/import/cli.sh LABELS unit)
# showcmd against a running demo VM.
vx_script_test(test_showcmd ${VX_TESTS_DIR}/import/showcmd.sh LABELS "qemu;root")
set_tests_properties(test_showcmd PROPERTIES TIMEOUT 300)
