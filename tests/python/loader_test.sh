#!/bin/bash
# EcluseDataset against a real gateway (loader_test.py): shuffled, sharded
# epochs over 2 ranks (gloo) x 2 DataLoader workers, every dtype bit-exact,
# bounded memory. One site, its researcher granted three datasets.
set -euo pipefail
pymod="$(pwd)/client/python"
csv="$(pwd)/examples/data/breast_cancer.csv"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/loader-XXXXXX")"
source tests/support/ecluse_under.sh # ECLUSE_UNDER: ecluse under valgrind in that stage
ecluse="$(ecluse_under "$(pwd)/cli/ecluse" "$work")"
port="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

"$ecluse" site init --site fi --country FI --dir "$work/fi" --listen "127.0.0.1:$port" >/dev/null
"$ecluse" pki issue --dir "$work/fi" --role admin --name adm >/dev/null
"$ecluse" pki issue --dir "$work/fi" --role researcher --name ana --affiliation "University of Helsinki" --org-type academic >/dev/null
"$ecluse" gateway --config "$work/fi/ecluse.json" 2>"$work/gateway.log" &
gateway=$!
stop_gateway() { kill -TERM "$gateway" 2>/dev/null || true; wait "$gateway" 2>/dev/null || true; }
trap stop_gateway EXIT
for _ in $(seq 1 $((200 * time_scale))); do
    grep -q "event=gateway.ready" "$work/gateway.log" && break
    sleep 0.05
done
grep -q "event=gateway.ready" "$work/gateway.log" || { cat "$work/gateway.log"; exit 1; }

/usr/bin/python3 tests/python/loader_data.py "$work" "$time_scale"
sed 's#"lu/breast-cancer"#"fi/bc"#' examples/policies/breast_cancer.json >"$work/bc.json"
res="$work/fi/identities/researcher-ana"
for d in rows dtypes big; do
    # dtypes holds random bits, NaNs included: bit-exact is what is tested.
    nonfinite=(); [[ "$d" == dtypes ]] && nonfinite=(--allow-nonfinite)
    "$ecluse" dataset add "$d" --from "$work/$d.safetensors" --title "loader test $d" --description "loader test data" \
        --policy "$work/$d.json" "${nonfinite[@]}" --identity "$work/fi/identities/admin-adm" >/dev/null
    "$ecluse" access request "fi/$d" --purpose HMB --basis art6-1-e+art9-2-j \
        --job-country FI --ethics ETH-2026-1 --save-grant "$work/$d.grant" --identity "$res" >/dev/null
done

source tests/python/sanitized_python.sh # py_env: the sanitizer build's LD_PRELOAD
ECLUSE_RESEARCHER="$res" ECLUSE_WORK="$work" PYTHONPATH="$pymod" \
    "${py_env[@]}" /usr/bin/python3 tests/python/loader_test.py

# The example trains with 2 DataLoader workers on the breast cancer data.
"$ecluse" dataset add bc --from "$csv" --format csv --skip-lines 1 --label-column -1 \
    --title "Breast cancer" --description "Wisconsin diagnostic breast cancer" --policy "$work/bc.json" --identity "$work/fi/identities/admin-adm" >/dev/null
"$ecluse" access request fi/bc --purpose HMB --basis art6-1-e+art9-2-j \
    --job-country FI --ethics ETH-2026-1 --save-grant "$work/bc.grant" --identity "$res" >/dev/null
"${py_env[@]}" /usr/bin/python3 "$pymod/examples/train_loader.py" --identity "$res" \
    --grant "$work/bc.grant" --epochs 5 --workers 2 | tee "$work/train.out"
grep -q "epoch 4: 400 rows, 8 batches" "$work/train.out"
/usr/bin/python3 - "$work/train.out" <<'PY'
import re, sys
loss = float(re.search(r"mean loss: ([0-9.]+)", open(sys.argv[1]).read()).group(1))
assert loss < 0.3, loss
PY

trap - EXIT
kill -TERM "$gateway"
if ! wait "$gateway"; then
    echo "the gateway did not exit cleanly; its log:" >&2
    cat "$work/gateway.log" >&2
    exit 1
fi
ecluse_under_check "$work"
