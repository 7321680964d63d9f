# SPDX-License-Identifier: LGPL-2.1-or-later
#
# launcher/apply-vfio.c (VF settings, vfio-pci binds, their undo) against the
# fake sysfs tree of tests/fake-sysfs.h and a fake PF driver (wrapped
# netsetup SR-IOV calls); root, in a network namespace of its own.
vx_unit_test(test_apply_vfio SOURCES ${VX_TESTS_DIR}/test_apply_vfio.c ${VX_TESTS_DIR}/fake-sysfs.c
             LIBS vx_launcher vx_profile vx_vfio vx_netsetup vx_common PkgConfig::JANSSON LABELS "unit;netns;root"
             WRAP vfio_sysfs_write netsetup_vf_get netsetup_vf_set netsetup_pf_get netsetup_pf_set)
target_include_directories(test_apply_vfio PRIVATE ${VX_SOURCE_ROOT}/launcher ${VX_SOURCE_ROOT}/host
                                                   ${VX_SOURCE_ROOT}/profiles/lib)
