#!/bin/bash
# The man pages agree with --help, and render cleanly.
#
# For every command `ecluse --help` lists, its group's page (docs:man, the
# pages the build generates) holds every line `ecluse CMD --help` prints, in
# order, as groff renders it; ecluse(1) names every command and points to
# every group's page; each page renders with `groff -man -Tutf8 -ww` and
# `man -l` without a warning; an unknown group is a usage error.
set -euo pipefail

pages="$(pwd)/docs"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/manual-XXXXXX")"
fail() {
    echo "FAILED: $*"
    exit 1
}
source tests/support/ecluse_under.sh # ECLUSE_UNDER: ecluse under valgrind in that stage
ecluse="$(ecluse_under "$(pwd)/cli/ecluse" "$work")"
checks=0

# The commands, as ecluse(1) lists them ("\fBecluse WORDS\fR: summary"); the
# test checks below that the overview lists the same.
"$ecluse" help --man >"$work/ecluse.1"
sed -n 's/^\\fBecluse \(.*\)\\fR: .*/\1/p' "$work/ecluse.1" | sed 's/\\-/-/g' >"$work/commands.txt"
(($(wc -l <"$work/commands.txt") >= 20)) || fail "ecluse(1) lists too few commands"
"$ecluse" --help >"$work/overview.txt"
while read -r cmd; do
    grep -qE "^  $cmd( |\$)" "$work/overview.txt" || fail "ecluse(1) lists 'ecluse $cmd', the overview does not"
done <"$work/commands.txt"
overview_count="$(awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/' "$work/overview.txt" | wc -l)"
[[ "$overview_count" == "$(wc -l <"$work/commands.txt")" ]] ||
    fail "the overview lists $overview_count commands, ecluse(1) $(wc -l <"$work/commands.txt")"
cmp -s "$work/ecluse.1" "$pages/ecluse.1" || fail "docs:man's ecluse.1 is not what 'ecluse help --man' prints"

# Under valgrind (time_scale > 1) each ecluse run takes seconds: there the
# page-against-help check runs for the first command of each group only.
if ((time_scale > 1)); then
    awk '!seen[$1]++' "$work/commands.txt" >"$work/checked.txt"
    echo "time scale $time_scale: checking $(wc -l <"$work/checked.txt") of $(wc -l <"$work/commands.txt") commands, one per group"
else
    cp "$work/commands.txt" "$work/checked.txt"
fi

render() { # PAGE -> plain text, as a reader sees it
    groff -man -Tascii -P-cbou "$1" 2>/dev/null
}

# Each page renders without a warning, with groff and with man.
for page in "$pages"/ecluse.1 "$pages"/ecluse-*.1; do
    checks=$((checks + 1))
    groff -man -Tutf8 -ww -z "$page" 2>"$work/warnings.txt" || fail "groff failed on $page"
    [[ ! -s "$work/warnings.txt" ]] || fail "groff warns on $(basename "$page"): $(cat "$work/warnings.txt")"
    MANPAGER=cat MANWIDTH=80 man -l "$page" >"$work/man.txt" 2>"$work/warnings.txt" ||
        fail "man -l failed on $page"
    [[ ! -s "$work/warnings.txt" ]] || fail "man -l warns on $(basename "$page"): $(cat "$work/warnings.txt")"
    [[ -s "$work/man.txt" ]] || fail "man -l rendered nothing of $page"
done
echo "ok: $checks pages render without warnings"

render "$pages/ecluse.1" | tr -s ' \n' '  ' >"$work/ecluse.txt" # one line: wrapping aside
while read -r cmd; do
    group="${cmd%% *}"
    page="$pages/ecluse-$group.1"
    checks=$((checks + 1))
    [[ -f "$page" ]] || fail "no page ecluse-$group.1 for 'ecluse $cmd' (add $group to MAN_GROUPS in docs/BUILD)"
    # The build's page is the one the binary prints (once per group).
    if [[ ! -e "$work/printed-$group" ]]; then
        "$ecluse" help --man "$group" >"$work/printed-$group"
        cmp -s "$work/printed-$group" "$page" || fail "docs:man's ecluse-$group.1 is not what 'ecluse help --man $group' prints"
    fi
    grep -qF "ecluse $cmd" "$work/ecluse.txt" || fail "ecluse(1) does not name 'ecluse $cmd'"
    grep -qF "ecluse-$group(1)" "$work/ecluse.txt" || fail "ecluse(1) does not point to ecluse-$group(1)"
    # shellcheck disable=SC2086
    "$ecluse" $cmd --help >"$work/help.txt"
    render "$page" >"$work/page.txt"
    /usr/bin/python3 - "$work/help.txt" "$work/page.txt" "$cmd" <<'PY' || fail "ecluse-$group(1) and 'ecluse $cmd --help' disagree"
import sys
help_lines = [l.strip() for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
page_lines = [l.strip() for l in open(sys.argv[2], encoding="utf-8")]
# The help's lines, in order, each a whole line of the rendered page.
at = 0
for want in help_lines:
    try:
        at = page_lines.index(want, at) + 1
    except ValueError:
        sys.exit(f"ecluse {sys.argv[3]}: the page lacks (in order) the help line: {want!r}")
PY
done <"$work/checked.txt"
echo "ok: every checked command's --help is in its group's page, line for line"

checks=$((checks + 1))
rc=0
"$ecluse" help --man no-such-group >/dev/null 2>"$work/err.txt" || rc=$?
[[ "$rc" == 2 ]] || fail "help --man no-such-group exited $rc, not 2"
grep -qF "no command group 'no-such-group'" "$work/err.txt" || fail "the error does not name the group: $(cat "$work/err.txt")"
echo "ok: an unknown group is a usage error naming it"
echo "$checks checks passed"
ecluse_under_check "$work" || fail "an ecluse run reported errors under ECLUSE_UNDER"
