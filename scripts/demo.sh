#!/bin/bash
# The main job: a small ecluse federation on this machine, end to end.
#
# Installs what is missing, builds ecluse, creates three sites (FI, LU, DE),
# each with its own CA, keys, gateway process and data directory on a
# loopback port, and walks through what each kind of user does, printing it
# in plain words. Stops every gateway it started, whatever happens.
#
# Environment: ECLUSE_DEMO_DIR (default: a new directory under /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
step() { printf '  - %s\n' "$*"; }

bash scripts/install-deps.sh
say "Building ecluse (Bazel, offline)"
bazel build //cli:ecluse 2>&1 | grep -E "ERROR|error:|Build completed" || true
ecluse="$repo/bazel-bin/cli/ecluse"
[[ -x "$ecluse" ]] || { echo "build failed" >&2; exit 1; }

demo="${ECLUSE_DEMO_DIR:-$(mktemp -d /tmp/ecluse-demo-XXXXXX)}"
mkdir -p "$demo"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_gateway() {
    local site="$1"
    "$ecluse" gateway --config "$demo/$site/ecluse.json" 2>"$demo/$site-gateway.log" &
    pids+=($!)
    for _ in $(seq 1 200); do
        grep -q "event=gateway.ready" "$demo/$site-gateway.log" && return 0
        sleep 0.05
    done
    echo "the $site gateway did not start:" >&2
    cat "$demo/$site-gateway.log" >&2
    exit 1
}

say "1. Site admins: each factory becomes a site"
declare -A country=([fi]=FI [lu]=LU [de]=DE)
for site in fi lu de; do
    port="$(free_port)"
    "$ecluse" site init --site "$site" --country "${country[$site]}" --dir "$demo/$site" \
        --listen "127.0.0.1:$port" >/dev/null
    step "site $site (${country[$site]}): own CA, gateway certificate spiffe://$site/gateway, Ed25519 signing key, port $port"
    "$ecluse" pki issue --dir "$demo/$site" --role admin --name "admin-$site" >/dev/null
    "$ecluse" pki issue --dir "$demo/$site" --role auditor --name "auditor-$site" >/dev/null
    "$ecluse" pki issue --dir "$demo/$site" --role researcher --name "researcher-$site" >/dev/null
    step "issued identities to admin-$site, auditor-$site and researcher-$site"
    start_gateway "$site"
    step "gateway of $site is up (ecluse gateway --config $demo/$site/ecluse.json)"
done

say "2. Everyone reaches their own gateway over mutual TLS"
for site in fi lu de; do
    for role in admin auditor researcher; do
        out="$("$ecluse" health --identity "$demo/$site/identities/$role-$role-$site")"
        step "$(echo "$out" | tail -1) -> $(echo "$out" | head -1 | cut -d: -f1)"
    done
done

say "3. Sovereignty: each site trusts only its own CA"
if out="$("$ecluse" health --identity "$demo/lu/identities/researcher-researcher-lu" \
        --gateway "$(grep -o '"127.0.0.1:[0-9]*"' "$demo/fi/ecluse.json" | head -1 | tr -d '"')" 2>&1)"; then
    echo "unexpected: FI's gateway served LU's researcher" >&2
    exit 1
fi
step "LU's researcher pointed at FI's gateway gets nowhere: the TLS handshake fails"
step "(the tests also check the other direction: FI's gateway refuses LU's certificate)"
step "  ${out}"

say "Stopping the gateways"
cleanup
pids=()
for site in fi lu de; do
    step "$site: $(grep -o 'event=gateway.stopped.*' "$demo/$site-gateway.log")"
done

say "Done. The sites' files are in $demo:"
for site in fi lu de; do
    step "$demo/$site (config ecluse.json, ca/, gateway/, keys/, data/, identities/); log $demo/$site-gateway.log"
done
