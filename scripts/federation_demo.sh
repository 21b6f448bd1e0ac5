#!/bin/bash
# The three journeys of ecluse on one machine: three sites (FI, LU, DE), each
# with its own CA, keys, gateway process, data directory and audit trail, on
# loopback ports. Printed in plain words as it goes.
#
#   scripts/federation_demo.sh ECLUSE_BINARY WORK_DIR
#
# Needs: the ecluse binary, the repository's examples/ (real datasets and
# policies), /usr/bin/python3 with python3-grpcio (and python3-torch for the
# training step). scripts/demo.sh installs and builds all that first.
# Every gateway it starts is stopped when it ends, whatever happens.
set -euo pipefail

ecluse="$(realpath "$1")"
demo="$2"
repo="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$demo"
cd "$demo"

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
say() { printf '  %s\n' "$*"; }
indent() { sed 's/^/      /'; }

pids=()
stop_all() { # status 1 if a gateway did not exit with status 0
    local pid status=0
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || status=1; done
    pids=()
    return "$status"
}
trap 'stop_all || true' EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_gateway() {
    local site="$1"
    "$ecluse" gateway --config "$demo/$site/ecluse.json" 2>"$demo/$site-gateway.log" &
    pids+=($!)
    # ECLUSE_TIME_SCALE: how much slower the gateway runs (tests under valgrind)
    for _ in $(seq 1 $((200 * ${ECLUSE_TIME_SCALE:-1}))); do
        grep -q "event=gateway.ready" "$demo/$site-gateway.log" && return 0
        sleep 0.05
    done
    echo "the $site gateway did not start:" >&2
    cat "$demo/$site-gateway.log" >&2
    exit 1
}

id() { echo "$demo/$1/identities/$2"; }

# ---------------------------------------------------------------------------
bold "Journey 1 - site admins: three AI factories become one federation"

declare -A country=([fi]=FI [lu]=LU [de]=DE)
for site in fi lu de; do
    "$ecluse" site init --site "$site" --country "${country[$site]}" --dir "$demo/$site" \
        --listen "127.0.0.1:$(free_port)" >/dev/null
    "$ecluse" pki issue --dir "$demo/$site" --role admin --name "admin" >/dev/null
    "$ecluse" pki issue --dir "$demo/$site" --role auditor --name "auditor" >/dev/null
    start_gateway "$site"
    say "site $site (${country[$site]}): own CA, gateway spiffe://$site/gateway, Ed25519 signing key, audit trail - gateway up"
done
"$ecluse" pki issue --dir "$demo/de" --role researcher --name carla \
    --affiliation "Forschungszentrum Juelich" --org-type non-profit >/dev/null
"$ecluse" pki issue --dir "$demo/de" --role researcher --name pharma \
    --affiliation "Pharma GmbH" --org-type commercial >/dev/null
say "DE issued researcher identities: carla (Forschungszentrum Juelich, non-profit) and pharma (Pharma GmbH, commercial)"

for site in fi lu de; do
    "$ecluse" peer export --identity "$(id "$site" admin-admin)" >"$site.peer" 2>"$site.fingerprint"
done
for site in fi lu de; do
    for other in fi lu de; do
        [[ "$site" == "$other" ]] && continue
        fp="$(awk '/^Fingerprint:/ {print $2}' "$other.fingerprint")"
        "$ecluse" peer add "$other.peer" --expect-fingerprint "$fp" \
            --identity "$(id "$site" admin-admin)" >/dev/null
    done
    say "$site's admin added the other two sites after checking their bundle fingerprints"
done

"$ecluse" dataset add breast-cancer --from "$repo/examples/data/breast_cancer.csv" \
    --skip-lines 1 --label-column -1 \
    --title "Wisconsin diagnostic breast cancer" \
    --description "Features of fine-needle aspirates of breast masses, with the diagnosis" \
    --licence CC-BY-4.0 --provenance "UCI ML repository (Wolberg, Street, Mangasarian 1995)" \
    --collected-for "diagnosis of breast cancer" --contact data@lu.example \
    --keywords "health,oncology,breast cancer" \
    --policy "$repo/examples/policies/breast_cancer.json" --identity "$(id lu admin-admin)" >/dev/null
say "LU published lu/breast-cancer: special-category health data, research-only policy (HMB, ethics approval, not for profit)"
"$ecluse" dataset add diabetes --from "$repo/examples/data/diabetes_data_raw.csv.gz" \
    --delimiter whitespace --labels-file "$repo/examples/data/diabetes_target.csv.gz" \
    --title "Diabetes progression (Efron et al. 2004)" --licence BSD-3-Clause \
    --description "Ten baseline measurements of 442 patients, and disease progression after a year" \
    --keywords "health,diabetes" \
    --policy "$repo/examples/policies/diabetes.json" --identity "$(id lu admin-admin)" >/dev/null
say "LU published lu/diabetes: special-category health data under the same kind of policy"
"$ecluse" dataset add digits --from "$repo/examples/data/digits.csv.gz" --label-column -1 \
    --title "Handwritten digits (UCI)" --licence CC-BY-4.0 --keywords "images,digits" \
    --description "8x8 images of handwritten digits, grey levels 0-16, with the digit" \
    --policy "$repo/examples/policies/digits.json" --identity "$(id fi admin-admin)" >/dev/null
say "FI published fi/digits: anonymous data, open to any research"

# ---------------------------------------------------------------------------
bold "Journey 2 - a researcher at DE finds data at LU, asks for it, and trains on it"

carla="$(id de researcher-carla)"
"$ecluse" catalog refresh --identity "$carla" | indent
say "carla searches the federated catalog through DE's gateway:"
"$ecluse" catalog search "breast cancer" --identity "$carla" | indent

say "carla asks for health research (HMB) under Art. 6(1)(e) + Art. 9(2)(j), ethics ETH-2026-114, job in Germany:"
"$ecluse" access request lu/breast-cancer --purpose HMB --basis art6-1-e+art9-2-j \
    --job-country DE --ethics ETH-2026-114 --save-grant "$demo/carla.grant" \
    --identity "$carla" | indent

say "the same request from a commercial organisation:"
if "$ecluse" access request lu/breast-cancer --purpose HMB --basis art6-1-e+art9-2-j \
    --job-country DE --ethics ETH-2026-114 --identity "$(id de researcher-pharma)" >pharma.txt 2>&1; then
    echo "unexpected: the commercial request was permitted" >&2
    exit 1
fi
indent <pharma.txt | grep -E "DENY|to satisfy" || true

say "carla's request for a job in a country with no adequacy decision and no SCCs (US):"
if "$ecluse" access check lu/breast-cancer --purpose HMB --basis art6-1-e+art9-2-j \
    --job-country US --ethics ETH-2026-114 --identity "$carla" >us.txt 2>&1; then
    echo "unexpected: the US job was permitted" >&2
    exit 1
fi
indent <us.txt | grep -E "DENY|to satisfy" || true

say "carla streams the granted data through DE's gateway (LU -> DE, relayed chunk by chunk, verified):"
"$ecluse" fetch --grant "$demo/carla.grant" -o "$demo/breast-cancer.safetensors" \
    --no-progress --identity "$carla" | indent

if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    say "and trains a small classifier on it with PyTorch, streaming through the Python client:"
    # ECLUSE_PY_ENV: words put before python3; the test suite's sanitizer
    # build sets it to preload the runtime its client library needs.
    # shellcheck disable=SC2086 # split on purpose: "env VAR=value ..."
    ECLUSE_PY_STUBS="${ECLUSE_PY_STUBS:-$repo/bazel-bin/proto}" PYTHONPATH="$repo/client/python" \
        ${ECLUSE_PY_ENV:-} /usr/bin/python3 "$repo/client/python/examples/train_breast_cancer.py" \
        --identity "$carla" --grant "$demo/carla.grant" | indent
else
    say "(python3-torch is not installed here: the training step is skipped; scripts/demo.sh installs it)"
fi

# ---------------------------------------------------------------------------
bold "Journey 3 - an auditor at LU proves what happened to lu/breast-cancer"

auditor="$(id lu auditor-auditor)"
"$ecluse" audit checkpoint --identity "$(id lu admin-admin)" >/dev/null
say "who asked for or read lu/breast-cancer, for which purpose, on which legal basis:"
"$ecluse" audit query --dataset lu/breast-cancer --identity "$auditor" | cut -c1-150 | indent
say "verification of the hash chain, and of the checkpoints LU's peers witnessed:"
"$ecluse" audit verify --identity "$auditor" | indent
say "records of processing (GDPR Art. 30) for lu/breast-cancer:"
"$ecluse" audit processing --dataset lu/breast-cancer --identity "$auditor" | indent
"$ecluse" audit export --format csv -o "$demo/lu-audit.csv" --identity "$auditor" 2>&1 | indent
"$ecluse" audit processing --json --identity "$auditor" >"$demo/lu-processing.jsonl"
say "exported the trail to $demo/lu-audit.csv and the records of processing to $demo/lu-processing.jsonl"

# ---------------------------------------------------------------------------
bold "Stopping the gateways"
clean=1
stop_all || clean=0
for site in fi lu de; do
    say "$site: $(grep -o 'event=gateway.stopped.*' "$demo/$site-gateway.log")"
done
if [[ "$clean" -eq 0 ]]; then
    echo "a gateway did not exit cleanly (non-zero status); see $demo/*-gateway.log" >&2
    exit 1
fi

bold "Done. Everything is in $demo:"
for site in fi lu de; do
    say "$demo/$site: ecluse.json, ca/, gateway/, keys/, data/ (state, audit trail, datasets), identities/; log $demo/$site-gateway.log"
done
