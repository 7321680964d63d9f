#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# End to end: `vmxrun start` of a 64 MiB VM on 2 MiB hugepages (TCG, no
# guest: SeaBIOS finds nothing to boot and idles) grows the host's 2 MiB
# pool by what is missing (32 pages from an empty pool), mounts a hugetlbfs
# when none is mounted, and QEMU maps its RAM from it; `vmxrun stop` puts
# the pool and the mounts back exactly as they were. Failed starts (a pool
# on a NUMA node the host does not have, a QEMU that refuses its argv) leave
# the pool as it was. Every assertion reads the kernel (/sys, /proc).
#
# Changes the host's hugepage pool and mounts: the EXIT trap restores both
# to what they were before the test, whatever happens.
set -u

# shellcheck source=tests/check-lib.sh
. "$(dirname "$0")/check-lib.sh"

POOL=/sys/kernel/mm/hugepages/hugepages-2048kB
[ "$(id -u)" = 0 ] || skip "needs root"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
command -v jq >/dev/null || skip "jq is not installed"
[ -w "$POOL/nr_hugepages" ] || skip "no writable 2 MiB hugepage pool ($POOL)"
grep -qw hugetlbfs /proc/filesystems || skip "the kernel has no hugetlbfs"

# One hugepage test at a time on this host (other build trees run them too):
# each one's "as before" must not see another's pages.
exec 9>/run/vmxrun-hugepages-test.lock
flock -w 600 9 || skip "another hugepage test holds /run/vmxrun-hugepages-test.lock"

RT=$(mktemp -d /tmp/vx-huge-rt-XXXXXX)
# /run/vmxrun is searchable by all; QEMU, which runs as vmxrun-qemu, must get through this one too.
chmod 755 "$RT"
export VMXRUN_RUNTIME_DIR=$RT
WORK=$(mktemp -d /tmp/vx-huge-work-XXXXXX)

hugemounts() { awk '$3 == "hugetlbfs" { print $2, $4 }' /proc/mounts | sort; }
NR0=$(cat "$POOL/nr_hugepages")
FREE0=$(cat "$POOL/free_hugepages")
RESV0=$(cat "$POOL/resv_hugepages")
MOUNTS0=$(hugemounts)
DIR0=absent
[ -e /dev/hugepages ] && DIR0=present

cleanup() {
        local m
        "$VMXRUN" stop huge --force >/dev/null 2>&1
        "$VMXRUN" stop huge-bad-node --force >/dev/null 2>&1
        "$VMXRUN" stop huge-bad-qemu --force >/dev/null 2>&1
        sleep 0.2
        # Mounts that appeared during the test go, then the pool gets its old size back.
        for m in $(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts); do
                grep -q "^$m " <<<"$MOUNTS0" || umount "$m" 2>/dev/null
        done
        [ "$DIR0" = absent ] && [ -d /dev/hugepages ] && rmdir /dev/hugepages 2>/dev/null
        echo "$NR0" >"$POOL/nr_hugepages"
        rm -rf "$RT" "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

eq() { # eq WHAT GOT WANT
        if [ "$2" = "$3" ]; then ok "$1 ($2)"; else fail "$1: got '$2', want '$3'"; fi
}

profile() { # profile NAME EXTRA-HUGEPAGES-KEYS [EXTRA VM KEYS]
        cat <<EOF
name: $1
vms:
  - name: hvm
    accel: tcg
    machine: pc
    vcpus: 1
    memory:
      size: 64MiB
      hugepages: {$2}
    restart: {policy: on-crash, max: 3, window: 60s, backoff: 100ms}
${3:-}
EOF
}

# --- start: pool grown by what is missing, hugetlbfs mounted, QEMU maps from it ---
profile huge "" >"$WORK/huge.yaml"
AVAIL0=$((FREE0 - RESV0))
GROW=$((AVAIL0 >= 32 ? 0 : 32 - AVAIL0))
"$VMXRUN" start "$WORK/huge.yaml" >"$WORK/start.out" 2>&1
rc=$?
eq "start exits 0" "$rc" 0
[ $rc = 0 ] || cat "$WORK/start.out"
eq "the pool grew by the missing pages" "$(cat "$POOL/nr_hugepages")" $((NR0 + GROW))
[ "$AVAIL0" = 0 ] && eq "from an empty pool, that is 32 pages" "$GROW" 32
eq "QEMU took 32 pages (free_hugepages dropped)" "$(cat "$POOL/free_hugepages")" $((FREE0 + GROW - 32))

JSON=$("$VMXRUN" status huge --json 2>/dev/null)
PID=$(jq -r '.vms[0].pid' <<<"$JSON")
MEMPATH=$(jq -r '.vms[0].memory.path' <<<"$JSON")
eq "status: backend" "$(jq -r '.vms[0].memory.backend' <<<"$JSON")" hugepages
eq "status: page size" "$(jq -r '.vms[0].memory.page_size_kib' <<<"$JSON")" 2048
eq "status: QEMU maps 64 MiB of hugetlbfs" "$(jq -r '.vms[0].memory.hugetlb_kib' <<<"$JSON")" 65536
if [ -z "$MOUNTS0" ]; then
        # QEMU runs as vmxrun-qemu: its backing file lives in a directory of its own in the mount.
        eq "no hugetlbfs was mounted: vmxrun mounted one at /dev/hugepages (QEMU's directory in it)" \
                "$MEMPATH" /dev/hugepages/vmxrun-huge-hvm
        check "that directory is QEMU's user's" [ "$(stat -c %U "$MEMPATH")" = vmxrun-qemu ]
        check "with pagesize=2M" bash -c "awk '\$2 == \"/dev/hugepages\" && \$3 == \"hugetlbfs\"' /proc/mounts | grep -q pagesize=2M"
fi
check "/proc/$PID/numa_maps shows the RAM as huge, from $MEMPATH" \
        grep -Eq "file=$MEMPATH/.* huge " "/proc/$PID/numa_maps"
check "/proc/$PID/smaps shows 2048 kB pages in a $MEMPATH mapping" \
        bash -c "grep -A20 ' $MEMPATH/' /proc/$PID/smaps | grep -q '^KernelPageSize: *2048 kB'"
check "the journal has the pool step" \
        bash -c "jq -e '.steps[] | select(.undo == \"hugepages\" and .object == \"2M\" and .pages == $GROW)' '$RT/huge/journal.json' >/dev/null"

# A QEMU restart keeps the pages reserved: QEMU gave them back when it died.
status_pid() { "$VMXRUN" status huge --json 2>/dev/null | jq -r '.vms[0].pid'; }
restarted() { local p; p=$(status_pid); [ "$p" != "$PID" ] && [ "$p" != 0 ] && [ "$p" != null ]; }
free_is() { [ "$(cat "$POOL/free_hugepages")" = "$1" ]; }
kill -9 "$PID"
check "QEMU killed: restarted" wait_for 60 restarted
eq "the pool is the same after the restart" "$(cat "$POOL/nr_hugepages")" $((NR0 + GROW))
check "the new QEMU took its 32 pages again" wait_for 30 free_is $((FREE0 + GROW - 32))

# SeaBIOS ignores the ACPI power button: a short timeout, then stop kills QEMU.
"$VMXRUN" stop huge --timeout 2 >/dev/null 2>&1
eq "stop exits 0" "$?" 0
eq "after stop: nr_hugepages as before" "$(cat "$POOL/nr_hugepages")" "$NR0"
eq "after stop: free_hugepages as before" "$(cat "$POOL/free_hugepages")" "$FREE0"
eq "after stop: hugetlbfs mounts as before" "$(hugemounts)" "$MOUNTS0"
eq "after stop: /dev/hugepages $DIR0 as before" "$([ -e /dev/hugepages ] && echo present || echo absent)" "$DIR0"
check "after stop: the runtime dir is gone" [ ! -e "$RT/huge" ]

# --- page-size: auto: 1 GiB pages where the host has them ------------------------
POOL1G=/sys/kernel/mm/hugepages/hugepages-1048576kB
if [ -d "$POOL1G" ]; then
        NR1G=$(cat "$POOL1G/nr_hugepages")
        cat >"$WORK/auto.yaml" <<EOF
name: huge-auto
vms:
  - name: hvm
    accel: tcg
    machine: pc
    memory: {size: 1GiB, hugepages: {page-size: auto}}
EOF
        check "the plan says auto chose 1G, and why" \
                bash -c "'$VMXRUN' cmdline '$WORK/auto.yaml' --plan | grep -q 'page-size: auto: 1G, the host has 1 GiB pages'"
        if "$VMXRUN" start "$WORK/auto.yaml" >"$WORK/auto.out" 2>&1; then
                JSON=$("$VMXRUN" status huge-auto --json 2>/dev/null)
                APID=$(jq -r '.vms[0].pid' <<<"$JSON")
                AMEM=$(jq -r '.vms[0].memory.path' <<<"$JSON")
                eq "auto: status says 1 GiB pages" "$(jq -r '.vms[0].memory.page_size_kib' <<<"$JSON")" 1048576
                check "auto: /proc/$APID/smaps shows 1048576 kB pages in a $AMEM mapping" \
                        bash -c "grep -A20 ' $AMEM/' /proc/$APID/smaps | grep -q '^KernelPageSize: *1048576 kB'"
                "$VMXRUN" stop huge-auto --force >/dev/null 2>&1
        elif grep -qi "hugepages" "$WORK/auto.out" && [ "$(cat "$POOL1G/nr_hugepages")" = "$NR1G" ]; then
                # A 1 GiB page needs 1 GiB of contiguous free memory: on a fragmented host the kernel
                # cannot make one, and start says so (a fact of the host, not of vmxrun).
                echo "# SKIP auto with 1G pages: this host could not reserve one: $(tail -1 "$WORK/auto.out")"
        else
                fail "auto: start exits 0: $(cat "$WORK/auto.out")"
        fi
        eq "auto: after stop the 1G pool is as before" "$(cat "$POOL1G/nr_hugepages")" "$NR1G"
else
        echo "# SKIP page-size: auto with 1G pages: this host has no 1G pool"
fi

# --- failed starts leave the pool and mounts as they were -----------------------
# The 2M pool of the host grows for the first VM, then node 99 does not exist.
cat >"$WORK/bad-node.yaml" <<EOF
name: huge-bad-node
vms:
  - name: hvm
    accel: tcg
    memory:
      size: 64MiB
      hugepages: {}
  - name: hvm2
    accel: tcg
    memory:
      size: 64MiB
      hugepages: {node: 99}
EOF
"$VMXRUN" start "$WORK/bad-node.yaml" >"$WORK/bad-node.out" 2>&1
eq "a pool on a node the host lacks: start exits 1" "$?" 1
check "and says so" grep -q "no NUMA node 99" "$WORK/bad-node.out"
eq "nr_hugepages as before" "$(cat "$POOL/nr_hugepages")" "$NR0"
eq "hugetlbfs mounts as before" "$(hugemounts)" "$MOUNTS0"

# QEMU refuses its argv after the pool grew and the hugetlbfs was mounted.
profile huge-bad-qemu "" '    extra-args: ["-no-such-option"]' >"$WORK/bad-qemu.yaml"
"$VMXRUN" start "$WORK/bad-qemu.yaml" >"$WORK/bad-qemu.out" 2>&1
eq "a QEMU that fails: start exits 1" "$?" 1
eq "nr_hugepages as before" "$(cat "$POOL/nr_hugepages")" "$NR0"
eq "free_hugepages as before" "$(cat "$POOL/free_hugepages")" "$FREE0"
eq "hugetlbfs mounts as before" "$(hugemounts)" "$MOUNTS0"
eq "/dev/hugepages $DIR0 as before" "$([ -e /dev/hugepages ] && echo present || echo absent)" "$DIR0"
check "no runtime dir is left" [ ! -e "$RT/huge-bad-qemu" ]

verdict
