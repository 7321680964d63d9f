# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# The lab VM of tests/test_vhost_lab.sh and tests/test_systemd_lab.sh,
# sourced by both: the test guest's Debian kernel (which has vhost_net, tun
# and bridge, unlike this project's machines) boots under TCG with the
# host's root shared read-only over 9p and runs $tmp/inner.sh chrooted
# there. Each inner check prints "LAB ok <what>"; lab_vm_verdict counts them.

: "${VMXRUN:?}" "${VX_SOURCE_ROOT:?}"
GUEST_DIR=${VX_GUEST_DIR:-/var/cache/vmxrun/guest}
skip() { echo "SKIP: $*"; exit 77; }

# lab_vm_setup NAME: the checks every lab needs, then $tmp (not under /tmp or
# /run: the lab VM mounts empty ones over those) holding a copy of the binary
# in $vmxrun (a build tree may live under /tmp too).
lab_vm_setup() {
        [ "$(id -u)" = 0 ] || skip "needs root"
        command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
        "$VX_SOURCE_ROOT/guest/build.sh" "$GUEST_DIR" >/dev/null || skip "could not build the test guest"
        tmp=$(mktemp -d "/var/tmp/vx-$1-lab-XXXXXX")
        qpid=
        trap '[ -z "$qpid" ] || kill -9 "$qpid" 2>/dev/null; rm -rf "$tmp"' EXIT
        cp "$(readlink -f "$VMXRUN")" "$tmp/vmxrun"
        # shellcheck disable=SC2034 # used by the sourcing script
        vmxrun=$tmp/vmxrun
}

# lab_vm_run HALF_SECONDS: boots the lab VM on $tmp/inner.sh and waits for
# the guest's run-exit line. The bound is a hang guard, not a speed
# assertion: a nested guest under TCG is slow, slower still on a loaded
# machine. Prints the LAB lines and the guest's own verdict.
lab_vm_run() {
        qemu-system-x86_64 -accel tcg,thread=multi -machine pc -m 1536 -smp 2 -nodefaults -display none \
                -no-reboot -serial "file:$tmp/serial.log" -kernel "$GUEST_DIR/vmlinuz" \
                -initrd "$GUEST_DIR/initrd.img" \
                -append "console=ttyS0 quiet panic=-1 vmxrun.run=$tmp/inner.sh" \
                -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on \
                >"$tmp/qemu.log" 2>&1 &
        qpid=$!
        local _
        for _ in $(seq "$1"); do
                grep -q "VMXRUN-GUEST run-exit=" "$tmp/serial.log" 2>/dev/null && break
                kill -0 "$qpid" 2>/dev/null || break
                sleep 0.5
        done
        tr -d '\r' <"$tmp/serial.log" | grep -E "^LAB |VMXRUN-GUEST (run-exit|error)|vmxrun:"
}

# lab_vm_verdict EXPECTED...: each expected check must have printed
# "LAB ok <it>"; returns non-zero when any did not.
lab_vm_verdict() {
        local passes=0 failures=0 e
        for e in "$@"; do
                if tr -d '\r' <"$tmp/serial.log" | grep -qF "LAB ok $e"; then passes=$((passes + 1)); else
                        echo "FAIL - $e"; failures=$((failures + 1)); fi
        done
        grep -q "error=no-hostroot" "$tmp/serial.log" && echo "the lab VM could not mount the host's root over 9p"
        echo "$passes passed, $failures failed"
        [ $failures -eq 0 ]
}
