#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vmxrun showcmd against a running VM: the demo profile started with a
# private runtime dir; showcmd must print the argv `vmxrun cmdline --json`
# plans for it (read back from /proc/PID/cmdline), and --explain must print
# what `vmxrun explain --pid PID` prints. Then `start` of a vmx.conf, in a
# network namespace of its own: imported in memory and planned (its Junos
# images do not exist here, so it cannot run).
#
# Needs root, qemu-system-x86_64, jq, unshare and the test guest.
set -u
: "${VMXRUN:?VMXRUN must name the vmxrun binary}"
: "${VX_SOURCE_ROOT:?}"
GUEST_DIR=${VX_GUEST_DIR:-/var/cache/vmxrun/guest}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
command -v jq >/dev/null || skip "jq is not installed"
[ "$(nproc)" -ge 2 ] || skip "the demo pins to two host CPUs; this host has $(nproc)"
[ -f "$GUEST_DIR/vmlinuz" ] || skip "no test guest in $GUEST_DIR (guest/build.sh)"

RT=$(mktemp -d /tmp/vx-showcmd-XXXXXX)
chmod 755 "$RT" # as /run/vmxrun: QEMU runs as vmxrun-qemu and must get through
export VMXRUN_RUNTIME_DIR=$RT
unset VMXRUN_ACCEL VMXRUN_ROOT
failed=0 passed=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
fail() { echo "FAIL - $*"; failed=$((failed + 1)); }
cleanup() {
        "$VMXRUN" stop demo --force >/dev/null 2>&1
        rm -rf "$RT"
}
trap cleanup EXIT

# The demo, with the guest where it is and the runtime dir in the profile too,
# so that `cmdline` plans the same paths `start` used.
{
        sed "s|/var/cache/vmxrun/guest|$GUEST_DIR|; s|^name: demo$|name: demo\nhost:\n  runtime-dir: $RT|" \
                "$VX_SOURCE_ROOT/profiles/demo.yaml"
} >"$RT/demo.yaml"

"$VMXRUN" showcmd demo --vm guest1 >/dev/null 2>&1
[ $? = 4 ] && ok "showcmd of a deployment that is not running exits 4" || fail "showcmd before start: not exit 4"

if ! "$VMXRUN" start "$RT/demo.yaml" --wait >"$RT/start.out" 2>&1; then
        cat "$RT/start.out"
        fail "start of the demo"
        echo "$passed passed, $failed failed"
        exit 1
fi
ok "demo started"

"$VMXRUN" cmdline "$RT/demo.yaml" --json | jq -c '.vms[0].argv' >"$RT/planned" || fail "cmdline --json"
"$VMXRUN" showcmd demo --vm guest1 --json | jq -c '.argv' >"$RT/shown" || fail "showcmd --json"
if [ -s "$RT/planned" ] && cmp -s "$RT/planned" "$RT/shown"; then
        ok "showcmd gives the argv cmdline --json planned"
else
        fail "showcmd argv differs from cmdline --json"
        diff <(jq '.[]' "$RT/planned") <(jq '.[]' "$RT/shown")
fi

# The text form: cmdline's printing of the same argv (the lines after its comments).
"$VMXRUN" showcmd demo --vm guest1 >"$RT/shown.txt" || fail "showcmd"
"$VMXRUN" cmdline "$RT/demo.yaml" --vm guest1 | grep -v '^#' >"$RT/planned.txt"
cmp -s "$RT/planned.txt" "$RT/shown.txt" && ok "showcmd prints like cmdline" || {
        fail "showcmd text differs from cmdline's"
        diff "$RT/planned.txt" "$RT/shown.txt"
}
"$VMXRUN" showcmd demo >"$RT/only.txt" 2>&1 && cmp -s "$RT/only.txt" "$RT/shown.txt" &&
        ok "--vm may be left out when there is one VM" || fail "showcmd without --vm"

pid=$("$VMXRUN" status demo --json | jq -r '.vms[0].pid')
"$VMXRUN" showcmd demo --vm guest1 --explain >"$RT/explained" || fail "showcmd --explain"
"$VMXRUN" explain --pid "$pid" >"$RT/explain-pid" || fail "explain --pid"
if [ -s "$RT/explained" ] && cmp -s "$RT/explained" "$RT/explain-pid"; then
        ok "showcmd --explain is explain --pid"
else
        fail "showcmd --explain differs from explain --pid"
fi
"$VMXRUN" showcmd demo --vm nope >/dev/null 2>&1
[ $? != 0 ] && ok "an unknown VM is refused" || fail "showcmd --vm nope succeeded"
"$VMXRUN" stop demo >/dev/null 2>&1 || fail "stop"

# start of a vmx.conf: imported in memory, then planned; in its own network
# namespace, so the bridges it may create are gone with it.
if command -v unshare >/dev/null; then
        conf="$VX_SOURCE_ROOT/tests/import/pass-minimal.vmx.conf"
        unshare --net "$VMXRUN" start "$conf" --foreground >"$RT/vmx.out" 2>&1
        rc=$?
        if [ "$rc" != 0 ] && [ "$rc" != 3 ] && grep -q "vcp-m1\|vfp-m1\|br-ext\|br-int-m1" "$RT/vmx.out"; then
                ok "start of a vmx.conf imports it and goes on to the VMs (exit $rc: no Junos images here)"
        else
                fail "start of a vmx.conf: exit $rc"
                cat "$RT/vmx.out"
        fi
        unshare --net "$VMXRUN" stop m1 --force >/dev/null 2>&1
else
        echo "skipped - start of a vmx.conf: no unshare"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
