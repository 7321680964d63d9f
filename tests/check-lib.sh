# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# What an end-to-end test script needs around its checks, sourced (first by
# tests/test_seccomp.sh; the older scripts have copies of their own):
# skip (exit 77), ok/fail/check counting into $passes and $failures, a
# bounded wait, the common preconditions of a test that boots the test
# guest under QEMU, and the verdict.

: "${VMXRUN:?VMXRUN must name the vmxrun binary}" "${VX_SOURCE_ROOT:?}"
GUEST_DIR=${VX_GUEST_DIR:-/var/cache/vmxrun/guest}
failures=0
passes=0

skip() { echo "SKIP: $*"; exit 77; }
ok() { echo "ok - $*"; passes=$((passes + 1)); }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...
        local what=$1
        shift
        if "$@"; then ok "$what"; else fail "$what"; fi
}

# A bounded wait for a condition (a hang guard, not a speed assertion).
wait_for() { # wait_for SECONDS COMMAND...
        local deadline=$((SECONDS + $1))
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

# The last line of a script: the counts, and its exit status.
verdict() {
        echo "# $passes passed, $failures failed"
        [ "$failures" -eq 0 ]
}
