#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Checks qemuargs/knowledge.txt against the installed QEMU's own help, so the
# table cannot drift: options present in this QEMU appear in `-help`, removed
# ones do not; device, object, machine and CPU types the table says exist are
# listed by `-device help` etc.; their properties by `-device TYPE,help`; CPU
# feature flags by `-cpu help`. Entries marked unlisted (handled by the option
# parser) or downstream (a distribution's) are not checked. Exits 77 without QEMU.
#
# First of all, the generated data set of the installed QEMU (qemuargs/qemu-7.2.txt
# on Debian 12) must be what that binary says about itself now: it is regenerated
# with vmxrun's own introspection and compared. After a QEMU update, regenerate
# it with qemuargs/qemu-knowledge.sh.
set -u
QEMU=${QEMU:-qemu-system-x86_64}
TABLE=${VX_SOURCE_ROOT:-$(dirname "$0")/..}/qemuargs/knowledge.txt

command -v "$QEMU" >/dev/null || { echo "SKIP: $QEMU not installed"; exit 77; }
VERSION=$("$QEMU" --version | sed -n 's/^QEMU emulator version \([0-9]*\.[0-9]*\).*/\1/p')
[ -n "$VERSION" ] || { echo "SKIP: cannot read the QEMU version"; exit 77; }
Q=("$QEMU" -nodefaults -machine none -display none)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$QEMU" -help >"$tmp/help" 2>/dev/null
"${Q[@]}" -device help >"$tmp/devices" 2>/dev/null
"${Q[@]}" -object help >"$tmp/objects" 2>/dev/null
"$QEMU" -machine help >"$tmp/machines" 2>/dev/null
"$QEMU" -cpu help >"$tmp/cpus" 2>/dev/null
sed -n '/Recognized CPUID flags/,$p' "$tmp/cpus" | tr -s ' \n' '\n' >"$tmp/cpuflags"

# ver_le A B: A <= B
ver_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -1)" = "$1" ]; }
# Whether the entry exists in this QEMU: yes, no, or skip (unknown versions).
present() {
        local since=$1 removed=$2
        if [ -n "$removed" ]; then
                case $removed in
                unknown) echo skip; return ;;
                *-*) removed=${removed##*-} ;; # "4.0-6.0": gone by the last
                esac
                ver_le "$removed" "$VERSION" && { echo no; return; }
        fi
        if [ -n "$since" ] && ! ver_le "$since" "$VERSION"; then echo skip; return; fi
        echo yes
}

fail=0 checked=0
DATA=${VX_SOURCE_ROOT:-$(dirname "$0")/..}/qemuargs/qemu-$VERSION.txt
if [ -f "$DATA" ] && [ -n "${VMXRUN:-}" ]; then
        if "$VMXRUN" explain --qemu "$(command -v "$QEMU")" --print-knowledge >"$tmp/generated" &&
                diff -u "$DATA" "$tmp/generated" >"$tmp/diff"; then
                echo "ok: $DATA matches what $QEMU says about itself ($(grep -c . "$DATA") lines)"
        else
                head -40 "$tmp/diff"
                echo "FAIL: $DATA differs from what $QEMU says now; rerun qemuargs/qemu-knowledge.sh"
                fail=$((fail + 1))
        fi
else
        echo "SKIP (part): no data set qemuargs/qemu-$VERSION.txt for the installed QEMU, or no VMXRUN"
fi
# explain --qemu: the same introspection, live, and what that binary would refuse.
if [ -n "${VMXRUN:-}" ] && [ "$VERSION" = 7.2 ]; then
        "$VMXRUN" explain --qemu "$(command -v "$QEMU")" --argv "qemu -m 1G -device igb" >"$tmp/live" 2>&1
        rc=$?
        if [ "$rc" = 3 ] && grep -q "the QEMU given with --qemu (7.2) does not have it" "$tmp/live"; then
                echo "ok: explain --qemu says QEMU 7.2 lacks igb (exit 3)"
        else
                echo "FAIL: explain --qemu on igb: exit $rc"; tail -5 "$tmp/live"; fail=$((fail + 1))
        fi
fi
err() { echo "FAIL (knowledge.txt:$1): $2"; fail=$((fail + 1)); }

while IFS='|' read -r line kind scope name attrs; do
        attr() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$attrs"; }
        flag() { grep -qw -- "$1" <<<"$attrs"; }
        flag unlisted && continue
        flag downstream && continue
        case $name in *[\*\?\[]*) continue ;; esac
        p=$(present "$(attr since)" "$(attr removed)")
        [ "$p" = skip ] && continue
        checked=$((checked + 1))
        case $kind/$scope in
        opt/)
                if grep -Eq -- "^--?$name\b" "$tmp/help"; then has=yes; else has=no; fi
                [ "$has" = "$p" ] || err "$line" "-$name: table says present=$p, qemu -help says $has"
                ;;
        type/device | type/object)
                list=$tmp/${scope}s
                [ "$scope" = device ] && list=$tmp/devices
                [ "$scope" = object ] && list=$tmp/objects
                if grep -Eq -- "(^|name \"| )$name(\"|,|\$)" "$list"; then has=yes; else has=no; fi
                [ "$has" = "$p" ] || err "$line" "$scope type $name: table says present=$p, qemu says $has"
                ;;
        type/machine)
                if grep -q -- "^$name " "$tmp/machines"; then has=yes; else has=no; fi
                [ "$has" = "$p" ] || err "$line" "machine $name: table says present=$p, qemu says $has"
                ;;
        type/cpu)
                if grep -q -- "^x86 $name " "$tmp/cpus"; then has=yes; else has=no; fi
                [ "$has" = "$p" ] || err "$line" "cpu model $name: table says present=$p, qemu says $has"
                ;;
        prop/device/* | prop/object/*)
                opt=${scope%%/*} type=${scope#*/}
                [ "$p" = yes ] || continue
                # Properties of a removed type cannot be listed.
                grep -Eq "^type *\| *$opt *\| *$type *\|[^|]*removed=" "$TABLE" && continue
                f=$tmp/props-$opt-$type
                [ -f "$f" ] || "${Q[@]}" -"$opt" "$type,help" >"$f" 2>&1
                grep -Eq -- "^ *$name=" "$f" || err "$line" "-$opt $type has no property $name"
                ;;
        prop/machine)
                [ -f "$tmp/props-machine" ] || "$QEMU" -machine pc,help >"$tmp/props-machine" 2>&1
                if grep -Eq -- "^ *$name=" "$tmp/props-machine"; then has=yes; else has=no; fi
                [ "$has" = "$p" ] || err "$line" "-machine pc property $name: table says present=$p, qemu says $has"
                ;;
        prop/cpu)
                flag feature || continue
                if grep -qx -- "$name" "$tmp/cpuflags"; then has=yes; else has=no; fi
                [ "$has" = "$p" ] || err "$line" "CPU flag $name: table says present=$p, qemu -cpu help says $has"
                ;;
        *) checked=$((checked - 1)) ;;
        esac
done < <(awk -F'|' '!/^[ \t]*#/ && NF >= 5 {
        for (i = 1; i <= 4; i++) { gsub(/^[ \t]+|[ \t]+$/, "", $i) }
        print NR "|" $1 "|" $2 "|" $3 "|" $4 }' "$TABLE")

echo "checked $checked entries against QEMU $VERSION: $fail failures"
[ "$fail" -eq 0 ]
