#!/bin/bash
# The valgrind stage of scripts/test.sh runs every test under this:
#
#   bazel test --run_under=//tests/support:memcheck --test_env=ECLUSE_TIME_SCALE=30 //...
#
# What is traced is ecluse's own code, never an interpreter:
#   - a C test binary (an ELF file) runs under valgrind memcheck itself;
#   - every `ecluse` process a test starts (gateways, CLI invocations) runs
#     under the same valgrind through ECLUSE_UNDER, the command prefix that
#     tests/support/harness.c (C tests) and tests/support/ecluse_under.sh
#     (shell and Python tests) put in front of the ecluse binary;
#   - a shell test script runs as it is, and so do the python3, bash, sed
#     the tests start (valgrind does not follow exec: no --trace-children).
#
# Any memcheck error, or any definitely lost block at exit, makes that process
# exit 99 (ecluse itself never does): a test binary then fails, and the
# harness and the shell helpers fail the test when an ecluse process does.
# Third-party false positives are suppressed in tests/support/valgrind.supp,
# each with the reason.
set -euo pipefail

supp=""
for candidate in "${BASH_SOURCE[0]}.runfiles/ecluse/tests/support/valgrind.supp" \
    "$(dirname "${BASH_SOURCE[0]}")/valgrind.supp" "tests/support/valgrind.supp"; do
    if [[ -f "$candidate" ]]; then
        supp="$(realpath "$candidate")"
        break
    fi
done
[[ -n "$supp" ]] || { echo "memcheck.sh: tests/support/valgrind.supp not found" >&2; exit 1; }

export ECLUSE_UNDER="valgrind --quiet --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=30 --suppressions=$supp"

if [[ "$(head -c 4 "$1" | tail -c 3)" == "ELF" ]]; then
    # shellcheck disable=SC2086 # ECLUSE_UNDER is a command prefix: split it
    exec $ECLUSE_UNDER "$@"
fi
exec "$@"
