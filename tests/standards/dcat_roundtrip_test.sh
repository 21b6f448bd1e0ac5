#!/bin/bash
# A real site publishes the demo datasets and exports its DCAT-AP catalog;
# rdflib (python3-rdflib) reads it back as RDF (tests/standards/dcat_roundtrip.py).
set -euo pipefail
test_py="$1"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/dcat-rt-XXXXXX")"
source tests/support/ecluse_under.sh
ecluse="$(ecluse_under "$(pwd)/cli/ecluse" "$work")"
source tests/standards/dcat_site.sh
/usr/bin/python3 "$test_py" "$work/lu-dcat.jsonld" examples/policies/breast_cancer.json \
    examples/policies/diabetes.json
trap - EXIT
status=0
for p in "${pids[@]}"; do kill -TERM "$p"; done
for p in "${pids[@]}"; do wait "$p" || status=1; done
[ "$status" -eq 0 ] || { echo "the gateway did not exit cleanly:" >&2; cat "$work/lu-gateway.log" >&2; exit 1; }
ecluse_under_check "$work"
