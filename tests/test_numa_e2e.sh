#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# End-to-end on this machine: the demo guest with `pinning: auto` under real
# QEMU (TCG). The kernel's view (/proc/<pid>/task/*/status) must be what the
# placement chose (emulator threads on CPU 0, the vCPU on another CPU); the
# CPU ledger holds it while it runs, so a second deployment that would need
# the same CPU is refused naming it, and the entry goes with the stop.
#
# Needs root, qemu-system-x86_64, jq and the test guest (guest/build.sh).
set -u

# shellcheck source=tests/check-lib.sh
. "$(dirname "$0")/check-lib.sh"
need_qemu_guest
need_cpus 2 "placement keeps CPU 0 for the emulator and needs another for the vCPU"
e2e_dirs numa

cleanup() {
        "$VMXRUN" stop autodemo --force >/dev/null 2>&1
        "$VMXRUN" stop second --force >/dev/null 2>&1
        "$VMXRUN" stop other --force >/dev/null 2>&1
        rm -rf "$RT" "$RT.log" "$WORK"
}
trap cleanup EXIT

# The demo, one vCPU, placed by vmxrun: topology and pinning are its to choose.
sed -e "s|/var/cache/vmxrun/guest|$GUEST_DIR|" -e 's/^name: demo/name: autodemo/' -e 's/^    vcpus: 2/    vcpus: 1/' \
        -e '/^    topology:/,/^      threads:/c\    topology: auto' \
        -e '/^    pinning:/,/^      emulator:/c\    pinning: {placement: auto, core-scheduling: true}' \
        "$VX_SOURCE_ROOT/profiles/demo.yaml" >"$WORK/auto.yaml"
grep -q '^    pinning: {placement: auto' "$WORK/auto.yaml" || { echo "could not rewrite the demo profile"; exit 1; }

"$VMXRUN" cmdline "$WORK/auto.yaml" --plan >"$WORK/plan" 2>&1
check "cmdline --plan shows the placement and why" grep -q '^# placement: emulator: CPU 0 (housekeeping' "$WORK/plan"
VCPU_CPU=$(sed -n 's/^# pinning: vCPU 0 (cpu-index 0) -> host CPUs //p' "$WORK/plan")
check "the vCPU is placed off the emulator's CPU 0 (got '$VCPU_CPU')" [ -n "$VCPU_CPU" ] && [ "$VCPU_CPU" != 0 ]

"$VMXRUN" start "$WORK/auto.yaml" --wait >"$WORK/start.out" 2>&1
rc=$?
check "start --wait of the placed demo exits 0 (got $rc)" [ $rc -eq 0 ] || cat "$WORK/start.out"
JSON=$("$VMXRUN" status autodemo --json)
PID=$(jq -r '.vms[0].pid' <<<"$JSON")
TID=$(jq -r '.vms[0].vcpus[] | select(.index == 0) | .thread_id' <<<"$JSON")
allowed() { sed -n 's/^Cpus_allowed_list:\s*//p' "/proc/$PID/task/$1/status"; }
check "the kernel runs the vCPU thread on CPU $VCPU_CPU only" [ "$(allowed "$TID")" = "$VCPU_CPU" ]
others_on_0() {
        local t n=0
        for t in /proc/"$PID"/task/*; do
                t=${t##*/}
                [ "$t" = "$TID" ] && continue
                [ "$(allowed "$t")" = 0 ] || { echo "thread $t: $(allowed "$t")"; return 1; }
                n=$((n + 1))
        done
        [ $n -gt 0 ]
}
check "every other QEMU thread runs on the emulator set, CPU 0" others_on_0
check "status shows the placement and why" jq -e '.vms[0].placement.why | length > 0' <<<"$JSON"
cp "/proc/$PID/sched" "$WORK/sched" 2>/dev/null
check "the CPU ledger holds the deployment" \
        jq -e ".vms[0].vcpus == [\"$VCPU_CPU\"]" "$RT/.shared/cpus/autodemo.json"

# A second deployment pinned to the same CPU: refused before anything changes, naming the CPU and both VMs.
sed -e 's/^name: autodemo/name: second/' -e "s/^    pinning: .*/    pinning: {vcpus: [\"$VCPU_CPU\"]}/" \
        "$WORK/auto.yaml" >"$WORK/second.yaml"
"$VMXRUN" start "$WORK/second.yaml" >"$WORK/second.out" 2>&1
check "a start pinned onto a held CPU is refused (exit 1)" [ $? -eq 1 ]
check "and names the CPU, both VMs and the running deployment" \
        grep -q "host CPU $VCPU_CPU of vCPU 0 of guest1 is held by VM guest1 of the running deployment autodemo" \
        "$WORK/second.out"
check "and nothing of it runs" [ ! -e "$RT/second/state.json" ]

# vmxrun pin, live: the ledger follows the move, and a vCPU onto a CPU another deployment holds is refused.
"$VMXRUN" pin autodemo --emulator 0-1 >"$WORK/pin.out" 2>&1
check "pin of the emulator threads exits 0" [ $? -eq 0 ] || cat "$WORK/pin.out"
check "and the CPU ledger has the new emulator set" jq -e '.vms[0].emulator == "0-1"' "$RT/.shared/cpus/autodemo.json"
sed -e 's/^name: autodemo/name: other/' -e 's/^    pinning: .*/    pinning: {vcpus: ["0"], emulator: "0"}/' \
        "$WORK/auto.yaml" >"$WORK/other.yaml"
"$VMXRUN" start "$WORK/other.yaml" --wait >"$WORK/other.out" 2>&1
rc=$?
check "a deployment pinned to the placed one's emulator CPU starts (emulator CPUs are shared; exit $rc)" [ $rc -eq 0 ] ||
        cat "$WORK/other.out"
"$VMXRUN" pin other --vcpu 0 --cpus "$VCPU_CPU" >"$WORK/pin2.out" 2>&1
check "pin of its vCPU onto autodemo's vCPU CPU is refused" [ $? -ne 0 ]
check "naming the CPU and the VM that holds it" \
        grep -q "host CPU $VCPU_CPU is held by VM guest1 of the running deployment autodemo" "$WORK/pin2.out"
check "and its vCPU stays where it was" \
        bash -c "[ \"\$('$VMXRUN' status other --json | jq -r '.vms[0].vcpus[0].cpus')\" = 0 ]"
"$VMXRUN" stop other --force >/dev/null 2>&1

"$VMXRUN" stop autodemo --timeout 60 >/dev/null 2>&1
check "stop exits 0" [ $? -eq 0 ]
check "the stop released the CPUs from the ledger" [ ! -e "$RT/.shared/cpus/autodemo.json" ]

# Core scheduling where the kernel has it (a cookie on QEMU's threads), a clean skip where not.
core_scheduling() {
        local cookie
        cookie=$(sed -n 's/^core_cookie\s*:\s*//p' "$WORK/sched" 2>/dev/null)
        if [ -n "$cookie" ]; then
                [ "$cookie" != 0 ] || { echo "core_cookie is 0"; return 1; }
        else
                # Said while start still reported on its stderr, or later in the supervisor's log.
                cat "$WORK/start.out" "$VMXRUN_LOG_DIR/autodemo.log" 2>/dev/null |
                        grep -q "this kernel has no core scheduling" || { echo "no cookie and no note"; return 1; }
        fi
}
check "pinning.core-scheduling: a cookie, or a note that the kernel has none" core_scheduling

verdict
