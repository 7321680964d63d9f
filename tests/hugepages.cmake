# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Hugepages: host/hugepages.c and launcher/apply.c's hugepage steps on a
# fixture sysfs tree (the kernel giving fewer pages is simulated by wrapping
# write()); the host's real 2 MiB pool grown and shrunk back; and `vmxrun
# start`/`stop` end to end with a VM on hugepages. The last two change the
# host (pool, mounts) and put it back as it was, also on failure.
vx_unit_test(test_hugepages SOURCES ${VX_TESTS_DIR}/test_hugepages.c
             LIBS vx_launcher vx_host vx_profile vx_common PkgConfig::JANSSON LABELS unit WRAP write)
target_include_directories(test_hugepages PRIVATE ${VX_SOURCE_ROOT}/launcher ${VX_SOURCE_ROOT}/host
                                                  ${VX_SOURCE_ROOT}/profiles/lib)

vx_unit_test(test_hugepages_real SOURCES ${VX_TESTS_DIR}/test_hugepages.c LIBS vx_host vx_launcher vx_common
             LABELS "root;hugepages")
target_compile_definitions(test_hugepages_real PRIVATE VX_HUGEPAGES_REAL=1)
target_include_directories(test_hugepages_real PRIVATE ${VX_SOURCE_ROOT}/launcher ${VX_SOURCE_ROOT}/host
                                                       ${VX_SOURCE_ROOT}/profiles/lib)
set_tests_properties(test_hugepages_real PROPERTIES RUN_SERIAL TRUE)

vx_script_test(test_hugepages_e2e ${VX_TESTS_DIR}/test_hugepages_e2e.sh LABELS "qemu;root;hugepages")
set_tests_properties(test_hugepages_e2e PROPERTIES TIMEOUT 300 RUN_SERIAL TRUE)
