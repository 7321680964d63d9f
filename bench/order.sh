#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/order.sh [FILE]: writes the link order of vmxrun's functions
# (default cli/link-order.txt), which the static build hands to lld
# (--symbol-ordering-file, cli/CMakeLists.txt).
#
# Why: the supervisor stays resident for the life of its VMs, and the kernel
# maps a file-backed executable in 64 KiB blocks around each page touched
# (fault-around). With the default link order, the code a supervisor runs is
# spread over 23 of the static binary's 26 blocks of text, so it holds almost
# all of them. Placing first the functions the supervisor executes, in the
# order it first executes them, then those the CLI executes, keeps both
# working sets in a few contiguous blocks (docs/performance.md, "Link order").
#
# How: bench/stepcov single-steps a real `vmxrun start` of bench/bench.yaml
# and every process it forks (the CLI, the supervisor, the spawner; QEMU is
# let go at its exec); QEMU is then killed and restarted by the supervisor,
# `status` asked, and the deployment stopped, all under the same trace. Every
# instruction address is mapped to the function that holds it (nm). Exact,
# and slow: 5-10 minutes on two cores.
#
# Run it after changes that move the supervisor's code paths; a stale order
# only costs memory (test_link_order fails when too much of it is gone).
# Environment: VMXRUN (default build/release/cli/vmxrun: a static build),
# OUT (work files, default a new /tmp/vmxrun-order.XXXXXX). Needs root (QEMU
# runs as vmxrun's own user), jq, nm, python3.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
DEST=${1:-$REPO/cli/link-order.txt}
VMXRUN=${VMXRUN:-$REPO/build/release/cli/vmxrun}
OUT=${OUT:-$(mktemp -d /tmp/vmxrun-order.XXXXXX)}
NAME=vxbench
# QEMU runs as vmxrun-qemu: it must get through to the runtime dir below.
chmod 755 "$OUT"
export VMXRUN_RUNTIME_DIR=$OUT/rt VMXRUN_LOG_DIR=$OUT/log
STATE=$VMXRUN_RUNTIME_DIR/$NAME/state.json
unset VMXRUN_ACCEL

[ -x "$VMXRUN" ] || { echo "order.sh: $VMXRUN: not built (scripts/build.sh)" >&2; exit 1; }
make -s -C "$HERE" O="$OUT" "$OUT/stepcov"

tracer=
cleanup() {
        [ -n "$tracer" ] && kill -INT "$tracer" 2>/dev/null && wait "$tracer" 2>/dev/null
        [ -e "$VMXRUN_RUNTIME_DIR/$NAME/control.sock" ] && "$VMXRUN" stop "$NAME" --force >/dev/null 2>&1
        return 0
}
trap cleanup EXIT

# until CMD succeeds, for at most SECONDS (the traced supervisor runs about
# a thousand times slower than it would)
wait_for() { # SECONDS WHAT CMD...
        local deadline=$((SECONDS + $1)) what=$2
        shift 2
        until "$@"; do
                ((SECONDS < deadline)) || { echo "order.sh: no $what after ${deadline}s" >&2; exit 1; }
                sleep 1
        done
}
vm_pid() { jq -r '.vms[0].pid // empty' "$STATE" 2>/dev/null; }
vm_running_other_than() { # PID
        [ "$(jq -r '.vms[0].state' "$STATE" 2>/dev/null)" = running ] && [ -n "$(vm_pid)" ] && [ "$(vm_pid)" != "$1" ]
}

echo "order.sh: tracing $VMXRUN (work files in $OUT)"
"$OUT/stepcov" "$OUT/start.cov" "$VMXRUN" start "$HERE/bench.yaml" >"$OUT/start.out" 2>&1 &
tracer=$!
wait_for 1200 "answered start" grep -q "$NAME: started" "$OUT/start.out"
first=$(vm_pid)
echo "order.sh: started; killing QEMU ($first) for a restart"
kill -9 "$first"
wait_for 1200 "restarted QEMU" vm_running_other_than "$first"
# The supervisor's side of status (the untraced CLI waits up to 30 s), then the CLI's.
"$VMXRUN" status "$NAME" --json >/dev/null 2>&1 || echo "order.sh: status unanswered (traced supervisor too slow); going on" >&2
"$OUT/stepcov" "$OUT/status.cov" "$VMXRUN" status "$NAME" --json >/dev/null 2>&1 || true
"$OUT/stepcov" "$OUT/stop.cov" "$VMXRUN" stop "$NAME" --force >/dev/null 2>&1 || true
# The supervisor exits after the stop; the first tracer writes its file then.
wait "$tracer"
tracer=

# Addresses -> functions. The first process of start.cov is the CLI, every
# other one of that file the supervisor's side (the daemon, the spawner, the
# child that execs QEMU): those functions come first, then the CLI's.
nm -n -S --defined-only "$VMXRUN" >"$OUT/nm.txt"
python3 - "$OUT/nm.txt" "$OUT/start.cov" "$OUT/status.cov" "$OUT/stop.cov" >"$OUT/order.txt" <<'PY'
import bisect, sys
funcs = []
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 4 and f[2] in "tTwWiI" and int(f[1], 16) > 0:
        funcs.append((int(f[0], 16), int(f[1], 16), f[3]))
starts = [f[0] for f in funcs]
def name(addr):
    i = bisect.bisect_right(starts, addr) - 1
    return funcs[i][2] if i >= 0 and addr < funcs[i][0] + funcs[i][1] else None
supervisor, cli = [], []
for n, path in enumerate(sys.argv[2:]):
    root = None
    for line in open(path):
        pid, _, addr = line.split()
        root = root or pid
        (supervisor if n == 0 and pid != root else cli).append(name(int(addr, 16)))
seen = set()
for f in supervisor + cli:
    if f and f not in seen:
        seen.add(f)
        print(f)
PY
{
        echo "# The link order of vmxrun's functions: lld's --symbol-ordering-file for the"
        echo "# static build (cli/CMakeLists.txt). Written by bench/order.sh, do not edit:"
        echo "# the supervisor's functions in the order it first runs them, then the CLI's."
        cat "$OUT/order.txt"
} >"$DEST"
echo "order.sh: $(wc -l <"$OUT/order.txt") functions -> $DEST"
