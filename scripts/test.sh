#!/bin/bash
# The whole ecluse test suite, as a newcomer or CI runs it:
#   installs what is missing, checks the structure (includes go only down a
#   layer: scripts/check-layers.sh; no two files call each other:
#   scripts/check-calls.sh; no banned C functions: scripts/check-banned.sh;
#   each counted as one test), builds with -Wall
#   -Wextra -Werror, runs every test (real gateways on loopback), runs them
#   all again under AddressSanitizer + UndefinedBehaviorSanitizer, runs them
#   all a third time under valgrind memcheck, and runs every fuzz target
#   briefly. Ends with the line "N passed, N failed", counted from what the
#   checks and the test runners reported.
#
#   The valgrind stage (tests/support/memcheck.sh as --run_under) traces each
#   C test binary and every `ecluse` process any test starts - gateways and
#   CLI runs, from C, shell and Python tests alike, through ECLUSE_UNDER - but
#   not bash or python3 themselves. Any memcheck error or definite leak fails
#   the test. ECLUSE_TIME_SCALE=30 multiplies the tests' time bounds; the
#   load test runs fewer streams and decisions (each still verified) and says
#   so in its log.
#
#   ECLUSE_FUZZ_SECONDS   seconds per fuzz target (default 5; a longer run:
#                         bash fuzz/run.sh 600)
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || exit 1

totals="$(mktemp)"
export ECLUSE_TEST_TOTALS="$totals"
# Where bazel writes the test logs (the same for all three runs below), read
# by summarize_tests.py; right whatever output base bazel uses.
ECLUSE_TESTLOGS="$(bazel info bazel-testlogs 2>/dev/null)" || ECLUSE_TESTLOGS=""
export ECLUSE_TESTLOGS
status=0

# One check, counted in the totals as one test passed or failed.
run_check() {
    local label="$1"; shift
    echo "== $label"
    if "$@"; then
        echo "1 0" >>"$totals"
    else
        echo "$label: FAILED" && echo "0 1" >>"$totals"
    fi
}

# Structure first: a layering or mutual-call violation fails the run.
run_check "scripts/check-layers.sh" bash scripts/check-layers.sh
# No strcpy, strcat, sprintf, atoi (and their kin) in production code; the
# script first checks itself on planted calls.
run_check "scripts/check-banned.sh" bash -c 'bash scripts/check-banned.sh --self-test && bash scripts/check-banned.sh'
# check-calls.sh reads the object files of the last build.
echo "== bazel build //..."
if bazel build //...; then
    run_check "scripts/check-calls.sh" bash scripts/check-calls.sh
else
    echo "scripts/check-calls.sh: not run, the build failed" && echo "0 1" >>"$totals"
fi

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

# Memory checking: every test once more, the plain build's binaries under
# valgrind memcheck (see the top of this file and tests/support/memcheck.sh).
run_config valgrind --run_under=//tests/support:memcheck --test_env=ECLUSE_TIME_SCALE=30 \
    --test_timeout=1200

# Every decoder of outside input, fuzzed briefly.
echo "== fuzz/run.sh ${ECLUSE_FUZZ_SECONDS:-5}"
fuzz_out="$(mktemp)"
bash fuzz/run.sh "${ECLUSE_FUZZ_SECONDS:-5}" 2>&1 | tee "$fuzz_out"
if fuzz_line="$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed$' "$fuzz_out" | tail -1)"; then
    read -r _ fp _ ff _ <<<"${fuzz_line//,/}"
    echo "$fp $ff" >>"$totals"
else
    echo "fuzz: the fuzz run did not finish" && echo "0 1" >>"$totals"
fi
rm -f "$fuzz_out"

read -r passed failed < <(awk '{p += $1; f += $2} END {print p+0, f+0}' "$totals")
rm -f "$totals"
[[ "$failed" -eq 0 ]] || status=1
echo "${passed} passed, ${failed} failed"
exit "$status"
