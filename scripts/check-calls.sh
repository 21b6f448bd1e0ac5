#!/bin/bash
# scripts/check-calls.sh - fails when two source files call each other.
#
# Within a layer, calls go one way: if a.c calls a function defined in b.c,
# b.c calls nothing defined in a.c. A pair that calls both ways is one job
# split across two files, or two jobs tangled; either way the next engineer
# cannot read one without the other. Reads the object files of the last
# `bazel build` (nm: what each defines, what each needs) of the production
# folders, so run it after a build. Prints each pair and exits 1 if any.
set -uo pipefail
cd "$(dirname "$0")/.."

bin="$(bazel info bazel-bin 2>/dev/null)" || bin="bazel-bin"
objs=()
for dir in common site store policy audit rpc federation client gateway cli; do
    while IFS= read -r -d '' o; do objs+=("$o"); done < <(find "$bin/$dir/_objs" -name '*.o' -print0 2>/dev/null)
done
((${#objs[@]} > 0)) || { echo "calls: no object files under $bin (run bazel build //... first)"; exit 1; }

/usr/bin/python3 - "$bin" "${objs[@]}" <<'PY'
import subprocess, sys, os
bin_dir, objs = sys.argv[1], sys.argv[2:]
def source(o):
    rel = os.path.relpath(o, bin_dir)                # gateway/_objs/gateway/relay.pic.o
    folder, name = rel.split('/_objs/')[0], os.path.basename(o)
    return f"{folder}/{name.split('.')[0]}.c"
defined, needed = {}, {}
for o in objs:
    src = source(o)
    if not os.path.exists(src):                      # left behind by a renamed or removed file
        continue
    out = subprocess.run(['nm', '--defined-only', '-g', o], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in 'TDBR':
            defined.setdefault(parts[2], src)
    out = subprocess.run(['nm', '-u', o], capture_output=True, text=True).stdout
    needed.setdefault(src, set()).update(l.split()[-1] for l in out.splitlines() if l.strip())
calls = {}
for src, syms in needed.items():
    for s in syms:
        d = defined.get(s)
        if d and d != src:
            calls.setdefault((src, d), []).append(s)
bad = sorted((a, b) for (a, b) in calls if a < b and (b, a) in calls)
for a, b in bad:
    print(f"{a} calls {', '.join(sorted(calls[(a, b)]))} in {b}")
    print(f"{b} calls {', '.join(sorted(calls[(b, a)]))} in {a}")
if bad:
    print(f"calls: {len(bad)} pair(s) of files call each other")
    sys.exit(1)
print(f"calls: no two of {len(needed)} files call each other")
PY
