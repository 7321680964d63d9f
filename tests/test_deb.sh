#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The .deb: dpkg-buildpackage -us -uc -b builds it from a copy of the source
# tree, lintian has nothing to say, the binary is linked against Debian's
# shared libraries, and it installs in a clean bookworm chroot where
# `vmxrun --version` and `vmxrun doctor --no-probe` run.
#
# The chroot is debootstrapped once (about 30 s from deb.debian.org) into
# $VX_CHROOT_CACHE (default /var/cache/vmxrun/chroot) with the package's
# dependencies, and reused: each run installs into an overlay over it, so the
# cache stays clean and a warm run needs no network.
set -u
: "${VX_SOURCE_ROOT:?}"
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot, mounts)"
for t in dpkg-buildpackage lintian debootstrap unshare readelf flock; do
        command -v $t >/dev/null || skip "$t is not installed (scripts/install-deps.sh installs it)"
done
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || grep -qw overlay /proc/filesystems ||
        skip "no overlayfs in this kernel"

failures=0
passes=0
check() { local what=$1; shift; if "$@"; then echo "ok - $what"; passes=$((passes + 1)); else echo "FAIL - $what"; failures=$((failures + 1)); fi; }
die() { echo "FAIL - $*"; echo "$passes passed, $((failures + 1)) failed"; exit 1; }

tmp=$(mktemp -d /tmp/vx-deb-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# 1. Build, from the files git knows (tracked, and new ones not ignored), as
#    a fresh clone would have them; the parent directory receives the .deb.
mkdir "$tmp/src"
(cd "$VX_SOURCE_ROOT" && git ls-files -co --exclude-standard -z | tar --null -cf - -T -) | tar -xf - -C "$tmp/src" ||
        die "could not copy the source tree"
start=$(date +%s)
(cd "$tmp/src" && nice -n 10 dpkg-buildpackage -us -uc -b -j2) >"$tmp/build.log" 2>&1
rc=$?
[ $rc -eq 0 ] || { tail -40 "$tmp/build.log"; die "dpkg-buildpackage -us -uc -b failed ($rc)"; }
deb=$(ls "$tmp"/vmxrun_*.deb)
check "dpkg-buildpackage -us -uc -b builds $(basename "$deb") ($(($(date +%s) - start)) s)" [ -f "$deb" ]

lint=$(lintian --allow-root --pedantic -I -E "$deb" 2>&1)
check "lintian --pedantic -I -E is silent (overrides carry their reasons)${lint:+: $lint}" [ -z "$lint" ]

mkdir "$tmp/x"
dpkg-deb -x "$deb" "$tmp/x"
needed=$(readelf -d "$tmp/x/usr/sbin/vmxrun" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
check "vmxrun is linked against Debian's shared libraries ($needed)" \
        bash -c "for l in libyaml-0.so.2 libjansson.so.4 libnl-3.so.200 libnl-route-3.so.200 libcap-ng.so.0 libc.so.6; do
                grep -qw \"\$l\" <<<'$needed' || exit 1; done"
check "vmxrun is a PIE with full RELRO (Debian's hardening flags)" \
        bash -c "readelf -h '$tmp/x/usr/sbin/vmxrun' | grep -q 'DYN' && readelf -d '$tmp/x/usr/sbin/vmxrun' | grep -q BIND_NOW"

# 2. The clean chroot: minbase plus the package's dependencies (the first of
#    each set of alternatives), rebuilt only when that list changes.
cache=${VX_CHROOT_CACHE:-/var/cache/vmxrun/chroot}
mirror=${VX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
includes=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g' | grep . | sort -u | paste -sd, -)
mkdir -p "$(dirname "$cache")"
exec 9>"$cache.lock"
flock 9
if [ "$(cat "$cache/.vx-includes" 2>/dev/null)" != "$includes" ]; then
        echo "# debootstrap bookworm into $cache (--include=$includes)"
        rm -rf "$cache.new"
        start=$(date +%s)
        if ! nice -n 10 debootstrap --variant=minbase --include="$includes" bookworm "$cache.new" "$mirror" \
                >"$tmp/debootstrap.log" 2>&1; then
                tail -20 "$tmp/debootstrap.log"
                rm -rf "$cache.new"
                grep -qiE 'resolve|connect|Failed getting release' "$tmp/debootstrap.log" &&
                        skip "debootstrap could not reach $mirror"
                die "debootstrap failed"
        fi
        apt-get -o RootDir="$cache.new" clean 2>/dev/null || rm -f "$cache.new"/var/cache/apt/archives/*.deb
        echo "$includes" >"$cache.new/.vx-includes"
        rm -rf "$cache"
        mv "$cache.new" "$cache"
        echo "# debootstrap took $(($(date +%s) - start)) s"
fi

# 3. Install in an overlay over the cached chroot, in a mount namespace of
#    its own (nothing stays mounted, whatever happens).
mkdir -p "$tmp/upper" "$tmp/work" "$tmp/root"
cp "$deb" "$tmp/upper.deb"
cat >"$tmp/inside.sh" <<'INSIDE'
set -e
root=$1
mount -t overlay overlay -o "lowerdir=$CACHE,upperdir=$TMP/upper,workdir=$TMP/work" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
cp "$TMP/upper.deb" "$root/tmp/vmxrun.deb"
run() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }
echo "## dpkg -i"
run dpkg -i /tmp/vmxrun.deb
echo "## vmxrun --version"
run vmxrun --version
echo "## vmxrun doctor --no-probe"
run vmxrun doctor --no-probe
echo "## passwd"
run getent passwd vmxrun-qemu || true
echo "## files"
run ls -d /run/vmxrun /lib/systemd/system/vmxrun@.service /usr/share/man/man8/vmxrun.8.gz \
        /usr/share/bash-completion/completions/vmxrun
echo "## end"
INSIDE
start=$(date +%s)
CACHE=$cache TMP=$tmp unshare --mount --propagation private bash "$tmp/inside.sh" "$tmp/root" >"$tmp/inside.log" 2>&1
rc=$?
exec 9>&-
sed 's/^/  | /' "$tmp/inside.log"
check "installed and ran in the chroot ($(($(date +%s) - start)) s)" [ $rc -eq 0 ]
section() { sed -n "/^## $1\$/,/^## /p" "$tmp/inside.log" | sed '1d;$d'; }
check "dpkg -i installs it into a clean bookworm" grep -q 'Setting up vmxrun' "$tmp/inside.log"
check "vmxrun --version runs there" grep -qx 'vmxrun [0-9.]*' <<<"$(section 'vmxrun --version')"
check "--version says the chroot has no QEMU" grep -q '^QEMU: /usr/bin/qemu-system-x86_64: No such file' \
        <<<"$(section 'vmxrun --version')"
check "vmxrun doctor --no-probe runs there and says QEMU is not installed" \
        grep -q 'not installed' <<<"$(section 'vmxrun doctor --no-probe')"
check "the vmxrun-qemu system user exists after configure" \
        grep -q '^vmxrun-qemu:x:[0-9]*:[0-9]*:.*:/nonexistent:/usr/sbin/nologin$' <<<"$(section passwd)"
check "the unit, man page, completion and /run/vmxrun are in place" \
        [ "$(section files | wc -l)" -eq 4 ]
check "the cached chroot stays clean" [ ! -e "$cache/usr/sbin/vmxrun" ]

echo "$passes passed, $failures failed"
[ $failures -eq 0 ]
