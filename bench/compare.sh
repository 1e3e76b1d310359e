#!/usr/bin/env bash
# `make bench-compare REV=<commit>`: the native core benchmark and the npm
# package benchmark, for REV and for the working tree, side by side.
#
# REV is checked out in a temporary git worktree beside this one (removed on
# exit); its cargo target folder is kept in target/bench-compare/<commit>, so
# a second comparison with the same REV builds nothing. Both trees are built
# as they would ship (their own scripts/build-npm.sh), then
# bench/compare.mjs runs the two trees' benchmarks in alternating rounds.
# ROUNDS (default 2) sets the number of rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source scripts/toolchain.sh

rev=${REV:?usage: make bench-compare REV=<commit>}
commit=$(git rev-parse --verify --quiet "$rev^{commit}") || { echo "bench-compare: $rev is not a commit here" >&2; exit 2; }
short=$(git rev-parse --short "$commit")
worktree="$(dirname "$root")/.$(basename "$root")-bench-$short"
cache="$root/target/bench-compare/$commit"

cleanup() { git -C "$root" worktree remove --force "$worktree" 2>/dev/null || rm -rf "$worktree"; }
trap cleanup EXIT
cleanup
git worktree prune
git worktree add --quiet --detach "$worktree" "$commit"
mkdir -p "$cache"
ln -s "$cache" "$worktree/target"
# The JS build tools (wasm-opt, esbuild) are the working tree's.
ln -s "$root/node_modules" "$worktree/node_modules"

scripts/bootstrap.sh >/dev/null
build() {
  echo "bench-compare: building $2" >&2
  (cd "$1" && scripts/build-npm.sh >/dev/null && cargo bench --quiet --bench core --no-run 2>/dev/null)
}
build "$worktree" "$short (in $worktree)"
build "$root" "the working tree"

label="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!BENCHMARKS.md' || echo '+changes')"
node bench/compare.mjs "$worktree" "$short" "$root" "$label"
