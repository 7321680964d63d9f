#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What `cmake --install` puts in place, installed into a DESTDIR: the binary,
# vmxrun(8) and vmxrun-profile(5) (no warnings from man, every command and
# option of the binary documented), the bash completion (driven as bash
# drives it, against a fake runtime dir), the unit, tmpfiles.d and sysusers.d.
set -u
# shellcheck source=tests/check-lib.sh
. "$(dirname "$0")/check-lib.sh"
: "${VX_BINARY_DIR:?}"
command -v man >/dev/null || skip "man (man-db) is not installed"
command -v scdoc >/dev/null || skip "scdoc is not installed: the man pages are not built"


tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
DESTDIR=$dest cmake --install "$VX_BINARY_DIR" >"$tmp/install.log" 2>&1
check "cmake --install into a DESTDIR succeeds" [ $? -eq 0 ]
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$VX_BINARY_DIR/CMakeCache.txt")
root=$dest$prefix

for f in sbin/vmxrun share/man/man8/vmxrun.8 share/man/man5/vmxrun-profile.5 \
        share/bash-completion/completions/vmxrun lib/tmpfiles.d/vmxrun.conf lib/sysusers.d/vmxrun.conf; do
        check "installed: $f" [ -s "$root/$f" ]
done
unit=$(find "$dest" -name 'vmxrun@.service' | head -1)
check "installed: vmxrun@.service" [ -n "$unit" ]
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
check "the unit's ExecStart names the installed binary ($exec_start)" [ -x "$dest$exec_start" ]
check "the unit is Type=notify" grep -qx 'Type=notify' "$unit"
check "the unit's ExecStop stops the same instance" grep -q '^ExecStop=.* stop .*%i$' "$unit"

for page in "$root/share/man/man8/vmxrun.8" "$root/share/man/man5/vmxrun-profile.5"; do
        warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
        check "man --warnings: ${page##*/} has none${warnings:+: $warnings}" [ -z "$warnings" ]
done
page_text=$(MANWIDTH=200 man -l "$root/share/man/man8/vmxrun.8" 2>/dev/null)
commands=$("$VMXRUN" --help | awk '/^Commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }')
check "vmxrun --help lists commands" [ "$(wc -w <<<"$commands")" -ge 10 ]
undocumented=""
for c in $commands; do
        grep -qE "^   $c( |,|$)" <<<"$page_text" || undocumented="$undocumented $c"
        for o in $("$VMXRUN" "$c" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
                grep -q -- "$o" <<<"$page_text" || undocumented="$undocumented $c:$o"
        done
done
check "vmxrun(8) documents every command and option of --help${undocumented:+ (missing:$undocumented)}" \
        [ -z "$undocumented" ]
for s in "EXIT STATUS" ENVIRONMENT FILES; do
        check "vmxrun(8) has $s" grep -q "^$s" <<<"$page_text"
done
check "vmxrun-profile(5) describes the keys of docs/profile.md" \
        bash -c "MANWIDTH=200 man -l '$root/share/man/man5/vmxrun-profile.5' 2>/dev/null | grep -q 'hugepages.page-size'"

if command -v systemd-sysusers >/dev/null; then
        mkdir -p "$tmp/sysroot/etc"
        systemd-sysusers --root="$tmp/sysroot" "$root/lib/sysusers.d/vmxrun.conf" >/dev/null 2>&1
        check "systemd-sysusers creates the vmxrun-qemu system user" \
                grep -q '^vmxrun-qemu:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' "$tmp/sysroot/etc/passwd"
fi
if command -v systemd-tmpfiles >/dev/null; then
        mkdir -p "$tmp/tmproot/run" "$tmp/tmproot/var/log"
        systemd-tmpfiles --root="$tmp/tmproot" --create "$root/lib/tmpfiles.d/vmxrun.conf" >/dev/null 2>&1
        check "systemd-tmpfiles creates /run/vmxrun" [ -d "$tmp/tmproot/run/vmxrun" ]
fi

version=$("$VMXRUN" --version)
check "--version names vmxrun's version" grep -qx 'vmxrun [0-9][0-9.]*' <<<"$(head -1 <<<"$version")"
if [ -x /usr/bin/qemu-system-x86_64 ]; then
        qemu_line="QEMU: /usr/bin/qemu-system-x86_64 ($(/usr/bin/qemu-system-x86_64 --version | head -1))"
        check "--version names the QEMU found and its version" [ "$(sed -n 2p <<<"$version")" = "$qemu_line" ]
else
        check "--version says QEMU is missing" grep -q '^QEMU: /usr/bin/qemu-system-x86_64: ' <<<"$version"
fi

# The completion, driven as bash drives it. The commands and options come
# from the binary's --help, so the binary is on PATH as `vmxrun`.
mkdir -p "$tmp/bin" "$tmp/run/alpha/vm-a" "$tmp/run/alpha/vm-b" "$tmp/run/beta" "$tmp/etc"
ln -s "$VMXRUN" "$tmp/bin/vmxrun"
cat >"$tmp/run/alpha/state.json" <<'JSON'
{
  "version": 1,
  "deployment": "alpha",
  "vms": [
    {"name": "vm-a", "state": "running", "nics": [{"type": "tap"}]},
    {"name": "vm-b", "state": "running"}
  ]
}
JSON
touch "$tmp/etc/gamma.yaml" "$tmp/etc/delta.conf" "$tmp/etc/notes.txt"
complete_words() {
        PATH="$tmp/bin:$PATH" VMXRUN_RUNTIME_DIR="$tmp/run" VMXRUN_CONFIG_DIR="$tmp/etc" bash -c '
                shopt -s extglob
                source "$1"; shift
                COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
                _vmxrun
                printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
                bash "$root/share/bash-completion/completions/vmxrun" "$@"
}
got=$(complete_words vmxrun st)
check "completes commands: 'st' gives start status stop ($got)" [ "$got" = "start status stop " ]
got=$(complete_words vmxrun -v sta)
check "completes commands after -v ($got)" [ "$got" = "start status " ]
got=$(complete_words vmxrun stop "")
check "completes running deployments from the runtime dir ($got)" [ "$got" = "alpha beta " ]
got=$(complete_words vmxrun status --runtime-dir "$tmp/run" al)
check "completes a deployment under --runtime-dir ($got)" [ "$got" = "alpha " ]
got=$(complete_words vmxrun console alpha --vm "")
check "completes VM names from state.json ($got)" [ "$got" = "vm-a vm-b " ]
got=$(complete_words vmxrun start --fo)
check "completes a command's options from its --help ($got)" [ "$got" = "--foreground " ]
got=$(complete_words vmxrun start "")
check "start completes the profiles of the config dir ($got)" \
        bash -c "grep -qw gamma <<<'$got' && grep -qw delta <<<'$got' && ! grep -qw notes <<<'$got'"
(cd "$tmp/etc" && touch a.yaml b.txt)
got=$(cd "$tmp/etc" && complete_words vmxrun validate "")
check "validate completes profile files by extension ($got)" \
        bash -c "grep -qw a.yaml <<<'$got' && grep -qw gamma.yaml <<<'$got' && ! grep -qw b.txt <<<'$got'"
got=$(complete_words vmxrun start --accel "")
check "completes --accel values ($got)" [ "$got" = "kvm tcg " ]

verdict
