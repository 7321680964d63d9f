#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `vmxrun validate` on large profiles: validation must stay linear in the size
# of the profile (issue 11: 20,000 VMs took 42 s when every VM was compared
# with every other one). Not a test: it prints times, nothing asserts them.
#
#   bench/validate.sh        build, then time validate on generated profiles (~1 min)
#
# The profiles, generated under $OUT:
#   real10x.yaml   the largest real profile (profiles/vmx-two-instances.yaml,
#                  4 VMs) ten times over: 40 VMs, names, taps, MACs, ports and
#                  bridges made unique, the copies' CPUs shared (pinning.shared)
#   vms-N.yaml     N VMs, each with a telnet console, a VNC display and a tap
#                  NIC (every "also used by" check has something to look at),
#                  for N = MAX/4, MAX/2, MAX; MAX (default 5600) is about what
#                  the 1 MiB profile limit admits with these VMs. The time of
#                  MAX over that of MAX/4 is about 4 when validation is linear
#                  (16 when quadratic).
#   tiny-N.yaml    N VMs of one line each ("- {name: v1, memory: {size: 1G}}"),
#                  N = TINY (default 20000): the probe's input.
#
# Environment: VMXRUN (an already built vmxrun: no CMake build then), N (runs of each, default 5), MAX, TINY, BUILD_DIR (default
# <repo>/build-bench), OUT (default a new /tmp/vmxrun-bench-validate.XXXXXX).
# Needs: cmake, cc, awk.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
N=${N:-5}
MAX=${MAX:-5600}
TINY=${TINY:-20000}
OUT=${OUT:-$(mktemp -d /tmp/vmxrun-bench-validate.XXXXXX)}
mkdir -p "$OUT"

PREBUILT=${VMXRUN:+1}
VMXRUN=${VMXRUN:-$BUILD_DIR/cli/vmxrun}
HELPERS_DIR=${HELPERS_DIR:-$BUILD_DIR/bench}
TIMEIT=$HELPERS_DIR/timeit

build() {
        if [ -z "$PREBUILT" ] && { [ ! -x "$VMXRUN" ] || [ -n "${REBUILD:-}" ]; }; then
                cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVX_STATIC="${VX_STATIC:-ON}" >/dev/null
                cmake --build "$BUILD_DIR" -j2 --target vmxrun >/dev/null
        fi
        mkdir -p "$HELPERS_DIR"
        make -s -C "$HERE" O="$HELPERS_DIR" >/dev/null
}

median_of() { sort -n | awk '{a[NR]=$1} END{if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# gen_real10x: the VM and bridge list of the largest real profile, ten times, every name made unique.
gen_real10x() {
        local src=$REPO/profiles/vmx-two-instances.yaml
        {
                echo "name: real10x"
                echo "bridges:"
                for c in $(seq 0 9); do
                        awk -v c="$c" '/^bridges:/{on=1; next} /^vms:/{on=0} on' "$src" |
                                sed -E "s/(name|uplink): ([A-Za-z0-9_.-]+)/\1: \2x$c/"
                done
                echo "vms:"
                for c in $(seq 0 9); do
                        awk -v c="$c" '/^vms:/{on=1; next} on' "$src" |
                                sed -E -e "s/(name|tap|bridge|pf): ([A-Za-z0-9_.-]+)/\1: \2x$c/" \
                                        -e "s/(mac: \"?..:..:)..:/\1$(printf %02x "$c"):/" \
                                        -e "s/port: 88/port: 1$c/" -e "s/display: ([0-9]+)/display: $c\1/" \
                                        -e "s/vf: ([0-9]+)/vf: $((c * 16))\1/" \
                                        -e "s/^( +)pinning:$/\1pinning:\n\1  shared: true/"
                done
        } >"$OUT/real10x.yaml"
}

gen_vms() { # N
        awk -v n="$1" 'BEGIN {
                print "name: big"; print "bridges:"; print "  - name: br0"; print "vms:"
                for (i = 0; i < n; i++) {
                        printf "  - name: v%d\n    memory: {size: 1G}\n    serial: {type: telnet, port: %d}\n", i, 20000 + i
                        printf "    vnc: {display: %d}\n", i
                        printf "    nics: [{type: tap, bridge: br0, tap: t%d, mac: \"02:00:00:%02x:%02x:%02x\"}]\n",
                                i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
                }
        }' >"$OUT/vms-$1.yaml"
}

gen_tiny() { # N
        awk -v n="$1" 'BEGIN { print "name: tiny"; print "vms:"
                for (i = 0; i < n; i++) printf "  - {name: v%d, memory: {size: 1G}}\n", i }' >"$OUT/tiny-$1.yaml"
}

bench_one() { # FILE
        local f=$1 rc t
        rm -f "$OUT/t.us"
        for _ in $(seq 1 "$N"); do
                rc=0
                "$TIMEIT" "$OUT/t.us" -- "$VMXRUN" validate "$f" >/dev/null 2>"$OUT/err" || rc=$?
                if [ "$rc" -ne 0 ]; then
                        echo "  $(basename "$f"): validate exited $rc:"; head -5 "$OUT/err"; return 1
                fi
        done
        t=$(awk '{print $1}' "$OUT/t.us" | median_of)
        printf '  %-16s %8s bytes %6s VMs   median %9.1f ms   peak RSS %6s KiB\n' "$(basename "$f")" \
                "$(wc -c <"$f")" "$(awk '/^vms:/{on=1; next} on && /^  - (name:|\{name:)/{n++} END{print n}' "$f")" "$(awk -v t="$t" 'BEGIN{print t/1000}')" \
                "$(awk '{print $2}' "$OUT/t.us" | median_of)"
        echo "$t" >"$OUT/$(basename "$f" .yaml).median"
}

build
echo "raw numbers in $OUT"
echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo); load: $(cat /proc/loadavg)"
gen_real10x
gen_tiny "$TINY"
for n in $((MAX / 4)) $((MAX / 2)) "$MAX"; do gen_vms "$n"; done

echo "== vmxrun validate, median of $N runs =="
bench_one "$OUT/real10x.yaml"
for n in $((MAX / 4)) $((MAX / 2)) "$MAX"; do bench_one "$OUT/vms-$n.yaml"; done
bench_one "$OUT/tiny-$TINY.yaml"
echo "  time of $MAX VMs / time of $((MAX / 4)): $(awk -v a="$(cat "$OUT/vms-$MAX.median")" -v b="$(cat "$OUT/vms-$((MAX / 4)).median")" \
        'BEGIN{printf "%.2f", a/b}') (4 when linear, 16 when quadratic)"
echo "load after: $(cat /proc/loadavg)"
