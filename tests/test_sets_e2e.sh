#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# End-to-end, `--set PATH=VALUE`: a value over the profile's own for one
# start, under real QEMU (TCG). The profile file is not changed; the start's
# QEMU runs with the value; the state file keeps it, so a supervisor that
# adopts the VM (the first one killed) plans the profile as it was started
# and finds no difference, and `vmxrun restart` runs the VM with it again.
# A bad --set is refused before anything starts, naming --set and the key.
#
# Needs root, qemu-system-x86_64, jq and the test guest (guest/build.sh).
set -u

# shellcheck source=tests/check-lib.sh
. "$(dirname "$0")/check-lib.sh"
need_qemu_guest
need_cpus 2 "the demo pins two vCPUs to two host CPUs"
e2e_dirs sets

cleanup() {
        "$VMXRUN" stop st --force >/dev/null 2>&1
        pkill -9 -f "guest=guest1,.*$RT" 2>/dev/null
        rm -rf "$RT" "$RT.log" "$WORK"
}
trap cleanup EXIT

sed -e "s|/var/cache/vmxrun/guest|$GUEST_DIR|" -e 's/^name: demo/name: st/' \
        "$VX_SOURCE_ROOT/profiles/demo.yaml" >"$WORK/st.yaml"
cp "$WORK/st.yaml" "$WORK/st.yaml.orig"
SETS=(--set vms.guest1.memory.size=192MiB --set 'vms.*.restart.backoff=0ms')
status_json() { "$VMXRUN" status st --json 2>/dev/null; }
qemu_pid() { status_json | jq -r '.vms[0].pid'; }
sup_pid() { status_json | jq -r '.supervisor_pid'; }

"$VMXRUN" cmdline "$WORK/st.yaml" "${SETS[@]}" >"$WORK/cmdline" 2>&1
check "cmdline --set: the memory QEMU gets is the set value" grep -q 'size=192M\|-m 192M' "$WORK/cmdline"

"$VMXRUN" start "$WORK/st.yaml" --set vms.guest1.memory.size=lots >"$WORK/bad.out" 2>&1
rc=$?
check "a bad --set value: start exits 3 (invalid profile)" [ $rc -eq 3 ]
check "and says --set, the key and what is wrong" \
        grep -q "^--set: error: vms\[0\].memory.size: expected a size" "$WORK/bad.out"
"$VMXRUN" start "$WORK/st.yaml" --set vms.guest2.vcpus=1 >"$WORK/bad2.out" 2>&1
rc=$?
check "a --set naming no VM: exit 3, the VM names are the way to say which" \
        bash -c "[ $rc -eq 3 ] && grep -q 'vms.guest2: no item of this list has name: guest2' '$WORK/bad2.out'"
check "nothing was started by either" bash -c "! '$VMXRUN' status st >/dev/null 2>&1"

"$VMXRUN" start "$WORK/st.yaml" "${SETS[@]}" 2>"$WORK/start.err"
check "start --set exits 0" [ $? -eq 0 ]
PID=$(qemu_pid)
check "QEMU runs with the set memory size" bash -c "tr '\\0' ' ' </proc/$PID/cmdline | grep -q 'size=192M\\|-m 192M'"
check "the profile file is as it was" cmp -s "$WORK/st.yaml" "$WORK/st.yaml.orig"
check "the state file keeps the --set values, in order" \
        bash -c "jq -e '.set == [\"vms.guest1.memory.size=192MiB\", \"vms.*.restart.backoff=0ms\"]' '$RT/st/state.json' >/dev/null"

# The supervisor dies; the next command adopts the VM and plans the profile as it was started.
SUP=$(sup_pid)
kill -9 "$SUP"
wait_for 30 bash -c "! kill -0 $SUP 2>/dev/null"
status_json >"$WORK/adopted.json"
check "status adopts the VM (a new supervisor, the same QEMU)" \
        bash -c "[ \"\$(jq -r .supervisor_pid '$WORK/adopted.json')\" != $SUP ] && [ \"\$(jq -r '.vms[0].pid' '$WORK/adopted.json')\" = $PID ]"
check "the adopting supervisor sees no difference from the profile with its --set values" \
        bash -c "jq -e '(.vms[0].differs_from_profile // []) | length == 0' '$WORK/adopted.json' >/dev/null"

"$VMXRUN" restart st --force >/dev/null 2>&1
check "vmxrun restart exits 0" [ $? -eq 0 ]
new_pid() { local p; p=$(qemu_pid); [ -n "$p" ] && [ "$p" != null ] && [ "$p" != 0 ] && [ "$p" != "$PID" ] &&
        [ "$(status_json | jq -r '.vms[0].state')" = running ]; }
check "the VM runs again after restart" wait_for 120 new_pid
PID2=$(qemu_pid)
check "the restarted QEMU has the set memory size too" bash -c "tr '\\0' ' ' </proc/$PID2/cmdline | grep -q 'size=192M\\|-m 192M'"

"$VMXRUN" stop st --force >/dev/null 2>&1
check "stop exits 0" [ $? -eq 0 ]
verdict
