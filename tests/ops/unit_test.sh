#!/bin/bash
# The systemd unit, as systemd itself judges it:
#   - `systemd-analyze verify` passes: every directive known, the commands
#     executable (the unit's /usr/local/bin/ecluse replaced by the binary
#     under test), the Documentation= man pages found (the generated ones);
#   - `systemd-analyze security --offline=yes` scores it at most 3.0;
#   - it is Type=notify (the gateway's sd_notify, tests/ops:notify_test).
# systemd-analyze is part of the Debian package `systemd`
# (scripts/install-deps.sh): without it this test fails, it does not skip.
set -euo pipefail

unit_src="packaging/systemd/ecluse-gateway@.service"
ecluse="$(pwd)/cli/ecluse"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/unit-XXXXXX")"
fail() {
    echo "FAILED: $*"
    exit 1
}
command -v systemd-analyze >/dev/null ||
    fail "systemd-analyze is missing: install the Debian package systemd (scripts/install-deps.sh)"

# An instance of the template, as `systemctl enable ecluse-gateway@fi` makes.
unit="$work/ecluse-gateway@fi.service"
grep -q '^ExecStart=/usr/local/bin/ecluse gateway ' "$unit_src" || fail "the unit does not run /usr/local/bin/ecluse gateway"
sed "s|/usr/local/bin/ecluse|$ecluse|g" "$unit_src" >"$unit"
mkdir -p "$work/man/man1"
cp docs/ecluse.1 docs/ecluse-*.1 "$work/man/man1/"

if ! MANPATH="$work/man" systemd-analyze verify "$unit" >"$work/verify.txt" 2>&1; then
    cat "$work/verify.txt"
    fail "systemd-analyze verify refuses the unit"
fi
if [[ -s "$work/verify.txt" ]]; then
    cat "$work/verify.txt"
    fail "systemd-analyze verify warns about the unit"
fi
echo "ok: systemd-analyze verify passes"

systemd-analyze security --offline=yes --no-pager "$unit" >"$work/security.txt" 2>&1 || true
score="$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$work/security.txt")"
[[ -n "$score" ]] || {
    cat "$work/security.txt"
    fail "systemd-analyze security gave no overall exposure level"
}
if ! awk -v s="$score" 'BEGIN {exit !(s <= 3.0)}'; then
    grep '✗' "$work/security.txt" || true
    fail "systemd-analyze security scores the unit $score, more than 3.0"
fi
echo "ok: systemd-analyze security scores the unit $score (at most 3.0)"

grep -qx 'Type=notify' "$unit" || fail "the unit is not Type=notify"
grep -qx 'NotifyAccess=main' "$unit" || fail "the unit does not take notifications from the gateway alone"
echo "ok: Type=notify, NotifyAccess=main"
