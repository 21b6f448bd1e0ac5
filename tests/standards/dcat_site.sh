# Sourced by the DCAT-AP tests: a real site "lu" publishing the demo
# datasets (examples/data, examples/policies), its catalog exported to
# $work/lu-dcat.jsonld. Needs $work and $ecluse; sets $pids for stop_all.
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
pids=()
stop_all() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop_all EXIT

port="$(free_port)"
"$ecluse" site init --site lu --country LU --dir "$work/lu" --listen "127.0.0.1:$port" >/dev/null
"$ecluse" pki issue --dir "$work/lu" --role admin --name adm >/dev/null
"$ecluse" gateway --config "$work/lu/ecluse.json" 2>"$work/lu-gateway.log" &
pids+=($!)
for _ in $(seq 1 $((200 * time_scale))); do
    grep -q "event=gateway.ready" "$work/lu-gateway.log" && break
    sleep 0.05
done
grep -q "event=gateway.ready" "$work/lu-gateway.log" || { cat "$work/lu-gateway.log"; exit 1; }
admin="$work/lu/identities/admin-adm"
publish() { # name csv policy title description
    "$ecluse" dataset add "$1" --from "$2" --skip-lines 1 --label-column -1 --title "$4" \
        --description "$5" --licence CC-BY-4.0 --keywords "demo,health" \
        --contact "data@lu.example" --policy "$3" --identity "$admin" >/dev/null
}
publish breast-cancer examples/data/breast_cancer.csv examples/policies/breast_cancer.json \
    "Wisconsin Diagnostic Breast Cancer" "Features of fine-needle aspirates and the diagnosis"
"$ecluse" dataset add diabetes --from examples/data/diabetes_data_raw.csv.gz \
    --delimiter whitespace --labels-file examples/data/diabetes_target.csv.gz \
    --title "Diabetes progression (Efron et al. 2004)" --description "Ten baseline \
measurements of 442 patients and disease progression after one year" --licence BSD-3-Clause \
    --keywords "health,diabetes" --contact "https://lu.example/contact" \
    --policy examples/policies/diabetes.json --identity "$admin" >/dev/null
"$ecluse" catalog export --format dcat-ap -o "$work/lu-dcat.jsonld" --identity "$admin"
