#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vmxrun benchmarks against the floor (bench/floor.c: bare QEMU driven by a
# minimal client doing the same steps). See docs/performance.md.
#
#   bench/run.sh [all]     build, then start/stop, exec count, idle wake-ups (~3-5 min)
#   bench/run.sh start     start and forced stop, vmxrun vs the floor, N alternating runs
#   bench/run.sh exec      processes exec'd during `vmxrun start` (strace)
#   bench/run.sh idle      supervisor context switches and syscalls over IDLE_S seconds
#   bench/run.sh rss       supervisor RSS over CYCLES restarts under one supervisor,
#                          then CYCLES full start/stop cycles (~3-5 min for 1000)
#   bench/run.sh pair      a two-VM deployment (bench/pair.yaml) vs the floor starting
#                          the two in sequence and in parallel, N alternating runs
#   bench/run.sh crash     QEMU killed -> running pinned again (restart.backoff 0),
#                          CRASHES times, against cold starts in between
#   bench/run.sh many      COUNTS (default "1 8 32 64") small VMs as one deployment and
#                          as separate deployments: start, stop, supervisor memory,
#                          idle wake-ups, list/status latency, slopes (bench/many.sh)
#   bench/run.sh smoke     every benchmark once, tiny (what CI runs: no time is judged)
#
# Environment: N (runs of each, default 100), IDLE_S (default 60), CYCLES
# (default 1000), CRASHES (default 41), COUNTS, MANY_R (repetitions of each
# count, default 3), MANY_IDLE_S (default 10), BUILD_DIR (default
# <repo>/build-bench), VMXRUN and HELPERS_DIR (an already built vmxrun, and
# where floor and timeit are built: no CMake build then), OUT (raw numbers;
# default a new /tmp/vmxrun-bench.XXXXXX), RUNTIME_DIR (default $OUT/rt: the
# private VMXRUN_RUNTIME_DIR of every vmxrun call; the floor keeps its QMP
# socket and QEMU log in $RUNTIME_DIR/floor, so both write to the same file
# system: try RUNTIME_DIR=/dev/shm/... for tmpfs, like a tmpfs /run).
# Needs: cmake, cc, jq, strace (idle/exec).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
N=${N:-100}
IDLE_S=${IDLE_S:-60}
CYCLES=${CYCLES:-1000}
OUT=${OUT:-$(mktemp -d /tmp/vmxrun-bench.XXXXXX)}
mkdir -p "$OUT"
# QEMU runs as vmxrun-qemu: it must get through to the runtime dir below, as through /run.
chmod 755 "$OUT"
PROFILE=$HERE/bench.yaml
NAME=vxbench
mkdir -p "$OUT"
RUNTIME_DIR=${RUNTIME_DIR:-$OUT/rt}
FLOOR_DIR=$RUNTIME_DIR/floor
mkdir -p "$FLOOR_DIR"
export VMXRUN_RUNTIME_DIR=$RUNTIME_DIR
unset VMXRUN_ACCEL

PREBUILT=${VMXRUN:+1}
VMXRUN=${VMXRUN:-$BUILD_DIR/cli/vmxrun}
HELPERS_DIR=${HELPERS_DIR:-$BUILD_DIR/bench}
FLOOR=$HELPERS_DIR/floor
TIMEIT=$HELPERS_DIR/timeit
export VMXRUN_LOG_DIR=${VMXRUN_LOG_DIR:-$OUT/log}

build() {
        if [ -z "$PREBUILT" ] && { [ ! -x "$VMXRUN" ] || [ -n "${REBUILD:-}" ]; }; then
                cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVX_STATIC="${VX_STATIC:-ON}" >/dev/null
                cmake --build "$BUILD_DIR" -j2 --target vmxrun >/dev/null
        fi
        mkdir -p "$HELPERS_DIR"
        make -s -C "$HERE" O="$HELPERS_DIR" >/dev/null
}

# ---- helpers ----

FLOOR_PIDS=()
cleanup() {
        local d
        # Every deployment of our private runtime dir (the benchmarks start several).
        for d in "$RUNTIME_DIR"/*/control.sock; do
                [ -e "$d" ] && "$VMXRUN" stop "$(basename "$(dirname "$d")")" --force >/dev/null 2>&1
        done
        for p in "${FLOOR_PIDS[@]}" $(cat "$FLOOR_DIR"/*.pid 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# stats FILE LABEL: n, median, min, max of column 1 (microseconds), in ms
median_of() { sort -n | awk '{a[NR]=$1} END{if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
stats() {
        local f=$1 label=$2
        awk '{print $1}' "$f" | sort -n | awk -v l="$label" '{a[NR]=$1} END{
                m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2
                printf "  %-34s n=%-4d median %8.2f ms   min %8.2f   max %8.2f\n", l, NR, m/1000, a[1]/1000, a[NR]/1000 }'
}
ratio() { awk -v a="$(awk '{print $1}' "$1" | median_of)" -v b="$(awk '{print $1}' "$2" | median_of)" 'BEGIN{printf "%.3f", a/b}'; }
# paired: median over runs i of A_i/B_i (robust to drift of the machine's load)
paired_ratio() { paste <(awk '{print $1}' "$1") <(awk '{print $1}' "$2") | awk '{print $1/$2}' | median_of | awk '{printf "%.3f", $1}'; }
raw() { printf '  raw %s (us): %s\n' "$2" "$(awk '{printf "%s ", $1}' "$1")"; }

supervisor_pid() { "$VMXRUN" status "$NAME" --json | jq -r .supervisor_pid; }
qemu_pid() { "$VMXRUN" status "$NAME" --json | jq -r '.vms[0].pid'; }
# processes of ours: they carry our private runtime dir in their environment
count_ours() { # COMM
        local p n=0
        for p in $(pgrep -x "$1" || true); do
                grep -qzx "VMXRUN_RUNTIME_DIR=$VMXRUN_RUNTIME_DIR" "/proc/$p/environ" 2>/dev/null && n=$((n + 1))
        done
        echo "$n"
}
# `vmxrun stop` answers before its supervisor has torn down and exited (see
# docs/performance.md): wait for that process before the next start.
wait_gone() { # PID
        local _
        # A zombie is gone too: it holds no lock any more (init here reaps orphans late).
        for _ in $(seq 1 500); do
                [ -d "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ] || return 0
                sleep 0.002
        done
        echo "process $1 still there" >&2
}
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
machine() {
        echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
        echo "qemu: $($(jq -r '.vms[0].argv[0]' "$OUT/plan.json") --version | head -1)"
        echo "load: $(cat /proc/loadavg)"
        echo "runtime dir: $RUNTIME_DIR ($(stat -f -c %T "$RUNTIME_DIR"))"
}

plan() {
        "$VMXRUN" cmdline "$PROFILE" --json >"$OUT/plan.json"
        # Without vmxrun's -pidfile (its orphan marker, in a runtime dir the floor has not made).
        mapfile -t QARGV < <(jq -r '.vms[0].argv | . as $a | [range(length) | select($a[.] != "-pidfile" and
                (. == 0 or $a[. - 1] != "-pidfile")) | $a[.]] | .[]' "$OUT/plan.json")
        # The floor pins exactly as the profile says (vCPU i -> list i, the rest -> emulator).
        FLOOR_PIN=(--vcpu 1 --vcpu 0 --emulator 0-1)
        # The floor as vmxrun runs QEMU: as QEMU's own user, with its -pidfile (in the floor's dir).
        QUSER=
        local u=${VMXRUN_QEMU_USER:-vmxrun-qemu}
        if [ "$u" != root ] && id "$u" >/dev/null 2>&1; then
                QUSER="$(id -u "$u"):$(id -g "$u")"
                chgrp "$(id -g "$u")" "$FLOOR_DIR"
                chmod 770 "$FLOOR_DIR"
        fi
        mapfile -t QARGV_PID < <(jq -r --arg p "$FLOOR_DIR/qemu.pid" '.vms[0].argv | . as $a |
                [range(length) | if . > 0 and $a[. - 1] == "-pidfile" then $p else $a[.] end] | .[]' "$OUT/plan.json")
}

# floor_group PLAN.json I [USER]: the floor's options for VM I of a plan (its pinning, its
# argv without vmxrun's -pidfile), one per line; socket, log and pid file in $FLOOR_DIR/<name>.*
floor_group() {
        jq -r --argjson i "$2" --arg d "$FLOOR_DIR" --arg u "${3:-}" '.vms[$i] | .name as $n | .argv as $a |
                ["--qmp", "\($d)/\($n).sock"] + ([.pinning.vcpus[]? | ("--vcpu", .)]) +
                (if .pinning.emulator then ["--emulator", .pinning.emulator] else [] end) +
                ["--log", "\($d)/\($n).log", "--pidfile", "\($d)/\($n).pid"] +
                (if $u != "" then ["--user", $u] else [] end) + ["--"] +
                [range($a | length) | select($a[.] != "-pidfile" and (. == 0 or $a[. - 1] != "-pidfile")) | $a[.]] | .[]' "$1"
}
# floor_pids PLAN.json: the pids the floor wrote for the plan's VMs, as "--pid P" pairs
floor_pids() {
        local n
        for n in $(jq -r '.vms[].name' "$1"); do printf -- '--pid\n%s\n' "$(cat "$FLOOR_DIR/$n.pid")"; done
}
# The time of a command in microseconds, appended to FILE (for loops of several commands).
now_us() { echo $(($(date +%s%N) / 1000)); }

floor_start() { # OUTFILE
        rm -f "$FLOOR_DIR/floor.pid"
        "$TIMEIT" "$1" -- "$FLOOR" start --qmp "$FLOOR_DIR/qmp.sock" "${FLOOR_PIN[@]}" --log "$FLOOR_DIR/qemu.log" \
                --pidfile "$FLOOR_DIR/floor.pid" -- "${QARGV[@]}"
        FLOOR_PIDS+=("$(cat "$FLOOR_DIR/floor.pid")")
}

show_pinning() { # PID
        local t
        for t in /proc/"$1"/task/*; do
                printf '    %-18s %s\n' "$(cat "$t/comm")" "$(awk '/Cpus_allowed_list/{print $2}' "$t/status")"
        done
}

# ---- start and forced stop ----

bench_start() {
        local d=$OUT/start i order step sp
        mkdir -p "$d"
        rm -f "$d"/*.us

        echo "== start / forced stop: $N alternating runs of each =="
        # One checked run of each first: both must leave the same pinning.
        "$VMXRUN" start "$PROFILE" >/dev/null 2>&1
        echo "  vmxrun pinning:"; show_pinning "$(qemu_pid)"
        sp=$(supervisor_pid)
        "$VMXRUN" stop "$NAME" --force >/dev/null
        wait_gone "$sp"
        floor_start /dev/null
        echo "  floor pinning:"; show_pinning "$(cat "$FLOOR_DIR/floor.pid")"
        "$FLOOR" quit --qmp "$FLOOR_DIR/qmp.sock" --pid "$(cat "$FLOOR_DIR/floor.pid")"

        for ((i = 0; i < N; i++)); do
                # ABCDE on even runs, EDCBA on odd ones: no variant always runs first.
                if ((i % 2 == 0)); then order="A B C D E"; else order="E D C B A"; fi
                for step in $order; do
                        case $step in
                        A) # vmxrun start (daemon), supervisor RSS, vmxrun stop --force
                                "$TIMEIT" "$d/vmxrun-start.us" -- "$VMXRUN" start "$PROFILE" >/dev/null 2>>"$OUT/vmxrun.err"
                                sp=$(supervisor_pid)
                                rss_kb "$sp" >>"$d/supervisor-rss.kb"
                                "$TIMEIT" "$d/vmxrun-stop-force.us" -- "$VMXRUN" stop "$NAME" --force >/dev/null
                                wait_gone "$sp"
                                ;;
                        B) # floor start, floor quit
                                floor_start "$d/floor-start.us"
                                "$TIMEIT" "$d/floor-quit.us" -- "$FLOOR" quit --qmp "$FLOOR_DIR/qmp.sock" --pid "$(cat "$FLOOR_DIR/floor.pid")"
                                ;;
                        C) # floor start, floor SIGKILL
                                floor_start "$d/floor-start-2.us"
                                "$TIMEIT" "$d/floor-kill.us" -- "$FLOOR" kill --pid "$(cat "$FLOOR_DIR/floor.pid")"
                                ;;
                        D) # vmxrun start --foreground (until it prints "started"), vmxrun stop --force
                                "$TIMEIT" "$d/vmxrun-start-fg.us" --line "supervising in the foreground" -- \
                                        "$VMXRUN" start --foreground "$PROFILE" 2>>"$OUT/vmxrun.err"
                                sp=$(supervisor_pid)
                                "$TIMEIT" "$d/vmxrun-stop-force-fg.us" -- "$VMXRUN" stop "$NAME" --force >/dev/null
                                wait_gone "$sp"
                                ;;
                        E) # the floor with QEMU as its own user and -pidfile, as vmxrun runs it
                                [ -n "$QUSER" ] || continue
                                "$TIMEIT" "$d/floor-user-start.us" -- "$FLOOR" start --qmp "$FLOOR_DIR/qmp.sock" "${FLOOR_PIN[@]}" \
                                        --log "$FLOOR_DIR/qemu.log" --pidfile "$FLOOR_DIR/floor.pid" --user "$QUSER" -- "${QARGV_PID[@]}"
                                "$FLOOR" quit --qmp "$FLOOR_DIR/qmp.sock" --pid "$(cat "$FLOOR_DIR/floor.pid")"
                                ;;
                        esac
                        sleep 0.05
                done
        done
        cat "$d/floor-start.us" "$d/floor-start-2.us" >"$d/floor-start-all.us"

        stats "$d/vmxrun-start.us" "vmxrun start (daemon)"
        stats "$d/vmxrun-start-fg.us" "vmxrun start --foreground"
        stats "$d/floor-start-all.us" "floor start (B and C runs)"
        [ -s "$d/floor-user-start.us" ] && stats "$d/floor-user-start.us" "floor start, QEMU's user + -pidfile"
        stats "$d/vmxrun-stop-force.us" "vmxrun stop --force"
        stats "$d/floor-quit.us" "floor quit"
        stats "$d/floor-kill.us" "floor SIGKILL (extra)"
        echo "  start ratio vmxrun/floor: $(ratio "$d/vmxrun-start.us" "$d/floor-start-all.us") (target <= 1.10)," \
                "paired median $(paired_ratio "$d/vmxrun-start.us" "$d/floor-start.us");" \
                "--foreground: $(ratio "$d/vmxrun-start-fg.us" "$d/floor-start-all.us")"
        if [ -s "$d/floor-user-start.us" ]; then
                echo "  start ratio vmxrun/floor with QEMU's user + -pidfile: $(ratio "$d/vmxrun-start.us" "$d/floor-user-start.us")," \
                        "paired median $(paired_ratio "$d/vmxrun-start.us" "$d/floor-user-start.us");" \
                        "floor user/root: $(ratio "$d/floor-user-start.us" "$d/floor-start-all.us")"
        fi
        echo "  forced stop ratio vmxrun/floor quit: $(ratio "$d/vmxrun-stop-force.us" "$d/floor-quit.us");" \
                "vmxrun $(median_of <"$d/vmxrun-stop-force.us") us against floor quit + 5 ms $(median_of <"$d/floor-quit.us" | awk '{print $1 + 5000}') us (the target)," \
                "paired median $(paired_ratio "$d/vmxrun-stop-force.us" "$d/floor-quit.us");" \
                "vs floor SIGKILL: $(ratio "$d/vmxrun-stop-force.us" "$d/floor-kill.us")"
        echo "  peak RSS of the command (KiB, median): vmxrun start $(awk '{print $2}' "$d/vmxrun-start.us" | median_of)," \
                "floor start $(awk '{print $2}' "$d/floor-start.us" | median_of)," \
                "vmxrun stop $(awk '{print $2}' "$d/vmxrun-stop-force.us" | median_of)"
        echo "  supervisor VmRSS after start (KiB): median $(median_of <"$d/supervisor-rss.kb")," \
                "min $(sort -n "$d/supervisor-rss.kb" | head -1), max $(sort -n "$d/supervisor-rss.kb" | tail -1) (target < 2048)"
        for f in vmxrun-start vmxrun-start-fg floor-start-all floor-user-start vmxrun-stop-force floor-quit floor-kill; do
                [ -s "$d/$f.us" ] || continue
                raw "$d/$f.us" "$f"
        done
}

# ---- a vMX-like pair: one deployment of two VMs vs the floor ----

bench_pair() {
        local d=$OUT/pair plan=$OUT/pair.json i order step sp
        mkdir -p "$d"
        rm -f "$d"/*.us
        "$VMXRUN" cmdline "$HERE/pair.yaml" --json >"$plan"
        local -a G0 G1
        mapfile -t G0 < <(floor_group "$plan" 0)
        mapfile -t G1 < <(floor_group "$plan" 1)
        local -a KILL
        echo "== pair (bench/pair.yaml: vcp 1 vCPU + vfp 2 vCPUs): $N alternating runs of each =="
        "$VMXRUN" start "$HERE/pair.yaml" >/dev/null 2>&1
        sp=$("$VMXRUN" status vxpair --json | jq -r .supervisor_pid)
        echo "  vmxrun pinning:"
        for p in $("$VMXRUN" status vxpair --json | jq -r '.vms[].pid'); do show_pinning "$p"; done
        "$VMXRUN" stop vxpair --force >/dev/null
        wait_gone "$sp"
        for ((i = 0; i < N; i++)); do
                if ((i % 2 == 0)); then order="A B C"; else order="C B A"; fi
                for step in $order; do
                        case $step in
                        A) # vmxrun start of the pair (both VMs pinned and running when it returns)
                                "$TIMEIT" "$d/vmxrun-start.us" -- "$VMXRUN" start "$HERE/pair.yaml" >/dev/null 2>>"$OUT/vmxrun.err"
                                sp=$("$VMXRUN" status vxpair --json | jq -r .supervisor_pid)
                                rss_kb "$sp" >>"$d/supervisor-rss.kb"
                                "$TIMEIT" "$d/vmxrun-stop-force.us" -- "$VMXRUN" stop vxpair --force >/dev/null
                                wait_gone "$sp"
                                ;;
                        B) # the floor, one VM after the other
                                "$TIMEIT" "$d/floor-seq-start.us" -- "$FLOOR" start --sequential "${G0[@]}" --- "${G1[@]}"
                                mapfile -t KILL < <(floor_pids "$plan")
                                "$TIMEIT" "$d/floor-kill.us" -- "$FLOOR" kill "${KILL[@]}"
                                ;;
                        C) # the floor, both spawned before either is attached
                                "$TIMEIT" "$d/floor-par-start.us" -- "$FLOOR" start "${G0[@]}" --- "${G1[@]}"
                                mapfile -t KILL < <(floor_pids "$plan")
                                "$TIMEIT" "$d/floor-kill.us" -- "$FLOOR" kill "${KILL[@]}"
                                ;;
                        esac
                        sleep 0.05
                done
        done
        stats "$d/vmxrun-start.us" "vmxrun start (pair)"
        stats "$d/floor-seq-start.us" "floor start, in sequence"
        stats "$d/floor-par-start.us" "floor start, in parallel"
        stats "$d/vmxrun-stop-force.us" "vmxrun stop --force (pair)"
        stats "$d/floor-kill.us" "floor SIGKILL both"
        echo "  ratio vmxrun/floor parallel: $(ratio "$d/vmxrun-start.us" "$d/floor-par-start.us") (target <= 1.10)," \
                "paired $(paired_ratio "$d/vmxrun-start.us" "$d/floor-par-start.us");" \
                "vmxrun/floor in sequence: $(ratio "$d/vmxrun-start.us" "$d/floor-seq-start.us");" \
                "floor parallel/sequence: $(ratio "$d/floor-par-start.us" "$d/floor-seq-start.us")"
        echo "  supervisor VmRSS with two VMs (KiB): median $(median_of <"$d/supervisor-rss.kb")"
        for f in vmxrun-start floor-seq-start floor-par-start vmxrun-stop-force floor-kill; do raw "$d/$f.us" "$f"; done
}

# ---- crash to re-pinned running ----

# crash_and_wait K: kill -9 the benchmark VM's QEMU, wait until the supervisor has restarted it for the K-th time
crash_and_wait() {
        local qp st
        qp=$(qemu_pid)
        kill -9 "$qp"
        for _ in $(seq 1 3000); do
                st=$("$VMXRUN" status "$NAME" --json | jq -r '.vms[0] | "\(.restarts) \(.state) \(.pid)"')
                [ "$st" != "${st#"$1 running "}" ] && [ "${st##* }" != "$qp" ] && return 0
                sleep 0.01
        done
        echo "  restart $1 did not happen: $st"
        return 1
}


# LOG: one line per restart, the microseconds (at 1 ms resolution) from "QEMU was killed" (the pidfd)
# to "... (pid N), vCPUs pinned" (after cont and query-status), from the log's timestamps
crash_times() {
        awk '
        function ms(s) { split(substr(s, 12, 12), a, ":"); return ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 }
        /QEMU was killed by signal/ { t = ms($1) }
        /\(pid [0-9]+\), vCPUs pinned/ && t { printf "%d\n", (ms($1) - t) * 1000; t = 0 }' "$1"
}

bench_crash() {
        local d=$OUT/crash k qp st sp cold=$OUT/cold.yaml
        local crashes=${CRASHES:-41}
        mkdir -p "$d"
        rm -f "$d"/*.us
        sed 's/^name: vxbench/name: vxcold/' "$PROFILE" >"$cold"
        echo "== crash -> running pinned again (restart.backoff 0): $crashes kills, a cold start after each =="
        rm -f "$VMXRUN_LOG_DIR/$NAME.log"
        "$VMXRUN" start "$PROFILE" >/dev/null 2>&1
        for ((k = 1; k <= crashes; k++)); do
                crash_and_wait "$k" || return 1
                # A cold start of the same VM (another deployment) and a floor start, alternately first.
                if ((k % 2)); then
                        "$TIMEIT" "$d/cold-start.us" -- "$VMXRUN" start "$cold" >/dev/null 2>>"$OUT/vmxrun.err"
                        sp=$("$VMXRUN" status vxcold --json | jq -r .supervisor_pid)
                        "$VMXRUN" stop vxcold --force >/dev/null
                        wait_gone "$sp"
                        floor_start "$d/floor-start.us"
                        "$FLOOR" kill --pid "$(cat "$FLOOR_DIR/floor.pid")"
                else
                        floor_start "$d/floor-start.us"
                        "$FLOOR" kill --pid "$(cat "$FLOOR_DIR/floor.pid")"
                        "$TIMEIT" "$d/cold-start.us" -- "$VMXRUN" start "$cold" >/dev/null 2>>"$OUT/vmxrun.err"
                        sp=$("$VMXRUN" status vxcold --json | jq -r .supervisor_pid)
                        "$VMXRUN" stop vxcold --force >/dev/null
                        wait_gone "$sp"
                fi
                sleep 0.05
        done
        "$VMXRUN" stop "$NAME" --force >/dev/null
        crash_times "$VMXRUN_LOG_DIR/$NAME.log" >"$d/restart.us"
        stats "$d/restart.us" "death -> running pinned (log, 1 ms)"
        stats "$d/cold-start.us" "vmxrun start (cold)"
        stats "$d/floor-start.us" "floor start"
        echo "  ratio restart/cold start: $(ratio "$d/restart.us" "$d/cold-start.us") (target <= 1.2);" \
                "restart/floor start: $(ratio "$d/restart.us" "$d/floor-start.us")"
        for f in restart cold-start floor-start; do raw "$d/$f.us" "$f"; done
}

# ---- exec count ----

bench_exec() {
        local f=$OUT/exec.strace
        echo "== processes exec'd by vmxrun start (strace -f) =="
        rm -f "$f"
        strace -f -qq -e trace=execve,execveat -o "$f" "$VMXRUN" start "$PROFILE" >"$OUT/exec-start.out" 2>&1 &
        local sp=$!
        # strace follows the supervisor too: it returns once the deployment is stopped.
        for _ in $(seq 1 600); do grep -q started "$OUT/exec-start.out" && break; sleep 0.05; done
        "$VMXRUN" stop "$NAME" --force >/dev/null
        wait "$sp"
        echo "  execve calls (including strace's own exec of vmxrun):"
        grep -E 'execve(at)?\(' "$f" | grep -v 'resumed' | sed -E 's/^([0-9]+) +(execve(at)?)\("([^"]*)".*= ([-0-9]+).*/    pid \1 \2 \4 = \5/'
        local n
        n=$(grep -E 'execve(at)?\(' "$f" | grep -v resumed | grep -vc '"'"$VMXRUN"'"' || true)
        echo "  execs besides vmxrun itself: $n (target: 1, QEMU)"
}

# ---- idle wake-ups ----

ctxt() { awk '/^voluntary_ctxt_switches/{v=$2} /^nonvoluntary_ctxt_switches/{n=$2} END{print v+n}' "/proc/$1/status"; }

bench_idle() {
        echo "== supervisor wake-ups while the VM idles: ${IDLE_S}s, then ${IDLE_S}s under strace -c =="
        "$VMXRUN" start "$PROFILE" >/dev/null 2>&1
        local sp c0 c1 t0 t1
        sp=$(supervisor_pid)
        sleep 2
        c0=$(ctxt "$sp"); t0=$(awk '{print $14+$15}' "/proc/$sp/stat")
        sleep "$IDLE_S"
        c1=$(ctxt "$sp"); t1=$(awk '{print $14+$15}' "/proc/$sp/stat")
        echo "  context switches of the supervisor (pid $sp) in ${IDLE_S}s: $((c1 - c0)) (target 0); CPU ticks: $((t1 - t0))"
        if command -v strace >/dev/null; then
                timeout -s INT "$IDLE_S" strace -c -f -p "$sp" -o "$OUT/idle.strace" >/dev/null 2>&1 || true
                echo "  strace -c -f -p over ${IDLE_S}s:"
                if [ -s "$OUT/idle.strace" ]; then sed 's/^/    /' "$OUT/idle.strace"; else echo "    no system call at all (strace -c prints nothing when it counted none)"; fi
        else
                echo "  (strace is not installed: no system call count)"
        fi
        echo "  QEMU's own context switches in ${IDLE_S}s are QEMU's (SeaBIOS idle loop under TCG), not vmxrun's:"
        local qp q0 q1
        qp=$(qemu_pid)
        q0=$(for t in /proc/"$qp"/task/*; do ctxt "$qp/task/${t##*/}"; done | awk '{s+=$1} END{print s}')
        sleep 5
        q1=$(for t in /proc/"$qp"/task/*; do ctxt "$qp/task/${t##*/}"; done | awk '{s+=$1} END{print s}')
        echo "    QEMU (all threads), 5 s: $((q1 - q0)) (identical for the floor's QEMU)"
        "$VMXRUN" stop "$NAME" --force >/dev/null
}

# ---- RSS over restarts and over start/stop cycles ----

# What the supervisor's VmRSS is made of, next to a process that does nothing (sleep).
rss_breakdown() { # PID
        local s
        echo "  supervisor pid $1: $(grep -E '^(VmRSS|RssAnon|RssFile)' "/proc/$1/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
        echo "    $(grep -E '^(Pss|Private_Clean|Private_Dirty):' "/proc/$1/smaps_rollup" | tr -s ' \t' ' ' | tr '\n' ' ')"
        echo "    largest resident mappings (KiB):" $(awk '/^[0-9a-f]+-/{n=$6} /^Rss:/{if ($2 > 0) a[n==""?"[anon]":n]+=$2} END{for (k in a) print a[k], k}' \
                "/proc/$1/smaps" | sort -rn | head -6 | awk '{printf "%s %s; ", $2, $1}')
        sleep 30 & s=$!
        sleep 0.2
        echo "  for reference, sleep(1): $(grep -E '^(VmRSS|RssAnon|RssFile)' "/proc/$s/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
        kill "$s"; wait "$s" 2>/dev/null || true
}

bench_rss() {
        local d=$OUT/rss sp qp k st
        mkdir -p "$d"
        echo "== supervisor RSS over $CYCLES restarts (kill -9 QEMU; one supervisor) =="
        "$VMXRUN" start "$PROFILE" >/dev/null 2>&1
        sp=$(supervisor_pid)
        rss_breakdown "$sp"
        printf '  %6s %8s %8s %5s\n' restarts VmRSS VmHWM fds
        printf '  %6d %8s %8s %5s\n' 0 "$(rss_kb "$sp")" "$(awk '/VmHWM/{print $2}' /proc/"$sp"/status)" "$(ls /proc/"$sp"/fd | wc -l)"
        local t0=$SECONDS
        for ((k = 1; k <= CYCLES; k++)); do
                crash_and_wait "$k" || return 1
                if ((k % 100 == 0)); then
                        printf '  %6d %8s %8s %5s\n' "$k" "$(rss_kb "$sp")" "$(awk '/VmHWM/{print $2}' /proc/"$sp"/status)" \
                                "$(ls /proc/"$sp"/fd | wc -l)" | tee -a "$d/restarts.txt"
                fi
        done
        echo "  ($((SECONDS - t0)) s; supervisor pid still $(supervisor_pid))"
        "$VMXRUN" stop "$NAME" --force >/dev/null
        wait_gone "$sp"

        echo "== $CYCLES full cycles: vmxrun start; vmxrun stop --force (the next start at once) =="
        printf '  %6s %10s %12s %10s %10s %8s %8s\n' cycles sup_VmRSS MemAvail_kB qemus vmxruns rtdir busy
        local busy=0 rc
        t0=$SECONDS
        for ((k = 0; k <= CYCLES; k++)); do
                # Started right after the previous stop returned: when that supervisor has not
                # exited yet, start says "already running" (exit 5); count it, wait, retry.
                rc=0
                "$VMXRUN" start "$PROFILE" >/dev/null 2>&1 || rc=$?
                if ((rc == 5)); then
                        busy=$((busy + 1))
                        wait_gone "$sp"
                        "$VMXRUN" start "$PROFILE" >/dev/null 2>&1
                elif ((rc != 0)); then
                        echo "  start failed with exit status $rc at cycle $k"; return 1
                fi
                sp=$(supervisor_pid)
                if ((k % 100 == 0)); then
                        printf '  %6d %10s %12s %10s %10s %8s %8s\n' "$k" "$(rss_kb "$sp")" \
                                "$(awk '/MemAvailable/{print $2}' /proc/meminfo)" \
                                "$(count_ours qemu-system-x86)" "$(count_ours vmxrun)" \
                                "$(find "$VMXRUN_RUNTIME_DIR" -mindepth 1 -not -path "$FLOOR_DIR*" | wc -l)" "$busy" | tee -a "$d/cycles.txt"
                fi
                "$VMXRUN" stop "$NAME" --force >/dev/null
        done
        wait_gone "$sp"
        echo "  ($((SECONDS - t0)) s) after the last stop: QEMUs $(count_ours qemu-system-x86)," \
                "vmxrun processes $(count_ours vmxrun), files left in the runtime dir $(find "$VMXRUN_RUNTIME_DIR" -mindepth 1 -not -path "$FLOOR_DIR*" | wc -l)"
        echo "  starts refused as 'already running' right after a stop returned: $busy of $((CYCLES + 1))"
        echo "  (qemus/vmxruns above are counted while one deployment runs: 1 and 1 expected)"
}

cmd=${1:-all}
build
plan
echo "raw numbers in $OUT"
machine
case $cmd in
all)
        bench_start
        bench_exec
        bench_idle
        ;;
start) bench_start ;;
exec) bench_exec ;;
idle) bench_idle ;;
rss) bench_rss ;;
pair) bench_pair ;;
crash) bench_crash ;;
many)
        . "$HERE/many.sh"
        bench_many
        ;;
smoke)
        # Each benchmark once, as small as it goes: CI shows they still run; no time is judged.
        N=1 CRASHES=2 IDLE_S=1
        bench_start
        bench_pair
        bench_crash
        bench_idle
        . "$HERE/many.sh"
        COUNTS="1 2" MANY_R=1 MANY_IDLE_S=1 bench_many
        ;;
*)
        echo "usage: $0 [all|start|exec|idle|rss|pair|crash|many|smoke]" >&2
        exit 2
        ;;
esac
echo "load after: $(cat /proc/loadavg)"
