#!/bin/bash
# `ecluse completion bash` completes what a user types: bash runs the
# generated _ecluse function on the words of a command line, as it does at
# <TAB>, and COMPREPLY must hold the right words. The expected commands come
# from `ecluse --help`, so the test follows the table.
set -euo pipefail

work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/completion-XXXXXX")"
fail() {
    echo "FAILED: $*"
    exit 1
}
source tests/support/ecluse_under.sh # ECLUSE_UNDER: ecluse under valgrind in that stage
ecluse="$(ecluse_under "$(pwd)/cli/ecluse" "$work")"
"$ecluse" completion bash >"$work/ecluse.bash"
cmp -s "$work/ecluse.bash" docs/ecluse.bash || fail "docs:completion is not what 'ecluse completion bash' prints"
bash -n "$work/ecluse.bash" || fail "the completion script is not valid bash"
# shellcheck disable=SC1091
source "$work/ecluse.bash"
complete -p ecluse | grep -q -- '-F _ecluse' || fail "the script does not register _ecluse for ecluse"

checks=0
# expect "WORDS TYPED" "EXPECTED WORDS": the line is split on spaces; a
# trailing space means the cursor is on a new, empty word.
expect() {
    local line="$1" want="$2"
    read -r -a COMP_WORDS <<<"$line"
    [[ "$line" == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _ecluse
    local got
    got="$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' ')"
    want="$(printf '%s\n' $want | sed '/^$/d' | sort | tr '\n' ' ')"
    checks=$((checks + 1))
    [[ "$got" == "$want" ]] || fail "'$line<TAB>' gives [$got], not [$want]"
    echo "ok: '$line<TAB>' -> $got"
}

# The dataset commands the overview lists.
dataset_words="$("$ecluse" --help | awk '$1 == "dataset" {print $2}' | tr '\n' ' ')"
[[ "$dataset_words" == *add* && "$dataset_words" == *list* ]] || fail "the overview lists no dataset commands"

expect "ecluse da" "dataset"
expect "ecluse dataset " "$dataset_words"
expect "ecluse dataset add --fr" "--from"
expect "ecluse dataset add --js" "--json"
expect "ecluse dataset remove --js" ""
expect "ecluse dataset show lu/breast-cancer --id" "--identity"
expect "ecluse audit receipt " "verify"
expect "ecluse --log-format " "json logfmt"
expect "ecluse --log-format json da" "dataset"
expect "ecluse --vers" "--version"
expect "ecluse completion " "bash"
expect "ecluse gateway --c" "--config --check"

# Every command of the overview completes from its first letters.
"$ecluse" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1, $2, $3}' >"$work/overview.txt"
while read -r a b c; do
    line="ecluse"
    for w in "$a" "$b" "$c"; do
        [[ -n "$w" ]] || break
        read -r -a COMP_WORDS <<<"$line ${w:0:2}"
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _ecluse
        # A summary's word is not a command word: stop where completion does.
        found=0
        for r in "${COMPREPLY[@]}"; do [[ "$r" == "$w" ]] && found=1; done
        ((found)) || break
        line="$line $w"
    done
    checks=$((checks + 1))
    # shellcheck disable=SC2086
    "$ecluse" ${line#ecluse } --help >/dev/null 2>&1 || fail "completion stops at '$line', which is no command"
done <"$work/overview.txt"
echo "ok: every command of the overview completes word by word"

checks=$((checks + 1))
rc=0
"$ecluse" completion zsh >/dev/null 2>"$work/err.txt" || rc=$?
[[ "$rc" == 2 ]] || fail "completion zsh exited $rc, not 2"
grep -qF "'zsh'" "$work/err.txt" || fail "the error does not name the shell: $(cat "$work/err.txt")"
echo "$checks checks passed"
ecluse_under_check "$work" || fail "an ecluse run reported errors under ECLUSE_UNDER"
