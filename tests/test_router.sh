#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# End-to-end: the paired lifecycle of a router (docs/router.md), with two
# tiny guests under real QEMU (TCG) as VCP and VFP on an internal bridge, in
# the test's own network namespace. The VFP starts after the VCP is ready;
# stops go in reverse order; a VFP crash with restart.scope: deployment
# restarts both in order; `vmxrun restart` does the same, or one VM;
# readiness waits for the internal link; a thread QEMU creates after start
# (object-add iothread) gets the emulator CPUs; and a `vmxrun pin` survives
# the supervisor's death (adoption). Assertions read the kernel (/proc, the
# links) or the supervisor's timestamps, never fixed sleeps.
#
# Needs root, qemu-system-x86_64, jq, unshare and the test guest (guest/build.sh).
set -u

# shellcheck source=tests/check-lib.sh
. "$(dirname "$0")/check-lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
command -v jq >/dev/null || skip "jq is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"
need_cpus 2 "the pair pins its vCPUs to two host CPUs"
# Its own network namespace: the bridge and taps never touch the host's.
if [ -z "${VX_ROUTER_NETNS:-}" ]; then
        command -v unshare >/dev/null || skip "unshare is not installed"
        VX_ROUTER_NETNS=1 exec unshare -n "$0" "$@"
fi
ip link set lo up
need_qemu_guest

e2e_dirs router
LOG=$VMXRUN_LOG_DIR/router.log

cleanup() {
        "$VMXRUN" stop router --force >/dev/null 2>&1
        pkill -9 -f "guest=v[cf]p,.*$RT" 2>/dev/null
        rm -rf "$RT" "$RT.log" "$WORK"
}
trap cleanup EXIT

# The pair: a tiny-guest copy of profiles/vmx-virtio.yaml's shape (VCP, then VFP after it, one internal bridge).
vm() { # vm NAME CPU [MORE PINNING KEYS]
        cat <<VM
  - name: $1
    accel: tcg
    vcpus: 1
    memory: {size: 192MiB}
    pinning: {vcpus: ["$2"], emulator: "0-1"${3:+, $3}}
    boot:
      kernel: $GUEST_DIR/vmlinuz
      initrd: $GUEST_DIR/initrd.img
      cmdline: "console=ttyS0 quiet panic=-1"
    serial: {type: unix}
    nics:
      - {type: tap, tap: $1-int, bridge: br-int-r}
    restart: {policy: on-crash, max: 5, window: 60s, backoff: 200ms, scope: deployment}
VM
}
{
        printf 'name: router\nbridges:\n  - name: br-int-r\nvms:\n'
        vm vcp 0
        echo '    ready: {console: "VMXRUN-GUEST ready", timeout: 180s}'
        vm vfp 1 "drift: report"
        echo '    after: vcp'
        echo '    ready: {console: "VMXRUN-GUEST ready", link: br-int-r, timeout: 180s}'
} >"$WORK/router.yaml"

status_json() { "$VMXRUN" status router --json 2>/dev/null; }
vmf() { status_json | jq -r ".vms[] | select(.name == \"$1\") | $2"; } # vmf VM JQ-FILTER
allowed() { sed -n 's/^Cpus_allowed_list:\s*//p' "/proc/$1/task/$2/status"; }
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
# Both run, both ready, with QEMUs other than the ones named.
both_new_and_ready() { # both_new_and_ready OLD_VCP_PID OLD_VFP_PID
        local s
        s=$(status_json) || return 1
        jq -e --argjson a "$1" --argjson b "$2" '[.vms[] | select(.state == "running" and .ready)] | length == 2 and
                (.[0].pid != $a) and (.[1].pid != $b)' <<<"$s" >/dev/null
}
# The VFP's QEMU was created once the VCP's was ready (the timestamps the supervisor took).
in_order() {
        status_json | jq -e '(.vms[0].stages.ready // "z") <= (.vms[1].stages.created // "")' >/dev/null ||
                { status_json | jq -c '.vms[] | {name, stages}'; return 1; }
}
# Line numbers in the supervisor's log: $1 appears (after line $3) before $2.
logged_before() { # logged_before FIRST SECOND [AFTER_LINE]
        local a b
        a=$(awk -v from="${3:-0}" -v p="$1" 'NR > from && index($0, p) { print NR; exit }' "$LOG")
        b=$(awk -v from="${3:-0}" -v p="$2" 'NR > from && index($0, p) { print NR; exit }' "$LOG")
        [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] || { echo "'$1' at ${a:-none}, '$2' at ${b:-none}"; return 1; }
}
log_lines() { wc -l <"$LOG"; }

"$VMXRUN" validate "$WORK/router.yaml" >/dev/null
check "the pair's profile is valid (after:, restart.scope, ready.link)" [ $? -eq 0 ]

# --- start in order ----------------------------------------------------------
"$VMXRUN" start "$WORK/router.yaml" --wait >"$WORK/start.out" 2>&1
check "start --wait returns 0 once both are ready" [ $? -eq 0 ]
check "both run and are ready" both_new_and_ready 0 0
check "the VFP was created after the VCP was ready (status timestamps)" in_order
check "status names no condition still missing" [ "$(status_json | jq -r '[.vms[].waiting_for // empty] | length')" = 0 ]
VCP=$(vmf vcp .pid)
VFP=$(vmf vfp .pid)

# --- pinning.drift: report (the VFP's): a drift is shown and logged, not repaired ---
VFPTID=$(vmf vfp '.vcpus[] | select(.index == 0) | .thread_id')
vfp_pin() { vmf vfp '.vcpus[] | select(.index == 0) | .pin'; }
taskset -p -c 0 "$VFPTID" >/dev/null
check "drift: report: the VFP's vCPU moved behind vmxrun's back shows as drifted" [ "$(vfp_pin)" = drifted ]
check "a second status still sees it, and the kernel agrees: nothing pinned it back" \
        [ "$(vfp_pin)" = drifted -a "$(allowed "$VFP" "$VFPTID")" = 0 ]
check "status shows the policy and no repair" [ "$(vmf vfp '"\(.pin_drift) \(.pin_repairs)"')" = "report 0" ]
check "the log says so once" [ "$(grep -c 'pinning.drift: report leaves them' "$LOG")" = 1 ]
taskset -p -c 1 "$VFPTID" >/dev/null
check "put back by hand: pinned again in status" [ "$(vfp_pin)" = pinned ]

# --- a thread created after start gets the emulator CPUs --------------------------
tids() { ls "/proc/$1/task" | sort; }
# One control request, as control.h describes them; `vmxrun qmp` would ask for status first,
# and status repairs drift, which would hide what is tested here.
control() { # control JSON
        python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().readline(), end="")' "$RT/router/control.sock" "$1"
}
tids "$VCP" >"$WORK/tids.before"
# Behind vmxrun's back, QEMU's main thread runs on CPU 0 only: a thread it creates inherits that.
taskset -p -c 0 "$VCP" >/dev/null
control '{"cmd": "qmp", "vm": "vcp", "execute": "object-add", "arguments": {"qom-type": "iothread", "id": "io-late"}}' \
        >"$WORK/object-add.out"
check "object-add iothread succeeds" jq -e .ok "$WORK/object-add.out" >/dev/null
tids "$VCP" >"$WORK/tids.after"
NEW=$(comm -13 "$WORK/tids.before" "$WORK/tids.after" | head -n1)
if [ -n "$NEW" ]; then
        # Read from the kernel, not from status (which would repair on its own).
        check "the new iothread (thread $NEW) runs on the emulator CPUs 0-1, not its creator's 0" \
                [ "$(allowed "$VCP" "$NEW")" = 0-1 ]
        check "the supervisor logged it" grep -q "new QEMU thread $NEW" "$LOG"
        check "the main thread is left as it was until status repairs it" [ "$(allowed "$VCP" "$VCP")" = 0 ]
else
        fail "object-add iothread made no new thread in QEMU"
fi
status_json >/dev/null # puts the main thread back (drift repair)
check "status repaired the main thread" [ "$(allowed "$VCP" "$VCP")" = 0-1 ]

# --- readiness waits for the internal link ------------------------------------------
before=$(log_lines)
"$VMXRUN" restart router --vm vfp --timeout 60 >"$WORK/restart-vfp.out" 2>&1 &
restart_pid=$!
new_vfp() { local p; p=$(vmf vfp .pid); [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$VFP" ] && [ "$p" != null ]; }
check "restart --vm vfp: a new VFP QEMU" wait_for 120 new_vfp
ip link set vfp-int down
wait "$restart_pid"
check "restart --vm vfp exits 0" [ $? -eq 0 ]
check "the VCP was not touched (same pid)" [ "$(vmf vcp .pid)" = "$VCP" ]
link_missing() { vmf vfp '.waiting_for // ""' | grep -q "tap vfp-int is down"; }
check "with its internal tap held down, the VFP is not ready and status names the link" wait_for 180 link_missing
check "still not ready" [ "$(vmf vfp .ready)" = false ]
ip link set vfp-int up
check "the link comes up: the VFP is ready (told by netlink)" wait_for 60 bash -c "[ \"\$('$VMXRUN' status router --json | jq -r '.vms[1].ready')\" = true ]"
VFP=$(vmf vfp .pid)

# --- restart.scope: deployment: the VFP dies, both restart in order --------------------
before=$(log_lines)
kill -9 "$VFP"
check "after the VFP's crash both run again, new QEMUs, both ready" wait_for 300 both_new_and_ready "$VCP" "$VFP"
check "the VCP was stopped gracefully for it" logged_before "vfp: QEMU was killed by signal 9" "vcp: stopped, to be started again" "$before"
check "and started again before the VFP" in_order
check "each counts one more restart" [ "$(status_json | jq -c '[.vms[].restarts]')" = "[1,2]" ]
VCP=$(vmf vcp .pid)
VFP=$(vmf vfp .pid)

# --- vmxrun restart: stop in reverse order, start in order --------------------------------
before=$(log_lines)
"$VMXRUN" restart router --timeout 60 >"$WORK/restart.out" 2>&1
check "restart exits 0 once both run again" [ $? -eq 0 ]
check "both are new QEMUs" bash -c "! kill -0 $VCP 2>/dev/null && ! kill -0 $VFP 2>/dev/null"
check "the VFP was stopped before the VCP" logged_before "vfp: stopped, to be started again" "vcp: stopped, to be started again" "$before"
check "and started after it was ready" wait_for 180 in_order
"$VMXRUN" restart router --vm nosuch >/dev/null 2>&1
check "restart of a VM the deployment does not have exits 1" [ $? -eq 1 ]
"$VMXRUN" restart 2>/dev/null
check "restart without a deployment is a usage error (2)" [ $? -eq 2 ]
"$VMXRUN" restart nosuch-deployment >/dev/null 2>&1
check "restart of a deployment that is not running exits 4" [ $? -eq 4 ]

# --- vmxrun pin survives an adoption ----------------------------------------------------
wait_for 180 both_new_and_ready "$VCP" "$VFP"
VCP=$(vmf vcp .pid)
"$VMXRUN" pin router --vm vcp --vcpu 0 --cpus 1
vcpu_tid() { vmf vcp '.vcpus[] | select(.index == 0) | .thread_id'; }
TID=$(vcpu_tid)
check "pin moves the VCP's vCPU 0 to CPU 1" [ "$(allowed "$VCP" "$TID")" = 1 ]
SUP=$(status_json | jq -r .supervisor_pid)
kill -9 "$SUP"
wait_for 20 gone "$SUP"
check "a new supervisor adopts the same VCP" [ "$(vmf vcp .pid)" = "$VCP" ]
check "the supervisor is another one" [ "$(status_json | jq -r .supervisor_pid)" != "$SUP" ]
check "the vCPU still runs on CPU 1 (the kernel says so)" [ "$(allowed "$VCP" "$TID")" = 1 ]
check "and status holds it against the pinning vmxrun pin set" \
        [ "$(vmf vcp '.vcpus[] | select(.index == 0) | .pin + " " + .planned_cpus')" = "pinned 1" ]

# --- the profile edited while the supervisor was dead: status shows it, restart applies it ---
VFP=$(vmf vfp .pid)
SUP=$(status_json | jq -r .supervisor_pid)
kill -9 "$SUP"
wait_for 20 gone "$SUP" # not status: it would adopt the VMs before the edit
cp "$WORK/router.yaml" "$WORK/router.yaml.orig"
# The VFP's memory only (the second "size: 192MiB"): the VMs' own options, same host objects.
awk '/size: 192MiB/ && ++n == 2 { sub(/192MiB/, "224MiB") } { print }' "$WORK/router.yaml.orig" >"$WORK/router.yaml"
# And behind its back, the VFP's tap deleted and made again: same name, another device.
ip link del vfp-int && ip tuntap add dev vfp-int mode tap
check "status shows how the adopted VFP differs from the edited profile" \
        bash -c "'$VMXRUN' status router --json 2>/dev/null | jq -e '.vms[1].differs_from_profile | index(\"-m 192M -> 224M\")' >/dev/null"
check "and that its tap is not the one vmxrun made (the state file's ifindex)" \
        bash -c "'$VMXRUN' status router --json | jq -e '.vms[1].differs_from_profile | any(startswith(\"tap vfp-int: ifindex \"))' >/dev/null"
ip link del vfp-int # restart makes the VFP's tap anew
"$VMXRUN" restart router --vm vfp --timeout 60 >/dev/null 2>&1
check "restart --vm vfp applies it" [ $? -eq 0 ]
NEWVFP=$(vmf vfp .pid)
check "the new VFP QEMU runs with -m 224M (its /proc cmdline)" \
        bash -c "[ '$NEWVFP' != '$VFP' ] && tr '\\0' ' ' </proc/$NEWVFP/cmdline | grep -q -- '-m 224M'"
check "status shows no difference any more" [ "$(vmf vfp '.differs_from_profile // [] | length')" = 0 ]
check "the VCP was not touched" [ "$(vmf vcp .pid)" = "$VCP" ]
# A change of host objects (a tap's name) is not applied by restart: stop and start do that.
sed -i 's/tap: vfp-int,/tap: vfp-int2,/' "$WORK/router.yaml"
before=$(log_lines)
"$VMXRUN" restart router --vm vfp --timeout 60 >/dev/null 2>&1
check "restart with a changed tap restarts the VFP as it ran, and says why" \
        bash -c "[ $? -eq 0 ] && tail -n +$((before + 1)) '$LOG' | grep -q 'changed more than the VMs. own options' && ip link show vfp-int >/dev/null 2>&1"
mv "$WORK/router.yaml.orig" "$WORK/router.yaml"

# --- restart.scope: self: the VFP dies, only the VFP restarts ------------------------------
cp "$WORK/router.yaml" "$WORK/router.yaml.orig"
sed -i 's/scope: deployment}/scope: self}/' "$WORK/router.yaml"
before=$(log_lines)
"$VMXRUN" restart router --vm vfp --timeout 60 >/dev/null 2>&1
check "restart applies a change of restart.scope alone (not on the command line)" \
        bash -c "[ $? -eq 0 ] && tail -n +$((before + 1)) '$LOG' | grep -q 'vfp: restarting with .* as it is now'"
VFP=$(vmf vfp .pid)
VCP_CREATED=$(vmf vcp .stages.created)
kill -9 "$VFP"
vfp_back() { local p; p=$(vmf vfp .pid); [ -n "$p" ] && [ "$p" != "$VFP" ] && [ "$p" != 0 ] && [ "$(vmf vfp .ready)" = true ]; }
check "with scope self, the dead VFP is restarted" wait_for 180 vfp_back
check "and only it: the VCP is the same QEMU, started when it was" \
        [ "$(vmf vcp .pid)/$(vmf vcp .stages.created)" = "$VCP/$VCP_CREATED" ]
mv "$WORK/router.yaml.orig" "$WORK/router.yaml"

# --- stop in reverse order ---------------------------------------------------------------
before=$(log_lines)
"$VMXRUN" stop router --timeout 60 >/dev/null
check "stop exits 0" [ $? -eq 0 ]
check "the VFP stopped before the VCP was asked to" logged_before "vfp: stopped" "vcp: powering off" "$before"
check "no QEMU of the pair is left" bash -c "! pgrep -f 'guest=v[cf]p,.*$RT' >/dev/null"
check "the bridge is gone" bash -c "! ip link show br-int-r >/dev/null 2>&1"

# --- start --wait names what a VM that starts after another still waits for -----------------
cat >"$WORK/never.yaml" <<NEVER
name: never
vms:
  - name: vcp
    accel: tcg
    memory: {size: 64MiB}
    boot: {kernel: $GUEST_DIR/vmlinuz, initrd: $GUEST_DIR/initrd.img, cmdline: "console=ttyS0 quiet"}
    ready: {qmp-status: suspended, timeout: 2s}
  - name: vfp
    after: vcp
    accel: tcg
    memory: {size: 64MiB}
    boot: {kernel: $GUEST_DIR/vmlinuz, initrd: $GUEST_DIR/initrd.img, cmdline: "console=ttyS0 quiet"}
    ready: {timeout: 2s}
NEVER
"$VMXRUN" start "$WORK/never.yaml" --wait >"$WORK/never.out" 2>&1
check "start --wait when the VM the VFP starts after is never ready exits 1" [ $? -eq 1 ]
check "and says what the VFP waits for" grep -q "vfp: not started after 4s: waiting for vcp to be ready" "$WORK/never.out"
check "status shows the VFP waiting" [ "$("$VMXRUN" status never --json | jq -r '.vms[1].state')" = waiting ]
"$VMXRUN" stop never --force >/dev/null 2>&1
check "stop ends a deployment with a VM still waiting" [ $? -eq 0 -a ! -e "$RT/never" ]

# Restarts, adoption and replans all ran under the supervisor's seccomp filter: none made a call outside it.
check "no supervisor ended on a call outside its seccomp allow-list" \
        bash -c "! cat '$VMXRUN_LOG_DIR'/*.log | grep 'outside its seccomp allow-list'"

verdict
