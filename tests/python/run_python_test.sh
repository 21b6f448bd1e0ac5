#!/bin/bash
# Runs a Python test against a real gateway: makes a site and identities with
# the ecluse binary, starts the gateway, runs the test with Debian's python3
# (the one that sees python3-grpcio), and always stops the gateway.
set -euo pipefail

test_py="$1"
stubs="$(pwd)/proto"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/pytest-XXXXXX")"
source tests/support/ecluse_under.sh # ECLUSE_UNDER: ecluse under valgrind in that stage
ecluse="$(ecluse_under "$(pwd)/cli/ecluse" "$work")"
port="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

"$ecluse" site init --site fi --country FI --dir "$work/fi" --listen "127.0.0.1:$port" >/dev/null
"$ecluse" pki issue --dir "$work/fi" --role researcher --name alice >/dev/null
"$ecluse" pki issue --dir "$work/fi" --role auditor --name olli >/dev/null

"$ecluse" gateway --config "$work/fi/ecluse.json" 2>"$work/gateway.log" &
gateway=$!
stop_gateway() {
    kill -TERM "$gateway" 2>/dev/null || true
    wait "$gateway" 2>/dev/null || true
}
trap stop_gateway EXIT
for _ in $(seq 1 $((200 * time_scale))); do
    grep -q "event=gateway.ready" "$work/gateway.log" && break
    sleep 0.05
done
grep -q "event=gateway.ready" "$work/gateway.log" || { cat "$work/gateway.log"; exit 1; }

ECLUSE_PY_STUBS="$stubs" \
ECLUSE_RESEARCHER="$work/fi/identities/researcher-alice" \
ECLUSE_AUDITOR="$work/fi/identities/auditor-olli" \
ECLUSE_COUNTRY=FI \
    /usr/bin/python3 "$test_py"

# The gateway must stop cleanly too (under the sanitizer build or valgrind, a
# leak or an error makes this status non-zero).
trap - EXIT
kill -TERM "$gateway"
if ! wait "$gateway"; then
    echo "the gateway did not exit cleanly; its log:" >&2
    cat "$work/gateway.log" >&2
    exit 1
fi
ecluse_under_check "$work"
