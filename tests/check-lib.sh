# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# What an end-to-end test script needs around its checks, sourced by the
# scripts in tests/ (not the lab VM's inner scripts): skip (exit 77),
# ok/fail/check counting into $passes and $failures, skip_check for a check
# this run cannot make, a bounded wait, the common preconditions of a test
# that boots the test guest under QEMU, its runtime and work dirs, and the
# verdict.

: "${VMXRUN:?VMXRUN must name the vmxrun binary}" "${VX_SOURCE_ROOT:?}"
GUEST_DIR=${VX_GUEST_DIR:-/var/cache/vmxrun/guest}
failures=0
passes=0
skipped=0

skip() { echo "SKIP: $*"; exit 77; }
ok() { echo "ok - $*"; passes=$((passes + 1)); }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...
        local what=$1
        shift
        if "$@"; then ok "$what"; else fail "$what"; fi
}
# A check that cannot be made on this run: counted and said, never passed.
skip_check() { echo "SKIP - $*"; skipped=$((skipped + 1)); }

# A bounded wait for a condition (a hang guard, not a speed assertion);
# $VX_TEST_SLOWDOWN (a whole number, default 1) multiplies the bound on a
# machine known to be slow.
wait_for() { # wait_for SECONDS COMMAND...
        local deadline=$((SECONDS + $1 * ${VX_TEST_SLOWDOWN:-1}))
        shift
        until "$@"; do
                [ $SECONDS -lt $deadline ] || return 1
                sleep 0.2
        done
}

# Root, QEMU, jq and the test guest (built here when missing), or exit 77 saying which is missing.
need_qemu_guest() {
        [ "$(id -u)" = 0 ] || skip "needs root"
        command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
        command -v jq >/dev/null || skip "jq is not installed"
        if [ ! -f "$GUEST_DIR/vmlinuz" ]; then
                "$VX_SOURCE_ROOT/guest/build.sh" "$GUEST_DIR" >/dev/null || skip "could not build the test guest"
        fi
}

# At least N host CPUs, or exit 77 saying what the test needs them for.
need_cpus() { # need_cpus N WHY
        [ "$(nproc)" -ge "$1" ] || skip "$2; this host has $(nproc)"
}

# $RT, a runtime dir of the test's own that QEMU (as vmxrun-qemu, like
# /run/vmxrun) can get through, with the supervisors' logs in $RT.log
# (exported as VMXRUN_RUNTIME_DIR and VMXRUN_LOG_DIR), and $WORK for the
# test's files. The test's EXIT trap removes "$RT" "$RT.log" "$WORK".
e2e_dirs() { # e2e_dirs NAME: /tmp/vx-NAME-XXXXXX and /tmp/vx-NAME-work-XXXXXX
        RT=$(mktemp -d "/tmp/vx-$1-XXXXXX") || exit 1
        chmod 755 "$RT"
        export VMXRUN_RUNTIME_DIR=$RT VMXRUN_LOG_DIR=$RT.log
        # shellcheck disable=SC2034 # used by the sourcing script
        WORK=$(mktemp -d "/tmp/vx-$1-work-XXXXXX") || exit 1
}

# The last line of a script: the counts, and its exit status.
verdict() {
        if [ "$skipped" -gt 0 ]; then
                echo "# $passes passed, $failures failed, $skipped skipped"
        else
                echo "# $passes passed, $failures failed"
        fi
        [ "$failures" -eq 0 ]
}
