#!/bin/bash
# The Python module refuses a key.pem that group or others can read, as the
# C client does: a real identity made by `ecluse pki issue`, no gateway
# needed (the key is read before any connection).
set -euo pipefail
export ECLUSE_PY_STUBS="$(pwd)/proto"
pymod="$(pwd)/client/python"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/pykey-XXXXXX")"
source tests/support/ecluse_under.sh # ECLUSE_UNDER: ecluse under valgrind in that stage
ecluse="$(ecluse_under "$(pwd)/cli/ecluse" "$work")"
"$ecluse" site init --site fi --country FI --dir "$work/fi" --listen 127.0.0.1:7443 >/dev/null
"$ecluse" pki issue --dir "$work/fi" --role researcher --name ana >/dev/null
ECLUSE_RESEARCHER="$work/fi/identities/researcher-ana" PYTHONPATH="$pymod" \
    /usr/bin/python3 "$(pwd)/tests/python/keyperm_test.py"
