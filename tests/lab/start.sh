# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
#
# start.sh VMXRUN PF: the SR-IOV lab's "start" VM (tests/lab/run), run with
# /bin/sh inside the lab VM, chrooted into the host's root: `vmxrun start` of
# a profile with two VF NICs on the igb PF (vf 0 with the seed's PF settings,
# and vf: auto from a list of PFs), the PF without VFs before (start creates
# them: the plan holds placeholders), QEMU 7.2 from the host's root under TCG
# (firmware only, 64 MiB), then a QEMU crash and restart, then `vmxrun stop`,
# and the host compared with what it was (sriov_numvfs 0 again). Prints "LAB ok WHAT" or
# "LAB FAIL WHAT: DETAIL" per check.
set -u
V=$1
pf=$2
export VMXRUN_RUNTIME_DIR=/run/vx
dev=/sys/class/net/$pf/device
# shellcheck source=tests/lab/check-lib.sh
. "$(dirname "$0")/check-lib.sh"
carrier() { [ "$(cat "/sys/class/net/$pf/carrier" 2>/dev/null)" = 1 ]; }
vf_bdf() { basename "$(readlink "$dev/virtfn$1")"; }
driver() { d=$(readlink "/sys/bus/pci/devices/$1/driver") && basename "$d"; }

# Everything vmxrun changes and must give back; VF settings as iproute2 shows
# them, PF flags as the kernel keeps them (sysfs flags: up, promisc, allmulti).
host_state() {
        echo "sriov_numvfs $(cat "$dev/sriov_numvfs")"
        echo "pf flags $(cat "/sys/class/net/$pf/flags") mtu $(cat "/sys/class/net/$pf/mtu")"
        for i in 0 1; do
                b=$(vf_bdf $i) || continue
                echo "vf $i $b driver $(driver "$b") override $(cat "/sys/bus/pci/devices/$b/driver_override")"
        done
        ip link show "$pf" | sed -n 's/^ *\(vf [0-9].*\)/\1/p'
}

# The lab's host before vmxrun: the PF up (a VF rate needs its link), no VFs
# (start creates them; the plan has placeholders for their addresses).
ip link set "$pf" up
wait_for 120 carrier || bad "the PF has no carrier"
before=$(host_state)

cat >/tmp/vf.yaml <<YAML
name: vflab
vms:
  - name: v1
    accel: tcg
    cpu: qemu64
    qemu: /usr/bin/qemu-system-x86_64
    memory: {size: 64MiB}
    nics:
      - {type: vf, pf: $pf, vf: 0, mac: "02:04:17:01:02:01", vlan: 100, rate: 100, spoofchk: off, trust: on,
         pf-settings: {promisc: on, allmulti: on, mtu: 2000}}
      - {type: vf, pf: [p9p9, $pf], vf: auto, mac: "02:04:17:01:02:02"}
YAML

$V cmdline /tmp/vf.yaml >/tmp/cmdline.txt 2>&1
if grep -qF "vfio-pci,host=@$pf/vf0@," /tmp/cmdline.txt && grep -qF "vfio-pci,host=@p9p9,$pf/auto:nics[1]@," /tmp/cmdline.txt &&
        grep -q "has no VFs yet: start creates them" /tmp/cmdline.txt && ! grep -q INCOMPLETE /tmp/cmdline.txt; then
        ok "the plan is complete, with placeholders for the VFs start creates and picks"
else
        bad "the plan is complete, with placeholders for the VFs start creates and picks: $(grep -E 'vfio-pci|INCOMPLETE|note' /tmp/cmdline.txt)"
fi
memlock=$($V cmdline /tmp/vf.yaml --json 2>/dev/null | jq -r '.vms[0].memlock')
want=$(((64 + 1024) * 1024 * 1024))
expect "the plan raises RLIMIT_MEMLOCK to guest RAM + 1 GiB" "$memlock" [ "$memlock" = "$want" ]

# The pre-flight on a host with a real (emulated) IOMMU: every passthrough check passes.
pre=$($V doctor /tmp/vf.yaml --no-probe --json 2>/dev/null | jq -c \
        '[.checks[] | select(.id == "iommu" or .id == "iommu-cmdline" or .id == "interrupt-remapping"
          or .id == "vfio-pci" or .id == "memlock" or .id == "plan") | "\(.id)=\(.status)"]')
expect "doctor PROFILE: IOMMU, intel_iommu=on, interrupt remapping, vfio-pci, memlock, plan ok" "$pre" \
        [ "$pre" = '["plan=ok","memlock=ok","iommu-cmdline=ok","iommu=ok","interrupt-remapping=ok","vfio-pci=ok"]' ]

if $V start /tmp/vf.yaml >/tmp/start.out 2>&1; then ok "vmxrun start"; else
        bad "vmxrun start: $(tr '\n' ' ' </tmp/start.out)"
        cat /tmp/start.out
        exit 1
fi

status() { $V status vflab --json 2>/dev/null; }
qemu_pid() { status | jq -r '.vms[0].pid'; }
pid=$(qemu_pid)
numvfs=$(cat "$dev/sriov_numvfs")
expect "start created the VFs (sriov_numvfs 0 to 2: vf 0, and one for vf: auto)" "$numvfs" [ "$numvfs" = 2 ]
vf0=$(vf_bdf 0)
vf1=$(vf_bdf 1)
expect "VF 0 is on vfio-pci while the VM runs" "$(driver "$vf0")" [ "$(driver "$vf0")" = vfio-pci ]
expect "vf: auto took VF 1, on vfio-pci" "$(driver "$vf1")" [ "$(driver "$vf1")" = vfio-pci ]
args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
case $args in
*"vfio-pci,host=$vf0,id=hostdev0"*"vfio-pci,host=$vf1,id=hostdev1"*) ok "QEMU got both addresses in place of the placeholders" ;;
*) bad "QEMU got both addresses in place of the placeholders: $args" ;;
esac
flags=$(cat "/sys/class/net/$pf/flags")
mtu=$(cat "/sys/class/net/$pf/mtu")
expect "pf-settings: the PF is promiscuous and all-multicast, MTU 2000" "flags $flags mtu $mtu" \
        [ $((flags & 0x300)) = 768 -a "$mtu" = 2000 ]
line=$(ip link show "$pf" | grep "vf 0 ")
case $line in
*02:04:17:01:02:01*"vlan 100"*"max_tx_rate 100Mbps"*"spoof checking off"*"trust on"*)
        ok "VF 0 set as the profile says (MAC, VLAN, rate, spoofchk off, trust on)" ;;
*) bad "VF 0 set as the profile says (MAC, VLAN, rate, spoofchk off, trust on): $line" ;;
esac
group=$(basename "$(readlink "/sys/bus/pci/devices/$vf0/iommu_group")")
owner=$(stat -c %U "/dev/vfio/$group" 2>/dev/null)
expect "/dev/vfio/<group> belongs to QEMU's user" "/dev/vfio/$group is ${owner:-missing}" [ "$owner" = vmxrun-qemu ]
lim=$(sed -n 's/^Max locked memory *\([0-9]*\) .*/\1/p' "/proc/$pid/limits" 2>/dev/null)
expect "QEMU's RLIMIT_MEMLOCK is guest RAM + 1 GiB" "pid $pid has ${lim:-?}" [ "$lim" = "$want" ]
claim=$(cat "/run/vx/.shared/vfio/claims/$vf0" "/run/vx/.shared/vfio/claims/$vf1" 2>/dev/null | tr '\n' ' ')
expect "both VFs are claimed in the ledger by the deployment" "$(ls /run/vx/.shared/vfio/claims 2>&1)" \
        [ "$claim" = "vflab vflab " ]

st=$(status | jq -c '.vms[0].nics[0] | [.pf, .vf, .pci_address, .driver, .mac, .vlan, .max_rate_mbps, .spoofchk, .trust]')
expect "status --json shows the VF as the host has it" "$st" \
        [ "$st" = "[\"$pf\",0,\"$vf0\",\"vfio-pci\",\"02:04:17:01:02:01\",100,100,false,true]" ]
st=$(status | jq -c '.vms[0].nics[1] | [.pf, .vf, .pci_address, .driver, .mac, .error]')
expect "status --json shows which VF and PF vf: auto picked" "$st" \
        [ "$st" = "[\"$pf\",1,\"$vf1\",\"vfio-pci\",\"02:04:17:01:02:02\",null]" ]
sgroup=$(status | jq -r '.vms[0].nics[0].iommu_group')
expect "status --json names the VF's IOMMU group" "$sgroup, not $group" [ "$sgroup" = "$group" ]

doc=$($V doctor --no-probe --json | jq -c --arg pf "$pf" \
        '[.iommu.groups > 0, .iommu.vfio_pci, (.sriov_pfs[] | select(.pf == $pf) | .num_vfs, .vfs[0].held_by, .vfs[1].held_by)]')
expect "doctor: IOMMU on, vfio-pci registered, the PF with 2 VFs, both held by the deployment" "$doc" \
        [ "$doc" = '[true,"registered",2,"vflab","vflab"]' ]

has_vf() { $V qmp vflab --vm v1 query-pci >/tmp/pci.json 2>&1 && grep -q '"device": 4298' /tmp/pci.json &&
        grep -q '"vendor": 32902' /tmp/pci.json; }
if has_vf; then ok "query-pci shows the VF (8086:10ca)"; else bad "query-pci shows the VF (8086:10ca): $(head -c 300 /tmp/pci.json)"; fi

kill -9 "$pid"
restarted() { p=$(qemu_pid); [ -n "$p" ] && [ "$p" != null ] && [ "$p" != 0 ] && [ "$p" != "$pid" ] &&
        [ "$(status | jq -r '.vms[0].state')" = running ]; }
if wait_for 300 restarted; then ok "QEMU killed with -9 is restarted"; else bad "QEMU killed with -9 is restarted: $(status)"; fi
if wait_for 60 has_vf; then ok "the restarted QEMU has the VF (query-pci 8086:10ca)"; else
        bad "the restarted QEMU has the VF (query-pci 8086:10ca): $(head -c 300 /tmp/pci.json)"; fi

if $V stop vflab --force >/tmp/stop.out 2>&1; then ok "vmxrun stop"; else bad "vmxrun stop: $(tr '\n' ' ' </tmp/stop.out)"; fi
gone() { ! status >/dev/null; }
wait_for 120 gone || bad "the deployment is still there after stop"
after=$(host_state)
if [ "$before" = "$after" ]; then
        ok "after stop: drivers, driver_override, VF settings, PF flags and sriov_numvfs as before"
else
        bad "after stop: drivers, driver_override, VF settings, PF flags and sriov_numvfs as before"
        echo "before:"; echo "$before"; echo "after:"; echo "$after"
fi
if [ ! -e "/run/vx/.shared/vfio/claims/$vf0" ] && [ ! -e "/run/vx/.shared/vfio/claims/$vf1" ] &&
        [ ! -e "/run/vx/.shared/vfio/pfs/$pf.json" ]; then
        ok "after stop: the claim is released, the PF's record handed back"
else
        bad "after stop: the claim is released, the PF's record handed back: $(ls -R /run/vx/.shared/vfio)"
fi
[ "$(cat "$dev/sriov_numvfs")" = 0 ] || echo 0 >"$dev/sriov_numvfs"
[ "$fails" = 0 ]
