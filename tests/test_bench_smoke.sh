#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Every benchmark of bench/ once, as small as it goes (bench/run.sh smoke,
# bench/validate.sh and bench/explain.sh on small inputs), against the vmxrun
# under test: shows they still run and print their results. No time is
# judged here (speed is docs/performance.md's business, measured by hand).
set -uo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (QEMU's own user, pinning)"
for c in jq cc make qemu-system-x86_64; do command -v "$c" >/dev/null || skip "$c is not installed"; done
id "${VMXRUN_QEMU_USER:-vmxrun-qemu}" >/dev/null 2>&1 || [ "${VMXRUN_QEMU_USER:-}" = root ] ||
        skip "QEMU's user vmxrun-qemu does not exist (scripts/install-deps.sh creates it)"

SRC=${VX_SOURCE_ROOT:?}
tmp=$(mktemp -d /tmp/vx-bench-smoke.XXXXXX)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # FILE PATTERN WHAT
        if grep -qF -- "$2" "$1"; then echo "ok: $3"; else echo "FAIL: $3 (no '$2' in the output)"; fail=$((fail + 1)); fi
}

export VMXRUN HELPERS_DIR=$tmp/helpers
unset VMXRUN_RUNTIME_DIR VMXRUN_LOG_DIR
rc=0
OUT=$tmp/run "$SRC/bench/run.sh" smoke >"$tmp/smoke.out" 2>&1 || rc=$?
if [ "$rc" != 0 ]; then
        echo "FAIL: bench/run.sh smoke exited $rc"; tail -30 "$tmp/smoke.out"; fail=$((fail + 1))
fi
check "$tmp/smoke.out" "start ratio vmxrun/floor" "start: vmxrun against the floor"
check "$tmp/smoke.out" "ratio vmxrun/floor parallel" "pair: against the floor in parallel and in sequence"
check "$tmp/smoke.out" "ratio restart/cold start" "crash: death to running pinned again"
# The restarts were found in the supervisor's log (its wording is what the benchmark reads).
if grep -Eq 'death -> running pinned .* n=[1-9]' "$tmp/smoke.out"; then echo "ok: crash: restarts timed from the log"; else
        echo "FAIL: crash: no restart found in the supervisor's log"; fail=$((fail + 1)); fi
check "$tmp/smoke.out" "context switches of the supervisor" "idle wake-ups"
check "$tmp/smoke.out" "slopes (least squares" "many: slopes"
# Nothing of ours left running: every supervisor and QEMU of the private runtime dir is gone.
left=$(grep -lzx "VMXRUN_RUNTIME_DIR=$tmp/run/rt" /proc/[0-9]*/environ 2>/dev/null | wc -l)
if [ "$left" = 0 ]; then echo "ok: nothing left running"; else echo "FAIL: $left processes left running"; fail=$((fail + 1)); fi

rc=0
OUT=$tmp/validate N=1 MAX=200 TINY=500 "$SRC/bench/validate.sh" >"$tmp/validate.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { echo "FAIL: bench/validate.sh exited $rc"; tail -10 "$tmp/validate.out"; fail=$((fail + 1)); }
check "$tmp/validate.out" "4 when linear" "validate: growth"
rc=0
OUT=$tmp/explain N=1 "$SRC/bench/explain.sh" 400 >"$tmp/explain.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { echo "FAIL: bench/explain.sh exited $rc"; tail -10 "$tmp/explain.out"; fail=$((fail + 1)); }
check "$tmp/explain.out" "explain (json): time of 400" "explain: growth"

[ "$fail" = 0 ] || { echo "$fail failures"; exit 1; }
echo "all benchmarks ran"
