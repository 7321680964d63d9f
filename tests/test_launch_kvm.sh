#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The KVM path of start: where /dev/kvm opens, QEMU runs with -accel kvm and
# its KVM vCPU threads are pinned as the profile says. The guest need not
# boot (on some of this project's machines nested KVM cannot boot a stock
# kernel), so this does not wait for readiness and stops with --force.
set -u

# shellcheck source=tests/check-lib.sh
. "$(dirname "$0")/check-lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
command -v jq >/dev/null || skip "jq is not installed"
need_cpus 2 "needs two host CPUs"
[ -c /dev/kvm ] || skip "no /dev/kvm on this machine: the KVM path was not tested here"
exec 3<>/dev/kvm 2>/dev/null || skip "/dev/kvm exists but does not open: the KVM path was not tested here"
exec 3>&-

RT=$(mktemp -d /tmp/vx-kvm-XXXXXX)
# /run/vmxrun is searchable by all; QEMU, which runs as vmxrun-qemu, must get through this one too.
chmod 755 "$RT"
export VMXRUN_RUNTIME_DIR=$RT
trap '"$VMXRUN" stop kvmtest --force >/dev/null 2>&1; rm -rf "$RT"' EXIT

cat >"$RT/kvm.yaml" <<'YAML'
name: kvmtest
vms:
  - name: k1
    accel: kvm
    # A plain named model: on machines whose nested KVM rejects MSR 0x10a,
    # -cpu host and -cpu max abort QEMU; the vCPU threads are what is tested.
    cpu: qemu64
    vcpus: 2
    memory:
      size: 128MiB
    pinning:
      vcpus: ["1", "0"]
      emulator: "0"
YAML

allowed() { sed -n 's/^Cpus_allowed_list:\s*//p' "/proc/$1/task/$2/status"; }

# QEMU runs as vmxrun-qemu, which opens /dev/kvm through group kvm (Debian's udev rule). Where this
# machine's /dev/kvm is root's alone, start refuses and names the fix; the rest runs QEMU as root.
if ! setpriv --reuid=vmxrun-qemu --regid=vmxrun-qemu --init-groups test -r /dev/kvm -a -w /dev/kvm 2>/dev/null; then
        "$VMXRUN" start "$RT/kvm.yaml" 2>"$RT/refused.err"
        rc=$?
        check "start refuses when QEMU's user may not open /dev/kvm ($(stat -c '%U:%G %a' /dev/kvm))" [ $rc -eq 1 ]
        check "and names the fix" grep -q "give /dev/kvm to group kvm" "$RT/refused.err"
        echo "note: /dev/kvm is not group kvm's here; the KVM path below runs QEMU as root"
        export VMXRUN_QEMU_USER=root
fi
"$VMXRUN" start "$RT/kvm.yaml"
check "start with -accel kvm exits 0" [ $? -eq 0 ]
json=$("$VMXRUN" status kvmtest --json)
pid=$(jq -r '.vms[0].pid' <<<"$json")
tid0=$(jq -r '.vms[0].vcpus[] | select(.index == 0) | .thread_id' <<<"$json")
tid1=$(jq -r '.vms[0].vcpus[] | select(.index == 1) | .thread_id' <<<"$json")
check "QEMU runs with the KVM accelerator" grep -qa "kvm" "/proc/$pid/cmdline"
check "KVM vCPU thread 0 is named by QEMU" grep -q "CPU 0/KVM" "/proc/$pid/task/$tid0/comm"
check "vCPU 0 is pinned to CPU 1" [ "$(allowed "$pid" "$tid0")" = 1 ]
check "vCPU 1 is pinned to CPU 0" [ "$(allowed "$pid" "$tid1")" = 0 ]
check "the main (emulator) thread is pinned to CPU 0" [ "$(allowed "$pid" "$pid")" = 0 ]
"$VMXRUN" stop kvmtest --force
check "stop --force exits 0" [ $? -eq 0 ]
check "QEMU is gone" bash -c "! kill -0 $pid 2>/dev/null"
verdict
