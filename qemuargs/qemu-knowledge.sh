#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# qemuargs/qemu-knowledge.sh [--fetch-10] [QEMU [OUT]]
#
# Writes the knowledge data set of a QEMU binary (default: the installed
# qemu-system-x86_64) to OUT (default: qemuargs/qemu-MAJOR.MINOR.txt). The
# introspection itself is vmxrun's (`vmxrun explain --qemu QEMU
# --print-knowledge`, the same code `explain --qemu` runs live): QEMU's -help,
# `-device help`, `-machine help`, `-cpu help`, then one QMP session with
# -machine none -S -nodefaults -display none. VMXRUN names the vmxrun binary
# (default: build/dev/cli/vmxrun).
#
# --fetch-10: first fetch bookworm-backports' QEMU 10 (downloaded and unpacked
# into ${VX_QEMU10_DIR:-/var/cache/vmxrun/qemu-10-full}, never installed; needs
# root) and use it. Nothing from backports is installed: the entry in
# /etc/apt/sources.list.d is pinned at priority 1.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
VMXRUN=${VMXRUN:-$here/../build/dev/cli/vmxrun}

fetch_10() {
	# Its own cache: the modules of qemu-system-gui are needed too (without them QEMU 10 falls back to the
	# installed 7.2 modules and aborts on `-device help`).
	cache=${VX_QEMU10_DIR:-/var/cache/vmxrun/qemu-10-full}
	bin=$cache/usr/bin/qemu-system-x86_64
	if [ -x "$bin" ] && "$bin" --version | grep -q 'version 10\.'; then
		echo "$bin"
		return
	fi
	src=/etc/apt/sources.list.d/vmxrun-bookworm-backports.sources
	pin=/etc/apt/preferences.d/vmxrun-bookworm-backports
	[ -f "$src" ] || printf '%s\n' "# vmxrun: QEMU 10 is downloaded and unpacked from here, never installed." \
		"Types: deb" "URIs: http://deb.debian.org/debian" "Suites: bookworm-backports" "Components: main" \
		"Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" >"$src"
	[ -f "$pin" ] || printf '%s\n' "# vmxrun: nothing is installed from bookworm-backports unless asked by name." \
		"Package: *" "Pin: release n=bookworm-backports" "Pin-Priority: 1" >"$pin"
	apt-get update -q >&2
	tmp=$(mktemp -d /var/tmp/vx-qemu10-XXXXXX)
	chmod 755 "$tmp"
	! id _apt >/dev/null 2>&1 || chown _apt "$tmp"
	for p in qemu-system-x86 qemu-system-common qemu-system-data qemu-system-gui qemu-system-modules-opengl \
		qemu-system-modules-spice; do
		(cd "$tmp" && apt-get download -q "$p/bookworm-backports") >&2
	done
	# The libraries it links against come from bookworm.
	deps=$(for d in "$tmp"/*.deb; do dpkg-deb -f "$d" Depends; done | tr ',' '\n' |
		sed -e 's/([^)]*)//g' -e 's/|.*//' -e 's/ //g' | grep -v '^qemu-' | grep -v '^$' | sort -u)
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $deps >&2
	rm -rf "$cache"
	mkdir -p "$cache"
	for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$cache"; done
	rm -rf "$tmp"
	echo "$bin"
}

if [ "${1:-}" = --fetch-10 ]; then
	shift
	set -- "$(fetch_10)" "$@"
fi
qemu=${1:-$(command -v qemu-system-x86_64)}
[ -x "$VMXRUN" ] || { echo "qemu-knowledge.sh: no vmxrun at $VMXRUN (build it, or set VMXRUN)" >&2; exit 1; }
# A QEMU unpacked outside /usr would load the installed QEMU's modules (and fail): point it at its own.
moddir=$(cd "$(dirname "$qemu")/.." && pwd)/lib/x86_64-linux-gnu/qemu
if [ -z "${QEMU_MODULE_DIR:-}" ] && [ -d "$moddir" ] && [ "$moddir" != /usr/lib/x86_64-linux-gnu/qemu ]; then
	export QEMU_MODULE_DIR="$moddir"
fi
ver=$("$qemu" --version | sed -n 's/^QEMU emulator version \([0-9]*\.[0-9]*\).*/\1/p')
out=${2:-$here/qemu-$ver.txt}
"$VMXRUN" explain --qemu "$qemu" --print-knowledge >"$out.tmp"
mv "$out.tmp" "$out"
echo "$out: $(grep -c . "$out") lines from QEMU $ver ($qemu)" >&2
