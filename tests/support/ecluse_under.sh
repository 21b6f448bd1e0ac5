# Sourced by the shell tests (and, through them, the Python tests) that start
# `ecluse` themselves; the shell twin of what tests/support/harness.c does for
# the C tests.
#
#   source tests/support/ecluse_under.sh
#   ecluse="$(ecluse_under "$(pwd)/cli/ecluse" "$work")"   # use "$ecluse" from here on
#   ...
#   ecluse_under_check "$work"                             # at the end: fails the test
#                                                          # if any ecluse run failed under it
#   ecluse_under_report "$work"/*.log                      # valgrind's lines in gateway logs
#
# ECLUSE_UNDER (set by tests/support/memcheck.sh in the valgrind stage of
# scripts/test.sh) is a command prefix every ecluse process runs under. When
# it is unset, ecluse_under prints the binary's own path and nothing changes.
# When it is set, it writes an `ecluse` wrapper into WORK_DIR/under/ (with
# ECLUSE_UNDER as it is then, so a child given a clean environment still
# runs ecluse under it) and prints its path:
#   - `ecluse gateway ...` execs the prefix in place: the gateway keeps the
#     wrapper's pid, so `kill -TERM $!` and `wait $!` reach it; the test must
#     check the status `wait` gives (99: valgrind found an error or a leak);
#   - any other command runs under the prefix; if it exits 99 the wrapper
#     records it, so that a command the test expects to fail (`if ! ecluse
#     ...`) still fails the test at ecluse_under_check.
# ECLUSE_TIME_SCALE (30 under valgrind, else 1) is in $time_scale, an integer,
# for the tests' waits.

time_scale="${ECLUSE_TIME_SCALE:-1}"
time_scale="${time_scale%%.*}"
[[ "$time_scale" =~ ^[0-9]+$ && "$time_scale" -ge 1 ]] || time_scale=1

ecluse_under() { # REAL_ECLUSE WORK_DIR -> prints the ecluse command to use
    local real="$1" dir="$2/under"
    if [[ -z "${ECLUSE_UNDER:-}" ]]; then
        echo "$real"
        return
    fi
    mkdir -p "$dir"
    local q_real q_under q_failed
    printf -v q_real '%q' "$real"
    printf -v q_under '%q' "$ECLUSE_UNDER"
    printf -v q_failed '%q' "$dir/failed"
    cat >"$dir/ecluse" <<EOF
#!/bin/bash
# ecluse under ECLUSE_UNDER (written by tests/support/ecluse_under.sh)
under=$q_under
if [[ "\${1:-}" == gateway ]]; then
    exec \$under $q_real "\$@"
fi
\$under $q_real "\$@"
rc=\$?
if [[ \$rc -eq 99 ]]; then
    echo "ecluse \$*: reported errors under ECLUSE_UNDER=\$under (its stderr has them)" | tee -a $q_failed >&2
fi
exit \$rc
EOF
    chmod +x "$dir/ecluse"
    echo "$dir/ecluse"
}

ecluse_under_check() { # WORK_DIR: status 1 if an ecluse run failed under ECLUSE_UNDER
    local failed="$1/under/failed"
    if [[ -s "$failed" ]]; then
        echo "FAILED: ecluse runs reported errors under ECLUSE_UNDER:" >&2
        cat "$failed" >&2
        return 1
    fi
    return 0
}

ecluse_under_report() { # LOG...: prints valgrind's lines ("==pid== ...") from gateway logs
    [[ -n "${ECLUSE_UNDER:-}" ]] || return 0
    local log
    for log in "$@"; do
        [[ -f "$log" ]] && grep -H '^==[0-9]*==' "$log" >&2 || true
    done
}
