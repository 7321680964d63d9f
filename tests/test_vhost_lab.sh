#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The vhost-net path, in a lab VM: this project's machines have no
# /dev/vhost-net and cannot load modules, but the test guest's Debian kernel
# has vhost_net, tun and bridge. The guest boots under TCG with the host's root
# shared read-only over 9p, and runs the inner script below chrooted there:
# the same vmxrun binary and QEMU, now with /dev/vhost-net. Nothing here
# touches the host's network: the bridge and taps live in the lab VM.
set -u
: "${VMXRUN:?}" "${VX_SOURCE_ROOT:?}"
GUEST_DIR=${VX_GUEST_DIR:-/var/cache/vmxrun/guest}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
"$VX_SOURCE_ROOT/guest/build.sh" "$GUEST_DIR" >/dev/null || skip "could not build the test guest"

# Not under /tmp or /run: the lab VM mounts empty ones over those (and a
# build tree may live there, so the binary is copied here too).
tmp=$(mktemp -d /var/tmp/vx-vhost-lab-XXXXXX)
qpid=
trap '[ -z "$qpid" ] || kill -9 "$qpid" 2>/dev/null; rm -rf "$tmp"' EXIT
cp "$(readlink -f "$VMXRUN")" "$tmp/vmxrun"
vmxrun=$tmp/vmxrun

# Runs inside the lab VM, chrooted into the host's root.
cat >"$tmp/inner.sh" <<INNER
set -u
V=$vmxrun
export VMXRUN_RUNTIME_DIR=/run/vx
cat >/tmp/vhost.yaml <<'YAML'
name: vhostlab
bridges:
  - name: br-lab
vms:
  - name: v1
    accel: tcg
    cpu: qemu64
    memory: {size: 64MiB}
    nics:
      - {type: tap, tap: vx-on0, bridge: br-lab, mac: "02:00:00:00:00:11", vhost: on}
      - {type: tap, tap: vx-auto0, bridge: br-lab, mac: "02:00:00:00:00:12", vhost: auto}
YAML
[ -c /dev/vhost-net ] && echo "LAB ok /dev/vhost-net exists in the lab VM"
\$V doctor --no-probe --json | grep -q '"vhost_net": true' && echo "LAB ok doctor sees vhost-net"
n=\$(\$V cmdline /tmp/vhost.yaml | grep -c 'vhost=on,vhostfd=')
[ "\$n" = 2 ] && echo "LAB ok the plan gives both NICs a vhostfd (vhost: on and auto)"
\$V start /tmp/vhost.yaml || { echo "LAB FAIL start"; exit 1; }
pid=\$(\$V status vhostlab --json | jq -r '.vms[0].pid')
fds=\$(ls -l /proc/\$pid/fd | grep -c /dev/vhost-net)
[ "\$fds" = 2 ] && echo "LAB ok QEMU holds two /dev/vhost-net fds, passed by vmxrun"
# VHOST_SET_OWNER starts a vhost worker thread named after QEMU's pid: the kernel took over the queues.
workers=\$(ps -e -o comm= | grep -c "^vhost-\$pid")
[ "\$workers" -ge 2 ] && echo "LAB ok the kernel runs vhost workers for QEMU (\$workers)"
[ "\$(\$V status vhostlab --json | jq -r '[.vms[0].nics[].bridge] | join(",")')" = "br-lab,br-lab" ] &&
        echo "LAB ok both taps are ports of br-lab"
\$V stop vhostlab --force >/dev/null || echo "LAB FAIL stop"
ip link show br-lab >/dev/null 2>&1 || echo "LAB ok after stop the bridge is gone"
ip link show vx-on0 >/dev/null 2>&1 || echo "LAB ok after stop the taps are gone"
INNER

qemu-system-x86_64 -accel tcg,thread=multi -machine pc -m 1536 -smp 2 -nodefaults -display none -no-reboot \
        -serial "file:$tmp/serial.log" -kernel "$GUEST_DIR/vmlinuz" -initrd "$GUEST_DIR/initrd.img" \
        -append "console=ttyS0 quiet panic=-1 vmxrun.run=$tmp/inner.sh" \
        -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on \
        >"$tmp/qemu.log" 2>&1 &
qpid=$!
# A hang guard, not a speed assertion: QEMU inside TCG is slow.
for _ in $(seq 1200); do
        grep -q "VMXRUN-GUEST run-exit=" "$tmp/serial.log" 2>/dev/null && break
        kill -0 "$qpid" 2>/dev/null || break
        sleep 0.5
done
tr -d '\r' <"$tmp/serial.log" | grep -E "^LAB |VMXRUN-GUEST (run-exit|error)|vmxrun:" 

expected=(
        "/dev/vhost-net exists in the lab VM"
        "doctor sees vhost-net"
        "the plan gives both NICs a vhostfd"
        "QEMU holds two /dev/vhost-net fds"
        "the kernel runs vhost workers for QEMU"
        "both taps are ports of br-lab"
        "after stop the bridge is gone"
        "after stop the taps are gone"
)
passes=0
failures=0
for e in "${expected[@]}"; do
        if grep -q "LAB ok $e" "$tmp/serial.log"; then passes=$((passes + 1)); else
                echo "FAIL - $e"; failures=$((failures + 1)); fi
done
if grep -q "error=no-hostroot" "$tmp/serial.log"; then
        echo "the lab VM could not mount the host's root over 9p"
fi
echo "$passes passed, $failures failed"
[ $failures -eq 0 ]
