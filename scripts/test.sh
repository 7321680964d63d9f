#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's test command: installs what is needed, builds, and runs the
# whole test suite. Run as root on Debian 12. .ci/run calls exactly this.
#
#   1. every test, on the normal build (unit, QEMU, network-namespace, KVM
#      where /dev/kvm works; a test that cannot run here says why and is
#      counted as skipped);
#   2. every test again with vmxrun built with AddressSanitizer and
#      UndefinedBehaviorSanitizer (the supervisor's paths run in the
#      end-to-end tests, so they are checked too);
#   3. each fuzz target (fuzz/) for about 25 s on its seed corpus (fuzz/smoke.sh);
#   4. the unit test binaries under valgrind memcheck, with no error and no
#      leak (scripts/analyze.sh valgrind, a few minutes);
#   and first, the C lines changed since .ci/format-base are formatted
#   (scripts/check-format.sh) and gcc -fanalyzer finds nothing that
#   scripts/analyze.suppress does not explain (scripts/analyze.sh analyzer).
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
VX_BUILD_ASAN=1 ./scripts/build.sh

# The guest kernel + initramfs the QEMU tests boot (cached between runs).
if [ -x guest/build.sh ]; then
        ./guest/build.sh
fi

status=0
echo "== format: the C lines changed since .ci/format-base (clang-format)"
./scripts/check-format.sh || status=1
./scripts/analyze.sh analyzer || status=1 # gcc -fanalyzer of the libraries and vmxrun, about a minute
echo "== sanitizer build (ASan + UBSan): all tests"
(cd build/asan && ctest --output-on-failure) || status=1
echo "== release build: all tests"
(cd build/release && ctest --output-on-failure) || status=1
echo "== fuzz targets (clang, libFuzzer): each for a short time on its corpus"
./fuzz/smoke.sh || status=1
./scripts/analyze.sh valgrind || status=1 # the unit tests under valgrind memcheck: no error, no leak
exit $status
