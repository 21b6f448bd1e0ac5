#!/bin/bash
# EcluseDataset against `ecluse fetch` of the same selection, from one local
# site on loopback (python_bench.py prints the ratios):
#   bazel run -c opt //bench/stream:python_bench -- --mib 1024 --window-mib 4
# Needs Debian's python3-torch and python3-numpy. Leaves nothing behind.
set -euo pipefail
mib=256
args=()
while (($#)); do
    case "$1" in
    --mib) mib="$2"; args+=("$1" "$2"); shift 2 ;;
    *) args+=("$1"); shift ;;
    esac
done
here="${RUNFILES_DIR:-$0.runfiles}/ecluse"
[[ -d "$here" ]] || here="$(pwd)"
ecluse="$here/cli/ecluse"
work="$(mktemp -d "${TMPDIR:-/tmp}/pybench-XXXXXX")"
gateway=""
cleanup() {
    [[ -n "$gateway" ]] && { kill -TERM "$gateway" 2>/dev/null; wait "$gateway" 2>/dev/null; }
    rm -rf "$work"
}
trap cleanup EXIT
port="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$ecluse" site init --site fi --country FI --dir "$work/fi" --listen "127.0.0.1:$port" >/dev/null
"$ecluse" pki issue --dir "$work/fi" --role admin --name adm >/dev/null
"$ecluse" pki issue --dir "$work/fi" --role researcher --name ana --affiliation "University of Helsinki" --org-type academic >/dev/null
"$ecluse" gateway --config "$work/fi/ecluse.json" 2>"$work/gateway.log" &
gateway=$!
for _ in $(seq 1 200); do grep -q "event=gateway.ready" "$work/gateway.log" && break; sleep 0.05; done

/usr/bin/python3 "$here/bench/stream/python_bench.py" --make "$work" --mib "$mib"
"$ecluse" dataset add bench --from "$work/bench.safetensors" --title "python bench" \
    --policy "$work/bench.json" --identity "$work/fi/identities/admin-adm" >/dev/null
rm -f "$work/bench.safetensors" # the gateway keeps its own copy
res="$work/fi/identities/researcher-ana"
"$ecluse" access request fi/bench --purpose HMB --basis art6-1-e+art9-2-j --job-country FI \
    --ethics ETH-1 --save-grant "$work/bench.grant" --identity "$res" >/dev/null

# ecluse fetch of the same selection, its output on tmpfs when there is one.
out_dir="$work"; [[ -d /dev/shm && -w /dev/shm ]] && out_dir="$(mktemp -d /dev/shm/pybench-XXXXXX)"
start=$(date +%s.%N)
"$ecluse" fetch --grant "$work/bench.grant" -o "$out_dir/bench.safetensors" --no-receipt \
    --no-progress --identity "$res" >/dev/null
end=$(date +%s.%N)
[[ "$out_dir" != "$work" ]] && rm -rf "$out_dir"
ECLUSE_CLIENT_LIB="$here/client/pyapi/libecluse_client.so" PYTHONPATH="$here/client/python" \
    /usr/bin/python3 "$here/bench/stream/python_bench.py" --run "$work" --identity "$res" \
    --fetch-seconds "$(echo "$end - $start" | bc -l)" "${args[@]}"
