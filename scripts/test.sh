#!/bin/bash
# The whole ecluse test suite, as a newcomer or CI runs it:
#   installs what is missing, builds with -Wall -Wextra -Werror, runs every
#   test (real gateways on loopback), then runs them all again under
#   AddressSanitizer + UndefinedBehaviorSanitizer. Ends with the line
#   "N passed, N failed", counted from what the test runners reported.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || exit 1

totals="$(mktemp)"
export ECLUSE_TEST_TOTALS="$totals"
status=0

run_config() {
    local label="$1"; shift
    local out
    out="$(mktemp)"
    echo "== bazel test $* //... ($label)"
    bazel test "$@" --test_output=errors //... 2>&1 | tee "$out" | grep -vE '^(Loading|Analyzing|INFO: From|\[[0-9,]+ / [0-9,]+\])' || true
    # bazel's own exit status is not visible through the pipe; the summary
    # counts failures from the logs and bazel's per-target status lines.
    /usr/bin/python3 scripts/summarize_tests.py "$out" "$label"
    rm -f "$out"
}

run_config plain
run_config asan --config=asan

read -r passed failed < <(awk '{p += $1; f += $2} END {print p+0, f+0}' "$totals")
rm -f "$totals"
[[ "$failed" -eq 0 ]] || status=1
echo "${passed} passed, ${failed} failed"
exit "$status"
