#!/bin/bash
# Two real sites, FI and LU, peered both ways with the ecluse CLI; then an
# independent Python verifier (tests/interop/catalog_verifier_test.py) speaks
# to FI's gateway as LU's gateway would, and checks FI's signed catalog, its
# peering bundle and its key rotations by docs/catalog-signing.md alone.
# Always stops both gateways; fails if either does not exit cleanly.
set -euo pipefail

test_py="$1"
stubs="$(pwd)/proto"
# The document the worked example is read from: in the runfiles if a BUILD
# file exports it, else next to the test's source (runfiles are symlinks).
doc="$(pwd)/docs/catalog-signing.md"
[ -f "$doc" ] || doc="$(dirname "$(readlink -f "$test_py")")/../../docs/catalog-signing.md"
[ -f "$doc" ] || { echo "docs/catalog-signing.md not found" >&2; exit 1; }
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/interop-XXXXXX")"
source tests/support/ecluse_under.sh # ECLUSE_UNDER: ecluse under valgrind in that stage
ecluse="$(ecluse_under "$(pwd)/cli/ecluse" "$work")"
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pids=()
stop_all() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop_all EXIT

start_site() { # id country
    local id="$1" cc="$2" port
    port="$(free_port)"
    "$ecluse" site init --site "$id" --country "$cc" --dir "$work/$id" \
        --listen "127.0.0.1:$port" >/dev/null
    "$ecluse" pki issue --dir "$work/$id" --role admin --name adm >/dev/null
    "$ecluse" gateway --config "$work/$id/ecluse.json" 2>"$work/$id-gateway.log" &
    pids+=($!)
    for _ in $(seq 1 $((200 * time_scale))); do
        grep -q "event=gateway.ready" "$work/$id-gateway.log" && break
        sleep 0.05
    done
    grep -q "event=gateway.ready" "$work/$id-gateway.log" || { cat "$work/$id-gateway.log"; exit 1; }
}

start_site fi FI
start_site lu LU

# Each admin exports a bundle (stdout) and reads its fingerprint (stderr).
for id in fi lu; do
    "$ecluse" peer export --identity "$work/$id/identities/admin-adm" \
        >"$work/$id.peer" 2>"$work/$id.export.txt"
done
# Each adds the other's bundle with the fingerprint its export printed.
fp() { awk '/^Fingerprint:/ {print $2}' "$work/$1.export.txt"; }
"$ecluse" peer add "$work/lu.peer" --expect-fingerprint "$(fp lu)" \
    --identity "$work/fi/identities/admin-adm" >/dev/null
"$ecluse" peer add "$work/fi.peer" --expect-fingerprint "$(fp fi)" \
    --identity "$work/lu/identities/admin-adm" >/dev/null

# FI publishes datasets, added out of id order on purpose.
printf '5.1,3.5,1.4,0\n4.9,3.0,1.4,0\n6.3,3.3,6.0,2\n5.8,2.7,5.1,2\n' >"$work/iris.csv"
policy() { # dataset id -> an anonymous-data policy file (docs/policy.md)
    printf '{"ecluse_policy": 1, "dataset": "%s", "category": "anonymous",\n' "$1"
    printf ' "purposes": {"allowed": ["NRES"]},\n'
    printf ' "tensors": [{"name": "features"}, {"name": "labels"}],\n'
    printf ' "minimisation": {"default": {"tensors": ["features", "labels"], "max_rows": 4}},\n'
    printf ' "storage": {"max_grant_days": 365}}\n'
}
for name in zeta-iris alpha-iris mid-iris beta-iris; do
    policy "fi/$name" >"$work/policy-$name.json"
done
for name in zeta-iris alpha-iris mid-iris; do
    "$ecluse" dataset add "$name" --from "$work/iris.csv" --label-column -1 \
        --title "Iris ($name)" --description "Four iris flowers" --licence CC-BY-4.0 --keywords "iris,interop" \
        --contact "data@fi.example" --policy "$work/policy-$name.json" \
        --identity "$work/fi/identities/admin-adm" >/dev/null
done

ECLUSE_PY_STUBS="$stubs" \
ECLUSE_BIN="$ecluse" \
ECLUSE_DOC="$doc" \
ECLUSE_WORK="$work" \
ECLUSE_TARGET_SITE=fi \
ECLUSE_TARGET_ENDPOINT="$(sed -n 's/.*"endpoint": "\(.*\)".*/\1/p' "$work/fi/ecluse.json")" \
    /usr/bin/python3 "$test_py"

# Both gateways must stop cleanly too (under --config=asan or valgrind a leak
# or an error makes the status non-zero), and no ecluse run the verifier
# made may have failed under valgrind.
trap - EXIT
status=0
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do wait "$p" || status=1; done
if [ "$status" -ne 0 ]; then
    echo "a gateway did not exit cleanly; logs:" >&2
    cat "$work"/*-gateway.log >&2
    exit 1
fi
ecluse_under_check "$work"
