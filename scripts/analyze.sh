#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Checks beyond the tests (issue 11), each in a build directory of its own:
#
#   scripts/analyze.sh [all]      both of the below
#   scripts/analyze.sh valgrind   every unit test binary (CTest label "unit",
#                                 cmocka binaries) under valgrind memcheck:
#                                 no invalid access, no uninitialised use, no
#                                 definite or indirect leak (build/analyze-valgrind,
#                                 -O1 -g, no sanitizers)
#   scripts/analyze.sh analyzer   the libraries and the vmxrun binary compiled
#                                 with gcc -fanalyzer at -O0 (build/analyze-fanalyzer,
#                                 about a minute with -j2); every -Wanalyzer-*
#                                 warning is a finding
#
# ANALYZE_EXCLUDE: a bash regular expression of test names valgrind leaves out
# (e.g. on a shared machine: ANALYZE_EXCLUDE=hugepages). Under valgrind the
# tests see VX_UNDER_VALGRIND=1 (what valgrind cannot run, such as a seccomp
# filter or pidfd_open, which valgrind 3.19 does not know, they skip, saying so).
#
# Exits 1 when anything was found, and lists each finding as file:line with
# the function it is in. A warning that is wrong and that the code cannot be
# made plain to the analyzer about is suppressed in scripts/analyze.suppress,
# narrowly (the file, the function, the allocation) and with the reason.
# scripts/test.sh runs the analyzer part.
# Needs: cmake, gcc, valgrind, jq.
set -uo pipefail

# As the analyzer build's compiler launcher: one compilation, its diagnostics into
# <object>.diag, so that those of parallel compilations do not interleave in one log.
if [ "${1:-}" = --cc ]; then
        shift
        out=/dev/null prev=
        for a in "$@"; do
                [ "$prev" = -o ] && out=$a.diag
                prev=$a
        done
        exec "$@" 2>"$out"
fi
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)
what=${1:-all}
status=0

run_valgrind() {
        local b=build/analyze-valgrind log=build/analyze-valgrind/valgrind tests t cmd bad=0 n=0
        echo "== valgrind memcheck: unit test binaries"
        cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="-O1 -g" -DVX_WERROR=ON >/dev/null || return 1
        cmake --build "$b" -j"$jobs" >/dev/null || return 1
        rm -rf "$log"
        mkdir -p "$log"
        # name and command of each unit test whose command is an ELF binary (not a shell script)
        tests=$(cd "$b" && ctest -L unit --show-only=json-v1 |
                jq -r '.tests[] | select(.command != null) | "\(.name) \(.command | map(@sh) | join(" "))"')
        while read -r t cmd; do
                [ -n "$t" ] || continue
                if [ -n "${ANALYZE_EXCLUDE:-}" ] && [[ $t =~ $ANALYZE_EXCLUDE ]]; then
                        echo "  $t: left out (ANALYZE_EXCLUDE)"
                        continue
                fi
                eval "set -- $cmd"
                head -c 4 "$1" 2>/dev/null | grep -q ELF || continue
                n=$((n + 1))
                (cd "$b" && VMXRUN="$PWD/cli/vmxrun" VX_UNDER_VALGRIND=1 valgrind --quiet --error-exitcode=99 --leak-check=full \
                        --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
                        --child-silent-after-fork=yes --log-file="$PWD/valgrind/$t.%p.log" "$@" >"valgrind/$t.out" 2>&1)
                case $? in
                0 | 77) ;;
                99)
                        bad=$((bad + 1))
                        echo "  $t: memcheck errors:"
                        cat "$log/$t".*.log | grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|.*definitely|.*indirectly|   (at|by) 0x)' |
                                grep -vE '\((vg_replace|in /usr/lib)' | head -20 | sed 's/^/    /'
                        ;;
                *)
                        bad=$((bad + 1))
                        echo "  $t: the test failed under valgrind (see $log/$t.out)"
                        tail -5 "$log/$t.out" | sed 's/^/    /'
                        ;;
                esac
        done <<<"$tests"
        echo "  $n test binaries, $bad with findings (logs in $log)"
        [ "$bad" -eq 0 ]
}

run_analyzer() {
        local b=build/analyze-fanalyzer log found
        echo "== gcc -fanalyzer: the libraries and vmxrun"
        # -O0: at -O1 gcc 12 reports every `_cleanup_free_ char *p = NULL;` left by an early
        # return as "use of uninitialized value" (the optimised-away store), and it runs longer.
        cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="-O0 -fanalyzer" \
                -DCMAKE_C_COMPILER_LAUNCHER="$PWD/scripts/analyze.sh;--cc" >/dev/null || return 1
        cmake --build "$b" --target clean >/dev/null
        find "$b" -name '*.o.diag' -delete
        log=$b/fanalyzer.log
        # The libraries and the binary, not tests/ (cmocka's assert_*() do not return to the
        # analyzer's eyes, so every assert_non_null(p) is followed by "dereference of NULL"; the
        # tests' own leaks are valgrind's to find) nor fuzz/.
        if ! cmake --build "$b" -j"$jobs" --target vmxrun >"$b/build.log" 2>&1; then
                echo "  the build failed:"
                find "$b" -name '*.o.diag' -size +0 -exec tail -20 {} +
                tail -20 "$b/build.log"
                return 1
        fi
        find "$b" -name '*.o.diag' | sort | xargs cat >"$log"
        # Each finding as FILE:LINE:COL: warning: TEXT [FUNCTION()]. A warning inside a header's
        # inline function (cleanup.h's freep) is the inlining caller's, or (not inlined, at -O0)
        # that of the file that included the header, in the function the analyzer was in.
        found=$(awk -v root="$PWD/" '
                /^In file included from / { incl = $5; sub(/[:,]$/, "", incl); sub(/:[0-9]+$/, "", incl) }
                /^ +from [^ ]+[:,]$/ { incl = $2; sub(/[:,]$/, "", incl); sub(/:[0-9]+$/, "", incl) }
                /^\[ *[0-9]+%\]/ { incl = "" }
                /: In function ‘/ { fn = $0; sub(/.*In function ‘/, "", fn); sub(/’.*/, "", fn); inl = "" }
                /^ +inlined from ‘.* at / {
                        if (inl == "") { inl = $NF; sub(/:$/, "", inl); ifn = $0; sub(/.*inlined from ‘/, "", ifn); sub(/’.*/, "", ifn) }
                }
                /^[^ ]+:[0-9]+:[0-9]+: warning: .*\[-Wanalyzer-/ {
                        line = $0; f = fn
                        if ($1 ~ /\.h:/) {
                                split($0, a, ": warning: ")
                                if (inl != "") { line = inl ": warning: " a[2] " (in " a[1] ")"; f = ifn }
                                else if (incl != "") line = incl ": warning: " a[2] " (in " a[1] ")"
                        }
                        sub(root, "", line); print line " [" f "()]" }' "$log" | sed "s|$PWD/||g" | sort -u)
        found=$(suppress "$found")
        if [ -z "$found" ]; then
                echo "  no findings (suppressed, with their reasons: scripts/analyze.suppress)"
                return 0
        fi
        echo "$found" | sed 's/^/  /'
        echo "  $(echo "$found" | wc -l) findings (full log: $log)"
        return 1
}

# Drops the findings scripts/analyze.suppress explains: lines "FILE<TAB>REGEX<TAB>why", REGEX
# matched against the warning's text; the reason is required.
suppress() {
        local f=$1 file re why
        while IFS=$'\t' read -r file re why; do
                case $file in '#'* | '') continue ;; esac
                [ -n "$why" ] || { echo "analyze.suppress: $file: no reason given" >&2; continue; }
                f=$(echo "$f" | awk -v file="$file" -v re="$re" 'index($0, file ":") != 1 || $0 !~ re')
        done <scripts/analyze.suppress
        echo "$f" | sed '/^$/d'
}

case $what in
all)
        run_valgrind || status=1
        run_analyzer || status=1
        ;;
valgrind) run_valgrind || status=1 ;;
analyzer) run_analyzer || status=1 ;;
*)
        echo "usage: $0 [all|valgrind|analyzer]" >&2
        exit 2
        ;;
esac
exit $status
