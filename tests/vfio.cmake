# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfio/ against fake sysfs trees, the kernel played by a wrapped
# vfio_sysfs_write(); its netns cases (PF flags, "up with addresses") need
# root and skip without it.
vx_unit_test(test_vfio SOURCES ${VX_TESTS_DIR}/test_vfio.c LIBS vx_vfio vx_netsetup vx_common
             LABELS "unit;root;netns" WRAP vfio_sysfs_write)
