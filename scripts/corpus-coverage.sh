#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# scripts/corpus-coverage.sh DIR...
#
# Runs `vmxrun explain --json` on every command line in DIR (files *.args,
# *.cmd, *.sh, *.txt; one command line each, as a shell would read it) and
# reports how much of it vmxrun knows: options and properties, known and
# unknown, crashes (an exit status other than 0 or 3), and every unknown
# option, type and property with the files it is in. tests/corpus/INDEX.md
# says where the corpus comes from. VMXRUN names the binary.
set -u
VMXRUN=${VMXRUN:-$(dirname "$0")/../build/dev/cli/vmxrun}
command -v jq >/dev/null || { echo "corpus-coverage.sh: needs jq" >&2; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files=0 crashes=0
for dir in "$@"; do
	for f in "$dir"/*.args "$dir"/*.cmd "$dir"/*.sh "$dir"/*.txt; do
		[ -f "$f" ] || continue
		files=$((files + 1))
		"$VMXRUN" explain --json --argv - <"$f" >"$tmp/out.json" 2>"$tmp/err"
		rc=$?
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
			echo "CRASH or failure (exit $rc): $f: $(head -c 200 "$tmp/err")"
			crashes=$((crashes + 1))
			continue
		fi
		name=$(basename "$f")
		jq -r --arg f "$name" '
			.summary as $s | "S \($s.options) \($s.options_unknown + $s.types_unknown) \($s.properties) \($s.properties_unknown)",
			(.options[] | . as $o |
				(if .known == false then "U option -\(.option) \($f)"
				 elif (.type != null and .type_known == false) then "U type -\(.option) \(.type) \($f)"
				 else empty end),
				(.properties[] | select(.known == false and .is_type == false) |
					"U property -\($o.option) \($o.type // "")/\(.key) \($f)"))' \
			"$tmp/out.json" >>"$tmp/all"
	done
done
awk -v files="$files" -v crashes="$crashes" '
	$1 == "S" { o += $2; ou += $3; p += $4; pu += $5 }
	$1 == "U" { f = $NF; $NF = ""; sub(/^U /, ""); n[$0]++; if (!(($0) in where)) where[$0] = f }
	END {
		printf "%d files, %d crashes\n", files, crashes
		printf "options:    %d, %d unknown: %.2f%% known\n", o, ou, o ? 100 * (o - ou) / o : 100
		printf "properties: %d, %d unknown: %.2f%% known\n", p, pu, p ? 100 * (p - pu) / p : 100
		for (k in n) printf "unknown: %s (%d times, e.g. %s)\n", k, n[k], where[k]
	}' "$tmp/all" | sort -s -k1,1
[ "$crashes" -eq 0 ]
