#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `vmxrun import` through the binary: exit statuses, -o, `vmxrun validate` of
# what it writes, and a vmx.conf given where a profile is expected (cmdline;
# start of a broken one). Nothing here touches the host.
#
# Environment: VMXRUN (the binary), VX_SOURCE_ROOT (set by CTest).
set -u
: "${VX_SOURCE_ROOT:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${VMXRUN:=$VX_SOURCE_ROOT/build/cli/vmxrun}"
[ -x "$VMXRUN" ] || { echo "SKIP: $VMXRUN not built"; exit 77; }
cd "$VX_SOURCE_ROOT" || exit 1
unset VMXRUN_ACCEL VMXRUN_ROOT
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0 passed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
fail() { echo "FAIL - $*"; failed=$((failed + 1)); }
status() { # status EXPECTED DESCRIPTION COMMAND...
        want=$1 what=$2
        shift 2
        "$@" >"$tmp/out" 2>"$tmp/err"
        got=$?
        if [ "$got" = "$want" ]; then ok "$what (exit $got)"; else fail "$what: exit $got, not $want"; cat "$tmp/err"; fi
}
d=tests/import

status 0 "import of the seed's virtio vmx.conf" "$VMXRUN" import $d/seed-virtio.vmx.conf -o "$tmp/v.yaml"
grep -q "ipaddr" "$tmp/err" && ok "warnings on stderr" || fail "no warning on stderr"
cmp -s "$tmp/v.yaml" $d/seed-virtio.yaml && ok "-o wrote the golden profile" || fail "-o output differs"
status 0 "vmxrun validate accepts the import" "$VMXRUN" validate "$tmp/v.yaml"
status 0 "import to stdout" "$VMXRUN" import $d/seed-sriov.vmx.conf
cmp -s "$tmp/out" $d/seed-sriov.yaml && ok "stdout is the golden profile" || fail "stdout differs"
status 0 "several files and --junosdev" "$VMXRUN" import $d/seed-two.vmx.conf.1 $d/seed-two.vmx.conf.2 \
        --junosdev $d/seed-two.vmx-junosdev.conf --name vmx12
cmp -s "$tmp/out" $d/seed-two.yaml && ok "two instances: the golden profile" || fail "two instances differ"
status 0 "vmxrun validate takes a vmx.conf, as start and cmdline do" "$VMXRUN" validate $d/seed-sriov.vmx.conf
grep -q "valid (2 VMs: vcp-vmx1, vfp-vmx1)" "$tmp/out" && ok "validate of a vmx.conf: valid" || fail "validate vmx.conf"
status 3 "vmxrun validate --json of a broken vmx.conf" "$VMXRUN" validate --json $d/fail-types.vmx.conf
grep -q '"line": 13' "$tmp/out" && ok "its diagnostics in the JSON" || fail "no diagnostics in validate --json"
status 3 "wrong types are errors" "$VMXRUN" import $d/fail-types.vmx.conf
grep -q "fail-types.vmx.conf:13:19: error: CONTROL_PLANE.vcpus" "$tmp/err" && ok "error with file:line:column" ||
        fail "no positioned error"
[ -s "$tmp/out" ] && fail "output written despite errors" || ok "nothing written on error"
status 3 "missing keys are errors" "$VMXRUN" import $d/fail-missing.vmx.conf
status 1 "a missing file" "$VMXRUN" import $d/no-such.vmx.conf
status 2 "no file" "$VMXRUN" import
status 2 "bad --first-cpu" "$VMXRUN" import $d/seed-virtio.vmx.conf --first-cpu x
status 0 "--first-cpu" "$VMXRUN" import $d/seed-virtio.vmx.conf --first-cpu 8
grep -q 'vcpus: \["8"\]' "$tmp/out" && grep -q 'vcpus: \["9", "10", "11"\]' "$tmp/out" && ok "pinning from CPU 8" ||
        fail "--first-cpu not applied"

# A vmx.conf where a profile is expected: detected by content, not by name.
cp $d/seed-virtio.vmx.conf "$tmp/anything.yaml"
status 0 "cmdline of a vmx.conf" "$VMXRUN" cmdline "$tmp/anything.yaml" --root tests/fixtures/host-sriov
"$VMXRUN" cmdline "$tmp/v.yaml" --root tests/fixtures/host-sriov >"$tmp/from-profile" 2>/dev/null
cmp -s "$tmp/out" "$tmp/from-profile" && ok "same command lines as the imported profile" ||
        fail "cmdline of the vmx.conf differs from its import's"
status 0 "a profile is still a profile" "$VMXRUN" cmdline profiles/vmx-virtio.yaml --root tests/fixtures/host-sriov
# start of a valid vmx.conf would create bridges on this host: tests/import/showcmd.sh
# does that in a network namespace. Here, a broken one stops at the import.
export VMXRUN_RUNTIME_DIR="$tmp/run"
status 3 "start of a broken vmx.conf" "$VMXRUN" start $d/fail-types.vmx.conf
grep -q "CONTROL_PLANE.vcpus" "$tmp/err" && ok "start showed the import errors" || fail "start: no import errors"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
