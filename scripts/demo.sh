#!/bin/bash
# The main job: a small ecluse federation on this machine, end to end.
#
# Installs what is missing, builds ecluse (Bazel, offline), then runs
# scripts/federation_demo.sh: three sites (FI, LU, DE) with their own CAs,
# keys, gateways and audit trails on loopback, and the three journeys of
# site admins, a researcher and an auditor. Stops every gateway it started.
#
# Environment: ECLUSE_DEMO_DIR (default: a new directory under /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

bash scripts/install-deps.sh
printf '\n\033[1m%s\033[0m\n' "Building ecluse (Bazel, offline; the first build takes a few minutes)"
if ! bazel build //cli:ecluse //proto:ecluse_py >"${TMPDIR:-/tmp}/ecluse-demo-build.log" 2>&1; then
    tail -30 "${TMPDIR:-/tmp}/ecluse-demo-build.log" >&2
    echo "the build failed; the whole log is in ${TMPDIR:-/tmp}/ecluse-demo-build.log" >&2
    exit 1
fi
echo "  built bazel-bin/cli/ecluse"

demo="${ECLUSE_DEMO_DIR:-$(mktemp -d /tmp/ecluse-demo-XXXXXX)}"
ECLUSE_PY_STUBS="$repo/bazel-bin/proto" \
    exec bash scripts/federation_demo.sh "$repo/bazel-bin/cli/ecluse" "$demo"
