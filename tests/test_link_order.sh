#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test_link_order.sh APPLIED: the static vmxrun is linked in the order of
# cli/link-order.txt (bench/order.sh), and that order still names the
# functions the binary has. APPLIED is CMake's VX_LINK_ORDER_APPLIED: only a
# static build with lld orders its functions; any other build skips.
#
# What it checks, on the binary itself (nm):
# - at least 90% of the order's names are functions of the binary: past
#   that, the order is stale and the supervisor maps code it does not run
#   (run bench/order.sh);
# - the ordered functions come first: below the end of the last one, no
#   more than half of the bytes belong to functions the order does not name
#   (those sharing an object's section with one it names, as libc's and the
#   libraries' do: about 40% here). In the default order (GNU ld) the named
#   ones are spread over the whole text, with about 80% of others between;
# - bench/stepcov, which order.sh traces with, still sees vmxrun's code.
set -uo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[ "${1:-OFF}" = ON ] || skip "this build does not order its functions (only VX_STATIC with lld does)"
command -v nm >/dev/null || skip "nm is not installed"
SRC=${VX_SOURCE_ROOT:?}
ORDER=$SRC/cli/link-order.txt
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

tmp=$(mktemp -d /tmp/vx-link-order.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
syms=$tmp/nm.txt
# address size type name, decimal, in address order; functions with a size only
nm -t d -n -S --defined-only "$VMXRUN" | awk 'NF == 4 && $3 ~ /^[tTwWiI]$/ && $2 + 0 > 0' >"$syms"

read -r listed found head_bytes unlisted_bytes < <(awk '
        NR == FNR { if ($0 !~ /^#/ && NF) want[$1] = 1; next }
        { f[++n] = $4; a[n] = $1 + 0; s[n] = $2 + 0; if ($4 in want) { have[$4] = 1; last = n } }
        END {
                for (k in want) listed++
                for (k in have) found++
                for (i = 1; i <= last; i++) if (!(f[i] in want)) un += s[i]
                printf "%d %d %d %d\n", listed, found, a[last] + s[last] - a[1], un
        }' "$ORDER" "$syms")

if ((listed < 100)); then
        bad "cli/link-order.txt names $listed functions (expected hundreds: bench/order.sh writes it)"
elif ((found * 10 >= listed * 9)); then
        ok "$found of the $listed functions cli/link-order.txt names are in vmxrun"
else
        bad "only $found of the $listed functions cli/link-order.txt names are still in vmxrun: run bench/order.sh"
fi
if ((head_bytes > 0 && unlisted_bytes * 2 <= head_bytes)); then
        ok "the ordered functions come first: $((head_bytes / 1024)) KiB, $((unlisted_bytes / 1024)) KiB of it unlisted"
else
        bad "the ordered functions are not first: $((unlisted_bytes / 1024)) of the $((head_bytes / 1024)) KiB up to the last one are unlisted (was the order applied?)"
fi

# The tracer bench/order.sh relies on: single-steps a real vmxrun run.
if command -v cc >/dev/null && command -v make >/dev/null; then
        cov=$tmp/stepcov.txt
        if make -s -C "$SRC/bench" O="$tmp" "$tmp/stepcov" >/dev/null &&
                "$tmp/stepcov" "$cov" "$VMXRUN" --version >/dev/null 2>&1; then
                # main()'s range in hex, as stepcov prints addresses; same-length hex compares as text
                read -r lo hi < <(awk '$4 == "main" {printf "%x %x\n", $1, $1 + $2}' "$syms")
                read -r n in_main < <(awk -v lo="$lo" -v hi="$hi" '
                        { n++; if (length($3) == length(lo) && ("x" $3) >= ("x" lo) && ("x" $3) < ("x" hi)) m++ }
                        END { printf "%d %d\n", n, m }' "$cov")
                if ((n > 1000 && in_main > 0)); then
                        ok "bench/stepcov traced vmxrun --version: $n addresses, $in_main in main()"
                else
                        bad "bench/stepcov traced vmxrun --version: $n addresses, $in_main in main()"
                fi
        else
                bad "bench/stepcov did not build or trace vmxrun --version"
        fi
else
        echo "skipped: bench/stepcov (no cc/make)"
fi
exit $((fail > 0))
