#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The pre-flight end to end: `doctor PROFILE --json` on the fixture host and
# this one, `start` refusing before anything changes (a disk QEMU's user
# cannot reach, a cache=none disk on a filesystem without O_DIRECT, a QEMU
# binary that is not there), and a QEMU that fails with its own message,
# which comes first; `stop` saying what it does; the JSON versions. Needs root (QEMU's own user, a ramfs mount in a mount
# namespace of its own) and QEMU.
set -u
# shellcheck source=tests/check-lib.sh
. "$(dirname "$0")/check-lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
command -v jq >/dev/null || skip "jq is not installed"
command -v qemu-system-x86_64 >/dev/null || skip "QEMU is not installed"


WORK=$(mktemp -d /tmp/vx-preflight-sh.XXXXXX)
trap '"$VMXRUN" stop idle --force >/dev/null 2>&1; rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
export VMXRUN_RUNTIME_DIR=$WORK/run VMXRUN_LOG_DIR=$WORK/log
mkdir -p "$VMXRUN_RUNTIME_DIR"

# --- doctor PROFILE --json reports every check --------------------------------------
ids='["plan","qemu","cpu-virtualization","kvm","cpu-feature","cpus","hugepages","hugetlbfs","memlock","iommu-cmdline","iommu","interrupt-remapping","vfio-pci","tun","vhost-net","file","deployment","running"]'
"$VMXRUN" doctor "$VX_SOURCE_ROOT/profiles/vmx-sriov.yaml" --json --no-probe \
        --root "$VX_SOURCE_ROOT/tests/fixtures/host-sriov" >"$WORK/fixture.json"
rc=$?
check "doctor PROFILE on the fixture host exits 1 (the seed's images are not here)" [ $rc -eq 1 ]
check "its JSON has version 1" [ "$(jq -r .version "$WORK/fixture.json")" = 1 ]
check "and reports every check of issue 12" \
        jq -e --argjson ids "$ids" '[.checks[].id] as $have | all($ids[]; . as $i | $have | index($i))' "$WORK/fixture.json"
check "a failed check names its profile position" \
        jq -e '[.checks[] | select(.id == "file")][0].position | test("vmx-sriov.yaml:[0-9]+:[0-9]+$")' "$WORK/fixture.json"
check "the summary counts the checks" \
        jq -e '.summary.ok + .summary.warn + .summary.fail == (.checks | length)' "$WORK/fixture.json"
"$VMXRUN" doctor "$VX_SOURCE_ROOT/profiles/vmx-sriov.yaml" --json --no-probe >"$WORK/host.json"
check "and on this host too" \
        jq -e --argjson ids "$ids" '[.checks[].id] as $have | all($ids[] | select(. != "kvm"); . as $i | $have | index($i))' "$WORK/host.json"

# --- start refuses before anything changes ------------------------------------------
vm() { # name, disk file, cache, extra lines
        printf 'name: %s\nvms:\n  - name: a\n    accel: tcg\n    memory:\n      size: 64MiB\n' "$1"
        [ -n "$2" ] && printf '    disks:\n      - file: %s\n        format: raw\n        cache: %s\n' "$2" "$3"
        [ $# -ge 4 ] && printf '%s\n' "$4"
        return 0
}
mkdir -m 0700 "$WORK/private"
truncate -s 1M "$WORK/private/disk.img"
vm hidden "$WORK/private/disk.img" writeback >"$WORK/hidden.yaml"
VMXRUN_QEMU_USER=vmxrun-qemu "$VMXRUN" start "$WORK/hidden.yaml" >"$WORK/hidden.out" 2>&1
rc=$?
check "a disk QEMU's user cannot reach: start exits 1" [ $rc -eq 1 ]
check "and names the directory and the key's position" \
        grep -q "hidden.yaml:8:[0-9]*: .*does not let it through" "$WORK/hidden.out"
check "and nothing was created" [ ! -e "$VMXRUN_RUNTIME_DIR/hidden" ]

vm nobin "" "" "    qemu: $WORK/no-such-qemu" >"$WORK/nobin.yaml"
"$VMXRUN" start "$WORK/nobin.yaml" >"$WORK/nobin.out" 2>&1
check "a QEMU binary that is not there: start exits 1, naming qemu:" \
        bash -c "[ $? -eq 1 ] && grep -q 'nobin.yaml:[0-9]*:[0-9]*: .*no-such-qemu: no such file' '$WORK/nobin.out'"

# ramfs has no O_DIRECT (tmpfs has since Linux 6.6); mounted in a namespace of its own.
if unshare -m true 2>/dev/null; then
        vm direct "$WORK/ramfs/disk.img" none >"$WORK/direct.yaml"
        unshare -m bash -c "mkdir -p '$WORK/ramfs' && mount -t ramfs none '$WORK/ramfs' && truncate -s 1M '$WORK/ramfs/disk.img' &&
                VMXRUN_QEMU_USER=root '$VMXRUN' start '$WORK/direct.yaml'" >"$WORK/direct.out" 2>&1
        rc=$?
        check "cache: none on a filesystem without O_DIRECT: start exits 1" [ $rc -eq 1 ]
        check "and says O_DIRECT, with the key" grep -q "direct.yaml:8:[0-9]*: .*without O_DIRECT" "$WORK/direct.out"
else
        echo "SKIP - O_DIRECT: no mount namespace here"
fi

# --- a QEMU that fails on its own: its message first ------------------------------
vm badarg "" "" '    extra-args: ["-device", "no-such-device"]' >"$WORK/badarg.yaml"
VMXRUN_QEMU_USER=root "$VMXRUN" start "$WORK/badarg.yaml" >"$WORK/badarg.out" 2>&1
rc=$?
check "an unknown -device: start exits 1" [ $rc -eq 1 ]
check "and QEMU's own message is the first error" \
        bash -c "grep -m1 'error:' '$WORK/badarg.out' | grep -q \"'no-such-device' is not a valid device model name\""
check "before the QMP consequence" grep -q "did not answer on QMP" "$WORK/badarg.out"
check "and nothing is left" [ ! -e "$VMXRUN_RUNTIME_DIR/badarg" ]

# --- stop says what it does, on the terminal and in the log --------------------------
# No guest OS: the ACPI power button goes unheard, so the stop escalates to quit.
vm idle "" "" >"$WORK/idle.yaml"
VMXRUN_QEMU_USER=root "$VMXRUN" start "$WORK/idle.yaml" >/dev/null 2>&1
check "a VM without a guest starts" bash -c "[ $? -eq 0 ]"
"$VMXRUN" vcpuinfo idle --json >"$WORK/vcpuinfo.json"
check "vcpuinfo --json has version 1" jq -e '.version == 1 and (.vcpus | length) == 1' "$WORK/vcpuinfo.json"
check "and its CPU times are printed rounded to ms" \
        bash -c "! grep '\"cpu_time_s\"' '$WORK/vcpuinfo.json' | grep -Evq '\"cpu_time_s\": [0-9]+(\\.[0-9]{1,3})?,\$'"
check "showcmd --json has version 1" bash -c "'$VMXRUN' showcmd idle --json | jq -e '.version == 1'"
check "list --json has version 1" bash -c "'$VMXRUN' list --json | jq -e '.version == 1 and (.deployments | length) == 1'"
VMXRUN_PROGRESS=1 timeout 60 "$VMXRUN" stop idle --timeout 1 >"$WORK/stop.out" 2>&1
check "stop exits 0" bash -c "[ $? -eq 0 ]"
check "stop says it powers off, with the timeout" grep -qx "a: powering off (timeout 1 s)" "$WORK/stop.out"
check "then that the guest did not, and quit" grep -qx "a: did not power off: sending quit" "$WORK/stop.out"
check "in that order, before the end" bash -c "grep -n . '$WORK/stop.out' | tr '\n' ' ' |
        grep -q '1:a: powering off.*2:a: did not power off.*idle: stopped.'"
check "the supervisor's log has the same lines" bash -c "grep -q 'vmxrun: a: powering off (timeout 1 s)' '$VMXRUN_LOG_DIR/idle.log' &&
        grep -q 'vmxrun: a: did not power off: sending quit' '$VMXRUN_LOG_DIR/idle.log'"

# A QEMU that answers nothing (stopped): quit is not heard either, and it is killed.
VMXRUN_QEMU_USER=root "$VMXRUN" start "$WORK/idle.yaml" >/dev/null 2>&1
pid=$("$VMXRUN" status idle --json | jq -r '.vms[0].pid')
kill -STOP "$pid"
if command -v script >/dev/null; then
        # A real terminal: no VMXRUN_PROGRESS needed.
        timeout 90 script -qec "'$VMXRUN' stop idle --timeout 1" /dev/null >"$WORK/kill.out" 2>&1
else
        VMXRUN_PROGRESS=1 timeout 90 "$VMXRUN" stop idle --timeout 1 >"$WORK/kill.out" 2>&1
fi
check "a QEMU that does not answer: stop still exits 0" bash -c "[ $? -eq 0 ]"
check "and says it was killed" grep -q "a: QEMU did not exit: killed" "$WORK/kill.out"
check "which the log says too" grep -q "vmxrun: a: QEMU did not exit: killed" "$VMXRUN_LOG_DIR/idle.log"
"$VMXRUN" stop idle --force >/dev/null 2>&1
"$VMXRUN" stop idle >"$WORK/quiet.out" 2>&1
check "not on a terminal: no progress lines" bash -c "! grep -q 'powering off' '$WORK/quiet.out'"

verdict
