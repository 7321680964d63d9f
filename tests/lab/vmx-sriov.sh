# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
#
# vmx-sriov.sh DIR: the SR-IOV lab's "vmx" VM (tests/lab/run), run with
# /bin/sh inside the lab VM, chrooted into the host's root. The lab VM is
# shaped like the seed's host where it matters to profiles/vmx-sriov.yaml:
# 16 CPUs in two NUMA nodes (0-7, 8-15), two igb PFs named p3p1 and p2p1
# (no VFs yet), em1 (an e1000e with an address) for br-ext, a 1 GiB page
# reserved on node 1 at boot, and the images under /virtualization on ext4 (cache:
# directsync opens them O_DIRECT). DIR (the lab's directory) holds vmxrun and
# the profile, copied unchanged from profiles/.
#
# The profile runs as shipped but for what the lab's hardware cannot give,
# each a --set (or --accel) on the command line, the file untouched:
#   --accel tcg                     no KVM in the lab VM (TCG in TCG);
#   vms.vfp-vmx1.memory.size=1GiB   the lab VM has 4 GiB, not 16 GiB of 1 GiB pages;
#   vms.vfp-vmx1.nics.2/3.rate=1000 igb is 1 GbE: a VF rate above the link is refused.
#
# Phase "setup" (as root in the 9p root) names the NICs, gives em1 its
# address, mounts the ext4 disk and builds a root of bind mounts with
# /virtualization in it (the 9p root is read-only), then runs phase "run"
# chrooted there: start, pins, devices, a crash and its restart, stop, and
# the host compared with what it was. Prints "LAB ok WHAT" or
# "LAB FAIL WHAT: DETAIL" per check.
set -u
dir=$1
phase=${2:-setup}

if [ "$phase" = setup ]; then
        i=0
        for n in /sys/class/net/eth*; do # in PCI order (guest/init named them so)
                [ -e "$n/device/sriov_totalvfs" ] || continue
                case $i in 0) new=p3p1 ;; 1) new=p2p1 ;; *) continue ;; esac
                ip link set "${n##*/}" name "$new" || echo "LAB FAIL rename ${n##*/} to $new"
                i=$((i + 1))
        done
        for n in /sys/class/net/eth*; do
                [ "$(basename "$(readlink "$n/device/driver")")" = e1000e ] && ip link set "${n##*/}" name em1
        done
        ip link set em1 up && ip addr add 10.0.2.15/24 dev em1 && ip route add default via 10.0.2.2 dev em1 ||
                echo "LAB FAIL em1 with 10.0.2.15/24 and a default route"
        mount -t tmpfs tmpfs /mnt
        for e in /*; do
                n=${e#/}
                [ "$n" = mnt ] && continue
                if [ -L "$e" ]; then cp -P "$e" "/mnt/$n"
                elif [ -d "$e" ]; then mkdir "/mnt/$n" && mount --rbind "$e" "/mnt/$n"; fi
        done
        mkdir /mnt/virtualization
        mount -t ext4 /dev/vda /mnt/virtualization || echo "LAB FAIL mount the ext4 disk at /virtualization"
        exec chroot /mnt /bin/sh "$dir/vmx-sriov.sh" "$dir" run
fi

V=$dir/vmxrun
P=$dir/vmx-sriov.yaml
export VMXRUN_RUNTIME_DIR=/run/vx
# shellcheck source=tests/lab/check-lib.sh
. "$dir/check-lib.sh"
vf_bdf() { basename "$(readlink "/sys/class/net/$1/device/virtfn$2")"; }
driver() { d=$(readlink "/sys/bus/pci/devices/$1/driver") && basename "$d"; }
pages1g() { cat /sys/devices/system/node/node1/hugepages/hugepages-1048576kB/nr_hugepages; }

# The images the profile names, where it names them (the seed's layout), empty.
img=/virtualization/images/vmx_20151102.0
mkdir -p "$img/images" "$img/vmx1" "$img/build/vmx1/images"
if ! { qemu-img create -q -f qcow2 "$img/images/jinstall64-vmx-15.1F-20151104.0-domestic.img" 64M &&
        qemu-img create -q -f qcow2 "$img/vmx1/vmxhdd.img" 64M &&
        qemu-img create -q -f raw "$img/images/metadata_usb.img" 1M &&
        qemu-img create -q -f raw "$img/build/vmx1/images/vFPC-20151102.img" 64M; }; then
        bad "the images could not be made"
fi

# Everything vmxrun changes on this host and must give back.
host_state() {
        for pf in p3p1 p2p1; do
                echo "$pf sriov_numvfs $(cat /sys/class/net/$pf/device/sriov_numvfs) flags $(cat /sys/class/net/$pf/flags)" \
                        "mtu $(cat /sys/class/net/$pf/mtu)"
                ip link show $pf | sed -n 's/^ *\(vf [0-9].*\)/\1/p'
        done
        echo "em1 $(ip -4 -o addr show dev em1 | awk '{print $4}') master $(basename "$(readlink /sys/class/net/em1/master)")"
        ip route show default
        echo "bridges $(ip -o link show type bridge | awk -F': ' '{print $2}' | tr '\n' ' ')"
        echo "taps $(ip -o link show type tun | awk -F': ' '{print $2}' | tr '\n' ' ')"
        echo "1G pages on node 1: $(pages1g)"
        stat -c '%n %U:%G %a' "$img/images/"* "$img/vmx1/"* "$img/build/vmx1/images/"*
        grep hugetlbfs /proc/mounts | awk '{print $2}'
}
before=$(host_state)
carrier() { [ "$(cat /sys/class/net/p3p1/carrier 2>/dev/null)$(cat /sys/class/net/p2p1/carrier 2>/dev/null)" = 11 ]; }

SETS="--accel tcg --set vms.vfp-vmx1.memory.size=1GiB --set vms.vfp-vmx1.nics.2.rate=1000 --set vms.vfp-vmx1.nics.3.rate=1000"
# shellcheck disable=SC2086 # SETS is words
$V doctor "$P" $SETS --no-probe --json >/tmp/doctor.json 2>/tmp/doctor.err
pre=$(jq -r '[.checks[] | select(.status == "fail") | .id + ": " + .message] | join("; ")' /tmp/doctor.json)
n=$(jq '[.checks[] | select(.status == "ok")] | length' /tmp/doctor.json)
expect "doctor vmx-sriov.yaml: no check fails on the lab host" "${pre:-$(cat /tmp/doctor.err)} ($n ok)" \
        [ -z "$pre" -a "${n:-0}" -gt 10 ]

# shellcheck disable=SC2086
if $V start "$P" $SETS ${VX_LAB_VERBOSE:+-v} >/tmp/start.out 2>&1; then ok "vmxrun start profiles/vmx-sriov.yaml"; else
        bad "vmxrun start profiles/vmx-sriov.yaml: $(tr '\n' ' ' </tmp/start.out)"
        echo "the lab host's links and routes at the failure:"; ip -br link; ip -br addr; ip route; ip -6 route
        $V status vmx1 >/dev/null 2>&1 && $V stop vmx1 --force >/dev/null 2>&1
        after=$(host_state)
        if [ "$before" = "$after" ]; then ok "the failed start left the host as it was"; else
                bad "the failed start left the host as it was"; echo "$before"; echo "--"; echo "$after"
        fi
        exit 1
fi
status() { $V status vmx1 --json 2>/dev/null; }
pid_of() { status | jq -r --arg vm "$1" '.vms[] | select(.name == $vm) | .pid'; }
vcp=$(pid_of vcp-vmx1)
vfp=$(pid_of vfp-vmx1)
st=$(status | jq -r '[.vms[].state] | join(",")')
expect "both VMs run (vcp-vmx1, vfp-vmx1)" "$st" [ "$st" = running,running ]

# Pinning as the seed's cpu_affinitize.sh did: VCP vCPU 0 on 15, VFP vCPUs on 11, 12, 13, 8, emulators on 0.
vcpus_of() { $V vcpuinfo vmx1 --vm "$1" --json 2>/dev/null | jq -c '[.vcpus[].cpus]'; }
emulator_of() { $V vcpuinfo vmx1 --vm "$1" --json 2>/dev/null | jq -c '[.emulator[].cpus] | unique'; }
pins="$(vcpus_of vcp-vmx1) $(vcpus_of vfp-vmx1)"
expect "vCPUs pinned as the profile says (15; 11, 12, 13, 8)" "$pins" [ "$pins" = '["15"] ["11","12","13","8"]' ]
emu="$(emulator_of vcp-vmx1) $(emulator_of vfp-vmx1)"
expect "every other QEMU thread of both VMs is on CPU 0" "$emu" [ "$emu" = '["0"] ["0"]' ]

vf0=$(vf_bdf p3p1 0)
vf1=$(vf_bdf p2p1 0)
nv="$(cat /sys/class/net/p3p1/device/sriov_numvfs) $(cat /sys/class/net/p2p1/device/sriov_numvfs)"
expect "start created VF 0 on both PFs (sriov_numvfs 0 to 1)" "$nv" [ "$nv" = "1 1" ]
expect "p3p1's VF 0 and p2p1's VF 0 are on vfio-pci" "$(driver "$vf0") $(driver "$vf1")" \
        [ "$(driver "$vf0") $(driver "$vf1")" = "vfio-pci vfio-pci" ]
args=$(tr '\0' ' ' <"/proc/$vfp/cmdline")
case $args in
*"vfio-pci,host=$vf0,id=hostdev0,bus=pci.0,addr=0x6"*"vfio-pci,host=$vf1,id=hostdev1,bus=pci.0,addr=0x7"*)
        ok "the VFP has both VFs at the seed's slots (0x6, 0x7)" ;;
*) bad "the VFP has both VFs at the seed's slots (0x6, 0x7): $args" ;;
esac
has_vfs() { $V qmp vmx1 --vm vfp-vmx1 query-pci >/tmp/pci.json 2>&1 && [ "$(grep -c '"device": 4298' /tmp/pci.json)" = 2 ]; }
if has_vfs; then ok "query-pci shows two VFs (8086:10ca) in the VFP"; else bad "query-pci shows two VFs: $(head -c 300 /tmp/pci.json)"; fi
for pf in p3p1 p2p1; do
        line=$(ip link show $pf | grep "vf 0 ")
        case $line in
        *02:04:17:01:02:0*"max_tx_rate 1000Mbps"*"spoof checking off"*) ok "$pf vf 0 set as the profile says (MAC, rate, spoofchk off)" ;;
        *) bad "$pf vf 0 set as the profile says: $line" ;;
        esac
        f=$(cat /sys/class/net/$pf/flags)
        expect "$pf up, promiscuous, all-multicast, MTU 2000 (pf-settings)" "flags $f mtu $(cat /sys/class/net/$pf/mtu)" \
                [ $((f & 0x301)) = 769 -a "$(cat /sys/class/net/$pf/mtu)" = 2000 ]
done
m=$(grep -c 'KernelPageSize: *1048576 kB' "/proc/$vfp/smaps")
expect "the VFP's memory is on 1 GiB pages" "$m mappings" [ "$m" -ge 1 ]
expect "one 1 GiB page reserved on node 1 while the VFP runs" "$(pages1g)" [ "$(pages1g)" -ge 1 ]
case $args in *"host-nodes=1,policy=bind"*) ok "the VFP's memory is bound to node 1 (numatune strict, nodeset 1)" ;;
*) bad "the VFP's memory is bound to node 1: $args" ;; esac
br=$(basename "$(readlink /sys/class/net/em1/master)")
expect "em1 is in br-ext, its address moved to the bridge" "$br $(ip -4 -o addr show dev br-ext)" \
        sh -c "[ '$br' = br-ext ] && ip -4 -o addr show dev br-ext | grep -q 10.0.2.15/24"
taps=$(for t in vcp_ext-vmx1 vcp_int-vmx1 vfp_ext-vmx1 vfp_int-vmx1; do
        echo "$t:$(basename "$(readlink /sys/class/net/$t/master 2>/dev/null)")"; done | tr '\n' ' ')
expect "the four taps exist, each on its bridge" "$taps" \
        [ "$taps" = "vcp_ext-vmx1:br-ext vcp_int-vmx1:br-int-vmx1 vfp_ext-vmx1:br-ext vfp_int-vmx1:br-int-vmx1 " ]
lim=$(sed -n 's/^Max locked memory *\([0-9]*\) .*/\1/p' "/proc/$vfp/limits")
expect "the VFP's RLIMIT_MEMLOCK is its RAM + 1 GiB" "$lim" [ "$lim" = $((2 << 30)) ]
nst=$(status | jq -c '[.vms[] | select(.name == "vfp-vmx1") | .nics[] | select(.pci_address) | [.pf, .vf, .pci_address, .driver]]')
expect "status --json shows both VFs: PF, index, address, driver" "$nst" \
        [ "$nst" = "[[\"p3p1\",0,\"$vf0\",\"vfio-pci\"],[\"p2p1\",0,\"$vf1\",\"vfio-pci\"]]" ]

kill -9 "$vfp"
restarted() { p=$(pid_of vfp-vmx1); [ -n "$p" ] && [ "$p" != null ] && [ "$p" != "$vfp" ] &&
        [ "$(status | jq -r '.vms[] | select(.name == "vfp-vmx1") | .state')" = running ]; }
if wait_for 300 restarted; then ok "the VFP killed with -9 is restarted"; else bad "the VFP killed with -9 is restarted: $(status)"; fi
if wait_for 60 has_vfs; then ok "the restarted VFP has both VFs"; else bad "the restarted VFP has both VFs: $(head -c 300 /tmp/pci.json)"; fi
pins=$(vcpus_of vfp-vmx1)
expect "the restarted VFP is pinned again (11, 12, 13, 8)" "$pins" [ "$pins" = '["11","12","13","8"]' ]
expect "the VCP ran on through the VFP's crash" "$(pid_of vcp-vmx1)" [ "$(pid_of vcp-vmx1)" = "$vcp" ]

# The supervisor, its spawner and both QEMUs die at once (kill -9): what they set up on the
# host stays, and only the undo journal and the ledger know it. stop still gives every bit back.
sup=$(status | jq -r .supervisor_pid)
spawner=$(awk '{print $4}' "/proc/$(pid_of vfp-vmx1)/stat")
kill -9 "$sup" "$spawner" "$(pid_of vcp-vmx1)" "$(pid_of vfp-vmx1)"
dead() { ! kill -0 "$sup" 2>/dev/null && ! pgrep -f "guest=v[cf]p-vmx1" >/dev/null; }
expect "the supervisor, the spawner and both QEMUs are killed" "$(pgrep -af "guest=v[cf]p-vmx1")" wait_for 60 dead
expect "the VFs are still on vfio-pci without their users" "$(driver "$vf0") $(driver "$vf1")" \
        [ "$(driver "$vf0") $(driver "$vf1")" = "vfio-pci vfio-pci" ]
if $V stop vmx1 --timeout 10 >/tmp/stop.out 2>&1; then ok "vmxrun stop after the supervisor died with its QEMUs"; else
        bad "vmxrun stop after the supervisor died with its QEMUs: $(tr '\n' ' ' </tmp/stop.out)"; fi
gone() { ! status >/dev/null; }
wait_for 120 gone || bad "the deployment is still there after stop"
after=$(host_state)
if [ "$before" = "$after" ]; then
        ok "after stop: VFs, drivers, VF and PF settings, em1's address, bridges, taps, hugepages, file owners as before"
else
        bad "after stop: the host as before"
        echo "before:"; echo "$before"; echo "after:"; echo "$after"
fi
[ "$fails" = 0 ]
