#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The CI fuzz step (scripts/test.sh): builds the libFuzzer targets into
# build/fuzz (clang, VX_FUZZ=ON) and runs each for FUZZ_SECONDS (default 25)
# on its seed corpus. New inputs go to a temporary directory, not into the
# tree. Fails when any target crashes, leaks, hangs (over 25 s on one input)
# or runs out of memory; the input that did it is kept in $FUZZ_OUT (default
# a new /tmp/vmxrun-fuzz.XXXXXX) and named in the output.
#
# FUZZ_TARGETS limits the run to some targets (default: all of fuzz/targets.cmake).
# FUZZ_SEED (default 1) fixes libFuzzer's random seed, so that a run mutates
# the same way each time and a failure can be repeated (0: a new seed each run).
set -eu
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-25}
seed=${FUZZ_SEED:-1}
out=${FUZZ_OUT:-$(mktemp -d /tmp/vmxrun-fuzz.XXXXXX)}
targets=${FUZZ_TARGETS:-$(sed -n 's/^set(VX_FUZZ_TARGETS \(.*\))$/\1/p' fuzz/targets.cmake)}

mkdir -p "$out"
if ! { CC=clang cmake -S . -B build/fuzz -DVX_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
        cmake --build build/fuzz -j"$(nproc 2>/dev/null || echo 2)" --target fuzzers; } >"$out/build.log" 2>&1; then
        echo "fuzz: the build failed:"
        tail -20 "$out/build.log"
        exit 1
fi

status=0
for t in $targets; do
        mkdir -p "$out/$t/new" "$out/$t/crash"
        if build/fuzz/fuzz/"$t" -max_total_time="$seconds" -max_len=65536 -timeout=25 -seed="$seed" -print_final_stats=1 \
                -artifact_prefix="$out/$t/crash/" "$out/$t/new" "fuzz/corpus/$t" >"$out/$t/log" 2>&1; then
                echo "fuzz $t: clean, $(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t/log") runs in ${seconds}s," \
                        "$(grep -o 'cov: [0-9]*' "$out/$t/log" | tail -1)"
        else
                status=1
                echo "fuzz $t: FAILED; input: $(ls "$out/$t/crash/"* 2>/dev/null | head -1); log: $out/$t/log"
                grep -E '^(SUMMARY|==[0-9]+==ERROR)|runtime error' "$out/$t/log" | head -5
        fi
done
exit $status
