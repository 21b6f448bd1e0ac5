#!/bin/bash
# docs/quickstart.md, run exactly: its ```sh blocks, in order, in one bash,
# with two substitutions only (the quickstart's directory becomes a fresh
# temporary one, its two ports free loopback ports). The researcher's fetch
# must have produced the data, the auditor's verify must pass, and both
# gateways must have stopped cleanly.
set -euo pipefail

doc=docs/quickstart.md
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/quickstart-XXXXXX")"
source tests/support/ecluse_under.sh # ECLUSE_UNDER: ecluse under valgrind in that stage
mkdir -p "$work/bin"
ln -s "$(ecluse_under "$(pwd)/cli/ecluse" "$work")" "$work/bin/ecluse"
export PATH="$work/bin:$PATH"

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
fi_port="$(free_port)"
lu_port="$(free_port)"
while [[ "$lu_port" == "$fi_port" ]]; do lu_port="$(free_port)"; done

# The blocks, then the substitutions, each of which must apply to exactly
# one line: a quickstart that moved its directory or ports fails here, not
# by writing into $HOME.
awk '/^```sh$/ {inside = 1; next} /^```$/ {inside = 0} inside' "$doc" >"$work/blocks.sh"
q_line='Q=$HOME/ecluse-quickstart '
port_line='FI_PORT=7443 LU_PORT=7444 '
for line in "$q_line" "$port_line"; do
    count="$(grep -cF -- "$line" "$work/blocks.sh" || true)"
    if [[ "$count" != 1 ]]; then
        echo "FAILED: $doc should set '$line' once, found $count"
        exit 1
    fi
done
sed -e "s|^Q=\$HOME/ecluse-quickstart |Q=$work/q |" \
    -e "s|^FI_PORT=7443 LU_PORT=7444 |FI_PORT=$fi_port LU_PORT=$lu_port |" \
    "$work/blocks.sh" >"$work/quickstart.sh"
changed="$( (diff "$work/blocks.sh" "$work/quickstart.sh" || true) | grep -c '^>' || true)"
if [[ "$changed" != 2 ]]; then
    echo "FAILED: the substitutions changed $changed lines, not the two expected"
    exit 1
fi

# Whatever happens, no gateway of this test is left running.
stop_gateways() {
    local f
    for f in "$work"/q/fi/gateway.pid "$work"/q/lu/gateway.pid; do
        [[ -s "$f" ]] && kill -TERM "$(cat "$f")" 2>/dev/null || true
    done
}
trap stop_gateways EXIT

out="$work/quickstart.out"
if ! bash -euo pipefail "$work/quickstart.sh" >"$out" 2>&1; then
    cat "$out"
    for site in fi lu; do
        echo "--- $site's gateway log:"
        cat "$work/q/$site/gateway.log" 2>/dev/null || true
    done
    echo "FAILED: the quickstart's commands did not all succeed"
    exit 1
fi

failures=0
checks=0
expect() { # TEXT FILE
    checks=$((checks + 1))
    if grep -qF -- "$1" "$2"; then
        echo "ok: $1"
    else
        echo "MISSING in $2: $1"
        failures=$((failures + 1))
    fi
}
expect "PERMIT for lu/breast-cancer, decided by site lu" "$out"
expect "fetched lu/breast-cancer: 2 tensor(s)" "$out"
expect "audit trail verified" "$out"

# The fetch produced the data: a safetensors file with both tensors, 400
# rows of 30 float32 features at least (the policy's default row limit).
checks=$((checks + 1))
data="$work/q/bc.safetensors"
size="$(stat -c %s "$data" 2>/dev/null || echo 0)"
if ((size >= 400 * 30 * 4)) && grep -qa '"features"' "$data" && grep -qa '"labels"' "$data"; then
    echo "ok: $data holds features and labels ($size bytes)"
else
    echo "MISSING: $data with the fetched tensors (size $size)"
    failures=$((failures + 1))
fi

# Both gateways are gone (the quickstart's last block stopped them) and
# each logged a clean stop.
for site in fi lu; do
    checks=$((checks + 1))
    pid="$(cat "$work/q/$site/gateway.pid")"
    for _ in $(seq 1 $((100 * time_scale))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "the $site gateway ($pid) is still running"
        failures=$((failures + 1))
    else
        expect "event=gateway.stopped site=$site" "$work/q/$site/gateway.log"
    fi
    # The gateways are not this script's children: their exit status is
    # not ours to read, but a sanitizer's report lands in their log.
    checks=$((checks + 1))
    if grep -q 'Sanitizer' "$work/q/$site/gateway.log"; then
        echo "the $site gateway's log has a sanitizer report"
        failures=$((failures + 1))
    fi
done

# Under ECLUSE_UNDER (valgrind): no ecluse run, gateway or command, reported
# an error.
if [[ -n "${ECLUSE_UNDER:-}" ]]; then
    checks=$((checks + 1))
    if ! ecluse_under_check "$work" || grep -q '^==[0-9]*==' "$work"/q/*/gateway.log; then
        ecluse_under_report "$work"/q/*/gateway.log
        failures=$((failures + 1))
    fi
fi
echo "$((checks - failures)) passed, $failures failed"
if ((failures > 0)); then
    cat "$out"
    exit 1
fi
