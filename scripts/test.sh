#!/bin/bash
# The whole ecluse test suite, as a newcomer or CI runs it:
#   installs what is missing, builds with -Wall -Wextra -Werror, runs every
#   test (real gateways on loopback), runs them all again under
#   AddressSanitizer + UndefinedBehaviorSanitizer, runs the unit suites and
#   the gateway end-to-end tests under valgrind memcheck (the gateways they
#   start included), and runs every fuzz target briefly. Ends with the line
#   "N passed, N failed", counted from what the test runners reported.
#
#   ECLUSE_FUZZ_SECONDS   seconds per fuzz target (default 5; a longer run:
#                         bash fuzz/run.sh 600)
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

# Memory checking: the binaries of the plain build, under valgrind; the
# gateways the tests start are traced too. Time bounds in tests scale.
valgrind_targets=(
    //tests/policy:all //tests/store:csv_test //tests/store:npy_test //tests/store:plan_test
    //tests/store:rowset_test //tests/store:safetensors_test //tests/audit:append_query_test
    //tests/audit:tamper_test //tests/audit:checkpoint_test //tests/audit:export_test
    //tests/federation:catalog_test //tests/gateway:identity_test //tests/gateway:pki_test
    //tests/data:verify_test //tests/gateway:gateway_test //tests/federation:federation_e2e_test
    //tests/access:access_e2e_test //tests/data:read_test //tests/faults:bad_peer_test
    //tests/faults:stall_test //tests/gateway:cli_test //tests/gateway:config_errors_test
    //tests/audit:failclosed_test //tests/fuzz:replay_test
)
out="$(mktemp)"
echo "== bazel test under valgrind memcheck"
bazel test --run_under="valgrind --quiet --trace-children=yes --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99" \
    --test_env=ECLUSE_TIME_SCALE=30 --test_timeout=1200 --test_output=errors \
    "${valgrind_targets[@]}" 2>&1 | tee "$out" | grep -vE '^(Loading|Analyzing|INFO: From|\[[0-9,]+ / [0-9,]+\])' || true
/usr/bin/python3 scripts/summarize_tests.py "$out" valgrind
rm -f "$out"

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
