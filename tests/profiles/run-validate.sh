#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs `vmxrun validate` on every fixture here: pass-*.yaml must exit 0 and
# print nothing on stderr; fail-*.yaml must exit 3 and print exactly
# fail-*.err on stderr. Then checks --json, --help, usage errors and the size limit.
set -u

: "${VMXRUN:?VMXRUN must name the vmxrun binary}"
dir=$(dirname "$0")
cd "$dir" || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failures=0
count=0

fail() {
        echo "FAIL: $*"
        failures=$((failures + 1))
}

for f in pass-*.yaml; do
        count=$((count + 1))
        "$VMXRUN" validate "$f" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq 0 ] || fail "$f: exit status $rc, expected 0"
        [ -s "$tmp/err" ] && { fail "$f: unexpected stderr:"; cat "$tmp/err"; }
        grep -q "^$f: valid (" "$tmp/out" || fail "$f: no 'valid' line on stdout"
done

for f in fail-*.yaml; do
        count=$((count + 1))
        "$VMXRUN" validate "$f" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ "$rc" -eq 3 ] || fail "$f: exit status $rc, expected 3"
        diff -u "${f%.yaml}.err" "$tmp/err" || fail "$f: stderr differs from ${f%.yaml}.err"
done

# --json: an object with the diagnostics on stdout (docs/validate-json.md), nothing on stderr, same exit status.
"$VMXRUN" validate --json fail-unknown-keys.yaml >"$tmp/out" 2>"$tmp/err"
[ $? -eq 3 ] || fail "--json: exit status, expected 3"
[ -s "$tmp/err" ] && fail "--json: unexpected stderr"
grep -q '"path": "vms\[0\].memroy"' "$tmp/out" || fail "--json: no entry for vms[0].memroy"
grep -q '"hint": "did you mean '"'"'memory'"'"'?"' "$tmp/out" || fail "--json: no hint"
grep -q '"line": 7' "$tmp/out" || fail "--json: no line"
"$VMXRUN" validate --json pass-minimal.yaml >"$tmp/out" 2>&1
[ $? -eq 0 ] && [ "$(tr -d ' \n' <"$tmp/out")" = '{"version":1,"diagnostics":[]}' ] ||
        fail "--json on a valid profile: expected no diagnostics"

# A non-ASCII character in a name: the message quotes it whole, so --json stays valid UTF-8.
printf 'name: v\303\251\nvms:\n  - name: a\n    memory: {size: 1G}\n' >"$tmp/utf8.yaml"
"$VMXRUN" validate --json "$tmp/utf8.yaml" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 3 ] || fail "--json, non-ASCII name: exit status, expected 3"
[ -s "$tmp/err" ] && { fail "--json, non-ASCII name: unexpected stderr:"; cat "$tmp/err"; }
grep -q "contains '$(printf '\303\251')'" "$tmp/out" || fail "--json, non-ASCII name: the character is not quoted whole"

"$VMXRUN" validate --help >"$tmp/out" 2>&1 || fail "--help: non-zero exit"
grep -q "Usage: vmxrun validate" "$tmp/out" || fail "--help: no usage"
"$VMXRUN" validate >/dev/null 2>&1
[ $? -eq 2 ] || fail "no argument: expected exit status 2"
"$VMXRUN" validate --bogus pass-minimal.yaml >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown option: expected exit status 2"
"$VMXRUN" validate does-not-exist.yaml >/dev/null 2>&1
[ $? -eq 1 ] || fail "missing file: expected exit status 1"

# A file over the 1 MiB limit is bad input (3), for validate and for the commands that load a
# profile through cli_load_profile (cmdline, start), a vmx.conf-looking one too.
head -c 1100000 /dev/zero | tr '\0' '#' >"$tmp/big.yaml"
"$VMXRUN" validate "$tmp/big.yaml" >/dev/null 2>"$tmp/err"
[ $? -eq 3 ] || fail "file over 1 MiB: validate: expected exit status 3"
grep -q "file too large" "$tmp/err" || fail "file over 1 MiB: validate: no 'file too large'"
"$VMXRUN" cmdline "$tmp/big.yaml" >/dev/null 2>"$tmp/err"
[ $? -eq 3 ] || fail "file over 1 MiB: cmdline: expected exit status 3"
grep -q "file too large" "$tmp/err" || fail "file over 1 MiB: cmdline: no 'file too large'"
{ echo "vm_name: big"; head -c 1100000 /dev/zero | tr '\0' '#'; } >"$tmp/big.vmx.conf"
"$VMXRUN" cmdline "$tmp/big.vmx.conf" >/dev/null 2>&1
[ $? -eq 3 ] || fail "vmx.conf over 1 MiB: cmdline: expected exit status 3"

echo "$count fixtures, $failures failures"
[ "$failures" -eq 0 ]
