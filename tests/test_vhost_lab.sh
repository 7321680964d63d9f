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
# shellcheck source=tests/lab-vm.sh
. "$(dirname "$0")/lab-vm.sh"
lab_vm_setup vhost

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

lab_vm_run 1200

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
lab_vm_verdict "${expected[@]}"
