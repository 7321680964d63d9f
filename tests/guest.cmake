# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The tiny test guest (guest/build.sh, guest/init): build it (or use the
# cache in $VX_GUEST_DIR, default /var/cache/vmxrun/guest), boot it under
# QEMU/TCG, check its report, its console shell and ACPI power-off.
vx_script_test(test_guest_boot ${VX_TESTS_DIR}/test_guest_boot.sh LABELS qemu)
