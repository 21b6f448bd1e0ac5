#!/bin/bash
# Bazel's workspace status command (.bazelrc): what `ecluse --version` says
# of the source it was built from. Bazel runs it at the workspace root.
#
#   STABLE_ECLUSE_COMMIT  the commit checked out, or "unknown": a tarball
#                         without .git, no git, or a tree that is not its
#                         own repository (say, unpacked inside another one)
#
# A stable key: a new commit rebuilds the version text (cli/BUILD), so the
# binary never names a commit it was not built from. The build date is
# Bazel's own BUILD_TIMESTAMP.
set -uo pipefail

commit=unknown
if command -v git >/dev/null 2>&1; then
    top="$(git rev-parse --show-toplevel 2>/dev/null || true)"
    if [[ -n "$top" && "$(cd "$top" && pwd -P)" == "$(pwd -P)" ]]; then
        commit="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
    fi
fi
echo "STABLE_ECLUSE_COMMIT $commit"
