#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vmxrun doctor: its KVM verdict must agree with what QEMU itself does with
# -accel kvm -cpu host on this machine, and it must read a fixture root.
set -u
# shellcheck source=tests/check-lib.sh
. "$(dirname "$0")/check-lib.sh"
command -v jq >/dev/null || skip "jq is not installed"


json=$("$VMXRUN" doctor --json)
check "doctor --json exits 0 with JSON" [ $? -eq 0 -a -n "$(jq -r .kvm.verdict <<<"$json")" ]
verdict=$(jq -r .kvm.verdict <<<"$json")
check "the CPU count is the host's" [ "$(jq -r .cpus <<<"$json")" -ge "$(nproc)" ]

if [ ! -e /dev/kvm ]; then
        check "no /dev/kvm: verdict absent" [ "$verdict" = absent ]
elif ! command -v qemu-system-x86_64 >/dev/null; then
        skip_check "the KVM verdict agrees with QEMU: QEMU is not installed"
else
        # What QEMU does on its own: a usable KVM keeps a paused QEMU alive; the
        # nested case aborts while creating the vCPU. The wait only guards a hang.
        err=$(mktemp)
        qemu-system-x86_64 -accel kvm -cpu host -machine pc -nodefaults -display none -m 64 -S \
                -serial none -monitor none 2>"$err" &
        q=$!
        for _ in $(seq 50); do kill -0 $q 2>/dev/null || break; sleep 0.1; done
        if kill -0 $q 2>/dev/null; then
                kill -9 $q; wait $q 2>/dev/null
                check "QEMU runs -cpu host under KVM here: doctor says usable" [ "$verdict" = usable ]
        else
                wait $q 2>/dev/null
                check "QEMU fails -cpu host under KVM here ($(head -c 80 "$err")): doctor says no-host-cpu or unusable" \
                        bash -c "[ '$verdict' = no-host-cpu ] || [ '$verdict' = unusable ]"
        fi
        rm -f "$err"
fi

fixture=$("$VMXRUN" doctor --json --no-probe --root "$VX_SOURCE_ROOT/tests/fixtures/host-sriov")
check "a fixture root: its hugetlbfs mounts are read" \
        [ "$(jq -r '[.hugetlbfs[].path] | join(",")' <<<"$fixture")" = "/dev/hugepages,/dev/hugepages1G" ]
check "a fixture root: a /dev/kvm that is a plain file is not KVM" [ "$(jq -r .kvm.verdict <<<"$fixture")" = unusable ]
empty=$(mktemp -d)
check "an empty root: no KVM" [ "$("$VMXRUN" doctor --json --root "$empty" | jq -r .kvm.verdict)" = absent ]
rmdir "$empty"

verdict
