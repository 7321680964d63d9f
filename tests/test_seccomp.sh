#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# End-to-end, the supervisor's seccomp filter (issue 11): under real QEMU
# (TCG), the supervisor of a started deployment shows Seccomp 2; the first
# QEMU is started before the filter (by the supervisor, before the spawner
# exists: off the start's critical path) and a QEMU restarted after a crash
# by the spawner, so the restarted one runs under exactly as many filters as
# the first one (its own -sandbox), not under the supervisor's too; the
# supervisor has dropped CAP_SETUID, CAP_SETGID and CAP_SETPCAP, which only
# the spawner keeps, and a restarted QEMU still runs as its own user; status,
# pin, restart and stop still work. A system call
# it has no use for (mount; VMXRUN_TEST_SECCOMP_PROBE makes it in the running
# supervisor) ends the supervisor with a message that names the call, while
# the VM runs on and the next command adopts it. The same start with
# VMXRUN_SECCOMP=0 shows the probe answered by the kernel instead (ENOENT,
# ESRCH), so the end above is the filter's.
#
# Needs root, qemu-system-x86_64, jq and the test guest (guest/build.sh).
set -u

# shellcheck source=tests/check-lib.sh
. "$(dirname "$0")/check-lib.sh"
need_qemu_guest
need_cpus 2 "the demo pins two vCPUs to two host CPUs"
grep -q '^Seccomp_filters:' /proc/self/status || skip "this kernel does not show Seccomp_filters (5.9 or later does)"

e2e_dirs seccomp

cleanup() {
        "$VMXRUN" stop sc --force >/dev/null 2>&1
        pkill -9 -f "guest=guest1,.*$RT" 2>/dev/null
        rm -rf "$RT" "$RT.log" "$WORK"
}
trap cleanup EXIT

sed -e "s|/var/cache/vmxrun/guest|$GUEST_DIR|" -e 's/^name: demo/name: sc/' \
        "$VX_SOURCE_ROOT/profiles/demo.yaml" >"$WORK/sc.yaml"
status_json() { "$VMXRUN" status sc --json 2>/dev/null; }
qemu_pid() { status_json | jq -r '.vms[0].pid'; }
sup_pid() { status_json | jq -r '.supervisor_pid'; }
field() { sed -n "s/^$2:\\s*//p" "/proc/$1/status"; }
parent_of() { awk '{print $4}' "/proc/$1/stat"; }
# CAP_SETGID (6), CAP_SETUID (7), CAP_SETPCAP (8): the spawner's, to start QEMU as its user; not the supervisor's.
setid_caps() { # setid_caps PID SET: those bits of CapEff, CapPrm or CapBnd, as "876" (empty: none)
        local mask bits="" bit
        mask=$(field "$1" "$2") && [ -n "$mask" ] || return 1
        for bit in 8 7 6; do (((16#$mask >> bit) & 1)) && bits=$bits$bit; done
        echo "$bits"
}
lacks_setid_caps() { # lacks_setid_caps PID: in none of its sets
        local set
        for set in CapEff CapPrm CapBnd; do [ "$(setid_caps "$1" $set)" = "" ] || return 1; done
}

# --- under the filter ------------------------------------------------------------
"$VMXRUN" start "$WORK/sc.yaml" 2>"$WORK/start.err"
check "start exits 0" [ $? -eq 0 ]
SUP=$(sup_pid)
PID=$(qemu_pid)
check "the supervisor runs under a seccomp filter (Seccomp 2)" [ "$(field "$SUP" Seccomp)" = 2 ]
check "and with no_new_privs" [ "$(field "$SUP" NoNewPrivs)" = 1 ]
check "the first QEMU, started before the filter, is the supervisor's child" [ "$(parent_of "$PID")" = "$SUP" ]
SPAWNER=$(pgrep -P "$SUP" -x vmxrun-spawner)
check "the spawner is a child of the supervisor" [ -n "$SPAWNER" ]
check "the spawner has no filter of ours" [ "$(field "$SPAWNER" Seccomp_filters)" = "$(field $$ Seccomp_filters)" ]
check "the supervisor has dropped CAP_SETUID, CAP_SETGID, CAP_SETPCAP (effective, permitted, bounding)" \
        lacks_setid_caps "$SUP"
check "the spawner keeps them (CapEff bits 8, 7, 6)" [ "$(setid_caps "$SPAWNER" CapEff)" = 876 ]
QEMU_UID=$(field "$PID" Uid | awk '{print $1}')
FIRST=$(field "$PID" Seccomp_filters)
check "QEMU runs under its own -sandbox (Seccomp 2, $FIRST filters)" [ "$(field "$PID" Seccomp)" = 2 ]
check "status works under the filter" bash -c "'$VMXRUN' status sc >/dev/null"
check "pin works under the filter" "$VMXRUN" pin sc --vcpu 0 --cpus 0
check "qmp works under the filter" bash -c "'$VMXRUN' qmp sc query-status | jq -e '.status == \"running\"' >/dev/null"

kill -9 "$PID"
new_pid() { local p; p=$(qemu_pid); [ -n "$p" ] && [ "$p" != null ] && [ "$p" != 0 ] && [ "$p" != "$PID" ] &&
        [ "$(status_json | jq -r '.vms[0].state')" = running ]; }
check "QEMU killed with -9 is restarted by the filtered supervisor" wait_for 60 new_pid
PID2=$(qemu_pid)
check "the crash is told by its wait status, which the supervisor reaped" \
        bash -c "'$VMXRUN' status sc --json | jq -r '.vms[0].last_error // \"\"' | grep -q 'signal 9' ||
                grep -q 'QEMU was killed by signal 9' '$RT.log/sc.log'"
check "the restarted QEMU runs under as many filters as the first ($FIRST), not the supervisor's too" \
        [ "$(field "$PID2" Seccomp_filters)" = "$FIRST" ]
check "and was started by the spawner" [ "$(parent_of "$PID2")" = "$SPAWNER" ]
check "as QEMU's own user like the first (uid $QEMU_UID), the supervisor without CAP_SETUID" \
        [ "$(field "$PID2" Uid | awk '{print $1}')" = "$QEMU_UID" ]
kill -9 "$PID2"
new_pid3() { local p; p=$(qemu_pid); [ -n "$p" ] && [ "$p" != null ] && [ "$p" != 0 ] && [ "$p" != "$PID2" ] &&
        [ "$(status_json | jq -r '.vms[0].state')" = running ]; }
check "a QEMU the spawner started, killed, is restarted too" wait_for 60 new_pid3
check "its wait status came back through the spawner" \
        bash -c "[ \"\$(grep -c 'QEMU was killed by signal 9' '$RT.log/sc.log')\" -ge 2 ]"
check "and the restart came from the same spawner, under as many filters" \
        bash -c "[ $(parent_of "$(qemu_pid)") = $SPAWNER ] && [ \"\$(sed -n 's/^Seccomp_filters:\s*//p' /proc/$(qemu_pid)/status)\" = $FIRST ]"
check "the supervisor is the same process" [ "$(sup_pid)" = "$SUP" ]
"$VMXRUN" stop sc --force >/dev/null
check "stop works under the filter" [ $? -eq 0 ]
check "the supervisor and the spawner are gone" wait_for 30 bash -c "! kill -0 $SUP 2>/dev/null && ! kill -0 $SPAWNER 2>/dev/null"
check "the supervisor's log has no refused call" bash -c "! grep -q 'outside its seccomp allow-list' '$RT.log/sc.log'"
check "nor a capability drop that failed (start's stderr neither: the first drop comes before the start is over)" \
        bash -c "! cat '$WORK/start.err' '$RT.log/sc.log' | grep -q 'Failed to drop'"

# --- a call outside the list ends the supervisor, not the VM ----------------------
VMXRUN_TEST_SECCOMP_PROBE=1 "$VMXRUN" start "$WORK/sc.yaml" 2>"$WORK/probe.err"
check "start with the probe exits 0 (the probe runs once the VM runs)" [ $? -eq 0 ]
PID=$(jq -r '.vms[0].pid' "$RT/sc/state.json")
SUP=$(jq -r '.supervisor_pid' "$RT/sc/state.json")
check "the probe's mount ends the supervisor" wait_for 30 bash -c "! kill -0 $SUP 2>/dev/null"
said() { cat "$WORK/probe.err" "$RT.log/sc.log" 2>/dev/null | grep -q "$1"; }
check "saying which call (mount, 165 on x86_64) and that the VMs keep running" \
        said "system call $([ "$(uname -m)" = x86_64 ] && echo 165 || echo '[0-9]*') is outside its seccomp allow-list.*Its VMs keep running"
check "the probe's second call (ptrace) was never made" bash -c "! cat '$WORK/probe.err' '$RT.log/sc.log' | grep -q 'seccomp probe: mount:'"
check "the VM's QEMU runs on" kill -0 "$PID"
# The kernel's record of the trap (SECCOMP_FILTER_FLAG_LOG), where this machine lets us read it.
if [ "$(uname -m)" = x86_64 ] && dmesg >/dev/null 2>&1; then
        logged() { dmesg | grep -q "type=1326 .* pid=$SUP .* syscall=165 "; }
        if wait_for 10 logged; then
                ok "the kernel logged the trapped mount (syscall 165) of pid $SUP"
        elif dmesg | grep -q 'callbacks suppressed'; then
                # Without auditd the kernel prints audit records rate-limited (printk_ratelimit).
                echo "SKIP - the kernel's seccomp log: the kernel's rate limit dropped records"
        else
                fail "the kernel logged the trapped mount (syscall 165) of pid $SUP"
        fi
else
        echo "SKIP - the kernel's seccomp log: dmesg cannot be read here (or not x86_64)"
fi
check "the next command adopts the VM: the same QEMU, a new supervisor" \
        bash -c "[ \"\$('$VMXRUN' status sc --json | jq -r '.vms[0].pid')\" = $PID ] && [ \"\$('$VMXRUN' status sc --json | jq -r .supervisor_pid)\" != $SUP ]"
check "under its filter too" [ "$(field "$(sup_pid)" Seccomp)" = 2 ]
check "and without CAP_SETUID, CAP_SETGID, CAP_SETPCAP" lacks_setid_caps "$(sup_pid)"
"$VMXRUN" stop sc --force >/dev/null
check "and stops it" [ $? -eq 0 ]

# --- without it: the same probe is answered by the kernel -------------------------
VMXRUN_SECCOMP=0 VMXRUN_TEST_SECCOMP_PROBE=1 "$VMXRUN" start "$WORK/sc.yaml" 2>"$WORK/start0.err"
check "VMXRUN_SECCOMP=0: start exits 0" [ $? -eq 0 ]
check "and the supervisor has no filter" [ "$(field "$(sup_pid)" Seccomp)" = 0 ]
check "and says so" grep -q "runs without its seccomp filter" "$WORK/start0.err"
check "the probe's calls reach the kernel (ENOENT, ESRCH): the end above was the filter's" \
        wait_for 30 grep -q "seccomp probe: mount: No such file or directory; ptrace: No such process" "$RT.log/sc.log"
"$VMXRUN" stop sc --force >/dev/null
"$VMXRUN" start "$WORK/sc.yaml" --no-seccomp 2>"$WORK/start1.err"
check "start --no-seccomp: the same, from the command line" \
        bash -c "[ \"\$(sed -n 's/^Seccomp:\\s*//p' /proc/\$('$VMXRUN' status sc --json | jq -r .supervisor_pid)/status)\" = 0 ] && grep -q 'runs without its seccomp filter' '$WORK/start1.err'"
"$VMXRUN" stop sc --force >/dev/null

verdict
