#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `vmxrun explain` on a very long command line: the largest real input seen
# (a probe's 20,000 -device options) times ten, as text and as JSON. It was
# quadratic (38 s as text, over 60 s as JSON at 20,000); grouping, findings
# and their positions are now linear. Not a test: numbers for docs, never a
# pass/fail on time.
#
#   bench/explain.sh [DEVICES]   DEVICES/4, DEVICES/2 and DEVICES -device options (default 200000,
#                                with netdev=, bus=, addr=), 1,000 -netdev; the growth of the time
#
# Environment: VMXRUN (an already built vmxrun: no CMake build then), N (runs of each, default 3), BUILD_DIR (default <repo>/build-bench,
# the release build bench/run.sh uses), OUT (raw numbers; default a new
# /tmp/vmxrun-bench-explain.XXXXXX).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
N=${N:-3}
DEVICES=${1:-200000}
OUT=${OUT:-$(mktemp -d /tmp/vmxrun-bench-explain.XXXXXX)}
mkdir -p "$OUT"
PREBUILT=${VMXRUN:+1}
VMXRUN=${VMXRUN:-$BUILD_DIR/cli/vmxrun}

build() {
        if [ -z "$PREBUILT" ] && { [ ! -x "$VMXRUN" ] || [ -n "${REBUILD:-}" ]; }; then
                cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVX_STATIC="${VX_STATIC:-ON}" >/dev/null
                cmake --build "$BUILD_DIR" -j2 --target vmxrun >/dev/null
        fi
}

median_of() { sort -n | awk '{a[NR]=$1} END{if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# 1,000 backends shared by the devices, 30 root ports that are not there, 32 slots: every check has work.
# (Within explain's 16 MiB input limit: about 11 MB for 200,000 devices.)
generate() { # COUNT
        awk -v n="$1" 'BEGIN {
                printf "qemu-system-x86_64 -machine q35 -m 4G"
                for (i = 0; i < 1000; i++)
                        printf " -netdev tap,id=n%d,fd=%d", i, i + 3
                for (i = 0; i < n; i++)
                        printf " -device virtio-net-pci,netdev=n%d,id=d%d,bus=rp%d,addr=0x%x", i % 1000, i, i % 30, i % 32
                printf "\n"
        }' >"$OUT/cmdline-$1"
}

# seconds of wall time for one run; the exit status is 3 (the findings: unresolved bus=rpN).
run_once() { # MODE COUNT
        local t0 t1 rc=0
        t0=$(date +%s.%N)
        if [ "$1" = compact ]; then "$VMXRUN" explain --json --compact --argv - <"$OUT/cmdline-$2" >"$OUT/out" || rc=$?
        elif [ "$1" = json ]; then "$VMXRUN" explain --json --argv - <"$OUT/cmdline-$2" >"$OUT/out" || rc=$?
        else "$VMXRUN" explain --argv - <"$OUT/cmdline-$2" >"$OUT/out" || rc=$?; fi
        t1=$(date +%s.%N)
        [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { echo "explain failed (exit $rc)" >&2; exit 1; }
        awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", b - a}'
}

build
echo "raw numbers in $OUT"
echo "load: $(cat /proc/loadavg)"
# A quarter, half and all of DEVICES: the time of all over that of a quarter is 4 when linear (16 when quadratic).
for n in $((DEVICES / 4)) $((DEVICES / 2)) "$DEVICES"; do
        generate "$n"
        for mode in ${MODES:-text json compact}; do
                : >"$OUT/$mode-$n"
                for _ in $(seq "$N"); do run_once "$mode" "$n" >>"$OUT/$mode-$n"; done
                printf '  %-7s %7d -device (%9d bytes): median %8.3f s over %d runs, output %9d bytes (raw: %s)\n' "$mode" "$n" \
                        "$(wc -c <"$OUT/cmdline-$n")" "$(median_of <"$OUT/$mode-$n")" "$N" "$(wc -c <"$OUT/out")" "$(tr '\n' ' ' <"$OUT/$mode-$n")"
        done
done
for mode in ${MODES:-text json compact}; do
        echo "explain ($mode): time of $DEVICES / time of $((DEVICES / 4)): $(awk -v a="$(median_of <"$OUT/$mode-$DEVICES")" \
                -v b="$(median_of <"$OUT/$mode-$((DEVICES / 4))")" 'BEGIN{printf "%.2f", a/b}') (4 when linear, 16 when quadratic)"
done
echo "load after: $(cat /proc/loadavg)"
