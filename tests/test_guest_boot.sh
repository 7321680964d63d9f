#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds the test guest (or uses the cache) and boots it under plain QEMU/TCG:
# checks the report (CPU topology, NIC MAC/driver/IP), that the serial shell
# answers, and that an ACPI power-button press (HMP system_powerdown) powers
# the guest off so QEMU exits. Touches no host networking: the NICs sit on
# QEMU-internal hubs. Exit 77 = skipped.
#
# Env: VX_SOURCE_ROOT (default: this script's ..), VX_GUEST_DIR (guest cache),
#      QEMU (default qemu-system-x86_64), VX_KEEP_TMP=1 keeps the work dir.
set -eu

# Under TCG on a loaded machine the guest kernel sometimes locks up in its own
# power-off path ("soft lockup" in a kworker, after the guest already said it
# got the power button). That is the guest kernel's timing, not what this test
# checks, so that one signature gets up to three boots; anything else fails at once.
if [ -z "${VX_GUEST_BOOT_RETRY:-}" ]; then
	for attempt in 1 2 3; do
		rc=0
		VX_GUEST_BOOT_RETRY=$attempt "$0" "$@" || rc=$?
		[ "$rc" -eq 3 ] || exit "$rc"
		echo "note: the guest kernel locked up while powering off (attempt $attempt)"
	done
	echo "FAIL: the guest kernel locked up while powering off in 3 boots out of 3"
	exit 1
fi

src=${VX_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
gdir=${VX_GUEST_DIR:-/var/cache/vmxrun/guest}
qemu=${QEMU:-qemu-system-x86_64}

skip() { echo "SKIP: $*"; exit 77; }
fail() {
	echo "FAIL: $*"
	if [ -f "${tmp:-/nonexistent}/serial.log" ]; then
		echo "--- serial log:"
		tr -d '\r' <"$tmp/serial.log" | tail -n 60
	fi
	exit 1
}

command -v "$qemu" >/dev/null 2>&1 || skip "$qemu not installed"
if ! [ -f "$gdir/vmlinuz" ] || ! [ -f "$gdir/initrd.img" ]; then
	[ "$(id -u)" -eq 0 ] || skip "guest not built in $gdir and not root (run guest/build.sh as root)"
	command -v busybox >/dev/null 2>&1 || skip "busybox-static not installed"
	command -v cpio >/dev/null 2>&1 || skip "cpio not installed"
	command -v apt-get >/dev/null 2>&1 || skip "apt-get not available"
fi
# Builds, or checks the cache (needs no root when it is up to date).
if ! "$src/guest/build.sh" "$gdir"; then
	[ "$(id -u)" -eq 0 ] || skip "guest in $gdir is stale and not root (run guest/build.sh as root)"
	fail "guest/build.sh failed"
fi

tmp=$(mktemp -d /tmp/vx-guest-boot.XXXXXX)
qpid=
drains=
cleanup() {
	[ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
	for p in $drains; do kill "$p" 2>/dev/null || true; done
	if [ "${VX_KEEP_TMP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# pipe chardevs: QEMU opens PATH.in / PATH.out (O_RDWR, never blocks).
mkfifo "$tmp/ser.in" "$tmp/ser.out" "$tmp/mon.in" "$tmp/mon.out"

mac0=02:00:00:00:00:01
mac1=02:00:00:00:00:02
"$qemu" -accel tcg,thread=multi -machine pc -m 256 \
	-smp 2,sockets=1,cores=2,threads=1 \
	-nodefaults -display none -no-reboot \
	-chardev "pipe,id=ser0,path=$tmp/ser,logfile=$tmp/serial.log" -serial chardev:ser0 \
	-chardev "pipe,id=mon0,path=$tmp/mon" -monitor chardev:mon0 \
	-kernel "$gdir/vmlinuz" -initrd "$gdir/initrd.img" \
	-append "console=ttyS0 quiet panic=-1 vmxrun.ip=eth0:10.0.0.1/24,eth1:10.0.1.1/24" \
	-netdev hubport,id=n0,hubid=0 -device "virtio-net-pci,mac=$mac0,netdev=n0" \
	-netdev hubport,id=n1,hubid=1 -device "e1000,mac=$mac1,netdev=n1" \
	>"$tmp/qemu.log" 2>&1 &
qpid=$!

# Our ends of the FIFOs (read+write opens: no blocking, no EOF), and drains
# so QEMU never blocks writing its output.
exec 3<>"$tmp/ser.in" 4<>"$tmp/ser.out" 5<>"$tmp/mon.in" 6<>"$tmp/mon.out"
cat <&4 >/dev/null &
drains="$drains $!"
cat <&6 >"$tmp/monitor.log" &
drains="$drains $!"

# wait_for PATTERN SECONDS: hang guard, not a speed assertion
wait_for() {
	n=0
	while ! grep -q "$1" "$tmp/serial.log" 2>/dev/null; do
		kill -0 "$qpid" 2>/dev/null || fail "QEMU exited while waiting for '$1': $(cat "$tmp/qemu.log")"
		n=$((n + 1))
		[ "$n" -le $(($2 * 5)) ] || fail "no '$1' within $2 s"
		sleep 0.2
	done
}

t0=$(date +%s)
wait_for 'VMXRUN-GUEST ready' 180
echo "guest ready after ~$(($(date +%s) - t0)) s"
report=$(tr -d '\r' <"$tmp/serial.log" | grep '^VMXRUN-GUEST ')
echo "$report"

expect() {
	echo "$report" | grep -qE "$1" || fail "report lacks /$1/"
}
expect '^VMXRUN-GUEST .* cpus=2 sockets=1 cores=2 threads=1 '
expect '^VMXRUN-GUEST .* mem_kib=[0-9]+'
expect "^VMXRUN-GUEST nic=eth0 mac=$mac0 driver=virtio_net ip=10.0.0.1/24\$"
expect "^VMXRUN-GUEST nic=eth1 mac=$mac1 driver=e1000 ip=10.0.1.1/24\$"
if echo "$report" | grep -q 'error='; then fail "guest reported an error"; fi

# The console shell: the typed line echoes "$((6*7))", only evaluation prints 42.
# shellcheck disable=SC2016 # expanded by the guest shell
printf 'echo SHELL-$((6*7)); ip -o -4 addr show dev eth0\n' >&3
wait_for 'SHELL-42' 60
wait_for 'inet 10.0.0.1/24' 30

# Graceful shutdown: ACPI power button -> guest powers off -> QEMU exits.
printf 'system_powerdown\n' >&5
n=0
while kill -0 "$qpid" 2>/dev/null; do
	n=$((n + 1))
	if [ "$n" -gt 300 ]; then
		if grep -q 'VMXRUN-GUEST powerdown' "$tmp/serial.log" && grep -q 'soft lockup' "$tmp/serial.log"; then
			tr -d '\r' <"$tmp/serial.log" | tail -n 8
			exit 3 # the guest kernel hung after handling the button: retried once (see the top)
		fi
		fail "QEMU still running 60 s after system_powerdown"
	fi
	sleep 0.2
done
rc=0
wait "$qpid" || rc=$?
qpid=
[ "$rc" -eq 0 ] || fail "QEMU exited with $rc: $(cat "$tmp/qemu.log")"
grep -q 'VMXRUN-GUEST powerdown' "$tmp/serial.log" || fail "no 'VMXRUN-GUEST powerdown' on the console"
echo "PASS: guest booted, reported, answered and powered off on system_powerdown"
