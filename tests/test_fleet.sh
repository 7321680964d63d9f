#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vmxrun enable/disable and list against a fake systemctl on PATH (it logs
# its arguments and keeps which units are enabled), and the fleet playbook
# (examples/ansible/vmxrun.yml): ansible-playbook --syntax-check, then a run
# against localhost that copies the profile and enables the unit, a second
# run that changes nothing, and a third after a profile change that
# restarts the unit.
set -u
# shellcheck source=tests/check-lib.sh
. "$(dirname "$0")/check-lib.sh"


tmp=$(mktemp -d /tmp/vx-fleet-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/etc" "$tmp/units" "$tmp/run"
ln -s "$VMXRUN" "$tmp/bin/vmxrun"
cat >"$tmp/bin/systemctl" <<'FAKE'
#!/bin/bash
# A fake systemctl: logs its arguments; enable/disable/is-enabled on a state dir.
echo "$*" >>"$FAKE_SYSTEMCTL_LOG"
[ -z "${FAKE_SYSTEMCTL_FAIL:-}" ] || { echo "Failed to enable unit: fake failure" >&2; exit 1; }
unit=${*: -1}
case $1 in
enable) touch "$FAKE_SYSTEMCTL_UNITS/$unit" ;;
disable) rm -f "$FAKE_SYSTEMCTL_UNITS/$unit" ;;
is-enabled) if [ -e "$FAKE_SYSTEMCTL_UNITS/$unit" ]; then echo enabled; else echo disabled; exit 1; fi ;;
restart) [ -e "$FAKE_SYSTEMCTL_UNITS/$unit" ] || exit 5 ;;
*) exit 1 ;;
esac
FAKE
chmod +x "$tmp/bin/systemctl"
export PATH="$tmp/bin:$PATH" FAKE_SYSTEMCTL_LOG=$tmp/systemctl.log FAKE_SYSTEMCTL_UNITS=$tmp/units
export VMXRUN_CONFIG_DIR=$tmp/etc VMXRUN_RUNTIME_DIR=$tmp/run
: >"$FAKE_SYSTEMCTL_LOG"

cp "$VX_SOURCE_ROOT/profiles/demo.yaml" "$tmp/etc/demo.yaml"
cp "$VX_SOURCE_ROOT/tests/import/pass-lite-many.vmx.conf" "$tmp/etc/lite.conf"
printf 'name: broken\nvms:\n  - name: a\n    memroy: {size: 1GiB}\n' >"$tmp/etc/broken.yaml"

(cd "$tmp" && vmxrun enable demo)
check "enable demo exits 0" [ $? -eq 0 ]
check "enable demo runs systemctl enable --now vmxrun@demo.service" \
        [ "$(cat "$FAKE_SYSTEMCTL_LOG")" = "enable --now vmxrun@demo.service" ]
: >"$FAKE_SYSTEMCTL_LOG"
vmxrun enable lite 2>/dev/null
check "a vmx.conf in the config dir is enabled too" [ "$(cat "$FAKE_SYSTEMCTL_LOG")" = "enable --now vmxrun@lite.service" ]
: >"$FAKE_SYSTEMCTL_LOG"
vmxrun enable nosuch 2>"$tmp/err"
check "enable of a profile that is not there: exit 2" [ $? -eq 2 ]
check "... saying where it looked" grep -q "$tmp/etc/nosuch.yaml" "$tmp/err"
vmxrun enable broken 2>"$tmp/err"
check "enable of an invalid profile: exit 3, with the profile's error" \
        bash -c "[ $? -eq 3 ] && grep -q 'memroy' '$tmp/err'"
vmxrun enable ../demo 2>/dev/null
check "enable of a path, not a name: exit 2" [ $? -eq 2 ]
check "systemctl was not run for any of them" [ ! -s "$FAKE_SYSTEMCTL_LOG" ]
FAKE_SYSTEMCTL_FAIL=1 vmxrun enable demo 2>"$tmp/err"
check "systemctl failing: exit 1, pointing at the journal" \
        bash -c "[ $? -eq 1 ] && grep -q 'journalctl -u vmxrun@demo.service' '$tmp/err'"
: >"$FAKE_SYSTEMCTL_LOG"
vmxrun disable demo
check "disable demo runs systemctl disable --now vmxrun@demo.service" \
        bash -c "[ $? -eq 0 ] && [ \"\$(cat '$FAKE_SYSTEMCTL_LOG')\" = 'disable --now vmxrun@demo.service' ]"
vmxrun disable gone
check "disable of a unit whose profile was removed still runs systemctl" [ $? -eq 0 ]
vmxrun enable 2>"$tmp/err"
check "enable without a name: exit 2" [ $? -eq 2 ]

list=$(vmxrun list 2>/dev/null)
check "list: a header, then one line per VM" [ "$(head -1 <<<"$list" | tr -s ' ')" = " PID Deployment VM State" ]
check "list: demo's VM is shut off" grep -qE '^ -  +demo +guest1 +shut off$' <<<"$list"
check "list: the vmx.conf's VMs by its deployment name" \
        [ "$(grep -cE ' shut off$' <<<"$list")" -ge 3 ]
check "list: an invalid profile says so" grep -qE '^ -  +broken.yaml .*invalid \(vmxrun validate ' <<<"$list"

# The playbook.
command -v ansible-playbook >/dev/null || skip "ansible-playbook is not installed (ansible-core)"
play=$VX_SOURCE_ROOT/examples/ansible/vmxrun.yml
export HOME=$tmp/home ANSIBLE_NOCOLOR=1 ANSIBLE_LOCAL_TEMP=$tmp/ansible-tmp ANSIBLE_REMOTE_TEMP=$tmp/ansible-tmp
mkdir -p "$HOME"
ansible-playbook --syntax-check -i "$VX_SOURCE_ROOT/examples/ansible/inventory.example" "$play" >"$tmp/syntax.log" 2>&1
check "ansible-playbook --syntax-check" [ $? -eq 0 ]

mkdir -p "$tmp/src" "$tmp/ans-etc"
sed "s|/var/cache/vmxrun/guest|$tmp/guest|" "$VX_SOURCE_ROOT/profiles/demo.yaml" >"$tmp/src/demo.yaml"
rm -f "$tmp/units/"*
: >"$FAKE_SYSTEMCTL_LOG"
playbook() {
        ansible-playbook -i localhost, -c local "$play" -e vmxrun_hosts=localhost -e vmxrun_become=false \
                -e vmxrun_install_package=false -e vmxrun_config_dir="$tmp/ans-etc" -e vmxrun_profile_dir="$tmp/src" \
                -e ansible_python_interpreter=/usr/bin/python3 >"$tmp/play.log" 2>&1
}
recap() { sed -n 's/.*localhost *: *//p' "$tmp/play.log"; }
playbook
check "the playbook runs against localhost" [ $? -eq 0 ] || sed 's/^/  | /' "$tmp/play.log"
check "it copied the profile to the config dir" cmp -s "$tmp/src/demo.yaml" "$tmp/ans-etc/demo.yaml"
check "it enabled and started vmxrun@demo.service (through vmxrun enable)" \
        grep -qx 'enable --now vmxrun@demo.service' "$FAKE_SYSTEMCTL_LOG"
: >"$FAKE_SYSTEMCTL_LOG"
playbook
check "a second run changes nothing ($(recap))" grep -q 'changed=0 .*failed=0' <<<"$(recap)"
check "... and enables nothing again" bash -c "! grep -q '^enable' '$FAKE_SYSTEMCTL_LOG'"
sed -i 's/size: 256MiB/size: 320MiB/' "$tmp/src/demo.yaml"
: >"$FAKE_SYSTEMCTL_LOG"
playbook
check "a changed profile is copied and its unit restarted" \
        bash -c "grep -q 320MiB '$tmp/ans-etc/demo.yaml' && grep -qx 'restart vmxrun@demo.service' '$FAKE_SYSTEMCTL_LOG'"
printf 'name: broken\nvms:\n  - name: a\n    memroy: {size: 1GiB}\n' >"$tmp/src/demo.yaml"
playbook
check "a profile with errors is refused on the host and not copied" \
        bash -c "[ $? -ne 0 ] && grep -q 320MiB '$tmp/ans-etc/demo.yaml'"

verdict
