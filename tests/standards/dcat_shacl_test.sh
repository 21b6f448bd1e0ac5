#!/bin/bash
# A real site publishes the demo datasets; its DCAT-AP export must conform to
# the official DCAT-AP 3.0.1 shapes (dcat-ap-SHACL.ttl and ranges.ttl, from
# ../shared/standards beside the clone, used as they are) with 0 violations,
# by rdf-validate-shacl, installed with `npm ci` from package-lock.json into
# a cache directory (ECLUSE_NPM_CACHE, default /tmp/ecluse-npm-<uid>). The
# same validator must reject a deliberately broken copy of the export, so
# this test can fail.
set -euo pipefail

here="$(dirname "$(readlink -f tests/standards/package.json)")"
standards="${ECLUSE_STANDARDS:-$here/../../../shared/standards}/dcat-ap-3.0.1"
for f in dcat-ap-SHACL.ttl ranges.ttl; do
    [ -f "$standards/$f" ] || { echo "$standards/$f not found (set ECLUSE_STANDARDS)" >&2; exit 1; }
done

# The validator, installed once per lock file.
lock_sum="$(sha256sum tests/standards/package-lock.json | cut -c1-16)"
npm_dir="${ECLUSE_NPM_CACHE:-/tmp/ecluse-npm-$(id -u)}/$lock_sum"
if [ ! -f "$npm_dir/node_modules/.ecluse-installed" ]; then
    mkdir -p "$npm_dir"
    cp tests/standards/package.json tests/standards/package-lock.json "$npm_dir/"
    (cd "$npm_dir" && npm ci --no-audit --no-fund --prefer-offline --cache "$npm_dir/.npm" >/dev/null)
    touch "$npm_dir/node_modules/.ecluse-installed"
fi
cp tests/standards/shacl_validate.mjs "$npm_dir/"
validate() { node "$npm_dir/shacl_validate.mjs" "$1" "$standards/dcat-ap-SHACL.ttl" "$standards/ranges.ttl"; }

work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/dcat-shacl-XXXXXX")"
source tests/support/ecluse_under.sh
ecluse="$(ecluse_under "$(pwd)/cli/ecluse" "$work")"
source tests/standards/dcat_site.sh

if ! validate "$work/lu-dcat.jsonld" >"$work/report.txt"; then
    cat "$work/report.txt" >&2
    echo "FAIL: the export does not conform to DCAT-AP 3.0.1" >&2
    exit 1
fi
grep -qx "conforms: true" "$work/report.txt"
grep -qx "violations: 0" "$work/report.txt"
echo "export conforms: $(head -1 "$work/report.txt")"

# Broken on purpose: no access URL (mandatory), the byte size a plain string.
/usr/bin/python3 - "$work/lu-dcat.jsonld" "$work/broken.jsonld" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for d in doc["@graph"][0]["dcat:dataset"]:
    for dist in d["dcat:distribution"]:
        del dist["dcat:accessURL"]
        dist["dcat:byteSize"] = str(dist["dcat:byteSize"]["@value"])
json.dump(doc, open(sys.argv[2], "w"))
PY
if validate "$work/broken.jsonld" >"$work/broken.txt"; then
    cat "$work/broken.txt" >&2
    echo "FAIL: the validator accepts an export with no access URL" >&2
    exit 1
fi
grep -q "accessURL MinCountConstraintComponent" "$work/broken.txt" ||
    { cat "$work/broken.txt" >&2; echo "FAIL: no violation named the missing access URL" >&2; exit 1; }
grep -q "byteSize DatatypeConstraintComponent" "$work/broken.txt" ||
    { cat "$work/broken.txt" >&2; echo "FAIL: no violation named the byte size's type" >&2; exit 1; }

trap - EXIT
status=0
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do wait "$p" || status=1; done
[ "$status" -eq 0 ] || { echo "the gateway did not exit cleanly:" >&2; cat "$work/lu-gateway.log" >&2; exit 1; }
ecluse_under_check "$work"
