# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfio/ against fake sysfs trees, the kernel played by a wrapped
# vfio_sysfs_write(); its netns cases (PF flags, "up with addresses") need
# root and skip without it.
vx_unit_test(test_vfio SOURCES ${VX_TESTS_DIR}/test_vfio.c ${VX_TESTS_DIR}/fake-sysfs.c LIBS vx_vfio vx_netsetup vx_common
             LABELS "unit;root;netns" WRAP vfio_sysfs_write)

# The SR-IOV lab: a real kernel in QEMU 10 with an emulated VT-d and igb
# (tests/lab/run fetches QEMU 10 and builds its guest into caches). lab_vfio
# is the program it runs inside; run alone: tests/lab/run [path/to/lab_vfio].
add_executable(lab_vfio ${VX_TESTS_DIR}/lab/lab_vfio.c)
target_link_libraries(lab_vfio PRIVATE vx_vfio vx_netsetup vx_common)
vx_script_test(lab_vfio_sriov ${VX_TESTS_DIR}/lab/run LABELS "qemu;root;lab" ARGS $<TARGET_FILE:lab_vfio>)
set_tests_properties(lab_vfio_sriov PROPERTIES TIMEOUT 1200)
