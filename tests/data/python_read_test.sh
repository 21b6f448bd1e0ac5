#!/bin/bash
# Python reads a dataset of site LU through its home gateway FI: two real
# gateways, peered; the FI researcher asks for access (a real grant signed by
# LU), then the Python module streams it: bytes equal numpy.loadtxt of the
# CSV, a corrupted chunk is caught, and the example trains and prints accuracy.
set -euo pipefail
export ECLUSE_PY_STUBS="$(pwd)/proto"
pymod="$(pwd)/client/python"
csv="$(pwd)/examples/data/breast_cancer.csv"
policy="$(pwd)/examples/policies/breast_cancer.json"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/pyread-XXXXXX")"
source tests/support/ecluse_under.sh # ECLUSE_UNDER: ecluse under valgrind in that stage
ecluse="$(ecluse_under "$(pwd)/cli/ecluse" "$work")"
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
stop_all() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap stop_all EXIT
for s in fi lu; do
    C=$(echo $s | tr a-z A-Z)
    "$ecluse" site init --site $s --country $C --dir "$work/$s" --listen "127.0.0.1:$(port)" >/dev/null
    "$ecluse" pki issue --dir "$work/$s" --role admin --name adm >/dev/null
    "$ecluse" gateway --config "$work/$s/ecluse.json" 2>"$work/$s.log" &
    pids+=($!)
done
"$ecluse" pki issue --dir "$work/fi" --role researcher --name ana --affiliation "University of Helsinki" --org-type academic >/dev/null
for s in fi lu; do
    for _ in $(seq 1 $((200 * time_scale))); do grep -q "event=gateway.ready" "$work/$s.log" && break; sleep 0.05; done
    "$ecluse" peer export --identity "$work/$s/identities/admin-adm" > "$work/$s.peer" \
        2> "$work/$s.export.txt"
done
# Each adds the other's bundle with the fingerprint its export printed.
fp() { awk '/^Fingerprint:/ {print $2}' "$work/$1.export.txt"; }
"$ecluse" peer add "$work/lu.peer" --expect-fingerprint "$(fp lu)" \
    --identity "$work/fi/identities/admin-adm" >/dev/null
"$ecluse" peer add "$work/fi.peer" --expect-fingerprint "$(fp fi)" \
    --identity "$work/lu/identities/admin-adm" >/dev/null
"$ecluse" dataset add breast-cancer --from "$csv" --format csv --skip-lines 1 --label-column -1 \
    --title "Breast cancer" --description "Fine-needle aspirates, with the diagnosis" --policy "$policy" --identity "$work/lu/identities/admin-adm" >/dev/null
res="$work/fi/identities/researcher-ana"
"$ecluse" catalog refresh --identity "$res" >/dev/null
"$ecluse" access request lu/breast-cancer --purpose HMB --basis art6-1-e+art9-2-j \
    --job-country FI --ethics ETH-2026-1 --save-grant "$work/bc.grant" --identity "$res"

source tests/python/sanitized_python.sh # py_env: the sanitizer build's LD_PRELOAD
ECLUSE_RESEARCHER="$res" ECLUSE_GRANT="$work/bc.grant" ECLUSE_CSV="$csv" PYTHONPATH="$pymod" \
    ECLUSE_RECEIPT_OUT="$work/py.receipt.json" "${py_env[@]}" /usr/bin/python3 "$(pwd)/tests/data/python_read_test.py"
# The receipt the Python module kept verifies offline, under LU's key and FI's cosignature.
"$ecluse" audit receipt verify "$work/py.receipt.json" --site-key "$work/lu/keys/site.key.pub" \
    --witness-key "fi=$work/fi/keys/site.key.pub" | grep "receipt verified: read .* of lu/breast-cancer by spiffe://fi/researcher/ana"
PYTHONPATH="$pymod" "${py_env[@]}" /usr/bin/python3 "$pymod/examples/train_breast_cancer.py" \
    --identity "$res" --grant "$work/bc.grant" --epochs 100 | tee "$work/train.out"
/usr/bin/python3 - "$work/train.out" <<'PY'
import re, sys
acc = float(re.search(r"held-out accuracy: ([0-9.]+)", open(sys.argv[1]).read()).group(1))
assert acc >= 0.85, acc
print("1 passed, 0 failed (accuracy %.3f >= 0.85)" % acc)
PY

# Both gateways must stop cleanly (under the sanitizer build or valgrind, a
# leak or an error makes the status non-zero), and no ecluse run may have
# failed under valgrind.
trap - EXIT
status=0
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do wait "$p" || status=1; done
if [ "$status" -ne 0 ]; then
    echo "a gateway did not exit cleanly; logs:" >&2
    cat "$work"/fi.log "$work"/lu.log >&2
    exit 1
fi
ecluse_under_check "$work"
