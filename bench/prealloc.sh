#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Start time against preallocated memory (docs/performance.md, "Memory
# start-up"): `vmxrun start --wait` of one TCG VM (no kernel: SeaBIOS idles)
# with 1, 4 and 16 GiB of 2 MiB hugepages, prealloc on, pinning: auto; then
# the same with 1 vs all emulator CPUs (prealloc-threads). Only the sizes this
# machine's free memory allows (MemAvailable minus 2 GiB) are run; the rest
# are reported as skipped.
#
#   bench/prealloc.sh            N runs per size (default 3)
#
# It grows the host's 2 MiB pool for each run and vmxrun's stop shrinks it
# again (docs/hugepages.md): do not run it beside anything else that uses
# hugepages (the hugepage tests, another benchmark). Needs root.
# Environment: N, SIZES (GiB, default "1 4 16"), EMULATOR_CPUS (default: the
# online CPUs but one, at most 8), BUILD_DIR (default <repo>/build-bench), OUT (raw
# numbers; default a new /tmp/vmxrun-bench.XXXXXX), RUNTIME_DIR (default $OUT/rt).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
N=${N:-3}
SIZES=${SIZES:-1 4 16}
OUT=${OUT:-$(mktemp -d /tmp/vmxrun-bench.XXXXXX)}
chmod 755 "$OUT"
RUNTIME_DIR=${RUNTIME_DIR:-$OUT/rt}
mkdir -p "$RUNTIME_DIR"
chmod 755 "$RUNTIME_DIR"
export VMXRUN_RUNTIME_DIR=$RUNTIME_DIR
unset VMXRUN_ACCEL
NAME=vxprealloc
VMXRUN=$BUILD_DIR/cli/vmxrun
ncpu=$(nproc)
# The vCPU needs a CPU of its own beside the emulator set.
EMULATOR_CPUS=${EMULATOR_CPUS:-$((ncpu > 9 ? 8 : ncpu - 1))}

[ "$(id -u)" = 0 ] || { echo "bench/prealloc.sh: needs root (it grows the hugepage pool)" >&2; exit 1; }
if [ ! -x "$VMXRUN" ] || [ -n "${REBUILD:-}" ]; then
        cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVX_STATIC="${VX_STATIC:-ON}" >/dev/null
        cmake --build "$BUILD_DIR" -j2 --target vmxrun >/dev/null
fi

cleanup() { "$VMXRUN" stop "$NAME" --force >/dev/null 2>&1 || true; }
trap cleanup EXIT

profile() { # profile GIB EMULATOR_CPUS > yaml
        cat <<EOF
name: $NAME
vms:
  - name: big
    accel: tcg
    machine: pc
    cpu: max
    vcpus: 1
    memory:
      size: ${1}GiB
      hugepages: {page-size: 2M, prealloc: true}
    pinning: {placement: auto, emulator-cpus: $2, smt: share}
    restart: {policy: never}
EOF
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }

avail_gib=$(($(sed -n 's/^MemAvailable:\s*\([0-9]*\) kB/\1/p' /proc/meminfo) / 1024 / 1024))
printf '%-8s %-14s %8s %8s\n' size emulator-cpus median_ms runs
for gib in $SIZES; do
        if [ $((gib + 2)) -gt "$avail_gib" ]; then
                printf '%-8s %-14s %8s %8s\n' "${gib}G" - skipped "(MemAvailable ${avail_gib} GiB)"
                continue
        fi
        for emu in 1 "$EMULATOR_CPUS"; do
                profile "$gib" "$emu" >"$OUT/p-$gib-$emu.yaml"
                : >"$OUT/t-$gib-$emu"
                for _ in $(seq "$N"); do
                        t0=$(now_ms)
                        "$VMXRUN" start "$OUT/p-$gib-$emu.yaml" --wait >/dev/null 2>"$OUT/err" ||
                                { echo "start failed:"; cat "$OUT/err"; exit 1; }
                        echo $(($(now_ms) - t0)) >>"$OUT/t-$gib-$emu"
                        "$VMXRUN" stop "$NAME" --force >/dev/null
                done
                printf '%-8s %-14s %8s %8s\n' "${gib}G" "$emu" "$(median <"$OUT/t-$gib-$emu")" "$N"
                [ "$EMULATOR_CPUS" -gt 1 ] || break
        done
done
echo "raw numbers: $OUT"
