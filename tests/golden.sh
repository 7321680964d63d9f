#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Golden plans, as Proxmox's cfg2cmd and libvirt's qemuxml2argv keep them: for
# every example profile (profiles/*.yaml) and every passing test profile
# (tests/profiles/pass-*.yaml), with host facts from the fake tree
# tests/fixtures/host-sriov,
#   `vmxrun cmdline P --plan`  must print tests/golden/<name>.args, and
#   `vmxrun cmdline P --json`  must print tests/golden/<name>.plan.json
# (argv, fd table, pinning, host actions with their parameters) exactly.
# A difference is shown as a diff. One command rewrites them all:
#   VX_UPDATE_GOLDEN=1 tests/golden.sh     (review with git diff, then commit)
#
# `golden.sh --qemu` instead checks the golden files against the real QEMU:
# every -device driver, -cpu model and -machine type in them exists.
#
# Environment: VMXRUN (the binary), VX_SOURCE_ROOT (set by CTest).
set -u

: "${VX_SOURCE_ROOT:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${VMXRUN:=$VX_SOURCE_ROOT/build/cli/vmxrun}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0

if [ "${1:-}" = --qemu ]; then
        qemu=/usr/bin/qemu-system-x86_64
        if [ ! -x "$qemu" ]; then
                echo "SKIP: $qemu not found"
                exit 77
        fi
        "$qemu" -device help >"$tmp/devices" 2>&1
        "$qemu" -cpu help >"$tmp/cpus" 2>&1
        "$qemu" -machine help >"$tmp/machines" 2>&1
        cd "$VX_SOURCE_ROOT" || exit 1
        n=0
        for f in tests/golden/*.args; do
                for d in $(sed -n 's/^ *-device \([^, ]*\).*/\1/p' "$f" | sort -u); do
                        n=$((n + 1))
                        grep -q "name \"$d\"" "$tmp/devices" || { echo "FAIL: $f: no device driver '$d'"; failed=1; }
                done
                for c in $(sed -n 's/^ *-cpu \([^, ]*\).*/\1/p' "$f" | sort -u); do
                        n=$((n + 1))
                        grep -qw -- "$c" "$tmp/cpus" || { echo "FAIL: $f: no CPU model '$c'"; failed=1; }
                done
                for m in $(sed -n 's/^ *-machine \([^, ]*\).*/\1/p' "$f" | sort -u); do
                        n=$((n + 1))
                        grep -q "^$m " "$tmp/machines" || { echo "FAIL: $f: no machine type '$m'"; failed=1; }
                done
        done
        echo "checked $n names against $qemu"
        exit $failed
fi

if [ ! -x "$VMXRUN" ]; then
        echo "SKIP: $VMXRUN not built"
        exit 77
fi

# Relative paths, from the source root: the output must not depend on where the tree is.
cd "$VX_SOURCE_ROOT" || exit 1
unset VMXRUN_ACCEL VMXRUN_ROOT

# golden NAME KIND ARGS...: runs vmxrun cmdline ARGS, compares with tests/golden/NAME.KIND.
golden() {
        name=$1 kind=$2
        shift 2
        expected=tests/golden/$name.$kind
        if ! "$VMXRUN" cmdline "$@" --root tests/fixtures/host-sriov >"$tmp/out" 2>"$tmp/err"; then
                echo "FAIL: $name: vmxrun cmdline $* failed:"
                cat "$tmp/err"
                failed=1
                return
        fi
        if [ "${VX_UPDATE_GOLDEN:-0}" = 1 ]; then
                cp "$tmp/out" "$expected"
                echo "updated $expected"
        elif [ ! -f "$expected" ]; then
                echo "FAIL: $name: no $expected (VX_UPDATE_GOLDEN=1 writes it)"
                failed=1
        elif ! diff -u "$expected" "$tmp/out"; then
                echo "FAIL: $name: output differs from $expected (VX_UPDATE_GOLDEN=1 rewrites it)"
                failed=1
        else
                checked=$((checked + 1))
        fi
}

checked=0
for f in profiles/*.yaml tests/profiles/pass-*.yaml; do
        name=$(basename "$f" .yaml)
        golden "$name" args "$f" --plan
        golden "$name" plan.json "$f" --json
done
# Every golden file belongs to a profile: a renamed profile leaves none behind.
for g in tests/golden/*.args tests/golden/*.plan.json; do
        name=$(basename "$g")
        name=${name%.args}
        name=${name%.plan.json}
        [ -f "profiles/$name.yaml" ] || [ -f "tests/profiles/$name.yaml" ] ||
                { echo "FAIL: $g has no profile"; failed=1; }
done
echo "ok: $checked golden files match"

# --vm prints one VM; --accel tcg changes only the accelerator lines.
"$VMXRUN" cmdline profiles/vmx-sriov.yaml --root tests/fixtures/host-sriov --vm vfp-vmx1 >"$tmp/one" || failed=1
if grep -q 'vcp-vmx1' "$tmp/one" || ! grep -q 'host=0000:23:10.0' "$tmp/one"; then
        echo "FAIL: --vm vfp-vmx1"
        failed=1
fi
VMXRUN_ACCEL=tcg "$VMXRUN" cmdline profiles/vmx-sriov.yaml --root tests/fixtures/host-sriov >"$tmp/tcg" || failed=1
if ! grep -q -- '-accel tcg,thread=multi' "$tmp/tcg" || grep -q -- '-accel kvm' "$tmp/tcg"; then
        echo "FAIL: VMXRUN_ACCEL=tcg"
        failed=1
fi
# Without the VFs on the host: placeholders, an incomplete plan, still exit 0.
mkdir -p "$tmp/empty"
"$VMXRUN" cmdline profiles/vmx-sriov.yaml --root "$tmp/empty" >"$tmp/novf" || failed=1
if ! grep -q 'host=@p3p1/vf0@' "$tmp/novf" || ! grep -q 'INCOMPLETE' "$tmp/novf"; then
        echo "FAIL: VF placeholder on a host without the VFs"
        failed=1
fi
"$VMXRUN" cmdline profiles/vmx-sriov.yaml --vm nope >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: --vm with an unknown VM must exit 2"; failed=1; }

exit $failed
