# SPDX-License-Identifier: LGPL-2.1-or-later
# The benchmarks of bench/ once each, tiny, against the vmxrun under test: they still run (no time is judged).
vx_script_test(test_bench_smoke ${VX_TESTS_DIR}/test_bench_smoke.sh LABELS "qemu;root")
set_tests_properties(test_bench_smoke PROPERTIES TIMEOUT 600)
# The static vmxrun's functions in cli/link-order.txt's order (bench/order.sh); skipped by other builds.
vx_script_test(test_link_order ${VX_TESTS_DIR}/test_link_order.sh ARGS ${VX_LINK_ORDER_APPLIED} LABELS unit)
