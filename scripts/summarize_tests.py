#!/usr/bin/python3
"""Counts what really ran in a `bazel test` run, from the tests' own logs.

For each test target Bazel reported, reads bazel-testlogs/<target>/test.log
and takes the counts from the runner's own closing lines: cmocka
("[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)") Python unittest
("Ran N tests" then "OK" or "FAILED (failures=.., errors=..)") and the plain
"N passed, N failed" line of shell tests. A target
that failed without such a line (a crash, a timeout, a build failure)
counts as one failed test. Prints one line per target and the totals.
The logs are read from $ECLUSE_TESTLOGS (`bazel info bazel-testlogs`), or
the workspace's bazel-testlogs symlink.

usage: summarize_tests.py BAZEL_OUTPUT_FILE LABEL
"""
import os
import re
import sys

STATUS = re.compile(r"^(//\S+)\s+(?:\(cached\) )?(PASSED|FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD|FLAKY)")


def counts_from_log(text):
    passed = failed = 0
    found = False
    for m in re.finditer(r"^\[  PASSED  \] (\d+) test\(s\)\.", text, re.M):
        passed += int(m.group(1)); found = True
    for m in re.finditer(r"^\[  FAILED  \] (\d+) test\(s\)", text, re.M):
        failed += int(m.group(1)); found = True
    for m in re.finditer(r"^(\d+) passed, (\d+) failed$", text, re.M):
        passed += int(m.group(1)); failed += int(m.group(2)); found = True
    for m in re.finditer(r"^Ran (\d+) tests? in [\d.]+s\n\n(OK|FAILED \(([^)]*)\))", text, re.M):
        ran = int(m.group(1)); found = True
        if m.group(2).startswith("OK"):
            passed += ran
        else:
            bad = sum(int(n) for n in re.findall(r"(?:failures|errors)=(\d+)", m.group(3)))
            passed += ran - bad
            failed += bad
    return found, passed, failed


def main():
    output, label = sys.argv[1], sys.argv[2]
    total_passed = total_failed = 0
    with open(output, errors="replace") as f:
        lines = f.read().splitlines()
    targets = [(m.group(1), m.group(2)) for m in map(STATUS.match, lines) if m]
    # Where the run's logs are: `bazel info bazel-testlogs` (scripts/test.sh
    # passes it; right whatever --output_base was used), else the symlink.
    testlogs = os.environ.get("ECLUSE_TESTLOGS") or "bazel-testlogs"
    if not targets:
        print(f"[{label}] no test target ran")
        total_failed += 1
    for target, status in targets:
        log = os.path.join(testlogs, target[2:].replace(":", "/"), "test.log")
        text = open(log, errors="replace").read() if os.path.exists(log) else ""
        found, passed, failed = counts_from_log(text)
        if status != "PASSED" and failed == 0:
            failed = 1  # crashed, timed out or did not build: no runner line to trust
        if not found and status == "PASSED":
            passed = 1
        total_passed += passed
        total_failed += failed
        print(f"[{label}] {target}: {passed} passed, {failed} failed ({status})")
    print(f"[{label}] {total_passed} passed, {total_failed} failed")
    with open(os.environ.get("ECLUSE_TEST_TOTALS", "/dev/null"), "a") as f:
        f.write(f"{total_passed} {total_failed}\n")


if __name__ == "__main__":
    main()
