#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's demo command: installs what is needed, builds vmxrun and the
# tiny test guest, then boots profiles/demo.yaml with vmxrun, shows its
# status and vCPU pinning, and stops it. Run as root on Debian 12.
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
./scripts/build.sh
./guest/build.sh

vmxrun=./build/release/cli/vmxrun
profile=profiles/demo.yaml

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step vmxrun validate $profile
$vmxrun validate $profile

step vmxrun cmdline $profile
$vmxrun cmdline $profile

step vmxrun start $profile --wait
$vmxrun start $profile --wait
trap '$vmxrun stop demo --force >/dev/null 2>&1 || true' EXIT

step vmxrun status demo
$vmxrun status demo

step vmxrun vcpuinfo demo
$vmxrun vcpuinfo demo

step "what the guest reported on its console"
grep 'VMXRUN-GUEST' /run/vmxrun/demo/guest1/console.log || true

step vmxrun hmp demo "'info cpus'"
$vmxrun hmp demo 'info cpus'

step vmxrun stop demo
$vmxrun stop demo
trap - EXIT
