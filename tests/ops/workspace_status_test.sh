#!/bin/bash
# scripts/workspace-status.sh, which stamps `ecluse --version`, names the
# commit of a git checkout, and says "unknown" in a tarball without .git and
# in a tree unpacked inside someone else's repository.
set -euo pipefail

script="$(pwd)/scripts/workspace-status.sh"
work="$(mktemp -d "${TEST_TMPDIR:-/tmp}/wsstatus-XXXXXX")"
fail() {
    echo "FAILED: $*"
    exit 1
}
git_q() { git -c user.name=test -c user.email=test@example.invalid -c init.defaultBranch=main "$@" >/dev/null; }

# A clean clone: its commit.
mkdir "$work/clone"
cd "$work/clone"
git_q init
echo x >file
git_q add file
git_q commit -m one
want="$(git rev-parse --short=12 HEAD)"
got="$(bash "$script")"
[[ "$got" == "STABLE_ECLUSE_COMMIT $want" ]] || fail "in a clone: '$got', not the commit $want"
echo "ok: a clone gives its commit ($want)"

# A tarball: no .git.
mkdir "$work/tarball"
cd "$work/tarball"
got="$(GIT_CEILING_DIRECTORIES="$work" bash "$script")"
[[ "$got" == "STABLE_ECLUSE_COMMIT unknown" ]] || fail "without .git: '$got', not unknown"
echo "ok: a tree without .git gives unknown"

# A tarball unpacked inside another repository: not that repository's commit.
mkdir "$work/clone/unpacked"
cd "$work/clone/unpacked"
got="$(bash "$script")"
[[ "$got" == "STABLE_ECLUSE_COMMIT unknown" ]] || fail "inside another repository: '$got', not unknown"
echo "ok: a tree inside another repository gives unknown"

# No git at all.
cd "$work/clone"
got="$(PATH=/nonexistent /bin/bash "$script")"
[[ "$got" == "STABLE_ECLUSE_COMMIT unknown" ]] || fail "without git: '$got', not unknown"
echo "ok: no git gives unknown"
