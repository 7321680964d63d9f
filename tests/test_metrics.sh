#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vmxrun metrics, read by real parsers: prometheus_client's OpenMetrics
# parser and its Prometheus text-format parser (the format node_exporter's
# textfile collector reads).
#   test_metrics.sh pure  a status JSON and a fake /proc fed in: every family and value
#   test_metrics.sh live  a real tiny TCG guest started by bare name from a config dir
set -u
# shellcheck source=tests/check-lib.sh
. "$(dirname "$0")/check-lib.sh"
mode=${1:-pure}
PY=/usr/bin/python3
[ -x $PY ] && $PY -c 'import prometheus_client' 2>/dev/null ||
        skip "python3-prometheus-client is not installed (scripts/install-deps.sh installs it)"


WORK=$(mktemp -d /tmp/vx-metrics-XXXXXX)

# Parses $1 with both parsers and prints "name{k=v,...} value" per sample, in file order.
parse() {
        $PY - "$1" <<'PYEOF'
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
from prometheus_client.parser import text_string_to_metric_families as prometheus_text
text = open(sys.argv[1]).read()
om = [(s.name, tuple(s.labels.items()), s.value) for f in openmetrics(text) for s in f.samples]
pt = [(s.name, tuple(s.labels.items()), s.value) for f in prometheus_text(text) for s in f.samples]
types = {f.type for f in openmetrics(text)}
if sorted(om) != sorted(pt):
    sys.exit("the two parsers disagree")
if types - {"gauge"}:
    sys.exit("not only gauges: %s" % types)
for name, labels, value in om:
    v = "%d" % value if value == int(value) else repr(value)
    print("%s{%s} %s" % (name, ",".join("%s=%s" % kv for kv in labels), v))
PYEOF
}
value() { # value SAMPLES 'name{labels}'
        awk -v k="$2" '$1 == k { print $2 }' <<<"$1"
}

pure() {
        local out samples
        trap 'rm -rf "$WORK"' EXIT
        # Thread 4243 has used 250 + 50 ticks; thread 4244 is gone (no sample rather than a wrong one).
        mkdir -p "$WORK/proc/4242/task/4243"
        printf '4243 (CPU 0/TCG) S 1 1 1 0 -1 4194560 0 0 0 0 250 50 0 0 20 0 3 0 100 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 -1 1 0 0 0 0 0\n' \
                >"$WORK/proc/4242/task/4243/stat"
        hz=$(getconf CLK_TCK)
        cat >"$WORK/list.json" <<'JSON'
{"deployments": [
 {"version": 1, "deployment": "demo", "profile": "/etc/vmxrun/demo.yaml", "supervisor_pid": 4241,
  "vms": [
   {"name": "guest1", "state": "running", "pid": 4242, "restarts": 2, "accel": "tcg", "ready": true,
    "uptime_s": 61, "run_state": "odd \"state\" \\ here",
    "vcpus": [{"index": 0, "thread_id": 4243, "cpus": "1"}, {"index": 1, "thread_id": 4244, "cpus": "0-4095"}],
    "memory": {"size_mib": 64, "backend": "hugepages", "hugetlb_kib": 65536},
    "nics": [{"type": "tap", "tap": "vx-tap0", "exists": true, "up": true, "carrier": true,
              "rx_bytes": 1000, "tx_bytes": 2000, "rx_packets": 10, "tx_packets": 20, "rx_dropped": 0, "tx_dropped": 1},
             {"type": "tap", "tap": "vx-tap1", "exists": false},
             {"type": "vf", "guest_mac": "02:00:00:00:00:01"}]},
   {"name": "guest2", "state": "failed", "pid": 0, "restarts": 3, "accel": "kvm", "ready": false,
    "uptime_s": 0, "vcpus": [], "memory": {"size_mib": 128, "backend": "ram"}, "nics": []}]},
 {"version": 1, "deployment": "other", "vms": [{"name": "guest1", "state": "stopping", "pid": 0, "vcpus": []},
                                              {"name": "guest2", "state": "waiting", "pid": 0, "vcpus": []}]}
]}
JSON
        VMXRUN_ROOT=$WORK "$VMXRUN" metrics --status-json "$WORK/list.json" >"$WORK/out.prom"
        check "metrics --status-json exits 0" [ $? -eq 0 ]
        check "the output ends with # EOF" [ "$(tail -1 "$WORK/out.prom")" = "# EOF" ]
        samples=$(parse "$WORK/out.prom")
        check "both parsers read it, and every family is a gauge" [ $? -eq 0 -a -n "$samples" ]
        d='deployment=demo,vm=guest1'
        check "state running is 1" [ "$(value "$samples" "vmxrun_vm_state{$d,state=running}")" = 1 ]
        check "state failed is 0 for a running VM" [ "$(value "$samples" "vmxrun_vm_state{$d,state=failed}")" = 0 ]
        check "a failed VM's state" [ "$(value "$samples" "vmxrun_vm_state{deployment=demo,vm=guest2,state=failed}")" = 1 ]
        check "a second deployment's VM of the same name is its own" \
                [ "$(value "$samples" "vmxrun_vm_state{deployment=other,vm=guest1,state=stopping}")" = 1 ]
        check "a VM waiting for its turn (after:) has its state" \
                [ "$(value "$samples" "vmxrun_vm_state{deployment=other,vm=guest2,state=waiting}")" = 1 ]
        check "a label with quotes and a backslash round-trips" \
                grep -qF 'run_state=odd "state" \ here' <<<"$samples"
        check "uptime" [ "$(value "$samples" "vmxrun_vm_uptime_seconds{$d}")" = 61 ]
        check "restarts" [ "$(value "$samples" "vmxrun_vm_restarts{deployment=demo,vm=guest2}")" = 3 ]
        check "ready" [ "$(value "$samples" "vmxrun_vm_ready{deployment=demo,vm=guest2}")" = 0 ]
        check "vCPU time from /proc: (250 + 50) ticks at $hz Hz" \
                [ "$(value "$samples" "vmxrun_vcpu_cpu_seconds{$d,vcpu=0}")" = "$(awk -v h="$hz" 'BEGIN { v = 300 / h; if (v == int(v)) printf "%d", v; else print v }')" ]
        check "no CPU time sample for a thread that is gone" \
                [ -z "$(value "$samples" "vmxrun_vcpu_cpu_seconds{$d,vcpu=1}")" ]
        check "pinned to one CPU" [ "$(value "$samples" "vmxrun_vcpu_pinned{$d,vcpu=0}")" = 1 ]
        check "allowed on every CPU: not pinned" [ "$(value "$samples" "vmxrun_vcpu_pinned{$d,vcpu=1}")" = 0 ]
        check "allowed CPUs and their list" [ "$(value "$samples" "vmxrun_vcpu_allowed_cpus{$d,vcpu=1,cpus=0-4095}")" = 4096 ]
        check "NIC counters" [ "$(value "$samples" "vmxrun_nic_transmit_bytes{$d,nic=vx-tap0}")" = 2000 ]
        check "NIC drops" [ "$(value "$samples" "vmxrun_nic_transmit_dropped{$d,nic=vx-tap0}")" = 1 ]
        check "a missing tap is down, with no counters" \
                [ "$(value "$samples" "vmxrun_nic_up{$d,nic=vx-tap1}")" = 0 -a -z "$(value "$samples" "vmxrun_nic_receive_bytes{$d,nic=vx-tap1}")" ]
        check "a VF has no tap samples" bash -c "! grep -q 'nic=,' <<<'$samples'"
        check "hugepages held" [ "$(value "$samples" "vmxrun_vm_hugepages_bytes{$d}")" = 67108864 ]
        check "no hugepages: 0" [ "$(value "$samples" "vmxrun_vm_hugepages_bytes{deployment=demo,vm=guest2}")" = 0 ]
        check "memory size" [ "$(value "$samples" "vmxrun_vm_memory_bytes{deployment=demo,vm=guest2}")" = 134217728 ]

        # A single `status --json` object is read as well.
        jq '.deployments[1]' "$WORK/list.json" >"$WORK/one.json" 2>/dev/null || skip "jq is not installed"
        samples=$("$VMXRUN" metrics --status-json "$WORK/one.json" >"$WORK/one.prom" && parse "$WORK/one.prom")
        check "one deployment's status --json: 2 VMs, a gauge per state" [ "$(grep -c '^vmxrun_vm_state' <<<"$samples")" = 14 ]
        rt=$(mktemp -d "$WORK/rt-XXXXXX")
        "$VMXRUN" metrics --runtime-dir "$rt" >"$WORK/empty.prom"
        check "nothing running: families only, still parsed" bash -c "[ \$? -eq 0 ] && [ -z \"\$(parse '$WORK/empty.prom')\" ]"
        "$VMXRUN" metrics --runtime-dir "$rt" nosuch >/dev/null 2>&1
        check "a deployment that is not running: exit 4" [ $? -eq 4 ]
}

live() {
        local samples pid tid0 now
        need_qemu_guest
        need_cpus 2 "the demo pins two vCPUs to two host CPUs"
        export VMXRUN_RUNTIME_DIR=$WORK/run VMXRUN_CONFIG_DIR=$WORK/etc
        # QEMU runs as vmxrun-qemu: it must get through to the runtime directory.
        chmod 755 "$WORK"
        trap '"$VMXRUN" stop demo --force >/dev/null 2>&1; rm -rf "$WORK"' EXIT
        mkdir -p "$VMXRUN_CONFIG_DIR"
        sed "s|/var/cache/vmxrun/guest|$GUEST_DIR|" "$VX_SOURCE_ROOT/profiles/demo.yaml" >"$VMXRUN_CONFIG_DIR/demo.yaml"
        # A bare name: $VMXRUN_CONFIG_DIR/demo.yaml, as vmxrun@demo.service starts it.
        (cd / && "$VMXRUN" start demo --wait)
        check "start demo (a bare name) starts $VMXRUN_CONFIG_DIR/demo.yaml and is ready" [ $? -eq 0 ]
        "$VMXRUN" metrics demo >"$WORK/live.prom"
        check "metrics demo exits 0" [ $? -eq 0 ]
        samples=$(parse "$WORK/live.prom")
        check "both parsers read it" [ $? -eq 0 ]
        d='deployment=demo,vm=guest1'
        check "the VM is running and ready" \
                [ "$(value "$samples" "vmxrun_vm_state{$d,state=running}")" = 1 -a "$(value "$samples" "vmxrun_vm_ready{$d}")" = 1 ]
        check "both vCPUs are pinned (one CPU each)" \
                [ "$(value "$samples" "vmxrun_vcpu_allowed_cpus{$d,vcpu=0,cpus=1}")" = 1 -a "$(value "$samples" "vmxrun_vcpu_allowed_cpus{$d,vcpu=1,cpus=0}")" = 1 ]
        check "a CPU time sample per vCPU" [ "$(grep -c "^vmxrun_vcpu_cpu_seconds{$d" <<<"$samples")" = 2 ]
        pid=$("$VMXRUN" status demo --json | jq -r '.vms[0].pid')
        tid0=$("$VMXRUN" status demo --json | jq -r '.vms[0].vcpus[] | select(.index == 0) | .thread_id')
        now=$(awk '{ sub(/.*\) /, ""); split($0, f, " "); print (f[12] + f[13]) }' "/proc/$pid/task/$tid0/stat")
        check "vCPU 0's CPU time is what the kernel counts (at most $now ticks now)" \
                awk -v m="$(value "$samples" "vmxrun_vcpu_cpu_seconds{$d,vcpu=0}")" -v n="$now" -v h="$(getconf CLK_TCK)" \
                'BEGIN { exit !(m >= 0 && m <= n / h) }'
        check "uptime is counted" [ -n "$(value "$samples" "vmxrun_vm_uptime_seconds{$d}")" ]
        "$VMXRUN" metrics >"$WORK/all.prom"
        check "metrics without NAME lists the running deployment" grep -q '^vmxrun_vm_state{deployment="demo"' "$WORK/all.prom"
        cp "$VX_SOURCE_ROOT/profiles/vmx-virtio.yaml" "$VMXRUN_CONFIG_DIR/vmx.yaml"
        "$VMXRUN" list >"$WORK/list.txt" 2>&1
        check "list: the running VM with its QEMU pid" grep -qE "^ $pid +demo +guest1 +running$" "$WORK/list.txt"
        check "list: a profile of the config dir that is not running, shut off" \
                grep -qE '^ - +vmx1 +vcp-vmx1 +shut off$' "$WORK/list.txt"
        check "list: the running profile is not listed again as shut off" \
                bash -c "! grep -qE ' demo +guest1 +shut off' '$WORK/list.txt'"
        "$VMXRUN" stop demo >/dev/null
        check "stop demo (a bare name) stops it" [ $? -eq 0 ]
}

case $mode in
pure) pure ;;
live) live ;;
*) echo "usage: $0 pure|live" >&2; exit 2 ;;
esac
verdict
