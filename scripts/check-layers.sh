#!/bin/bash
# scripts/check-layers.sh - fails on an #include that goes up a layer.
#
# The folders are the layers (docs/design.md, "The folders"). A file may
# include headers of its own folder and of the folders below it, never of
# a folder beside it or above it:
#
#   6  cli/
#   5  gateway/
#   4  client/
#   3  federation/
#   2  store/  policy/  audit/  rpc/    (independent of each other)
#   1  site/
#   0  common/  proto/
#
# tests/, bench/ and fuzz/ stand outside the stack and may include anything.
# Prints every offending line as FILE:LINE: folder -> folder, and exits 1 if
# there is any.
set -uo pipefail
cd "$(dirname "$0")/.."

declare -A level=(
    [common]=0 [proto]=0 [site]=1 [store]=2 [policy]=2 [audit]=2 [rpc]=2
    [federation]=3 [client]=4 [gateway]=5 [cli]=6
)

bad=0
for dir in "${!level[@]}"; do
    for file in "$dir"/*.c "$dir"/*.h; do
        [[ -e "$file" ]] || continue
        while IFS=: read -r line target; do
            to="${target%%/*}"
            [[ "$to" == "$dir" ]] && continue
            if [[ -z "${level[$to]+x}" ]]; then
                echo "$file:$line: includes \"$target\", which is in no layer"
                bad=1
            elif ((level[$to] >= level[$dir])); then
                echo "$file:$line: $dir/ (layer ${level[$dir]}) includes $to/ (layer ${level[$to]}): \"$target\""
                bad=1
            fi
        done < <(awk 'match($0, /^[ \t]*#[ \t]*include[ \t]*"[^"]*\/[^"]*"/) {
                          t = $0; sub(/^[^"]*"/, "", t); sub(/".*$/, "", t); print FNR ":" t }' "$file")
    done
done
if ((bad)); then
    echo "layers: includes go up or across a layer (see the top of scripts/check-layers.sh)"
    exit 1
fi
echo "layers: every include goes down a layer or stays in its folder"
