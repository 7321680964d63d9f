# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
#
# What the scripts a lab VM runs (tests/lab/start.sh, tests/lab/vmx-sriov.sh)
# need around their checks, sourced with /bin/sh: one "LAB ok WHAT" or
# "LAB FAIL WHAT: DETAIL" line per check (tests/lab/run counts them), the
# failures in $fails, and a bounded wait.
fails=0
ok() { echo "LAB ok $*"; }
bad() { echo "LAB FAIL $*"; fails=$((fails + 1)); }
expect() { # expect WHAT DETAIL COMMAND...: ok when COMMAND succeeds, else a failure with DETAIL
        what=$1 detail=$2
        shift 2
        if "$@"; then ok "$what"; else bad "$what: $detail"; fi
}

# A hang guard, not a timing: the lab VM runs under TCG, its QEMUs under TCG again.
wait_for() { # wait_for SECONDS COMMAND...: polls every 0.2 s
        n=$(($1 * 5))
        shift
        while [ "$n" -gt 0 ]; do
                "$@" && return 0
                sleep 0.2
                n=$((n - 1))
        done
        return 1
}
