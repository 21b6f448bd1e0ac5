#!/bin/bash
# The README's main job, in CI: scripts/federation_demo.sh (what
# scripts/demo.sh runs after installing and building) against the binary Bazel
# built. It must walk all three journeys, print what a newcomer should see,
# and leave no gateway behind.
set -euo pipefail

work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/demo-XXXXXX")"
out="$work/demo.out"
export ECLUSE_PY_STUBS="$(pwd)/proto"
source tests/support/ecluse_under.sh # ECLUSE_UNDER: ecluse under valgrind in that stage
source tests/python/sanitized_python.sh # py_env: the sanitizer build's preload for python3
export ECLUSE_PY_ENV="${py_env[*]}"
ecluse="$(ecluse_under "$(pwd)/cli/ecluse" "$work")"
if ! bash scripts/federation_demo.sh "$ecluse" "$work/sites" >"$out" 2>&1; then
    cat "$out"
    ecluse_under_report "$work"/sites/*-gateway.log
    echo "FAILED: the demo did not finish"
    exit 1
fi

failures=0
checks=0
expect() {
    checks=$((checks + 1))
    if grep -qF -- "$1" "$out"; then
        echo "ok: $1"
    else
        echo "MISSING: $1"
        failures=$((failures + 1))
    fi
}
expect "de's admin added the other two sites after checking their bundle fingerprints"
expect "lu/breast-cancer             lu  LU"
expect "PERMIT for lu/breast-cancer, decided by site lu"
expect "DENY purpose.NPU"
expect "DENY transfer"
expect "fetched lu/breast-cancer: 2 tensor(s)"
expect "held-out accuracy:"
expect "audit trail verified:"
expect "witness fi       holds"
expect "witness de       holds"
expect "recipient:      spiffe://de/researcher/carla (site de)"
expect "lu: event=gateway.stopped site=lu"

# Nothing left running from this demo's directory.
checks=$((checks + 1))
if pgrep -f "$work/sites" >/dev/null; then
    echo "a gateway of the demo is still running"
    failures=$((failures + 1))
fi
# Under ECLUSE_UNDER (the valgrind stage): no ecluse run of the demo failed
# under valgrind, even one the demo expects to be refused.
if [[ -n "${ECLUSE_UNDER:-}" ]]; then
    checks=$((checks + 1))
    if ! ecluse_under_check "$work"; then
        failures=$((failures + 1))
    fi
fi
echo "$((checks - failures)) passed, $failures failed"
if ((failures > 0)); then
    cat "$out"
    exit 1
fi
