#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/lab/fetch-qemu.sh [CACHE] - QEMU 10 from bookworm-backports, unpacked
# into CACHE (default $VX_LAB_QEMU_DIR, else /var/cache/vmxrun/qemu-10), for the
# SR-IOV lab: bookworm's QEMU 7.2 has no `igb` (82576 with SR-IOV, QEMU 8.0+).
#
# Nothing from backports is installed: the packages are fetched with
# `apt-get download` and unpacked with `dpkg-deb -x`; only the libraries they
# need are installed, from bookworm. The backports entry
# (/etc/apt/sources.list.d/vmxrun-bookworm-backports.sources) is pinned so
# apt never picks anything from it on its own.
#
# Prints the path of CACHE/qemu on success: a wrapper that runs the unpacked
# binary with -L CACHE/usr/share/qemu (its firmware) and QEMU_MODULE_DIR set to
# its own modules (without it, QEMU 10 loads bookworm's 7.2 modules from
# /usr/lib/x86_64-linux-gnu/qemu and aborts). Exits 77 with a reason when QEMU
# 10 cannot be obtained. Cached by a stamp of the version.
set -eu
prog=tests/lab/fetch-qemu.sh
log() { echo "$prog: $*" >&2; }
skip() { echo "$prog: $*" >&2; exit 77; }
cache=${1:-${VX_LAB_QEMU_DIR:-/var/cache/vmxrun/qemu-10}}
bin=$cache/qemu
pkgs="qemu-system-x86 qemu-system-common qemu-system-data"

has_igb() { "$1" -device igb,help 2>/dev/null | grep -q 'igb options'; }
if [ -x "$bin" ] && [ -f "$cache/stamp" ] && has_igb "$bin"; then
	echo "$bin"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || skip "needs root to fetch QEMU 10 (apt-get)"

src=/etc/apt/sources.list.d/vmxrun-bookworm-backports.sources
pin=/etc/apt/preferences.d/vmxrun-bookworm-backports
if [ ! -f "$src" ]; then
	cat >"$src" <<'SRC'
# Added by vmxrun's tests/lab/fetch-qemu.sh: QEMU 10 for the SR-IOV lab,
# downloaded and unpacked, never installed (see the pin next to it).
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
if [ ! -f "$pin" ]; then
	cat >"$pin" <<'PIN'
# vmxrun: nothing is installed from bookworm-backports unless asked by name.
Package: *
Pin: release n=bookworm-backports
Pin-Priority: 1
PIN
fi
ver() { apt-cache madison "$1" 2>/dev/null | awk '$5 ~ /bookworm-backports/ || $6 ~ /bookworm-backports/ { print $3; exit }'; }
v=$(ver qemu-system-x86)
if [ -z "$v" ]; then
	log "apt-get update (for bookworm-backports)"
	apt-get update -q >&2 || skip "apt-get update failed"
	v=$(ver qemu-system-x86)
fi
[ -n "$v" ] || skip "no qemu-system-x86 in bookworm-backports"
case "$v" in *:1[0-9].*) ;; *) skip "bookworm-backports has qemu-system-x86 $v, not 10.x" ;; esac

tmp=$(mktemp -d /var/tmp/vx-qemu10-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
if id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
for p in $pkgs; do
	pv=$(ver "$p")
	[ -n "$pv" ] || skip "no $p in bookworm-backports"
	(cd "$tmp" && apt-get download -q "$p=$pv") >&2 || skip "apt-get download $p=$pv failed"
done

# The libraries the binary links against, from bookworm (the Depends of the
# backported package that are satisfiable there; the ones that are not are
# reported by the ldd check below).
deps=$(for d in "$tmp"/*.deb; do dpkg-deb -f "$d" Depends; done | tr ',' '\n' |
	sed -e 's/([^)]*)//g' -e 's/|.*//' -e 's/ //g' | grep -v '^qemu-' | grep -v '^$' | sort -u)
missing=
for d in $deps; do
	dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || missing="$missing $d"
done
if [ -n "$missing" ]; then
	log "installing from bookworm:$missing"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2 ||
		skip "cannot install QEMU 10's libraries:$missing"
fi

rm -rf "$cache.new"
mkdir -p "$cache.new"
for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$cache.new"; done
if ldd "$cache.new/usr/bin/qemu-system-x86_64" | grep -q 'not found'; then
	ldd "$cache.new/usr/bin/qemu-system-x86_64" | grep 'not found' >&2
	skip "QEMU 10 lacks libraries bookworm has not got"
fi
cat >"$cache.new/qemu" <<WRAP
#!/bin/sh
QEMU_MODULE_DIR=$cache/usr/lib/x86_64-linux-gnu/qemu exec $cache/usr/bin/qemu-system-x86_64 -L $cache/usr/share/qemu "\$@"
WRAP
chmod 755 "$cache.new/qemu"
rm -rf "$cache"
mv "$cache.new" "$cache"
has_igb "$bin" || skip "QEMU $v has no igb device"
echo "qemu-system-x86 $v" >"$cache/stamp"
log "QEMU $v in $cache"
echo "$bin"
