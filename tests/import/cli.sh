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

# --running: the seed's two `ps` lines give the UUIDs libvirt chose; placement gives the NUMA binding.
cat tests/fixtures/seed-vcp.cmdline tests/fixtures/seed-vfp.cmdline >"$tmp/ps.txt"
status 0 "--running with the seed's ps lines" "$VMXRUN" import $d/seed-sriov.vmx.conf --running "$tmp/ps.txt" -o "$tmp/r.yaml"
grep -q "uuid: 79ab0bbf-b63a-4a08-87ce-ad7670186754 *# -uuid of the running QEMU ($tmp/ps.txt:1)" "$tmp/r.yaml" &&
        grep -q "uuid: 5d7f31e7-b678-4605-973f-0cb6a3e3b8c1 *# -uuid of the running QEMU ($tmp/ps.txt:2)" "$tmp/r.yaml" &&
        ok "each VM keeps the -uuid it ran with, citing the line" || fail "--running did not keep the UUIDs"
"$VMXRUN" cmdline "$tmp/r.yaml" --root tests/fixtures/host-2node-smt >"$tmp/r.args" 2>&1
grep -q -- "-uuid 5d7f31e7-b678-4605-973f-0cb6a3e3b8c1" "$tmp/r.args" &&
        grep -q "memory-backend-file,id=mem0,size=15626M,.*host-nodes=1,policy=bind" "$tmp/r.args" &&
        ok "on a host laid out as the seed's (VFs on node 1): the VFP's -uuid, 15626M bound to node 1 (numatune strict nodeset 1)" ||
        fail "the imported VFP's plan: $(grep -E 'uuid|memory-backend' "$tmp/r.args")"
echo "no command line here" >"$tmp/none.txt"
status 0 "--running without a QEMU command line" "$VMXRUN" import $d/seed-sriov.vmx.conf --running "$tmp/none.txt"
grep -q "no QEMU command line with -name and -uuid" "$tmp/err" && ! grep -q "uuid:" "$tmp/out" &&
        ok "says so, and keeps no UUID" || fail "--running of a file without command lines"
status 1 "--running of a missing file" "$VMXRUN" import $d/seed-sriov.vmx.conf --running "$tmp/no-such"

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
