# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Many small VMs on one host (sourced by bench/run.sh: `bench/run.sh many`).
# For each count in $COUNTS, $MANY_R times, alternating the order:
#   one deployment of COUNT VMs      vs the floor starting them in one process
#                                      (all spawned, then each attached)
#   COUNT deployments of one VM each vs COUNT floor processes one after the other
# Each VM: firmware only (SeaBIOS finds nothing to boot), 64 MiB, 1 vCPU (pinned
# to CPU i % 2, shared with the others: pinning.shared), TCG. Measured: total
# start and stop (`stop --force` of every
# deployment vs the floor's SIGKILL + wait of every QEMU), supervisor VmRSS and
# Pss (per deployment and per VM), context switches of all supervisors together
# while the VMs idle for $MANY_IDLE_S s, and `vmxrun list`, `list --json`,
# `status NAME --json` with COUNT deployments running. Slopes are least-squares
# fits over the counts.

many_profile() { # NAME COUNT FIRST: COUNT VMs m<FIRST>..., one deployment NAME
        awk -v name="$1" -v n="$2" -v first="$3" 'BEGIN {
                printf "name: %s\nvms:\n", name
                for (i = first; i < first + n; i++) {
                        printf "  - name: m%d\n    accel: tcg\n    machine: pc\n    cpu: qemu64\n    vcpus: 1\n", i
                        printf "    memory: {size: 64MiB}\n    pinning: {vcpus: [\"%d\"], emulator: \"0-1\", shared: true}\n", i % 2
                }
        }'
}

# many_floor_groups PLAN: every VM of the plan as floor options, "---" between them
many_floor_groups() {
        local n i
        n=$(jq '.vms | length' "$1")
        for ((i = 0; i < n; i++)); do
                ((i > 0)) && echo ---
                floor_group "$1" "$i"
        done
}

# supervisors of our runtime dir, from their state files
many_supervisors() { cat "$RUNTIME_DIR"/*/state.json 2>/dev/null | jq -r .supervisor_pid; }
many_ctxt_all() {
        local p s=0
        for p in "$@"; do s=$((s + $(ctxt "$p"))); done
        echo "$s"
}
many_sum() { # FILE: sum of column 1 of /proc/PID/status field $2 over pids in $@
        local field=$1 p s=0
        shift
        for p in "$@"; do s=$((s + $(awk -v f="$field:" '$1 == f {print $2}' "/proc/$p/status"))); done
        echo "$s"
}
many_pss() {
        local p s=0
        for p in "$@"; do s=$((s + $(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup"))); done
        echo "$s"
}
many_median5() { # CMD...: median of 5 timed runs, in us
        rm -f "$OUT/many-lat.us"
        for _ in 1 2 3 4 5; do "$TIMEIT" "$OUT/many-lat.us" -- "$@" >/dev/null 2>&1; done
        awk '{print $1}' "$OUT/many-lat.us" | median_of
}

# One measurement of COUNT VMs in MODE (one|sep) for WHO (vmxrun|floor); appends to $d/<who>-<mode>-<count>.*
many_run() { # WHO MODE COUNT
        local who=$1 mode=$2 c=$3 t0 t1 k sps=() p
        local base=$d/$who-$mode-$c
        if [ "$who" = vmxrun ]; then
                t0=$(now_us)
                if [ "$mode" = one ]; then
                        "$VMXRUN" start "$d/one-$c.yaml" >/dev/null 2>>"$OUT/vmxrun.err"
                else
                        for ((k = 0; k < c; k++)); do "$VMXRUN" start "$d/sep-$k.yaml" >/dev/null 2>>"$OUT/vmxrun.err"; done
                fi
                t1=$(now_us)
                echo $((t1 - t0)) >>"$base.start.us"
                mapfile -t sps < <(many_supervisors)
                [ "${#sps[@]}" -eq "$([ "$mode" = one ] && echo 1 || echo "$c")" ] ||
                        { echo "  $mode $c: ${#sps[@]} supervisors running" >&2; return 1; }
                echo "$(many_sum VmRSS "${sps[@]}") $(many_pss "${sps[@]}")" >>"$base.rss"
                if [ -z "${MANY_DONE_IDLE[$mode-$c]:-}" ]; then
                        # once per count: wake-ups while idle and the latency of list/status
                        MANY_DONE_IDLE[$mode-$c]=1
                        sleep 1
                        local c0 c1
                        c0=$(many_ctxt_all "${sps[@]}")
                        sleep "$MANY_IDLE_S"
                        c1=$(many_ctxt_all "${sps[@]}")
                        echo $((c1 - c0)) >"$base.idle"
                        local st=vxone
                        [ "$mode" = sep ] && st=vxs0
                        echo "$(many_median5 "$VMXRUN" list) $(many_median5 "$VMXRUN" list --json)" \
                                "$(many_median5 "$VMXRUN" status "$st" --json)" >"$base.lat"
                fi
                t0=$(now_us)
                if [ "$mode" = one ]; then
                        "$VMXRUN" stop vxone --force >/dev/null
                else
                        for ((k = 0; k < c; k++)); do "$VMXRUN" stop "vxs$k" --force >/dev/null; done
                fi
                t1=$(now_us)
                echo $((t1 - t0)) >>"$base.stop.us"
                for p in "${sps[@]}"; do wait_gone "$p"; done
        else
                local -a args kill
                t0=$(now_us)
                if [ "$mode" = one ]; then
                        mapfile -t args <"$d/floor-one-$c.args"
                        "$FLOOR" start "${args[@]}"
                else
                        for ((k = 0; k < c; k++)); do
                                mapfile -t args <"$d/floor-sep-$k.args"
                                "$FLOOR" start "${args[@]}"
                        done
                fi
                t1=$(now_us)
                echo $((t1 - t0)) >>"$base.start.us"
                # The pids are read before the clock starts (vmxrun's stop finds them itself, in its state file).
                if [ "$mode" = one ]; then
                        mapfile -t kill < <(floor_pids "$d/one-$c.json")
                        t0=$(now_us)
                        "$FLOOR" kill "${kill[@]}"
                else
                        local -a kills=()
                        for ((k = 0; k < c; k++)); do kills+=("$(cat "$FLOOR_DIR/m$k.pid")"); done
                        t0=$(now_us)
                        for ((k = 0; k < c; k++)); do "$FLOOR" kill --pid "${kills[$k]}"; done
                fi
                t1=$(now_us)
                echo $((t1 - t0)) >>"$base.stop.us"
        fi
}

many_div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }

# slope FILE: least-squares fit of "x y" lines: prints "slope intercept"
many_fit() {
        awk '{n++; sx+=$1; sy+=$2; sxx+=$1*$1; sxy+=$1*$2} END {
                d = n * sxx - sx * sx; if (d == 0) { print "nan nan"; exit }
                b = (n * sxy - sx * sy) / d; printf "%.3f %.3f\n", b, (sy - b * sx) / n }' "$1"
}

bench_many() {
        local d=$OUT/many c r k w mode max=0
        local counts=${COUNTS:-1 8 32 64}
        MANY_R=${MANY_R:-3}
        MANY_IDLE_S=${MANY_IDLE_S:-10}
        declare -gA MANY_DONE_IDLE=()
        mkdir -p "$d"
        rm -f "$d"/*.us "$d"/*.rss "$d"/*.idle "$d"/*.lat
        for c in $counts; do ((c > max)) && max=$c; done
        echo "== many VMs: counts $counts, one deployment and separate deployments, $MANY_R runs each =="
        # The profiles and the floor's arguments, planned once.
        for c in $counts; do
                many_profile vxone "$c" 0 >"$d/one-$c.yaml"
                "$VMXRUN" cmdline "$d/one-$c.yaml" --json >"$d/one-$c.json"
                many_floor_groups "$d/one-$c.json" >"$d/floor-one-$c.args"
        done
        for ((k = 0; k < max; k++)); do
                many_profile "vxs$k" 1 "$k" >"$d/sep-$k.yaml"
                "$VMXRUN" cmdline "$d/sep-$k.yaml" --json >"$d/sep-$k.json"
                floor_group "$d/sep-$k.json" 0 >"$d/floor-sep-$k.args"
        done
        for ((r = 0; r < MANY_R; r++)); do
                for c in $counts; do
                        for mode in one sep; do
                                if (((r + c) % 2)); then w="vmxrun floor"; else w="floor vmxrun"; fi
                                for who in $w; do many_run "$who" "$mode" "$c" || return 1; sleep 0.2; done
                        done
                done
        done

        local med
        med() { awk '{print $1}' "$1" | median_of; }
        for mode in one sep; do
                echo "  -- $([ "$mode" = one ] && echo "one deployment of COUNT VMs" || echo "COUNT deployments of one VM") --"
                printf '  %5s %11s %11s %6s %11s %11s %6s %9s %9s %7s %8s %8s %8s\n' VMs "start ms" "floor ms" ratio \
                        "stop ms" "floor ms" ratio "RSS KiB" "Pss KiB" "ctxsw" "list ms" "list -j" "status"
                rm -f "$d/fit-$mode-"*
                for c in $counts; do
                        local vs fs vt ft rss pss
                        vs=$(med "$d/vmxrun-$mode-$c.start.us"); fs=$(med "$d/floor-$mode-$c.start.us")
                        vt=$(med "$d/vmxrun-$mode-$c.stop.us"); ft=$(med "$d/floor-$mode-$c.stop.us")
                        rss=$(awk '{print $1}' "$d/vmxrun-$mode-$c.rss" | median_of)
                        pss=$(awk '{print $2}' "$d/vmxrun-$mode-$c.rss" | median_of)
                        read -r l lj st <"$d/vmxrun-$mode-$c.lat"
                        printf '  %5d %11.1f %11.1f %6.3f %11.1f %11.1f %6.3f %9d %9d %7d %8.1f %8.1f %8.1f\n' "$c" \
                                "$(many_div "$vs" 1000)" "$(many_div "$fs" 1000)" "$(many_div "$vs" "$fs")" \
                                "$(many_div "$vt" 1000)" "$(many_div "$ft" 1000)" "$(many_div "$vt" "$ft")" \
                                "$rss" "$pss" "$(cat "$d/vmxrun-$mode-$c.idle")" \
                                "$(many_div "$l" 1000)" "$(many_div "$lj" 1000)" "$(many_div "$st" 1000)"
                        echo "$c $(many_div "$vs" 1000)" >>"$d/fit-$mode-start"
                        echo "$c $(many_div "$fs" 1000)" >>"$d/fit-$mode-floorstart"
                        echo "$c $(many_div "$vt" 1000)" >>"$d/fit-$mode-stop"
                        echo "$c $(many_div "$ft" 1000)" >>"$d/fit-$mode-floorstop"
                        echo "$c $rss" >>"$d/fit-$mode-rss"
                        echo "$c $(many_div "$l" 1000)" >>"$d/fit-$mode-list"
                done
                echo "  slopes (least squares; per VM; intercept in brackets):" \
                        "start $(many_fit "$d/fit-$mode-start" | awk '{printf "%s ms [%s]", $1, $2}')," \
                        "floor start $(many_fit "$d/fit-$mode-floorstart" | awk '{printf "%s ms [%s]", $1, $2}')," \
                        "stop $(many_fit "$d/fit-$mode-stop" | awk '{printf "%s ms [%s]", $1, $2}')," \
                        "floor stop $(many_fit "$d/fit-$mode-floorstop" | awk '{printf "%s ms [%s]", $1, $2}')," \
                        "supervisor RSS $(many_fit "$d/fit-$mode-rss" | awk '{printf "%s KiB [%s]", $1, $2}')," \
                        "list $(many_fit "$d/fit-$mode-list" | awk '{printf "%s ms [%s]", $1, $2}')"
        done
        echo "  (RSS and Pss: all supervisors together; ctxsw: their context switches in ${MANY_IDLE_S}s idle, target 0;"
        echo "   list/status: median of 5, target <= 50 ms; memory target 1.5 MiB + 64 KiB per VM per deployment)"
}
