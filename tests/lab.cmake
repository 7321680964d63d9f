# SPDX-License-Identifier: LGPL-2.1-or-later
# Tests that run vmxrun inside a lab VM (the test guest's Debian kernel), for
# what these machines' own kernels lack.
vx_script_test(test_vhost_lab ${VX_TESTS_DIR}/test_vhost_lab.sh LABELS "qemu;root;lab")
set_tests_properties(test_vhost_lab PROPERTIES TIMEOUT 900)
