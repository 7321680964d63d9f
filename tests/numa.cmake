# SPDX-License-Identifier: LGPL-2.1-or-later
#
# NUMA and CPU placement (issue 12): host topology on fixture trees
# (tests/fixtures/host-2node-smt), placement, the CPU ledger.
vx_unit_test(test_topology SOURCES ${VX_TESTS_DIR}/test_topology.c LIBS vx_host LABELS unit)
vx_unit_test(test_placement SOURCES ${VX_TESTS_DIR}/test_placement.c LIBS vx_launcher vx_profile util LABELS unit)
# pinning: auto for the demo guest under real QEMU (TCG), checked in /proc/<pid>/task/*/status.
vx_script_test(test_numa_e2e ${VX_TESTS_DIR}/test_numa_e2e.sh LABELS "qemu;root")
set_tests_properties(test_numa_e2e PROPERTIES TIMEOUT 300)
