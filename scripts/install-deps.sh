#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs every Debian 12 package vmxrun needs to build, test and run its demo.
# Idempotent: apt-get install of an installed package is a no-op.
set -eu

if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps.sh: must run as root (apt-get install)" >&2
        exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Build toolchain and the libraries vmxrun links against.
build_pkgs="build-essential cmake pkg-config lld
        libyaml-dev libnl-3-dev libnl-route-3-dev libnuma-dev libcap-ng-dev
        libjansson-dev libseccomp-dev libcmocka-dev"
# Runtime: QEMU itself, plus what the tests use to look at the host.
run_pkgs="qemu-system-x86 qemu-utils iproute2 procps"
# Tests read vmxrun's --json output with jq, and drive `vmxrun console` in tmux.
test_pkgs="jq tmux"
# The fuzz targets (clang, libFuzzer's runtime) and scripts/analyze.sh (valgrind, clang-tidy).
check_pkgs="clang libclang-rt-14-dev valgrind clang-tidy clang-format"
# The tiny test guest: a Debian kernel unpacked with dpkg-deb, busybox for its initramfs.
guest_pkgs="busybox-static cpio gzip"

# Man pages (scdoc), checked with man; the .deb (debhelper, lintian) and its
# clean-chroot install test (debootstrap); the metrics parser; the fleet
# playbook (ansible-core); the completion test.
pkg_pkgs="scdoc man-db debhelper dpkg-dev fakeroot lintian debootstrap
        python3-prometheus-client ansible-core bash-completion"

missing=""
for p in $build_pkgs $run_pkgs $guest_pkgs $test_pkgs $check_pkgs $pkg_pkgs; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
                missing="$missing $p"
done

if [ -n "$missing" ]; then
        apt-get update -q
        # shellcheck disable=SC2086
        apt-get install -y -q --no-install-recommends $missing
fi

# The system user QEMU runs as (vmxrun creates it on first use too; the .deb's
# sysusers.d entry does the same). A lab VM that shares this root read-only
# finds it here.
if ! getent passwd vmxrun-qemu >/dev/null; then
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin --comment "vmxrun QEMU" vmxrun-qemu
fi

# The SR-IOV lab (tests/lab/run) needs QEMU 10 for its igb: downloaded from
# bookworm-backports and unpacked into /var/cache/vmxrun/qemu-10 (never
# installed), with the bookworm libraries it links against. Not fatal: the
# lab skips without it.
"$(dirname "$0")/../tests/lab/fetch-qemu.sh" >/dev/null ||
        echo "install-deps.sh: QEMU 10 for the SR-IOV lab is not available; tests/lab/run will skip" >&2
