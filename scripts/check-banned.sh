#!/bin/bash
# scripts/check-banned.sh - fails on a call of a banned C library function in
# production code.
#
# Banned: functions that write without a bound, read a number without saying
# whether it was one, or are unsafe in a threaded gateway:
#
#   strcpy strcat sprintf vsprintf gets        unbounded writes (use snprintf,
#                                              memcpy with a checked length)
#   strncpy strncat                            bounded but easily wrong (no
#                                              NUL, or the bound is the rest)
#   atoi atol atoll atof                       no error, undefined on overflow
#                                              (use strtol/strtoull/strtod and
#                                              check end and errno)
#   strtok                                     hidden state shared by threads
#                                              (use strtok_r or a plain scan)
#   tmpnam tempnam mktemp                      a name someone else can take
#                                              first (use mkstemp, mkdtemp)
#
# Production code is every .c and .h file that builds into the `ecluse`
# binary, the client library or the benchmarks: every folder of the repo
# except tests/, fuzz/ (test harnesses, never run on a site's data) and
# third_party/. The names are looked for as C tokens in the code itself:
# comments, string literals and character literals are blanked first, and a
# name that is part of a longer one (snprintf, my_strcpy) or a struct member
# (x.atoi, p->gets) does not count.
#
# Usage: check-banned.sh [ROOT]   check ROOT (default: this repository)
#        check-banned.sh --self-test
#                                 plant each banned name, and each thing that
#                                 must not count, in a temporary tree and
#                                 check that exactly the plants are found.
# Prints every hit as FILE:LINE: NAME, and exits 1 if there is any.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

banned="strcpy strcat sprintf vsprintf gets strncpy strncat atoi atol atoll atof strtok tmpnam tempnam mktemp"

# The files of ROOT that are production code, relative to ROOT.
production_files() {
    (cd "$1" && find . \( -path ./tests -o -path ./fuzz -o -path ./third_party \
        -o -name 'bazel-*' -o -name '.*' ! -name . \) -prune -o \
        -type f \( -name '*.c' -o -name '*.h' \) -print | sed 's|^\./||' | sort)
}

# FILE:LINE: NAME for every banned token in the files named on stdin.
scan() {
    /usr/bin/python3 -c '
import re, sys
root, banned = sys.argv[1], set(sys.argv[2].split())
token = re.compile(r"(?<![A-Za-z0-9_.>])[A-Za-z_][A-Za-z0-9_]*")
member = re.compile(r"->\s*$")

def code_only(text):
    """The text with comments and literals blanked, newlines kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"\x27":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)

hits = 0
for name in sys.stdin.read().split("\n"):
    if not name:
        continue
    with open(f"{root}/{name}", encoding="utf-8", errors="replace") as f:
        code = code_only(f.read())
    for lineno, line in enumerate(code.split("\n"), 1):
        for m in token.finditer(line):
            if m.group(0) in banned and not member.search(line[: m.start()]):
                print(f"{name}:{lineno}: {m.group(0)}")
                hits += 1
sys.exit(1 if hits else 0)
' "$1" "$banned"
}

check() {
    local root="$1"
    if production_files "$root" | scan "$root"; then
        echo "banned: no banned function in production code"
        return 0
    fi
    echo "banned: banned functions in production code (see the top of scripts/check-banned.sh)"
    return 1
}

self_test() {
    local t
    t="$(mktemp -d)" || return 1
    trap 'rm -rf "$t"' RETURN
    mkdir -p "$t/gateway" "$t/tests" "$t/fuzz"
    # Each planted line is a call that must be found; the rest must not be.
    cat >"$t/gateway/planted.c" <<'EOF'
#include <string.h>
/* strcpy(a, b) in a comment, and sprintf( */
// atoi(s) in a line comment
static const char *s = "strcat(a, b) in a string \" strcpy(x, y)";
static char q = '"';
static int my_strcpy(char *a) { return a[0]; }
struct o; /* never compiled: only its members p->atoi, v.atoi matter */
void f(char *a, const char *b, struct o *p, struct o v)
{
    snprintf(a, 4, "%s", b); vsnprintf(0, 0, "", 0);
    p->atoi = v.atoi + my_strcpy(a) + q + s[0];
    strcpy(a, b);
    strcat (a, b);
    char *(*g)(char *, const char *) = strncpy;
    (void)g; (void)atoi(b);
}
EOF
    printf 'void t(char *a) { strcpy(a, "x"); }\n' >"$t/tests/allowed.c"
    printf 'void z(char *a) { sprintf(a, "x"); }\n' >"$t/fuzz/allowed.c"
    local got want
    got="$(production_files "$t" | scan "$t")"
    want="$(printf '%s\n' "gateway/planted.c:12: strcpy" "gateway/planted.c:13: strcat" \
        "gateway/planted.c:14: strncpy" "gateway/planted.c:15: atoi")"
    if [[ "$got" != "$want" ]]; then
        printf 'banned: self-test FAILED\nwanted:\n%s\ngot:\n%s\n' "$want" "$got"
        return 1
    fi
    if check "$t" >/dev/null; then
        echo "banned: self-test FAILED: a tree with banned calls passed"
        return 1
    fi
    echo "banned: self-test passed (planted calls found at their lines; comments, strings, longer names, members, tests/ and fuzz/ left alone)"
}

if [[ "${1:-}" == "--self-test" ]]; then
    self_test
    exit
fi
check "${1:-$here/..}"
