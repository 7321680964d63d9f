#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `vmxrun start --foreground` as vmxrun@.service runs it (Type=notify): a
# real tiny TCG guest, and a datagram socket in $NOTIFY_SOCKET standing in
# for systemd. READY=1 must come only once the VM runs pinned and its
# ready.console pattern was seen: at the moment READY=1 arrives, the listener
# asks `vmxrun status` and the kernel (/proc) what holds. STATUS= lines follow
# the VMs, WATCHDOG=1 keeps coming at half of $WATCHDOG_USEC, and a stop
# sends STOPPING=1 before the supervisor exits.
set -u
# shellcheck source=tests/check-lib.sh
. "$(dirname "$0")/check-lib.sh"
PY=/usr/bin/python3
[ "$(id -u)" = 0 ] || skip "needs root"
[ -x $PY ] || skip "no /usr/bin/python3"
need_cpus 2 "the demo pins two vCPUs to two host CPUs"
need_qemu_guest

WORK=$(mktemp -d /tmp/vx-notify-XXXXXX)
# QEMU runs as vmxrun-qemu: it must get through to the runtime directory.
chmod 755 "$WORK"
export VMXRUN_RUNTIME_DIR=$WORK/run VMXRUN_CONFIG_DIR=$WORK/etc
sup=
listener=
cleanup() {
        "$VMXRUN" stop demo --force >/dev/null 2>&1
        [ -z "$sup" ] || kill -9 "$sup" 2>/dev/null
        [ -z "$listener" ] || kill "$listener" 2>/dev/null
        rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$VMXRUN_CONFIG_DIR"
sed "s|/var/cache/vmxrun/guest|$GUEST_DIR|" "$VX_SOURCE_ROOT/profiles/demo.yaml" >"$VMXRUN_CONFIG_DIR/demo.yaml"

# The stand-in for systemd: one line per datagram; on READY=1 it records what
# status and the kernel say at that moment, before reading anything else.
cat >"$WORK/listen.py" <<'PYEOF'
import os, socket, subprocess, sys
path, log, vmxrun = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
out = open(log, "a", buffering=1)
out.write("LISTENING\n")
while True:
    msg = s.recv(4096).decode()
    out.write(msg.replace("\n", "\\n") + "\n")
    if msg == "READY=1":
        st = subprocess.run([vmxrun, "status", "demo", "--json"], capture_output=True, text=True).stdout
        open(log + ".status-at-ready", "w").write(st)
PYEOF
$PY "$WORK/listen.py" "$WORK/notify.sock" "$WORK/notify.log" "$VMXRUN" &
listener=$!
wait_for 30 grep -q LISTENING "$WORK/notify.log" 2>/dev/null || { echo "FAIL - the listener did not start"; exit 1; }

# stderr is "the journal": JOURNAL_STREAM names its device:inode, as systemd sets it.
: >"$WORK/sup.log"
NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=400000 JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/sup.log") \
        "$VMXRUN" start --foreground demo >"$WORK/sup.log" 2>&1 &
sup=$!
wait_for 300 grep -qx 'READY=1' "$WORK/notify.log"
check "READY=1 arrives" grep -qx 'READY=1' "$WORK/notify.log"
wait_for 30 test -s "$WORK/notify.log.status-at-ready"
at_ready=$(cat "$WORK/notify.log.status-at-ready" 2>/dev/null)
check "when READY=1 arrives, the VM is running" [ "$(jq -r '.vms[0].state' <<<"$at_ready")" = running ]
check "... and its ready.console pattern was seen" [ "$(jq -r '.vms[0].ready' <<<"$at_ready")" = true ]
check "... and its vCPUs are pinned as the profile says (1, 0)" \
        [ "$(jq -r '[.vms[0].vcpus[] | .cpus] | join(",")' <<<"$at_ready")" = "1,0" ]
check "READY=1 is sent once" [ "$(grep -cx 'READY=1' "$WORK/notify.log")" = 1 ]
check "STATUS= before READY=1 says the VM was not ready yet" \
        bash -c "sed '/^READY=1\$/q' '$WORK/notify.log' | grep -qx 'STATUS=1/1 VM running: guest1 running (not ready)'"
check "STATUS= then says it is running" grep -qx 'STATUS=1/1 VM running: guest1 running' "$WORK/notify.log"
wait_for 30 bash -c "[ \$(grep -cx 'WATCHDOG=1' '$WORK/notify.log') -ge 2 ]"
check "WATCHDOG=1 keeps coming (every 200 ms for WATCHDOG_USEC=400000)" \
        [ "$(grep -cx 'WATCHDOG=1' "$WORK/notify.log")" -ge 2 ]
check "the supervisor's lines carry syslog priorities for the journal" grep -q '^<6>guest1: ' "$WORK/sup.log"
check "... and no 'vmxrun: ' prefix (the journal names the program)" bash -c "! grep -q '^vmxrun: ' '$WORK/sup.log'"

"$VMXRUN" stop demo >/dev/null 2>&1
check "stop (by name, as ExecStop= does) exits 0" [ $? -eq 0 ]
wait_for 60 bash -c "! kill -0 $sup 2>/dev/null"
check "the foreground supervisor exits after the stop" bash -c "! kill -0 $sup 2>/dev/null"
wait "$sup"
check "... with status 0" [ $? -eq 0 ]
sup=
check "STOPPING=1 was sent" grep -qx 'STOPPING=1' "$WORK/notify.log"
check "... after STATUS= said the VM is stopping" \
        bash -c "sed '/^STOPPING=1\$/q' '$WORK/notify.log' | grep -qx 'STATUS=1/1 VM running: guest1 stopping' ||
                 sed '/^STOPPING=1\$/q' '$WORK/notify.log' | grep -qx 'STATUS=0/1 VM running: guest1 stopping'"
grep -v '^WATCHDOG=1$' "$WORK/notify.log" | sed 's/^/  | /'

verdict
