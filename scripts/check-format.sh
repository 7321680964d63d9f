#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Checks that the C lines changed since BASE are formatted as .clang-format
# says (git clang-format: only the changed lines, so old code is not
# reformatted wholesale). BASE is $1, else the commit .ci/format-base names
# (the last landed commit whose changes were checked; each session moves it
# forward once its own changes pass), else HEAD~1.
#   scripts/check-format.sh           check
#   git clang-format-14 BASE          fix what it reports
set -eu
cd "$(dirname "$0")/.."
base=${1:-$(cat .ci/format-base 2>/dev/null || echo HEAD~1)}
gcf=$(command -v git-clang-format-14 || command -v git-clang-format || true)
if [ -z "$gcf" ]; then
        echo "check-format: git-clang-format is not installed (scripts/install-deps.sh installs clang-format)" >&2
        exit 1
fi
out=$("$gcf" --binary "$(command -v clang-format-14 || command -v clang-format)" --diff --extensions c,h \
        "$base" -- 2>&1) || true
case "$out" in
"" | *"no modified files to format"* | *"did not modify any files"*)
        echo "check-format: the C lines changed since $base are formatted"
        exit 0
        ;;
esac
printf '%s\n' "$out"
echo "check-format: the lines above are not formatted as .clang-format says; git clang-format-14 $base fixes them" >&2
exit 1
