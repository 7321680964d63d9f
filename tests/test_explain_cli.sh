#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `vmxrun explain` end to end: each input mode, --json, exit codes.
set -u
V=${VMXRUN:?VMXRUN names the vmxrun binary}
ROOT=${VX_SOURCE_ROOT:-$(dirname "$0")/..}
FIX=$ROOT/tests/fixtures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check NAME EXPECTED-RC ACTUAL-RC
        if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, expected $2"; fail=$((fail + 1)); else echo "ok: $1"; fi
}
contains() { # contains NAME FILE TEXT
        if grep -qF -- "$3" "$2"; then echo "ok: $1"; else echo "FAIL: $1: no '$3' in output"; fail=$((fail + 1)); fi
}

"$V" explain --help >"$tmp/out"; check "--help" 0 $?
contains "--help text" "$tmp/out" "--argv"

for f in vcp vfp; do
        # The seed ran on an old QEMU: -realtime and pc-0.13 are gone from 7.2 and 10.0, an error (exit 3).
        "$V" explain --argv "$(cat "$FIX/seed-$f.cmdline")" >"$tmp/$f"; check "seed $f" 3 $?
        contains "seed $f: finding with its position" "$tmp/$f" "(-realtime at line 1, column"
        contains "seed $f: nothing unknown" "$tmp/$f" "options: 0 unknown, 0 of unknown type"
        contains "seed $f: -realtime removed" "$tmp/$f" "REMOVED (QEMU 6.0); use -overcommit mem-lock=on/off"
        "$V" explain --json --argv - <"$FIX/seed-$f.cmdline" >"$tmp/$f.json"; check "seed $f --json from stdin" 3 $?
        contains "seed $f json summary" "$tmp/$f.json" '"options_unknown": 0'
done
contains "pci-assign removed" "$tmp/vfp" "REMOVED (QEMU 2.12); use -device vfio-pci"

# /proc/PID/cmdline under --root, and the same bytes on stdin.
mkdir -p "$tmp/root/proc/4242"
printf '/usr/bin/qemu-system-x86_64\0-m\0001024\0-netdev\0tap,id=n0,fd=3\0-device\0virtio-net-pci,netdev=n0\0' \
        >"$tmp/root/proc/4242/cmdline"
"$V" explain --pid 4242 --root "$tmp/root" >"$tmp/pid"; check "--pid" 0 $?
# QEMU would refuse these: the exit status says so, each finding names where.
printf 'qemu-system-x86_64 -m 1G \\\n  -device virtio-net-pci,netdev=nope\n' >"$tmp/bad"
"$V" explain --argv - <"$tmp/bad" >"$tmp/bad.out"; check "an unresolved netdev= is an error" 3 $?
contains "its position in the paste" "$tmp/bad.out" "ERROR: option 2 (-device at line 2, column 3): netdev=nope names no -netdev"
"$V" explain --json --argv "qemu -smp 4,sockets=2,cores=4" >"$tmp/smp.json"; check "-smp product" 3 $?
contains "findings in the JSON" "$tmp/smp.json" '"position": "line 1, column 6"'
"$V" explain --argv "qemu -append a -append b" >"$tmp/warn"; check "a warning alone keeps exit 0" 0 $?
contains "repeated -append" "$tmp/warn" "QEMU uses only the last one"
contains "--pid groups the netdev under its NIC" "$tmp/pid" "  -netdev tap"
"$V" explain --argv - <"$tmp/root/proc/4242/cmdline" >"$tmp/nul"; check "NUL-separated stdin" 0 $?
cmp -s "$tmp/pid" "$tmp/nul" && echo "ok: same output" || { echo "FAIL: --pid and stdin differ"; fail=$((fail + 1)); }
"$V" explain --pid 999999999 --root "$tmp/root" 2>/dev/null; check "--pid of no process" 4 $?
"$V" explain --pid abc 2>/dev/null; check "--pid abc" 2 $?

# Input that cannot be parsed, and bad usage.
"$V" explain --argv "qemu -name 'x" 2>/dev/null >/dev/null; check "unbalanced quote" 3 $?
"$V" explain --argv "   " 2>/dev/null >/dev/null; check "empty command line" 3 $?
"$V" explain 2>/dev/null; check "no input" 2 $?
"$V" explain --argv "-S" --pid 1 2>/dev/null; check "two inputs" 2 $?
"$V" explain --argv "-S" --vm x 2>/dev/null; check "--vm without a profile" 2 $?

# A byte that is not UTF-8 cannot go into JSON: said with its place (it said "Cannot allocate memory").
printf 'qemu -m 1G\n -name "caf\351"\n' >"$tmp/latin1"
"$V" explain --json --argv - <"$tmp/latin1" >/dev/null 2>"$tmp/latin1.err"; check "non-UTF-8 with --json" 3 $?
contains "non-UTF-8: what and where" "$tmp/latin1.err" "Word 5 (at line 2, column 8) has byte 0xe9 at its offset 3"
"$V" explain --argv - <"$tmp/latin1" >/dev/null 2>&1; check "non-UTF-8 as text still explains" 0 $?

# Unknown options are reported, not guessed, and the JSON says so.
"$V" explain --json --argv "qemu -frob 1 -device e1000,zap=2" >"$tmp/unk.json"; check "unknown option" 3 $?
contains "unknown option json" "$tmp/unk.json" '"options_unknown": 1'
contains "unknown property json" "$tmp/unk.json" '"properties_unknown": 1'

# --json --compact: the same options and values, each explanation once under "docs", nothing empty.
for f in vcp vfp; do
        "$V" explain --json --compact --argv - <"$FIX/seed-$f.cmdline" >"$tmp/$f.compact"; check "seed $f --compact" 3 $?
        if [ "$(jq -c '[.options[] | [.word, .argument, (.properties | map([.key, .value]))]]' "$tmp/$f.json")" = \
             "$(jq -c '[.options[] | [.word, .argument, (.properties // [] | map([.key, .value]))]]' "$tmp/$f.compact")" ]; then
                echo "ok: seed $f --compact: the same options, properties and values"
        else
                echo "FAIL: seed $f --compact: options or values differ from --json"; fail=$((fail + 1))
        fi
        bad=$(jq '[(.options[], .options[].properties[]?) | .doc // empty] - (.docs | keys) | length' "$tmp/$f.compact")
        check "seed $f --compact: every doc is in docs ($bad missing)" 0 "$bad"
        empty=$(jq '[.options[], .options[].properties[]?, .docs[] | to_entries[] | select(.value == null or .value == false or .value == [])] | length' "$tmp/$f.compact")
        check "seed $f --compact: no null, false or empty member ($empty)" 0 "$empty"
        expl=$(jq -r '.options[] | select(.word == "-realtime") | .doc as $d | $d' "$tmp/$f.compact")
        if [ "$(jq -r --arg d "$expl" '.docs[$d].explanation' "$tmp/$f.compact")" = \
             "$(jq -r '.options[] | select(.word == "-realtime") | .explanation' "$tmp/$f.json")" ]; then
                echo "ok: seed $f --compact: -realtime's explanation through its doc"
        else
                echo "FAIL: seed $f --compact: -realtime's doc does not carry its explanation"; fail=$((fail + 1))
        fi
        [ "$(wc -c <"$tmp/$f.compact")" -lt "$(($(wc -c <"$tmp/$f.json") / 2))" ] && echo "ok: seed $f --compact is less than half" ||
                { echo "FAIL: seed $f --compact is not smaller"; fail=$((fail + 1)); }
done
"$V" explain --compact --argv "qemu -m 1G" >/dev/null 2>&1; check "--compact without --json" 2 $?

# A profile: options carry the profile key that produced them.
if [ -f "$ROOT/profiles/demo.yaml" ]; then
        "$V" explain "$ROOT/profiles/demo.yaml" --accel tcg >"$tmp/prof"; check "profile" 0 $?
        contains "profile origins" "$tmp/prof" "from: vms[0]"
        contains "profile: all known" "$tmp/prof" "options: 0 unknown, 0 of unknown type"
        "$V" explain "$ROOT/profiles/demo.yaml" --vm no-such-vm 2>/dev/null >/dev/null; check "profile --vm unknown" 2 $?
else
        echo "SKIP: profiles/demo.yaml not there (counted as a pass of the rest)"
fi

echo "$fail failures"
[ "$fail" -eq 0 ]
