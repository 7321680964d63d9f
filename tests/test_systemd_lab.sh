#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vmxrun@.service under a real systemd: the lab VM (the test guest's Debian
# kernel, the host's root read-only over 9p, as tests/test_vhost_lab.sh) runs
# the host's /lib/systemd/systemd as PID 1 of a PID namespace (container
# mode), with tmpfs over the directories it writes. A driver unit starts
# vmxrun@demo.service and watches it: it must stay "activating" while the VM
# is not ready and be "active" only once the VM runs pinned and ready; then
# it reads the unit's STATUS= text and the journal, and stops the unit.
set -u
# shellcheck source=tests/lab-vm.sh
. "$(dirname "$0")/lab-vm.sh"
[ -x /lib/systemd/systemd ] || skip "no /lib/systemd/systemd on this host"
command -v jq >/dev/null || skip "jq is not installed"
lab_vm_setup systemd
sed "s|@SBINDIR@|$tmp|g" "$VX_SOURCE_ROOT/systemd/vmxrun@.service.in" >"$tmp/vmxrun@.service"
# The demo, ready once the guest kernel prints its first line: under TCG
# inside the TCG lab VM that comes well after QEMU runs (firmware, loading and
# decompressing the kernel), long enough to see the unit still activating.
sed -e "s|/var/cache/vmxrun/guest|$GUEST_DIR|" -e 's|cmdline: .*|cmdline: "console=ttyS0 panic=-1"|' \
        -e 's|console: "VMXRUN-GUEST ready"|console: "Linux version"|' -e 's|timeout: 120s|timeout: 1200s|' \
        "$VX_SOURCE_ROOT/profiles/demo.yaml" >"$tmp/demo.yaml"
grep -q 'console: "Linux version"' "$tmp/demo.yaml" || { echo "FAIL - could not adapt profiles/demo.yaml"; exit 1; }

# The driver: runs as a unit inside the lab's systemd, writes its verdicts to /run/vx-lab.log.
cat >"$tmp/driver.sh" <<DRIVER
exec >>/run/vx-lab.log 2>&1
export PATH=$tmp:\$PATH
say() { echo "LAB \$*"; }
systemctl start --no-block vmxrun@demo.service
activating_not_ready=0
state=
last=
seen=0
# A hang guard for a nested TCG guest on a loaded machine, not a speed assertion.
for _ in \$(seq 1800); do
        state=\$(systemctl is-active vmxrun@demo.service)
        # inactive: the start job is still queued (its dependencies first), unless it ran already.
        case \$state in active | failed) break ;; inactive) [ "\$seen" = 1 ] && break ;; esac
        [ "\$state" = activating ] && seen=1
        [ "\$state" = "\$last" ] || echo "LAB progress: vmxrun@demo.service is \$state" >/dev/console
        last=\$state
        # Once, while QEMU runs and the guest boots: the supervisor says it is not ready yet.
        if [ "\$seen" = 1 ] && [ "\$activating_not_ready" = 0 ] &&
                [ "\$(vmxrun status demo --json 2>/dev/null | jq -r '.vms[0].state + " " + (.vms[0].ready | tostring)')" = "running false" ]; then
                activating_not_ready=1
        fi
        sleep 1
done
j=\$(vmxrun status demo --json)
[ "\$state" = active ] && say "ok the unit becomes active"
[ "\$state" = active ] || { systemctl status --no-pager vmxrun@demo.service; journalctl --no-pager | tail -40; } |
        sed 's/^/LAB debug: /'

[ "\$activating_not_ready" = 1 ] && say "ok it was activating while the VM ran but was not ready"
[ "\$(jq -r '.vms[0].ready' <<<"\$j")" = true ] && [ "\$(jq -r '.vms[0].state' <<<"\$j")" = running ] &&
        say "ok once active, the VM runs and is ready"
[ "\$(jq -r '[.vms[0].vcpus[] | .cpus] | join(",")' <<<"\$j")" = "1,0" ] && say "ok once active, its vCPUs are pinned"
pid=\$(jq -r '.vms[0].pid' <<<"\$j")
[ "\$(systemctl show -P StatusText vmxrun@demo.service)" = "1/1 VM running: guest1 running" ] &&
        say "ok the unit's status text is the supervisor's STATUS="
journalctl -u vmxrun@demo.service -o json | jq -r 'select(.PRIORITY == "6") | .MESSAGE' | grep -q '^guest1: ' &&
        say "ok the journal has the supervisor's lines, priority info, VM name first"
systemctl stop vmxrun@demo.service
[ "\$(systemctl is-active vmxrun@demo.service)" = inactive ] && say "ok after stop the unit is inactive"
kill -0 "\$pid" 2>/dev/null || say "ok after stop QEMU is gone"
journalctl -u vmxrun@demo.service -o cat | grep -q 'stopped\|cleaning up' && say "ok the journal has the stop"
journalctl -u vmxrun@demo.service -o cat | sed 's/^/LAB journal: /' | tail -15
systemctl --no-block poweroff
DRIVER

# Runs inside the lab VM, chrooted into the host's root: tmpfs where systemd writes, then systemd.
cat >"$tmp/inner.sh" <<INNER
set -u
mount -t cgroup2 cgroup2 /sys/fs/cgroup || echo "LAB FAIL cgroup2"
# A writable copy of /etc (a few MiB) without the host's enabled units; tmpfs over what systemd writes.
mkdir /run/vx-etc && cp -a /etc/. /run/vx-etc/ && mount --bind /run/vx-etc /etc || echo "LAB FAIL /etc copy"
rm -rf /etc/systemd/system/* && mkdir -p /etc/vmxrun
for d in /var/log /var/lib/systemd; do
        mount -t tmpfs tmpfs "\$d"
done
cp $tmp/vmxrun@.service /etc/systemd/system/
# Nested TCG: the guest takes minutes where a real host takes seconds.
mkdir -p /etc/systemd/system/vmxrun@.service.d
printf '[Service]\nTimeoutStartSec=1500\n' >/etc/systemd/system/vmxrun@.service.d/lab.conf
cp $tmp/demo.yaml /etc/vmxrun/demo.yaml
cat >/etc/systemd/system/vx-lab.target <<'UNIT'
[Unit]
Description=vmxrun systemd lab
Wants=vx-lab-driver.service
UNIT
cat >/etc/systemd/system/vx-lab-driver.service <<'UNIT'
[Unit]
Description=vmxrun systemd lab driver
After=systemd-journald.service
[Service]
Type=oneshot
ExecStart=/bin/bash $tmp/driver.sh
UNIT
: >/run/vx-lab.log
echo "LAB systemd starting"
unshare --pid --fork --mount-proc env -i container=vmxrun-lab PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        /lib/systemd/systemd --unit=vx-lab.target --log-level=warning </dev/null >/dev/null 2>&1
echo "LAB systemd exited (\$?)"
cat /run/vx-lab.log
INNER

# systemd inside the nested guest is slower still than the vhost lab.
lab_vm_run 2400

expected=(
        "the unit becomes active"
        "it was activating while the VM ran but was not ready"
        "once active, the VM runs and is ready"
        "once active, its vCPUs are pinned"
        "the unit's status text is the supervisor's STATUS="
        "the journal has the supervisor's lines, priority info, VM name first"
        "after stop the unit is inactive"
        "after stop QEMU is gone"
        "the journal has the stop"
)
lab_vm_verdict "${expected[@]}"
