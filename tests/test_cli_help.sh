#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Commands that explain themselves: every `vmxrun CMD --help` has the same
# sections (Usage, Options with -v and -h, Exit status) on stdout and exits 0;
# `vmxrun help CMD` prints the same; a usage error prints one line and
# "Try 'vmxrun CMD --help'." on stderr, nothing on stdout, and exits 2; -v is
# accepted before and after the command.
set -u
# shellcheck source=tests/check-lib.sh
. "$(dirname "$0")/check-lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

commands=$("$VMXRUN" --help | awk '/^Commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }' | grep -vx help)
check "vmxrun --help lists the commands" [ "$(wc -w <<<"$commands")" -ge 18 ]
check "vmxrun --help has Usage, Options and Exit status" \
        bash -c "'$VMXRUN' --help | grep -q '^Usage: vmxrun' && '$VMXRUN' --help | grep -q '^Options:' && '$VMXRUN' --help | grep -q '^Exit status: '"
check "vmxrun help is vmxrun --help" [ "$("$VMXRUN" help)" = "$("$VMXRUN" --help)" ]

bad_sections="" bad_help="" bad_errors="" bad_v=""
for c in $commands; do
        "$VMXRUN" "$c" --help >"$tmp/out" 2>"$tmp/err"
        rc=$?
        # The sections, in this order, each once.
        order=$(grep -oE '^(Usage: vmxrun '"$c"'|Options:|  -v, --verbose|  -h, --help|Exit status: )' "$tmp/out" |
                sed 's/ vmxrun.*//; s/ *$//' | tr -s ' ' | paste -sd'|')
        [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && [ "$order" = "Usage:|Options:| -v, --verbose| -h, --help|Exit status:" ] ||
                bad_sections="$bad_sections $c($order)"
        "$VMXRUN" help "$c" >"$tmp/help" 2>&1
        cmp -s "$tmp/out" "$tmp/help" || bad_help="$bad_help $c"
        # -v after the command, then --help: still the help.
        "$VMXRUN" "$c" -v --help >"$tmp/vhelp" 2>&1
        cmp -s "$tmp/out" "$tmp/vhelp" || bad_v="$bad_v $c"

        "$VMXRUN" "$c" --no-such-option x >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ $rc -eq 2 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" -eq 2 ] &&
                [ "$(head -1 "$tmp/err")" = "vmxrun: error: unknown option '--no-such-option'." ] &&
                [ "$(tail -1 "$tmp/err")" = "Try 'vmxrun $c --help'." ] || bad_errors="$bad_errors $c"
done
check "every CMD --help: Usage, Options (ending with -v and -h), Exit status, on stdout, exit 0${bad_sections:+ (not:$bad_sections)}" \
        [ -z "$bad_sections" ]
check "vmxrun help CMD is vmxrun CMD --help${bad_help:+ (not:$bad_help)}" [ -z "$bad_help" ]
check "vmxrun CMD -v --help is the help${bad_v:+ (not:$bad_v)}" [ -z "$bad_v" ]
check "an unknown option: one line, then Try 'vmxrun CMD --help', exit 2${bad_errors:+ (not:$bad_errors)}" \
        [ -z "$bad_errors" ]

usage_error() { # usage_error 'EXPECTED FIRST LINE' 'TRY LINE' ARGS...
        local first=$1 try=$2
        shift 2
        "$VMXRUN" "$@" >"$tmp/out" 2>"$tmp/err"
        [ $? -eq 2 ] && [ ! -s "$tmp/out" ] && [ "$(cat "$tmp/err")" = "$first
$try" ] || { echo "  got: $(cat "$tmp/err")"; return 1; }
}
check "a missing value" usage_error "vmxrun: error: option '--vm' needs a value." "Try 'vmxrun stop --help'." stop demo --vm
check "a value given to a flag" usage_error "vmxrun: error: option '--force' takes no value." \
        "Try 'vmxrun stop --help'." stop demo --force=yes
check "a short option that needs a value" usage_error "vmxrun: error: option '-t' needs a value." \
        "Try 'vmxrun stop --help'." stop demo -t
check "a wrong number of arguments" usage_error "vmxrun: error: start takes one profile or NAME." \
        "Try 'vmxrun start --help'." start a b
# stop and restart parse --timeout alike (cli_parse_seconds()): a value that is not
# digits only is a usage error naming the option and the value; a valid one gets
# as far as finding the deployment (not running: 4).
bad_timeout() { # bad_timeout CMD VALUE
        local first
        "$VMXRUN" "$1" demo --runtime-dir "$tmp" --timeout "$2" >"$tmp/out" 2>"$tmp/err"
        [ $? -eq 2 ] && [ ! -s "$tmp/out" ] && first=$(head -1 "$tmp/err") &&
                [[ $first =~ ^"vmxrun: error: --timeout takes a number of seconds (0 to "[0-9]+"), not '$2'."$ ]] &&
                [ "$(sed -n '2,$p' "$tmp/err")" = "Try 'vmxrun $1 --help'." ] || { echo "  got: $(cat "$tmp/err")"; return 1; }
}
good_timeout() { # good_timeout CMD OPTION...
        local cmd=$1
        shift
        "$VMXRUN" "$cmd" demo --runtime-dir "$tmp" "$@" >"$tmp/out" 2>"$tmp/err"
        [ $? -eq 4 ] && [ "$(cat "$tmp/err")" = "vmxrun: error: demo is not running." ] ||
                { echo "  got: $(cat "$tmp/err")"; return 1; }
}
for c in stop restart; do
        for v in "" 5x soon " 5" +5 -1 99999999999; do
                check "$c --timeout '$v' is a usage error" bad_timeout "$c" "$v"
        done
        check "$c --timeout 5 is taken" good_timeout "$c" --timeout 5
        check "$c -t 0 is taken" good_timeout "$c" -t 0
        check "$c --timeout=600 is taken" good_timeout "$c" --timeout=600
done
check "no command" usage_error "vmxrun: error: no command given." "Try 'vmxrun --help'."
check "an unknown command" usage_error "vmxrun: error: unknown command 'frobnicate'." "Try 'vmxrun --help'." frobnicate
check "help of an unknown command" usage_error "vmxrun: error: unknown command 'frobnicate'." "Try 'vmxrun --help'." \
        help frobnicate
check "an unknown global option" usage_error "vmxrun: error: unknown option '--frob'." "Try 'vmxrun --help'." --frob

# -v before and after the command: the same debug lines.
conf=$VX_SOURCE_ROOT/tests/import/pass-lite-many.vmx.conf
"$VMXRUN" -v cmdline "$conf" >/dev/null 2>"$tmp/before"
"$VMXRUN" cmdline "$conf" -v >/dev/null 2>"$tmp/after"
"$VMXRUN" cmdline "$conf" >/dev/null 2>"$tmp/none"
check "-v before the command logs debug lines" grep -q '^vmxrun: debug: ' "$tmp/before"
check "-v after the command logs the same" cmp -s "$tmp/before" "$tmp/after"
check "without -v, no debug line" bash -c "! grep -q '^vmxrun: debug: ' '$tmp/none'"
check "--verbose after the command too" \
        bash -c "'$VMXRUN' cmdline '$conf' --verbose 2>&1 >/dev/null | grep -q '^vmxrun: debug: '"
# A long option whose value is 'v' (--vm) is not -v.
"$VMXRUN" cmdline "$VX_SOURCE_ROOT/profiles/vmx-virtio.yaml" --vm vfp-vmx1 >"$tmp/vm" 2>&1
check "--vm (whose option value is 'v') still selects a VM" bash -c "grep -q 'vfp-vmx1' '$tmp/vm' && ! grep -q 'vcp-vmx1,' '$tmp/vm'"

verdict
