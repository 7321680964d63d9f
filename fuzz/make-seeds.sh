#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Writes the seed corpora fuzz/corpus/<target>/ from the tests' inputs (the
# example profiles, the validate fixtures, the import fixtures, the golden
# QEMU command lines) and a few hand-written QMP conversations. Run it again
# when the tests gain inputs; the seeds are kept in git.
set -euo pipefail
cd "$(dirname "$0")/.."
C=fuzz/corpus
MARK=$'\n#~~~#\n'
rm -rf "$C"
mkdir -p "$C"/fuzz_profile "$C"/fuzz_vmxconf "$C"/fuzz_qemuargs "$C"/fuzz_qmp_framer "$C"/fuzz_qmp_client

# ---- profiles: the examples, the validate fixtures, what the importer writes
for f in profiles/*.yaml tests/profiles/*.yaml tests/import/*.yaml bench/bench.yaml; do
        cp "$f" "$C/fuzz_profile/$(echo "${f%.yaml}" | tr / -).yaml"
done

# ---- vmx.conf: mode byte, then the files split by MARK (fuzz/fuzz_vmxconf.c)
for f in tests/import/*.vmx.conf; do
        { printf 1; cat "$f"; } >"$C/fuzz_vmxconf/one-$(basename "$f" .vmx.conf)"
done
seed() { # NAME MODE FILE...
        local name=$1 mode=$2 first=1
        shift 2
        {
                printf '%s' "$mode"
                for f in "$@"; do
                        [ $first = 1 ] || printf '%s' "$MARK"
                        first=0
                        cat "tests/import/$f"
                done
        } >"$C/fuzz_vmxconf/$name"
}
seed two-seed 2 seed-two.vmx.conf.1 seed-two.vmx.conf.2
seed two-seed-junosdev J seed-two.vmx.conf.1 seed-two.vmx.conf.2 seed-two.vmx-junosdev.conf
seed link4 j seed-virtio.vmx.conf seed-link4.vmx-junosdev.conf
seed fail-junosdev j seed-virtio.vmx.conf fail-junosdev.conf
seed fail-cross 2 seed-virtio.vmx.conf fail-cross.vmx.conf

# ---- QEMU command lines: the golden files and the fixtures (shell text), one as NUL-separated words
for f in tests/golden/*.args tests/fixtures/*.cmdline; do
        cp "$f" "$C/fuzz_qemuargs/$(basename "$f")"
done
tr '\n' '\0' <tests/golden/vmx-virtio.args >"$C/fuzz_qemuargs/vmx-virtio.nul"
printf '%s' "qemu-system-x86_64 -m 1024 -device '{\"driver\":\"virtio-net-pci\",\"netdev\":\"n0\"}' -netdev tap,id=n0,fd=3,,x -cpu max,+vmx,-svm -object memory-backend-file,id=m,size=1G,mem-path=/dev/hugepages -numa node,memdev=m -S -nodefaults \\
  -chardev socket,id=c,path=/run/x.sock,server=on,wait=off -serial chardev:c" >"$C/fuzz_qemuargs/hand-mixed"

# ---- QMP: a greeting, the capabilities reply, replies to each command the client sends, events
G='{"QMP": {"version": {"qemu": {"micro": 1, "minor": 2, "major": 7}, "package": "Debian"}, "capabilities": ["oob"]}}'
EV='{"timestamp": {"seconds": 1700000000, "microseconds": 5}, "event": "STOP"}'
EV2='{"timestamp": {"seconds": 1700000001, "microseconds": 6}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}'
ST='{"return": {"status": "running", "singlestep": false, "running": true}, "id": "vx-2"}'
CPUS='{"return": [{"cpu-index": 0, "qom-path": "/machine/unattached/device[0]", "thread-id": 1234, "props": {"core-id": 0, "thread-id": 0, "socket-id": 0}, "target": "x86_64"}, {"cpu-index": 1, "thread-id": 1235, "props": {"core-id": 1, "thread-id": 0, "socket-id": 0}, "target": "x86_64"}], "id": "vx-3"}'
NOTFOUND='{"error": {"class": "CommandNotFound", "desc": "The command query-cpus-fast has not been found"}, "id": "vx-3"}'
LEGACY='{"return": [{"CPU": 0, "current": true, "halted": false, "thread_id": 1234}], "id": "vx-4"}'
printf '%s\r\n{"return": {}, "id": "vx-1"}\r\n%s\r\n%s\r\n%s\r\n{"return": "VM status: running\\r\\n", "id": "vx-4"}\r\n%s\r\n%s\r\n' \
        "$G" "$ST" "$EV" "$CPUS" "$EV2" "$EV" >"$C/fuzz_qmp_client/conversation"
printf '%s\r\n{"return": {}, "id": "vx-1"}\r\n%s\r\n%s\r\n%s\r\n{"return": "ok", "id": "vx-5"}\r\n' \
        "$G" "$ST" "$NOTFOUND" "$LEGACY" >"$C/fuzz_qmp_client/legacy-cpus"
printf '%s\r\n{"return": {}, "id": "vx-1"}\r\n{"error": {"class": "GenericError", "desc": "no"}, "id": "vx-2"}\r\n{"return": {}, "id": "other"}\r\n' \
        "$G" >"$C/fuzz_qmp_client/errors"
printf '%s' "$G" >"$C/fuzz_qmp_client/greeting-only"
# framer: read size byte, cap byte, then the stream
{ printf '\x00\xff'; cat "$C/fuzz_qmp_client/conversation"; } >"$C/fuzz_qmp_framer/bytewise"
{ printf '\x0f\x02'; cat "$C/fuzz_qmp_client/legacy-cpus"; } >"$C/fuzz_qmp_framer/small-cap"
{ printf '\xff\xff'; printf '%s\n{"a": "}{\\"", "b": [1, {"c": []}]}\n{"d":1}{"e": 2}' "$EV"; } >"$C/fuzz_qmp_framer/nested"
printf '\x03\xff{"a": "\\u00e9\\"}"}\n[1]\n' >"$C/fuzz_qmp_framer/not-object"
echo "seeds: $(find "$C" -type f | wc -l) files"
