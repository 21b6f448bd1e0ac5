#!/bin/bash
# A researcher of LU fetches lu/breast-cancer with `ecluse fetch` (a real
# gateway, a real grant), then the Python module's load_fetched reads the
# file only while no open erasure notice names rows it holds.
set -euo pipefail
export ECLUSE_PY_STUBS="$(pwd)/proto"
pymod="$(pwd)/client/python"
csv="$(pwd)/examples/data/breast_cancer.csv"
policy="$(pwd)/examples/policies/breast_cancer.json"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/pyfetched-XXXXXX")"
source tests/support/ecluse_under.sh # ECLUSE_UNDER: ecluse under valgrind in that stage
ecluse="$(ecluse_under "$(pwd)/cli/ecluse" "$work")"
export XDG_STATE_HOME="$work/state"
port="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$ecluse" site init --site lu --country LU --dir "$work/lu" --listen "127.0.0.1:$port" >/dev/null
"$ecluse" pki issue --dir "$work/lu" --role admin --name adm >/dev/null
"$ecluse" pki issue --dir "$work/lu" --role researcher --name ana \
    --affiliation "University of Luxembourg" --org-type academic >/dev/null
"$ecluse" gateway --config "$work/lu/ecluse.json" 2>"$work/lu.log" &
gateway=$!
stop_gateway() { kill -TERM "$gateway" 2>/dev/null || true; wait "$gateway" 2>/dev/null || true; }
trap stop_gateway EXIT
for _ in $(seq 1 $((200 * time_scale))); do grep -qs "event=gateway.ready" "$work/lu.log" && break; sleep 0.05; done
grep -q "event=gateway.ready" "$work/lu.log" || { cat "$work/lu.log"; exit 1; }
"$ecluse" dataset add breast-cancer --from "$csv" --format csv --skip-lines 1 --label-column -1 \
    --title "Breast cancer" --policy "$policy" --identity "$work/lu/identities/admin-adm" >/dev/null
res="$work/lu/identities/researcher-ana"
"$ecluse" access request lu/breast-cancer --purpose HMB --basis art6-1-e+art9-2-j \
    --job-country LU --ethics ETH-2026-1 --save-grant "$work/bc.grant" --identity "$res" >/dev/null
"$ecluse" fetch --grant "$work/bc.grant" -o "$work/bc.safetensors" --no-progress --no-receipt \
    --identity "$res" | tee "$work/fetch.out"
read_id="$(sed -n 's/.*; read \([0-9a-f]*\),.*/\1/p' "$work/fetch.out")"

ECLUSE="$ecluse" ECLUSE_FETCHED="$work/bc.safetensors" ECLUSE_READ_ID="$read_id" \
    ECLUSE_CSV="$csv" PYTHONPATH="$pymod" /usr/bin/python3 "$(pwd)/tests/python/fetched_test.py"

trap - EXIT
kill -TERM "$gateway"
if ! wait "$gateway"; then
    echo "the gateway did not exit cleanly; its log:" >&2
    cat "$work/lu.log" >&2
    exit 1
fi
ecluse_under_check "$work"
