#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# End-to-end host networking: `vmxrun start profiles/lab-bridge.yaml` inside a
# fresh network namespace creates the bridge and two taps, the two test guests
# ping each other through them (typed into guest1's serial console), `status`
# shows the NICs as the kernel has them, and after `stop` the namespace holds
# exactly the links it held before. Then a start that cannot create a tap
# (its name is taken) fails and leaves the namespace as it was.
#
# Assertions read the kernel (`ip -j`) or the guests' own output. Needs root,
# iproute2, qemu-system-x86_64, jq and the test guest (guest/build.sh).
set -u

# shellcheck source=tests/check-lib.sh
. "$(dirname "$0")/check-lib.sh"
command -v ip >/dev/null || skip "iproute2 is not installed"
[ -c /dev/net/tun ] || skip "/dev/net/tun is missing"
need_qemu_guest

NS=vx-lab-$$
ip netns add "$NS" || skip "cannot create a network namespace"
e2e_dirs netlab

in_ns() { ip netns exec "$NS" "$@"; }
cleanup() {
        in_ns "$VMXRUN" stop lab-bridge --force >/dev/null 2>&1
        # Only QEMUs of this run: their command line names this runtime dir.
        for p in $(pgrep -f "qemu-system.*$RT"); do kill -9 "$p"; done
        ip netns del "$NS" 2>/dev/null
        rm -rf "$RT" "$RT.log" "$WORK"
}
trap cleanup EXIT

links() { in_ns ip -j link show | jq -c '[.[].ifname] | sort'; }
link_field() { in_ns ip -j -d link show dev "$1" 2>/dev/null | jq -r ".[0].$2"; }
status_json() { in_ns "$VMXRUN" status lab-bridge --json 2>/dev/null; }

# Types a command line into a VM's serial console and prints what comes back
# for a few seconds. The marker is computed by the guest's shell ($((...))),
# so the echo of the typed line never matches it.
console_run() { # console_run VM SECONDS COMMAND
        { sleep 0.5; printf '\n%s\n' "$3"; sleep "$2"; } | in_ns "$VMXRUN" console lab-bridge --vm "$1" 2>/dev/null
}
guest_ping() { # guest_ping VM ADDRESS: up to 3 tries (ARP and TCG are slow the first time)
        local i
        for i in 1 2 3; do
                console_run "$1" 8 "ping -c1 -W5 $2 >/dev/null && echo PING-OK-\$((40+2))" | grep -q PING-OK-42 && return 0
        done
        return 1
}

sed "s|/var/cache/vmxrun/guest|$GUEST_DIR|" "$VX_SOURCE_ROOT/profiles/lab-bridge.yaml" >"$WORK/lab-bridge.yaml"
before=$(links)

# ---- start inside the namespace ----
if ! in_ns "$VMXRUN" start "$WORK/lab-bridge.yaml" --wait; then
        fail "start lab-bridge"
        cat "$RT"/lab-bridge/*/qemu.log 2>/dev/null
        verdict
        exit 1
fi
ok "start lab-bridge in a fresh network namespace"

check "br-lab is a bridge, up" test "$(link_field br-lab linkinfo.info_kind)/$(link_field br-lab operstate)" = bridge/UP
for t in lab-g1:01 lab-g2:02; do
        tap=${t%%:*}
        check "$tap is a tun device" test "$(link_field "$tap" linkinfo.info_kind)" = tun
        check "$tap is a port of br-lab" test "$(link_field "$tap" master)" = br-lab
        check "$tap has the guest's MAC with first byte fe" test "$(link_field "$tap" address)" = "fe:00:00:00:01:${t##*:}"
        check "$tap has the bridge's MTU" test "$(link_field "$tap" mtu)" = 1500
        check "$tap is up" bash -c "ip netns exec $NS ip -j link show dev $tap | jq -e '.[0].flags | index(\"UP\")' >/dev/null"
done
check "the bridge did not take a tap's MAC below the guests' (fe:...)" \
        bash -c "[[ \$(ip netns exec $NS ip -j link show dev br-lab | jq -r '.[0].address') == fe:* ]]"

json=$(status_json)
check "status shows guest1's NIC live (tap, bridge, MAC, MTU, state)" \
        jq -e '.vms[0].nics[0] | .tap == "lab-g1" and .bridge == "br-lab" and .mac == "fe:00:00:00:01:01"
               and .guest_mac == "02:00:00:00:01:01" and .mtu == 1500 and .up == true and (.tx_packets | type) == "number"' \
        <<<"$json"
check "QEMU holds the taps without CAP_NET_ADMIN" \
        bash -c "grep -q '^CapEff:\s*0*$' /proc/$(jq -r '.vms[0].pid' <<<"$json")/status"

check "guest1 pings guest2 through br-lab" guest_ping guest1 10.0.0.2
check "guest2 pings guest1 through br-lab" guest_ping guest2 10.0.0.1
rx=$(status_json | jq -r '.vms[1].nics[0].tx_packets')
check "the counters moved (lab-g2 tx_packets=$rx)" test "${rx:-0}" -gt 0

# ---- a crashed QEMU gets a new tap on restart ----
old_index=$(link_field lab-g2 ifindex)
kill -9 "$(status_json | jq -r '.vms[1].pid')"
for _ in $(seq 1 100); do
        [ "$(status_json | jq -r '.vms[1].restarts')" -ge 1 ] 2>/dev/null && [ "$(status_json | jq -r '.vms[1].state')" = running ] && break
        sleep 0.3
done
new_index=$(link_field lab-g2 ifindex)
check "after a crash, guest2 runs on a new tap lab-g2 (ifindex $old_index -> $new_index) in br-lab" \
        test -n "$new_index" -a "$new_index" != "$old_index" -a "$(link_field lab-g2 master)" = br-lab

# ---- bind / unbind ----
in_ns ip link add hostnic0 type veth peer name hostnic1
check "bind puts a host interface into a new bridge" in_ns "$VMXRUN" bind lab-bridge hostnic0 bridge1
check "hostnic0 is a port of bridge1" test "$(link_field hostnic0 master)" = bridge1
check "unbind undoes it (bridge1 gone)" bash -c "ip netns exec $NS $VMXRUN unbind lab-bridge hostnic0 &&
        ! ip netns exec $NS ip link show dev bridge1 >/dev/null 2>&1"
in_ns "$VMXRUN" bind lab-bridge hostnic0 bridge1 >/dev/null

# ---- stop: the namespace is as before ----
check "stop lab-bridge" in_ns "$VMXRUN" stop lab-bridge --timeout 30
in_ns ip link del hostnic0
after=$(links)
check "after stop the namespace holds only what was there before ($before)" test "$after" = "$before"
# The host-wide registries stay (the bridge registry and the CPU ledger, each with its lock), empty.
left=$(find "$RT" -mindepth 1 -not -path "$RT/.shared" -not -path "$RT/.shared/lock" -not -path "$RT/.shared/bridges" -not -path "$RT/.shared/cpus" -not -path "$RT/.shared/cpus/lock")
check "nothing left in the runtime dir (${left:-nothing})" test -z "$left"

# ---- the supervisor dies with every VM: stop undoes what they left ----
if in_ns "$VMXRUN" start "$WORK/lab-bridge.yaml" >/dev/null 2>&1; then
        st=$(status_json)
        sup=$(jq -r .supervisor_pid <<<"$st")
        qemus=$(jq -r '.vms[].pid' <<<"$st" | tr '\n' ' ')
        spawner=$(awk '{print $4}' "/proc/${qemus%% *}/stat")
        # shellcheck disable=SC2086 # the pids are words
        kill -9 "$sup" "$spawner" $qemus
        gone() { for p in $sup $qemus; do ! kill -0 "$p" 2>/dev/null || return 1; done; }
        check "the supervisor, its spawner and both QEMUs are killed" wait_for 30 gone
        check "the bridge and the taps stay behind them" test "$(links)" != "$before"
        out=$(in_ns "$VMXRUN" stop lab-bridge 2>&1)
        check "stop exits 0 and says it undid what they left" \
                bash -c "[ $? = 0 ] && grep -q 'the host changes they left are undone' <<<'$out'"
        check "and the namespace is as before" test "$(links)" = "$before"
        left=$(find "$RT" -mindepth 1 -not -path "$RT/.shared" -not -path "$RT/.shared/lock" -not -path "$RT/.shared/bridges" -not -path "$RT/.shared/cpus" -not -path "$RT/.shared/cpus/lock")
        check "and nothing is left in the runtime dir (${left:-nothing})" test -z "$left"
else
        fail "start lab-bridge again (for the supervisor's death)"
fi

# ---- a failed start leaves nothing ----
in_ns ip link add lab-g2 type veth peer name taken-peer
before=$(links)
in_ns "$VMXRUN" start "$WORK/lab-bridge.yaml" --wait 2>"$WORK/err"
rc=$?
check "a start whose tap name is taken fails (exit $rc)" test $rc = 1
check "it says why" grep -q "lab-g2: the name is taken" "$WORK/err"
check "and leaves the namespace as it was (veth untouched, no bridge, no tap)" test "$(links)" = "$before"

verdict
