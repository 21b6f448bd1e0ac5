#!/bin/bash
# Every --json prints only JSON, one object per line: each command whose
# help offers --json runs here against two real gateways (fi and lu,
# peered), and each line of its stdout must parse as a JSON object
# (python3's json). A command that prints text refuses --json (exit 2) and
# changes nothing. The list of commands comes from `ecluse --help` itself,
# so a command that gains --json without a case here fails the test.
set -euo pipefail

work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/json-output-XXXXXX")"
export XDG_STATE_HOME="$work/state" # where `ecluse fetch` keeps its records
source tests/support/ecluse_under.sh
ecluse="$(ecluse_under "$(pwd)/cli/ecluse" "$work")"
data="$(pwd)/examples/data"
policies="$(pwd)/examples/policies"

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
fi_port="$(free_port)"
lu_port="$(free_port)"
while [[ "$lu_port" == "$fi_port" ]]; do lu_port="$(free_port)"; done

pids=()
stop_gateways() {
    local pid
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
}
trap stop_gateways EXIT

fail() {
    echo "FAILED: $*"
    for site in fi lu; do
        echo "--- $site's gateway log:"
        cat "$work/$site/gateway.log" 2>/dev/null || true
    done
    exit 1
}

quiet() { # run an ecluse command whose output is not under test
    "$ecluse" "$@" >"$work/quiet.out" 2>&1 || {
        cat "$work/quiet.out"
        fail "ecluse $* exited $?"
    }
}

for site in fi lu; do
    country="${site^^}"
    port="$fi_port"
    [[ "$site" == lu ]] && port="$lu_port"
    quiet site init --site "$site" --country "$country" --dir "$work/$site" --listen "127.0.0.1:$port"
    quiet pki issue --dir "$work/$site" --role admin --name "root-$site"
done
fi_admin="$work/fi/identities/admin-root-fi"
lu_admin="$work/lu/identities/admin-root-lu"
for site in fi lu; do
    "$ecluse" gateway --config "$work/$site/ecluse.json" 2>"$work/$site/gateway.log" &
    pids+=("$!")
done
for admin in "$fi_admin" "$lu_admin"; do
    for _ in $(seq 1 $((200 * time_scale))); do
        "$ecluse" health --identity "$admin" >/dev/null 2>&1 && break
        sleep 0.1
    done
done

covered=()
checks=0
# json_lines MIN_LINES STATUS WORDS... -- ARGS...: runs `ecluse WORDS ARGS
# --json`; its status must be STATUS, its stdout at least MIN_LINES lines,
# each one JSON object, and nothing else.
json_lines() {
    local min="$1" want="$2"
    shift 2
    local words=()
    while [[ "$1" != -- ]]; do
        words+=("$1")
        shift
    done
    shift
    covered+=("${words[*]}")
    checks=$((checks + 1))
    local rc=0 try
    # Under valgrind (time_scale > 1) on a busy machine a call can miss the
    # client's 15 s deadline (exit 8, unavailable): try such a run again,
    # at most twice. Any other status, and every status otherwise, counts.
    for try in 1 2 3; do
        rc=0
        "$ecluse" "${words[@]}" "$@" --json >"$work/out.json" 2>"$work/err.txt" || rc=$?
        [[ "$rc" == 8 && "$want" != 8 && "$time_scale" -gt 1 && "$try" -lt 3 ]] || break
        echo "retrying (exit 8 under time scale $time_scale): $(cat "$work/err.txt")"
    done
    if [[ "$rc" != "$want" ]]; then
        cat "$work/out.json" "$work/err.txt"
        fail "ecluse ${words[*]} --json exited $rc, not $want"
    fi
    /usr/bin/python3 - "$work/out.json" "$min" "ecluse ${words[*]} --json" <<'PY' || fail "ecluse ${words[*]} --json"
import json, sys
path, least, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
text = open(path, encoding="utf-8").read()
lines = text.split("\n") if text else []
if lines and lines[-1] == "":
    lines.pop()
if text and not text.endswith("\n"):
    sys.exit(f"{what}: the last line does not end with a newline")
if len(lines) < least:
    sys.exit(f"{what}: {len(lines)} line(s), expected at least {least}:\n{text}")
for n, line in enumerate(lines, 1):
    try:
        obj = json.loads(line)
    except ValueError as e:
        sys.exit(f"{what}: line {n} is not JSON ({e}): {line!r}")
    if not isinstance(obj, dict):
        sys.exit(f"{what}: line {n} is not a JSON object: {line!r}")
print(f"ok: {what}: {len(lines)} JSON line(s)")
PY
}

# health uses the client's own 15 s deadline (the other commands allow
# 120 s): ask it while the gateways are idle, before peering, so that two
# gateways under valgrind checkpointing to each other cannot starve it.
json_lines 1 0 health -- --identity "$fi_admin"

for pair in "fi $lu_admin lu $fi_admin" "lu $fi_admin fi $lu_admin"; do
    read -r from from_admin to to_admin <<<"$pair"
    "$ecluse" peer export --identity "$from_admin" >"$work/$to.peer" 2>"$work/$to.fp" ||
        fail "peer export"
    fp="$(awk '/^Fingerprint:/ {print $2}' "$work/$to.fp")"
    quiet peer add "$work/$to.peer" --expect-fingerprint "$fp" --identity "$to_admin"
done
quiet pki issue --dir "$work/fi" --role researcher --name alice \
    --affiliation 'University of Helsinki' --org-type academic --identity "$fi_admin"
quiet pki issue --dir "$work/lu" --role auditor --name olli --identity "$lu_admin"
alice="$work/fi/identities/researcher-alice"
olli="$work/lu/identities/auditor-olli"


json_lines 1 0 dataset add -- breast-cancer --from "$data/breast_cancer.csv" \
    --skip-lines 1 --label-column -1 --title 'Wisconsin diagnostic breast cancer' \
    --description 'Features of fine-needle aspirates of breast masses, with the diagnosis' \
    --licence CC-BY-4.0 --policy "$policies/breast_cancer.json" --identity "$lu_admin"
json_lines 1 0 dataset add -- diabetes --from "$data/diabetes_data_raw.csv.gz" \
    --delimiter whitespace --labels-file "$data/diabetes_target.csv.gz" \
    --title 'Diabetes progression' --description 'Ten baseline variables and a measure of progression' \
    --licence BSD-3-Clause --policy "$policies/diabetes.json" --identity "$lu_admin"
json_lines 2 0 dataset list -- --identity "$lu_admin"
json_lines 1 0 dataset show -- breast-cancer --identity "$lu_admin"
quiet catalog refresh --identity "$alice"
json_lines 2 0 catalog list -- --identity "$alice"
json_lines 1 0 catalog search -- 'breast cancer' --identity "$alice"
json_lines 1 0 catalog show -- lu/breast-cancer --identity "$alice"
json_lines 1 0 peer list -- --identity "$fi_admin"
json_lines 1 0 access check -- lu/breast-cancer --purpose HMB --basis art6-1-e+art9-2-j \
    --job-country FI --ethics ETH-2026-114 --identity "$alice"
# A refusal exits 9; its stdout is still the decision as JSON alone.
json_lines 1 9 access check -- lu/breast-cancer --purpose GRU --basis art6-1-e \
    --job-country FI --identity "$alice"
json_lines 1 0 access request -- lu/breast-cancer --purpose HMB --basis art6-1-e+art9-2-j \
    --job-country FI --ethics ETH-2026-114 --save-grant "$work/bc.grant" --identity "$alice"
quiet fetch --grant "$work/bc.grant" -o "$work/bc.safetensors" --no-progress --identity "$alice"
json_lines 3 0 audit query -- --identity "$olli"
json_lines 1 0 audit processing -- --identity "$olli"
json_lines 1 0 fetches --

# An erasure of rows alice read: its notice reaches FI, her home site.
json_lines 1 0 dataset erase -- breast-cancer --rows 0:2 --reason 'a data subject withdrew' \
    --identity "$lu_admin"
json_lines 1 0 audit recipients -- breast-cancer --rows 0:2 --identity "$olli"
json_lines 1 0 audit notices -- --identity "$olli"
for _ in $(seq 1 $((300 * time_scale))); do
    "$ecluse" notices --json --identity "$alice" 2>/dev/null | grep -q notice_id && break
    sleep 0.1
done
json_lines 1 0 notices -- --identity "$alice"
notice="$(/usr/bin/python3 -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())["notice_id"])' "$work/out.json")"
json_lines 1 0 notices apply -- "$notice" --identity "$alice"
json_lines 1 0 notices ack -- "$notice" --identity "$alice"

# Every command whose help offers --json was run above. The commands are
# the lines of `ecluse --help`: a line's command is the shortest run of its
# first words that `ecluse WORDS --help` knows.
"$ecluse" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print}' >"$work/commands.txt"
[[ -s "$work/commands.txt" ]] || fail "ecluse --help lists no commands"
while read -r -a line_words; do
    cmd=""
    for w in "${line_words[@]:0:3}"; do
        cmd="${cmd:+$cmd }$w"
        # shellcheck disable=SC2086
        if "$ecluse" $cmd --help >"$work/help.txt" 2>/dev/null; then
            break
        fi
    done
    # shellcheck disable=SC2086
    "$ecluse" $cmd --help >"$work/help.txt" 2>/dev/null || fail "no command in: ${line_words[*]}"
    grep -q -- '--json' "$work/help.txt" || continue
    found=0
    for c in "${covered[@]}"; do [[ "$c" == "$cmd" ]] && found=1; done
    ((found)) || fail "ecluse $cmd offers --json but this test does not run it"
done <"$work/commands.txt"

# A command that prints text refuses --json and does nothing.
checks=$((checks + 1))
rc=0
"$ecluse" dataset remove diabetes --json --identity "$lu_admin" >"$work/out.txt" 2>"$work/err.txt" || rc=$?
[[ "$rc" == 2 ]] || fail "dataset remove --json exited $rc, not 2"
[[ ! -s "$work/out.txt" ]] || fail "dataset remove --json printed: $(cat "$work/out.txt")"
grep -q -- '--json: this command prints no JSON' "$work/err.txt" ||
    fail "dataset remove --json: the error does not name --json: $(cat "$work/err.txt")"
"$ecluse" dataset show diabetes --identity "$lu_admin" >/dev/null ||
    fail "dataset remove --json removed the dataset anyway"
echo "ok: dataset remove --json is refused, the dataset is still there"

for i in "${!pids[@]}"; do
    kill -TERM "${pids[$i]}"
    rc=0
    wait "${pids[$i]}" || rc=$?
    [[ "$rc" == 0 ]] || fail "a gateway exited $rc at SIGTERM"
done
pids=()
if [[ -n "${ECLUSE_UNDER:-}" ]]; then
    if ! ecluse_under_check "$work" || grep -q '^==[0-9]*==' "$work"/*/gateway.log; then
        ecluse_under_report "$work"/*/gateway.log
        fail "ecluse reported errors under ECLUSE_UNDER"
    fi
fi
echo "$checks checks passed"
